#!/usr/bin/env python3
"""ctest jsc_corpus_clean: every corpus/fuzz_heap seed runs clean on JavaScriptCore's heap, and
the same twice.

Runs `heapfuzz run --backend jsc SEED...` on every .ops file of the corpus directory, twice, and
requires: exit 0 both times, one `FILE: ok (...)` line per seed, and the same output (stdout and
stderr) both times: a program's run on JSC is deterministic (issue 15). Each run is a fresh
heapfuzz process, and heapfuzz runs each file in a child of its own, on a fresh context group.
Then once more in real-thread mode (--threads: one mutator on JSC, clean), and, with --replay,
the seeds' binaries through the fuzz_jsc replay binary (every one replayed, none crashing).

Exit 77 (ctest's skip) when the build has no jsc backend (--missing names why), 1 on a failure,
0 otherwise."""
import argparse
import glob
import os
import subprocess
import sys


def run(heapfuzz, seeds, *options):
    p = subprocess.run([heapfuzz, "run", "--backend", "jsc", *options] + seeds,
                       capture_output=True, text=True, timeout=280)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heapfuzz", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--missing", default="", help="why there is no jsc backend ('' if there is)")
    ap.add_argument("--replay", help="the fuzz_jsc replay binary")
    ap.add_argument("--binaries", help="with --replay: the directory of the seeds' binaries")
    a = ap.parse_args()
    if a.missing:
        print("SKIP: %s" % a.missing)
        return 77
    seeds = sorted(glob.glob(os.path.join(a.corpus, "*.ops")))
    if not seeds:
        print("FAIL: no .ops seeds in %s" % a.corpus)
        return 1
    first = run(a.heapfuzz, seeds)
    second = run(a.heapfuzz, seeds)
    threads = run(a.heapfuzz, seeds, "--threads")
    failed = False
    for n, (rc, out, err) in enumerate((first, second, threads), 1):
        if rc != 0:
            print("FAIL: run %d exited %d\n%s%s" % (n, rc, out, err[-4000:]))
            failed = True
        for seed in seeds:
            if not any(line.startswith(seed + ": ok (") for line in out.splitlines()):
                print("FAIL: run %d: no ok line for %s" % (n, seed))
                failed = True
    if first[1:] != second[1:]:
        import difflib
        print("FAIL: the two runs printed different output:")
        print("".join(difflib.unified_diff((first[1] + first[2]).splitlines(True),
                                           (second[1] + second[2]).splitlines(True),
                                           "run 1", "run 2")))
        failed = True
    if a.replay:
        bins = sorted(glob.glob(os.path.join(a.binaries, "*.bin")))
        p = subprocess.run([a.replay, a.binaries], capture_output=True, text=True, timeout=280)
        if p.returncode != 0 or "replayed %d inputs" % len(bins) not in p.stdout + p.stderr:
            print("FAIL: %s %s exited %d, %d binaries\n%s%s" % (a.replay, a.binaries, p.returncode,
                                                            len(bins), p.stdout, p.stderr[-4000:]))
            failed = True
        else:
            print("fuzz_jsc replayed the %d seed binaries" % len(bins))
    if failed:
        return 1
    print("%d seeds ran clean on jsc, twice with the same output, and in real-thread mode"
          % len(seeds))
    print(first[1], end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
