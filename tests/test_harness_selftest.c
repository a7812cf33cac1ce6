/* test_harness_selftest.c - checks that tests/check.h itself works, so ctest
 * has a passing test before the heap core exists. Does not use heapcore.h. */
#include "check.h"

static void test_check(void) {
  int x = 2;
  CHECK(x == 2);
  CHECK(x + x == 4);
}

static void test_check_eq_u64(void) {
  uint64_t big = UINT64_MAX;
  CHECK_EQ_U64(big, UINT64_MAX);
  CHECK_EQ_U64(sizeof(uint64_t), 8);
  CHECK_EQ_U64(-1, UINT64_MAX); /* both sides go through uint64_t */
}

static void test_check_str_contains(void) {
  char buf[64];
  snprintf(buf, sizeof buf, "heap %s at %d", "corrupted", 42);
  CHECK_STR_CONTAINS(buf, "corrupted");
  CHECK_STR_CONTAINS(buf, "at 42");
  CHECK_STR_CONTAINS("abc", "");
}

static int ran_plain;
static void test_run_test(void) {
  ran_plain = 1;
}

int main(void) {
  RUN_TEST(test_check);
  RUN_TEST(test_check_eq_u64);
  RUN_TEST(test_check_str_contains);
  run_test("test_run_test", test_run_test);
  CHECK(ran_plain == 1);
  return 0;
}
