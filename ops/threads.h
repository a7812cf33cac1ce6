/* threads.h: real-thread mode's shared state, between the runner (threads.c: the threads and
 * their ops) and the oracle (threads_oracle.c: findings, hooks, checks, the join). Private to
 * ops/.
 *
 * Who touches what: a worker_t belongs to its thread from the start barrier to its end (m0's
 * thread is the calling one), and to the calling thread (the checker) after the join; the run's
 * atomics are shared; the result and dump_pending are written by the first finding's reporter
 * only; everything else in run_t is written before the threads start or after they are joined. */
#ifndef OPS_THREADS_H
#define OPS_THREADS_H

#include "model.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct run run_t;

/* One pthread: a mutator thread, the sweeper, or the checker (the calling thread at the join). */
typedef struct worker {
  run_t *run;
  uint32_t thread; /* plan thread number (OPS_THREAD_SWEEPER for the sweeper) */
  const char *name;
  uint32_t *ops; /* indices of this thread's ops, in program order */
  uint32_t nops;
  pthread_t tid;
  hc_mutator_t *m; /* attached from the attach op (thread 0: at start) to the hand-over */
  bool stopped;    /* allocation stopped by a stop-alloc op */
  bool failed;     /* this thread saw a finding (reported or not): no more checks */
  /* Root slots (pushed on m's root stack): the collector reads them with this thread parked. */
  hc_object_t *handles[OPS_HANDLES];
  uint32_t handle_obj[OPS_HANDLES];
  bool global[OPS_HANDLES]; /* handed over as a global root */
  hc_weak_t *weak[OPS_WEAK_SLOTS];
  uint32_t weak_obj[OPS_WEAK_SLOTS];
  model_t model;
  uint64_t seen, seen_full; /* the collection counts the model has settled */
  uint32_t op_index;
  const ops_op_t *op;
  const char *stage; /* op text when op is NULL: "setup", "join", "teardown" */
  /* Finalizers that ran on this thread (during its heap calls): counted, and those for its own
   * model objects judged once the op is settled. */
  uint64_t finalized;
  uint32_t *finalized_objs;
  uint32_t nfinalized, cap_finalized;
  char bad_finalizer[128]; /* the first finalizer call on a non-object, reported after the call */
  bool record_finalized;   /* checker: finalized pointers go to the run's list */
  uint32_t ops_run, ops_skipped;
} worker_t;

struct run {
  const ops_program_t *p;
  const ops_run_options_t *opt;
  FILE *out;
  ops_run_result_t *res;
  hc_heap_t *heap;
  ops_plan_t plan;
  worker_t *workers[OPS_MAX_THREADS + 1]; /* mutator threads, then the sweeper */
  uint32_t nworkers;
  worker_t checker;
  pthread_barrier_t start; /* the workers start together, so their ops overlap */
  atomic_bool stop;        /* a finding: every thread ends at its next op */
  atomic_bool reported;    /* the first finding won the report */
  bool dump_pending; /* reported by a thread without a mutator: dump after the join (winner writes,
                        the caller reads after joining) */
  _Atomic uint64_t collections, full_collections; /* from phase events, in the stopped world */
  uintptr_t *finalized_ptrs;                      /* checker only: what its final sweep finalized */
  size_t nfinalized_ptrs, cap_finalized_ptrs;
};

/* Heap iteration's visits (thr_iterate_into). */
typedef struct visit_buf {
  uintptr_t *items;
  size_t count, cap;
  size_t implausible; /* visits of something without an object's header */
  bool overflow;      /* more visits than the program has alloc ops */
} visit_buf_t;

/* The worker whose thread is running: the finalizer (called inside heap calls, on whichever
 * thread sweeps) records into it without any shared state. */
extern _Thread_local worker_t *thr_current_worker;

void *thr_xcalloc(size_t n, size_t size); /* aborts when out of memory */

/* Reports the first finding of the run ("op N (text) on THREAD: invariant: detail", then a heap
 * dump), and makes every thread stop at its next op. Later findings only stop their thread's
 * checks. */
void thr_finding(worker_t *w, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The heap's hooks: event (counts collections, traces) and finalizer. */
void thr_on_event(void *ctx, const hc_event_t *event);
void thr_on_finalize(hc_object_t *obj, void *ctx);

void thr_verify(worker_t *w, hc_mutator_t *m, const char *when);
/* Object idx of `owner`'s model against the heap, checked by w through mutator m. */
void thr_check_object(worker_t *w, hc_mutator_t *m, const worker_t *owner, uint32_t idx);
void thr_reach_from_handles(worker_t *w);
void thr_check_reachable(worker_t *w);
/* Brings w's model up to date with the collections counted since it last was. Call right after
 * every heap call that may park, before the op changes a handle. */
void thr_settle(worker_t *w);
/* Judges what the finalizer recorded on w's thread during the op (after thr_settle). */
void thr_check_finalized(worker_t *w);

/* Iterates the heap with m into v (sorted), sized for every object the program could have
 * alive; false if the walk failed or visited something that is not an object (reported). */
bool thr_iterate_into(worker_t *w, hc_mutator_t *m, visit_buf_t *v);
bool thr_sorted_contains(const uintptr_t *v, size_t n, uintptr_t key);

/* The join, on the calling thread with the checker's mutator attached and every worker joined:
 * the exact checks, then the teardown (with `check`, the finalizer count). */
void thr_final_check(run_t *r);
void thr_teardown(run_t *r, bool check);

#endif /* OPS_THREADS_H */
