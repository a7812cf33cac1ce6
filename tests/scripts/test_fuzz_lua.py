#!/usr/bin/env python3
"""scripts/fuzz --target fuzz_lua without running a campaign: the --dry-run plan fuzzes the lua
backend's target (targets/fuzz_lua.c) with libFuzzer only (it is not built for AFL++), from
fuzz_heap's compiled seeds, with the op dictionary and the ops histogram; it is never in the
default plan, and mixes with the other targets."""

import os
import unittest

import fuzz_helpers
from fuzz_helpers import flag

import campaign_plan


class FuzzLuaPlan(unittest.TestCase):
    def plan(self, *args):
        return fuzz_helpers.dry_run_plan(self, *args)

    def test_fuzz_lua_alone(self):
        # --engine both (the default): no AFL++ instance for fuzz_lua, and no AFL++ preset.
        plan, text, out = self.plan("--target", "fuzz_lua", "--jobs", "2", "--no-tsan")
        self.assertEqual(list(plan), ["libfuzzer-fuzz_lua"])
        self.assertIn("presets: fuzz\n", text)
        argv = plan["libfuzzer-fuzz_lua"]["argv"]
        self.assertTrue(argv[0].endswith(os.path.join("fuzz", "targets", "fuzz_lua")), argv)
        self.assertEqual(flag(argv, "fork"), "2")
        self.assertEqual(flag(argv, "dict"), campaign_plan.DICT_FILE)
        # Its corpus, then fuzz_heap's seeds (compiled by corpus_fuzz_heap), then its merged dir.
        self.assertEqual(argv[-3:], [
            os.path.join(out, "libfuzzer", "fuzz_lua", "corpus"),
            os.path.join(fuzz_helpers.ROOT, "build", "fuzz", "corpus", "fuzz_heap"),
            os.path.join(fuzz_helpers.ROOT, "corpus", "merged", "fuzz_lua")])
        self.assertIn(campaign_plan.OPS_HISTOGRAM_ENV, plan["libfuzzer-fuzz_lua"]["env"])

    def test_presets_build_fuzz_heap_seeds(self):
        args = type("Args", (), {})()
        args.duration, args.jobs, args.targets, args.engine = 60, 1, ["fuzz_lua"], "both"
        args.tsan, args.out, args.merged_dir = False, "/tmp/x", "/tmp/x/merged"
        args.build_root, args.secondary, args.node = "/tmp/x/build", False, None
        plan = campaign_plan.Plan(args)
        self.assertEqual(plan.presets(), [("fuzz", ["fuzz_lua", "corpus_fuzz_heap"])])

    def test_not_in_the_default_plan(self):
        plan, _, _ = self.plan("--jobs", "8")
        self.assertFalse(any("fuzz_lua" in name for name in plan), list(plan))

    def test_with_another_target(self):
        plan, _, _ = self.plan("--target", "fuzz_heap,fuzz_lua", "--jobs", "3", "--no-tsan")
        self.assertEqual(list(plan), ["afl-fuzz_heap-main", "libfuzzer-fuzz_heap",
                                      "libfuzzer-fuzz_lua"])

    def test_unknown_target_names_fuzz_lua(self):
        r = fuzz_helpers.run_fuzz("--dry-run", "--target", "fuzz_nothing")
        self.assertEqual(r.returncode, 2)
        self.assertIn("fuzz_lua", r.stderr)


if __name__ == "__main__":
    fuzz_helpers.unittest_main()
