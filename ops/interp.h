/* interp.h: the deterministic interpreter's state, shared by its three parts:
 *   interp.c     the oracle (findings, heap hooks, settling collections into the model), ops_run;
 *   interp_ops.c the ops;
 *   sched.c      the scheduler: one fiber per logical thread, the yield hook, who runs next.
 *
 * Every field is touched only by whichever fiber is running (one at a time, on one OS thread),
 * so nothing here needs a lock. In TSan builds these files are compiled without TSan
 * instrumentation: the interpreter's bookkeeping is shared by all logical threads by
 * construction (the scheduler serializes it), and instrumenting it would report the harness, not
 * the heap. The heap core stays instrumented, and fibers switch without synchronization. */
#ifndef OPS_INTERP_H
#define OPS_INTERP_H

#include "fiber.h"
#include "model.h"
#include "quiet.h"

#if defined(HC_TSAN) && HC_TSAN
#  include <sanitizer/tsan_interface.h>
#endif

/* Objects (and weak references) shared between logical threads. A program's threads share them
 * through the handle and weak tables, which the harness keeps uninstrumented; a real program would
 * share them through some synchronization. So in TSan builds, making an object available
 * (allocating it, storing into it) releases on its address and using one acquires there: an
 * object's initialization by one thread happens-before another thread's use of it, as in a
 * correctly synchronized program, while the heap's own accesses stay as unordered as the schedule
 * leaves them. */
static inline void interp_share(const void *obj) {
#if defined(HC_TSAN) && HC_TSAN
  __tsan_release((void *)obj);
#else
  (void)obj;
#endif
}

static inline void interp_use(const void *obj) {
#if defined(HC_TSAN) && HC_TSAN
  __tsan_acquire((void *)obj);
#else
  (void)obj;
#endif
}

typedef enum thread_state {
  TS_NEW,       /* its fiber has not run yet */
  TS_PARKED,    /* between ops; a mutator keeps its heap access, as a thread doing other work */
  TS_RUNNING,   /* the one running fiber */
  TS_PREEMPTED, /* inside an op, suspended at a heap yield point by a preemption */
  TS_WAITING,   /* inside an op or a safepoint, suspended at a heap wait */
  TS_DONE       /* its fiber ended */
} thread_state_t;

typedef struct interp interp_t;

typedef struct thread {
  interp_t *in;
  uint8_t id; /* 0..OPS_MAX_THREADS-1, OPS_THREAD_SWEEPER, OPS_THREAD_COLLECTOR */
  thread_state_t state;
  bool has_fiber;      /* interp.fibers[id] was created */
  bool between_ops;    /* its state is about a safepoint poll between ops, not inside an op */
  hc_mutator_t *mut;   /* NULL for the sweeper, before attach and after detach */
  bool stopped;        /* allocation stopped by a stop-alloc op */
  const uint16_t *ops; /* its ops' program indices, in program order */
  uint32_t nops, next; /* next: how many of them have started */
  uint32_t op;         /* program index of the op it is in (mid-op states), or will start */
  uint32_t quota;      /* ops (a mutator), sweeper steps or collections it runs out of turn */
  uint8_t collect_kind;
  bool armed; /* a preempt op's change point */
  uint32_t countdown;
  uint8_t preempt_to, preempt_n;
  bool quit; /* the program is over: end the fiber */
} thread_t;

struct interp {
  const ops_run_options_t *opt;
  FILE *out;
  ops_run_result_t *res;
  const ops_program_t *prog;
  ops_plan_t *plan;
  uint16_t *op_lists; /* every thread's op indices, thread after thread */
  hc_heap_t *heap;
  thread_t threads[OPS_THREAD_COUNT]; /* small: the scheduler scans them */
  fiber_t *fibers[OPS_THREAD_COUNT];  /* each thread's worker fiber (fiber.h), while it has one */
  bool *started;      /* per op: it has started (so the scheduler finds the next op in O(1)) */
  uint32_t cursor;    /* no op before it is still to start */
  thread_t *running;  /* NULL while the main context runs (setup, teardown) */
  fiber_t main_fiber; /* the OS thread's own context: starts the first fiber, gets the last */
  uint32_t preemptions_left;
  uint32_t suspended;  /* threads stopped inside an op (sched.c's suspend) */
  uint32_t wait_spins; /* wait yields since anything made progress: deadlock detection */
  hc_object_t *handles[OPS_HANDLES]; /* root slots when rooted: the heap reads them */
  uint32_t handle_obj[OPS_HANDLES];
  bool rooted[OPS_HANDLES];
  hc_weak_t *weak[OPS_WEAK_SLOTS];
  uint32_t weak_obj[OPS_WEAK_SLOTS];
  model_t model;
  uint64_t collections, full_collections; /* counted from the heap's phase events */
  uint64_t settled, settled_full;         /* the counts the model has caught up with */
  bool last_was_full;
  uint64_t finalized;
  uint32_t *finalized_objs; /* model objects finalized since the last check (finalizers run in */
  uint32_t nfinalized, cap_finalized; /* heap calls, maybe before the model settled a collection) */
  bool verify_pending; /* eager oracle: an op ran where it could not verify (no mutator) */
  bool tearing_down;   /* hc_heap_destroy finalizes live objects too: that is no finding */
  bool failed;
};

/* A weak reference of the shared weak table, read by whichever thread: synchronized like an
 * object of the handle table (the reader's access happens-before a later destroy by another). */
static inline hc_object_t *interp_weak_get(hc_weak_t *weak) {
  interp_use(weak);
  hc_object_t *t = hc_weak_get(weak);
  interp_share(weak);
  return t;
}

/* interp.c: the oracle */
/* Verbose and trace output (quietly: see quiet.h). */
void interp_print(interp_t *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void interp_finding(interp_t *in, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The running thread's mutator (the one holding access for the op being run). */
static inline hc_mutator_t *interp_mutator(const interp_t *in) {
  return in->running ? in->running->mut : NULL;
}
void interp_verify(interp_t *in, const char *when);
/* interp_verify, then every object reachable from the rooted handles against the model: what a
 * verify op and the eager oracle run. Needs the running thread to hold heap access. */
void interp_verify_all(interp_t *in, const char *when);
void interp_check_object(interp_t *in, uint32_t idx);
void interp_reach_from_roots(interp_t *in);
/* Brings the model up to date with the collections that ran since it last was; then judges the
 * finalizers that ran meanwhile. Needs the running thread to hold heap access. */
void interp_settle(interp_t *in);
void interp_check_finalized(interp_t *in);

/* interp_ops.c */
/* Runs op k on the running thread; false when it was skipped for absent state. */
bool interp_run_op(interp_t *in, uint32_t k);

/* sched.c */
/* Builds every thread's op list from the plan. */
bool ops_sched_init(interp_t *in);
/* Runs every thread to its end from the main context; returns when the program is over and
 * every fiber has ended. */
void ops_sched_run(interp_t *in);
void ops_sched_free(interp_t *in);
/* The heap's yield hook (hc_heap_set_yield_hook), ctx = the interp. */
void ops_sched_yield(void *ctx, hc_yield_point_t point, hc_mutator_t *mutator);
/* A preempt op on the running thread arms its change point. */
void ops_sched_arm(interp_t *in, const ops_op_t *op, const ops_plan_step_t *step);

#endif /* OPS_INTERP_H */
