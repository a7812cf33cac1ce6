/* minimize_threads.c: the minimizer's thread passes (minimize_internal.h): a mutator thread
 * removed whole, merged into the thread that ran before it, or emptied op by op into the other
 * mutators and removed; single ops moved to the threads beside them so a switch goes; the helper
 * threads, preempts, and the ops the plan marks as statically void.
 *
 * Thread numbers are a function of the text (ops_plan): mutator threads are numbered in attach
 * order over the program's life, but `switch t`, `detach t` and `preempt to` count the mutators
 * attached at that point. Taking a thread's attach out therefore renames every later thread, and
 * changes what the counting operands name; retarget() points each back at the thread it named.
 * A merged thread's ops run on the thread that switched to it: the same heap calls on another
 * mutator, which keeps the crash more often than not (a thread a schedule needs stays).
 *
 * Moves work on segments: the ops a non-void `switch` hands to its thread, up to the next switch.
 * Ops of one thread run in program order whichever thread that is, so what a move changes is only
 * which mutator (allocator, heap access, yield points a preempt counts) runs them. Moving a
 * segment's ops to the thread before it is taking its switch out; to the thread after it, moving
 * the next switch up; to any other attached mutator, pointing its switch there. Moves never take
 * an attach or a detach out, so no other operand changes what it names. A move is kept, like any
 * candidate, only if the program crashes the same way; a kept move has one switch fewer, or is a
 * step towards removing its thread, undone if the thread stays. */
#include "minimize_internal.h"

#include <stdio.h>
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

/* The thread cand's op k names (its target for a preempt, else its thread) with operand slot set
 * to v, from a plan of cand's prefix up to op k; *skip: the plan makes it void. Op k keeps v. */
static unsigned named_thread(mz_t *m, uint32_t k, unsigned slot, uint16_t v, bool *skip) {
  uint32_t count = m->cand->count;
  m->cand->ops[k].operand[slot] = v;
  m->cand->count = k + 1;
  ops_plan(m->cand, m->scratch);
  m->cand->count = count;
  const ops_plan_step_t *now = &m->scratch->steps[k];
  *skip = now->skip;
  return mz_code(&m->cand->ops[k]) == OPS_PREEMPT ? now->target : now->thread;
}

/* After mutator thread gone's ops left the candidate: `switch t`, `detach t` and `preempt to`
 * count attached mutators, one fewer now, so each is pointed back at the thread it named in best
 * (the smallest operand that does it), or else left as it was. Without this, removing a thread
 * turns `preempt to=3` (the collector, beside two mutators) into a preempt to m0. Each operand is
 * found by planning the candidate's prefix up to that op with each value in turn. */
static void retarget(mz_t *m, unsigned gone) {
  for (uint32_t k = 0; k < m->cand->count; k++) {
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
    bool found = false, skip;
    for (int v = -1; v < (int)OPS_MAX_MUTATORS + 2 && !found; v++) /* -1: as it is */
      found = named_thread(m, k, slot, v < 0 ? keep : (uint16_t)v, &skip) == want && !skip;
    if (!found) op->operand[slot] = keep;
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

/* Mutator thread t removed with everything that makes it a thread (thread_op): its ops, if any
 * are left, go with it. */
static bool remove_thread(mz_t *m, unsigned t, const char *what) {
  without_ops(m, thread_op, t);
  retarget(m, t);
  return m->cand->count < m->best->count && mz_try_candidate(m, what);
}

/* ---------------------------------------------------------------------------------------------
 * Moves between mutator threads
 * ------------------------------------------------------------------------------------------- */

#define MOVE_SPLIT_MAX 4u /* a segment of up to this many ops is also tried split at each op */

static bool is_switch(const ops_op_t *op) {
  return mz_code(op) == OPS_SWITCH;
}

/* Ops that decide which thread runs the ops after them: a split never moves ops across one. */
static bool shapes_threads(const ops_op_t *op) {
  unsigned code = mz_code(op);
  return code == OPS_SWITCH || code == OPS_ATTACH || code == OPS_DETACH;
}

/* The last op of best that thread t runs (its attach and detach aside), or -1. */
static long last_op_of(const mz_t *m, unsigned t) {
  for (uint32_t k = m->best->count; k-- > 0;) {
    unsigned code = mz_code(&m->best->ops[k]);
    if (m->plan->steps[k].thread == t && code != OPS_ATTACH && code != OPS_DETACH) return (long)k;
  }
  return -1;
}

/* The switch that opened the segment of thread t holding op k (k itself when it is that switch),
 * or -1 when a detach handed the ops to t or the switch is void: such a segment has no switch a
 * move could point elsewhere. */
static long segment_opener(const mz_t *m, uint32_t k, unsigned t) {
  for (uint32_t j = k + 1; j-- > 0;)
    if (is_switch(&m->best->ops[j]))
      return !m->plan->steps[j].skip && m->plan->steps[j].thread == t ? (long)j : -1;
  return -1;
}

/* The segment opened by switch s moved whole to another attached mutator: the thread before it
 * first (s made void), the thread after it (the next switch made void), then the others in
 * attach order. Keeps the first move that crashes the same way. */
static bool move_segment(mz_t *m, uint32_t s, unsigned t) {
  unsigned after = OPS_THREAD_COUNT; /* the thread the next switch hands over to, if any */
  for (uint32_t j = s + 1; j < m->best->count && after == OPS_THREAD_COUNT; j++)
    if (is_switch(&m->best->ops[j]) && !m->plan->steps[j].skip) after = m->plan->steps[j].thread;
  /* The operand values that name each other attached mutator once, ranked by preference. */
  uint16_t value[OPS_MAX_MUTATORS];
  unsigned thread[OPS_MAX_MUTATORS], rank[OPS_MAX_MUTATORS], n = 0;
  memcpy(m->cand, m->best, sizeof *m->cand);
  for (uint16_t v = 0; v < OPS_MAX_MUTATORS; v++) {
    bool skip, seen = false;
    unsigned to = named_thread(m, s, 0, v, &skip);
    for (unsigned i = 0; i < n; i++)
      seen = seen || thread[i] == to;
    if (to == t || seen) continue;
    value[n] = v;
    thread[n] = to;
    rank[n++] = skip ? 0 : to == after ? 1 : 2;
  }
  for (unsigned r = 0; r < 3; r++)
    for (unsigned i = 0; i < n && !mz_spent(m); i++) {
      if (rank[i] != r) continue;
      memcpy(m->cand, m->best, sizeof *m->cand);
      m->cand->ops[s].operand[0] = value[i];
      drop_void_switches(m);
      if (mz_try_candidate(m, "segment moved to another thread")) {
        ops_plan(m->best, m->plan);
        return true;
      }
    }
  return false;
}

/* Thread t removed once its ops are moved, segment by segment from its last, to other mutators
 * (move_segment); if a segment cannot move, or t cannot go once empty, best is put back as it
 * was: moves that do not remove the thread make the program no simpler. A move can hand t ops
 * it did not run (a detach that now hands over), so the moves are bounded, by the op count: a
 * move whose answer is cached costs no budget. */
static bool drop_by_moves(mz_t *m, unsigned t) {
  static ops_program_t saved;
  memcpy(&saved, m->best, sizeof saved);
  bool moved = true;
  unsigned moves = 0;
  long k;
  while (moved && moves < saved.count && !mz_spent(m) && (k = last_op_of(m, t)) >= 0) {
    long s = segment_opener(m, (uint32_t)k, t);
    moved = s >= 0 && move_segment(m, (uint32_t)s, t);
    moves += moved;
  }
  if (moved && last_op_of(m, t) < 0 && !mz_spent(m) &&
      remove_thread(m, t, "thread removed, its ops moved"))
    return true;
  if (moves == 0) return false;
  if (m->opt.verbose) fprintf(stderr, "heapfuzz: minimize: m%u stays: %u moves undone\n", t, moves);
  memcpy(m->best, &saved, sizeof saved);
  ops_plan(m->best, m->plan);
  return false;
}

/* cand = best with the ops of the segment between switch s and switch e split: the first i run
 * on the thread before s (s goes), the rest on the thread after (e moves up to them). */
static void split_segment(mz_t *m, uint32_t s, uint32_t e, uint32_t i) {
  static ops_op_t with[OPS_MAX_OPS];
  uint32_t n = 0;
  for (uint32_t k = s + 1; k <= s + i; k++)
    with[n++] = m->best->ops[k];
  with[n++] = m->best->ops[e];
  for (uint32_t k = s + 1 + i; k < e; k++)
    with[n++] = m->best->ops[k];
  mz_replace_range(m, s, e + 1, with, n);
  drop_void_switches(m);
}

/* The segment opened by switch s emptied into the threads beside it: all its ops to the thread
 * before, all to the thread after, then (a short one) each split of the two. */
static bool empty_segment(mz_t *m, uint32_t s) {
  uint32_t e = s + 1;
  while (e < m->best->count && !shapes_threads(&m->best->ops[e]))
    e++;
  if (e == m->best->count || !is_switch(&m->best->ops[e]) || m->plan->steps[e].skip) {
    mz_without_range(m, s, s + 1); /* no thread after: all to the one before */
    drop_void_switches(m);
    return mz_try_candidate(m, "segment moved to the thread before");
  }
  uint32_t n = e - s - 1;
  for (uint32_t j = 0; j <= n && (j < 2 || n <= MOVE_SPLIT_MAX) && !mz_spent(m); j++) {
    uint32_t i = j == 0 ? n : j == 1 ? 0 : n - j + 1; /* n, 0, n-1, ..., 1 */
    if (j == 1 && n == 0) break;
    split_segment(m, s, e, i);
    if (mz_try_candidate(m, i == n   ? "segment moved to the thread before"
                            : i == 0 ? "segment moved to the thread after"
                                     : "segment split between the threads beside it"))
      return true;
  }
  return false;
}

bool mz_pass_threads(mz_t *m) {
  bool changed = false;
  ops_plan(m->best, m->plan);
  /* Mutator threads from the last started, so the lower threads keep their numbers: each removed
   * whole, else merged, else emptied by moves and removed. */
  for (unsigned t = m->plan->threads; t-- > 1 && !mz_spent(m);) {
    bool kept = remove_thread(m, t, "thread removed");
    if (!kept && !mz_spent(m)) {
      without_ops(m, thread_control_op, t);
      retarget(m, t);
      drop_void_switches(m);
      kept = m->cand->count < m->best->count && mz_try_candidate(m, "thread merged");
    }
    if (!kept && !mz_spent(m)) kept = drop_by_moves(m, t);
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

bool mz_pass_moves(mz_t *m) {
  bool changed = false;
  ops_plan(m->best, m->plan);
  /* Last first: a kept move changes best from its switch on, so the segments before it stay. */
  for (uint32_t s = m->best->count; s-- > 0 && !mz_spent(m);) {
    if (!is_switch(&m->best->ops[s]) || m->plan->steps[s].skip) continue;
    if (empty_segment(m, s)) {
      changed = true;
      ops_plan(m->best, m->plan);
    }
  }
  return changed;
}

bool mz_pass_void(mz_t *m) {
  ops_plan(m->best, m->plan);
  without_ops(m, void_op, 0);
  return m->cand->count < m->best->count && mz_try_candidate(m, "void ops removed");
}
