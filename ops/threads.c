/* threads.c: real-thread mode (ops_run_threads, include/heapops.h "Threads and schedules").
 *
 * The plan (ops_plan) gives every op its logical thread; here each mutator thread is a pthread
 * running its ops in program order through the same op functions as deterministic mode (exec.c;
 * m0 on the calling thread, the others started for the run), the sweeper thread is one more
 * pthread running the `sweeper` ops, and nothing orders one thread's ops against another's:
 * collections happen whenever some thread asks, at the others' safepoints. Everything is joined
 * before the call returns.
 *
 * Each thread owns a world (handles, weak slots, shadow model): only it touches it until the
 * join, and every handle is a root of its mutator (OPS_ROOTS_ALL); oracle.c says why each check
 * is sound so. At the end of a thread (its detach op, or its last op) the objects its handles
 * hold become global roots in slots its world owns, and the mutator detaches. At the join, with
 * only the checker's mutator attached, a full collection's live set is exactly the union of the
 * threads' reachable sets: objects, live bytes, iteration, weak references, verify and
 * finalizers are checked exactly (final_check). Findings are reported once (the first); every
 * thread stops at its next op and still hands over and detaches, so the teardown frees
 * everything. */
#include "exec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREAD_STACK_BYTES (256u * 1024) /* see ops_run_threads */

/* One pthread: a mutator thread or the sweeper. */
typedef struct worker {
  ops_ctx_t ctx;
  ops_world_t world;
  char label[16];  /* "m1 ": how the checker's findings name this thread's objects */
  uint32_t thread; /* plan thread number (OPS_THREAD_SWEEPER for the sweeper) */
  uint32_t *ops;   /* indices of this thread's ops, in program order */
  uint32_t nops;
  uint32_t ops_run, ops_skipped;
  pthread_t tid;
  pthread_barrier_t *start;
} worker_t;

typedef struct thr_run {
  ops_run_t run;
  ops_plan_t plan;
  worker_t *workers[OPS_MAX_THREADS + 1]; /* mutator threads, then the sweeper */
  uint32_t nworkers;
  ops_ctx_t checker; /* the calling thread at the join */
  ops_world_t checker_world;
  ops_world_t heap_thread_world; /* finalizers the background sweeper ran */
  pthread_barrier_t start;       /* the workers start together, so their ops overlap */
} thr_run_t;

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) {
    fputs("heapfuzz: out of memory\n", stderr);
    abort();
  }
  return p;
}

/* The join's checks and destroy need the heap's own sweeper stopped: what it finalized is then
 * all counted (threads joined, so no lock). */
static void stop_sweeper(ops_run_t *r) {
  if (!r->sweeper_running) return;
  r->be->sweeper_stop(r->heap);
  r->sweeper_running = false;
}

static void run_ops(worker_t *w) {
  ops_ctx_t *c = &w->ctx;
  ops_run_t *r = c->run;
  ops_current_ctx = c;
  pthread_barrier_wait(w->start);
  if (w->thread == 0) ops_attach(c);
  for (uint32_t i = 0; i < w->nops; i++) {
    if (atomic_load_explicit(&r->stop, memory_order_relaxed)) break;
    uint32_t k = w->ops[i];
    if (r->opt->verbose) {
      char text[128];
      ops_format_op(&r->prog->ops[k], text, sizeof text);
      ops_printf(r, "op %u [%s]: %s\n", k, c->name, text);
    }
    bool ran = ops_exec(c, k);
    w->ops_run += ran;
    w->ops_skipped += !ran;
    ops_settle(c); /* without access, only the finalizers' judgment */
  }
  ops_detach(c);
  ops_current_ctx = NULL;
}

static void *thread_main(void *arg) {
  run_ops(arg);
  return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * The join: every thread has handed over and detached; the checker's mutator is the only one
 * ------------------------------------------------------------------------------------------- */

/* With only global roots left, a full collection's live set is exactly the union of the threads'
 * reachable sets (no thread can reach another's objects, so the sets are disjoint). */
static void final_check(thr_run_t *t) {
  ops_run_t *r = &t->run;
  const hb_backend_t *be = r->be;
  ops_ctx_t *c = &t->checker;
  ops_world_t *cw = c->world;
  hb_status_t st = be->collect(c->mut, true);
  if (st != HB_OK) ops_finding(c, "collection", "%s", be->status_name(st));
  uint64_t reachable_bytes = 0, reachable_objects = 0, finalizable_reachable = 0;
  uint64_t finalizable = 0;
  for (uint32_t i = 0; i < t->nworkers && !cw->failed; i++) {
    ops_world_t *w = &t->workers[i]->world;
    finalizable += w->model.finalizable_allocated;
    ops_reach(w);
    for (uint32_t k = 0; k < w->model.count && !cw->failed; k++) {
      const model_obj_t *o = &w->model.objs[k];
      if (!o->reachable) continue;
      ops_check_object(c, w, k, false);
      if (ops_has(r, HB_CAP_EXACT_LIVE_BYTES))
        reachable_bytes += be->cell_bytes(o->size, o->nslots);
      reachable_objects++;
      finalizable_reachable += o->finalizable;
    }
    for (uint32_t s = 0; s < OPS_WEAK_SLOTS && !cw->failed; s++) {
      if (!w->weak[s]) continue;
      hb_object_t *got = be->weak_get(c->mut, w->weak[s]);
      uint32_t idx = w->weak_obj[s];
      bool reachable = idx != MODEL_NONE && w->model.objs[idx].reachable;
      if (reachable && got != w->model.objs[idx].ptr)
        ops_finding(c, "weak reference to a reachable object cleared", "%sweak %u", w->label, s);
      else if (!reachable && got != NULL && ops_has(r, HB_CAP_EXACT_DEATH))
        ops_finding(c, "weak reference to a dead object survived a full collection", "%sweak %u",
                    w->label, s);
    }
  }
  if (cw->failed) return;
  uint64_t heap_bytes = ops_has(r, HB_CAP_EXACT_LIVE_BYTES) ? be->live_bytes(r->heap) : 0;
  if (ops_has(r, HB_CAP_EXACT_LIVE_BYTES) && heap_bytes != reachable_bytes)
    ops_finding(c, "live bytes", "heap reports %llu after the final full collection, threads %llu",
                (unsigned long long)heap_bytes, (unsigned long long)reachable_bytes);

  /* Iteration visits exactly the reachable objects now on a precise heap (nothing was
   * allocated since), at least them on any. */
  uintptr_t *v = NULL;
  size_t n = 0;
  if (!cw->failed && ops_has(r, HB_CAP_ITERATE) && ops_iterate_sorted(c, &v, &n)) {
    if (ops_has(r, HB_CAP_EXACT_DEATH) && n != reachable_objects)
      ops_finding(c, "iteration", "visited %zu objects, %llu reachable", n,
                  (unsigned long long)reachable_objects);
    for (uint32_t i = 0; i < t->nworkers && !cw->failed; i++) {
      const ops_world_t *w = &t->workers[i]->world;
      for (uint32_t k = 0; k < w->model.count && !cw->failed; k++)
        if (w->model.objs[k].reachable &&
            !ops_sorted_contains(v, n, (uintptr_t)w->model.objs[k].ptr))
          ops_finding(c, "iteration missed a live object", "%sobject #%u", w->label, k);
    }
  }
  if (!cw->failed) ops_verify(c, "the final full collection");

  /* Sweeping everything now finalizes exactly the dead finalizable objects, never a reachable
   * one; destroy finalizes the rest (checked in the teardown). */
  if (!cw->failed && ops_has(r, HB_CAP_SWEEP_ALL)) {
    cw->record_finalized = true;
    be->sweep_all(c->mut);
    cw->record_finalized = false;
    ops_check_finalized(c);
    uint64_t ran = cw->finalized + t->heap_thread_world.finalized;
    for (uint32_t i = 0; i < t->nworkers; i++)
      ran += t->workers[i]->world.finalized;
    if (!cw->failed && ops_has(r, HB_CAP_EXACT_DEATH | HB_CAP_EXACT_FINALIZERS) &&
        ran != finalizable - finalizable_reachable)
      ops_finding(c, "finalizers", "%llu ran for %llu dead finalizable objects before teardown",
                  (unsigned long long)ran,
                  (unsigned long long)(finalizable - finalizable_reachable));
    for (size_t i = 0; i < cw->nrecorded && !cw->failed; i++)
      if (ops_sorted_contains(v, n, cw->recorded[i]))
        ops_finding(c, "finalizer ran for a live object", "a reachable object, in the final sweep");
  }
  free(v);
}

/* Removes what the checker can, detaches it, destroys the heap, and (with check) judges that
 * every finalizable object was finalized exactly once in all. */
static void teardown(thr_run_t *t, bool check) {
  ops_run_t *r = &t->run;
  ops_ctx_t *c = &t->checker;
  c->stage = "teardown";
  stop_sweeper(r);
  if (c->mut) {
    for (uint32_t i = 0; i < t->nworkers; i++) {
      ops_world_t *w = &t->workers[i]->world;
      for (uint32_t s = 0; s < OPS_WEAK_SLOTS; s++)
        if (w->weak[s]) r->be->weak_destroy(c->mut, w->weak[s]);
      for (uint32_t h = 0; h < OPS_HANDLES; h++)
        if (w->rooted[h]) r->be->root_remove(c->mut, &w->handles[h]);
    }
    r->be->detach(c->mut);
    c->mut = NULL;
  }
  /* Weak references left over after a finding are freed by destroy. */
  ops_world_t *worlds[OPS_MAX_THREADS + 3];
  unsigned n = 0;
  for (uint32_t i = 0; i < t->nworkers; i++)
    worlds[n++] = &t->workers[i]->world;
  worlds[n++] = c->world;
  worlds[n++] = &t->heap_thread_world;
  ops_destroy_heap(c, worlds, n, check);
}

/* ---------------------------------------------------------------------------------------------
 * Running a program
 * ------------------------------------------------------------------------------------------- */

static worker_t *new_worker(thr_run_t *t, uint32_t thread) {
  worker_t *w = xcalloc(1, sizeof *w);
  w->thread = thread;
  w->start = &t->start;
  ops_world_init(&w->world, OPS_ROOTS_ALL, false, false);
  snprintf(w->label, sizeof w->label, "%s ", ops_thread_name(thread));
  w->world.label = w->label;
  w->ctx = (ops_ctx_t){.run = &t->run,
                       .world = &w->world,
                       .name = ops_thread_name(thread),
                       .stage = "setup",
                       .is_worker = true};
  return w;
}

/* One worker per mutator thread of the plan (workers[0] is m0) and, if the plan uses it, the
 * sweeper; the plan's void steps count as skipped. */
static void assign_ops(thr_run_t *t) {
  const ops_plan_t *plan = &t->plan;
  worker_t *by_thread[OPS_THREAD_COUNT] = {NULL};
  for (uint32_t i = 0; i < plan->threads; i++)
    by_thread[i] = t->workers[t->nworkers++] = new_worker(t, i);
  if (plan->uses_sweeper)
    by_thread[OPS_THREAD_SWEEPER] = t->workers[t->nworkers++] = new_worker(t, OPS_THREAD_SWEEPER);
  for (uint32_t k = 0; k < plan->count; k++)
    if (!plan->steps[k].skip) by_thread[plan->steps[k].thread]->nops++;
  for (uint32_t i = 0; i < t->nworkers; i++) {
    t->workers[i]->ops = xcalloc(t->workers[i]->nops, sizeof(uint32_t));
    t->workers[i]->nops = 0;
  }
  for (uint32_t k = 0; k < plan->count; k++) {
    const ops_plan_step_t *s = &plan->steps[k];
    if (s->skip) {
      t->run.res->ops_skipped++;
      continue;
    }
    worker_t *w = by_thread[s->thread];
    w->ops[w->nops++] = k;
  }
}

bool ops_run_threads(const ops_program_t *p, const ops_run_options_t *options,
                     ops_run_result_t *result) {
  ops_run_options_t opt = options ? *options : (ops_run_options_t){0};
  const char *env = getenv("HEAPFUZZ_TRACE");
  if (env && *env && strcmp(env, "0") != 0) opt.trace = true;
  ops_run_result_t scratch;
  ops_run_result_t *res = result ? result : &scratch;
  memset(res, 0, sizeof *res);
  thr_run_t *t = xcalloc(1, sizeof *t);
  ops_run_t *r = &t->run;
  r->be = opt.backend ? opt.backend : ops_default_backend();
  r->caps = ops_mode_caps(r->be, true);
  r->prog = p;
  r->plan = &t->plan;
  r->opt = &opt;
  r->out = opt.out ? opt.out : stderr;
  r->res = res;
  ops_world_init(&t->heap_thread_world, OPS_ROOTS_EXPLICIT, false, false);
  r->heap_thread_world = &t->heap_thread_world;
  pthread_mutex_init(&r->sweeper_lock, NULL);
  ops_plan(p, &t->plan);

  hb_settings_t settings = {.heap_limit = OPS_HEAP_LIMIT};
  memcpy(settings.config, &p->config, sizeof settings.config);
  hb_hooks_t hooks = ops_hooks(r);
  if (r->be->create(&settings, &hooks, &r->heap) != HB_OK) {
    fprintf(stderr, "heapfuzz: cannot create a %s heap\n", r->be->name);
    abort();
  }
  assign_ops(t);
  r->tracing = opt.trace;

  ops_ctx_t *c = &t->checker;
  ops_world_init(&t->checker_world, OPS_ROOTS_EXPLICIT, false, false);
  *c = (ops_ctx_t){.run = r,
                   .world = &t->checker_world,
                   .name = "main",
                   .stage = "join",
                   .op_index = t->plan.count};
  ops_current_ctx = c;

  pthread_barrier_init(&t->start, NULL, t->nworkers);
  /* Small stacks: thread start and exit cost the sanitizers time in proportion to the stack
   * (ASan and TSan reset its shadow), and a run starts up to 17 threads. The deepest call chains
   * here (a finding's dump, a sanitizer report) need far less. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, THREAD_STACK_BYTES);
  for (uint32_t i = 1; i < t->nworkers; i++) {
    if (pthread_create(&t->workers[i]->tid, &attr, thread_main, t->workers[i]) != 0) {
      fputs("heapfuzz: cannot start a thread\n", stderr);
      abort(); /* the others wait at the start barrier for it */
    }
  }
  pthread_attr_destroy(&attr);
  /* m0 runs on the calling thread (one thread creation fewer per run: thread start-up is most
   * of a short program's time), then waits for the others. */
  run_ops(t->workers[0]);
  for (uint32_t i = 1; i < t->nworkers; i++)
    pthread_join(t->workers[i]->tid, NULL);
  pthread_barrier_destroy(&t->start);
  ops_current_ctx = c;

  if (r->dump_pending) { /* every thread is joined: the unsynchronized dump is safe now */
    ops_dump(r, NULL);
    if (opt.abort_on_finding) abort();
  }
  stop_sweeper(r); /* before the checker holds access: stopping waits for the sweeper */
  if (!atomic_load(&r->reported)) {
    hb_status_t st = r->be->attach(r->heap, &c->mut);
    if (st != HB_OK) {
      c->mut = NULL;
      ops_finding(c, "attach", "checker: %s", r->be->status_name(st));
    } else {
      final_check(t);
    }
  }
  teardown(t, !atomic_load(&r->reported));
  bool clean = !atomic_load(&r->reported);

  res->collections = (uint32_t)atomic_load(&r->collections);
  for (unsigned b = 0; b < HB_CAP_COUNT; b++)
    res->unsupported[b] = atomic_load(&r->unsupported[b]);
  for (uint32_t i = 0; i < t->nworkers; i++) {
    worker_t *w = t->workers[i];
    res->ops_run += w->ops_run;
    res->ops_skipped += w->ops_skipped;
    ops_world_free(&w->world);
    free(w->ops);
    free(w);
  }
  ops_world_free(&t->checker_world);
  ops_world_free(&t->heap_thread_world);
  pthread_mutex_destroy(&r->sweeper_lock);
  free(t);
  ops_current_ctx = NULL;
  return clean;
}
