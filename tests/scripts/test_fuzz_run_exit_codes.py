#!/usr/bin/env python3
"""`heapfuzz run`'s exit status (issue 13): each file runs in a child process, so every kind of
finding exits 1 with its report and the next file still runs; and triage's replays, which run
the file in heapfuzz's own process (HEAPFUZZ_NO_FORK, hffindings.replay_env), still see a crash
as the signal that ended heapfuzz and get its backtrace from gdb.

Needs this build's heapfuzz_bug_stale_last_active and heapfuzz_bug_remove_block_order (the asan
preset's HF_BUG_VARIANTS); tests/tools.cmake checks the report and the next file for a
sanitizer's report, the heap's fatal error and TSan's exit code."""

import os
import re
import shutil
import signal
import subprocess
import time
import unittest

import fuzz_helpers
from fuzz_helpers import BUILD, ROOT
import hffindings as hf

STALE = os.path.join(BUILD, "heapfuzz_bug_stale_last_active")
REMOVE = os.path.join(BUILD, "heapfuzz_bug_remove_block_order")
ZOO_STALE = os.path.join(ROOT, "corpus", "zoo", "stale-last-active.ops")
ZOO_REMOVE = os.path.join(ROOT, "corpus", "zoo", "remove-block-order.ops")
CLEAN = os.path.join(ROOT, "corpus", "fuzz_heap", "weak_refs.ops")
TINY = os.path.join(ROOT, "tests", "fixtures", "text", "bom.ops")  # 2 ops, clean everywhere

# The ctest environment's sanitizer settings (tests/CMakeLists.txt), HEAPFUZZ_* cleared.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("HEAPFUZZ_")}
ENV.update({"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"})


def need(*paths):
    missing = [p for p in paths if not os.access(p, os.X_OK)]
    if missing:
        raise unittest.SkipTest("not built: %s" % ", ".join(missing))


def run(argv, env=None, timeout=120):
    e = dict(ENV)
    e.update(env or {})
    return subprocess.run(argv, capture_output=True, text=True, errors="replace", env=e,
                          timeout=timeout)


def children(pid):
    """The pids whose parent is pid (/proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d))
    return out


def wait_child(p, seconds=30):
    """The child heapfuzz run forked for its first file, once it has run a while."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        kids = children(p.pid)
        if kids:
            time.sleep(0.5)  # well into its runs
            return kids[0]
        time.sleep(0.02)
    p.kill()
    raise AssertionError("heapfuzz run started no child in %d s" % seconds)


class ExitStatus(unittest.TestCase):
    def test_asan_crash_then_clean(self):
        """The first file's use after free ends its child; its whole report, then its crash
        line; the second file still runs: exit 1."""
        need(STALE)
        p = run([STALE, "run", ZOO_STALE, CLEAN])
        self.assertEqual(p.returncode, 1, p.stderr[-2000:])
        self.assertEqual(p.stdout.splitlines()[0],
                         "%s: FINDING: crashed (killed by SIGABRT)" % ZOO_STALE)
        self.assertRegex(p.stdout.splitlines()[1], r"^%s: ok \(" % re.escape(CLEAN))
        report = p.stderr.index("ERROR: AddressSanitizer: heap-use-after-free")
        end = p.stderr.index("==ABORTING")
        line = p.stderr.index("%s: crashed (killed by SIGABRT)\n" % ZOO_STALE)
        self.assertLess(report, end)
        self.assertLess(end, line)
        self.assertIn("SUMMARY: AddressSanitizer: heap-use-after-free",
                      p.stderr[report:end])

    def test_sanitizer_exit_code(self):
        """A sanitizer that exits with its own code (TSan's 66, here ASan told so) is a finding:
        exit 1, the code named."""
        need(STALE)
        p = run([STALE, "run", ZOO_STALE, TINY],
                env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=66"})
        self.assertEqual(p.returncode, 1, p.stderr[-2000:])
        self.assertIn("%s: FINDING: crashed (exit status 66)\n" % ZOO_STALE, p.stdout)
        self.assertIn("%s: ok (" % TINY, p.stdout)
        self.assertIn("%s: crashed (exit status 66)\n" % ZOO_STALE, p.stderr)

    def test_fatal_error_then_clean(self):
        """The heap's fatal error (abort) under --eager: exit 1, the next file runs."""
        need(STALE)
        p = run([STALE, "run", "--eager", ZOO_STALE, TINY])
        self.assertEqual(p.returncode, 1, p.stderr[-2000:])
        self.assertRegex(p.stderr, r"heapcore: fatal: .*self-check: a claim took a pinned block")
        self.assertIn("%s: crashed (killed by SIGABRT)\n" % ZOO_STALE, p.stderr)
        self.assertIn("%s: ok (" % TINY, p.stdout)

    def test_oracle_finding_read_error_clean(self):
        """The oracle's finding is the child's to print, once (no crash line); a file that
        cannot be read is exit 2, which wins over 1; every file is reported."""
        need(REMOVE)
        missing = os.path.join(ROOT, "no_such_program.ops")
        p = run([REMOVE, "run", ZOO_REMOVE, missing, TINY])
        self.assertEqual(p.returncode, 2, p.stderr[-2000:])
        self.assertRegex(p.stdout, r"(?m)^%s: FINDING at op \d+ \(" % re.escape(ZOO_REMOVE))
        self.assertRegex(p.stderr, r"(?m)^%s: op \d+ \(shrink\) on m0: verify: " %
                         re.escape(ZOO_REMOVE))
        self.assertNotIn("crashed", p.stdout + p.stderr)
        self.assertIn("no_such_program.ops", p.stderr)
        self.assertIn("%s: ok (" % TINY, p.stdout)
        # Without the read error: 1.
        p = run([REMOVE, "run", ZOO_REMOVE, TINY])
        self.assertEqual(p.returncode, 1, p.stderr[-2000:])

    def test_bare_signal_in_a_repeat(self):
        """A child killed by a signal no sanitizer handles: its run named, that file stopped
        (--repeat stops a file at its first finding), the next file runs (and stops at its own
        first finding, in run 1)."""
        need(STALE)
        p = subprocess.Popen([STALE, "run", "--repeat", "1000000", CLEAN, ZOO_STALE],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             errors="replace",
                             env=dict(ENV, ASAN_OPTIONS=ENV["ASAN_OPTIONS"] + ":handle_segv=0"))
        try:
            os.kill(wait_child(p), signal.SIGSEGV)
            out, err = p.communicate(timeout=120)
        finally:
            p.kill()
        self.assertEqual(p.returncode, 1, err[-2000:])
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^%s: FINDING: crashed in run \d+ of 1000000 "
                                   r"\(killed by SIGSEGV\)$" % re.escape(CLEAN))
        self.assertEqual(lines[1], "%s: FINDING: crashed in run 1 of 1000000 "
                                   "(killed by SIGABRT)" % ZOO_STALE)
        self.assertRegex(err, r"%s: crashed in run \d+ of 1000000 \(killed by SIGSEGV\)\n" %
                         re.escape(CLEAN))

    def test_stop_signal_is_passed_on(self):
        """SIGTERM to heapfuzz reaches the child it waits for; heapfuzz says which file it
        stopped in, runs no more files and dies of the same signal, its child gone."""
        need(STALE)
        p = subprocess.Popen([STALE, "run", "--repeat", "1000000", CLEAN, TINY],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             errors="replace", env=ENV)
        try:
            child = wait_child(p)
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=60)
        finally:
            p.kill()
        self.assertEqual(p.returncode, -signal.SIGTERM, err[-2000:])
        self.assertIn("%s: stopped by SIGTERM (killed by SIGTERM)\n" % CLEAN, err)
        self.assertNotIn(TINY, out + err)
        self.assertFalse(os.path.exists("/proc/%d" % child), "the child outlived heapfuzz")


class TriageReplay(unittest.TestCase):
    """What scripts/triage relies on (hffindings): a replay runs in heapfuzz's own process."""

    def test_replay_ends_by_the_crash_signal(self):
        need(STALE)
        r = hf.run_capture(hf.run_argv(STALE, "fuzz_heap", ZOO_STALE), timeout=120)
        self.assertEqual(hf.signal_of(r), "SIGABRT", r.output[-2000:])  # abort_on_error=1
        self.assertIn("AddressSanitizer: heap-use-after-free", r.output)
        self.assertNotIn("crashed (", r.output)  # no parent: the process that crashed is heapfuzz

    def test_gdb_stops_in_the_crashing_process(self):
        """gdb_backtrace (how triage signs a bare signal) runs the replay's argv under gdb: the
        backtrace is the crash's, not a parent's waiting for its child."""
        need(STALE)
        if not (os.environ.get("HF_GDB") or shutil.which("gdb")):
            self.skipTest("gdb is not installed")
        r = hf.run_capture(hf.run_argv(STALE, "fuzz_heap", ZOO_STALE), timeout=120)
        bt = hf.gdb_backtrace(r.argv, timeout=300)
        self.assertIn("received signal SIGABRT", bt)
        self.assertRegex(bt, r"#\d+ .*hc_allocator_resume")
        self.assertNotIn("waitpid", bt)


if __name__ == "__main__":
    getattr(fuzz_helpers, "unittest_main", lambda: unittest.main(verbosity=2))()
