/* bt_heapcore.c: binary-trees on the heap core (include/heapcore.h).
 *
 * A node is a 32-byte cell: the 8-byte header, two reference slots (left, right) and 8 payload
 * bytes holding i and j as two int32 (zeroed at allocation, never written, as in GCBench). The
 * long-lived array is one large object with no slots. One mutator, precise roots on its shadow
 * stack, children written with hc_store (the write barrier) and read with hc_load.
 */
#include <stdint.h>
#include <stdio.h>

#include "bt_common.h"
#include "heapcore.h"

#define BT_BACKEND_NAME "heapcore"

/* Collection policy: collect after BT_HC_TRIGGER_BYTES were handed to allocators; a collection is
 * full once eden collections have promoted BT_HC_FULL_GROWTH percent of the old generation since
 * the last full one (config.full_gc_growth), eden otherwise. Tuned at N=18 (see bench/README.md):
 * a smaller trigger means more collections and more partly built trees promoted; a larger growth
 * lets promoted garbage pile up and the heap grow. */
#define BT_HC_TRIGGER_BYTES ((size_t)28 << 20)
#define BT_HC_FULL_EVERY    0u
#define BT_HC_FULL_GROWTH   100u

#define BT_NODE_SLOTS 2u
#define BT_NODE_SIZE  (HC_HEADER_SIZE + BT_NODE_SLOTS * HC_SLOT_SIZE + 2 * sizeof(int32_t))

typedef hc_object_t bt_node_t;
typedef hc_object_t bt_array_t;

typedef struct bt_ctx {
  hc_mutator_t *m;
} bt_ctx_t;

_Noreturn static void bt_hc_fail(const char *what, hc_status_t status) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, hc_status_name(status));
  bt_die(BT_BACKEND_NAME, msg);
}

static inline bt_node_t *bt_node_new(bt_ctx_t *c, bt_node_t *left, bt_node_t *right) {
  hc_object_t *node = hc_alloc(c->m, BT_NODE_SIZE, BT_NODE_SLOTS); /* slots NULL, payload 0 */
  if (node == NULL) bt_hc_fail("hc_alloc(node)", hc_mutator_last_error(c->m));
  if (left != NULL) hc_store(c->m, node, 0, left);
  if (right != NULL) hc_store(c->m, node, 1, right);
  return node;
}

static inline bt_node_t *bt_left(const bt_node_t *node) {
  return hc_load(node, 0);
}

static inline bt_node_t *bt_right(const bt_node_t *node) {
  return hc_load(node, 1);
}

static inline void bt_set_left(bt_ctx_t *c, bt_node_t *node, bt_node_t *left) {
  hc_store(c->m, node, 0, left);
}

static inline void bt_set_right(bt_ctx_t *c, bt_node_t *node, bt_node_t *right) {
  hc_store(c->m, node, 1, right);
}

static inline void bt_root_push(bt_ctx_t *c, bt_node_t **slot) {
  hc_status_t st = hc_root_push(c->m, slot);
  if (st != HC_OK) bt_hc_fail("hc_root_push", st);
}

static inline void bt_root_pop(bt_ctx_t *c, size_t count) {
  hc_status_t st = hc_root_pop(c->m, count);
  if (st != HC_OK) bt_hc_fail("hc_root_pop", st);
}

static inline void bt_tree_drop(bt_ctx_t *c, bt_node_t *node) {
  (void)c;
  (void)node; /* unreachable once its last root is gone */
}

static inline bt_array_t *bt_array_new(bt_ctx_t *c, size_t n) {
  hc_object_t *array = hc_alloc(c->m, HC_HEADER_SIZE + n * sizeof(double), 0);
  if (array == NULL) bt_hc_fail("hc_alloc(array)", hc_mutator_last_error(c->m));
  return array;
}

static inline double *bt_array_data(bt_array_t *array) {
  return hc_object_payload(array);
}

static inline void bt_array_root_push(bt_ctx_t *c, bt_array_t **slot) {
  bt_root_push(c, slot);
}

static inline void bt_array_drop(bt_ctx_t *c, bt_array_t *array) {
  (void)c;
  (void)array;
}

#include "bt_workload.h"

/* Verbose runs time the collector through the heap's event hook: from the STOPPED phase (world
 * stopped) to RESUMING (marking and directory updates done), per collection kind. */
typedef struct bt_hc_pauses {
  uint64_t started_ns;
  uint64_t total_ns[2]; /* by hc_collection_kind_t */
  uint64_t max_ns[2];
  uint64_t count[2];
} bt_hc_pauses_t;

static void bt_hc_on_event(void *ctx, const hc_event_t *ev) {
  bt_hc_pauses_t *p = ctx;
  if (ev->kind != HC_EV_PHASE || ev->cell_size > HC_COLLECT_FULL) return;
  if (ev->arg == HC_PHASE_STOPPED) {
    p->started_ns = bt_now_ns();
  } else if (ev->arg == HC_PHASE_RESUMING && p->started_ns != 0) {
    uint64_t ns = bt_now_ns() - p->started_ns;
    p->total_ns[ev->cell_size] += ns;
    p->count[ev->cell_size]++;
    if (ns > p->max_ns[ev->cell_size]) p->max_ns[ev->cell_size] = ns;
    p->started_ns = 0;
  }
}

static void bt_hc_print_pauses(const bt_hc_pauses_t *p) {
  static const char *const names[2] = {"eden", "full"};
  for (int k = 0; k < 2; k++)
    fprintf(stderr, "heapcore: %s collections: %llu, %.1f ms in total, %.2f ms max\n", names[k],
            (unsigned long long)p->count[k], (double)p->total_ns[k] / 1e6,
            (double)p->max_ns[k] / 1e6);
}

static void bt_hc_print_stats(hc_heap_t *heap, const hc_config_t *config) {
  hc_stats_t s;
  hc_heap_get_stats(heap, &s);
  fprintf(stderr,
          "heapcore: config: gc_trigger_bytes=%zu full_gc_every=%u release_empty_blocks=%d\n"
          "heapcore: collections: full=%llu eden=%llu\n"
          "heapcore: blocks=%llu large_objects=%llu committed_bytes=%llu live_bytes=%llu "
          "live_objects=%llu\n"
          "heapcore: allocated: bytes=%llu objects=%llu\n"
          "heapcore: blocks: acquired=%llu swept=%llu released=%llu stolen=%llu "
          "version_wraps=%llu bad_roots=%llu\n",
          config->gc_trigger_bytes, config->full_gc_every, (int)config->release_empty_blocks,
          (unsigned long long)s.full_collections, (unsigned long long)s.eden_collections,
          (unsigned long long)s.blocks, (unsigned long long)s.large_objects,
          (unsigned long long)s.committed_bytes, (unsigned long long)s.live_bytes,
          (unsigned long long)s.live_objects, (unsigned long long)s.bytes_allocated,
          (unsigned long long)s.objects_allocated, (unsigned long long)s.block_acquisitions,
          (unsigned long long)s.blocks_swept, (unsigned long long)s.blocks_released,
          (unsigned long long)s.blocks_stolen, (unsigned long long)s.version_wraps,
          (unsigned long long)s.bad_roots);
}

int bt_run_heapcore(const bt_options_t *opt, bt_result_t *res) {
  hc_config_t config;
  hc_config_init(&config);
  config.gc_trigger_bytes =
      opt->hc_trigger_bytes != 0 ? opt->hc_trigger_bytes : BT_HC_TRIGGER_BYTES;
  /* Explicit knobs replace the default policy; --hc-all-full leaves both at 0 (always full). */
  bool explicit_policy = opt->hc_all_full || opt->hc_full_every || opt->hc_full_growth;
  config.full_gc_every = explicit_policy ? opt->hc_full_every : BT_HC_FULL_EVERY;
  config.full_gc_growth = explicit_policy ? opt->hc_full_growth : BT_HC_FULL_GROWTH;
  config.release_empty_blocks = opt->hc_release_empty;

  hc_heap_t *heap = NULL;
  hc_status_t st = hc_heap_create(&config, &heap);
  if (st != HC_OK) bt_hc_fail("hc_heap_create", st);
  bt_hc_pauses_t pauses = {0};
  if (opt->verbose) hc_heap_set_event_hook(heap, bt_hc_on_event, &pauses);
  bt_ctx_t ctx = {NULL};
  st = hc_mutator_attach(heap, &ctx.m);
  if (st != HC_OK) bt_hc_fail("hc_mutator_attach", st);
  if (opt->hc_sweeper) {
    st = hc_sweeper_start(heap);
    if (st != HC_OK) bt_hc_fail("hc_sweeper_start", st);
  }

  bt_workload(&ctx, opt, res);

  if (opt->verbose) {
    bt_hc_print_stats(heap, &config);
    bt_hc_print_pauses(&pauses);
  }
  if (opt->hc_sweeper) {
    st = hc_sweeper_stop(heap);
    if (st != HC_OK) bt_hc_fail("hc_sweeper_stop", st);
  }
  st = hc_mutator_detach(ctx.m);
  if (st != HC_OK) bt_hc_fail("hc_mutator_detach", st);
  st = hc_heap_destroy(heap);
  if (st != HC_OK) bt_hc_fail("hc_heap_destroy", st);
  return 0;
}
