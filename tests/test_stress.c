/* test_stress.c: multi-threaded stress test of the heap core (run it under TSan and ASan).
 *
 *   test_stress [iterations-per-thread]      (default 160000)
 *
 * NTHREADS worker threads, each with its own mutator, allocate objects of random sizes (fixed
 * per-thread seeds), keep them in a rooted handle array, store references between them, share
 * objects through a global-rooted array guarded by a pthread mutex, request eden and full
 * collections (verifying the heap after each), sweep, stop and resume allocating, and now and then
 * detach and re-attach their mutator. The background sweeper runs throughout, and automatic
 * collections trigger on the allocation slow path. At the end the main thread checks that every
 * reachable object is intact and that the live count is exactly the reachable count.
 *
 * Data-race discipline of the test itself (so that TSan reports only the heap's races): payloads
 * are written only at allocation; a thread stores only into objects it allocated and never shared
 * ("mutable" handles); other threads read a shared object's slots (frozen) and its children's
 * payloads, never a child's slots. */
#define _POSIX_C_SOURCE 200809L /* nanosleep, clock_gettime, alarm */
#include "heapcore.h"
#include "hc_testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NTHREADS = 4, NHANDLES = 64, NSHARED = 64, NWEAK = 4, MAX_SLOTS = 4 };

/* ---------------------------------------------------------------------------------------------
 * Self-describing objects: payload = tag, (size | nslots << 32), then bytes derived from the tag.
 * Any reachable object can be checked without a model.
 * ------------------------------------------------------------------------------------------- */

static uint8_t pattern_byte(uint64_t tag, size_t i) {
  return (uint8_t)((mix64(tag) >> (8 * (i & 7))) + (i >> 3));
}

static void init_object(hc_object_t *obj, uint64_t tag) {
  uint8_t *p = hc_object_payload(obj);
  size_t n = hc_object_payload_size(obj);
  uint64_t shape = hc_object_size(obj) | (uint64_t)hc_object_slot_count(obj) << 32;
  memcpy(p, &tag, 8);
  memcpy(p + 8, &shape, 8);
  for (size_t i = 16; i < n; i++)
    p[i] = pattern_byte(tag, i);
}

static void check_object(hc_object_t *obj) {
  const uint8_t *p = hc_object_payload(obj);
  size_t n = hc_object_payload_size(obj);
  CHECK(n >= 16);
  uint64_t tag, shape;
  memcpy(&tag, p, 8);
  memcpy(&shape, p + 8, 8);
  CHECK(tag >> 40 >= 1 && tag >> 40 <= NTHREADS);
  CHECK_EQ_U64(shape, hc_object_size(obj) | (uint64_t)hc_object_slot_count(obj) << 32);
  for (size_t i = 16; i < n; i++) {
    if (p[i] != pattern_byte(tag, i)) {
      fprintf(stderr, "object %p tag %llx: payload byte %zu corrupted\n", (void *)obj,
              (unsigned long long)tag, i);
      CHECK(!"payload intact");
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * Shared state
 * ------------------------------------------------------------------------------------------- */

static hc_heap_t *heap;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static hc_object_t *shared[NSHARED];            /* global roots; written under shared_lock */
static hc_object_t *finals[NTHREADS][NHANDLES]; /* global roots; row t written by thread t */
static atomic_uint_fast64_t fin_calls, fin_allocated;

static void fin_fn(hc_object_t *obj, void *ctx) {
  (void)obj;
  (void)ctx;
  atomic_fetch_add_explicit(&fin_calls, 1, memory_order_relaxed);
}

typedef struct worker {
  int id;
  unsigned iters;
  uint64_t rng;
  uint64_t serial;
  hc_mutator_t *m;
  hc_object_t *h[NHANDLES]; /* pushed as roots of m */
  bool mut[NHANDLES];       /* h[i] was allocated here and never shared: may be stored into */
  uint64_t gen[NHANDLES];   /* bumped whenever h[i] is assigned (addresses get reused) */
  hc_weak_t *weak[NWEAK];
  int weak_slot[NWEAK];
  uint64_t weak_gen[NWEAK];
  hc_object_t *weak_target[NWEAK];
  unsigned collections, detaches, shares, stops;
} worker_t;

static worker_t workers[NTHREADS];

static void attach_and_root(worker_t *w) {
  CHECK_EQ_U64(hc_mutator_attach(heap, &w->m), HC_OK);
  for (int i = 0; i < NHANDLES; i++)
    CHECK_EQ_U64(hc_root_push(w->m, &w->h[i]), HC_OK);
}

/* Blocking outside the heap: release access first. */
static void block_briefly(worker_t *w) {
  CHECK_EQ_U64(hc_mutator_release_access(w->m), HC_OK);
  if (rng_below(&w->rng, 2)) {
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
  } else {
    sched_yield();
  }
  CHECK_EQ_U64(hc_mutator_acquire_access(w->m), HC_OK);
}

static void lock_shared(worker_t *w) {
  CHECK_EQ_U64(hc_mutator_release_access(w->m), HC_OK);
  CHECK(pthread_mutex_lock(&shared_lock) == 0);
  /* May wait for a collection; the collector never needs shared_lock. */
  CHECK_EQ_U64(hc_mutator_acquire_access(w->m), HC_OK);
}

static void op_alloc(worker_t *w) {
  uint32_t ns = (uint32_t)rng_below(&w->rng, MAX_SLOTS + 1);
  size_t min = HC_HEADER_SIZE + ns * HC_SLOT_SIZE + 16;
  size_t size = rng_below(&w->rng, 100) == 0
                    ? 9000 + rng_below(&w->rng, 22000)
                    : min + rng_below(&w->rng, rng_below(&w->rng, 4) ? 120 : 900);
  bool fin = rng_below(&w->rng, 20) == 0;
  hc_object_t *obj = hc_alloc_ex(w->m, size, ns, fin ? HC_ALLOC_FINALIZE : 0);
  if (obj == NULL) {
    fprintf(stderr, "thread %d: allocation failed: %s\n", w->id,
            hc_status_name(hc_mutator_last_error(w->m)));
    CHECK(obj != NULL);
  }
  if (fin) atomic_fetch_add_explicit(&fin_allocated, 1, memory_order_relaxed);
  init_object(obj, (uint64_t)(w->id + 1) << 40 | ++w->serial);
  for (uint32_t s = 0; s < ns; s++) {
    if (rng_below(&w->rng, 2)) hc_store(w->m, obj, s, w->h[rng_below(&w->rng, NHANDLES)]);
  }
  size_t k = rng_below(&w->rng, NHANDLES);
  w->h[k] = obj;
  w->mut[k] = true;
  w->gen[k]++;
}

static void op_store(worker_t *w) {
  size_t a = rng_below(&w->rng, NHANDLES), b = rng_below(&w->rng, NHANDLES);
  hc_object_t *host = w->h[a];
  if (host == NULL || !w->mut[a] || hc_object_slot_count(host) == 0) return;
  uint32_t slot = (uint32_t)rng_below(&w->rng, hc_object_slot_count(host));
  hc_store(w->m, host, slot, rng_below(&w->rng, 8) ? w->h[b] : NULL);
  CHECK(hc_load(host, slot) == (hc_object_t *)NULL || hc_load(host, slot) == w->h[b]);
}

static void op_check(worker_t *w) {
  hc_object_t *obj = w->h[rng_below(&w->rng, NHANDLES)];
  if (obj == NULL) return;
  CHECK(hc_is_live_object(w->m, obj));
  check_object(obj);
  for (uint32_t s = 0; s < hc_object_slot_count(obj); s++) {
    hc_object_t *child = hc_load(obj, s);
    if (child != NULL) check_object(child); /* payload only: the child may be someone's mutable */
  }
}

static void op_share(worker_t *w) {
  size_t k = rng_below(&w->rng, NHANDLES), i = rng_below(&w->rng, NSHARED);
  lock_shared(w);
  if (rng_below(&w->rng, 2)) {
    shared[i] = w->h[k];
  } else {
    w->h[k] = shared[i];
    w->gen[k]++;
    if (w->h[k] != NULL) check_object(w->h[k]);
  }
  w->mut[k] = false; /* frozen from now on */
  CHECK(pthread_mutex_unlock(&shared_lock) == 0);
  w->shares++;
}

static void op_weak(worker_t *w) {
  for (int i = 0; i < NWEAK; i++) {
    if (w->weak[i] == NULL) continue;
    hc_object_t *got = hc_weak_get(w->weak[i]);
    if (w->gen[w->weak_slot[i]] == w->weak_gen[i]) {
      CHECK(w->h[w->weak_slot[i]] == w->weak_target[i]);
      CHECK(got == w->weak_target[i]); /* still rooted by us */
    } else {
      CHECK(got == NULL || got == w->weak_target[i]);
    }
    if (rng_below(&w->rng, 4) == 0) {
      CHECK_EQ_U64(hc_weak_destroy(w->m, w->weak[i]), HC_OK);
      w->weak[i] = NULL;
    }
  }
  int i = (int)rng_below(&w->rng, NWEAK);
  int k = (int)rng_below(&w->rng, NHANDLES);
  if (w->weak[i] == NULL && w->h[k] != NULL) {
    CHECK_EQ_U64(hc_weak_create(w->m, w->h[k], &w->weak[i]), HC_OK);
    w->weak_slot[i] = k;
    w->weak_gen[i] = w->gen[k];
    w->weak_target[i] = w->h[k];
  }
}

static void drop_weaks(worker_t *w) {
  for (int i = 0; i < NWEAK; i++) {
    if (w->weak[i] != NULL) CHECK_EQ_U64(hc_weak_destroy(w->m, w->weak[i]), HC_OK);
    w->weak[i] = NULL;
  }
}

static void op_collect(worker_t *w) {
  hc_collection_kind_t kind = rng_below(&w->rng, 3) ? HC_COLLECT_EDEN : HC_COLLECT_FULL;
  CHECK_EQ_U64(hc_collect(w->m, kind), HC_OK);
  VERIFY_OK(w->m);
  w->collections++;
}

static void op_stop_resume(worker_t *w) {
  CHECK_EQ_U64(hc_mutator_stop_allocating(w->m), HC_OK);
  CHECK(hc_alloc(w->m, 32, 0) == NULL);
  CHECK_EQ_U64(hc_mutator_last_error(w->m), HC_ERR_ALLOCATION_STOPPED);
  if (rng_below(&w->rng, 4) == 0) block_briefly(w); /* others collect inside the window */
  hc_sweep_step(w->m, 2);
  if (rng_below(&w->rng, 2)) hc_shrink(w->m);
  CHECK_EQ_U64(hc_mutator_resume_allocating(w->m), HC_OK);
  w->stops++;
}

/* Detach drops the roots: park a couple of objects in the shared array first, forget the rest. */
static void op_churn(worker_t *w) {
  lock_shared(w);
  for (int k = 0; k < 2; k++)
    shared[rng_below(&w->rng, NSHARED)] = w->h[k];
  CHECK(pthread_mutex_unlock(&shared_lock) == 0);
  drop_weaks(w);
  CHECK_EQ_U64(hc_mutator_detach(w->m), HC_OK);
  for (int k = 0; k < NHANDLES; k++) {
    w->h[k] = NULL;
    w->mut[k] = false;
    w->gen[k]++;
  }
  sched_yield();
  attach_and_root(w);
  w->detaches++;
}

static bool count_visit(hc_object_t *obj, void *ctx) {
  (void)obj;
  (*(size_t *)ctx)++;
  return true;
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  attach_and_root(w);
  for (unsigned it = 0; it < w->iters; it++) {
    hc_safepoint(w->m);
    size_t r = rng_below(&w->rng, 1000);
    if (r < 450) {
      op_alloc(w);
    } else if (r < 650) {
      op_store(w);
    } else if (r < 800) {
      op_check(w);
    } else if (r < 850) {
      op_share(w);
    } else if (r < 880) {
      op_weak(w);
    } else if (r < 886) {
      op_collect(w);
    } else if (r < 920) {
      hc_sweep_step(w->m, 1 + rng_below(&w->rng, 4));
    } else if (r < 926) {
      op_stop_resume(w);
    } else if (r < 960) {
      block_briefly(w);
    } else if (r < 962) {
      op_churn(w);
    } else if (r < 963) {
      size_t n = 0;
      CHECK_EQ_U64(hc_heap_iterate(w->m, count_visit, &n), HC_OK);
      CHECK(n > 0 || w->h[0] == NULL);
    } else {
      for (int k = 0; k < 4; k++)
        op_check(w);
    }
  }
  /* Publish the survivors in this thread's row of global roots, then leave. */
  for (int k = 0; k < NHANDLES; k++)
    finals[w->id][k] = w->h[k];
  drop_weaks(w);
  CHECK_EQ_U64(hc_mutator_detach(w->m), HC_OK);
  return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Final accounting: reachable from the global roots == live, every reachable object intact.
 * ------------------------------------------------------------------------------------------- */

static hc_object_t **live_set;
static size_t live_n, live_cap;

static bool collect_visit(hc_object_t *obj, void *ctx) {
  (void)ctx;
  if (live_n == live_cap) return false; /* reported by the caller */
  live_set[live_n++] = obj;
  return true;
}

static size_t count_reachable(void) {
  bool *seen = calloc(live_n, sizeof *seen);
  hc_object_t **stack = malloc((live_n + NSHARED + NTHREADS * NHANDLES) * sizeof *stack);
  CHECK(seen != NULL && stack != NULL);
  size_t sp = 0, reached = 0;
  for (int i = 0; i < NSHARED; i++)
    stack[sp++] = shared[i];
  for (int t = 0; t < NTHREADS; t++) {
    for (int k = 0; k < NHANDLES; k++)
      stack[sp++] = finals[t][k];
  }
  while (sp > 0) {
    hc_object_t *obj = stack[--sp];
    if (obj == NULL) continue;
    hc_object_t **pos = bsearch(&obj, live_set, live_n, sizeof *live_set, ptr_cmp);
    CHECK(pos != NULL); /* a reachable object the heap does not consider live */
    size_t idx = (size_t)(pos - live_set);
    if (seen[idx]) continue;
    seen[idx] = true;
    reached++;
    check_object(obj);
    for (uint32_t s = 0; s < hc_object_slot_count(obj); s++) {
      CHECK(sp < live_n + NSHARED + NTHREADS * NHANDLES);
      stack[sp++] = hc_load(obj, s);
    }
  }
  free(seen);
  free(stack);
  return reached;
}

int main(int argc, char **argv) {
  unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 160000;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  hc_config_t cfg;
  hc_config_init(&cfg);
  cfg.gc_trigger_bytes = 256 * 1024;
  cfg.full_gc_every = 3;
  cfg.release_empty_blocks = true;
  cfg.scribble = true;
  cfg.seed = 2024;
  cfg.finalizer = fin_fn;
  CHECK_EQ_U64(hc_heap_create(&cfg, &heap), HC_OK);
  hc_mutator_t *main_m;
  CHECK_EQ_U64(hc_mutator_attach(heap, &main_m), HC_OK);
  for (int i = 0; i < NSHARED; i++)
    CHECK_EQ_U64(hc_global_root_add(main_m, &shared[i]), HC_OK);
  for (int t = 0; t < NTHREADS; t++) {
    for (int k = 0; k < NHANDLES; k++) {
      CHECK_EQ_U64(hc_global_root_add(main_m, &finals[t][k]), HC_OK);
    }
  }
  CHECK_EQ_U64(hc_sweeper_start(heap), HC_OK);
  CHECK_EQ_U64(hc_mutator_release_access(main_m), HC_OK); /* joining blocks */
  pthread_t threads[NTHREADS];
  for (int t = 0; t < NTHREADS; t++) {
    workers[t].id = t;
    workers[t].iters = iters;
    workers[t].rng = 0x5eed0000u + (uint64_t)t;
    CHECK(pthread_create(&threads[t], NULL, worker_main, &workers[t]) == 0);
  }
  for (int t = 0; t < NTHREADS; t++)
    CHECK(pthread_join(threads[t], NULL) == 0);
  CHECK_EQ_U64(hc_mutator_acquire_access(main_m), HC_OK);

  CHECK_EQ_U64(hc_collect(main_m, HC_COLLECT_FULL), HC_OK);
  VERIFY_OK(main_m);
  CHECK_EQ_U64(hc_sweeper_stop(heap), HC_OK);
  VERIFY_OK(main_m);
  hc_stats_t st;
  hc_heap_get_stats(heap, &st);
  live_cap = (size_t)st.live_objects + 1;
  live_set = malloc(live_cap * sizeof *live_set);
  CHECK(live_set != NULL);
  CHECK_EQ_U64(hc_heap_iterate(main_m, collect_visit, NULL), HC_OK);
  CHECK_EQ_U64(live_n, st.live_objects); /* the walk sees exactly the live objects */
  qsort(live_set, live_n, sizeof *live_set, ptr_cmp);
  for (size_t i = 1; i < live_n; i++)
    CHECK(live_set[i - 1] != live_set[i]);
  size_t reached = count_reachable();
  CHECK_EQ_U64(reached, st.live_objects);
  for (int t = 0; t < NTHREADS; t++) {
    for (int k = 0; k < NHANDLES; k++) {
      if (finals[t][k] != NULL) CHECK(hc_is_live_object(main_m, finals[t][k]));
    }
  }
  free(live_set);

  /* Drop every root: nothing survives, every finalizer runs exactly once. */
  for (int i = 0; i < NSHARED; i++)
    CHECK_EQ_U64(hc_global_root_remove(main_m, &shared[i]), HC_OK);
  for (int t = NTHREADS - 1; t >= 0; t--) {
    for (int k = 0; k < NHANDLES; k++) {
      CHECK_EQ_U64(hc_global_root_remove(main_m, &finals[t][k]), HC_OK);
    }
  }
  CHECK_EQ_U64(hc_collect(main_m, HC_COLLECT_FULL), HC_OK);
  hc_heap_get_stats(heap, &st);
  CHECK_EQ_U64(st.live_objects, 0);
  hc_sweep_all(main_m);
  VERIFY_OK(main_m);
  CHECK_EQ_U64(hc_mutator_detach(main_m), HC_OK);
  CHECK_EQ_U64(hc_heap_destroy(heap), HC_OK);
  CHECK_EQ_U64(atomic_load(&fin_calls), atomic_load(&fin_allocated));

  unsigned colls = 0, dets = 0, shares = 0, stops = 0;
  for (int t = 0; t < NTHREADS; t++) {
    colls += workers[t].collections;
    dets += workers[t].detaches;
    shares += workers[t].shares;
    stops += workers[t].stops;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("stress: %d threads x %u iterations: %u requested collections (%llu full, %llu eden in "
         "all), %u detaches, %u shares, %u stop/resume, %zu reachable at the end, %.1f s\n",
         NTHREADS, iters, colls, (unsigned long long)st.full_collections,
         (unsigned long long)st.eden_collections, dets, shares, stops, reached,
         (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
