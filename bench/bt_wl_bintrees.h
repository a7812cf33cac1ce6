/* bt_wl_bintrees.h: workload 2, binary-trees as the benchmarks game runs it, written once.
 *
 * Shape (N = --depth): a stretch tree of depth N+1 is built and checked; a long-lived tree of
 * depth N is built; then for d = 4, 6, ..., N, 2^(N - d + 4) trees of depth d are built bottom up,
 * checked (counted node by node) and dropped; last the long-lived tree is checked. Nodes are pairs
 * {left, right} with no payload, the smallest object that holds two references: 16 bytes from
 * malloc, a 24-byte object (8-byte header, two slots: a 32-byte cell) in the heap core.
 *
 * Rooting as the README's "Using the heap core" example teaches: every local that holds an object
 * across an allocation is pushed on the shadow stack, and popped when it goes out of scope.
 *
 * Include this from a backend file after defining (besides the bt_workload.h operations):
 *   bt_pair_t                                    a pair node
 *   bt_pair_t *bt_pair_new(bt_ctx_t *, bt_pair_t *left, bt_pair_t *right)
 *                                                left and right must be rooted (it may collect)
 *   bt_pair_t *bt_pair_left(const bt_pair_t *), *bt_pair_right(const bt_pair_t *)
 *   void bt_pair_root_push(bt_ctx_t *, bt_pair_t **slot)
 *   void bt_pair_drop(bt_ctx_t *, bt_pair_t *)   free a whole tree, or nothing for a GC
 */
#ifndef HF_BENCH_BT_WL_BINTREES_H
#define HF_BENCH_BT_WL_BINTREES_H

#include <stdio.h>

#include "bt_common.h"

/* Bottom up; the result is not rooted: the caller roots it before allocating again. */
static bt_pair_t *bt_bin_make(bt_ctx_t *c, int depth) {
  if (depth <= 0) return bt_pair_new(c, NULL, NULL);
  bt_pair_t *left = bt_bin_make(c, depth - 1);
  bt_pair_root_push(c, &left);
  bt_pair_t *right = bt_bin_make(c, depth - 1);
  bt_pair_root_push(c, &right);
  bt_pair_t *node = bt_pair_new(c, left, right);
  bt_root_pop(c, 2);
  return node;
}

/* The benchmarks game's check: the node count (every node is visited, so a lost one shows). */
static uint64_t bt_bin_count(const bt_pair_t *node) {
  uint64_t n = 1;
  const bt_pair_t *l = bt_pair_left(node), *r = bt_pair_right(node);
  if (l != NULL) n += bt_bin_count(l);
  if (r != NULL) n += bt_bin_count(r);
  return n;
}

static void bt_wl_bintrees(bt_ctx_t *c, const bt_options_t *opt, bt_result_t *res) {
  const int n = opt->depth;
  uint64_t sum = 0, expected = 0, t_start, c_start;
  bt_clock_start(&t_start, &c_start);

  bt_pair_t *stretch = bt_bin_make(c, n + 1);
  sum += bt_bin_count(stretch);
  expected += bt_tree_size(n + 1);
  bt_pair_drop(c, stretch);
  stretch = NULL;

  bt_pair_t *long_lived = bt_bin_make(c, n);
  bt_pair_root_push(c, &long_lived);
  res->work += bt_tree_size(n + 1) + bt_tree_size(n);

  for (int d = BT_MIN_DEPTH; d <= n; d += 2) {
    const uint64_t iters = UINT64_C(1) << (n - d + BT_MIN_DEPTH);
    uint64_t check = 0;
    for (uint64_t i = 0; i < iters; i++) {
      bt_pair_t *t = bt_bin_make(c, d);
      check += bt_bin_count(t);
      bt_pair_drop(c, t);
    }
    sum += check;
    expected += iters * bt_tree_size(d);
    res->work += iters * bt_tree_size(d);
    if (opt->verbose)
      fprintf(stderr, "%s: %llu trees of depth %d check: %llu\n", BT_BACKEND_NAME,
              (unsigned long long)iters, d, (unsigned long long)check);
  }

  const uint64_t live = bt_bin_count(long_lived);
  sum += live;
  expected += bt_tree_size(n);
  bt_clock_stop(res, t_start, c_start);

  bt_root_pop(c, 1);
  bt_pair_drop(c, long_lived);
  res->checksum = sum;
  res->expected = expected;
  res->ok = sum == expected && live == bt_tree_size(n);
}

#endif /* HF_BENCH_BT_WL_BINTREES_H */
