"""One finding per bug, on the known bugs: every program of corpus/zoo/ and corpus/proofs/, each
replayed by its bug's build (heapfuzz_bug_<name>), triaged into ONE findings folder, must give
exactly one finding per bug: no bug split in two (the crash signatures of one bug merged by its
eager replay), no two bugs merged into one (over-merging).

Builds: those of HF_ZOO_BUILDS (comma-separated build directories), else ctest's build
(HF_E2E_BUILD_DIR). A program is triaged where a build has its bug variant and the sanitizer its
header names; the rest are reported as skipped. By hand, with every bug:

    cmake --build --preset asan && cmake --build --preset tsan
    HF_ZOO_BUILDS=build/asan,build/tsan python3 tests/scripts/test_zoo_findings.py
"""

import json
import os
import re
import unittest
from pathlib import Path

from helpers import REPO, ScratchTest
from test_e2e import build_settings

SANITIZER = {"address": "asan", "thread": "tsan"}


def programs():
    """(program, bug, sanitizer) of every zoo program and proof."""
    out = []
    for d in ("zoo", "proofs"):
        for f in sorted((REPO / "corpus" / d).glob("*.ops")):
            text = f.read_text()
            bug = re.search(r"^# bug: *(\S+)", text, re.M)
            san = re.search(r"^# sanitizer: *(\S+)", text, re.M)
            if bug and san:
                out.append((f, bug.group(1), san.group(1)))
    return out


def builds():
    """[(build dir, sanitizer, bug variants)]."""
    dirs = os.environ.get("HF_ZOO_BUILDS")
    if not dirs:
        return [build_settings()]
    out = []
    for d in dirs.split(","):
        os.environ["HF_E2E_BUILD_DIR"] = str(Path(d).resolve())
        os.environ.pop("HF_E2E_SANITIZER", None)
        os.environ.pop("HF_E2E_BUG_VARIANTS", None)
        out.append(build_settings())
    return out


class ZooOneFindingPerBug(ScratchTest):
    def test_each_known_bug_is_exactly_one_finding(self):
        plan, skipped = [], []
        for prog, bug, san in programs():
            variant = bug.replace("-", "_")
            for build, bsan, variants in builds():
                binary = build / f"heapfuzz_bug_{variant}"
                if san in bsan and variant in variants and binary.exists():
                    plan.append((prog, bug, binary, SANITIZER.get(san, "asan")))
                    break
            else:
                skipped.append(f"{prog.relative_to(REPO)} ({bug}: no {san} build with it)")
        if not plan:
            self.skipTest("no build with a bug variant: " + "; ".join(skipped))
        for prog, bug, binary, preset in plan:
            p = self.triage("--heapfuzz", binary, "--preset", preset, "--no-build", prog)
            self.assertRc(p, 0)
        found = [json.loads(m.read_text()) for m in sorted(self.findings.glob("*/meta.json"))]
        findings = [m for m in found if m["status"] != "duplicate"]
        bugs = sorted({b for _, b, _, _ in plan})
        by_bug = {}
        for m in findings:
            by_bug.setdefault(m["injected_bug"], []).append(m)
        table = "\n".join(f"  {m['injected_bug']:22} {m['id']} {m['bug_signature']}"
                          for m in findings)
        print(f"\n{len(plan)} programs of {len(bugs)} bugs -> {len(found)} crash signatures, "
              f"{len(findings)} findings:\n{table}")
        if skipped:
            print("skipped: " + "; ".join(skipped))
        self.assertEqual(sorted(by_bug), bugs, table)
        for bug, ms in by_bug.items():
            self.assertEqual(len(ms), 1, f"{bug} is {len(ms)} findings:\n{table}")
        self.assertEqual(len(findings), len(bugs), table)


if __name__ == "__main__":
    unittest.main(verbosity=2)
