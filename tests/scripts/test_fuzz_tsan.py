#!/usr/bin/env python3
"""The campaign's TSan instance (scripts/lib/campaign_tsan.py) against a stand-in for the tsan
preset's replay binary: a shell script that, like `fuzz_heap -runs=N FILE...`, fails with a
TSan-style report when one of its inputs contains BAD and hangs on HANG. Checks that batches
are bisected down to exactly the failing inputs, that each is saved once with its log, that
replayed inputs are remembered across runs, and that real-thread inputs are replayed again
when nothing new is waiting."""

import hashlib
import os
import tempfile
import time
import unittest

import fuzz_helpers  # puts scripts/lib on the path
import campaign_tsan

FAKE = """#!/bin/sh
# stand-in for build/tsan/targets/<target>: -runs=N FILE...
for f in "$@"; do
  case "$f" in -*) continue ;; esac
  # libFuzzer's replay driver fails on an input it cannot read.
  [ -f "$f" ] || { echo "cannot read $f" >&2; exit 1; }
  # libFuzzer replaces a corpus file it reduced: this input's replay removes another one.
  if grep -q DOOM "$f" && [ -n "$HF_TEST_DOOMED" ]; then rm -f "$HF_TEST_DOOMED"; fi
  if grep -q HANG "$f"; then sleep 30; fi
  if grep -q BAD "$f"; then
    echo "WARNING: ThreadSanitizer: data race (stand-in) in $f" >&2
    exit 66
  fi
done
echo "replayed $# inputs"
"""


def sha1(data):
    return hashlib.sha1(data).hexdigest()


class TsanLoop(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.binary = fuzz_helpers.write_stand_in(
            os.path.join(self.dir, "fake_fuzz_heap"), FAKE)
        self.corpus = os.path.join(self.dir, "corpus")
        self.queue = os.path.join(self.dir, "queue")
        os.makedirs(self.corpus)
        os.makedirs(os.path.join(self.queue, ".state"))  # AFL++ metadata: not an input
        self.out = os.path.join(self.dir, "tsan")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, d, name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    def run_loop(self, target, until, batch=16, seconds=60):
        loop = campaign_tsan.TsanReplay({target: self.binary},
                                        {target: [self.corpus, self.queue,
                                                  os.path.join(self.dir, "absent")]},
                                        self.out, os.path.join(self.dir, "tsan.log"),
                                        time.monotonic() + seconds, batch=batch)
        loop.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until(loop.snapshot()):
            time.sleep(0.1)
        loop.stop()
        snap = loop.snapshot()
        self.assertIsNone(snap["error"])
        return loop, snap

    def test_bisects_to_the_failing_inputs(self):
        bad = []
        for i in range(70):
            data = b"program %d\n" % i
            if i in (5, 6, 41):
                data += b"BAD\n"
                bad.append(sha1(data))
            self.write(self.corpus if i % 2 else self.queue, "in%03d" % i, data)
        self.write(self.corpus, "in005-copy", b"program 5\nBAD\n")  # same input twice
        _, snap = self.run_loop("fuzz_heap", lambda s: s["unique"] >= 70)
        self.assertEqual(snap["unique"], 70)
        self.assertEqual(snap["crashes"], 3)
        crash_dir = os.path.join(self.out, "fuzz_heap", "crashes")
        names = sorted(os.listdir(crash_dir))
        self.assertEqual(names, sorted(["crash-" + h for h in bad] +
                                       ["crash-%s.log" % h for h in bad]))
        with open(os.path.join(crash_dir, "crash-%s.log" % bad[0])) as f:
            self.assertIn("ThreadSanitizer: data race (stand-in)", f.read())
        with open(os.path.join(self.out, "replayed.txt")) as f:
            self.assertEqual(len(f.read().split("\n")) - 1, 70)
        # A later run with the same output directory replays only what is new (fuzz_heap is
        # deterministic: one replay of an input says all TSan can say about it).
        self.write(self.queue, "late", b"program late\n")
        loop, snap = self.run_loop("fuzz_heap", lambda s: s["unique"] >= 1)
        time.sleep(0.5)
        self.assertEqual(snap["unique"], 1)
        self.assertEqual(snap["execs"], 1)
        self.assertEqual(snap["crashes"], 0)

    def test_input_removed_while_its_batch_is_bisected(self):
        # A batch fails (one BAD input); while it runs, the engine removes another input of the
        # batch (libFuzzer reducing it). Bisection must blame the BAD input alone, never the
        # one that vanished, and the loop must go on.
        doomed = os.path.join(self.corpus, "in007")
        os.environ["HF_TEST_DOOMED"] = doomed
        self.addCleanup(os.environ.pop, "HF_TEST_DOOMED", None)
        for i in range(10):
            data = b"program %d\n" % i
            if i == 3:
                data += b"BAD\nDOOM\n"
                bad = sha1(data)
            self.write(self.corpus, "in%03d" % i, data)
        _, snap = self.run_loop("fuzz_heap", lambda s: s["unique"] >= 10)
        self.assertEqual(snap["unique"], 10)
        self.assertEqual(snap["crashes"], 1)
        self.assertFalse(os.path.exists(doomed))
        crash_dir = os.path.join(self.out, "fuzz_heap", "crashes")
        self.assertEqual(sorted(os.listdir(crash_dir)), ["crash-" + bad, "crash-%s.log" % bad])

    def test_hang_is_saved_as_timeout(self):
        campaign_tsan.PER_INPUT_SECONDS, saved = 1, campaign_tsan.PER_INPUT_SECONDS
        campaign_tsan.START_SECONDS, saved_start = 1, campaign_tsan.START_SECONDS
        try:
            self.write(self.corpus, "a", b"fine\n")
            self.write(self.corpus, "b", b"HANG\n")
            _, snap = self.run_loop("fuzz_heap", lambda s: s["unique"] >= 2, batch=2)
        finally:
            campaign_tsan.PER_INPUT_SECONDS = saved
            campaign_tsan.START_SECONDS = saved_start
        self.assertEqual(snap["crashes"], 1)
        names = os.listdir(os.path.join(self.out, "fuzz_heap", "crashes"))
        self.assertIn("timeout-" + sha1(b"HANG\n"), names)

    def test_threads_inputs_are_replayed_again(self):
        for i in range(5):
            self.write(self.corpus, "t%d" % i, b"threads %d\n" % i)
        _, snap = self.run_loop("fuzz_heap_threads", lambda s: s["execs"] >= 15)
        self.assertEqual(snap["unique"], 5)
        self.assertGreaterEqual(snap["execs"], 15)  # other schedules of the same inputs
        self.assertEqual(snap["crashes"], 0)

    def test_stop_ends_a_running_replay(self):
        self.write(self.corpus, "slow", b"HANG\n")
        loop = campaign_tsan.TsanReplay({"fuzz_heap": self.binary}, {"fuzz_heap": [self.corpus]},
                                        self.out, os.path.join(self.dir, "tsan.log"),
                                        time.monotonic() + 60)
        loop.start()
        end = time.monotonic() + 10
        while loop.proc is None and time.monotonic() < end:
            time.sleep(0.05)
        self.assertIsNotNone(loop.proc, "no replay started")
        began = time.monotonic()
        loop.stop()
        self.assertLess(time.monotonic() - began, 5)
        self.assertFalse(loop.running())
        self.assertEqual(loop.snapshot()["crashes"], 0)  # killed by stop(): no finding
        self.assertFalse(os.path.exists(os.path.join(self.out, "fuzz_heap", "crashes")))
        with open(os.path.join(self.out, "replayed.txt")) if os.path.exists(
                os.path.join(self.out, "replayed.txt")) else open(os.devnull) as f:
            self.assertEqual(f.read(), "")  # an interrupted batch is not recorded as replayed

if __name__ == "__main__":
    fuzz_helpers.unittest_main()
