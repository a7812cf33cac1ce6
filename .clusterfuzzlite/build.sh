#!/bin/sh
# .clusterfuzzlite/build.sh - builds heapfuzz's fuzz targets the OSS-Fuzz way.
#
# ClusterFuzzLite runs this as $SRC/build.sh (the Dockerfile copies it there); an OSS-Fuzz
# project's own build.sh runs it in place ($SRC/heapfuzz/.clusterfuzzlite/build.sh); the test
# (tests/scripts/test_ossfuzz_build.sh) runs it in place with the variables OSS-Fuzz sets.
#
# What it takes from the environment (OSS-Fuzz's contract):
#   CC, CFLAGS        compile every C file: the heap core, the interpreter, the targets and the
#                     heapfuzz tool. CFLAGS carry the sanitizer and the engine's coverage
#                     instrumentation (e.g. -fsanitize=address,fuzzer-no-link); nothing is added
#                     but the language level, the project's own macros and include paths.
#   CXX, CXXFLAGS     link each target: the engine library is C++ (libFuzzer), so the C++ driver
#                     brings its runtime; there is no C++ source of our own.
#   LIB_FUZZING_ENGINE  linked into each target, never a hard-coded -fsanitize=fuzzer.
#   FUZZING_ENGINE    optional (OSS-Fuzz sets it): the structure-aware custom mutator
#                     (LLVMFuzzerCustomMutator, which calls libFuzzer's LLVMFuzzerMutate) is
#                     compiled in for libFuzzer only.
#   OUT               receives fuzz_heap, fuzz_heap_threads, fuzz_ops_text and beside each
#                     <target>_seed_corpus.zip, <target>.dict and <target>.options.
#   WORK              object files and the heapfuzz tool (it compiles the seeds).
#   SRC               where the checkout is when the script is not run from inside it.
#   HF_JOBS           optional: parallel compiles (default: the number of cores).
#
# Why not CMake: OSS-Fuzz's base-builder image has no CMake 3.25 (the project's minimum), and
# the fuzzing build is two source globs and three links. Keep the macros below in step with
# CMakeLists.txt (hf_add_heapcore, hf_add_heapops) and targets/CMakeLists.txt.
set -eu

die() {
  echo "build.sh: $*" >&2
  exit 1
}

for v in CC CXX LIB_FUZZING_ENGINE OUT WORK; do
  eval "val=\${$v:-}"
  [ -n "$val" ] || die "\$$v is not set (OSS-Fuzz sets CC CXX CFLAGS CXXFLAGS LIB_FUZZING_ENGINE SRC WORK OUT)"
done
CFLAGS=${CFLAGS:-}
CXXFLAGS=${CXXFLAGS:-}

# ---------------------------------------------------------------------------------------------
# The checkout: beside this script when run in place, else the working directory (the
# Dockerfile's WORKDIR), else $SRC/heapfuzz.
# ---------------------------------------------------------------------------------------------
is_repo() { [ -f "$1/include/heapcore.h" ] && [ -d "$1/heap" ] && [ -d "$1/ops" ] && [ -d "$1/targets" ]; }
here=$(cd "$(dirname "$0")" && pwd)
if is_repo "$here/.."; then
  repo=$(cd "$here/.." && pwd)
elif is_repo "$PWD"; then
  repo=$PWD
elif [ -n "${SRC:-}" ] && is_repo "$SRC/heapfuzz"; then
  repo=$SRC/heapfuzz
else
  die "cannot find the heapfuzz checkout (looked beside $0, in $PWD and in \$SRC/heapfuzz)"
fi

mkdir -p "$OUT" "$WORK"
build=$WORK/heapfuzz-build
rm -rf "$build"
mkdir -p "$build/obj" "$build/seeds"

# ---------------------------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------------------------
asan_probe='defined(__SANITIZE_ADDRESS__) || HF_HAS_FEATURE(address_sanitizer)'
tsan_probe='defined(__SANITIZE_THREAD__) || HF_HAS_FEATURE(thread_sanitizer)'
feature_macro='#ifdef __has_feature
#  define HF_HAS_FEATURE(x) __has_feature(x)
#else
#  define HF_HAS_FEATURE(x) 0
#endif'
# Is the condition true when $CC preprocesses with $CFLAGS? (which sanitizer CFLAGS enable)
cc_has_feature() {
  printf '%s\n#if !(%s)\n#error no\n#endif\n' "$feature_macro" "$1" >"$build/probe.c"
  # shellcheck disable=SC2086
  $CC $CFLAGS -E "$build/probe.c" -o /dev/null >/dev/null 2>&1
}

# Every build of the interpreter runs on a heap core with yield points, and fuzzing builds keep the
# heap's assertions (the `fuzz` preset's HC_DEBUG); no -Werror: OSS-Fuzz's clang is newer than
# ours and may warn where clang 14 and gcc 12 do not.
defs="-D_GNU_SOURCE -DHC_YIELD_POINTS=1 -DHC_DEBUG=1"
# CMake defines HC_ASAN from HC_SANITIZE; here the sanitizer comes in CFLAGS, so ask the compiler.
# ops/fiber.c needs it to annotate the scheduler's stack switches (fake stacks included, for
# detect_stack_use_after_return); without it ASan's swapcontext interceptor warns of false
# positives and wipes the shadow of the stack it switches to, live frames included.
if cc_has_feature "$asan_probe"; then
  defs="$defs -DHC_ASAN=1"
fi
# TSan builds leave the deterministic interpreter's bookkeeping uninstrumented (CMakeLists.txt);
# OSS-Fuzz and ClusterFuzzLite run no TSan, so this script does not reproduce that split.
if cc_has_feature "$tsan_probe"; then
  die "CFLAGS ask for ThreadSanitizer: build the tsan preset instead (cmake --preset tsan)"
fi
# The oracle's checking loops stay out of the engine's coverage feedback (targets/CMakeLists.txt),
# when there is such feedback: SanitizerCoverage, as in -fsanitize=fuzzer-no-link.
cov_ignore=""
case " $CFLAGS " in
  *fuzzer-no-link* | *-fsanitize-coverage=*)
    cov_ignore="-fsanitize-coverage-ignorelist=$repo/targets/coverage_ignore.txt" ;;
esac
# The custom mutator calls LLVMFuzzerMutate, which only libFuzzer provides.
engine_defs=""
case "${FUZZING_ENGINE:-}" in
  libfuzzer) engine_defs="-DHF_FUZZ_ENGINE=1" ;;
  "") case " $LIB_FUZZING_ENGINE " in *-fsanitize=fuzzer*) engine_defs="-DHF_FUZZ_ENGINE=1" ;; esac ;;
esac

echo "build.sh: source $repo"
echo "build.sh: CC=$CC CFLAGS=$CFLAGS"
echo "build.sh: CXX=$CXX CXXFLAGS=$CXXFLAGS LIB_FUZZING_ENGINE=$LIB_FUZZING_ENGINE"
echo "build.sh: macros: $defs $engine_defs${cov_ignore:+ (coverage ignore list)}"

# ---------------------------------------------------------------------------------------------
# Compile, HF_JOBS at a time
# ---------------------------------------------------------------------------------------------
jobs=${HF_JOBS:-$(nproc 2>/dev/null || echo 2)}
pids=""
running=0
failed=0
reap() {
  for p in $pids; do
    wait "$p" || failed=1
  done
  pids=""
  running=0
}
# compile OBJ SRC FLAGS...: one object, in the background.
compile() {
  obj=$1
  src=$2
  shift 2
  # shellcheck disable=SC2086
  $CC $CFLAGS -std=c17 $defs "$@" -c "$src" -o "$obj" &
  pids="$pids $!"
  running=$((running + 1))
  [ "$running" -lt "$jobs" ] || reap
}

heap_objs=""
for f in "$repo"/heap/*.c; do
  o=$build/obj/heap_$(basename "$f" .c).o
  compile "$o" "$f" -I"$repo/include" -I"$repo/heap" $cov_ignore
  heap_objs="$heap_objs $o"
done
ops_objs=""
for f in "$repo"/ops/*.c; do
  o=$build/obj/ops_$(basename "$f" .c).o
  compile "$o" "$f" -I"$repo/include" -I"$repo/ops" $cov_ignore
  ops_objs="$ops_objs $o"
done
for f in "$repo"/backends/*.c; do # the heaps the interpreter runs on (include/heapbackend.h)
  o=$build/obj/backend_$(basename "$f" .c).o
  compile "$o" "$f" -I"$repo/include" $cov_ignore
  ops_objs="$ops_objs $o"
done
targets="fuzz_heap fuzz_heap_threads fuzz_ops_text"
for t in $targets; do
  # shellcheck disable=SC2086
  compile "$build/obj/$t.o" "$repo/targets/$t.c" -I"$repo/include" -I"$repo/tools" $engine_defs
done
tool_objs=""
for f in "$repo"/tools/*.c; do # heapfuzz and its commands (signature, minimize, ...)
  o=$build/obj/tool_$(basename "$f" .c).o
  compile "$o" "$f" -I"$repo/include" -I"$repo/tools"
  tool_objs="$tool_objs $o"
done
reap
[ "$failed" = 0 ] || die "compilation failed"

# ---------------------------------------------------------------------------------------------
# Link: the targets with $CXX and the engine; the heapfuzz tool, which only this script runs,
# with $CC and no engine.
# ---------------------------------------------------------------------------------------------
for t in $targets; do
  # shellcheck disable=SC2086
  $CXX $CXXFLAGS "$build/obj/$t.o" $ops_objs $heap_objs $LIB_FUZZING_ENGINE -pthread -ldl \
    -o "$OUT/$t"
done
heapfuzz=$build/heapfuzz
# shellcheck disable=SC2086
$CC $CFLAGS $tool_objs $ops_objs $heap_objs -pthread -ldl -o "$heapfuzz"

# ---------------------------------------------------------------------------------------------
# Seed corpora, dictionaries, options
# ---------------------------------------------------------------------------------------------
# The tool runs under the build's sanitizer (and, in a coverage build, would drop profiles).
export LLVM_PROFILE_FILE="$build/heapfuzz-%p.profraw"

# zip_dir ZIP DIR: every file of DIR at the top of the archive.
zip_dir() {
  rm -f "$1"
  if command -v zip >/dev/null 2>&1; then
    (cd "$2" && zip -q -X "$1" ./*)
  elif command -v python3 >/dev/null 2>&1; then
    (cd "$2" && python3 -m zipfile -c "$1" ./*)
  else
    die "neither zip nor python3 is installed: cannot write $1"
  fi
}

# seeds TARGET PREFIX DIR: each text seed of DIR into TARGET's seed directory as PREFIX<name>,
# in canonical binary form (heapfuzz asm) unless TARGET reads text. The prefix keeps apart seeds
# of the same name from different corpora.
seeds() {
  mkdir -p "$build/seeds/$1"
  for s in "$3"/*.ops; do
    [ -f "$s" ] || die "no seeds in $3"
    name=$2$(basename "$s" .ops)
    if [ "$1" = fuzz_ops_text ]; then
      cp "$s" "$build/seeds/$1/$name.ops"
    else
      "$heapfuzz" asm "$s" -o "$build/seeds/$1/$name.bin" || die "heapfuzz asm $s failed"
    fi
  done
}

# fuzz_heap: the deterministic-mode seeds. Not the proofs or the zoo: programs written to reach a
# known bug are what the time-to-bug benchmark measures the campaign against, so no corpus the
# campaign starts from may hold them.
seeds fuzz_heap "" "$repo/corpus/fuzz_heap"
seeds fuzz_heap_threads "" "$repo/corpus/fuzz_heap_threads"
# fuzz_ops_text parses text: its seeds are the text programs themselves.
seeds fuzz_ops_text "" "$repo/corpus/fuzz_heap"
seeds fuzz_ops_text threads_ "$repo/corpus/fuzz_heap_threads"
for t in $targets; do
  zip_dir "$OUT/${t}_seed_corpus.zip" "$build/seeds/$t"
done

# Both heap targets read the same binary programs, so they share one dictionary.
cp "$repo/dictionaries/fuzz_heap.dict" "$OUT/fuzz_heap.dict"
cp "$repo/dictionaries/fuzz_heap.dict" "$OUT/fuzz_heap_threads.dict"
# The text dictionary comes from the op table itself, so it never falls behind the language: the
# tool prints, for opcode byte 0, 1, ... (the decoder takes it modulo the number of ops, so the
# first byte that prints as opcode 0's op again ends the loop) a program of that one op with zero
# operands; every mnemonic and operand name printed becomes a token.
: >"$build/every_op.ops"
op=0
while [ "$op" -lt 256 ]; do
  # The config (4 bytes), the opcode, five zero bytes: more operand bytes than any op reads.
  printf "\\000\\000\\375\\000\\$(printf '%03o' "$op")\\000\\000\\000\\000\\000" >"$build/op.bin"
  "$heapfuzz" print "$build/op.bin" -o "$build/op.ops" || die "heapfuzz print failed"
  line=$(sed -n '3{s/ *#.*//;p;}' "$build/op.ops")
  [ -n "$line" ] || die "heapfuzz print of opcode $op printed no op"
  if [ "$op" = 0 ]; then
    first=${line%% *}
  elif [ "${line%% *}" = "$first" ]; then
    break
  fi
  sed -n '1,2p' "$build/op.ops" >"$build/header.ops"
  echo "$line" >>"$build/every_op.ops"
  op=$((op + 1))
done
{
  echo "# fuzz_ops_text.dict: generated by .clusterfuzzlite/build.sh from the op table"
  printf '%s\n' '"\x0a"' '"#"'
  cat "$build/header.ops" "$build/every_op.ops" | tr ' ' '\n' |
    sed -n 's/^\([a-z_]*\)=.*/\1=/p; s/^\([a-z][a-z-]*\)$/\1/p' | LC_ALL=C sort -u |
    sed 's/.*/"&"/'
  echo '"heapfuzz-ops 1"'
} >"$OUT/fuzz_ops_text.dict"

for t in $targets; do
  [ -f "$repo/dictionaries/$t.options" ] || die "missing dictionaries/$t.options"
  cp "$repo/dictionaries/$t.options" "$OUT/$t.options"
done

echo "build.sh: built into $OUT:"
(cd "$OUT" && ls -l $targets ./*_seed_corpus.zip ./*.dict ./*.options)
