/* test_mutators.c: several mutators on one thread. A collection must not wait for mutators that
 * released access; their roots still count; detach gives everything back.
 *
 * Everything runs on one OS thread, so a mutator holding access while another one stops the world
 * would deadlock by design: every step below releases the idle mutators first. An alarm turns a
 * hang (a collector waiting for a released mutator) into a failure.
 *
 * Also the other kind of mutator: the op mutator's length control (ops/mutate.c), at the end. */
#define _POSIX_C_SOURCE 200809L /* nanosleep, clock_gettime, alarm */
#include "heapcore.h"
#include "hc_testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The op mutator and the codec it needs, compiled in: this test links the heap core only (tests/
 * CMakeLists.txt links heapops to test_ops_* files), and reaching MUTATE_SOFT_CAP needs the
 * source anyway. These three files are what afl_mutator.so is built from too. */
#include "../ops/codec.c"
#include "../ops/mutate.c"
#include "../ops/optable.c"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static void release(hc_mutator_t *m) {
  CHECK_EQ_U64(hc_mutator_release_access(m), HC_OK);
}

static void acquire(hc_mutator_t *m) {
  CHECK_EQ_U64(hc_mutator_acquire_access(m), HC_OK);
}

/* ---------------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------------- */

static void test_ids(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  hc_heap_t *heap;
  hc_mutator_t *m[4];
  CHECK_EQ_U64(hc_heap_create(&cfg, &heap), HC_OK);
  for (uint32_t i = 0; i < 3; i++) {
    CHECK_EQ_U64(hc_mutator_attach(heap, &m[i]), HC_OK);
    CHECK_EQ_U64(hc_mutator_id(m[i]), i + 1);
    CHECK(hc_mutator_heap(m[i]) == heap);
  }
  CHECK(m[0] != m[1] && m[1] != m[2] && m[0] != m[2]);
  CHECK_EQ_U64(hc_mutator_detach(m[1]), HC_OK);
  CHECK_EQ_U64(hc_mutator_attach(heap, &m[3]), HC_OK);
  CHECK_EQ_U64(hc_mutator_id(m[3]), 4); /* ids are not reused */
  CHECK_EQ_U64(hc_mutator_id(m[0]), 1);
  CHECK_EQ_U64(hc_mutator_id(m[2]), 3);
  CHECK_EQ_U64(hc_mutator_detach(m[0]), HC_OK);
  CHECK_EQ_U64(hc_mutator_detach(m[2]), HC_OK);
  CHECK_EQ_U64(hc_mutator_detach(m[3]), HC_OK);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

enum { PER = 300 };

typedef struct mstate {
  hc_mutator_t *m;
  hc_object_t *root[4];   /* pushed on this mutator's root stack */
  hc_object_t *junk[PER]; /* unrooted */
} mstate_t;

static mstate_t ms[3];

static struct walk {
  hc_object_t *seen[64];
  size_t n;
} walk;

static bool visit(hc_object_t *obj, void *ctx) {
  struct walk *w = ctx;
  CHECK(w->n < 64);
  w->seen[w->n++] = obj;
  return true;
}

static void test_collect_with_released_mutators(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  hc_heap_t *heap;
  CHECK_EQ_U64(hc_heap_create(&cfg, &heap), HC_OK);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_U64(hc_mutator_attach(heap, &ms[i].m), HC_OK);
    CHECK_EQ_U64(hc_mutator_id(ms[i].m), (uint64_t)i + 1);
  }
  /* Each mutator allocates rooted and unrooted objects of shared size classes, interleaved so
   * they work in the same directories at once, and leaves half-used free lists behind. */
  for (size_t k = 0; k < PER; k++) {
    for (int i = 0; i < 3; i++) {
      uint64_t tag = (uint64_t)i * 100000 + k;
      ms[i].junk[k] = alloc_tagged(ms[i].m, k % 2 ? 48 : 160, 2, tag);
      if (k < 4) {
        ms[i].root[k] = alloc_tagged(ms[i].m, 64, 3, tag + 50000);
        CHECK_EQ_U64(hc_root_push(ms[i].m, &ms[i].root[k]), HC_OK);
      }
    }
  }
  /* Cross-mutator references: m1's roots point at m2's and m3's otherwise unrooted objects. */
  hc_store(ms[0].m, ms[0].root[0], 0, ms[1].junk[10]);
  hc_store(ms[0].m, ms[0].root[0], 1, ms[2].junk[11]);
  hc_store(ms[1].m, ms[1].root[1], 0, ms[0].junk[12]);
  hc_store(ms[2].m, ms[2].junk[11], 0, ms[1].junk[13]); /* a chain through three mutators */
  hc_store(ms[1].m, ms[1].junk[13], 0, ms[0].junk[14]);
  release(ms[1].m);
  release(ms[2].m);
  collect_ok(ms[0].m, HC_COLLECT_FULL); /* must not wait for m2, m3 */
  /* 12 roots + junk 10, 11, 12, 13, 14 */
  CHECK_EQ_U64(stats_of(heap).live_objects, 12 + 5);
  for (int i = 0; i < 3; i++) {
    for (size_t k = 0; k < 4; k++)
      CHECK(has_tag(ms[i].root[k], (uint64_t)i * 100000 + k + 50000));
  }
  CHECK(hc_load(ms[0].root[0], 0) == ms[1].junk[10] && has_tag(ms[1].junk[10], 100010));
  CHECK(hc_load(ms[2].junk[11], 0) == ms[1].junk[13] && has_tag(ms[1].junk[13], 100013));
  CHECK(has_tag(ms[0].junk[14], 14) && has_tag(ms[0].junk[12], 12));
  CHECK(!hc_is_live_object(ms[0].m, ms[1].junk[20]));
  hc_sweep_all(ms[0].m);
  VERIFY_OK(ms[0].m);

  /* m2 takes over: its allocator was stopped by m1's collection and restarts cleanly. A young
   * object it stores into an old one (m1's root) survives an eden collection run by m2. */
  release(ms[0].m);
  acquire(ms[1].m);
  hc_object_t *young = NULL;
  for (size_t k = 0; k < PER; k++) {
    hc_object_t *o = alloc_tagged(ms[1].m, k % 2 ? 48 : 160, 2, 250000 + k);
    if (k == PER / 2) young = o;
  }
  hc_store(ms[1].m, ms[0].root[2], 2, young);
  collect_ok(ms[1].m, HC_COLLECT_EDEN);
  CHECK_EQ_U64(stats_of(heap).live_objects, 12 + 5 + 1);
  CHECK(has_tag(young, 250000 + PER / 2));

  /* m3 iterates with both others released: it sees exactly the survivors plus what it allocated
   * since the collection. */
  release(ms[1].m);
  acquire(ms[2].m);
  hc_object_t *fresh = alloc_tagged(ms[2].m, 48, 0, 300000);
  walk.n = 0;
  CHECK_EQ_U64(hc_heap_iterate(ms[2].m, visit, &walk), HC_OK);
  CHECK_EQ_U64(walk.n, 12 + 5 + 1 + 1);
  bool saw_fresh = false, saw_young = false;
  for (size_t i = 0; i < walk.n; i++) {
    saw_fresh |= walk.seen[i] == fresh;
    saw_young |= walk.seen[i] == young;
    CHECK(walk.seen[i] != ms[0].junk[20] && walk.seen[i] != ms[1].junk[PER - 1]);
  }
  CHECK(saw_fresh && saw_young);
  CHECK(hc_heap_iterate(ms[2].m, NULL, NULL) != HC_OK);
  release(ms[2].m);
  acquire(ms[0].m);
  collect_ok(ms[0].m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(heap).live_objects, 12 + 5 + 1); /* fresh was unrooted */
  CHECK(!hc_is_live_object(ms[0].m, fresh));
  hc_safepoint(ms[0].m); /* nothing requested: returns */

  /* Detach m3 while it holds roots, half-used blocks and a remembered object. Its own roots
   * go; its objects reachable from m1 stay. */
  release(ms[0].m);
  acquire(ms[2].m);
  hc_object_t *m3_young = alloc_tagged(ms[2].m, 48, 0, 300001);
  hc_store(ms[2].m, ms[0].root[3], 0, m3_young); /* remembered by m3's store */
  for (size_t k = 0; k < 37; k++)
    alloc_tagged(ms[2].m, 160, 0, 300100 + k);
  CHECK_EQ_U64(hc_mutator_detach(ms[2].m), HC_OK);
  acquire(ms[0].m);
  VERIFY_OK(ms[0].m);
  collect_ok(ms[0].m, HC_COLLECT_EDEN);
  CHECK(has_tag(m3_young, 300001));
  collect_ok(ms[0].m, HC_COLLECT_FULL);
  /* 8 roots of m1, m2; junk 10, 11 (m3's, via m1), 12, 13, 14; young; m3_young. */
  CHECK_EQ_U64(stats_of(heap).live_objects, 8 + 5 + 1 + 1);
  CHECK(has_tag(ms[2].junk[11], 200011) && hc_load(ms[0].root[0], 1) == ms[2].junk[11]);
  CHECK(!hc_is_live_object(ms[0].m, ms[2].root[0]));
  hc_sweep_all(ms[0].m);
  hc_shrink(ms[0].m);
  VERIFY_OK(ms[0].m);
  /* Nothing stays held by the detached mutator: only blocks with live objects remain. */
  hc_object_t *live[16];
  size_t nl = 0;
  for (int i = 0; i < 2; i++) {
    for (size_t k = 0; k < 4; k++)
      live[nl++] = ms[i].root[k];
  }
  live[nl++] = ms[1].junk[10];
  live[nl++] = ms[2].junk[11];
  live[nl++] = ms[0].junk[12];
  live[nl++] = ms[1].junk[13];
  live[nl++] = ms[0].junk[14];
  live[nl++] = young;
  live[nl++] = m3_young;
  size_t distinct = distinct_blocks(live, nl); /* all small, none NULL */
  CHECK_EQ_U64(stats_of(heap).blocks, distinct);
  /* m1 reuses the freed space, m2 comes back and works. */
  for (size_t k = 0; k < PER; k++)
    alloc_tagged(ms[0].m, 160, 1, 400000 + k);
  release(ms[0].m);
  acquire(ms[1].m);
  for (size_t k = 0; k < PER; k++)
    alloc_tagged(ms[1].m, 48, 1, 500000 + k);
  collect_ok(ms[1].m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(heap).live_objects, 8 + 5 + 1 + 1);
  for (size_t i = 0; i < nl; i++)
    CHECK(hc_is_live_object(ms[1].m, live[i]));
  CHECK(has_tag(young, 250000 + PER / 2) && has_tag(m3_young, 300001));
  CHECK_EQ_U64(hc_mutator_detach(ms[1].m), HC_OK);
  acquire(ms[0].m);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_ERR_WRONG_STATE);
  CHECK_EQ_U64(hc_mutator_detach(ms[0].m), HC_OK);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

/* Access state errors. */
static void test_access_states(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  hc_heap_t *heap;
  hc_mutator_t *a, *b;
  CHECK_EQ_U64(hc_heap_create(&cfg, &heap), HC_OK);
  CHECK_EQ_U64(hc_mutator_attach(heap, &a), HC_OK);
  CHECK_EQ_U64(hc_mutator_attach(heap, &b), HC_OK);
  CHECK_EQ_U64(hc_mutator_acquire_access(a), HC_ERR_WRONG_STATE); /* already has it */
  release(b);
  CHECK_EQ_U64(hc_mutator_release_access(b), HC_ERR_WRONG_STATE);
  /* Many collections in a row with b released. */
  for (int i = 0; i < 20; i++)
    collect_ok(a, i % 2 ? HC_COLLECT_EDEN : HC_COLLECT_FULL);
  acquire(b);
  hc_object_t *o = alloc_tagged(b, 64, 0, 1);
  release(a);
  CHECK_EQ_U64(hc_root_push(b, &o), HC_OK);
  collect_ok(b, HC_COLLECT_FULL);
  CHECK(has_tag(o, 1));
  CHECK_EQ_U64(stats_of(heap).live_objects, 1);
  CHECK_EQ_U64(hc_mutator_detach(b), HC_OK);
  acquire(a);
  collect_ok(a, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(heap).live_objects, 0); /* b's roots went with it */
  CHECK_EQ_U64(hc_mutator_detach(a), HC_OK);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}


/* ---------------------------------------------------------------------------------------------
 * The op mutator's length control (ops/mutate.c)
 * ------------------------------------------------------------------------------------------- */

static ops_program_t prog_a, prog_b;
static uint8_t buf_a[8192], buf_b[8192];

/* A program of n random ops (decoded from random bytes, so operands are anything), encoded. */
static size_t random_ops(uint64_t *rng, uint32_t n, uint8_t *out, size_t cap) {
  prog_a.config = (ops_config_t){0};
  prog_a.count = n;
  for (uint32_t k = 0; k < n; k++) {
    ops_op_t *op = &prog_a.ops[k];
    memset(op, 0, sizeof *op);
    op->opcode = (uint8_t)rng_below(rng, OPS_OP_COUNT);
    for (unsigned i = 0; i < OPS_MAX_OPERANDS; i++)
      op->operand[i] = (uint16_t)rng_next(rng);
    const ops_op_info_t *info = ops_op_info(op->opcode);
    for (unsigned i = 0; i < OPS_MAX_OPERANDS; i++) /* what the encoding keeps */
      op->operand[i] = i < info->operand_count
                           ? op->operand[i] & (info->operand_bytes[i] == 2 ? 0xffffu : 0xffu)
                           : 0;
  }
  size_t size = ops_encode(&prog_a, out, cap);
  CHECK(size <= cap);
  return size;
}

static uint32_t op_count(const uint8_t *data, size_t size) {
  ops_decode(data, size, &prog_b);
  return prog_b.count;
}

/* A long chain of mutations, each of the previous one's output, and no selection: what the
 * mutator alone does to program length. Without length control (insert and duplicate together
 * as frequent as delete, as the mutator had it) the length is a random walk with an upward drift
 * that ends at max_size; with it, the chain stays around the soft cap wherever it starts. */
static void chain_lengths(uint64_t seed, uint32_t start_ops, double *mean, uint32_t *max,
                          uint32_t *last) {
  uint64_t rng = seed;
  size_t size = random_ops(&rng, start_ops, buf_a, sizeof buf_a);
  const unsigned steps = 50000, settle = 1000;
  double sum = 0;
  *max = 0;
  for (unsigned i = 0; i < steps; i++) {
    size = ops_mutate(buf_a, size, 4096, (uint32_t)rng_next(&rng));
    CHECK(size >= OPS_CONFIG_BYTES && size <= 4096);
    uint32_t n = op_count(buf_a, size);
    if (i >= settle) {
      sum += n;
      if (n > *max) *max = n;
    }
    *last = n;
  }
  *mean = sum / (steps - settle);
}

static void test_op_mutator_chain_length_bounded(void) {
  double mean;
  uint32_t max, last;
  /* From nothing: it grows, but only to about the cap. */
  chain_lengths(1, 0, &mean, &max, &last);
  printf("  chain from 0 ops: mean %.1f ops, max %u (soft cap %u)\n", mean, max, MUTATE_SOFT_CAP);
  CHECK(mean >= MUTATE_SOFT_CAP / 2 && mean <= 1.5 * MUTATE_SOFT_CAP);
  CHECK(max <= 4 * MUTATE_SOFT_CAP);
  /* From a long program (a long seed's length): down to the cap within the settling steps. */
  chain_lengths(2, 2000, &mean, &max, &last);
  printf("  chain from 2000 ops: mean %.1f ops, max %u\n", mean, max);
  CHECK(mean <= 1.5 * MUTATE_SOFT_CAP);
  CHECK(max <= 4 * MUTATE_SOFT_CAP);
}

/* One mutation of many programs of n ops each: how often the result is longer, shorter, or the
 * same length but changed. */
static void outcomes(uint32_t n, unsigned *grew, unsigned *shrank, unsigned *same_changed) {
  uint64_t rng = 77 + n;
  *grew = *shrank = *same_changed = 0;
  for (unsigned round = 0; round < 4000; round++) {
    size_t size = random_ops(&rng, n, buf_a, sizeof buf_a);
    memcpy(buf_b, buf_a, size);
    size_t out = ops_mutate(buf_a, size, sizeof buf_a, (uint32_t)rng_next(&rng));
    uint32_t m = op_count(buf_a, out);
    if (m > n)
      (*grew)++;
    else if (m < n)
      (*shrank)++;
    else if (out != size || memcmp(buf_a, buf_b, size) != 0)
      (*same_changed)++;
  }
}

static void test_op_mutator_prefers_deletion_above_cap(void) {
  unsigned grew, shrank, same;
  outcomes(MUTATE_SOFT_CAP / 2, &grew, &shrank, &same);
  printf("  %u ops: grew %u, shrank %u, changed in place %u of 4000\n", MUTATE_SOFT_CAP / 2, grew,
         shrank, same);
  CHECK(grew > 800 && shrank > 800); /* below the cap: both ways */
  CHECK(same > grew);                /* in place more than growing */
  outcomes(4 * MUTATE_SOFT_CAP, &grew, &shrank, &same);
  printf("  %u ops: grew %u, shrank %u, changed in place %u of 4000\n", 4 * MUTATE_SOFT_CAP, grew,
         shrank, same);
  CHECK(shrank > 3 * grew); /* above it: mostly shorter */
  CHECK(grew > 40);         /* yet growing is still possible: the cap is soft */
  CHECK(same > grew);
}

/* A long program's children: most are shorter, and by a fair amount (runs go at once). */
static void test_op_mutator_shrinks_long_programs(void) {
  uint64_t rng = 5;
  size_t size = random_ops(&rng, 1000, buf_b, sizeof buf_b);
  uint64_t total = 0;
  for (unsigned i = 0; i < 2000; i++) {
    memcpy(buf_a, buf_b, size);
    total += op_count(buf_a, ops_mutate(buf_a, size, sizeof buf_a, (uint32_t)rng_next(&rng)));
  }
  printf("  children of a 1000-op program: %.1f ops on average\n", total / 2000.0);
  CHECK(total / 2000 < 900);
}

/* Crossover: never longer than the first parent or the soft cap, whichever is more. */
static void test_op_crossover_length(void) {
  static uint8_t out[8192];
  uint64_t rng = 11;
  for (unsigned round = 0; round < 2000; round++) {
    uint32_t na = (uint32_t)rng_below(&rng, 4 * MUTATE_SOFT_CAP);
    uint32_t nb = (uint32_t)rng_below(&rng, 8 * MUTATE_SOFT_CAP);
    size_t sa = random_ops(&rng, na, buf_a, sizeof buf_a);
    size_t sb = random_ops(&rng, nb, buf_b, sizeof buf_b);
    size_t n = ops_crossover(buf_a, sa, buf_b, sb, out, sizeof out, (uint32_t)round);
    CHECK(n >= OPS_CONFIG_BYTES);
    CHECK(op_count(out, n) <= (na > MUTATE_SOFT_CAP ? na : MUTATE_SOFT_CAP));
  }
}

/* The same seeds give the same chain. */
static void test_op_mutator_deterministic_chain(void) {
  static uint8_t x[4096], y[4096];
  uint64_t rng = 3;
  size_t nx = random_ops(&rng, 200, x, sizeof x), ny = nx;
  memcpy(y, x, nx);
  for (uint32_t i = 0; i < 5000; i++) {
    nx = ops_mutate(x, nx, sizeof x, i * 2654435761u);
    ny = ops_mutate(y, ny, sizeof y, i * 2654435761u);
    CHECK(nx == ny && memcmp(x, y, nx) == 0);
  }
}

int main(void) {
  alarm(240); /* a collector waiting for a released mutator hangs; die instead */
  RUN_TEST(test_ids);
  RUN_TEST(test_collect_with_released_mutators);
  RUN_TEST(test_access_states);
  RUN_TEST(test_op_mutator_chain_length_bounded);
  RUN_TEST(test_op_mutator_prefers_deletion_above_cap);
  RUN_TEST(test_op_mutator_shrinks_long_programs);
  RUN_TEST(test_op_crossover_length);
  RUN_TEST(test_op_mutator_deterministic_chain);
  return 0;
}
