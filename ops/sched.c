/* sched.c: the deterministic scheduler (include/heapops.h "Threads and schedules").
 *
 * Every logical thread of a program (mutator threads, the sweeper, the collector) is a fiber on
 * the OS thread that called ops_run, and exactly one runs at a time. Who runs next is decided at
 * three kinds of places, always from the program and the threads' states, never from a clock,
 * an address or a random number:
 *   - between ops (choose): a thread running ahead on a preemption keeps going while its quota
 *     lasts; otherwise a thread suspended inside an op resumes first (the earliest op first);
 *     otherwise the thread whose next op comes first in the program starts it. So without
 *     preemptions the ops run in program order, each to its end.
 *   - at a heap yield point (ops_sched_yield): a thread whose armed change point (a preempt op)
 *     counts down to zero hands the CPU to the preempt's target; otherwise it goes on.
 *   - at a heap wait (a collector waiting for safepoints, a thread waiting for a collection to
 *     end): the waiter cannot go on, so the next thread in round-robin order that can make
 *     progress runs: one suspended inside an op, or a parked mutator holding heap access, which
 *     then passes a safepoint. Waits never start a new op.
 *
 * A mutator thread keeps its heap access while parked between ops, as a real thread doing work
 * outside the heap would, so its allocators keep their blocks across other threads' ops; it
 * polls the heap's safepoint before every op and when woken for a wait. A mutator thread ends
 * (releasing access) after its last op; the sweeper and collector threads live until the program is
 * over, since a preemption may wake them at any time.
 *
 * The preemption budget (OPS_PREEMPT_BUDGET) bounds how many change points fire per run, as PCT
 * bounds the number of priority change points: short programs, yet any interleaving of depth up
 * to the budget is one program away. */
#include "scheduler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Wait yields in a row without anything else happening: more than any live schedule needs (a
 * wait resolves within a round of the participants), so the threads are deadlocked. */
#define SCHED_DEADLOCK_SPINS 100000u

static bool is_service(const sched_thread_t *t) {
  return t->id == OPS_THREAD_SWEEPER || t->id == OPS_THREAD_COLLECTOR;
}

/* Suspended inside an op (a thread waiting in its safepoint poll between ops is not: it holds
 * nothing and needs nobody until its next op's turn). */
static bool mid_op(const sched_thread_t *t) {
  return (t->state == TS_PREEMPTED || t->state == TS_WAITING) && !t->between_ops;
}

static bool has_next_op(const sched_thread_t *t) {
  return t->next < t->nops;
}

/* Out-of-turn work a preemption gave t: sweeper steps or a collection, or t's own next ops. */
static bool has_quota_work(const sched_thread_t *t) {
  return t->quota && (is_service(t) || has_next_op(t));
}

/* Who runs next, decided between ops by `self` (NULL: the main context). NULL: nobody has
 * anything left to do, the program is over. */
static sched_thread_t *choose(sched_t *s, sched_thread_t *self) {
  if (self && !s->world->failed && has_quota_work(self)) return self;
  sched_thread_t *best = NULL;
  for (uint32_t i = 0; i < OPS_THREAD_COUNT && s->suspended; i++) {
    sched_thread_t *t = &s->threads[i];
    if (t != self && mid_op(t) && (!best || t->ctx.op_index < best->ctx.op_index)) best = t;
  }
  if (best || s->world->failed) return best; /* after a finding: only finish the ops under way */
  /* The earliest op still to start is the next op of its thread (a thread's ops start in
   * program order). */
  while (s->cursor < s->run->plan->count && s->started[s->cursor])
    s->cursor++;
  if (s->cursor == s->run->plan->count) return NULL;
  return &s->threads[s->run->plan->steps[s->cursor].thread];
}

/* At a wait of `self`: the next thread, round robin, that can make progress: one inside an op,
 * or a parked mutator holding access (it will pass a safepoint). */
static sched_thread_t *choose_other(sched_t *s, const sched_thread_t *self) {
  for (uint32_t k = 1; k < OPS_THREAD_COUNT; k++) {
    sched_thread_t *t = &s->threads[(self->id + k) % OPS_THREAD_COUNT];
    if (mid_op(t)) return t;
    if ((t->state == TS_PARKED || t->state == TS_NEW) && ops_holds_access(&t->ctx) &&
        !is_service(t))
      return t;
  }
  return NULL;
}

static void thread_main(void *arg);
static void arm(sched_t *s, sched_thread_t *t, uint32_t k);

/* ---------------------------------------------------------------------------------------------
 * The schedule log (ops_schedule_log_t): interleaving features and yield counts
 * ------------------------------------------------------------------------------------------- */

/* What a thread does (sched_thread_t.work): an op's opcode, or work a preemption gave the sweeper
 * or the collector thread. */
enum { WORK_SWEEPER_STEP = 0x100, WORK_EDEN_COLLECTION, WORK_FULL_COLLECTION };
/* Feature kinds, mixed into the hash first. */
enum { FEATURE_PREEMPTION = 0x50u, FEATURE_OVERLAP = 0x4fu };

static uint32_t mix(uint32_t h, uint32_t v) {
  return (h ^ v) * 0x01000193u; /* FNV-1a's step, a word at a time */
}

/* The yield point's name, not its address: the same feature in every process of a campaign
 * (libFuzzer's fork jobs and AFL++'s instances compare features across processes). */
static uint32_t hash_point(const char *point) {
  uint32_t h = 0x811c9dc5u;
  for (const unsigned char *c = (const unsigned char *)point; *c; c++)
    h = mix(h, *c);
  return h;
}

static bool logs_features(const sched_t *s) {
  const ops_schedule_log_t *log = s->run->opt->schedule;
  return log && log->features && log->feature_count;
}

static void log_feature(const sched_t *s, uint32_t h) {
  const ops_schedule_log_t *log = s->run->opt->schedule;
  h ^= h >> 16; /* the low bits pick the byte: fold the high ones in */
  h *= 0x7feb352du;
  h ^= h >> 15;
  log->features[h % log->feature_count] = 1;
}

/* t starts `work`: one overlap feature per thread stopped inside an op meanwhile. */
static void log_start(sched_t *s, sched_thread_t *t, uint32_t work) {
  t->work = work;
  if (!s->suspended || !logs_features(s)) return;
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++) {
    const sched_thread_t *o = &s->threads[i];
    if (o != t && mid_op(o))
      log_feature(s, mix(mix(mix(FEATURE_OVERLAP, o->stopped_at), o->work), work));
  }
}

/* A heap yield point (not a wait) on t: counted for its own op. */
static void log_yield(sched_t *s, const sched_thread_t *t) {
  const ops_schedule_log_t *log = s->run->opt->schedule;
  if (!log || !log->yields || !t->own_op) return;
  uint16_t *n = &log->yields[t->ctx.op_index];
  if (*n < UINT16_MAX) (*n)++;
}

/* A thread gets its worker fiber before it first runs. */
static void ensure_fiber(sched_thread_t *t) {
  if (!t || t->has_fiber) return;
  t->s->fibers[t->id] = fiber_worker(ops_thread_name(t->id), thread_main, t);
  if (!t->s->fibers[t->id]) {
    unsigned total, busy = fiber_workers_busy(&total);
    fprintf(stderr, "heapfuzz: cannot create a fiber (%u of %u workers busy): %s\n", busy, total,
            strerror(errno));
    abort();
  }
  t->has_fiber = true;
}

/* Switches from `self` (NULL: the main context) to `to` (NULL: the main context). The caller has
 * set self's state; `to` sets its own when it lands. */
static void transfer(sched_t *s, sched_thread_t *self, sched_thread_t *to) {
  fiber_t *from = self ? s->fibers[self->id] : &s->main_fiber;
  ensure_fiber(to);
  s->running = to;
  s->run->res->switches++;
  fiber_switch(from, to ? s->fibers[to->id] : &s->main_fiber);
  s->running = self;
}

/* ---------------------------------------------------------------------------------------------
 * The threads
 * ------------------------------------------------------------------------------------------- */

/* The collector thread's work: one collection through a mutator of its own, holding access only
 * while it collects. */
static void collect(sched_t *s, sched_thread_t *t) {
  const hb_backend_t *be = s->run->be;
  if (!ops_has(s->run, HB_CAP_MUTATORS)) return; /* a heap of one mutator has no collector */
  if (!t->ctx.mut) {
    hb_status_t st = be->attach(s->run->heap, &t->ctx.mut);
    if (st != HB_OK) {
      t->ctx.mut = NULL;
      ops_finding(&t->ctx, "attach", "collector: %s", be->status_name(st));
      return;
    }
  } else {
    if (ops_has(s->run, HB_CAP_ACCESS)) be->acquire_access(t->ctx.mut);
  }
  ops_settle(&t->ctx);
  hb_status_t st = be->collect(t->ctx.mut, t->collect_kind || !ops_has(s->run, HB_CAP_EDEN));
  if (st != HB_OK) ops_finding(&t->ctx, "collection", "collector: %s", be->status_name(st));
  ops_settle(&t->ctx);
  if (ops_has(s->run, HB_CAP_ACCESS)) be->release_access(t->ctx.mut);
}

static void run_quota_step(sched_t *s, sched_thread_t *t) {
  t->quota--;
  log_start(s, t,
            t->id == OPS_THREAD_SWEEPER ? WORK_SWEEPER_STEP
            : t->collect_kind           ? WORK_FULL_COLLECTION
                                        : WORK_EDEN_COLLECTION);
  if (s->run->opt->verbose)
    ops_printf(s->run, "  %s: %s\n", ops_thread_name(t->id),
               t->id == OPS_THREAD_SWEEPER ? "sweeper step"
               : t->collect_kind           ? "gc-full"
                                           : "gc-eden");
  if (t->id == OPS_THREAD_SWEEPER) {
    if (ops_has(s->run, HB_CAP_SWEEPER_STEP)) s->run->be->sweeper_step(s->run->heap, 1);
    s->verify_pending = s->run->opt->eager; /* the eager oracle: judged before the next op */
  } else {
    collect(s, t);
  }
}

/* The eager oracle verifies on a thread with a mutator (the heap's verifier needs one), and not
 * while another thread is suspended inside an op: verifying stops the world, which would run that
 * thread to its op's end and so change the schedule the program asked for (and the heap is
 * legitimately mid-operation then). */
static bool eager_can_verify(const sched_t *s, const sched_thread_t *t) {
  return s->run->opt->eager && ops_holds_access(&t->ctx) && s->suspended == 0 && !s->world->failed;
}

static void run_next_op(sched_t *s, sched_thread_t *t) {
  uint32_t k = t->ops[t->next++];
  t->ctx.op_index = k;
  t->ctx.op = &s->run->prog->ops[k];
  s->started[k] = true;
  if (t->ctx.mut)
    ops_settle(&t->ctx); /* the op must see the heap's collections (it holds access) */
  /* The eager oracle: the op that broke an invariant is the one reported. One that ran where
   * nothing could verify (a sweeper op, a detach) is judged before the next op that can. */
  if (s->verify_pending && eager_can_verify(s, t)) {
    s->verify_pending = false;
    ops_verify_all(&t->ctx, "the previous op");
  }
  if (s->run->opt->verbose) {
    char text[128];
    ops_format_op(&s->run->prog->ops[k], text, sizeof text);
    ops_printf(s->run, "op %u [%s]: %s\n", k, ops_thread_name(t->id), text);
  }
  log_start(s, t, s->run->prog->ops[k].opcode % OPS_OP_COUNT);
  t->own_op = true;
  bool ran = ops_exec(&t->ctx, k);
  t->own_op = false;
  s->run->res->ops_run += ran;
  s->run->res->ops_skipped += !ran;
  if (t->ctx.preempt) arm(s, t, k);
  if (t->ctx.mut) ops_settle(&t->ctx); /* findings name the op that collected */
  if (eager_can_verify(s, t) && ran)
    ops_verify_all(&t->ctx, "an op");
  else if (s->run->opt->eager && ran)
    s->verify_pending = true;
  if (t->quota) t->quota--;
}

static void thread_main(void *arg) {
  sched_thread_t *t = arg;
  sched_t *s = t->s;
  t->state = TS_RUNNING;
  while (!t->quit) {
    if (ops_holds_access(&t->ctx)) { /* a mutator polls between ops */
      t->between_ops = true;
      if (ops_has(s->run, HB_CAP_ACCESS)) s->run->be->safepoint(t->ctx.mut);
      t->between_ops = false;
      if (t->quit) break; /* the program ended while it waited in the poll */
    }
    sched_thread_t *next = choose(s, t);
    if (next == t) {
      s->wait_spins = 0;
      if (has_quota_work(t) && is_service(t))
        run_quota_step(s, t);
      else
        run_next_op(s, t);
      if (!is_service(t) && !has_next_op(t)) break; /* a mutator thread's last op */
      continue;
    }
    t->state = TS_PARKED;
    if (next && s->run->opt->verbose)
      ops_printf(s->run, "  switch %s -> %s\n", ops_thread_name(t->id), ops_thread_name(next->id));
    transfer(s, t, next);
    t->state = TS_RUNNING;
  }
  /* The end: a mutator gives its access back, so no collection waits for it (its mutator stays
   * attached, as a thread that finished its work, until teardown). */
  if (ops_holds_access(&t->ctx) && ops_has(s->run, HB_CAP_ACCESS))
    s->run->be->release_access(t->ctx.mut);
  t->state = TS_DONE;
  sched_thread_t *next = t->quit ? NULL : choose(s, t);
  if (s->run->opt->verbose && !t->quit)
    ops_printf(s->run, "  %s ends -> %s\n", ops_thread_name(t->id),
               next ? ops_thread_name(next->id) : "main");
  ensure_fiber(next);
  s->running = next;
  s->run->res->switches++;
  fiber_retire(s->fibers[t->id], next ? s->fibers[next->id] : &s->main_fiber);
}

/* ---------------------------------------------------------------------------------------------
 * Yield points
 * ------------------------------------------------------------------------------------------- */

/* t stops inside a heap call (state PREEMPTED or WAITING) and `to` runs until something resumes
 * t. s->suspended counts the threads stopped inside an op, so choose() scans for them only when
 * there are some (the common case, between ops with nobody suspended, is O(1)). */
static void suspend(sched_t *s, sched_thread_t *t, thread_state_t state, sched_thread_t *to) {
  bool inside_op = !t->between_ops;
  t->state = state;
  s->suspended += inside_op;
  transfer(s, t, to);
  s->suspended -= inside_op;
  t->state = TS_RUNNING;
}

static void wait_yield(sched_t *s, sched_thread_t *t, const char *point) {
  if (++s->wait_spins > SCHED_DEADLOCK_SPINS) {
    s->run->opt = &(ops_run_options_t){.out = s->run->out, .abort_on_finding = true};
    ops_finding(&t->ctx, "deadlock", "%s waits at %s and no thread can make progress",
                ops_thread_name(t->id), point);
    abort(); /* the heap cannot be torn down under a deadlock */
  }
  sched_thread_t *other = choose_other(s, t);
  if (!other) return; /* nobody else can run: look again */
  t->stopped_at = logs_features(s) ? hash_point(point) : 0;
  if (s->run->opt->verbose)
    ops_printf(s->run, "  %s waits at %s -> %s\n", ops_thread_name(t->id), point,
               ops_thread_name(other->id));
  suspend(s, t, TS_WAITING, other);
}

static bool can_take_preemption(const sched_thread_t *to, const sched_thread_t *from) {
  if (to == from || to->state == TS_DONE) return false;
  return is_service(to) || has_next_op(to) || mid_op(to);
}

void ops_sched_yield(void *ctx, const char *point, bool wait) {
  sched_t *s = ((ops_run_t *)ctx)->sched;
  sched_thread_t *t = s->running;
  if (!t) return; /* the main context: setup and teardown */
  if (wait) {
    wait_yield(s, t, point);
    return;
  }
  s->wait_spins = 0;
  log_yield(s, t);
  if (!t->armed || --t->countdown > 0) return;
  t->armed = false;
  sched_thread_t *to = &s->threads[t->preempt_to];
  if (s->world->failed || s->preemptions_left == 0 || !can_take_preemption(to, t)) return;
  s->preemptions_left--;
  s->run->res->preemptions++;
  if (logs_features(s)) {
    t->stopped_at = hash_point(point);
    uint32_t kind = to->id == OPS_THREAD_SWEEPER ? 1u : to->id == OPS_THREAD_COLLECTOR ? 2u : 0u;
    log_feature(s, mix(mix(mix(FEATURE_PREEMPTION, t->stopped_at), t->work), kind));
  }
  to->quota = to->id == OPS_THREAD_COLLECTOR ? 1u : t->preempt_n % 8u + 1u;
  to->collect_kind = t->preempt_n & 1u;
  if (is_service(to) && !mid_op(to)) { /* its work sorts with the op it cut into */
    to->ctx.op_index = t->ctx.op_index;
    to->ctx.op = t->ctx.op;
  }
  if (s->run->opt->verbose)
    ops_printf(s->run, "  preempt %s at %s -> %s x%u\n", ops_thread_name(t->id), point,
               ops_thread_name(to->id), to->quota);
  suspend(s, t, TS_PREEMPTED, to);
}

/* A preempt op (program op k) ran on t: its change point is armed. */
static void arm(sched_t *s, sched_thread_t *t, uint32_t k) {
  const ops_op_t *op = &s->run->prog->ops[k];
  const ops_plan_step_t *step = &s->run->plan->steps[k];
  t->ctx.preempt = false;
  t->armed = true;
  t->countdown = (op->operand[0] & 0xffu) % 16u + 1u;
  t->preempt_to = step->target;
  t->preempt_n = (uint8_t)op->operand[2];
}

/* ---------------------------------------------------------------------------------------------
 * Setup and the main context
 * ------------------------------------------------------------------------------------------- */

bool ops_sched_init(sched_t *s, ops_run_t *r, ops_world_t *w) {
  s->run = r;
  s->world = w;
  r->sched = s;
  const ops_plan_t *plan = r->plan;
  s->op_lists = malloc((plan->count ? plan->count : 1) * sizeof *s->op_lists);
  s->started = calloc(plan->count ? plan->count : 1, sizeof *s->started);
  if (!s->op_lists || !s->started) return false;
  uint32_t counts[OPS_THREAD_COUNT] = {0};
  for (uint32_t k = 0; k < plan->count; k++)
    counts[plan->steps[k].thread]++;
  uint32_t offset = 0;
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++) {
    sched_thread_t *t = &s->threads[i];
    *t = (sched_thread_t){.s = s, .id = (uint8_t)i, .state = TS_NEW};
    t->ctx = (ops_ctx_t){.run = r,
                         .world = w,
                         .name = ops_thread_name(i),
                         .stage = "setup",
                         .op = plan->count ? &r->prog->ops[0] : NULL};
    t->ops = s->op_lists + offset;
    offset += counts[i];
  }
  for (uint32_t k = 0; k < plan->count; k++) {
    sched_thread_t *t = &s->threads[plan->steps[k].thread];
    s->op_lists[t->ops - s->op_lists + t->nops++] = (uint16_t)k;
  }
  s->main_ctx = (ops_ctx_t){.run = r, .world = w, .name = "main", .stage = "setup"};
  s->preemptions_left = OPS_PREEMPT_BUDGET;
  return true;
}

void ops_sched_run(sched_t *s) {
  fiber_init_main(&s->main_fiber);
  s->running = NULL;
  /* Every thread that has something to do gets its fiber here, before any runs: a fiber's task
   * starts synchronized with whoever handed it out (TSan), which must not hide races between
   * running threads. */
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++) {
    sched_thread_t *t = &s->threads[i];
    if (t->nops || (i == OPS_THREAD_SWEEPER && s->run->plan->uses_sweeper) ||
        (i == OPS_THREAD_COLLECTOR && s->run->plan->uses_collector))
      ensure_fiber(t);
  }
  sched_thread_t *first = choose(s, NULL);
  if (first) transfer(s, NULL, first); /* back here when the program is over */
  /* The sweeper and collector threads, and after a finding any parked mutator thread, are
   * parked: end them (a mutator gives back its access as it ends). */
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++) {
    sched_thread_t *t = &s->threads[i];
    if (t->has_fiber && t->state != TS_DONE) {
      t->quit = true;
      transfer(s, NULL, t);
    }
    if (t->state == TS_NEW && t->ctx.mut && ops_has(s->run, HB_CAP_ACCESS))
      s->run->be->release_access(t->ctx.mut); /* never ran */
  }
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++)
    if (s->threads[i].has_fiber) fiber_join(s->fibers[i]); /* before the teardown */
  s->running = NULL;
  unsigned busy = fiber_workers_busy(NULL);
  if (busy) { /* a harness bug: a thread was abandoned mid-task, its fiber lost to the pool */
    fprintf(stderr, "heapfuzz: scheduler: %u fibers still busy after the program\n", busy);
    abort();
  }
}

void ops_sched_free(sched_t *s) {
  free(s->op_lists);
  free(s->started);
}
