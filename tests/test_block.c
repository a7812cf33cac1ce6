/* White-box tests of blocks and free lists (heap/block.c, heap/freelist.h): sweeping by the
 * mark and newly bits, interval free lists, stop-allocating, finalize-once, zero and scribble. */
#include "check.h"
#include "freelist.h"
#include "internal.h"

static uint64_t finalized;
static void count_finalizer(hc_object_t *obj, void *ctx) {
  (void)obj, (void)ctx;
  finalized++;
}

static hc_heap_t *make_heap(bool scribble) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.scribble = scribble;
  cfg.finalizer = count_finalizer;
  hc_heap_t *heap;
  CHECK_EQ_U64(hc_heap_create(&cfg, &heap), HC_OK);
  return heap;
}

/* Allocates every cell of the free list the way the allocator does; returns how many. */
static uint32_t allocate_all(hc_free_list_t *fl, hc_block_handle_t *h, uint32_t max,
                             bool finalizable) {
  uint32_t n = 0;
  while (n < max) {
    char *p = hc_free_list_pop(fl);
    if (!p) {
      if (!hc_free_list_take_interval(fl)) break;
      continue;
    }
    hc_unpoison(p, fl->cell_size);
    if (fl->needs_zero) memset(p, 0, fl->cell_size);
    for (uint32_t i = 0; i < fl->cell_size; i++)
      CHECK(p[i] == 0); /* free cells are zero */
    hc_header_t *hdr = (hc_header_t *)p;
    hdr->size = fl->cell_size;
    hdr->flags = finalizable ? HC_FLAG_FINALIZE : 0;
    atomic_store(&hdr->state, HC_STATE_NEW);
    if (finalizable) h->block->has_finalizable = 1;
    n++;
  }
  return n;
}

static void simulate_collection(hc_heap_t *heap) {
  atomic_store(&heap->newly_version, (uint8_t)(atomic_load(&heap->newly_version) + 1));
}

static void mark_every(hc_heap_t *heap, hc_block_handle_t *h, uint32_t every) {
  hc_block_t *b = h->block;
  b->mark_version = heap->mark_version;
  for (int w = 0; w < HC_BITMAP_WORDS; w++)
    atomic_store(&b->marks[w], 0);
  for (uint32_t i = 0; i < h->cells; i += every)
    hc_atomic_bit_set(b->marks,
                      hc_atom_index(b, hc_block_first_cell(b) + (size_t)i * h->cell_size));
}

static void test_fresh_block_is_one_interval(void) {
  hc_heap_t *heap = make_heap(false);
  hc_status_t st;
  hc_block_handle_t *h = hc_block_create(heap, 48, &st);
  CHECK(h != NULL);
  CHECK_EQ_U64(h->cells, HC_BLOCK_PAYLOAD / 48);
  hc_free_list_t fl;
  hc_sweep_result_t r = hc_block_sweep(heap, h, &fl);
  CHECK_EQ_U64(r.live_cells, 0);
  CHECK_EQ_U64(r.free_cells, h->cells);
  CHECK(fl.next == HC_FREE_LIST_END); /* one interval: pure bump allocation */
  CHECK_EQ_U64((uint64_t)(fl.end - fl.cur), (uint64_t)h->cells * 48);
  CHECK_EQ_U64(allocate_all(&fl, h, UINT32_MAX, false), h->cells);
  CHECK(hc_free_list_pop(&fl) == NULL && !hc_free_list_take_interval(&fl));
  hc_block_destroy(heap, h);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

static void sweep_by_marks(bool scribble) {
  hc_heap_t *heap = make_heap(scribble);
  hc_status_t st;
  hc_block_handle_t *h = hc_block_create(heap, 64, &st);
  hc_free_list_t fl;
  hc_block_sweep(heap, h, &fl);
  allocate_all(&fl, h, UINT32_MAX, true);
  hc_block_stop_allocating(heap, h, &fl); /* used up: newly bits say every cell is live */
  CHECK_EQ_U64(hc_block_count_live(heap, h), h->cells);
  simulate_collection(heap); /* newly bits stale: marks alone speak */
  mark_every(heap, h, 3);
  uint32_t live = (h->cells + 2) / 3;
  CHECK_EQ_U64(hc_block_count_live(heap, h), live);
  finalized = 0;
  hc_sweep_result_t r = hc_block_sweep(heap, h, &fl);
  CHECK_EQ_U64(r.live_cells, live);
  CHECK_EQ_U64(r.free_cells, h->cells - live);
  CHECK_EQ_U64(finalized, h->cells - live); /* every dead finalizable cell, once */
  /* The free list holds exactly the unmarked cells, in address order, in runs of two. */
  hc_block_t *b = h->block;
  char *first = hc_block_first_cell(b);
  uint32_t expect = 1, seen = 0;
  for (;;) {
    char *p = hc_free_list_pop(&fl);
    if (!p) {
      if (!hc_free_list_take_interval(&fl)) break;
      continue;
    }
    CHECK(p == first + (size_t)expect * 64);
    CHECK(!hc_block_cell_is_marked(heap, b, p));
    if (!hc_is_poisoned(p)) {
      uint8_t want = scribble ? HC_SCRIBBLE_BYTE : 0;
      for (int i = 16; i < 64; i++)
        CHECK((uint8_t)p[i] == want); /* killed cells wiped */
    }
    seen++;
    expect += expect % 3 == 1 ? 1 : 2;
  }
  CHECK_EQ_U64(seen, h->cells - live);
  /* Sweeping again finalizes nothing twice. */
  finalized = 0;
  hc_block_sweep(heap, h, NULL);
  CHECK_EQ_U64(finalized, 0);
  hc_block_destroy(heap, h);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

static void test_sweep_by_marks(void) {
  sweep_by_marks(false);
}

static void test_sweep_by_marks_scribble(void) {
  sweep_by_marks(true);
}

/* stopAllocating with a partly used free list: newly = all cells but the ones still free. */
static void test_stop_allocating(void) {
  hc_heap_t *heap = make_heap(false);
  hc_status_t st;
  hc_block_handle_t *h = hc_block_create(heap, 32, &st);
  hc_free_list_t fl;
  hc_block_sweep(heap, h, &fl);
  CHECK_EQ_U64(allocate_all(&fl, h, 37, false), 37);
  hc_block_stop_allocating(heap, h, &fl);
  CHECK_EQ_U64(hc_block_count_live(heap, h), 37);
  CHECK(fl.cur == fl.end && fl.next == HC_FREE_LIST_END);
  /* resume: the rebuilt free list starts right after the 37 cells */
  hc_sweep_result_t r = hc_block_sweep(heap, h, &fl);
  CHECK_EQ_U64(r.live_cells, 37);
  CHECK(hc_free_list_pop(&fl) == hc_block_first_cell(h->block) + 37 * 32);
  hc_block_destroy(heap, h);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

/* Adjacent free cells merge into one interval; a gap starts a new one. */
static void test_builder_merges_runs(void) {
  static hc_free_list_builder_t bld;
  bld.count = 0;
  hc_free_list_builder_add(&bld, 1000, 16);
  hc_free_list_builder_add(&bld, 1016, 16);
  hc_free_list_builder_add(&bld, 1064, 16);
  CHECK_EQ_U64(bld.count, 2);
  CHECK_EQ_U64(bld.bytes[0], 32);
  CHECK_EQ_U64(bld.start[1], 1064);
}

int main(void) {
  RUN_TEST(test_fresh_block_is_one_interval);
  RUN_TEST(test_sweep_by_marks);
  RUN_TEST(test_sweep_by_marks_scribble);
  RUN_TEST(test_stop_allocating);
  RUN_TEST(test_builder_merges_runs);
  return 0;
}
