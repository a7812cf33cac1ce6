/* hc_testutil.h - header-only helpers shared by the black-box unit tests (C17).
 *
 * Heap checks
 *   VERIFY_OK(m)                  fail unless hc_heap_verify(m) == HC_OK, printing its message
 *   VERIFY_OK_RELEASING(m, idle)  the same, with `idle` (may be NULL) releasing heap access around
 *                                 the verify: for two mutators on one thread
 *   collect_ok(m, kind)           hc_collect == HC_OK, then VERIFY_OK
 *   sweep_all_ok(m)               hc_sweep_all, then VERIFY_OK
 *   stats_of(heap)                hc_heap_get_stats by value
 *
 * One heap with one attached mutator
 *   env_t, env_open(), env_open_seed(seed), env_open_cfg(&cfg), env_close(&e)
 *
 * Pseudo-random numbers (splitmix64)
 *   mix64(x), rng_next(&state), rng_below(&state, n), rng_range(&state, lo, hi)
 *
 * Payload patterns
 *   fill_pattern / check_pattern  the whole payload derived from a tag (any payload size)
 *   put_tag / has_tag             the tag in the first 8 payload bytes, the rest derived from it
 *   is_zeroed                     all slots NULL, all payload bytes zero
 *   alloc_tagged, alloc_tagged_ex allocate (checked), then put_tag
 *   alloc_filled                  allocate (checked, zeroed), then fill_pattern
 *
 * Blocks
 *   ptr_cmp                       qsort comparator for pointers / uintptr_t
 *   distinct_blocks(objs, n)      how many blocks hold the given small objects
 *
 * Forked cases (only with _POSIX_C_SOURCE defined before the first include)
 *   RUN_FORKED(fn)                run void fn(void) in a child, print PASS / FAIL, go on
 *   forked_failures()             how many RUN_FORKED cases failed
 *
 * Failures go through check.h (file:line on stderr, exit 1).
 */
#ifndef HF_TESTS_HC_TESTUTIL_H
#define HF_TESTS_HC_TESTUTIL_H

#include "heapcore.h"
#include "check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_POSIX_C_SOURCE)
#  include <sys/types.h>
#  include <sys/wait.h>
#  include <unistd.h>
#endif

/* ---------------------------------------------------------------------------------------------
 * Heap checks
 * ------------------------------------------------------------------------------------------- */

/* `idle`, when not NULL, is another mutator on this thread: it must not hold heap access while m
 * stops the world to verify, so it releases access for the verify and reacquires it afterwards
 * (if it held it). */
static inline void verify_ok_at(hc_mutator_t *m, hc_mutator_t *idle, const char *file, int line) {
  char msg[512] = "";
  bool released = idle != NULL && hc_mutator_release_access(idle) == HC_OK;
  hc_status_t s = hc_heap_verify(m, msg, sizeof msg);
  if (released) CHECK_EQ_U64(hc_mutator_acquire_access(idle), HC_OK);
  if (s != HC_OK) {
    fprintf(stderr, "%s:%d: hc_heap_verify: %s: %s\n", file, line, hc_status_name(s), msg);
    hf_check_fail(file, line, "hc_heap_verify(...) == HC_OK");
  }
}

#define VERIFY_OK(m)                 verify_ok_at((m), NULL, __FILE__, __LINE__)
#define VERIFY_OK_RELEASING(m, idle) verify_ok_at((m), (idle), __FILE__, __LINE__)

static inline void collect_ok(hc_mutator_t *m, hc_collection_kind_t kind) {
  CHECK_EQ_U64(hc_collect(m, kind), HC_OK);
  VERIFY_OK(m);
}

static inline void sweep_all_ok(hc_mutator_t *m) {
  hc_sweep_all(m);
  VERIFY_OK(m);
}

static inline hc_stats_t stats_of(hc_heap_t *heap) {
  hc_stats_t st;
  memset(&st, 0xa5, sizeof st);
  hc_heap_get_stats(heap, &st);
  return st;
}

/* ---------------------------------------------------------------------------------------------
 * One heap with one attached mutator
 * ------------------------------------------------------------------------------------------- */

typedef struct env {
  hc_heap_t *heap;
  hc_mutator_t *m;
} env_t;

static inline env_t env_open_cfg(const hc_config_t *cfg) {
  env_t e = {0};
  CHECK_EQ_U64(hc_heap_create(cfg, &e.heap), HC_OK);
  CHECK(e.heap != NULL);
  CHECK_EQ_U64(hc_mutator_attach(e.heap, &e.m), HC_OK);
  CHECK(e.m != NULL);
  return e;
}

/* The default configuration (hc_config_init). */
static inline env_t env_open(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  return env_open_cfg(&cfg);
}

/* The default configuration with the given free-list seed. */
static inline env_t env_open_seed(uint64_t seed) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.seed = seed;
  return env_open_cfg(&cfg);
}

static inline void env_close(env_t *e) {
  CHECK_EQ_U64(hc_mutator_detach(e->m), HC_OK);
  CHECK_EQ_U64(hc_heap_destroy(e->heap), HC_OK);
}

/* ---------------------------------------------------------------------------------------------
 * Pseudo-random numbers
 * ------------------------------------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9u;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebu;
  x ^= x >> 31;
  return x;
}

static inline uint64_t rng_next(uint64_t *state) {
  *state += 0x9e3779b97f4a7c15u;
  return mix64(*state);
}

/* Uniform-ish in [0, n). */
static inline size_t rng_below(uint64_t *state, size_t n) {
  return (size_t)(rng_next(state) % (uint64_t)n);
}

/* Uniform-ish in [lo, hi]. */
static inline size_t rng_range(uint64_t *state, size_t lo, size_t hi) {
  return lo + (size_t)(rng_next(state) % (uint64_t)(hi - lo + 1));
}

/* ---------------------------------------------------------------------------------------------
 * Payload patterns
 *
 * Byte i of the pattern for `tag` is byte i % 8 of word(tag, i - i % 8): every tag gives a
 * different stream, and the first byte of every word is odd, so the stream is never all-zero.
 * ------------------------------------------------------------------------------------------- */

static inline uint64_t pattern_word(uint64_t tag, size_t i) {
  return mix64(tag * 0x100000001b3u + i) | 1u;
}

/* Writes the pattern into p[from, n); `from` is a multiple of 8. */
static inline void pattern_write(uint8_t *p, size_t from, size_t n, uint64_t tag) {
  for (size_t i = from; i < n; i += 8) {
    uint64_t w = pattern_word(tag, i);
    for (size_t j = 0; j < 8 && i + j < n; j++)
      p[i + j] = (uint8_t)(w >> (8 * j));
  }
}

/* p[from, n) holds the pattern; `from` is a multiple of 8. */
static inline bool pattern_holds(const uint8_t *p, size_t from, size_t n, uint64_t tag) {
  for (size_t i = from; i < n; i += 8) {
    uint64_t w = pattern_word(tag, i);
    for (size_t j = 0; j < 8 && i + j < n; j++) {
      if (p[i + j] != (uint8_t)(w >> (8 * j))) return false;
    }
  }
  return true;
}

/* The whole payload, any size (also 0). */
static inline void fill_pattern(hc_object_t *obj, uint64_t tag) {
  pattern_write(hc_object_payload(obj), 0, hc_object_payload_size(obj), tag);
}

static inline bool check_pattern(hc_object_t *obj, uint64_t tag) {
  return pattern_holds(hc_object_payload(obj), 0, hc_object_payload_size(obj), tag);
}

/* The tag in the first 8 bytes, then the pattern. Needs payload size >= 8. */
static inline void put_tag(hc_object_t *obj, uint64_t tag) {
  uint8_t *p = hc_object_payload(obj);
  memcpy(p, &tag, sizeof tag);
  pattern_write(p, 8, hc_object_payload_size(obj), tag);
}

static inline bool has_tag(hc_object_t *obj, uint64_t tag) {
  const uint8_t *p = hc_object_payload(obj);
  uint64_t t;
  memcpy(&t, p, sizeof t);
  return t == tag && pattern_holds(p, 8, hc_object_payload_size(obj), tag);
}

/* All slots NULL and all payload bytes zero. Objects over 1 MiB are checked with a stride. */
static inline bool is_zeroed(hc_object_t *obj) {
  uint32_t ns = hc_object_slot_count(obj);
  for (uint32_t i = 0; i < ns; i++) {
    if (hc_load(obj, i) != NULL) return false;
  }
  const uint8_t *p = hc_object_payload(obj);
  size_t n = hc_object_payload_size(obj);
  size_t stride = n > (1u << 20) ? 4093 : 1;
  for (size_t i = 0; i < n; i += stride) {
    if (p[i] != 0) return false;
  }
  if (n > 0 && p[n - 1] != 0) return false;
  return true;
}

static inline hc_object_t *tagged_result(hc_mutator_t *m, hc_object_t *obj, uint64_t tag) {
  CHECK(obj != NULL);
  CHECK_EQ_U64(hc_mutator_last_error(m), HC_OK);
  put_tag(obj, tag);
  return obj;
}

/* hc_alloc, which must succeed, then put_tag. */
static inline hc_object_t *alloc_tagged(hc_mutator_t *m, size_t size, uint32_t nslots,
                                        uint64_t tag) {
  return tagged_result(m, hc_alloc(m, size, nslots), tag);
}

/* hc_alloc_ex with `flags`, which must succeed, then put_tag. */
static inline hc_object_t *alloc_tagged_ex(hc_mutator_t *m, size_t size, uint32_t nslots,
                                           uint64_t tag, unsigned flags) {
  return tagged_result(m, hc_alloc_ex(m, size, nslots, flags), tag);
}

/* hc_alloc, which must succeed with a zeroed object, then fill_pattern. */
static inline hc_object_t *alloc_filled(hc_mutator_t *m, size_t size, uint32_t nslots,
                                        uint64_t tag) {
  hc_object_t *obj = hc_alloc(m, size, nslots);
  CHECK(obj != NULL);
  CHECK(is_zeroed(obj));
  fill_pattern(obj, tag);
  return obj;
}

/* ---------------------------------------------------------------------------------------------
 * Blocks
 * ------------------------------------------------------------------------------------------- */

/* qsort comparator for arrays of pointers (or of uintptr_t). */
static inline int ptr_cmp(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/* Number of distinct blocks holding the given small objects (NULL and large ones are skipped). */
static inline size_t distinct_blocks(hc_object_t *const *objs, size_t n) {
  uintptr_t *blocks = malloc((n + 1) * sizeof *blocks);
  CHECK(blocks != NULL);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (objs[i] != NULL && hc_object_size(objs[i]) <= HC_MAX_CELL_SMALL) {
      blocks[k++] = (uintptr_t)objs[i] & ~(uintptr_t)(HC_BLOCK_SIZE - 1);
    }
  }
  qsort(blocks, k, sizeof *blocks, ptr_cmp);
  size_t d = 0;
  for (size_t i = 0; i < k; i++)
    d += i == 0 || blocks[i] != blocks[i - 1];
  free(blocks);
  return d;
}

/* ---------------------------------------------------------------------------------------------
 * Forked cases
 * ------------------------------------------------------------------------------------------- */

#if defined(_POSIX_C_SOURCE)

static inline int *forked_failures_counter(void) {
  static int failures;
  return &failures;
}

/* How many RUN_FORKED cases failed so far: main returns non-zero if any did. */
static inline int forked_failures(void) {
  return *forked_failures_counter();
}

/* Runs fn in a forked child so that one failing case does not hide the others. */
static inline void run_forked(const char *name, void (*fn)(void)) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) hf_check_fail(__FILE__, __LINE__, "fork");
  if (pid == 0) {
    fn();
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    printf("PASS %s\n", name);
  } else {
    (*forked_failures_counter())++;
    printf("FAIL %s (%s %d)\n", name, WIFSIGNALED(status) ? "signal" : "exit",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  fflush(stdout);
}

#  define RUN_FORKED(fn) run_forked(#  fn, fn)

#endif /* _POSIX_C_SOURCE */

#endif /* HF_TESTS_HC_TESTUTIL_H */
