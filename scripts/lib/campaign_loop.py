"""campaign_loop: the life of a campaign loop that runs beside the engines on a thread of the
runner (the TSan replay, campaign_tsan.TsanReplay; the explore phase,
campaign_explore.ExploreLoop).

A loop works in rounds until it is stopped or its deadline passes. A failure inside it is kept
as its error (the status line and the report show it) rather than ending the campaign, and
stop() kills the child process the loop is waiting on, so stopping never waits out a batch.

A subclass sets, before start(): deadline (time.monotonic() at which to stop), stopping (a
threading.Event), proc (the running child or None), thread, started, error, and defines
setup() (its directories and remembered state, on the loop's thread), round() (True when it
did something; else the loop waits a little before looking again) and log(message).
"""

import os
import signal
import threading
import time


class CampaignLoop:
    THREAD_NAME = "loop"

    def setup(self):
        raise NotImplementedError

    def round(self):
        raise NotImplementedError

    def main(self):
        try:
            self.setup()
            while not self.stopping.is_set() and time.monotonic() < self.deadline:
                if not self.round():
                    self.stopping.wait(2.0)
        except Exception as e:  # reported as the loop's failure, the campaign goes on
            self.error = "%s: %s" % (type(e).__name__, e)
            self.log("error: " + self.error)

    def start(self):
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self.main, name=self.THREAD_NAME, daemon=True)
        self.thread.start()

    def stop(self, timeout=30):
        self.stopping.set()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.thread:
            self.thread.join(timeout)

    def running(self):
        return self.thread is not None and self.thread.is_alive()
