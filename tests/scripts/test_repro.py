"""scripts/repro on fixtures, with the fake heapfuzz."""

import json
import unittest

from helpers import FAKE, TSAN_ID, UAF_ID, ScratchTest, run_script


class Repro(ScratchTest):
    def setUp(self):
        super().setUp()
        self.assertRc(self.triage_fake(self.fixture("inputs/uaf.ops")), 0)
        self.finding = self.findings / UAF_ID

    def repro(self, *args, env=None):
        return run_script("repro", "--findings", self.findings, "--heapfuzz", FAKE, *args,
                          env=env)

    def test_finding_reproduces_10_of_10(self):
        p = self.repro(self.finding)
        self.assertRc(p, 0)
        out = p.stdout
        self.assertIn(f"finding {UAF_ID} (open): asan:heap-use-after-free|", out)
        self.assertIn("---- op trace (heapfuzz run -v --trace)", out)
        self.assertIn("op 0 [m0]: verify", out)  # the trace of the minimized program
        self.assertIn("---- report", out)
        self.assertIn("ERROR: AddressSanitizer: heap-use-after-free", out)
        self.assertEqual(out.count(f"crash {UAF_ID} asan:heap-use-after-free"), 10)
        self.assertIn(f"10/10 replays crashed with its signature {UAF_ID} "
                      f"asan:heap-use-after-free|hc_allocator_resume|"
                      f"hc_mutator_resume_allocating", out)

    def test_by_id_and_original_input(self):
        p = self.repro("--runs", "3", "--original", "--no-trace", UAF_ID)
        self.assertRc(p, 0)
        self.assertIn(f"replaying {self.finding}/input", p.stdout)
        self.assertNotIn("op trace", p.stdout)
        self.assertIn("3/3 replays crashed with its signature", p.stdout)

    def test_fixed_heap_does_not_reproduce(self):
        p = self.repro("--runs", "4", self.finding, env={"FAKE_HEAPFUZZ_FIXED": "1"})
        self.assertRc(p, 1)
        self.assertEqual(p.stdout.count("clean"), 4)
        self.assertIn("0/4 replays crashed with its signature", p.stdout)

    def test_a_plain_file(self):
        inp = self.fixture("inputs/uaf_dup.bin")
        p = self.repro("--runs", "2", inp)
        self.assertRc(p, 0)
        self.assertIn(f"2/2 replays crashed; 2/2 with the first one's signature {UAF_ID}",
                      p.stdout)

    def test_real_thread_finding(self):
        camp = self.fixture("campaign_interrupted")
        self.assertRc(self.triage("--heapfuzz", FAKE, "--campaign", camp), 0)
        p = self.repro("--runs", "2", TSAN_ID)
        self.assertRc(p, 0)
        self.assertIn("(fuzz_heap_threads)", p.stdout)
        self.assertIn("op trace (heapfuzz run -v --trace), one schedule", p.stdout)
        self.assertIn(f"2/2 replays crashed with its signature {TSAN_ID} tsan:data race|", p.stdout)

    def test_no_such_finding(self):
        p = run_script("repro", "findings/xyz")
        self.assertRc(p, 2)
        self.assertEqual(p.stderr.strip(), "scripts/repro: findings/xyz: no such finding")

    def test_malformed_finding(self):
        (self.finding / "meta.json").write_text("{")
        before = (self.finding / "meta.json").read_bytes()
        p = self.repro(self.finding)
        self.assertRc(p, 1)
        self.assertIn("malformed finding: meta.json:", p.stderr)
        self.assertEqual((self.finding / "meta.json").read_bytes(), before)

    def test_missing_binary(self):
        meta = json.loads((self.finding / "meta.json").read_text())
        meta["binary"] = "no/such/heapfuzz"
        (self.finding / "meta.json").write_text(json.dumps(meta))
        p = run_script("repro", "--findings", self.findings, self.finding)
        self.assertRc(p, 2)
        self.assertIn("no/such/heapfuzz: no such binary", p.stderr)

    def test_help(self):
        p = run_script("repro", "--help")
        self.assertRc(p, 0)
        self.assertIn("--gdb", p.stdout)


if __name__ == "__main__":
    unittest.main()
