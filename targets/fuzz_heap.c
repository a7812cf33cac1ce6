/* fuzz_heap.c: the fuzz_heap target: any input is a program of heap operations (ops_decode's
 * total decoding, include/heapops.h), run on a fresh heap under the shadow-model oracle.
 *
 * On the heap core by default; a target for another heap is this file with HF_TARGET_BACKEND
 * defined before it is included (targets/fuzz_jsc.c, targets/fuzz_lua.c): one target, whatever
 * heap it runs on.
 *
 * A finding aborts (abort_on_finding) after the interpreter printed its one-line report and heap
 * dump, so the engine records the input as a crash; a sanitizer report does the same. Every
 * program is torn down inside ops_run, so nothing carries over to the next input. Set
 * HEAPFUZZ_TRACE=1 to print heap events while reproducing.
 *
 * Set HEAPFUZZ_OPS_HISTOGRAM=FILE to count the ops of every program executed (see "Ops per
 * executed program" below): scripts/fuzz sets it per instance and reports the median.
 *
 * Linked with libFuzzer (HF_FUZZ_ENGINE), the target also mutates structurally: whole ops are
 * inserted, deleted, duplicated, swapped and re-parameterized (ops_mutate), with libFuzzer's byte
 * mutator about one time in eight, and crossover splices op lists (ops_crossover). Minimizing a
 * crash with a custom mutator needs -mutate_depth=1. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif

#include "heapops.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#ifndef HF_TARGET_BACKEND
#define HF_TARGET_BACKEND NULL /* ops_run's default: the heap core */
#endif

/* ---------------------------------------------------------------------------------------------
 * Ops per executed program
 *
 * What the engine executes is not what its corpus holds (the corpus keeps only the inputs that
 * added coverage), and libFuzzer does not say how long its inputs were. So the target counts it
 * itself: with HEAPFUZZ_OPS_HISTOGRAM=FILE, every process counts the decoded op count of each
 * program it runs (exactly, 0..OPS_MAX_OPS) and appends one line to FILE every
 * HIST_FLUSH_SECONDS and at exit, in one write(2) (O_APPEND: the lines of concurrent processes,
 * libFuzzer's fork jobs or AFL++'s forked children, do not mix):
 *
 *   heapfuzz-ops-histogram 1 id=PID.START_NS execs=N OPS:COUNT OPS:COUNT ...
 *
 * Counts are cumulative per process (id), so the reader (scripts/lib/campaign_stats.py) keeps
 * the last line of each id and adds them up: a process killed between flushes loses at most its
 * last HIST_FLUSH_SECONDS. A process forked from a counting one (AFL++'s fork server) starts
 * its own counts. Costs one branch per execution when the variable is unset, and a clock read
 * every 256 executions when it is set.
 * ------------------------------------------------------------------------------------------- */

#define HIST_FLUSH_SECONDS 10

static struct {
  int state;        /* 0: not looked at the environment yet, 1: counting, -1: off */
  const char *path; /* HEAPFUZZ_OPS_HISTOGRAM */
  pid_t pid;        /* the process the counts are of */
  unsigned long long start_ns;
  unsigned long long execs;
  time_t last_flush;
  unsigned long long count[OPS_MAX_OPS + 1];
} hist;

static char hist_line[(OPS_MAX_OPS + 1) * 28 + 128]; /* "4096:18446744073709551615 " each */

static unsigned long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void hist_flush(void) {
  if (hist.state != 1 || hist.pid != getpid() || hist.execs == 0) return;
  size_t n = (size_t)snprintf(hist_line, sizeof hist_line,
                              "heapfuzz-ops-histogram 1 id=%ld.%llu execs=%llu", (long)hist.pid,
                              hist.start_ns, hist.execs);
  for (unsigned k = 0; k <= OPS_MAX_OPS; k++)
    if (hist.count[k])
      n += (size_t)snprintf(hist_line + n, sizeof hist_line - n, " %u:%llu", k, hist.count[k]);
  hist_line[n++] = '\n';
  int fd = open(hist.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return; /* a statistic, not the fuzzing: never stop the engine for it */
  ssize_t w = write(fd, hist_line, n);
  (void)w;
  close(fd);
  hist.last_flush = time(NULL);
}

static void hist_count(uint32_t ops) {
  if (hist.state < 0) return;
  if (hist.state == 0) {
    hist.path = getenv("HEAPFUZZ_OPS_HISTOGRAM");
    hist.state = hist.path && *hist.path ? 1 : -1;
    if (hist.state < 0) return;
    atexit(hist_flush);
  }
  if (hist.pid != getpid()) { /* the first count of this process */
    memset(hist.count, 0, sizeof hist.count);
    hist.execs = 0;
    hist.pid = getpid();
    hist.start_ns = now_ns(CLOCK_REALTIME);
    hist.last_flush = time(NULL);
  }
  hist.count[ops <= OPS_MAX_OPS ? ops : OPS_MAX_OPS]++;
  if (++hist.execs % 256 == 0 && time(NULL) - hist.last_flush >= HIST_FLUSH_SECONDS) hist_flush();
}

/* ---------------------------------------------------------------------------------------------
 * Schedule feedback
 *
 * Code coverage does not tell a program that preempts at a new place in a new heap state from
 * one that does not, so each run's interleaving features (ops_schedule_log_t: which op was cut
 * into at which yield point, which ops ran while another was stopped there) are handed to the
 * engine as coverage of their own. libFuzzer reads (and clears before every run) the bytes of
 * its extra-counters section; AFL++ has no such section, so after each run the features are
 * folded into its edge map, hashed over the edges it already has: a feature's byte is set to 1,
 * which overwrites the hit count of the edge it shares the byte with (one edge in its map's
 * share of features, a few percent, loses its hit-count buckets for that run). The map bounds what
 * the corpus can gain from it: at most SCHEDULE_FEATURES inputs, each byte being set or not.
 * HEAPFUZZ_SCHEDULE_FEEDBACK=0 turns it off (to measure what it buys).
 * ------------------------------------------------------------------------------------------- */

#define SCHEDULE_FEATURES 16384u

__attribute__((section("__libfuzzer_extra_counters"),
               used)) static uint8_t schedule_features[SCHEDULE_FEATURES];
static ops_schedule_log_t schedule_log = {schedule_features, SCHEDULE_FEATURES, NULL};
static int schedule_state; /* 0: not looked at the environment yet, 1: on, -1: off */

/* AFL++'s runtime, when linked (afl-clang-fast): the edges in use, and its call that sets one
 * byte of the edge map (map[id] = val, unchecked). Not the map pointer itself: AFL++'s pass adds
 * its own declaration of __afl_area_ptr to every module it instruments, and a second one there
 * would be renamed, and left undefined, by LLVM. And called through a volatile pointer: the pass
 * rewrites the id of every direct call to __afl_coverage_interesting into a constant of its own,
 * which would put every feature in one byte. */
extern uint32_t __afl_final_loc __attribute__((weak));
void __afl_coverage_interesting(uint8_t val, uint32_t id) __attribute__((weak));
static void (*volatile afl_set_byte)(uint8_t val, uint32_t id);

static bool afl_linked(void) {
  if (!afl_set_byte) afl_set_byte = __afl_coverage_interesting;
  return afl_set_byte && &__afl_final_loc != NULL && __afl_final_loc > 1;
}

static ops_schedule_log_t *schedule_log_for_run(void) {
  if (schedule_state == 0) {
    const char *v = getenv("HEAPFUZZ_SCHEDULE_FEEDBACK");
    schedule_state = v && strcmp(v, "0") == 0 ? -1 : 1;
  }
  if (schedule_state < 0) return NULL;
  if (afl_linked()) memset(schedule_features, 0, sizeof schedule_features);
  return &schedule_log;
}

static void fold_schedule_into_afl(void) {
  if (schedule_state < 0 || !afl_linked()) return;
  uint32_t edges = __afl_final_loc - 1; /* slot 0 is AFL's own */
  for (uint32_t i = 0; i < SCHEDULE_FEATURES; i++)
    if (schedule_features[i]) afl_set_byte(1, 1 + (i * 0x9e3779b1u) % edges);
}

/* ---------------------------------------------------------------------------------------------
 * The target
 * ------------------------------------------------------------------------------------------- */

/* Before the first input (and before AFL++'s fork server starts): create what a first program
 * would create on the way (fibers, the size-class table), so that every input runs the same code
 * whatever ran before it in the process (AFL++ stability). */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  ops_warm_up();
  return 0;
}

/* About 40 KiB: static rather than on the stack; engines call the target from one thread. */
static ops_program_t program;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ops_decode(data, size, &program);
  hist_count(program.count);
  ops_run_options_t opt = {.backend = HF_TARGET_BACKEND,
                           .verbose = false,
                           .trace = false,
                           .out = NULL,
                           .abort_on_finding = true,
                           .schedule = schedule_log_for_run()};
  ops_run_result_t result;
  ops_run(&program, &opt, &result);
  fold_schedule_into_afl();
  return 0;
}

#ifndef HF_PLAIN_LIBFUZZER      /* fuzz_heap_plain: libFuzzer's byte mutator alone */
#include "ops_custom_mutator.h" /* under HF_FUZZ_ENGINE: the op-level mutator */
#endif
