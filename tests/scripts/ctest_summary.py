#!/usr/bin/env python3
"""Counts one ctest run from its JUnit file (`ctest --output-junit FILE`) as scripts/test reports
it: passed, failed and skipped, every skipped test with its reason. Python 3 standard library.

usage: ctest_summary.py preset NAME JUNIT CTEST_STATUS OUT.json
           prints "heapfuzz: preset NAME: N passed, M failed, K skipped" and the tests skipped,
           failed and passed with a part skipped; writes the counts and lists to OUT.json
       ctest_summary.py total [--failed WHAT]... [OUT.json]...
           every preset's skipped and failed tests again (when there are several), the last line
           "heapfuzz: N passed, M failed, K skipped"; each --failed WHAT (a configure or build
           step) counts as one failed check

Exit status: 1 when something failed, 0 otherwise (skipped tests are not failures); 2 on a usage
error.

A test is skipped only where ctest says so: it exited with its SKIP_RETURN_CODE (77 for every
heapfuzz test that can skip, tests/CMakeLists.txt) or matched its SKIP_REGULAR_EXPRESSION, or it
is DISABLED. Anything else that did not pass is a failure: a test ctest could not start (no
executable, a fixture failed), which the JUnit file also lists as "skipped", a timeout, a crash.
So is a ctest that exited non-zero without a failing test (no tests found, an error in a
CTestTestfile), and a JUnit file that is missing or unreadable.

The reason of a skip is the test's own first `SKIP...` line (tests print "SKIP: why" before they
exit 77), else unittest's `... skipped 'why'`, else the test's last line of output. A passed test
that printed such lines (a C test that leaves out a case in this build, a unittest module some of
whose tests were skipped) is listed as passed with parts skipped: it still counts as passed.
"""

import json
import re
import sys
import xml.etree.ElementTree as ET

SKIP_LINE = re.compile(r"^\s*(SKIP\b.*|skipped: .*)$")
# unittest -v: "test_x (module.Class.test_x) ... skipped 'why'"; a test with a docstring has its
# name on the line before, "Docstring's first line ... skipped 'why'" on its own.
UNITTEST_SKIP = re.compile(r"^(.*?) \.\.\. skipped '(.*)'$")
UNITTEST_NAME = re.compile(r"^(\w+) \([\w.]+\)")
REASON_MAX = 300


def shorten(text):
    text = " ".join(text.split())
    return text if len(text) <= REASON_MAX else text[:REASON_MAX - 3] + "..."


def skip_lines(output):
    """The lines of a test's output that say something was skipped."""
    found = []
    previous = ""
    for line in output.splitlines():
        line = line.rstrip()
        if SKIP_LINE.match(line):
            found.append(shorten(line))
        elif UNITTEST_SKIP.match(line):
            what, why = UNITTEST_SKIP.match(line).groups()
            name = UNITTEST_NAME.match(what) or UNITTEST_NAME.match(previous)
            found.append(shorten(f"{name.group(1) if name else what}: skipped: {why}"))
        previous = line
    return found


def skip_reason(output, message):
    lines = skip_lines(output)
    own = [line for line in lines if line.lstrip().startswith("SKIP")]
    if own or lines:  # the test's own "SKIP: why" says it all (run.py's sums up unittest's)
        return "; ".join(dict.fromkeys(own or lines))
    rest = [line for line in output.splitlines() if line.strip()]
    if rest:
        return shorten(rest[-1])
    return message or "no reason printed"


def classify(case):
    """(kind, detail) of one <testcase>: kind is passed, failed or skipped."""
    status = case.get("status", "")
    out = case.findtext("system-out") or ""
    skipped = case.find("skipped")
    message = skipped.get("message", "") if skipped is not None else ""
    if status == "run":
        return "passed", skip_lines(out)
    if status == "disabled":
        return "skipped", "disabled (ctest property DISABLED)"
    if status == "notrun" and message.startswith(("SKIP_RETURN_CODE", "SKIP_REGULAR_EXPRESSION")):
        return "skipped", skip_reason(out, message)
    if status == "notrun":
        return "failed", f"did not run: {message or 'no reason given'}"
    failure = case.find("failure")
    why = failure.get("message", "") if failure is not None else ""
    last = [line for line in out.splitlines() if line.strip()][-1:]
    return "failed", shorten(why or (f"last line: {last[0]}" if last else f"status {status}"))


def preset_result(name, junit, status):
    res = {"preset": name, "passed": 0, "failed": 0, "skipped": 0, "skipped_tests": [],
           "failed_tests": [], "parts_skipped": []}
    try:
        cases = ET.parse(junit).getroot().iter("testcase")
        cases = list(cases)
    except (OSError, ET.ParseError) as e:
        res["failed"] = 1
        res["failed_tests"].append(["(ctest)", f"no test results in {junit} ({e}); "
                                               f"ctest exited {status}"])
        return res
    for case in cases:
        test = case.get("name", "?")
        kind, detail = classify(case)
        res[kind] += 1
        if kind == "skipped":
            res["skipped_tests"].append([test, detail])
        elif kind == "failed":
            res["failed_tests"].append([test, detail])
        elif detail:
            res["parts_skipped"].append([test, "; ".join(dict.fromkeys(detail))])
    if status != 0 and res["failed"] == 0:
        res["failed"] = 1
        why = "no tests" if not cases else "no failing test in its results"
        res["failed_tests"].append(["(ctest)", f"ctest exited {status} ({why})"])
    return res


def counts(passed, failed, skipped):
    return f"{passed} passed, {failed} failed, {skipped} skipped"


def print_lists(results, with_preset):
    def name(res, test):
        return f"{res['preset']}: {test}" if with_preset and res["preset"] else test

    for key, title in (("skipped_tests", "skipped"), ("failed_tests", "failed"),
                       ("parts_skipped", "passed, with parts skipped")):
        rows = [(name(res, t), why) for res in results for t, why in res[key]]
        if not rows:
            continue
        print(f"  {title} ({len(rows)}):")
        for test, why in rows:
            print(f"    {test}: {why}" if why else f"    {test}")


def cmd_preset(args):
    if len(args) != 4:
        return usage()
    name, junit, status, out = args
    try:
        status = int(status)
    except ValueError:
        return usage()
    res = preset_result(name, junit, status)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"heapfuzz: preset {name}: {counts(res['passed'], res['failed'], res['skipped'])}")
    print_lists([res], with_preset=False)
    return 1 if res["failed"] else 0


def cmd_total(args):
    steps, files = [], []
    while args:
        if args[0] == "--failed" and len(args) >= 2:
            steps.append(args[1])
            args = args[2:]
        elif args[0].startswith("-"):
            return usage()
        else:
            files.append(args[0])
            args = args[1:]
    results = []
    for path in files:
        try:
            with open(path) as f:
                results.append(json.load(f))
        except (OSError, ValueError) as e:
            steps.append(f"{path}: unreadable ({e})")
    if steps:
        results.append({"preset": "", "passed": 0, "failed": len(steps), "skipped": 0,
                        "skipped_tests": [], "parts_skipped": [],
                        "failed_tests": [[what, ""] for what in steps]})
    passed = sum(r["passed"] for r in results)
    failed = sum(r["failed"] for r in results)
    skipped = sum(r["skipped"] for r in results)
    # One preset alone: its lists were printed just before (cmd_preset).
    if len(results) > 1 and any(r["skipped_tests"] or r["failed_tests"] or r["parts_skipped"]
                                for r in results):
        print("all presets:")
        print_lists(results, with_preset=True)
    elif steps:
        print_lists(results[-1:], with_preset=False)
    print(f"heapfuzz: {counts(passed, failed, skipped)}")
    return 1 if failed else 0


def usage():
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


def main(argv):
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if argv and argv[0] == "preset":
        return cmd_preset(argv[1:])
    if argv and argv[0] == "total":
        return cmd_total(argv[1:])
    return usage()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
