/* check.h - tiny header-only test helper for heapfuzz unit tests (C17).
 *
 *   CHECK(cond)                   fail unless cond holds
 *   CHECK_EQ_U64(a, b)            fail unless a == b, printing both as uint64_t
 *   CHECK_STR_CONTAINS(hay, ndl)  fail unless strstr(hay, ndl) != NULL
 *   RUN_TEST(fn)                  run void fn(void), print "PASS fn"
 *
 * A failure prints file:line and the expression to stderr and exits with 1,
 * so ctest reports it and sanitizers still get their exit-time checks.
 */
#ifndef HF_TESTS_CHECK_H
#define HF_TESTS_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void hf_check_fail(const char *file, int line, const char *expr) {
  fflush(stdout);
  fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
  exit(1);
}

static inline void hf_check_eq_u64(const char *file, int line, const char *ea, const char *eb,
                                   uint64_t a, uint64_t b) {
  if (a == b) return;
  fflush(stdout);
  fprintf(stderr,
          "%s:%d: CHECK_EQ_U64 failed: %s == %s\n  left:  %" PRIu64 "\n  right: %" PRIu64 "\n",
          file, line, ea, eb, a, b);
  exit(1);
}

static inline void hf_check_str_contains(const char *file, int line, const char *ehay,
                                         const char *eneedle, const char *hay, const char *needle) {
  if (hay != NULL && needle != NULL && strstr(hay, needle) != NULL) return;
  fflush(stdout);
  fprintf(stderr,
          "%s:%d: CHECK_STR_CONTAINS failed: %s contains %s\n  hay:    \"%s\"\n"
          "  needle: \"%s\"\n",
          file, line, ehay, eneedle, hay ? hay : "(null)", needle ? needle : "(null)");
  exit(1);
}

static inline void run_test(const char *name, void (*fn)(void)) {
  fn();
  printf("PASS %s\n", name);
  fflush(stdout);
}

#define CHECK(cond)                                        \
  do {                                                     \
    if (!(cond)) hf_check_fail(__FILE__, __LINE__, #cond); \
  } while (0)
#define CHECK_EQ_U64(a, b) hf_check_eq_u64(__FILE__, __LINE__, #a, #b, (uint64_t)(a), (uint64_t)(b))
#define CHECK_STR_CONTAINS(hay, needle) \
  hf_check_str_contains(__FILE__, __LINE__, #hay, #needle, (hay), (needle))
#define RUN_TEST(fn) run_test(#fn, fn)

#endif /* HF_TESTS_CHECK_H */
