/* object.c: object layout accessors, pointer validation for the checked calls, and weak
 * references. (Unchecked loads, stores and the write barrier are inline in heapcore.h; the
 * barrier's slow path is in collect.c.) */
#include "internal.h"

#include <stdlib.h>

size_t hc_object_size(const hc_object_t *obj) {
  return hc_header_of(obj)->size;
}

uint32_t hc_object_slot_count(const hc_object_t *obj) {
  return hc_header_of(obj)->nslots;
}

void *hc_object_payload(hc_object_t *obj) {
  return (char *)obj + HC_HEADER_SIZE + (size_t)hc_header_of(obj)->nslots * HC_SLOT_SIZE;
}

size_t hc_object_payload_size(const hc_object_t *obj) {
  const hc_header_t *h = hc_header_of(obj);
  return h->size - HC_HEADER_SIZE - (size_t)h->nslots * HC_SLOT_SIZE;
}

bool hc_lookup_live_cell_locked(hc_heap_t *heap, const void *p) {
  if (!p) return false;
  if (hc_is_large_cell(p)) {
    if (!hc_blockset_contains(&heap->blockset, (uintptr_t)p)) return false;
    hc_large_t *l = hc_large_of(p);
    return !l->finalized && hc_large_is_live(heap, l);
  }
  if (((uintptr_t)p & (HC_ATOM_SIZE - 1)) != 0) return false;
  hc_block_t *b = hc_block_of(p);
  if (!hc_blockset_contains(&heap->blockset, (uintptr_t)b)) return false;
  /* The block cannot be released while we hold blockset_lock (release removes it from the set
   * first), and a steal re-formats it only under that lock, so its geometry holds still. */
  uint32_t index;
  if (!hc_block_cell_index(b->handle, p, &index)) return false;
  /* In a block an allocator is free-listing, cells allocated since its sweep have no bits yet,
   * but that sweep zeroed every dead cell, so the header's state tells. The acquire pairs with the
   * release that published the free list: the sweep's writes are visible, and later header writes
   * are atomic. Anywhere else only the bits are read, never cells a sweeper may be wiping. */
  if (atomic_load_explicit(&b->handle->free_listed, memory_order_acquire))
    return !hc_is_poisoned(p) &&
           hc_state_is_object(atomic_load_explicit(&hc_header_of(p)->state, memory_order_relaxed));
  return hc_block_cell_is_marked(heap, b, p) || hc_block_cell_is_newly(heap, b, p);
}

/* The checked calls and weak references read mark versions and block state a collection writes:
 * without heap access (the owner reads its own has_access freely) they answer as for a pointer
 * to nothing, never racing with the collector. */
bool hc_is_live_object(hc_mutator_t *m, const void *p) {
  if (!m || !p || !m->has_access) return false;
  hc_heap_t *heap = m->heap;
  pthread_mutex_lock(&heap->blockset_lock);
  bool live = hc_lookup_live_cell_locked(heap, p);
  pthread_mutex_unlock(&heap->blockset_lock);
  return live;
}

hc_status_t hc_load_checked(hc_mutator_t *m, hc_object_t *obj, uint32_t slot, hc_object_t **out) {
  if (!m || !obj || !out) return HC_ERR_INVALID_ARGUMENT;
  if (!m->has_access) return HC_ERR_WRONG_STATE;
  if (!hc_is_live_object(m, obj)) return HC_ERR_NOT_A_CELL;
  if (slot >= hc_header_of(obj)->nslots) return HC_ERR_SLOT_OUT_OF_RANGE;
  *out = hc_load(obj, slot);
  return HC_OK;
}

hc_status_t hc_store_checked(hc_mutator_t *m, hc_object_t *obj, uint32_t slot, hc_object_t *value) {
  if (!m || !obj) return HC_ERR_INVALID_ARGUMENT;
  if (!m->has_access) return HC_ERR_WRONG_STATE;
  if (!hc_is_live_object(m, obj)) return HC_ERR_NOT_A_CELL;
  if (slot >= hc_header_of(obj)->nslots) return HC_ERR_SLOT_OUT_OF_RANGE;
  if (value && !hc_is_live_object(m, value)) return HC_ERR_NOT_A_CELL;
  hc_store(m, obj, slot, value);
  return HC_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Weak references
 * ------------------------------------------------------------------------------------------- */

hc_status_t hc_weak_create(hc_mutator_t *m, hc_object_t *target, hc_weak_t **out) {
  if (!m || !target || !out) return HC_ERR_INVALID_ARGUMENT;
  if (!m->has_access) return HC_ERR_WRONG_STATE;
  if (!hc_is_live_object(m, target)) return HC_ERR_NOT_A_CELL;
  hc_weak_t *w = calloc(1, sizeof *w);
  if (!w) return HC_ERR_OUT_OF_MEMORY;
  atomic_store_explicit(&w->target, target, memory_order_relaxed);
  hc_heap_t *heap = m->heap;
  pthread_mutex_lock(&heap->weak_lock);
  w->next = heap->weak_list;
  if (w->next) w->next->prev = w;
  heap->weak_list = w;
  pthread_mutex_unlock(&heap->weak_lock);
  *out = w;
  return HC_OK;
}

hc_object_t *hc_weak_get(const hc_weak_t *w) {
  return w ? atomic_load_explicit(&w->target, memory_order_relaxed) : NULL;
}

hc_status_t hc_weak_destroy(hc_mutator_t *m, hc_weak_t *w) {
  if (!m || !w) return HC_ERR_INVALID_ARGUMENT;
  if (!m->has_access) return HC_ERR_WRONG_STATE;
  hc_heap_t *heap = m->heap;
  pthread_mutex_lock(&heap->weak_lock);
  if (w->prev)
    w->prev->next = w->next;
  else
    heap->weak_list = w->next;
  if (w->next) w->next->prev = w->prev;
  pthread_mutex_unlock(&heap->weak_lock);
  free(w);
  return HC_OK;
}
