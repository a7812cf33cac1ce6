/* interp.c: runs an op program against a fresh heap under the shadow model, in deterministic mode
 * (include/heapops.h "Threads and schedules"; the scheduler is sched.c, the ops interp_ops.c).
 *
 * The program holds OPS_HANDLES handles (object references) and OPS_WEAK_SLOTS weak references,
 * shared by all its threads. A rooted handle is a heap-wide root slot (hc_global_root_add), so
 * what it holds survives every collection; an unrooted handle is a plain reference, valid until
 * the next collection: the interpreter forgets it then, unless its object is still reachable.
 *
 * The oracle runs after every collection (explicit, automatic inside an allocation, or the
 * collector thread's), before any op can change a handle: every object reachable from the rooted
 * handles is intact (header, payload, slots); weak references to reachable objects are set and,
 * after a full collection, those to unreachable ones cleared; after a full collection the heap's
 * live bytes equal the model's reachable bytes; and hc_heap_verify passes. Sweeps, shrinks and
 * detaches are followed by hc_heap_verify; finalizers must run only for dead objects and, by the
 * end, exactly once for each finalizable object. A broken invariant ends the run with one line:
 * "op N (text) on THREAD: invariant: detail", then a heap dump. */
#include "interp.h"

#include "finding.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Findings
 * ------------------------------------------------------------------------------------------- */

void interp_print(interp_t *in, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ops_quiet_begin();
  vfprintf(in->out, fmt, ap);
  ops_quiet_end();
  va_end(ap);
}

void interp_finding(interp_t *in, const char *invariant, const char *fmt, ...) {
  if (in->failed) return;
  in->failed = true;
  thread_t *t = in->running;
  uint32_t op_index = t ? t->op : 0;
  const ops_op_t *op = t && op_index < in->prog->count ? &in->prog->ops[op_index] : NULL;
  ops_run_result_t *r = in->res;
  va_list ap;
  va_start(ap, fmt);
  ops_record_finding(r, op_index, op, in->tearing_down ? "teardown" : "setup",
                     t ? ops_thread_name(t->id) : "main", invariant, fmt, ap);
  va_end(ap);
  ops_quiet_begin(); /* a report, not the heap's work: out of TSan's sight */
  fprintf(in->out, "heapfuzz: finding: %s\n", r->message);
  if (in->heap) hc_heap_dump(in->heap, interp_mutator(in), in->out);
  fflush(in->out);
  ops_quiet_end();
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
    interp_print(in, "  event %s mutator=%u size=%u block=%llu arg=%llu\n",
                 (unsigned)ev->kind < HC_EV_COUNT ? event_names[ev->kind] : "?", ev->mutator,
                 ev->cell_size, (unsigned long long)ev->block, (unsigned long long)ev->arg);
}

static void on_finalize(hc_object_t *obj, void *ctx) {
  interp_t *in = ctx;
  in->finalized++;
  uint32_t idx = in->tearing_down ? MODEL_NONE : model_find(&in->model, obj);
  if (idx == MODEL_NONE) return;
  /* Judged once the model has settled: a collection inside the same heap call (an allocation
   * that collected, then stole the dead object's block) may not be settled in the model yet. */
  if (in->nfinalized == in->cap_finalized) {
    in->cap_finalized = in->cap_finalized ? in->cap_finalized * 2 : 64;
    ops_quiet_begin();
    in->finalized_objs = realloc(in->finalized_objs, in->cap_finalized * sizeof(uint32_t));
    ops_quiet_end();
    if (!in->finalized_objs) abort();
  }
  in->finalized_objs[in->nfinalized++] = idx;
}

void interp_check_finalized(interp_t *in) {
  if (in->collections != in->settled) return; /* not yet: the model is behind */
  for (uint32_t i = 0; i < in->nfinalized && !in->failed; i++)
    if (in->model.objs[in->finalized_objs[i]].alive)
      interp_finding(in, "finalizer ran for a live object", "object #%u", in->finalized_objs[i]);
  in->nfinalized = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------------------------- */

void interp_verify(interp_t *in, const char *when) {
  char msg[384];
  hc_status_t st = hc_heap_verify(interp_mutator(in), msg, sizeof msg);
  if (st != HC_OK) interp_finding(in, "verify", "after %s: %s (%s)", when, msg, hc_status_name(st));
}

void interp_verify_all(interp_t *in, const char *when) {
  interp_verify(in, when); /* first: it may run other threads (see after_collection) */
  interp_reach_from_roots(in);
  for (uint32_t i = 0; i < in->model.count && !in->failed; i++)
    if (in->model.objs[i].reachable) interp_check_object(in, i);
}

static bool payload_intact(const model_obj_t *o, uint32_t idx) {
  return model_payload_apply(hc_object_payload(o->ptr), hc_object_payload_size(o->ptr), idx,
                             o->seed, true);
}

/* One object against its model: identity, layout, payload, references. */
void interp_check_object(interp_t *in, uint32_t idx) {
  model_t *m = &in->model;
  const model_obj_t *o = &m->objs[idx];
  interp_use(o->ptr);
  if (!hc_is_live_object(interp_mutator(in), o->ptr)) {
    interp_finding(in, "reachable object lost", "object #%u is not a live cell", idx);
    return;
  }
  if (hc_object_size(o->ptr) != o->size || hc_object_slot_count(o->ptr) != o->nslots) {
    interp_finding(in, "object header changed", "object #%u: size %zu slots %u, model %u / %u", idx,
                   hc_object_size(o->ptr), hc_object_slot_count(o->ptr), o->size, o->nslots);
    return;
  }
  if (!payload_intact(o, idx)) {
    interp_finding(in, "payload changed", "object #%u", idx);
    return;
  }
  for (uint32_t s = 0; s < o->nslots; s++) {
    hc_object_t *want = o->slots[s] == MODEL_NONE ? NULL : m->objs[o->slots[s]].ptr;
    if (hc_load(o->ptr, s) != want) {
      interp_finding(in, "reference changed", "object #%u slot %u", idx, s);
      return;
    }
  }
}

void interp_reach_from_roots(interp_t *in) {
  uint32_t roots[OPS_HANDLES], n = 0;
  for (uint32_t h = 0; h < OPS_HANDLES; h++)
    if (in->rooted[h]) roots[n++] = in->handle_obj[h];
  model_reach(&in->model, roots, n);
}

/* After one or more collections. Nothing here yields to another thread until the model is up
 * to date (hc_heap_verify, which stops the world and so may run other threads, comes last):
 * another thread's op must see the model of the heap it runs on. */
static void after_collection(interp_t *in, bool any_full, bool last_full) {
  model_t *m = &in->model;
  interp_reach_from_roots(in);
  uint64_t reachable_bytes = 0;
  for (uint32_t i = 0; i < m->count && !in->failed; i++) {
    if (!m->objs[i].reachable) continue;
    interp_check_object(in, i);
    reachable_bytes += hc_cell_size_for(m->objs[i].size);
  }
  for (uint32_t w = 0; w < OPS_WEAK_SLOTS && !in->failed; w++) {
    if (!in->weak[w] || in->weak_obj[w] == MODEL_NONE) continue;
    const model_obj_t *o = &m->objs[in->weak_obj[w]];
    hc_object_t *t = interp_weak_get(in->weak[w]);
    if (o->reachable && t != o->ptr)
      interp_finding(in, "weak reference to a reachable object cleared", "weak %u", w);
    else if (!o->reachable && any_full && t != NULL)
      interp_finding(in, "weak reference to a dead object survived a full collection", "weak %u",
                     w);
    else if (t == NULL)
      in->weak_obj[w] = MODEL_NONE;
  }
  if (!in->failed && last_full) {
    hc_stats_t st;
    hc_heap_get_stats(in->heap, &st);
    if (st.live_bytes != reachable_bytes)
      interp_finding(in, "live bytes", "heap reports %llu after a full collection, model %llu",
                     (unsigned long long)st.live_bytes, (unsigned long long)reachable_bytes);
  }
  /* Forget what died: unreachable objects, and the unrooted handles that held them. */
  for (uint32_t i = 0; i < m->count; i++)
    if (m->objs[i].alive && !m->objs[i].reachable) model_kill(m, i);
  for (uint32_t h = 0; h < OPS_HANDLES; h++) {
    if (in->handle_obj[h] != MODEL_NONE && !m->objs[in->handle_obj[h]].alive) {
      in->handles[h] = NULL;
      in->handle_obj[h] = MODEL_NONE;
    }
  }
  if (!in->failed) interp_verify(in, "a collection");
}

/* Called right after every heap call that may have collected and before every op, before the
 * op changes any handle: the model's roots must be the ones the collector saw. */
void interp_settle(interp_t *in) {
  if (in->collections != in->settled && !in->failed) {
    bool any_full = in->full_collections != in->settled_full;
    in->settled = in->collections;
    in->settled_full = in->full_collections;
    after_collection(in, any_full, in->last_was_full);
  }
  interp_check_finalized(in);
}

/* ---------------------------------------------------------------------------------------------
 * Running a program
 * ------------------------------------------------------------------------------------------- */


/* From the main context, every fiber ended: no mutator holds access. */
static void teardown(interp_t *in) {
  in->tearing_down = true;
  interp_check_finalized(in); /* those the sweeper ran after the last op that settled */
  in->running = NULL;         /* the yield hook stays, and ignores the main context */
  hc_mutator_t *any = NULL;   /* weak references and root slots go through a mutator */
  for (uint32_t i = 0; i < OPS_THREAD_COUNT && !any; i++)
    any = in->threads[i].mut;
  if (any) {
    hc_mutator_acquire_access(any);
    for (uint32_t w = 0; w < OPS_WEAK_SLOTS; w++)
      if (in->weak[w]) hc_weak_destroy(any, in->weak[w]);
    for (uint32_t h = 0; h < OPS_HANDLES; h++)
      if (in->rooted[h]) hc_global_root_remove(any, &in->handles[h]);
    hc_mutator_release_access(any);
  }
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++) {
    if (in->threads[i].mut) hc_mutator_detach(in->threads[i].mut);
    in->threads[i].mut = NULL;
  }
  /* Destroy runs the finalizers still owed: every finalizable object, exactly once, in all. */
  hc_status_t st = hc_heap_destroy(in->heap);
  if (st == HC_OK) in->heap = NULL; /* a finding from here on has no heap to dump */
  if (st != HC_OK)
    interp_finding(in, "teardown", "hc_heap_destroy: %s", hc_status_name(st));
  else if (in->finalized != in->model.finalizable_allocated)
    interp_finding(in, "finalizers", "%llu ran for %llu finalizable objects",
                   (unsigned long long)in->finalized,
                   (unsigned long long)in->model.finalizable_allocated);
  in->heap = NULL;
}

static void free_interp(interp_t *in) {
  ops_sched_free(in);
  model_free(&in->model);
  free(in->finalized_objs);
  free(in->plan);
  free(in);
}

static bool run(const ops_program_t *p, const ops_run_options_t *options, ops_run_result_t *result,
                bool env_trace);

/* An environment variable set to anything but "" or "0". */
static bool env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

/* One program that uses every kind of thread at once (m0..m15, the sweeper, the collector): its
 * run creates and starts as many fibers as any program can hold, fills in the size-class table,
 * and passes every other first-time path. */
void ops_warm_up(void) {
  ops_program_t *p = calloc(1, sizeof *p); /* about 40 KiB; each calling thread its own */
  if (!p) abort();
  p->config.versions = 253;
  ops_op_t *op = p->ops;
  *op++ = (ops_op_t){OPS_PREEMPT, {0, 2, 0}}; /* m0 only attached: 2 is the collector */
  *op++ = (ops_op_t){OPS_ALLOC, {0, 48, 0, 0}};
  *op++ = (ops_op_t){OPS_SWEEPER_TICK, {0}};
  for (unsigned t = 1; t < OPS_MAX_THREADS; t++) {
    *op++ = (ops_op_t){OPS_ATTACH, {0}};
    *op++ = (ops_op_t){OPS_DETACH, {1}}; /* the one just attached */
  }
  p->count = (uint32_t)(op - p->ops);
  ops_run_options_t opt = {.abort_on_finding = true};
  run(p, &opt, NULL, false);
  free(p);
}

bool ops_run(const ops_program_t *p, const ops_run_options_t *options, ops_run_result_t *result) {
  return run(p, options, result, true);
}

static bool run(const ops_program_t *p, const ops_run_options_t *options, ops_run_result_t *result,
                bool env_trace) {
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
  in->prog = p;
  ops_run_options_t from_env = *opt; /* HEAPFUZZ_TRACE and HEAPFUZZ_EAGER, for every caller */
  if (env_trace) {
    from_env.trace = from_env.trace || env_flag("HEAPFUZZ_TRACE");
    from_env.eager = from_env.eager || env_flag("HEAPFUZZ_EAGER");
    in->opt = &from_env;
  }
  for (uint32_t h = 0; h < OPS_HANDLES; h++)
    in->handle_obj[h] = MODEL_NONE;
  for (uint32_t w = 0; w < OPS_WEAK_SLOTS; w++)
    in->weak_obj[w] = MODEL_NONE;
  model_init(&in->model);
  in->plan = malloc(sizeof *in->plan);
  if (!in->plan || !ops_sched_init(in)) {
    fputs("heapfuzz: out of memory\n", stderr);
    abort();
  }

  hc_config_t cfg;
  ops_heap_config(&p->config, &cfg);
  cfg.self_checks = in->opt->eager; /* the eager oracle: the heap checks itself too */
  cfg.finalizer = on_finalize;
  cfg.finalizer_ctx = in;
  if (hc_heap_create(&cfg, &in->heap) != HC_OK ||
      hc_mutator_attach(in->heap, &in->threads[0].mut) != HC_OK) {
    fputs("heapfuzz: cannot create the heap\n", stderr);
    abort();
  }
  hc_heap_set_event_hook(in->heap, on_event, in);
  if (hc_heap_set_yield_hook(in->heap, ops_sched_yield, in) != HC_OK) {
    fputs("heapfuzz: the heap core was built without yield points (HC_YIELD_POINTS)\n", stderr);
    abort();
  }

  ops_sched_run(in);

  res->collections = (uint32_t)in->collections;
  /* After a finding the run stopped mid-way: teardown still leaves nothing behind, and reports
   * nothing more (interp_finding reports only the first). */
  teardown(in);
  bool clean = !in->failed;
  free_interp(in);
  return clean;
}
