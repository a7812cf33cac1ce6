"""End to end on a real build: a proof seed (corpus/proofs/) crashes this build's bug variant
heapfuzz_bug_<name> -> scripts/triage -> one finding -> scripts/repro 10/10 -> scripts/promote
refused with the bug build, accepted with the shipped heapfuzz, and the promoted program runs
clean on it.

The build comes from HF_E2E_BUILD_DIR (ctest sets it; default build/asan), its sanitizer and bug
variants from HF_E2E_SANITIZER / HF_E2E_BUG_VARIANTS or its CMakeCache.txt. Skipped where the
build has no bug variant its sanitizer reports, or its heapfuzz has no `signature` command."""

import json
import os
import re
import subprocess
import unittest
from pathlib import Path

from helpers import FAKE, FIXTURES, REPO, ScratchTest, run_script, snapshot

# sanitizer -> (bug variant, proof seed, crash type, top frame or None)
PROOFS = {
    "address": ("stale_last_active", "stale_last_active_uaf", "asan:heap-use-after-free",
                "hc_allocator_resume"),
    "thread": ("unlocked_sweep_bits", "unlocked_sweep_bits_race", "tsan:data race", None),
}


def build_settings():
    build = Path(os.environ.get("HF_E2E_BUILD_DIR") or REPO / "build" / "asan")
    san = os.environ.get("HF_E2E_SANITIZER")
    bugs = os.environ.get("HF_E2E_BUG_VARIANTS")
    cache = build / "CMakeCache.txt"
    if (san is None or bugs is None) and cache.exists():
        text = cache.read_text(errors="replace")
        m = re.search(r"^HC_SANITIZE:\w+=(.*)$", text, re.M)
        san = san if san is not None else (m.group(1) if m else "")
        m = re.search(r"^HF_BUG_VARIANTS:\w+=(.*)$", text, re.M)
        bugs = bugs if bugs is not None else (m.group(1).replace(";", ",") if m else "")
    return build, san or "", [b for b in (bugs or "").split(",") if b]


def pick_proof():
    """(build, preset, bug binary, shipped heapfuzz, proof) or a reason to skip."""
    build, san, bugs = build_settings()
    for key, proof in PROOFS.items():
        if key in san and proof[0] in bugs:
            bug = build / f"heapfuzz_bug_{proof[0]}"
            shipped = build / "heapfuzz"
            if not bug.exists() or not shipped.exists():
                return f"{bug} or {shipped} is not built"
            empty = build / "CMakeCache.txt"
            p = subprocess.run([str(shipped), "signature", "--json", str(empty)],
                               capture_output=True, text=True)
            if p.returncode == 2 and "unknown command" in p.stderr:
                return f"{shipped} has no `signature` command (branch `minimize` not merged)"
            # build/<preset> is the preset's own; any other build directory (scripts/test's
            # HF_TEST_BUILD_PREFIX, e.g. build/mine-asan) gets the sanitizer's preset below.
            presets = json.loads((REPO / "CMakePresets.json").read_text())["configurePresets"]
            preset = build.name if build.name in {p["name"] for p in presets} and \
                build.resolve() == (REPO / "build" / build.name).resolve() else None
            return build, preset, bug, shipped, proof
    return f"{build}: no bug variant its sanitizer ({san or 'none'}) reports ({bugs})"


SETUP = pick_proof()


@unittest.skipIf(isinstance(SETUP, str), SETUP if isinstance(SETUP, str) else "")
class EndToEnd(ScratchTest):
    def test_proof_seed_triage_repro_promote(self):
        build, preset, bug, shipped, (variant, seed, ctype, frame) = SETUP
        inp = self.fixture(REPO / "corpus" / "proofs" / f"{seed}.ops", f"in/{seed}.ops")
        preset_args = ["--preset", preset or ("tsan" if ctype.startswith("tsan") else "asan")]

        # triage: one new finding, reproducible 10 of 10
        p = self.triage("--heapfuzz", bug, *preset_args, "--no-build", inp)
        self.assertRc(p, 0)
        self.assertIn("1 new finding", p.stdout)
        ids = [d.name for d in self.findings.iterdir() if d.is_dir()]
        self.assertEqual(len(ids), 1, p.stdout)
        fid = ids[0]
        finding = self.findings / fid
        meta = json.loads((finding / "meta.json").read_text())
        self.assertEqual(meta["type"], ctype)
        if frame:
            self.assertEqual(meta["frames"][0], frame)
        self.assertEqual(meta["reproducible"], "10/10")
        self.assertEqual((meta["target"], meta["engine"], meta["status"], meta["count"]),
                         ("fuzz_heap", "replay", "open", 1))
        if preset:
            self.assertEqual(meta["binary"], f"heapfuzz_bug_{variant}")
        self.assertEqual((finding / "signature.txt").read_text(),
                         f"{fid} {meta['signature']}\n")
        self.assertIn(ctype.split(":", 1)[1], (finding / "report.txt").read_text())
        if meta["minimized_ops"] is not None:
            self.assertLessEqual(meta["minimized_ops"], meta["original_ops"])

        # triage again: nothing changes
        before = snapshot(self.findings)
        p = self.triage("--heapfuzz", bug, *preset_args, "--no-build", inp)
        self.assertRc(p, 0)
        self.assertIn(f"already triaged: finding {fid}", p.stdout)
        self.assertEqual(snapshot(self.findings), before)

        # repro: the minimized program crashes with the same signature 10 of 10
        bin_args = [] if preset else ["--heapfuzz", bug]
        p = run_script("repro", "--findings", self.findings, "--no-build", *bin_args, fid)
        self.assertRc(p, 0)
        self.assertIn(f"10/10 replays crashed with its signature {fid}", p.stdout)
        self.assertIn("op trace", p.stdout)

        # promote: refused on the bug build, accepted on the shipped heap
        p = run_script("promote", "--findings", self.findings, "--regression-dir",
                       self.regression, "--heapfuzz", bug, fid)
        self.assertRc(p, 1)
        self.assertIn("still fails on", p.stderr)
        self.assertFalse(self.regression.exists())
        p = run_script("promote", "--findings", self.findings, "--regression-dir",
                       self.regression, "--heapfuzz", shipped, fid)
        self.assertRc(p, 0)
        progs = list(self.regression.glob("*.ops"))
        self.assertEqual(len(progs), 1)
        self.assertIn(f"# signature: {fid} {meta['signature']}\n", progs[0].read_text())
        self.assertEqual(json.loads((finding / "meta.json").read_text())["status"], "fixed")
        r = subprocess.run([str(shipped), "run", str(progs[0])], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class FakeMatchesRealSignature(unittest.TestCase):
    """The stand-in heapfuzz the unit tests use signs the fixture reports as the real
    `heapfuzz signature` does (so its ids in those tests are the real ones)."""

    def test_fixture_reports(self):
        build, _, _ = build_settings()
        shipped = build / "heapfuzz"
        if not shipped.exists():
            self.skipTest(f"{shipped} is not built")
        reports = sorted((FIXTURES / "reports").glob("*.txt")) + \
            sorted((FIXTURES / "campaign_hang").rglob("*.log"))
        for report in reports:
            for opts in ([], ["--timed-out"]):
                real = subprocess.run([str(shipped), "signature", *opts, report],
                                      capture_output=True, text=True)
                if real.returncode == 2 and "unknown command" in real.stderr:
                    self.skipTest(f"{shipped} has no `signature` command")
                fake = subprocess.run([str(FAKE), "signature", *opts, report],
                                      capture_output=True, text=True)
                self.assertEqual((fake.returncode, fake.stdout), (real.returncode, real.stdout),
                                 f"{report.name} {opts}")


if __name__ == "__main__":
    unittest.main()
