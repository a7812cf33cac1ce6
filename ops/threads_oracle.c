/* threads_oracle.c: real-thread mode's oracle (ops/threads.h): findings, the heap's hooks, the
 * per-thread checks while the threads run, and the exact checks at the join. See threads.c for
 * why each check is sound with free-running threads. */
#include "threads.h"

#include "finding.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

_Thread_local worker_t *thr_current_worker;

void *thr_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) {
    fputs("heapfuzz: out of memory\n", stderr);
    abort();
  }
  return p;
}

/* ---------------------------------------------------------------------------------------------
 * Findings
 * ------------------------------------------------------------------------------------------- */

void thr_finding(worker_t *w, const char *invariant, const char *fmt, ...) {
  run_t *r = w->run;
  if (w->failed) return;
  w->failed = true;
  bool first = false;
  if (!atomic_compare_exchange_strong(&r->reported, &first, true)) { /* not the first */
    atomic_store_explicit(&r->stop, true, memory_order_relaxed);
    return;
  }
  ops_run_result_t *res = r->res;
  va_list ap;
  va_start(ap, fmt);
  ops_record_finding(res, w->op_index, w->op, w->stage, w->name, invariant, fmt, ap);
  va_end(ap);
  char line[sizeof res->message + 32];
  snprintf(line, sizeof line, "heapfuzz: finding: %s\n", res->message);
  fputs(line, r->out);
  /* A mutator with access stops the world for a consistent dump. Without one, the dump reads
   * unsynchronized: safe on the checker (every other thread is joined; after hc_heap_destroy
   * there is nothing left to dump), racy on the sweeper, whose dump waits for the join. The
   * other threads are told to stop only after the dump: stopping, they detach, and detaching
   * from a broken heap may crash before the dump is out. */
  if (w != &r->checker && !w->m) {
    r->dump_pending = true;
  } else {
    if (r->heap) hc_heap_dump(r->heap, w->m, r->out);
    fflush(r->out);
    if (r->opt->abort_on_finding) abort();
  }
  atomic_store_explicit(&r->stop, true, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------------------------
 * Heap hooks (called inside heap calls, from any thread)
 * ------------------------------------------------------------------------------------------- */

static const char *const event_names[HC_EV_COUNT] = {
    "block-acquired",  "block-swept",      "block-released",    "block-stolen",
    "large-allocated", "large-released",   "allocator-stopped", "allocator-resumed",
    "phase",           "mutator-attached", "mutator-detached",
};

void thr_on_event(void *ctx, const hc_event_t *ev) {
  run_t *r = ctx;
  if (ev->kind == HC_EV_PHASE && ev->arg == HC_PHASE_RESUMING) {
    atomic_fetch_add_explicit(&r->collections, 1, memory_order_relaxed);
    if (ev->cell_size == HC_COLLECT_FULL)
      atomic_fetch_add_explicit(&r->full_collections, 1, memory_order_relaxed);
  }
  if (r->opt->trace) { /* one write per line, no lock of ours inside heap calls */
    char line[160];
    snprintf(line, sizeof line, "  event %s mutator=%u size=%u block=%llu arg=%llu\n",
             (unsigned)ev->kind < HC_EV_COUNT ? event_names[ev->kind] : "?", ev->mutator,
             ev->cell_size, (unsigned long long)ev->block, (unsigned long long)ev->arg);
    fputs(line, r->out);
  }
}

/* Every object a program allocates has a header like this (ops allocate at most 32 slots and
 * OPS_MAX_OBJECT - 1 bytes), whichever thread allocated it. */
static bool plausible_header(const hc_object_t *obj) {
  size_t size = hc_object_size(obj);
  uint32_t nslots = hc_object_slot_count(obj);
  return nslots <= 32 && size >= HC_HEADER_SIZE + (size_t)nslots * HC_SLOT_SIZE &&
         size < OPS_MAX_OBJECT;
}

void thr_on_finalize(hc_object_t *obj, void *ctx) {
  (void)ctx;
  worker_t *w = thr_current_worker;
  if (!w) abort(); /* every heap call runs on a worker or the checker */
  w->finalized++;
  if (!plausible_header(obj) && !w->bad_finalizer[0])
    snprintf(w->bad_finalizer, sizeof w->bad_finalizer, "header size %zu slots %u",
             hc_object_size(obj), hc_object_slot_count(obj));
  if (w->record_finalized) {
    run_t *r = w->run;
    if (r->nfinalized_ptrs == r->cap_finalized_ptrs) {
      r->cap_finalized_ptrs = r->cap_finalized_ptrs ? r->cap_finalized_ptrs * 2 : 64;
      r->finalized_ptrs = realloc(r->finalized_ptrs, r->cap_finalized_ptrs * sizeof(uintptr_t));
      if (!r->finalized_ptrs) abort();
    }
    r->finalized_ptrs[r->nfinalized_ptrs++] = (uintptr_t)obj;
  }
  uint32_t idx = model_find(&w->model, obj);
  if (idx == MODEL_NONE) return;
  /* One of this thread's own objects: judged after the op, once the collection that found it
   * dead (inside the same heap call, maybe) is settled. */
  if (w->nfinalized == w->cap_finalized) {
    w->cap_finalized = w->cap_finalized ? w->cap_finalized * 2 : 64;
    w->finalized_objs = realloc(w->finalized_objs, w->cap_finalized * sizeof(uint32_t));
    if (!w->finalized_objs) abort();
  }
  w->finalized_objs[w->nfinalized++] = idx;
}

/* ---------------------------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------------------------- */

void thr_verify(worker_t *w, hc_mutator_t *m, const char *when) {
  char msg[384];
  hc_status_t st = hc_heap_verify(m, msg, sizeof msg);
  if (st != HC_OK) thr_finding(w, "verify", "after %s: %s (%s)", when, msg, hc_status_name(st));
}

/* Object idx of `owner`'s model against the heap, checked by w through mutator m. */
void thr_check_object(worker_t *w, hc_mutator_t *m, const worker_t *owner, uint32_t idx) {
  const model_t *md = &owner->model;
  const model_obj_t *o = &md->objs[idx];
  if (!hc_is_live_object(m, o->ptr)) {
    thr_finding(w, "reachable object lost", "%s object #%u is not a live cell", owner->name, idx);
    return;
  }
  if (hc_object_size(o->ptr) != o->size || hc_object_slot_count(o->ptr) != o->nslots) {
    thr_finding(w, "object header changed", "%s object #%u: size %zu slots %u, model %u / %u",
                owner->name, idx, hc_object_size(o->ptr), hc_object_slot_count(o->ptr), o->size,
                o->nslots);
    return;
  }
  if (!model_payload_apply(hc_object_payload(o->ptr), hc_object_payload_size(o->ptr), idx, o->seed,
                           true)) {
    thr_finding(w, "payload changed", "%s object #%u", owner->name, idx);
    return;
  }
  for (uint32_t s = 0; s < o->nslots; s++) {
    hc_object_t *want = o->slots[s] == MODEL_NONE ? NULL : md->objs[o->slots[s]].ptr;
    if (hc_load(o->ptr, s) != want) {
      thr_finding(w, "reference changed", "%s object #%u slot %u", owner->name, idx, s);
      return;
    }
  }
}

void thr_reach_from_handles(worker_t *w) {
  model_reach(&w->model, w->handle_obj, OPS_HANDLES);
}

void thr_check_reachable(worker_t *w) {
  thr_reach_from_handles(w);
  for (uint32_t i = 0; i < w->model.count && !w->failed; i++)
    if (w->model.objs[i].reachable) thr_check_object(w, w->m, w, i);
}

/* After collections (any_full: at least one full) that ran while this thread was parked in its
 * last heap call: the handles then were the handles now. */
static void after_collection(worker_t *w, bool any_full) {
  model_t *md = &w->model;
  thr_check_reachable(w);
  for (uint32_t s = 0; s < OPS_WEAK_SLOTS && !w->failed; s++) {
    if (!w->weak[s] || w->weak_obj[s] == MODEL_NONE) continue;
    const model_obj_t *o = &md->objs[w->weak_obj[s]];
    hc_object_t *t = hc_weak_get(w->weak[s]);
    if (o->reachable && t != o->ptr)
      thr_finding(w, "weak reference to a reachable object cleared", "weak %u", s);
    else if (!o->reachable && any_full && t != NULL)
      thr_finding(w, "weak reference to a dead object survived a full collection", "weak %u", s);
    else if (t == NULL)
      w->weak_obj[s] = MODEL_NONE;
  }
  /* Unreachable objects may be gone now; a weak reference may still hand back one that an eden
   * collection left in place (op_weak_get revives it). */
  for (uint32_t i = 0; i < md->count; i++)
    if (md->objs[i].alive && !md->objs[i].reachable) model_kill(md, i);
}

/* Brings the model up to date with the collections counted since it last was. Call right after
 * every heap call that may park, before the op changes a handle. */
void thr_settle(worker_t *w) {
  run_t *r = w->run;
  uint64_t c = atomic_load_explicit(&r->collections, memory_order_relaxed);
  uint64_t f = atomic_load_explicit(&r->full_collections, memory_order_relaxed);
  if (c == w->seen) return;
  bool any_full = f != w->seen_full;
  w->seen = c;
  w->seen_full = f;
  if (!w->failed) after_collection(w, any_full);
}

/* What the finalizer recorded during the op, judged now that the model is settled. */
void thr_check_finalized(worker_t *w) {
  if (w->bad_finalizer[0])
    thr_finding(w, "finalizer called for a non-object", "%s", w->bad_finalizer);
  w->bad_finalizer[0] = '\0';
  for (uint32_t i = 0; i < w->nfinalized && !w->failed; i++)
    if (w->model.objs[w->finalized_objs[i]].alive)
      thr_finding(w, "finalizer ran for a live object", "object #%u", w->finalized_objs[i]);
  w->nfinalized = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Iteration
 * ------------------------------------------------------------------------------------------- */

/* Runs with the world stopped (the allocating threads are parked): may read any header. */
static bool visit_record(hc_object_t *obj, void *ctx) {
  visit_buf_t *v = ctx;
  if (!plausible_header(obj)) v->implausible++;
  if (v->count == v->cap) {
    v->overflow = true;
    return false;
  }
  v->items[v->count++] = (uintptr_t)obj;
  return true;
}

static int compare_uintptr(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

bool thr_sorted_contains(const uintptr_t *v, size_t n, uintptr_t key) {
  return bsearch(&key, v, n, sizeof *v, compare_uintptr) != NULL;
}

/* Iterates with m into a buffer sized for every object the program could have alive (at most
 * one per alloc op). Returns the sorted visits; false if the walk failed (reported). */
bool thr_iterate_into(worker_t *w, hc_mutator_t *m, visit_buf_t *v) {
  v->cap = w->run->p->count + 1;
  v->items = thr_xcalloc(v->cap, sizeof(uintptr_t));
  hc_status_t st = hc_heap_iterate(m, visit_record, v);
  if (st != HC_OK) {
    thr_finding(w, "iteration", "%s", hc_status_name(st));
    return false;
  }
  if (v->overflow)
    thr_finding(w, "iteration", "visited more objects than the program has allocation ops");
  else if (v->implausible)
    thr_finding(w, "iteration visited a non-object", "%zu visits without an object header",
                v->implausible);
  qsort(v->items, v->count, sizeof *v->items, compare_uintptr);
  return !w->failed;
}

/* ---------------------------------------------------------------------------------------------
 * The join: every thread has handed over and detached; the checker's mutator is the only one
 * ------------------------------------------------------------------------------------------- */

/* With only global roots left, a full collection's live set is exactly the union of the threads'
 * reachable sets (no thread can reach another's objects, so the sets are disjoint). */
void thr_final_check(run_t *r) {
  worker_t *c = &r->checker;
  hc_status_t st = hc_collect(c->m, HC_COLLECT_FULL);
  if (st != HC_OK) thr_finding(c, "collection", "%s", hc_status_name(st));
  uint64_t reachable_bytes = 0, reachable_objects = 0, finalizable_reachable = 0;
  uint64_t finalizable = 0;
  for (uint32_t t = 0; t < r->nworkers && !c->failed; t++) {
    worker_t *w = r->workers[t];
    finalizable += w->model.finalizable_allocated;
    thr_reach_from_handles(w);
    for (uint32_t i = 0; i < w->model.count && !c->failed; i++) {
      const model_obj_t *o = &w->model.objs[i];
      if (!o->reachable) continue;
      thr_check_object(c, c->m, w, i);
      reachable_bytes += hc_cell_size_for(o->size);
      reachable_objects++;
      finalizable_reachable += o->finalizable;
    }
    for (uint32_t s = 0; s < OPS_WEAK_SLOTS && !c->failed; s++) {
      if (!w->weak[s]) continue;
      hc_object_t *got = hc_weak_get(w->weak[s]);
      uint32_t idx = w->weak_obj[s];
      bool reachable = idx != MODEL_NONE && w->model.objs[idx].reachable;
      if (reachable && got != w->model.objs[idx].ptr)
        thr_finding(c, "weak reference to a reachable object cleared", "%s weak %u", w->name, s);
      else if (!reachable && got != NULL)
        thr_finding(c, "weak reference to a dead object survived a full collection", "%s weak %u",
                    w->name, s);
    }
  }
  if (c->failed) return;
  hc_stats_t stats;
  hc_heap_get_stats(r->heap, &stats);
  if (stats.live_bytes != reachable_bytes)
    thr_finding(c, "live bytes", "heap reports %llu after the final full collection, threads %llu",
                (unsigned long long)stats.live_bytes, (unsigned long long)reachable_bytes);

  /* Iteration visits exactly the reachable objects now (nothing was allocated since). */
  visit_buf_t v = {0};
  if (!c->failed && thr_iterate_into(c, c->m, &v)) {
    if (v.count != reachable_objects)
      thr_finding(c, "iteration", "visited %zu objects, %llu reachable", v.count,
                  (unsigned long long)reachable_objects);
    for (uint32_t t = 0; t < r->nworkers && !c->failed; t++) {
      const worker_t *w = r->workers[t];
      for (uint32_t i = 0; i < w->model.count && !c->failed; i++)
        if (w->model.objs[i].reachable &&
            !thr_sorted_contains(v.items, v.count, (uintptr_t)w->model.objs[i].ptr))
          thr_finding(c, "iteration missed a live object", "%s object #%u", w->name, i);
    }
  }
  if (!c->failed) thr_verify(c, c->m, "the final full collection");

  /* Sweeping everything now finalizes exactly the dead finalizable objects, never a reachable
   * one; hc_heap_destroy finalizes the rest (checked in thr_teardown). */
  if (!c->failed) {
    c->record_finalized = true;
    hc_sweep_all(c->m);
    c->record_finalized = false;
    thr_check_finalized(c);
    uint64_t ran = c->finalized;
    for (uint32_t t = 0; t < r->nworkers; t++)
      ran += r->workers[t]->finalized;
    if (!c->failed && ran != finalizable - finalizable_reachable)
      thr_finding(c, "finalizers", "%llu ran for %llu dead finalizable objects before teardown",
                  (unsigned long long)ran,
                  (unsigned long long)(finalizable - finalizable_reachable));
    if (r->nfinalized_ptrs)
      qsort(r->finalized_ptrs, r->nfinalized_ptrs, sizeof(uintptr_t), compare_uintptr);
    for (size_t i = 0; i < v.count && r->nfinalized_ptrs && !c->failed; i++)
      if (thr_sorted_contains(r->finalized_ptrs, r->nfinalized_ptrs, v.items[i]))
        thr_finding(c, "finalizer ran for a live object", "a reachable object, in the final sweep");
  }
  free(v.items);
}

/* Removes what the checker can, detaches it, destroys the heap, and checks that every
 * finalizable object was finalized exactly once in all. */
void thr_teardown(run_t *r, bool check) {
  worker_t *c = &r->checker;
  c->stage = "teardown";
  if (c->m) {
    for (uint32_t t = 0; t < r->nworkers; t++) {
      worker_t *w = r->workers[t];
      for (uint32_t s = 0; s < OPS_WEAK_SLOTS; s++)
        if (w->weak[s]) hc_weak_destroy(c->m, w->weak[s]);
      for (uint32_t h = 0; h < OPS_HANDLES; h++)
        if (w->global[h]) hc_global_root_remove(c->m, &w->handles[h]);
    }
    hc_mutator_detach(c->m);
    c->m = NULL;
  }
  /* Weak references left over after a finding are freed by hc_heap_destroy. */
  hc_status_t st = hc_heap_destroy(r->heap);
  if (st == HC_OK) r->heap = NULL; /* else it stays for the finding's dump (and leaks) */
  if (!check) return;
  uint64_t ran = c->finalized, finalizable = 0;
  for (uint32_t t = 0; t < r->nworkers; t++) {
    ran += r->workers[t]->finalized;
    finalizable += r->workers[t]->model.finalizable_allocated;
  }
  if (st != HC_OK)
    thr_finding(c, "teardown", "hc_heap_destroy: %s", hc_status_name(st));
  else if (c->bad_finalizer[0])
    thr_finding(c, "finalizer called for a non-object", "in hc_heap_destroy: %s", c->bad_finalizer);
  else if (ran != finalizable)
    thr_finding(c, "finalizers", "%llu ran for %llu finalizable objects", (unsigned long long)ran,
                (unsigned long long)finalizable);
}
