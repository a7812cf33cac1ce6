#!/usr/bin/env python3
"""test_coverage.py: scripts/coverage's usage, errors and a whole run into a temporary directory.

  - --help prints the usage and exits 0; an unknown option and a missing corpus directory exit
    2 with a message naming the problem;
  - a run (its own build tree and output directory) exits 0, replays every seed, writes the HTML
    report, the merged profile and a summary with a row for every file of heap/, and a heap/
    total whose line and branch coverage are above zero;
  - a run with an extra corpus holding two seeds and an input that cannot be replayed (a
    dangling link: the replay driver fails on it as on a crash) counts the two, names the bad
    one and exits 1.

Usage: test_coverage.py [--keep]   (--keep leaves the temporary directory for a look)
The last line says how many checks passed.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "scripts", "coverage")

from checklist import check, summary  # noqa: E402


def run(*args):
    env = dict(os.environ)
    env.pop("LLVM_PROFILE_FILE", None)
    return subprocess.run([SCRIPT] + list(args), cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=1200)


def tail(text, lines=30):
    return "\n".join(text.splitlines()[-lines:])


def replayed(out):
    m = re.search(r"^coverage: (\d+) inputs replayed$", out, re.M)
    return int(m.group(1)) if m else -1


def main():
    keep = "--keep" in sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="heapfuzz-test-coverage-")
    try:
        checks(tmp)
    finally:
        if keep:
            print(f"test_coverage: left {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_coverage")


def checks(tmp):
    r = run("--help")
    check(r.returncode == 0 and "usage: scripts/coverage" in r.stdout and "--corpus" in r.stdout,
          "--help prints the usage", tail(r.stdout))
    r = run("--no-such-option")
    check(r.returncode == 2 and "unrecognized arguments" in r.stdout,
          "an unknown option exits 2", tail(r.stdout))
    missing = os.path.join(tmp, "no-such-dir")
    r = run("--corpus", missing)
    check(r.returncode == 2 and f"corpus directory {missing} does not exist" in r.stdout,
          "a missing corpus directory exits 2 naming it", tail(r.stdout))

    build = os.path.join(tmp, "build")
    out = os.path.join(tmp, "out")
    r = run("--build-dir", build, "--out", out)
    if not check(r.returncode == 0, "a run exits 0", tail(r.stdout)):
        return
    # Every seed: fuzz_heap's and fuzz_heap_threads' binaries, the proofs, the text seeds (both).
    n_heap = len(glob.glob(os.path.join(REPO, "corpus", "fuzz_heap", "*.ops")))
    n_threads = len(glob.glob(os.path.join(REPO, "corpus", "fuzz_heap_threads", "*.ops")))
    n_proofs = len(glob.glob(os.path.join(REPO, "corpus", "proofs", "*.ops")))
    want = 2 * (n_heap + n_threads) + n_proofs
    # With the lua backend in the build, fuzz_lua replays fuzz_heap's binaries too, and the
    # summary ends with lgc.c's line coverage, lua_uncovered.txt listing its uncovered lines.
    lua = re.search(r"^lua lgc.c lines: ([\d.]+)% \((\d+)/(\d+)\)", r.stdout, re.M)
    if lua:
        want += n_heap
        check(float(lua.group(1)) > 0, "lgc.c's line coverage above zero", lua.group(0))
        with open(os.path.join(out, "lua_uncovered.txt")) as f:
            lgc_listed = [l for l in f.read().splitlines() if re.match(r"^\S*lgc\.c:\d+", l)]
        check(lgc_listed, "lua_uncovered.txt lists lgc.c's uncovered lines")
    base = replayed(r.stdout)
    check(base == want, f"it replays every seed ({want})", f"{base} replayed")
    check(os.path.getsize(os.path.join(out, "html", "index.html")) > 0, "html/index.html written")
    check(os.path.getsize(os.path.join(out, "heapfuzz.profdata")) > 0, "the merged profile written")
    with open(os.path.join(out, "summary.json")) as f:
        check(len(json.load(f)["data"][0]["files"]) > 0, "summary.json parses")
    with open(os.path.join(out, "summary.txt")) as f:
        table = f.read()
    heap_files = sorted(os.path.relpath(p, REPO)
                        for p in glob.glob(os.path.join(REPO, "heap", "*.c")))
    rows = {line.split()[0] for line in table.splitlines() if line.strip()}
    check(all(h in rows for h in heap_files), "the summary has a row for every heap/*.c",
          f"missing {[h for h in heap_files if h not in rows]}")
    m = re.search(r"^heap/ \(total\)\s+([\d.]+)% \(\d+/\d+\)\s+([\d.]+)% \(\d+/\d+\)", table,
                  re.M)
    check(m is not None and float(m.group(1)) > 0 and float(m.group(2)) > 0,
          "heap/ total line and branch coverage above zero", table)
    check(table in r.stdout, "the summary is printed")
    # uncovered.txt: runs of lines that exist in heap/, each with a function, adding up to the
    # lines the total leaves uncovered.
    with open(os.path.join(out, "uncovered.txt")) as f:
        listed = f.read().splitlines()
    spans = [re.match(r"^(heap/[\w.]+):(\d+)(?:-(\d+))? (\S.*?): ", l) for l in listed]
    check(listed and all(spans), "uncovered.txt lists runs as FILE:FIRST[-LAST] FUNCTION: LINE",
          "\n".join(listed[:5]))
    lines_total = re.search(r"^heap/ \(total\)\s+[\d.]+% \((\d+)/(\d+)\)", table, re.M)
    if all(spans) and lines_total:
        count = sum(int(s.group(3) or s.group(2)) - int(s.group(2)) + 1 for s in spans)
        want_missing = int(lines_total.group(2)) - int(lines_total.group(1))
        # llvm-cov's text view (the listing) and its summary (the total) disagree on a few lines
        # of headers and macros (internal.h's inline functions, a multi-line macro): close, not
        # equal.
        check(abs(count - want_missing) <= max(5, want_missing // 50),
              f"uncovered.txt lists about the {want_missing} uncovered lines", f"{count} listed")
        first = spans[0]
        with open(os.path.join(REPO, first.group(1))) as f:
            n_lines = len(f.read().splitlines())
        check(int(first.group(3) or first.group(2)) <= n_lines, "its line numbers are the file's")

    # An extra corpus: two seed binaries and an input the replay driver cannot run.
    extra = os.path.join(tmp, "extra")
    os.makedirs(extra)
    seeds = sorted(glob.glob(os.path.join(build, "corpus", "fuzz_heap", "*.bin")))[:2]
    for s in seeds:
        shutil.copy(s, extra)
    bad = os.path.join(extra, "zz-unreadable")
    os.symlink(os.path.join(tmp, "nowhere"), bad)
    r = run("--build-dir", build, "--out", out, "--corpus", extra)
    check(r.returncode == 1 and bad in r.stdout and replayed(r.stdout) == base + len(seeds),
          "an extra corpus with a bad input: its good inputs count, the bad one is named, exit 1",
          f"exit {r.returncode}, {replayed(r.stdout)} replayed\n{tail(r.stdout)}")


if __name__ == "__main__":
    sys.exit(main())
