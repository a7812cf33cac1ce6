/* minimize_internal.h: what the minimizer's files share (`heapfuzz minimize`): its state, the
 * cached predicate every pass asks, and the passes each file defines. A map, as in mimalloc's
 * internal.h: prototypes grouped under the file that defines them.
 *
 * Ownership: one mz_t per command, used by one thread (the parent; candidates run in children).
 * m->best is the smallest program known to crash with m->target's signature; a pass builds a
 * candidate in m->cand and keeps it with mz_try_candidate, which copies it into best only when
 * it crashes the same way. Passes return whether they kept a change, and stop as soon as
 * mz_spent(m): a candidate that was not run is not evidence either way. */
#ifndef HF_MINIMIZE_INTERNAL_H
#define HF_MINIMIZE_INTERNAL_H

#include "heapops.h"
#include "signature.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mz_options {
  bool threads;
  unsigned runs;   /* --threads: runs per candidate */
  double timeout;  /* seconds per run */
  unsigned budget; /* candidates run, cache answers not counted */
  double max_time; /* seconds for the whole minimization; 0 = no limit */
  bool verbose;    /* each step kept, on stderr */
  const char *in, *out;
} mz_options_t;

/* Why the minimization stopped before a round changed nothing. */
typedef enum mz_stop {
  MZ_STOP_NONE = 0, /* it did not: the result is a fixpoint of every pass */
  MZ_STOP_BUDGET,   /* --budget candidates were run */
  MZ_STOP_TIME,     /* --max-time seconds went by */
} mz_stop_t;

typedef struct mz {
  mz_options_t opt;
  hf_signature_t target;
  ops_program_t *best; /* the smallest program with the target signature so far */
  ops_program_t *cand; /* the candidate under test */
  ops_plan_t *plan;    /* of best, for the thread passes */
  ops_plan_t *scratch; /* of a candidate being retargeted */
  uint32_t *origin;    /* the thread passes: candidate op k is best's op origin[k] */
  uint8_t *enc;        /* a candidate's encoding, for its hash */
  size_t enc_cap;
  uint64_t *cache_keys; /* open addressing on the encoding's hash; 0 = empty */
  uint8_t *cache_vals;  /* 1 other behaviour, 2 the target signature */
  size_t cache_cap, cache_used;
  char *report;        /* the last child's output */
  unsigned candidates; /* candidates run (what the budget counts) */
  unsigned cached;     /* candidates answered from the cache */
  unsigned children;   /* child processes (with --threads, up to --runs a candidate) */
  double started;      /* monotonic seconds at the start, for --max-time */
  uint64_t probed;     /* the hash of the last program mz_probe_collections ran */
  mz_stop_t stop;
} mz_t;

/* ---- minimize.c: the predicate and the candidate builders --------------------------------- */

/* True once the budget (or the time limit) refused a candidate: every pass stops. */
static inline bool mz_spent(const mz_t *m) {
  return m->stop != MZ_STOP_NONE;
}
/* Does p crash with the target signature? Cached by p's encoding; false (and the stop set) when
 * a new candidate would exceed the budget or the time limit. */
bool mz_same_crash(mz_t *m, const ops_program_t *p);
/* Tests m->cand; keeps it as the best (and says so with -v) when it crashes the same way. */
bool mz_try_candidate(mz_t *m, const char *what);
/* cand = best without the ops in [from, to). */
void mz_without_range(mz_t *m, uint32_t from, uint32_t to);
/* cand = best with the ops in [from, to) replaced by the n ops at with (with may be NULL when n
 * is 0). */
void mz_replace_range(mz_t *m, uint32_t from, uint32_t to, const ops_op_t *with, uint32_t n);
/* An automatic collection a probe saw: the op that ran it (as far as the trace tells) and its
 * kind. */
typedef struct mz_collection {
  uint32_t op;
  bool full;
} mz_collection_t;
/* Runs best once more in a child, in deterministic mode with the interpreter's trace, and lists
 * the automatic collections it saw, in the order they ran (at most cap). Counts against the
 * budget like a candidate. Returns 0 when the budget refused it, or best was probed already. */
uint32_t mz_probe_collections(mz_t *m, mz_collection_t *out, uint32_t cap);
/* The opcode of op, in range. */
static inline unsigned mz_code(const ops_op_t *op) {
  return op->opcode % OPS_OP_COUNT;
}

/* ---- minimize_threads.c: threads ---------------------------------------------------------- */

/* Each mutator thread removed whole, else merged into the thread that ran before it (its ops
 * kept, its attach, switches, detach and preempts to it gone), else removed once its ops moved,
 * segment by segment, to the thread before, the thread after or another mutator; the sweeper,
 * the collector, then each preempt. */
bool mz_pass_threads(mz_t *m);
/* Switches made unnecessary by moving single ops: the ops a switch hands to a thread (up to the
 * next switch) moved to the thread before it (the switch goes), to the thread after it (the next
 * switch moves up to them and the pair goes when it names the thread before), or for a short
 * segment split between the two. */
bool mz_pass_moves(mz_t *m);
/* Every op the plan marks as statically void (switch to the running thread, preempt to itself,
 * attach past the limits, detach of the last mutator) at once. */
bool mz_pass_void(mz_t *m);

/* ---- minimize_rewrite.c: rewrites of collections, runs, the config, operands, names ------- */

/* The automatic collections (the config's trigger) made explicit: a probe finds the ops that ran
 * them, and one candidate puts a gc-full or gc-eden before each and turns the trigger off (else
 * leaves it on); the allocations that only fed the trigger can go then. */
bool mz_pass_collections(mz_t *m);
/* Runs of the same op (on one thread, also with a period of two or three ops): removed whole,
 * an allocation run replaced by the explicit collection it fed, sweeper and sweep ticks merged,
 * else cut to the shortest prefix of whole periods that keeps the crash. */
bool mz_pass_runs(mz_t *m);
/* The config bytes, by what they mean: each to its canonical value, then 0, then the smallest
 * value a bisection keeps (the trigger: lower means fewer allocations reach it); each flag bit
 * cleared. */
bool mz_pass_config(mz_t *m);
/* Operands, but handles and weak slots (lowering one alone names another object: a wasted
 * bisection nearly always; mz_renumber numbers them at the end instead): each to 0, else the
 * smallest value a bisection keeps. Ops alike (a fuzzer's repeated allocation) are lowered
 * together: one bisection for the lot. */
bool mz_pass_operands(mz_t *m);
/* Handles and weak slots renumbered densely in first-use order (0, 1, 2...), if that keeps the
 * crash. Cosmetic: never changes the op count. */
bool mz_renumber(mz_t *m);

#endif /* HF_MINIMIZE_INTERNAL_H */
