/* large.c: objects too large for a block's size classes (JSC's PreciseAllocation).
 *
 * Each is one system allocation: an hc_large_t record followed by the cell, placed at 8 (mod 16)
 * so that any cell pointer tells by its low bits whether it is in a block or large. Large objects
 * live in a directory of their own (heap->large_dir) with the same bits and the same in-use
 * ownership rule as blocks: a sweep marks a dead one empty, and it is freed only by whoever claims
 * it for release (shrink, or a sweep with release_empty_blocks). */
#include "internal.h"

#include <stdlib.h>

static size_t large_cell_bytes(size_t size) {
  return (size + HC_ATOM_SIZE - 1) & ~(size_t)(HC_ATOM_SIZE - 1);
}

static size_t large_footprint(size_t cell_bytes) {
  return sizeof(hc_large_t) + cell_bytes;
}

bool hc_large_is_marked(const hc_heap_t *heap, const hc_large_t *l) {
  return l->mark_version == heap->mark_version && l->marked;
}

bool hc_large_is_live(const hc_heap_t *heap, const hc_large_t *l) {
  return hc_large_is_marked(heap, l) ||
         atomic_load_explicit(&l->newly_version, memory_order_relaxed) ==
             atomic_load_explicit(&heap->newly_version, memory_order_relaxed);
}

static hc_large_t *create(hc_heap_t *heap, size_t cell_bytes, hc_status_t *st) {
  *st = hc_reserve_memory(heap, large_footprint(cell_bytes));
  if (*st != HC_OK) return NULL;
  hc_status_t why;
  size_t rounded = (large_footprint(cell_bytes) + 15) & ~(size_t)15;
  void *base = hc_fault_point(heap, &why) ? NULL : aligned_alloc(HC_ATOM_SIZE, rounded);
  if (!base) {
    hc_unreserve_memory(heap, large_footprint(cell_bytes));
    *st = why;
    return NULL;
  }
  memset(base, 0, large_footprint(cell_bytes));
  hc_large_t *l = base;
  l->base = base;
  l->cell_bytes = cell_bytes;
  l->serial = hc_next_serial(heap);
  pthread_mutex_lock(&heap->blockset_lock);
  bool added =
      !hc_fault_point(heap, &why) && hc_blockset_add(&heap->blockset, (uintptr_t)hc_large_cell(l));
  pthread_mutex_unlock(&heap->blockset_lock);
  if (!added) {
    free(base);
    hc_unreserve_memory(heap, large_footprint(cell_bytes));
    *st = why;
    return NULL;
  }
  return l;
}

hc_object_t *hc_large_allocate(hc_mutator_t *m, size_t size, uint32_t nslots, unsigned flags) {
  hc_heap_t *heap = m->heap;
  if (m->allocation_stopped) {
    m->last_error = HC_ERR_ALLOCATION_STOPPED;
    return NULL;
  }
  if (!m->has_access) {
    m->last_error = HC_ERR_WRONG_STATE;
    return NULL;
  }
  hc_safepoint(m);
  size_t cell_bytes = large_cell_bytes(size);
  hc_collect_if_triggered(heap, m, cell_bytes);
  hc_status_t st;
  hc_large_t *l = create(heap, cell_bytes, &st);
  if (!l && st == HC_ERR_HEAP_LIMIT) {
    hc_collect(m, HC_COLLECT_FULL);
    hc_shrink(m);
    l = create(heap, cell_bytes, &st);
  }
  if (!l) {
    m->last_error = st;
    return NULL;
  }
  hc_object_t *cell = hc_large_cell(l);
  hc_write_header(cell, size, nslots, flags);
  atomic_store_explicit(&l->newly_version,
                        atomic_load_explicit(&heap->newly_version, memory_order_relaxed),
                        memory_order_relaxed);
  if (hc_directory_add(&heap->large_dir, l, HC_BITMASK(HC_BIT_EDEN), &st) == UINT32_MAX) {
    hc_large_destroy(heap, l);
    m->last_error = st;
    return NULL;
  }
  atomic_fetch_add_explicit(&heap->bytes_since_gc, cell_bytes, memory_order_relaxed);
  hc_emit(heap, HC_EV_LARGE_ALLOCATED, m->id, (uint32_t)size, l->serial, 0);
  hc_count_allocation(m, size);
  m->last_error = HC_OK;
  return cell;
}

/* Frees it; the caller removed it from the large directory. */
void hc_large_destroy(hc_heap_t *heap, hc_large_t *l) {
  size_t footprint = large_footprint(l->cell_bytes);
  pthread_mutex_lock(&heap->blockset_lock);
  hc_blockset_remove(&heap->blockset, (uintptr_t)hc_large_cell(l));
  pthread_mutex_unlock(&heap->blockset_lock);
  hc_unpoison(l, footprint);
  free(l->base);
  hc_unreserve_memory(heap, footprint);
}

/* Caller holds l's in-use bit. A dead large object is finalized once and poisoned; its memory
 * goes back when it is released. */
hc_sweep_result_t hc_large_sweep(hc_heap_t *heap, hc_large_t *l) {
  hc_sweep_result_t r = {0, 0};
  atomic_fetch_add_explicit(&heap->stats.blocks_swept, 1, memory_order_relaxed);
  hc_emit(heap, HC_EV_BLOCK_SWEPT, 0, (uint32_t)l->cell_bytes, l->serial, 0);
  if (hc_large_is_live(heap, l)) {
    r.live_cells = 1;
    return r;
  }
  r.free_cells = 1;
  if (!l->finalized) {
    hc_object_t *cell = hc_large_cell(l);
    if ((hc_header_of(cell)->flags & HC_FLAG_FINALIZE) && heap->config.finalizer)
      hc_run_finalizer(heap, cell);
    memset(cell, heap->config.scribble ? HC_SCRIBBLE_BYTE : 0, l->cell_bytes);
    hc_poison(cell, l->cell_bytes);
    l->finalized = 1;
  }
  return r;
}
