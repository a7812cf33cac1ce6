/* test_gc_trigger.c: the automatic collection trigger, adaptive and fixed (issue 17).
 *
 * Adaptive (HC_GC_TRIGGER_ADAPTIVE, hc_config_init's default): after a full collection that
 * found L bytes live, every automatic collection comes after about max(HC_GC_MIN_TRIGGER,
 * L * HC_GC_HEAP_GROWTH / 100) bytes of allocation: not much before (it would be collecting a
 * heap that has not grown), not much after (the heap would grow without bound). An eden
 * collection shrinks the budget by what it promoted: the heap stays within (1 + growth) times the
 * last full collection's survivors, and an eden collection's own count (which cannot tell dead
 * old objects from live ones) never raises it. A fixed
 * trigger keeps its meaning whatever is live, and 0 never collects on its own: the fuzz interpreter
 * sets both explicitly and its traces depend on it.
 *
 * "About": allocation counts toward the trigger a block's free cells at a time (16 KiB) and a
 * collection starts on the next slow path, so each check allows a few blocks either way. */
#include "heapcore.h"
#include "hc_testutil.h"

#include <stdint.h>
#include <string.h>

enum { OBJ_SIZE = 64 };
#define SLACK ((uint64_t)4 * HC_BLOCK_SIZE)

static uint64_t collections(hc_heap_t *heap) {
  hc_stats_t st = stats_of(heap);
  return st.full_collections + st.eden_collections;
}

/* A list of about `bytes` of live objects, hung from *root (which must be rooted). */
static void grow_live(hc_mutator_t *m, hc_object_t **root, uint64_t bytes) {
  const size_t cell = hc_cell_size_for(OBJ_SIZE);
  for (uint64_t done = 0; done < bytes; done += cell) {
    hc_object_t *node = hc_alloc(m, OBJ_SIZE, 1);
    CHECK(node != NULL);
    hc_store(m, node, 0, *root);
    *root = node;
  }
}

/* Allocates garbage until an automatic collection starts (or `limit` bytes went by); returns
 * the bytes allocated before it. */
static uint64_t bytes_until_collection(env_t *e, uint64_t limit) {
  const size_t cell = hc_cell_size_for(OBJ_SIZE);
  const uint64_t before = collections(e->heap);
  uint64_t done = 0;
  while (done < limit && collections(e->heap) == before) {
    CHECK(hc_alloc(e->m, OBJ_SIZE, 1) != NULL);
    done += cell;
  }
  return done;
}

static void check_about(uint64_t got, uint64_t want) {
  if (got + SLACK < want || got > want + SLACK) {
    fprintf(stderr, "collected after %llu bytes, want about %llu\n", (unsigned long long)got,
            (unsigned long long)want);
    CHECK(got + SLACK >= want && got <= want + SLACK);
  }
}

/* The trigger the adaptive policy must use after a full collection found `live` bytes. */
static uint64_t adaptive_budget(uint64_t live) {
  uint64_t grow = live * HC_GC_HEAP_GROWTH / 100u;
  return grow < HC_GC_MIN_TRIGGER ? HC_GC_MIN_TRIGGER : grow;
}

/* ... and after an eden collection left `now` bytes marked, the last full one `live`. */
static uint64_t adaptive_budget_eden(uint64_t live, uint64_t now) {
  uint64_t bound = live + live * HC_GC_HEAP_GROWTH / 100u;
  uint64_t budget = bound > now ? bound - now : 0;
  return budget < HC_GC_MIN_TRIGGER ? HC_GC_MIN_TRIGGER : budget;
}

static void test_default_is_adaptive(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  CHECK_EQ_U64(cfg.gc_trigger_bytes, HC_GC_TRIGGER_ADAPTIVE);
  CHECK(HC_GC_HEAP_GROWTH > 0 && HC_GC_MIN_TRIGGER > 0);
}

/* An empty heap: the floor, not a collection every few blocks. */
static void test_adaptive_floor(void) {
  env_t e = env_open();
  check_about(bytes_until_collection(&e, 4 * (uint64_t)HC_GC_MIN_TRIGGER), HC_GC_MIN_TRIGGER);
  /* Nothing survived, so the floor again. */
  check_about(bytes_until_collection(&e, 4 * (uint64_t)HC_GC_MIN_TRIGGER), HC_GC_MIN_TRIGGER);
  env_close(&e);
}

/* A live heap L well over the floor: the next collection after about L * growth of allocation;
 * after the live heap grows to 3L, after about 3L * growth. */
static void test_adaptive_follows_live_heap(void) {
  env_t e = env_open();
  hc_object_t *list = NULL;
  CHECK_EQ_U64(hc_root_push(e.m, &list), HC_OK);
  const uint64_t live = 4 * (uint64_t)HC_GC_MIN_TRIGGER;
  grow_live(e.m, &list, live);
  collect_ok(e.m, HC_COLLECT_FULL);
  const uint64_t measured = stats_of(e.heap).live_bytes;
  CHECK(measured >= live && measured < live + SLACK);
  const uint64_t limit = 8 * live;
  check_about(bytes_until_collection(&e, limit), adaptive_budget(measured));
  /* That collection freed the garbage and kept the list: the same budget again. */
  check_about(bytes_until_collection(&e, limit), adaptive_budget(stats_of(e.heap).live_bytes));

  grow_live(e.m, &list, 2 * live);
  collect_ok(e.m, HC_COLLECT_FULL);
  const uint64_t measured3 = stats_of(e.heap).live_bytes;
  CHECK(measured3 >= 3 * live && measured3 < 3 * live + SLACK);
  check_about(bytes_until_collection(&e, limit), adaptive_budget(measured3));

  /* The list dies: the next budget shrinks back to the floor after a collection sees that. */
  list = NULL;
  collect_ok(e.m, HC_COLLECT_FULL);
  check_about(bytes_until_collection(&e, limit), HC_GC_MIN_TRIGGER);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  env_close(&e);
}

/* Eden collections (full_gc_growth set, too high to make any automatic collection full here)
 * take what they promoted out of the budget, and never size it on their own count. */
static void test_adaptive_with_eden(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.full_gc_growth = 100000;
  env_t e = env_open_cfg(&cfg);
  hc_object_t *list = NULL;
  CHECK_EQ_U64(hc_root_push(e.m, &list), HC_OK);
  const uint64_t live = 4 * (uint64_t)HC_GC_MIN_TRIGGER;
  grow_live(e.m, &list, live);
  collect_ok(e.m, HC_COLLECT_FULL);
  const uint64_t measured = stats_of(e.heap).live_bytes;
  CHECK(measured >= live);
  for (int round = 0; round < 2; round++) {
    const uint64_t eden_before = stats_of(e.heap).eden_collections;
    check_about(bytes_until_collection(&e, 8 * live), adaptive_budget(measured));
    CHECK_EQ_U64(stats_of(e.heap).eden_collections, eden_before + 1); /* nothing promoted */
  }
  /* Half the old generation again, promoted by an eden collection: half the budget left. */
  grow_live(e.m, &list, live / 2);
  collect_ok(e.m, HC_COLLECT_EDEN);
  uint64_t now = stats_of(e.heap).live_bytes;
  CHECK(now >= measured + live / 2);
  CHECK(adaptive_budget_eden(measured, now) < adaptive_budget(measured));
  check_about(bytes_until_collection(&e, 8 * live), adaptive_budget_eden(measured, now));
  /* The old generation past the bound, then dead but still sticky-marked: the floor, however
   * large the eden collection's count. */
  grow_live(e.m, &list, 2 * live);
  collect_ok(e.m, HC_COLLECT_EDEN);
  list = NULL;
  collect_ok(e.m, HC_COLLECT_EDEN);
  CHECK(stats_of(e.heap).live_bytes >= 3 * live); /* sticky: dead but still counted */
  check_about(bytes_until_collection(&e, 8 * live), HC_GC_MIN_TRIGGER);
  /* A full collection measures again: nothing is live, the floor. */
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK(stats_of(e.heap).live_bytes < SLACK);
  check_about(bytes_until_collection(&e, 8 * live), HC_GC_MIN_TRIGGER);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  env_close(&e);
}

/* A list of `count` old objects with a spare slot (1), fully collected: the old generation. */
static hc_object_t *old_list(env_t *e, hc_object_t **root, size_t count) {
  for (size_t i = 0; i < count; i++) {
    hc_object_t *node = hc_alloc(e->m, OBJ_SIZE, 2);
    CHECK(node != NULL);
    hc_store(e->m, node, 0, *root);
    *root = node;
  }
  collect_ok(e->m, HC_COLLECT_FULL);
  return *root;
}

/* Stores a young object into slot 1 of every `every`th node: each such node is remembered. */
static void remember_every(env_t *e, hc_object_t **root, size_t every) {
  size_t i = 0;
  for (hc_object_t *n = *root; n != NULL; n = hc_load(n, 0), i++) {
    if (i % every != 0) continue;
    hc_object_t *young = hc_alloc(e->m, OBJ_SIZE, 0); /* n is reachable from *root */
    CHECK(young != NULL);
    hc_store(e->m, n, 1, young);
  }
}

/* The kind of the next automatic collection once every `every`th node of an old list of `count`
 * is remembered; trigger 0 here means the adaptive one. */
static hc_collection_kind_t next_kind(size_t trigger, size_t every, size_t count) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  if (trigger != 0) cfg.gc_trigger_bytes = trigger;
  cfg.full_gc_growth = 100000; /* promotion alone never makes one full here */
  env_t e = env_open_cfg(&cfg);
  hc_object_t *list = NULL;
  CHECK_EQ_U64(hc_root_push(e.m, &list), HC_OK);
  old_list(&e, &list, count);
  remember_every(&e, &list, every);
  const hc_stats_t before = stats_of(e.heap);
  CHECK_EQ_U64(before.full_collections, 1); /* no automatic one yet: the test sees the next */
  CHECK_EQ_U64(before.eden_collections, 0);
  bytes_until_collection(&e, 64 << 20);
  const hc_stats_t after = stats_of(e.heap);
  CHECK_EQ_U64(after.full_collections + after.eden_collections, 2);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  env_close(&e);
  return after.full_collections == 2 ? HC_COLLECT_FULL : HC_COLLECT_EDEN;
}

/* Adaptive: an eden collection that would trace from a quarter or more of the old generation's
 * objects runs full; a small remembered set keeps it eden. A fixed trigger keeps its policy. */
static void test_adaptive_full_when_much_remembered(void) {
  const size_t count = HC_GC_MIN_TRIGGER / hc_cell_size_for(OBJ_SIZE); /* 4 MiB of old objects */
  CHECK_EQ_U64(next_kind(0, 2, count), HC_COLLECT_FULL);               /* half remembered */
  CHECK_EQ_U64(next_kind(0, 3, count), HC_COLLECT_FULL);               /* a third */
  CHECK_EQ_U64(next_kind(0, 8, count), HC_COLLECT_EDEN);               /* an eighth */
  CHECK_EQ_U64(next_kind(0, count, count), HC_COLLECT_EDEN);           /* one */
  CHECK_EQ_U64(next_kind((size_t)16 << 20, 2, count), HC_COLLECT_EDEN);
}

/* A fixed trigger is honoured exactly, whatever is live: no adaptation. */
static void test_fixed_trigger_honoured(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.gc_trigger_bytes = (size_t)1 << 20;
  env_t e = env_open_cfg(&cfg);
  hc_object_t *list = NULL;
  CHECK_EQ_U64(hc_root_push(e.m, &list), HC_OK);
  check_about(bytes_until_collection(&e, 64 << 20), cfg.gc_trigger_bytes);
  grow_live(e.m, &list, 4 * (uint64_t)HC_GC_MIN_TRIGGER); /* collects every MiB meanwhile */
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK(stats_of(e.heap).live_bytes >= 4 * (uint64_t)HC_GC_MIN_TRIGGER);
  check_about(bytes_until_collection(&e, 64 << 20), cfg.gc_trigger_bytes);
  check_about(bytes_until_collection(&e, 64 << 20), cfg.gc_trigger_bytes);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  env_close(&e);

  /* Nor is a fixed trigger over the floor lowered to an (emptier) heap's adaptive budget. */
  cfg.gc_trigger_bytes = 3 * (size_t)HC_GC_MIN_TRIGGER;
  e = env_open_cfg(&cfg);
  check_about(bytes_until_collection(&e, 64 << 20), cfg.gc_trigger_bytes);
  check_about(bytes_until_collection(&e, 64 << 20), cfg.gc_trigger_bytes);
  env_close(&e);
}

/* 0: only explicit collections, however much is allocated. */
static void test_zero_never_collects(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.gc_trigger_bytes = 0;
  env_t e = env_open_cfg(&cfg);
  const uint64_t limit = 4 * (uint64_t)HC_GC_MIN_TRIGGER;
  CHECK_EQ_U64(bytes_until_collection(&e, limit), limit);
  CHECK_EQ_U64(collections(e.heap), 0);
  collect_ok(e.m, HC_COLLECT_FULL); /* an explicit one does not arm anything */
  CHECK_EQ_U64(bytes_until_collection(&e, limit), limit);
  CHECK_EQ_U64(collections(e.heap), 1);
  env_close(&e);
}

int main(void) {
  RUN_TEST(test_default_is_adaptive);
  RUN_TEST(test_adaptive_floor);
  RUN_TEST(test_adaptive_follows_live_heap);
  RUN_TEST(test_adaptive_with_eden);
  RUN_TEST(test_adaptive_full_when_much_remembered);
  RUN_TEST(test_fixed_trigger_honoured);
  RUN_TEST(test_zero_never_collects);
  return 0;
}
