/* exec.h: the interpreter's state, shared by its parts (private to ops/):
 *   exec.c    the ops: each op once, for both schedulers, against the backend (heapbackend.h);
 *   oracle.c  findings, the heap's hooks, the checks, settling collections into the model;
 *   run.c     ops_run: deterministic mode's setup and teardown around the scheduler;
 *   sched.c   the deterministic scheduler: one fiber per logical thread;
 *   threads.c ops_run_threads: real-thread mode, one pthread per logical thread.
 *
 * Three levels of state:
 *   - ops_run_t, one per program run: the backend and its heap, the options, the result, the
 *     collection counts (atomics: in real-thread mode any thread's heap call may collect).
 *   - ops_world_t, what a set of logical threads shares: the handle and weak tables and the
 *     shadow model. Deterministic mode has one world for all threads (they run one at a time);
 *     real-thread mode one per thread (nothing is shared, so nothing needs a lock), plus the
 *     checker's at the join.
 *   - ops_ctx_t, one per logical thread: its world, its mutator, the op it runs. An op function
 *     sees nothing else, so the same function runs under either scheduler.
 * Who touches what: a world is touched only by the thread(s) it belongs to, and deterministic
 * mode's threads run one at a time; the run's atomics by anyone; everything else in ops_run_t is
 * written before the threads start or after they end.
 *
 * In TSan builds the interpreter's files are compiled without instrumentation (deterministic
 * mode's bookkeeping is shared by fibers the scheduler serializes: instrumenting it would report
 * the harness, not the heap); every access to heap memory goes through the backend or
 * ops/payload.c, which are instrumented. */
#ifndef OPS_EXEC_H
#define OPS_EXEC_H

#include "heapbackend.h"
#include "heapops.h"
#include "model.h"
#include "quiet.h"

#include <pthread.h>
#include <stdatomic.h>

#if defined(HC_TSAN) && HC_TSAN
#  include <sanitizer/tsan_interface.h>
#endif

typedef struct ops_run ops_run_t;
typedef struct ops_world ops_world_t;
typedef struct ops_ctx ops_ctx_t;

/* How a world's handles are roots. */
typedef enum ops_roots {
  /* `root h` registers handle h as a global root, `unroot h` removes it; an unrooted handle is
   * a plain reference, forgotten at the next collection unless its object is still reachable
   * (deterministic mode: threads share the handles and park between ops). */
  OPS_ROOTS_EXPLICIT,
  /* Every handle is a root of the thread's own mutator from attach to the end (real-thread
   * mode: another thread may collect at any of this thread's safepoints); `root` does nothing,
   * `unroot` forgets the object. At the end the held objects become global roots (rooted[]). */
  OPS_ROOTS_ALL,
} ops_roots_t;

struct ops_world {
  const char *label; /* how findings name its objects from another world ("m1 "), or "" */
  ops_roots_t roots;
  bool shared;     /* every logical thread uses it: TSan release/acquire on objects it passes */
  bool whole_heap; /* the model holds every object in the heap: iteration must visit nothing
                      else, and live bytes must add up */
  hb_object_t *handles[OPS_HANDLES]; /* root slots when rooted: the heap reads them */
  uint32_t handle_obj[OPS_HANDLES];  /* model index per handle, MODEL_NONE if empty */
  bool rooted[OPS_HANDLES];          /* registered with root_add (removed at teardown) */
  hb_weak_t *weak[OPS_WEAK_SLOTS];
  uint32_t weak_obj[OPS_WEAK_SLOTS];
  model_t model;
  uint64_t settled, settled_full; /* the collection counts the model has caught up with */
  uint64_t finalized;             /* finalizer calls counted into this world */
  /* The threads whose alloc op is creating an object the model does not know yet (exec.c
   * ops_exec_alloc): from before the heap call to the model's entry. The heap counts such an
   * object live once it exists, which a settle's live-bytes check must allow for (oracle.c
   * after_collection). At most one per thread; in deterministic mode every mutator thread
   * shares this world, so several may be listed at once. */
  ops_ctx_t *fresh[OPS_THREAD_COUNT];
  uint32_t nfresh;
  /* The model index where the next settle's bounded object checks start (oracle.c
   * after_collection): they rotate through the reachable objects. */
  uint32_t check_cursor;
  /* Model objects finalized since the last check: finalizers run inside heap calls, maybe
   * before the model settled the collection that found them dead, so they are judged later. */
  uint32_t *finalized_objs;
  uint32_t nfinalized, cap_finalized;
  char bad_finalizer[128]; /* the first finalizer call on a non-object, reported after the call */
  bool failed;             /* a finding was made through this world: no more checks */
  /* Real-thread mode's checker: every object finalized while record_finalized is set. */
  bool record_finalized;
  uintptr_t *recorded;
  uint32_t nrecorded, cap_recorded;
};

struct ops_ctx {
  ops_run_t *run;
  ops_world_t *world;
  hb_mutator_t *mut; /* NULL for the sweeper, before attach and after detach */
  const char *name;  /* "m0".."m15", "sweeper", "collector", "main" */
  const char *stage; /* what a finding names when op is NULL: "setup", "join", "teardown" */
  const ops_op_t *op;
  uint32_t op_index;
  bool stopped;   /* allocation stopped by a stop-alloc op */
  bool released;  /* heap access given back by a release-access op */
  bool preempt;   /* a preempt op ran: the deterministic scheduler arms its change point */
  bool is_worker; /* real-thread mode: a mutator or the sweeper thread, not the checker */
  /* While this thread is listed in its world's fresh[]: the shape of the object its alloc op
   * creates (its cell bytes are worked out only by a settle that counts live bytes), and the
   * collection count when the heap returned it (OPS_FRESH_IN_CALL while the heap call runs: a
   * collection then may or may not have found the cell claimed). */
  size_t fresh_size;
  uint32_t fresh_nslots;
  uint64_t fresh_since;
};

#define OPS_FRESH_IN_CALL UINT64_MAX

struct ops_run {
  const hb_backend_t *be;
  uint32_t caps; /* the backend's capabilities this mode can use */
  hb_heap_t *heap;
  const ops_program_t *prog;
  const ops_plan_t *plan;
  const ops_run_options_t *opt;
  FILE *out;
  ops_run_result_t *res;
  bool serial;             /* deterministic mode: one logical thread runs at a time */
  ops_world_t *hook_world; /* serial: the world finalizers count into; else the thread's */
  bool tearing_down;       /* destroy finalizes live objects too: that is no finding */
  bool tracing;            /* the trace is on (opt->trace) and the setup is over */
  _Atomic uint64_t collections, full_collections; /* from the collected hook */
  atomic_bool last_was_full;
  atomic_bool reported; /* the first finding won the report */
  atomic_bool stop;     /* a finding: every thread ends at its next op */
  bool dump_pending;    /* real-thread mode: reported without a mutator, dumped after the join */
  struct sched *sched;  /* deterministic mode: the scheduler (its yield hook's state) */
  /* Finalizers the heap runs on threads of its own (the background sweeper): counted here. */
  ops_world_t *heap_thread_world;
  /* Real-thread mode: the background sweeper's state, changed under the lock by whichever
   * thread runs sweeper-start or sweeper-stop. */
  pthread_mutex_t sweeper_lock;
  bool sweeper_running;
  _Atomic uint32_t unsupported[HB_CAP_COUNT];
};

/* The calling thread's context in real-thread mode (the finalizer hook counts into its world). */
extern _Thread_local ops_ctx_t *ops_current_ctx;

/* Objects (and weak references) shared between logical threads of a shared world. The harness
 * keeps its tables uninstrumented; a real program would share them through some
 * synchronization. So in TSan builds, making an object available (allocating it, storing into
 * it) releases on its address and using one acquires there: an object's initialization by one
 * thread happens-before another thread's use of it, as in a correctly synchronized program,
 * while the heap's own accesses stay as unordered as the schedule leaves them. Private worlds
 * (real-thread mode) pass nothing between threads, so they annotate nothing. */
static inline void ops_share(const ops_world_t *w, const void *p) {
#if defined(HC_TSAN) && HC_TSAN
  if (w->shared && p) __tsan_release((void *)p);
#else
  (void)w, (void)p;
#endif
}
static inline void ops_use(const ops_world_t *w, const void *p) {
#if defined(HC_TSAN) && HC_TSAN
  if (w->shared && p) __tsan_acquire((void *)p);
#else
  (void)w, (void)p;
#endif
}

/* Weak slot s's target, read as a thread of a correctly synchronized program would (the slot may
 * have been made and read by other threads of a shared world: see ops_share). */
static inline hb_object_t *ops_weak_read(const ops_ctx_t *c, uint32_t s) {
  hb_weak_t *weak = c->world->weak[s];
  ops_use(c->world, weak);
  hb_object_t *t = c->run->be->weak_get(c->mut, weak);
  ops_share(c->world, weak);
  return t;
}

static inline bool ops_has(const ops_run_t *r, uint32_t cap) {
  return (r->caps & cap) == cap;
}

/* c may touch objects: it has a mutator that holds heap access. */
static inline bool ops_holds_access(const ops_ctx_t *c) {
  return c->mut && !c->released;
}

/* exec.c: the ops. Each runs op c->op on c's thread; false when skipped for absent state. */
#define OPS_EXEC_DECLARE_(id, mn, fn, ...) bool ops_exec_##fn(ops_ctx_t *c, const uint16_t *a);
OPS_OP_TABLE(OPS_EXEC_DECLARE_)
#undef OPS_EXEC_DECLARE_
/* Runs program op k on c (sets c->op and c->op_index); false when skipped: the plan voids it,
 * the backend lacks a capability it needs (counted in the run's unsupported[]), the thread has
 * no mutator, or its state is absent. */
bool ops_exec(ops_ctx_t *c, uint32_t k);
/* The attach op's work, and the end of a mutator thread (the detach op, or real-thread mode's
 * end of thread). */
void ops_attach(ops_ctx_t *c);
void ops_detach(ops_ctx_t *c);

/* oracle.c */
void ops_world_init(ops_world_t *w, ops_roots_t roots, bool shared, bool whole_heap);
void ops_world_free(ops_world_t *w);
/* The hooks every backend heap gets (ctx = the run). */
hb_hooks_t ops_hooks(ops_run_t *r);
/* Verbose and trace output, one line at a time (quietly: see quiet.h). */
void ops_printf(ops_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports the first finding of the run ("op N (text) on THREAD: invariant: detail", then a heap
 * dump) and makes every thread stop at its next op; later findings only stop their world's
 * checks. */
void ops_finding(ops_ctx_t *c, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ops_dump(ops_run_t *r, hb_mutator_t *m);
/* The heap's verifier (if it has one), through c's mutator. */
void ops_verify(ops_ctx_t *c, const char *when);
/* Object idx of `owner`'s model against the heap, checked through c's mutator. */
/* sampled: long payloads by samples (ops_payload_check_sampled), as after every collection. */
void ops_check_object(ops_ctx_t *c, const ops_world_t *owner, uint32_t idx, bool sampled);
/* Marks what the world's root handles reach. */
void ops_reach(ops_world_t *w);
/* Every object reachable from c's root handles against the model. */
void ops_check_reachable(ops_ctx_t *c);
/* The verifier, then every reachable object: what a verify op and the eager oracle run. */
void ops_verify_all(ops_ctx_t *c, const char *when);
/* Brings c's model up to date with the collections counted since it last was (then judges the
 * finalizers that ran meanwhile). Call right after every heap call that may collect, before the
 * op changes a handle; needs c to hold heap access. */
void ops_settle(ops_ctx_t *c);
/* Judges what finalizers recorded in c's world, once its model is up to date. */
void ops_check_finalized(ops_ctx_t *c);
/* Iterates the heap through c's mutator into a sorted array (*out, *count; the caller frees),
 * sized for every object the program could have made; false if the walk failed (reported). */
bool ops_iterate_sorted(ops_ctx_t *c, uintptr_t **out, size_t *count);
bool ops_sorted_contains(const uintptr_t *v, size_t n, uintptr_t key);
/* Destroys the heap (every mutator detached) and, with check, judges the finalizer count: the
 * sum over `worlds` must equal the finalizable objects their models allocated. */
void ops_destroy_heap(ops_ctx_t *c, ops_world_t *const *worlds, unsigned nworlds, bool check);

/* payload.c (instrumented in TSan builds: these are accesses to heap memory) */
void ops_payload_write(hb_object_t *obj, const hb_backend_t *be, uint32_t index, uint8_t seed);
bool ops_payload_check(hb_object_t *obj, const hb_backend_t *be, uint32_t index, uint8_t seed);
/* The same by samples for a long payload (payload.c says which): the check after every
 * collection. A check op, a new object and the eager oracle compare whole payloads. */
bool ops_payload_check_sampled(hb_object_t *obj, const hb_backend_t *be, uint32_t index,
                               uint8_t seed);

#endif /* OPS_EXEC_H */
