#!/usr/bin/env python3
"""The explore phase on a planted bug, end to end without an engine: a campaign directory laid
out by campaign_run.prepare() for `scripts/fuzz --inject-bug large-double-release`, whose
libFuzzer corpus holds the zoo's program for the bug without its preempt (the ops are there,
the schedule is not) and a single-threaded seed. The explore loop, with the heapfuzz the plan
names (build/asan/heapfuzz_bug_large_double_release), must find the bug's schedule and save it
as crash-explore-<hash>; `scripts/triage --campaign DIR` (no option naming the engine or the
binary: explore/instance.json says them) must file it as a finding of target fuzz_heap, engine
explore, replayed with the bug's build, and say so in DIR/triage.json.

Skipped (exit 77) when build/asan has not built heapfuzz_bug_large_double_release (the asan
preset's HF_BUG_VARIANTS: cmake --build --preset asan --target
heapfuzz_bug_large_double_release)."""

import json
import os
import subprocess
import sys
import tempfile
import time
import types
import unittest

import fuzz_helpers  # puts scripts/lib on the path
from fuzz_helpers import ROOT, skip_exit

import campaign_explore
import campaign_plan
import campaign_run

BUG = "large-double-release"
BUG_HEAPFUZZ = os.path.join(ROOT, "build", "asan", "heapfuzz_bug_large_double_release")
ZOO = os.path.join(ROOT, "corpus", "zoo", BUG + ".ops")
SEED = os.path.join(ROOT, "corpus", "fuzz_heap", "basic_lifecycle.ops")


class ExploreToTriage(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hf-explore-triage-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def asm(self, text, out):
        """A text program -> its binary form at out (what a fuzzer's corpus holds)."""
        src = out + ".ops"
        with open(src, "w") as f:
            f.write(text)
        subprocess.run([BUG_HEAPFUZZ, "asm", src, "-o", out], check=True, capture_output=True)
        os.unlink(src)

    def test_explore_finds_the_schedule_and_triage_files_it(self):
        out = os.path.join(self.dir, "campaign-bug")
        args = types.SimpleNamespace(
            duration=60, jobs=1, targets=["fuzz_heap"], engine="libfuzzer", tsan=True,
            explore=True, out=out, merged_dir=os.path.join(out, "merged"),
            build_root=os.path.join(ROOT, "build", "bug-large_double_release"), secondary=False,
            node=None, inject_bug=BUG)
        plan = campaign_plan.Plan(args)
        self.assertEqual(plan.explore_inst.binary, BUG_HEAPFUZZ)
        campaign_run.prepare(plan)
        with open(os.path.join(out, "explore", "instance.json")) as f:
            self.assertEqual(json.load(f)["engine"], "explore")

        corpus = os.path.join(out, "libfuzzer", "fuzz_heap", "corpus")
        with open(ZOO) as f:
            zoo = f.read()
        stripped = "".join(line for line in zoo.splitlines(True) if not line.startswith("preempt"))
        self.assertNotEqual(stripped, zoo, "the zoo program has no preempt")
        self.asm(stripped, os.path.join(corpus, "stripped"))
        with open(SEED) as f:
            self.asm(f.read(), os.path.join(corpus, "seed"))
        # The stripped program runs clean on the bug's heap: the bug needs the schedule.
        r = subprocess.run([BUG_HEAPFUZZ, "run", os.path.join(corpus, "stripped")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        e = plan.explore_inst
        loop = campaign_explore.ExploreLoop(e.binary, [corpus], os.path.join(out, "explore"),
                                            os.path.join(self.dir, "explore.log"),
                                            time.monotonic() + 120)
        loop.env.update(e.env)
        loop.start()
        end = time.monotonic() + 120
        while time.monotonic() < end and loop.snapshot()["unique"] < 2:
            time.sleep(0.1)
        loop.stop()
        snap = loop.snapshot()
        with open(os.path.join(self.dir, "explore.log")) as f:
            log = f.read()
        self.assertIsNone(snap["error"], log)
        self.assertEqual(snap["unique"], 2, log)
        self.assertEqual(snap["crashes"], 1, log)
        crashes = [n for n in os.listdir(e.crash_dirs[0]) if not n.endswith(".log")]
        self.assertEqual(len(crashes), 1, os.listdir(e.crash_dirs[0]))
        self.assertRegex(crashes[0], r"^crash-explore-[0-9a-f]{16}$")

        findings = os.path.join(self.dir, "findings")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "triage"),
                            "--campaign", out, "--findings", findings, "--no-minimize",
                            "--runs", "2", "--jobs", "1"],
                           capture_output=True, text=True, cwd=ROOT, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        metas = []
        for d in sorted(os.listdir(findings)):
            path = os.path.join(findings, d, "meta.json")
            if os.path.isfile(path):
                with open(path) as f:
                    metas.append(json.load(f))
        self.assertEqual(len(metas), 1, r.stdout + r.stderr)
        meta = metas[0]
        self.assertEqual((meta["engine"], meta["target"], meta["preset"]),
                         ("explore", "fuzz_heap", "asan"), meta)
        self.assertEqual(meta["binary"], "heapfuzz_bug_large_double_release", meta)
        self.assertEqual(meta.get("injected_bug"), BUG, meta)
        self.assertEqual(meta["reproducible"], "2/2", meta)
        with open(os.path.join(out, "triage.json")) as f:
            summary = json.load(f)
        self.assertEqual([row["engines"] for row in summary["findings"]], [["explore"]])


if __name__ == "__main__":
    if not os.path.exists(BUG_HEAPFUZZ):
        skip_exit("%s is not built (cmake --build --preset asan --target "
                  "heapfuzz_bug_large_double_release)" % BUG_HEAPFUZZ)
    fuzz_helpers.unittest_main()
