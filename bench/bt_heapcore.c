/* bt_heapcore.c: the workloads on the heap core (include/heapcore.h).
 *
 * A node is a 32-byte cell: the 8-byte header, two reference slots (left, right) and 8 payload
 * bytes holding i and j as two int32 (zeroed at allocation; the graph workload keeps its id in
 * i). A pair (binary-trees) is the header and two slots, 24 bytes. The long-lived array is one
 * large object with no slots; the graph's table is a top object whose slots hold chunks of
 * BT_HC_TABLE_CHUNK references (small objects, so no object is over HC_MAX_SLOTS). One mutator
 * per thread, precise roots on its shadow stack, references written with hc_store (the write
 * barrier) and read with hc_load.
 *
 * Configuration: by default what README.md's "Using the heap core" example sets, nothing else
 * (bt_hc_default_config), since that is what a user who does not tune gets; --hc-tuned selects
 * the policy tuned for GCBench at N=18, and the --hc-* flags override single fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bt_common.h"
#include "heapcore.h"

#define BT_BACKEND_NAME "heapcore"

/* The tuned policy (--hc-tuned): collect after BT_HC_TRIGGER_BYTES were handed to allocators; a
 * collection is full once eden collections have promoted BT_HC_FULL_GROWTH percent of the old
 * generation since the last full one (config.full_gc_growth), eden otherwise. Tuned for GCBench at
 * N=18 (see bench/README.md): a smaller trigger means more collections and more partly built
 * trees promoted; a larger growth lets promoted garbage pile up and the heap grow. */
#define BT_HC_TRIGGER_BYTES ((size_t)28 << 20)
#define BT_HC_FULL_EVERY    0u
#define BT_HC_FULL_GROWTH   100u

#define BT_NODE_SLOTS 2u
#define BT_NODE_SIZE  (HC_HEADER_SIZE + BT_NODE_SLOTS * HC_SLOT_SIZE + 2 * sizeof(int32_t))

#define BT_PAIR_SIZE      (HC_HEADER_SIZE + 2 * HC_SLOT_SIZE)
#define BT_NODE_ID_OFFSET (HC_HEADER_SIZE + BT_NODE_SLOTS * HC_SLOT_SIZE) /* the payload's i */
#define BT_HC_TABLE_CHUNK 1000u /* 8008-byte chunks: small objects */

typedef hc_object_t bt_node_t;
typedef hc_object_t bt_array_t;
typedef hc_object_t bt_pair_t;
typedef hc_object_t bt_table_t;

typedef struct bt_ctx {
  hc_mutator_t *m;
  hc_heap_t *heap;
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

static inline bt_pair_t *bt_pair_new(bt_ctx_t *c, bt_pair_t *left, bt_pair_t *right) {
  hc_object_t *node = hc_alloc(c->m, BT_PAIR_SIZE, 2);
  if (node == NULL) bt_hc_fail("hc_alloc(pair)", hc_mutator_last_error(c->m));
  if (left != NULL) hc_store(c->m, node, 0, left);
  if (right != NULL) hc_store(c->m, node, 1, right);
  return node;
}

static inline bt_pair_t *bt_pair_left(const bt_pair_t *node) {
  return hc_load(node, 0);
}

static inline bt_pair_t *bt_pair_right(const bt_pair_t *node) {
  return hc_load(node, 1);
}

static inline void bt_pair_root_push(bt_ctx_t *c, bt_pair_t **slot) {
  bt_root_push(c, slot);
}

static inline void bt_pair_drop(bt_ctx_t *c, bt_pair_t *node) {
  (void)c;
  (void)node;
}

/* The payload follows the slots (heapcore.h's object layout), so the id is at a fixed offset;
 * hc_object_payload would compute the same address out of line. */
static inline uint32_t bt_node_id(const bt_node_t *node) {
  uint32_t id;
  memcpy(&id, (const char *)node + BT_NODE_ID_OFFSET, sizeof id);
  return id;
}

static inline void bt_node_set_id(bt_node_t *node, uint32_t id) {
  memcpy((char *)node + BT_NODE_ID_OFFSET, &id, sizeof id);
}

static inline void bt_node_free(bt_ctx_t *c, bt_node_t *node) {
  (void)c;
  (void)node;
}

/* A top object of ceil(n / BT_HC_TABLE_CHUNK) slots, each holding a chunk. */
static inline bt_table_t *bt_table_new(bt_ctx_t *c, size_t n) {
  const size_t chunks = (n + BT_HC_TABLE_CHUNK - 1) / BT_HC_TABLE_CHUNK;
  hc_object_t *top = hc_alloc(c->m, HC_HEADER_SIZE + chunks * HC_SLOT_SIZE, (uint32_t)chunks);
  if (top == NULL) bt_hc_fail("hc_alloc(table)", hc_mutator_last_error(c->m));
  hc_object_t *keep = top;
  bt_root_push(c, &keep);
  for (size_t i = 0; i < chunks; i++) {
    hc_object_t *chunk =
        hc_alloc(c->m, HC_HEADER_SIZE + BT_HC_TABLE_CHUNK * HC_SLOT_SIZE, BT_HC_TABLE_CHUNK);
    if (chunk == NULL) bt_hc_fail("hc_alloc(table chunk)", hc_mutator_last_error(c->m));
    hc_store(c->m, keep, (uint32_t)i, chunk);
  }
  bt_root_pop(c, 1);
  return keep;
}

static inline bt_node_t *bt_table_get(const bt_table_t *t, size_t i) {
  return hc_load(hc_load(t, (uint32_t)(i / BT_HC_TABLE_CHUNK)), (uint32_t)(i % BT_HC_TABLE_CHUNK));
}

static inline void bt_table_set(bt_ctx_t *c, bt_table_t *t, size_t i, bt_node_t *node) {
  hc_store(c->m, hc_load(t, (uint32_t)(i / BT_HC_TABLE_CHUNK)), (uint32_t)(i % BT_HC_TABLE_CHUNK),
           node);
}

static inline void bt_table_root_push(bt_ctx_t *c, bt_table_t **slot) {
  bt_root_push(c, slot);
}

static inline void bt_table_drop(bt_ctx_t *c, bt_table_t *t) {
  (void)c;
  (void)t;
}

/* A thread's own mutator on the parent's heap. */
static void bt_thread_attach(bt_ctx_t *parent, bt_ctx_t *self) {
  self->heap = parent->heap;
  hc_status_t st = hc_mutator_attach(self->heap, &self->m);
  if (st != HC_OK) bt_hc_fail("hc_mutator_attach (thread)", st);
}

static void bt_thread_detach(bt_ctx_t *self) {
  hc_status_t st = hc_mutator_detach(self->m);
  if (st != HC_OK) bt_hc_fail("hc_mutator_detach (thread)", st);
}

/* The parent's mutator releases access while it waits, or the threads' collections would wait
 * for it to reach a safepoint. */
static void bt_blocking_begin(bt_ctx_t *c) {
  hc_status_t st = hc_mutator_release_access(c->m);
  if (st != HC_OK) bt_hc_fail("hc_mutator_release_access", st);
}

static void bt_blocking_end(bt_ctx_t *c) {
  hc_status_t st = hc_mutator_acquire_access(c->m);
  if (st != HC_OK) bt_hc_fail("hc_mutator_acquire_access", st);
}

#include "bt_workloads.h"

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

/* Exactly what README.md's "Using the heap core" example sets, nothing else: the configuration
 * a user who does not tune gets (since issue 17 the trigger is hc_config_init's adaptive one; it
 * was a fixed 8 MiB). Keep the two in step. */
static void bt_hc_default_config(hc_config_t *config) {
  hc_config_init(config);
  config->full_gc_growth = 100;
}

int bt_run_heapcore(const bt_options_t *opt, bt_result_t *res) {
  hc_config_t config;
  bt_hc_default_config(&config);
  if (opt->hc_tuned) {
    config.gc_trigger_bytes = BT_HC_TRIGGER_BYTES;
    config.full_gc_every = BT_HC_FULL_EVERY;
    config.full_gc_growth = BT_HC_FULL_GROWTH;
  }
  if (opt->hc_trigger_bytes != 0) config.gc_trigger_bytes = opt->hc_trigger_bytes;
  /* Explicit knobs replace the policy; --hc-all-full leaves both at 0 (always full). */
  if (opt->hc_all_full || opt->hc_full_every || opt->hc_full_growth) {
    config.full_gc_every = opt->hc_full_every;
    config.full_gc_growth = opt->hc_full_growth;
  }
  if (opt->hc_release_empty) config.release_empty_blocks = true;

  hc_heap_t *heap = NULL;
  hc_status_t st = hc_heap_create(&config, &heap);
  if (st != HC_OK) bt_hc_fail("hc_heap_create", st);
  bt_hc_pauses_t pauses = {0};
  if (opt->verbose) hc_heap_set_event_hook(heap, bt_hc_on_event, &pauses);
  bt_ctx_t ctx = {NULL, heap};
  st = hc_mutator_attach(heap, &ctx.m);
  if (st != HC_OK) bt_hc_fail("hc_mutator_attach", st);
  if (opt->hc_sweeper) {
    st = hc_sweeper_start(heap);
    if (st != HC_OK) bt_hc_fail("hc_sweeper_start", st);
  }

  bt_run_workload(&ctx, opt, res);

  if (opt->verbose) {
    bt_hc_print_stats(heap, &config);
    bt_hc_print_pauses(&pauses);
  }
  st = hc_mutator_detach(ctx.m);
  if (st != HC_OK) bt_hc_fail("hc_mutator_detach", st);
  if (opt->hc_sweeper) { /* without heap access, as heapcore.h asks */
    st = hc_sweeper_stop(heap);
    if (st != HC_OK) bt_hc_fail("hc_sweeper_stop", st);
  }
  st = hc_heap_destroy(heap);
  if (st != HC_OK) bt_hc_fail("hc_heap_destroy", st);
  return 0;
}
