"""Shared by tests/scripts/test_fuzz*.py: where things are, running scripts/fuzz, reading its
--dry-run plan. ctest passes HF_SOURCE_DIR and HF_BUILD_DIR (tests/CMakeLists.txt); run by hand,
the files find the tree from their own location."""

import os
import shlex
import stat
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ.get("HF_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("HF_BUILD_DIR") or os.path.join(ROOT, "build", "asan")
FUZZ = os.path.join(ROOT, "scripts", "fuzz")
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))

SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests


def skip_exit(why):
    """Ends a test that cannot run here: a `SKIP: why` line (scripts/test lists it), exit 77."""
    print("SKIP: %s" % why, flush=True)
    sys.exit(SKIP)


def unittest_main():
    """unittest.main for the test_fuzz*.py files: exit 1 when a test failed, 77 (skipped, saying
    why) when every test was skipped, 0 otherwise (a test skipped among others is listed by
    unittest as `... skipped 'why'`, which scripts/test reports as a part skipped)."""
    result = unittest.main(verbosity=2, exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun and len(result.skipped) == result.testsRun:
        skip_exit("every test skipped: " + "; ".join(sorted({why for _, why in result.skipped})))
    sys.exit(0)


def write_stand_in(path, text):
    """Writes an executable script (a stand-in for a build's binary) at path; returns path."""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, stat.S_IRWXU)
    return path


def run_fuzz(*args, timeout=120):
    """scripts/fuzz ARGS... -> CompletedProcess (text)."""
    return subprocess.run([sys.executable, FUZZ] + list(args), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def dry_run_plan(testcase, *args):
    """scripts/fuzz --dry-run with a fresh --out: (the plan parsed, the output, that --out).
    Checks that it exits 0 and creates nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "camp")
        r = run_fuzz("--dry-run", "--out", out, *args)
        testcase.assertEqual(r.returncode, 0, r.stderr)
        testcase.assertFalse(os.path.exists(out), "--dry-run created the output directory")
        return parse_plan(r.stdout), r.stdout, out


def parse_plan(text):
    """--dry-run output -> {instance name: {"what": ..., "env": {..}, "argv": [..],
    "replays": [..]}}, in order."""
    plan = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("instance "):
            name, _, what = line[len("instance "):].partition(" (")
            cur = plan.setdefault(name, {"what": what.rstrip(")"), "env": {}, "argv": [],
                                         "replays": []})
        elif line.startswith("  $ ") and cur is not None:
            words = shlex.split(line[4:])
            if words and words[0] == "env":
                words = words[1:]
            env, argv = {}, []
            for w in words:
                if not argv and "=" in w and w.split("=", 1)[0].isupper():
                    k, v = w.split("=", 1)
                    env[k] = v
                else:
                    argv.append(w)
            if cur["argv"]:
                cur.setdefault("more", []).append((env, argv))
            else:
                cur["env"], cur["argv"] = env, argv
        elif line.startswith("  replays ") and cur is not None:
            cur["replays"].append(line[len("  replays "):])
    return plan


def flag(argv, name):
    """The value of -name=VALUE in argv, or None."""
    for a in argv:
        if a.startswith("-%s=" % name):
            return a.split("=", 1)[1]
    return None


def option(argv, name):
    """The word after `name` in argv (afl-fuzz style options), or None."""
    return argv[argv.index(name) + 1] if name in argv else None
