/* run.c: ops_run, deterministic mode (include/heapops.h "Threads and schedules"): a fresh heap
 * from the backend, one world shared by every logical thread, the scheduler (sched.c) running
 * the ops (exec.c) under the oracle (oracle.c), and the teardown.
 *
 * The program holds OPS_HANDLES handles and OPS_WEAK_SLOTS weak references, shared by all its
 * threads. A rooted handle is a global root slot, so what it holds survives every collection; an
 * unrooted handle is a plain reference, valid until the next collection: the interpreter forgets
 * it then, unless its object is still reachable (OPS_ROOTS_EXPLICIT). */
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

typedef struct det_run {
  ops_run_t run;
  ops_world_t world;
  sched_t sched;
  ops_plan_t plan;
} det_run_t;

/* From the main context, every fiber ended: no mutator holds access. */
static void teardown(det_run_t *d) {
  ops_run_t *r = &d->run;
  ops_world_t *w = &d->world;
  sched_t *s = &d->sched;
  const hb_backend_t *be = r->be;
  ops_ctx_t *c = &s->main_ctx;
  c->stage = "teardown";
  r->tearing_down = true;
  ops_check_finalized(c);   /* those the sweeper ran after the last op that settled */
  s->running = NULL;        /* the yield hook stays, and ignores the main context */
  hb_mutator_t *any = NULL; /* weak references and root slots go through a mutator */
  for (uint32_t i = 0; i < OPS_THREAD_COUNT && !any; i++)
    any = s->threads[i].ctx.mut;
  if (any) {
    if (ops_has(r, HB_CAP_ACCESS)) be->acquire_access(any);
    /* A settle checks a rotating share of the reachable objects (oracle.c after_collection);
     * the end of the program checks every one. */
    if (!w->failed) {
      c->mut = any;
      ops_check_reachable(c);
      c->mut = NULL;
    }
    for (uint32_t k = 0; k < OPS_WEAK_SLOTS; k++)
      if (w->weak[k]) be->weak_destroy(any, w->weak[k]);
    for (uint32_t h = 0; h < OPS_HANDLES; h++)
      if (w->rooted[h]) be->root_remove(any, &w->handles[h]);
    if (ops_has(r, HB_CAP_ACCESS)) be->release_access(any);
  }
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++) {
    if (s->threads[i].ctx.mut) be->detach(s->threads[i].ctx.mut);
    s->threads[i].ctx.mut = NULL;
  }
  /* Destroy runs the finalizers still owed: every finalizable object, exactly once, in all. */
  ops_world_t *worlds[] = {w};
  ops_destroy_heap(c, worlds, 1, true);
}

/* An environment variable set to anything but "" or "0". */
static bool env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

static bool run(const ops_program_t *p, const ops_run_options_t *options, ops_run_result_t *result,
                bool env_options) {
  ops_run_options_t opt = options ? *options : (ops_run_options_t){0};
  if (env_options) { /* HEAPFUZZ_TRACE and HEAPFUZZ_EAGER, for every caller */
    opt.trace = opt.trace || env_flag("HEAPFUZZ_TRACE");
    opt.eager = opt.eager || env_flag("HEAPFUZZ_EAGER");
  }
  ops_run_result_t scratch;
  ops_run_result_t *res = result ? result : &scratch;
  memset(res, 0, sizeof *res);
  det_run_t *d = calloc(1, sizeof *d);
  if (!d) return false;
  ops_run_t *r = &d->run;
  r->be = opt.backend ? opt.backend : ops_default_backend();
  r->caps = ops_mode_caps(r->be, false);
  r->prog = p;
  r->plan = &d->plan;
  r->opt = &opt;
  r->out = opt.out ? opt.out : stderr;
  r->res = res;
  r->serial = true;
  r->hook_world = &d->world;
  pthread_mutex_init(&r->sweeper_lock, NULL);
  ops_world_init(&d->world, OPS_ROOTS_EXPLICIT, true, true);
  ops_plan(p, &d->plan);
  if (!ops_sched_init(&d->sched, r, &d->world)) {
    fputs("heapfuzz: out of memory\n", stderr);
    abort();
  }

  hb_settings_t settings = {.heap_limit = OPS_HEAP_LIMIT, .self_checks = opt.eager};
  memcpy(settings.config, &p->config, sizeof settings.config);
  hb_hooks_t hooks = ops_hooks(r);
  if (ops_has(r, HB_CAP_YIELD_POINTS)) hooks.yield = ops_sched_yield;
  if (r->be->create(&settings, &hooks, &r->heap) != HB_OK ||
      r->be->attach(r->heap, &d->sched.threads[0].ctx.mut) != HB_OK) {
    fprintf(stderr, "heapfuzz: cannot create a %s heap\n", r->be->name);
    abort();
  }
  r->tracing = opt.trace;

  ops_sched_run(&d->sched);

  res->collections = (uint32_t)atomic_load(&r->collections);
  /* After a finding the run stopped mid-way: teardown still leaves nothing behind, and reports
   * nothing more (only the first finding is reported). */
  teardown(d);
  for (unsigned b = 0; b < HB_CAP_COUNT; b++)
    res->unsupported[b] = atomic_load(&r->unsupported[b]);
  bool clean = !atomic_load(&r->reported);
  ops_sched_free(&d->sched);
  pthread_mutex_destroy(&r->sweeper_lock);
  ops_world_free(&d->world);
  free(d);
  return clean;
}

bool ops_run(const ops_program_t *p, const ops_run_options_t *options, ops_run_result_t *result) {
  return run(p, options, result, true);
}

/* One program that uses every kind of thread at once (m0..m15, the sweeper, the collector): its
 * run creates and starts as many fibers as any program can hold, fills in the heap's lazily
 * built tables, and passes every other first-time path. */
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
