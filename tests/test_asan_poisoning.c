/* test_asan_poisoning.c: the heap's ASan integration, as sanitizer.h promises it: inside a block a
 * cell is poisoned exactly when it is free; a block in the heap's block pool (released, or handed
 * out by hc_block_memory_alloc and not yet formatted) is poisoned whole, so a later use is a
 * use-after-poison; released large objects go back to the system allocator, so a later use of one
 * is a heap-use-after-free.
 *
 * The pool cases (white-box, heap/internal.h) check the shadow directly with
 * __asan_address_is_poisoned: a released block is poisoned, link word included; a block freshly
 * taken from the pool is still poisoned; a formatted block's header is not (its free cells are);
 * a destroyed heap leaves its unmapped chunks unpoisoned.
 *
 * Each case runs in a forked child that builds its own heap. A "stale" child reads one byte through
 * a stale pointer after printing its address; the parent requires the child to die with an ASan
 * report of the expected kind at that address. A "control" child runs the same sequence, touches
 * every byte of every live cell instead, and must exit 0 with no report (so over-poisoning fails).
 * Non-ASan builds print "SKIP: ..." and exit 77, ctest's SKIP_RETURN_CODE (tests/CMakeLists.txt):
 * the test is reported as skipped there, not as passed.
 */
#define _POSIX_C_SOURCE 200809L

#include "heapcore.h"
#include "hc_testutil.h"
#include "internal.h"  /* hc_block_create / hc_block_memory_alloc: the pool cases */
#include "sanitizer.h" /* defines HC_ASAN from -DHC_ASAN, __has_feature or __SANITIZE_ADDRESS__ */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(HC_ASAN) && HC_ASAN
static const bool k_asan = true;
#else
static const bool k_asan = false;
#endif

enum { SMALL = 48, LARGE = 20000, NOBJ = 16 };
enum mode { CONTROL, STALE, STALE_BEFORE_SHRINK, STALE_FREE_LIST_HEAD, STALE_LINK_WORD };

static volatile unsigned char sink;

/* ---------------------------------------------------------------------------------------------
 * Child side
 * ------------------------------------------------------------------------------------------- */

/* Every case ends with a heap that verifies. */
static void env_close_verified(env_t *e) {
  VERIFY_OK(e->m);
  env_close(e);
}

static bool same_block(const void *a, const void *b) {
  return (uintptr_t)a / HC_BLOCK_SIZE == (uintptr_t)b / HC_BLOCK_SIZE;
}

/* Reads every byte of the object's cell and writes its whole payload: any poison here is a bug. */
static void touch(hc_object_t *o) {
  const volatile unsigned char *p = (const volatile unsigned char *)o;
  size_t cell = hc_cell_size_for(hc_object_size(o));
  CHECK(cell >= hc_object_size(o));
  unsigned sum = 0;
  for (size_t i = 0; i < cell; i++)
    sum += p[i];
  memset(hc_object_payload(o), 0x5a, hc_object_payload_size(o));
  sink = (unsigned char)sum;
}

static hc_object_t *alloc_touched(hc_mutator_t *m, size_t size) {
  hc_object_t *o = hc_alloc(m, size, 0);
  CHECK(o != NULL);
  const unsigned char *payload = hc_object_payload(o);
  for (size_t i = 0; i < hc_object_payload_size(o); i++)
    CHECK(payload[i] == 0);
  touch(o);
  return o;
}

static void collect_full_and_sweep(hc_mutator_t *m) {
  CHECK_EQ_U64(hc_collect(m, HC_COLLECT_FULL), HC_OK);
  hc_sweep_all(m);
}

/* Announces the address in ASan's format (0x + 12 hex digits), then reads one byte. */
static _Noreturn void stale_read(const void *p) {
  fprintf(stderr, "STALE 0x%012" PRIxPTR "\n", (uintptr_t)p);
  sink = *(const volatile unsigned char *)p;
  fprintf(stderr, "SURVIVED the stale read\n");
  _exit(0);
}

/* Case 1: small objects filling part of a block, all roots dropped; full GC, sweep, shrink. */
static void case_released_block(enum mode mode) {
  env_t e = env_open_seed(7);
  hc_object_t *objs[NOBJ] = {0};
  for (int i = 0; i < NOBJ; i++) {
    CHECK_EQ_U64(hc_root_push(e.m, &objs[i]), HC_OK);
    objs[i] = alloc_touched(e.m, SMALL);
    CHECK(same_block(objs[i], objs[0]));
  }
  hc_stats_t before = stats_of(e.heap);
  CHECK_EQ_U64(before.blocks, 1);
  CHECK_EQ_U64(hc_root_pop(e.m, NOBJ), HC_OK);
  collect_full_and_sweep(e.m);
  CHECK(!hc_is_live_object(e.m, objs[5]));
  CHECK_EQ_U64(stats_of(e.heap).blocks, 1); /* empty, but only hc_shrink releases it */
  if (mode == STALE_BEFORE_SHRINK) stale_read((char *)objs[5] + 16);
  CHECK_EQ_U64(hc_shrink(e.m), 1);
  hc_stats_t after = stats_of(e.heap);
  CHECK_EQ_U64(after.blocks, 0);
  CHECK_EQ_U64(after.blocks_released, before.blocks_released + 1);
  if (mode == STALE) stale_read((char *)objs[5] + 16);
  alloc_touched(e.m, SMALL); /* a fresh block works */
  env_close_verified(&e);
}

/* Case 2: a dead cell in a block kept alive by rooted neighbours. Cells: keep[0], victim, keep[1],
 * then dead ones. Reallocating builds a free list of two intervals, {victim} and {head, ...}: the
 * second interval's head word is written into `head` and must stay poisoned too. */
static void case_dead_cell(enum mode mode) {
  env_t e = env_open_seed(7);
  hc_object_t *keep[2] = {0};
  CHECK_EQ_U64(hc_root_push(e.m, &keep[0]), HC_OK);
  CHECK_EQ_U64(hc_root_push(e.m, &keep[1]), HC_OK);
  keep[0] = alloc_touched(e.m, SMALL);
  hc_object_t *victim = alloc_touched(e.m, SMALL);
  keep[1] = alloc_touched(e.m, SMALL);
  for (int i = 0; i < NOBJ; i++)
    alloc_touched(e.m, SMALL);
  char *head = (char *)keep[1] + hc_cell_size_for(SMALL);
  CHECK(same_block(keep[0], head));
  collect_full_and_sweep(e.m);
  CHECK_EQ_U64(hc_shrink(e.m), 0);
  CHECK_EQ_U64(stats_of(e.heap).blocks, 1);
  CHECK(hc_is_live_object(e.m, keep[0]) && hc_is_live_object(e.m, keep[1]));
  CHECK(!hc_is_live_object(e.m, victim) && !hc_is_live_object(e.m, head));
  if (mode == STALE) stale_read((char *)victim + 8);
  touch(keep[0]);
  touch(keep[1]);
  CHECK(alloc_touched(e.m, SMALL) == victim); /* first free cell, in address order */
  if (mode == STALE_FREE_LIST_HEAD) stale_read(head);
  CHECK(alloc_touched(e.m, SMALL) == (hc_object_t *)head); /* head consumed, cell handed out */
  CHECK_EQ_U64(stats_of(e.heap).blocks, 1);
  CHECK_EQ_U64(hc_root_pop(e.m, 2), HC_OK);
  env_close_verified(&e);
}

/* Case 3: the cell after the only object was never allocated: it is on the free list. */
static void case_free_cell(enum mode mode) {
  env_t e = env_open_seed(7);
  hc_object_t *o = alloc_touched(e.m, SMALL);
  char *next = (char *)o + hc_cell_size_for(SMALL);
  CHECK(same_block(o, next));
  CHECK(!hc_is_live_object(e.m, next));
  if (mode == STALE) stale_read(next);
  touch(o);
  hc_object_t *second = alloc_touched(e.m, SMALL);
  CHECK(second == (hc_object_t *)next); /* bump allocation hands out exactly that cell */
  env_close_verified(&e);
}

/* Case 4: a large object, unreachable; full GC, sweep (poisoned), shrink (freed). */
static void case_released_large(enum mode mode) {
  env_t e = env_open_seed(7);
  hc_object_t *keep = alloc_touched(e.m, LARGE);
  CHECK_EQ_U64(hc_root_push(e.m, &keep), HC_OK);
  hc_object_t *big = alloc_touched(e.m, LARGE);
  CHECK_EQ_U64(stats_of(e.heap).large_objects, 2);
  collect_full_and_sweep(e.m);
  CHECK(!hc_is_live_object(e.m, big));
  CHECK_EQ_U64(stats_of(e.heap).large_objects, 2); /* dead, but only hc_shrink releases it */
  if (mode == STALE_BEFORE_SHRINK) stale_read((char *)big + 100);
  CHECK_EQ_U64(hc_shrink(e.m), 1);
  CHECK_EQ_U64(stats_of(e.heap).large_objects, 1);
  if (mode == STALE) stale_read((char *)big + 100);
  touch(keep);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  env_close_verified(&e);
}

/* Case 5: a block taken from the pool and not yet formatted. STALE reads its first word (where a
 * reader that finds the block in the blockset too early looks for the handle: the pool's link
 * word); STALE_LINK_WORD reads the link word of a block released to the pool. CONTROL formats a
 * block from the same pool and touches its whole header. */
static void case_unformatted_block(enum mode mode) {
  hc_heap_t *heap;
  CHECK_EQ_U64(hc_heap_create(NULL, &heap), HC_OK);
  hc_status_t st;
  hc_block_handle_t *h = hc_block_create(heap, SMALL, &st);
  CHECK(h != NULL);
  char *released = (char *)h->block;
  hc_block_destroy(heap, h);
  if (mode == STALE_LINK_WORD) stale_read(released);
  void *mem = hc_block_memory_alloc(heap, NULL);
  CHECK(mem != NULL);
  if (mode == STALE) stale_read(mem);
  hc_block_memory_free(heap, mem);
  h = hc_block_create(heap, SMALL, &st);
  CHECK(h != NULL);
  const volatile unsigned char *header = (const volatile unsigned char *)h->block;
  unsigned sum = 0;
  for (size_t i = 0; i < HC_BLOCK_HEADER_SIZE; i++)
    sum += header[i];
  sink = (unsigned char)sum;
  hc_block_destroy(heap, h);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

/* ---------------------------------------------------------------------------------------------
 * The pool's shadow, checked in-process
 * ------------------------------------------------------------------------------------------- */

#if defined(HC_ASAN) && HC_ASAN
/* Every 8-byte granule of [p, p + n) poisoned. */
static bool all_poisoned(const void *p, size_t n) {
  for (size_t i = 0; i < n; i += 8)
    if (!__asan_address_is_poisoned((const char *)p + i)) return false;
  return true;
}

static void test_pool_poisoning(void) {
  hc_heap_t *heap;
  CHECK_EQ_U64(hc_heap_create(NULL, &heap), HC_OK);
  hc_status_t st;

  /* A formatted block: its header is addressable, its free cells are not. */
  hc_block_handle_t *h = hc_block_create(heap, SMALL, &st);
  CHECK(h != NULL);
  char *b = (char *)h->block;
  CHECK(__asan_region_is_poisoned(b, HC_BLOCK_HEADER_SIZE) == NULL);
  CHECK(all_poisoned(b + HC_BLOCK_HEADER_SIZE, HC_BLOCK_PAYLOAD));

  /* Released to the pool: poisoned whole, the link word included. */
  hc_block_destroy(heap, h);
  CHECK(all_poisoned(b, HC_BLOCK_SIZE));

  /* Taken from the pool (the same block: the pool is LIFO), not yet formatted: still poisoned. */
  char *mem = hc_block_memory_alloc(heap, NULL);
  CHECK(mem == b);
  CHECK(all_poisoned(mem, HC_BLOCK_SIZE));
  /* A block the pool never handed out before (carved from the chunk) is poisoned too. */
  char *fresh = hc_block_memory_alloc(heap, NULL);
  CHECK(fresh != NULL && fresh != mem);
  CHECK(all_poisoned(fresh, HC_BLOCK_SIZE));
  hc_block_memory_free(heap, fresh);
  hc_block_memory_free(heap, mem);
  CHECK(all_poisoned(mem, HC_BLOCK_SIZE) && all_poisoned(fresh, HC_BLOCK_SIZE));

  /* Reused through hc_block_create: formatted again, header unpoisoned, payload poisoned. */
  h = hc_block_create(heap, SMALL, &st);
  CHECK(h != NULL && (char *)h->block == mem);
  CHECK(__asan_region_is_poisoned(mem, HC_BLOCK_HEADER_SIZE) == NULL);
  CHECK(all_poisoned(mem + HC_BLOCK_HEADER_SIZE, HC_BLOCK_PAYLOAD));
  hc_block_destroy(heap, h);

  /* Teardown hands the chunk to the process's chunk cache still poisoned (a pointer into a
   * destroyed heap stays a report), or, with the cache full, unmaps it unpoisoned: nothing mapped
   * there later inherits the poison. */
  size_t cached = hc_pool_cached_chunks();
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
  if (cached < HC_CHUNK_CACHE_MAX) {
    CHECK_EQ_U64(hc_pool_cached_chunks(), cached + 1);
    CHECK(all_poisoned(mem, HC_BLOCK_SIZE) && all_poisoned(fresh, HC_BLOCK_SIZE));
  } else {
    CHECK(!__asan_address_is_poisoned(mem));
    CHECK(!__asan_address_is_poisoned(fresh + HC_BLOCK_SIZE - 1));
  }

  /* Fill the cache, then one more: that heap's chunk, with nowhere to go, is unmapped unpoisoned.
   * A heap built on a cached chunk carves poisoned blocks and formats them as from a fresh one. */
  hc_heap_t *heaps[HC_CHUNK_CACHE_MAX + 1];
  char *blocks[HC_CHUNK_CACHE_MAX + 1];
  for (int i = 0; i <= HC_CHUNK_CACHE_MAX; i++) {
    CHECK_EQ_U64(hc_heap_create(NULL, &heaps[i]), HC_OK);
    blocks[i] = hc_block_memory_alloc(heaps[i], NULL);
    CHECK(blocks[i] != NULL && all_poisoned(blocks[i], HC_BLOCK_SIZE));
    h = hc_block_create(heaps[i], SMALL, &st);
    CHECK(h != NULL);
    CHECK(__asan_region_is_poisoned(h->block, HC_BLOCK_HEADER_SIZE) == NULL);
    CHECK(all_poisoned((char *)h->block + HC_BLOCK_HEADER_SIZE, HC_BLOCK_PAYLOAD));
    hc_block_memory_free(heaps[i], blocks[i]);
    hc_block_destroy(heaps[i], h);
  }
  CHECK_EQ_U64(hc_pool_cached_chunks(), 0);
  for (int i = 0; i <= HC_CHUNK_CACHE_MAX; i++)
    CHECK_EQ_U64(hc_heap_destroy(heaps[i]), HC_OK);
  CHECK_EQ_U64(hc_pool_cached_chunks(), HC_CHUNK_CACHE_MAX);
  CHECK(all_poisoned(blocks[0], HC_BLOCK_SIZE));
  CHECK(!__asan_address_is_poisoned(blocks[HC_CHUNK_CACHE_MAX]));
}

/* A chunk the cache handed to a heap that carves less of it than an earlier heap did, unmapped
 * because the cache is full: the whole chunk loses its poison, not only what the last heap
 * carved (the earlier heap's deeper carving is poisoned too, and ASan keeps manual poison across
 * munmap). */
static void test_unmapped_reused_chunk_unpoisoned(void) {
  enum { MAX = HC_CHUNK_CACHE_MAX };
  const size_t chunk_bytes = (size_t)2 << 20;
  hc_heap_t *drain[MAX], *deep, *shallow;
  /* Empty the cache: each of these heaps takes one chunk, cached or new. */
  for (int i = 0; i < MAX; i++) {
    CHECK_EQ_U64(hc_heap_create(NULL, &drain[i]), HC_OK);
    CHECK(hc_block_memory_alloc(drain[i], NULL) != NULL);
  }
  CHECK_EQ_U64(hc_pool_cached_chunks(), 0);
  /* One heap carves eight blocks of its chunk, then gives it to the cache. */
  CHECK_EQ_U64(hc_heap_create(NULL, &deep), HC_OK);
  char *first = NULL;
  for (int i = 0; i < 8; i++) {
    char *b = hc_block_memory_alloc(deep, NULL);
    CHECK(b != NULL);
    if (!first) first = b;
  }
  CHECK_EQ_U64(hc_heap_destroy(deep), HC_OK);
  CHECK_EQ_U64(hc_pool_cached_chunks(), 1);
  /* The next heap gets that chunk back and carves one block of it. */
  CHECK_EQ_U64(hc_heap_create(NULL, &shallow), HC_OK);
  CHECK(hc_block_memory_alloc(shallow, NULL) == first);
  /* Fill the cache again; the shallow heap's chunk then has nowhere to go but munmap. */
  for (int i = 0; i < MAX; i++)
    CHECK_EQ_U64(hc_heap_destroy(drain[i]), HC_OK);
  CHECK_EQ_U64(hc_pool_cached_chunks(), MAX);
  CHECK_EQ_U64(hc_heap_destroy(shallow), HC_OK);
  CHECK(__asan_region_is_poisoned(first, chunk_bytes) == NULL);
}
#endif

/* ---------------------------------------------------------------------------------------------
 * Parent side
 * ------------------------------------------------------------------------------------------- */

static char out[1 << 16];

/* Runs fn(mode) in a child with stderr captured into `out`; returns the wait status. */
static int run_child(void (*fn)(enum mode), enum mode mode) {
  fflush(stdout);
  fflush(stderr);
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    if (dup2(fds[1], STDERR_FILENO) < 0) _exit(99);
    close(fds[1]);
    fn(mode);
    exit(0); /* normal exit: LeakSanitizer checks the child's heap teardown too */
  }
  close(fds[1]);
  size_t len = 0;
  for (;;) {
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t k = (size_t)n < sizeof out - 1 - len ? (size_t)n : sizeof out - 1 - len;
    memcpy(out + len, buf, k); /* keeps draining once full so the child never blocks */
    len += k;
  }
  out[len] = '\0';
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    CHECK(errno == EINTR);
  return status;
}

static _Noreturn void fail_with_output(const char *name, const char *why) {
  fflush(stdout);
  fprintf(stderr, "FAIL %s: %s\n--- child stderr ---\n%s--- end ---\n", name, why, out);
  exit(1);
}

/* kind NULL: control, must exit 0 without a report. Otherwise the child must die reporting
 * `kind` for a 1-byte read at the address it announced. */
static void expect(const char *name, void (*fn)(enum mode), enum mode mode, const char *kind) {
  int status = run_child(fn, mode);
  bool died = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
  if (kind == NULL) {
    if (died) fail_with_output(name, "control child did not exit 0");
    if (strstr(out, "Sanitizer") != NULL || strstr(out, "runtime error") != NULL)
      fail_with_output(name, "control child printed a sanitizer report");
  } else {
    if (!died) fail_with_output(name, "stale child did not die");
    const char *announce = strstr(out, "STALE ");
    if (announce == NULL) fail_with_output(name, "child never reached the stale access");
    char addr[40] = "", needle[128];
    CHECK(sscanf(announce, "STALE %39s", addr) == 1);
    snprintf(needle, sizeof needle, "ERROR: AddressSanitizer: %s on address %s", kind, addr);
    if (strstr(out, needle) == NULL) fail_with_output(name, needle);
    if (strstr(out, "READ of size 1 at ") == NULL) fail_with_output(name, "not a 1-byte read");
  }
  printf("PASS %s\n", name);
}

int main(void) {
  if (!k_asan) {
    printf("SKIP: not an ASan build (the poisoning is AddressSanitizer's shadow memory: the asan "
           "and fuzz presets check it)\n");
    return 77; /* skipped: ctest's SKIP_RETURN_CODE (tests/CMakeLists.txt) */
  }
#if defined(HC_ASAN) && HC_ASAN
  RUN_TEST(test_pool_poisoning);
  RUN_TEST(test_unmapped_reused_chunk_unpoisoned);
#endif
  expect("released_block_stale", case_released_block, STALE, "use-after-poison");
  expect("released_block_before_shrink", case_released_block, STALE_BEFORE_SHRINK,
         "use-after-poison");
  expect("released_block_control", case_released_block, CONTROL, NULL);
  expect("dead_cell_in_live_block_stale", case_dead_cell, STALE, "use-after-poison");
  expect("free_list_head_stale", case_dead_cell, STALE_FREE_LIST_HEAD, "use-after-poison");
  expect("dead_cell_in_live_block_control", case_dead_cell, CONTROL, NULL);
  expect("never_allocated_cell_stale", case_free_cell, STALE, "use-after-poison");
  expect("never_allocated_cell_control", case_free_cell, CONTROL, NULL);
  expect("released_large_stale", case_released_large, STALE, "heap-use-after-free");
  expect("released_large_before_shrink", case_released_large, STALE_BEFORE_SHRINK,
         "use-after-poison");
  expect("released_large_control", case_released_large, CONTROL, NULL);
  expect("unformatted_block_stale", case_unformatted_block, STALE, "use-after-poison");
  expect("pooled_block_link_word_stale", case_unformatted_block, STALE_LINK_WORD,
         "use-after-poison");
  expect("unformatted_block_control", case_unformatted_block, CONTROL, NULL);
  return 0;
}
