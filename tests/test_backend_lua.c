/* Tests of the Lua 5.4 backend's mapping (backends/lua.c), called directly: an object's slots
 * and payload round-trip through Lua; a root keeps its object (and what it reaches) across
 * LUA_GCCOLLECT; a weak reference is cleared by the first full collection after its object's
 * last reference went (exact death), in both collector modes, and by a young collection for a
 * young object; each finalizer runs exactly once, by lua_close at the latest; fault injection
 * and the heap limit fail an allocation with Lua's memory error and leave the heap working; the
 * collected hook runs once per collection; mutators are coroutines: objects made on two of them
 * live and die as the model says, also across one suspended at a yield point with its fresh
 * object on its stack, and across a detach; and the capabilities are only what Lua has. The
 * corpus on the backend is tests/scripts/lua_corpus.py's (ctest lua_corpus_clean).
 *
 * Without Lua in the build (cmake/lua.cmake) it prints why and exits 77: ctest reports it
 * skipped, never passed. */
#include "check.h"
#include "heapops.h"

#ifndef HF_HAVE_LUA

#  ifndef HF_LUA_MISSING_REASON
#    define HF_LUA_MISSING_REASON "no Lua 5.4 in this build"
#  endif

int main(void) {
  printf("SKIP: %s\n", HF_LUA_MISSING_REASON);
  return 77;
}

#else

#  include "hblua.h"

static const hb_backend_t *const B = &hb_lua_backend;

enum { MAX_TRACKED = 4096 };

/* What the hooks saw. */
typedef struct hook_log {
  hb_object_t *finalized[MAX_TRACKED];
  unsigned nfinalized;
  unsigned collected, full;
} hook_log_t;

static void on_finalized(void *ctx, hb_object_t *obj) {
  hook_log_t *log = ctx;
  CHECK(log->nfinalized < MAX_TRACKED);
  log->finalized[log->nfinalized++] = obj;
  size_t size;
  uint32_t nslots;
  B->shape(obj, &size, &nslots); /* the dying object's header is still readable */
  CHECK(nslots <= 32 && size >= 8 + 8 * (size_t)nslots);
}
static void on_collected(void *ctx, bool full) {
  hook_log_t *log = ctx;
  log->collected++;
  log->full += full;
}

typedef struct env {
  hook_log_t log;
  hb_hooks_t hooks;
  hb_heap_t *heap;
  hb_mutator_t *m;
} env_t;

static env_t env;

/* config[0]: bit 0 generational, bits 1-3 a basic step every N allocations. */
static void env_open(uint8_t config0, size_t limit) {
  memset(&env, 0, sizeof env);
  env.hooks = (hb_hooks_t){&env.log, on_finalized, on_collected, NULL, NULL};
  hb_settings_t s = {.config = {config0, 3, 3, 6}, .heap_limit = limit ? limit : OPS_HEAP_LIMIT};
  CHECK_EQ_U64(B->create(&s, &env.hooks, &env.heap), HB_OK);
  CHECK_EQ_U64(B->attach(env.heap, &env.m), HB_OK);
}

static void env_close(void) {
  CHECK_EQ_U64(B->detach(env.m), HB_OK);
  CHECK_EQ_U64(B->destroy(env.heap), HB_OK); /* also: every byte back (HBL_ERR_LEAK) */
}

static hb_object_t *new_object(size_t size, uint32_t nslots, unsigned flags) {
  hb_status_t st = HB_OK;
  hb_object_t *o = B->alloc(env.m, size, nslots, flags, &st);
  CHECK(o != NULL);
  CHECK_EQ_U64(st, HB_OK);
  return o;
}

static void fill(hb_object_t *o, uint8_t seed) {
  size_t n;
  uint8_t *p = B->payload(o, &n);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(seed + i * 7);
}
static bool intact(hb_object_t *o, uint8_t seed) {
  size_t n;
  const uint8_t *p = B->payload(o, &n);
  for (size_t i = 0; i < n; i++)
    if (p[i] != (uint8_t)(seed + i * 7)) return false;
  return true;
}

static unsigned times_finalized(const hb_object_t *o) {
  unsigned n = 0;
  for (unsigned i = 0; i < env.log.nfinalized; i++)
    n += env.log.finalized[i] == o;
  return n;
}

static void collect(bool full) {
  unsigned before = env.log.collected, full_before = env.log.full;
  CHECK_EQ_U64(B->collect(env.m, full), HB_OK);
  CHECK_EQ_U64(env.log.collected, before + 1); /* one report per collect */
  CHECK_EQ_U64(env.log.full, full_before + full);
}

/* ------------------------------------------------------------------------------------------- */

static void test_capabilities(void) {
  CHECK(strcmp(B->name, "lua") == 0);
  CHECK_EQ_U64(B->caps, HB_CAP_EDEN | HB_CAP_SWEEP_STEP | HB_CAP_FAULT_INJECTION | HB_CAP_MUTATORS |
                            HB_CAP_ACCESS | HB_CAP_YIELD_POINTS | HB_CAP_EXACT_DEATH |
                            HB_CAP_EXACT_FINALIZERS | HB_CAP_SHAPE | HB_CAP_DUMP);
  /* Deterministic mode runs several mutators (as coroutines) on it. */
  CHECK(ops_mode_caps(B, false) & HB_CAP_MUTATORS);
  CHECK(ops_find_backend("lua") == B);
}

static void test_round_trip(void) {
  env_open(0, 0);
  hb_object_t *a = new_object(8 + 3 * 8 + 40, 3, 0);
  hb_object_t *b = new_object(8 + 1 * 8 + 1000, 1, 0);
  hb_object_t *c = new_object(8, 0, 0);
  size_t size, n;
  uint32_t nslots;
  B->shape(a, &size, &nslots);
  CHECK_EQ_U64(size, 8 + 3 * 8 + 40);
  CHECK_EQ_U64(nslots, 3);
  uint8_t *p = B->payload(a, &n);
  CHECK_EQ_U64(n, 40);
  for (size_t i = 0; i < n; i++)
    CHECK_EQ_U64(p[i], 0); /* fresh: zero payload, NULL slots */
  for (uint32_t s = 0; s < 3; s++)
    CHECK(B->load(env.m, a, s) == NULL);
  B->payload(c, &n);
  CHECK_EQ_U64(n, 0);
  B->store(env.m, a, 0, b);
  B->store(env.m, a, 2, c);
  B->store(env.m, b, 0, a); /* a cycle */
  fill(a, 1);
  fill(b, 2);
  CHECK(B->load(env.m, a, 0) == b);
  CHECK(B->load(env.m, a, 1) == NULL);
  CHECK(B->load(env.m, a, 2) == c);
  CHECK(B->load(env.m, b, 0) == a);
  CHECK(intact(a, 1) && intact(b, 2));
  /* Rooted, across both kinds of collection and a few steps. */
  hb_object_t *root = a;
  CHECK_EQ_U64(B->root_add(env.m, &root), HB_OK);
  collect(true);
  collect(false);
  for (int i = 0; i < 50; i++)
    B->sweep_step(env.m, 1);
  CHECK(B->load(env.m, a, 0) == b && B->load(env.m, a, 2) == c && B->load(env.m, b, 0) == a);
  CHECK(intact(a, 1) && intact(b, 2));
  B->store(env.m, a, 2, NULL);
  CHECK(B->load(env.m, a, 2) == NULL);
  CHECK_EQ_U64(B->root_remove(env.m, &root), HB_OK);
  CHECK_EQ_U64(B->root_remove(env.m, &root), HBL_ERR_NOT_A_ROOT);
  env_close();
}

/* A root keeps its object and what it reaches across LUA_GCCOLLECT; the weak references to them
 * stay set. Once the root is removed (or holds another object), the next full collection clears
 * them: exact death. In both modes. */
static void test_root_and_exact_death(uint8_t config0) {
  env_open(config0, 0);
  /* Rooted before the next allocation: with automatic steps an allocation may collect, and a C
   * variable is no root (as an unrooted handle is none for the interpreter). */
  hb_object_t *root = new_object(64, 1, 0);
  hb_object_t *slot = root;
  CHECK_EQ_U64(B->root_add(env.m, &slot), HB_OK);
  hb_object_t *child = new_object(64, 0, 0);
  B->store(env.m, root, 0, child);
  fill(root, 3);
  fill(child, 4);
  hb_weak_t *w_root, *w_child, *w_garbage;
  CHECK_EQ_U64(B->weak_create(env.m, root, &w_root), HB_OK);
  CHECK_EQ_U64(B->weak_create(env.m, child, &w_child), HB_OK);
  hb_object_t *garbage = new_object(200, 2, 0);
  CHECK_EQ_U64(B->weak_create(env.m, garbage, &w_garbage), HB_OK);
  CHECK(B->weak_get(env.m, w_garbage) == garbage);
  for (int round = 0; round < 3; round++) {
    collect(true);
    CHECK(B->weak_get(env.m, w_root) == root);
    CHECK(B->weak_get(env.m, w_child) == child);
    CHECK(B->weak_get(env.m, w_garbage) == NULL); /* its only reference was this C variable */
    CHECK(intact(root, 3) && intact(child, 4));
    CHECK(B->load(env.m, root, 0) == child);
  }
  /* The child's last reference goes: cleared by the next full collection. */
  B->store(env.m, root, 0, NULL);
  collect(true);
  CHECK(B->weak_get(env.m, w_child) == NULL);
  CHECK(B->weak_get(env.m, w_root) == root);
  /* The root slot changes under the backend (the interpreter writes slots directly). */
  hb_object_t *other = new_object(32, 0, 0);
  slot = other;
  collect(true);
  CHECK(B->weak_get(env.m, w_root) == NULL);
  CHECK_EQ_U64(B->weak_create(env.m, other, &w_child), HB_OK);
  CHECK_EQ_U64(B->root_remove(env.m, &slot), HB_OK);
  collect(true);
  CHECK(B->weak_get(env.m, w_child) == NULL);
  CHECK_EQ_U64(B->weak_destroy(env.m, w_root), HB_OK);
  CHECK_EQ_U64(B->weak_destroy(env.m, w_child), HB_OK);
  CHECK_EQ_U64(B->weak_destroy(env.m, w_garbage), HB_OK);
  env_close();
}
static void test_root_and_exact_death_incremental(void) {
  test_root_and_exact_death(0);
}
static void test_root_and_exact_death_generational(void) {
  test_root_and_exact_death(1);
}
static void test_root_and_exact_death_auto_steps(void) {
  test_root_and_exact_death(2 << 1); /* incremental, a basic step every 2nd allocation */
}

/* Generational mode: a young collection (gc-eden) frees a young unreachable object. */
static void test_young_collection(void) {
  env_open(1, 0);
  hb_object_t *keep = new_object(48, 1, 0);
  hb_object_t *slot = keep;
  CHECK_EQ_U64(B->root_add(env.m, &slot), HB_OK);
  hb_weak_t *w;
  CHECK_EQ_U64(B->weak_create(env.m, new_object(48, 0, 0), &w), HB_OK);
  collect(false);
  CHECK(B->weak_get(env.m, w) == NULL);
  CHECK_EQ_U64(B->root_remove(env.m, &slot), HB_OK);
  CHECK_EQ_U64(B->weak_destroy(env.m, w), HB_OK);
  env_close();
}

/* Each finalizable object is finalized exactly once: the unreachable ones by the full collection
 * that found them dead, the rest by lua_close; never a reachable one before. */
static void test_finalizers_once(void) {
  enum { N = 40 };
  env_open(0, 0);
  hb_object_t *objs[N], *slots[N];
  for (int i = 0; i < N; i++) {
    objs[i] = new_object(24 + (size_t)i, 1, HB_ALLOC_FINALIZE);
    slots[i] = objs[i];
    if (i % 2 == 0) CHECK_EQ_U64(B->root_add(env.m, &slots[i]), HB_OK);
  }
  /* An unrooted finalizable object reachable from a rooted one survives too. */
  B->store(env.m, objs[0], 0, objs[1]);
  collect(true);
  for (int i = 0; i < N; i++)
    CHECK_EQ_U64(times_finalized(objs[i]), i % 2 == 0 || i == 1 ? 0 : 1);
  collect(true); /* not again */
  CHECK_EQ_U64(env.log.nfinalized, N / 2 - 1);
  for (int i = 0; i < N; i += 2)
    CHECK_EQ_U64(B->root_remove(env.m, &slots[i]), HB_OK);
  env_close(); /* lua_close finalizes the rest */
  CHECK_EQ_U64(env.log.nfinalized, N);
  for (int i = 0; i < N; i++)
    CHECK_EQ_U64(times_finalized(objs[i]), 1);
}

/* fail_next: the nth acquisition of the next allocations fails, Lua raises its memory error, and
 * the allocation returns HB_ERR_INJECTED; the heap works on. */
static void test_fault_injection(void) {
  env_open(0, 0);
  hb_object_t *keep = new_object(100, 1, HB_ALLOC_FINALIZE);
  fill(keep, 9);
  hb_object_t *slot = keep;
  CHECK_EQ_U64(B->root_add(env.m, &slot), HB_OK);
  for (unsigned nth = 1; nth <= 3; nth++) {
    B->fail_next(env.heap, nth);
    unsigned failed = 0;
    for (int i = 0; i < 4; i++) {
      hb_status_t st = HB_OK;
      hb_object_t *o = B->alloc(env.m, 64, 2, HB_ALLOC_FINALIZE, &st);
      if (!o) {
        CHECK_EQ_U64(st, HB_ERR_INJECTED);
        failed++;
      }
    }
    CHECK_EQ_U64(failed, 1); /* exactly one, and the rest work */
  }
  collect(true);
  CHECK(intact(keep, 9));
  CHECK_EQ_U64(times_finalized(keep), 0);
  CHECK_EQ_U64(B->root_remove(env.m, &slot), HB_OK);
  env_close();
  /* Every object that was allocated finalized once; none for the failed ones. */
  CHECK_EQ_U64(env.log.nfinalized, 1 + 3 * 3);
}

/* The heap limit: allocation fails with HB_ERR_LIMIT (after Lua's emergency collection) while
 * the roots hold too much, and works again once they let go. */
static void test_heap_limit(void) {
  env_open(0, 256 * 1024);
  hb_object_t *slots[64] = {0};
  unsigned n = 0;
  hb_status_t st = HB_OK;
  for (; n < 64; n++) {
    slots[n] = B->alloc(env.m, 16 * 1024, 0, 0, &st);
    if (!slots[n]) break;
    CHECK_EQ_U64(B->root_add(env.m, &slots[n]), HB_OK);
  }
  CHECK(n > 4 && n < 16);
  CHECK_EQ_U64(st, HB_ERR_LIMIT);
  for (unsigned i = 0; i < n; i++)
    CHECK_EQ_U64(B->root_remove(env.m, &slots[i]), HB_OK);
  /* The emergency collection inside the next allocation frees them. */
  hb_object_t *o = B->alloc(env.m, 16 * 1024, 0, 0, &st);
  CHECK(o != NULL);
  env_close();
}

/* Incremental steps (sweep_step) end a cycle sooner or later, and each cycle is reported once:
 * the sentinel. */
static void test_steps_report_cycles(void) {
  env_open(0, 0);
  for (int i = 0; i < 30; i++)
    new_object(512, 0, 0);
  unsigned before = env.log.collected;
  for (int i = 0; i < 2000 && env.log.collected < before + 3; i++)
    B->sweep_step(env.m, 16);
  CHECK(env.log.collected >= before + 3);
  CHECK_EQ_U64(env.log.full, 0);
  env_close();
}

/* ---------------------------------------------------------------------------------------------
 * Mutators as coroutines
 * ------------------------------------------------------------------------------------------- */

/* Objects allocated on two coroutines, stored across them, rooted by either: a full collection
 * run from either keeps exactly what a root reaches and clears the weak references to the rest
 * (exact death holds with two coroutine stacks); after one detaches, its objects outlive its
 * coroutine as the roots say; each finalizer once. In both modes. */
static void test_two_coroutines(uint8_t config0) {
  env_open(config0, 0);
  hb_mutator_t *m1 = env.m, *m2 = NULL;
  CHECK_EQ_U64(B->attach(env.heap, &m2), HB_OK);
  hb_status_t st = HB_OK;
  hb_object_t *a = B->alloc(m1, 64, 2, HB_ALLOC_FINALIZE, &st); /* on m1's coroutine */
  hb_object_t *slot_a = a;
  CHECK_EQ_U64(B->root_add(m1, &slot_a), HB_OK);
  hb_object_t *b = B->alloc(m2, 48, 1, HB_ALLOC_FINALIZE, &st); /* on m2's */
  B->store(m2, a, 0, b);                                        /* m1's object -> m2's */
  hb_object_t *c = B->alloc(m2, 40, 0, HB_ALLOC_FINALIZE, &st); /* garbage made on m2 */
  hb_object_t *d = B->alloc(m1, 40, 1, HB_ALLOC_FINALIZE, &st); /* garbage made on m1 */
  B->store(m1, d, 0, b); /* garbage pointing at a live object */
  CHECK(a && b && c && d);
  fill(a, 1);
  fill(b, 2);
  hb_weak_t *wa, *wb, *wc, *wd;
  CHECK_EQ_U64(B->weak_create(m1, a, &wa), HB_OK);
  CHECK_EQ_U64(B->weak_create(m2, b, &wb), HB_OK);
  CHECK_EQ_U64(B->weak_create(m1, c, &wc), HB_OK);
  CHECK_EQ_U64(B->weak_create(m2, d, &wd), HB_OK);
  unsigned before = env.log.collected;
  CHECK_EQ_U64(B->collect(m2, true), HB_OK); /* from the other coroutine */
  CHECK_EQ_U64(env.log.collected, before + 1);
  CHECK(B->weak_get(m1, wa) == a && B->weak_get(m2, wb) == b);
  CHECK(B->weak_get(m2, wc) == NULL && B->weak_get(m1, wd) == NULL);
  CHECK_EQ_U64(times_finalized(c) + times_finalized(d), 2);
  CHECK_EQ_U64(times_finalized(a) + times_finalized(b), 0);
  CHECK(B->load(m2, a, 0) == b && intact(a, 1) && intact(b, 2));
  /* m2 detaches: its coroutine dies, the object it made lives on through a's slot. */
  CHECK_EQ_U64(B->detach(m2), HB_OK);
  collect(true);
  CHECK(B->weak_get(m1, wb) == b && intact(b, 2));
  /* Its last reference goes: the next full collection finds it dead. */
  B->store(m1, a, 0, NULL);
  collect(true);
  CHECK(B->weak_get(m1, wb) == NULL);
  CHECK_EQ_U64(times_finalized(b), 1);
  CHECK_EQ_U64(B->root_remove(m1, &slot_a), HB_OK);
  hb_weak_t *weaks[] = {wa, wb, wc, wd};
  for (unsigned i = 0; i < 4; i++)
    CHECK_EQ_U64(B->weak_destroy(m1, weaks[i]), HB_OK);
  env_close();
  CHECK_EQ_U64(times_finalized(a), 1); /* by lua_close */
  CHECK_EQ_U64(env.log.nfinalized, 4);
}
static void test_two_coroutines_incremental(void) {
  test_two_coroutines(0);
}
static void test_two_coroutines_generational(void) {
  test_two_coroutines(1);
}

/* A yield hook standing in for the scheduler: at m1's first "alloc-fresh" (its coroutine
 * suspended with the new object on its stack), m2 collects in full. The fresh object must
 * survive (it is the allocating op's), an unreachable older object must not (exact death with a
 * coroutine suspended mid-op), and the collection is clean (HBL_ERR_STACK would mean the stack
 * accounting is off). */
typedef struct preempt_test {
  hb_mutator_t *m1, *m2;
  unsigned points[4]; /* alloc-enter, alloc-fresh, collect-enter, step-enter */
  bool fired;
  hb_status_t collect_status;
  unsigned collected_before;
} preempt_test_t;
static preempt_test_t pt;

static void on_yield(void *ctx, const char *point, bool wait) {
  (void)ctx;
  CHECK(!wait); /* Lua's collector never waits for anyone */
  static const char *const names[] = {"alloc-enter", "alloc-fresh", "collect-enter", "step-enter"};
  unsigned i = 0;
  while (i < 4 && strcmp(point, names[i]) != 0)
    i++;
  CHECK(i < 4); /* no other yield point */
  pt.points[i]++;
  if (i == 1 && pt.m2 && !pt.fired) {
    pt.fired = true;
    pt.collected_before = env.log.collected;
    pt.collect_status = B->collect(pt.m2, true); /* nested: m1 is suspended at alloc-fresh */
  }
}

static void test_preempted_fresh_object(void) {
  memset(&pt, 0, sizeof pt);
  memset(&env, 0, sizeof env);
  env.hooks = (hb_hooks_t){&env.log, on_finalized, on_collected, NULL, on_yield};
  hb_settings_t s = {.config = {0, 3, 3, 6}, .heap_limit = OPS_HEAP_LIMIT};
  CHECK_EQ_U64(B->create(&s, &env.hooks, &env.heap), HB_OK);
  CHECK_EQ_U64(B->attach(env.heap, &pt.m1), HB_OK);
  env.m = pt.m1;
  hb_status_t st = HB_OK;
  hb_object_t *old = B->alloc(pt.m1, 80, 0, HB_ALLOC_FINALIZE, &st);
  hb_weak_t *w_old, *w_fresh;
  CHECK_EQ_U64(B->weak_create(pt.m1, old, &w_old), HB_OK);
  CHECK_EQ_U64(B->attach(env.heap, &pt.m2), HB_OK);
  hb_object_t *fresh = B->alloc(pt.m1, 96, 1, HB_ALLOC_FINALIZE, &st);
  CHECK(pt.fired);
  CHECK_EQ_U64(pt.collect_status, HB_OK);
  CHECK_EQ_U64(env.log.collected, pt.collected_before + 1);
  CHECK(fresh != NULL);
  CHECK_EQ_U64(times_finalized(fresh), 0);
  CHECK_EQ_U64(times_finalized(old), 1);
  CHECK(B->weak_get(pt.m1, w_old) == NULL);
  /* Still an object Lua holds: its map entry is there, its memory intact (ASan: not freed). */
  CHECK_EQ_U64(B->weak_create(pt.m2, fresh, &w_fresh), HB_OK);
  CHECK(B->load(pt.m1, fresh, 0) == NULL);
  fill(fresh, 5);
  CHECK(intact(fresh, 5));
  collect(true); /* now nothing holds it */
  CHECK(B->weak_get(pt.m2, w_fresh) == NULL);
  B->sweep_step(pt.m2, 1);
  CHECK(pt.points[0] >= 2 && pt.points[1] >= 2 && pt.points[2] >= 2 && pt.points[3] == 1);
  /* Heap access: without it alloc and weak references are refused; twice is an error. */
  CHECK_EQ_U64(B->release_access(pt.m2), HB_OK);
  CHECK_EQ_U64(B->release_access(pt.m2), HBL_ERR_NO_ACCESS);
  CHECK(B->alloc(pt.m2, 64, 0, 0, &st) == NULL);
  CHECK_EQ_U64(st, HBL_ERR_NO_ACCESS);
  CHECK_EQ_U64(B->weak_destroy(pt.m2, w_fresh), HBL_ERR_NO_ACCESS);
  CHECK_EQ_U64(B->acquire_access(pt.m2), HB_OK);
  CHECK_EQ_U64(B->weak_destroy(pt.m2, w_fresh), HB_OK);
  CHECK_EQ_U64(B->weak_destroy(pt.m1, w_old), HB_OK);
  CHECK_EQ_U64(B->detach(pt.m2), HB_OK);
  env_close();
  CHECK_EQ_U64(env.log.nfinalized, 2);
}

int main(void) {
  RUN_TEST(test_capabilities);
  RUN_TEST(test_round_trip);
  RUN_TEST(test_root_and_exact_death_incremental);
  RUN_TEST(test_root_and_exact_death_generational);
  RUN_TEST(test_root_and_exact_death_auto_steps);
  RUN_TEST(test_young_collection);
  RUN_TEST(test_finalizers_once);
  RUN_TEST(test_fault_injection);
  RUN_TEST(test_heap_limit);
  RUN_TEST(test_steps_report_cycles);
  RUN_TEST(test_two_coroutines_incremental);
  RUN_TEST(test_two_coroutines_generational);
  RUN_TEST(test_preempted_fresh_object);
  return 0;
}

#endif /* HF_HAVE_LUA */
