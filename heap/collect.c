/* collect.c: the stop-the-world collector: full and eden collections, write barrier, weak
 * references, end-of-marking directory updates (JSC's Heap::collect and MarkedSpace::endMarking).
 *
 * Phases (each boundary is a yield point and a traced event):
 *   stopped     every other participant parked; every allocator stopped (newly bits flushed,
 *               last-active pinned); remembered buffers gathered; roots judged live by the bits
 *               and set aside (gather_roots), while the bits are still exact.
 *   marking     full: bump the mark version (all marks become stale at once) and trace from the
 *               roots. eden: keep marks (sticky: an old object stays marked and is not traced
 *               again), trace from the roots and from the remembered objects' slots.
 *   end marking clear weak references to unmarked targets; recompute each directory's empty,
 *               can-allocate, unswept, eden and allocated bits; bump the newly version; forget
 *               last-active blocks of allocators the collector itself stopped.
 * The write barrier keeps eden collections sound: a store of a young object into an old one puts
 * the old one in the remembered set, so an old object pointing at a young one keeps it alive.
 *
 * Everything here except hc_collect and the barrier runs with the world stopped, on the
 * collecting thread. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

/* Next version after v, with a hard reset of every block on wraparound: a block untouched for a
 * whole cycle of versions would otherwise read its ancient bits as current. */
static uint8_t next_version(hc_heap_t *heap, uint8_t v, bool is_mark) {
  if (v < heap->config.version_limit) return (uint8_t)(v + 1);
  atomic_fetch_add_explicit(&heap->stats.version_wraps, 1, memory_order_relaxed);
#if defined(HC_INJECT_BUG_VERSION_WRAP)
  /* INJECTED BUG version-wrap: the counter wraps without the hard reset, so a block whose bits
   * were last written a whole cycle ago reads them as current. */
  (void)is_mark;
  return 1;
#endif
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT; c++) {
    hc_directory_t *d = &heap->dirs[c];
    for (uint32_t i = 0; i < d->used; i++) {
      hc_block_handle_t *h = d->slots[i];
      if (!h) continue;
      if (is_mark)
        h->block->mark_version = 0;
      else
        atomic_store_explicit(&h->block->newly_version, 0, memory_order_relaxed);
    }
  }
  for (uint32_t i = 0; i < heap->large_dir.used; i++) {
    hc_large_t *l = heap->large_dir.slots[i];
    if (!l) continue;
    if (is_mark)
      l->mark_version = 0;
    else
      atomic_store_explicit(&l->newly_version, 0, memory_order_relaxed);
  }
  return 1;
}

/* config.self_checks: right after a wraparound every block's version is 0 (the hard reset), so no
 * block reads bits a whole cycle old as current; checked where the reset happens, rather than
 * waiting for whichever stale bit a later collection or sweep trips over first. */
static void check_version_reset(hc_heap_t *heap, bool is_mark) {
  bool stale = false;
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT && !stale; c++) {
    hc_directory_t *d = &heap->dirs[c];
    for (uint32_t i = 0; i < d->used && !stale; i++) {
      hc_block_handle_t *h = d->slots[i];
      if (h)
        stale =
            (is_mark ? h->block->mark_version
                     : atomic_load_explicit(&h->block->newly_version, memory_order_relaxed)) != 0;
    }
  }
  for (uint32_t i = 0; i < heap->large_dir.used && !stale; i++) {
    hc_large_t *l = heap->large_dir.slots[i];
    if (l)
      stale = (is_mark ? l->mark_version
                       : atomic_load_explicit(&l->newly_version, memory_order_relaxed)) != 0;
  }
  if (stale) HC_FATAL("self-check: a version wraparound left a block's bits current (no reset)");
}

/* next_version, and on a wraparound the self-check of its reset. */
static uint8_t advance_version(hc_heap_t *heap, uint8_t v, bool is_mark) {
  uint8_t next = next_version(heap, v, is_mark);
  if (heap->config.self_checks && next < v) check_version_reset(heap, is_mark);
  return next;
}

bool hc_cell_is_marked(const hc_heap_t *heap, const void *cell) {
  if (hc_is_large_cell(cell)) return hc_large_is_marked(heap, hc_large_of(cell));
  return hc_block_cell_is_marked(heap, hc_block_of(cell), cell);
}

/* Marks obj if it is not marked yet and queues it for scanning. Marking touches only the block
 * header (bits, counts, cell size), never the object: its header is read when it is scanned,
 * after drain() has prefetched it. */
static inline void mark(hc_heap_t *heap, hc_object_t *obj) {
  uint32_t cell_bytes;
  if (hc_unlikely(hc_is_large_cell(obj))) {
    hc_large_t *l = hc_large_of(obj);
    if (l->mark_version != heap->mark_version) {
      l->mark_version = heap->mark_version;
      l->marked = 0;
    }
    if (l->marked) return;
    l->marked = 1;
    hc_directory_update(&heap->large_dir, l->index, HC_BITMASK(HC_BIT_MARKING_NOT_EMPTY), 0);
    cell_bytes = (uint32_t)l->cell_bytes;
  } else {
    hc_block_t *b = hc_block_of(obj);
    if (hc_unlikely(b->mark_version != heap->mark_version)) {
      for (int i = 0; i < HC_BITMAP_WORDS; i++) /* lazy clear, first touch this cycle */
        atomic_store_explicit(&b->marks[i], 0, memory_order_relaxed);
      b->mark_version = heap->mark_version;
      b->marked_cells = 0;
    }
    uint32_t atom = hc_atom_index(b, obj);
    uint64_t word = atomic_load_explicit(&b->marks[atom / 64], memory_order_relaxed);
    uint64_t bit = 1ull << (atom % 64);
    if (word & bit) return;
    atomic_store_explicit(&b->marks[atom / 64], word | bit, memory_order_relaxed);
    if (hc_unlikely(b->marked_cells++ == 0)) /* first mark in this block this cycle */
      hc_directory_update(b->handle->dir, b->handle->index, HC_BITMASK(HC_BIT_MARKING_NOT_EMPTY),
                          0);
    cell_bytes = b->cell_size;
  }
  heap->live_bytes += cell_bytes;
  heap->live_objects++;
  if (!hc_vec_push(&heap->mark_stack, obj)) HC_FATAL("out of memory growing the mark stack");
}

/* Makes a young object old (the barrier's trigger) and marks its referents. Objects already old
 * are not written, so a full collection does not dirty the whole old generation. */
static inline void scan(hc_heap_t *heap, hc_object_t *obj) {
  hc_header_t *hdr = hc_header_of(obj);
  if (atomic_load_explicit(&hdr->state, memory_order_relaxed) == HC_STATE_NEW)
    atomic_store_explicit(&hdr->state, HC_STATE_OLD, memory_order_relaxed);
  uint32_t n = hdr->nslots;
  _Atomic(hc_object_t *) *slots = hc_slots_of(obj);
  for (uint32_t i = 0; i < n; i++) {
    hc_object_t *child = atomic_load_explicit(&slots[i], memory_order_relaxed);
    if (child) mark(heap, child);
  }
}

/* Scans the mark stack to empty. Popped objects wait in a small FIFO ring, prefetched, before they
 * are scanned: with a plain LIFO the next object scanned is the one just pushed, and every header
 * read would be a cache miss in series (Cher, Hosking and Vijaykumar's prefetch-on-grey). */
#define HC_PREFETCH_RING 8u

static void drain(hc_heap_t *heap) {
  hc_object_t *ring[HC_PREFETCH_RING];
  uint32_t head = 0, n = 0;
  hc_vec_t *stack = &heap->mark_stack;
  for (;;) {
    if (stack->count > 0) {
      hc_object_t *obj = stack->items[--stack->count];
      __builtin_prefetch(obj, 1);
      if (n < HC_PREFETCH_RING) {
        ring[(head + n++) % HC_PREFETCH_RING] = obj;
        continue;
      }
      hc_object_t *oldest = ring[head];
      ring[head] = obj;
      head = (head + 1) % HC_PREFETCH_RING;
      scan(heap, oldest);
    } else if (n > 0) {
      hc_object_t *oldest = ring[head];
      head = (head + 1) % HC_PREFETCH_RING;
      n--;
      scan(heap, oldest);
    } else {
      return;
    }
  }
}

/* Roots are user memory. A slot holding anything but a live object of this heap (a foreign or
 * interior pointer, or a stale handle to an object a collection already found dead) is skipped
 * and counted (hc_stats_t.bad_roots): following it would revive a dead object whose referents
 * may already be swept. Liveness is judged with the world stopped and allocators stopped (so no
 * block is free-listed and the bits are exact), before a full collection invalidates the marks;
 * the valid roots wait in heap->root_scratch until marking starts. */
static void gather_root(hc_heap_t *heap, hc_object_t *obj) {
  if (!obj) return;
  if (!hc_lookup_live_cell_locked(heap, obj)) {
    atomic_fetch_add_explicit(&heap->stats.bad_roots, 1, memory_order_relaxed);
    return;
  }
  if (!hc_vec_push(&heap->root_scratch, obj)) HC_FATAL("out of memory gathering roots");
}

static void gather_roots(hc_heap_t *heap) {
  heap->root_scratch.count = 0;
  pthread_mutex_lock(&heap->blockset_lock);
  for (hc_mutator_t *m = heap->mutators; m; m = m->next)
    for (size_t i = 0; i < m->roots.count; i++)
      gather_root(heap, *m->roots.slots[i]);
  pthread_mutex_lock(&heap->roots_lock);
  for (size_t i = 0; i < heap->global_roots.count; i++)
    gather_root(heap, *(hc_object_t **)heap->global_roots.items[i]);
  pthread_mutex_unlock(&heap->roots_lock);
  pthread_mutex_unlock(&heap->blockset_lock);
}

static void mark_roots(hc_heap_t *heap) {
  for (size_t i = 0; i < heap->root_scratch.count; i++) {
    mark(heap, heap->root_scratch.items[i]);
    drain(heap);
  }
  heap->root_scratch.count = 0;
}

static void gather_remembered(hc_heap_t *heap) {
  for (hc_mutator_t *m = heap->mutators; m; m = m->next) {
    for (size_t i = 0; i < m->remembered.count; i++)
      if (!hc_vec_push(&heap->remembered, m->remembered.items[i]))
        HC_FATAL("out of memory gathering the remembered set");
    m->remembered.count = 0;
  }
}

/* Is a weak reference's target dead at the end of marking? */
static bool weak_target_dead(const hc_heap_t *heap, const hc_object_t *t) {
#if defined(HC_INJECT_BUG_WEAK_NOT_CLEARED)
  /* INJECTED BUG weak-not-cleared: dead targets are kept, so a weak reference to a dead object
   * survives the collection and hands out its freed cell. */
  (void)heap;
  (void)t;
  return false;
#else
  return t && !hc_cell_is_marked(heap, t);
#endif
}

static void clear_weak_references(hc_heap_t *heap) {
  pthread_mutex_lock(&heap->weak_lock);
  for (hc_weak_t *w = heap->weak_list; w; w = w->next) {
    hc_object_t *t = atomic_load_explicit(&w->target, memory_order_relaxed);
    if (weak_target_dead(heap, t)) {
      atomic_store_explicit(&w->target, NULL, memory_order_relaxed);
      atomic_fetch_add_explicit(&heap->stats.weak_cleared, 1, memory_order_relaxed);
    }
  }
  pthread_mutex_unlock(&heap->weak_lock);
}

/* JSC's endMarking + snapshotUnswept: one pass over each directory's bit words. */
static void end_marking_directory(hc_heap_t *heap, hc_directory_t *d, bool full) {
  pthread_mutex_lock(&d->lock);
  if (d->cell_size) {
    /* Retired: so full of marked cells that sweeping it for allocation is not worth it. */
    for (uint32_t i = 0; i < d->used; i++) {
      hc_block_handle_t *h = d->slots[i];
      bool retired =
          h && h->block->mark_version == heap->mark_version &&
          (uint64_t)h->block->marked_cells * h->cell_size * 10 > (uint64_t)HC_BLOCK_PAYLOAD * 9;
      hc_bit_assign(d->bits[HC_BIT_MARKING_RETIRED], i, retired);
    }
  }
  uint32_t words = hc_bitvec_words(d->used);
  for (uint32_t w = 0; w < words; w++) {
    uint32_t live = d->bits[HC_BIT_LIVE][w];
    uint32_t not_empty = d->bits[HC_BIT_MARKING_NOT_EMPTY][w];
    HC_ASSERT((d->bits[HC_BIT_IN_USE][w] & live) == 0);
    d->bits[HC_BIT_EMPTY][w] = live & ~not_empty;
    d->bits[HC_BIT_CAN_ALLOCATE][w] = live & not_empty & ~d->bits[HC_BIT_MARKING_RETIRED][w];
    if (full)
      d->bits[HC_BIT_UNSWEPT][w] = live;
    else
      d->bits[HC_BIT_UNSWEPT][w] = (d->bits[HC_BIT_UNSWEPT][w] | d->bits[HC_BIT_EDEN][w]) & live;
    d->bits[HC_BIT_EDEN][w] = 0;
    d->bits[HC_BIT_ALLOCATED][w] = 0;
  }
  pthread_mutex_unlock(&d->lock);
}

static void begin_full_marking(hc_heap_t *heap) {
  heap->mark_version = advance_version(heap, heap->mark_version, true);
  for (uint32_t c = 0; c <= HC_SIZE_CLASS_COUNT; c++) {
    hc_directory_t *d = hc_directory_at(heap, c);
    pthread_mutex_lock(&d->lock);
    for (uint32_t w = 0; w < hc_bitvec_words(d->used); w++) {
      d->bits[HC_BIT_MARKING_NOT_EMPTY][w] = 0;
      d->bits[HC_BIT_MARKING_RETIRED][w] = 0;
    }
    pthread_mutex_unlock(&d->lock);
  }
  /* Every remembered object is re-examined by full marking anyway. */
  for (size_t i = 0; i < heap->remembered.count; i++)
    atomic_store_explicit(&hc_header_of(heap->remembered.items[i])->state, HC_STATE_OLD,
                          memory_order_relaxed);
  heap->remembered.count = 0;
  heap->live_bytes = 0;
  heap->live_objects = 0;
}

static void mark_remembered(hc_heap_t *heap) {
  for (size_t i = 0; i < heap->remembered.count; i++) {
    hc_object_t *obj = heap->remembered.items[i];
    scan(heap, obj);
    drain(heap);
    atomic_store_explicit(&hc_header_of(obj)->state, HC_STATE_OLD, memory_order_relaxed);
  }
  heap->remembered.count = 0;
}

void hc_stop_all_allocators(hc_heap_t *heap) {
#if defined(HC_INJECT_BUG_NO_STOP_ALLOCATING)
  /* INJECTED BUG no-stop-allocating: the collection leaves every allocator's free list and
   * current block as they are: cells allocated since the block was swept are not recorded as
   * newly allocated, and the block stays claimed through marking and the sweep set. */
  (void)heap;
  return;
#endif
  for (hc_mutator_t *m = heap->mutators; m; m = m->next) {
    if (m->allocation_stopped) continue;
    for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++)
      hc_allocator_stop(heap, m, &m->allocators[i]);
    m->world_stopped_allocators = true;
  }
}

void hc_resume_all_allocators(hc_heap_t *heap) {
  for (hc_mutator_t *m = heap->mutators; m; m = m->next) {
    if (!m->world_stopped_allocators) continue;
    for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++)
      hc_allocator_resume(heap, m, &m->allocators[i]);
    m->world_stopped_allocators = false;
  }
}

/* prepareForAllocation: the collector's own stops end by forgetting, not resuming. Mutators that
 * stopped themselves keep their pinned last-active blocks until they resume. */
static void prepare_for_allocation(hc_heap_t *heap) {
  for (hc_mutator_t *m = heap->mutators; m; m = m->next) {
    if (!m->world_stopped_allocators) continue;
    for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++)
      hc_allocator_forget_last_active(heap, &m->allocators[i]);
    m->world_stopped_allocators = false;
  }
}

static void phase(hc_heap_t *heap, hc_phase_t p, hc_collection_kind_t kind, hc_mutator_t *self) {
  hc_set_phase(heap, p, (int)kind);
  HC_YIELD(heap, HC_YP_COLLECTOR_PHASE, self);
}

/* config.self_checks: the whole heap verified while the world is still stopped, before any
 * mutator can allocate into what the collection freed. A collection that frees a reachable
 * object (a missed write barrier, a root not scanned) is then reported as the dangling reference
 * it leaves, here, rather than as whatever a later allocation into the freed cell looks like. */
static void check_collection(hc_heap_t *heap) {
  char why[384], msg[448];
  if (hc_verify_stopped(heap, why, sizeof why) == HC_OK) return;
  snprintf(msg, sizeof msg, "self-check: after a collection: %s", why);
  hc_fatal(__FILE__, __LINE__, msg);
}

/* The adaptive trigger: the heap may hold (1 + HC_GC_HEAP_GROWTH / 100) times what the last full
 * collection found live (`live_full`) before the next collection, and allocation may take what
 * `live_now` (the bytes this collection left marked) leaves of that, at least HC_GC_MIN_TRIGGER.
 * After a full collection that is live_full * HC_GC_HEAP_GROWTH / 100; each eden collection
 * shrinks it by what it promoted (JavaScriptCore's eden budget: max heap size minus the size
 * after the last collection), so the old generation and the young one together stay within the
 * bound until a full collection measures again. An eden collection's own count cannot size the
 * bound: it counts every old object as live, garbage promoted just before it died included (a
 * stretch tree, a replaced chain), and a bound sized on garbage lets the heap grow on it. */
static size_t adaptive_trigger(uint64_t live_full, uint64_t live_now) {
  uint64_t bound = live_full + live_full / 100u * HC_GC_HEAP_GROWTH +
                   live_full % 100u * HC_GC_HEAP_GROWTH / 100u;
  uint64_t budget = bound > live_now ? bound - live_now : 0;
  if (budget < HC_GC_MIN_TRIGGER) return HC_GC_MIN_TRIGGER;
  return budget > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)budget;
}

size_t hc_initial_trigger(const hc_config_t *config) {
  return config->gc_trigger_bytes == HC_GC_TRIGGER_ADAPTIVE ? HC_GC_MIN_TRIGGER
                                                            : config->gc_trigger_bytes;
}

void hc_collect_stopped(hc_heap_t *heap, hc_collection_kind_t kind, hc_mutator_t *self) {
  bool full = kind == HC_COLLECT_FULL;
  phase(heap, HC_PHASE_STOPPED, kind, self);
  hc_stop_all_allocators(heap);
  gather_remembered(heap);
  gather_roots(heap);

  phase(heap, HC_PHASE_MARKING, kind, self);
  if (full) begin_full_marking(heap);
  mark_roots(heap);
  if (!full) mark_remembered(heap);
  HC_ASSERT(heap->mark_stack.count == 0);

  phase(heap, HC_PHASE_END_MARKING, kind, self);
  clear_weak_references(heap);
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT; c++)
    end_marking_directory(heap, &heap->dirs[c], full);
  end_marking_directory(heap, &heap->large_dir, full);
  uint8_t nv = advance_version(
      heap, atomic_load_explicit(&heap->newly_version, memory_order_relaxed), false);
  atomic_store_explicit(&heap->newly_version, nv, memory_order_relaxed);
  prepare_for_allocation(heap);
  atomic_store_explicit(&heap->bytes_since_gc, 0, memory_order_relaxed);
  if (full) heap->live_after_full = heap->live_bytes;
  if (heap->config.gc_trigger_bytes == HC_GC_TRIGGER_ADAPTIVE)
    atomic_store_explicit(&heap->gc_trigger,
                          adaptive_trigger(heap->live_after_full, heap->live_bytes),
                          memory_order_relaxed);
  atomic_store_explicit(&heap->published_live_bytes, heap->live_bytes, memory_order_relaxed);
  atomic_store_explicit(&heap->published_live_objects, heap->live_objects, memory_order_relaxed);
  atomic_fetch_add_explicit(full ? &heap->full_collections : &heap->eden_collections, 1,
                            memory_order_relaxed);

  if (heap->config.self_checks) check_collection(heap);
  phase(heap, HC_PHASE_RESUMING, kind, self);
  pthread_mutex_lock(&heap->world_lock);
  heap->sweeper_has_work = true;
  pthread_mutex_unlock(&heap->world_lock);
}

/* With the adaptive trigger, an eden collection that would trace from a quarter or more of the
 * old generation (its remembered set: old objects stored into since the last collection) is run
 * as a full one: it would cost about as much, and only a full one frees old garbage. A large
 * heap mutated at random remembers most of itself between collections (bench's graph workload:
 * 8 eden collections took about half its collector time, and all-full collections ran it in 930
 * CPU ms against 1240). The world is stopped: every mutator's remembered set can be read. */
static bool adaptive_wants_full(const hc_heap_t *heap) {
  uint64_t remembered = heap->remembered.count;
  for (const hc_mutator_t *m = heap->mutators; m; m = m->next)
    remembered += m->remembered.count;
  return remembered > 0 && remembered * 4 >= heap->live_objects;
}

/* Full when counting says so (every Nth) or when eden collections have promoted enough since the
 * last full one (JSC sizes its heap the same way: a budget proportional to the old generation,
 * a full collection when eden collections have eaten into it). */
static hc_collection_kind_t automatic_kind(hc_heap_t *heap) {
  const hc_config_t *c = &heap->config;
  heap->auto_collections++;
  if (c->full_gc_every == 0 && c->full_gc_growth == 0) return HC_COLLECT_FULL;
  if (c->full_gc_every && heap->auto_collections % c->full_gc_every == 0) return HC_COLLECT_FULL;
  if (c->gc_trigger_bytes == HC_GC_TRIGGER_ADAPTIVE && adaptive_wants_full(heap))
    return HC_COLLECT_FULL;
  if (c->full_gc_growth) {
    /* The floor keeps an almost empty old generation from making every collection full. */
    uint64_t floor =
        c->gc_trigger_bytes == HC_GC_TRIGGER_ADAPTIVE ? HC_GC_MIN_TRIGGER : c->gc_trigger_bytes;
    uint64_t base = heap->live_after_full > floor ? heap->live_after_full : floor;
    uint64_t promoted = heap->live_bytes - heap->live_after_full;
    if (promoted * 100 >= base * c->full_gc_growth) return HC_COLLECT_FULL;
  }
  return HC_COLLECT_EDEN;
}

void hc_collect_if_triggered(hc_heap_t *heap, hc_mutator_t *m, size_t incoming) {
  size_t trigger = atomic_load_explicit(&heap->gc_trigger, memory_order_relaxed);
  if (trigger == 0 ||
      atomic_load_explicit(&heap->bytes_since_gc, memory_order_relaxed) + incoming < trigger)
    return;
  hc_world_stop(heap, m);
  /* Another mutator may have collected while we waited (and moved an adaptive trigger):
   * re-check with the world stopped. */
  trigger = atomic_load_explicit(&heap->gc_trigger, memory_order_relaxed);
  if (atomic_load_explicit(&heap->bytes_since_gc, memory_order_relaxed) + incoming >= trigger)
    hc_collect_stopped(heap, automatic_kind(heap), m);
  hc_world_resume(heap);
}

hc_status_t hc_collect(hc_mutator_t *m, hc_collection_kind_t kind) {
  if (!m || (kind != HC_COLLECT_EDEN && kind != HC_COLLECT_FULL)) return HC_ERR_INVALID_ARGUMENT;
  if (!m->has_access) return HC_ERR_WRONG_STATE;
  hc_world_stop(m->heap, m);
  hc_collect_stopped(m->heap, kind, m);
  hc_world_resume(m->heap);
  return HC_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Write barrier
 * ------------------------------------------------------------------------------------------- */

/* obj is old and just got a reference to a young object: remember it. The CAS makes exactly one
 * of several racing mutators push it. */
void hc__write_barrier_slow(hc_mutator_t *m, hc_object_t *obj) {
#if defined(HC_INJECT_BUG_MISSING_BARRIER)
  /* INJECTED BUG missing-barrier: the store is not recorded, so an eden collection never looks
   * at the old object, and frees the young one it alone holds. */
  (void)m;
  (void)obj;
  return;
#endif
  uint8_t expected = HC_STATE_OLD;
  if (atomic_compare_exchange_strong_explicit(&hc_header_of(obj)->state, &expected,
                                              HC_STATE_REMEMBERED, memory_order_relaxed,
                                              memory_order_relaxed)) {
    if (!hc_vec_push(&m->remembered, obj)) HC_FATAL("out of memory growing the remembered set");
  }
}
