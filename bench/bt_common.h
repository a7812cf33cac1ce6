/* bt_common.h: what the benchmark driver, its workloads and its allocator backends share.
 *
 * Four workloads (bench/README.md), each written once in its own header against a handful of
 * allocator operations:
 *   bt_workload.h      1. gcbench:  Hans Boehm's GCBench in the binary-trees shape
 *   bt_wl_bintrees.h   2. bintrees: benchmarks-game binary-trees, roots per local as README teaches
 *   bt_wl_graph.h      3. graph:    a large long-lived graph mutated at random (write barrier)
 *   bt_wl_threads.h    4. threads:  T mutator threads allocating and dropping trees
 * Each backend is one compilation unit (bt_<name>.c) that defines those operations and includes
 * every workload, so every allocator runs the same code with its own calls inlined, and no call
 * goes through a function pointer inside the timed loop. What every workload needs besides the
 * allocator (clocks, a PRNG, the result) is here, once.
 */
#ifndef HF_BENCH_BT_COMMON_H
#define HF_BENCH_BT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BT_MIN_DEPTH     4  /* GCBench's kMinTreeDepth */
#define BT_MAX_DEPTH     24 /* keeps the largest tree (depth N+1) within a few GiB */
#define BT_DEFAULT_DEPTH 18
#define BT_ARRAY_SIZE    500000 /* GCBench's kArraySize: the long-lived array of doubles */
#define BT_MAX_THREADS   16

typedef enum bt_workload_kind {
  BT_WL_GCBENCH = 0,
  BT_WL_BINTREES,
  BT_WL_GRAPH,
  BT_WL_THREADS,
  BT_WL_COUNT
} bt_workload_kind_t;

/* Knobs for one run. The hc_ fields tune the heap core only; 0 means the backend's default. */
typedef struct bt_options {
  bt_workload_kind_t workload;
  int depth;               /* N: the workload's size parameter (see each workload) */
  int threads;             /* threads workload: mutator threads (1..BT_MAX_THREADS) */
  bool verbose;            /* per-phase timings and allocator statistics on stderr */
  bool hc_tuned;           /* heap core: bt_heapcore.c's tuned policy instead of the defaults */
  size_t hc_trigger_bytes; /* heap core: config.gc_trigger_bytes */
  unsigned hc_full_every;  /* heap core: config.full_gc_every (0 here = the bench default) */
  unsigned hc_full_growth; /* heap core: config.full_gc_growth percent (0 here = the default) */
  bool hc_all_full;        /* heap core: every automatic collection is full */
  bool hc_release_empty;   /* heap core: config.release_empty_blocks */
  bool hc_sweeper;         /* heap core: run the background sweeper thread */
} bt_options_t;

typedef struct bt_result {
  uint64_t wall_ns;  /* the workload only: setup and teardown of the allocator are not timed */
  uint64_t cpu_ns;   /* process CPU time (every thread) over the same interval */
  uint64_t work;     /* objects allocated by the workload (threads: per thread) */
  uint64_t checksum; /* what the workload read back from its data; the same for every backend */
  uint64_t expected; /* what checksum must be */
  bool ok;           /* every structure had its shape, the long-lived data survived */
} bt_result_t;

/* One entry point per backend, defined in bt_<name>.c. Returns 0, or 1 after printing why. */
int bt_run_heapcore(const bt_options_t *opt, bt_result_t *res);
int bt_run_boehm(const bt_options_t *opt, bt_result_t *res);
int bt_run_mimalloc(const bt_options_t *opt, bt_result_t *res);
int bt_run_glibc(const bt_options_t *opt, bt_result_t *res);

/* Monotonic clock and process CPU clock in nanoseconds (binary_trees.c). */
uint64_t bt_now_ns(void);
uint64_t bt_cpu_ns(void);

/* Prints "bench_binary_trees: <backend>: <what>" to stderr and exits with status 1. */
_Noreturn void bt_die(const char *backend, const char *what);

/* Starts and stops a workload's clocks. */
static inline void bt_clock_start(uint64_t *wall, uint64_t *cpu) {
  *wall = bt_now_ns();
  *cpu = bt_cpu_ns();
}

static inline void bt_clock_stop(bt_result_t *res, uint64_t wall, uint64_t cpu) {
  res->wall_ns = bt_now_ns() - wall;
  res->cpu_ns = bt_cpu_ns() - cpu;
}

/* xorshift64*: the workloads' deterministic PRNG, so every backend sees the same sequence. */
static inline uint64_t bt_rand(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * UINT64_C(2685821657736338717);
}

/* Folds a value into a running checksum (order-sensitive, so a misplaced edge changes it). */
static inline uint64_t bt_mix(uint64_t sum, uint64_t v) {
  return (sum ^ v) * UINT64_C(0x100000001b3) + 0x9e3779b97f4a7c15u;
}

/* Nodes in a complete tree of depth `depth` (GCBench's TreeSize). */
static inline uint64_t bt_tree_size(int depth) {
  return (UINT64_C(2) << depth) - 1;
}

#endif /* HF_BENCH_BT_COMMON_H */
