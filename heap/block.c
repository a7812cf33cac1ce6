/* block.c: 16 KiB blocks: creation, formatting, liveness bits and sweeping (JSC's MarkedBlock and
 * MarkedBlock::Handle).
 *
 * Liveness of a cell in a block that no allocator is free-listing, with the world not collecting:
 *   live = (marks[cell] && block.mark_version == heap.mark_version)
 *       || (newly[cell] && block.newly_version == heap.newly_version)
 * Marks record what the last collections found reachable. Newly bits record what was allocated
 * since the last collection; they are written only when an allocator lets go of a block (stop
 * allocating: every cell not on the free list; retiring a used-up block: every cell), never on the
 * allocation fast path. Every collection bumps the newly version, so its marks alone then speak.
 * Sweeping is a pure function of these bits plus one side effect per dead cell, done once: run the
 * finalizer, then zero (or scribble) and poison the cell so its state byte reads FREE. */
#include "freelist.h"
#include "internal.h"

#include <stdlib.h>

static uint32_t cells_for(uint32_t cell_size) {
  return (uint32_t)(HC_BLOCK_PAYLOAD / cell_size);
}

void hc_block_format(hc_heap_t *heap, hc_block_handle_t *h, uint32_t cell_size) {
  hc_block_t *b = h->block;
  (void)heap;
  h->cell_size = cell_size;
  h->cells = cells_for(cell_size);
  b->cell_size = (uint16_t)cell_size;
  h->cell_starts = hc_cell_starts[hc_size_class_index(cell_size)];
  atomic_store_explicit(&h->free_listed, false, memory_order_relaxed);
  b->handle = h;
  b->mark_version = 0; /* 0 is never a heap version: no marks, no newly bits */
  atomic_store_explicit(&b->newly_version, 0, memory_order_relaxed);
  b->has_finalizable = 0;
  b->marked_cells = 0;
  for (int i = 0; i < HC_BITMAP_WORDS; i++) {
    atomic_store_explicit(&b->marks[i], 0, memory_order_relaxed);
    atomic_store_explicit(&b->newly[i], 0, memory_order_relaxed);
  }
  if (!b->pristine) {
    char *payload = hc_block_first_cell(b);
    hc_unpoison(payload, HC_BLOCK_PAYLOAD);
    memset(payload, 0, HC_BLOCK_PAYLOAD);
    b->pristine = 1;
  }
  hc_poison(hc_block_first_cell(b), HC_BLOCK_PAYLOAD);
}

hc_block_handle_t *hc_block_create(hc_heap_t *heap, uint32_t cell_size, hc_status_t *status) {
  *status = hc_reserve_memory(heap, HC_BLOCK_SIZE);
  if (*status != HC_OK) return NULL;
  hc_status_t why;
  hc_block_handle_t *h = hc_fault_point(heap, &why) ? NULL : calloc(1, sizeof *h);
  void *mem = h ? hc_block_memory_alloc(heap, &why) : NULL;
  if (!mem) {
    free(h);
    hc_unreserve_memory(heap, HC_BLOCK_SIZE);
    *status = why;
    return NULL;
  }
  hc_block_t *b = mem;
  /* The pool hands the block out still poisoned (sanitizer.h): a read of it before this point is
   * a use-after-poison report. The header is unpoisoned as it is zeroed here; pristine stays 0, so
   * hc_block_format unpoisons and zeroes the payload, then poisons it again as free cells. */
  hc_unpoison(b, HC_BLOCK_HEADER_SIZE);
  memset(b, 0, HC_BLOCK_HEADER_SIZE);
  h->block = b;
  h->serial = hc_next_serial(heap);
  hc_block_format(heap, h, cell_size);
  /* Published only once formatted: hc_is_live_object on another thread finds blocks in the block
   * set (under blockset_lock, so this unlock orders the format before its reads) and follows the
   * header's handle at once. Entered before the format (issue 13's bug 1), a stale pointer into
   * the block read the pool's link word as the handle. */
  pthread_mutex_lock(&heap->blockset_lock);
  bool added = !hc_fault_point(heap, &why) && hc_blockset_add(&heap->blockset, (uintptr_t)mem);
  pthread_mutex_unlock(&heap->blockset_lock);
  if (!added) {
    hc_block_memory_free(heap, mem);
    free(h);
    hc_unreserve_memory(heap, HC_BLOCK_SIZE);
    *status = why;
    return NULL;
  }
  HC_YIELD(heap, HC_YP_BLOCK_PUBLISHED, NULL);
  return h;
}

/* Frees the block's memory and handle; the caller removed it from its directory. */
void hc_block_destroy(hc_heap_t *heap, hc_block_handle_t *h) {
  hc_block_t *b = h->block;
  pthread_mutex_lock(&heap->blockset_lock);
  hc_blockset_remove(&heap->blockset, (uintptr_t)b);
  pthread_mutex_unlock(&heap->blockset_lock);
  hc_block_memory_free(heap, b); /* poisons the whole block: any later use is a report */
  free(h);
  hc_unreserve_memory(heap, HC_BLOCK_SIZE);
}

void hc_block_live_bits(const hc_heap_t *heap, hc_block_t *b, uint64_t live[HC_BITMAP_WORDS]) {
  bool marks_valid = b->mark_version == heap->mark_version;
  bool newly_valid = atomic_load_explicit(&b->newly_version, memory_order_relaxed) ==
                     atomic_load_explicit(&heap->newly_version, memory_order_relaxed);
  for (int i = 0; i < HC_BITMAP_WORDS; i++) {
    uint64_t w = 0;
    if (marks_valid) w |= atomic_load_explicit(&b->marks[i], memory_order_relaxed);
    if (newly_valid) w |= atomic_load_explicit(&b->newly[i], memory_order_relaxed);
    live[i] = w;
  }
}

bool hc_block_cell_is_marked(const hc_heap_t *heap, hc_block_t *b, const void *cell) {
  return b->mark_version == heap->mark_version &&
         hc_atomic_bit_get(b->marks, hc_atom_index(b, cell));
}

bool hc_block_cell_is_newly(const hc_heap_t *heap, hc_block_t *b, const void *cell) {
  return atomic_load_explicit(&b->newly_version, memory_order_relaxed) ==
             atomic_load_explicit(&heap->newly_version, memory_order_relaxed) &&
         hc_atomic_bit_get(b->newly, hc_atom_index(b, cell));
}

bool hc_block_cell_index(const hc_block_handle_t *h, const void *p, uint32_t *index) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)h->block;
  if (off < HC_BLOCK_HEADER_SIZE) return false;
  off -= HC_BLOCK_HEADER_SIZE;
  if (off % h->cell_size != 0 || off / h->cell_size >= h->cells) return false;
  *index = (uint32_t)(off / h->cell_size);
  return true;
}

/* A dead cell that still holds an object (was allocated, not yet swept). Under ASan free cells
 * are poisoned, so the poison check comes first and doubles as the answer. */
static inline bool cell_holds_object(const char *cell) {
  if (hc_is_poisoned(cell)) return false;
  return hc_state_is_object(
      atomic_load_explicit(&hc_header_of((const hc_object_t *)cell)->state, memory_order_relaxed));
}

static void kill_cell(hc_heap_t *heap, char *cell, uint32_t size) {
  hc_header_t *hdr = hc_header_of((hc_object_t *)cell);
  if ((hdr->flags & HC_FLAG_FINALIZE) && heap->config.finalizer)
    hc_run_finalizer(heap, (hc_object_t *)cell);
  memset(cell, heap->config.scribble ? HC_SCRIBBLE_BYTE : 0, size);
  hc_poison(cell, size);
}

hc_sweep_result_t hc_block_sweep(hc_heap_t *heap, hc_block_handle_t *h, hc_free_list_t *fl) {
  hc_block_t *b = h->block;
  const uint32_t size = h->cell_size, cells = h->cells;
  /* Counted first: a locked add after the memset below would wait for its stores to drain. */
  atomic_fetch_add_explicit(&heap->stats.blocks_swept, 1, memory_order_relaxed);
  char *first = hc_block_first_cell(b);
  uint64_t live[HC_BITMAP_WORDS];
  hc_block_live_bits(heap, b, live);
  uint64_t any = 0;
  for (int i = 0; i < HC_BITMAP_WORDS; i++)
    any |= live[i];

  hc_sweep_result_t r = {0, 0};
  hc_free_list_builder_t builder;
  builder.count = 0;

  if (any == 0 && !b->has_finalizable) {
    /* Entirely dead: one interval, one memset (skipped when nothing was allocated since). */
    if (!b->pristine || heap->config.scribble) {
      hc_unpoison(first, cells * size);
      memset(first, heap->config.scribble ? HC_SCRIBBLE_BYTE : 0, (size_t)cells * size);
      hc_poison(first, cells * size);
    }
    b->pristine = !heap->config.scribble;
    r.free_cells = cells;
    hc_free_list_builder_add(&builder, (uint32_t)HC_BLOCK_HEADER_SIZE, cells * size);
  } else {
    /* A word of cell-start bits at a time. The free intervals are the stretches between live
     * cells, one builder entry each; dead cells are visited, in address order, only to kill those
     * still holding an object; live cells are read only for their finalize flag, while one may
     * remain. */
    bool still_finalizable = false;
    uint32_t free_from = (uint32_t)HC_BLOCK_HEADER_SIZE;
    for (int w = 0; w < HC_BITMAP_WORDS; w++) {
      uint64_t starts = h->cell_starts[w];
      for (uint64_t alive = live[w] & starts; alive; alive &= alive - 1) {
        uint32_t off = (uint32_t)(w * 64 + __builtin_ctzll(alive)) * HC_ATOM_SIZE;
        if (off > free_from) hc_free_list_builder_add(&builder, free_from, off - free_from);
        free_from = off + size;
        r.live_cells++;
        if (b->has_finalizable && !still_finalizable)
          still_finalizable =
              (hc_header_of((hc_object_t *)((char *)b + off))->flags & HC_FLAG_FINALIZE) != 0;
      }
      for (uint64_t dead = starts & ~live[w]; dead; dead &= dead - 1) {
        char *cell = (char *)b + (size_t)(w * 64 + __builtin_ctzll(dead)) * HC_ATOM_SIZE;
        if (cell_holds_object(cell)) kill_cell(heap, cell, size);
      }
    }
    uint32_t payload_end = (uint32_t)HC_BLOCK_HEADER_SIZE + cells * size;
    if (payload_end > free_from)
      hc_free_list_builder_add(&builder, free_from, payload_end - free_from);
    r.free_cells = cells - r.live_cells;
    b->has_finalizable = still_finalizable;
    b->pristine = r.live_cells == 0 && !heap->config.scribble;
  }

  if (fl) {
    hc_free_list_finish(fl, &builder, (char *)b, hc_block_secret(heap, h));
    fl->cell_size = size;
    fl->needs_zero = heap->config.scribble;
    b->pristine = 0; /* the allocator will write into it */
  }
  hc_emit(heap, HC_EV_BLOCK_SWEPT, 0, size, h->serial, fl != NULL);
  return r;
}

/* Flushes an abandoned free list into the newly bits (JSC's stopAllocating): every cell not on the
 * free list is live, so set all, then clear the free ones. Consumed heads are zeroed as we go. */
void hc_block_stop_allocating(hc_heap_t *heap, hc_block_handle_t *h, hc_free_list_t *fl) {
  hc_block_t *b = h->block;
  uint8_t v = atomic_load_explicit(&heap->newly_version, memory_order_relaxed);
  for (int i = 0; i < HC_BITMAP_WORDS; i++)
    atomic_store_explicit(&b->newly[i], h->cell_starts[i], memory_order_relaxed);
  for (;;) { /* an interval's atoms hold only its free cells' starts */
    if (fl->cur < fl->end)
      hc_atomic_bits_clear_range(b->newly, hc_atom_index(b, fl->cur), hc_atom_index(b, fl->end));
    if (!hc_free_list_take_interval(fl)) break;
  }
  hc_free_list_clear(fl);
  atomic_store_explicit(&b->newly_version, v, memory_order_relaxed);
}

uint32_t hc_block_count_live(const hc_heap_t *heap, hc_block_handle_t *h) {
  hc_block_t *b = h->block;
  uint64_t live[HC_BITMAP_WORDS];
  hc_block_live_bits(heap, b, live);
  uint32_t n = 0;
  for (int i = 0; i < HC_BITMAP_WORDS; i++)
    n += (uint32_t)__builtin_popcountll(live[i] & h->cell_starts[i]);
  return n;
}

/* Heap teardown: every remaining finalizable object is finalized once. */
void hc_block_finalize_all(hc_heap_t *heap, hc_block_handle_t *h) {
  if (!h->block->has_finalizable || !heap->config.finalizer) return;
  char *first = hc_block_first_cell(h->block);
  for (uint32_t i = 0; i < h->cells; i++) {
    char *cell = first + (size_t)i * h->cell_size;
    if (cell_holds_object(cell) && (hc_header_of((hc_object_t *)cell)->flags & HC_FLAG_FINALIZE))
      hc_run_finalizer(heap, (hc_object_t *)cell);
  }
  h->block->has_finalizable = 0;
}
