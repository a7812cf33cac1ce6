#!/usr/bin/env python3
"""Real campaigns, short ones, with the fuzz preset's libFuzzer build (skipped, exit 77, when
build/fuzz is not built; scripts/fuzz builds it, as does `cmake --preset fuzz && cmake --build
--preset fuzz`):

- `scripts/fuzz --duration 20s --jobs 2 --engine libfuzzer --target fuzz_heap` into a temporary
  directory: exits 0, fuzzes (libFuzzer's own figures in report.md), merges into the merged
  directory given, writes report.md and campaign.json;
- the same with a long --duration, interrupted with SIGINT after a few seconds: stops the
  engines (no process of the campaign is left), still merges and writes report.md, and says it
  was interrupted. With the tsan preset built, the TSan replay instance runs in it too;
- where the afl and afl-cmplog presets are built: 20 s of AFL++ on fuzz_ops_text, merged with
  afl-cmin (the build root given has no libFuzzer build).

Neither touches the repository: --out, --merged-dir are temporary, --no-build, --no-install.
HF_FUZZ_BUILD=DIR takes the fuzz preset's build from DIR instead of build/fuzz (a build tree of
one's own: `cmake --preset fuzz -B DIR`), through a temporary --build-root of links."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from fuzz_helpers import FUZZ, ROOT, skip_exit, unittest_main

FUZZ_BUILD = os.environ.get("HF_FUZZ_BUILD") or os.path.join(ROOT, "build", "fuzz")
FUZZ_BIN = os.path.join(FUZZ_BUILD, "targets", "fuzz_heap")
TSAN_BUILD = os.path.join(ROOT, "build", "tsan")
TSAN_BIN = os.path.join(TSAN_BUILD, "targets", "fuzz_heap")
AFL_BIN = os.path.join(ROOT, "build", "afl", "targets", "fuzz_ops_text")
AFL_CMPLOG_BIN = os.path.join(ROOT, "build", "afl-cmplog", "targets", "fuzz_ops_text")


def processes_mentioning(text):
    """Pids of processes whose command line contains text (the campaign's temp dir)."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(pid))
    return pids


def report_row(report, name):
    for line in report.splitlines():
        if line.startswith("| %s |" % name):
            return [c.strip() for c in line.strip("|").split("|")]
    return None


class Campaign(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="heapfuzz-campaign-test-")
        self.out = os.path.join(self.tmp.name, "camp")
        self.merged = os.path.join(self.tmp.name, "merged")
        self.build_root = os.path.join(self.tmp.name, "build-links")
        os.makedirs(self.build_root)
        os.symlink(FUZZ_BUILD, os.path.join(self.build_root, "fuzz"))
        if os.path.exists(TSAN_BIN):
            os.symlink(TSAN_BUILD, os.path.join(self.build_root, "tsan"))

    def tearDown(self):
        for pid in processes_mentioning(self.tmp.name):  # only if a test failed half way
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.tmp.cleanup()

    def args(self, duration, tsan):
        a = [sys.executable, FUZZ, "--duration", duration, "--jobs", "2", "--engine",
             "libfuzzer", "--target", "fuzz_heap", "--out", self.out, "--merged-dir",
             self.merged, "--build-root", self.build_root, "--no-build", "--no-install",
             "--status-interval", "3"]
        return a if tsan else a + ["--no-tsan"]

    def check_common(self, report, manifest):
        row = report_row(report, "libfuzzer-fuzz_heap")
        self.assertIsNotNone(row, report)
        execs, rate = int(row[4]), float(row[5])
        self.assertGreater(execs, 0, row)
        self.assertGreater(rate, 0, row)
        # the median ops per executed program, from the target's own count
        m = re.match(r"^(\d+) \(of (\d+) execs\)$", row[6])
        self.assertIsNotNone(m, row)
        self.assertGreater(int(m.group(2)), 0, row)
        self.assertTrue(os.path.exists(os.path.join(self.out, "libfuzzer", "fuzz_heap",
                                                    "libfuzzer-fuzz_heap.ops-histogram")))
        self.assertRegex(row[7], r"^cov \d+", row)
        self.assertEqual(manifest["plan"]["instances"][0]["name"], "libfuzzer-fuzz_heap")
        self.assertIn("libFuzzer -merge=1", report)
        merged = os.listdir(os.path.join(self.merged, "fuzz_heap"))
        self.assertGreater(len(merged), 0, "nothing merged")
        self.assertEqual(manifest["merge"]["fuzz_heap"]["after"], len(merged))
        self.assertTrue(os.path.isdir(os.path.join(self.out, "libfuzzer", "fuzz_heap",
                                                   "corpus")))
        self.assertEqual(processes_mentioning(self.out), [], "engines left running")
        triage = os.path.exists(os.path.join(ROOT, "scripts", "triage"))
        self.assertEqual(manifest["triage"]["ran"], triage)
        return row

    def test_short_campaign(self):
        began = time.monotonic()
        r = subprocess.run(self.args("20s", tsan=False), capture_output=True, text=True,
                           timeout=300, cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertGreaterEqual(time.monotonic() - began, 20)
        with open(os.path.join(self.out, "report.md")) as f:
            report = f.read()
        with open(os.path.join(self.out, "campaign.json")) as f:
            manifest = json.load(f)
        row = self.check_common(report, manifest)
        self.assertIn(row[3], ("stopped", "done"))
        self.assertFalse(manifest["interrupted"])
        self.assertIn("planned 0:00:20", report)
        self.assertNotIn("(interrupted)", report)
        self.assertIn("-fork=2", report)
        # the status lines: one per instance, several times
        self.assertGreaterEqual(len(re.findall(r"^libfuzzer-fuzz_heap\s+\w+\s+execs \d+",
                                               r.stdout, re.M)), 3, r.stdout)
        # libFuzzer's stats over time became a plot
        self.assertTrue(os.path.exists(os.path.join(self.out, "plots", "execs_per_sec.svg")))

    def test_interrupted_campaign(self):
        tsan = os.path.exists(TSAN_BIN)
        p = subprocess.Popen(self.args("10m", tsan), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        # Until the engines run and libFuzzer reported a job (its stats line), at most 90 s.
        log_root = os.path.join(self.out, "logs")
        end = time.monotonic() + 90
        while time.monotonic() < end:
            logs = [os.path.join(d, f) for d, _, fs in os.walk(log_root) for f in fs
                    if f == "libfuzzer-fuzz_heap.log"]
            if logs:
                with open(logs[0], errors="replace") as f:
                    if "cov:" in f.read():
                        break
            time.sleep(0.5)
        time.sleep(2)
        self.assertGreater(len(processes_mentioning(self.out)), 0, "no engine started")
        stopped = time.monotonic()
        p.send_signal(signal.SIGINT)
        output, _ = p.communicate(timeout=240)
        self.assertEqual(p.returncode, 0, output)
        self.assertLess(time.monotonic() - stopped, 200)
        self.assertIn("SIGINT: stopping the engines", output)
        with open(os.path.join(self.out, "report.md")) as f:
            report = f.read()
        with open(os.path.join(self.out, "campaign.json")) as f:
            manifest = json.load(f)
        row = self.check_common(report, manifest)
        self.assertEqual(row[3], "stopped")
        self.assertTrue(manifest["interrupted"])
        self.assertIn("(interrupted)", report)
        if tsan:
            tsan_row = report_row(report, "tsan-replay")
            self.assertIsNotNone(tsan_row, report)
            self.assertEqual(tsan_row[3], "stopped")

    @unittest.skipUnless(os.path.exists(AFL_BIN) and os.path.exists(AFL_CMPLOG_BIN)
                         and shutil.which("afl-fuzz"), "AFL++ or the afl presets are not built")
    def test_afl_campaign_merges_with_afl_cmin(self):
        # A build root with only the AFL++ presets: the merge falls back to afl-cmin.
        root = os.path.join(self.tmp.name, "build")
        os.makedirs(root)
        for preset in ("afl", "afl-cmplog"):
            os.symlink(os.path.join(ROOT, "build", preset), os.path.join(root, preset))
        r = subprocess.run([sys.executable, FUZZ, "--duration", "20s", "--jobs", "1",
                            "--engine", "afl", "--target", "fuzz_ops_text", "--out", self.out,
                            "--merged-dir", self.merged, "--build-root", root, "--no-build",
                            "--no-install"], capture_output=True, text=True, timeout=300,
                           cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(self.out, "report.md")) as f:
            report = f.read()
        row = report_row(report, "afl-fuzz_ops_text-main")
        self.assertIsNotNone(row, report)
        self.assertGreater(int(row[4]), 0, row)  # executions, from fuzzer_stats
        self.assertEqual(row[6], "-", row)  # fuzz_ops_text does not count ops
        self.assertRegex(row[11], r"^\d+\.\d+%$", row)  # stability
        self.assertIn("| afl-cmin |", report)
        merged = os.listdir(os.path.join(self.merged, "fuzz_ops_text"))
        self.assertGreater(len(merged), 0)
        self.assertTrue(os.path.isdir(os.path.join(self.out, "afl", "fuzz_ops_text", "sync",
                                                   "main", "queue")))
        self.assertEqual(processes_mentioning(self.out), [], "engines left running")


if __name__ == "__main__":
    if not os.path.exists(FUZZ_BIN):
        skip_exit("the fuzz preset is not built (%s)" % FUZZ_BIN)
    unittest_main()
