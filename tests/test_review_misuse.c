/* test_review_misuse.c: misuse that the contract says is refused without corrupting the heap
 * ("Misuse never corrupts the heap", heapcore.h), and liveness rules around it (review findings).
 *
 *   test_stale_root_not_followed  a root slot holding a dead, not yet swept object must be skipped
 *                                 and counted in bad_roots (hc_stats_t: "root slots that held
 *                                 something not a live cell (skipped)"), not resurrected with its
 *                                 slots followed into cells that were already swept.
 *   test_alloc_without_access     allocation after hc_mutator_release_access must fail with
 *                                 HC_ERR_WRONG_STATE, also when the free list still has cells.
 *   test_alloc_null_mutator       hc_alloc / hc_alloc_ex with a NULL mutator return NULL (forked).
 *   test_detached_remembered      objects remembered through a mutator that detached keep their
 *                                 young referents alive at the next eden collection.
 *   test_remembered_dies_full     a remembered old object that dies at a full collection: its
 *                                 young referent dies too, verify stays OK, no stale remembered.
 */
#define _POSIX_C_SOURCE 200809L
#include "heapcore.h"
#include "hc_testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_stale_root_not_followed(void) {
  env_t e = env_open_seed(3);
  /* a (112-byte class) points at b (16-byte class): different blocks, b's class sweeps first. */
  hc_object_t *a = hc_alloc(e.m, 112, 1);
  hc_object_t *b = hc_alloc(e.m, 16, 0);
  CHECK(a && b);
  hc_store(e.m, a, 0, b);
  CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_FULL), HC_OK); /* both dead, neither swept */
  CHECK(!hc_is_live_object(e.m, a) && !hc_is_live_object(e.m, b));
  CHECK_EQ_U64(hc_sweep_step(e.m, 1), 1); /* sweeps b's block only: b's cell is free now */
  CHECK(!hc_is_live_object(e.m, a));
  /* An interpreter bug or a fuzzer op roots the stale pointer. */
  uint64_t bad0 = stats_of(e.heap).bad_roots;
  hc_object_t *slot = a;
  CHECK_EQ_U64(hc_root_push(e.m, &slot), HC_OK);
  CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_FULL), HC_OK);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  VERIFY_OK(e.m);
  CHECK_EQ_U64(stats_of(e.heap).bad_roots - bad0, 1);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 0);
  env_close(&e);
}

/* The same with an eden collection: a is dead since the last full one and its referent swept. */
static void test_stale_root_not_followed_eden(void) {
  env_t e = env_open_seed(3);
  hc_object_t *a = hc_alloc(e.m, 112, 1);
  hc_object_t *b = hc_alloc(e.m, 16, 0);
  CHECK(a && b);
  hc_store(e.m, a, 0, b);
  CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_EDEN), HC_OK);
  CHECK_EQ_U64(hc_sweep_step(e.m, 1), 1);
  hc_object_t *slot = a;
  CHECK_EQ_U64(hc_root_push(e.m, &slot), HC_OK);
  CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_EDEN), HC_OK);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  VERIFY_OK(e.m);
  CHECK(!hc_is_live_object(e.m, a));
  env_close(&e);
}

static void test_alloc_without_access(void) {
  env_t e = env_open_seed(3);
  hc_object_t *first = hc_alloc(e.m, 32, 0); /* leaves a free list with many cells */
  CHECK(first != NULL);
  CHECK_EQ_U64(hc_mutator_release_access(e.m), HC_OK);
  hc_object_t *p = hc_alloc(e.m, 32, 0);
  hc_status_t st = hc_mutator_last_error(e.m);
  hc_object_t *q = hc_alloc_ex(e.m, 32, 0, 0);
  hc_status_t st2 = hc_mutator_last_error(e.m);
  CHECK_EQ_U64(hc_mutator_acquire_access(e.m), HC_OK);
  CHECK(p == NULL && q == NULL);
  CHECK_EQ_U64(st, HC_ERR_WRONG_STATE);
  CHECK_EQ_U64(st2, HC_ERR_WRONG_STATE);
  env_close(&e);
}

static void test_alloc_null_mutator(void) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    hc_object_t *p = hc_alloc(NULL, 32, 0);
    hc_object_t *q = hc_alloc_ex(NULL, 32, 0, 0);
    _exit(p == NULL && q == NULL ? 0 : 3);
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fprintf(stderr, "child: %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_detached_remembered(void) {
  for (int large = 0; large < 2; large++) {
    env_t e = env_open_seed(3);
    hc_mutator_t *m2;
    hc_object_t *old = hc_alloc(e.m, large ? 20000 : 64, 2);
    CHECK(old != NULL);
    CHECK_EQ_U64(hc_global_root_add(e.m, &old), HC_OK);
    CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_FULL), HC_OK);
    CHECK_EQ_U64(hc_mutator_attach(e.heap, &m2), HC_OK);
    hc_object_t *young = hc_alloc(m2, 48, 0);
    CHECK(young != NULL);
    memset(hc_object_payload(young), 0x5a, hc_object_payload_size(young));
    hc_store(m2, old, 1, young); /* barrier: old goes into m2's remembered set */
    hc_weak_t *w;
    CHECK_EQ_U64(hc_weak_create(m2, young, &w), HC_OK);
    CHECK_EQ_U64(hc_mutator_detach(m2), HC_OK);
    VERIFY_OK(e.m);
    CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_EDEN), HC_OK);
    VERIFY_OK(e.m);
    CHECK(hc_weak_get(w) == young);
    CHECK(hc_is_live_object(e.m, young));
    hc_sweep_all(e.m);
    for (int i = 0; i < 2000; i++)
      CHECK(hc_alloc(e.m, 48, 0) != NULL); /* would reuse young's cell if it had died */
    CHECK(hc_load(old, 1) == young);
    CHECK(((unsigned char *)hc_object_payload(young))[0] == 0x5a);
    CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_FULL), HC_OK);
    CHECK_EQ_U64(stats_of(e.heap).live_objects, 2);
    CHECK(hc_weak_get(w) == young);
    CHECK_EQ_U64(hc_weak_destroy(e.m, w), HC_OK);
    CHECK_EQ_U64(hc_global_root_remove(e.m, &old), HC_OK);
    env_close(&e);
  }
}

static void test_remembered_dies_full(void) {
  env_t e = env_open_seed(3);
  hc_object_t *old = hc_alloc(e.m, 30000, 1); /* large, old, then remembered */
  CHECK(old != NULL);
  CHECK_EQ_U64(hc_root_push(e.m, &old), HC_OK);
  CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_FULL), HC_OK);
  hc_object_t *young = hc_alloc(e.m, 48, 0);
  hc_store(e.m, old, 0, young);
  hc_weak_t *wo, *wy;
  CHECK_EQ_U64(hc_weak_create(e.m, old, &wo), HC_OK);
  CHECK_EQ_U64(hc_weak_create(e.m, young, &wy), HC_OK);
  old = NULL; /* the remembered object dies */
  VERIFY_OK(e.m);
  CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_FULL), HC_OK);
  VERIFY_OK(e.m);
  CHECK(hc_weak_get(wo) == NULL && hc_weak_get(wy) == NULL);
  hc_sweep_all(e.m);
  hc_shrink(e.m);
  VERIFY_OK(e.m);
  CHECK_EQ_U64(stats_of(e.heap).large_objects, 0);
  /* Eden after: nothing stale left in any remembered set. */
  CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_EDEN), HC_OK);
  VERIFY_OK(e.m);
  CHECK_EQ_U64(hc_weak_destroy(e.m, wo), HC_OK);
  CHECK_EQ_U64(hc_weak_destroy(e.m, wy), HC_OK);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  env_close(&e);
}

int main(void) {
  alarm(240);
  RUN_FORKED(test_detached_remembered);
  RUN_FORKED(test_remembered_dies_full);
  RUN_FORKED(test_alloc_null_mutator);
  RUN_FORKED(test_alloc_without_access);
  RUN_FORKED(test_stale_root_not_followed_eden);
  RUN_FORKED(test_stale_root_not_followed);
  return forked_failures() ? 1 : 0;
}
