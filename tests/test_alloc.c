/* test_alloc.c: black-box tests of allocation, object layout, size classes and allocation misuse.
 *
 * Everything here goes through include/heapcore.h only. Object layout facts come from its header
 * comment: an 8-byte header, `nslots` reference slots, then payload; all zeroed at allocation. */
#include "heapcore.h"
#include "hc_testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

/* Layout agreement between the accessors and the documented cell format. */
static void check_layout(hc_object_t *obj, size_t size, uint32_t nslots) {
  CHECK(obj != NULL);
  CHECK_EQ_U64(hc_object_size(obj), size);
  CHECK_EQ_U64(hc_object_slot_count(obj), nslots);
  uint8_t *payload = hc_object_payload(obj);
  CHECK(payload == (uint8_t *)obj + HC_HEADER_SIZE + (size_t)nslots * HC_SLOT_SIZE);
  CHECK_EQ_U64(hc_object_payload_size(obj), size - HC_HEADER_SIZE - (size_t)nslots * HC_SLOT_SIZE);
  CHECK_EQ_U64((uintptr_t)payload % 8, 0);
  if (size <= HC_MAX_CELL_SMALL) CHECK_EQ_U64((uintptr_t)obj % HC_ATOM_SIZE, 0);
}

static uint32_t max_slots_for(size_t size) {
  return (uint32_t)((size - HC_HEADER_SIZE) / HC_SLOT_SIZE);
}

typedef struct span {
  uintptr_t start, end;
} span_t;

static int span_cmp(const void *a, const void *b) {
  const span_t *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/* No two [obj, obj + cell size) ranges overlap. Sorts `spans` in place. */
static void check_disjoint(span_t *spans, size_t n) {
  qsort(spans, n, sizeof *spans, span_cmp);
  for (size_t i = 1; i < n; i++)
    CHECK(spans[i - 1].end <= spans[i].start);
}

static span_t span_of(hc_object_t *obj) {
  span_t s = {(uintptr_t)obj, (uintptr_t)obj + hc_cell_size_for(hc_object_size(obj))};
  return s;
}

/* ---------------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------------- */

#define STATUS_ENTRY(s) \
  { s, #s }
static const struct {
  hc_status_t status;
  const char *name;
} k_statuses[] = {
    STATUS_ENTRY(HC_OK),
    STATUS_ENTRY(HC_ERR_INVALID_ARGUMENT),
    STATUS_ENTRY(HC_ERR_SIZE_ZERO),
    STATUS_ENTRY(HC_ERR_SIZE_TOO_LARGE),
    STATUS_ENTRY(HC_ERR_TOO_MANY_SLOTS),
    STATUS_ENTRY(HC_ERR_SLOT_OUT_OF_RANGE),
    STATUS_ENTRY(HC_ERR_NOT_A_CELL),
    STATUS_ENTRY(HC_ERR_HEAP_LIMIT),
    STATUS_ENTRY(HC_ERR_INJECTED_FAULT),
    STATUS_ENTRY(HC_ERR_OUT_OF_MEMORY),
    STATUS_ENTRY(HC_ERR_ALLOCATION_STOPPED),
    STATUS_ENTRY(HC_ERR_WRONG_STATE),
    STATUS_ENTRY(HC_ERR_UNSUPPORTED),
    STATUS_ENTRY(HC_ERR_VERIFY),
};

static void test_status_names(void) {
  size_t n = sizeof k_statuses / sizeof k_statuses[0];
  CHECK_EQ_U64(n, HC_STATUS_COUNT);
  for (size_t i = 0; i < n; i++) {
    const char *name = hc_status_name(k_statuses[i].status);
    CHECK(name != NULL);
    CHECK(strncmp(name, "HC_", 3) == 0);
    CHECK(strcmp(name, k_statuses[i].name) == 0);
    CHECK(strcmp(name, "HC_ERR_?") != 0);
    for (size_t j = 0; j < i; j++)
      CHECK(strcmp(name, hc_status_name(k_statuses[j].status)) != 0);
  }
  CHECK(strcmp(hc_status_name(HC_STATUS_COUNT), "HC_ERR_?") == 0);
  CHECK(strcmp(hc_status_name((hc_status_t)1000), "HC_ERR_?") == 0);
}

static void test_cell_size_for(void) {
  size_t prev = 0;
  for (size_t s = 1; s <= HC_MAX_CELL_SMALL; s++) {
    size_t c = hc_cell_size_for(s);
    CHECK(c >= s);
    CHECK_EQ_U64(c % 16, 0);
    CHECK(c >= prev);
    CHECK(c <= HC_MAX_CELL_SMALL);
    if (s <= 80) CHECK_EQ_U64(c, s <= 16 ? 16 : (s + 15) / 16 * 16);
    prev = c;
  }
  CHECK_EQ_U64(hc_cell_size_for(HC_MAX_CELL_SMALL), HC_MAX_CELL_SMALL);
  static const size_t large[] = {HC_MAX_CELL_SMALL + 1,
                                 HC_MAX_CELL_SMALL + 8,
                                 9000,
                                 16384,
                                 16385,
                                 65536,
                                 100001,
                                 1u << 20,
                                 12345678,
                                 HC_MAX_OBJECT - 1,
                                 HC_MAX_OBJECT};
  for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
    size_t c = hc_cell_size_for(large[i]);
    CHECK(c >= large[i]);
    CHECK_EQ_U64(c % 16, 0);
    CHECK(c >= prev);
    prev = c;
  }
  CHECK_EQ_U64(hc_cell_size_for(0), 0);
  CHECK_EQ_U64(hc_cell_size_for((size_t)HC_MAX_OBJECT + 1), 0);
  CHECK_EQ_U64(hc_cell_size_for(SIZE_MAX), 0);
}

/* Every small size once, twice: the second round reuses the swept cells of the first. */
static void every_small_size(bool scribble) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.scribble = scribble;
  cfg.gc_trigger_bytes = 0; /* nothing is rooted: only the explicit collection below may free */
  env_t e = env_open_cfg(&cfg);
  size_t count = HC_MAX_CELL_SMALL - 8 + 1;
  hc_object_t **objs = calloc(count, sizeof *objs);
  span_t *spans = calloc(count, sizeof *spans);
  CHECK(objs != NULL && spans != NULL);
  for (int round = 0; round < 2; round++) {
    hc_stats_t before = stats_of(e.heap);
    for (size_t i = 0; i < count; i++) {
      size_t size = 8 + i;
      uint32_t nslots = (uint32_t)((size / 8) % (max_slots_for(size) + 1u));
      hc_object_t *obj = hc_alloc(e.m, size, nslots);
      CHECK(obj != NULL);
      CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_OK);
      check_layout(obj, size, nslots);
      CHECK(is_zeroed(obj));
      fill_pattern(obj, i + 1);
      objs[i] = obj;
      spans[i] = span_of(obj);
    }
    hc_stats_t after = stats_of(e.heap);
    CHECK_EQ_U64(after.objects_allocated - before.objects_allocated, count);
    CHECK(after.bytes_allocated - before.bytes_allocated >=
          (uint64_t)count * (8 + HC_MAX_CELL_SMALL) / 2);
    for (size_t i = 0; i < count; i++)
      CHECK(check_pattern(objs[i], i + 1));
    check_disjoint(spans, count);
    VERIFY_OK(e.m);
    /* Nothing is rooted: a full collection and sweep free every cell for the second round. */
    CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_FULL), HC_OK);
    CHECK_EQ_U64(stats_of(e.heap).live_objects, 0);
    hc_sweep_all(e.m);
    VERIFY_OK(e.m);
  }
  free(objs);
  free(spans);
  env_close(&e);
}

static void test_every_small_size(void) {
  every_small_size(false);
}

static void test_every_small_size_scribble(void) {
  every_small_size(true);
}

static void test_large_sizes(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  env_t e = env_open_cfg(&cfg);
  static const size_t sizes[] = {
      HC_MAX_CELL_SMALL + 1, HC_MAX_CELL_SMALL + 8, 9000, 16384, 16385, 65536, 100000, 1u << 20,
      HC_MAX_OBJECT};
  enum { N = sizeof sizes / sizeof sizes[0] };
  hc_object_t *objs[N];
  span_t spans[N];
  for (size_t i = 0; i < N; i++) {
    hc_stats_t before = stats_of(e.heap);
    uint32_t nslots = (uint32_t)(i * 37 % 1000);
    hc_object_t *obj = hc_alloc(e.m, sizes[i], nslots);
    CHECK(obj != NULL);
    CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_OK);
    check_layout(obj, sizes[i], nslots);
    CHECK(is_zeroed(obj));
    hc_stats_t after = stats_of(e.heap);
    CHECK_EQ_U64(after.large_objects, before.large_objects + 1);
    CHECK(after.committed_bytes >= before.committed_bytes + sizes[i]);
    if (sizes[i] <= (1u << 20)) fill_pattern(obj, 1000 + i);
    objs[i] = obj;
    spans[i] = span_of(obj);
  }
  for (size_t i = 0; i < N; i++) {
    if (sizes[i] <= (1u << 20)) CHECK(check_pattern(objs[i], 1000 + i));
  }
  check_disjoint(spans, N);
  VERIFY_OK(e.m);
  CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_FULL), HC_OK);
  hc_sweep_all(e.m);
  hc_shrink(e.m);
  VERIFY_OK(e.m);
  CHECK_EQ_U64(stats_of(e.heap).large_objects, 0);
  /* A reused large allocation is zeroed again. */
  hc_object_t *again = hc_alloc(e.m, 100000, 3);
  check_layout(again, 100000, 3);
  CHECK(is_zeroed(again));
  env_close(&e);
}

/* Thousands of objects of random sizes, a rooted subset kept across collections and sweeps: no
 * live object overlaps another and no payload is disturbed by later allocations. */
static void test_no_overlap_mixed(void) {
  enum { KEEP = 600, TOTAL = 30000, GC_EVERY = 2500 };
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.seed = 7;
  cfg.gc_trigger_bytes = 0; /* fresh[] is not rooted: it dies at the explicit collections only */
  env_t e = env_open_cfg(&cfg);
  static hc_object_t *keep[KEEP];
  static uint64_t keep_tag[KEEP];
  static hc_object_t *fresh[GC_EVERY];
  static uint64_t fresh_tag[GC_EVERY];
  static span_t spans[KEEP + GC_EVERY];
  for (size_t i = 0; i < KEEP; i++)
    CHECK_EQ_U64(hc_root_push(e.m, &keep[i]), HC_OK);
  uint64_t rng = 42;
  size_t nfresh = 0;
  for (uint64_t n = 1; n <= TOTAL; n++) {
    size_t size;
    uint64_t r = rng_next(&rng) % 100;
    if (r < 60) {
      size = rng_range(&rng, 16, 128);
    } else if (r < 97) {
      size = rng_range(&rng, 129, HC_MAX_CELL_SMALL);
    } else {
      size = rng_range(&rng, HC_MAX_CELL_SMALL + 1, 40000);
    }
    uint32_t ns = (uint32_t)rng_range(&rng, 0, max_slots_for(size) < 6 ? max_slots_for(size) : 6);
    hc_object_t *obj = hc_alloc(e.m, size, ns);
    check_layout(obj, size, ns);
    CHECK(is_zeroed(obj));
    fill_pattern(obj, n);
    fresh[nfresh] = obj;
    fresh_tag[nfresh++] = n;
    if (rng_next(&rng) % 2) {
      size_t k = rng_range(&rng, 0, KEEP - 1);
      keep[k] = obj;
      keep_tag[k] = n;
      /* Point the new object at another kept one: the collector must trace it, not clobber it. */
      size_t k2 = rng_range(&rng, 0, KEEP - 1);
      if (ns > 0 && keep[k2] != NULL) hc_store(e.m, obj, 0, keep[k2]);
    }
    if (n % GC_EVERY == 0) {
      size_t ns_total = 0;
      for (size_t k = 0; k < KEEP; k++) {
        if (keep[k] != NULL) spans[ns_total++] = span_of(keep[k]);
      }
      for (size_t i = 0; i < nfresh; i++) {
        CHECK(check_pattern(fresh[i], fresh_tag[i]));
        spans[ns_total++] = span_of(fresh[i]);
      }
      /* Kept objects are also in `fresh` when allocated since the last GC: dedupe by sorting. */
      qsort(spans, ns_total, sizeof *spans, span_cmp);
      size_t u = 0;
      for (size_t i = 0; i < ns_total; i++) {
        if (u == 0 || spans[u - 1].start != spans[i].start) spans[u++] = spans[i];
      }
      check_disjoint(spans, u);
      nfresh = 0;
      CHECK_EQ_U64(hc_collect(e.m, (n / GC_EVERY) % 3 ? HC_COLLECT_EDEN : HC_COLLECT_FULL), HC_OK);
      VERIFY_OK(e.m);
      if ((n / GC_EVERY) % 2) hc_sweep_all(e.m);
      for (size_t k = 0; k < KEEP; k++) {
        if (keep[k] != NULL) CHECK(check_pattern(keep[k], keep_tag[k]));
      }
    }
  }
  for (size_t k = 0; k < KEEP; k++) {
    if (keep[k] != NULL) CHECK(check_pattern(keep[k], keep_tag[k]));
  }
  CHECK_EQ_U64(hc_root_pop(e.m, KEEP), HC_OK);
  VERIFY_OK(e.m);
  env_close(&e);
}

static void expect_alloc_error(hc_mutator_t *m, size_t size, uint32_t nslots, hc_status_t want) {
  CHECK(hc_alloc(m, size, nslots) == NULL);
  CHECK_EQ_U64(hc_mutator_last_error(m), want);
  hc_object_t *ok = hc_alloc(m, 32, 1);
  CHECK(ok != NULL);
  CHECK_EQ_U64(hc_mutator_last_error(m), HC_OK);
  CHECK(hc_alloc_ex(m, size, nslots, HC_ALLOC_FINALIZE) == NULL);
  CHECK_EQ_U64(hc_mutator_last_error(m), want);
}

static void test_misuse(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  env_t e = env_open_cfg(&cfg);
  CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_OK);
  hc_stats_t before = stats_of(e.heap);
  expect_alloc_error(e.m, 0, 0, HC_ERR_SIZE_ZERO);
  expect_alloc_error(e.m, (size_t)HC_MAX_OBJECT + 1, 0, HC_ERR_SIZE_TOO_LARGE);
  expect_alloc_error(e.m, SIZE_MAX, 0, HC_ERR_SIZE_TOO_LARGE);
  expect_alloc_error(e.m, 16, 2, HC_ERR_TOO_MANY_SLOTS);           /* 8 + 16 > 16 */
  expect_alloc_error(e.m, 23, 2, HC_ERR_TOO_MANY_SLOTS);           /* 8 + 16 > 23 */
  expect_alloc_error(e.m, 8, 1, HC_ERR_TOO_MANY_SLOTS);            /* header only */
  expect_alloc_error(e.m, 64, 0x20000000u, HC_ERR_TOO_MANY_SLOTS); /* 8 * n wraps in 32 bits */
  expect_alloc_error(e.m, 64, UINT32_MAX, HC_ERR_TOO_MANY_SLOTS);
  expect_alloc_error(e.m, HC_MAX_CELL_SMALL + 100, 1020, HC_ERR_TOO_MANY_SLOTS);
  expect_alloc_error(e.m, HC_MAX_OBJECT, UINT32_MAX, HC_ERR_TOO_MANY_SLOTS);
  expect_alloc_error(e.m, 16 + 8 * ((size_t)HC_MAX_SLOTS + 1), HC_MAX_SLOTS + 1,
                     HC_ERR_TOO_MANY_SLOTS); /* fits the size, but over HC_MAX_SLOTS */
  hc_stats_t after = stats_of(e.heap);
  /* Only the eleven successful 32-byte allocations count (one per expect_alloc_error). */
  CHECK_EQ_U64(after.objects_allocated - before.objects_allocated, 11);
  CHECK(after.bytes_allocated - before.bytes_allocated >= 11 * 32);
  CHECK(after.bytes_allocated - before.bytes_allocated <= 11 * hc_cell_size_for(32));
  /* Exact fits are fine. */
  hc_object_t *fit = hc_alloc(e.m, 24, 2);
  check_layout(fit, 24, 2);
  CHECK_EQ_U64(hc_object_payload_size(fit), 0);
  hc_object_t *hdr_only = hc_alloc(e.m, 8, 0);
  check_layout(hdr_only, 8, 0);
  CHECK_EQ_U64(hc_cell_size_for(8), 16);
  hc_object_t *odd = hc_alloc(e.m, 17, 1);
  check_layout(odd, 17, 1);
  CHECK_EQ_U64(hc_object_payload_size(odd), 1);
  CHECK(is_zeroed(odd));
  CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_OK);
  /* The most slots an object may have. */
  hc_object_t *wide = hc_alloc(e.m, 8 + 8 * (size_t)HC_MAX_SLOTS, HC_MAX_SLOTS);
  check_layout(wide, 8 + 8 * (size_t)HC_MAX_SLOTS, HC_MAX_SLOTS);
  CHECK(is_zeroed(wide));
  hc_store(e.m, wide, HC_MAX_SLOTS - 1, odd);
  CHECK(hc_load(wide, HC_MAX_SLOTS - 1) == odd && hc_load(wide, 0) == NULL);
  VERIFY_OK(e.m);
  env_close(&e);
}

int main(void) {
  RUN_TEST(test_status_names);
  RUN_TEST(test_cell_size_for);
  RUN_TEST(test_every_small_size);
  RUN_TEST(test_every_small_size_scribble);
  RUN_TEST(test_large_sizes);
  RUN_TEST(test_no_overlap_mixed);
  RUN_TEST(test_misuse);
  return 0;
}
