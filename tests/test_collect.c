/* test_collect.c: black-box tests of full and eden collections, roots, the write barrier, weak
 * references and finalizers.
 *
 * The central test builds random object graphs (fixed seed; cycles, shared children, stores into
 * old objects) next to a model of them, computes reachability itself and checks the collector's
 * live counts, the surviving objects' contents, weak references and finalizer calls exactly. */
#include "heapcore.h"
#include "hc_testutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

/* Finalizable objects always have FIN_SLOTS slots, so the finalizer finds the tag without calling
 * into the heap: it sits right after the header and the slots. */
enum { FIN_SLOTS = 2, FIN_MAX = 20000 };

typedef struct fin_log {
  unsigned count[FIN_MAX + 1]; /* by tag; tags outside 1..FIN_MAX land in count[0] */
  uint64_t total;
} fin_log_t;

static void fin_fn(hc_object_t *obj, void *ctx) {
  fin_log_t *log = ctx;
  uint64_t tag;
  memcpy(&tag, (const uint8_t *)obj + HC_HEADER_SIZE + FIN_SLOTS * HC_SLOT_SIZE, sizeof tag);
  log->count[tag >= 1 && tag <= FIN_MAX ? tag : 0]++;
  log->total++;
}

/* Seed 1234; fin_fn logging into `log` as the finalizer, or no finalizer if log is NULL. */
static env_t env_open_fin(fin_log_t *log) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.seed = 1234;
  cfg.finalizer = log != NULL ? fin_fn : NULL;
  cfg.finalizer_ctx = log;
  return env_open_cfg(&cfg);
}

#define alloc_fin(m, size, tag) alloc_tagged_ex((m), (size), FIN_SLOTS, (tag), HC_ALLOC_FINALIZE)

/* ---------------------------------------------------------------------------------------------
 * Random graphs against a model
 * ------------------------------------------------------------------------------------------- */

enum { GMAX = 12000, GSLOTS = 6, GROOTS = 16, GWEAK = 48, GROUNDS = 14, GPER_ROUND = 800 };

typedef struct gnode {
  hc_object_t *obj;
  size_t size;
  uint32_t nslots;
  int32_t edge[GSLOTS];
  bool alive; /* the heap must consider it live (not yet found unreachable) */
  bool old;   /* marked by the last collection (sticky for eden) */
  bool mark;
  bool fin;
} gnode_t;

static gnode_t g[GMAX];
static size_t gn;
static hc_object_t *groot[GROOTS];
static int32_t groot_idx[GROOTS];
static hc_weak_t *gweak[GWEAK];
static int32_t gweak_idx[GWEAK];
static int32_t galive[GMAX];
static size_t galive_n;
static int32_t gstack[GMAX];
static fin_log_t gfin;

static int32_t g_pick_alive(uint64_t *rng) {
  return galive_n == 0 ? -1 : galive[rng_below(rng, galive_n)];
}

static void g_store(hc_mutator_t *m, int32_t from, uint32_t slot, int32_t to) {
  hc_store(m, g[from].obj, slot, to >= 0 ? g[to].obj : NULL);
  g[from].edge[slot] = to;
}

static int32_t g_alloc(hc_mutator_t *m, uint64_t *rng) {
  CHECK(gn < GMAX);
  int32_t i = (int32_t)gn++;
  gnode_t *n = &g[i];
  n->fin = rng_below(rng, 10) == 0;
  n->nslots = n->fin ? FIN_SLOTS : (uint32_t)rng_below(rng, GSLOTS + 1);
  size_t min = HC_HEADER_SIZE + n->nslots * HC_SLOT_SIZE + 8;
  n->size = rng_below(rng, 50) == 0 ? 9000 + rng_below(rng, 20000) : min + rng_below(rng, 300);
  n->obj = hc_alloc_ex(m, n->size, n->nslots, n->fin ? HC_ALLOC_FINALIZE : 0);
  CHECK(n->obj != NULL);
  put_tag(n->obj, (uint64_t)i + 1);
  for (uint32_t s = 0; s < GSLOTS; s++)
    n->edge[s] = -1;
  n->alive = true;
  n->old = false;
  galive[galive_n++] = i;
  return i;
}

static void g_mark_from(int32_t i, size_t *sp) {
  if (i < 0 || g[i].mark) return;
  CHECK(g[i].alive); /* model sanity: nothing reaches an object the heap already freed */
  g[i].mark = true;
  gstack[(*sp)++] = i;
}

static void g_check_node(int32_t i) {
  gnode_t *n = &g[i];
  CHECK_EQ_U64(hc_object_size(n->obj), n->size);
  CHECK_EQ_U64(hc_object_slot_count(n->obj), n->nslots);
  CHECK(has_tag(n->obj, (uint64_t)i + 1));
  for (uint32_t s = 0; s < n->nslots; s++) {
    CHECK(hc_load(n->obj, s) == (n->edge[s] >= 0 ? g[n->edge[s]].obj : NULL));
  }
}

/* Finalizers ran at most once and only for dead objects; exactly once for every dead one if
 * `swept_all`. */
static void g_check_finalizers(bool swept_all) {
  CHECK_EQ_U64(gfin.count[0], 0);
  for (size_t i = 0; i < gn; i++) {
    unsigned c = gfin.count[i + 1];
    if (!g[i].fin || g[i].alive) {
      CHECK_EQ_U64(c, 0);
    } else {
      CHECK(c <= 1);
      if (swept_all) CHECK_EQ_U64(c, 1);
    }
  }
}

static void g_collect(env_t *e, hc_collection_kind_t kind, uint64_t *rng) {
  size_t sp = 0, count = 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < gn; i++)
    g[i].mark = false;
  for (size_t r = 0; r < GROOTS; r++)
    g_mark_from(groot_idx[r], &sp);
  if (kind == HC_COLLECT_EDEN) {
    for (size_t i = 0; i < gn; i++) {
      if (g[i].alive && g[i].old) g_mark_from((int32_t)i, &sp);
    }
  }
  while (sp > 0) {
    gnode_t *n = &g[gstack[--sp]];
    for (uint32_t s = 0; s < n->nslots; s++)
      g_mark_from(n->edge[s], &sp);
  }
  collect_ok(e->m, kind);
  galive_n = 0;
  for (size_t i = 0; i < gn; i++) {
    g[i].old = g[i].mark;
    if (!g[i].mark) {
      g[i].alive = false;
      continue;
    }
    count++;
    bytes += hc_cell_size_for(g[i].size);
    galive[galive_n++] = (int32_t)i;
    g_check_node((int32_t)i);
  }
  hc_stats_t st = stats_of(e->heap);
  CHECK_EQ_U64(st.live_objects, count);
  CHECK_EQ_U64(st.live_bytes, bytes);
  for (size_t w = 0; w < GWEAK; w++) {
    int32_t t = gweak_idx[w];
    CHECK(hc_weak_get(gweak[w]) == (g[t].mark ? g[t].obj : NULL));
    if (!g[t].mark && galive_n > 0) { /* retarget to a live object */
      CHECK_EQ_U64(hc_weak_destroy(e->m, gweak[w]), HC_OK);
      gweak_idx[w] = g_pick_alive(rng);
      CHECK_EQ_U64(hc_weak_create(e->m, g[gweak_idx[w]].obj, &gweak[w]), HC_OK);
    }
  }
  g_check_finalizers(false);
}

static void test_random_graphs(void) {
  env_t e = env_open_fin(&gfin);
  uint64_t rng = 99;
  for (size_t r = 0; r < GROOTS; r++) {
    groot_idx[r] = -1;
    CHECK_EQ_U64(hc_root_push(e.m, &groot[r]), HC_OK);
  }
  for (size_t i = 0; i < GPER_ROUND / 4; i++)
    g_alloc(e.m, &rng);
  for (size_t w = 0; w < GWEAK; w++) {
    gweak_idx[w] = g_pick_alive(&rng);
    CHECK_EQ_U64(hc_weak_create(e.m, g[gweak_idx[w]].obj, &gweak[w]), HC_OK);
  }
  for (int round = 0; round < GROUNDS; round++) {
    for (size_t k = 0; k < GPER_ROUND; k++) {
      int32_t i = g_alloc(e.m, &rng);
      for (uint32_t s = 0; s < g[i].nslots; s++) {
        if (rng_below(&rng, 10) < 6) g_store(e.m, i, s, g_pick_alive(&rng)); /* cycles, sharing */
      }
      int32_t host = g_pick_alive(&rng); /* often an old object: exercises the write barrier */
      if (rng_below(&rng, 10) < 3 && g[host].nslots > 0) {
        g_store(e.m, host, (uint32_t)rng_below(&rng, g[host].nslots), rng_below(&rng, 4) ? i : -1);
      }
      if (rng_below(&rng, 100) < 4) {
        size_t r = rng_below(&rng, GROOTS);
        groot_idx[r] = rng_below(&rng, 3) ? i : rng_below(&rng, 2) ? g_pick_alive(&rng) : -1;
        groot[r] = groot_idx[r] >= 0 ? g[groot_idx[r]].obj : NULL;
      }
    }
    g_collect(&e, round % 3 == 2 ? HC_COLLECT_FULL : HC_COLLECT_EDEN, &rng);
    if (round % 2 == 1) {
      sweep_all_ok(e.m);
      g_check_finalizers(true);
    }
  }
  for (size_t w = 0; w < GWEAK; w++)
    CHECK_EQ_U64(hc_weak_destroy(e.m, gweak[w]), HC_OK);
  CHECK_EQ_U64(hc_root_pop(e.m, GROOTS), HC_OK);
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 0);
  CHECK_EQ_U64(stats_of(e.heap).live_bytes, 0);
  env_close(&e);
  /* Destroy ran the rest: every finalizable object exactly once, nothing else. */
  uint64_t nfin = 0;
  for (size_t i = 0; i < gn; i++) {
    CHECK_EQ_U64(gfin.count[i + 1], g[i].fin ? 1 : 0);
    nfin += g[i].fin;
  }
  CHECK_EQ_U64(gfin.total, nfin);
}

/* ---------------------------------------------------------------------------------------------
 * Deep chains: the marker must not recurse on the C stack (run on a 1 MiB stack)
 * ------------------------------------------------------------------------------------------- */

enum { CHAIN = 100000 };

static void check_chain(hc_object_t *head, uint64_t first_tag, size_t len) {
  size_t n = 0;
  for (hc_object_t *p = head; p != NULL; p = hc_load(p, 0), n++)
    CHECK(has_tag(p, first_tag + n));
  CHECK_EQ_U64(n, len);
}

static void *deep_chain_thread(void *arg) {
  hc_heap_t *heap = arg;
  hc_mutator_t *m;
  CHECK_EQ_U64(hc_mutator_attach(heap, &m), HC_OK);
  hc_object_t *anchor = alloc_tagged(m, 32, 2, 7);
  CHECK_EQ_U64(hc_root_push(m, &anchor), HC_OK);
  /* Old chain: anchor.0 -> c[CHAIN-1] -> ... -> c[0]; built head-first, tags count down. */
  for (size_t i = 0; i < CHAIN; i++) {
    hc_object_t *n = alloc_tagged(m, 32, 1, 1000000 - i);
    hc_store(m, n, 0, hc_load(anchor, 0));
    hc_store(m, anchor, 0, n);
  }
  collect_ok(m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(heap).live_objects, 1 + CHAIN);
  /* A young chain hung from the old anchor through the write barrier: eden traces it deep. */
  for (size_t i = 0; i < CHAIN; i++) {
    hc_object_t *n = alloc_tagged(m, 48, 1, 2000000 - i);
    hc_store(m, n, 0, hc_load(anchor, 1));
    hc_store(m, anchor, 1, n);
  }
  collect_ok(m, HC_COLLECT_EDEN);
  CHECK_EQ_U64(stats_of(heap).live_objects, 1 + 2 * CHAIN);
  sweep_all_ok(m);
  check_chain(hc_load(anchor, 0), 1000000 - (CHAIN - 1), CHAIN);
  check_chain(hc_load(anchor, 1), 2000000 - (CHAIN - 1), CHAIN);
  hc_store(m, anchor, 0, NULL);
  collect_ok(m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(heap).live_objects, 1 + CHAIN);
  CHECK_EQ_U64(stats_of(heap).live_bytes, hc_cell_size_for(32) + CHAIN * hc_cell_size_for(48));
  CHECK_EQ_U64(hc_root_pop(m, 1), HC_OK);
  CHECK_EQ_U64(hc_mutator_detach(m), HC_OK);
  return NULL;
}

static void test_deep_chain(void) {
  hc_config_t cfg;
  hc_config_init(&cfg);
  hc_heap_t *heap;
  CHECK_EQ_U64(hc_heap_create(&cfg, &heap), HC_OK);
  pthread_attr_t attr;
  pthread_t t;
  CHECK(pthread_attr_init(&attr) == 0);
  CHECK(pthread_attr_setstacksize(&attr, 1u << 20) == 0);
  CHECK(pthread_create(&t, &attr, deep_chain_thread, heap) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  pthread_attr_destroy(&attr);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
}

/* ---------------------------------------------------------------------------------------------
 * Eden collections and the write barrier, step by step
 * ------------------------------------------------------------------------------------------- */

static void test_eden_barrier(void) {
  env_t e = env_open_fin(NULL);
  hc_object_t *old = alloc_tagged(e.m, 64, 2, 1);
  hc_object_t *big = alloc_tagged(e.m, 20000, 4, 2); /* large objects have their own marks */
  CHECK_EQ_U64(hc_root_push(e.m, &old), HC_OK);
  CHECK_EQ_U64(hc_root_push(e.m, &big), HC_OK);
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 2);

  hc_object_t *y = alloc_tagged(e.m, 64, 1, 10);   /* young, only reachable from old */
  hc_object_t *y2 = alloc_tagged(e.m, 64, 1, 11);  /* young, reachable from y */
  hc_object_t *yb = alloc_tagged(e.m, 100, 0, 12); /* young, only reachable from big */
  hc_object_t *z = alloc_tagged(e.m, 64, 0, 13);   /* young garbage */
  hc_store(e.m, old, 0, y);
  hc_store(e.m, y, 0, y2);
  hc_store(e.m, big, 3, yb);
  hc_weak_t *wy, *wy2, *wz, *wold;
  CHECK_EQ_U64(hc_weak_create(e.m, y, &wy), HC_OK);
  CHECK_EQ_U64(hc_weak_create(e.m, y2, &wy2), HC_OK);
  CHECK_EQ_U64(hc_weak_create(e.m, z, &wz), HC_OK);
  CHECK_EQ_U64(hc_weak_create(e.m, old, &wold), HC_OK);
  collect_ok(e.m, HC_COLLECT_EDEN);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 5);
  CHECK(hc_weak_get(wy) == y && hc_weak_get(wy2) == y2 && hc_weak_get(wz) == NULL);
  CHECK(hc_is_live_object(e.m, y) && hc_is_live_object(e.m, yb) && !hc_is_live_object(e.m, z));
  sweep_all_ok(e.m);
  for (int i = 0; i < 600; i++)
    alloc_tagged(e.m, 64, 1, 500 + (uint64_t)i); /* reuse z's cell */
  CHECK(has_tag(y, 10) && has_tag(y2, 11) && has_tag(yb, 12) && hc_load(y, 0) == y2);

  /* y is old now: a young object stored into it survives; y2 becomes unreachable but is old. */
  hc_object_t *y3 = alloc_tagged(e.m, 64, 0, 14);
  hc_store(e.m, y, 0, y3);
  collect_ok(e.m, HC_COLLECT_EDEN);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 6);
  CHECK(hc_weak_get(wy2) == y2 && has_tag(y3, 14));

  /* A store overwritten before the collection keeps nothing alive. */
  hc_object_t *y4 = alloc_tagged(e.m, 64, 0, 15);
  hc_weak_t *wy4;
  CHECK_EQ_U64(hc_weak_create(e.m, y4, &wy4), HC_OK);
  hc_store(e.m, old, 1, y4);
  hc_store(e.m, old, 1, NULL);
  collect_ok(e.m, HC_COLLECT_EDEN);
  CHECK(hc_weak_get(wy4) == NULL);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 6);

  /* An old object dropped from the roots stays until a full collection. */
  old = NULL;
  collect_ok(e.m, HC_COLLECT_EDEN);
  CHECK(hc_weak_get(wold) != NULL && hc_weak_get(wy) == y);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 6);
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK(hc_weak_get(wold) == NULL && hc_weak_get(wy) == NULL && hc_weak_get(wy2) == NULL);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 2); /* big and yb */
  CHECK(has_tag(yb, 12) && hc_load(big, 3) == yb);
  hc_weak_t *ws[] = {wy, wy2, wz, wold, wy4};
  for (size_t i = 0; i < 5; i++)
    CHECK_EQ_U64(hc_weak_destroy(e.m, ws[i]), HC_OK);
  CHECK_EQ_U64(hc_root_pop(e.m, 2), HC_OK);
  env_close(&e);
}

/* ---------------------------------------------------------------------------------------------
 * Roots
 * ------------------------------------------------------------------------------------------- */

static void test_roots(void) {
  env_t e = env_open_fin(NULL);
  hc_object_t *a = NULL, *b = NULL, *g1 = NULL, *g2 = NULL;
  CHECK_EQ_U64(hc_root_push(e.m, &a), HC_OK);
  CHECK_EQ_U64(hc_root_push(e.m, &b), HC_OK);
  /* The collector reads the slot at collection time, not at push time. */
  a = alloc_tagged(e.m, 40, 0, 1);
  b = alloc_tagged(e.m, 40, 1, 2);
  hc_store(e.m, b, 0, alloc_tagged(e.m, 40, 0, 3));
  g1 = alloc_tagged(e.m, 200, 0, 4);
  g2 = alloc_tagged(e.m, 9000, 0, 5);
  CHECK_EQ_U64(hc_global_root_add(e.m, &g1), HC_OK);
  CHECK_EQ_U64(hc_global_root_add(e.m, &g2), HC_OK);
  alloc_tagged(e.m, 40, 0, 6); /* garbage */
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 5);
  CHECK(has_tag(a, 1) && has_tag(b, 2) && has_tag(hc_load(b, 0), 3));
  CHECK(has_tag(g1, 4) && has_tag(g2, 5));
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);             /* b and its child go */
  CHECK_EQ_U64(hc_global_root_remove(e.m, &g1), HC_OK); /* out of order */
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 2);
  CHECK_EQ_U64(stats_of(e.heap).live_bytes, hc_cell_size_for(40) + hc_cell_size_for(9000));
  CHECK(hc_global_root_remove(e.m, &g1) != HC_OK); /* not registered any more */
  CHECK(hc_root_pop(e.m, 2) != HC_OK);             /* only one pushed */
  CHECK(hc_root_push(e.m, NULL) != HC_OK);
  CHECK(hc_global_root_add(e.m, NULL) != HC_OK);
  VERIFY_OK(e.m);
  CHECK(has_tag(a, 1) && has_tag(g2, 5));
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  CHECK_EQ_U64(hc_global_root_remove(e.m, &g2), HC_OK);
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 0);

  /* Root slots holding something that is not a live cell are skipped and counted. */
  hc_object_t *keep = alloc_tagged(e.m, 64, 0, 9);
  void *outside = malloc(64);
  CHECK(outside != NULL);
  hc_object_t *bad1 = (hc_object_t *)outside;
  hc_object_t *bad2 = (hc_object_t *)((uint8_t *)keep + 16); /* inside a live cell */
  CHECK_EQ_U64(hc_root_push(e.m, &keep), HC_OK);
  CHECK_EQ_U64(hc_root_push(e.m, &bad1), HC_OK);
  CHECK_EQ_U64(hc_root_push(e.m, &bad2), HC_OK);
  uint64_t bad_before = stats_of(e.heap).bad_roots;
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK_EQ_U64(stats_of(e.heap).bad_roots - bad_before, 2);
  CHECK_EQ_U64(stats_of(e.heap).live_objects, 1);
  CHECK(has_tag(keep, 9));
  CHECK_EQ_U64(hc_root_pop(e.m, 3), HC_OK);
  free(outside);
  env_close(&e);
}

/* ---------------------------------------------------------------------------------------------
 * Weak references and finalizers
 * ------------------------------------------------------------------------------------------- */

static void test_weak(void) {
  env_t e = env_open_fin(NULL);
  hc_object_t *live = alloc_tagged(e.m, 64, 1, 1);
  CHECK_EQ_U64(hc_root_push(e.m, &live), HC_OK);
  hc_object_t *dead = alloc_tagged(e.m, 64, 0, 2);
  hc_object_t *dead_large = alloc_tagged(e.m, 50000, 0, 3);
  hc_weak_t *w_live, *w_dead, *w_dead2, *w_large, *w_tmp, *w_bad;
  CHECK_EQ_U64(hc_weak_create(e.m, live, &w_live), HC_OK);
  CHECK_EQ_U64(hc_weak_create(e.m, dead, &w_dead), HC_OK);
  CHECK_EQ_U64(hc_weak_create(e.m, dead, &w_dead2), HC_OK);
  CHECK_EQ_U64(hc_weak_create(e.m, dead_large, &w_large), HC_OK);
  CHECK_EQ_U64(hc_weak_create(e.m, dead, &w_tmp), HC_OK);
  CHECK_EQ_U64(hc_weak_destroy(e.m, w_tmp), HC_OK); /* destroyed before its target dies */
  CHECK(hc_weak_create(e.m, NULL, &w_bad) != HC_OK);
  CHECK_EQ_U64(hc_weak_create(e.m, (hc_object_t *)((uint8_t *)live + 8), &w_bad),
               HC_ERR_NOT_A_CELL);
  CHECK(hc_weak_get(w_dead) == dead && hc_weak_get(w_large) == dead_large);
  uint64_t cleared0 = stats_of(e.heap).weak_cleared;
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK(hc_weak_get(w_live) == live);
  CHECK(hc_weak_get(w_dead) == NULL && hc_weak_get(w_dead2) == NULL);
  CHECK(hc_weak_get(w_large) == NULL);
  CHECK_EQ_U64(stats_of(e.heap).weak_cleared - cleared0, 3);
  /* Reachable only through a weak reference's target's slot: still dead. */
  hc_object_t *child = alloc_tagged(e.m, 64, 0, 4);
  hc_store(e.m, live, 0, child);
  hc_weak_t *w_child;
  CHECK_EQ_U64(hc_weak_create(e.m, child, &w_child), HC_OK);
  collect_ok(e.m, HC_COLLECT_EDEN);
  CHECK(hc_weak_get(w_child) == child);
  hc_store(e.m, live, 0, NULL);
  collect_ok(e.m, HC_COLLECT_EDEN); /* child is old now: an eden collection keeps it */
  CHECK(hc_weak_get(w_child) == child);
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK(hc_weak_get(w_child) == NULL && hc_weak_get(w_live) == live);
  hc_weak_t *ws[] = {w_live, w_dead, w_dead2, w_large, w_child};
  for (size_t i = 0; i < 5; i++)
    CHECK_EQ_U64(hc_weak_destroy(e.m, ws[i]), HC_OK);
  CHECK_EQ_U64(hc_root_pop(e.m, 1), HC_OK);
  env_close(&e);
}

static fin_log_t ffin;

static void test_finalizers(void) {
  enum { N = 200 };
  env_t e = env_open_fin(&ffin);
  static hc_object_t *objs[N];
  for (size_t i = 0; i < N; i++) {
    objs[i] = alloc_fin(e.m, i % 50 == 1 || i % 50 == 2 ? 12000 : 48 + i % 64, i + 1);
    hc_store(e.m, objs[i], 0, i >= 2 ? objs[i - 2] : NULL); /* dead ones point at dead ones */
    hc_object_t *plain = hc_alloc(e.m, 40, 2);              /* not finalizable: never reported */
    CHECK(plain != NULL);
    if (i % 2 == 0) CHECK_EQ_U64(hc_root_push(e.m, &objs[i]), HC_OK);
  }
  collect_ok(e.m, HC_COLLECT_FULL);
  CHECK(ffin.total <= N / 2);
  sweep_all_ok(e.m);
  for (size_t i = 0; i < N; i++)
    CHECK_EQ_U64(ffin.count[i + 1], i % 2);
  CHECK_EQ_U64(ffin.total, N / 2);
  CHECK_EQ_U64(stats_of(e.heap).finalizers_run, N / 2);
  collect_ok(e.m, HC_COLLECT_FULL); /* never twice */
  sweep_all_ok(e.m);
  CHECK_EQ_U64(ffin.total, N / 2);
  /* Young finalizable garbage dies at an eden collection. */
  for (size_t i = 0; i < 10; i++)
    alloc_fin(e.m, 64, N + 1 + i);
  collect_ok(e.m, HC_COLLECT_EDEN);
  sweep_all_ok(e.m);
  for (size_t i = 0; i < 10; i++)
    CHECK_EQ_U64(ffin.count[N + 1 + i], 1);
  CHECK_EQ_U64(ffin.total, N / 2 + 10);
  for (size_t i = 0; i < N; i += 2)
    CHECK(has_tag(objs[i], i + 1));
  /* Destroy finalizes the survivors, plus garbage not yet found dead. */
  for (size_t i = 0; i < 5; i++)
    alloc_fin(e.m, 64, N + 100 + i);
  env_close(&e);
  for (size_t i = 0; i < N; i++)
    CHECK_EQ_U64(ffin.count[i + 1], 1);
  for (size_t i = 0; i < 5; i++)
    CHECK_EQ_U64(ffin.count[N + 100 + i], 1);
  CHECK_EQ_U64(ffin.total, N + 15);
  CHECK_EQ_U64(ffin.count[0], 0);
}

int main(void) {
  RUN_TEST(test_roots);
  RUN_TEST(test_eden_barrier);
  RUN_TEST(test_weak);
  RUN_TEST(test_finalizers);
  RUN_TEST(test_deep_chain);
  RUN_TEST(test_random_graphs);
  return 0;
}
