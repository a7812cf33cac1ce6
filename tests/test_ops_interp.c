/* Tests of the op interpreter (ops/interp.c, ops/model.c): determinism, clean runs of random
 * programs on the shipped heap (a small fuzzing run in every CI), skips, and directed scenarios. */
#define _GNU_SOURCE
#include "hc_testutil.h"
#include "heapops.h"

static ops_program_t prog; /* large: static */

/* Runs p with verbose output and the event trace captured; returns the text. */
static char *run_captured(const ops_program_t *p, ops_run_result_t *res) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  CHECK(out != NULL);
  ops_run_options_t opt = {.verbose = true, .trace = true, .out = out};
  ops_run(p, &opt, res);
  fclose(out);
  return buf;
}

static void random_bytes(uint64_t *rng, uint8_t *buf, size_t n) {
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)rng_next(rng);
}

static void test_deterministic(void) {
  uint64_t rng = 11;
  static uint8_t bytes[3000];
  for (int round = 0; round < 20; round++) {
    size_t n = rng_range(&rng, 4, sizeof bytes);
    random_bytes(&rng, bytes, n);
    ops_decode(bytes, n, &prog);
    ops_run_result_t a, b;
    char *ta = run_captured(&prog, &a);
    char *tb = run_captured(&prog, &b);
    CHECK(strcmp(ta, tb) == 0); /* same program: same ops, same events, same schedule */
    CHECK_EQ_U64(a.ops_run, b.ops_run);
    CHECK_EQ_U64(a.ops_skipped, b.ops_skipped);
    CHECK_EQ_U64(a.collections, b.collections);
    CHECK(!a.finding && !b.finding);
    free(ta);
    free(tb);
  }
}

/* Random inputs must run clean on the shipped heap: any finding here is a heap or interpreter
 * bug. Biased toward small programs so many run; config bytes cover triggers, scribble, small
 * version limits and release of empty blocks. */
static void test_random_programs_clean(void) {
  uint64_t rng = 2026;
  static uint8_t bytes[2400];
  uint64_t ops = 0, collections = 0;
  for (int round = 0; round < 300; round++) {
    size_t n = rng_range(&rng, 0, round % 10 == 0 ? sizeof bytes : 400);
    random_bytes(&rng, bytes, n);
    ops_decode(bytes, n, &prog);
    ops_run_result_t r;
    ops_run_options_t opt = {.out = stderr};
    bool clean = ops_run(&prog, &opt, &r);
    if (!clean) fprintf(stderr, "round %d: %s\n", round, r.message);
    CHECK(clean);
    ops += r.ops_run;
    collections += r.collections;
  }
  printf("random programs: %llu ops run, %llu collections\n", (unsigned long long)ops,
         (unsigned long long)collections);
  CHECK(ops > 10000 && collections > 100); /* the run exercised something */
}

static bool parse(const char *text) {
  char err[256];
  bool ok = ops_parse(text, strlen(text), "test", &prog, err, sizeof err);
  if (!ok) fprintf(stderr, "%s\n", err);
  return ok;
}

static void test_skips(void) {
  CHECK(parse("heapfuzz-ops 1\n"
              "store h=0 slot=0 v=1\n" /* no object in h=0: skipped */
              "check h=5\n"            /* skipped */
              "switch t=0\n"           /* already current: skipped */
              "detach t=0\n"           /* never the last mutator: skipped */
              "resume-alloc\n"         /* not stopped: skipped */
              "alloc h=0 size=48 slots=1 flags=0\n"));
  ops_run_result_t r;
  CHECK(ops_run(&prog, NULL, &r));
  CHECK_EQ_U64(r.ops_skipped, 5);
  CHECK_EQ_U64(r.ops_run, 1);
}

/* Directed scenarios the oracle must accept: weak references across eden and full collections,
 * the pinned last-active block across a collection and a shrink, several mutators, finalizers. */
static void test_scenarios(void) {
  static const char *const programs[] = {
      "heapfuzz-ops 1\n"
      "alloc h=0 size=64 slots=1 flags=0\nroot h=0\nalloc h=1 size=64 slots=0 flags=1\n"
      "weak w=0 h=1\nstore h=0 slot=0 v=1\ngc-eden\ndrop h=1\nclear h=0 slot=0\n"
      "gc-eden\nderef dst=2 w=0\ngc-full\nderef dst=3 w=0\nsweep-all\nverify\n",
      "heapfuzz-ops 1\n"
      "alloc h=0 size=48 slots=0 flags=0\nstop-alloc\ngc-full\nshrink\nresume-alloc\n"
      "alloc h=1 size=48 slots=0 flags=0\niterate\nverify\n",
      "heapfuzz-ops 1\nconfig trigger=1 full_every=3 versions=1 flags=3\n"
      "attach\nattach\nalloc h=0 size=9000 slots=4 flags=1\nroot h=0\nswitch t=1\n"
      "alloc h=1 size=100 slots=2 flags=0\nstore h=0 slot=3 v=1\nswitch t=2\ndetach t=1\n"
      "gc-full\ngc-eden\ngc-full\ncheck h=0\nsweeper n=5\nfail-next n=0\n"
      "alloc h=2 size=65000 slots=0 flags=0\nverify\n",
      /* Regression (found by random programs): the third allocation collects, then steals the
       * empty block of the dead finalizable second object and finalizes it, all inside one
       * hc_alloc: the oracle must judge that finalizer after settling the collection. */
      "heapfuzz-ops 1\nconfig trigger=241 full_every=150 versions=43 flags=67\n"
      "alloc h=151 size=51970 slots=118 flags=41\nalloc h=175 size=3615 slots=61 flags=61\n"
      "alloc h=115 size=2316 slots=181 flags=43\n",
      /* Regression: an allocation that collects must not count its own new object (nor lose
       * the one its handle held) in the live bytes check. */
      "heapfuzz-ops 1\nconfig trigger=1 full_every=1 versions=0 flags=0\n"
      "root h=0\nalloc h=0 size=30000 slots=0 flags=0\nalloc h=0 size=30000 slots=0 flags=0\n"
      "alloc h=0 size=30000 slots=0 flags=0\nalloc h=0 size=17235 slots=0 flags=0\n",
  };
  for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
    CHECK(parse(programs[i]));
    ops_run_result_t r;
    bool clean = ops_run(&prog, NULL, &r);
    if (!clean) fprintf(stderr, "scenario %zu: %s\n", i, r.message);
    CHECK(clean);
    CHECK_EQ_U64(r.ops_skipped, 0);
  }
}

/* A heap that loses one object's payload in a collection: the default backend, except that
 * every collection flips the first payload byte of the scribble_at-th object allocated. */
static const hb_backend_t *real_backend;
static uint32_t allocated, scribble_at;
static hb_object_t *scribble_target;

static hb_object_t *counting_alloc(hb_mutator_t *m, size_t size, uint32_t nslots, unsigned flags,
                                   hb_status_t *st) {
  hb_object_t *p = real_backend->alloc(m, size, nslots, flags, st);
  if (p && ++allocated == scribble_at) scribble_target = p;
  return p;
}

static hb_status_t scribbling_collect(hb_mutator_t *m, bool full) {
  hb_status_t st = real_backend->collect(m, full);
  if (scribble_target) {
    size_t n;
    uint8_t *payload = real_backend->payload(scribble_target, &n);
    if (n) payload[0] ^= 0x5a;
    scribble_target = NULL;
  }
  return st;
}

/* A settle checks a rotating share of the reachable objects (16 of them), the end of the
 * program all: a payload lost in the first collection, in the 21st of 21 reachable objects, is
 * found by the second collection's settle, or by the end of the program, or (eager) right
 * after the collection. */
static void test_checks_rotate_and_end_complete(void) {
  real_backend = ops_default_backend();
  hb_backend_t scribbling = *real_backend;
  scribbling.alloc = counting_alloc;
  scribbling.collect = scribbling_collect;
  char text[4096] = "heapfuzz-ops 1\nalloc h=0 size=16 slots=32 flags=0\nroot h=0\n";
  for (int k = 0; k < 20; k++)
    snprintf(text + strlen(text), sizeof text - strlen(text),
             "alloc h=1 size=64 slots=0 flags=0\nstore h=0 slot=%d v=1\n", k);
  strcat(text, "gc-full\n"); /* op 42 */
  const struct {
    const char *tail;
    bool eager;
    uint32_t op_index; /* UINT32_MAX: the end of the program */
  } cases[] = {{"", false, UINT32_MAX}, {"gc-full\n", false, 43}, {"", true, 42}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char program[4096];
    snprintf(program, sizeof program, "%s%s", text, cases[i].tail);
    CHECK(parse(program));
    allocated = 0;
    scribble_at = 21;
    scribble_target = NULL;
    ops_run_options_t opt = {.backend = &scribbling, .eager = cases[i].eager};
    ops_run_result_t r;
    CHECK(!ops_run(&prog, &opt, &r));
    if (!strstr(r.message, "payload changed")) fprintf(stderr, "case %zu: %s\n", i, r.message);
    CHECK(strstr(r.message, "payload changed") != NULL);
    if (cases[i].op_index == UINT32_MAX)
      CHECK(strstr(r.message, "teardown") != NULL);
    else
      CHECK_EQ_U64(r.op_index, cases[i].op_index);
  }
}

int main(void) {
  RUN_TEST(test_checks_rotate_and_end_complete);
  RUN_TEST(test_skips);
  RUN_TEST(test_scenarios);
  RUN_TEST(test_deterministic);
  RUN_TEST(test_random_programs_clean);
  return 0;
}
