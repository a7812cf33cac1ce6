/* interp_ops.c: the ops of the deterministic interpreter (interp.h), each run by the logical
 * thread the plan gives it, on that thread's mutator. An op whose state is absent (no object in
 * the handle, no slot) is skipped, deterministically. A heap call may yield to other threads
 * (sched.c); an op reads the model before such a call and updates it after, and the scheduler
 * starts no op while another is suspended inside one, so what an op reads stays true across its
 * heap call except for collections, which interp_settle folds in before the op goes on. */
#include "interp.h"

#include <stdlib.h>

/* The object in handle h, or MODEL_NONE. */
static uint32_t held(interp_t *in, uint32_t h) {
  uint32_t idx = in->handle_obj[h % OPS_HANDLES];
  if (idx != MODEL_NONE) interp_use(in->model.objs[idx].ptr); /* maybe another thread's object */
  return idx;
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
  hc_object_t *p = hc_alloc_ex(interp_mutator(in), size, nslots, fin ? HC_ALLOC_FINALIZE : 0);
  interp_settle(in); /* an automatic collection ran before p existed */
  if (!p) {
    hc_status_t st = hc_mutator_last_error(interp_mutator(in));
    bool expected = st == HC_ERR_HEAP_LIMIT || st == HC_ERR_INJECTED_FAULT ||
                    (st == HC_ERR_ALLOCATION_STOPPED && in->running->stopped);
    if (!expected)
      interp_finding(in, "allocation failed", "%s for %zu bytes", hc_status_name(st), size);
    return expected;
  }
  for (uint32_t s = 0; s < nslots; s++)
    if (hc_load(p, s) != NULL) interp_finding(in, "allocation not zeroed", "slot %u", s);
  if (!model_payload_apply(hc_object_payload(p), hc_object_payload_size(p), 0, 0, true))
    interp_finding(in, "allocation not zeroed", "payload of a new %zu-byte object", size);
  if (model_find(&in->model, p) != MODEL_NONE)
    interp_finding(in, "allocation returned a live object", "object #%u",
                   model_find(&in->model, p));
  set_handle(in, a[0], model_add(&in->model, p, (uint32_t)size, nslots, fin));
  interp_share(p);
  return true;
}

static bool op_store(interp_t *in, uint32_t h, uint32_t slot, uint32_t value) {
  uint32_t idx = held(in, h);
  if (idx == MODEL_NONE || in->model.objs[idx].nslots == 0) return false;
  model_obj_t *o = &in->model.objs[idx];
  slot %= o->nslots;
  hc_object_t *v = value == MODEL_NONE ? NULL : in->model.objs[value].ptr;
  if (v) interp_use(v);
  hc_store(interp_mutator(in), o->ptr, slot, v);
  interp_share(o->ptr);
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
  if (got != want) interp_finding(in, "reference changed", "object #%u slot %u", idx, slot);
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
  interp_check_object(in, idx);
  return true;
}

static bool op_root(interp_t *in, uint32_t h, bool root) {
  h %= OPS_HANDLES;
  if (in->rooted[h] == root) return false;
  hc_status_t st = root ? hc_global_root_add(interp_mutator(in), &in->handles[h])
                        : hc_global_root_remove(interp_mutator(in), &in->handles[h]);
  if (st != HC_OK) interp_finding(in, "root registration", "%s", hc_status_name(st));
  in->rooted[h] = root;
  return true;
}

static bool op_weak_new(interp_t *in, uint32_t w, uint32_t h) {
  w %= OPS_WEAK_SLOTS;
  uint32_t idx = held(in, h);
  if (idx == MODEL_NONE) return false;
  if (in->weak[w]) {
    interp_use(in->weak[w]); /* maybe made and read by other threads: see interp_share */
    hc_weak_destroy(interp_mutator(in), in->weak[w]);
  }
  in->weak[w] = NULL;
  hc_status_t st = hc_weak_create(interp_mutator(in), in->model.objs[idx].ptr, &in->weak[w]);
  if (st == HC_OK) interp_share(in->weak[w]);
  if (st != HC_OK) interp_finding(in, "weak reference creation", "%s", hc_status_name(st));
  in->weak_obj[w] = st == HC_OK ? idx : MODEL_NONE;
  return true;
}

static bool op_weak_get(interp_t *in, uint32_t dst, uint32_t w) {
  w %= OPS_WEAK_SLOTS;
  if (!in->weak[w]) return false;
  hc_object_t *t = interp_weak_get(in->weak[w]);
  uint32_t idx = in->weak_obj[w];
  if (t == NULL) {
    if (idx != MODEL_NONE && in->model.objs[idx].alive)
      interp_finding(in, "weak reference to a live object cleared", "weak %u", w);
    in->weak_obj[w] = MODEL_NONE;
    set_handle(in, dst, MODEL_NONE);
    return true;
  }
  if (idx == MODEL_NONE || t != in->model.objs[idx].ptr) {
    interp_finding(in, "weak reference target changed", "weak %u", w);
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

/* Runs inside the stopped world: must not call into the heap, so it only records. The buffer
 * grows: the heap may hold more objects than the model did when the op began, since the stop of
 * the world lets a thread preempted inside an allocation finish it first. A program allocates at
 * most one object per op, so more than OPS_MAX_OPS visits is a finding. */
static bool visit_record(hc_object_t *obj, void *ctx) {
  visit_buf_t *v = ctx;
  if (v->count == OPS_MAX_OPS + 1) return false; /* reported by the caller */
  if (v->count == v->cap) {
    size_t cap = v->cap * 2 < OPS_MAX_OPS + 1 ? v->cap * 2 : OPS_MAX_OPS + 1;
    ops_quiet_begin();
    uintptr_t *items = realloc(v->items, cap * sizeof *items);
    ops_quiet_end();
    if (!items) abort();
    v->items = items;
    v->cap = cap;
  }
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
  if (!v.items) abort();
  hc_status_t st = hc_heap_iterate(interp_mutator(in), visit_record, &v);
  if (st != HC_OK) interp_finding(in, "iteration", "%s", hc_status_name(st));
  /* The model as of the visit: no op ran since the world stopped. */
  uintptr_t *all = calloc(m->count + 1, sizeof(uintptr_t));
  if (!all) abort();
  for (uint32_t i = 0; i < m->count; i++)
    all[i] = (uintptr_t)m->objs[i].ptr;
  qsort(all, m->count, sizeof *all, compare_uintptr);
  qsort(v.items, v.count, sizeof *v.items, compare_uintptr);
  if (v.count > OPS_MAX_OPS)
    interp_finding(in, "iteration", "visited more objects than a program can allocate");
  for (size_t i = 0; i < v.count && !in->failed; i++)
    if (!sorted_contains(all, m->count, v.items[i]))
      interp_finding(in, "iteration visited a non-object", "visit %zu", i);
  for (uint32_t i = 0; i < m->count && !in->failed; i++)
    if (m->objs[i].alive && !sorted_contains(v.items, v.count, (uintptr_t)m->objs[i].ptr))
      interp_finding(in, "iteration missed a live object", "object #%u", i);
  free(v.items);
  free(all);
  return true;
}

/* The first op of a new mutator thread: it attaches its own mutator. */
static bool op_attach(interp_t *in) {
  hc_status_t st = hc_mutator_attach(in->heap, &in->running->mut);
  if (st != HC_OK) interp_finding(in, "attach", "%s", hc_status_name(st));
  return true;
}

/* The last op of a mutator thread: it detaches its own mutator (giving back its blocks, pins
 * included, and its remembered objects). */
static bool op_detach(interp_t *in) {
  hc_status_t st = hc_mutator_detach(in->running->mut);
  in->running->mut = NULL;
  if (st != HC_OK) interp_finding(in, "detach", "%s", hc_status_name(st));
  return true;
}

/* Stops (or resumes) the current mutator's allocation; skipped when it already is in that state. */
static bool op_stop_allocating(interp_t *in, bool stop) {
  if (in->running->stopped == stop) return false;
  in->running->stopped = stop;
  hc_status_t st = stop ? hc_mutator_stop_allocating(interp_mutator(in))
                        : hc_mutator_resume_allocating(interp_mutator(in));
  if (st != HC_OK)
    interp_finding(in, stop ? "stop-allocating" : "resume-allocating", "%s", hc_status_name(st));
  return true;
}

bool interp_run_op(interp_t *in, uint32_t k) {
  const ops_op_t *op = &in->prog->ops[k];
  const ops_plan_step_t *step = &in->plan->steps[k];
  const uint16_t *a = op->operand;
  if (step->skip) return false;
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
      hc_collect(interp_mutator(in), HC_COLLECT_FULL);
      return true;
    case OPS_GC_EDEN:
      hc_collect(interp_mutator(in), HC_COLLECT_EDEN);
      return true;
    case OPS_SWEEP:
      hc_sweep_step(interp_mutator(in), a[0] % 16u + 1);
      interp_verify(in, "a sweep");
      return true;
    case OPS_SWEEP_ALL:
      hc_sweep_all(interp_mutator(in));
      interp_verify(in, "a sweep");
      return true;
    case OPS_SHRINK:
      hc_shrink(interp_mutator(in));
      interp_verify(in, "a shrink");
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
      return op_detach(in);
    case OPS_SWITCH: /* the plan moved the ops that follow to another thread */
      return true;
    case OPS_SWEEPER_TICK: /* on the sweeper thread */
      hc_sweeper_run_step(in->heap, a[0] % 16u + 1);
      return true;
    case OPS_FAIL_NEXT:
      hc_heap_fail_block_acquisition(in->heap, a[0] % 8u + 1);
      return true;
    case OPS_VERIFY:
      interp_verify_all(in, "a verify op");
      return true;
    case OPS_PREEMPT:
      ops_sched_arm(in, op, step);
      return true;
    case OPS_OP_COUNT:
      break;
  }
  return false;
}
