/* mutate.c: structure-aware mutation and crossover of op programs (include/heapops.h).
 *
 * Byte-level mutation of an op program mostly shifts every later op onto the wrong opcode
 * boundary; mutating whole ops keeps the rest of the program meaningful (wasmtime's gc_ops and
 * syzkaller do the same). The fuzz targets fall back to the engine's byte mutator about one time
 * in eight, so encodings the structure cannot express are still explored.
 *
 * Length control. A program's cost is about proportional to its op count, and with a custom
 * mutator libFuzzer turns its own -len_control off, so the mutator keeps programs short itself,
 * as syzkaller's does: below the soft cap (MUTATE_SOFT_CAP ops) a length-changing mutation grows
 * or shrinks the program about equally often; above it, growing gets rarer in proportion to
 * (cap / length) and shrinking takes the rest, often a whole run of ops at once, so a long
 * parent's children are mostly shorter than it. Mutating in place (an operand, two ops swapped,
 * the config) is more frequent than inserting. Nothing is ever refused: a longer program still
 * comes out now and then, and the engine keeps it only when it adds coverage, so the corpus grows
 * past the cap only where coverage asks for it. Crossover never makes a program longer than its
 * first parent or the cap, whichever is more. */
#include "heapops.h"

#include <stdlib.h>
#include <string.h>

/* The soft cap, in ops: the length programs drift to under mutation alone (issue 3's throughput
 * target assumes programs of 64 ops on average). */
#define MUTATE_SOFT_CAP 64u
/* Of 64: how often one mutation round changes only the schedule (mutate_schedule), and how
 * often it changes the program otherwise in place (operand, swap, config); the rest change its
 * length. */
#define MUTATE_SCHEDULE_64 8u
#define MUTATE_IN_PLACE_64 26u

typedef struct rng {
  uint64_t s;
} rng_t;

static uint32_t next_u32(rng_t *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (uint32_t)((z ^ (z >> 31)) >> 16);
}

static uint32_t below(rng_t *r, uint32_t n) {
  return n ? next_u32(r) % n : 0;
}

/* Operand values biased toward the small ones the interpreter's modulo maps make meaningful
 * (handles, slots, mutators), with the whole range still reachable. The one two-byte operand is
 * an allocation's size: mostly within the size classes (up to 8 KiB), a large object (up to
 * 64 KiB) about one time in six. A large object costs a program more than any other op (it is
 * zeroed, checked zeroed, written and checked a word at a time, and fills the collection trigger
 * fast), and one to three of them in a program reach every large-object path. */
static uint16_t random_operand(rng_t *r, unsigned width) {
  if (width == 2) {
    switch (below(r, 8)) {
      case 0:
      case 1:
        return (uint16_t)below(r, 128);
      case 2:
      case 3:
        return (uint16_t)below(r, 1024);
      case 4:
      case 5:
        return (uint16_t)below(r, 8192);
      case 6:
        return (uint16_t)below(r, 16384);
      default:
        return (uint16_t)(next_u32(r) & 0xffff);
    }
  }
  switch (below(r, 4)) {
    case 0:
      return (uint16_t)below(r, 8);
    case 1:
      return (uint16_t)below(r, 64);
    default:
      return (uint16_t)(next_u32(r) & 0xff);
  }
}

static void random_op(rng_t *r, ops_op_t *op) {
  memset(op, 0, sizeof *op);
  op->opcode = (uint8_t)below(r, OPS_OP_COUNT);
  const ops_op_info_t *info = ops_op_info(op->opcode);
  for (unsigned i = 0; i < info->operand_count; i++)
    op->operand[i] = random_operand(r, info->operand_bytes[i]);
}

/* Whether a length-changing mutation of an n-op program grows it: one time in two up to the
 * soft cap, then with probability cap / (n + cap) (a third at twice the cap, a fifth at four
 * times), so that above the cap programs shrink on average, the faster the longer they are. */
static bool should_grow(rng_t *r, uint32_t n) {
  if (n < MUTATE_SOFT_CAP) return below(r, 2) == 0;
  return below(r, n + MUTATE_SOFT_CAP) < MUTATE_SOFT_CAP;
}

/* How many ops a deletion at `at` removes: one op mostly; above the cap, often a run of up to
 * the excess over the cap (syzkaller's minimizer also drops runs before single ops). */
static uint32_t deletion_length(rng_t *r, uint32_t n, uint32_t at) {
  uint32_t len = 1;
  if (n > MUTATE_SOFT_CAP && below(r, 2) == 0)
    len = 1 + below(r, n - MUTATE_SOFT_CAP);
  else if (below(r, 4) == 0)
    len = 1 + below(r, 4);
  return len < n - at ? len : n - at;
}

/* A new slot at a random place (the ops from there on move up one), or NULL when the program is
 * full. */
static ops_op_t *open_slot(rng_t *r, ops_program_t *p) {
  uint32_t n = p->count;
  if (n >= OPS_MAX_OPS) return NULL;
  uint32_t at = below(r, n + 1);
  memmove(&p->ops[at + 1], &p->ops[at], (n - at) * sizeof p->ops[0]);
  p->count++;
  return &p->ops[at];
}

static void insert_op(rng_t *r, ops_program_t *p) {
  ops_op_t *op = open_slot(r, p);
  if (op) random_op(r, op);
}

/* A copy of a run of up to 4 ops, right after it. */
static void duplicate_ops(rng_t *r, ops_program_t *p) {
  uint32_t n = p->count;
  if (n == 0 || n >= OPS_MAX_OPS) return;
  uint32_t at = below(r, n), len = 1 + below(r, 4);
  if (len > n - at) len = n - at;
  if (len > OPS_MAX_OPS - n) len = OPS_MAX_OPS - n;
  memmove(&p->ops[at + len], &p->ops[at], (n - at) * sizeof p->ops[0]);
  p->count += len;
}

static void delete_ops(rng_t *r, ops_program_t *p) {
  uint32_t n = p->count;
  if (n == 0) return;
  uint32_t at = below(r, n), len = deletion_length(r, n, at);
  memmove(&p->ops[at], &p->ops[at + len], (n - at - len) * sizeof p->ops[0]);
  p->count -= len;
}

static void mutate_in_place(rng_t *r, ops_program_t *p) {
  uint32_t n = p->count;
  uint32_t what = below(r, 8);
  if (what < 5 && n > 0) { /* re-parameterize one operand */
    ops_op_t *op = &p->ops[below(r, n)];
    const ops_op_info_t *info = ops_op_info(op->opcode);
    if (info->operand_count) {
      unsigned i = below(r, info->operand_count);
      op->operand[i] = random_operand(r, info->operand_bytes[i]);
    } else { /* an op without operands becomes another op */
      random_op(r, op);
    }
  } else if (what < 7 && n > 1) { /* swap */
    uint32_t i = below(r, n), j = below(r, n);
    ops_op_t t = p->ops[i];
    p->ops[i] = p->ops[j];
    p->ops[j] = t;
  } else { /* config */
    uint8_t *c = (uint8_t *)&p->config;
    c[below(r, sizeof p->config)] = (uint8_t)next_u32(r);
  }
}

/* The index of a random op with the given opcode, or UINT32_MAX when there is none. */
static uint32_t random_op_of(rng_t *r, const ops_program_t *p, unsigned opcode) {
  uint32_t seen = 0, pick = UINT32_MAX;
  for (uint32_t k = 0; k < p->count; k++)
    if (p->ops[k].opcode % OPS_OP_COUNT == opcode && below(r, ++seen) == 0) pick = k;
  return pick;
}

/* A new preempt, inserted where the length control lets the program grow, else over a random op
 * (so that a long program gets no longer from it). */
static void insert_preempt(rng_t *r, ops_program_t *p) {
  ops_op_t *op = should_grow(r, p->count) ? open_slot(r, p) : NULL;
  if (!op) {
    if (p->count == 0) return; /* nothing to overwrite */
    op = &p->ops[below(r, p->count)];
  }
  /* Early yield points of the next op (the one that matters is mostly among its first few), any
   * thread (to counts the attached mutators, then the sweeper and the collector), a short run. */
  *op =
      (ops_op_t){.opcode = OPS_PREEMPT,
                 .operand = {(uint16_t)below(r, 4), (uint16_t)below(r, 6), (uint16_t)below(r, 8)}};
}

/* Mutations of the schedule alone: the ops stay, the change points move. An ordering bug needs
 * one or two preemptions at the right yield point to the right thread (PCT's depth; syzkaller
 * mutates its programs' scheduling the same way), which a random operand or a random new op
 * hits rarely:
 *   - retime a preempt: fire one yield point earlier or later, or anywhere in its range;
 *   - retarget a preempt: another thread (the plan counts `to` modulo the attached mutators
 *     plus two, so now and then it names the same one), or another run length;
 *   - insert a preempt, at an early yield point of the op after it;
 *   - move an op across a neighbouring switch, so that another thread runs it.
 * Where the program has nothing to retime or move, a preempt is inserted. */
static void mutate_schedule(rng_t *r, ops_program_t *p) {
  uint32_t what = below(r, 8);
  if (what < 4) {
    uint32_t k = random_op_of(r, p, OPS_PREEMPT);
    if (k != UINT32_MAX) {
      uint16_t *o = p->ops[k].operand;
      if (what == 0)
        o[0] = (uint16_t)((o[0] & 0xffu) + (below(r, 2) ? 1u : 15u)) % 16u; /* +1 or -1 (mod 16) */
      else if (what == 1)
        o[0] = (uint16_t)below(r, 16);
      else if (what == 2)
        o[1] = (uint16_t)(((o[1] & 0xffu) + 1u + below(r, 5)) & 0xffu);
      else
        o[2] = (uint16_t)below(r, 16);
      return;
    }
  } else if (what < 6) {
    uint32_t k = random_op_of(r, p, OPS_SWITCH);
    if (k != UINT32_MAX) {
      uint32_t j = below(r, 2) ? k + 1 : k - 1; /* k - 1 wraps for k = 0: out of range */
      if (j < p->count) {
        ops_op_t t = p->ops[k];
        p->ops[k] = p->ops[j];
        p->ops[j] = t;
      }
      return;
    }
  }
  insert_preempt(r, p);
}

static ops_program_t *decode_new(const uint8_t *data, size_t size) {
  ops_program_t *p = malloc(sizeof *p);
  if (p) ops_decode(data, size, p);
  return p;
}

/* Encodes p into out, dropping trailing ops until it fits max_size; 0 when not even the config
 * fits. One pass: the op sizes say where to cut (re-encoding after each dropped op cost
 * crossovers of two long programs quadratic time). */
static size_t encode_fitting(ops_program_t *p, uint8_t *out, size_t max_size) {
  if (max_size < OPS_CONFIG_BYTES) return 0;
  size_t need = OPS_CONFIG_BYTES;
  uint32_t k = 0;
  for (; k < p->count && k < OPS_MAX_OPS; k++) {
    const ops_op_info_t *info = ops_op_info(p->ops[k].opcode % OPS_OP_COUNT);
    size_t bytes = 1;
    for (unsigned i = 0; i < info->operand_count; i++)
      bytes += info->operand_bytes[i];
    if (need + bytes > max_size) break;
    need += bytes;
  }
  p->count = k;
  return ops_encode(p, out, max_size);
}

size_t ops_mutate(uint8_t *data, size_t size, size_t max_size, uint32_t seed) {
  if (max_size < OPS_CONFIG_BYTES) return size; /* nothing but a config would fit */
  ops_program_t *p = decode_new(data, size);
  if (!p) return size;
  rng_t r = {seed};
  unsigned rounds = 1 + below(&r, 3);
  for (unsigned k = 0; k < rounds; k++) {
    uint32_t pick = below(&r, 64);
    if (pick < MUTATE_SCHEDULE_64)
      mutate_schedule(&r, p);
    else if (pick < MUTATE_SCHEDULE_64 + MUTATE_IN_PLACE_64)
      mutate_in_place(&r, p);
    else if (!should_grow(&r, p->count))
      delete_ops(&r, p);
    else if (below(&r, 3) < 2)
      insert_op(&r, p);
    else
      duplicate_ops(&r, p);
  }
  size_t out = encode_fitting(p, data, max_size);
  free(p);
  return out ? out : size;
}

size_t ops_crossover(const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size, uint8_t *out,
                     size_t max_size, uint32_t seed) {
  ops_program_t *pa = decode_new(a, a_size), *pb = decode_new(b, b_size);
  size_t n = 0;
  if (pa && pb && max_size >= OPS_CONFIG_BYTES) {
    rng_t r = {seed};
    /* A prefix of a, then a suffix of b, no longer in all than a or the soft cap. */
    uint32_t limit = pa->count > MUTATE_SOFT_CAP ? pa->count : MUTATE_SOFT_CAP;
    uint32_t cut_a = below(&r, pa->count + 1), cut_b = below(&r, pb->count + 1);
    uint32_t tail = pb->count - cut_b;
    if (tail > limit - cut_a) { /* a shorter suffix of b */
      tail = limit - cut_a;
      cut_b = pb->count - tail;
    }
    memcpy(&pa->ops[cut_a], &pb->ops[cut_b], tail * sizeof pa->ops[0]);
    pa->count = cut_a + tail;
    n = encode_fitting(pa, out, max_size);
  }
  free(pa);
  free(pb);
  return n;
}
