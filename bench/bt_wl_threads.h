/* bt_wl_threads.h: workload 4, T mutator threads allocating and dropping at once, written once.
 *
 * Shape (N = --depth, T = --threads): every thread attaches its own mutator, builds a long-lived
 * tree of depth N-4, then builds, checks and drops 2^(N-6) trees of depth 10 (binary-trees'
 * bt_bin_make and bt_bin_count, roots per local), then checks its long-lived tree. Each thread
 * does the same work whatever T is, so with T threads on T free cores the wall time stays the
 * same if the allocator scales: per-thread throughput is work / wall time, the total T times
 * that. At N=18 a thread allocates 2^12 * 2047 + 2^15 nodes, about 8.4 million.
 *
 * Include this after bt_wl_bintrees.h, from a backend file that also defines:
 *   void bt_thread_attach(bt_ctx_t *parent, bt_ctx_t *self)   make self usable on this thread
 *   void bt_thread_detach(bt_ctx_t *self)
 *   void bt_blocking_begin(bt_ctx_t *), bt_blocking_end(bt_ctx_t *)
 *                                      around the parent's wait for its threads (a GC's mutator
 *                                      must not hold up the threads' collections while it waits)
 */
#ifndef HF_BENCH_BT_WL_THREADS_H
#define HF_BENCH_BT_WL_THREADS_H

#include <pthread.h>
#include <stdio.h>

#include "bt_common.h"

#define BT_THREADS_TREE_DEPTH 10

typedef struct bt_thread_arg {
  bt_ctx_t *parent;
  int depth;
  uint64_t sum;  /* node counts read back */
  uint64_t work; /* nodes allocated */
} bt_thread_arg_t;

static void *bt_threads_main(void *p) {
  bt_thread_arg_t *a = p;
  bt_ctx_t self;
  bt_thread_attach(a->parent, &self);
  const int n = a->depth;
  bt_pair_t *long_lived = bt_bin_make(&self, n - 4);
  bt_pair_root_push(&self, &long_lived);
  const uint64_t iters = UINT64_C(1) << (n - 6);
  for (uint64_t i = 0; i < iters; i++) {
    bt_pair_t *t = bt_bin_make(&self, BT_THREADS_TREE_DEPTH);
    a->sum += bt_bin_count(t);
    bt_pair_drop(&self, t);
  }
  a->sum += bt_bin_count(long_lived);
  a->work = iters * bt_tree_size(BT_THREADS_TREE_DEPTH) + bt_tree_size(n - 4);
  bt_root_pop(&self, 1);
  bt_pair_drop(&self, long_lived);
  bt_thread_detach(&self);
  return NULL;
}

static void bt_wl_threads(bt_ctx_t *c, const bt_options_t *opt, bt_result_t *res) {
  const int t = opt->threads;
  bt_thread_arg_t args[BT_MAX_THREADS];
  pthread_t tids[BT_MAX_THREADS];
  uint64_t t_start, c_start;
  bt_clock_start(&t_start, &c_start);
  bt_blocking_begin(c);
  for (int i = 0; i < t; i++) {
    args[i] = (bt_thread_arg_t){.parent = c, .depth = opt->depth};
    if (pthread_create(&tids[i], NULL, bt_threads_main, &args[i]) != 0)
      bt_die(BT_BACKEND_NAME, "pthread_create failed");
  }
  for (int i = 0; i < t; i++)
    pthread_join(tids[i], NULL);
  bt_blocking_end(c);
  bt_clock_stop(res, t_start, c_start);

  const uint64_t per_thread =
      (UINT64_C(1) << (opt->depth - 6)) * bt_tree_size(BT_THREADS_TREE_DEPTH) +
      bt_tree_size(opt->depth - 4);
  res->checksum = 0;
  res->ok = true;
  for (int i = 0; i < t; i++) {
    res->checksum += args[i].sum;
    res->ok &= args[i].work == per_thread;
  }
  res->work = per_thread; /* per thread: the runner divides by the wall time */
  res->expected = (uint64_t)t * per_thread;
  res->ok &= res->checksum == res->expected;
  if (opt->verbose)
    fprintf(stderr, "%s: %d thread(s), %llu nodes each\n", BT_BACKEND_NAME, t,
            (unsigned long long)per_thread);
}

#endif /* HF_BENCH_BT_WL_THREADS_H */
