/* The heap's self-checks (hc_config_t.self_checks, heap/directory.c check_claim_locked): a claim
 * that would take a stopped allocator's pinned block is a fatal error at the claim, with the
 * config on; with it off the claim goes through (the check costs nothing unless asked for); and
 * a whole program of every kind of claim runs clean with it on (it never fires on a correct
 * heap). White-box: the shipped heap never claims a pinned block, so the test pins one by hand
 * and asks for it with a query that does not avoid the pin, as a buggy release path would. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "child.h"
#include "hc_testutil.h"
#include "internal.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static hc_block_handle_t handles[4];

/* A directory of four empty blocks, block 2 pinned. */
static void pinned_directory(hc_directory_t *d, bool self_checks) {
  CHECK_EQ_U64(hc_directory_init(d, 32, 1), HC_OK);
  d->self_checks = self_checks;
  for (uint32_t i = 0; i < 4; i++)
    hc_directory_add(d, &handles[i], HC_BITMASK(HC_BIT_EMPTY), NULL);
  hc_directory_update(d, 2, HC_BITMASK(HC_BIT_PINNED), 0);
}

/* Claims empty blocks from slot 2 on without avoiding the pin: what a release path that forgets
 * the pin does (the stale-last-active bug). */
static void claim_the_pinned_block(void) {
  hc_directory_t d;
  pinned_directory(&d, true);
  uint32_t cursor = 2;
  hc_directory_claim(&d, (hc_block_query_t){HC_BITMASK(HC_BIT_EMPTY), 0}, 0, &cursor);
  _exit(0); /* not reached: the self-check aborts */
}

static void test_claim_of_a_pinned_block_is_fatal(void) {
  char err[4096];
  int status = hf_run_child(claim_the_pinned_block, err, sizeof err);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  CHECK(strstr(err, "heapcore: fatal: ") != NULL);
  CHECK(strstr(err, "self-check: a claim took a pinned block") != NULL);
}

static void test_without_self_checks_the_claim_goes_through(void) {
  hc_directory_t d;
  pinned_directory(&d, false);
  uint32_t cursor = 2;
  void *got = hc_directory_claim(&d, (hc_block_query_t){HC_BITMASK(HC_BIT_EMPTY), 0}, 0, &cursor);
  CHECK(got == &handles[2]);
  hc_directory_destroy(&d);
}

static void test_config_reaches_every_directory(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  CHECK(!cfg.self_checks); /* off by default */
  cfg.self_checks = true;
  hc_heap_t *heap;
  CHECK_EQ_U64(hc_heap_create(&cfg, &heap), HC_OK);
  for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++)
    CHECK(heap->dirs[i].self_checks);
  CHECK(heap->large_dir.self_checks);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

/* Every claim a correct heap makes (refills, steals, sweeps, shrinks, stop/resume) with the
 * checks on: none fires. */
static void test_a_correct_heap_never_trips_them(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.self_checks = true;
  cfg.release_empty_blocks = true;
  cfg.gc_trigger_bytes = 64 << 10;
  hc_heap_t *heap;
  CHECK_EQ_U64(hc_heap_create(&cfg, &heap), HC_OK);
  hc_mutator_t *m;
  CHECK_EQ_U64(hc_mutator_attach(heap, &m), HC_OK);
  hc_object_t *keep = NULL;
  hc_root_push(m, &keep);
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < 2000; i++) {
      hc_object_t *o = hc_alloc(m, (size_t)(16 + (i % 7) * 24), 0);
      CHECK(o != NULL);
      if (i % 97 == 0) keep = o;
    }
    CHECK_EQ_U64(hc_mutator_stop_allocating(m), HC_OK);
    hc_collect(m, round % 2 ? HC_COLLECT_FULL : HC_COLLECT_EDEN);
    hc_sweep_all(m);
    hc_shrink(m);
    CHECK_EQ_U64(hc_mutator_resume_allocating(m), HC_OK);
    hc_object_t *big = hc_alloc(m, 100000, 0);
    CHECK(big != NULL);
  }
  char why[256];
  CHECK_EQ_U64(hc_heap_verify(m, why, sizeof why), HC_OK);
  hc_root_pop(m, 1);
  hc_mutator_detach(m);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

int main(void) {
  test_claim_of_a_pinned_block_is_fatal();
  test_without_self_checks_the_claim_goes_through();
  test_config_reaches_every_directory();
  test_a_correct_heap_never_trips_them();
  puts("test_self_checks: ok");
  return 0;
}
