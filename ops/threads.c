/* threads.c: real-thread mode (ops_run_threads, include/heapops.h "Threads and schedules").
 *
 * The plan (ops_plan) gives every op its logical thread; here each mutator thread is a pthread
 * running its ops in program order (m0 on the calling thread, the others started for the run),
 * the sweeper thread is one more pthread running the `sweeper` ops (hc_sweeper_run_step), and
 * nothing orders one thread's ops against another's: collections happen whenever some thread
 * asks, at the others' safepoints. Everything is joined before the call returns.
 *
 * The oracle, and why it is sound with free-running threads:
 *   - Each mutator thread owns its handles, weak slots and shadow model (worker_t); only that
 *     thread touches them until the join, and no op can reach another thread's objects (handles
 *     and stores only ever name the thread's own objects).
 *   - Another thread may collect at any of this thread's safepoints, so every handle is a root
 *     all the time: the handle array is pushed on the thread's own root stack once, at attach.
 *     `root` is then a no-op, and `unroot` and `drop` clear the handle. Whatever is reachable from
 *     the handles must be intact at every moment, so `check`, `load`, `verify` and the checks
 *     after a collection compare it with the model whenever they run.
 *   - A collection can only run while this thread is parked inside one of its own heap calls (it
 *     holds heap access from attach to detach). The event hook counts collections (atomically, in
 *     the stopped world), so comparing the count before and after a heap call tells exactly
 *     whether collections ran inside it, with the handles as they were during the call. That lets
 *     the model settle collections precisely, as in ops/interp.c: unreachable objects die,
 *     weak references to reachable objects must hold, and after a full one those to unreachable
 *     objects must be cleared.
 *   - hc_heap_verify stops the world itself, so every thread may run it at any time, and does
 *     after its collections, sweeps and shrinks, as ops/interp.c does.
 *   - Not checked while threads run, because it depends on other threads' objects: the heap's
 *     live bytes, iteration visiting only model objects, and which object a finalizer ran for
 *     (unless the finalizer runs on the owning thread, whose model says whether that object was
 *     still alive).
 *   - At the join, every thread has handed its handles over as global roots (slots owned by the
 *     run) before detaching, so after joining, with only the checker's mutator attached, a full
 *     collection's live set is exactly the union of the threads' reachable sets: objects, live
 *     bytes, iteration, weak references, verify and finalizers are checked exactly.
 * Findings are reported once (the first, by an atomic flag); every thread stops at its next op
 * and still hands over and detaches, so the teardown frees everything. */
#include "threads.h"

#include <stdlib.h>
#include <string.h>

#define THREAD_STACK_BYTES (256u * 1024) /* see ops_run_threads */

/* ---------------------------------------------------------------------------------------------
 * Ops
 * ------------------------------------------------------------------------------------------- */

static uint32_t held(worker_t *w, uint32_t h) {
  return w->handle_obj[h % OPS_HANDLES];
}

/* Handles are root slots: the collector reads them only while this thread is parked. */
static void set_handle(worker_t *w, uint32_t h, uint32_t idx) {
  h %= OPS_HANDLES;
  w->handle_obj[h] = idx;
  w->handles[h] = idx == MODEL_NONE ? NULL : w->model.objs[idx].ptr;
}

static bool op_alloc(worker_t *w, const uint16_t *a) {
  uint32_t nslots = a[2] % 33u;
  size_t size = a[1] % OPS_MAX_OBJECT;
  size_t min = HC_HEADER_SIZE + (size_t)nslots * HC_SLOT_SIZE;
  if (size < min) size = min;
  bool fin = a[3] & 1u;
  hc_object_t *p = hc_alloc_ex(w->m, size, nslots, fin ? HC_ALLOC_FINALIZE : 0);
  thr_settle(w); /* collections inside the allocation ran before p existed */
  if (!p) {
    /* The limit and injected faults are heap-wide: any thread's allocation may meet them. */
    hc_status_t st = hc_mutator_last_error(w->m);
    bool expected = st == HC_ERR_HEAP_LIMIT || st == HC_ERR_INJECTED_FAULT ||
                    (st == HC_ERR_ALLOCATION_STOPPED && w->stopped);
    if (!expected)
      thr_finding(w, "allocation failed", "%s for %zu bytes", hc_status_name(st), size);
    return expected;
  }
  for (uint32_t s = 0; s < nslots; s++)
    if (hc_load(p, s) != NULL) thr_finding(w, "allocation not zeroed", "slot %u", s);
  if (!model_payload_apply(hc_object_payload(p), hc_object_payload_size(p), 0, 0, true))
    thr_finding(w, "allocation not zeroed", "payload of a new %zu-byte object", size);
  if (model_find(&w->model, p) != MODEL_NONE)
    thr_finding(w, "allocation returned a live object", "object #%u", model_find(&w->model, p));
  set_handle(w, a[0], model_add(&w->model, p, (uint32_t)size, nslots, fin));
  return true;
}

static bool op_store(worker_t *w, uint32_t h, uint32_t slot, uint32_t value) {
  uint32_t idx = held(w, h);
  if (idx == MODEL_NONE || w->model.objs[idx].nslots == 0) return false;
  model_obj_t *o = &w->model.objs[idx];
  slot %= o->nslots;
  hc_store(w->m, o->ptr, slot, value == MODEL_NONE ? NULL : w->model.objs[value].ptr);
  o->slots[slot] = value;
  return true;
}

static bool op_load(worker_t *w, uint32_t dst, uint32_t h, uint32_t slot) {
  uint32_t idx = held(w, h);
  if (idx == MODEL_NONE || w->model.objs[idx].nslots == 0) return false;
  const model_obj_t *o = &w->model.objs[idx];
  slot %= o->nslots;
  uint32_t child = o->slots[slot];
  hc_object_t *want = child == MODEL_NONE ? NULL : w->model.objs[child].ptr;
  if (hc_load(o->ptr, slot) != want)
    thr_finding(w, "reference changed", "object #%u slot %u", idx, slot);
  set_handle(w, dst, child);
  return true;
}

static bool op_write(worker_t *w, uint32_t h, uint8_t seed) {
  uint32_t idx = held(w, h);
  if (idx == MODEL_NONE) return false;
  model_obj_t *o = &w->model.objs[idx];
  model_payload_apply(hc_object_payload(o->ptr), hc_object_payload_size(o->ptr), idx, seed, false);
  o->seed = seed;
  return true;
}

static bool op_weak_new(worker_t *w, uint32_t s, uint32_t h) {
  s %= OPS_WEAK_SLOTS;
  uint32_t idx = held(w, h);
  if (idx == MODEL_NONE) return false;
  if (w->weak[s]) hc_weak_destroy(w->m, w->weak[s]);
  w->weak[s] = NULL;
  hc_status_t st = hc_weak_create(w->m, w->model.objs[idx].ptr, &w->weak[s]);
  if (st != HC_OK) thr_finding(w, "weak reference creation", "%s", hc_status_name(st));
  w->weak_obj[s] = st == HC_OK ? idx : MODEL_NONE;
  return true;
}

/* No collection can clear the reference between the read and the handle taking the object: this
 * thread holds access and hc_weak_get is no safepoint. */
static bool op_weak_get(worker_t *w, uint32_t dst, uint32_t s) {
  s %= OPS_WEAK_SLOTS;
  if (!w->weak[s]) return false;
  hc_object_t *t = hc_weak_get(w->weak[s]);
  uint32_t idx = w->weak_obj[s];
  if (t == NULL) {
    if (idx != MODEL_NONE && w->model.objs[idx].alive)
      thr_finding(w, "weak reference to a live object cleared", "weak %u", s);
    w->weak_obj[s] = MODEL_NONE;
    set_handle(w, dst, MODEL_NONE);
    return true;
  }
  if (idx == MODEL_NONE || t != w->model.objs[idx].ptr) {
    thr_finding(w, "weak reference target changed", "weak %u", s);
    return true;
  }
  uint32_t now = model_find(&w->model, t);
  if (now != MODEL_NONE && now != idx) {
    thr_finding(w, "weak reference to a reused cell", "weak %u: object #%u, cell now holds #%u", s,
                idx, now);
    return true;
  }
  model_revive(&w->model, idx); /* an eden collection left it in place (sticky marks) */
  set_handle(w, dst, idx);
  return true;
}

/* Every object reachable from this thread's handles is visited; so is every object the model
 * still has alive, if no collection ran while the iteration waited for the world. Other threads'
 * objects are visited too, so visits of non-model objects are no finding. */
static bool op_iterate(worker_t *w) {
  run_t *r = w->run;
  uint64_t before = atomic_load_explicit(&r->collections, memory_order_relaxed);
  visit_buf_t v = {0};
  if (thr_iterate_into(w, w->m, &v)) {
    bool quiet = atomic_load_explicit(&r->collections, memory_order_relaxed) == before;
    thr_reach_from_handles(w);
    for (uint32_t i = 0; i < w->model.count && !w->failed; i++) {
      const model_obj_t *o = &w->model.objs[i];
      if ((o->reachable || (quiet && o->alive)) &&
          !thr_sorted_contains(v.items, v.count, (uintptr_t)o->ptr))
        thr_finding(w, "iteration missed a live object", "object #%u (%s)", i,
                    o->reachable ? "reachable" : "alive");
    }
  }
  free(v.items);
  return true;
}

static bool op_stop_allocating(worker_t *w, bool stop) {
  if (w->stopped == stop) return false;
  w->stopped = stop;
  hc_status_t st = stop ? hc_mutator_stop_allocating(w->m) : hc_mutator_resume_allocating(w->m);
  if (st != HC_OK)
    thr_finding(w, stop ? "stop-allocating" : "resume-allocating", "%s", hc_status_name(st));
  return true;
}

/* Attaches this thread's mutator and makes every handle a root of it, for good. */
static void attach(worker_t *w) {
  run_t *r = w->run;
  hc_status_t st = hc_mutator_attach(r->heap, &w->m);
  if (st != HC_OK) {
    w->m = NULL;
    thr_finding(w, "attach", "%s", hc_status_name(st));
    return;
  }
  for (uint32_t h = 0; h < OPS_HANDLES; h++) {
    st = hc_root_push(w->m, &w->handles[h]);
    if (st != HC_OK) {
      hc_root_pop(w->m, h);
      thr_finding(w, "root registration", "%s", hc_status_name(st));
      return;
    }
  }
  w->seen = atomic_load_explicit(&r->collections, memory_order_relaxed);
  w->seen_full = atomic_load_explicit(&r->full_collections, memory_order_relaxed);
}

/* The end of the thread (its detach op, or its last op): the objects its handles hold become
 * global roots in slots the run owns, checked at the join; then the mutator detaches. */
static void hand_over(worker_t *w) {
  if (!w->m) return;
  for (uint32_t h = 0; h < OPS_HANDLES; h++) {
    if (!w->handles[h]) continue;
    hc_status_t st = hc_global_root_add(w->m, &w->handles[h]);
    w->global[h] = st == HC_OK;
    if (st != HC_OK) thr_finding(w, "root registration", "global: %s", hc_status_name(st));
  }
  hc_root_pop(w->m, OPS_HANDLES);
  hc_status_t st = hc_mutator_detach(w->m);
  w->m = NULL;
  if (st != HC_OK) thr_finding(w, "detach", "%s", hc_status_name(st));
}

/* Runs one op of a mutator thread; false when it was skipped for absent state. */
static bool run_op(worker_t *w, const ops_op_t *op) {
  const uint16_t *a = op->operand;
  run_t *r = w->run;
  switch ((ops_opcode_t)(op->opcode % OPS_OP_COUNT)) {
    case OPS_ALLOC:
      return op_alloc(w, a);
    case OPS_STORE:
      return held(w, a[2]) != MODEL_NONE && op_store(w, a[0], a[1], held(w, a[2]));
    case OPS_CLEAR:
      return op_store(w, a[0], a[1], MODEL_NONE);
    case OPS_LOAD:
      return op_load(w, a[0], a[1], a[2]);
    case OPS_WRITE:
      return op_write(w, a[0], (uint8_t)a[1]);
    case OPS_CHECK:
      if (held(w, a[0]) == MODEL_NONE) return false;
      thr_check_object(w, w->m, w, held(w, a[0]));
      return true;
    case OPS_ROOT: /* every handle is a root already */
      return held(w, a[0]) != MODEL_NONE;
    case OPS_UNROOT: /* a root that holds nothing: the same as forgetting the object */
    case OPS_DROP:
      if (held(w, a[0]) == MODEL_NONE) return false;
      set_handle(w, a[0], MODEL_NONE);
      return true;
    case OPS_WEAK_NEW:
      return op_weak_new(w, a[0], a[1]);
    case OPS_WEAK_GET:
      return op_weak_get(w, a[0], a[1]);
    case OPS_GC_FULL:
    case OPS_GC_EDEN: {
      bool full = op->opcode % OPS_OP_COUNT == OPS_GC_FULL;
      hc_status_t st = hc_collect(w->m, full ? HC_COLLECT_FULL : HC_COLLECT_EDEN);
      if (st != HC_OK) thr_finding(w, "collection", "%s", hc_status_name(st));
      thr_settle(w);
      thr_verify(w, w->m, "a collection");
      return true;
    }
    case OPS_SWEEP:
      hc_sweep_step(w->m, a[0] % 16u + 1);
      thr_verify(w, w->m, "a sweep");
      return true;
    case OPS_SWEEP_ALL:
      hc_sweep_all(w->m);
      thr_verify(w, w->m, "a sweep");
      return true;
    case OPS_SHRINK:
      hc_shrink(w->m);
      thr_verify(w, w->m, "a shrink");
      return true;
    case OPS_STOP_ALLOC:
      return op_stop_allocating(w, true);
    case OPS_RESUME_ALLOC:
      return op_stop_allocating(w, false);
    case OPS_ITERATE:
      return op_iterate(w);
    case OPS_ATTACH: /* the plan makes it this thread's first op */
      attach(w);
      return true;
    case OPS_DETACH: /* and this its last */
      hand_over(w);
      return true;
    case OPS_SWITCH:  /* the plan's: from here the program's ops are this thread's */
    case OPS_PREEMPT: /* the deterministic scheduler's; free-running threads ignore it */
      return true;
    case OPS_FAIL_NEXT:
      hc_heap_fail_block_acquisition(r->heap, a[0] % 8u + 1);
      return true;
    case OPS_VERIFY:
      thr_verify(w, w->m, "a verify op");
      thr_settle(w);
      thr_check_reachable(w);
      return true;
    case OPS_SWEEPER_TICK: /* the sweeper thread's (ops_plan never gives it to a mutator) */
    case OPS_OP_COUNT:
      break;
  }
  return false;
}

static void print_op(worker_t *w) {
  char text[128], line[192];
  ops_format_op(w->op, text, sizeof text);
  snprintf(line, sizeof line, "op %u [%s]: %s\n", w->op_index, w->name, text);
  fputs(line, w->run->out);
}

static void *mutator_main(void *arg) {
  worker_t *w = arg;
  run_t *r = w->run;
  thr_current_worker = w;
  pthread_barrier_wait(&r->start);
  if (w->thread == 0) attach(w);
  for (uint32_t i = 0; i < w->nops; i++) {
    if (atomic_load_explicit(&r->stop, memory_order_relaxed)) break;
    w->op_index = w->ops[i];
    w->op = &r->p->ops[w->op_index];
    if (r->opt->verbose) print_op(w);
    unsigned code = w->op->opcode % OPS_OP_COUNT;
    if (!w->m && code != OPS_ATTACH) { /* ops_plan starts every thread but m0 with its attach */
      fprintf(stderr, "heapfuzz: op %u runs on %s before its attach\n", w->op_index, w->name);
      abort();
    }
    bool ran = run_op(w, w->op);
    w->ops_run += ran;
    w->ops_skipped += !ran;
    if (w->m) thr_settle(w);
    thr_check_finalized(w);
  }
  hand_over(w);
  thr_current_worker = NULL;
  return NULL;
}

static void *sweeper_main(void *arg) {
  worker_t *w = arg;
  run_t *r = w->run;
  thr_current_worker = w;
  pthread_barrier_wait(&r->start);
  for (uint32_t i = 0; i < w->nops; i++) {
    if (atomic_load_explicit(&r->stop, memory_order_relaxed)) break;
    w->op_index = w->ops[i];
    w->op = &r->p->ops[w->op_index];
    if (r->opt->verbose) print_op(w);
    hc_sweeper_run_step(r->heap, w->op->operand[0] % 16u + 1);
    w->ops_run++;
    thr_check_finalized(w);
  }
  thr_current_worker = NULL;
  return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Running a program
 * ------------------------------------------------------------------------------------------- */


static worker_t *new_worker(run_t *r, uint32_t thread, const char *name) {
  worker_t *w = thr_xcalloc(1, sizeof *w);
  w->run = r;
  w->thread = thread;
  w->name = name;
  w->stage = "setup";
  for (uint32_t h = 0; h < OPS_HANDLES; h++)
    w->handle_obj[h] = MODEL_NONE;
  for (uint32_t s = 0; s < OPS_WEAK_SLOTS; s++)
    w->weak_obj[s] = MODEL_NONE;
  model_init(&w->model);
  return w;
}

static void free_worker(worker_t *w) {
  model_free(&w->model);
  free(w->finalized_objs);
  free(w->ops);
}

/* One worker per mutator thread of the plan (workers[0] is m0) and, if the plan uses it, the
 * sweeper; the plan's void steps count as skipped. */
static void assign_ops(run_t *r) {
  const ops_plan_t *plan = &r->plan;
  worker_t *by_thread[OPS_THREAD_COUNT] = {NULL};
  for (uint32_t t = 0; t < plan->threads; t++)
    by_thread[t] = r->workers[r->nworkers++] = new_worker(r, t, ops_thread_name(t));
  if (plan->uses_sweeper)
    by_thread[OPS_THREAD_SWEEPER] = r->workers[r->nworkers++] =
        new_worker(r, OPS_THREAD_SWEEPER, ops_thread_name(OPS_THREAD_SWEEPER));
  for (uint32_t k = 0; k < plan->count; k++)
    if (!plan->steps[k].skip) by_thread[plan->steps[k].thread]->nops++;
  for (uint32_t t = 0; t < r->nworkers; t++) {
    r->workers[t]->ops = thr_xcalloc(r->workers[t]->nops, sizeof(uint32_t));
    r->workers[t]->nops = 0;
  }
  for (uint32_t k = 0; k < plan->count; k++) {
    const ops_plan_step_t *s = &plan->steps[k];
    if (s->skip) {
      r->res->ops_skipped++;
      continue;
    }
    worker_t *w = by_thread[s->thread];
    w->ops[w->nops++] = k;
  }
}

bool ops_run_threads(const ops_program_t *p, const ops_run_options_t *options,
                     ops_run_result_t *result) {
  ops_run_options_t defaults = {0}, traced;
  const ops_run_options_t *opt = options ? options : &defaults;
  const char *env = getenv("HEAPFUZZ_TRACE");
  if (env && *env && strcmp(env, "0") != 0 && !opt->trace) {
    traced = *opt;
    traced.trace = true;
    opt = &traced;
  }
  ops_run_result_t scratch;
  ops_run_result_t *res = result ? result : &scratch;
  memset(res, 0, sizeof *res);
  run_t *r = thr_xcalloc(1, sizeof *r);
  r->p = p;
  r->opt = opt;
  r->out = opt->out ? opt->out : stderr;
  r->res = res;
  ops_plan(p, &r->plan);

  hc_config_t cfg;
  ops_heap_config(&p->config, &cfg);
  cfg.finalizer = thr_on_finalize;
  cfg.finalizer_ctx = r;
  if (hc_heap_create(&cfg, &r->heap) != HC_OK) {
    fputs("heapfuzz: cannot create the heap\n", stderr);
    abort();
  }
  hc_heap_set_event_hook(r->heap, thr_on_event, r);
  assign_ops(r);

  worker_t *c = &r->checker;
  c->run = r;
  c->name = "main";
  c->stage = "join";
  c->op_index = r->plan.count;
  thr_current_worker = c;

  pthread_barrier_init(&r->start, NULL, r->nworkers);
  /* Small stacks: thread start and exit cost the sanitizers time in proportion to the stack
   * (ASan and TSan reset its shadow), and a run starts up to 17 threads. The deepest call chains
   * here (a finding's dump, a sanitizer report) need far less. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, THREAD_STACK_BYTES);
  for (uint32_t t = 1; t < r->nworkers; t++) {
    worker_t *w = r->workers[t];
    if (pthread_create(&w->tid, &attr,
                       w->thread == OPS_THREAD_SWEEPER ? sweeper_main : mutator_main, w) != 0) {
      fputs("heapfuzz: cannot start a thread\n", stderr);
      abort(); /* the others wait at the start barrier for it */
    }
  }
  pthread_attr_destroy(&attr);
  /* m0 runs on the calling thread (one thread creation fewer per run: thread start-up is most
   * of a short program's time), then waits for the others. */
  mutator_main(r->workers[0]);
  for (uint32_t t = 1; t < r->nworkers; t++)
    pthread_join(r->workers[t]->tid, NULL);
  pthread_barrier_destroy(&r->start);
  thr_current_worker = c;

  if (r->dump_pending) { /* every thread is joined: the unsynchronized dump is safe now */
    hc_heap_dump(r->heap, NULL, r->out);
    fflush(r->out);
    if (opt->abort_on_finding) abort();
  }
  bool clean = !atomic_load(&r->reported);
  if (clean) {
    hc_status_t st = hc_mutator_attach(r->heap, &c->m);
    if (st != HC_OK)
      thr_finding(c, "attach", "checker: %s", hc_status_name(st));
    else
      thr_final_check(r);
  }
  clean = !atomic_load(&r->reported);
  thr_teardown(r, clean);
  clean = !atomic_load(&r->reported);

  res->collections = (uint32_t)atomic_load(&r->collections);
  for (uint32_t t = 0; t < r->nworkers; t++) {
    res->ops_run += r->workers[t]->ops_run;
    res->ops_skipped += r->workers[t]->ops_skipped;
    free_worker(r->workers[t]);
    free(r->workers[t]);
  }
  free_worker(c);
  free(r->finalized_ptrs);
  free(r);
  thr_current_worker = NULL;
  return clean;
}
