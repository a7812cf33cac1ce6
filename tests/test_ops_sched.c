/* Tests of the thread plan (ops/plan.c) and the deterministic scheduler (ops/sched.c): which
 * thread runs each op, that a preemption fires where the program says and hands the CPU to whom
 * it says for as long as it says, the preemption budget, waits that need other threads to run,
 * and that a schedule is the same on every run. */
#define _GNU_SOURCE
#include "hc_testutil.h"
#include "heapops.h"

static ops_program_t prog; /* large: static */
static ops_plan_t plan;

/* Parses a program given without its version line. */
static void parse(const char *body) {
  char err[256];
  static char text[8192];
  snprintf(text, sizeof text, "heapfuzz-ops 1\n%s", body);
  bool ok = ops_parse(text, strlen(text), "test", &prog, err, sizeof err);
  if (!ok) fprintf(stderr, "%s\n", err);
  CHECK(ok);
}

/* Runs prog with verbose output and the event trace captured; returns the text. */
static char *run_captured(ops_run_result_t *res) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  CHECK(out != NULL);
  ops_run_options_t opt = {.verbose = true, .trace = true, .out = out};
  bool clean = ops_run(&prog, &opt, res);
  fclose(out);
  if (!clean) fprintf(stderr, "%s\n", buf);
  CHECK(clean);
  return buf;
}

/* Position of needle in hay; fails if absent. */
static size_t at(const char *hay, const char *needle) {
  const char *p = strstr(hay, needle);
  CHECK_STR_CONTAINS(hay, needle);
  return (size_t)(p - hay);
}

static void test_plan_threads(void) {
  parse("attach\n"                             /* 0: starts m1 */
        "alloc h=0 size=32\n"                  /* 1: m0 */
        "switch t=1\n"                         /* 2: to m1 */
        "alloc h=1 size=32\n"                  /* 3: m1 */
        "sweeper n=3\n"                        /* 4: the sweeper */
        "switch t=1\n"                         /* 5: void: m1 already runs */
        "preempt to=2\n"                       /* 6: m1 arms; attached m0 m1, so 2 is the sweeper */
        "preempt to=3\n"                       /* 7: 3 is the collector */
        "preempt to=1\n"                       /* 8: void: to itself */
        "attach\nattach\n"                     /* 9, 10: m2, m3 */
        "attach\n"                             /* 11: void: four attached */
        "detach t=1\n"                         /* 12: m1 ends itself; the ops after it run on m2 */
        "verify\n"                             /* 13: m2 */
        "detach t=0\ndetach t=0\ndetach t=0\n" /* 14, 15: m0, m2 end; 16: void, one left */
        "verify\n");                           /* 17: m3 */
  ops_plan(&prog, &plan);
  CHECK_EQ_U64(plan.count, 18);
  const unsigned thread[] = {1, 0, 1, 1, OPS_THREAD_SWEEPER, 1, 1, 1, 1, 2, 3, 1, 1, 2, 0, 2, 3, 3};
  const bool skip[] = {0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0};
  for (uint32_t k = 0; k < plan.count; k++) {
    if (plan.steps[k].thread != thread[k] || plan.steps[k].skip != skip[k])
      fprintf(stderr, "op %u: thread %u skip %d\n", k, plan.steps[k].thread, plan.steps[k].skip);
    CHECK_EQ_U64(plan.steps[k].thread, thread[k]);
    CHECK_EQ_U64(plan.steps[k].skip, skip[k]);
  }
  CHECK_EQ_U64(plan.steps[6].target, OPS_THREAD_SWEEPER);
  CHECK_EQ_U64(plan.steps[7].target, OPS_THREAD_COLLECTOR);
  CHECK_EQ_U64(plan.threads, 4);
  CHECK(plan.uses_sweeper && plan.uses_collector);
  /* The run agrees with the plan: every op ran on the thread the plan names. */
  ops_run_result_t r;
  char *trace = run_captured(&r);
  CHECK_STR_CONTAINS(trace, "op 3 [m1]: alloc");
  CHECK_STR_CONTAINS(trace, "op 4 [sweeper]: sweeper");
  CHECK_STR_CONTAINS(trace, "op 13 [m2]: verify");
  CHECK_STR_CONTAINS(trace, "op 17 [m3]: verify");
  CHECK_EQ_U64(r.ops_skipped, 4);
  free(trace);
}

/* A preempt to the sweeper fires at the thread's first yield point after it: inside the next
 * allocation's slow path, once it claimed a block; the sweeper's steps run there, and the
 * allocation finishes after them. */
static void test_preempt_to_sweeper(void) {
  parse("config trigger=0 full_every=0 versions=253 flags=2\n"
        "alloc h=0 size=3000\nalloc h=0 size=3000\nalloc h=0 size=3000\n"
        "gc-full\n"
        "preempt after=0 to=1 n=2\n" /* attached: m0 only, so 1 is the sweeper; 3 steps */
        "alloc h=1 size=48\n"
        "verify\n");
  ops_run_result_t r;
  char *trace = run_captured(&r);
  CHECK_EQ_U64(r.preemptions, 1);
  size_t op = at(trace, "op 5 [m0]: alloc"), preempt = at(trace, "preempt m0 at block-found"),
         step = at(trace, "sweeper: sweeper step"), next = at(trace, "op 6 [m0]");
  CHECK(op < preempt && preempt < step && step < next);
  CHECK_STR_CONTAINS(trace, "-> sweeper x3");
  /* Three steps, then back to m0 inside its op. */
  const char *p = trace + preempt;
  int steps = 0;
  while ((p = strstr(p + 1, "sweeper: sweeper step")) && (size_t)(p - trace) < next)
    steps++;
  CHECK_EQ_U64(steps, 3);
  free(trace);
}

/* A preempt to another mutator runs that mutator's next n ops out of program order, while the
 * preempted op waits inside the heap. */
static void test_preempt_run_ahead(void) {
  parse("attach\n"                   /* 0: m1 */
        "preempt after=1 to=1 n=1\n" /* 1: m0 arms: 1 is m1, two ops, second yield */
        "alloc h=0 size=32\n"        /* 2: m0: block-published, then block-found */
        "write h=0 seed=4\n"         /* 3: m0 */
        "switch t=1\n"               /* 4: m1 */
        "alloc h=1 size=48\n"        /* 5: m1 */
        "write h=1 seed=3\n"         /* 6: m1 */
        "check h=1\n");              /* 7: m1 */
  ops_run_result_t r;
  char *trace = run_captured(&r);
  CHECK_EQ_U64(r.preemptions, 1);
  size_t preempt = at(trace, "preempt m0 at block-found -> m1 x2");
  size_t m1a = at(trace, "op 4 [m1]"), m1b = at(trace, "op 5 [m1]"), m0 = at(trace, "op 3 [m0]");
  size_t m1c = at(trace, "op 6 [m1]");
  CHECK(preempt < m1a && m1a < m1b && m1b < m0 && m0 < m1c);
  free(trace);
}

/* A preempt to the collector runs a collection inside the op it cuts into; the oracle settles it
 * like any other. */
static void test_preempt_to_collector(void) {
  parse("root h=0\nalloc h=0 size=64 slots=1\nwrite h=0 seed=9\nalloc h=1 size=64\n"
        "preempt after=0 to=2 n=1\n" /* 2: the collector, a full collection */
        "alloc h=2 size=5000\n"
        "check h=0\nverify\n");
  ops_run_result_t r;
  char *trace = run_captured(&r);
  CHECK_EQ_U64(r.preemptions, 1);
  CHECK_EQ_U64(r.collections, 1);
  CHECK_STR_CONTAINS(trace, "collector: gc-full");
  /* The collector attached its own mutator (id 2) and collected through it. */
  CHECK_STR_CONTAINS(trace, "event mutator-attached mutator=2");
  free(trace);
}

/* At most OPS_PREEMPT_BUDGET preemptions fire, however many are armed. */
static void test_preemption_budget(void) {
  char text[4096] = "config trigger=0 full_every=0 versions=253 flags=0\n";
  for (int i = 0; i < 20; i++)
    /* Two 8000-byte cells per block: every other allocation takes a block, a yield point. */
    strcat(text, "preempt after=0 to=1 n=0\nalloc h=1 size=8000\n");
  parse(text);
  ops_run_result_t r;
  char *trace = run_captured(&r);
  CHECK_EQ_U64(r.preemptions, OPS_PREEMPT_BUDGET);
  free(trace);
}

/* A collection by one mutator thread while three others are parked holding heap access: the
 * collector's wait runs each of them to a safepoint. */
static void test_wait_runs_parked_mutators(void) {
  parse("attach\nattach\nattach\n"
        "alloc h=0 size=32\nswitch t=1\nalloc h=1 size=32\nswitch t=2\nalloc h=2 size=32\n"
        "switch t=3\nalloc h=3 size=32\ngc-full\n" /* op 10 */
        "switch t=0\nverify\nswitch t=1\nverify\nswitch t=2\nverify\n");
  ops_run_result_t r;
  char *trace = run_captured(&r);
  CHECK_EQ_U64(r.collections, 1);
  CHECK_EQ_U64(r.preemptions, 0);
  /* m3 collects; m0, m1 and m2 each run to a safepoint inside its wait. */
  size_t gc = at(trace, "op 10 [m3]: gc-full");
  CHECK(gc < at(trace, "m3 waits at safepoint-wait -> m0"));
  CHECK(gc < at(trace, "m0 waits at access-wait -> m1"));
  CHECK(gc < at(trace, "m1 waits at access-wait -> m2"));
  CHECK(gc < at(trace, "m2 waits at access-wait -> m3"));
  CHECK(r.switches >= 6);
  free(trace);
}

/* The same program runs the same schedule every time: random programs full of preempts and
 * threads, each run three times, print identical op, schedule and event traces. */
static void test_schedule_deterministic(void) {
  uint64_t rng = 404;
  static uint8_t bytes[600];
  for (int round = 0; round < 40; round++) {
    size_t n = rng_range(&rng, 4, sizeof bytes);
    for (size_t i = 0; i < n; i++) {
      uint8_t b = (uint8_t)rng_next(&rng);
      /* Bias toward schedule ops: every 5th byte an opcode of attach, switch, sweeper or preempt
       * (the decoder reads whatever falls where). */
      static const uint8_t sched_ops[] = {OPS_ATTACH, OPS_SWITCH, OPS_SWEEPER_TICK, OPS_PREEMPT};
      bytes[i] = i % 5 == 4 ? sched_ops[b % 4] : b;
    }
    ops_decode(bytes, n, &prog);
    ops_run_result_t a, b, c;
    char *ta = run_captured(&a);
    char *tb = run_captured(&b);
    char *tc = run_captured(&c);
    CHECK(strcmp(ta, tb) == 0 && strcmp(tb, tc) == 0);
    CHECK_EQ_U64(a.switches, b.switches);
    CHECK_EQ_U64(a.preemptions, c.preemptions);
    free(ta);
    free(tb);
    free(tc);
  }
}

/* The shape of zoo bug large-double-release, without its preempt: m1 sweeps a dead large object
 * (op 6), then m0 shrinks (op 8). */
static const char *const sweep_then_shrink = "config trigger=0 full_every=0 versions=253 flags=2\n"
                                             "attach\n"                               /* 0 */
                                             "alloc h=0 size=20000 slots=0 flags=0\n" /* 1 */
                                             "drop h=0\n"                             /* 2 */
                                             "gc-full\n"                              /* 3 */
                                             "switch t=1\n"                           /* 4 */
                                             "verify\n"                               /* 5 */
                                             "sweep n=0\n"                            /* 6 */
                                             "switch t=0\n"                           /* 7 */
                                             "shrink\n";                              /* 8 */

static uint32_t features_set(const uint8_t *map, size_t n) {
  uint32_t set = 0;
  for (size_t i = 0; i < n; i++) {
    CHECK(map[i] <= 1); /* set, never counted up */
    set += map[i];
  }
  return set;
}

/* The schedule log: each op's yield points on its own thread, and a preempt placed before the op
 * with after < that count fires inside it; interleaving features only when threads overlap, the
 * same on every run. */
static void test_schedule_log(void) {
  static uint8_t map[4096], again[4096];
  static uint16_t yields[OPS_MAX_OPS];
  parse(sweep_then_shrink);
  ops_schedule_log_t log = {map, sizeof map, yields};
  ops_run_options_t opt = {.schedule = &log};
  ops_run_result_t res;
  CHECK(ops_run(&prog, &opt, &res));
  CHECK(yields[6] >= 1); /* the sweep's claim of the large object */
  CHECK(yields[3] >= 1); /* the collection's phases */
  CHECK_EQ_U64(yields[4], 0);
  CHECK_EQ_U64(yields[5], 0);
  CHECK_EQ_U64(features_set(map, sizeof map), 0); /* no thread ever stopped inside an op */

  /* A preempt before the sweep at each of its yield points: it fires, m0 shrinks while m1 is
   * stopped in the sweep, and that is an interleaving feature. */
  uint16_t sweep_yields = yields[6];
  for (uint16_t a = 0; a < sweep_yields; a++) {
    char text[1024];
    snprintf(text, sizeof text, "%.*spreempt after=%u to=0 n=1\n%s",
             (int)(strstr(sweep_then_shrink, "sweep n=0") - sweep_then_shrink), sweep_then_shrink,
             a, strstr(sweep_then_shrink, "sweep n=0"));
    parse(text);
    memset(map, 0, sizeof map);
    memset(yields, 0, sizeof yields);
    CHECK(ops_run(&prog, &opt, &res));
    CHECK_EQ_U64(res.preemptions, 1);
    uint32_t set = features_set(map, sizeof map);
    CHECK(set >= 2); /* the preemption, and the ops that ran while m1 was stopped */
    memcpy(again, map, sizeof map);
    memset(map, 0, sizeof map);
    CHECK(ops_run(&prog, &opt, &res));
    CHECK(memcmp(map, again, sizeof map) == 0);
  }
  /* After the sweep's last yield point the preempt fires in a later op of m1, if any: here none. */
  char text[1024];
  snprintf(text, sizeof text, "%.*spreempt after=%u to=0 n=1\n%s",
           (int)(strstr(sweep_then_shrink, "sweep n=0") - sweep_then_shrink), sweep_then_shrink,
           sweep_yields, strstr(sweep_then_shrink, "sweep n=0"));
  parse(text);
  CHECK(ops_run(&prog, &opt, &res));
  CHECK_EQ_U64(res.preemptions, 0);
}

int main(void) {
  RUN_TEST(test_plan_threads);
  RUN_TEST(test_preempt_to_sweeper);
  RUN_TEST(test_preempt_run_ahead);
  RUN_TEST(test_preempt_to_collector);
  RUN_TEST(test_preemption_budget);
  RUN_TEST(test_wait_runs_parked_mutators);
  RUN_TEST(test_schedule_deterministic);
  RUN_TEST(test_schedule_log);
  return 0;
}
