"""scripts/promote on fixtures, with the fake heapfuzz (FAKE_HEAPFUZZ_FIXED=1: the fixed
heap)."""

import json
import unittest

from helpers import FAKE, UAF_ID, ScratchTest, run_script, snapshot

FIXED = {"FAKE_HEAPFUZZ_FIXED": "1"}
NAME = f"heap_use_after_free_hc_allocator_resume_{UAF_ID[:6]}"


class Promote(ScratchTest):
    def setUp(self):
        super().setUp()
        self.assertRc(self.triage_fake(self.fixture("inputs/uaf.ops")), 0)
        self.finding = self.findings / UAF_ID

    def promote(self, *args, env=None):
        return run_script("promote", "--findings", self.findings, "--regression-dir",
                          self.regression, "--heapfuzz", FAKE, *args, env=env)

    def meta(self):
        return json.loads((self.finding / "meta.json").read_text())

    def test_refuses_a_program_that_still_fails(self):
        before = snapshot(self.findings)
        p = self.promote(self.finding)
        self.assertRc(p, 1)
        self.assertIn(f"{self.finding}: still fails on", p.stderr)
        self.assertIn(f"replay 1 of 10 crashed with {UAF_ID} asan:heap-use-after-free", p.stderr)
        self.assertIn("not promoted", p.stderr)
        self.assertFalse(self.regression.exists())
        self.assertEqual(snapshot(self.findings), before)

    def test_promotes_a_fixed_one(self):
        p = self.promote(self.finding, env=FIXED)
        self.assertRc(p, 0)
        dest = self.regression / f"{NAME}.ops"
        self.assertIn(f"promoted to {dest}; finding marked fixed", p.stdout)
        text = dest.read_text()
        head = [line for line in text.splitlines() if line.startswith("# ")][:7]
        self.assertEqual(head[0], f"# regression {NAME}: finding {UAF_ID} "
                                  f"(findings/{UAF_ID}/), promoted by scripts/promote.")
        self.assertEqual(head[1], f"# signature: {UAF_ID} asan:heap-use-after-free|"
                                  f"hc_allocator_resume|hc_mutator_resume_allocating")
        self.assertEqual(head[2], "# target:    fuzz_heap")
        self.assertTrue(head[3].startswith("# found:     2024-06-01T00:00:00Z by replay "
                                           "(fuzz_heap on preset asan, commit 0123456789ab); "
                                           "1 crashing input(s), reproducible 10/10"))
        self.assertRegex(head[4], r"^# fixed:     \d{4}-\d\d-\d\d: 1 op \(minimized from 5\) "
                                  r"run clean on .*fake_heapfuzz \(10 replays each\)$")
        self.assertEqual(head[5], "# exercises: the asan:heap-use-after-free in "
                                  "hc_allocator_resume, hc_mutator_resume_allocating")
        # The program follows the header unchanged.
        self.assertTrue(text.endswith((self.finding / "program.ops").read_text()))
        meta = self.meta()
        self.assertEqual(meta["status"], "fixed")
        self.assertEqual(meta["regression"], str(dest))
        self.assertRegex(meta["fixed_on"], r"^\d{4}-\d\d-\d\d$")
        index = (self.findings / "README.md").read_text()
        self.assertIn(f"| [{UAF_ID}]({UAF_ID}/) | fixed |", index)
        self.assertIn(f"[{NAME}.ops]({dest})", index)
        self.assertIn("1 finding (one per bug): 0 open, 1 fixed; 1 crash signature, 0 merged "
                      "into a finding.", index)
        # Promoting again changes nothing.
        before = snapshot(self.tmp)
        p = self.promote(self.finding, env=FIXED)
        self.assertRc(p, 0)
        self.assertIn("already promoted", p.stdout)
        self.assertEqual(snapshot(self.tmp), before)

    def test_name_and_what(self):
        p = self.promote("--name", "stale_last_active", "--what", "resume after the sweeper",
                         UAF_ID, env=FIXED)
        self.assertRc(p, 0)
        text = (self.regression / "stale_last_active.ops").read_text()
        self.assertIn("# exercises: resume after the sweeper\n", text)
        self.assertRc(self.promote("--name", "bad-name!", UAF_ID, env=FIXED), 2)

    def test_refuses_to_overwrite_another_program(self):
        self.regression.mkdir()
        (self.regression / f"{NAME}.ops").write_text("something else\n")
        p = self.promote(self.finding, env=FIXED)
        self.assertRc(p, 1)
        self.assertIn("already exists", p.stderr)
        self.assertEqual((self.regression / f"{NAME}.ops").read_text(), "something else\n")
        self.assertEqual(self.meta()["status"], "open")

    def test_refuses_a_duplicate(self):
        meta = self.meta()
        meta.update(status="duplicate", duplicate_of="aaaaaaaaaaaa")
        (self.finding / "meta.json").write_text(json.dumps(meta))
        p = self.promote(self.finding, env=FIXED)
        self.assertRc(p, 1)
        self.assertIn("a duplicate of aaaaaaaaaaaa: promote that one", p.stderr)

    def test_malformed_and_missing(self):
        (self.finding / "program.ops").unlink()
        p = self.promote(self.finding, env=FIXED)
        self.assertRc(p, 1)
        self.assertIn("malformed finding: no program.ops", p.stderr)
        p = run_script("promote", "findings/xyz")
        self.assertRc(p, 2)
        self.assertEqual(p.stderr.strip(), "scripts/promote: findings/xyz: no such finding")


if __name__ == "__main__":
    unittest.main()
