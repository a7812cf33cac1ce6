"""The pass/fail tally of the standalone script tests (test_coverage.py, test_ossfuzz_build.py):
each check prints one `ok` or `FAIL` line, and the last line says how many passed."""

passed = 0
failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}" + (f": {detail}" if detail else ""))
    return ok


def summary(name):
    """Prints the tally; the exit status: 0 when every check passed and there was one."""
    print(f"{name}: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1
