#!/usr/bin/env python3
"""Runs test modules of tests/scripts/ (ctest: one test per module, label `scripts`).

usage: run.py MODULE...   e.g. run.py test_triage

Exit status: 0 passed, 1 a test failed, 77 every test was skipped (ctest's SKIP_RETURN_CODE:
e.g. the end-to-end test on a build without the bug variants; a `SKIP: ...` line says why).
"""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
    print(__doc__.strip())
    sys.exit(0 if len(sys.argv) >= 2 else 2)
suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:])
result = unittest.TextTestRunner(verbosity=2).run(suite)
if not result.wasSuccessful():
    sys.exit(1)
if result.testsRun and len(result.skipped) == result.testsRun:
    # scripts/test lists the test as skipped, with this line as the reason.
    why = "; ".join(sorted({reason for _, reason in result.skipped}))
    print(f"SKIP: every test of {' '.join(sys.argv[1:])} skipped: {why}", flush=True)
    sys.exit(77)
