"""scripts/triage: replay fidelity (the sanitizer build of the preset that found a crash, the
other sanitizer builds before "not reproduced", gdb for a bare signal), one finding per bug (the
eager oracle's bug signature merges crash signatures), parallel triage, the campaign summary.

Stand-in builds: HF_BUILD_ROOT points triage at a scratch build/ whose build/<preset>/heapfuzz
are wrappers of the fake heapfuzz (fixtures/fake_heapfuzz), the "fixed" ones running every
input clean, as a build without ASan runs a use-after-free."""

import json
import os
import stat
import sys

from helpers import COMMIT, FAKE, FIXTURES, TSAN_ID, UAF_ID, ScratchTest, snapshot

FAKE_GDB = FIXTURES / "fake_gdb"
SEGV_SIG = "signal:SIGSEGV|hc_block_sweep|hc_allocator_slow|hc_alloc"


def read_meta(findings, fid):
    return json.loads((findings / fid / "meta.json").read_text())


class StandInBuilds(ScratchTest):
    def build(self, preset, crashes=True, name="heapfuzz"):
        """build/<preset>/<name>: the fake heapfuzz, or (crashes=False) the fake on a heap
        where nothing crashes."""
        d = self.tmp / "build" / preset
        d.mkdir(parents=True, exist_ok=True)
        p = d / name
        env = "" if crashes else "FAKE_HEAPFUZZ_FIXED=1 "
        p.write_text(f"#!/bin/sh\n{env}exec {sys.executable} {FAKE} \"$@\"\n")
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
        return p

    def run_triage(self, *args, env=None):
        e = {"HF_BUILD_ROOT": str(self.tmp / "build"), "HF_GDB": str(FAKE_GDB)}
        e.update(env or {})
        return self.triage("--commit", COMMIT, "--no-build", *args, env=e)


class ReplayFidelity(StandInBuilds):
    def test_afl_main_crash_replays_on_asan_not_on_cmplog(self):
        """AFL++'s -M instance names two binaries (`-c` cmplog, and the fuzzed one after
        `--`); its crash is replayed with the ASan build, never the cmplog one (which runs a
        use-after-free clean)."""
        self.build("asan")
        self.build("afl-cmplog", crashes=False)
        self.build("afl", crashes=False)
        camp = self.fixture("campaign_afl_main")
        p = self.run_triage("--campaign", camp)
        self.assertIn(f"main/crashes/id:000000,sig:06,src:000107,time:41250,execs:36112,"
                      f"op:ops_mutate,pos:0: NEW finding {UAF_ID} asan:heap-use-after-free|",
                      p.stdout)
        meta = read_meta(self.findings, UAF_ID)
        self.assertEqual((meta["preset"], meta["binary"], meta["engine"], meta["report_from"]),
                         ("asan", "heapfuzz", "afl", "replay"))
        self.assertIn(" 0 not reproduced, 0 skipped, 0 errors", p.stdout)

    def test_bare_segfault_is_signed_from_gdb(self):
        """A replay killed by SIGSEGV without a sanitizer report runs again under gdb; the
        backtrace signs it (signal:SIGSEGV|frames) and is part of its report."""
        self.build("asan")
        camp = self.fixture("campaign_afl_main")
        p = self.run_triage("--campaign", camp)
        self.assertRc(p, 0)
        self.assertIn(f"rep:4: NEW finding", p.stdout)
        self.assertIn(SEGV_SIG, p.stdout)
        self.assertIn("0 errors", p.stdout)
        fid = [d.name for d in self.findings.iterdir()
               if d.is_dir() and read_meta(self.findings, d.name)["signature"] == SEGV_SIG]
        self.assertEqual(len(fid), 1)
        meta = read_meta(self.findings, fid[0])
        self.assertEqual(meta["report_from"], "gdb backtrace of the replay")
        report = (self.findings / fid[0] / "report.txt").read_text()
        self.assertIn("Program received signal SIGSEGV, Segmentation fault.", report)

    def test_bare_segfault_without_gdb_is_an_error_that_says_so(self):
        self.build("asan")
        camp = self.fixture("campaign_afl_main")
        p = self.run_triage("--campaign", camp, env={"HF_GDB": str(self.tmp / "no-gdb")})
        self.assertRc(p, 1)
        self.assertIn("replay killed by SIGSEGV without a sanitizer report, and gdb", p.stdout)
        self.assertIn("apt-get install gdb", p.stdout)

    def test_clean_replay_is_retried_on_the_other_sanitizer_build(self):
        """Clean on asan, crashing on tsan: filed with the tsan build, and the report says
        where it reproduced."""
        self.build("asan", crashes=False)
        self.build("tsan")
        inp = self.fixture("inputs/uaf.ops")
        p = self.run_triage("--preset", "asan", inp)
        self.assertRc(p, 0)
        self.assertIn(f"NEW finding {UAF_ID}", p.stdout)
        meta = read_meta(self.findings, UAF_ID)
        self.assertEqual(meta["preset"], "tsan")
        self.assertEqual(meta["report_from"], "replay on tsan (clean on asan)")

    def test_not_reproduced_names_every_build_tried(self):
        self.build("asan", crashes=False)
        self.build("tsan", crashes=False)
        inp = self.fixture("inputs/uaf.ops")
        p = self.run_triage(inp)
        self.assertRc(p, 0)
        self.assertIn("not reproduced: ran clean on asan, tsan", p.stdout)

    def test_an_uninstrumented_preset_is_never_the_replay(self):
        """--preset release (a build without a sanitizer) replays on asan."""
        self.build("asan")
        self.build("release", crashes=False)
        inp = self.fixture("inputs/uaf.ops")
        p = self.run_triage("--preset", "release", inp)
        self.assertIn(f"NEW finding {UAF_ID}", p.stdout)
        self.assertEqual(read_meta(self.findings, UAF_ID)["preset"], "asan")


class Minimization(StandInBuilds):
    def test_a_budget_stopped_minimization_is_not_presented_as_minimized(self):
        self.build("asan")
        inp = self.fixture("inputs/uaf.ops")
        p = self.run_triage(inp, env={"FAKE_HEAPFUZZ_BUDGET": "1"})
        self.assertRc(p, 0)
        self.assertIn("minimized 5 -> 1 ops (budget exhausted: not fully minimized)", p.stdout)
        self.assertFalse(read_meta(self.findings, UAF_ID)["minimize_complete"])
        index = (self.findings / "README.md").read_text()
        self.assertIn("| 1 (budget ran out) |", index)


class OneFindingPerBug(StandInBuilds):
    def inputs(self):
        """Two inputs whose crashes differ (a use-after-free, a race) and whose eager replays
        report one broken invariant (reports/oracle_verify.txt)."""
        a = self.tmp / "in" / "a.ops"
        b = self.tmp / "in" / "b.ops"
        a.parent.mkdir(parents=True, exist_ok=True)
        head = "heapfuzz-ops 1\nconfig trigger=0 full_every=0 versions=253 flags=0\n"
        a.write_text(head + "# FAKE-CRASH:asan_uaf FAKE-EAGER:oracle_verify\nalloc h=1 size=32 "
                     "slots=0 flags=0\nshrink\n")
        b.write_text(head + "# FAKE-CRASH:tsan_race FAKE-EAGER:oracle_verify\nalloc h=2 size=32 "
                     "slots=0 flags=0\nsweep n=1\nshrink\n")
        os.utime(a, (1717200000, 1717200000))
        os.utime(b, (1717200001, 1717200001))
        return a, b

    def test_two_crash_signatures_of_one_bug_are_one_finding(self):
        self.build("asan")
        a, b = self.inputs()
        p = self.run_triage(a, b)
        self.assertRc(p, 0)
        self.assertIn("1 new finding, 1 new crash signature of a known bug", p.stdout)
        self.assertIn(f"NEW crash signature {TSAN_ID}", p.stdout)
        self.assertIn(f"the same bug as finding {UAF_ID}", p.stdout)
        first, second = read_meta(self.findings, UAF_ID), read_meta(self.findings, TSAN_ID)
        self.assertEqual(first["bug_id"], second["bug_id"])
        self.assertEqual(first["bug_from"], "eager replay of program.ops")
        self.assertNotIn("after a shrink", first["bug_signature"])
        self.assertEqual((first["status"], second["status"], second["duplicate_of"]),
                         ("open", "duplicate", UAF_ID))
        index = (self.findings / "README.md").read_text()
        self.assertIn("1 finding (one per bug): 1 open, 0 fixed; 2 crash signatures, 1 merged "
                      "into a finding.", index)
        self.assertIn(f"[{TSAN_ID}]({TSAN_ID}/)", index)  # the merged one is listed

    def test_old_findings_are_signed_and_merged_never_deleted(self):
        """Findings filed before bugs were signed (no bug_id) are signed on the next run and
        those of one bug merged into the earliest."""
        self.build("asan")
        a, b = self.inputs()
        self.assertRc(self.run_triage(a, b), 0)
        for fid in (UAF_ID, TSAN_ID):
            m = read_meta(self.findings, fid)
            for k in ("bug_id", "bug_signature", "bug_from"):
                del m[k]
            m["status"], m["duplicate_of"] = "open", None
            (self.findings / fid / "meta.json").write_text(json.dumps(m))
        clean = self.fixture("inputs/clean.ops")
        p = self.run_triage(clean)
        self.assertRc(p, 0)
        self.assertIn(f"finding {TSAN_ID} is the same bug as {UAF_ID}", p.stderr)
        self.assertEqual(read_meta(self.findings, TSAN_ID)["status"], "duplicate")
        self.assertEqual(read_meta(self.findings, UAF_ID)["status"], "open")
        self.assertTrue((self.findings / TSAN_ID / "input").is_file())


class ParallelAndSummary(StandInBuilds):
    def test_jobs_do_not_change_the_findings(self):
        """-j 1 and -j 4 file the same folders, byte for byte, and the same summary."""
        self.build("asan")
        self.build("tsan")
        outs = []
        for jobs in ("1", "4"):
            camp = self.fixture("campaign_interrupted", dest=f"camp{jobs}")
            findings = self.tmp / f"findings{jobs}"
            p = self.run_triage("--findings", findings, "--campaign", camp, "-j", jobs)
            self.assertRc(p, 0)
            snap = {k: v[0].replace(f"camp{jobs}".encode(), b"CAMP")
                    for k, v in snapshot(findings).items()}
            summary = (camp / "triage.json").read_text().replace(f"camp{jobs}", "CAMP") \
                .replace(f"findings{jobs}", "FINDINGS")
            outs.append((snap, summary))
        self.assertEqual(outs[0], outs[1])

    def test_campaign_summary_has_one_row_per_bug_and_is_stable(self):
        self.build("asan")
        camp = self.fixture("campaign_afl_main")
        self.assertRc(self.run_triage("--campaign", camp), 0)
        summary = json.loads((camp / "triage.json").read_text())
        ids = sorted(r["id"] for r in summary["findings"])
        self.assertEqual(len(ids), 2)
        row = next(r for r in summary["findings"] if r["id"] == UAF_ID)
        self.assertEqual((row["new"], row["inputs"], row["engines"], row["reproducible"]),
                         (True, 1, ["afl"], "10/10"))
        self.assertEqual(summary["inputs"], {"filed": 2, "not reproduced": 0, "skipped": 0,
                                             "error": 0})
        before = (camp / "triage.json").read_bytes()
        self.assertRc(self.run_triage("--campaign", camp), 0)
        self.assertEqual((camp / "triage.json").read_bytes(), before)

    def test_progress_line(self):
        self.build("asan")
        camp = self.fixture("campaign_afl_main")
        p = self.run_triage("--campaign", camp)
        self.assertRegex(p.stderr, r"scripts/triage: 2/2 inputs replayed, 2 crash signatures, "
                                   r"eta 0 s")
