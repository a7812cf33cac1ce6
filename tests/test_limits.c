/* test_limits.c: black-box tests of the heap limit, fault injection, the checked API, version
 * wraparound, destroy-state errors, the yield hook and the event hook (and its determinism). */
#include "heapcore.h"
#include "hc_testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Heap limit and fault injection
 * ------------------------------------------------------------------------------------------- */

enum { LIMIT = 512 * 1024 };

static void test_heap_limit_reached(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.heap_limit = LIMIT;
  env_t e = env_open_cfg(&cfg);
  hc_object_t *head = NULL;
  CHECK_EQ_U64(hc_root_push(e.m, &head), HC_OK);
  size_t n = 0;
  uint64_t full_before = 0;
  for (;;) {
    CHECK(n < LIMIT / 1000 + 1); /* cannot fit more than this */
    full_before = stats_of(e.heap).full_collections;
    hc_object_t *obj = hc_alloc(e.m, 1000, 1);
    if (obj == NULL) break;
    put_tag(obj, ++n);
    hc_store(e.m, obj, 0, head);
    head = obj;
  }
  CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_ERR_HEAP_LIMIT);
  CHECK(stats_of(e.heap).full_collections > full_before); /* it tried a full collection first */
  CHECK(n >= LIMIT / 2 / hc_cell_size_for(1000));         /* and did not give up early */
  CHECK(stats_of(e.heap).committed_bytes <= LIMIT);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, n);
  VERIFY_OK(e.m);
  size_t k = n;
  for (hc_object_t *p = head; p != NULL; p = hc_load(p, 0))
    CHECK(has_tag(p, k--));
  CHECK_EQ_U64(k, 0);
  /* A single object over the limit is a size error. */
  CHECK(hc_alloc(e.m, 2 * LIMIT, 0) == NULL);
  CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_ERR_SIZE_TOO_LARGE);
  /* Drop everything: allocation works again, small and, after shrinking, large. */
  head = NULL;
  collect_ok(e.m, HC_COLLECT_FULL);
  for (size_t i = 0; i < 100; i++)
    alloc_tagged(e.m, 1000, 1, i);
  collect_ok(e.m, HC_COLLECT_FULL);
  hc_sweep_all(e.m);
  hc_shrink(e.m);
  VERIFY_OK(e.m);
  hc_object_t *big = hc_alloc(e.m, LIMIT / 4, 0);
  CHECK(big != NULL);
  CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_OK);
  VERIFY_OK(e.m);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  env_close(&e);
}

/* Garbage never makes the limit fail: the heap collects before giving up. */
static void test_heap_limit_garbage(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.heap_limit = LIMIT;
  env_t e = env_open_cfg(&cfg);
  hc_object_t *keep = alloc_tagged(e.m, 4000, 0, 1);
  CHECK_EQ_U64(hc_root_push(e.m, &keep), HC_OK);
  for (size_t i = 0; i < 16 * LIMIT / 1000; i++)
    alloc_tagged(e.m, 1000, 1, i);
  CHECK(stats_of(e.heap).full_collections > 0);
  CHECK(stats_of(e.heap).committed_bytes <= LIMIT);
  CHECK(has_tag(keep, 1));
  VERIFY_OK(e.m);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  env_close(&e);
  /* The same with large objects only: dead ones must not count against the limit for ever. */
  e = env_open_cfg(&cfg);
  for (size_t i = 0; i < 40; i++)
    alloc_tagged(e.m, LIMIT / 5, 0, i);
  CHECK(stats_of(e.heap).full_collections > 0);
  CHECK(stats_of(e.heap).committed_bytes <= LIMIT);
  VERIFY_OK(e.m);
  env_close(&e);
}

/* The first allocation of a fresh heap, with fault injection armed at its nth step: it fails
 * with HC_ERR_INJECTED_FAULT, leaves nothing behind (no block, no committed byte, a heap that
 * verifies), and the next one works. size picks a small object (the steps of a new block) or a
 * large one (those of a large object). */
static void expect_injected_at(uint64_t nth, size_t size) {
  env_t e = env_open();
  hc_heap_fail_allocation(e.heap, nth);
  CHECK(hc_alloc(e.m, size, 0) == NULL);
  CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_ERR_INJECTED_FAULT);
  hc_stats_t st = stats_of(e.heap);
  CHECK_EQ_U64(st.failed_acquisitions, 1);
  CHECK_EQ_U64(st.committed_bytes, 0);
  CHECK_EQ_U64(st.blocks, 0);
  CHECK_EQ_U64(st.large_objects, 0);
  VERIFY_OK(e.m);
  hc_object_t *obj = hc_alloc(e.m, size, 0); /* one-shot: the next one works */
  CHECK(obj != NULL);
  CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_OK);
  put_tag(obj, nth);
  collect_ok(e.m, HC_COLLECT_FULL);
  VERIFY_OK(e.m);
  env_close(&e);
}

static void test_fault_injection(void) {
  /* A fresh heap's first block takes every step: reserve, handle, pool growth, block set,
   * directory growth (hc_heap_fail_allocation's list); its first large object four. */
  for (uint64_t nth = 1; nth <= 5; nth++)
    expect_injected_at(nth, 4000);
  for (uint64_t nth = 1; nth <= 4; nth++)
    expect_injected_at(nth, 50000);
  /* Later steps: the knob counts from when it is armed, and the objects made before the failure
   * stay intact. */
  env_t e = env_open();
  hc_object_t *objs[64];
  for (uint64_t nth = 1; nth <= 8; nth++) {
    uint64_t f0 = stats_of(e.heap).failed_acquisitions;
    hc_heap_fail_allocation(e.heap, nth);
    size_t n = 0;
    for (;;) {
      CHECK(n < 64);
      hc_object_t *obj = hc_alloc(e.m, 4000, 0); /* a few per block: reaches new blocks fast */
      if (obj == NULL) break;
      put_tag(obj, nth * 100 + n);
      objs[n++] = obj;
    }
    CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_ERR_INJECTED_FAULT);
    CHECK_EQ_U64(stats_of(e.heap).failed_acquisitions - f0, 1);
    VERIFY_OK(e.m);
    for (size_t i = 0; i < n; i++)
      CHECK(has_tag(objs[i], nth * 100 + i));
    CHECK(hc_alloc(e.m, 4000, 0) != NULL);
    CHECK_EQ_U64(hc_mutator_last_error(e.m), HC_OK);
    VERIFY_OK(e.m);
  }
  /* Disarming. */
  hc_heap_fail_allocation(e.heap, 3);
  hc_heap_fail_allocation(e.heap, 0);
  for (size_t i = 0; i < 10; i++)
    CHECK(hc_alloc(e.m, 50000, 0) != NULL);
  VERIFY_OK(e.m);
  env_close(&e);
}

/* ---------------------------------------------------------------------------------------------
 * Checked API
 * ------------------------------------------------------------------------------------------- */

static void expect_bad_obj(hc_mutator_t *m, hc_object_t *bad, hc_object_t *value,
                           hc_status_t want) {
  hc_object_t *out = (hc_object_t *)&out;
  CHECK_EQ_U64(hc_store_checked(m, bad, 0, value), want);
  CHECK_EQ_U64(hc_load_checked(m, bad, 0, &out), want);
  CHECK(!hc_is_live_object(m, bad));
}

static void test_checked_api(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.release_empty_blocks = true;
  env_t e = env_open_cfg(&cfg);
  hc_object_t *obj = alloc_tagged(e.m, 64, 2, 1);
  hc_object_t *v = alloc_tagged(e.m, 32, 0, 2);
  hc_object_t *large = alloc_tagged(e.m, 30000, 3, 3);
  hc_object_t *roots[3] = {obj, v, large};
  for (size_t i = 0; i < 3; i++)
    CHECK_EQ_U64(hc_root_push(e.m, &roots[i]), HC_OK);
  hc_object_t *out = NULL;
  CHECK_EQ_U64(hc_store_checked(e.m, obj, 1, v), HC_OK);
  CHECK_EQ_U64(hc_load_checked(e.m, obj, 1, &out), HC_OK);
  CHECK(out == v);
  CHECK_EQ_U64(hc_store_checked(e.m, large, 2, obj), HC_OK);
  CHECK_EQ_U64(hc_load_checked(e.m, large, 2, &out), HC_OK);
  CHECK(out == obj);
  CHECK(hc_is_live_object(e.m, obj) && hc_is_live_object(e.m, v) && hc_is_live_object(e.m, large));
  /* Slot range. */
  CHECK_EQ_U64(hc_store_checked(e.m, obj, 2, v), HC_ERR_SLOT_OUT_OF_RANGE);
  CHECK_EQ_U64(hc_load_checked(e.m, obj, 2, &out), HC_ERR_SLOT_OUT_OF_RANGE);
  CHECK_EQ_U64(hc_store_checked(e.m, obj, UINT32_MAX, v), HC_ERR_SLOT_OUT_OF_RANGE);
  CHECK_EQ_U64(hc_load_checked(e.m, v, 0, &out), HC_ERR_SLOT_OUT_OF_RANGE);
  CHECK_EQ_U64(hc_store_checked(e.m, large, 3, v), HC_ERR_SLOT_OUT_OF_RANGE);
  /* Pointers that are not cells of this heap. */
  CHECK_EQ_U64(hc_store_checked(e.m, NULL, 0, v), HC_ERR_INVALID_ARGUMENT);
  CHECK_EQ_U64(hc_load_checked(e.m, NULL, 0, &out), HC_ERR_INVALID_ARGUMENT);
  CHECK(!hc_is_live_object(e.m, NULL));
  uint64_t on_stack[8] = {0};
  void *heap_mem = calloc(1, 256);
  CHECK(heap_mem != NULL);
  expect_bad_obj(e.m, (hc_object_t *)((uint8_t *)obj + 16), v, HC_ERR_NOT_A_CELL);
  expect_bad_obj(e.m, (hc_object_t *)((uint8_t *)obj + 1), v, HC_ERR_NOT_A_CELL);
  expect_bad_obj(e.m, (hc_object_t *)((uint8_t *)large + 64), v, HC_ERR_NOT_A_CELL);
  expect_bad_obj(e.m, (hc_object_t *)((uintptr_t)obj & ~(uintptr_t)(HC_BLOCK_SIZE - 1)), v,
                 HC_ERR_NOT_A_CELL);
  expect_bad_obj(e.m, (hc_object_t *)on_stack, v, HC_ERR_NOT_A_CELL);
  expect_bad_obj(e.m, (hc_object_t *)heap_mem, v, HC_ERR_NOT_A_CELL);
  /* A cell of the same block that was never handed out. */
  hc_object_t *next_cell = (hc_object_t *)((uint8_t *)obj + hc_cell_size_for(64));
  if (((uintptr_t)next_cell ^ (uintptr_t)obj) < HC_BLOCK_SIZE) {
    expect_bad_obj(e.m, next_cell, v, HC_ERR_NOT_A_CELL);
  }
  /* Bad values are refused and leave the slot alone; NULL is a fine value. */
  CHECK_EQ_U64(hc_store_checked(e.m, obj, 1, (hc_object_t *)((uint8_t *)v + 8)), HC_ERR_NOT_A_CELL);
  CHECK_EQ_U64(hc_store_checked(e.m, obj, 1, (hc_object_t *)heap_mem), HC_ERR_NOT_A_CELL);
  CHECK(hc_load(obj, 1) == v);
  CHECK_EQ_U64(hc_store_checked(e.m, obj, 0, NULL), HC_OK);
  /* Objects of another heap. */
  env_t other = env_open();
  hc_object_t *foreign = alloc_tagged(other.m, 64, 2, 9);
  expect_bad_obj(e.m, foreign, v, HC_ERR_NOT_A_CELL);
  CHECK_EQ_U64(hc_store_checked(e.m, obj, 1, foreign), HC_ERR_NOT_A_CELL);
  CHECK(hc_is_live_object(other.m, foreign));
  env_close(&other);
  /* Dead objects: found unreachable (unswept), then swept, then their block released. */
  hc_object_t *dead = alloc_tagged(e.m, 128, 1, 4);
  hc_object_t *dead_large = alloc_tagged(e.m, 20000, 1, 5);
  for (size_t i = 0; i < 500; i++)
    alloc_tagged(e.m, 128, 0, 100 + i); /* more dead in blocks */
  CHECK(hc_is_live_object(e.m, dead) && hc_is_live_object(e.m, dead_large));
  CHECK_EQ_U64(hc_collect(e.m, HC_COLLECT_FULL), HC_OK);
  expect_bad_obj(e.m, dead, v, HC_ERR_NOT_A_CELL);
  expect_bad_obj(e.m, dead_large, v, HC_ERR_NOT_A_CELL);
  CHECK_EQ_U64(hc_store_checked(e.m, obj, 1, dead), HC_ERR_NOT_A_CELL);
  hc_sweep_all(e.m);
  VERIFY_OK(e.m);
  expect_bad_obj(e.m, dead, v, HC_ERR_NOT_A_CELL);
  hc_shrink(e.m);
  VERIFY_OK(e.m);
  expect_bad_obj(e.m, dead, v, HC_ERR_NOT_A_CELL);
  expect_bad_obj(e.m, dead_large, v, HC_ERR_NOT_A_CELL);
  CHECK(has_tag(obj, 1) && has_tag(v, 2) && has_tag(large, 3) && hc_load(obj, 1) == v);
  free(heap_mem);
  CHECK_EQ_U64(hc_root_pop(e.m, 3), HC_OK);
  env_close(&e);
}

/* ---------------------------------------------------------------------------------------------
 * Version wraparound
 * ------------------------------------------------------------------------------------------- */

enum { WR_ROOTS = 24, WR_BATCH = 40, WR_ITERS = 60, WR_MAX = WR_BATCH * WR_ITERS };
typedef struct wr_obj {
  hc_object_t *obj;
  hc_weak_t *weak;
  bool alive, old;
} wr_obj_t;
static wr_obj_t wr[WR_MAX];

static void wraparound_case(unsigned version_limit) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.version_limit = version_limit;
  env_t e = env_open_cfg(&cfg);
  hc_object_t *forever = alloc_tagged(e.m, 777, 0, 999999); /* its block is never touched again */
  hc_object_t *root[WR_ROOTS] = {0};
  int root_idx[WR_ROOTS];
  CHECK_EQ_U64(hc_root_push(e.m, &forever), HC_OK);
  for (size_t r = 0; r < WR_ROOTS; r++) {
    root_idx[r] = -1;
    CHECK_EQ_U64(hc_root_push(e.m, &root[r]), HC_OK);
  }
  size_t n = 0;
  uint64_t rng = version_limit;
  for (unsigned it = 0; it < WR_ITERS; it++) {
    for (size_t b = 0; b < WR_BATCH; b++, n++) {
      wr[n].obj = alloc_tagged(e.m, 32 + 16 * (n % 5), 0, n + 1);
      wr[n].alive = true;
      wr[n].old = false;
      CHECK_EQ_U64(hc_weak_create(e.m, wr[n].obj, &wr[n].weak), HC_OK);
      rng = rng * 6364136223846793005u + 1442695040888963407u;
      if ((rng >> 33) % 4 == 0) {
        size_t r = (rng >> 40) % WR_ROOTS;
        root[r] = wr[n].obj;
        root_idx[r] = (int)n;
      }
    }
    bool full = ((it * 7 + version_limit) % 5) < 2;
    collect_ok(e.m, full ? HC_COLLECT_FULL : HC_COLLECT_EDEN);
    bool rooted[WR_MAX] = {false};
    for (size_t r = 0; r < WR_ROOTS; r++) {
      if (root_idx[r] >= 0) rooted[root_idx[r]] = true;
    }
    uint64_t live = 1; /* forever */
    for (size_t i = 0; i < n; i++) {
      if (!wr[i].alive) continue;
      bool survives = rooted[i] || (!full && wr[i].old);
      CHECK(hc_weak_get(wr[i].weak) == (survives ? wr[i].obj : NULL));
      if (survives) {
        CHECK(has_tag(wr[i].obj, i + 1));
        live++;
      } else {
        CHECK_EQ_U64(hc_weak_destroy(e.m, wr[i].weak), HC_OK);
      }
      wr[i].alive = wr[i].old = survives;
    }
    CHECK_EQ_U64(stats_of(e.heap).live_objects, live);
    CHECK(has_tag(forever, 999999));
    if (it % 3 == 0) {
      hc_sweep_all(e.m);
      VERIFY_OK(e.m);
    }
  }
  CHECK(stats_of(e.heap).version_wraps > 0);
  for (size_t i = 0; i < n; i++) {
    if (wr[i].alive) CHECK_EQ_U64(hc_weak_destroy(e.m, wr[i].weak), HC_OK);
  }
  env_close(&e);
}

static void test_version_wraparound(void) {
  wraparound_case(2);
  wraparound_case(3);
}

/* ---------------------------------------------------------------------------------------------
 * Lifetime errors, yield hook, event hook
 * ------------------------------------------------------------------------------------------- */

static void test_destroy_states(void) {
  hc_config_t cfg;
  hc_heap_t *bad = NULL;
  hc_config_init(&cfg);
  CHECK_EQ_U64(cfg.version_limit, 255);
  CHECK_EQ_U64(cfg.heap_limit, 0);
  CHECK_EQ_U64(cfg.gc_trigger_bytes, HC_GC_TRIGGER_ADAPTIVE);
  cfg.version_limit = 1;
  CHECK_EQ_U64(hc_heap_create(&cfg, &bad), HC_ERR_INVALID_ARGUMENT);
  cfg.version_limit = 256;
  CHECK_EQ_U64(hc_heap_create(&cfg, &bad), HC_ERR_INVALID_ARGUMENT);
  env_t e = env_open();
  hc_object_t *a = alloc_tagged(e.m, 64, 0, 1);
  CHECK_EQ_U64(hc_root_push(e.m, &a), HC_OK);
  CHECK_EQ_U64(hc_heap_destroy(e.heap), HC_ERR_WRONG_STATE);
  /* Still fully usable. */
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK(has_tag(a, 1) && alloc_tagged(e.m, 64, 0, 2) != NULL);
  CHECK_EQ_U64(hc_mutator_id(e.m), 1);
  CHECK(hc_mutator_heap(e.m) == e.heap);
  CHECK_EQ_U64(hc_mutator_detach(e.m), HC_OK);
  CHECK_EQ_U64(hc_sweeper_start(e.heap), HC_OK);
  CHECK_EQ_U64(hc_heap_destroy(e.heap), HC_ERR_WRONG_STATE);
  CHECK_EQ_U64(hc_sweeper_stop(e.heap), HC_OK);
  CHECK_EQ_U64(hc_heap_destroy(e.heap), HC_OK);
}

typedef struct yield_log {
  uint64_t count[HC_YP_COUNT];
  uint64_t bad_mutator;
  hc_mutator_t *expect;
} yield_log_t;

#ifdef HC_YIELD_POINTS
static void yield_fn(void *ctx, hc_yield_point_t point, hc_mutator_t *mutator) {
  yield_log_t *log = ctx;
  CHECK((unsigned)point < HC_YP_COUNT);
  log->count[point]++;
  if (point == HC_YP_COLLECTOR_PHASE && mutator != log->expect) log->bad_mutator++;
}
#endif

static void test_yield_hook(void) {
  env_t e = env_open();
#ifdef HC_YIELD_POINTS
  static yield_log_t log;
  log.expect = e.m;
  CHECK_EQ_U64(hc_heap_set_yield_hook(e.heap, yield_fn, &log), HC_OK);
  collect_ok(e.m, HC_COLLECT_FULL);
  uint64_t after_full = log.count[HC_YP_COLLECTOR_PHASE];
  CHECK(after_full >= 2);
  collect_ok(e.m, HC_COLLECT_EDEN);
  CHECK(log.count[HC_YP_COLLECTOR_PHASE] > after_full);
  CHECK_EQ_U64(log.bad_mutator, 0);
  CHECK_EQ_U64(hc_heap_set_yield_hook(e.heap, NULL, NULL), HC_OK);
  uint64_t before = log.count[HC_YP_COLLECTOR_PHASE];
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK_EQ_U64(log.count[HC_YP_COLLECTOR_PHASE], before);
#else
  CHECK_EQ_U64(hc_heap_set_yield_hook(e.heap, NULL, NULL), HC_ERR_UNSUPPORTED);
#endif
  env_close(&e);
}

enum { EV_MAX = 4096 };
typedef struct ev_log {
  hc_event_t ev[EV_MAX];
  size_t n;
} ev_log_t;
static ev_log_t ev_a, ev_b;

static void event_fn(void *ctx, const hc_event_t *event) {
  ev_log_t *log = ctx;
  CHECK(log->n < EV_MAX);
  log->ev[log->n++] = *event;
}

static size_t count_events(const ev_log_t *log, size_t from, hc_event_kind_t kind) {
  size_t c = 0;
  for (size_t i = from; i < log->n; i++)
    c += log->ev[i].kind == kind;
  return c;
}

/* PHASE events of one collection: valid phases, the right kind, marking among them. */
static void check_phases(const ev_log_t *log, size_t from, hc_collection_kind_t kind) {
  bool marking = false;
  for (size_t i = from; i < log->n; i++) {
    if (log->ev[i].kind != HC_EV_PHASE) continue;
    CHECK(log->ev[i].arg < HC_PHASE_COUNT);
    CHECK_EQ_U64(log->ev[i].cell_size, kind);
    marking |= log->ev[i].arg == HC_PHASE_MARKING;
  }
  CHECK(marking);
}

static void scripted_run(ev_log_t *log) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.seed = 77;
  hc_heap_t *heap;
  hc_mutator_t *m;
  log->n = 0;
  CHECK_EQ_U64(hc_heap_create(&cfg, &heap), HC_OK);
  hc_heap_set_event_hook(heap, event_fn, log);
  CHECK_EQ_U64(hc_mutator_attach(heap, &m), HC_OK);
  CHECK_EQ_U64(count_events(log, 0, HC_EV_MUTATOR_ATTACHED), 1);
  hc_object_t *keep = NULL;
  CHECK_EQ_U64(hc_root_push(m, &keep), HC_OK);
  uint64_t acq0 = stats_of(heap).block_acquisitions;
  size_t mark = log->n;
  for (size_t i = 0; i < 600; i++) {
    hc_object_t *o = alloc_tagged(m, i % 3 == 0 ? 48 : i % 3 == 1 ? 200 : 3000, 1, i);
    if (i % 10 == 0) keep = o;
  }
  hc_object_t *large = alloc_tagged(m, 40000, 0, 1);
  size_t acquired = count_events(log, mark, HC_EV_BLOCK_ACQUIRED);
  CHECK(acquired >= 3);
  CHECK_EQ_U64(count_events(log, mark, HC_EV_LARGE_ALLOCATED), 1);
  uint64_t acq = stats_of(heap).block_acquisitions - acq0;
  CHECK(acq == acquired || acq == acquired + 1); /* large objects may count as acquisitions */
  for (size_t i = mark; i < log->n; i++) {
    const hc_event_t *ev = &log->ev[i];
    if (ev->kind == HC_EV_BLOCK_ACQUIRED) {
      CHECK(ev->cell_size == hc_cell_size_for(48) || ev->cell_size == hc_cell_size_for(200) ||
            ev->cell_size == hc_cell_size_for(3000));
      CHECK(ev->block >= 1);
      CHECK_EQ_U64(ev->mutator, 1);
      for (size_t j = mark; j < i; j++) {
        CHECK(log->ev[j].kind != HC_EV_BLOCK_ACQUIRED || log->ev[j].block != ev->block);
      }
    } else if (ev->kind == HC_EV_LARGE_ALLOCATED) {
      CHECK_EQ_U64(ev->cell_size, 40000);
    }
  }
  CHECK(large != NULL);
  mark = log->n;
  collect_ok(m, HC_COLLECT_FULL);
  check_phases(log, mark, HC_COLLECT_FULL);
  mark = log->n;
  collect_ok(m, HC_COLLECT_EDEN);
  check_phases(log, mark, HC_COLLECT_EDEN);
  hc_sweep_all(m);
  hc_shrink(m);
  CHECK_EQ_U64(hc_mutator_stop_allocating(m), HC_OK);
  CHECK_EQ_U64(hc_mutator_resume_allocating(m), HC_OK);
  alloc_tagged(m, 48, 0, 5);
  CHECK_EQ_U64(hc_root_pop(m, 1), HC_OK);
  CHECK_EQ_U64(hc_mutator_detach(m), HC_OK);
  CHECK(count_events(log, 0, HC_EV_MUTATOR_DETACHED) == 1);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

static void test_event_hook(void) {
  scripted_run(&ev_a);
  scripted_run(&ev_b);
  CHECK_EQ_U64(ev_a.n, ev_b.n);
  for (size_t i = 0; i < ev_a.n; i++) {
    const hc_event_t *x = &ev_a.ev[i], *y = &ev_b.ev[i];
    if (x->kind != y->kind || x->mutator != y->mutator || x->cell_size != y->cell_size ||
        x->block != y->block || x->arg != y->arg) {
      fprintf(stderr, "event %zu differs: kind %d/%d block %llu/%llu\n", i, (int)x->kind,
              (int)y->kind, (unsigned long long)x->block, (unsigned long long)y->block);
      CHECK(!"event sequences differ");
    }
  }
  /* Removing the hook stops the events. */
  env_t e = env_open();
  ev_a.n = 0;
  hc_heap_set_event_hook(e.heap, event_fn, &ev_a);
  alloc_tagged(e.m, 64, 0, 1);
  CHECK(ev_a.n >= 1);
  hc_heap_set_event_hook(e.heap, NULL, NULL);
  size_t n = ev_a.n;
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK_EQ_U64(ev_a.n, n);
  env_close(&e);
}

int main(void) {
  RUN_TEST(test_heap_limit_reached);
  RUN_TEST(test_heap_limit_garbage);
  RUN_TEST(test_fault_injection);
  RUN_TEST(test_checked_api);
  RUN_TEST(test_version_wraparound);
  RUN_TEST(test_destroy_states);
  RUN_TEST(test_yield_hook);
  RUN_TEST(test_event_hook);
  return 0;
}
