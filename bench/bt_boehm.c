/* bt_boehm.c: the workloads on the Boehm-Demers-Weiser collector (Debian libgc-dev), as GCBench
 * runs with -DGC: nodes from GC_MALLOC, the array from GC_MALLOC_ATOMIC, nothing ever freed.
 * Roots are found by scanning the stack conservatively, so the root operations do nothing.
 * GC_THREADS: gc.h redirects pthread_create to GC_pthread_create, which registers each thread
 * of the threads workload with the collector. Default configuration: GC_INIT and nothing else. */
#define GC_THREADS 1
#include <gc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

typedef struct bt_pair {
  struct bt_pair *left;
  struct bt_pair *right;
} bt_pair_t;

typedef bt_node_t *bt_table_t;

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

static inline bt_pair_t *bt_pair_new(bt_ctx_t *c, bt_pair_t *left, bt_pair_t *right) {
  (void)c;
  bt_pair_t *node = GC_MALLOC(sizeof *node);
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

static inline void bt_pair_drop(bt_ctx_t *c, bt_pair_t *node) {
  (void)c;
  (void)node;
}

static inline uint32_t bt_node_id(const bt_node_t *node) {
  return (uint32_t)node->i;
}

static inline void bt_node_set_id(bt_node_t *node, uint32_t id) {
  node->i = (int32_t)id;
}

static inline void bt_node_free(bt_ctx_t *c, bt_node_t *node) {
  (void)c;
  (void)node;
}

static inline bt_table_t *bt_table_new(bt_ctx_t *c, size_t n) {
  (void)c;
  bt_table_t *t = GC_MALLOC(n * sizeof *t); /* zeroed, scanned */
  if (t == NULL) bt_die(BT_BACKEND_NAME, "out of memory");
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
  (void)t;
}

static void bt_thread_attach(bt_ctx_t *parent, bt_ctx_t *self) {
  *self = *parent; /* registered by GC_pthread_create */
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

int bt_run_boehm(const bt_options_t *opt, bt_result_t *res) {
  GC_INIT();
  bt_ctx_t ctx = {0};
  bt_run_workload(&ctx, opt, res);
  if (opt->verbose) {
    fprintf(stderr, "boehm: collections=%lu heap_bytes=%lu total_allocated=%lu\n",
            (unsigned long)GC_get_gc_no(), (unsigned long)GC_get_heap_size(),
            (unsigned long)GC_get_total_bytes());
  }
  return 0;
}
