/* mutate.c: structure-aware mutation and crossover of op programs (include/heapops.h).
 *
 * Byte-level mutation of an op program mostly shifts every later op onto the wrong opcode
 * boundary; mutating whole ops keeps the rest of the program meaningful (wasmtime's gc_ops and
 * syzkaller do the same). The fuzz targets fall back to the engine's byte mutator about one time
 * in eight, so encodings the structure cannot express are still explored. */
#include "heapops.h"

#include <stdlib.h>
#include <string.h>

typedef struct rng {
  uint64_t s;
} rng_t;

static uint32_t rng_next(rng_t *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (uint32_t)((z ^ (z >> 31)) >> 16);
}

static uint32_t below(rng_t *r, uint32_t n) {
  return n ? rng_next(r) % n : 0;
}

/* Operand values biased toward the small ones the interpreter's modulo maps make meaningful
 * (handles, slots, mutators), with the whole range still reachable. */
static uint16_t random_operand(rng_t *r, unsigned width) {
  switch (below(r, 4)) {
    case 0:
      return (uint16_t)below(r, 8);
    case 1:
      return (uint16_t)below(r, 64);
    default:
      return (uint16_t)(width == 2 ? rng_next(r) & 0xffff : rng_next(r) & 0xff);
  }
}

static void random_op(rng_t *r, ops_op_t *op) {
  memset(op, 0, sizeof *op);
  op->opcode = (uint8_t)below(r, OPS_OP_COUNT);
  const ops_op_info_t *info = ops_op_info(op->opcode);
  for (unsigned i = 0; i < info->operand_count; i++)
    op->operand[i] = random_operand(r, info->operand_bytes[i]);
}

static ops_program_t *decode_new(const uint8_t *data, size_t size) {
  ops_program_t *p = malloc(sizeof *p);
  if (p) ops_decode(data, size, p);
  return p;
}

/* Encodes p into out, dropping trailing ops until it fits max_size. */
static size_t encode_fitting(ops_program_t *p, uint8_t *out, size_t max_size) {
  size_t need;
  while ((need = ops_encode(p, out, max_size)) > max_size && p->count > 0)
    p->count--;
  return need <= max_size ? need : 0;
}

size_t ops_mutate(uint8_t *data, size_t size, size_t max_size, uint32_t seed) {
  if (max_size < OPS_CONFIG_BYTES) return size; /* nothing but a config would fit */
  ops_program_t *p = decode_new(data, size);
  if (!p) return size;
  rng_t r = {seed};
  unsigned rounds = 1 + below(&r, 3);
  for (unsigned k = 0; k < rounds; k++) {
    uint32_t n = p->count;
    switch (below(&r, 7)) {
      case 0: /* insert */
      case 1:
        if (n < OPS_MAX_OPS) {
          uint32_t at = below(&r, n + 1);
          memmove(&p->ops[at + 1], &p->ops[at], (n - at) * sizeof p->ops[0]);
          random_op(&r, &p->ops[at]);
          p->count++;
        }
        break;
      case 2: /* delete */
        if (n > 0) {
          uint32_t at = below(&r, n);
          memmove(&p->ops[at], &p->ops[at + 1], (n - at - 1) * sizeof p->ops[0]);
          p->count--;
        }
        break;
      case 3: /* duplicate a run of up to 4 ops */
        if (n > 0 && n < OPS_MAX_OPS) {
          uint32_t at = below(&r, n), len = 1 + below(&r, 4);
          if (len > n - at) len = n - at;
          if (len > OPS_MAX_OPS - n) len = OPS_MAX_OPS - n;
          memmove(&p->ops[at + len], &p->ops[at], (n - at) * sizeof p->ops[0]);
          p->count += len;
        }
        break;
      case 4: /* swap */
        if (n > 1) {
          uint32_t i = below(&r, n), j = below(&r, n);
          ops_op_t t = p->ops[i];
          p->ops[i] = p->ops[j];
          p->ops[j] = t;
        }
        break;
      case 5: /* re-parameterize one operand */
        if (n > 0) {
          ops_op_t *op = &p->ops[below(&r, n)];
          const ops_op_info_t *info = ops_op_info(op->opcode);
          if (info->operand_count) {
            unsigned i = below(&r, info->operand_count);
            op->operand[i] = random_operand(&r, info->operand_bytes[i]);
          }
        }
        break;
      default: { /* config */
        uint8_t *c = (uint8_t *)&p->config;
        c[below(&r, sizeof p->config)] = (uint8_t)rng_next(&r);
        break;
      }
    }
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
    uint32_t cut_a = below(&r, pa->count + 1), cut_b = below(&r, pb->count + 1);
    uint32_t tail = pb->count - cut_b;
    if (tail > OPS_MAX_OPS - cut_a) tail = OPS_MAX_OPS - cut_a;
    memcpy(&pa->ops[cut_a], &pb->ops[cut_b], tail * sizeof pa->ops[0]);
    pa->count = cut_a + tail;
    n = encode_fitting(pa, out, max_size);
  }
  free(pa);
  free(pb);
  return n;
}
