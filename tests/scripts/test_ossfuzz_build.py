#!/usr/bin/env python3
"""test_ossfuzz_build.py: .clusterfuzzlite/build.sh builds what OSS-Fuzz and ClusterFuzzLite expect.

For each sanitizer .clusterfuzzlite/project.yaml lists (address, undefined, memory), runs the
build script as OSS-Fuzz's libFuzzer build with that sanitizer does (the same environment
variables and compiler flags, a temporary $WORK and $OUT), then checks:
  - $OUT holds exactly each target, its <target>_seed_corpus.zip, .dict and .options (OSS-Fuzz
    runs every executable in $OUT as a fuzz target, so nothing else may be there);
  - each seed corpus has one entry per seed of its corpus directories;
  - each .options file parses, its dict is in $OUT, and its [asan] section keeps
    detect_stack_use_after_return=1 (the base runner's setting, which the targets must survive);
  - each target replays every file of its seed corpus in full, many times in one process, with
    the sanitizer's options as the .options file and the base runner set them (ASan:
    detect_stack_use_after_return=1): no crash, no sanitizer report (a crashing seed fails
    OSS-Fuzz's build check; state leaked per input shows after many inputs);
  - each target starts fuzzing with its .options flags and dictionary (-runs=0 over the corpus:
    libFuzzer rejects a malformed dictionary or flag).

Usage: test_ossfuzz_build.py [--sanitizer NAME]... [--keep]
  --sanitizer NAME  only this configuration (address, undefined or memory; repeatable)
  --keep            leave the temporary directory for a look
Exit status 0 when every check passed, 1 otherwise; the last line says how many passed.
"""

import configparser
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = ("fuzz_heap", "fuzz_heap_threads", "fuzz_ops_text")
# Where each target's seeds come from (build.sh): corpus directories under corpus/.
SEED_DIRS = {
    "fuzz_heap": ("fuzz_heap",),
    "fuzz_heap_threads": ("fuzz_heap_threads",),
    "fuzz_ops_text": ("fuzz_heap", "fuzz_heap_threads"),
}
# OSS-Fuzz's flags per sanitizer (base-builder's SANITIZER_FLAGS_*), after its common flags, and
# -fsanitize=fuzzer-no-link for libFuzzer's coverage feedback. Address is the exact line.
COMMON = "-O1 -fno-omit-frame-pointer -gline-tables-only"
UBSAN_CHECKS = ("array-bounds,bool,builtin,enum,float-divide-by-zero,function,"
                "integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,"
                "signed-integer-overflow,unreachable,vla-bound,vptr")
SANITIZER_FLAGS = {
    "address": "-fsanitize=address,fuzzer-no-link",
    "undefined": f"-fsanitize={UBSAN_CHECKS},unsigned-integer-overflow "
                 f"-fno-sanitize-recover={UBSAN_CHECKS} -fsanitize=fuzzer-no-link",
    "memory": "-fsanitize=memory -fsanitize-memory-track-origins -fsanitize=fuzzer-no-link",
}
# Runs of each seed in one process, per target. fuzz_heap: more than the deterministic scheduler's
# pool of 64 fibers per OS thread (ops/fiber.c), so a fiber leaked per input exhausts it.
# fuzz_heap_threads starts and joins its pthreads per input (no pool): a few runs, for other
# per-process state; LeakSanitizer checks memory at exit anyway. The parser keeps no state.
REPEAT = {"fuzz_heap": 80, "fuzz_heap_threads": 10, "fuzz_ops_text": 1}
# What a sanitizer prints when it finds something (besides exiting non-zero); and ASan's warning
# about swapcontext, which shows that ops/fiber.c was built without its ASan annotations (build.sh
# must define HC_ASAN when CFLAGS enable ASan).
REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
           "WARNING: MemorySanitizer", "ERROR: libFuzzer", "heapfuzz: finding",
           "doesn't fully support makecontext/swapcontext")

from checklist import check, summary  # noqa: E402


def tail(text, lines=30):
    return "\n".join(text.splitlines()[-lines:])


def seeds_of(target):
    names = []
    for d in SEED_DIRS[target]:
        path = os.path.join(REPO, "corpus", d)
        names += [f for f in os.listdir(path) if f.endswith(".ops")]
    return names


def options_env(sanitizer, opts):
    """The sanitizer's options as ClusterFuzz builds them: the .options file's section for it,
    then the base runner's settings (ASan: detect_stack_use_after_return=1); every report stops
    the run so a finding cannot pass unseen."""
    section = {"address": "asan", "undefined": "ubsan", "memory": "msan"}[sanitizer]
    pairs = dict(opts.items(section)) if opts.has_section(section) else {}
    if sanitizer == "address":
        pairs["detect_stack_use_after_return"] = "1"
        pairs["abort_on_error"] = "1"
    else:
        pairs.setdefault("halt_on_error", "1")
        pairs["print_stacktrace"] = "1"
    return {f"{section.upper()}_OPTIONS": ":".join(f"{k}={v}" for k, v in pairs.items())}


def main():
    args = sys.argv[1:]
    keep = "--keep" in args
    sanitizers = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--sanitizer"]
    unknown = [a for a in sanitizers if a not in SANITIZER_FLAGS]
    if unknown:
        print(f"test_ossfuzz_build: unknown sanitizer {unknown[0]} (address, undefined, memory)")
        return 2
    for tool in ("clang", "clang++"):
        if not shutil.which(tool):
            print(f"test_ossfuzz_build: {tool} is not installed (scripts/test installs clang)")
            print("test_ossfuzz_build: 0 passed, 1 failed")
            return 1
    tmp = tempfile.mkdtemp(prefix="heapfuzz-ossfuzz-")
    try:
        for sanitizer in sanitizers or list(SANITIZER_FLAGS):
            print(f"--- SANITIZER={sanitizer}")
            run(os.path.join(tmp, sanitizer), sanitizer)
    finally:
        if keep:
            print(f"test_ossfuzz_build: left {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_ossfuzz_build")


def run(tmp, sanitizer):
    out = os.path.join(tmp, "out")
    work = os.path.join(tmp, "work")
    os.makedirs(out)
    os.makedirs(work)
    env = dict(os.environ)
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "MSAN_OPTIONS", "LLVM_PROFILE_FILE"):
        env.pop(k, None)
    flags = f"{COMMON} {SANITIZER_FLAGS[sanitizer]}"
    env.update({
        "CC": "clang", "CXX": "clang++", "CFLAGS": flags, "CXXFLAGS": flags,
        "LIB_FUZZING_ENGINE": "-fsanitize=fuzzer", "FUZZING_ENGINE": "libfuzzer",
        "SANITIZER": sanitizer, "ARCHITECTURE": "x86_64", "FUZZING_LANGUAGE": "c",
        "SRC": os.path.dirname(REPO), "WORK": work, "OUT": out,
        "HF_JOBS": "2",  # the machine's two cores are shared
    })
    build = subprocess.run([os.path.join(REPO, ".clusterfuzzlite", "build.sh")], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not check(build.returncode == 0, "build.sh exits 0", tail(build.stdout)):
        return

    expected = set()
    for t in TARGETS:
        expected |= {t, f"{t}_seed_corpus.zip", f"{t}.dict", f"{t}.options"}
    present = set(os.listdir(out))
    check(present == expected, "$OUT holds exactly the targets and their files",
          f"missing {sorted(expected - present)}, unexpected {sorted(present - expected)}")

    for t in TARGETS:
        exe = os.path.join(out, t)
        if not check(os.access(exe, os.X_OK), f"{t} is executable"):
            continue
        zpath = os.path.join(out, f"{t}_seed_corpus.zip")
        corpus = os.path.join(tmp, "corpus", t)
        os.makedirs(corpus)
        with zipfile.ZipFile(zpath) as z:
            z.extractall(corpus)
        files = sorted(os.listdir(corpus))
        want = len(seeds_of(t))
        check(len(files) == want and want > 0, f"{t}_seed_corpus.zip has one file per seed",
              f"{len(files)} files, {want} seeds")
        check(all(os.path.getsize(os.path.join(corpus, f)) > 0 for f in files),
              f"{t}_seed_corpus.zip has no empty file")

        opts = configparser.ConfigParser()
        try:
            opts.read(os.path.join(out, f"{t}.options"))
            parsed = opts.has_section("libfuzzer")
        except configparser.Error as e:
            parsed = False
            print(f"     {e}")
        if not check(parsed, f"{t}.options parses and has [libfuzzer]"):
            continue
        lf = dict(opts.items("libfuzzer"))
        check(lf.get("dict") == f"{t}.dict", f"{t}.options names {t}.dict", lf.get("dict", ""))
        check(opts.get("asan", "detect_stack_use_after_return", fallback=None) == "1",
              f"{t}.options keeps detect_stack_use_after_return=1")
        renv = dict(env)
        san_env = options_env(sanitizer, opts)
        renv.update(san_env)

        # Every seed in full (libFuzzer runs files given by name untruncated), REPEAT times each
        # in the one process, as a fuzzing process runs input after input for hours: per-process
        # state that leaks a little per input (a pool of fibers, say) runs out here too.
        paths = [os.path.join(corpus, f) for f in files]
        rep = subprocess.run([exe, f"-runs={REPEAT[t]}"] + paths, env=renv, cwd=tmp,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=600)
        executed = rep.stdout.count("Executed ")
        reports = [r for r in REPORTS if r in rep.stdout]
        check(rep.returncode == 0 and executed == len(files) and not reports,
              f"{t} replays its {len(files)} seeds {REPEAT[t]} times each, clean "
              f"({' '.join(f'{k}={v}' for k, v in san_env.items())})",
              f"exit {rep.returncode}, {executed} executed, reports {reports}\n{tail(rep.stdout)}")

        # As a fuzzing run starts: the .options flags, the dictionary, the corpus directory.
        flags = [f"-{k}={os.path.join(out, v) if k == 'dict' else v}" for k, v in lf.items()]
        start = subprocess.run([exe, "-runs=0"] + flags + [corpus], env=renv, cwd=tmp,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=600)
        check(start.returncode == 0 and "INITED" in start.stdout and "Dictionary:" in start.stdout
              and not any(r in start.stdout for r in REPORTS),
              f"{t} starts with {' '.join(flags)}",
              f"exit {start.returncode}\n{tail(start.stdout)}")


if __name__ == "__main__":
    sys.exit(main())
