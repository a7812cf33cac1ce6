"""The campaign end to end, on a planted bug (issue 5's "done when", scripted): the real

    scripts/fuzz --inject-bug stale-last-active --duration 60s --engine both --target fuzz_heap
                 --no-tsan --jobs 2 --out TMP --no-install

(its builds included: build/bug-stale_last_active/<preset>/, reused by later runs), then, from
its real outputs:

- at least one finding in TMP/findings, each saying the bug (meta.json `injected_bug`), and a
  crashing input the engines made (three seeds of corpus/fuzz_heap crash this heap by
  themselves);
- each minimized (program.ops no longer than the input), and the finding with the most crashing
  inputs small: at most twice the ops of the zoo's hand-written program for the bug
  (corpus/zoo/stale-last-active.ops; every finding's numbers are printed);
- `scripts/repro FINDING --findings TMP/findings --no-trace` on that finding and on one whose
  first input the engines made: at least 9 of 10 replays crash with the finding's signature
  (fuzz_heap is deterministic: 10 is expected);
- `scripts/promote` of the first into a temporary --regression-dir: refused with the bug's
  heapfuzz, accepted with the shipped build/asan/heapfuzz (the shipped heap does not have the
  bug), the finding marked fixed, and the promoted file runs clean through
  `build/asan/heapfuzz run`;
- `scripts/triage --campaign TMP` a second time, with no other option (campaign.json names the
  bug, so it files into TMP/findings and replays with the bug's heapfuzz) changes no file;
- the repository's findings/ and corpus/merged/ are untouched.

Skipped (exit 77) without clang and its libFuzzer runtime, cmake or ninja (nothing is installed
by a test). Without AFL++ (afl-fuzz, afl-clang-fast, afl-cmin) it runs libFuzzer alone and says
so. HF_E2E_DURATION overrides the 60 s. Budget: under 6 minutes on 2 cores, builds included.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types
import unittest
from pathlib import Path

from fuzz_helpers import FUZZ
from helpers import REPO, run_script, snapshot

import campaign_run
import hffindings as hf

BUG = "stale-last-active"
SLUG = BUG.replace("-", "_")
DURATION = os.environ.get("HF_E2E_DURATION", "60s")
ZOO = REPO / "corpus" / "zoo" / f"{BUG}.ops"
SHIPPED = REPO / "build" / "asan" / "heapfuzz"
BUG_HEAPFUZZ = REPO / "build" / "asan" / f"heapfuzz_bug_{SLUG}"


def engines():
    """(engine, note) for scripts/fuzz --engine, or a reason to skip (a str)."""
    missing = campaign_run.missing_packages(types.SimpleNamespace(engines=["libfuzzer", "afl"]))
    essential = [p for p in missing if p not in ("afl++", "gnuplot-nox")]
    if essential:
        return f"missing {', '.join(essential)} (clang, its libFuzzer runtime, cmake, ninja, llvm)"
    if "afl++" in missing:
        return ("libfuzzer", "AFL++ is not installed (afl-fuzz, afl-clang-fast, afl-cmin): "
                "libFuzzer alone, not both engines")
    return ("both", "both engines")


SETUP = engines()
if not isinstance(SETUP, str) and not SHIPPED.exists():
    SETUP = f"{SHIPPED} is not built (cmake --preset asan && cmake --build --preset asan)"


def say(msg):
    print(f"[campaign e2e] {msg}", flush=True)


@unittest.skipIf(isinstance(SETUP, str), SETUP if isinstance(SETUP, str) else "")
class CampaignOnPlantedBug(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self._td = tempfile.TemporaryDirectory(prefix="hf-campaign-e2e-")
        self.tmp = Path(self._td.name).resolve()

    def tearDown(self):
        self._td.cleanup()

    def run_cmd(self, argv, **kw):
        began = time.monotonic()
        p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=REPO,
                           **kw)
        say(f"$ {' '.join(str(a) for a in argv)}  ({time.monotonic() - began:.0f} s, "
            f"exit {p.returncode})")
        return p

    def assertRc(self, p, rc):
        self.assertEqual(p.returncode, rc, f"exit {p.returncode}, wanted {rc}\n--- stdout\n"
                         f"{p.stdout[-6000:]}\n--- stderr\n{p.stderr[-6000:]}")

    def test_campaign_finds_files_reproduces_and_promotes(self):
        began = time.monotonic()
        engine, note = SETUP
        say(f"engines: {note}")
        out, regression = self.tmp / "campaign", self.tmp / "regression"
        repo_findings = snapshot(REPO / "findings")
        repo_merged = snapshot(REPO / "corpus" / "merged")

        # The campaign: builds, both engines, merge, triage, report.
        p = self.run_cmd([sys.executable, FUZZ, "--inject-bug", BUG, "--duration", DURATION,
                          "--engine", engine, "--target", "fuzz_heap", "--no-tsan", "--jobs", "2",
                          "--out", out, "--no-install", "--status-interval", "30"], timeout=480)
        campaign_time = time.monotonic() - began
        self.assertRc(p, 0)
        print(p.stdout[-3000:], flush=True)
        self.assertIn(f"scripts/fuzz: INJECTED BUG {BUG}: ", p.stdout)
        report = (out / "report.md").read_text()
        self.assertTrue(report.startswith(f"# heapfuzz campaign report\n\n> **INJECTED BUG: "
                                          f"`{BUG}`.**"), report[:300])
        manifest = json.loads((out / "campaign.json").read_text())
        self.assertEqual((manifest["injected_bug"], manifest["heapfuzz"]),
                         (BUG, f"build/asan/heapfuzz_bug_{SLUG}"))
        self.assertEqual(manifest["triage"]["rc"], 0, manifest["triage"])
        self.assertGreater(len(os.listdir(out / "merged" / "fuzz_heap")), 0)

        # The findings: each of the bug, small once minimized.
        found, errors = hf.load_all(out / "findings")
        self.assertEqual(errors, [])
        self.assertGreater(len(found), 0, f"no finding in {DURATION}:\n{p.stdout[-3000:]}")
        zoo_ops = hf.count_ops(ZOO.read_text())
        say(f"{len(found)} finding(s); the zoo's program has {zoo_ops} ops "
            f"({ZOO.relative_to(REPO)}); bound: {2 * zoo_ops}")
        for f in found:
            m = f.meta
            say(f"  {m['id']} {m['signature']}: count {m['count']}, engine {m['engine']}, "
                f"reproducible {m['reproducible']}, ops {m['original_ops']} -> "
                f"{m['minimized_ops']}")
        # Three seeds of corpus/fuzz_heap already crash this heap (the stop-allocating ones):
        # the engines must have found crashing inputs of their own too.
        seeds = {hashlib.sha1(s.read_bytes()).hexdigest()
                 for d in (REPO / "build" / f"bug-{SLUG}" / "fuzz" / "corpus" / "fuzz_heap",
                           REPO / "corpus" / "fuzz_heap") if d.is_dir()
                 for s in d.iterdir() if s.is_file()}
        inputs = {sha for f in found for sha in f.inputs}
        say(f"{len(inputs)} distinct crashing inputs, {len(inputs & seeds)} of them seeds")
        self.assertTrue(inputs - seeds, "every crashing input is a seed: the engines found none")
        for f in found:
            m = f.meta
            self.assertEqual(m.get("injected_bug"), BUG, m)
            self.assertEqual((m["binary"], m["preset"], m["target"]),
                             (f"heapfuzz_bug_{SLUG}", "asan", "fuzz_heap"))
            self.assertIsNotNone(m["minimized_ops"], m)
            self.assertLessEqual(m["minimized_ops"], m["original_ops"], m)
            self.assertEqual(m["minimized_ops"], hf.count_ops(
                (f.dir / "program.ops").read_text()))
        # One bug, at most two findings (issue 11): the crash signatures its eager replays sign
        # as one bug are merged into one finding.
        bugs = [f for f in found if f.meta["status"] != "duplicate"]
        say(f"{len(bugs)} bug(s): " + ", ".join(f"{f.id} {f.meta['bug_signature']}"
                                               for f in bugs))
        self.assertLessEqual(len(bugs), 2, [f.meta["bug_signature"] for f in bugs])
        # The finding followed below: the one with the most crashing inputs. The bug's essential
        # program is the zoo's; twice that is small. (Some signatures keep many ops: a
        # collection the finding's op must trigger by allocating enough, for one.)
        top = max(found, key=lambda f: (f.meta["count"], f.id))
        self.assertLessEqual(top.meta["minimized_ops"], 2 * zoo_ops, top.meta)
        # And one the engines made, where there is one besides it.
        made = [f for f in found if f is not top and
                hashlib.sha1((f.dir / "input").read_bytes()).hexdigest() not in seeds]

        # repro: from meta.json (build/asan/heapfuzz_bug_stale_last_active), 10 replays each.
        for f in [top] + made[:1]:
            p = self.run_cmd([REPO / "scripts" / "repro", f.dir, "--findings", out / "findings",
                              "--no-trace"], timeout=300)
            self.assertRc(p, 0)
            self.assertIn(f"on a heap with injected bug {BUG}", p.stdout)
            # From meta.json: the bug's heapfuzz, in build/asan/ (paths as seen from REPO).
            self.assertIn(f"program.ops with {BUG_HEAPFUZZ.relative_to(REPO)} (fuzz_heap)\n",
                          p.stdout)
            m = re.search(r"(\d+)/10 replays crashed with its signature (\w+) ", p.stdout)
            self.assertIsNotNone(m, p.stdout[-2000:])
            say(f"  repro {f.id}: {m.group(1)}/10")
            self.assertEqual(m.group(2), f.id)
            self.assertGreaterEqual(int(m.group(1)), 9, p.stdout[-2000:])

        # promote: refused on the bug's heap, accepted on the shipped one.
        p = self.run_cmd([REPO / "scripts" / "promote", top.dir, "--findings", out / "findings",
                          "--regression-dir", regression, "--heapfuzz", BUG_HEAPFUZZ])
        self.assertRc(p, 1)
        self.assertIn("still fails on", p.stderr)
        self.assertFalse(regression.exists())
        p = self.run_cmd([REPO / "scripts" / "promote", top.dir, "--findings", out / "findings",
                          "--regression-dir", regression])
        self.assertRc(p, 0)
        self.assertIn(f"replaying program.ops 10 times on {SHIPPED.relative_to(REPO)}\n",
                      p.stdout)
        programs = list(regression.glob("*.ops"))
        self.assertEqual(len(programs), 1)
        text = programs[0].read_text()
        self.assertIn(f"# signature: {top.id} {top.meta['signature']}\n", text)
        self.assertIn(f"# injected:  found on a heap built with -DHC_INJECT_BUG={BUG}", text)
        meta = json.loads((top.dir / "meta.json").read_text())
        self.assertEqual((meta["status"], meta["regression"]),
                         ("fixed", hf.repo_relative(programs[0])))
        r = self.run_cmd([SHIPPED, "run", programs[0]])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        say(f"  promoted {top.id} -> {programs[0].name}: {r.stdout.strip()}")

        # triage again, as a person would: campaign.json says where and with what.
        before = snapshot(out)
        p = self.run_cmd([REPO / "scripts" / "triage", "--campaign", out])
        self.assertRc(p, 0)
        self.assertIn(" 0 new findings, 0 new crash signatures of known bugs, 0 duplicates, ",
                      p.stdout)
        self.assertIn(f"{len(bugs)} finding{'' if len(bugs) == 1 else 's'} ({len(found)} crash "
                      f"signature{'' if len(found) == 1 else 's'}) in ", p.stdout)
        self.assertEqual(snapshot(out), before, "a second triage changed files")

        self.assertEqual(snapshot(REPO / "findings"), repo_findings)
        self.assertEqual(snapshot(REPO / "corpus" / "merged"), repo_merged)
        say(f"wall time: {time.monotonic() - began:.0f} s (scripts/fuzz: {campaign_time:.0f} s, "
            f"--duration {DURATION})")


if __name__ == "__main__":
    unittest.main(verbosity=2)
