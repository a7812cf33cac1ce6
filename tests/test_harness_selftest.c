/* test_harness_selftest.c - checks that tests/check.h itself works, so ctest has a passing test
 * before the heap core exists, and acts out the ways a heapfuzz test ends. Does not use
 * heapcore.h.
 *
 *   test_harness_selftest            each check passes where it holds and, where it does not
 *                                    (in a child), ends the test with exit 1 and its message
 *   test_harness_selftest skip       what a test that cannot run in this build does: prints
 *                                    "SKIP: <why>" and exits 77, the SKIP_RETURN_CODE every
 *                                    test has (tests/CMakeLists.txt)
 *   test_harness_selftest fail       a failing CHECK
 *   test_harness_selftest part-skip  passes, one of its cases left out ("SKIP <case>: <why>")
 *
 * The last three are run under ctest by the test harness_skip_reporting
 * (tests/scripts/check_skip_reporting.py): ctest and scripts/test's count must call them skipped,
 * failed and passed.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "child.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum { HF_TEST_SKIP = 77 }; /* ctest's SKIP_RETURN_CODE for heapfuzz tests */

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

/* The failing checks, one per child. */
static void fail_check(void) {
  int x = 2;
  CHECK(x == 3);
}
static void fail_check_eq_u64(void) {
  CHECK_EQ_U64(UINT64_MAX, 7);
}
static void fail_check_str_contains(void) {
  CHECK_STR_CONTAINS("heap ok", "corrupted");
}
static void fail_check_null(void) {
  const char *none = NULL;
  CHECK_STR_CONTAINS(none, "x");
}

/* fn must end the child with exit 1 after writing `expect` to stderr, with nothing after it
 * running (the child would exit 0). A miss ends this test with exit 1 by hand. */
static void expect_failure(const char *name, void (*fn)(void), const char *expect) {
  char out[1024];
  int status = hf_run_child(fn, out, sizeof out);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || strstr(out, expect) == NULL) {
    fprintf(stderr, "%s: child status %#x, stderr:\n%s\n(expected exit 1 and \"%s\")\n", name,
            (unsigned)status, out, expect);
    exit(1); /* not a check of check.h's: they are what is under test */
  }
  printf("PASS %s fails\n", name);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "skip") == 0) {
    printf("SKIP: acted out by test_harness_selftest skip (a test that cannot run here)\n");
    return HF_TEST_SKIP;
  }
  if (strcmp(mode, "fail") == 0) {
    RUN_TEST(fail_check); /* exits 1 */
    return 0;
  }
  if (strcmp(mode, "part-skip") == 0) {
    RUN_TEST(test_check);
    printf("SKIP test_not_here: acted out by test_harness_selftest part-skip\n");
    return 0;
  }
  if (argc > 1) {
    fprintf(stderr, "usage: test_harness_selftest [skip|fail|part-skip]\n");
    return 2;
  }

  RUN_TEST(test_check);
  RUN_TEST(test_check_eq_u64);
  RUN_TEST(test_check_str_contains);
  run_test("test_run_test", test_run_test);
  CHECK(ran_plain == 1);
  expect_failure("CHECK", fail_check, "CHECK failed: x == 3");
  expect_failure("CHECK_EQ_U64", fail_check_eq_u64,
                 "CHECK_EQ_U64 failed: UINT64_MAX == 7\n  left:  18446744073709551615\n"
                 "  right: 7");
  expect_failure("CHECK_STR_CONTAINS", fail_check_str_contains,
                 "CHECK_STR_CONTAINS failed: \"heap ok\" contains \"corrupted\"");
  expect_failure("CHECK_STR_CONTAINS(NULL)", fail_check_null, "hay:    \"(null)\"");
  return 0;
}
