/* minimize_rewrite.c: the minimizer's rewrites (minimize_internal.h), the changes a person makes
 * to a crashing program that deleting ops alone does not find cheaply:
 *
 *   runs      A fuzzer repeats ops: a run of allocations that only feeds the automatic
 *             collection trigger, a row of sweeper ticks. A run is ops [start, start + copies *
 *             period) on one thread in which each op has the opcode of the op one period before
 *             (period 1, 2 or 3; no attach, detach, switch or preempt in it). Each run, last
 *             first, is tried removed whole; an allocation run replaced by one explicit gc-full
 *             or gc-eden at its place (the collection it fed), and for a long one also with the
 *             trigger off; a run of sweeper or sweep ticks merged into one tick of their summed
 *             blocks; an allocation run as the fewest allocations of the largest size that hand
 *             out as many bytes (what the trigger counts); else cut to the shortest prefix, then
 *             suffix, of whole periods that keeps the crash, by bisection: log2 of the copies in
 *             candidates where single-op deletion spends one per op, and cannot cut at all a run
 *             whose ops are only needed together (to reach the trigger, say).
 *   collections  With an automatic trigger, a probe (mz_probe_collections: one more run, with
 *             the interpreter's trace) finds the ops that collected, and one candidate puts an
 *             explicit gc-full or gc-eden before each and turns the trigger off: what a person
 *             writes. The allocations that only fed the trigger then go as a run or chunk.
 *   config    Each config byte by what it means (ops_heap_config): first to its canonical value
 *             (trigger and full_every modulo 8, versions modulo 254, the flags' four bits), then
 *             0, then the smallest value a bisection keeps. A lower trigger lets fewer
 *             allocations reach the automatic collection, so the next round's run pass cuts the
 *             allocation runs shorter.
 *   operands  Each operand but handles and weak slots to 0, else the smallest value a bisection
 *             keeps; ops alike (one opcode, the same operands) together.
 *   renumber  Handles (modulo OPS_HANDLES) and weak slots (modulo OPS_WEAK_SLOTS) renamed 0, 1,
 *             2... in order of first use, as a person writes them; tried once the op count is
 *             final. Handle numbers decide little (the order of root slots), so it nearly always
 *             holds; when it does not, the program keeps its numbers.
 *
 * Every change is a candidate like any other: kept only when the signature is exactly the same. */
#include "minimize_internal.h"

#include <string.h>

#define RUN_MAX_PERIOD    3u
#define RUN_LONG          4u /* copies from which an allocation run is also tried with no trigger */
#define CONFIG_BYTE_COUNT 4u
#define LARGEST           (OPS_MAX_OBJECT - 1u) /* the largest size an alloc op asks for */

/* ---------------------------------------------------------------------------------------------
 * Automatic collections made explicit
 * ------------------------------------------------------------------------------------------- */

static int by_op(const void *a, const void *b) {
  const mz_collection_t *x = a, *y = b;
  return x->op < y->op ? -1 : x->op > y->op;
}

/* cand = best with an explicit collection of each kind seen before the op that ran it. */
static void with_collections(mz_t *m, mz_collection_t *seen, uint32_t n, bool trigger) {
  m->cand->config = m->best->config;
  if (!trigger) m->cand->config.trigger = 0;
  uint32_t c = 0, j = 0;
  for (uint32_t k = 0; k < m->best->count && c < OPS_MAX_OPS; k++) {
    for (; j < n && seen[j].op == k && c < OPS_MAX_OPS; j++)
      m->cand->ops[c++] = (ops_op_t){.opcode = seen[j].full ? OPS_GC_FULL : OPS_GC_EDEN};
    if (c < OPS_MAX_OPS) m->cand->ops[c++] = m->best->ops[k];
  }
  m->cand->count = c;
}

bool mz_pass_collections(mz_t *m) {
  static mz_collection_t seen[OPS_MAX_OPS];
  if (m->best->config.trigger % 8u == 0) return false;
  uint32_t n = mz_probe_collections(m, seen, OPS_MAX_OPS);
  if (n == 0) return false;
  /* In program order (threads may run them out of it), stably: the ops are few, so is n. */
  for (uint32_t i = 1; i < n; i++)
    for (uint32_t j = i; j > 0 && by_op(&seen[j - 1], &seen[j]) > 0; j--) {
      mz_collection_t t = seen[j];
      seen[j] = seen[j - 1];
      seen[j - 1] = t;
    }
  with_collections(m, seen, n, false);
  if (mz_try_candidate(m, "automatic collections made explicit, trigger off")) return true;
  with_collections(m, seen, n, true);
  return !mz_spent(m) && mz_try_candidate(m, "automatic collections made explicit");
}

/* ---------------------------------------------------------------------------------------------
 * Runs
 * ------------------------------------------------------------------------------------------- */

typedef struct run {
  uint32_t start, period, copies;
} run_t;

/* Ops that shape threads: never part of a run (removing one renames threads). */
static bool is_control(const ops_op_t *op) {
  unsigned c = mz_code(op);
  return c == OPS_ATTACH || c == OPS_DETACH || c == OPS_SWITCH || c == OPS_PREEMPT;
}

/* Ops k and j are alike for a run: one opcode, one thread. */
static bool alike(const mz_t *m, uint32_t k, uint32_t j) {
  return mz_code(&m->best->ops[k]) == mz_code(&m->best->ops[j]) &&
         m->plan->steps[k].thread == m->plan->steps[j].thread;
}

/* The maximal runs of one period in best, in program order, into runs (at most cap). A run of
 * period 2 or 3 whose period is itself one opcode repeated is left to period 1. */
static uint32_t find_runs(const mz_t *m, uint32_t period, run_t *runs, uint32_t cap) {
  uint32_t n = m->best->count, found = 0;
  uint32_t k = 0;
  while (k + 2 * period <= n && found < cap) {
    bool ok = true, uniform = true;
    for (uint32_t i = k; i < k + period && ok; i++) {
      ok = !is_control(&m->best->ops[i]);
      uniform = uniform && alike(m, i, k);
    }
    ok = ok && (period == 1 || !uniform);
    uint32_t e = k + period;
    while (ok && e < n && alike(m, e, e - period))
      e++;
    uint32_t copies = ok ? (e - k) / period : 0;
    if (copies >= 2) {
      runs[found++] = (run_t){k, period, copies};
      k += copies * period;
    } else {
      k++;
    }
  }
  return found;
}

static bool run_allocates(const mz_t *m, const run_t *r) {
  for (uint32_t i = 0; i < r->period; i++)
    if (mz_code(&m->best->ops[r->start + i]) == OPS_ALLOC) return true;
  return false;
}

/* An allocation run replaced by the explicit collection it fed (each kind; for a long run also
 * with the trigger off, when no other allocation then collects). */
static bool run_to_collection(mz_t *m, const run_t *r) {
  uint32_t end = r->start + r->copies * r->period;
  static const unsigned kinds[] = {OPS_GC_FULL, OPS_GC_EDEN};
  bool trigger = m->best->config.trigger % 8u != 0;
  for (unsigned off = 0; off < (trigger && r->copies >= RUN_LONG ? 2u : 1u); off++)
    for (unsigned i = 0; i < 2 && !mz_spent(m); i++) {
      ops_op_t gc = {.opcode = (uint8_t)kinds[i]};
      mz_replace_range(m, r->start, end, &gc, 1);
      if (off) m->cand->config.trigger = 0;
      if (mz_try_candidate(m, off ? "allocation run -> collection, trigger off"
                                  : "allocation run -> collection"))
        return true;
    }
  return false;
}

/* A run of allocations as the fewest allocations of the largest size with as many bytes (the
 * last copy's, resized): the trigger counts bytes handed out, so a fuzzer's hundred small
 * allocations that reach it are one or two large ones. */
static bool run_to_large(mz_t *m, const run_t *r) {
  static ops_op_t big[OPS_MAX_OPS];
  if (r->period != 1 || mz_code(&m->best->ops[r->start]) != OPS_ALLOC) return false;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < r->copies; i++)
    bytes += m->best->ops[r->start + i].operand[1] % OPS_MAX_OBJECT;
  uint32_t n = (uint32_t)((bytes + LARGEST - 1) / LARGEST);
  if (n == 0 || n >= r->copies) return false;
  for (uint32_t i = 0; i < n; i++) {
    big[i] = m->best->ops[r->start + r->copies - 1];
    big[i].operand[1] = LARGEST;
  }
  mz_replace_range(m, r->start, r->start + r->copies, big, n);
  return mz_try_candidate(m, "allocation run -> fewer, larger allocations");
}

/* A run of sweeper (or sweep) ticks as one tick of their blocks summed (n means n % 16 + 1). */
static bool merge_ticks(mz_t *m, const run_t *r) {
  unsigned code = mz_code(&m->best->ops[r->start]);
  if (r->period != 1 || (code != OPS_SWEEPER_TICK && code != OPS_SWEEP)) return false;
  unsigned blocks = 0;
  for (uint32_t i = 0; i < r->copies; i++)
    blocks += m->best->ops[r->start + i].operand[0] % 16u + 1u;
  ops_op_t tick = m->best->ops[r->start];
  tick.operand[0] = (uint16_t)((blocks > 16 ? 16 : blocks) - 1);
  mz_replace_range(m, r->start, r->start + r->copies, &tick, 1);
  return mz_try_candidate(m, "ticks merged");
}

/* The fewest copies of the run, kept from its start (suffix false) or its end, by bisection:
 * keep(lo) is known not to crash the same way, keep(hi) does. */
static bool cut_run(mz_t *m, const run_t *r, bool suffix) {
  uint32_t p = r->period, s = r->start, e = s + r->copies * p;
  uint32_t lo = 0, hi = r->copies;
  while (hi - lo > 1 && !mz_spent(m)) {
    uint32_t mid = lo + (hi - lo) / 2, drop = (r->copies - mid) * p;
    if (suffix)
      mz_without_range(m, s, s + drop);
    else
      mz_without_range(m, e - drop, e);
    if (mz_same_crash(m, m->cand))
      hi = mid;
    else
      lo = mid;
  }
  if (hi == r->copies) return false;
  uint32_t drop = (r->copies - hi) * p;
  if (suffix)
    mz_without_range(m, s, s + drop);
  else
    mz_without_range(m, e - drop, e);
  return mz_try_candidate(m, suffix ? "run cut (suffix kept)" : "run cut (prefix kept)");
}

static bool collapse(mz_t *m, const run_t *r) {
  mz_without_range(m, r->start, r->start + r->copies * r->period);
  if (mz_try_candidate(m, "run removed")) return true;
  if (!mz_spent(m) && run_allocates(m, r) && run_to_collection(m, r)) return true;
  if (!mz_spent(m) && merge_ticks(m, r)) return true;
  if (!mz_spent(m) && run_to_large(m, r)) return true;
  if (!mz_spent(m) && cut_run(m, r, false)) return true;
  return !mz_spent(m) && cut_run(m, r, true);
}

bool mz_pass_runs(mz_t *m) {
  static run_t runs[OPS_MAX_OPS / 2];
  bool changed = false;
  for (uint32_t period = 1; period <= RUN_MAX_PERIOD && !mz_spent(m); period++) {
    ops_plan(m->best, m->plan);
    uint32_t n = find_runs(m, period, runs, OPS_MAX_OPS / 2);
    /* Last first: a change at a run leaves the ops before it, and so the runs found there, as
     * they were (and their threads: a run holds no op that shapes threads). */
    for (uint32_t i = n; i-- > 0 && !mz_spent(m);)
      if (collapse(m, &runs[i])) {
        changed = true;
        ops_plan(m->best, m->plan);
      }
  }
  return changed;
}

/* ---------------------------------------------------------------------------------------------
 * The config
 * ------------------------------------------------------------------------------------------- */

static uint8_t *config_byte(ops_program_t *p, unsigned i) {
  uint8_t *bytes[CONFIG_BYTE_COUNT] = {&p->config.trigger, &p->config.full_every,
                                       &p->config.versions, &p->config.flags};
  return bytes[i];
}

/* Byte i's canonical value: the smallest byte that configures the heap the same way. */
static uint8_t canonical(unsigned i, uint8_t v) {
  static const unsigned modulus[CONFIG_BYTE_COUNT] = {8, 8, 254, 0};
  return modulus[i] ? (uint8_t)(v % modulus[i]) : (uint8_t)(v & 15u);
}

/* Config byte i (not the flags) to its canonical value, then 0, then the smallest value a
 * bisection keeps. */
static bool lower_config(mz_t *m, unsigned i) {
  bool changed = false;
  uint8_t v = *config_byte(m->best, i);
  const char *what = i == 0 ? "trigger lowered" : "config lowered";
  if (canonical(i, v) != v) {
    memcpy(m->cand, m->best, sizeof *m->cand);
    *config_byte(m->cand, i) = canonical(i, v);
    if (mz_try_candidate(m, "config byte made canonical")) {
      changed = true;
      v = canonical(i, v);
    }
  }
  if (v == 0 || mz_spent(m)) return changed;
  memcpy(m->cand, m->best, sizeof *m->cand);
  *config_byte(m->cand, i) = 0;
  if (mz_try_candidate(m, what)) return true;
  uint8_t lo = 0, hi = v; /* lo does not crash the same way, hi does */
  while (hi - lo > 1 && !mz_spent(m)) {
    uint8_t mid = (uint8_t)(lo + (hi - lo) / 2);
    *config_byte(m->cand, i) = mid;
    if (mz_same_crash(m, m->cand))
      hi = mid;
    else
      lo = mid;
  }
  *config_byte(m->cand, i) = hi;
  return (hi < v && mz_try_candidate(m, what)) || changed;
}

bool mz_pass_config(mz_t *m) {
  bool changed = false;
  for (unsigned i = 0; i < CONFIG_BYTE_COUNT - 1 && !mz_spent(m); i++)
    changed = lower_config(m, i) || changed;
  /* The flags: their unused bits off, then each bit alone (bits are not a magnitude). */
  uint8_t flags = m->best->config.flags;
  if (canonical(3, flags) != flags && !mz_spent(m)) {
    memcpy(m->cand, m->best, sizeof *m->cand);
    m->cand->config.flags = canonical(3, flags);
    changed = mz_try_candidate(m, "config byte made canonical") || changed;
  }
  for (unsigned bit = 0; bit < 8 && !mz_spent(m); bit++) {
    if (!(m->best->config.flags & (1u << bit))) continue;
    memcpy(m->cand, m->best, sizeof *m->cand);
    m->cand->config.flags = (uint8_t)(m->best->config.flags & ~(1u << bit));
    changed = mz_try_candidate(m, "config flag cleared") || changed;
  }
  return changed;
}

/* ---------------------------------------------------------------------------------------------
 * Renumbering
 * ------------------------------------------------------------------------------------------- */

/* What an operand names: a handle, a weak slot, or neither (by its key in the text form). */
typedef enum name_kind { NAME_NONE, NAME_HANDLE, NAME_WEAK } name_kind_t;

static name_kind_t name_kind(const ops_op_t *op, unsigned i) {
  const ops_op_info_t *info = ops_op_info(mz_code(op));
  if (i >= info->operand_count) return NAME_NONE;
  const char *key = info->operand_names[i];
  if (strcmp(key, "h") == 0 || strcmp(key, "dst") == 0 || strcmp(key, "v") == 0) return NAME_HANDLE;
  return strcmp(key, "w") == 0 ? NAME_WEAK : NAME_NONE;
}

/* cand = best with the names of the chosen kinds renumbered in first-use order. Returns whether
 * that changed an operand. */
static bool renumbered(mz_t *m, bool handles, bool weak) {
  int map[2][OPS_HANDLES];
  uint16_t next[2] = {0, 0};
  static const unsigned modulus[2] = {OPS_HANDLES, OPS_WEAK_SLOTS};
  memset(map, -1, sizeof map);
  memcpy(m->cand, m->best, sizeof *m->cand);
  bool any = false;
  for (uint32_t k = 0; k < m->cand->count; k++) {
    ops_op_t *op = &m->cand->ops[k];
    for (unsigned i = 0; i < OPS_MAX_OPERANDS; i++) {
      name_kind_t kind = name_kind(op, i);
      if (kind == NAME_NONE || (kind == NAME_HANDLE && !handles) || (kind == NAME_WEAK && !weak))
        continue;
      unsigned t = kind == NAME_HANDLE ? 0 : 1, v = op->operand[i] % modulus[t];
      if (map[t][v] < 0) map[t][v] = next[t]++;
      any = any || op->operand[i] != map[t][v];
      op->operand[i] = (uint16_t)map[t][v];
    }
  }
  return any;
}

bool mz_renumber(mz_t *m) {
  if (renumbered(m, true, true) && mz_try_candidate(m, "handles and weak slots renumbered"))
    return true;
  if (!mz_spent(m) && renumbered(m, true, false) && mz_try_candidate(m, "handles renumbered"))
    return true;
  return !mz_spent(m) && renumbered(m, false, true) && mz_try_candidate(m, "weak slots renumbered");
}

/* ---------------------------------------------------------------------------------------------
 * Operands
 * ------------------------------------------------------------------------------------------- */

/* Ops alike for the operand pass: one opcode, the same operands. */
static bool same_op(const ops_op_t *a, const ops_op_t *b) {
  if (mz_code(a) != mz_code(b)) return false;
  const ops_op_info_t *info = ops_op_info(mz_code(a));
  for (unsigned i = 0; i < info->operand_count; i++)
    if (a->operand[i] != b->operand[i]) return false;
  return true;
}

/* cand's operand i = v in op k and every op of its group (m->origin[j] == k). */
static void set_group(mz_t *m, uint32_t k, unsigned i, uint16_t v) {
  for (uint32_t j = k; j < m->cand->count; j++)
    if (m->origin[j] == k) m->cand->ops[j].operand[i] = v;
}

/* Lowers operand i of op k and of the ops alike to it, together, to 0, or else to the smallest
 * value a bisection finds that keeps the crash (the crash need not be monotonic in the value:
 * this finds a small one, not the smallest). */
static bool lower_operand(mz_t *m, uint32_t k, unsigned i) {
  uint16_t v = m->best->ops[k].operand[i];
  if (v == 0) return false;
  memcpy(m->cand, m->best, sizeof *m->cand);
  set_group(m, k, i, 0);
  if (mz_try_candidate(m, "operand lowered")) return true;
  uint16_t lo = 0, hi = v; /* lo does not crash the same way, hi does */
  while (hi - lo > 1 && !mz_spent(m)) {
    uint16_t mid = (uint16_t)(lo + (hi - lo) / 2);
    set_group(m, k, i, mid);
    if (mz_same_crash(m, m->cand))
      hi = mid;
    else
      lo = mid;
  }
  set_group(m, k, i, hi);
  return hi < v && mz_try_candidate(m, "operand lowered");
}

bool mz_pass_operands(mz_t *m) {
  bool changed = false;
  uint32_t n = m->best->count;
  for (uint32_t k = 0; k < n; k++) { /* origin[k]: the first op alike to op k */
    m->origin[k] = k;
    for (uint32_t j = 0; j < k; j++)
      if (m->origin[j] == j && same_op(&m->best->ops[j], &m->best->ops[k])) {
        m->origin[k] = j;
        break;
      }
  }
  for (uint32_t k = 0; k < n && !mz_spent(m); k++) {
    if (m->origin[k] != k) continue;
    const ops_op_info_t *info = ops_op_info(mz_code(&m->best->ops[k]));
    for (unsigned i = 0; i < info->operand_count && !mz_spent(m); i++)
      if (name_kind(&m->best->ops[k], i) == NAME_NONE) changed = lower_operand(m, k, i) || changed;
  }
  return changed;
}
