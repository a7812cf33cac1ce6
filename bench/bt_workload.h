/* bt_workload.h: workload 1, GCBench, written once for every allocator.
 *
 * Shape (Hans Boehm's GCBench.c, with its depths tied to one parameter N as binary-trees does):
 *   1. a stretch tree of depth N+1 is built bottom-up and dropped;
 *   2. a long-lived tree of depth N is built top-down, and a long-lived array of BT_ARRAY_SIZE
 *      doubles is allocated and half filled;
 *   3. for d = 4, 6, ..., N: NumIters(d) = 2 * TreeSize(N+1) / TreeSize(d) trees of depth d are
 *      built top-down (Populate) and dropped, then as many bottom-up (MakeTree) and dropped;
 *   4. the long-lived tree and array are checked.
 * A node is {left, right, i, j}. Every tree's leftmost and rightmost paths are measured and the
 * long-lived tree is counted in full, so no allocation can be optimised away and a heap that loses
 * or corrupts a node fails the run.
 *
 * Include this from exactly one backend file, after defining:
 *   bt_ctx_t, bt_node_t, bt_array_t              the backend's state, node and array handle
 *   bt_node_t *bt_node_new(bt_ctx_t *, bt_node_t *left, bt_node_t *right)
 *                                                a node with those children and i = j = 0; left
 *                                                and right must be rooted (it may collect)
 *   bt_node_t *bt_left(const bt_node_t *), *bt_right(const bt_node_t *)
 *   void bt_set_left(bt_ctx_t *, bt_node_t *, bt_node_t *), bt_set_right(...)
 *   void bt_root_push(bt_ctx_t *, bt_node_t **slot), bt_root_pop(bt_ctx_t *, size_t count)
 *                                                precise shadow-stack roots (no-ops without a GC)
 *   void bt_tree_drop(bt_ctx_t *, bt_node_t *)   free a whole tree, or nothing for a GC
 *   bt_array_t *bt_array_new(bt_ctx_t *, size_t n), double *bt_array_data(bt_array_t *)
 *   void bt_array_root_push(bt_ctx_t *, bt_array_t **slot), bt_array_drop(bt_ctx_t *, bt_array_t *)
 *   BT_BACKEND_NAME                              a string, for messages
 *
 * Rooting rule for the GC backends: an object must be reachable from a root across every call
 * that can allocate. Populate needs no roots of its own: its caller roots the tree's top node and
 * each new child is stored into its (reachable) parent before the next allocation. MakeTree roots
 * the left subtree while it builds the right one, and both while it allocates their parent.
 */
#ifndef HF_BENCH_BT_WORKLOAD_H
#define HF_BENCH_BT_WORKLOAD_H

#include <stdio.h>

#include "bt_common.h"

/* Trees of depth `depth` built per phase when the stretch depth is max_depth + 1 (NumIters). */
static inline uint64_t bt_num_iters(int depth, int max_depth) {
  return 2 * bt_tree_size(max_depth + 1) / bt_tree_size(depth);
}

/* Builds the tree top down below an existing (rooted) node. */
static void bt_populate(bt_ctx_t *c, int depth, bt_node_t *node) {
  if (depth <= 0) return;
  depth--;
  bt_node_t *left = bt_node_new(c, NULL, NULL);
  bt_set_left(c, node, left);
  bt_node_t *right = bt_node_new(c, NULL, NULL);
  bt_set_right(c, node, right);
  bt_populate(c, depth, left);
  bt_populate(c, depth, right);
}

/* Builds a tree bottom up. The result is not rooted: the caller roots it before allocating. */
static bt_node_t *bt_make_tree(bt_ctx_t *c, int depth) {
  if (depth <= 0) return bt_node_new(c, NULL, NULL);
  bt_node_t *left = bt_make_tree(c, depth - 1);
  bt_root_push(c, &left);
  bt_node_t *right = bt_make_tree(c, depth - 1);
  bt_root_push(c, &right);
  bt_node_t *result = bt_node_new(c, left, right);
  bt_root_pop(c, 2);
  return result;
}

/* Nodes on the leftmost plus the rightmost path: 2 * (depth + 1) for a complete tree. */
static uint64_t bt_edge_paths(const bt_node_t *tree) {
  uint64_t n = 0;
  for (const bt_node_t *p = tree; p != NULL; p = bt_left(p))
    n++;
  for (const bt_node_t *p = tree; p != NULL; p = bt_right(p))
    n++;
  return n;
}

static uint64_t bt_count_nodes(const bt_node_t *tree) {
  if (tree == NULL) return 0;
  return 1 + bt_count_nodes(bt_left(tree)) + bt_count_nodes(bt_right(tree));
}

/* Runs the whole workload once, timing it into res. */
static void bt_wl_gcbench(bt_ctx_t *c, const bt_options_t *opt, bt_result_t *res) {
  const int n = opt->depth;
  uint64_t sum = 0, expected = 0;
  uint64_t t_start, c_start;
  bt_clock_start(&t_start, &c_start);
  uint64_t t_phase = t_start;

  /* 1. Stretch the heap. */
  bt_node_t *temp = bt_make_tree(c, n + 1);
  sum += bt_edge_paths(temp);
  expected += 2 * (uint64_t)(n + 2);
  bt_tree_drop(c, temp);
  temp = NULL;
  if (opt->verbose) {
    uint64_t now = bt_now_ns();
    fprintf(stderr, "%s: stretch tree of depth %d: %.1f ms\n", BT_BACKEND_NAME, n + 1,
            (double)(now - t_phase) / 1e6);
    t_phase = now;
  }

  /* 2. The long-lived tree and array, rooted until the end. */
  bt_node_t *long_lived = bt_node_new(c, NULL, NULL);
  bt_root_push(c, &long_lived);
  bt_populate(c, n, long_lived);
  bt_array_t *array = bt_array_new(c, BT_ARRAY_SIZE);
  bt_array_root_push(c, &array);
  double *data = bt_array_data(array);
  for (size_t i = 1; i < BT_ARRAY_SIZE / 2; i++)
    data[i] = 1.0 / (double)i;
  if (opt->verbose) {
    uint64_t now = bt_now_ns();
    fprintf(stderr, "%s: long-lived tree of depth %d and array: %.1f ms\n", BT_BACKEND_NAME, n,
            (double)(now - t_phase) / 1e6);
    t_phase = now;
  }

  /* 3. Short-lived trees. */
  for (int d = BT_MIN_DEPTH; d <= n; d += 2) {
    const uint64_t iters = bt_num_iters(d, n);
    for (uint64_t i = 0; i < iters; i++) {
      temp = bt_node_new(c, NULL, NULL);
      bt_root_push(c, &temp);
      bt_populate(c, d, temp);
      sum += bt_edge_paths(temp);
      bt_tree_drop(c, temp);
      temp = NULL;
      bt_root_pop(c, 1);
    }
    for (uint64_t i = 0; i < iters; i++) {
      temp = bt_make_tree(c, d);
      sum += bt_edge_paths(temp);
      bt_tree_drop(c, temp);
      temp = NULL;
    }
    expected += 2 * iters * 2 * (uint64_t)(d + 1);
    res->work += 2 * iters * bt_tree_size(d);
    if (opt->verbose) {
      uint64_t now = bt_now_ns();
      fprintf(stderr, "%s: 2 x %llu trees of depth %d: %.1f ms\n", BT_BACKEND_NAME,
              (unsigned long long)iters, d, (double)(now - t_phase) / 1e6);
      t_phase = now;
    }
  }

  /* 4. The long-lived data must have survived everything. */
  const uint64_t live_nodes = bt_count_nodes(long_lived);
  sum += live_nodes;
  expected += bt_tree_size(n);
  const bool array_ok = data[1000] == 1.0 / 1000.0;
  bt_clock_stop(res, t_start, c_start);

  bt_root_pop(c, 2);
  bt_tree_drop(c, long_lived);
  bt_array_drop(c, array);
  res->work += bt_tree_size(n + 1) + bt_tree_size(n) + 1;
  res->checksum = sum;
  res->expected = expected;
  res->ok = sum == expected && live_nodes == bt_tree_size(n) && array_ok;
}

#endif /* HF_BENCH_BT_WORKLOAD_H */
