"""scripts/triage on fixtures, with the fake heapfuzz (fixtures/fake_heapfuzz)."""

import json
import os
import shutil
import unittest

from helpers import (COMMIT, EPOCH, FAKE, FIXTURES, HANG_ID, ORACLE_ID, REPO, TSAN_ID, UAF_ID,
                     ScratchTest, run_script, snapshot)


def read_meta(findings, fid):
    return json.loads((findings / fid / "meta.json").read_text())


class FakeCrashReport(ScratchTest):
    def test_report_becomes_the_expected_finding_folder(self):
        """A crash (fixtures/reports/asan_uaf.txt) -> findings/<id>/ exactly as in
        fixtures/expected/<id>/ (@TMP@ stands for the scratch directory)."""
        inp = self.fixture("inputs/uaf.ops", "in/uaf.ops")
        p = self.triage_fake(inp)
        self.assertRc(p, 0)
        self.assertIn(f"NEW finding {UAF_ID} asan:heap-use-after-free|hc_allocator_resume|"
                      f"hc_mutator_resume_allocating", p.stdout)
        self.assertIn("reproducible 10/10; minimized 5 -> 1 ops", p.stdout)
        expected_dir = FIXTURES / "expected" / UAF_ID
        got = sorted(x.name for x in (self.findings / UAF_ID).iterdir())
        self.assertEqual(got, sorted(x.name for x in expected_dir.iterdir()))
        for f in expected_dir.iterdir():
            want = f.read_bytes().replace(b"@TMP@", str(self.tmp).encode())
            self.assertEqual((self.findings / UAF_ID / f.name).read_bytes(), want, f.name)
        index = (self.findings / "README.md").read_text()
        self.assertIn(f"| [{UAF_ID}]({UAF_ID}/) | open | asan:heap-use-after-free\\|"
                      f"hc_allocator_resume\\|hc_mutator_resume_allocating | [{UAF_ID}]"
                      f"({UAF_ID}/) asan:heap-use-after-free | fuzz_heap | asan | 1 | 10/10 | 1 "
                      f"| 2024-06-01T00:00:00Z |  |", index)
        self.assertIn("1 finding (one per bug): 1 open, 0 fixed; 1 crash signature, 0 merged "
                      "into a finding.", index)
        self.assertEqual(list(self.findings.glob(".tmp-*")), [])

    def test_clean_input_is_not_a_finding(self):
        inp = self.fixture("inputs/clean.ops")
        p = self.triage_fake(inp)
        self.assertRc(p, 0)
        self.assertIn("not reproduced: ran clean", p.stdout)
        self.assertEqual([d.name for d in self.findings.iterdir() if not d.name.startswith(".")],
                         ["README.md"])

    def test_without_signature_command_nothing_is_written(self):
        inp = self.fixture("inputs/uaf.ops")
        p = self.triage_fake(inp, env={"FAKE_HEAPFUZZ_NO_SIGNATURE": "1"})
        self.assertRc(p, 1)
        self.assertIn("has no `signature` command", p.stderr)
        self.assertIn("no finding is written", p.stderr)
        self.assertFalse((self.findings / UAF_ID).exists())

    def test_without_minimize_command_the_program_is_kept_whole(self):
        inp = self.fixture("inputs/uaf.ops")
        p = self.triage_fake(inp, env={"FAKE_HEAPFUZZ_NO_MINIMIZE": "1"})
        self.assertRc(p, 0)
        self.assertIn("has no `minimize` command", p.stdout)
        meta = read_meta(self.findings, UAF_ID)
        self.assertIsNone(meta["minimized_ops"])
        self.assertEqual(meta["original_ops"], 5)
        program = (self.findings / UAF_ID / "program.ops").read_text()
        self.assertTrue(program.startswith(f"# {UAF_ID} asan:heap-use-after-free|"))
        self.assertIn("program.ops is not minimized", program)
        self.assertIn("\nheapfuzz-ops 1\n", program)

    def test_hang_is_stopped_and_signed_where_it_hung(self):
        """A replay over --timeout gets SIGABRT; the sanitizer's report (handle_abort=1) of
        where it spun is the finding's report, signed as a timeout there."""
        inp = self.fixture("inputs/hang.ops")
        p = self.triage_fake("--timeout", "1", "--runs", "2", inp)
        self.assertRc(p, 0)
        self.assertIn(f"NEW finding {HANG_ID} timeout|hc_sweep_some|hc_sweeper_run_step",
                      p.stdout)
        meta = read_meta(self.findings, HANG_ID)
        self.assertEqual(meta["reproducible"], "2/2")
        report = (self.findings / HANG_ID / "report.txt").read_text()
        self.assertIn("ERROR: AddressSanitizer: ABRT on unknown address", report)
        self.assertIn("[replay stopped with SIGABRT after 1 s: ", report)

    def test_one_hang_one_signature(self):
        """The same hang, seen two ways: AFL++ kept it in hangs/ and its replay hangs too (stopped
        with SIGABRT), and libFuzzer reported a timeout on an input that replays under triage's
        limit (so its engine log is the report). One finding, `timeout|<frames>`."""
        camp = self.fixture("campaign_hang")
        p = self.triage_fake("--campaign", camp, "--timeout", "1", "--runs", "1")
        self.assertRc(p, 0)
        self.assertIn(f"NEW finding {HANG_ID} timeout|hc_sweep_some|hc_sweeper_run_step",
                      p.stdout)
        self.assertIn(f"timeout-5a0c7e21: duplicate of {HANG_ID} (count 2)", p.stdout)
        self.assertEqual([d.name for d in self.findings.iterdir() if d.is_dir()], [HANG_ID])
        meta = read_meta(self.findings, HANG_ID)
        self.assertEqual((meta["type"], meta["engine"], meta["count"]), ("timeout", "afl", 2))
        self.assertIn("[replay stopped with SIGABRT after 1 s: ",
                      (self.findings / HANG_ID / "report.txt").read_text())

    def test_usage_errors_exit_2(self):
        self.assertRc(self.triage(), 2)
        p = self.triage("--heapfuzz", FAKE, self.tmp / "nope")
        self.assertRc(p, 2)
        self.assertIn("nope: no such file", p.stderr)
        self.assertRc(self.triage("--campaign", self.tmp / "nowhere"), 2)
        self.assertRc(self.triage("--help"), 0)


class Idempotence(ScratchTest):
    def test_second_run_changes_nothing(self):
        inp = self.fixture("inputs/uaf.ops")
        camp = self.fixture("campaign_interrupted")
        self.assertRc(self.triage_fake(inp, "--campaign", camp), 0)
        before = snapshot(self.findings)
        p = self.triage_fake(inp, "--campaign", camp)
        self.assertRc(p, 0)
        self.assertEqual(snapshot(self.findings), before)
        self.assertIn("0 new findings, 0 new crash signatures of known bugs, 0 duplicates, "
                      "5 already triaged", p.stdout)
        self.assertIn(f"already triaged: finding {UAF_ID}", p.stdout)
        # Regenerating the index alone changes nothing either.
        self.assertRc(self.triage("--index-only"), 0)
        self.assertEqual(snapshot(self.findings), before)

    def test_committed_index_is_what_triage_writes(self):
        """findings/README.md as committed is what triage regenerates from the committed
        findings (none, or every finding folder there is)."""
        repo_findings = REPO / "findings"
        shutil.copytree(repo_findings, self.findings, ignore=shutil.ignore_patterns("README.md"))
        self.assertRc(self.triage("--index-only"), 0)
        committed = (repo_findings / "README.md").read_bytes()
        self.assertEqual((self.findings / "README.md").read_bytes(), committed)

    def test_interrupted_run_leaves_no_finding_behind(self):
        """A folder left by a killed triage (.tmp-*) is removed; findings are not."""
        stale = self.findings / f".tmp-{UAF_ID}-999"
        stale.mkdir(parents=True)
        (stale / "input").write_bytes(b"partial")
        inp = self.fixture("inputs/uaf.ops")
        p = self.triage_fake(inp)
        self.assertRc(p, 0)
        self.assertIn("left by an interrupted run", p.stderr)
        self.assertFalse(stale.exists())
        self.assertTrue((self.findings / UAF_ID / "meta.json").exists())


class Duplicates(ScratchTest):
    def test_same_crash_twice_is_one_finding_count_2(self):
        a = self.fixture("inputs/uaf.ops", mtime=EPOCH)
        b = self.fixture("inputs/uaf_dup.bin", mtime=EPOCH + 60)
        p = self.triage_fake(b, a)  # sorted by time: a is the first input
        self.assertRc(p, 0)
        self.assertIn(f"duplicate of {UAF_ID} (count 2)", p.stdout)
        dirs = [d.name for d in self.findings.iterdir() if d.is_dir()]
        self.assertEqual(dirs, [UAF_ID])
        meta = read_meta(self.findings, UAF_ID)
        self.assertEqual(meta["count"], 2)
        self.assertEqual(meta["first_seen"], "2024-06-01T00:00:00Z")
        self.assertEqual((self.findings / UAF_ID / "input").read_bytes(), a.read_bytes())
        lines = (self.findings / UAF_ID / "inputs.txt").read_text().splitlines()
        self.assertEqual(sorted(x.split(" ", 1)[1] for x in lines), sorted([str(a), str(b)]))

    def test_duplicate_in_a_later_run_keeps_first_seen(self):
        a = self.fixture("inputs/uaf.ops", mtime=EPOCH + 3600)
        self.assertRc(self.triage_fake(a), 0)
        b = self.fixture("inputs/uaf_dup.bin", mtime=EPOCH)  # older, seen later
        p = self.triage_fake(b)
        self.assertRc(p, 0)
        meta = read_meta(self.findings, UAF_ID)
        self.assertEqual(meta["count"], 2)
        self.assertEqual(meta["first_seen"], "2024-06-01T01:00:00Z")

    def test_crash_of_a_fixed_finding_reopens_it(self):
        a = self.fixture("inputs/uaf.ops")
        self.assertRc(self.triage_fake(a), 0)
        meta = read_meta(self.findings, UAF_ID)
        meta["status"] = "fixed"
        (self.findings / UAF_ID / "meta.json").write_text(json.dumps(meta))
        b = self.fixture("inputs/uaf_dup.bin")
        p = self.triage_fake(b)
        self.assertRc(p, 0)
        self.assertIn("REGRESSION", p.stdout)
        self.assertEqual(read_meta(self.findings, UAF_ID)["status"], "open")


class InterruptedCampaign(ScratchTest):
    """fixtures/campaign_interrupted: a libFuzzer instance (a complete crash, a truncated one,
    an empty one, a flaky one whose own log has the report, a flaky one found in a log cut
    mid-line) and an AFL++ instance (a crash, a queue that is not crashes, a fuzzer_stats cut
    mid-line)."""

    def test_complete_artifacts_are_filed_and_the_rest_reported(self):
        camp = self.fixture("campaign_interrupted")
        p = self.triage("--heapfuzz", FAKE, "--campaign", camp)
        self.assertRc(p, 0)
        out = p.stdout
        lf = "libfuzzer-fuzz_heap-asan"
        self.assertIn(f"{lf}/crash-1f0a3c: NEW finding {UAF_ID}", out)
        self.assertIn(f"{lf}/crash-2b7e11: not reproduced: ran clean and no engine log", out)
        self.assertIn(f"{lf}/crash-3c5d22: skipped: empty file", out)
        self.assertIn(f"{lf}/crash-4d9e33: NEW finding {ORACLE_ID} oracle:verify|shrink|", out)
        self.assertIn(f"{lf}/crash-5e6f44: duplicate of {UAF_ID} (count 2)", out)
        self.assertIn(f"id:000000,sig:06,src:000001,time:1234,execs:99,op:havoc,rep:2: "
                      f"NEW finding {TSAN_ID} tsan:data race|", out)
        self.assertNotIn("queue", out)
        self.assertNotIn("README.txt", out)
        self.assertIn("fuzzer_stats: last line cut short", p.stderr)
        self.assertIn("6 inputs: 3 new findings, 0 new crash signatures of known bugs, "
                      "1 duplicate, 0 already triaged, 1 not reproduced, 1 skipped, 0 errors",
                      out)

        uaf = read_meta(self.findings, UAF_ID)
        self.assertEqual((uaf["target"], uaf["preset"], uaf["engine"], uaf["commit"]),
                         ("fuzz_heap", "asan", "libfuzzer", COMMIT))
        self.assertEqual(uaf["count"], 2)
        self.assertEqual(uaf["report_from"], "replay")

        tsan = read_meta(self.findings, TSAN_ID)
        # Target and preset from fuzzer_stats' command_line, engine from the folder name.
        self.assertEqual((tsan["target"], tsan["preset"], tsan["engine"], tsan["commit"]),
                         ("fuzz_heap_threads", "tsan", "afl", COMMIT))
        self.assertEqual(tsan["reproducible"], "10/10")

        oracle = read_meta(self.findings, ORACLE_ID)
        self.assertTrue(oracle["report_from"].startswith("engine log "))
        self.assertTrue(oracle["report_from"].endswith(f"{lf}/crash-4d9e33.log"))
        self.assertEqual(oracle["reproducible"], "0/10")
        self.assertIsNone(oracle["minimized_ops"])
        self.assertEqual((self.findings / ORACLE_ID / "report.txt").read_text(),
                         (FIXTURES / "reports" / "oracle_verify.txt").read_text())

    def test_metadata_files_and_options_decide_the_replay(self):
        camp = self.fixture("campaign_interrupted")
        inst = camp / "libfuzzer-fuzz_heap-asan" / "instance.json"
        inst.write_text('{"preset": "fuzz", "commit": "feedface"}')
        (camp / "afl-fuzz_heap_threads" / "instance.json").write_text('{"preset": ')  # cut
        p = self.triage("--heapfuzz", FAKE, "--engine", "libfuzzer", "--campaign", camp)
        self.assertRc(p, 0)
        self.assertIn("instance.json: unreadable", p.stderr)
        uaf = read_meta(self.findings, UAF_ID)
        self.assertEqual((uaf["preset"], uaf["commit"], uaf["engine"]),
                         ("fuzz", "feedface", "libfuzzer"))
        tsan = read_meta(self.findings, TSAN_ID)
        self.assertEqual((tsan["preset"], tsan["engine"]), ("tsan", "libfuzzer"))


class InjectedBugCampaign(ScratchTest):
    """A campaign on a heap with an injected bug (scripts/fuzz --inject-bug writes
    `injected_bug` and `heapfuzz` into its campaign.json): triaged alone, it files into its own
    DIR/findings, never into the repository's findings/, and each finding says the bug."""

    def campaign(self):
        camp = self.fixture("campaign_interrupted")
        (camp / "campaign.json").write_text(json.dumps(
            {"commit": COMMIT, "injected_bug": "stale-last-active", "heapfuzz": str(FAKE)}))
        return camp

    def test_files_into_its_own_findings(self):
        camp = self.campaign()
        repo_findings = snapshot(REPO / "findings")
        p = run_script("triage", "--campaign", camp)
        self.assertRc(p, 0)
        self.assertIn("3 new findings", p.stdout)
        self.assertIn("; injected bug stale-last-active", p.stdout)
        self.assertEqual(snapshot(REPO / "findings"), repo_findings)
        mine = camp / "findings"
        uaf = read_meta(mine, UAF_ID)
        self.assertEqual((uaf["injected_bug"], uaf["binary"], uaf["commit"]),
                         ("stale-last-active", "tests/scripts/fixtures/fake_heapfuzz", COMMIT))
        before = snapshot(camp)
        p = run_script("triage", "--campaign", camp)
        self.assertRc(p, 0)
        self.assertIn("0 new findings, 0 new crash signatures of known bugs, 0 duplicates, "
                      "4 already triaged", p.stdout)
        self.assertEqual(snapshot(camp), before)

    def test_never_into_the_repositorys_findings(self):
        camp = self.campaign()
        p = run_script("triage", "--campaign", camp, "--findings", REPO / "findings")
        self.assertRc(p, 2)
        self.assertIn("ran on a heap with injected bug stale-last-active", p.stderr)
        other = self.fixture("campaign_hang")
        p = run_script("triage", "--heapfuzz", FAKE, "--campaign", camp, "--campaign", other)
        self.assertRc(p, 2)
        self.assertIn("give --findings", p.stderr)
        self.assertFalse((camp / "findings").exists())
        p = self.triage("--campaign", camp)  # an explicit --findings elsewhere is fine
        self.assertRc(p, 0)
        self.assertEqual(read_meta(self.findings, UAF_ID)["injected_bug"], "stale-last-active")

    def test_a_bug_build_names_its_bug(self):
        """A replay with a heapfuzz_bug_<name> build (triage FILE --heapfuzz ...) says it too;
        the shipped heapfuzz's findings have no such key."""
        bug = self.tmp / "bin" / "heapfuzz_bug_size_class_short"
        bug.parent.mkdir()
        bug.write_text(f'#!/bin/sh\nexec "{FAKE}" "$@"\n')  # not a symlink: triage resolves those
        bug.chmod(0o755)
        p = self.triage("--heapfuzz", bug, self.fixture("inputs/uaf.ops"))
        self.assertRc(p, 0)
        self.assertEqual(read_meta(self.findings, UAF_ID)["injected_bug"], "size-class-short")
        shipped = self.tmp / "shipped"
        p = run_script("triage", "--findings", shipped, "--heapfuzz", FAKE,
                       self.fixture("inputs/uaf.ops", "uaf2.ops"))
        self.assertRc(p, 0)
        self.assertNotIn("injected_bug", read_meta(shipped, UAF_ID))


class MalformedFindings(ScratchTest):
    def _one_finding(self):
        self.assertRc(self.triage_fake(self.fixture("inputs/uaf.ops")), 0)

    def _assert_refused(self, message):
        before = snapshot(self.findings)
        p = self.triage_fake(self.fixture("inputs/uaf_dup.bin"))
        self.assertRc(p, 1)
        self.assertIn(message, p.stderr)
        self.assertIn("nothing was written", p.stderr)
        self.assertEqual(snapshot(self.findings), before)
        return p

    def test_missing_meta_json(self):
        self._one_finding()
        os.rename(self.findings / UAF_ID / "meta.json", self.tmp / "meta.json.saved")
        self._assert_refused(f"{UAF_ID}: malformed finding: no meta.json")

    def test_bad_json(self):
        self._one_finding()
        (self.findings / UAF_ID / "meta.json").write_text('{"id": "' + UAF_ID + '", "count": ')
        self._assert_refused(f"{UAF_ID}: malformed finding: meta.json: Expecting value")

    def test_missing_keys_and_files(self):
        self._one_finding()
        meta = read_meta(self.findings, UAF_ID)
        del meta["status"]
        (self.findings / UAF_ID / "meta.json").write_text(json.dumps(meta))
        self._assert_refused("meta.json lacks status")

    def test_stray_folder_named_like_a_finding(self):
        self._one_finding()
        (self.findings / "abcdefabcdef").mkdir()
        (self.findings / "abcdefabcdef" / "input").write_bytes(b"x")
        self._assert_refused("abcdefabcdef: malformed finding: no meta.json")


if __name__ == "__main__":
    unittest.main()
