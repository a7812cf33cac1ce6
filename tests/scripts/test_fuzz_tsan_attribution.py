#!/usr/bin/env python3
"""The TSan loop's attribution of a batch failure that no part of the batch repeats
(scripts/lib/campaign_tsan.py): a real-thread race that shows once in a batch and never again
in bisection. The stand-in replay binary announces each input as the real one does with
HEAPFUZZ_ANNOUNCE=1 (`Running: FILE`) and fails on a FLAKY input only inside a batch of four or
more, or, for PERSISTENT, also alone after enough runs. Checks that the announced input is saved
as a crash with the batch's report and a note saying it did not repeat alone; that one which
fails alone again is saved with its own report; and that a failure no announcement precedes
stays an unattributed batch failure, as before."""

import os
import tempfile
import time
import unittest

import fuzz_helpers  # puts scripts/lib on the path
import campaign_tsan

FAKE = """#!/bin/sh
# stand-in for build/tsan/targets/fuzz_heap_threads: -runs=N FILE...
runs=1; n=0
for f in "$@"; do
  case "$f" in -runs=*) runs=${f#-runs=} ;; -*) ;; *) n=$((n + 1)) ;; esac
done
for f in "$@"; do
  case "$f" in -*) continue ;; esac
  [ "$HEAPFUZZ_ANNOUNCE" = 1 ] && echo "Running: $f" >&2
  if grep -q FLAKY "$f" && [ "$n" -ge 4 ]; then
    echo "WARNING: ThreadSanitizer: data race (stand-in, batch of $n) in $f" >&2
    exit 66
  fi
  if grep -q PERSISTENT "$f" && { [ "$n" -ge 4 ] || [ "$runs" -ge 20 ]; }; then
    echo "WARNING: ThreadSanitizer: data race (stand-in, $runs runs) in $f" >&2
    exit 66
  fi
done
echo "replayed $n inputs"
"""


class Attribution(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.binary = fuzz_helpers.write_stand_in(
            os.path.join(self.dir, "fake_fuzz_heap_threads"), FAKE)
        self.out = os.path.join(self.dir, "tsan")
        self.loop = campaign_tsan.TsanReplay(
            {"fuzz_heap_threads": self.binary}, {"fuzz_heap_threads": []}, self.out,
            os.path.join(self.dir, "tsan.log"), time.monotonic() + 60)
        self.loop.started = time.monotonic()

    def tearDown(self):
        self.tmp.cleanup()

    def batch(self, special):
        files = []
        for i in range(8):
            path = os.path.join(self.dir, "in%d" % i)
            with open(path, "w") as f:
                f.write("program %d\n%s" % (i, special if i == 5 else ""))
            files.append(path)
        self.loop.run_batch("fuzz_heap_threads", files, 1)
        crash_dir = os.path.join(self.out, "fuzz_heap_threads", "crashes")
        return files, crash_dir

    def read_log(self, crash_dir):
        logs = [n for n in os.listdir(crash_dir) if n.endswith(".log")]
        self.assertEqual(len(logs), 1)
        with open(os.path.join(crash_dir, logs[0])) as f:
            return f.read()

    def test_parser_names_the_input_running_at_the_report(self):
        out = ("Running: a\nRunning: b\nsome output\nWARNING: ThreadSanitizer: data race\n"
               "Running: c\n")
        self.assertEqual(campaign_tsan.running_input(out), "b")
        self.assertIsNone(campaign_tsan.running_input("Running: a\nreplayed 1 inputs\n"))
        self.assertIsNone(campaign_tsan.running_input("WARNING: ThreadSanitizer\nRunning: a\n"))

    def test_flaky_input_saved_with_the_batch_report(self):
        files, crash_dir = self.batch("FLAKY\n")
        snap = self.loop.snapshot()
        self.assertEqual((snap["crashes"], snap["attributed"], snap["unattributed"]), (1, 1, 0))
        self.assertEqual(len(os.listdir(crash_dir)), 2)
        log = self.read_log(crash_dir)
        self.assertIn("attributed by the batch's log", log)
        self.assertIn("alone it ran clean %d times" % campaign_tsan.ALONE_RUNS, log)
        self.assertIn("data race (stand-in, batch of 8) in %s" % files[5], log)

    def test_input_failing_alone_saved_with_its_own_report(self):
        _, crash_dir = self.batch("PERSISTENT\n")
        snap = self.loop.snapshot()
        self.assertEqual((snap["crashes"], snap["attributed"], snap["unattributed"]), (1, 0, 0))
        log = self.read_log(crash_dir)
        self.assertNotIn("attributed by the batch's log", log)
        self.assertIn("stand-in, %d runs" % campaign_tsan.ALONE_RUNS, log)

    def test_failure_before_any_announcement_stays_unattributed(self):
        # A batch-only failure from a binary that announces nothing (an older build).
        self.loop.env["HEAPFUZZ_ANNOUNCE"] = "0"
        _, crash_dir = self.batch("FLAKY\n")
        snap = self.loop.snapshot()
        self.assertEqual((snap["crashes"], snap["attributed"], snap["unattributed"]), (0, 0, 1))
        self.assertFalse(os.path.exists(crash_dir))
        self.assertTrue(os.path.exists(os.path.join(self.out, "fuzz_heap_threads",
                                                    "unattributed-1.log")))


if __name__ == "__main__":
    fuzz_helpers.unittest_main()
