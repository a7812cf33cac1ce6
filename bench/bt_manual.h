/* bt_manual.h: the backend for allocators with explicit free (glibc, mimalloc).
 *
 * Define before including: BT_BACKEND_NAME (a string), BT_RUN_FN (the entry point's name),
 * BT_MALLOC(size) and BT_FREE(ptr). Optionally BT_PRINT_STATS() for verbose runs. Dropping a tree
 * frees it recursively, as GCBench's destroy_Node does when it is built without a collector.
 */
#ifndef HF_BENCH_BT_MANUAL_H
#define HF_BENCH_BT_MANUAL_H

#include <stdint.h>
#include <stdlib.h>

#include "bt_common.h"

typedef struct bt_node {
  struct bt_node *left;
  struct bt_node *right;
  int32_t i, j;
} bt_node_t;

typedef struct bt_ctx {
  int unused; /* no state: the allocator is global */
} bt_ctx_t;

typedef double bt_array_t;

static inline bt_node_t *bt_node_new(bt_ctx_t *c, bt_node_t *left, bt_node_t *right) {
  (void)c;
  bt_node_t *node = BT_MALLOC(sizeof *node);
  if (node == NULL) bt_die(BT_BACKEND_NAME, "out of memory");
  node->left = left;
  node->right = right;
  node->i = 0;
  node->j = 0;
  return node;
}

static inline bt_node_t *bt_left(const bt_node_t *node) {
  return node->left;
}

static inline bt_node_t *bt_right(const bt_node_t *node) {
  return node->right;
}

static inline void bt_set_left(bt_ctx_t *c, bt_node_t *node, bt_node_t *left) {
  (void)c;
  node->left = left;
}

static inline void bt_set_right(bt_ctx_t *c, bt_node_t *node, bt_node_t *right) {
  (void)c;
  node->right = right;
}

static inline void bt_root_push(bt_ctx_t *c, bt_node_t **slot) {
  (void)c;
  (void)slot;
}

static inline void bt_root_pop(bt_ctx_t *c, size_t count) {
  (void)c;
  (void)count;
}

static void bt_tree_drop(bt_ctx_t *c, bt_node_t *node) {
  if (node->left != NULL) bt_tree_drop(c, node->left);
  if (node->right != NULL) bt_tree_drop(c, node->right);
  BT_FREE(node);
}

static inline bt_array_t *bt_array_new(bt_ctx_t *c, size_t n) {
  (void)c;
  double *array = BT_MALLOC(n * sizeof(double));
  if (array == NULL) bt_die(BT_BACKEND_NAME, "out of memory");
  return array;
}

static inline double *bt_array_data(bt_array_t *array) {
  return array;
}

static inline void bt_array_root_push(bt_ctx_t *c, bt_array_t **slot) {
  (void)c;
  (void)slot;
}

static inline void bt_array_drop(bt_ctx_t *c, bt_array_t *array) {
  (void)c;
  BT_FREE(array);
}

#include "bt_workload.h"

int BT_RUN_FN(const bt_options_t *opt, bt_result_t *res) {
  bt_ctx_t ctx = {0};
  bt_workload(&ctx, opt, res);
#ifdef BT_PRINT_STATS
  if (opt->verbose) BT_PRINT_STATS();
#endif
  return 0;
}

#endif /* HF_BENCH_BT_MANUAL_H */
