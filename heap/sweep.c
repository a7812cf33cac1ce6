/* sweep.c: incremental sweeping, the background sweeper, releasing empty blocks (shrink).
 *
 * Every path here follows the ownership rule of internal.h: claim (set in-use under the directory
 * lock), work on the block with the lock dropped, then either unclaim with updated bits or
 * release. Release = remove from the directory (bits cleared, slot emptied, under one lock hold),
 * yield, then free. A pinned block (a stopped allocator's last-active) is never claimed here: its
 * allocator's resume will sweep it, and must find it where it left it (HC_PROTECTED_BITS). */
#include "internal.h"

/* The lock over a claimed block's directory bits when its sweep is recorded. */
#if defined(HC_INJECT_BUG_UNLOCKED_SWEEP_BITS)
/* INJECTED BUG unlocked-sweep-bits: the claim (our in-use bit) is taken to make the block's
 * bits ours alone, so they are written without the directory lock; but the bits of 64 blocks
 * share a word that other threads update under the lock: a data race, and lost updates. */
#  define hc_sweep_bits_lock(mutex)   ((void)(mutex))
#  define hc_sweep_bits_unlock(mutex) ((void)(mutex))
#else
#  define hc_sweep_bits_lock(mutex)   pthread_mutex_lock(mutex)
#  define hc_sweep_bits_unlock(mutex) pthread_mutex_unlock(mutex)
#endif

void hc_release_block(hc_heap_t *heap, hc_block_handle_t *h, hc_mutator_t *m) {
  hc_directory_remove(h->dir, h->index);
  HC_YIELD(heap, HC_YP_BLOCK_UNLINKED, m);
#if defined(HC_INJECT_BUG_REMOVE_BLOCK_ORDER)
  hc_directory_clear_bits(h->dir, h->index); /* the injected order's second half */
#endif
  atomic_fetch_add_explicit(&heap->stats.blocks_released, 1, memory_order_relaxed);
  hc_emit(heap, HC_EV_BLOCK_RELEASED, m ? m->id : 0, h->cell_size, h->serial, 0);
  hc_block_destroy(heap, h);
}

void hc_release_large(hc_heap_t *heap, hc_large_t *l, hc_mutator_t *m) {
  hc_directory_remove(&heap->large_dir, l->index);
  HC_YIELD(heap, HC_YP_BLOCK_UNLINKED, m);
  hc_emit(heap, HC_EV_LARGE_RELEASED, m ? m->id : 0, (uint32_t)l->cell_bytes, l->serial, 0);
  hc_large_destroy(heap, l);
}

/* After sweeping a claimed block (or large object): record the result; release it if it is empty
 * and `release` asks for it and nothing protects it; otherwise unclaim. */
static bool finish_sweep(hc_heap_t *heap, hc_directory_t *d, uint32_t index, void *owner,
                         hc_sweep_result_t r, bool release, hc_mutator_t *m) {
  bool empty = r.live_cells == 0;
  hc_sweep_bits_lock(&d->lock);
  hc_bit_clear(d->bits[HC_BIT_UNSWEPT], index);
  hc_bit_assign(d->bits[HC_BIT_EMPTY], index, empty);
  hc_bit_assign(d->bits[HC_BIT_CAN_ALLOCATE], index,
                !empty && r.free_cells > 0 && !hc_bit_get(d->bits[HC_BIT_MARKING_RETIRED], index));
  bool do_release = empty && release;
  if (!do_release) hc_bit_clear(d->bits[HC_BIT_IN_USE], index);
  hc_sweep_bits_unlock(&d->lock);
  if (!do_release) return false;
  if (d->cell_size)
    hc_release_block(heap, owner, m);
  else
    hc_release_large(heap, owner, m);
  return true;
}

static hc_sweep_result_t sweep_owner(hc_heap_t *heap, hc_directory_t *d, void *owner) {
  return d->cell_size ? hc_block_sweep(heap, owner, NULL) : hc_large_sweep(heap, owner);
}

static uint32_t owner_index(hc_directory_t *d, void *owner) {
  return d->cell_size ? ((hc_block_handle_t *)owner)->index : ((hc_large_t *)owner)->index;
}


/* Claims the next unswept block no one holds, round-robin over the directories. */
static void *claim_unswept(hc_heap_t *heap, hc_directory_t **dir_out) {
  hc_block_query_t q = {HC_BITMASK(HC_BIT_UNSWEPT), HC_PROTECTED_BITS};
  pthread_mutex_lock(&heap->sweep_lock);
  uint32_t start = heap->sweep_dir_cursor;
  for (uint32_t k = 0; k <= HC_SIZE_CLASS_COUNT; k++) {
    uint32_t i = (start + k) % (HC_SIZE_CLASS_COUNT + 1);
    hc_directory_t *d = hc_directory_at(heap, i);
    void *owner = hc_directory_claim(d, q, 0, &heap->sweep_cursors[i]);
    if (owner) {
      heap->sweep_dir_cursor = i;
      pthread_mutex_unlock(&heap->sweep_lock);
      *dir_out = d;
      return owner;
    }
  }
  pthread_mutex_unlock(&heap->sweep_lock);
  return NULL;
}

/* The incremental sweep's next claim. */
typedef struct sweep_lookahead {
  hc_directory_t *dir;
  uint32_t index;
} sweep_lookahead_t;

#if defined(HC_INJECT_BUG_SWEEP_STALE_LOOKAHEAD)
/* INJECTED BUG sweep-stale-lookahead: a sweep of several blocks looks for its next unswept block
 * before yielding at the one it holds, and claims what it saw afterwards by index: still
 * unswept, it re-checks, but not that nobody claimed it meanwhile. A claimant stopped at its
 * claim of that block (a shrink, a steal, an allocator) then finds it swept and released under
 * it. Two change points: the sweep stopped at its claim, the other thread stopped at its own. */
static void *claim_next_unswept(hc_heap_t *heap, hc_directory_t **dir_out, sweep_lookahead_t *a) {
  void *owner = NULL;
  if (a->dir) {
    hc_block_query_t q = {HC_BITMASK(HC_BIT_UNSWEPT), HC_PROTECTED_BITS};
    owner = hc_directory_claim_index(a->dir, q, a->index, NULL);
    if (owner) *dir_out = a->dir;
    a->dir = NULL;
  }
  return owner ? owner : claim_unswept(heap, dir_out);
}

static void look_ahead_unswept(hc_heap_t *heap, hc_directory_t *d, sweep_lookahead_t *a) {
  hc_block_query_t q = {HC_BITMASK(HC_BIT_UNSWEPT), HC_PROTECTED_BITS};
  pthread_mutex_lock(&heap->sweep_lock);
  uint32_t start = heap->sweep_cursors[heap->sweep_dir_cursor];
  pthread_mutex_unlock(&heap->sweep_lock);
  uint32_t index = hc_directory_peek(d, q, start);
  *a = (sweep_lookahead_t){index == UINT32_MAX ? NULL : d, index};
}
#else
static void *claim_next_unswept(hc_heap_t *heap, hc_directory_t **dir_out, sweep_lookahead_t *a) {
  (void)a;
  return claim_unswept(heap, dir_out);
}

static void look_ahead_unswept(hc_heap_t *heap, hc_directory_t *d, sweep_lookahead_t *a) {
  (void)heap, (void)d, (void)a;
}
#endif

/* Sweeps up to max_blocks on behalf of m (a mutator holding access) or of the sweeper (m NULL,
 * holding sweeper access). Returns how many it swept. Stops early if a collection is requested:
 * the caller parks between blocks, never while holding a claim. */
size_t hc_sweep_some(hc_heap_t *heap, hc_mutator_t *m, size_t max_blocks) {
  size_t swept = 0;
  sweep_lookahead_t ahead = {NULL, UINT32_MAX};
  while (swept < max_blocks) {
    if (atomic_load_explicit(&heap->stop_requested, memory_order_acquire)) {
      if (!m) break;
      hc_safepoint_slow(m);
    }
    hc_directory_t *d;
    void *owner = claim_next_unswept(heap, &d, &ahead);
    if (!owner) break;
    if (swept + 1 < max_blocks) look_ahead_unswept(heap, d, &ahead);
    HC_YIELD(heap, HC_YP_BLOCK_FOUND, m);
    hc_sweep_result_t r = sweep_owner(heap, d, owner);
    finish_sweep(heap, d, owner_index(d, owner), owner, r, heap->config.release_empty_blocks, m);
    swept++;
    if (!m) HC_YIELD(heap, HC_YP_SWEEPER_LOOP, NULL);
  }
  return swept;
}

size_t hc_sweep_step(hc_mutator_t *m, size_t max_blocks) {
  if (!m || !m->has_access) return 0;
  return hc_sweep_some(m->heap, m, max_blocks);
}

size_t hc_sweep_all(hc_mutator_t *m) {
  size_t total = 0, n;
  while ((n = hc_sweep_step(m, 64)) > 0)
    total += n;
  return total;
}

#if defined(HC_INJECT_BUG_SHRINK_STALE_LOOKAHEAD)
/* INJECTED BUG shrink-stale-lookahead: shrink looks for its next empty block before yielding at
 * the one it holds, and claims what it saw afterwards by index: still empty, it re-checks, but
 * not that nobody claimed it meanwhile. A sweep stopped at its claim of that block then sweeps
 * a block shrink released. Two change points: shrink stopped at its claim, the sweep stopped at
 * its own. */
static void *claim_empty(hc_directory_t *d, hc_block_query_t q, uint32_t *cursor, uint32_t *ahead) {
  void *owner = *ahead == UINT32_MAX ? NULL : hc_directory_claim_index(d, q, *ahead, cursor);
  *ahead = UINT32_MAX;
  return owner ? owner : hc_directory_claim(d, q, 0, cursor);
}

static void look_ahead_empty(hc_directory_t *d, hc_block_query_t q, uint32_t cursor,
                             uint32_t *ahead) {
  *ahead = hc_directory_peek(d, q, cursor);
}
#else
static void *claim_empty(hc_directory_t *d, hc_block_query_t q, uint32_t *cursor, uint32_t *ahead) {
  (void)ahead;
  return hc_directory_claim(d, q, 0, cursor);
}

static void look_ahead_empty(hc_directory_t *d, hc_block_query_t q, uint32_t cursor,
                             uint32_t *ahead) {
  (void)d, (void)q, (void)cursor, (void)ahead;
}
#endif

size_t hc_shrink(hc_mutator_t *m) {
  if (!m || !m->has_access) return 0;
  hc_heap_t *heap = m->heap;
  size_t released = 0;
  hc_block_query_t q = {HC_BITMASK(HC_BIT_EMPTY), HC_PROTECTED_BITS};
  for (uint32_t i = 0; i <= HC_SIZE_CLASS_COUNT; i++) {
    hc_directory_t *d = hc_directory_at(heap, i);
    pthread_mutex_lock(&d->lock);
    uint32_t slots = d->used;
    pthread_mutex_unlock(&d->lock);
    uint32_t cursor = 0, ahead = UINT32_MAX;
    void *owner;
    /* Each claim moves the cursor past the slot it found; stop after one pass over the slots. */
    for (uint32_t seen = 0; seen < slots && (owner = claim_empty(d, q, &cursor, &ahead)); seen++) {
      uint32_t index = owner_index(d, owner);
      if (seen + 1 < slots) look_ahead_empty(d, q, cursor, &ahead);
      HC_YIELD(heap, HC_YP_BLOCK_FOUND, m);
      hc_sweep_result_t r = {0, 1};
      if (hc_directory_test(d, index, HC_BIT_UNSWEPT))
        r = sweep_owner(heap, d, owner); /* finalizers of its dead cells run before release */
      if (finish_sweep(heap, d, index, owner, r, true, m)) released++;
    }
  }
  return released;
}

/* ---------------------------------------------------------------------------------------------
 * The background sweeper
 * ------------------------------------------------------------------------------------------- */

/* One iteration of the sweeper's loop as a participant: take access, sweep, give it back. */
size_t hc_sweeper_run_step(hc_heap_t *heap, size_t max_blocks) {
  if (!heap) return 0;
  pthread_mutex_lock(&heap->world_lock);
  hc_access_take_locked(heap, NULL);
  pthread_mutex_unlock(&heap->world_lock);

  size_t n = hc_sweep_some(heap, NULL, max_blocks);

  pthread_mutex_lock(&heap->world_lock);
  hc_access_drop_locked(heap, NULL);
  if (n == 0 && !atomic_load_explicit(&heap->stop_requested, memory_order_relaxed))
    heap->sweeper_has_work = false;
  pthread_mutex_unlock(&heap->world_lock);
  return n;
}

static void *sweeper_main(void *arg) {
  hc_heap_t *heap = arg;
  pthread_mutex_lock(&heap->world_lock);
  for (;;) {
    while (!heap->sweeper_quit && !heap->sweeper_has_work)
      pthread_cond_wait(&heap->sweeper_cond, &heap->world_lock);
    if (heap->sweeper_quit) break;
    pthread_mutex_unlock(&heap->world_lock);
    hc_sweeper_run_step(heap, 8);
    pthread_mutex_lock(&heap->world_lock);
  }
  pthread_mutex_unlock(&heap->world_lock);
  return NULL;
}

hc_status_t hc_sweeper_start(hc_heap_t *heap) {
  if (!heap) return HC_ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&heap->world_lock);
  if (heap->sweeper_running) {
    pthread_mutex_unlock(&heap->world_lock);
    return HC_ERR_WRONG_STATE;
  }
  heap->sweeper_running = true;
  heap->sweeper_quit = false;
  heap->sweeper_has_work = true;
  pthread_mutex_unlock(&heap->world_lock);
  if (pthread_create(&heap->sweeper_thread, NULL, sweeper_main, heap) != 0) {
    pthread_mutex_lock(&heap->world_lock);
    heap->sweeper_running = false;
    pthread_mutex_unlock(&heap->world_lock);
    return HC_ERR_OUT_OF_MEMORY;
  }
  return HC_OK;
}

hc_status_t hc_sweeper_stop(hc_heap_t *heap) {
  if (!heap) return HC_ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&heap->world_lock);
  if (!heap->sweeper_running) {
    pthread_mutex_unlock(&heap->world_lock);
    return HC_ERR_WRONG_STATE;
  }
  heap->sweeper_quit = true;
  pthread_cond_signal(&heap->sweeper_cond);
  pthread_mutex_unlock(&heap->world_lock);
  pthread_join(heap->sweeper_thread, NULL);
  pthread_mutex_lock(&heap->world_lock);
  heap->sweeper_running = false;
  pthread_mutex_unlock(&heap->world_lock);
  return HC_OK;
}
