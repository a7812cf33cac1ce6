/* exec.c: the ops (include/heapops.h's op table), each written once against the backend and the
 * running thread's context (exec.h), and run by both schedulers: the deterministic one (sched.c)
 * and the real-thread one (threads.c).
 *
 * An op whose state is absent (no object in the handle, no slot) is skipped, deterministically.
 * A heap call may collect, and in deterministic mode may yield to other threads; an op reads the
 * model before such a call and settles it after (ops_settle), before it changes any handle: the
 * model's roots must be the ones the collector saw. In deterministic mode the scheduler starts no
 * op while another is suspended inside one, so what an op read stays true across its heap call
 * except for collections. */
#include "exec.h"

#include <stdlib.h>

typedef bool (*exec_fn)(ops_ctx_t *c, const uint16_t *a);

/* Each op's function and needs, from the op table (the needs here, not through ops_op_needs: the
 * interpreter loop looks them up for every op). */
static const struct {
  exec_fn fn;
  uint32_t needs;
} exec_table[OPS_OP_COUNT] = {
#define EXEC_ENTRY_(id, mn, fn, needs, ...) [OPS_##id] = {ops_exec_##fn, needs},
    OPS_OP_TABLE(EXEC_ENTRY_)
#undef EXEC_ENTRY_
};

/* Counted once, under the lowest of the capabilities missing. */
static void count_unsupported(ops_run_t *r, uint32_t missing) {
  atomic_fetch_add_explicit(&r->unsupported[__builtin_ctz(missing)], 1, memory_order_relaxed);
}

bool ops_exec(ops_ctx_t *c, uint32_t k) {
  ops_run_t *r = c->run;
  c->op_index = k;
  c->op = &r->prog->ops[k];
  unsigned code = c->op->opcode % OPS_OP_COUNT;
  uint32_t needs = exec_table[code].needs, missing = needs & ~OPS_NEED_FLAGS & ~r->caps;
  if (r->plan->steps[k].skip) return false;
  if ((needs & OPS_NEED_MUTATOR) && !c->mut) {
    /* On a heap of one mutator, a thread past the first never attached: its ops count as what
     * the heap lacks. Otherwise a thread without one is the sweeper, or past its end. */
    if (!ops_has(r, HB_CAP_MUTATORS)) count_unsupported(r, HB_CAP_MUTATORS);
    return false;
  }
  if (c->released && !(needs & OPS_RUNS_RELEASED)) return false; /* it touches no object now */
  if (missing) {
    count_unsupported(r, missing);
    return false;
  }
  return exec_table[code].fn(c, c->op->operand);
}

/* ---------------------------------------------------------------------------------------------
 * Handles
 * ------------------------------------------------------------------------------------------- */

/* The object in handle h, or MODEL_NONE. */
static uint32_t held(ops_ctx_t *c, uint32_t h) {
  ops_world_t *w = c->world;
  uint32_t idx = w->handle_obj[h % OPS_HANDLES];
  if (idx != MODEL_NONE) ops_use(w, w->model.objs[idx].ptr); /* maybe another thread's object */
  return idx;
}

/* A handle may be a root slot: the collector reads it while this thread is parked. */
static void set_handle(ops_ctx_t *c, uint32_t h, uint32_t idx) {
  ops_world_t *w = c->world;
  h %= OPS_HANDLES;
  w->handle_obj[h] = idx;
  w->handles[h] = idx == MODEL_NONE ? NULL : w->model.objs[idx].ptr;
}

/* ---------------------------------------------------------------------------------------------
 * Objects
 * ------------------------------------------------------------------------------------------- */

static bool collections_pending(const ops_ctx_t *c) {
  return atomic_load_explicit(&c->run->collections, memory_order_relaxed) != c->world->settled;
}

/* The world's list of objects in creation (ops_world_t fresh[]): this thread's, of that shape. */
static void fresh_begin(ops_ctx_t *c, size_t size, uint32_t nslots) {
  ops_world_t *w = c->world;
  c->fresh_size = size;
  c->fresh_nslots = nslots;
  c->fresh_since = OPS_FRESH_IN_CALL;
  w->fresh[w->nfresh++] = c;
}

static void fresh_end(ops_ctx_t *c) {
  ops_world_t *w = c->world;
  for (uint32_t i = 0; i < w->nfresh; i++)
    if (w->fresh[i] == c) {
      w->fresh[i] = w->fresh[--w->nfresh];
      return;
    }
}

/* ops_settle for an op that holds *fresh, an object no handle holds yet. The collections that
 * ran inside the allocation ran before it existed. But settling them verifies the heap, and the
 * verifier stops the world, which waits out another thread's collection like any safepoint: that
 * collection must keep *fresh (an embedder's local across a call that may collect, pushed as a
 * root), and whoever settles it (this thread, or another in deterministic mode's shared world)
 * must count it live: the thread is in the world's fresh[] (ops_exec_alloc), with the count of
 * collections before it existed. A root only when there is a collection to settle: otherwise
 * settle makes no heap call that can wait. */
static void settle_holding(ops_ctx_t *c, hb_object_t **fresh) {
  ops_run_t *r = c->run;
  ops_world_t *w = c->world;
  c->fresh_since = atomic_load_explicit(&r->collections, memory_order_relaxed);
  bool hold = *fresh && collections_pending(c) && ops_holds_access(c) &&
              r->be->root_add(c->mut, fresh) == HB_OK;
  if (!hold) {
    ops_settle(c);
    return;
  }
  do
    ops_settle(c);
  while (collections_pending(c) && !w->failed && ops_holds_access(c));
  r->be->root_remove(c->mut, fresh);
}

bool ops_exec_alloc(ops_ctx_t *c, const uint16_t *a) {
  ops_world_t *w = c->world;
  const hb_backend_t *be = c->run->be;
  uint32_t nslots = a[2] % 33u;
  size_t size = a[1] % OPS_MAX_OBJECT;
  size_t min = HB_OBJECT_HEADER + (size_t)nslots * HB_OBJECT_SLOT;
  if (size < min) size = min;
  bool fin = a[3] & 1u;
  hb_status_t st = HB_OK;
  /* Only where the model counts bytes. */
  bool counted = ops_has(c->run, HB_CAP_EXACT_LIVE_BYTES) && w->whole_heap;
  if (counted) fresh_begin(c, size, nslots);
  hb_object_t *p = be->alloc(c->mut, size, nslots, fin ? HB_ALLOC_FINALIZE : 0, &st);
  settle_holding(c, &p);
  bool ok = true;
  if (c->released) { /* without access: refused, as documented */
    if (p) ops_finding(c, "heap access", "alloc without heap access returned an object");
  } else if (!p) {
    /* The limit and injected faults are heap-wide: any thread's allocation may meet them. */
    ok = st == HB_ERR_LIMIT || st == HB_ERR_INJECTED || (st == HB_ERR_STOPPED && c->stopped);
    if (!ok) ops_finding(c, "allocation failed", "%s for %zu bytes", be->status_name(st), size);
  } else {
    for (uint32_t s = 0; s < nslots; s++)
      if (be->load(c->mut, p, s) != NULL) ops_finding(c, "allocation not zeroed", "slot %u", s);
    if (!ops_payload_check(p, be, 0, 0))
      ops_finding(c, "allocation not zeroed", "payload of a new %zu-byte object", size);
    uint32_t other = model_find(&w->model, p);
    if (other != MODEL_NONE)
      ops_finding(c, "allocation returned a live object", "object #%u", other);
    set_handle(c, a[0], model_add(&w->model, p, (uint32_t)size, nslots, fin));
  }
  if (counted) fresh_end(c); /* in the model now, or never to be */
  if (p && !c->released) ops_share(w, p);
  return ok;
}

static bool store(ops_ctx_t *c, uint32_t h, uint32_t slot, uint32_t value) {
  ops_world_t *w = c->world;
  uint32_t idx = held(c, h);
  if (idx == MODEL_NONE || w->model.objs[idx].nslots == 0) return false;
  model_obj_t *o = &w->model.objs[idx];
  slot %= o->nslots;
  hb_object_t *v = value == MODEL_NONE ? NULL : w->model.objs[value].ptr;
  ops_use(w, v);
  c->run->be->store(c->mut, o->ptr, slot, v);
  ops_share(w, o->ptr);
  o->slots[slot] = value;
  return true;
}

bool ops_exec_store(ops_ctx_t *c, const uint16_t *a) {
  uint32_t value = held(c, a[2]);
  return value != MODEL_NONE && store(c, a[0], a[1], value);
}

bool ops_exec_clear(ops_ctx_t *c, const uint16_t *a) {
  return store(c, a[0], a[1], MODEL_NONE);
}

bool ops_exec_load(ops_ctx_t *c, const uint16_t *a) {
  ops_world_t *w = c->world;
  uint32_t idx = held(c, a[1]);
  if (idx == MODEL_NONE || w->model.objs[idx].nslots == 0) return false;
  const model_obj_t *o = &w->model.objs[idx];
  uint32_t slot = a[2] % o->nslots;
  uint32_t child = o->slots[slot];
  hb_object_t *want = child == MODEL_NONE ? NULL : w->model.objs[child].ptr;
  if (c->run->be->load(c->mut, o->ptr, slot) != want)
    ops_finding(c, "reference changed", "object #%u slot %u", idx, slot);
  ops_share(w, o->ptr);
  set_handle(c, a[0], child);
  return true;
}

bool ops_exec_write(ops_ctx_t *c, const uint16_t *a) {
  uint32_t idx = held(c, a[0]);
  if (idx == MODEL_NONE) return false;
  model_obj_t *o = &c->world->model.objs[idx];
  ops_payload_write(o->ptr, c->run->be, idx, (uint8_t)a[1]);
  ops_share(c->world, o->ptr);
  o->seed = (uint8_t)a[1];
  return true;
}

bool ops_exec_check(ops_ctx_t *c, const uint16_t *a) {
  uint32_t idx = held(c, a[0]);
  if (idx == MODEL_NONE) return false;
  ops_check_object(c, c->world, idx, false);
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Roots and handles
 * ------------------------------------------------------------------------------------------- */

static bool set_rooted(ops_ctx_t *c, uint32_t h, bool root) {
  ops_world_t *w = c->world;
  h %= OPS_HANDLES;
  if (w->rooted[h] == root) return false;
  const hb_backend_t *be = c->run->be;
  hb_status_t st =
      root ? be->root_add(c->mut, &w->handles[h]) : be->root_remove(c->mut, &w->handles[h]);
  if (st != HB_OK) ops_finding(c, "root registration", "%s", be->status_name(st));
  w->rooted[h] = root;
  return true;
}

bool ops_exec_drop(ops_ctx_t *c, const uint16_t *a) {
  if (held(c, a[0]) == MODEL_NONE) return false;
  set_handle(c, a[0], MODEL_NONE);
  return true;
}

/* With every handle a root already, `root` only says whether the handle holds something, and
 * `unroot` (a root that holds nothing) is the same as forgetting the object. */
bool ops_exec_root(ops_ctx_t *c, const uint16_t *a) {
  if (c->world->roots == OPS_ROOTS_ALL) return held(c, a[0]) != MODEL_NONE;
  return set_rooted(c, a[0], true);
}

bool ops_exec_unroot(ops_ctx_t *c, const uint16_t *a) {
  if (c->world->roots == OPS_ROOTS_ALL) return ops_exec_drop(c, a);
  return set_rooted(c, a[0], false);
}

/* ---------------------------------------------------------------------------------------------
 * Weak references
 * ------------------------------------------------------------------------------------------- */

bool ops_exec_weak_new(ops_ctx_t *c, const uint16_t *a) {
  ops_world_t *w = c->world;
  const hb_backend_t *be = c->run->be;
  uint32_t s = a[0] % OPS_WEAK_SLOTS;
  uint32_t idx = held(c, a[1]);
  if (idx == MODEL_NONE) return false;
  if (c->released) { /* without access both are refused, as documented */
    if (w->weak[s] && be->weak_destroy(c->mut, w->weak[s]) == HB_OK) {
      w->weak[s] = NULL;
      ops_finding(c, "heap access", "weak_destroy without heap access succeeded");
    }
    hb_weak_t *made = NULL;
    if (be->weak_create(c->mut, w->model.objs[idx].ptr, &made) == HB_OK)
      ops_finding(c, "heap access", "weak_create without heap access succeeded");
    return true;
  }
  if (w->weak[s]) {
    ops_use(w, w->weak[s]); /* maybe made and read by other threads: see ops_share */
    be->weak_destroy(c->mut, w->weak[s]);
  }
  w->weak[s] = NULL;
  hb_status_t st = be->weak_create(c->mut, w->model.objs[idx].ptr, &w->weak[s]);
  if (st == HB_OK) ops_share(w, w->weak[s]);
  if (st != HB_OK) ops_finding(c, "weak reference creation", "%s", be->status_name(st));
  w->weak_obj[s] = st == HB_OK ? idx : MODEL_NONE;
  return true;
}

/* No collection can clear the reference between the read and the handle taking the object: this
 * thread holds access and reading a weak reference is no safepoint. */
bool ops_exec_weak_get(ops_ctx_t *c, const uint16_t *a) {
  ops_world_t *w = c->world;
  uint32_t s = a[1] % OPS_WEAK_SLOTS;
  if (!w->weak[s]) return false;
  hb_object_t *t = ops_weak_read(c, s);
  uint32_t idx = w->weak_obj[s];
  if (t == NULL) {
    if (idx != MODEL_NONE && w->model.objs[idx].alive)
      ops_finding(c, "weak reference to a live object cleared", "weak %u", s);
    w->weak_obj[s] = MODEL_NONE;
    set_handle(c, a[0], MODEL_NONE);
    return true;
  }
  if (idx == MODEL_NONE || t != w->model.objs[idx].ptr) {
    ops_finding(c, "weak reference target changed", "weak %u", s);
    return true;
  }
  uint32_t now = model_find(&w->model, t);
  if (now != MODEL_NONE && now != idx) {
    ops_finding(c, "weak reference to a reused cell", "weak %u: object #%u, cell now holds #%u", s,
                idx, now);
    return true;
  }
  /* An object a collection left in place (an eden collection's sticky marks, a conservative
   * heap) may be handed back: alive again. */
  model_revive(&w->model, idx);
  set_handle(c, a[0], idx);
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Collection, sweeping, allocation state
 * ------------------------------------------------------------------------------------------- */

static bool collect(ops_ctx_t *c, bool full) {
  ops_run_t *r = c->run;
  uint64_t before = atomic_load_explicit(&r->collections, memory_order_relaxed);
  hb_status_t st = r->be->collect(c->mut, full);
  if (st != HB_OK)
    ops_finding(c, "collection", "%s", r->be->status_name(st));
  else if (atomic_load_explicit(&r->collections, memory_order_relaxed) == before)
    ops_finding(c, "collection", "collect returned without a collected hook");
  ops_settle(c); /* verifies, in deterministic mode */
  if (!c->run->serial) ops_verify(c, "a collection");
  return true;
}

bool ops_exec_gc_full(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  return collect(c, true);
}

bool ops_exec_gc_eden(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  return collect(c, false);
}

bool ops_exec_sweep(ops_ctx_t *c, const uint16_t *a) {
  c->run->be->sweep_step(c->mut, a[0] % 16u + 1);
  ops_verify(c, "a sweep");
  return true;
}

bool ops_exec_sweep_all(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  c->run->be->sweep_all(c->mut);
  ops_verify(c, "a sweep");
  return true;
}

bool ops_exec_shrink(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  c->run->be->shrink(c->mut);
  ops_verify(c, "a shrink");
  return true;
}

/* The background sweeper's loop, one step, on a thread without a mutator. */
bool ops_exec_sweeper(ops_ctx_t *c, const uint16_t *a) {
  c->run->be->sweeper_step(c->run->heap, a[0] % 16u + 1);
  return true;
}

bool ops_exec_fail_next(ops_ctx_t *c, const uint16_t *a) {
  c->run->be->fail_next(c->run->heap, a[0] % 8u + 1);
  return true;
}

/* Stops (or resumes) the thread's allocation; skipped when it already is in that state. */
static bool set_stopped(ops_ctx_t *c, bool stop) {
  if (c->stopped == stop) return false;
  c->stopped = stop;
  const hb_backend_t *be = c->run->be;
  hb_status_t st = stop ? be->stop_allocating(c->mut) : be->resume_allocating(c->mut);
  if (st != HB_OK)
    ops_finding(c, stop ? "stop-allocating" : "resume-allocating", "%s", be->status_name(st));
  return true;
}

bool ops_exec_stop_alloc(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  return set_stopped(c, true);
}

bool ops_exec_resume_alloc(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  return set_stopped(c, false);
}

/* ---------------------------------------------------------------------------------------------
 * Inspection
 * ------------------------------------------------------------------------------------------- */

static int compare_uintptr(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

/* Every object reachable from the root handles is visited; so is every object the model has
 * alive, if no collection ran while the iteration waited for the world (in deterministic mode a
 * thread preempted inside an allocation may finish it first). A world that holds the whole heap
 * also knows that nothing else may be visited (objects a collection left in place may be: they
 * are model objects, just dead ones); a thread's own world cannot tell another thread's objects
 * from garbage, so there only a visit without an object's header is a finding. */
bool ops_exec_iterate(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  ops_world_t *w = c->world;
  const model_t *m = &w->model;
  uint64_t before = atomic_load_explicit(&c->run->collections, memory_order_relaxed);
  uintptr_t *v = NULL;
  size_t n = 0;
  if (ops_iterate_sorted(c, &v, &n)) {
    bool quiet = atomic_load_explicit(&c->run->collections, memory_order_relaxed) == before;
    if (w->whole_heap) {
      uintptr_t *all = calloc(m->count + 1, sizeof *all);
      if (!all) abort();
      for (uint32_t i = 0; i < m->count; i++)
        all[i] = (uintptr_t)m->objs[i].ptr;
      qsort(all, m->count, sizeof *all, compare_uintptr);
      for (size_t i = 0; i < n && !w->failed; i++)
        if (!ops_sorted_contains(all, m->count, v[i]))
          ops_finding(c, "iteration visited a non-object", "visit %zu", i);
      free(all);
    }
    ops_reach(w);
    for (uint32_t i = 0; i < m->count && !w->failed; i++) {
      const model_obj_t *o = &m->objs[i];
      if ((o->reachable || (quiet && o->alive)) && !ops_sorted_contains(v, n, (uintptr_t)o->ptr))
        ops_finding(c, "iteration missed a live object", "object #%u (%s)", i,
                    o->reachable ? "reachable" : "alive");
    }
  }
  free(v);
  return true;
}

bool ops_exec_verify(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  ops_verify_all(c, "a verify op");
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * The checked API on pointers the program may no longer hold
 * ------------------------------------------------------------------------------------------- */

/* What the heap must answer about a pointer. */
typedef enum probe_want {
  PROBE_LIVE,     /* the start of an object the model has alive */
  PROBE_NOT_LIVE, /* inside a live object, not its start; or any pointer without heap access */
  PROBE_ANY       /* a dead object's memory, or past an object's end: the heap may have reused
                     it (another thread's object, one a collection left in place), so any answer
                     is right as long as the heap does not touch what it does not own */
} probe_want_t;

/* The pointer operands o and off name: off % 4 words into object o % count of this world's
 * model, any object the program ever made, alive or dead (a dropped handle's, a collected
 * one's, one in memory the heap gave back). NULL before the first allocation. */
static hb_object_t *probe_pointer(ops_ctx_t *c, uint16_t o, uint16_t off, uint32_t *idx,
                                  probe_want_t *want) {
  const model_t *m = &c->world->model;
  if (m->count == 0) return NULL;
  *idx = o % m->count;
  const model_obj_t *obj = &m->objs[*idx];
  size_t offset = (off % 4u) * 8u;
  hb_object_t *p = (hb_object_t *)((uintptr_t)obj->ptr + offset);
  if (c->released)
    *want = PROBE_NOT_LIVE;
  else if (model_find(m, p) != MODEL_NONE)
    *want = PROBE_LIVE;
  else if (obj->alive && offset < obj->size)
    *want = PROBE_NOT_LIVE;
  else
    *want = PROBE_ANY;
  return p;
}

static const char *probe_invariant(const ops_ctx_t *c) {
  return c->released ? "heap access" : "checked call";
}

bool ops_exec_is_live(ops_ctx_t *c, const uint16_t *a) {
  uint32_t idx;
  probe_want_t want;
  hb_object_t *p = probe_pointer(c, a[0], a[1], &idx, &want);
  if (!p) return false;
  bool live = c->run->be->is_live(c->mut, p);
  if (want == PROBE_LIVE && !live)
    ops_finding(c, "checked call", "is_live: object #%u is not live", idx);
  else if (want == PROBE_NOT_LIVE && live)
    ops_finding(c, probe_invariant(c), "is_live: %u bytes into object #%u is live%s",
                (a[1] % 4u) * 8u, idx, c->released ? " (asked without heap access)" : "");
  return true;
}

/* A slot index beyond any object's (objects have at most 32), and some within. */
static uint32_t probe_slot(uint16_t slot) {
  return slot % 40u;
}

bool ops_exec_load_checked(ops_ctx_t *c, const uint16_t *a) {
  ops_world_t *w = c->world;
  uint32_t idx, slot = probe_slot(a[3]);
  probe_want_t want;
  hb_object_t *p = probe_pointer(c, a[1], a[2], &idx, &want);
  if (!p) return false;
  hb_object_t *got = NULL;
  ops_use(w, p);
  hb_status_t st = c->run->be->load_checked(c->mut, p, slot, &got);
  ops_share(w, p);
  if (want == PROBE_NOT_LIVE && st == HB_OK) {
    ops_finding(c, probe_invariant(c), "load_checked through a pointer %u bytes into object #%u",
                (a[2] % 4u) * 8u, idx);
  } else if (want == PROBE_LIVE) {
    uint32_t at = model_find(&w->model, p);
    const model_obj_t *o = &w->model.objs[at];
    if (slot >= o->nslots && st == HB_OK) {
      ops_finding(c, "checked call", "load_checked: slot %u of object #%u (%u slots)", slot, at,
                  o->nslots);
    } else if (slot < o->nslots) {
      uint32_t child = o->slots[slot];
      hb_object_t *want_ptr = child == MODEL_NONE ? NULL : w->model.objs[child].ptr;
      if (st != HB_OK)
        ops_finding(c, "checked call", "load_checked: object #%u slot %u: %s", at, slot,
                    c->run->be->status_name(st));
      else if (got != want_ptr)
        ops_finding(c, "reference changed", "object #%u slot %u (load_checked)", at, slot);
      else
        set_handle(c, a[0], child);
    }
  }
  return true;
}

/* A store through a pointer whose object the model does not know alive goes to a slot past any
 * object's: it exercises the checks without writing into memory another thread (or a revived
 * object) may own. */
bool ops_exec_store_checked(ops_ctx_t *c, const uint16_t *a) {
  ops_world_t *w = c->world;
  uint32_t idx, slot = probe_slot(a[2]);
  probe_want_t want;
  hb_object_t *p = probe_pointer(c, a[0], a[1], &idx, &want);
  if (!p) return false;
  uint32_t value = held(c, a[3]);
  hb_object_t *v = value == MODEL_NONE ? NULL : w->model.objs[value].ptr;
  uint32_t at = want == PROBE_LIVE ? model_find(&w->model, p) : MODEL_NONE;
  if (at == MODEL_NONE) slot = 32u + slot % 8u;
  ops_use(w, p);
  hb_status_t st = c->run->be->store_checked(c->mut, p, slot, v);
  ops_share(w, p);
  if (at == MODEL_NONE) {
    if (st == HB_OK)
      ops_finding(c, probe_invariant(c),
                  "store_checked: slot %u through a pointer %u bytes into object #%u", slot,
                  (a[1] % 4u) * 8u, idx);
    return true;
  }
  model_obj_t *o = &w->model.objs[at];
  if (slot >= o->nslots) {
    if (st == HB_OK)
      ops_finding(c, "checked call", "store_checked: slot %u of object #%u (%u slots)", slot, at,
                  o->nslots);
  } else if (st != HB_OK) {
    ops_finding(c, "checked call", "store_checked: object #%u slot %u: %s", at, slot,
                c->run->be->status_name(st));
  } else {
    o->slots[slot] = value;
  }
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Heap access, the background sweeper
 * ------------------------------------------------------------------------------------------- */

bool ops_exec_release_access(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  hb_status_t st = c->run->be->release_access(c->mut);
  if (st != HB_OK) ops_finding(c, "heap access", "release: %s", c->run->be->status_name(st));
  c->released = true;
  return true;
}

/* Waits out any collection; then the model catches up with those that ran meanwhile (the roots
 * were the handles as they are now). */
bool ops_exec_acquire_access(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  if (!c->released) return false;
  hb_status_t st = c->run->be->acquire_access(c->mut);
  if (st != HB_OK) ops_finding(c, "heap access", "acquire: %s", c->run->be->status_name(st));
  c->released = false;
  ops_settle(c);
  return true;
}

/* Starting a running sweeper (or stopping a stopped one) is refused; the state is the run's, so
 * threads racing to change it agree on what the heap must answer. */
static bool set_sweeper(ops_ctx_t *c, bool run) {
  ops_run_t *r = c->run;
  /* Stopping waits for the sweeper thread, which parks for a collection like a mutator: holding
   * access meanwhile would keep a waiting collection, and so the sweeper, from ever finishing. */
  bool held = ops_holds_access(c) && ops_has(r, HB_CAP_ACCESS);
  if (held) r->be->release_access(c->mut);
  pthread_mutex_lock(&r->sweeper_lock);
  bool was = r->sweeper_running;
  hb_status_t st = run ? r->be->sweeper_start(r->heap) : r->be->sweeper_stop(r->heap);
  if (was != run && st != HB_OK)
    ops_finding(c, run ? "sweeper start" : "sweeper stop", "%s", r->be->status_name(st));
  else if (was == run && st == HB_OK)
    ops_finding(c, run ? "sweeper start" : "sweeper stop", "accepted twice");
  r->sweeper_running = run;
  pthread_mutex_unlock(&r->sweeper_lock);
  if (held) {
    r->be->acquire_access(c->mut);
    ops_settle(c); /* collections may have run meanwhile */
  }
  return true;
}

bool ops_exec_sweeper_start(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  return set_sweeper(c, true);
}

bool ops_exec_sweeper_stop(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  return set_sweeper(c, false);
}

/* ---------------------------------------------------------------------------------------------
 * Threads (the scheduler reads what these leave in the context)
 * ------------------------------------------------------------------------------------------- */

/* The first op of a new mutator thread: it attaches its own mutator. */
bool ops_exec_attach(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  ops_attach(c);
  return true;
}

/* The last op of a mutator thread: it detaches its own mutator (giving back its blocks, pins
 * included, and its remembered objects). */
bool ops_exec_detach(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  ops_detach(c);
  return true;
}

/* The plan already moved the ops that follow to the other thread. */
bool ops_exec_switch(ops_ctx_t *c, const uint16_t *a) {
  (void)c, (void)a;
  return true;
}

/* A change point for the deterministic scheduler, which arms it after the op (the op reads its
 * operands); free-running threads have none. */
bool ops_exec_preempt(ops_ctx_t *c, const uint16_t *a) {
  (void)a;
  c->preempt = true;
  return true;
}

void ops_attach(ops_ctx_t *c) {
  ops_run_t *r = c->run;
  ops_world_t *w = c->world;
  const hb_backend_t *be = r->be;
  hb_status_t st = be->attach(r->heap, &c->mut);
  if (st != HB_OK) {
    c->mut = NULL;
    ops_finding(c, "attach", "%s", be->status_name(st));
    return;
  }
  if (w->roots != OPS_ROOTS_ALL) return;
  /* Every handle becomes a root of this mutator, for good: on its local root stack where the
   * heap has one, else a global root slot. */
  bool local = ops_has(r, HB_CAP_LOCAL_ROOTS);
  for (uint32_t h = 0; h < OPS_HANDLES; h++) {
    st = local ? be->root_push(c->mut, &w->handles[h]) : be->root_add(c->mut, &w->handles[h]);
    if (st != HB_OK) {
      if (local) be->root_pop(c->mut, h);
      ops_finding(c, "root registration", "%s", be->status_name(st));
      return;
    }
    w->rooted[h] = !local;
  }
  /* Collections before this thread attached concern no object of its (private) world. */
  w->settled = atomic_load_explicit(&r->collections, memory_order_relaxed);
  w->settled_full = atomic_load_explicit(&r->full_collections, memory_order_relaxed);
}

void ops_detach(ops_ctx_t *c) {
  if (!c->mut) return;
  ops_run_t *r = c->run;
  ops_world_t *w = c->world;
  const hb_backend_t *be = r->be;
  if (c->released) ops_exec_acquire_access(c, NULL); /* the hand-over registers roots */
  if (w->roots == OPS_ROOTS_ALL) {
    /* The objects the handles hold outlive the thread as global roots, checked at the join. */
    bool local = ops_has(r, HB_CAP_LOCAL_ROOTS);
    for (uint32_t h = 0; h < OPS_HANDLES && local; h++) {
      if (!w->handles[h]) continue;
      hb_status_t st = be->root_add(c->mut, &w->handles[h]);
      w->rooted[h] = st == HB_OK;
      if (st != HB_OK) ops_finding(c, "root registration", "global: %s", be->status_name(st));
    }
    if (local) be->root_pop(c->mut, OPS_HANDLES);
  }
  hb_status_t st = be->detach(c->mut);
  c->mut = NULL;
  if (st != HB_OK) ops_finding(c, "detach", "%s", be->status_name(st));
}
