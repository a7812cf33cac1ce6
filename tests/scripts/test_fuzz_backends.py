#!/usr/bin/env python3
"""scripts/fuzz --target fuzz_lua or fuzz_jsc without running a campaign: the --dry-run plan
fuzzes a foreign heap's target (targets/fuzz_lua.c, targets/fuzz_jsc.c) with libFuzzer only
(neither is built for AFL++), from fuzz_heap's compiled seeds, with the op dictionary and the ops
histogram; neither is in the default plan, and each mixes with the other targets."""

import os
import unittest

import fuzz_helpers
from fuzz_helpers import flag

import campaign_plan


class FuzzBackendPlan(unittest.TestCase):
    def plan(self, *args):
        return fuzz_helpers.dry_run_plan(self, *args)

    def test_alone(self):
        for target in ("fuzz_lua", "fuzz_jsc"):
            with self.subTest(target=target):
                # --engine both (the default): no AFL++ instance for it, and no AFL++ preset.
                plan, text, out = self.plan("--target", target, "--jobs", "2", "--no-tsan")
                self.assertEqual(list(plan), ["libfuzzer-" + target])
                self.assertIn("presets: fuzz\n", text)
                argv = plan["libfuzzer-" + target]["argv"]
                self.assertTrue(argv[0].endswith(os.path.join("fuzz", "targets", target)), argv)
                self.assertEqual(flag(argv, "fork"), "2")
                self.assertEqual(flag(argv, "dict"), campaign_plan.DICT_FILE)
                # Its corpus, then fuzz_heap's seeds (compiled by corpus_fuzz_heap), then its
                # merged dir.
                self.assertEqual(argv[-3:], [
                    os.path.join(out, "libfuzzer", target, "corpus"),
                    os.path.join(fuzz_helpers.ROOT, "build", "fuzz", "corpus", "fuzz_heap"),
                    os.path.join(fuzz_helpers.ROOT, "corpus", "merged", target)])
                self.assertIn(campaign_plan.OPS_HISTOGRAM_ENV,
                              plan["libfuzzer-" + target]["env"])

    def test_presets_build_fuzz_heap_seeds(self):
        for target in ("fuzz_lua", "fuzz_jsc"):
            with self.subTest(target=target):
                args = type("Args", (), {})()
                args.duration, args.jobs, args.targets, args.engine = 60, 1, [target], "both"
                args.tsan, args.out, args.merged_dir = False, "/tmp/x", "/tmp/x/merged"
                args.build_root, args.secondary, args.node = "/tmp/x/build", False, None
                plan = campaign_plan.Plan(args)
                self.assertEqual(plan.presets(), [("fuzz", [target, "corpus_fuzz_heap"])])

    def test_not_in_the_default_plan(self):
        plan, _, _ = self.plan("--jobs", "8")
        self.assertFalse(any("lua" in name or "jsc" in name for name in plan), list(plan))

    def test_with_another_target(self):
        plan, _, _ = self.plan("--target", "fuzz_heap,fuzz_lua", "--jobs", "3", "--no-tsan")
        self.assertEqual(list(plan), ["afl-fuzz_heap-main", "libfuzzer-fuzz_heap",
                                      "libfuzzer-fuzz_lua"])

    def test_unknown_target_names_them(self):
        r = fuzz_helpers.run_fuzz("--dry-run", "--target", "fuzz_nothing")
        self.assertEqual(r.returncode, 2)
        self.assertIn("fuzz_lua", r.stderr)
        self.assertIn("fuzz_jsc", r.stderr)


if __name__ == "__main__":
    fuzz_helpers.unittest_main()
