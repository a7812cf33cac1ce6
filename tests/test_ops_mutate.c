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

int main(void) {
  RUN_TEST(test_mutate);
  RUN_TEST(test_crossover);
  return 0;
}
