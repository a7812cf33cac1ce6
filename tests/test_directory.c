/* White-box tests of block directories (heap/directory.c): slots, bits, claims, removal. */
#include "check.h"
#include "internal.h"

enum { N = 100 };

static hc_block_handle_t handles[N];

static void test_add_claim_remove(void) {
  hc_directory_t d;
  CHECK_EQ_U64(hc_directory_init(&d, 32, 1), HC_OK);
  for (uint32_t i = 0; i < N; i++) {
    uint32_t idx = hc_directory_add(&d, &handles[i], i % 2 ? HC_BITMASK(HC_BIT_EMPTY) : 0, NULL);
    CHECK_EQ_U64(idx, i);
    CHECK_EQ_U64(handles[i].index, i);
  }
  CHECK_EQ_U64(d.count, N);
  /* Claims find only wanted, unclaimed slots, in cursor order, and set in-use. */
  hc_block_query_t q = {HC_BITMASK(HC_BIT_EMPTY), 0};
  uint32_t cursor = 10;
  hc_block_handle_t *h = hc_directory_claim(&d, q, HC_BITMASK(HC_BIT_EMPTY), &cursor);
  CHECK(h == &handles[11]);
  CHECK_EQ_U64(cursor, 12);
  CHECK(hc_directory_test(&d, 11, HC_BIT_IN_USE));
  CHECK(!hc_directory_test(&d, 11, HC_BIT_EMPTY)); /* cleared by the claim */
  /* Wraps around past the end. */
  cursor = 99;
  h = hc_directory_claim(&d, q, 0, &cursor);
  CHECK(h == &handles[99]);
  h = hc_directory_claim(&d, q, 0, &cursor);
  CHECK(h == &handles[1]);
  /* Avoid bits are honoured. */
  hc_directory_update(&d, 3, HC_BITMASK(HC_BIT_PINNED), 0);
  hc_block_query_t q2 = {HC_BITMASK(HC_BIT_EMPTY), HC_BITMASK(HC_BIT_PINNED)};
  cursor = 2;
  h = hc_directory_claim(&d, q2, 0, &cursor);
  CHECK(h == &handles[5]);
  /* Removal clears every bit and recycles the slot before the arrays grow. */
  hc_directory_remove(&d, 5);
  CHECK_EQ_U64(hc_directory_bits_of(&d, 5), 0);
  CHECK_EQ_U64(d.count, N - 1);
  static hc_block_handle_t extra;
  CHECK_EQ_U64(hc_directory_add(&d, &extra, 0, NULL), 5);
  CHECK_EQ_U64(hc_directory_bits_of(&d, 5), HC_BITMASK(HC_BIT_LIVE));
  /* Nothing matches: NULL, cursor unchanged. */
  hc_block_query_t none = {HC_BITMASK(HC_BIT_MARKING_RETIRED), 0};
  cursor = 7;
  CHECK(hc_directory_claim(&d, none, 0, &cursor) == NULL);
  CHECK_EQ_U64(cursor, 7);
  hc_directory_destroy(&d);
}

/* Exhaustive claim order against a model over random bit patterns. */
static void test_claim_model(void) {
  uint64_t seed = 7;
  for (int round = 0; round < 300; round++) {
    hc_directory_t d;
    CHECK_EQ_U64(hc_directory_init(&d, 48, 2), HC_OK);
    uint32_t n = 1 + (uint32_t)(round % 97);
    bool want[N], avoid[N];
    for (uint32_t i = 0; i < n; i++) {
      seed = seed * 6364136223846793005ull + 1;
      want[i] = (seed >> 40) & 1;
      avoid[i] = (seed >> 41) & 1 && (seed >> 42) & 1;
      hc_directory_add(&d, &handles[i],
                       (want[i] ? HC_BITMASK(HC_BIT_UNSWEPT) : 0) |
                           (avoid[i] ? HC_BITMASK(HC_BIT_PINNED) : 0),
                       NULL);
    }
    hc_block_query_t q = {HC_BITMASK(HC_BIT_UNSWEPT), HC_BITMASK(HC_BIT_PINNED)};
    uint32_t cursor = (uint32_t)(seed % (n + 1));
    for (;;) {
      uint32_t expect = UINT32_MAX;
      for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (cursor % n + k) % n;
        if (want[i] && !avoid[i]) {
          expect = i;
          break;
        }
      }
      hc_block_handle_t *h = hc_directory_claim(&d, q, 0, &cursor);
      if (expect == UINT32_MAX) {
        CHECK(h == NULL);
        break;
      }
      CHECK(h == &handles[expect]);
      want[expect] = false; /* now in use: never found again */
    }
    hc_directory_destroy(&d);
  }
}

int main(void) {
  RUN_TEST(test_add_claim_remove);
  RUN_TEST(test_claim_model);
  return 0;
}
