"""campaign_loop: the life of a campaign loop that runs beside the engines on a thread of the
runner (the TSan replay, campaign_tsan.TsanReplay; the explore phase,
campaign_explore.ExploreLoop).

A loop works in rounds until it is stopped or its deadline passes. A failure inside it is kept
as its error (the status line and the report show it) rather than ending the campaign, and
stop() kills the child process the loop is waiting on, so stopping never waits out a batch.

Both run their work as batches: copies of the batch's inputs (stage_copies: the engines
rewrite their corpora as they run, and an input gone in mid-batch would fail as unreadable),
one child process per batch, watched (run_watched: killed at stop() or past its time limit),
and a turn on a core they may share (turn(): campaign_explore.SharedCore).

A subclass sets, before start(): deadline (time.monotonic() at which to stop), stopping (a
threading.Event), proc (the running child or None), thread, started, error, log_path, core (a
SharedCore or None), and defines setup() (its directories and remembered state, on the loop's
thread) and round() (True when it did something; else the loop waits a little before looking
again).
"""

import contextlib
import os
import shutil
import signal
import subprocess
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

    def log(self, msg):
        with open(self.log_path, "a") as f:
            f.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))

    def turn(self):
        """The core for one batch, in turn with whoever shares it."""
        if self.core is None:
            return contextlib.nullcontext()
        return self.core.turn(self.THREAD_NAME, self.stopping)

    def run_watched(self, cmd, limit, read):
        """Runs cmd (its own process group, stdout and stderr together), `read` taking its
        output stream on a thread of its own, until it ends, stop() is called or `limit` seconds
        pass. Returns (exit status, pid, how it was stopped: None, "stop" or "watchdog")."""
        try:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        except OSError as e:
            raise RuntimeError("cannot run %s: %s" % (cmd[0], e.strerror))
        reader = threading.Thread(target=read, args=(self.proc.stdout,))
        reader.start()
        began = time.monotonic()
        killed = None
        while self.proc.poll() is None:
            if self.stopping.is_set() or time.monotonic() - began > limit:
                killed = "stop" if self.stopping.is_set() else "watchdog"
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                break
            time.sleep(0.1)
        if killed is None and self.stopping.is_set():
            killed = "stop"  # stop() killed it first
        reader.join()
        self.proc.stdout.close()
        rc, pid = self.proc.returncode, self.proc.pid
        self.proc = None
        return rc, pid, killed


def stage_copies(staging, chunk):
    """Copies of a batch's inputs [(content hash, path)] in staging, each named by its hash:
    {copy: (hash, path)}. An input already gone is left out."""
    os.makedirs(staging, exist_ok=True)
    staged = {}
    for digest, path in chunk:
        copy = os.path.join(staging, digest)
        try:
            shutil.copyfile(path, copy)
        except OSError:
            continue
        staged[copy] = (digest, path)
    return staged
