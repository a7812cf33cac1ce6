"""Shared by the scripts' tests: paths, running a script, fixtures in a scratch directory, and
snapshots of a folder's bytes (what idempotence and "nothing overwritten" compare)."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = HERE / "fixtures"
FAKE = FIXTURES / "fake_heapfuzz"
SCRIPTS = REPO / "scripts"

# 2024-06-01T00:00:00Z: the modification time given to fixture inputs (their first_seen).
EPOCH = 1717200000
COMMIT = "0123456789abcdef0123456789abcdef01234567"

# The fake heapfuzz's ids (tests/scripts/fixtures/fake_heapfuzz signature of reports/*.txt).
UAF_ID = "7b449035a5dd"
TSAN_ID = "d5835ccbfee1"
ORACLE_ID = "d46ed3f0c109"
HANG_ID = "efc11ec7f3f6"  # timeout|hc_sweep_some|hc_sweeper_run_step


def run_script(name, *args, env=None, cwd=None):
    """Runs scripts/<name> with args; returns the CompletedProcess (text)."""
    e = dict(os.environ)
    for k in ("FAKE_HEAPFUZZ_FIXED", "FAKE_HEAPFUZZ_NO_SIGNATURE", "FAKE_HEAPFUZZ_NO_MINIMIZE",
              "FAKE_HEAPFUZZ_BUDGET"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)],
                          capture_output=True, text=True, env=e, cwd=cwd or REPO, timeout=600)


def snapshot(folder: Path, skip=(".lock",)):
    """{relative path: (bytes, mtime_ns)} of every file below folder."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name not in skip:
            st = p.stat()
            out[str(p.relative_to(folder))] = (p.read_bytes(), st.st_mtime_ns)
    return out


class ScratchTest(unittest.TestCase):
    """A test with a scratch directory (self.tmp) holding findings/ and regression/."""

    maxDiff = None

    def setUp(self):
        self._td = tempfile.TemporaryDirectory(prefix="hf-scripts-test-")
        self.tmp = Path(self._td.name).resolve()
        self.findings = self.tmp / "findings"
        self.regression = self.tmp / "regression"

    def tearDown(self):
        self._td.cleanup()

    def fixture(self, rel, dest=None, mtime=EPOCH):
        """Copies fixtures/<rel> (file or folder) into the scratch directory; every file gets
        the modification time mtime (+1 s per file, in sorted order)."""
        src = FIXTURES / rel
        dst = self.tmp / (dest or Path(rel).name)
        if src.is_dir():
            shutil.copytree(src, dst)
            files = sorted(p for p in dst.rglob("*") if p.is_file())
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            files = [dst]
        for i, p in enumerate(files):
            os.utime(p, (mtime + i, mtime + i))
        return dst

    def triage(self, *args, env=None):
        return run_script("triage", "--findings", self.findings, *args, env=env)

    def triage_fake(self, *args, env=None):
        return self.triage("--heapfuzz", FAKE, "--commit", COMMIT, *args, env=env)

    def assertRc(self, proc, rc):
        self.assertEqual(proc.returncode, rc,
                         f"exit {proc.returncode}, wanted {rc}\n--- stdout\n{proc.stdout}"
                         f"\n--- stderr\n{proc.stderr}")
