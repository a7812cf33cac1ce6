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
 * polls hc_safepoint before every op and when woken for a wait. A mutator thread ends (releasing
 * access) after its last op; the sweeper and collector threads live until the program is over,
 * since a preemption may wake them at any time.
 *
 * The preemption budget (OPS_PREEMPT_BUDGET) bounds how many change points fire per run, as PCT
 * bounds the number of priority change points: short programs, yet any interleaving of depth up
 * to the budget is one program away. */
#include "interp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Wait yields in a row without anything else happening: more than any live schedule needs (a
 * wait resolves within a round of the participants), so the threads are deadlocked. */
#define SCHED_DEADLOCK_SPINS 100000u

static const char *const yield_names[HC_YP_COUNT] = {
    "block-found",  "allocation-stopped", "block-unlinked", "collector-phase",
    "sweeper-loop", "safepoint-wait",     "access-wait",
};

static bool is_service(const thread_t *t) {
  return t->id == OPS_THREAD_SWEEPER || t->id == OPS_THREAD_COLLECTOR;
}

/* Suspended inside an op (a thread waiting in its safepoint poll between ops is not: it holds
 * nothing and needs nobody until its next op's turn). */
static bool mid_op(const thread_t *t) {
  return (t->state == TS_PREEMPTED || t->state == TS_WAITING) && !t->between_ops;
}

static bool has_next_op(const thread_t *t) {
  return t->next < t->nops;
}

/* Out-of-turn work a preemption gave t: sweeper steps or a collection, or t's own next ops. */
static bool has_quota_work(const thread_t *t) {
  return t->quota && (is_service(t) || has_next_op(t));
}

/* Who runs next, decided between ops by `self` (NULL: the main context). NULL: nobody has
 * anything left to do, the program is over. */
static thread_t *choose(interp_t *in, thread_t *self) {
  if (self && !in->failed && has_quota_work(self)) return self;
  thread_t *best = NULL;
  for (uint32_t i = 0; i < OPS_THREAD_COUNT && in->suspended; i++) {
    thread_t *t = &in->threads[i];
    if (t != self && mid_op(t) && (!best || t->op < best->op)) best = t;
  }
  if (best || in->failed) return best; /* after a finding: only finish the ops under way */
  /* The earliest op still to start is the next op of its thread (a thread's ops start in
   * program order). */
  while (in->cursor < in->plan->count && in->started[in->cursor])
    in->cursor++;
  if (in->cursor == in->plan->count) return NULL;
  return &in->threads[in->plan->steps[in->cursor].thread];
}

/* At a wait of `self`: the next thread, round robin, that can make progress: one inside an op,
 * or a parked mutator holding access (it will pass a safepoint). */
static thread_t *choose_other(interp_t *in, const thread_t *self) {
  for (uint32_t k = 1; k < OPS_THREAD_COUNT; k++) {
    thread_t *t = &in->threads[(self->id + k) % OPS_THREAD_COUNT];
    if (mid_op(t)) return t;
    if ((t->state == TS_PARKED || t->state == TS_NEW) && t->mut && !is_service(t)) return t;
  }
  return NULL;
}

static void thread_main(void *arg);

/* A thread gets its worker fiber before it first runs. */
static void ensure_fiber(thread_t *t) {
  if (!t || t->has_fiber) return;
  t->in->fibers[t->id] = fiber_worker(ops_thread_name(t->id), thread_main, t);
  if (!t->in->fibers[t->id]) {
    unsigned total, busy = fiber_workers_busy(&total);
    fprintf(stderr, "heapfuzz: cannot create a fiber (%u of %u workers busy): %s\n", busy, total,
            strerror(errno));
    abort();
  }
  t->has_fiber = true;
}

/* Switches from `self` (NULL: the main context) to `to` (NULL: the main context). The caller has
 * set self's state; `to` sets its own when it lands. */
static void transfer(interp_t *in, thread_t *self, thread_t *to) {
  fiber_t *from = self ? in->fibers[self->id] : &in->main_fiber;
  ensure_fiber(to);
  in->running = to;
  in->res->switches++;
  fiber_switch(from, to ? in->fibers[to->id] : &in->main_fiber);
  in->running = self;
}

/* ---------------------------------------------------------------------------------------------
 * The threads
 * ------------------------------------------------------------------------------------------- */

/* The collector thread's work: one collection through a mutator of its own, holding access only
 * while it collects. */
static void collect(interp_t *in, thread_t *t) {
  if (!t->mut) {
    hc_status_t st = hc_mutator_attach(in->heap, &t->mut);
    if (st != HC_OK) {
      interp_finding(in, "attach", "collector: %s", hc_status_name(st));
      return;
    }
  } else {
    hc_mutator_acquire_access(t->mut);
  }
  interp_settle(in);
  hc_collect(t->mut, t->collect_kind ? HC_COLLECT_FULL : HC_COLLECT_EDEN);
  interp_settle(in);
  hc_mutator_release_access(t->mut);
}

static void run_quota_step(interp_t *in, thread_t *t) {
  t->quota--;
  if (in->opt->verbose)
    interp_print(in, "  %s: %s\n", ops_thread_name(t->id),
                 t->id == OPS_THREAD_SWEEPER ? "sweeper step"
                 : t->collect_kind           ? "gc-full"
                                             : "gc-eden");
  if (t->id == OPS_THREAD_SWEEPER) {
    hc_sweeper_run_step(in->heap, 1);
    in->verify_pending = in->opt->eager; /* the eager oracle: judged before the next op */
  } else {
    collect(in, t);
  }
}

/* The eager oracle verifies on a thread with a mutator (hc_heap_verify needs one), and not while
 * another thread is suspended inside an op: verifying stops the world, which would run that
 * thread to its op's end and so change the schedule the program asked for (and the heap is
 * legitimately mid-operation then). */
static bool eager_can_verify(const interp_t *in, const thread_t *t) {
  return in->opt->eager && t->mut && in->suspended == 0 && !in->failed;
}

static void run_next_op(interp_t *in, thread_t *t) {
  uint32_t k = t->ops[t->next++];
  t->op = k;
  in->started[k] = true;
  if (t->mut) interp_settle(in); /* the op must see the heap's collections (it holds access) */
  /* The eager oracle: the op that broke an invariant is the one reported. One that ran where
   * nothing could verify (a sweeper op, a detach) is judged before the next op that can. */
  if (in->verify_pending && eager_can_verify(in, t)) {
    in->verify_pending = false;
    interp_verify_all(in, "the previous op");
  }
  if (in->opt->verbose) {
    char text[128];
    ops_format_op(&in->prog->ops[k], text, sizeof text);
    interp_print(in, "op %u [%s]: %s\n", k, ops_thread_name(t->id), text);
  }
  bool ran = interp_run_op(in, k);
  in->res->ops_run += ran;
  in->res->ops_skipped += !ran;
  if (t->mut) interp_settle(in); /* findings name the op that collected */
  if (eager_can_verify(in, t) && ran)
    interp_verify_all(in, "an op");
  else if (in->opt->eager && ran)
    in->verify_pending = true;
  if (t->quota) t->quota--;
}

static void thread_main(void *arg) {
  thread_t *t = arg;
  interp_t *in = t->in;
  t->state = TS_RUNNING;
  while (!t->quit) {
    if (t->mut) { /* a mutator polls between ops */
      t->between_ops = true;
      hc_safepoint(t->mut);
      t->between_ops = false;
      if (t->quit) break; /* the program ended while it waited in the poll */
    }
    thread_t *next = choose(in, t);
    if (next == t) {
      in->wait_spins = 0;
      if (has_quota_work(t) && is_service(t))
        run_quota_step(in, t);
      else
        run_next_op(in, t);
      if (!is_service(t) && !has_next_op(t)) break; /* a mutator thread's last op */
      continue;
    }
    t->state = TS_PARKED;
    if (next && in->opt->verbose)
      interp_print(in, "  switch %s -> %s\n", ops_thread_name(t->id), ops_thread_name(next->id));
    transfer(in, t, next);
    t->state = TS_RUNNING;
  }
  /* The end: a mutator gives its access back, so no collection waits for it (its mutator stays
   * attached, as a thread that finished its work, until teardown). */
  if (t->mut) hc_mutator_release_access(t->mut);
  t->state = TS_DONE;
  thread_t *next = t->quit ? NULL : choose(in, t);
  if (in->opt->verbose && !t->quit)
    interp_print(in, "  %s ends -> %s\n", ops_thread_name(t->id),
                 next ? ops_thread_name(next->id) : "main");
  ensure_fiber(next);
  in->running = next;
  in->res->switches++;
  fiber_retire(in->fibers[t->id], next ? in->fibers[next->id] : &in->main_fiber);
}

/* ---------------------------------------------------------------------------------------------
 * Yield points
 * ------------------------------------------------------------------------------------------- */

/* t stops inside a heap call (state PREEMPTED or WAITING) and `to` runs until something resumes
 * t. in->suspended counts the threads stopped inside an op, so choose() scans for them only when
 * there are some (the common case, between ops with nobody suspended, is O(1)). */
static void suspend(interp_t *in, thread_t *t, thread_state_t state, thread_t *to) {
  bool inside_op = !t->between_ops;
  t->state = state;
  in->suspended += inside_op;
  transfer(in, t, to);
  in->suspended -= inside_op;
  t->state = TS_RUNNING;
}

static void wait_yield(interp_t *in, thread_t *t, hc_yield_point_t point) {
  if (++in->wait_spins > SCHED_DEADLOCK_SPINS) {
    in->opt = &(ops_run_options_t){.out = in->out, .abort_on_finding = true};
    interp_finding(in, "deadlock", "%s waits at %s and no thread can make progress",
                   ops_thread_name(t->id), yield_names[point]);
    abort(); /* the heap cannot be torn down under a deadlock */
  }
  thread_t *other = choose_other(in, t);
  if (!other) return; /* nobody else can run: look again */
  if (in->opt->verbose)
    interp_print(in, "  %s waits at %s -> %s\n", ops_thread_name(t->id), yield_names[point],
                 ops_thread_name(other->id));
  suspend(in, t, TS_WAITING, other);
}

static bool can_take_preemption(const thread_t *to, const thread_t *from) {
  if (to == from || to->state == TS_DONE) return false;
  return is_service(to) || has_next_op(to) || mid_op(to);
}

void ops_sched_yield(void *ctx, hc_yield_point_t point, hc_mutator_t *mutator) {
  (void)mutator; /* the running thread is known; the sweeper passes NULL */
  interp_t *in = ctx;
  thread_t *t = in->running;
  if (!t) return; /* the main context: setup and teardown */
  if (point == HC_YP_SAFEPOINT_WAIT || point == HC_YP_ACCESS_WAIT) {
    wait_yield(in, t, point);
    return;
  }
  in->wait_spins = 0;
  if (!t->armed || --t->countdown > 0) return;
  t->armed = false;
  thread_t *to = &in->threads[t->preempt_to];
  if (in->failed || in->preemptions_left == 0 || !can_take_preemption(to, t)) return;
  in->preemptions_left--;
  in->res->preemptions++;
  to->quota = to->id == OPS_THREAD_COLLECTOR ? 1u : t->preempt_n % 8u + 1u;
  to->collect_kind = t->preempt_n & 1u;
  if (is_service(to) && !mid_op(to)) to->op = t->op; /* its work sorts with the op it cut into */
  if (in->opt->verbose)
    interp_print(in, "  preempt %s at %s -> %s x%u\n", ops_thread_name(t->id), yield_names[point],
                 ops_thread_name(to->id), to->quota);
  suspend(in, t, TS_PREEMPTED, to);
}

void ops_sched_arm(interp_t *in, const ops_op_t *op, const ops_plan_step_t *step) {
  thread_t *t = in->running;
  t->armed = true;
  t->countdown = (op->operand[0] & 0xffu) % 16u + 1u;
  t->preempt_to = step->target;
  t->preempt_n = (uint8_t)op->operand[2];
}

/* ---------------------------------------------------------------------------------------------
 * Setup and the main context
 * ------------------------------------------------------------------------------------------- */

bool ops_sched_init(interp_t *in) {
  ops_plan(in->prog, in->plan);
  const ops_plan_t *plan = in->plan;
  in->op_lists = malloc((plan->count ? plan->count : 1) * sizeof *in->op_lists);
  in->started = calloc(plan->count ? plan->count : 1, sizeof *in->started);
  if (!in->op_lists || !in->started) return false;
  uint32_t counts[OPS_THREAD_COUNT] = {0};
  for (uint32_t k = 0; k < plan->count; k++)
    counts[plan->steps[k].thread]++;
  uint32_t offset = 0;
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++) {
    thread_t *t = &in->threads[i];
    *t = (thread_t){.in = in, .id = (uint8_t)i, .state = TS_NEW};
    t->ops = in->op_lists + offset;
    offset += counts[i];
  }
  for (uint32_t k = 0; k < plan->count; k++) {
    thread_t *t = &in->threads[plan->steps[k].thread];
    in->op_lists[t->ops - in->op_lists + t->nops++] = (uint16_t)k;
  }
  in->preemptions_left = OPS_PREEMPT_BUDGET;
  return true;
}

void ops_sched_run(interp_t *in) {
  fiber_init_main(&in->main_fiber);
  in->running = NULL;
  /* Every thread that has something to do gets its fiber here, before any runs: a fiber's task
   * starts synchronized with whoever handed it out (TSan), which must not hide races between
   * running threads. */
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++) {
    thread_t *t = &in->threads[i];
    if (t->nops || (i == OPS_THREAD_SWEEPER && in->plan->uses_sweeper) ||
        (i == OPS_THREAD_COLLECTOR && in->plan->uses_collector))
      ensure_fiber(t);
  }
  thread_t *first = choose(in, NULL);
  if (first) transfer(in, NULL, first); /* back here when the program is over */
  /* The sweeper and collector threads, and after a finding any parked mutator thread, are
   * parked: end them (a mutator gives back its access as it ends). */
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++) {
    thread_t *t = &in->threads[i];
    if (t->has_fiber && t->state != TS_DONE) {
      t->quit = true;
      transfer(in, NULL, t);
    }
    if (t->state == TS_NEW && t->mut) hc_mutator_release_access(t->mut); /* never ran */
  }
  for (uint32_t i = 0; i < OPS_THREAD_COUNT; i++)
    if (in->threads[i].has_fiber) fiber_join(in->fibers[i]); /* before the teardown */
  in->running = NULL;
  unsigned busy = fiber_workers_busy(NULL);
  if (busy) { /* a harness bug: a thread was abandoned mid-task, its fiber lost to the pool */
    fprintf(stderr, "heapfuzz: scheduler: %u fibers still busy after the program\n", busy);
    abort();
  }
}

void ops_sched_free(interp_t *in) {
  free(in->op_lists);
  free(in->started);
}
