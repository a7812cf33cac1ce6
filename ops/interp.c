/* interp.c: runs an op program against a fresh heap under the shadow model (include/heapops.h).
 *
 * The program holds OPS_HANDLES handles (object references) and OPS_WEAK_SLOTS weak references.
 * A rooted handle is a heap-wide root slot (hc_global_root_add), so what it holds survives every
 * collection; an unrooted handle is a plain reference, valid until the next collection: the
 * interpreter forgets it then, unless its object is still reachable. Exactly one mutator (the
 * current one) holds heap access; the others have released it, so a collection on this single
 * thread never waits for them.
 *
 * The oracle runs after every op that collected (explicitly, or automatically inside an
 * allocation): every object reachable from the rooted handles is intact (header, payload, slots);
 * weak references to reachable objects are set and, after a full collection, those to unreachable
 * ones cleared; after a full collection the heap's live bytes equal the model's reachable bytes;
 * and hc_heap_verify passes. Sweeps, shrinks and detaches are followed by hc_heap_verify. A broken
 * invariant ends the run with one line: "op N (text): invariant: detail". */
#include "model.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct interp {
  const ops_run_options_t *opt;
  FILE *out;
  ops_run_result_t *res;
  hc_heap_t *heap;
  hc_mutator_t *muts[OPS_MAX_MUTATORS];
  bool stopped[OPS_MAX_MUTATORS]; /* allocation stopped by a stop-alloc op */
  uint32_t nmuts, cur;
  hc_object_t *handles[OPS_HANDLES]; /* root slots when rooted: the heap reads them */
  uint32_t handle_obj[OPS_HANDLES];
  bool rooted[OPS_HANDLES];
  hc_weak_t *weak[OPS_WEAK_SLOTS];
  uint32_t weak_obj[OPS_WEAK_SLOTS];
  model_t model;
  uint32_t op_index;
  const ops_op_t *op;
  uint64_t collections, full_collections; /* counted from the heap's phase events */
  uint64_t settled, settled_full;         /* the counts the model has caught up with */
  bool last_was_full;
  uint64_t finalized;
  uint32_t *finalized_objs; /* model objects finalized since the last check (finalizers run in */
  uint32_t nfinalized, cap_finalized; /* heap calls, maybe before the model settled a collection) */
  bool tearing_down; /* hc_heap_destroy finalizes live objects too: that is no finding */
  bool failed;
} interp_t;

/* ---------------------------------------------------------------------------------------------
 * Findings
 * ------------------------------------------------------------------------------------------- */

static void finding(interp_t *in, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finding(interp_t *in, const char *invariant, const char *fmt, ...) {
  if (in->failed) return;
  in->failed = true;
  char optext[128];
  snprintf(optext, sizeof optext, "%s", in->tearing_down ? "teardown" : "setup");
  if (in->op) ops_format_op(in->op, optext, sizeof optext);
  char detail[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  ops_run_result_t *r = in->res;
  r->finding = true;
  r->op_index = in->op_index;
  snprintf(r->message, sizeof r->message, "op %u (%s): %s: %s", in->op_index, optext, invariant,
           detail);
  fprintf(in->out, "heapfuzz: finding: %s\n", r->message);
  hc_heap_dump(in->heap, in->nmuts ? in->muts[in->cur] : NULL, in->out);
  fflush(in->out);
  if (in->opt->abort_on_finding) abort();
}

/* ---------------------------------------------------------------------------------------------
 * Heap hooks
 * ------------------------------------------------------------------------------------------- */

static const char *const event_names[HC_EV_COUNT] = {
    "block-acquired",  "block-swept",      "block-released",    "block-stolen",
    "large-allocated", "large-released",   "allocator-stopped", "allocator-resumed",
    "phase",           "mutator-attached", "mutator-detached",
};

static void on_event(void *ctx, const hc_event_t *ev) {
  interp_t *in = ctx;
  if (ev->kind == HC_EV_PHASE && ev->arg == HC_PHASE_RESUMING) {
    in->collections++;
    in->last_was_full = ev->cell_size == HC_COLLECT_FULL;
    if (in->last_was_full) in->full_collections++;
  }
  if (in->opt->trace)
    fprintf(in->out, "  event %s mutator=%u size=%u block=%llu arg=%llu\n",
            (unsigned)ev->kind < HC_EV_COUNT ? event_names[ev->kind] : "?", ev->mutator,
            ev->cell_size, (unsigned long long)ev->block, (unsigned long long)ev->arg);
}

static void on_finalize(hc_object_t *obj, void *ctx) {
  interp_t *in = ctx;
  in->finalized++;
  uint32_t idx = in->tearing_down ? MODEL_NONE : model_find(&in->model, obj);
  if (idx == MODEL_NONE) return;
  /* Judged once the op is over: a collection inside the same heap call (an allocation that
   * collected, then stole the dead object's block) may not be settled in the model yet. */
  if (in->nfinalized == in->cap_finalized) {
    in->cap_finalized = in->cap_finalized ? in->cap_finalized * 2 : 64;
    in->finalized_objs = realloc(in->finalized_objs, in->cap_finalized * sizeof(uint32_t));
    if (!in->finalized_objs) abort();
  }
  in->finalized_objs[in->nfinalized++] = idx;
}

static void check_finalized(interp_t *in) {
  for (uint32_t i = 0; i < in->nfinalized && !in->failed; i++)
    if (in->model.objs[in->finalized_objs[i]].alive)
      finding(in, "finalizer ran for a live object", "object #%u", in->finalized_objs[i]);
  in->nfinalized = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------------------------- */

static hc_mutator_t *cur(interp_t *in) {
  return in->muts[in->cur];
}

static void verify(interp_t *in, const char *when) {
  char msg[384];
  hc_status_t st = hc_heap_verify(cur(in), msg, sizeof msg);
  if (st != HC_OK) finding(in, "verify", "after %s: %s (%s)", when, msg, hc_status_name(st));
}

static bool payload_intact(const model_obj_t *o, uint32_t idx) {
  return model_payload_apply(hc_object_payload(o->ptr), hc_object_payload_size(o->ptr), idx,
                             o->seed, true);
}

/* One object against its model: identity, layout, payload, references. */
static void check_object(interp_t *in, uint32_t idx) {
  model_t *m = &in->model;
  const model_obj_t *o = &m->objs[idx];
  if (!hc_is_live_object(cur(in), o->ptr)) {
    finding(in, "reachable object lost", "object #%u is not a live cell", idx);
    return;
  }
  if (hc_object_size(o->ptr) != o->size || hc_object_slot_count(o->ptr) != o->nslots) {
    finding(in, "object header changed", "object #%u: size %zu slots %u, model %u / %u", idx,
            hc_object_size(o->ptr), hc_object_slot_count(o->ptr), o->size, o->nslots);
    return;
  }
  if (!payload_intact(o, idx)) {
    finding(in, "payload changed", "object #%u", idx);
    return;
  }
  for (uint32_t s = 0; s < o->nslots; s++) {
    hc_object_t *want = o->slots[s] == MODEL_NONE ? NULL : m->objs[o->slots[s]].ptr;
    if (hc_load(o->ptr, s) != want) {
      finding(in, "reference changed", "object #%u slot %u", idx, s);
      return;
    }
  }
}

static void reach_from_roots(interp_t *in) {
  uint32_t roots[OPS_HANDLES], n = 0;
  for (uint32_t h = 0; h < OPS_HANDLES; h++)
    if (in->rooted[h]) roots[n++] = in->handle_obj[h];
  model_reach(&in->model, roots, n);
}

/* After one or more collections in the op just run. */
static void after_collection(interp_t *in, bool any_full, bool last_full) {
  model_t *m = &in->model;
  reach_from_roots(in);
  uint64_t reachable_bytes = 0;
  for (uint32_t i = 0; i < m->count && !in->failed; i++) {
    if (!m->objs[i].reachable) continue;
    check_object(in, i);
    reachable_bytes += hc_cell_size_for(m->objs[i].size);
  }
  for (uint32_t w = 0; w < OPS_WEAK_SLOTS && !in->failed; w++) {
    if (!in->weak[w] || in->weak_obj[w] == MODEL_NONE) continue;
    const model_obj_t *o = &m->objs[in->weak_obj[w]];
    hc_object_t *t = hc_weak_get(in->weak[w]);
    if (o->reachable && t != o->ptr)
      finding(in, "weak reference to a reachable object cleared", "weak %u", w);
    else if (!o->reachable && any_full && t != NULL)
      finding(in, "weak reference to a dead object survived a full collection", "weak %u", w);
    else if (t == NULL)
      in->weak_obj[w] = MODEL_NONE;
  }
  if (!in->failed && last_full) {
    hc_stats_t st;
    hc_heap_get_stats(in->heap, &st);
    if (st.live_bytes != reachable_bytes)
      finding(in, "live bytes", "heap reports %llu after a full collection, model %llu",
              (unsigned long long)st.live_bytes, (unsigned long long)reachable_bytes);
  }
  if (!in->failed) verify(in, "a collection");
  /* Forget what died: unreachable objects, and the unrooted handles that held them. */
  for (uint32_t i = 0; i < m->count; i++)
    if (m->objs[i].alive && !m->objs[i].reachable) model_kill(m, i);
  for (uint32_t h = 0; h < OPS_HANDLES; h++) {
    if (in->handle_obj[h] != MODEL_NONE && !m->objs[in->handle_obj[h]].alive) {
      in->handles[h] = NULL;
      in->handle_obj[h] = MODEL_NONE;
    }
  }
}

/* Brings the model up to date with the collections that ran since it last was. Called right
 * after the heap call that collected, before the op changes any handle: the model's roots must be
 * the ones the collector saw. */
static void settle(interp_t *in) {
  if (in->collections == in->settled || in->failed) return;
  bool any_full = in->full_collections != in->settled_full;
  in->settled = in->collections;
  in->settled_full = in->full_collections;
  after_collection(in, any_full, in->last_was_full);
}

/* ---------------------------------------------------------------------------------------------
 * Ops
 * ------------------------------------------------------------------------------------------- */

/* The object in handle h, or MODEL_NONE. */
static uint32_t held(interp_t *in, uint32_t h) {
  return in->handle_obj[h % OPS_HANDLES];
}

static void set_handle(interp_t *in, uint32_t h, uint32_t idx) {
  h %= OPS_HANDLES;
  in->handle_obj[h] = idx;
  in->handles[h] = idx == MODEL_NONE ? NULL : in->model.objs[idx].ptr;
}

static bool op_alloc(interp_t *in, const uint16_t *a) {
  uint32_t nslots = a[2] % 33u;
  size_t size = a[1] % OPS_MAX_OBJECT;
  size_t min = HC_HEADER_SIZE + (size_t)nslots * HC_SLOT_SIZE;
  if (size < min) size = min;
  bool fin = a[3] & 1u;
  hc_object_t *p = hc_alloc_ex(cur(in), size, nslots, fin ? HC_ALLOC_FINALIZE : 0);
  settle(in); /* an automatic collection ran before p existed */
  if (!p) {
    hc_status_t st = hc_mutator_last_error(cur(in));
    bool expected = st == HC_ERR_HEAP_LIMIT || st == HC_ERR_INJECTED_FAULT ||
                    (st == HC_ERR_ALLOCATION_STOPPED && in->stopped[in->cur]);
    if (!expected) finding(in, "allocation failed", "%s for %zu bytes", hc_status_name(st), size);
    return expected;
  }
  for (uint32_t s = 0; s < nslots; s++)
    if (hc_load(p, s) != NULL) finding(in, "allocation not zeroed", "slot %u", s);
  if (!model_payload_apply(hc_object_payload(p), hc_object_payload_size(p), 0, 0, true))
    finding(in, "allocation not zeroed", "payload of a new %zu-byte object", size);
  if (model_find(&in->model, p) != MODEL_NONE)
    finding(in, "allocation returned a live object", "object #%u", model_find(&in->model, p));
  set_handle(in, a[0], model_add(&in->model, p, (uint32_t)size, nslots, fin));
  return true;
}

static bool op_store(interp_t *in, uint32_t h, uint32_t slot, uint32_t value) {
  uint32_t idx = held(in, h);
  if (idx == MODEL_NONE || in->model.objs[idx].nslots == 0) return false;
  model_obj_t *o = &in->model.objs[idx];
  slot %= o->nslots;
  hc_store(cur(in), o->ptr, slot, value == MODEL_NONE ? NULL : in->model.objs[value].ptr);
  o->slots[slot] = value;
  return true;
}

static bool op_load(interp_t *in, uint32_t dst, uint32_t h, uint32_t slot) {
  uint32_t idx = held(in, h);
  if (idx == MODEL_NONE || in->model.objs[idx].nslots == 0) return false;
  const model_obj_t *o = &in->model.objs[idx];
  slot %= o->nslots;
  uint32_t child = o->slots[slot];
  hc_object_t *got = hc_load(o->ptr, slot);
  hc_object_t *want = child == MODEL_NONE ? NULL : in->model.objs[child].ptr;
  if (got != want) finding(in, "reference changed", "object #%u slot %u", idx, slot);
  set_handle(in, dst, child);
  return true;
}

static bool op_write(interp_t *in, uint32_t h, uint8_t seed) {
  uint32_t idx = held(in, h);
  if (idx == MODEL_NONE) return false;
  model_obj_t *o = &in->model.objs[idx];
  model_payload_apply(hc_object_payload(o->ptr), hc_object_payload_size(o->ptr), idx, seed, false);
  o->seed = seed;
  return true;
}

static bool op_check(interp_t *in, uint32_t h) {
  uint32_t idx = held(in, h);
  if (idx == MODEL_NONE) return false;
  check_object(in, idx);
  return true;
}

static bool op_root(interp_t *in, uint32_t h, bool root) {
  h %= OPS_HANDLES;
  if (in->rooted[h] == root) return false;
  hc_status_t st = root ? hc_global_root_add(cur(in), &in->handles[h])
                        : hc_global_root_remove(cur(in), &in->handles[h]);
  if (st != HC_OK) finding(in, "root registration", "%s", hc_status_name(st));
  in->rooted[h] = root;
  return true;
}

static bool op_weak_new(interp_t *in, uint32_t w, uint32_t h) {
  w %= OPS_WEAK_SLOTS;
  uint32_t idx = held(in, h);
  if (idx == MODEL_NONE) return false;
  if (in->weak[w]) hc_weak_destroy(cur(in), in->weak[w]);
  in->weak[w] = NULL;
  hc_status_t st = hc_weak_create(cur(in), in->model.objs[idx].ptr, &in->weak[w]);
  if (st != HC_OK) finding(in, "weak reference creation", "%s", hc_status_name(st));
  in->weak_obj[w] = st == HC_OK ? idx : MODEL_NONE;
  return true;
}

static bool op_weak_get(interp_t *in, uint32_t dst, uint32_t w) {
  w %= OPS_WEAK_SLOTS;
  if (!in->weak[w]) return false;
  hc_object_t *t = hc_weak_get(in->weak[w]);
  uint32_t idx = in->weak_obj[w];
  if (t == NULL) {
    if (idx != MODEL_NONE && in->model.objs[idx].alive)
      finding(in, "weak reference to a live object cleared", "weak %u", w);
    in->weak_obj[w] = MODEL_NONE;
    set_handle(in, dst, MODEL_NONE);
    return true;
  }
  if (idx == MODEL_NONE || t != in->model.objs[idx].ptr) {
    finding(in, "weak reference target changed", "weak %u", w);
    return true;
  }
  /* An object an eden collection left in place (sticky marks) may be handed back: alive again. */
  model_revive(&in->model, idx);
  set_handle(in, dst, idx);
  return true;
}

typedef struct visit_buf {
  uintptr_t *items;
  size_t count, cap;
} visit_buf_t;

/* Runs inside the stopped world: must not call into the heap, so it only records. */
static bool visit_record(hc_object_t *obj, void *ctx) {
  visit_buf_t *v = ctx;
  if (v->count == v->cap) return false; /* more than the program ever allocated: reported below */
  v->items[v->count++] = (uintptr_t)obj;
  return true;
}

static int compare_uintptr(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

static bool sorted_contains(const uintptr_t *v, size_t n, uintptr_t key) {
  return bsearch(&key, v, n, sizeof *v, compare_uintptr) != NULL;
}

/* Iteration visits every model-live object, and nothing that is not a model object (objects an
 * eden collection left in place may be visited: they are model objects, just dead ones). */
static bool op_iterate(interp_t *in) {
  model_t *m = &in->model;
  visit_buf_t v = {calloc(m->count + 1, sizeof(uintptr_t)), 0, m->count + 1};
  uintptr_t *all = calloc(m->count + 1, sizeof(uintptr_t));
  if (!v.items || !all) {
    fputs("heapfuzz: out of memory\n", stderr);
    abort();
  }
  hc_status_t st = hc_heap_iterate(cur(in), visit_record, &v);
  if (st != HC_OK) finding(in, "iteration", "%s", hc_status_name(st));
  for (uint32_t i = 0; i < m->count; i++)
    all[i] = (uintptr_t)m->objs[i].ptr;
  qsort(all, m->count, sizeof *all, compare_uintptr);
  qsort(v.items, v.count, sizeof *v.items, compare_uintptr);
  if (v.count == v.cap) finding(in, "iteration", "visited more objects than were allocated");
  for (size_t i = 0; i < v.count && !in->failed; i++)
    if (!sorted_contains(all, m->count, v.items[i]))
      finding(in, "iteration visited a non-object", "visit %zu", i);
  for (uint32_t i = 0; i < m->count && !in->failed; i++)
    if (m->objs[i].alive && !sorted_contains(v.items, v.count, (uintptr_t)m->objs[i].ptr))
      finding(in, "iteration missed a live object", "object #%u", i);
  free(v.items);
  free(all);
  return true;
}

static bool op_attach(interp_t *in) {
  if (in->nmuts == OPS_MAX_MUTATORS) return false;
  hc_mutator_t *m;
  hc_status_t st = hc_mutator_attach(in->heap, &m);
  if (st != HC_OK) {
    finding(in, "attach", "%s", hc_status_name(st));
    return true;
  }
  hc_mutator_release_access(m); /* one mutator with access at a time on this thread */
  in->stopped[in->nmuts] = false;
  in->muts[in->nmuts++] = m;
  return true;
}

static bool op_detach(interp_t *in, uint32_t t) {
  if (in->nmuts < 2) return false;
  t %= in->nmuts;
  bool was_current = t == in->cur;
  if (was_current) { /* hand access to the next mutator first */
    uint32_t next = (t + 1) % in->nmuts;
    hc_mutator_release_access(in->muts[t]);
    hc_mutator_acquire_access(in->muts[next]);
    in->cur = next;
  }
  /* Detach takes access back for its teardown; release the current one's meanwhile. */
  hc_mutator_release_access(cur(in));
  hc_status_t st = hc_mutator_detach(in->muts[t]);
  hc_mutator_acquire_access(cur(in));
  if (st != HC_OK) finding(in, "detach", "%s", hc_status_name(st));
  for (uint32_t i = t; i + 1 < in->nmuts; i++) {
    in->muts[i] = in->muts[i + 1];
    in->stopped[i] = in->stopped[i + 1];
  }
  in->nmuts--;
  if (in->cur > t) in->cur--;
  verify(in, "a detach");
  return true;
}

static bool op_switch(interp_t *in, uint32_t t) {
  t %= in->nmuts;
  if (t == in->cur) return false;
  hc_mutator_release_access(cur(in));
  hc_mutator_acquire_access(in->muts[t]);
  in->cur = t;
  return true;
}

/* Stops (or resumes) the current mutator's allocation; skipped when it already is in that state. */
static bool op_stop_allocating(interp_t *in, bool stop) {
  if (in->stopped[in->cur] == stop) return false;
  in->stopped[in->cur] = stop;
  hc_status_t st =
      stop ? hc_mutator_stop_allocating(cur(in)) : hc_mutator_resume_allocating(cur(in));
  if (st != HC_OK)
    finding(in, stop ? "stop-allocating" : "resume-allocating", "%s", hc_status_name(st));
  return true;
}

/* Runs op k; false when it was skipped for absent state. */
static bool run_op(interp_t *in, const ops_op_t *op) {
  const uint16_t *a = op->operand;
  switch ((ops_opcode_t)(op->opcode % OPS_OP_COUNT)) {
    case OPS_ALLOC:
      return op_alloc(in, a);
    case OPS_STORE:
      return held(in, a[2]) != MODEL_NONE && op_store(in, a[0], a[1], held(in, a[2]));
    case OPS_CLEAR:
      return op_store(in, a[0], a[1], MODEL_NONE);
    case OPS_LOAD:
      return op_load(in, a[0], a[1], a[2]);
    case OPS_WRITE:
      return op_write(in, a[0], (uint8_t)a[1]);
    case OPS_CHECK:
      return op_check(in, a[0]);
    case OPS_ROOT:
      return op_root(in, a[0], true);
    case OPS_UNROOT:
      return op_root(in, a[0], false);
    case OPS_DROP:
      if (held(in, a[0]) == MODEL_NONE) return false;
      set_handle(in, a[0], MODEL_NONE);
      return true;
    case OPS_WEAK_NEW:
      return op_weak_new(in, a[0], a[1]);
    case OPS_WEAK_GET:
      return op_weak_get(in, a[0], a[1]);
    case OPS_GC_FULL:
      hc_collect(cur(in), HC_COLLECT_FULL);
      return true;
    case OPS_GC_EDEN:
      hc_collect(cur(in), HC_COLLECT_EDEN);
      return true;
    case OPS_SWEEP:
      hc_sweep_step(cur(in), a[0] % 16u + 1);
      verify(in, "a sweep");
      return true;
    case OPS_SWEEP_ALL:
      hc_sweep_all(cur(in));
      verify(in, "a sweep");
      return true;
    case OPS_SHRINK:
      hc_shrink(cur(in));
      verify(in, "a shrink");
      return true;
    case OPS_STOP_ALLOC:
      return op_stop_allocating(in, true);
    case OPS_RESUME_ALLOC:
      return op_stop_allocating(in, false);
    case OPS_ITERATE:
      return op_iterate(in);
    case OPS_ATTACH:
      return op_attach(in);
    case OPS_DETACH:
      return op_detach(in, a[0]);
    case OPS_SWITCH:
      return op_switch(in, a[0]);
    case OPS_SWEEPER_TICK:
      hc_sweeper_run_step(in->heap, a[0] % 16u + 1);
      return true;
    case OPS_FAIL_NEXT:
      hc_heap_fail_block_acquisition(in->heap, a[0] % 8u + 1);
      return true;
    case OPS_VERIFY:
      verify(in, "a verify op");
      reach_from_roots(in);
      for (uint32_t i = 0; i < in->model.count && !in->failed; i++)
        if (in->model.objs[i].reachable) check_object(in, i);
      return true;
    case OPS_PREEMPT: /* the scheduler's */
    case OPS_OP_COUNT:
      break;
  }
  return false;
}

/* ---------------------------------------------------------------------------------------------
 * Running a program
 * ------------------------------------------------------------------------------------------- */

static void configure(const ops_config_t *c, hc_config_t *cfg, interp_t *in) {
  hc_config_init(cfg);
  cfg->heap_limit = OPS_HEAP_LIMIT;
  cfg->gc_trigger_bytes = (size_t)(c->trigger % 8u) * 64u * 1024u;
  cfg->full_gc_every = c->full_every % 8u;
  cfg->version_limit = 2u + c->versions % 254u;
  cfg->scribble = c->flags & 1u;
  cfg->release_empty_blocks = (c->flags >> 1) & 1u;
  cfg->seed = 0x6865617066757a7aull; /* fixed: same program, same execution */
  cfg->finalizer = on_finalize;
  cfg->finalizer_ctx = in;
}

static void teardown(interp_t *in) {
  in->tearing_down = true;
  for (uint32_t w = 0; w < OPS_WEAK_SLOTS; w++)
    if (in->weak[w]) hc_weak_destroy(cur(in), in->weak[w]);
  for (uint32_t h = 0; h < OPS_HANDLES; h++)
    if (in->rooted[h]) hc_global_root_remove(cur(in), &in->handles[h]);
  /* The current mutator holds access; detach the others first (each takes access back). */
  hc_mutator_t *current = cur(in);
  hc_mutator_release_access(current);
  for (uint32_t i = 0; i < in->nmuts; i++)
    if (in->muts[i] != current) hc_mutator_detach(in->muts[i]);
  hc_mutator_detach(current);
  in->nmuts = 0;
  /* Destroy runs the finalizers still owed: every finalizable object, exactly once, in all. */
  hc_status_t st = hc_heap_destroy(in->heap);
  if (st != HC_OK)
    finding(in, "teardown", "hc_heap_destroy: %s", hc_status_name(st));
  else if (in->finalized != in->model.finalizable_allocated)
    finding(in, "finalizers", "%llu ran for %llu finalizable objects",
            (unsigned long long)in->finalized, (unsigned long long)in->model.finalizable_allocated);
  in->heap = NULL;
}

bool ops_run(const ops_program_t *p, const ops_run_options_t *options, ops_run_result_t *result) {
  ops_run_options_t defaults = {0};
  const ops_run_options_t *opt = options ? options : &defaults;
  ops_run_result_t scratch;
  ops_run_result_t *res = result ? result : &scratch;
  memset(res, 0, sizeof *res);
  interp_t *in = calloc(1, sizeof *in);
  if (!in) return false;
  in->opt = opt;
  in->out = opt->out ? opt->out : stderr;
  in->res = res;
  ops_run_options_t traced;
  const char *env = getenv("HEAPFUZZ_TRACE");
  if (env && *env && strcmp(env, "0") != 0 && !opt->trace) {
    traced = *opt;
    traced.trace = true;
    in->opt = &traced;
  }
  for (uint32_t h = 0; h < OPS_HANDLES; h++)
    in->handle_obj[h] = MODEL_NONE;
  for (uint32_t w = 0; w < OPS_WEAK_SLOTS; w++)
    in->weak_obj[w] = MODEL_NONE;
  model_init(&in->model);

  hc_config_t cfg;
  configure(&p->config, &cfg, in);
  if (hc_heap_create(&cfg, &in->heap) != HC_OK ||
      hc_mutator_attach(in->heap, &in->muts[0]) != HC_OK) {
    fputs("heapfuzz: cannot create the heap\n", stderr);
    abort();
  }
  in->nmuts = 1;
  hc_heap_set_event_hook(in->heap, on_event, in);

  for (uint32_t k = 0; k < p->count && k < OPS_MAX_OPS && !in->failed; k++) {
    in->op_index = k;
    in->op = &p->ops[k];
    if (in->opt->verbose) {
      char text[128];
      ops_format_op(in->op, text, sizeof text);
      fprintf(in->out, "op %u [m%u]: %s\n", k, in->cur, text);
    }
    bool ran = run_op(in, in->op);
    res->ops_run += ran;
    res->ops_skipped += !ran;
    settle(in);
    check_finalized(in);
  }
  res->collections = (uint32_t)in->collections;
  in->op = NULL;
  if (!in->failed) teardown(in);
  bool clean = !in->failed;
  if (in->heap) { /* a finding stopped the run mid-way: still leave nothing behind */
    bool failed = in->failed;
    in->failed = true; /* no second report from teardown */
    teardown(in);
    in->failed = failed;
  }
  model_free(&in->model);
  free(in->finalized_objs);
  free(in);
  return clean;
}
