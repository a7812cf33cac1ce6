"""report.md's first section (scripts/lib/campaign_findings.py), from a triage.json laid out as
scripts/triage writes it: one row per finding with its link, new or seen before, inputs and
crash signatures, engines, reproducibility, minimized size; a shipped seed that crashed by itself
is said to be one; the crash files not reproduced or in error are named; no raw list of crash
files."""

import json
import os
import shutil
import tempfile
import unittest

import fuzz_helpers  # noqa: F401  (puts scripts/lib on the path)
import campaign_findings as cf
from campaign_plan import ROOT


class Plan:
    def __init__(self, out):
        self.out = out

    def triage_command(self):
        return [os.path.join(ROOT, "scripts", "triage"), "--campaign", self.out]


class Ctx:
    def __init__(self, out, triage):
        self.plan, self.out, self.triage = Plan(out), out, triage


SUMMARY = {
    "findings_dir": "findings",
    "inputs": {"filed": 212, "not reproduced": 1, "skipped": 0, "error": 1},
    "findings": [
        {"id": "9d014e74cddd", "new": False, "inputs": 3, "engines": ["libfuzzer"],
         "crash_ids": ["9d014e74cddd"], "seeds": [], "bug_signature": "oracle:verify|x",
         "signature": "oracle:verify|shrink|x", "reproducible": "10/10",
         "minimized_ops": 4, "original_ops": 101, "minimize_complete": True,
         "folder": "findings/9d014e74cddd"},
        {"id": "7b449035a5dd", "new": True, "inputs": 208, "engines": ["libfuzzer", "afl"],
         "crash_ids": ["7b449035a5dd", "1667c2beed62", "0f134ae70c4b"],
         "seeds": ["corpus/fuzz_heap/stop_window_release.ops"],
         "bug_signature": "fatal:self-check: a claim took a pinned block",
         "signature": "asan:heap-use-after-free|hc_allocator_resume",
         "reproducible": "10/10", "minimized_ops": 9, "original_ops": 812,
         "minimize_complete": False, "folder": "findings/7b449035a5dd"},
    ],
    "problems": [
        {"input": "CAMPAIGN/libfuzzer/fuzz_heap/crashes/crash-2b7e11",
         "status": "not reproduced", "message": "not reproduced: ran clean on asan, tsan (flaky)"},
        {"input": "CAMPAIGN/afl/fuzz_heap/sync/s1/crashes/id:000001",
         "status": "error",
         "message": "ERROR: replay killed by SIGSEGV without a sanitizer report, and gdb\nmore"},
    ],
}


class FindingsSection(unittest.TestCase):
    def setUp(self):
        # Inside the tree (build/, ignored), where a campaign's links to findings/ are relative.
        os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
        self.out = tempfile.mkdtemp(prefix="test-report-findings-", dir=os.path.join(ROOT,
                                                                                    "build"))
        self.addCleanup(shutil.rmtree, self.out, True)
        self.up = os.path.relpath(ROOT, self.out)  # report.md's way back to the tree
        self.triage = {"ran": True, "rc": 1, "log": os.path.join(self.out, "logs", "triage.log"),
                       "crashes": ["x"] * 214}
        name = os.path.basename(self.out)
        self.summary = json.loads(json.dumps(SUMMARY).replace("CAMPAIGN", "build/" + name))

    def write(self, summary):
        with open(os.path.join(self.out, "triage.json"), "w") as f:
            json.dump(summary, f)

    def test_one_row_per_finding_new_first(self):
        self.write(self.summary)
        text = "\n".join(cf.section_findings(Ctx(self.out, self.triage)))
        self.assertIn("## Findings of this run", text)
        self.assertIn(f"**2 findings** (one per bug), 1 new, 1 seen before; 214 crash, hang and "
                      f"timeout files triaged: 212 filed, 1 not reproduced, 1 errors, 0 skipped. Index: "
                      f"[findings/README.md]({self.up}/findings/README.md).", text)
        rows = [line for line in text.splitlines() if line.startswith("| [")]
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0], f"| [7b449035a5dd]({self.up}/findings/7b449035a5dd/) | "
                                  "`fatal:self-check: a claim took a pinned block` | **new** | "
                                  "208 (3 crash signatures) | libfuzzer, afl, seed | 10/10 | 9 "
                                  "of 812 (budget ran out) |")
        self.assertEqual(rows[1], f"| [9d014e74cddd]({self.up}/findings/9d014e74cddd/) | "
                                  "`oracle:verify\\|x` | seen before | 3 | libfuzzer | 10/10 | "
                                  "4 of 101 |")
        self.assertIn("A shipped seed crashed by itself, before any fuzzing: "
                      "`corpus/fuzz_heap/stop_window_release.ops` (7b449035a5dd).", text)
        self.assertIn("- `libfuzzer/fuzz_heap/crashes/crash-2b7e11`: not reproduced: ran clean "
                      "on asan, tsan (flaky)", text)
        self.assertIn("- `afl/fuzz_heap/sync/s1/crashes/id:000001`: ERROR: replay killed by "
                      "SIGSEGV without a sanitizer report, and gdb", text)
        self.assertNotIn("- `x`", text)  # no raw list of crash files

    def test_without_a_summary_it_says_so(self):
        text = "\n".join(cf.section_findings(Ctx(self.out, self.triage)))
        self.assertIn("which wrote no summary (`triage.json`)", text)

    def test_not_triaged(self):
        text = "\n".join(cf.section_findings(Ctx(self.out, {"ran": False, "why": "interrupted "
                                                              "twice", "crashes": ["a", "b"]})))
        self.assertIn("Not triaged: interrupted twice. 2 crash, hang and timeout files", text)


if __name__ == "__main__":
    fuzz_helpers.unittest_main()
