/* bt_boehm.c: binary-trees on the Boehm-Demers-Weiser collector (Debian libgc-dev), as GCBench
 * runs with -DGC: nodes from GC_MALLOC, the array from GC_MALLOC_ATOMIC, nothing ever freed.
 * Roots are found by scanning the stack conservatively, so the root operations do nothing. */
#include <gc.h>
#include <stdint.h>
#include <stdio.h>

#include "bt_common.h"

#define BT_BACKEND_NAME "boehm"

typedef struct bt_node {
  struct bt_node *left;
  struct bt_node *right;
  int32_t i, j;
} bt_node_t;

typedef struct bt_ctx {
  int unused; /* no state: the collector is global */
} bt_ctx_t;

typedef double bt_array_t;

static inline bt_node_t *bt_node_new(bt_ctx_t *c, bt_node_t *left, bt_node_t *right) {
  (void)c;
  bt_node_t *node = GC_MALLOC(sizeof *node); /* zeroed */
  if (node == NULL) bt_die(BT_BACKEND_NAME, "out of memory");
  node->left = left;
  node->right = right;
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

static inline void bt_tree_drop(bt_ctx_t *c, bt_node_t *node) {
  (void)c;
  (void)node;
}

static inline bt_array_t *bt_array_new(bt_ctx_t *c, size_t n) {
  (void)c;
  double *array = GC_MALLOC_ATOMIC(n * sizeof(double));
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
  (void)array;
}

#include "bt_workload.h"

int bt_run_boehm(const bt_options_t *opt, bt_result_t *res) {
  GC_INIT();
  bt_ctx_t ctx = {0};
  bt_workload(&ctx, opt, res);
  if (opt->verbose) {
    fprintf(stderr, "boehm: collections=%lu heap_bytes=%lu total_allocated=%lu\n",
            (unsigned long)GC_get_gc_no(), (unsigned long)GC_get_heap_size(),
            (unsigned long)GC_get_total_bytes());
  }
  return 0;
}
