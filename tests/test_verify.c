/* White-box tests of the debug oracle (heap/verify.c): each case breaks one invariant by hand,
 * checks that hc_heap_verify fails naming it, then repairs the damage so teardown stays clean.
 * A verifier that passes everything would fail every case here. */
#include "hc_testutil.h"
#include "internal.h"

static char msg[512];

static void expect_failure(hc_mutator_t *m, const char *needle) {
  msg[0] = '\0';
  CHECK_EQ_U64(hc_heap_verify(m, msg, sizeof msg), HC_ERR_VERIFY);
  CHECK_STR_CONTAINS(msg, needle);
}

/* A heap after a full collection: `keep` (rooted, with a child) lives in the 48-byte class. */
typedef struct scene {
  env_t e;
  hc_object_t *keep;
  hc_block_handle_t *h;
} scene_t;

static scene_t scene_open(void) {
  scene_t s = {env_open(), NULL, NULL};
  s.keep = hc_alloc(s.e.m, 48, 1);
  CHECK(s.keep != NULL);
  CHECK_EQ_U64(hc_root_push(s.e.m, &s.keep), HC_OK);
  hc_store(s.e.m, s.keep, 0, hc_alloc(s.e.m, 48, 0));
  for (int i = 0; i < 20; i++)
    CHECK(hc_alloc(s.e.m, 48, 0) != NULL); /* garbage */
  collect_ok(s.e.m, HC_COLLECT_FULL);
  s.h = hc_block_of(s.keep)->handle;
  return s;
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
  scene_t s = scene_open();
  flip_bit(s.h, HC_BIT_EMPTY);
  expect_failure(s.e.m, "marked empty but has live cells");
  flip_bit(s.h, HC_BIT_EMPTY);
  scene_close(&s);
}

static void test_claim_without_owner(void) {
  scene_t s = scene_open();
  flip_bit(s.h, HC_BIT_IN_USE);
  expect_failure(s.e.m, "in-use 1 but 0 allocators hold it");
  flip_bit(s.h, HC_BIT_IN_USE);
  scene_close(&s);
}

static void test_pin_without_last_active(void) {
  scene_t s = scene_open();
  flip_bit(s.h, HC_BIT_PINNED);
  expect_failure(s.e.m, "pinned 1 but it is the last-active block of 0 allocators");
  flip_bit(s.h, HC_BIT_PINNED);
  scene_close(&s);
}

/* The child of a rooted object loses its mark: a live object now points at a dead cell, which
 * is what a collector that misses an edge produces. */
static void test_reference_to_dead_cell(void) {
  scene_t s = scene_open();
  hc_object_t *child = hc_load(s.keep, 0);
  hc_block_t *b = hc_block_of(child);
  uint32_t atom = hc_atom_index(b, child);
  CHECK(hc_atomic_bit_get(b->marks, atom));
  hc_atomic_bit_clear(b->marks, atom);
  expect_failure(s.e.m, "points to a dead or foreign cell");
  hc_atomic_bit_set(b->marks, atom);
  scene_close(&s);
}

/* A root whose object lost its mark: "collector freed a rooted object". */
static void test_root_to_dead_cell(void) {
  scene_t s = scene_open();
  hc_block_t *b = hc_block_of(s.keep);
  uint32_t atom = hc_atom_index(b, s.keep);
  hc_atomic_bit_clear(b->marks, atom);
  expect_failure(s.e.m, "root 0 points to a dead cell");
  hc_atomic_bit_set(b->marks, atom);
  scene_close(&s);
}

/* A swept block must hold no dead object: forge one in a free cell. */
static void test_dead_object_in_swept_block(void) {
  scene_t s = scene_open();
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
  scene_t s = scene_open();
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
  scene_t s = scene_open();
  atomic_fetch_add(&s.e.heap->committed, 16);
  expect_failure(s.e.m, "committed bytes");
  atomic_fetch_sub(&s.e.heap->committed, 16);
  scene_close(&s);
}

int main(void) {
  RUN_TEST(test_empty_bit_over_live_cells);
  RUN_TEST(test_claim_without_owner);
  RUN_TEST(test_pin_without_last_active);
  RUN_TEST(test_reference_to_dead_cell);
  RUN_TEST(test_root_to_dead_cell);
  RUN_TEST(test_dead_object_in_swept_block);
  RUN_TEST(test_header_size_mismatch);
  RUN_TEST(test_free_list_outside_payload);
  RUN_TEST(test_committed_accounting);
  return 0;
}
