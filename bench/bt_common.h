/* bt_common.h: what the binary-trees driver and its allocator backends share.
 *
 * The benchmark is Hans Boehm's GCBench in the binary-trees shape: the workload lives once, in
 * bt_workload.h, written against a handful of allocator operations. Each backend is one
 * compilation unit (bt_<name>.c) that defines those operations and includes the workload, so
 * every allocator runs the same code with its own calls inlined, and no call goes through a
 * function pointer inside the timed loop.
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

/* Knobs for one run. The hc_ fields tune the heap core only; 0 means the backend's default. */
typedef struct bt_options {
  int depth;               /* N: long-lived tree depth; short-lived trees go 4, 6, ..., N */
  bool verbose;            /* per-phase timings and allocator statistics on stderr */
  size_t hc_trigger_bytes; /* heap core: config.gc_trigger_bytes */
  unsigned hc_full_every;  /* heap core: config.full_gc_every (0 here = the bench default) */
  unsigned hc_full_growth; /* heap core: config.full_gc_growth percent (0 here = the default) */
  bool hc_all_full;        /* heap core: every automatic collection is full */
  bool hc_release_empty;   /* heap core: config.release_empty_blocks */
  bool hc_sweeper;         /* heap core: run the background sweeper thread */
} bt_options_t;

typedef struct bt_result {
  uint64_t wall_ns;  /* the workload only: setup and teardown of the allocator are not timed */
  uint64_t checksum; /* what the workload read back from its trees; the same for every backend */
  uint64_t expected; /* what checksum must be */
  bool ok;           /* every tree had its shape, the long-lived data survived */
} bt_result_t;

/* One entry point per backend, defined in bt_<name>.c. Returns 0, or 1 after printing why. */
int bt_run_heapcore(const bt_options_t *opt, bt_result_t *res);
int bt_run_boehm(const bt_options_t *opt, bt_result_t *res);
int bt_run_mimalloc(const bt_options_t *opt, bt_result_t *res);
int bt_run_glibc(const bt_options_t *opt, bt_result_t *res);

/* Monotonic clock in nanoseconds (binary_trees.c). */
uint64_t bt_now_ns(void);

/* Prints "bench_binary_trees: <backend>: <what>" to stderr and exits with status 1. */
_Noreturn void bt_die(const char *backend, const char *what);

#endif /* HF_BENCH_BT_COMMON_H */
