/* Tests of the oracle's payload checks (ops/payload.c, ops/model.h): the whole-payload check
 * finds any changed byte; the sampled check after collections finds a change at either end of a
 * long payload and in every sampled line, and compares short payloads whole. */
#include "hc_testutil.h"

#include "../ops/exec.h" /* internal to the interpreter: ops_payload_check* */

static uint8_t buffer[HB_OBJECT_HEADER + 70000];
static size_t payload_bytes;

/* A backend whose only object is `buffer`: the checks reach a payload through be->payload. */
static uint8_t *payload_of(hb_object_t *obj, size_t *size) {
  *size = payload_bytes;
  return (uint8_t *)obj + HB_OBJECT_HEADER;
}

static const hb_backend_t backend = {.name = "payload-test", .payload = payload_of};
static hb_object_t *const obj = (hb_object_t *)buffer;

static void fill(size_t n, uint8_t seed) {
  payload_bytes = n;
  ops_payload_write(obj, &backend, 7, seed);
  CHECK(ops_payload_check(obj, &backend, 7, seed));
  CHECK(ops_payload_check_sampled(obj, &backend, 7, seed));
}

/* Flips payload byte `at`; returns what (full, sampled) say, and flips it back. */
static void flip(size_t at, bool *full, bool *sampled, uint8_t seed) {
  buffer[HB_OBJECT_HEADER + at] ^= 0x20;
  *full = ops_payload_check(obj, &backend, 7, seed);
  *sampled = ops_payload_check_sampled(obj, &backend, 7, seed);
  buffer[HB_OBJECT_HEADER + at] ^= 0x20;
}

static void test_short_payloads_compared_whole(void) {
  for (uint8_t seed = 0; seed < 2; seed++) {
    size_t sizes[] = {1, 7, 8, 1000, 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
      fill(sizes[i], seed);
      for (size_t at = 0; at<sizes[i]; at += sizes[i]> 64 ? 61 : 1) {
        bool full, sampled;
        flip(at, &full, &sampled, seed);
        CHECK(!full && !sampled);
      }
    }
  }
}

static void test_long_payloads_sampled(void) {
  for (uint8_t seed = 0; seed < 2; seed++) {
    size_t n = 65535 - HB_OBJECT_HEADER; /* odd-sized, as the campaign's largest objects */
    fill(n, seed);
    /* Found by both: either end, and the first line of every 1 KiB in between. */
    size_t found[] = {0, 8, 1023, n - 1, n - 1000, 1024, 1024 + 63, 30 * 1024, 30 * 1024 + 40};
    for (size_t i = 0; i < sizeof found / sizeof *found; i++) {
      bool full, sampled;
      flip(found[i], &full, &sampled, seed);
      CHECK(!full);
      CHECK(!sampled);
    }
    /* Between samples: only the whole-payload check (check ops, new objects, eager mode). */
    size_t missed[] = {1024 + 64, 30 * 1024 + 500};
    for (size_t i = 0; i < sizeof missed / sizeof *missed; i++) {
      bool full, sampled;
      flip(missed[i], &full, &sampled, seed);
      CHECK(!full);
      CHECK(sampled);
    }
    /* A sweep's wipe of the whole cell, zero or scribble, is found by both. */
    memset(buffer + HB_OBJECT_HEADER, seed ? 0 : 0xbe, n);
    CHECK(!ops_payload_check(obj, &backend, 7, seed));
    CHECK(!ops_payload_check_sampled(obj, &backend, 7, seed));
  }
}

int main(void) {
  RUN_TEST(test_short_payloads_compared_whole);
  RUN_TEST(test_long_payloads_sampled);
  return 0;
}
