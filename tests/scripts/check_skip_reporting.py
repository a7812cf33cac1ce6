#!/usr/bin/env python3
"""ctest test harness_skip_reporting: a test that skips is reported as skipped, never as passed,
and a failing one as failed, by ctest and by scripts/test's count (ctest_summary.py).

usage: check_skip_reporting.py --selftest BIN --ctest CTEST --cmake CMAKE --generator GEN
                               --build-dir BUILD

1. A scratch ctest project runs this build's test_harness_selftest (tests/check.h's checks) as
   five tests, registered as tests/CMakeLists.txt registers every test (SKIP_RETURN_CODE 77):
   `passes` (no argument), `skips` (`skip`: "SKIP: ..." and exit 77), `fails` (`fail`: a
   failing CHECK), `passes_part_skipped` (`part-skip`), and `skips_unregistered` (exit 77
   without SKIP_RETURN_CODE: a failure). ctest's own verdicts, then ctest_summary.py's counts
   (2 passed, 2 failed, 1 skipped), its list of skipped tests with the reason printed, of the
   failed ones, of the parts skipped, and its exit status (1). Without the failing tests
   (ctest -E): exit status 0, with a skip.
2. This build registers every test of tests/ (the unit tests, the tools tests, the scripts tests:
   all that can skip) with SKIP_RETURN_CODE 77 (`ctest --show-only=json-v1` in its tests/ and
   tests/scripts/ build directories).

Each check prints `ok` or `FAIL`; the exit status is 1 when one failed.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from checklist import check, summary  # noqa: E402

SUMMARY = os.path.join(HERE, "ctest_summary.py")

PROJECT = """cmake_minimum_required(VERSION 3.25)
project(skip_reporting NONE)
enable_testing()
set(bin "{selftest}")
add_test(NAME passes COMMAND ${{bin}})
add_test(NAME skips COMMAND ${{bin}} skip)
add_test(NAME fails COMMAND ${{bin}} fail)
add_test(NAME passes_part_skipped COMMAND ${{bin}} part-skip)
add_test(NAME skips_unregistered COMMAND ${{bin}} skip)
# As tests/CMakeLists.txt does for every test of its directory.
set_tests_properties(passes skips fails passes_part_skipped PROPERTIES SKIP_RETURN_CODE 77)
"""


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          **kw)


def verdicts(ctest_output):
    """{test: ctest's word for it} from lines like ` 2/5 Test #2: skips ....***Skipped  0.01 sec`."""
    out = {}
    for m in re.finditer(r"Test +#\d+: (\S+) \.+ *(?:\*\*\*)?(Passed|Skipped|Failed|Not Run)",
                         ctest_output):
        out[m.group(1)] = m.group(2)
    return out


def scratch(args, tmp):
    src = os.path.join(tmp, "src")
    build = os.path.join(tmp, "build")
    os.makedirs(src)
    with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
        f.write(PROJECT.format(selftest=args.selftest))
    p = run([args.cmake, "-G", args.generator, "-S", src, "-B", build])
    if not check(p.returncode == 0, "the scratch project configures", p.stdout[-2000:]):
        return

    junit = os.path.join(tmp, "all.xml")
    p = run([args.ctest, "--test-dir", build, "--output-junit", junit])
    got = verdicts(p.stdout)
    want = {"passes": "Passed", "skips": "Skipped", "fails": "Failed",
            "passes_part_skipped": "Passed", "skips_unregistered": "Failed"}
    check(got == want, "ctest: exit 77 with SKIP_RETURN_CODE is Skipped, a failing CHECK and "
          "exit 77 without it are Failed", f"{got}\n{p.stdout[-3000:]}")
    check(p.returncode != 0, "ctest exits non-zero (a test failed)", str(p.returncode))

    s = run([sys.executable, SUMMARY, "preset", "scratch", junit, str(p.returncode),
             os.path.join(tmp, "all.json")])
    out = s.stdout
    print("--- ctest_summary.py preset:\n" + out.rstrip())
    check(s.returncode == 1, "ctest_summary.py preset: exit 1 (something failed)",
          str(s.returncode))
    check("heapfuzz: preset scratch: 2 passed, 2 failed, 1 skipped\n" in out,
          "ctest_summary.py preset: 2 passed, 2 failed, 1 skipped")
    check(re.search(r"skipped \(1\):\n +skips: SKIP: acted out by test_harness_selftest skip",
                    out) is not None, "the skipped test is listed with the reason it printed")
    check(re.search(r"failed \(2\):\n +fails: .*\n +skips_unregistered: ", out) is not None,
          "the failing test and the unregistered skip are listed as failed")
    check(re.search(r"passed, with parts skipped \(1\):\n +passes_part_skipped: SKIP "
                    r"test_not_here: ", out) is not None,
          "a passed test's skipped part is listed")

    t = run([sys.executable, SUMMARY, "total", os.path.join(tmp, "all.json")])
    last = t.stdout.rstrip().splitlines()[-1:] or [""]
    check(t.returncode == 1 and last[0] == "heapfuzz: 2 passed, 2 failed, 1 skipped",
          "ctest_summary.py total: the last line, exit 1", f"exit {t.returncode}: {t.stdout}")
    t = run([sys.executable, SUMMARY, "total", os.path.join(tmp, "all.json"),
             os.path.join(tmp, "all.json")])
    check(t.stdout.rstrip().endswith("heapfuzz: 4 passed, 4 failed, 2 skipped") and
          "scratch: skips: SKIP: acted out" in t.stdout,
          "ctest_summary.py total: two presets' counts added, the skipped tests listed by preset",
          t.stdout)

    # A run whose only non-pass is a skip succeeds.
    junit = os.path.join(tmp, "ok.xml")
    p = run([args.ctest, "--test-dir", build, "--output-junit", junit, "-E", "fails|unregistered"])
    check(p.returncode == 0, "ctest: a skip alone is no failure", p.stdout[-2000:])
    s = run([sys.executable, SUMMARY, "preset", "ok", junit, str(p.returncode),
             os.path.join(tmp, "ok.json")])
    check(s.returncode == 0 and "heapfuzz: preset ok: 2 passed, 0 failed, 1 skipped" in s.stdout,
          "ctest_summary.py: 2 passed, 0 failed, 1 skipped, exit 0",
          f"exit {s.returncode}: {s.stdout}")
    t = run([sys.executable, SUMMARY, "total", os.path.join(tmp, "ok.json")])
    check(t.returncode == 0 and t.stdout.rstrip().endswith(
        "heapfuzz: 2 passed, 0 failed, 1 skipped"), "ctest_summary.py total: exit 0",
        f"exit {t.returncode}: {t.stdout}")

    # A ctest that fails with no failing test in its results (e.g. no tests) is a failure.
    s = run([sys.executable, SUMMARY, "preset", "broken", junit, "8",
             os.path.join(tmp, "broken.json")])
    check(s.returncode == 1 and "1 failed" in s.stdout,
          "ctest_summary.py: ctest's non-zero exit with nothing failed counts one failure",
          s.stdout)


def registered(args):
    """Every test that tests/ registers (tests/CMakeLists.txt and tests/tools.cmake: the build's
    tests/ directory; tests/scripts/CMakeLists.txt: its tests/scripts/) has SKIP_RETURN_CODE 77.
    (targets/ and corpus/ register tests that never skip.) ctest --show-only runs in those two
    directories, since it rewrites the LastTest.log of the directory it runs in: the build's own
    is the running ctest's."""
    names, wrong = [], []
    for sub in ("tests", os.path.join("tests", "scripts")):
        where = os.path.join(args.build_dir, sub)
        if not os.path.exists(os.path.join(where, "CTestTestfile.cmake")):
            continue
        p = subprocess.run([args.ctest, "--test-dir", where, "--show-only=json-v1"],
                           capture_output=True, text=True)
        try:
            tests = json.loads(p.stdout)["tests"]
        except (ValueError, KeyError) as e:
            check(False, f"ctest --show-only=json-v1 in {where}", f"{e}: {p.stdout[-2000:]}")
            return
        for t in tests:
            props = {x["name"]: x["value"] for x in t.get("properties", [])}
            names.append(t["name"])
            if props.get("SKIP_RETURN_CODE") != 77:
                wrong.append(f"{t['name']} ({sub})")
    for name in ("test_asan_poisoning", "test_review_yield", "test_harness_selftest"):
        check(name in names, f"tests/ registers {name} in this build")
    check(len(names) > 0 and not wrong,
          f"the {len(names)} tests tests/ registers in this build have SKIP_RETURN_CODE 77",
          f"without it: {', '.join(wrong)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for opt in ("--selftest", "--ctest", "--cmake", "--generator", "--build-dir"):
        ap.add_argument(opt, required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hf-skip-reporting-") as tmp:
        scratch(args, tmp)
    registered(args)
    return summary("check_skip_reporting")


if __name__ == "__main__":
    sys.exit(main())
