/* Tests of the example backend (tests/backend_nogc.c), and of the interpreter on a backend with
 * few capabilities: every shipped program runs clean on it in both modes and the same twice,
 * the ops it cannot run are counted per capability, its own promises hold when called directly
 * (finalizers once at destroy, weak references never cleared, the heap limit, one mutator), and
 * the oracle still catches broken variants of it.
 *
 * The corpus directory is argv[1], or HF_CORPUS_DIR (tests/CMakeLists.txt sets it). */
#define _GNU_SOURCE /* open_memstream */
#include "backend_nogc.h"
#include "check.h"
#include "heapops.h"

#include <dirent.h>

#ifndef HF_CORPUS_DIR
#  define HF_CORPUS_DIR "corpus"
#endif

static const char *corpus_dir = HF_CORPUS_DIR;
static ops_program_t prog; /* large: static */
static ops_plan_t plan;

/* What each opcode needs (capabilities, OPS_NEED_MUTATOR), from the op table. */
#define OP_NEEDS_(id, mnemonic, fn, needs, ...) [OPS_##id] = (needs),
static const uint32_t op_needs[OPS_OP_COUNT] = {OPS_OP_TABLE(OP_NEEDS_)};
#undef OP_NEEDS_

static unsigned bit_of(uint32_t cap) {
  return (unsigned)__builtin_ctz(cap);
}

static bool parse(const char *text) {
  char err[256];
  bool ok = ops_parse(text, strlen(text), "test", &prog, err, sizeof err);
  if (!ok) fprintf(stderr, "%s\n", err);
  return ok;
}

/* Runs prog on `b` with verbose output and the trace captured; returns the text. */
static char *run_captured(const hb_backend_t *b, bool threads, ops_run_result_t *r, bool *clean) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  CHECK(out != NULL);
  ops_run_options_t opt = {.verbose = true, .trace = true, .out = out, .backend = b};
  memset(r, 0, sizeof *r);
  *clean = threads ? ops_run_threads(&prog, &opt, r) : ops_run(&prog, &opt, r);
  fclose(out);
  return buf;
}

/* ---------------------------------------------------------------------------------------------
 * The shipped corpora on the nogc backend
 * ------------------------------------------------------------------------------------------- */

/* What every run of prog on the nogc backend must report about the ops it could not run: an op
 * that needs a mutator on a thread without one (one whose attach was skipped: every thread but
 * m0, which never detaches since no other mutator attaches) counts under "mutators"; any other
 * op that needs a capability it lacks, under the first one missing. */
static void check_unsupported(const char *name, const ops_run_result_t *r) {
  uint32_t want[HB_CAP_COUNT] = {0};
  ops_plan(&prog, &plan);
  for (uint32_t k = 0; k < prog.count; k++) {
    uint32_t needs = op_needs[prog.ops[k].opcode % OPS_OP_COUNT];
    uint32_t missing = needs & ~OPS_NEED_FLAGS & ~hb_nogc_backend.caps;
    if (plan.steps[k].skip) continue;
    if ((needs & OPS_NEED_MUTATOR) && plan.steps[k].thread != 0) missing = HB_CAP_MUTATORS;
    if (!missing) continue;
    want[bit_of(missing)]++;
  }
  uint64_t total = 0;
  for (unsigned b = 0; b < HB_CAP_COUNT; b++) {
    if (r->unsupported[b] != want[b])
      fprintf(stderr, "%s: %s: %u ops need it, %u counted\n", name, ops_capability_name(b), want[b],
              r->unsupported[b]);
    CHECK_EQ_U64(r->unsupported[b], want[b]);
    total += r->unsupported[b];
  }
  CHECK(total <= r->ops_skipped);
}

static char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) fprintf(stderr, "cannot open %s\n", path);
  CHECK(f != NULL);
  CHECK(fseek(f, 0, SEEK_END) == 0);
  long n = ftell(f);
  CHECK(n >= 0);
  rewind(f);
  char *text = malloc((size_t)n + 1);
  CHECK(text != NULL);
  CHECK(fread(text, 1, (size_t)n, f) == (size_t)n);
  fclose(f);
  *size = (size_t)n;
  return text;
}

static int is_ops_file(const struct dirent *e) {
  size_t n = strlen(e->d_name);
  return n > 4 && strcmp(e->d_name + n - 4, ".ops") == 0;
}

typedef struct corpus_totals {
  unsigned programs;
  uint64_t ops_run, collections, unsupported[HB_CAP_COUNT];
} corpus_totals_t;

/* Every program of corpus_dir/sub, in name order: clean, and (deterministic mode) the same
 * output twice. */
static void run_corpus(const char *sub, bool threads, corpus_totals_t *t) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", corpus_dir, sub);
  struct dirent **names;
  int n = scandir(dir, &names, is_ops_file, alphasort);
  if (n < 0) fprintf(stderr, "cannot read %s\n", dir);
  CHECK(n > 0);
  for (int i = 0; i < n; i++) {
    char path[2048], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
    size_t size;
    char *text = read_file(path, &size);
    bool parsed = ops_parse(text, size, path, &prog, err, sizeof err);
    if (!parsed) fprintf(stderr, "%s\n", err);
    CHECK(parsed);
    free(text);
    ops_run_result_t r, again;
    bool clean, clean_again;
    char *out = run_captured(&hb_nogc_backend, threads, &r, &clean);
    if (!clean || r.finding) fprintf(stderr, "%s: %s\n%s", path, r.message, out);
    CHECK(clean && !r.finding);
    check_unsupported(path, &r);
    if (!threads) {
      char *out_again = run_captured(&hb_nogc_backend, false, &again, &clean_again);
      CHECK(clean_again && strcmp(out, out_again) == 0);
      free(out_again);
    }
    free(out);
    t->programs++;
    t->ops_run += r.ops_run;
    t->collections += r.collections;
    for (unsigned b = 0; b < HB_CAP_COUNT; b++)
      t->unsupported[b] += r.unsupported[b];
    free(names[i]);
  }
  free(names);
}

static void print_totals(const char *what, const corpus_totals_t *t) {
  printf("%s: %u programs, %llu ops run, %llu collections; skipped:", what, t->programs,
         (unsigned long long)t->ops_run, (unsigned long long)t->collections);
  for (unsigned b = 0; b < HB_CAP_COUNT; b++)
    if (t->unsupported[b])
      printf(" %llu (no %s)", (unsigned long long)t->unsupported[b], ops_capability_name(b));
  printf("\n");
}

static void test_corpus(void) {
  corpus_totals_t t = {0};
  run_corpus("fuzz_heap", false, &t);
  run_corpus("fuzz_heap_threads", false, &t);
  print_totals("deterministic mode", &t);
  CHECK(t.ops_run > 1000 && t.collections > 10);
  CHECK(t.unsupported[bit_of(HB_CAP_SHRINK)] > 0 && t.unsupported[bit_of(HB_CAP_MUTATORS)] > 0);
}

/* Real-thread mode with one mutator: every thread's attach is skipped, so only m0 runs. */
static void test_corpus_threads(void) {
  corpus_totals_t t = {0};
  run_corpus("fuzz_heap", true, &t);
  run_corpus("fuzz_heap_threads", true, &t);
  print_totals("real-thread mode", &t);
  CHECK(t.ops_run > 1000);
  CHECK(t.unsupported[bit_of(HB_CAP_MUTATORS)] > 0);
}

/* Exact counts where nothing but the capability stops an op. */
static void test_unsupported_counts(void) {
  CHECK(parse("heapfuzz-ops 1\n"
              "alloc h=0 size=48 slots=1 flags=1\nroot h=0\n"
              "gc-eden\nsweep n=3\nsweep-all\nshrink\nshrink\nstop-alloc\nresume-alloc\n"
              "fail-next n=2\nsweeper n=1\nattach\n"
              "iterate\ngc-full\ncheck h=0\nverify\n"));
  ops_run_result_t r;
  bool clean;
  char *out = run_captured(&hb_nogc_backend, false, &r, &clean);
  if (!clean) fprintf(stderr, "%s", out);
  CHECK(clean);
  CHECK_STR_CONTAINS(out, "event collect full");
  CHECK_STR_CONTAINS(out, "event finalize object=0");
  free(out);
  CHECK_EQ_U64(r.unsupported[bit_of(HB_CAP_EDEN)], 1);
  CHECK_EQ_U64(r.unsupported[bit_of(HB_CAP_SWEEP_STEP)], 1);
  CHECK_EQ_U64(r.unsupported[bit_of(HB_CAP_SWEEP_ALL)], 1);
  CHECK_EQ_U64(r.unsupported[bit_of(HB_CAP_SHRINK)], 2);
  CHECK_EQ_U64(r.unsupported[bit_of(HB_CAP_STOP_ALLOCATING)], 2);
  CHECK_EQ_U64(r.unsupported[bit_of(HB_CAP_FAULT_INJECTION)], 1);
  CHECK_EQ_U64(r.unsupported[bit_of(HB_CAP_SWEEPER_STEP)], 1);
  CHECK_EQ_U64(r.unsupported[bit_of(HB_CAP_MUTATORS)], 1);
  CHECK_EQ_U64(r.unsupported[bit_of(HB_CAP_ITERATE)], 0);
  CHECK_EQ_U64(r.ops_skipped, 10);
  CHECK_EQ_U64(r.ops_run, 6);
  CHECK_EQ_U64(r.collections, 1);
}

/* ---------------------------------------------------------------------------------------------
 * The backend called directly
 * ------------------------------------------------------------------------------------------- */

typedef struct hook_log {
  hb_object_t *finalized[16];
  unsigned nfinalized, collected, traces;
  bool any_eden;
} hook_log_t;

static void on_finalized(void *ctx, hb_object_t *obj) {
  hook_log_t *log = ctx;
  CHECK(log->nfinalized < 16);
  log->finalized[log->nfinalized++] = obj;
}
static void on_collected(void *ctx, bool full) {
  hook_log_t *log = ctx;
  log->collected++;
  log->any_eden |= !full;
}
static void on_trace(void *ctx, const char *line) {
  CHECK(strchr(line, '\n') == NULL);
  ((hook_log_t *)ctx)->traces++;
}

static const hb_backend_t *const B = &hb_nogc_backend;

typedef struct env {
  hook_log_t log;
  hb_hooks_t hooks;
  hb_heap_t *heap;
  hb_mutator_t *m;
} env_t;

static void env_open(env_t *e, size_t limit, bool tracing) {
  memset(e, 0, sizeof *e);
  e->hooks = (hb_hooks_t){&e->log, on_finalized, on_collected, tracing ? on_trace : NULL, NULL};
  hb_settings_t s = {.config = {7, 7, 7, 0xff}, .heap_limit = limit, .self_checks = true};
  CHECK_EQ_U64(B->create(&s, &e->hooks, &e->heap), HB_OK);
  CHECK_EQ_U64(B->attach(e->heap, &e->m), HB_OK);
}

static void env_close(env_t *e) {
  CHECK_EQ_U64(B->detach(e->m), HB_OK);
  CHECK_EQ_U64(B->destroy(e->heap), HB_OK);
}

static hb_object_t *alloc_ok(env_t *e, size_t size, uint32_t nslots, unsigned flags) {
  hb_status_t st = HB_OK;
  hb_object_t *o = B->alloc(e->m, size, nslots, flags, &st);
  CHECK(o != NULL);
  return o;
}

static bool count_visit(hb_object_t *obj, void *ctx) {
  (void)obj;
  return ++*(unsigned *)ctx < 2; /* stop after the second */
}

static void test_objects(void) {
  env_t e;
  env_open(&e, OPS_HEAP_LIMIT, false);
  hb_object_t *a = alloc_ok(&e, 8 + 3 * 8 + 40, 3, 0), *b = alloc_ok(&e, 8, 0, 0);
  size_t size, psize;
  uint32_t nslots;
  B->shape(a, &size, &nslots);
  CHECK(size == 8 + 3 * 8 + 40 && nslots == 3);
  uint8_t *p = B->payload(a, &psize);
  CHECK_EQ_U64(psize, 40);
  for (size_t i = 0; i < psize; i++)
    CHECK(p[i] == 0);
  size_t b_psize;
  B->payload(b, &b_psize);
  CHECK_EQ_U64(b_psize, 0);
  for (uint32_t s = 0; s < 3; s++)
    CHECK(B->load(e.m, a, s) == NULL);
  memset(p, 0xa5, psize);
  B->store(e.m, a, 2, b);
  B->store(e.m, a, 0, a);
  CHECK_EQ_U64(B->collect(e.m, true), HB_OK);
  CHECK(B->load(e.m, a, 0) == a && B->load(e.m, a, 1) == NULL && B->load(e.m, a, 2) == b);
  CHECK(p[0] == 0xa5 && p[39] == 0xa5);
  int local;
  CHECK(B->is_live(e.m, a) && B->is_live(e.m, b));
  CHECK(!B->is_live(e.m, NULL) && !B->is_live(e.m, &local) && !B->is_live(e.m, p));
  unsigned visits = 0;
  CHECK_EQ_U64(B->iterate(e.m, count_visit, &visits), HB_OK);
  CHECK_EQ_U64(visits, 2);
  hb_status_t st = HB_OK;
  CHECK(B->alloc(e.m, 8 + 8, 2, 0, &st) == NULL); /* two slots do not fit in 16 bytes */
  CHECK_EQ_U64(st, NOGC_ERR_BAD_SHAPE);
  hb_object_t *root = a;
  CHECK_EQ_U64(B->root_add(e.m, &root), HB_OK);
  CHECK_EQ_U64(B->root_remove(e.m, &root), HB_OK);
  CHECK_EQ_U64(B->root_remove(e.m, &root), NOGC_ERR_NOT_A_ROOT);
  hb_weak_t *w;
  CHECK_EQ_U64(B->weak_create(e.m, (hb_object_t *)&local, &w), NOGC_ERR_NOT_AN_OBJECT);
  CHECK(strcmp(B->status_name(NOGC_ERR_NOT_A_ROOT), "NOGC_ERR_NOT_A_ROOT") == 0);
  env_close(&e);
}

static void test_finalizers_once_at_destroy(void) {
  env_t e;
  env_open(&e, OPS_HEAP_LIMIT, true);
  hb_object_t *objs[6];
  for (unsigned i = 0; i < 6; i++)
    objs[i] = alloc_ok(&e, 64, 1, i % 2 ? 0 : HB_ALLOC_FINALIZE);
  B->store(e.m, objs[0], 0, objs[2]);
  CHECK_EQ_U64(B->collect(e.m, true), HB_OK);
  CHECK_EQ_U64(B->collect(e.m, true), HB_OK);
  CHECK_EQ_U64(e.log.nfinalized, 0); /* nothing dies before destroy */
  CHECK_EQ_U64(e.log.collected, 2);
  CHECK(!e.log.any_eden);
  unsigned traces = e.log.traces;
  env_close(&e);
  CHECK_EQ_U64(e.log.nfinalized, 3); /* allocation order, each once */
  CHECK(e.log.finalized[0] == objs[0] && e.log.finalized[1] == objs[2] &&
        e.log.finalized[2] == objs[4]);
  CHECK_EQ_U64(e.log.traces, traces + 3);
}

static void test_collect_hooks(void) {
  env_t e;
  env_open(&e, OPS_HEAP_LIMIT, true);
  alloc_ok(&e, 100, 0, 0);
  unsigned traces = e.log.traces;
  CHECK_EQ_U64(B->collect(e.m, true), HB_OK);
  CHECK_EQ_U64(e.log.collected, 1);
  CHECK_EQ_U64(e.log.traces, traces + 1);
  CHECK(B->collect(e.m, false) >= HB_ERR_BACKEND); /* no HB_CAP_EDEN: refused, no collection */
  CHECK_EQ_U64(e.log.collected, 1);
  env_close(&e);
  env_open(&e, OPS_HEAP_LIMIT, false); /* no trace hook: nothing to format */
  CHECK_EQ_U64(B->collect(e.m, true), HB_OK);
  CHECK_EQ_U64(e.log.collected, 1);
  CHECK_EQ_U64(e.log.traces, 0);
  env_close(&e);
}

static void test_weak_never_cleared(void) {
  env_t e;
  env_open(&e, OPS_HEAP_LIMIT, false);
  hb_object_t *target = alloc_ok(&e, 48, 0, HB_ALLOC_FINALIZE);
  hb_weak_t *kept, *dropped;
  CHECK_EQ_U64(B->weak_create(e.m, target, &kept), HB_OK);
  CHECK_EQ_U64(B->weak_create(e.m, target, &dropped), HB_OK);
  CHECK_EQ_U64(B->weak_destroy(e.m, dropped), HB_OK);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_U64(B->collect(e.m, true), HB_OK); /* unreachable from any root, yet alive */
    CHECK(B->weak_get(e.m, kept) == target);
  }
  CHECK(B->is_live(e.m, target));
  env_close(&e); /* frees `kept` (LeakSanitizer would say otherwise) */
  CHECK_EQ_U64(e.log.nfinalized, 1);
}

static void test_heap_limit(void) {
  env_t e;
  env_open(&e, 3 * 1000 + 100, false);
  for (int i = 0; i < 3; i++)
    alloc_ok(&e, 1000, 0, 0);
  hb_status_t st = HB_OK;
  CHECK(B->alloc(e.m, 101, 0, 0, &st) == NULL);
  CHECK_EQ_U64(st, HB_ERR_LIMIT);
  CHECK_EQ_U64(B->collect(e.m, true), HB_OK); /* frees nothing: still full */
  st = HB_OK;
  CHECK(B->alloc(e.m, 101, 0, 0, &st) == NULL);
  CHECK_EQ_U64(st, HB_ERR_LIMIT);
  alloc_ok(&e, 100, 0, 0); /* exactly at the limit */
  st = HB_OK;
  CHECK(B->alloc(e.m, 8, 0, 0, &st) == NULL);
  CHECK_EQ_U64(st, HB_ERR_LIMIT);
  env_close(&e);
}

static void test_one_mutator(void) {
  env_t e;
  env_open(&e, OPS_HEAP_LIMIT, false);
  CHECK(!(B->caps & HB_CAP_MUTATORS));
  hb_mutator_t *second = NULL;
  hb_status_t st = B->attach(e.heap, &second);
  CHECK(st >= HB_ERR_BACKEND && second == NULL);
  CHECK(strcmp(B->status_name(st), "NOGC_ERR_?") != 0);
  CHECK(B->destroy(e.heap) >= HB_ERR_BACKEND); /* a mutator is attached: refused, heap kept */
  CHECK_EQ_U64(B->detach(e.m), HB_OK);
  CHECK(B->detach(e.m) >= HB_ERR_BACKEND);
  CHECK_EQ_U64(B->attach(e.heap, &e.m), HB_OK); /* the one mutator again */
  env_close(&e);
}

/* Every required entry is there; the optional ones are there exactly when promised. */
static void test_table(void) {
  CHECK(B->name && B->status_name && B->create && B->destroy && B->attach && B->detach &&
        B->alloc && B->load && B->store && B->payload && B->root_add && B->root_remove &&
        B->weak_create && B->weak_get && B->weak_destroy && B->collect);
  CHECK(!!B->shape == !!(B->caps & HB_CAP_SHAPE));
  CHECK(!!B->is_live == !!(B->caps & HB_CAP_LIVENESS));
  CHECK(!!B->iterate == !!(B->caps & HB_CAP_ITERATE));
  CHECK(!(B->caps &
          (HB_CAP_EXACT_DEATH | HB_CAP_EXACT_LIVE_BYTES | HB_CAP_ACCESS | HB_CAP_YIELD_POINTS)));
  CHECK(B->caps & HB_CAP_EXACT_FINALIZERS);
}

/* ---------------------------------------------------------------------------------------------
 * The oracle on broken variants of the backend
 * ------------------------------------------------------------------------------------------- */

static hb_object_t *load_null(hb_mutator_t *m, hb_object_t *obj, uint32_t slot) {
  (void)m, (void)obj, (void)slot;
  return NULL;
}

static hb_object_t *weak_get_null(hb_mutator_t *m, hb_weak_t *weak) {
  (void)m, (void)weak;
  return NULL;
}

static void ignore_finalized(void *ctx, hb_object_t *obj) {
  (void)ctx, (void)obj;
}
/* A heap that never calls the finalizer hook. */
static hb_status_t create_no_finalizers(const hb_settings_t *s, const hb_hooks_t *hooks,
                                        hb_heap_t **out) {
  static hb_hooks_t h; /* the backend keeps a copy, but be safe: outlives the call */
  h = *hooks;
  h.finalized = ignore_finalized;
  return hb_nogc_backend.create(s, &h, out);
}

static void expect_finding(const hb_backend_t *b, bool threads, const char *program,
                           const char *invariant) {
  CHECK(parse(program));
  ops_run_result_t r;
  bool clean;
  char *out = run_captured(b, threads, &r, &clean);
  if (clean || !r.finding)
    fprintf(stderr, "%s (%s mode): no finding\n%s", b->name,
            threads ? "real-thread" : "deterministic", out);
  CHECK(!clean && r.finding);
  CHECK_STR_CONTAINS(r.message, invariant);
  CHECK_STR_CONTAINS(out, "heapfuzz: finding: ");
  free(out);
}

static void test_oracle_catches_broken_variants(void) {
  static const char *const program =
      "heapfuzz-ops 1\n"
      "alloc h=0 size=48 slots=1 flags=1\nroot h=0\nalloc h=1 size=48 slots=0 flags=0\n"
      "write h=1 seed=9\nweak w=0 h=1\nstore h=0 slot=0 v=1\ndrop h=1\n"
      "gc-full\nderef dst=2 w=0\ncheck h=2\nload dst=3 h=0 slot=0\ncheck h=3\n";
  /* The program itself is clean on the real thing. */
  CHECK(parse(program));
  ops_run_result_t r;
  ops_run_options_t opt = {.out = stderr, .backend = &hb_nogc_backend};
  CHECK(ops_run(&prog, &opt, &r) && !r.finding);

  hb_backend_t broken = hb_nogc_backend;
  broken.name = "nogc-load-null";
  broken.load = load_null;
  expect_finding(&broken, false, program, "reference changed");
  expect_finding(&broken, true, program, "reference changed");

  broken = hb_nogc_backend;
  broken.name = "nogc-weak-cleared";
  broken.weak_get = weak_get_null;
  expect_finding(&broken, false, program, "cleared");

  broken = hb_nogc_backend;
  broken.name = "nogc-no-finalizers";
  broken.create = create_no_finalizers;
  expect_finding(&broken, false, program, "finalizers");
  expect_finding(&broken, true, program, "finalizers");
}

/* `heapfuzz run` says what the heap leaves out: the ops it skips and the checks that are off,
 * each named; the heap core leaves out nothing but what fibers cannot run. */
static void test_describe(void) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  CHECK(out != NULL);
  ops_describe_backend(&hb_nogc_backend, false, "> ", out);
  fclose(out);
  CHECK(strstr(buf, "> ops skipped on nogc: ") != NULL);
  CHECK(strstr(buf, "shrink") != NULL && strstr(buf, "gc-eden") != NULL);
  CHECK(strstr(buf, "attach") != NULL && strstr(buf, "preempt") != NULL);
  CHECK(strstr(buf, "gc-full") == NULL && strstr(buf, "iterate") == NULL);
  CHECK(strstr(buf, "> check off on nogc (no exact death): ") != NULL);
  CHECK(strstr(buf, "(no exact live bytes)") != NULL && strstr(buf, "(no verifier)") != NULL);
  CHECK(strstr(buf, "(no exact finalizers)") == NULL && strstr(buf, "(no object shape)") == NULL);
  free(buf);
  buf = NULL;
  out = open_memstream(&buf, &len);
  CHECK(out != NULL);
  ops_describe_backend(ops_default_backend(), true, "> ", out);
  fclose(out);
  CHECK_EQ_U64(len, 0);
  free(buf);
  buf = NULL;
  out = open_memstream(&buf, &len);
  CHECK(out != NULL);
  ops_describe_backend(ops_default_backend(), false, "> ", out); /* fibers: no heap thread */
  fclose(out);
  CHECK(strcmp(buf, "> ops skipped on heapcore: sweeper-start, sweeper-stop\n") == 0);
  free(buf);
}

int main(int argc, char **argv) {
  if (argc > 1) corpus_dir = argv[1];
  RUN_TEST(test_table);
  RUN_TEST(test_objects);
  RUN_TEST(test_finalizers_once_at_destroy);
  RUN_TEST(test_collect_hooks);
  RUN_TEST(test_weak_never_cleared);
  RUN_TEST(test_heap_limit);
  RUN_TEST(test_one_mutator);
  RUN_TEST(test_describe);
  RUN_TEST(test_unsupported_counts);
  RUN_TEST(test_oracle_catches_broken_variants);
  RUN_TEST(test_corpus);
  RUN_TEST(test_corpus_threads);
  return 0;
}
