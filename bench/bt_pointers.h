/* bt_pointers.h: the backend for allocators whose objects are plain pointers, every workload:
 * malloc-like allocators with explicit free (glibc, mimalloc) and a conservative collector that
 * frees by itself (Boehm). Roots are the C stack's, so the root operations do nothing.
 *
 * Define before including: BT_BACKEND_NAME (a string), BT_RUN_FN (the entry point's name) and
 * BT_MALLOC(size). Then either BT_FREE(ptr) (dropping a tree frees it recursively, as GCBench's
 * destroy_Node does when it is built without a collector) or BT_COLLECTED (dropping does
 * nothing: the collector finds the garbage). Optionally BT_MALLOC_ATOMIC(size) for the pointer-free
 * array (default BT_MALLOC), BT_INIT() before the run and BT_PRINT_STATS() for verbose runs.
 */
#ifndef HF_BENCH_BT_POINTERS_H
#define HF_BENCH_BT_POINTERS_H

#include <stdint.h>
#include <stdlib.h>

#include "bt_common.h"

#if defined(BT_COLLECTED) == defined(BT_FREE)
#  error "define exactly one of BT_FREE(ptr) and BT_COLLECTED"
#endif
#ifndef BT_MALLOC_ATOMIC
#  define BT_MALLOC_ATOMIC(size) BT_MALLOC(size)
#endif
#ifdef BT_COLLECTED
#  define BT_FREE(ptr) ((void)(ptr))
#endif

typedef struct bt_node {
  struct bt_node *left;
  struct bt_node *right;
  int32_t i, j;
} bt_node_t;

typedef struct bt_ctx {
  int unused; /* no state: the allocator (or collector) is global */
} bt_ctx_t;

typedef double bt_array_t;

typedef struct bt_pair {
  struct bt_pair *left;
  struct bt_pair *right;
} bt_pair_t;

typedef bt_node_t *bt_table_t;

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
#ifdef BT_COLLECTED
  (void)c;
  (void)node;
#else
  if (node->left != NULL) bt_tree_drop(c, node->left);
  if (node->right != NULL) bt_tree_drop(c, node->right);
  BT_FREE(node);
#endif
}

static inline bt_array_t *bt_array_new(bt_ctx_t *c, size_t n) {
  (void)c;
  double *array = BT_MALLOC_ATOMIC(n * sizeof(double));
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

static inline bt_pair_t *bt_pair_new(bt_ctx_t *c, bt_pair_t *left, bt_pair_t *right) {
  (void)c;
  bt_pair_t *node = BT_MALLOC(sizeof *node);
  if (node == NULL) bt_die(BT_BACKEND_NAME, "out of memory");
  node->left = left;
  node->right = right;
  return node;
}

static inline bt_pair_t *bt_pair_left(const bt_pair_t *node) {
  return node->left;
}

static inline bt_pair_t *bt_pair_right(const bt_pair_t *node) {
  return node->right;
}

static inline void bt_pair_root_push(bt_ctx_t *c, bt_pair_t **slot) {
  (void)c;
  (void)slot;
}

static void bt_pair_drop(bt_ctx_t *c, bt_pair_t *node) {
#ifdef BT_COLLECTED
  (void)c;
  (void)node;
#else
  if (node->left != NULL) bt_pair_drop(c, node->left);
  if (node->right != NULL) bt_pair_drop(c, node->right);
  BT_FREE(node);
#endif
}

static inline uint32_t bt_node_id(const bt_node_t *node) {
  return (uint32_t)node->i;
}

static inline void bt_node_set_id(bt_node_t *node, uint32_t id) {
  node->i = (int32_t)id;
}

static inline void bt_node_free(bt_ctx_t *c, bt_node_t *node) {
  (void)c;
  BT_FREE(node);
}

static inline bt_table_t *bt_table_new(bt_ctx_t *c, size_t n) {
  (void)c;
  bt_table_t *t = BT_MALLOC(n * sizeof *t);
  if (t == NULL) bt_die(BT_BACKEND_NAME, "out of memory");
  for (size_t i = 0; i < n; i++)
    t[i] = NULL;
  return t;
}

static inline bt_node_t *bt_table_get(const bt_table_t *t, size_t i) {
  return t[i];
}

static inline void bt_table_set(bt_ctx_t *c, bt_table_t *t, size_t i, bt_node_t *node) {
  (void)c;
  t[i] = node;
}

static inline void bt_table_root_push(bt_ctx_t *c, bt_table_t **slot) {
  (void)c;
  (void)slot;
}

static inline void bt_table_drop(bt_ctx_t *c, bt_table_t *t) {
  (void)c;
  BT_FREE(t);
}

static void bt_thread_attach(bt_ctx_t *parent, bt_ctx_t *self) {
  *self = *parent;
}

static void bt_thread_detach(bt_ctx_t *self) {
  (void)self;
}

static void bt_blocking_begin(bt_ctx_t *c) {
  (void)c;
}

static void bt_blocking_end(bt_ctx_t *c) {
  (void)c;
}

#include "bt_workloads.h"

int BT_RUN_FN(const bt_options_t *opt, bt_result_t *res) {
#ifdef BT_INIT
  BT_INIT();
#endif
  bt_ctx_t ctx = {0};
  bt_run_workload(&ctx, opt, res);
#ifdef BT_PRINT_STATS
  if (opt->verbose) BT_PRINT_STATS();
#endif
  return 0;
}

#endif /* HF_BENCH_BT_POINTERS_H */
