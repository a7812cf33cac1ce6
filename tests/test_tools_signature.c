/* test_tools_signature.c: crash signatures (tools/signature.c) on report shapes the fixtures of
 * tests/fixtures/reports/ do not cover: ASan kinds named on the SUMMARY line, the heap's fatal
 * errors and the abort reports after them, glibc's fatal messages and assert(3)'s, libFuzzer's
 * deadly signal and out-of-memory, an oracle finding followed by libFuzzer's stack, TSan frames
 * without a file, gdb's signal stop and backtrace, the sanitizer runtimes' interceptors, a replay
 * stopped at its timeout, the bug signature, which report comes first, number normalization,
 * terminal colors and CRLF, the hash. Every expected signature is written out in full. */
#include "check.h"
#include "signature.h"

#include <string.h>

static hf_signature_t sig;

/* Parses text; fails unless it is a crash with exactly the expected signature. */
/* sig is the expected signature, and its id the first 12 hex digits of its FNV-1a hash. */
static void check_sig(const char *label, const char *signature) {
  if (strcmp(sig.signature, signature) != 0) {
    fprintf(stderr, "%s: '%s'\nexpected:  '%s'\n", label, sig.signature, signature);
    CHECK(!"signature as expected");
  }
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx",
           (unsigned long long)hf_fnv1a64(sig.signature, strlen(sig.signature)));
  CHECK(strlen(sig.id) == 12 && strncmp(sig.id, hex, 12) == 0);
}

static void expect(const char *text, const char *signature) {
  if (!hf_signature_parse(text, strlen(text), &sig)) {
    fprintf(stderr, "no crash recognized in:\n%s\n", text);
    CHECK(!"crash recognized");
  }
  check_sig("signature", signature);
}

static void test_fnv1a(void) {
  /* The published FNV-1a 64 test vectors. */
  CHECK_EQ_U64(hf_fnv1a64("", 0), 0xcbf29ce484222325ull);
  CHECK_EQ_U64(hf_fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
  CHECK_EQ_U64(hf_fnv1a64("foobar", 6), 0x85944171f73967e8ull);
}

static void test_no_crash(void) {
  const char *text = "corpus/fuzz_heap/weak_refs.ops: ok (57 ops run, 0 skipped, 11 collections)\n"
                     "INFO: Seed: 1234\n#0 not a frame of any report\n";
  CHECK(!hf_signature_parse(text, strlen(text), &sig));
  CHECK(!hf_signature_parse("", 0, &sig));
  CHECK(sig.signature[0] == '\0' && sig.op == -1);
}

/* A sentence after `AddressSanitizer:` is named by the SUMMARY line; without one (a report cut
 * short), the first word stands. */
static void test_asan_kind_from_summary(void) {
  const char *frames = "    #0 0x4a1 in free (/out/fuzz_heap+0x4a1)\n"
                       "    #1 0x4a2 in hc_block_destroy /src/heap/block.c:86:3\n"
                       "    #2 0x4a3 in finish_sweep /src/heap/sweep.c:52:5\n"
                       "    #3 0x4a4 in hc_sweep_some /src/heap/sweep.c:102:5\n"
                       "    #4 0x4a5 in hc_sweeper_run_step /src/heap/sweep.c:158:14\n\n";
  char text[2048];
  snprintf(text, sizeof text,
           "==7==ERROR: AddressSanitizer: attempting double-free on 0x602000000010 in thread "
           "T0:\n%sSUMMARY: AddressSanitizer: double-free (/out/fuzz_heap+0x4a1) in free\n",
           frames);
  expect(text, "asan:double-free|hc_block_destroy|finish_sweep|hc_sweep_some");
  snprintf(text, sizeof text,
           "==7==ERROR: AddressSanitizer: attempting double-free on 0x602000000010 in thread "
           "T0:\n%s",
           frames);
  expect(text, "asan:attempting|hc_block_destroy|finish_sweep|hc_sweep_some");
  expect("AddressSanitizer:DEADLYSIGNAL\n"
         "==9==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000008 (pc 0x1 bp 0x2)\n"
         "==9==The signal is caused by a READ memory access.\n"
         "    #0 0x55 in hc_load /src/heap/object.c:40:10\n"
         "    #1 0x56 in op_load /src/ops/interp_ops.c:80:3\n"
         "SUMMARY: AddressSanitizer: SEGV /src/heap/object.c:40:10 in hc_load\n",
         "asan:SEGV|hc_load");
}

/* hc_fatal's line (heap/heap.c): the message without file and line, numbers as N; no stack, no
 * frames, no trailing bar. With the stack libFuzzer prints after the abort, abort's frames are
 * libc's and hc_fatal is the top one. */
static void test_fatal(void) {
  expect("heapcore: fatal: /src/heap/freelist.h:49: corrupt free-list interval head\n",
         "fatal:corrupt free-list interval head");
  expect("heapcore: fatal: heap/block.c:210: assertion failed: b->live <= 1024\n"
         "==5== ERROR: libFuzzer: deadly signal\n"
         "    #0 0x1 in __sanitizer_print_stack_trace (/out/fuzz_heap+0x1)\n"
         "    #1 0x2 in fuzzer::PrintStackTrace() (/out/fuzz_heap+0x2)\n"
         "    #2 0x3 in fuzzer::Fuzzer::CrashCallback() (/out/fuzz_heap+0x3)\n"
         "    #3 0x4  (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f)\n"
         "    #4 0x5 in __pthread_kill_implementation ./nptl/pthread_kill.c:44:76\n"
         "    #5 0x6 in raise ./signal/../sysdeps/posix/raise.c:26:13\n"
         "    #6 0x7 in abort ./stdlib/abort.c:79:7\n"
         "    #7 0x8 in hc_fatal /src/heap/heap.c:39:3\n"
         "    #8 0x9 in hc_block_sweep /src/heap/block.c:210:5\n"
         "    #9 0xa in LLVMFuzzerTestOneInput /src/targets/fuzz_heap.c:30:3\n",
         "fatal:assertion failed: b->live <= N|hc_fatal|hc_block_sweep");
}

/* The heap's fatal error is followed by its abort's report: ASan's or TSan's ABRT report
 * (handle_abort=1, as triage replays) or gdb's SIGABRT stop, whose stack is the fatal error's,
 * as libFuzzer's deadly signal's is. A report that is not an abort ends the search. */
static void test_fatal_then_abort(void) {
  const char *stack =
      "    #0 0x1 in __pthread_kill_implementation nptl/./nptl/pthread_kill.c:44:76\n"
      "    #1 0x2 in raise signal/../sysdeps/posix/raise.c:26:13\n"
      "    #2 0x3 in abort stdlib/./stdlib/abort.c:79:7\n"
      "    #3 0x4 in hc_fatal /src/heap/heap.c:39:3\n"
      "    #4 0x5 in hc_directory_claim /src/heap/directory.c:186:7\n"
      "    #5 0x6 in op_alloc /src/ops/interp_ops.c:30:3\n";
  char text[2048];
  snprintf(text, sizeof text,
           "heapcore: fatal: /src/heap/directory.c:186: directory bit set over an empty slot\n"
           "AddressSanitizer:DEADLYSIGNAL\n"
           "==7==ERROR: AddressSanitizer: ABRT on unknown address 0x1 (pc 0x2 bp 0x3 sp 0x4 T0)\n"
           "%s",
           stack);
  expect(text, "fatal:directory bit set over an empty slot|hc_fatal|hc_directory_claim");
  snprintf(text, sizeof text,
           "heapcore: fatal: /src/heap/directory.c:186: directory bit set over an empty slot\n"
           "ThreadSanitizer:DEADLYSIGNAL\n"
           "==9==ERROR: ThreadSanitizer: ABRT on unknown address 0x1 (pc 0x2 bp 0x3 sp 0x4 T9)\n"
           "%s",
           stack);
  expect(text, "fatal:directory bit set over an empty slot|hc_fatal|hc_directory_claim");
  expect("heapcore: fatal: heap/block.c:210: assertion failed: b->live <= 1024\n\n"
         "Thread 3 \"heapfuzz\" received signal SIGABRT, Aborted.\n"
         "#0  __pthread_kill_implementation (threadid=<optimized out>, signo=signo@entry=6, "
         "no_tid=no_tid@entry=0) at ./nptl/pthread_kill.c:44\n"
         "#1  0x00007ffff7e0efb2 in __GI_raise (sig=sig@entry=6) at ../sysdeps/posix/raise.c:26\n"
         "#2  0x00007ffff7df9472 in __GI_abort () at ./stdlib/abort.c:79\n"
         "#3  0x000055555555522e in hc_fatal (file=<optimized out>, line=210, msg=<optimized "
         "out>) at /src/heap/heap.c:39\n"
         "#4  0x000055555555522f in hc_block_sweep (b=0x1) at /src/heap/block.c:210\n",
         "fatal:assertion failed: b->live <= N|hc_fatal|hc_block_sweep");
  expect("heapcore: fatal: heap/block.c:210: assertion failed: b->live <= 1024\n"
         "==7==ERROR: AddressSanitizer: SEGV on unknown address 0x1 (pc 0x2 bp 0x3 sp 0x4 T0)\n"
         "    #0 0x1 in hc_block_sweep /src/heap/block.c:3:4\n",
         "fatal:assertion failed: b->live <= N");
}

/* glibc's own fatal messages open a `libc:` report (numbers as N, the decoration of the stack
 * protector's and the old `*** Error in` form dropped, so one message reads the same from every
 * glibc); assert(3)'s opens `assert:<COND>`. Only at the start of a line: the same text quoted
 * in a gdb frame's arguments is not a report. The frames are those of the abort that follows. */
static void test_libc(void) {
  static const struct {
    const char *line, *type;
  } cases[] = {
      {"free(): double free detected in tcache 2", "libc:free(): double free detected in tcache N"},
      {"free(): invalid pointer", "libc:free(): invalid pointer"},
      {"double free or corruption (out)", "libc:double free or corruption (out)"},
      {"double free or corruption (!prev)", "libc:double free or corruption (!prev)"},
      {"double free or corruption (fasttop)", "libc:double free or corruption (fasttop)"},
      {"malloc(): corrupted top size", "libc:malloc(): corrupted top size"},
      {"malloc(): unaligned tcache chunk detected",
       "libc:malloc(): unaligned tcache chunk detected"},
      {"munmap_chunk(): invalid pointer", "libc:munmap_chunk(): invalid pointer"},
      {"realloc(): invalid pointer", "libc:realloc(): invalid pointer"},
      {"corrupted size vs. prev_size", "libc:corrupted size vs. prev_size"},
      {"corrupted double-linked list", "libc:corrupted double-linked list"},
      {"malloc_consolidate(): invalid chunk size", "libc:malloc_consolidate(): invalid chunk size"},
      {"*** stack smashing detected ***: terminated", "libc:stack smashing detected"},
      {"*** stack smashing detected ***: ./heapfuzz terminated", "libc:stack smashing detected"},
      {"*** buffer overflow detected ***: terminated", "libc:buffer overflow detected"},
      {"*** Error in `./heapfuzz': double free or corruption (fasttop): 0x0000000001a8e010 ***",
       "libc:double free or corruption (fasttop)"},
      {"Fatal glibc error: malloc.c:2599 (sysmalloc): assertion failed: (old_top == initial_top "
       "(av) && old_size == 0) || ((unsigned long) (old_size) >= MINSIZE)",
       "libc:malloc.c:N (sysmalloc): assertion failed: (old_top == initial_top (av) && old_size "
       "== N) || ((unsigned long) (old_size) >= MINSIZE)"},
      {"heapfuzz: heap/block.c:210: hc_block_sweep: Assertion `b->live <= 1024' failed.",
       "assert:b->live <= N"},
      {"heapfuzz: heap/block.c:210: void hc_block_sweep(struct block *): Assertion `(x ? y : "
       "z) && s[0] != '`'' failed.",
       "assert:(x ? y : z) && s[N] != '`'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "INFO: Seed: 1\n%s\n", cases[i].line);
    expect(text, cases[i].type);
    CHECK(sig.frame_count == 0);
  }
  expect("free(): double free detected in tcache 2\n\n"
         "Program received signal SIGABRT, Aborted.\n"
         "#4  0x00007ffff7e5242f in __libc_message (action=action@entry=do_abort, "
         "fmt=fmt@entry=0x7ffff7f6d459 \"%s\\n\") at ../sysdeps/posix/libc_fatal.c:156\n"
         "#5  0x00007ffff7e6786a in malloc_printerr (str=str@entry=0x7ffff7f70098 \"free(): "
         "double free detected in tcache 2\") at ./malloc/malloc.c:5662\n"
         "#6  0x00007ffff7e69af6 in _int_free (av=0x7ffff7fa6c60 <main_arena>, p=0x1) at "
         "./malloc/malloc.c:4469\n"
         "#7  0x00007ffff7e6bf5f in free () from /lib/x86_64-linux-gnu/libc.so.6\n"
         "#8  0x0000555555555313 in hc_large_release (l=0x6569) at /src/heap/large.c:37\n",
         "libc:free(): double free detected in tcache N|hc_large_release");
  /* Not a report: the messages inside a line, a function of the heap's own. */
  const char *quoted = "#5  0x1 in malloc_printerr (str=0x2 \"free(): invalid pointer\") at "
                       "./malloc/malloc.c:5662\n"
                       "    log: free(): invalid pointer\n"
                       "hc_free(): invalid pointer\n";
  CHECK(!hf_signature_parse(quoted, strlen(quoted), &sig));
}

static void test_libfuzzer(void) {
  expect("==5== ERROR: libFuzzer: deadly signal\n"
         "    #0 0x1 in __sanitizer_print_stack_trace (/out/fuzz_heap+0x1)\n"
         "    #1 0x5 in __pthread_kill_implementation ./nptl/pthread_kill.c:44:76\n"
         "    #2 0x6 in raise ./signal/../sysdeps/posix/raise.c:26:13\n"
         "    #3 0x7 in abort ./stdlib/abort.c:79:7\n"
         "    #4 0x8 in hc_mutator_detach /src/heap/mutator.c:140:5\n"
         "    #5 0x9 in teardown /src/ops/interp.c:237:29\n",
         "signal:SIGABRT|hc_mutator_detach");
  expect("==5== ERROR: libFuzzer: deadly signal\n"
         "    #0 0x8 in hc_trap /src/heap/heap.c:12:5\n",
         "signal:unknown|hc_trap");
  expect("==5== ERROR: libFuzzer: out-of-memory (malloc(4294967296))\n"
         "    #0 0x1 in __sanitizer_print_stack_trace (/out/fuzz_heap+0x1)\n"
         "    #1 0x2 in malloc (/out/fuzz_heap+0x2)\n"
         "    #2 0x3 in hc_large_alloc /src/heap/large.c:33:9\n"
         "    #3 0x4 in main (/out/fuzz_heap+0x4)\n",
         "oom|hc_large_alloc");
}

/* The oracle's frames are the op and the detail, whatever stack follows (libFuzzer's, after the
 * abort); op and thread are the line's. */
static void test_oracle(void) {
  expect("INFO: Running with entropic power schedule (0xFF, 100).\n"
         "heapfuzz: finding: op 18 (alloc h=3 size=48 slots=1 flags=0) on m2: payload changed: "
         "object #17\n"
         "heap state: phase idle, mark version 4, newly version 4\n"
         "==5== ERROR: libFuzzer: deadly signal\n"
         "    #7 0x8 in interp_finding /src/ops/interp.c:60:3\n",
         "oracle:payload changed|alloc|object #N");
  CHECK(sig.op == 18);
  CHECK(strcmp(sig.thread, "m2") == 0);
  expect("heapfuzz: finding: op 0 (teardown) on main: finalizers: 3 ran for 4 finalizable "
         "objects\n",
         "oracle:finalizers|teardown|N ran for N finalizable objects");
  CHECK(sig.op == 0 && strcmp(sig.thread, "main") == 0);
}

/* TSan's format, a frame without a file, and the kind without its pid. */
static void test_tsan(void) {
  expect("WARNING: ThreadSanitizer: lock-order-inversion (potential deadlock) (pid=4242)\n"
         "  Cycle in lock order graph: M0 (0x7b0400000010) => M1 (0x7b0400000020) => M0\n\n"
         "  Mutex M1 acquired here while holding mutex M0 in thread T1:\n"
         "    #0 pthread_mutex_lock <null> (heapfuzz+0x53c3f) (BuildId: 6be3a039a2dab5ab)\n"
         "    #1 <null> <null> (libc.so.6+0x1234)\n"
         "    #2 hc_directory_lock /src/heap/directory.c:30:3 (heapfuzz+0xe6dbe)\n"
         "    #3 hc_sweep_some /src/heap/sweep.c:95:7 (heapfuzz+0xe6dbf) (BuildId: 6be3)\n"
         "    #4 thr_sweeper_main /src/ops/threads.c:400:5 (heapfuzz+0xe6dc0)\n",
         "tsan:lock-order-inversion (potential deadlock)|hc_directory_lock|hc_sweep_some");
}

/* gdb's stop on a signal (`Program received signal`, a thread's `Thread N "name" received
 * signal`, a core's `Program terminated with signal`) opens a `signal:<NAME>` report, and `bt`
 * gives its frames in every form gdb prints them: with the pc and `in`, without (frame 0, an
 * inlined frame), `at FILE:LINE`, `from MODULE`, `?? ()`, `<signal handler called>`, arguments
 * holding parentheses, quotes and ` at `. The filters apply: glibc's sources and module, libc's
 * entry points, the harness. */
static void test_gdb(void) {
  expect(
      "[Thread debugging using libthread_db enabled]\n"
      "Program received signal SIGSEGV, Segmentation fault.\n"
      "0x000055555555a1b2 in hc_block_sweep (block=0x7ffff7a00010, mode=2) at "
      "/work/main/heap/block.c:123\n"
      "123\t  b->cells[i] = mode;\n"
      "#0  0x000055555555a1b2 in hc_block_sweep (block=0x7ffff7a00010, mode=2) at "
      "/work/main/heap/block.c:123\n"
      "#1  hc_allocator_slow (a=0x555555598280) at heap/allocator.c:88\n"
      "#2  0x0000555555556789 in op_alloc (in=0x1, a=0x2) at /work/main/ops/interp_ops.c:30\n"
      "#3  0x000055555555abcd in hc_sweep_some (heap=0x1, why=0x2 \"a (sweep) at 3\") at "
      "/work/main/heap/sweep.c:104\n"
      "#4  0x000055555555abce in main (argc=3, argv=0x7ffe) at /work/main/tools/heapfuzz.c:356\n",
      "signal:SIGSEGV|hc_block_sweep|hc_allocator_slow|hc_sweep_some");
  expect("[New Thread 0x7ffff7dcf6c0 (LWP 25859)]\n\n"
         "Thread 2 \"heapfuzz\" received signal SIGBUS, Bus error.\n"
         "[Switching to Thread 0x7ffff7dcf6c0 (LWP 25859)]\n"
         "#0  __memset_avx2_unaligned_erms () at "
         "../sysdeps/x86_64/multiarch/memset-vec-unaligned-erms.S:328\n"
         "#1  0x00007ffff7e0a456 in __GI_raise (sig=sig@entry=7) at "
         "../sysdeps/unix/sysv/linux/raise.c:50\n"
         "#2  0x00007ffff7e0a457 in abort () from /lib/x86_64-linux-gnu/libc.so.6\n"
         "#3  <signal handler called>\n"
         "#4  0x00007ffff7e0a458 in ?? () from /lib/x86_64-linux-gnu/libc.so.6\n"
         "#5  0x00007ffff7e0a459 in ?? ()\n"
         "#6  0x000055555556e2a4 in hc_large_sweep (heap=0x1, l=0x2, c=40 '(') at "
         "/work/main/heap/large.c:123\n"
         "#7  0x000055555556e2a5 in start_thread (arg=<optimized out>) at "
         "./nptl/pthread_create.c:442\n"
         "#8  0x000055555556e2a6 in clone3 () at ../sysdeps/unix/sysv/linux/x86_64/clone3.S:81\n",
         "signal:SIGBUS|hc_large_sweep");
  expect("Program terminated with signal SIGFPE, Arithmetic exception.\n"
         "#0  0x0000555555555136 in std::function<void ()>::operator()() const (this=0x1) at "
         "heap/demo.cc:3\n"
         "#1  0x0000555555555137 in hc_mark (heap=0x1) at heap/collect.c:20\n",
         "signal:SIGFPE|std::function<void ()>::operator()() const|hc_mark");
  /* Only harness frames: they stand. */
  expect("Program received signal SIGILL, Illegal instruction.\n"
         "#0  op_trap () at /work/main/ops/interp_ops.c:3\n"
         "#1  0x1 in main () at /work/main/tools/heapfuzz.c:5\n",
         "signal:SIGILL|op_trap|main");
  /* A clean run under gdb. */
  const char *clean = "corpus/fuzz_heap/weak_refs.ops: ok (57 ops run, 0 skipped, 11 collections)\n"
                      "[Inferior 1 (process 27405) exited normally]\nNo stack.\n";
  CHECK(!hf_signature_parse(clean, strlen(clean), &sig));
}

/* The sanitizer runtimes' interceptors are linked into the binary without line information: a
 * frame without a file whose function is an interceptor or a sanitizer_common helper
 * (MemcmpInterceptorCommon(...), __interceptor_*, ___interceptor_*), or a libc string or memory
 * function the runtime intercepts (bcmp, memcmp, strlen...), is the runtime's, as are those of
 * the runtime's or libc's own module. The same name with a file under heap/ is the heap's. */
static void test_interceptor_frames(void) {
  expect("==7==ERROR: AddressSanitizer: use-after-poison on address 0x62d000004180 at pc 0x1\n"
         "READ of size 120 at 0x62d000004180 thread T0\n"
         "    #0 0x1 in MemcmpInterceptorCommon(void*, int (*)(void const*, void const*, unsigned "
         "long), void const*, void const*, unsigned long) (/out/heapfuzz+0x73a25) (BuildId: b0)\n"
         "    #1 0x2 in bcmp (/out/heapfuzz+0x73f79) (BuildId: b0)\n"
         "    #2 0x3 in hc_block_check /src/heap/block.c:70:11\n"
         "    #3 0x4 in hc_verify_block /src/heap/verify.c:40:3\n"
         "    #4 0x5 in hc_heap_verify /src/heap/verify.c:90:5\n"
         "    #5 0x6 in op_verify /src/ops/interp_ops.c:42:8\n",
         "asan:use-after-poison|hc_block_check|hc_verify_block|hc_heap_verify");
  expect("==7==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020 at pc 0x1\n"
         "    #0 0x1 in ___interceptor_strlen (/out/heapfuzz+0x1)\n"
         "    #1 0x2 in __interceptor_memcpy.part.0 (/out/heapfuzz+0x2)\n"
         "    #2 0x3 in __asan_memcpy (/out/heapfuzz+0x3)\n"
         "    #3 0x4 in strnlen (/out/heapfuzz+0x4)\n"
         "    #4 0x5 in __sanitizer::internal_memcmp(void const*, void const*, unsigned long) "
         "(/out/heapfuzz+0x5)\n"
         "    #5 0x6 in __memcmp_avx2_movbe (/lib/x86_64-linux-gnu/libc.so.6+0x1)\n"
         "    #6 0x7 in hc_name_copy /src/heap/heap.c:12:3\n",
         "asan:heap-buffer-overflow|hc_name_copy");
  expect("WARNING: ThreadSanitizer: data race (pid=42)\n"
         "  Read of size 8 at 0x7b0400000010 by thread T1:\n"
         "    #0 memcmp <null> (heapfuzz+0x53c3f) (BuildId: 6be3)\n"
         "    #1 bcmp <null> (heapfuzz+0x53c40)\n"
         "    #2 MemcmpInterceptorCommon(void*, int (*)(void const*, void const*, unsigned long), "
         "void const*, void const*, unsigned long) <null> (heapfuzz+0x53c41)\n"
         "    #3 hc_sweep_bits_equal /src/heap/sweep.c:30:3 (heapfuzz+0xe6dbe)\n",
         "tsan:data race|hc_sweep_bits_equal");
  expect("==7==ERROR: AddressSanitizer: stack-overflow on address 0x7ffd\n"
         "    #0 0x1 in memcmp /src/heap/compat.c:3:1\n"
         "    #1 0x2 in hc_mark /src/heap/collect.c:20:3\n",
         "asan:stack-overflow|memcmp|hc_mark");
}

/* A replay stopped at its time limit (SIGABRT, handle_abort=1): the abort's report is a hang,
 * signed as libFuzzer's timeout report of the same hang is; no report at all is a hang without
 * frames; a crash reported before the stop stays that crash. */
static void expect_timed_out(const char *text, const char *signature) {
  bool crash = hf_signature_parse(text, strlen(text), &sig);
  hf_signature_timed_out(&sig);
  (void)crash;
  check_sig("timed out", signature);
}

static void test_timed_out(void) {
  const char *stack = "    #0 0x1 in hc_sweep_some /src/heap/sweep.c:3:34\n"
                      "    #1 0x2 in hc_sweeper_run_step /src/heap/sweep.c:4:17\n"
                      "    #2 0x3 in interp_run_op /src/ops/interp_ops.c:276:7\n";
  char text[2048];
  snprintf(text, sizeof text,
           "AddressSanitizer:DEADLYSIGNAL\n"
           "==351==ERROR: AddressSanitizer: ABRT on unknown address 0x000000007fe3 (pc 0x1 bp 0x2 "
           "sp 0x3 T0)\n%s\n[replay stopped with SIGABRT after 60 s: heapfuzz run -- x]\n",
           stack);
  expect(text, "asan:ABRT|hc_sweep_some|hc_sweeper_run_step");
  expect_timed_out(text, "timeout|hc_sweep_some|hc_sweeper_run_step");
  snprintf(text, sizeof text,
           "ALARM: working on the last Unit for 10 seconds\n"
           "==5== ERROR: libFuzzer: timeout after 10 seconds\n"
           "    #0 0x1 in __sanitizer_print_stack_trace (/out/fuzz_heap+0x1)\n"
           "    #1 0x2 in fuzzer::Fuzzer::AlarmCallback() (/out/fuzz_heap+0x2)\n"
           "    #2 0x3  (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f)\n%s",
           stack);
  expect(text, "timeout|hc_sweep_some|hc_sweeper_run_step");
  expect_timed_out(text, "timeout|hc_sweep_some|hc_sweeper_run_step");
  snprintf(text, sizeof text,
           "ThreadSanitizer:DEADLYSIGNAL\n"
           "==9==ERROR: ThreadSanitizer: ABRT on unknown address 0x1 (pc 0x2 bp 0x3 sp 0x4 T9)\n"
           "%s",
           stack);
  expect_timed_out(text, "timeout|hc_sweep_some|hc_sweeper_run_step");
  snprintf(text, sizeof text, "==5== ERROR: libFuzzer: deadly signal\n%s", stack);
  expect(text, "signal:unknown|hc_sweep_some|hc_sweeper_run_step");
  expect_timed_out(text, "signal:unknown|hc_sweep_some|hc_sweeper_run_step");
  expect_timed_out("\n[replay stopped with SIGABRT after 60 s: heapfuzz run -- x]\n", "timeout");
  CHECK(sig.frame_count == 0 && sig.op == -1);
  snprintf(text, sizeof text,
           "==3==ERROR: AddressSanitizer: heap-use-after-free on address 0x6060 at pc 0x1\n%s",
           stack);
  expect_timed_out(text, "asan:heap-use-after-free|hc_sweep_some|hc_sweeper_run_step");
  expect_timed_out("heapfuzz: finding: op 3 (shrink) on m0: verify: block 7 lost\n",
                   "oracle:verify|shrink|block N lost");
}

/* The bug signature (what identifies the broken invariant, not who noticed it): text's crash and
 * bug signatures, and bug_id the first 12 hex digits of the bug signature's FNV-1a hash. */
static void expect_bug(const char *text, const char *signature, const char *bug) {
  expect(text, signature);
  if (strcmp(sig.bug_signature, bug) != 0) {
    fprintf(stderr, "bug signature: '%s'\nexpected:      '%s'\n", sig.bug_signature, bug);
    CHECK(!"bug signature as expected");
  }
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hf_fnv1a64(bug, strlen(bug)));
  CHECK(strlen(sig.bug_id) == 12 && strncmp(sig.bug_id, hex, 12) == 0);
}

/* An oracle finding's bug is its invariant and detail: not the op that noticed it, not when verify
 * ran (every `after <when>: ` the oracles print), not the thread that owns the object (the
 * real-thread runner names it, the deterministic one does not). */
static void test_bug_oracle(void) {
  const char *heap = "mutator N: last-active block of class N is not a live block of its directory "
                     "(HC_ERR_VERIFY)";
  static const char *const whens[][2] = {
      {"shrink", "a shrink"},   {"gc-eden", "a collection"},
      {"sweep n=0", "a sweep"}, {"verify", "a verify op"},
      {"alloc h=1", "an op"},   {"teardown", "the final full collection"},
  };
  char bug[512], text[512], crash[512];
  snprintf(bug, sizeof bug, "oracle:verify|%s", heap);
  for (size_t i = 0; i < sizeof whens / sizeof whens[0]; i++) {
    snprintf(text, sizeof text,
             "heapfuzz: finding: op 6 (%s) on m0: verify: after %s: mutator 1: last-active block "
             "of class 48 is not a live block of its directory (HC_ERR_VERIFY)\n",
             whens[i][0], whens[i][1]);
    snprintf(crash, sizeof crash, "oracle:verify|%.*s|after %s: %s", (int)strcspn(whens[i][0], " "),
             whens[i][0], whens[i][1], heap);
    expect_bug(text, crash, bug);
  }
  expect_bug("heapfuzz: finding: op 7 (gc-eden) on m0: reachable object lost: object #1 is not a "
             "live cell\n",
             "oracle:reachable object lost|gc-eden|object #N is not a live cell",
             "oracle:reachable object lost|object #N is not a live cell");
  expect_bug("heapfuzz: finding: op 9 (gc-full) on m3: reachable object lost: m12 object #1 is not "
             "a live cell\n",
             "oracle:reachable object lost|gc-full|m12 object #N is not a live cell",
             "oracle:reachable object lost|object #N is not a live cell");
  expect_bug("heapfuzz: finding: op 0 (join) on collector: weak reference to a reachable object "
             "cleared: sweeper weak 3\n",
             "oracle:weak reference to a reachable object cleared|join|sweeper weak N",
             "oracle:weak reference to a reachable object cleared|weak N");
  /* `after` elsewhere, or outside verify, is the detail's own. */
  expect_bug("heapfuzz: finding: op 4 (gc-full) on m0: live bytes: heap reports 96 after a full "
             "collection, model 48\n",
             "oracle:live bytes|gc-full|heap reports N after a full collection, model N",
             "oracle:live bytes|heap reports N after a full collection, model N");
  expect_bug("heapfuzz: finding: op 2 (verify) on m0: verify: block 7 lost after a sweep\n",
             "oracle:verify|verify|block N lost after a sweep",
             "oracle:verify|block N lost after a sweep");
  /* Not the finding's shape: the whole line was the type, and stays the bug. */
  expect_bug("heapfuzz: finding: something else 3\n", "oracle:something else N",
             "oracle:something else N");
}

/* A sanitizer report's bug is its crash signature without the sanitizer's name: ASan and TSan
 * name the same use after free alike (the crash signatures differ only in the prefix), and a
 * signal is the signal whoever caught it (a sanitizer, libFuzzer, gdb). The rest are their
 * crash signature. */
static void test_bug_sanitizers(void) {
  const char *frames = "    #0 0x1 in hc_allocator_resume /src/heap/allocator.c:251:26\n"
                       "    #1 0x2 in hc_mutator_resume_allocating /src/heap/allocator.c:290:3\n";
  char text[1024];
  snprintf(text, sizeof text,
           "==3==ERROR: AddressSanitizer: heap-use-after-free on address 0x6060 at pc 0x1\n%s",
           frames);
  expect_bug(text, "asan:heap-use-after-free|hc_allocator_resume|hc_mutator_resume_allocating",
             "sanitizer:heap-use-after-free|hc_allocator_resume");
  snprintf(text, sizeof text, "WARNING: ThreadSanitizer: heap-use-after-free (pid=4)\n%s", frames);
  expect_bug(text, "tsan:heap-use-after-free|hc_allocator_resume|hc_mutator_resume_allocating",
             "sanitizer:heap-use-after-free|hc_allocator_resume");
  snprintf(text, sizeof text, "WARNING: ThreadSanitizer: data race (pid=4)\n%s", frames);
  expect_bug(text, "tsan:data race|hc_allocator_resume|hc_mutator_resume_allocating",
             "sanitizer:data race|hc_allocator_resume|hc_mutator_resume_allocating");
  const char *bug = "signal:SIGSEGV|hc_allocator_resume";
  snprintf(text, sizeof text, "==3==ERROR: AddressSanitizer: SEGV on unknown address 0x8\n%s",
           frames);
  expect_bug(text, "asan:SEGV|hc_allocator_resume|hc_mutator_resume_allocating", bug);
  snprintf(text, sizeof text, "==3==ERROR: ThreadSanitizer: SEGV on unknown address 0x8\n%s",
           frames);
  expect_bug(text, "tsan:SEGV|hc_allocator_resume|hc_mutator_resume_allocating", bug);
  snprintf(text, sizeof text, "==3==ERROR: UndefinedBehaviorSanitizer: SEGV on unknown address\n%s",
           frames);
  expect_bug(text, "ubsan:SEGV|hc_allocator_resume|hc_mutator_resume_allocating", bug);
  snprintf(text, sizeof text, "Program received signal SIGSEGV, Segmentation fault.\n%s", frames);
  expect_bug(text, "signal:SIGSEGV|hc_allocator_resume|hc_mutator_resume_allocating", bug);
  snprintf(text, sizeof text, "==3==ERROR: AddressSanitizer: ABRT on unknown address 0x8\n%s",
           frames);
  expect_bug(text, "asan:ABRT|hc_allocator_resume|hc_mutator_resume_allocating",
             "signal:SIGABRT|hc_allocator_resume");
  expect_bug("heap/x.c:1:2: runtime error: signed integer overflow: 1 + 2147483647 cannot be "
             "represented in type 'int'\n",
             "ubsan:signed integer overflow: N + N cannot be represented in type 'int'",
             "ubsan:signed integer overflow: N + N cannot be represented in type 'int'");
  expect_bug("free(): invalid pointer\n", "libc:free(): invalid pointer",
             "libc:free(): invalid pointer");
  expect_bug("heapcore: fatal: heap/a.c:3: corrupt free-list interval head\n",
             "fatal:corrupt free-list interval head", "fatal:corrupt free-list interval head");
  /* A timed-out replay's abort is a timeout, in both. */
  snprintf(text, sizeof text, "==3==ERROR: AddressSanitizer: ABRT on unknown address 0x8\n%s",
           frames);
  CHECK(hf_signature_parse(text, strlen(text), &sig));
  hf_signature_timed_out(&sig);
  CHECK(strcmp(sig.bug_signature, "timeout|hc_allocator_resume|hc_mutator_resume_allocating") == 0);
}

/* A memory error's bug is its culprit alone: the function that made the bad access, not the
 * entry point that led there; an inline helper from a header is charged to its caller. */
static void test_bug_culprit(void) {
  static const char *const entries[] = {"hc_is_live_object", "hc_load_checked", "hc_store_checked"};
  char text[1024], crash[256];
  for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
    snprintf(text, sizeof text,
             "==3==ERROR: AddressSanitizer: use-after-poison on address 0x7f00 at pc 0x1\n"
             "    #0 0x1 in hc_bit_get /src/heap/bitvec.h:17:3\n"
             "    #1 0x2 in hc_lookup_live_cell_locked /src/heap/lookup.c:40:7\n"
             "    #2 0x3 in %s /src/heap/api.c:90:3\n"
             "    #3 0x4 in op_is_live /src/ops/ops_table.c:12:3\n",
             entries[i]);
    snprintf(crash, sizeof crash, "asan:use-after-poison|hc_bit_get|hc_lookup_live_cell_locked|%s",
             entries[i]);
    expect_bug(text, crash, "sanitizer:use-after-poison|hc_lookup_live_cell_locked");
  }
  /* Only the harness and headers: the first of them that is not the harness, then the harness. */
  expect_bug("==3==ERROR: AddressSanitizer: SEGV on unknown address 0x8\n"
             "    #0 0x1 in hc_bit_get /src/heap/bitvec.h:17:3\n"
             "    #1 0x2 in op_is_live /src/ops/ops_table.c:12:3\n",
             "asan:SEGV|hc_bit_get", "signal:SIGSEGV|hc_bit_get");
  expect_bug("==3==ERROR: AddressSanitizer: SEGV on unknown address 0x8\n"
             "    #0 0x1 in op_is_live /src/ops/ops_table.c:12:3\n",
             "asan:SEGV|op_is_live", "signal:SIGSEGV|op_is_live");
}

/* A TSan data race: this access (a line without its indent) and its function, then the previous
 * one; each stack opens with an inline helper from a header, as bitvec.h's do. */
static void race(const char *this_line, const char *this_func, const char *prev_line,
                 const char *prev_func) {
  char text[2048];
  snprintf(text, sizeof text,
           "WARNING: ThreadSanitizer: data race (pid=4)\n"
           "  %s:\n"
           "    #0 hc_bit_clear /src/heap/bitvec.h:25:13 (heapfuzz+0x1)\n"
           "    #1 %s /src/heap/a.c:46:3 (heapfuzz+0x1)\n"
           "    #2 run_next_op /src/ops/interp.c:46:3 (heapfuzz+0x1)\n"
           "\n"
           "  %s:\n"
           "    #0 hc_bit_get /src/heap/bitvec.h:17:13 (heapfuzz+0x2)\n"
           "    #1 %s /src/heap/b.c:146:43 (heapfuzz+0x2)\n"
           "\n"
           "  Location is heap block of size 64 at 0x7b4c00000500 allocated by main thread:\n"
           "    #0 calloc <null> (heapfuzz+0x3)\n"
           "    #1 grow_locked /src/heap/directory.c:56:18 (heapfuzz+0x4)\n"
           "\n"
           "SUMMARY: ThreadSanitizer: data race /src/heap/bitvec.h:25:13 in hc_bit_clear\n",
           this_line, this_func, prev_line, prev_func);
  CHECK(hf_signature_parse(text, strlen(text), &sig));
}

static void expect_race_bug(const char *bug) {
  if (strcmp(sig.bug_signature, bug) != 0) {
    fprintf(stderr, "bug signature: '%s'\nexpected:      '%s'\n", sig.bug_signature, bug);
    CHECK(!"race's bug signature as expected");
  }
}

/* A data race's bug is the side that broke the rule, whichever TSan caught second. */
static void test_bug_race(void) {
  /* An unlocked write in finish_sweep against locked readers and writers: one bug. */
  race("Read of size 4 at 0x7b4c00000504 by thread T1 (mutexes: write M0)", "find_locked",
       "Previous write of size 4 at 0x7b4c00000504 by thread T2", "finish_sweep");
  expect_race_bug("sanitizer:data race|finish_sweep");
  race("Write of size 4 at 0x7b4c00000504 by thread T3 (mutexes: write M0, read M3)", "take_block",
       "Previous write of size 4 at 0x7b4c00000504 by thread T2", "finish_sweep");
  expect_race_bug("sanitizer:data race|finish_sweep");
  race("Write of size 4 at 0x7b4c00000504 by thread T2", "finish_sweep",
       "Previous read of size 4 at 0x7b4c00000504 by thread T1 (mutexes: write M0)", "grow_locked");
  expect_race_bug("sanitizer:data race|finish_sweep");
  CHECK(strcmp(sig.signature, "tsan:data race|hc_bit_clear|finish_sweep") == 0);
  /* Both unlocked: the plain access against an atomic one, then the write against a read. */
  race("Atomic read of size 1 at 0x10 by thread T1", "hc_is_live_object",
       "Previous write of size 1 at 0x10 by thread T2", "hc_block_format");
  expect_race_bug("sanitizer:data race|hc_block_format");
  race("Write of size 1 at 0x10 by thread T1", "hc_block_format",
       "Previous atomic write of size 1 at 0x10 by thread T2", "hc_mark");
  expect_race_bug("sanitizer:data race|hc_block_format");
  race("Read of size 8 at 0x10 by main thread", "hc_read_version",
       "Previous write of size 8 at 0x10 by thread T2", "hc_bump_version");
  expect_race_bug("sanitizer:data race|hc_bump_version");
  /* Neither stands out (two unlocked writes): both, sorted, whichever TSan caught first. */
  race("Write of size 8 at 0x10 by thread T1", "zeta_write",
       "Previous write of size 8 at 0x10 by thread T2", "alpha_write");
  expect_race_bug("sanitizer:data race|alpha_write|zeta_write");
  race("Write of size 8 at 0x10 by thread T1", "alpha_write",
       "Previous write of size 8 at 0x10 by thread T2", "zeta_write");
  expect_race_bug("sanitizer:data race|alpha_write|zeta_write");
  race("Write of size 8 at 0x10 by thread T1", "alpha_write",
       "Previous write of size 8 at 0x10 by thread T2", "alpha_write");
  expect_race_bug("sanitizer:data race|alpha_write");
}

/* The first report in the text decides, not the worst. */
static void test_first_report_wins(void) {
  expect("/src/heap/collect.c:77:12: runtime error: shift exponent 64 is too large for 64-bit "
         "type 'uint64_t' (aka 'unsigned long')\n"
         "    #0 0x1 in mark_bits /src/heap/collect.c:77:12\n\n"
         "==3==ERROR: AddressSanitizer: heap-use-after-free on address 0x6060 at pc 0x1\n"
         "    #0 0x1 in hc_allocator_resume /src/heap/allocator.c:251:26\n",
         "ubsan:shift exponent N is too large for N-bit type 'uint64_t' (aka 'unsigned long')|"
         "mark_bits");
}

/* Numbers inside words stay (x86_64, hc_alloc2), quoted type names stay, addresses go; a
 * report copied from a terminal (colors, CRLF) reads the same. */
static void test_normalization(void) {
  expect("\x1b[1m\x1b[31m==3==ERROR: AddressSanitizer: stack-overflow on address 0x7ffd\x1b[0m\r\n"
         "    #0 0x1 in hc_mark2 /src/heap/collect.c:20:3\r\n"
         "    #1 0x2 in x86_64_walk /src/heap/collect.c:40:3\r\n",
         "asan:stack-overflow|hc_mark2|x86_64_walk");
  expect("heap/x.c:1:2: runtime error: load of misaligned address 0x00000123 for type "
         "'uint8_t[4]', which requires 4 byte alignment\n",
         "ubsan:load of misaligned address N for type 'uint8_t[4]', which requires N byte "
         "alignment");
}

int main(void) {
  RUN_TEST(test_fnv1a);
  RUN_TEST(test_no_crash);
  RUN_TEST(test_asan_kind_from_summary);
  RUN_TEST(test_fatal);
  RUN_TEST(test_fatal_then_abort);
  RUN_TEST(test_libc);
  RUN_TEST(test_libfuzzer);
  RUN_TEST(test_oracle);
  RUN_TEST(test_tsan);
  RUN_TEST(test_gdb);
  RUN_TEST(test_interceptor_frames);
  RUN_TEST(test_timed_out);
  RUN_TEST(test_bug_oracle);
  RUN_TEST(test_bug_sanitizers);
  RUN_TEST(test_bug_culprit);
  RUN_TEST(test_bug_race);
  RUN_TEST(test_first_report_wins);
  RUN_TEST(test_normalization);
  return 0;
}
