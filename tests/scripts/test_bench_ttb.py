"""bench/time_to_bug's report (bench/ttb_report.py) on hand-made results: medians with trials
that missed (censored at the budget), the best configuration per bug, the issue's three targets,
the survival plot as well-formed SVG whose curves step down once per find; and the script's
usage errors. The benchmark itself is not run here (it is a benchmark, not a test)."""

import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

from helpers import REPO

sys.path.insert(0, str(REPO / "bench"))
import ttb_report  # noqa: E402

BUDGET = 600


def trial(bug, config, k, seconds, sig="oracle:x", zoo=False, ops=5):
    r = {"bug": bug, "config": config, "trial": k, "found": seconds is not None,
         "seconds": seconds, "signature": sig if seconds is not None else None,
         "zoo_signature_match": zoo, "other_crashes": [], "shipped_crashes": []}
    if seconds is not None:
        r.update(minimized_ops=ops, replays_same=10, replays=10)
    return r


def doc(results):
    return {"command": "bench/time_to_bug", "commit": "abc", "date": "2026-11-21",
            "budget_seconds": BUDGET, "trials": 3, "keep_crashing_seeds": False,
            "zoo": {"a": {"ops": 6, "seeds": 31, "seeds_caught": ["x.bin"]},
                    "b": {"ops": 9, "seeds": 31, "seeds_caught": []}},
            "results": results, "failures": []}


class Medians(unittest.TestCase):
    def test_misses_count_as_never_found(self):
        rs = [trial("a", "lf-ops", 1, 4.0), trial("a", "lf-ops", 2, None),
              trial("a", "lf-ops", 3, 2.0)]
        self.assertEqual(ttb_report.median_time(rs, BUDGET), (4.0, False))
        rs[2] = trial("a", "lf-ops", 3, None)
        self.assertEqual(ttb_report.median_time(rs, BUDGET), (BUDGET, True))
        self.assertEqual(ttb_report.fmt_median(rs, BUDGET), "> 600 s")

    def test_even_count_with_a_miss_in_the_middle_is_censored(self):
        rs = [trial("a", "x", 1, 1.0), trial("a", "x", 2, None)]
        self.assertEqual(ttb_report.median_time(rs, BUDGET), (BUDGET, True))


class Table(unittest.TestCase):
    def results(self, plain_a=(30.0, 45.0, None)):
        rs = []
        for k, (fast, plain, afl) in enumerate(zip((2.0, 3.0, 5.0), plain_a, (1.0, 1.5, 9.0)), 1):
            rs.append(trial("a", "lf-ops", k, fast))
            rs.append(trial("a", "lf-plain", k, plain))
            rs.append(trial("a", "afl-ops", k, afl, zoo=True))
            rs.append(trial("b", "lf-ops", k, None))
            rs.append(trial("b", "lf-plain", k, None))
            rs.append(trial("b", "afl-ops", k, 100.0 + k))
        return rs

    def test_rows_and_targets(self):
        text = ttb_report.render(doc(self.results()))
        self.assertIn("| a | 1/31 | libFuzzer + op mutator + dict | 3/3 | 3.0 s | 2.0 s, 3.0 s, "
                      "5.0 s | 0/3 | 5/5/5 (6) | 10/10/10 |", text)
        self.assertIn("| a | 1/31 | libFuzzer, plain | 2/3 | 45 s | 30 s, 45 s, - |", text)
        self.assertIn("| b | 0/31 | libFuzzer + op mutator + dict | 0/3 | > 600 s | -, -, - | - "
                      "| - | - |", text)
        self.assertIn("| a | 1/31 | AFL++ + op mutator + dict | 3/3 | 1.5 s |", text)
        # b is found in every trial by AFL++ only: its best configuration.
        self.assertIn("Every bug found by its best configuration in every trial: **met**", text)
        # 45 / 3 = 15x on a; b has no finite libFuzzer median: left out of the median.
        self.assertIn("median over bugs of the ratio of median times to bug: 15.0x", text)
        self.assertIn("Per bug: a 15.0x, b n/a", text)

    def test_unmet_targets_say_so(self):
        rs = [r for r in self.results(plain_a=(4.0, 5.0, 6.0)) if r["config"] != "afl-ops"]
        text = ttb_report.render(doc(rs))
        self.assertIn("**not met**: b (best: lf-ops, 0/3)", text)
        self.assertIn("ratio of median times to bug: 1.7x", text)
        self.assertIn("target 3x): **not met**", text)

    def test_censored_plain_gives_a_lower_bound(self):
        text = ttb_report.render(doc(self.results(plain_a=(None, None, 45.0))))
        self.assertIn("Per bug: a >= 200.0x", text)

    def test_a_run_from_chosen_seeds_says_so(self):
        d = doc(self.results())
        self.assertNotIn("alone** (`--seed`)", ttb_report.render(d))
        d["only_seeds"] = ["basic_lifecycle"]
        self.assertIn("**The trials started from `basic_lifecycle` alone** (`--seed`)",
                      ttb_report.render(d))

    def test_a_bug_without_results_misses(self):
        d = doc([r for r in self.results() if r["bug"] == "a"])
        d["failures"] = ["b: no seed left to start from"]
        text = ttb_report.render(d)
        self.assertIn("**not met**: b (no trial ran)", text)
        self.assertIn("## Trials that failed to run\n\n- b: no seed left", text)

    def test_shipped_crash_is_listed(self):
        rs = self.results()
        rs[0]["shipped_crashes"] = [{"signature": "asan:heap-buffer-overflow|f"}]
        text = ttb_report.render(doc(rs))
        self.assertIn("## Crashes on the shipped heap (real bugs)", text)
        self.assertIn("asan:heap-buffer-overflow|f", text)


class Survival(unittest.TestCase):
    def test_svg_is_well_formed_with_one_step_per_find(self):
        svg = ttb_report.survival_svg(doc(Table().results()))
        root = ET.fromstring(svg)
        ns = "{http://www.w3.org/2000/svg}"
        curves = root.findall(ns + "polyline")
        self.assertEqual(len(curves), 3)
        # lf-ops found 3 of 6 (bug a only): start, 2 points per find, the end.
        points = curves[0].get("points").split()
        self.assertEqual(len(points), 1 + 2 * 3 + 1)
        self.assertIn("3/6 found", svg)


class Usage(unittest.TestCase):
    def run_bench(self, *args):
        return subprocess.run([sys.executable, str(REPO / "bench" / "time_to_bug"), *args],
                              capture_output=True, text=True)

    def test_unknown_bug_and_config(self):
        p = self.run_bench("--bugs", "no-such-bug", "--no-build")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown bug 'no-such-bug'", p.stderr)
        self.assertIn("stale-last-active", p.stderr)
        p = self.run_bench("--configs", "lf-magic", "--no-build")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown configuration 'lf-magic'", p.stderr)

    def test_unknown_seed(self):
        p = self.run_bench("--seed", "nonesuch", "--no-build")
        self.assertEqual(p.returncode, 2)
        self.assertIn("no seed corpus/fuzz_heap/nonesuch.ops", p.stderr)

    def test_libfuzzer_flag_needs_a_value(self):
        p = self.run_bench("--libfuzzer-flag", "len_control", "--no-build")
        self.assertEqual(p.returncode, 2)
        self.assertIn("give it as -name=value", p.stderr)

    def test_missing_results_file(self):
        p = self.run_bench("--report", "/nonexistent/results.json")
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent/results.json: no such file", p.stderr)


if __name__ == "__main__":
    unittest.main()
