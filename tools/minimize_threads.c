/* minimize_threads.c: the minimizer's thread passes (minimize_internal.h): a mutator thread
 * removed whole or merged into the thread that ran before it, the helper threads, preempts, and
 * the ops the plan marks as statically void.
 *
 * Thread numbers are a function of the text (ops_plan): mutator threads are numbered in attach
 * order over the program's life, but `switch t`, `detach t` and `preempt to` count the mutators
 * attached at that point. Taking a thread's attach out therefore renames every later thread, and
 * changes what the counting operands name; retarget() points each back at the thread it named.
 * A merged thread's ops run on the thread that switched to it: the same heap calls on another
 * mutator, which keeps the crash more often than not (a thread a schedule needs stays). */
#include "minimize_internal.h"

#include <string.h>

/* cand = best without the ops for which drop(step, op) holds. */
static void without_ops(mz_t *m, bool (*drop)(const ops_plan_step_t *, const ops_op_t *, unsigned),
                        unsigned arg) {
  m->cand->config = m->best->config;
  uint32_t n = 0;
  for (uint32_t k = 0; k < m->best->count; k++)
    if (!drop(&m->plan->steps[k], &m->best->ops[k], arg)) {
      m->origin[n] = k;
      m->cand->ops[n++] = m->best->ops[k];
    }
  m->cand->count = n;
}

static bool is_preempt(const ops_op_t *op) {
  return mz_code(op) == OPS_PREEMPT;
}

/* The thread's ops (for a mutator: its attach, switches to it, its detach) and the preempts
 * that hand it the CPU. */
static bool thread_op(const ops_plan_step_t *s, const ops_op_t *op, unsigned thread) {
  return s->thread == thread || (is_preempt(op) && !s->skip && s->target == thread);
}

/* What makes a mutator thread a thread: its attach, the switches to it, its detach, and the
 * preempts that hand it the CPU. Its other ops stay, on the thread that ran before them. */
static bool thread_control_op(const ops_plan_step_t *s, const ops_op_t *op, unsigned thread) {
  unsigned code = mz_code(op);
  bool control = code == OPS_ATTACH || code == OPS_DETACH || code == OPS_SWITCH;
  return (s->thread == thread && control) || (is_preempt(op) && !s->skip && s->target == thread);
}

static bool void_op(const ops_plan_step_t *s, const ops_op_t *op, unsigned unused) {
  (void)op;
  (void)unused;
  return s->skip;
}

/* Mutator thread id's number once thread gone (and its attach) is removed. */
static unsigned renumber(unsigned id, unsigned gone) {
  return id < OPS_MAX_THREADS && id > gone ? id - 1 : id;
}

/* After mutator thread gone's ops left the candidate: `switch t`, `detach t` and `preempt to`
 * count attached mutators, one fewer now, so each is pointed back at the thread it named in best
 * (the smallest operand that does it), or else left as it was. Without this, removing a thread
 * turns `preempt to=3` (the collector, beside two mutators) into a preempt to m0. Each operand is
 * found by planning the candidate's prefix up to that op with each value in turn. */
static void retarget(mz_t *m, unsigned gone) {
  uint32_t count = m->cand->count;
  for (uint32_t k = 0; k < count; k++) {
    const ops_plan_step_t *was = &m->plan->steps[m->origin[k]];
    ops_op_t *op = &m->cand->ops[k];
    unsigned code = mz_code(op), slot, want;
    if (was->skip) continue;
    if (code == OPS_SWITCH || code == OPS_DETACH) {
      slot = 0;
      want = renumber(was->thread, gone);
    } else if (code == OPS_PREEMPT) {
      slot = 1;
      want = renumber(was->target, gone);
    } else {
      continue;
    }
    uint16_t keep = op->operand[slot];
    m->cand->count = k + 1;
    bool found = false;
    for (int v = -1; v < (int)OPS_MAX_MUTATORS + 2 && !found; v++) { /* -1: as it is */
      op->operand[slot] = v < 0 ? keep : (uint16_t)v;
      ops_plan(m->cand, m->scratch);
      const ops_plan_step_t *now = &m->scratch->steps[k];
      found = !now->skip && (code == OPS_PREEMPT ? now->target : now->thread) == want;
    }
    if (!found) op->operand[slot] = keep;
    m->cand->count = count;
  }
}

/* After a merge: the switches that now name the thread already running (the switch back from
 * the merged thread, typically) do nothing; they go too. */
static void drop_void_switches(mz_t *m) {
  ops_plan(m->cand, m->scratch);
  uint32_t n = 0;
  for (uint32_t k = 0; k < m->cand->count; k++)
    if (!(m->scratch->steps[k].skip && mz_code(&m->cand->ops[k]) == OPS_SWITCH))
      m->cand->ops[n++] = m->cand->ops[k];
  m->cand->count = n;
}

bool mz_pass_threads(mz_t *m) {
  bool changed = false;
  ops_plan(m->best, m->plan);
  /* Mutator threads from the last started, so the lower threads keep their numbers: each removed
   * whole, else merged. */
  for (unsigned t = m->plan->threads; t-- > 1 && !mz_spent(m);) {
    without_ops(m, thread_op, t);
    retarget(m, t);
    bool kept = m->cand->count < m->best->count && mz_try_candidate(m, "thread removed");
    if (!kept && !mz_spent(m)) {
      without_ops(m, thread_control_op, t);
      retarget(m, t);
      drop_void_switches(m);
      kept = m->cand->count < m->best->count && mz_try_candidate(m, "thread merged");
    }
    if (kept) {
      changed = true;
      ops_plan(m->best, m->plan);
    }
  }
  static const unsigned helpers[] = {OPS_THREAD_SWEEPER, OPS_THREAD_COLLECTOR};
  for (unsigned i = 0; i < 2 && !mz_spent(m); i++) {
    without_ops(m, thread_op, helpers[i]);
    if (m->cand->count < m->best->count && mz_try_candidate(m, "sweeper or collector removed")) {
      changed = true;
      ops_plan(m->best, m->plan);
    }
  }
  for (uint32_t k = m->best->count; k-- > 0 && !mz_spent(m);) {
    if (!is_preempt(&m->best->ops[k])) continue;
    mz_without_range(m, k, k + 1);
    changed = mz_try_candidate(m, "preempt removed") || changed;
  }
  return changed;
}

bool mz_pass_void(mz_t *m) {
  ops_plan(m->best, m->plan);
  without_ops(m, void_op, 0);
  return m->cand->count < m->best->count && mz_try_candidate(m, "void ops removed");
}
