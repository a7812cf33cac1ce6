#!/usr/bin/env python3
"""ctest <backend>_corpus_clean: every corpus/fuzz_heap seed runs clean on a foreign heap's
backend (jsc, lua), twice with the same output.

`heapfuzz run --backend NAME SEED...` over all .ops files of the corpus, in two separate heapfuzz
processes (each file in a child of its own, on a fresh heap: a JSC context group, a lua_State).
Passes when both exit 0, every seed has its `SEED: ok (...)` line in both, the header names the
backend's skipped ops (the capability mechanism ran), and stdout and stderr are byte-for-byte the
same both times: on these heaps a program runs deterministically (backends/jsc.c: collections end
only inside the backend's calls, concurrent GC off; backends/lua.c: the collector runs only where
the backend steps it, the string hash seed is fixed by cmake/lua_config.h). Then once in
real-thread mode (--threads: the one mutator on a thread of its own, clean) and, with --replay,
the seeds' binaries through the backend's fuzz target's replay driver (every one replayed, none
crashing: the target works).

Exit 77 (ctest's skip) when the build has no such backend (--missing gives CMake's reason), 1 on
a failure, 0 on success."""
import argparse
import difflib
import glob
import os
import subprocess
import sys


def heapfuzz_run(heapfuzz, backend, seeds, *options):
    p = subprocess.run([heapfuzz, "run", "--backend", backend] + list(options) + seeds,
                       capture_output=True, text=True, timeout=280)
    return p.returncode, p.stdout, p.stderr


def problems(n, result, seeds, backend):
    rc, out, err = result
    found = []
    if rc != 0:
        found.append("run %d: exit status %d\n%s%s" % (n, rc, out[-3000:], err[-3000:]))
    lines = (out + err).splitlines()
    for seed in seeds:
        if not any(line.startswith(seed + ": ok (") for line in lines):
            found.append("run %d: %s did not run clean" % (n, seed))
    if not any(line.startswith("heapfuzz: ops skipped on %s: " % backend) for line in lines):
        found.append("run %d: no 'ops skipped on %s' line" % (n, backend))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", required=True, help="the backend's name (jsc, lua)")
    ap.add_argument("--heapfuzz", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--missing", default="", help="why the build has no such backend ('' if it has)")
    ap.add_argument("--replay", help="the backend's fuzz target, built as a replay driver")
    ap.add_argument("--binaries", help="with --replay: the directory of the seeds' binaries")
    a = ap.parse_args()
    if a.missing:
        print("SKIP: %s" % a.missing)
        return 77
    seeds = sorted(glob.glob(os.path.join(a.corpus, "*.ops")))
    if not seeds:
        print("FAIL: no .ops seeds in %s" % a.corpus)
        return 1
    b = a.backend
    runs = [heapfuzz_run(a.heapfuzz, b, seeds) for _ in range(2)]
    found = problems(1, runs[0], seeds, b) + problems(2, runs[1], seeds, b)
    found += problems(3, heapfuzz_run(a.heapfuzz, b, seeds, "--threads"), seeds, b)
    if a.replay:
        bins = glob.glob(os.path.join(a.binaries or "", "*.bin"))
        p = subprocess.run([a.replay, a.binaries], capture_output=True, text=True, timeout=280)
        if not bins or p.returncode != 0 or "replayed %d inputs" % len(bins) not in p.stdout:
            found.append("%s %s: exit %d for %d binaries\n%s%s" % (
                a.replay, a.binaries, p.returncode, len(bins), p.stdout[-2000:], p.stderr[-3000:]))
    if runs[0][1:] != runs[1][1:]:
        diff = difflib.unified_diff((runs[0][1] + runs[0][2]).splitlines(True),
                                    (runs[1][1] + runs[1][2]).splitlines(True), "run 1", "run 2")
        found.append("the two runs printed different output:\n" + "".join(diff))
    for f in found:
        print("FAIL: " + f)
    if found:
        return 1
    print("%d seeds ran clean on %s, twice with the same output, and in real-thread mode%s"
          % (len(seeds), b, ", and its fuzz target replayed their binaries" if a.replay else ""))
    print(runs[0][1], end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
