/* heap.c: heap lifetime and configuration, hooks, statistics, memory accounting (limit and fault
 * injection), where block memory comes from, and heap iteration. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>


static const char *const status_names[HC_STATUS_COUNT] = {
    "HC_OK",
    "HC_ERR_INVALID_ARGUMENT",
    "HC_ERR_SIZE_ZERO",
    "HC_ERR_SIZE_TOO_LARGE",
    "HC_ERR_TOO_MANY_SLOTS",
    "HC_ERR_SLOT_OUT_OF_RANGE",
    "HC_ERR_NOT_A_CELL",
    "HC_ERR_HEAP_LIMIT",
    "HC_ERR_INJECTED_FAULT",
    "HC_ERR_OUT_OF_MEMORY",
    "HC_ERR_ALLOCATION_STOPPED",
    "HC_ERR_WRONG_STATE",
    "HC_ERR_UNSUPPORTED",
    "HC_ERR_VERIFY",
};

const char *hc_status_name(hc_status_t status) {
  return (unsigned)status < HC_STATUS_COUNT ? status_names[status] : "HC_ERR_?";
}

_Noreturn void hc_fatal(const char *file, int line, const char *msg) {
  fprintf(stderr, "heapcore: fatal: %s:%d: %s\n", file, line, msg);
  fflush(stderr);
  abort();
}

void hc_config_init(hc_config_t *config) {
  memset(config, 0, sizeof *config);
  config->gc_trigger_bytes = HC_GC_TRIGGER_ADAPTIVE;
  config->version_limit = 255;
}

/* ---------------------------------------------------------------------------------------------
 * Lifetime
 * ------------------------------------------------------------------------------------------- */

hc_status_t hc_heap_create(const hc_config_t *config, hc_heap_t **out) {
  if (!out) return HC_ERR_INVALID_ARGUMENT;
  *out = NULL;
  hc_config_t defaults;
  if (!config) {
    hc_config_init(&defaults);
    config = &defaults;
  }
  if (config->version_limit < 2 || config->version_limit > 255) return HC_ERR_INVALID_ARGUMENT;
  hc_size_classes_init();
  hc_heap_t *heap = calloc(1, sizeof *heap);
  if (!heap) return HC_ERR_OUT_OF_MEMORY;
  heap->config = *config;
  atomic_store_explicit(&heap->gc_trigger, hc_initial_trigger(config), memory_order_relaxed);
  heap->mark_version = 1;
  atomic_store_explicit(&heap->newly_version, 1, memory_order_relaxed);
  pthread_mutex_init(&heap->world_lock, NULL);
  pthread_cond_init(&heap->world_cond, NULL);
  pthread_cond_init(&heap->sweeper_cond, NULL);
  pthread_mutex_init(&heap->sweep_lock, NULL);
  pthread_mutex_init(&heap->roots_lock, NULL);
  pthread_mutex_init(&heap->weak_lock, NULL);
  pthread_mutex_init(&heap->blockset_lock, NULL);
  hc_pool_init(heap);
  for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++) {
    hc_directory_init(&heap->dirs[i], hc_size_classes[i], i);
    heap->dirs[i].self_checks = config->self_checks;
    heap->dirs[i].heap = heap;
  }
  hc_directory_init(&heap->large_dir, 0, HC_SIZE_CLASS_COUNT);
  heap->large_dir.self_checks = config->self_checks;
  heap->large_dir.heap = heap;
  *out = heap;
  return HC_OK;
}

hc_status_t hc_heap_destroy(hc_heap_t *heap) {
  if (!heap) return HC_ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&heap->world_lock);
  bool busy = heap->mutators != NULL || heap->sweeper_running;
  pthread_mutex_unlock(&heap->world_lock);
  if (busy) return HC_ERR_WRONG_STATE;

  /* Finalize what is left, then free every block and large object. Blocks keep their pages: the
   * chunks are unmapped or cached whole below. */
  heap->destroying = true;
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT; c++) {
    hc_directory_t *d = &heap->dirs[c];
    for (uint32_t i = 0; i < d->used; i++)
      if (d->slots[i]) hc_block_finalize_all(heap, d->slots[i]);
  }
  for (uint32_t i = 0; i < heap->large_dir.used; i++) {
    hc_large_t *l = heap->large_dir.slots[i];
    if (l && !l->finalized && (hc_header_of(hc_large_cell(l))->flags & HC_FLAG_FINALIZE) &&
        heap->config.finalizer)
      hc_run_finalizer(heap, hc_large_cell(l));
  }
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT; c++) {
    hc_directory_t *d = &heap->dirs[c];
    for (uint32_t i = 0; i < d->used; i++)
      if (d->slots[i]) hc_block_destroy(heap, d->slots[i]);
    hc_directory_destroy(d);
  }
  for (uint32_t i = 0; i < heap->large_dir.used; i++)
    if (heap->large_dir.slots[i]) hc_large_destroy(heap, heap->large_dir.slots[i]);
  hc_directory_destroy(&heap->large_dir);

  for (hc_weak_t *w = heap->weak_list, *next; w; w = next) {
    next = w->next;
    free(w);
  }
  hc_vec_free(&heap->global_roots);
  hc_vec_free(&heap->remembered);
  hc_vec_free(&heap->mark_stack);
  hc_vec_free(&heap->root_scratch);
  if (heap->verify_scratch) free(heap->verify_scratch);
  hc_blockset_free(&heap->blockset);
  hc_pool_destroy(heap); /* every block is poisoned (hc_block_memory_free) */
  pthread_mutex_destroy(&heap->world_lock);
  pthread_cond_destroy(&heap->world_cond);
  pthread_cond_destroy(&heap->sweeper_cond);
  pthread_mutex_destroy(&heap->sweep_lock);
  pthread_mutex_destroy(&heap->roots_lock);
  pthread_mutex_destroy(&heap->weak_lock);
  pthread_mutex_destroy(&heap->blockset_lock);
  free(heap);
  return HC_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Hooks, events, identities
 * ------------------------------------------------------------------------------------------- */

hc_status_t hc_heap_set_yield_hook(hc_heap_t *heap, hc_yield_fn fn, void *ctx) {
  if (!heap) return HC_ERR_INVALID_ARGUMENT;
#if defined(HC_YIELD_POINTS) && HC_YIELD_POINTS
  heap->yield_fn = fn;
  heap->yield_ctx = ctx;
  return HC_OK;
#else
  (void)fn, (void)ctx;
  return HC_ERR_UNSUPPORTED;
#endif
}

void hc_heap_set_event_hook(hc_heap_t *heap, hc_event_fn fn, void *ctx) {
  if (!heap) return;
  heap->event_fn = fn;
  heap->event_ctx = ctx;
}

void hc_emit(hc_heap_t *heap, hc_event_kind_t kind, uint32_t mutator, uint32_t cell_size,
             uint64_t block, uint64_t arg) {
  if (hc_likely(heap->event_fn == NULL)) return;
  hc_event_t ev = {kind, mutator, cell_size, block, arg};
  heap->event_fn(heap->event_ctx, &ev);
}

void hc_set_phase(hc_heap_t *heap, hc_phase_t phase, int kind) {
  atomic_store_explicit(&heap->phase, (int)phase, memory_order_relaxed);
  if (kind >= 0) hc_emit(heap, HC_EV_PHASE, 0, (uint32_t)kind, 0, (uint64_t)phase);
}

uint64_t hc_next_serial(hc_heap_t *heap) {
  return atomic_fetch_add_explicit(&heap->next_serial, 1, memory_order_relaxed) + 1;
}

/* A fresh secret for each free list built from a block: splitmix64 of the seed, the block's serial
 * and its sweep count. Deterministic (no addresses, no clock) and free of shared state: the
 * caller owns the block. */
uintptr_t hc_block_secret(const hc_heap_t *heap, hc_block_handle_t *h) {
  uint64_t z = heap->config.seed + 0x9e3779b97f4a7c15ull * (h->serial * 0x10001ull + ++h->sweeps);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (uintptr_t)(z ^ (z >> 31));
}

void hc_run_finalizer(hc_heap_t *heap, hc_object_t *obj) {
  heap->config.finalizer(obj, heap->config.finalizer_ctx);
  atomic_fetch_add_explicit(&heap->stats.finalizers_run, 1, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------------------------
 * Memory: limit, fault injection, block memory
 * ------------------------------------------------------------------------------------------- */

void hc_heap_fail_allocation(hc_heap_t *heap, uint64_t nth) {
  if (!heap) return;
  uint64_t now = atomic_load_explicit(&heap->fault_points, memory_order_relaxed);
  atomic_store_explicit(&heap->fail_at, nth ? now + nth : 0, memory_order_relaxed);
}

bool hc_fault_point(hc_heap_t *heap, hc_status_t *why) {
  *why = HC_ERR_OUT_OF_MEMORY;
  if (!heap) return false;
  uint64_t n = atomic_fetch_add_explicit(&heap->fault_points, 1, memory_order_relaxed) + 1;
  uint64_t fail_at = n; /* the CAS disarms the knob: exactly one step fails */
  if (!atomic_compare_exchange_strong_explicit(&heap->fail_at, &fail_at, 0, memory_order_relaxed,
                                               memory_order_relaxed))
    return false;
  atomic_fetch_add_explicit(&heap->stats.failed_acquisitions, 1, memory_order_relaxed);
  *why = HC_ERR_INJECTED_FAULT;
  return true;
}

hc_status_t hc_reserve_memory(hc_heap_t *heap, size_t bytes) {
  atomic_fetch_add_explicit(&heap->acquisitions, 1, memory_order_relaxed);
  hc_status_t why;
  if (hc_fault_point(heap, &why)) return why;
  size_t limit = heap->config.heap_limit;
  size_t cur = atomic_load_explicit(&heap->committed, memory_order_relaxed);
  do {
    if (limit && cur + bytes > limit) {
      atomic_fetch_add_explicit(&heap->stats.failed_acquisitions, 1, memory_order_relaxed);
      return HC_ERR_HEAP_LIMIT;
    }
  } while (!atomic_compare_exchange_weak_explicit(&heap->committed, &cur, cur + bytes,
                                                  memory_order_relaxed, memory_order_relaxed));
  return HC_OK;
}

void hc_unreserve_memory(hc_heap_t *heap, size_t bytes) {
  atomic_fetch_sub_explicit(&heap->committed, bytes, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------------------------- */

void hc_heap_get_stats(hc_heap_t *heap, hc_stats_t *out) {
  memset(out, 0, sizeof *out);
  if (!heap) return;
  out->live_bytes = atomic_load_explicit(&heap->published_live_bytes, memory_order_relaxed);
  out->live_objects = atomic_load_explicit(&heap->published_live_objects, memory_order_relaxed);
  out->committed_bytes = atomic_load_explicit(&heap->committed, memory_order_relaxed);
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT; c++) {
    pthread_mutex_lock(&heap->dirs[c].lock);
    out->blocks += heap->dirs[c].count;
    pthread_mutex_unlock(&heap->dirs[c].lock);
  }
  pthread_mutex_lock(&heap->large_dir.lock);
  out->large_objects = heap->large_dir.count;
  pthread_mutex_unlock(&heap->large_dir.lock);
  pthread_mutex_lock(&heap->world_lock);
  out->objects_allocated = heap->detached_objects;
  out->bytes_allocated = heap->detached_bytes;
  for (hc_mutator_t *m = heap->mutators; m; m = m->next) {
    out->objects_allocated += atomic_load_explicit(&m->objects_allocated, memory_order_relaxed);
    out->bytes_allocated += atomic_load_explicit(&m->bytes_allocated, memory_order_relaxed);
  }
  pthread_mutex_unlock(&heap->world_lock);
  out->full_collections = atomic_load_explicit(&heap->full_collections, memory_order_relaxed);
  out->eden_collections = atomic_load_explicit(&heap->eden_collections, memory_order_relaxed);
  const hc_stat_counters_t *s = &heap->stats;
  out->blocks_swept = atomic_load_explicit(&s->blocks_swept, memory_order_relaxed);
  out->blocks_released = atomic_load_explicit(&s->blocks_released, memory_order_relaxed);
  out->blocks_stolen = atomic_load_explicit(&s->blocks_stolen, memory_order_relaxed);
  out->finalizers_run = atomic_load_explicit(&s->finalizers_run, memory_order_relaxed);
  out->weak_cleared = atomic_load_explicit(&s->weak_cleared, memory_order_relaxed);
  out->version_wraps = atomic_load_explicit(&s->version_wraps, memory_order_relaxed);
  out->bad_roots = atomic_load_explicit(&s->bad_roots, memory_order_relaxed);
  out->block_acquisitions = atomic_load_explicit(&heap->acquisitions, memory_order_relaxed);
  out->failed_acquisitions = atomic_load_explicit(&s->failed_acquisitions, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------------------------
 * Iteration
 * ------------------------------------------------------------------------------------------- */

/* Visits the block's live cells in address order, found a word of cell-start bits at a time. */
static bool visit_block(hc_heap_t *heap, hc_block_handle_t *h, hc_visit_fn visit, void *ctx) {
  uint64_t live[HC_BITMAP_WORDS];
  hc_block_live_bits(heap, h->block, live);
  for (int w = 0; w < HC_BITMAP_WORDS; w++)
    for (uint64_t cells = live[w] & h->cell_starts[w]; cells; cells &= cells - 1) {
      char *cell = (char *)h->block + (size_t)(w * 64 + __builtin_ctzll(cells)) * HC_ATOM_SIZE;
      if (!visit((hc_object_t *)cell, ctx)) return false;
    }
  return true;
}

hc_status_t hc_heap_iterate(hc_mutator_t *m, hc_visit_fn visit, void *ctx) {
  if (!m || !visit) return HC_ERR_INVALID_ARGUMENT;
  if (!m->has_access) return HC_ERR_WRONG_STATE;
  hc_heap_t *heap = m->heap;
  hc_world_stop(heap, m);
  hc_stop_all_allocators(heap);
  HC_YIELD(heap, HC_YP_ALLOCATION_STOPPED, m);
  bool go = true;
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT && go; c++) {
    hc_directory_t *d = &heap->dirs[c];
    for (uint32_t i = 0; i < d->used && go; i++)
      if (d->slots[i]) go = visit_block(heap, d->slots[i], visit, ctx);
  }
  for (uint32_t i = 0; i < heap->large_dir.used && go; i++) {
    hc_large_t *l = heap->large_dir.slots[i];
    if (l && hc_large_is_live(heap, l)) go = visit(hc_large_cell(l), ctx);
  }
  hc_resume_all_allocators(heap);
  hc_world_resume(heap);
  return HC_OK;
}
