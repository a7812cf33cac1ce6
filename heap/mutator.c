/* mutator.c: mutators, heap access, safepoints and the stop-the-world handshake, roots.
 *
 * Participants (attached mutators and any sweeper at work) either hold heap access or not;
 * heap->access_count counts those that do, under world_lock. A collector sets stop_requested and
 * waits until it is the only participant with access; every other one gives access up at its next
 * safepoint and waits for the stop to end. Giving up and retaking access under world_lock is what
 * orders the collector's work after the mutators' and theirs after it (for TSan as for the CPU).
 *
 * Under a fiber scheduler (a yield hook is set) the waits yield instead of blocking the one OS
 * thread that runs every fiber, so the scheduler can run the participants being waited for. */
#include "internal.h"

#include <stdlib.h>

hc_noinline bool hc_vec_grow(hc_vec_t *v) {
  size_t cap = v->capacity ? v->capacity * 2 : 16;
  void **items = realloc(v->items, cap * sizeof *items);
  if (!items) return false;
  v->items = items;
  v->capacity = cap;
  return true;
}

void hc_vec_free(hc_vec_t *v) {
  if (v->items) free(v->items); /* not free(NULL): ASan unwinds the stack even for that */
  memset(v, 0, sizeof *v);
}

/* Waits, with world_lock held, until no stop is requested. */
static void wait_while_stopped(hc_heap_t *heap, hc_mutator_t *m) {
  while (atomic_load_explicit(&heap->stop_requested, memory_order_relaxed)) {
    if (hc_has_scheduler(heap)) {
      pthread_mutex_unlock(&heap->world_lock);
      HC_YIELD(heap, HC_YP_ACCESS_WAIT, m);
      pthread_mutex_lock(&heap->world_lock);
    } else {
      pthread_cond_wait(&heap->world_cond, &heap->world_lock);
    }
  }
}

/* A participant (a mutator, or the sweeper as NULL) gives up / takes heap access; world_lock held.
 * Taking waits for any stop in progress to end. */
void hc_access_drop_locked(hc_heap_t *heap, hc_mutator_t *m) {
  if (m) m->has_access = false;
  heap->access_count--;
  pthread_cond_broadcast(&heap->world_cond); /* a collector may be waiting for this */
}

void hc_access_take_locked(hc_heap_t *heap, hc_mutator_t *m) {
  wait_while_stopped(heap, m);
  if (m) m->has_access = true;
  heap->access_count++;
}

void hc_safepoint(hc_mutator_t *m) {
  if (hc_unlikely(atomic_load_explicit(&m->heap->stop_requested, memory_order_acquire)))
    hc_safepoint_slow(m);
}

void hc_safepoint_slow(hc_mutator_t *m) {
  hc_heap_t *heap = m->heap;
  pthread_mutex_lock(&heap->world_lock);
  if (m->has_access && atomic_load_explicit(&heap->stop_requested, memory_order_relaxed)) {
    hc_access_drop_locked(heap, m);
    hc_access_take_locked(heap, m);
  }
  pthread_mutex_unlock(&heap->world_lock);
}

void hc_world_stop(hc_heap_t *heap, hc_mutator_t *self) {
  pthread_mutex_lock(&heap->world_lock);
  /* Another collector owns the world: park like any mutator, then take our turn. */
  while (heap->collecting) {
    if (self->has_access) {
      hc_access_drop_locked(heap, self);
      hc_access_take_locked(heap, self);
    } else {
      wait_while_stopped(heap, self);
    }
  }
  heap->collecting = true;
  atomic_store_explicit(&heap->stop_requested, 1, memory_order_release);
  hc_set_phase(heap, HC_PHASE_STOPPING, -1);
  uint32_t mine = self->has_access ? 1 : 0;
  while (heap->access_count > mine) {
    if (hc_has_scheduler(heap)) {
      pthread_mutex_unlock(&heap->world_lock);
      HC_YIELD(heap, HC_YP_SAFEPOINT_WAIT, self);
      pthread_mutex_lock(&heap->world_lock);
    } else {
      pthread_cond_wait(&heap->world_cond, &heap->world_lock);
    }
  }
  hc_set_phase(heap, HC_PHASE_STOPPED, -1);
  pthread_mutex_unlock(&heap->world_lock);
}

void hc_world_resume(hc_heap_t *heap) {
  pthread_mutex_lock(&heap->world_lock);
  heap->collecting = false;
  hc_set_phase(heap, HC_PHASE_NONE, -1);
  atomic_store_explicit(&heap->stop_requested, 0, memory_order_release);
  pthread_cond_broadcast(&heap->world_cond);
  if (heap->sweeper_running && heap->sweeper_has_work) pthread_cond_signal(&heap->sweeper_cond);
  pthread_mutex_unlock(&heap->world_lock);
}

hc_status_t hc_mutator_attach(hc_heap_t *heap, hc_mutator_t **out) {
  if (!heap || !out) return HC_ERR_INVALID_ARGUMENT;
  hc_mutator_t *m = calloc(1, sizeof *m);
  if (!m) return HC_ERR_OUT_OF_MEMORY;
  m->heap = heap;
  for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++)
    hc_allocator_init(&m->allocators[i], &heap->dirs[i]);
  pthread_mutex_lock(&heap->world_lock);
  hc_access_take_locked(heap, m); /* no joining a stopped world */
  m->id = ++heap->next_mutator_id;
  m->next = heap->mutators;
  heap->mutators = m;
  heap->mutator_count++;
  pthread_mutex_unlock(&heap->world_lock);
  hc_emit(heap, HC_EV_MUTATOR_ATTACHED, m->id, 0, 0, 0);
  *out = m;
  return HC_OK;
}

static void drop_allocators_at_detach(hc_mutator_t *m) {
#if defined(HC_INJECT_BUG_DETACH_KEEPS_BLOCK)
  /* INJECTED BUG detach-keeps-block: the allocators are dropped without stopping them, so each
   * current block stays claimed (in use) by a mutator that no longer exists: never swept, never
   * released, its free cells lost. */
  for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++) {
    m->allocators[i].current = NULL;
    hc_allocator_forget_last_active(m->heap, &m->allocators[i]);
  }
#else
  hc_mutator_drop_allocators(m);
#endif
}

hc_status_t hc_mutator_detach(hc_mutator_t *m) {
  if (!m) return HC_ERR_INVALID_ARGUMENT;
  hc_heap_t *heap = m->heap;
  if (!m->has_access) hc_mutator_acquire_access(m);
  /* With access held no collection runs, so this mutator's allocators are ours to tear down.
   * Teardown contract: no free list, no current block, no last-active block afterwards. */
  drop_allocators_at_detach(m);
  pthread_mutex_lock(&heap->world_lock);
  for (size_t i = 0; i < m->remembered.count; i++)
    if (!hc_vec_push(&heap->remembered, m->remembered.items[i]))
      HC_FATAL("out of memory keeping the remembered set");
  heap->detached_objects += m->objects_allocated;
  heap->detached_bytes += m->bytes_allocated;
  for (hc_mutator_t **p = &heap->mutators; *p; p = &(*p)->next) {
    if (*p == m) {
      *p = m->next;
      break;
    }
  }
  heap->mutator_count--;
  hc_access_drop_locked(heap, m);
  pthread_mutex_unlock(&heap->world_lock);
  hc_emit(heap, HC_EV_MUTATOR_DETACHED, m->id, 0, 0, 0);
  if (m->roots.slots) free(m->roots.slots);
  hc_vec_free(&m->remembered);
  free(m);
  return HC_OK;
}

uint32_t hc_mutator_id(const hc_mutator_t *m) {
  return m ? m->id : 0;
}

hc_heap_t *hc_mutator_heap(const hc_mutator_t *m) {
  return m ? m->heap : NULL;
}

hc_status_t hc_mutator_last_error(const hc_mutator_t *m) {
  return m ? m->last_error : HC_ERR_INVALID_ARGUMENT;
}

/* Gives back the current blocks and free lists (as a collection would: stop, then forget), so
 * nothing can be allocated without access and a mutator without access holds no block. A mutator
 * that stopped allocating itself keeps its pins: resume still owes those blocks a sweep. */
static void give_back_blocks(hc_mutator_t *m) {
  if (!m->allocation_stopped) hc_mutator_drop_allocators(m);
}

hc_status_t hc_mutator_release_access(hc_mutator_t *m) {
  if (!m) return HC_ERR_INVALID_ARGUMENT;
  hc_heap_t *heap = m->heap;
  if (m->has_access) give_back_blocks(m); /* only the owner writes has_access: no lock needed */
  pthread_mutex_lock(&heap->world_lock);
  hc_status_t st = HC_ERR_WRONG_STATE;
  if (m->has_access) {
    hc_access_drop_locked(heap, m);
    st = HC_OK;
  }
  pthread_mutex_unlock(&heap->world_lock);
  return st;
}

hc_status_t hc_mutator_acquire_access(hc_mutator_t *m) {
  if (!m) return HC_ERR_INVALID_ARGUMENT;
  hc_heap_t *heap = m->heap;
  pthread_mutex_lock(&heap->world_lock);
  hc_status_t st = HC_ERR_WRONG_STATE;
  if (!m->has_access) {
    hc_access_take_locked(heap, m);
    st = HC_OK;
  }
  pthread_mutex_unlock(&heap->world_lock);
  return st;
}

/* ---------------------------------------------------------------------------------------------
 * Roots
 * ------------------------------------------------------------------------------------------- */

/* Slow paths of the inline hc_root_push / hc_root_pop (heapcore.h): argument errors and growth. */
hc_status_t hc__root_push_slow(hc_mutator_t *m, hc_object_t **slot) {
  if (!m || !slot) return HC_ERR_INVALID_ARGUMENT;
  hc__root_stack_t *rs = &m->roots;
  if (rs->count == rs->capacity) {
    size_t cap = rs->capacity ? rs->capacity * 2 : 64;
    hc_object_t ***slots = realloc(rs->slots, cap * sizeof *slots);
    if (!slots) return HC_ERR_OUT_OF_MEMORY;
    rs->slots = slots;
    rs->capacity = cap;
  }
  rs->slots[rs->count++] = slot;
  return HC_OK;
}

hc_status_t hc__root_pop_slow(hc_mutator_t *m, size_t count) {
  if (!m) return HC_ERR_INVALID_ARGUMENT;
  if (count > m->roots.count) return HC_ERR_WRONG_STATE;
  m->roots.count -= count;
  return HC_OK;
}

_Static_assert(offsetof(hc_mutator_t, roots) == 0,
               "the inline hc_root_push reads a mutator's start");

hc_status_t hc_global_root_add(hc_mutator_t *m, hc_object_t **slot) {
  if (!m || !slot) return HC_ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&m->heap->roots_lock);
  bool ok = hc_vec_push(&m->heap->global_roots, slot);
  pthread_mutex_unlock(&m->heap->roots_lock);
  return ok ? HC_OK : HC_ERR_OUT_OF_MEMORY;
}

hc_status_t hc_global_root_remove(hc_mutator_t *m, hc_object_t **slot) {
  if (!m || !slot) return HC_ERR_INVALID_ARGUMENT;
  hc_vec_t *v = &m->heap->global_roots;
  hc_status_t st = HC_ERR_WRONG_STATE;
  pthread_mutex_lock(&m->heap->roots_lock);
  for (size_t i = v->count; i-- > 0;) {
    if (v->items[i] == (void *)slot) {
      /* Order-preserving: marking order, and so traces, depend only on the program. */
      memmove(&v->items[i], &v->items[i + 1], (v->count - i - 1) * sizeof v->items[0]);
      v->count--;
      st = HC_OK;
      break;
    }
  }
  pthread_mutex_unlock(&m->heap->roots_lock);
  return st;
}
