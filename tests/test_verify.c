/* White-box tests of the debug oracle (heap/verify.c): each case breaks one invariant by hand,
 * checks that hc_heap_verify fails naming it, then repairs the damage so teardown stays clean.
 * A verifier that passes everything would fail every case here.
 *
 * The cases of the second half leave the heap corrupt the way a collector or release bug does (a
 * reachable object's cell swept back to free, a slot into a released block or at a freed large
 * object, a directory holding freed memory): the verifier must report them, never read the memory
 * the heap freed. Every case runs in a forked child, so under ASan a verifier that follows such a
 * pointer aborts that case (a use-after-poison or heap-use-after-free report inside verify.c) and
 * not the others. The freed-memory cases that only ASan tells from live memory run there only. */
#define _POSIX_C_SOURCE 200809L
#include "hc_testutil.h"

#include "freelist.h" /* HC_FREE_LIST_END */
#include "internal.h" /* and sanitizer.h: HC_ASAN */

#include <stdio.h>

static char msg[512];

static void expect_failure(hc_mutator_t *m, const char *needle) {
  msg[0] = '\0';
  CHECK_EQ_U64(hc_heap_verify(m, msg, sizeof msg), HC_ERR_VERIFY);
  printf("  verify: %s\n", msg);
  CHECK_STR_CONTAINS(msg, needle);
}

/* A heap after a full collection: `keep` (rooted, slot 0 holding `child`) and garbage share a
 * block of the 48-byte class, which no allocator holds. Set up in place: the root is &s->keep,
 * which must outlive the call (a scene returned by value would leave the root on a dead stack
 * frame). */
typedef struct scene {
  env_t e;
  hc_object_t *keep, *child;
  hc_block_handle_t *h;
} scene_t;

static void scene_open(scene_t *s) {
  s->e = env_open();
  s->keep = hc_alloc(s->e.m, 48, 1);
  CHECK(s->keep != NULL);
  CHECK_EQ_U64(hc_root_push(s->e.m, &s->keep), HC_OK);
  s->child = hc_alloc(s->e.m, 48, 0);
  CHECK(s->child != NULL);
  hc_store(s->e.m, s->keep, 0, s->child);
  for (int i = 0; i < 20; i++)
    CHECK(hc_alloc(s->e.m, 48, 0) != NULL); /* garbage */
  collect_ok(s->e.m, HC_COLLECT_FULL);
  s->h = hc_block_of(s->keep)->handle;
  CHECK(hc_block_of(s->child) == s->h->block);
}

static void scene_close(scene_t *s) {
  VERIFY_OK(s->e.m); /* the repair worked */
  CHECK_EQ_U64(hc_root_pop(s->e.m, 1), HC_OK);
  env_close(&s->e);
}

static void flip_bit(hc_block_handle_t *h, hc_bit_kind_t kind) {
  pthread_mutex_lock(&h->dir->lock);
  h->dir->bits[kind][h->index / 32] ^= 1u << (h->index % 32);
  pthread_mutex_unlock(&h->dir->lock);
}

static void test_empty_bit_over_live_cells(void) {
  scene_t s;
  scene_open(&s);
  flip_bit(s.h, HC_BIT_EMPTY);
  expect_failure(s.e.m, "marked empty but has live cells");
  flip_bit(s.h, HC_BIT_EMPTY);
  scene_close(&s);
}

static void test_claim_without_owner(void) {
  scene_t s;
  scene_open(&s);
  flip_bit(s.h, HC_BIT_IN_USE);
  expect_failure(s.e.m, "in-use 1 but 0 allocators hold it");
  flip_bit(s.h, HC_BIT_IN_USE);
  scene_close(&s);
}

static void test_pin_without_last_active(void) {
  scene_t s;
  scene_open(&s);
  flip_bit(s.h, HC_BIT_PINNED);
  expect_failure(s.e.m, "pinned 1 but it is the last-active block of 0 allocators");
  flip_bit(s.h, HC_BIT_PINNED);
  scene_close(&s);
}

/* The child of a rooted object loses its mark: a live object now points at a dead cell, which
 * is what a collector that misses an edge produces. */
static void test_reference_to_dead_cell(void) {
  scene_t s;
  scene_open(&s);
  hc_object_t *child = hc_load(s.keep, 0);
  hc_block_t *b = hc_block_of(child);
  uint32_t atom = hc_atom_index(b, child);
  CHECK(hc_atomic_bit_get(b->marks, atom));
  hc_atomic_bit_clear(b->marks, atom);
  expect_failure(s.e.m, "points to a dead or foreign cell: free cell 1 of block #");
  hc_atomic_bit_set(b->marks, atom);
  scene_close(&s);
}

/* A root whose object lost its mark: "collector freed a rooted object". */
static void test_root_to_dead_cell(void) {
  scene_t s;
  scene_open(&s);
  hc_block_t *b = hc_block_of(s.keep);
  uint32_t atom = hc_atom_index(b, s.keep);
  hc_atomic_bit_clear(b->marks, atom);
  expect_failure(s.e.m, "root 0 points to a dead cell: free cell 0 of block #");
  hc_atomic_bit_set(b->marks, atom);
  scene_close(&s);
}

/* A swept block must hold no dead object: forge one in a free cell. */
static void test_dead_object_in_swept_block(void) {
  scene_t s;
  scene_open(&s);
  sweep_all_ok(s.e.m);
  char *free_cell = (char *)s.keep + 48 * 2; /* keep, child, then the first garbage cell */
  CHECK(!hc_is_live_object(s.e.m, free_cell));
  hc_unpoison(free_cell, 8);
  atomic_store(&((hc_header_t *)free_cell)->state, HC_STATE_OLD);
  expect_failure(s.e.m, "swept block holds a dead object");
  atomic_store(&((hc_header_t *)free_cell)->state, HC_STATE_FREE);
  hc_poison(free_cell, 8);
  scene_close(&s);
}

/* A header that does not fit its cell (a size-class mix-up, or a stray write). */
static void test_header_size_mismatch(void) {
  scene_t s;
  scene_open(&s);
  hc_header_t *hdr = (hc_header_t *)s.keep;
  uint32_t saved = hdr->size;
  hdr->size = 200;
  expect_failure(s.e.m, "object of size 200 in a cell of 48 bytes");
  hdr->size = saved;
  scene_close(&s);
}

/* The allocator's free list is checked cell by cell: point it outside the payload. */
static void test_free_list_outside_payload(void) {
  env_t e = env_open();
  CHECK(hc_alloc(e.m, 48, 0) != NULL); /* the allocator now holds a free-listed block */
  hc_local_allocator_t *la = &e.m->allocators[hc_size_class_index(48)];
  CHECK(la->current != NULL);
  char *saved = la->fl.end;
  la->fl.end = (char *)la->current->block + 2 * HC_BLOCK_SIZE;
  expect_failure(e.m, "free-list interval outside the payload");
  la->fl.end = saved;
  VERIFY_OK(e.m);
  env_close(&e);
}

static void test_committed_accounting(void) {
  scene_t s;
  scene_open(&s);
  atomic_fetch_add(&s.e.heap->committed, 16);
  expect_failure(s.e.m, "committed bytes");
  atomic_fetch_sub(&s.e.heap->committed, 16);
  scene_close(&s);
}

/* ---------------------------------------------------------------------------------------------
 * A corrupt heap: reported, never read
 * ------------------------------------------------------------------------------------------- */

/* A corrupting store: no barrier, as a collector that rewrote the slot would leave it. */
static void raw_store(hc_object_t *obj, uint32_t slot, void *target) {
  atomic_store_explicit(&hc_slots_of(obj)[slot], (hc_object_t *)target, memory_order_relaxed);
}

static bool in_blockset(hc_heap_t *heap, const void *key) {
  pthread_mutex_lock(&heap->blockset_lock);
  bool in = hc_blockset_contains(&heap->blockset, (uintptr_t)key);
  pthread_mutex_unlock(&heap->blockset_lock);
  return in;
}

static uint32_t cell_index(const hc_object_t *obj) {
  hc_block_t *b = hc_block_of(obj);
  return (uint32_t)(((const char *)obj - hc_block_first_cell(b)) / b->handle->cell_size);
}

/* The report on a live cell that is in fact free: "block #S: live cell C ... (free memory)";
 * under ASan it says poisoned, otherwise the zeroed header's state. */
static void expect_free_live_cell(hc_mutator_t *m, uint64_t serial, uint32_t cell) {
  char needle[96];
  snprintf(needle, sizeof needle, "block #%llu: live cell %u", (unsigned long long)serial, cell);
  expect_failure(m, needle);
  CHECK_STR_CONTAINS(msg, "(free memory)");
#if defined(HC_ASAN) && HC_ASAN
  CHECK_STR_CONTAINS(msg, "poisoned");
#endif
}

/* keep's slot 0 pointed at `target` by hand: the report must say what the target is (`what`),
 * and under ASan that its memory is poisoned if `poisoned`; then the slot is repaired. */
static void expect_slot_report(scene_t *s, void *target, const char *what, bool poisoned) {
  raw_store(s->keep, 0, target);
  expect_failure(s->e.m, "live object's slot 0 points to a dead or foreign cell: ");
  CHECK_STR_CONTAINS(msg, what);
#if defined(HC_ASAN) && HC_ASAN
  if (poisoned) CHECK_STR_CONTAINS(msg, "poisoned");
#else
  (void)poisoned;
#endif
  raw_store(s->keep, 0, s->child);
}

/* A reachable object whose cell was swept back to free (zeroed, and poisoned under ASan) while its
 * mark bit says live: what a marker that sets a bit for a cell the sweeper already freed leaves.
 * The verifier must see the free cell, not read its header. */
static void test_live_cell_swept_free(void) {
  scene_t s;
  scene_open(&s);
  hc_block_t *b = s.h->block;
  uint32_t atom = hc_atom_index(b, s.child);
  CHECK(hc_atomic_bit_get(b->marks, atom));
  hc_atomic_bit_clear(b->marks, atom); /* missed by the marker... */
  CHECK(hc_sweep_all(s.e.m) > 0);      /* ...so the sweep frees it, and poisons it */
  CHECK(!hc_is_live_object(s.e.m, s.child));
  hc_atomic_bit_set(b->marks, atom); /* ...then marked again: live by the bits, free in fact */
  expect_free_live_cell(s.e.m, s.h->serial, cell_index(s.child));
  hc_atomic_bit_clear(b->marks, atom);
  raw_store(s.keep, 0, NULL);
  scene_close(&s);
}

/* An allocator's free list that lost its cells: the verifier counts every cell of a free-listed
 * block that is not on the list as allocated, and the lost cells are free (poisoned). */
static void test_free_list_lost_cells(void) {
  env_t e = env_open();
  hc_object_t *obj = hc_alloc(e.m, 48, 0);
  CHECK(obj != NULL);
  hc_local_allocator_t *la = &e.m->allocators[hc_size_class_index(48)];
  CHECK(la->current != NULL && la->fl.cur < la->fl.end);
  hc_free_list_t saved = la->fl;
  la->fl.cur = la->fl.end;
  la->fl.next = HC_FREE_LIST_END;
  /* The block's only allocated cell is obj's: the first lost one is the lowest other cell. */
  expect_free_live_cell(e.m, la->current->serial, cell_index(obj) == 0 ? 1 : 0);
  la->fl = saved;
  VERIFY_OK(e.m);
  env_close(&e);
}

/* A live object's slot points into a block that shrink released to the pool: the verifier must
 * say so without reading the block (poisoned whole under ASan). */
static void test_slot_into_released_block(void) {
  scene_t s;
  scene_open(&s);
  hc_mutator_t *m2 = NULL; /* allocates the garbage, then detaches: no allocator holds its block */
  CHECK_EQ_U64(hc_mutator_attach(s.e.heap, &m2), HC_OK);
  hc_object_t *gone = hc_alloc(m2, 64, 0);
  CHECK(gone != NULL);
  CHECK_EQ_U64(hc_mutator_detach(m2), HC_OK);
  collect_ok(s.e.m, HC_COLLECT_FULL);
  CHECK(hc_shrink(s.e.m) > 0);
  CHECK(!in_blockset(s.e.heap, hc_block_of(gone)));
  expect_slot_report(&s, gone, "an address in no block of the heap", true);
  scene_close(&s);
}

/* A large object no one reaches, after a collection and a sweep: dead, its cell poisoned, still
 * held by the large directory until a release. */
static hc_object_t *swept_dead_large(scene_t *s) {
  hc_object_t *big = hc_alloc(s->e.m, 20000, 1);
  CHECK(big != NULL);
  collect_ok(s->e.m, HC_COLLECT_FULL);
  CHECK(hc_sweep_all(s->e.m) > 0);
  CHECK(in_blockset(s->e.heap, big));
  return big;
}

static void test_slot_to_dead_large(void) {
  scene_t s;
  scene_open(&s);
  expect_slot_report(&s, swept_dead_large(&s), "dead large object #", false);
  scene_close(&s);
}

/* Released too: freed to the system allocator (quarantined, so poisoned, under ASan). */
static void test_slot_to_freed_large(void) {
  scene_t s;
  scene_open(&s);
  hc_object_t *big = swept_dead_large(&s);
  CHECK(hc_shrink(s.e.m) > 0);
  CHECK(!in_blockset(s.e.heap, big));
  expect_slot_report(&s, big, "a large-object address the heap does not hold", true);
  scene_close(&s);
}

/* A block handle in a directory whose block memory went back to the pool. */
static void test_handle_of_released_block(void) {
  scene_t s;
  scene_open(&s);
  hc_status_t st;
  hc_block_handle_t *tmp = hc_block_create(s.e.heap, 48, &st);
  CHECK(tmp != NULL);
  hc_block_t *released = tmp->block;
  hc_block_destroy(s.e.heap, tmp); /* to the pool: poisoned whole under ASan */
  hc_block_t *saved = s.h->block;
  s.h->block = released;
  char needle[96];
  snprintf(needle, sizeof needle, "block #%llu: its memory is not in the heap's block set",
           (unsigned long long)s.h->serial);
  expect_failure(s.e.m, needle);
  s.h->block = saved;
  scene_close(&s);
}

/* A large object freed behind its directory's back: the directory still holds it. */
static hc_large_t *large_freed_in_directory(scene_t *s, uint32_t *index) {
  hc_object_t *big = hc_alloc(s->e.m, 20000, 1);
  CHECK(big != NULL);
  hc_large_t *l = hc_large_of(big);
  *index = l->index;
  CHECK(s->e.heap->large_dir.slots[*index] == l);
  hc_large_destroy(s->e.heap, l); /* out of the block set, memory freed */
  return l;
}

/* Takes a slot out of a directory the way a release does (claim, then remove). */
static void directory_forget(hc_directory_t *d, uint32_t index) {
  hc_directory_update(d, index, HC_BITMASK(HC_BIT_IN_USE), 0);
  hc_directory_remove(d, index);
}

static void test_large_freed_in_directory(void) {
  scene_t s;
  scene_open(&s);
  uint32_t index;
  large_freed_in_directory(&s, &index);
  char needle[96];
  snprintf(needle, sizeof needle, "large directory slot %u: ", index);
  expect_failure(s.e.m, needle);
  CHECK_STR_CONTAINS(msg, "not in the heap's block set");
  directory_forget(&s.e.heap->large_dir, index);
  scene_close(&s);
}

#if defined(HC_ASAN) && HC_ASAN
/* The same, the block set left holding it too: only ASan's shadow tells the freed memory. */
static void test_large_freed_in_directory_and_blockset(void) {
  scene_t s;
  scene_open(&s);
  uint32_t index;
  hc_large_t *l = large_freed_in_directory(&s, &index);
  pthread_mutex_lock(&s.e.heap->blockset_lock);
  CHECK(hc_blockset_add(&s.e.heap->blockset, (uintptr_t)hc_large_cell(l)));
  pthread_mutex_unlock(&s.e.heap->blockset_lock);
  char needle[96];
  snprintf(needle, sizeof needle, "large directory slot %u: ", index);
  expect_failure(s.e.m, needle);
  CHECK_STR_CONTAINS(msg, "poisoned");
  pthread_mutex_lock(&s.e.heap->blockset_lock);
  hc_blockset_remove(&s.e.heap->blockset, (uintptr_t)hc_large_cell(l));
  pthread_mutex_unlock(&s.e.heap->blockset_lock);
  directory_forget(&s.e.heap->large_dir, index);
  scene_close(&s);
}

/* A directory slot holding a block handle that was freed (block and handle destroyed without
 * leaving the directory). */
static void test_freed_handle_in_directory(void) {
  scene_t s;
  scene_open(&s);
  hc_directory_t *d = &s.e.heap->dirs[hc_size_class_index(48)];
  hc_status_t st;
  hc_block_handle_t *h = hc_block_create(s.e.heap, 48, &st);
  CHECK(h != NULL);
  uint32_t index = hc_directory_add(d, h, 0, NULL);
  CHECK(index != UINT32_MAX);
  h->dir = d;
  h->index = index;
  hc_block_destroy(s.e.heap, h); /* handle freed, block to the pool */
  char needle[96];
  snprintf(needle, sizeof needle, "directory 48 slot %u: ", index);
  expect_failure(s.e.m, needle);
  CHECK_STR_CONTAINS(msg, "poisoned");
  directory_forget(d, index);
  scene_close(&s);
}
#endif

int main(void) {
  RUN_FORKED(test_empty_bit_over_live_cells);
  RUN_FORKED(test_claim_without_owner);
  RUN_FORKED(test_pin_without_last_active);
  RUN_FORKED(test_reference_to_dead_cell);
  RUN_FORKED(test_root_to_dead_cell);
  RUN_FORKED(test_dead_object_in_swept_block);
  RUN_FORKED(test_header_size_mismatch);
  RUN_FORKED(test_free_list_outside_payload);
  RUN_FORKED(test_committed_accounting);
  RUN_FORKED(test_live_cell_swept_free);
  RUN_FORKED(test_free_list_lost_cells);
  RUN_FORKED(test_slot_into_released_block);
  RUN_FORKED(test_slot_to_dead_large);
  RUN_FORKED(test_slot_to_freed_large);
  RUN_FORKED(test_handle_of_released_block);
  RUN_FORKED(test_large_freed_in_directory);
#if defined(HC_ASAN) && HC_ASAN
  RUN_FORKED(test_large_freed_in_directory_and_blockset);
  RUN_FORKED(test_freed_handle_in_directory);
#else
  printf("SKIP test_large_freed_in_directory_and_blockset, test_freed_handle_in_directory: "
         "freed memory is told from live memory by ASan only\n");
#endif
  return forked_failures() ? 1 : 0;
}
