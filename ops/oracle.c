/* oracle.c: the shadow model's judgments (exec.h), for both schedulers.
 *
 * The oracle runs after every collection (explicit, automatic inside an allocation, or the
 * collector thread's), before any op can change a handle: every object reachable from the root
 * handles is intact (header, payload, slots); weak references to reachable objects are set and,
 * after a full collection on a precise heap, those to unreachable ones cleared; after a full
 * collection, a world that holds the whole heap has the heap's live bytes equal to its reachable
 * bytes; and the heap's verifier passes. Sweeps and shrinks are followed by the verifier;
 * finalizers must run only for dead objects and, by the end, exactly once for each finalizable
 * object. Checks that rest on a capability the backend lacks are off (ops_describe_backend). A
 * broken invariant ends the run with one line: "op N (text) on THREAD: invariant: detail", then
 * a heap dump.
 *
 * Why each check is sound in real-thread mode, where each thread has its own world:
 *   - no op can reach another thread's objects (handles and stores only name the thread's own),
 *     and every handle is a root (OPS_ROOTS_ALL), so what a thread's handles reach must be intact
 *     at every moment;
 *   - a collection runs only while this thread is parked inside one of its own heap calls (it
 *     holds access from attach to detach), and the collected hook counts collections in the
 *     stopped world, so comparing the count before and after a heap call tells exactly whether
 *     collections ran inside it, with the handles as they were during the call;
 *   - what depends on other threads' objects (live bytes, iteration visiting only model objects,
 *     which object a finalizer ran for unless it is the thread's own) is checked only at the
 *     join (threads.c), exactly. */
#include "exec.h"

#include "finding.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

_Thread_local ops_ctx_t *ops_current_ctx;

void ops_world_init(ops_world_t *w, ops_roots_t roots, bool shared, bool whole_heap) {
  memset(w, 0, sizeof *w);
  w->roots = roots;
  w->shared = shared;
  w->whole_heap = whole_heap;
  w->label = "";
  for (uint32_t h = 0; h < OPS_HANDLES; h++)
    w->handle_obj[h] = MODEL_NONE;
  for (uint32_t s = 0; s < OPS_WEAK_SLOTS; s++)
    w->weak_obj[s] = MODEL_NONE;
  model_init(&w->model);
}

void ops_world_free(ops_world_t *w) {
  model_free(&w->model);
  ops_quiet_begin();
  free(w->finalized_objs);
  free(w->recorded);
  ops_quiet_end();
  w->finalized_objs = NULL;
  w->recorded = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Output and findings
 * ------------------------------------------------------------------------------------------- */

void ops_printf(ops_run_t *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ops_quiet_begin();
  vfprintf(r->out, fmt, ap);
  ops_quiet_end();
  va_end(ap);
}

void ops_dump(ops_run_t *r, hb_mutator_t *m) {
  ops_quiet_begin();
  if (r->heap && ops_has(r, HB_CAP_DUMP)) r->be->dump(r->heap, m, r->out);
  fflush(r->out);
  ops_quiet_end();
}

void ops_finding(ops_ctx_t *c, const char *invariant, const char *fmt, ...) {
  ops_run_t *r = c->run;
  ops_world_t *w = c->world;
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
  ops_record_finding(res, c->op_index, c->op, c->stage, c->name, invariant, fmt, ap);
  va_end(ap);
  ops_printf(r, "heapfuzz: finding: %s\n", res->message);
  /* A mutator with access stops the world for a consistent dump. Without one, the dump reads
   * unsynchronized: safe when the threads run one at a time, or on the checker (every other
   * thread is joined), racy on a free-running sweeper, whose dump waits for the join. The other
   * threads are told to stop only after the dump: stopping, they detach, and detaching from a
   * broken heap may crash before the dump is out. */
  if (!r->serial && c->is_worker && !c->mut) {
    r->dump_pending = true;
  } else {
    ops_dump(r, c->mut);
    if (r->opt->abort_on_finding) abort();
  }
  atomic_store_explicit(&r->stop, true, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------------------------
 * The heap's hooks (inside heap calls, on whichever thread makes them)
 * ------------------------------------------------------------------------------------------- */

static void on_collected(void *ctx, bool full) {
  ops_run_t *r = ctx;
  atomic_fetch_add_explicit(&r->collections, 1, memory_order_relaxed);
  atomic_store_explicit(&r->last_was_full, full, memory_order_relaxed);
  if (full) atomic_fetch_add_explicit(&r->full_collections, 1, memory_order_relaxed);
}

/* The trace starts with the program's first op: the setup's events (the first mutator's attach)
 * are the same for every program. */
static void on_trace(void *ctx, const char *line) {
  ops_run_t *r = ctx;
  if (r->tracing) ops_printf(r, "%s\n", line);
}

/* Every object a program allocates has a shape like this, whichever thread allocated it. */
static bool plausible_shape(const ops_run_t *r, const hb_object_t *obj, char *why, size_t size) {
  if (!ops_has(r, HB_CAP_SHAPE)) return true;
  size_t bytes;
  uint32_t nslots;
  r->be->shape(obj, &bytes, &nslots);
  if (nslots <= 32 && bytes >= HB_OBJECT_HEADER + (size_t)nslots * HB_OBJECT_SLOT &&
      bytes < OPS_MAX_OBJECT)
    return true;
  snprintf(why, size, "header size %zu slots %u", bytes, nslots);
  return false;
}

static void *grow(void *p, uint32_t *cap, size_t item) {
  *cap = *cap ? *cap * 2 : 64;
  ops_quiet_begin();
  void *q = realloc(p, *cap * item);
  ops_quiet_end();
  if (!q) abort();
  return q;
}

/* Counted into the world of the thread making the heap call (deterministic mode: the one
 * world). Judged once the model has settled: a collection inside the same heap call (an
 * allocation that collected, then swept the dead object's block) may not be settled yet. */
static void on_finalized(void *ctx, hb_object_t *obj) {
  ops_run_t *r = ctx;
  ops_world_t *w = r->hook_world     ? r->hook_world
                   : ops_current_ctx ? ops_current_ctx->world
                                     : r->heap_thread_world;
  if (!w) abort(); /* a program's thread without a context, or a heap thread unaccounted for */
  w->finalized++;
  if (!w->bad_finalizer[0]) plausible_shape(r, obj, w->bad_finalizer, sizeof w->bad_finalizer);
  if (w->record_finalized) {
    if (w->nrecorded == w->cap_recorded)
      w->recorded = grow(w->recorded, &w->cap_recorded, sizeof *w->recorded);
    w->recorded[w->nrecorded++] = (uintptr_t)obj;
  }
  uint32_t idx = r->tearing_down ? MODEL_NONE : model_find(&w->model, obj);
  if (idx == MODEL_NONE) return;
  if (w->nfinalized == w->cap_finalized)
    w->finalized_objs = grow(w->finalized_objs, &w->cap_finalized, sizeof *w->finalized_objs);
  w->finalized_objs[w->nfinalized++] = idx;
}

hb_hooks_t ops_hooks(ops_run_t *r) {
  return (hb_hooks_t){.ctx = r,
                      .finalized = on_finalized,
                      .collected = on_collected,
                      .trace = r->opt->trace ? on_trace : NULL};
}

void ops_check_finalized(ops_ctx_t *c) {
  ops_world_t *w = c->world;
  if (w->bad_finalizer[0])
    ops_finding(c, "finalizer called for a non-object", "%s", w->bad_finalizer);
  w->bad_finalizer[0] = '\0';
  if (atomic_load_explicit(&c->run->collections, memory_order_relaxed) != w->settled)
    return; /* not yet: the model is behind */
  for (uint32_t i = 0; i < w->nfinalized && !w->failed; i++)
    if (w->model.objs[w->finalized_objs[i]].alive)
      ops_finding(c, "finalizer ran for a live object", "object #%u", w->finalized_objs[i]);
  w->nfinalized = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------------------------- */

void ops_verify(ops_ctx_t *c, const char *when) {
  ops_run_t *r = c->run;
  if (!ops_has(r, HB_CAP_VERIFY) || !ops_holds_access(c)) return;
  char msg[384];
  hb_status_t st = r->be->verify(c->mut, msg, sizeof msg);
  if (st != HB_OK) ops_finding(c, "verify", "after %s: %s (%s)", when, msg, r->be->status_name(st));
}

/* One object against its model: identity, layout, payload, references. */
static void check_object(ops_ctx_t *c, const ops_world_t *owner, uint32_t idx, bool sampled) {
  ops_run_t *r = c->run;
  const hb_backend_t *be = r->be;
  const model_t *m = &owner->model;
  const model_obj_t *o = &m->objs[idx];
  const char *whose = owner == c->world ? "" : owner->label;
  if (ops_has(r, HB_CAP_LIVENESS) && !be->is_live(c->mut, o->ptr)) {
    ops_finding(c, "reachable object lost", "%sobject #%u is not a live cell", whose, idx);
    return;
  }
  if (ops_has(r, HB_CAP_SHAPE)) {
    size_t size;
    uint32_t nslots;
    be->shape(o->ptr, &size, &nslots);
    if (size != o->size || nslots != o->nslots) {
      ops_finding(c, "object header changed", "%sobject #%u: size %zu slots %u, model %u / %u",
                  whose, idx, size, nslots, o->size, o->nslots);
      return;
    }
  }
  if (!(sampled ? ops_payload_check_sampled : ops_payload_check)(o->ptr, be, idx, o->seed)) {
    ops_finding(c, "payload changed", "%sobject #%u", whose, idx);
    return;
  }
  for (uint32_t s = 0; s < o->nslots; s++) {
    hb_object_t *want = o->slots[s] == MODEL_NONE ? NULL : m->objs[o->slots[s]].ptr;
    if (be->load(c->mut, o->ptr, s) != want) {
      ops_finding(c, "reference changed", "%sobject #%u slot %u", whose, idx, s);
      return;
    }
  }
}

/* The check reads the object as a thread of a correctly synchronized program would: after the
 * last thread that touched it, and before the next (ops_share). */
void ops_check_object(ops_ctx_t *c, const ops_world_t *owner, uint32_t idx, bool sampled) {
  hb_object_t *p = owner->model.objs[idx].ptr;
  ops_use(owner, p);
  check_object(c, owner, idx, sampled);
  ops_share(owner, p);
}

void ops_reach(ops_world_t *w) {
  uint32_t roots[OPS_HANDLES], n = 0;
  for (uint32_t h = 0; h < OPS_HANDLES; h++)
    if (w->roots == OPS_ROOTS_ALL || w->rooted[h]) roots[n++] = w->handle_obj[h];
  model_reach(&w->model, roots, n);
}

void ops_check_reachable(ops_ctx_t *c) {
  ops_world_t *w = c->world;
  ops_reach(w);
  for (uint32_t i = 0; i < w->model.count && !w->failed; i++)
    if (w->model.objs[i].reachable) ops_check_object(c, w, i, false);
}

void ops_verify_all(ops_ctx_t *c, const char *when) {
  ops_verify(c, when); /* first: it may run other threads (deterministic mode's waits) */
  ops_check_reachable(c);
}

/* How many reachable objects a settle checks (outside eager runs, which check them all). A
 * program that fills its heap collects once per large allocation, with a hundred reachable
 * objects each time: checking all of them after every collection was a third of such a
 * program's time, and such programs most of a campaign's. What a collector bug does to a live
 * object it lost stays done (its cell freed, reused or wiped; under ASan a read of freed memory
 * is a report), so a check a few collections later still sees it: the checks rotate through
 * the reachable objects, each is checked within count / OPS_CHECKS_PER_SETTLE settles, and the
 * end of the program checks them all (ops_check_reachable from the teardown). */
enum { OPS_CHECKS_PER_SETTLE = 16 };

/* Checks up to `budget` reachable objects (reach marked), from the world's cursor on. */
static void check_some_reachable(ops_ctx_t *c, uint32_t budget) {
  ops_world_t *w = c->world;
  const model_t *m = &w->model;
  uint32_t n = m->count, i = w->check_cursor < n ? w->check_cursor : 0;
  for (uint32_t seen = 0; seen < n && budget && !w->failed; seen++, i = i + 1 < n ? i + 1 : 0)
    if (m->objs[i].reachable) {
      ops_check_object(c, w, i, true);
      budget--;
    }
  w->check_cursor = i;
}

/* After one or more collections (any_full: at least one was full; last_full: the last was).
 * Nothing here yields to another thread until the model is up to date (the verifier, which
 * stops the world and so may run other threads, comes last): another thread's op must see the
 * model of the heap it runs on. */
static void after_collection(ops_ctx_t *c, bool any_full, bool last_full) {
  ops_run_t *r = c->run;
  ops_world_t *w = c->world;
  model_t *m = &w->model;
  bool live_bytes = last_full && w->whole_heap && ops_has(r, HB_CAP_EXACT_LIVE_BYTES);
  ops_reach(w);
  check_some_reachable(c, r->opt->eager ? m->count : OPS_CHECKS_PER_SETTLE);
  /* Objects in creation (ops_world_t fresh[]): live for the heap if they existed before this
   * collection, maybe live if the collection ran inside their allocation call. */
  uint64_t reachable_bytes = 0, maybe_bytes = 0;
  for (uint32_t k = 0; k < w->nfresh && live_bytes; k++) {
    const ops_ctx_t *f = w->fresh[k];
    uint64_t bytes = r->be->cell_bytes(f->fresh_size, f->fresh_nslots);
    if (f->fresh_since != OPS_FRESH_IN_CALL && w->settled > f->fresh_since)
      reachable_bytes += bytes;
    else
      maybe_bytes += bytes;
  }
  for (uint32_t i = 0; i < m->count && live_bytes; i++)
    if (m->objs[i].reachable)
      reachable_bytes += r->be->cell_bytes(m->objs[i].size, m->objs[i].nslots);
  bool exact = any_full && ops_has(r, HB_CAP_EXACT_DEATH);
  for (uint32_t s = 0; s < OPS_WEAK_SLOTS && !w->failed; s++) {
    if (!w->weak[s] || w->weak_obj[s] == MODEL_NONE) continue;
    const model_obj_t *o = &m->objs[w->weak_obj[s]];
    hb_object_t *t = ops_weak_read(c, s);
    if (o->reachable && t != o->ptr)
      ops_finding(c, "weak reference to a reachable object cleared", "weak %u", s);
    else if (!o->reachable && exact && t != NULL)
      ops_finding(c, "weak reference to a dead object survived a full collection", "weak %u", s);
    else if (t == NULL)
      w->weak_obj[s] = MODEL_NONE;
  }
  if (!w->failed && live_bytes) {
    uint64_t heap = r->be->live_bytes(r->heap);
    if (heap < reachable_bytes || heap > reachable_bytes + maybe_bytes)
      ops_finding(c, "live bytes",
                  "heap reports %llu after a full collection, model %llu (and %llu in creation)",
                  (unsigned long long)heap, (unsigned long long)reachable_bytes,
                  (unsigned long long)maybe_bytes);
  }
  /* Forget what died: unreachable objects (a weak reference may still hand back one a
   * collection left in place: ops_exec_weak_get revives it), and the handles that held them. */
  for (uint32_t i = 0; i < m->count; i++)
    if (m->objs[i].alive && !m->objs[i].reachable) model_kill(m, i);
  for (uint32_t h = 0; h < OPS_HANDLES; h++) {
    if (w->handle_obj[h] != MODEL_NONE && !m->objs[w->handle_obj[h]].alive) {
      w->handles[h] = NULL;
      w->handle_obj[h] = MODEL_NONE;
    }
  }
  /* The verifier stops the world, and may park this thread. With free-running threads another
   * thread may collect meanwhile, while the op that settles holds an object no root reaches yet
   * (a fresh allocation): there the collection ops verify, after they settle (exec.c). */
  if (!w->failed && r->serial) ops_verify(c, "a collection");
}

void ops_settle(ops_ctx_t *c) {
  ops_run_t *r = c->run;
  ops_world_t *w = c->world;
  if (!ops_holds_access(c)) { /* the model catches up when the thread acquires access again */
    ops_check_finalized(c);
    return;
  }
  uint64_t n = atomic_load_explicit(&r->collections, memory_order_relaxed);
  if (n != w->settled && !w->failed) {
    uint64_t full = atomic_load_explicit(&r->full_collections, memory_order_relaxed);
    bool any_full = full != w->settled_full;
    w->settled = n;
    w->settled_full = full;
    after_collection(c, any_full, atomic_load_explicit(&r->last_was_full, memory_order_relaxed));
  }
  ops_check_finalized(c);
}

/* ---------------------------------------------------------------------------------------------
 * Iteration
 * ------------------------------------------------------------------------------------------- */

typedef struct visit_buf {
  const ops_run_t *run;
  bool check_shape;
  uintptr_t *items;
  size_t count, cap;
  size_t implausible; /* visits of something without an object's shape */
  bool overflow;      /* more visits than the program has ops */
} visit_buf_t;

/* Runs with the world stopped: records only, never calls into the heap's mutator API. */
static bool visit_record(hb_object_t *obj, void *ctx) {
  visit_buf_t *v = ctx;
  char why[64];
  if (v->check_shape && !plausible_shape(v->run, obj, why, sizeof why)) v->implausible++;
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

bool ops_sorted_contains(const uintptr_t *v, size_t n, uintptr_t key) {
  return n && bsearch(&key, v, n, sizeof *v, compare_uintptr) != NULL;
}

/* Sized for every object the program could have made: at most one per op. */
bool ops_iterate_sorted(ops_ctx_t *c, uintptr_t **out, size_t *count) {
  ops_run_t *r = c->run;
  visit_buf_t v = {.run = r, .check_shape = !c->world->whole_heap, .cap = r->prog->count + 1};
  ops_quiet_begin();
  v.items = calloc(v.cap, sizeof *v.items);
  ops_quiet_end();
  if (!v.items) abort();
  *out = v.items;
  *count = 0;
  hb_status_t st = r->be->iterate(c->mut, visit_record, &v);
  if (st != HB_OK) {
    ops_finding(c, "iteration", "%s", r->be->status_name(st));
    return false;
  }
  if (v.overflow)
    ops_finding(c, "iteration", "visited more objects than the program has allocation ops");
  else if (v.implausible)
    ops_finding(c, "iteration visited a non-object", "%zu visits without an object header",
                v.implausible);
  qsort(v.items, v.count, sizeof *v.items, compare_uintptr);
  *count = v.count;
  return !c->world->failed;
}

/* ---------------------------------------------------------------------------------------------
 * Teardown
 * ------------------------------------------------------------------------------------------- */

void ops_destroy_heap(ops_ctx_t *c, ops_world_t *const *worlds, unsigned nworlds, bool check) {
  ops_run_t *r = c->run;
  r->tearing_down = true; /* destroy finalizes the live objects too */
  hb_status_t st = r->be->destroy(r->heap);
  if (st == HB_OK) r->heap = NULL; /* else it stays for the finding's dump (and leaks) */
  if (!check) return;
  uint64_t ran = 0, finalizable = 0;
  for (unsigned i = 0; i < nworlds; i++) {
    ran += worlds[i]->finalized;
    finalizable += worlds[i]->model.finalizable_allocated;
  }
  if (st != HB_OK)
    ops_finding(c, "teardown", "destroy: %s", r->be->status_name(st));
  else if (c->world->bad_finalizer[0])
    ops_finding(c, "finalizer called for a non-object", "in destroy: %s", c->world->bad_finalizer);
  else if (ops_has(r, HB_CAP_EXACT_FINALIZERS) && ran != finalizable)
    ops_finding(c, "finalizers", "%llu ran for %llu finalizable objects", (unsigned long long)ran,
                (unsigned long long)finalizable);
}
