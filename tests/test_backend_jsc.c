/* Tests of the JavaScriptCore backend's mapping (backends/jsc.c), called directly: an object's
 * slots and payload round-trip through JSC; a rooted object graph stays intact and its weak
 * references set across full and eden collections and heavy garbage churn; JSC clears the weak
 * references of almost all garbage, frees its payloads, and runs each finalizer at most once,
 * every one by destroy; each heap is a fresh context group that no earlier heap's events reach;
 * the collected hook runs once per collection; and the capabilities are only what JSC has. The
 * corpus on the backend is tests/scripts/jsc_corpus.py's (ctest jsc_corpus_clean).
 *
 * Without JSC in the build (cmake/jsc.cmake), or under TSan, it prints why and exits 77: ctest
 * reports it skipped, never passed. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "check.h"
#include "heapops.h"

#ifndef HF_HAVE_JSC

#  ifndef HF_JSC_MISSING_REASON
#    define HF_JSC_MISSING_REASON "no JavaScriptCore in this build"
#  endif

int main(void) {
  printf("SKIP: %s\n", HF_JSC_MISSING_REASON);
  return 77;
}

#else

#  include "jsc.h"

#  include <time.h>
#  if defined(HC_ASAN) && HC_ASAN
#    include <sanitizer/asan_interface.h>
#  endif

static const hb_backend_t *const B = &hb_jsc_backend;

enum { MAX_TRACKED = 32768 };

/* What the hooks saw: every finalized object (in order) and the collections. */
typedef struct hook_log {
  hb_object_t *finalized[MAX_TRACKED];
  unsigned nfinalized;
  unsigned collected, full, traces;
} hook_log_t;

static void on_finalized(void *ctx, hb_object_t *obj) {
  hook_log_t *log = ctx;
  CHECK(log->nfinalized < MAX_TRACKED);
  log->finalized[log->nfinalized++] = obj;
  /* The hook may read the object's shape: from the backend's record, not the dying cell. */
  size_t size;
  uint32_t nslots;
  B->shape(obj, &size, &nslots);
  CHECK(nslots <= 32 && size >= 8 + 8 * (size_t)nslots);
}
static void on_collected(void *ctx, bool full) {
  hook_log_t *log = ctx;
  log->collected++;
  log->full += full;
}
static void on_trace(void *ctx, const char *line) {
  CHECK(strchr(line, '\n') == NULL);
  ((hook_log_t *)ctx)->traces++;
}

typedef struct env {
  hook_log_t log;
  hb_hooks_t hooks;
  hb_heap_t *heap;
  hb_mutator_t *m;
} env_t;

static env_t env; /* large: static; one heap at a time */

static void env_open(bool tracing) {
  memset(&env, 0, sizeof env);
  env.hooks = (hb_hooks_t){&env.log, on_finalized, on_collected, tracing ? on_trace : NULL, NULL};
  hb_settings_t s = {.heap_limit = OPS_HEAP_LIMIT};
  CHECK_EQ_U64(B->create(&s, &env.hooks, &env.heap), HB_OK);
  CHECK_EQ_U64(B->attach(env.heap, &env.m), HB_OK);
}

static void env_close(void) {
  CHECK_EQ_U64(B->detach(env.m), HB_OK);
  CHECK_EQ_U64(B->destroy(env.heap), HB_OK);
}

static hb_object_t *alloc_ok(size_t size, uint32_t nslots, unsigned flags) {
  hb_status_t st = HB_OK;
  hb_object_t *o = B->alloc(env.m, size, nslots, flags, &st);
  if (!o) fprintf(stderr, "alloc: %s\n", B->status_name(st));
  CHECK(o != NULL);
  return o;
}

static unsigned times_finalized(const hook_log_t *log, const hb_object_t *obj) {
  unsigned n = 0;
  for (unsigned i = 0; i < log->nfinalized; i++)
    n += log->finalized[i] == obj;
  return n;
}

static void fill(hb_object_t *obj, uint8_t seed) {
  size_t n;
  uint8_t *p = B->payload(obj, &n);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(seed + i * 7);
}

static bool intact(hb_object_t *obj, uint8_t seed, size_t want_size) {
  size_t n;
  uint8_t *p = B->payload(obj, &n);
  if (n != want_size) return false;
  for (size_t i = 0; i < n; i++)
    if (p[i] != (uint8_t)(seed + i * 7)) return false;
  return true;
}

/* Unrooted objects, each referring to the one before: garbage for the next collection. */
static void churn(unsigned n) {
  hb_object_t *prev = NULL;
  for (unsigned i = 0; i < n; i++) {
    hb_object_t *o = alloc_ok(8 + 8 + (i % 5) * 24, 1, i % 3 ? 0 : HB_ALLOC_FINALIZE);
    if (prev) B->store(env.m, o, 0, prev);
    prev = o;
  }
}

/* ---------------------------------------------------------------------------------------------
 * The tests
 * ------------------------------------------------------------------------------------------- */

static void test_registered(void) {
  CHECK(ops_find_backend("jsc") == B);
  CHECK(strcmp(B->name, "jsc") == 0);
  /* Only what JSC has: conservative stack scanning rules out exact death; the C API has no
   * sweep step, shrink, iteration, verifier, liveness query or fault injection; one mutator. */
  CHECK_EQ_U64(B->caps, HB_CAP_EDEN | HB_CAP_EXACT_FINALIZERS | HB_CAP_SHAPE);
  CHECK(strcmp(B->status_name(JSC_ERR_NOT_A_ROOT), "JSC_ERR_NOT_A_ROOT") == 0);
  CHECK(strcmp(B->status_name(12345), "JSC_ERR_?") == 0);
}

static void test_round_trip(void) {
  env_open(true);
  hb_object_t *a = alloc_ok(8 + 3 * 8 + 40, 3, 0), *b = alloc_ok(8, 0, HB_ALLOC_FINALIZE);
  CHECK(env.log.traces >= 2); /* one alloc event each */
  size_t size, psize;
  uint32_t nslots;
  B->shape(a, &size, &nslots);
  CHECK(size == 8 + 3 * 8 + 40 && nslots == 3);
  B->shape(b, &size, &nslots);
  CHECK(size == 8 && nslots == 0);
  uint8_t *p = B->payload(a, &psize);
  CHECK_EQ_U64(psize, 40);
  for (size_t i = 0; i < psize; i++)
    CHECK(p[i] == 0); /* a fresh payload reads zero */
  B->payload(b, &psize);
  CHECK_EQ_U64(psize, 0);
  for (uint32_t s = 0; s < 3; s++)
    CHECK(B->load(env.m, a, s) == NULL); /* fresh slots read NULL */
  fill(a, 0x5a);
  B->store(env.m, a, 2, b);
  B->store(env.m, a, 0, a);
  CHECK(B->load(env.m, a, 0) == a && B->load(env.m, a, 1) == NULL && B->load(env.m, a, 2) == b);
  hb_object_t *root = a;
  CHECK_EQ_U64(B->root_add(env.m, &root), HB_OK);
  CHECK_EQ_U64(B->collect(env.m, true), HB_OK);
  CHECK(B->load(env.m, a, 0) == a && B->load(env.m, a, 1) == NULL && B->load(env.m, a, 2) == b);
  CHECK(intact(a, 0x5a, 40));
  B->store(env.m, a, 2, NULL); /* cleared: b is garbage now */
  CHECK(B->load(env.m, a, 2) == NULL);
  CHECK_EQ_U64(B->root_remove(env.m, &root), HB_OK);
  CHECK_EQ_U64(B->root_remove(env.m, &root), JSC_ERR_NOT_A_ROOT);
  CHECK(env.log.collected >= 1);
  env_close();
  CHECK_EQ_U64(times_finalized(&env.log, b), 1); /* by the collection or by destroy: once */
  CHECK_EQ_U64(times_finalized(&env.log, a), 0); /* not finalizable */
}

/* A rooted graph (a root, a chain of children, one of them finalizable, each with a weak
 * reference) survives full and eden collections amid thousands of garbage objects: every
 * reference, payload and weak reference as it was, no finalizer run for it. */
static void test_root_keeps_alive(void) {
  env_open(false);
  enum { N = 6 };
  hb_object_t *chain[N];
  hb_weak_t *weak[N];
  hb_object_t *root = NULL; /* rooted before the chain grows: any allocation may collect */
  CHECK_EQ_U64(B->root_add(env.m, &root), HB_OK);
  for (unsigned i = 0; i < N; i++) {
    chain[i] = alloc_ok(8 + 2 * 8 + 100 + i, 2, i == 3 ? HB_ALLOC_FINALIZE : 0);
    fill(chain[i], (uint8_t)i);
    if (i) B->store(env.m, chain[i - 1], 0, chain[i]);
    if (!i) root = chain[0];
    CHECK_EQ_U64(B->weak_create(env.m, chain[i], &weak[i]), HB_OK);
  }
  for (unsigned round = 0; round < 4; round++) {
    churn(3000);
    unsigned before = env.log.collected;
    CHECK_EQ_U64(B->collect(env.m, round % 2 == 0), HB_OK);
    CHECK(env.log.collected > before);
    for (unsigned i = 0; i < N; i++) {
      CHECK(B->load(env.m, chain[i], 0) == (i + 1 < N ? chain[i + 1] : NULL));
      CHECK(B->load(env.m, chain[i], 1) == NULL);
      CHECK(intact(chain[i], (uint8_t)i, 100 + i));
      CHECK(B->weak_get(env.m, weak[i]) == chain[i]);
      size_t size;
      uint32_t nslots;
      B->shape(chain[i], &size, &nslots);
      CHECK(size == 8 + 2 * 8 + 100 + i && nslots == 2);
    }
    CHECK_EQ_U64(times_finalized(&env.log, chain[3]), 0);
  }
  CHECK(env.log.full >= 2); /* the two explicit full collections said so */
  /* Whatever the root slot holds at a collection is what JSC keeps: move it to the tail. */
  root = chain[N - 1];
  B->store(env.m, chain[N - 2], 0, NULL);
  churn(2000);
  CHECK_EQ_U64(B->collect(env.m, true), HB_OK);
  CHECK(intact(chain[N - 1], (uint8_t)(N - 1), 100 + N - 1));
  CHECK(B->weak_get(env.m, weak[N - 1]) == chain[N - 1]);
  for (unsigned i = 0; i < N; i++)
    CHECK_EQ_U64(B->weak_destroy(env.m, weak[i]), HB_OK);
  CHECK_EQ_U64(B->root_remove(env.m, &root), HB_OK);
  env_close();
}

/* Garbage: JSC clears the weak references of (almost) all of it, since only the worker's
 * stack is scanned conservatively, and finalizes each finalizable object at most once, the
 * ones still owed by destroy: each exactly once in all (HB_CAP_EXACT_FINALIZERS). */
static void test_weak_and_finalizers(void) {
  env_open(false);
  enum { N = 1000 };
  static hb_object_t *objs[N];
  static hb_weak_t *weak[N];
  for (unsigned i = 0; i < N; i++) {
    objs[i] = alloc_ok(48, 1, HB_ALLOC_FINALIZE);
    CHECK_EQ_U64(B->weak_create(env.m, objs[i], &weak[i]), HB_OK);
    CHECK(B->weak_get(env.m, weak[i]) == objs[i]); /* set while reachable */
  }
  hb_object_t *keep = objs[N / 2];
  CHECK_EQ_U64(B->root_add(env.m, &keep), HB_OK);
  for (unsigned round = 0; round < 3; round++)
    CHECK_EQ_U64(B->collect(env.m, true), HB_OK);
  unsigned cleared = 0;
  for (unsigned i = 0; i < N; i++) {
    hb_object_t *t = B->weak_get(env.m, weak[i]);
    CHECK(t == NULL || t == objs[i]);
    cleared += t == NULL;
    CHECK(times_finalized(&env.log, objs[i]) <= 1);
    if (t == NULL) CHECK_EQ_U64(times_finalized(&env.log, objs[i]), 1);
  }
  printf("  %u of %u garbage objects' weak references cleared by 3 full collections\n", cleared,
         N - 1);
  CHECK(B->weak_get(env.m, weak[N / 2]) == keep);
  CHECK_EQ_U64(times_finalized(&env.log, keep), 0);
  CHECK(cleared >= (N - 1) * 9 / 10);
  for (unsigned i = 0; i < N; i++)
    CHECK_EQ_U64(B->weak_destroy(env.m, weak[i]), HB_OK);
  CHECK_EQ_U64(B->root_remove(env.m, &keep), HB_OK);
  env_close();
  for (unsigned i = 0; i < N; i++)
    CHECK_EQ_U64(times_finalized(&env.log, objs[i]), 1);
  CHECK_EQ_U64(env.log.nfinalized, N);
}

/* The payload bytes are malloc'd and JSC frees them with their Uint8Array: under ASan, the
 * payloads of (almost) all garbage are poisoned after full collections, so the oracle reading the
 * payload of an object JSC freed too early is a heap-use-after-free report. */
static void test_payload_freed_by_jsc(void) {
#  if defined(HC_ASAN) && HC_ASAN
  env_open(false);
  enum { N = 200 };
  static uint8_t *bytes[N];
  hb_object_t *keep = alloc_ok(8 + 64, 0, 0);
  CHECK_EQ_U64(B->root_add(env.m, &keep), HB_OK);
  for (unsigned i = 0; i < N; i++) {
    size_t n;
    bytes[i] = B->payload(alloc_ok(8 + 64, 0, i % 2 ? HB_ALLOC_FINALIZE : 0), &n);
    CHECK(n == 64 && !__asan_address_is_poisoned(bytes[i]));
  }
  for (unsigned round = 0; round < 2; round++)
    CHECK_EQ_U64(B->collect(env.m, true), HB_OK);
  unsigned poisoned = 0;
  for (unsigned i = 0; i < N; i++)
    poisoned += __asan_address_is_poisoned(bytes[i]) != 0;
  size_t n;
  CHECK(!__asan_address_is_poisoned(B->payload(keep, &n)) && n == 64);
  printf("  %u of %u garbage payloads freed by JSC after 2 full collections\n", poisoned, N);
  CHECK(poisoned >= N * 9 / 10);
  CHECK_EQ_U64(B->root_remove(env.m, &keep), HB_OK);
  env_close();
#  else
  printf("SKIP test_payload_freed_by_jsc: needs ASan (the asan preset)\n");
#  endif
}

/* One collected hook per collect, the full one flagged full; an eden one is not. */
static void test_collected_hook(void) {
  env_open(false);
  alloc_ok(64, 0, 0);
  CHECK_EQ_U64(B->collect(env.m, true), HB_OK);
  CHECK_EQ_U64(env.log.collected, 1);
  CHECK_EQ_U64(env.log.full, 1);
  CHECK_EQ_U64(B->collect(env.m, false), HB_OK);
  CHECK_EQ_U64(env.log.collected, 2);
  CHECK_EQ_U64(env.log.full, 1);
  env_close();
}

/* Each heap is a context group of its own: the first heap's finalizers all arrive by its
 * destroy, none in the second heap's hooks; a second attach is refused (one mutator), and so is
 * a second heap while one is alive. */
static void test_fresh_heap_each_time(void) {
  env_open(false);
  for (unsigned i = 0; i < 100; i++)
    alloc_ok(64, 1, HB_ALLOC_FINALIZE);
  hb_mutator_t *second;
  CHECK_EQ_U64(B->attach(env.heap, &second), JSC_ERR_ATTACHED);
  hb_heap_t *other; /* one jsc heap at a time: the worker serves one context group */
  hb_settings_t s = {.heap_limit = OPS_HEAP_LIMIT};
  CHECK_EQ_U64(B->create(&s, &env.hooks, &other), JSC_ERR_BUSY);
  env_close();
  CHECK_EQ_U64(env.log.nfinalized, 100);
  env_open(false);
  CHECK_EQ_U64(B->collect(env.m, true), HB_OK);
  alloc_ok(64, 0, 0);
  CHECK_EQ_U64(B->collect(env.m, true), HB_OK);
  CHECK_EQ_U64(env.log.nfinalized, 0);
  CHECK_EQ_U64(env.log.collected, 2);
  env_close();
}

/* The cost of independence: a context group created and released per program. Printed for the
 * README (not a timed test). */
static void test_heap_cost(void) {
  enum { N = 50 };
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 0; i < N; i++) {
    env_open(false);
    env_close();
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  printf("  create + destroy of a heap (context group + global context): %.3f ms\n", ms / N);
}

int main(void) {
  RUN_TEST(test_registered);
  RUN_TEST(test_round_trip);
  RUN_TEST(test_root_keeps_alive);
  RUN_TEST(test_weak_and_finalizers);
  RUN_TEST(test_payload_freed_by_jsc);
  RUN_TEST(test_collected_hook);
  RUN_TEST(test_fresh_heap_each_time);
  RUN_TEST(test_heap_cost);
  return 0;
}

#endif /* HF_HAVE_JSC */
