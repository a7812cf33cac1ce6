/* Tests of the structure-aware mutator and crossover (ops/mutate.c). */
#include "hc_testutil.h"
#include "heapops.h"

static ops_program_t a, b, c;

static size_t random_program(uint64_t *rng, uint8_t *buf, size_t cap) {
  /* Canonical re-encoding zero-pads a truncated last op: leave room for it. */
  size_t n = rng_range(rng, 0, cap - 8);
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)rng_next(rng);
  ops_decode(buf, n, &a);
  size_t canonical = ops_encode(&a, buf, cap);
  CHECK(canonical <= cap);
  return canonical;
}

/* Every mutation yields a canonical program within max_size, the same for the same seed, and
 * over many seeds every kind of change happens: ops added, removed, reordered, operands changed. */
static void test_mutate(void) {
  uint64_t rng = 5;
  static uint8_t buf[4096], copy[4096];
  unsigned grew = 0, shrank = 0, same_count_changed = 0;
  for (int round = 0; round < 5000; round++) {
    size_t size = random_program(&rng, buf, 1500);
    size_t max = rng_range(&rng, OPS_CONFIG_BYTES, sizeof buf);
    if (size > max) max = size;
    memcpy(copy, buf, size);
    ops_decode(buf, size, &b);
    uint32_t seed = (uint32_t)rng_next(&rng);
    size_t n1 = ops_mutate(buf, size, max, seed);
    size_t n2 = ops_mutate(copy, size, max, seed);
    CHECK(n1 <= max && n1 == n2 && memcmp(buf, copy, n1) == 0); /* deterministic */
    ops_decode(buf, n1, &c);
    CHECK_EQ_U64(ops_encode(&c, copy, sizeof copy), n1); /* canonical */
    CHECK(memcmp(copy, buf, n1) == 0);
    if (c.count > b.count) grew++;
    if (c.count < b.count) shrank++;
    if (c.count == b.count && memcmp(&c, &b, sizeof c) != 0) same_count_changed++;
  }
  printf("  grew %u, shrank %u, changed in place %u of 5000\n", grew, shrank, same_count_changed);
  CHECK(grew > 500 && shrank > 500 && same_count_changed > 500);
}

static void test_crossover(void) {
  uint64_t rng = 9;
  static uint8_t x[2048], y[2048], out[4096];
  for (int round = 0; round < 2000; round++) {
    size_t nx = random_program(&rng, x, sizeof x);
    size_t ny = random_program(&rng, y, sizeof y);
    size_t n = ops_crossover(x, nx, y, ny, out, sizeof out, (uint32_t)round);
    CHECK(n >= OPS_CONFIG_BYTES && n <= sizeof out);
    ops_decode(x, nx, &a);
    ops_decode(y, ny, &b);
    ops_decode(out, n, &c);
    CHECK(memcmp(&c.config, &a.config, sizeof c.config) == 0);
    /* c = a[0, k) ++ b[j, ...): find k as the longest common prefix, then check the rest. */
    uint32_t k = 0;
    while (k < c.count && k < a.count && memcmp(&c.ops[k], &a.ops[k], sizeof c.ops[k]) == 0)
      k++;
    bool found = false;
    for (uint32_t split = 0; split <= k && !found; split++) {
      uint32_t rest = c.count - split;
      if (rest > b.count) continue;
      uint32_t j = b.count - rest;
      found = memcmp(&c.ops[split], &b.ops[j], rest * sizeof c.ops[0]) == 0;
    }
    CHECK(found);
  }
}

/* Schedule mutations change the change points and nothing else: over many seeds, a preempt is
 * retimed or retargeted (one operand of the one preempt changed, every other op as it was), a
 * preempt is inserted (the old ops in order around it), and an op moves across a switch. */
static void test_mutate_schedule(void) {
  static const char text[] = "heapfuzz-ops 1\n"
                             "attach\nalloc h=0 size=20000\ndrop h=0\ngc-full\n"
                             "switch t=1\npreempt after=0 to=0 n=1\nsweep n=0\n"
                             "switch t=0\nshrink\n";
  char err[256];
  CHECK(ops_parse(text, strlen(text), "test", &a, err, sizeof err));
  static uint8_t orig[4096], buf[4096];
  size_t size = ops_encode(&a, orig, sizeof orig);
  unsigned retimed = 0, retargeted = 0, inserted = 0, moved = 0;
  for (uint32_t seed = 0; seed < 4000; seed++) {
    memcpy(buf, orig, size);
    size_t n = ops_mutate(buf, size, sizeof buf, seed);
    ops_decode(buf, n, &c);
    if (c.count == a.count) {
      uint32_t diff = 0, at = 0;
      for (uint32_t k = 0; k < a.count; k++)
        if (memcmp(&a.ops[k], &c.ops[k], sizeof a.ops[k]) != 0) diff++, at = k;
      if (diff == 1 && at == 5 && c.ops[5].opcode == OPS_PREEMPT) {
        if (c.ops[5].operand[0] != a.ops[5].operand[0]) retimed++;
        if (c.ops[5].operand[1] != a.ops[5].operand[1]) retargeted++;
      }
      if (diff == 2 && at >= 1 &&
          (a.ops[at].opcode == OPS_SWITCH || a.ops[at - 1].opcode == OPS_SWITCH) &&
          memcmp(&a.ops[at], &c.ops[at - 1], sizeof a.ops[at]) == 0 &&
          memcmp(&a.ops[at - 1], &c.ops[at], sizeof a.ops[at]) == 0)
        moved++;
    } else if (c.count == a.count + 1) {
      for (uint32_t k = 0; k < c.count; k++) {
        if (c.ops[k].opcode != OPS_PREEMPT) continue;
        bool rest_same = memcmp(&c.ops[0], &a.ops[0], k * sizeof a.ops[0]) == 0 &&
                         memcmp(&c.ops[k + 1], &a.ops[k], (a.count - k) * sizeof a.ops[0]) == 0;
        if (rest_same && c.ops[k].operand[0] < 4) {
          inserted++;
          break;
        }
      }
    }
  }
  printf("  retimed %u, retargeted %u, inserted %u, moved across a switch %u (of 4000)\n", retimed,
         retargeted, inserted, moved);
  CHECK(retimed > 40 && retargeted > 20 && inserted > 20 && moved > 20);
}

int main(void) {
  RUN_TEST(test_mutate);
  RUN_TEST(test_crossover);
  RUN_TEST(test_mutate_schedule);
  return 0;
}
