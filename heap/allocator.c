/* allocator.c: per-mutator local allocators (JSC's LocalAllocator).
 *
 * Fast path: bump inside the current free-list interval, write the header, count; nothing else.
 * Slow path, in order: take the next interval; retire the used-up block; poll the safepoint and
 * the collection trigger; refill by (1) claiming a can-allocate or empty block of this size class
 * and sweeping it into a free list, (2) stealing an empty block from another size class, (3)
 * creating a block (heap limit and fault injection apply; at the limit, one full collection and a
 * shrink run, then the refill is tried once more).
 *
 * Only the mutator's own thread touches its allocators, except the collector with the world
 * stopped. A block is touched only while this allocator holds its in-use bit (current) or its pin
 * (last-active, and then only to re-take it). */
#include "freelist.h"
#include "internal.h"


void hc_allocator_init(hc_local_allocator_t *la, hc_directory_t *dir) {
  /* la is zeroed already (its mutator is calloc'ed): a memset, which ASan range-checks through a
   * runtime call, made up a sixth of a heap's create-attach-detach-destroy cycle. */
  la->dir = dir;
  la->fl.cell_size = dir->cell_size;
  hc_free_list_clear(&la->fl);
}

static inline hc_object_t *init_cell(hc_mutator_t *m, hc_local_allocator_t *la, char *p,
                                     size_t size, uint32_t nslots, unsigned flags) {
#if defined(HC_DEBUG) && HC_DEBUG
  /* config.self_checks: the object fits the cell its size class gave it, checked where the cell
   * is handed out rather than where a neighbour's overlapping bytes are noticed. Debug builds
   * only: the fast path of a release build pays nothing for it. */
  if (hc_unlikely(size > la->fl.cell_size) && m->heap->config.self_checks)
    HC_FATAL("self-check: an object was given a cell smaller than its size");
#endif
  hc_unpoison(p, la->fl.cell_size);
  /* One store: size | nslots | flags | state NEW. Free cells are already zero (freelist.h), except
   * in scribble mode, where allocate_slow zeroes them and the fast path never runs. */
  hc_write_header(p, size, nslots, flags);
  if (hc_unlikely(flags & HC_FLAG_FINALIZE)) la->current->block->has_finalizable = 1;
  hc_count_allocation(m, size);
  m->last_error = HC_OK;
  return (hc_object_t *)p;
}

/* The block was used up: every cell is live, record that in its newly bits and give it back. */
static void retire_current(hc_heap_t *heap, hc_local_allocator_t *la) {
  hc_block_handle_t *h = la->current;
  hc_block_stop_allocating(heap, h, &la->fl);
  atomic_store_explicit(&h->free_listed, false, memory_order_relaxed);
  la->current = NULL;
  hc_directory_update(h->dir, h->index, HC_BITMASK(HC_BIT_ALLOCATED), HC_BITMASK(HC_BIT_IN_USE));
}

/* The caller holds h's in-use bit. Sweeps it into the allocator's free list; on success h becomes
 * current, otherwise (no free cell) it is given back as allocated. `fresh`: the free cells count
 * toward the collection trigger (not on resume, which hands back cells counted at the first take).
 */
static bool take_block(hc_heap_t *heap, hc_mutator_t *m, hc_local_allocator_t *la,
                       hc_block_handle_t *h, bool fresh) {
  HC_YIELD(heap, HC_YP_BLOCK_FOUND, m);
  hc_sweep_result_t r = hc_block_sweep(heap, h, &la->fl);
  if (r.free_cells == 0) {
    hc_free_list_clear(&la->fl);
    hc_directory_update(h->dir, h->index, HC_BITMASK(HC_BIT_ALLOCATED),
                        HC_BITMASK(HC_BIT_IN_USE) | HC_BITMASK(HC_BIT_UNSWEPT) |
                            HC_BITMASK(HC_BIT_EMPTY) | HC_BITMASK(HC_BIT_CAN_ALLOCATE));
    return false;
  }
  hc_directory_update(h->dir, h->index, HC_BITMASK(HC_BIT_EDEN),
                      HC_BITMASK(HC_BIT_UNSWEPT) | HC_BITMASK(HC_BIT_EMPTY) |
                          HC_BITMASK(HC_BIT_CAN_ALLOCATE));
  atomic_store_explicit(&h->free_listed, true, memory_order_release); /* see lookup */
  la->current = h;
  if (fresh)
    atomic_fetch_add_explicit(&heap->bytes_since_gc, (size_t)r.free_cells * h->cell_size,
                              memory_order_relaxed);
  return true;
}

/* Moves an empty block of another size class into this allocator's directory. */
static bool steal_block(hc_heap_t *heap, hc_mutator_t *m, hc_local_allocator_t *la,
                        hc_block_handle_t *h) {
  hc_directory_t *from = h->dir;
  HC_YIELD(heap, HC_YP_BLOCK_FOUND, m);
  hc_sweep_result_t r = hc_block_sweep(heap, h, NULL); /* finalizers of its dead cells run now */
  pthread_mutex_lock(&from->lock);
  bool may = r.live_cells == 0;
  if (!may) {
    hc_bit_clear(from->bits[HC_BIT_IN_USE], h->index);
    hc_bit_clear(from->bits[HC_BIT_UNSWEPT], h->index);
    hc_bit_assign(from->bits[HC_BIT_EMPTY], h->index, r.live_cells == 0);
  }
  pthread_mutex_unlock(&from->lock);
  if (!may) return false;
  hc_directory_remove(from, h->index);
  HC_YIELD(heap, HC_YP_BLOCK_UNLINKED, m);
  pthread_mutex_lock(&heap->blockset_lock); /* hc_is_live_object reads the geometry under it */
  hc_block_format(heap, h, la->dir->cell_size);
  pthread_mutex_unlock(&heap->blockset_lock);
  h->dir = la->dir;
  if (hc_directory_add(la->dir, h, HC_BITMASK(HC_BIT_IN_USE), NULL) == UINT32_MAX) {
    /* Could not grow the directory: the block goes back to the system instead. */
    atomic_fetch_add_explicit(&heap->stats.blocks_released, 1, memory_order_relaxed);
    hc_emit(heap, HC_EV_BLOCK_RELEASED, m->id, h->cell_size, h->serial, 0);
    hc_block_destroy(heap, h);
    return false;
  }
  atomic_fetch_add_explicit(&heap->stats.blocks_stolen, 1, memory_order_relaxed);
  hc_emit(heap, HC_EV_BLOCK_STOLEN, m->id, la->dir->cell_size, h->serial, from->cell_size);
  return take_block(heap, m, la, h, true);
}

static hc_status_t refill(hc_heap_t *heap, hc_mutator_t *m, hc_local_allocator_t *la) {
  bool collected = false;
  for (;;) {
    hc_block_query_t own = {HC_BITMASK(HC_BIT_CAN_ALLOCATE) | HC_BITMASK(HC_BIT_EMPTY),
                            HC_BITMASK(HC_BIT_PINNED)};
    hc_block_handle_t *h;
    while ((h = hc_directory_claim(la->dir, own, 0, &la->cursor)) != NULL)
      if (take_block(heap, m, la, h, true)) return HC_OK;

    hc_block_query_t empty = {HC_BITMASK(HC_BIT_EMPTY), HC_PROTECTED_BITS};
    uint32_t self = la->dir->class_index;
    for (uint32_t i = 1; i < HC_SIZE_CLASS_COUNT; i++) {
      hc_directory_t *d = &heap->dirs[(self + i) % HC_SIZE_CLASS_COUNT];
      while ((h = hc_directory_claim(d, empty, 0, NULL)) != NULL)
        if (steal_block(heap, m, la, h)) return HC_OK;
    }

    hc_status_t st;
    h = hc_block_create(heap, la->dir->cell_size, &st);
    if (h) {
      h->dir = la->dir;
      if (hc_directory_add(la->dir, h, HC_BITMASK(HC_BIT_IN_USE), &st) == UINT32_MAX) {
        hc_block_destroy(heap, h);
        return st;
      }
      hc_emit(heap, HC_EV_BLOCK_ACQUIRED, m->id, la->dir->cell_size, h->serial, 0);
      if (take_block(heap, m, la, h, true)) return HC_OK;
      continue;
    }
    if (st != HC_ERR_HEAP_LIMIT || collected) return st;
    /* At the limit: one full collection and a shrink may make room. */
    collected = true;
    hc_collect(m, HC_COLLECT_FULL);
    hc_shrink(m);
  }
}

hc_noinline static hc_object_t *allocate_slow(hc_mutator_t *m, hc_local_allocator_t *la,
                                              size_t size, uint32_t nslots, unsigned flags) {
  hc_heap_t *heap = m->heap;
  for (;;) {
    if (m->allocation_stopped) {
      m->last_error = HC_ERR_ALLOCATION_STOPPED;
      return NULL;
    }
    if (!m->has_access) {
      m->last_error = HC_ERR_WRONG_STATE;
      return NULL;
    }
    char *p = hc_free_list_pop(&la->fl);
    if (!p && la->current && hc_free_list_take_interval(&la->fl)) p = hc_free_list_pop(&la->fl);
    if (p) {
      if (la->fl.needs_zero) {
        /* All but the header: hc_is_live_object on another thread may read its state byte
         * (atomically, the block being free-listed), so init_cell writes the header with one
         * atomic store and a plain memset must not touch it. */
        hc_unpoison(p, la->fl.cell_size);
        memset(p + HC_HEADER_SIZE, 0, la->fl.cell_size - HC_HEADER_SIZE);
      }
      return init_cell(m, la, p, size, nslots, flags);
    }
    if (la->current) retire_current(heap, la);
    hc_safepoint(m);
    hc_collect_if_triggered(heap, m, 0);
    hc_status_t st = refill(heap, m, la);
    if (st != HC_OK) {
      m->last_error = st;
      return NULL;
    }
  }
}

static inline hc_object_t *allocate_small(hc_mutator_t *m, size_t size, uint32_t nslots,
                                          unsigned flags) {
  hc_local_allocator_t *la = &m->allocators[hc_size_class_index(size)];
  char *p = la->fl.cur;
  if (hc_unlikely(p >= la->fl.end || la->fl.needs_zero))
    return allocate_slow(m, la, size, nslots, flags);
  la->fl.cur = p + la->fl.cell_size;
  return init_cell(m, la, p, size, nslots, flags);
}

static inline bool is_simple_request(size_t size, uint32_t nslots) {
  return size - 1 < HC_MAX_CELL_SMALL &&
         (uint64_t)nslots * HC_SLOT_SIZE + HC_HEADER_SIZE <= (uint64_t)size;
}

hc_object_t *hc_allocate_generic(hc_mutator_t *m, size_t size, uint32_t nslots, unsigned flags) {
  hc_status_t err = HC_OK;
  if (m == NULL) return NULL;
  if (size == 0)
    err = HC_ERR_SIZE_ZERO;
  else if (size > HC_MAX_OBJECT)
    err = HC_ERR_SIZE_TOO_LARGE;
  else if (nslots > HC_MAX_SLOTS || (uint64_t)nslots * HC_SLOT_SIZE + HC_HEADER_SIZE > size)
    err = HC_ERR_TOO_MANY_SLOTS;
  else if (flags & ~(unsigned)HC_ALLOC_FINALIZE)
    err = HC_ERR_INVALID_ARGUMENT;
  else if (m->heap->config.heap_limit && size > m->heap->config.heap_limit)
    err = HC_ERR_SIZE_TOO_LARGE;
  if (err != HC_OK) {
    m->last_error = err;
    return NULL;
  }
  unsigned hflags = (flags & HC_ALLOC_FINALIZE) ? HC_FLAG_FINALIZE : 0;
  if (size > HC_MAX_CELL_SMALL) return hc_large_allocate(m, size, nslots, hflags);
  return allocate_small(m, size, nslots, hflags);
}

hc_object_t *hc_alloc(hc_mutator_t *m, size_t size, uint32_t nslots) {
  if (hc_unlikely(!is_simple_request(size, nslots) || m == NULL))
    return hc_allocate_generic(m, size, nslots, 0);
  return allocate_small(m, size, nslots, 0);
}

hc_object_t *hc_alloc_ex(hc_mutator_t *m, size_t size, uint32_t nslots, unsigned flags) {
  if (hc_likely(flags == 0 && is_simple_request(size, nslots) && m != NULL))
    return allocate_small(m, size, nslots, 0);
  return hc_allocate_generic(m, size, nslots, flags);
}

/* ---------------------------------------------------------------------------------------------
 * Stop, resume, forget (JSC's stopAllocating / resumeAllocating / prepareForAllocation)
 * ------------------------------------------------------------------------------------------- */

void hc_allocator_stop(hc_heap_t *heap, hc_mutator_t *m, hc_local_allocator_t *la) {
  hc_block_handle_t *h = la->current;
  if (!h) return;
  hc_block_stop_allocating(heap, h, &la->fl);
  atomic_store_explicit(&h->free_listed, false, memory_order_relaxed);
  uint32_t live = hc_block_count_live(heap, h);
  uint32_t set = HC_BITMASK(HC_BIT_PINNED);
  if (live == 0)
    set |= HC_BITMASK(HC_BIT_EMPTY);
  else if (live < h->cells)
    set |= HC_BITMASK(HC_BIT_CAN_ALLOCATE);
  hc_directory_update(h->dir, h->index, set, HC_BITMASK(HC_BIT_IN_USE));
  la->current = NULL;
  la->last_active = h;
  hc_emit(heap, HC_EV_ALLOCATOR_STOPPED, m ? m->id : 0, h->cell_size, h->serial, live);
}

void hc_allocator_resume(hc_heap_t *heap, hc_mutator_t *m, hc_local_allocator_t *la) {
  hc_block_handle_t *h = la->last_active;
  if (!h) return;
  la->last_active = NULL;
#if defined(HC_INJECT_BUG_RESUME_UNPIN_EARLY)
  /* INJECTED BUG resume-unpin-early (the allocator-versus-sweeper race of JSC's
   * LocalAllocator::tryAllocateIn crash): resume drops the pin first and claims the block only
   * after a yield, re-checking that the block still looks as stop left it (in its slot, empty or
   * allocatable: a release or another allocator's take would have changed that) but not that
   * nobody claimed it meanwhile. A shrink or sweep stopped at its claim of the block then
   * releases or sweeps the block this allocator allocates from. Two change points: resume
   * stopped in its window, the claimant stopped at its claim. */
  {
    hc_directory_t *bd = h->dir;
    uint32_t index = h->index;
    hc_directory_update(bd, index, 0, HC_BITMASK(HC_BIT_PINNED));
    HC_YIELD(heap, HC_YP_BLOCK_FOUND, m);
    pthread_mutex_lock(&bd->lock);
    bool as_left = index < bd->used && bd->slots[index] == h &&
                   (hc_bit_get(bd->bits[HC_BIT_EMPTY], index) ||
                    hc_bit_get(bd->bits[HC_BIT_CAN_ALLOCATE], index));
    if (as_left) {
      hc_bit_set(bd->bits[HC_BIT_IN_USE], index);
      hc_bit_clear(bd->bits[HC_BIT_EMPTY], index);
      hc_bit_clear(bd->bits[HC_BIT_CAN_ALLOCATE], index);
    }
    pthread_mutex_unlock(&bd->lock);
    if (!as_left) return; /* released or taken meanwhile: this allocator starts afresh */
    hc_emit(heap, HC_EV_ALLOCATOR_RESUMED, m ? m->id : 0, h->cell_size, h->serial, 0);
    take_block(heap, m, la, h, false);
    return;
  }
#endif
  /* The pin kept h alive and unclaimed since stop: re-take it and rebuild its free list. A claim
   * or a missing pin here means some path broke the protocol; sweeping on would use a block
   * someone else owns, so stop loudly. */
  hc_directory_t *d = h->dir;
  pthread_mutex_lock(&d->lock);
  if (hc_bit_get(d->bits[HC_BIT_IN_USE], h->index) || !hc_bit_get(d->bits[HC_BIT_PINNED], h->index))
    HC_FATAL("resume-allocating: the last-active block was claimed or unpinned behind its back");
  hc_bit_set(d->bits[HC_BIT_IN_USE], h->index);
  hc_bit_clear(d->bits[HC_BIT_PINNED], h->index);
  hc_bit_clear(d->bits[HC_BIT_EMPTY], h->index);
  hc_bit_clear(d->bits[HC_BIT_CAN_ALLOCATE], h->index);
  pthread_mutex_unlock(&d->lock);
  hc_emit(heap, HC_EV_ALLOCATOR_RESUMED, m ? m->id : 0, h->cell_size, h->serial, 0);
  take_block(heap, m, la, h, false);
}

void hc_allocator_forget_last_active(hc_heap_t *heap, hc_local_allocator_t *la) {
  (void)heap;
  hc_block_handle_t *h = la->last_active;
  if (!h) return;
  la->last_active = NULL;
  hc_directory_update(h->dir, h->index, 0, HC_BITMASK(HC_BIT_PINNED));
}

void hc_mutator_drop_allocators(hc_mutator_t *m) {
  for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++) {
    hc_allocator_stop(m->heap, m, &m->allocators[i]);
    hc_allocator_forget_last_active(m->heap, &m->allocators[i]);
  }
}

hc_status_t hc_mutator_stop_allocating(hc_mutator_t *m) {
  if (!m) return HC_ERR_INVALID_ARGUMENT;
  if (m->allocation_stopped || !m->has_access) return HC_ERR_WRONG_STATE;
  for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++)
    hc_allocator_stop(m->heap, m, &m->allocators[i]);
  m->allocation_stopped = true;
  HC_YIELD(m->heap, HC_YP_ALLOCATION_STOPPED, m);
  return HC_OK;
}

hc_status_t hc_mutator_resume_allocating(hc_mutator_t *m) {
  if (!m) return HC_ERR_INVALID_ARGUMENT;
  if (!m->allocation_stopped || !m->has_access) return HC_ERR_WRONG_STATE;
  for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++)
    hc_allocator_resume(m->heap, m, &m->allocators[i]);
  m->allocation_stopped = false;
  return HC_OK;
}
