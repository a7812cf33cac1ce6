/* scheduler.h: the deterministic scheduler's state (sched.c), shared with its runner (run.c).
 * Private to ops/. Every field is touched only by whichever fiber is running (one at a time, on
 * one OS thread), so nothing here needs a lock. */
#ifndef OPS_SCHEDULER_H
#define OPS_SCHEDULER_H

#include "exec.h"
#include "fiber.h"

typedef enum thread_state {
  TS_NEW,       /* its fiber has not run yet */
  TS_PARKED,    /* between ops; a mutator keeps its heap access, as a thread doing other work */
  TS_RUNNING,   /* the one running fiber */
  TS_PREEMPTED, /* inside an op, suspended at a heap yield point by a preemption */
  TS_WAITING,   /* inside an op or a safepoint, suspended at a heap wait */
  TS_DONE       /* its fiber ended */
} thread_state_t;

typedef struct sched sched_t;

typedef struct sched_thread {
  ops_ctx_t ctx; /* what its ops see: the shared world, its mutator, the op it is in */
  sched_t *s;
  uint8_t id; /* 0..OPS_MAX_THREADS-1, OPS_THREAD_SWEEPER, OPS_THREAD_COLLECTOR */
  thread_state_t state;
  bool has_fiber;      /* s->fibers[id] was created */
  bool between_ops;    /* its state is about a safepoint poll between ops, not inside an op */
  const uint16_t *ops; /* its ops' program indices, in program order */
  uint32_t nops, next; /* next: how many of them have started */
  uint32_t quota;      /* ops (a mutator), sweeper steps or collections it runs out of turn */
  uint8_t collect_kind;
  bool armed; /* a preempt op's change point */
  uint32_t countdown;
  uint8_t preempt_to, preempt_n;
  bool quit; /* the program is over: end the fiber */
  /* The schedule log's view (ops_schedule_log_t): what the thread does now (its op's opcode, or
   * sched.c's WORK_* for a sweeper step or collection run for a preemption), whether that is an op
   * of its own (whose yield points it counts), and where it is stopped inside it (a hash of the
   * yield point's name, while PREEMPTED or WAITING). */
  uint32_t work;
  bool own_op;
  uint32_t stopped_at;
} sched_thread_t;

struct sched {
  ops_run_t *run;
  ops_world_t *world;                       /* the one world every thread shares */
  sched_thread_t threads[OPS_THREAD_COUNT]; /* small: the scheduler scans them */
  fiber_t *fibers[OPS_THREAD_COUNT]; /* each thread's worker fiber (fiber.h), while it has one */
  uint16_t *op_lists;                /* every thread's op indices, thread after thread */
  bool *started;           /* per op: it has started (so the scheduler finds the next op in O(1)) */
  uint32_t cursor;         /* no op before it is still to start */
  sched_thread_t *running; /* NULL while the main context runs (setup, teardown) */
  fiber_t main_fiber;      /* the OS thread's own context: starts the first fiber, gets the last */
  ops_ctx_t main_ctx;      /* the main context's, for findings in setup and teardown */
  uint32_t preemptions_left;
  uint32_t suspended;  /* threads stopped inside an op (suspend) */
  uint32_t wait_spins; /* wait yields since anything made progress: deadlock detection */
  bool verify_pending; /* eager oracle: an op ran where it could not verify (no mutator) */
};

/* Builds every thread's op list from the run's plan and gives each thread its context. */
bool ops_sched_init(sched_t *s, ops_run_t *r, ops_world_t *w);
/* Runs every thread to its end from the main context; returns when the program is over and
 * every fiber has ended. */
void ops_sched_run(sched_t *s);
void ops_sched_free(sched_t *s);
/* The heap's yield hook (hb_hooks_t.yield), ctx = the run (whose sched is s). */
void ops_sched_yield(void *ctx, const char *point, bool wait);

#endif /* OPS_SCHEDULER_H */
