/* White-box tests of the block address set (heap/blockset.c) against a brute-force model. */
#include "check.h"
#include "internal.h"

enum { N = 5000 };

static uint64_t rng_state = 42;
static uint64_t rng(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return rng_state >> 33;
}

static void test_against_model(void) {
  static uintptr_t keys[N];
  static bool present[N];
  hc_blockset_t s = {0};
  for (int i = 0; i < N; i++)
    keys[i] = (uintptr_t)(i + 1) * HC_BLOCK_SIZE + (i % 3 == 0 ? 8 : 0);
  for (int round = 0; round < 200000; round++) {
    int i = (int)(rng() % N);
    if (rng() % 3) {
      CHECK(hc_blockset_add(&s, keys[i]));
      present[i] = true;
    } else {
      hc_blockset_remove(&s, keys[i]);
      present[i] = false;
    }
    int j = (int)(rng() % N);
    CHECK_EQ_U64(hc_blockset_contains(&s, keys[j]), present[j]);
  }
  size_t count = 0;
  for (int i = 0; i < N; i++) {
    CHECK_EQ_U64(hc_blockset_contains(&s, keys[i]), present[i]);
    count += present[i];
  }
  CHECK_EQ_U64(s.count, count);
  CHECK(!hc_blockset_contains(&s, 0));
  CHECK(!hc_blockset_contains(&s, 1));
  CHECK(!hc_blockset_contains(&s, 12345 * HC_BLOCK_SIZE + 16)); /* never added */
  hc_blockset_free(&s);
  CHECK(!hc_blockset_contains(&s, keys[0]));
}

static void test_duplicates(void) {
  hc_blockset_t s = {0};
  CHECK(hc_blockset_add(&s, 0x4000));
  CHECK(hc_blockset_add(&s, 0x4000));
  CHECK_EQ_U64(s.count, 1);
  hc_blockset_remove(&s, 0x4000);
  CHECK(!hc_blockset_contains(&s, 0x4000));
  hc_blockset_remove(&s, 0x4000); /* removing an absent key is harmless */
  CHECK_EQ_U64(s.count, 0);
  hc_blockset_free(&s);
}

int main(void) {
  RUN_TEST(test_against_model);
  RUN_TEST(test_duplicates);
  return 0;
}
