/* Tests of real-thread mode (ops/threads.c, ops/threads_oracle.c): clean runs and op counts that
 * follow the plan, objects surviving other threads' collections, no leak and no thread left
 * over across many runs, whole trace lines from many threads, random programs (a small fuzzing
 * run in every CI). Runs are not deterministic, so nothing here compares two runs.
 *
 * Built a second time as test_ops_threads_injected, against a heap with the stale-last-active
 * bug injected (HC_INJECT_BUG, tests/CMakeLists.txt): then it checks only that the runner
 * reports that bug, in the finding format, and aborts. */
#define _GNU_SOURCE /* open_memstream, mallinfo2 */
#include "hc_testutil.h"
#include "heapops.h"

#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static ops_program_t prog; /* large: static */

static bool parse(const char *text) {
  char err[256];
  bool ok = ops_parse(text, strlen(text), "test", &prog, err, sizeof err);
  if (!ok) fprintf(stderr, "%s\n", err);
  return ok;
}

#ifndef HC_INJECT_BUG_STALE_LAST_ACTIVE

static bool run_clean(const ops_program_t *p, ops_run_result_t *r) {
  ops_run_options_t opt = {.out = stderr};
  bool clean = ops_run_threads(p, &opt, r);
  if (!clean || r->finding) fprintf(stderr, "finding: %s\n", r->message);
  return clean && !r->finding;
}

/* Threads of this process, from /proc (every run must have joined all of its own). */
static unsigned thread_count(void) {
  unsigned n = 0;
  DIR *d = opendir("/proc/self/task");
  CHECK(d != NULL);
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Three threads and the sweeper, every op effective: ops_run counts exactly the plan's non-void
 * steps, ops_skipped its void ones (attach past four mutators, switch to the running thread). */
static void test_counts_follow_the_plan(void) {
  CHECK(parse("heapfuzz-ops 1\nconfig trigger=1 full_every=2 versions=253 flags=2\n"
              "attach\nattach\nattach\nattach\n" /* the 4th attach: five mutators, void */
              "switch t=0\n"                     /* the running thread: void */
              "alloc h=0 size=48 slots=1 flags=1\nwrite h=0 seed=3\nweak w=0 h=0\n"
              "alloc h=1 size=9000 slots=0 flags=0\nstore h=0 slot=0 v=1\ngc-full\n"
              "check h=0\nderef dst=2 w=0\ncheck h=2\n"
              "switch t=1\nalloc h=0 size=100 slots=0 flags=0\ngc-eden\nstop-alloc\n"
              "shrink\nresume-alloc\nalloc h=1 size=100 slots=0 flags=0\niterate\n"
              "switch t=2\nalloc h=0 size=2000 slots=0 flags=0\nsweep n=3\nverify\n"
              "detach t=2\n" /* m2's last op; m3 runs the next ones */
              "alloc h=0 size=16 slots=0 flags=0\nsweeper n=4\nsweeper n=15\n"));
  static ops_plan_t plan;
  ops_plan(&prog, &plan);
  uint32_t voids = 0;
  for (uint32_t k = 0; k < plan.count; k++)
    voids += plan.steps[k].skip;
  CHECK_EQ_U64(voids, 2);
  CHECK_EQ_U64(plan.threads, 4);
  CHECK(plan.uses_sweeper);
  for (int round = 0; round < 20; round++) {
    ops_run_result_t r;
    CHECK(run_clean(&prog, &r));
    CHECK_EQ_U64(r.ops_skipped, voids);
    CHECK_EQ_U64(r.ops_run, plan.count - voids);
    CHECK(r.collections >= 3); /* two explicit ones and the join's */
    CHECK_EQ_U64(r.switches, 0);
    CHECK_EQ_U64(r.preemptions, 0);
  }
}

/* m1 keeps a finalizable chain and a weak reference to it, checks it between allocations while
 * m0 and m2 collect (full and eden, every op): each check, every collection m1 observes and the
 * join compare the chain with m1's model. */
static void test_held_objects_survive_other_threads(void) {
  char text[16384];
  size_t n = (size_t)snprintf(text, sizeof text,
                              "heapfuzz-ops 1\nconfig trigger=1 full_every=0 versions=2 flags=1\n"
                              "attach\nattach\nswitch t=1\n"
                              "alloc h=0 size=64 slots=1 flags=1\nwrite h=0 seed=5\n"
                              "alloc h=1 size=9000 slots=1 flags=1\nwrite h=1 seed=6\n"
                              "store h=0 slot=0 v=1\nweak w=3 h=1\ndrop h=1\n");
  for (int i = 0; i < 40; i++)
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "alloc h=5 size=%d slots=0 flags=0\ncheck h=0\nload dst=2 h=0 slot=0\n"
                          "check h=2\nderef dst=3 w=3\ncheck h=3\n",
                          200 + 64 * (i % 8));
  n += (size_t)snprintf(text + n, sizeof text - n, "switch t=0\n");
  for (int i = 0; i < 30; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "gc-full\n");
  n += (size_t)snprintf(text + n, sizeof text - n, "switch t=2\n");
  for (int i = 0; i < 30; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "gc-eden\nsweep-all\n");
  CHECK(n < sizeof text);
  CHECK(parse(text));
  for (int round = 0; round < 10; round++) {
    ops_run_result_t r;
    CHECK(run_clean(&prog, &r));
    CHECK_EQ_U64(r.ops_skipped, 0);
    CHECK(r.collections >= 61);
  }
}

/* The same program 50 times: every run clean, every thread joined, and (without a sanitizer's
 * allocator, which mallinfo2 does not see; ASan's leak checker covers its builds) no growth of
 * the malloc heap from run 10 to run 50. */
static void test_no_leak_across_runs(void) {
  CHECK(parse("heapfuzz-ops 1\nconfig trigger=2 full_every=2 versions=253 flags=2\n"
              "attach\nattach\nalloc h=0 size=48 slots=2 flags=1\nweak w=0 h=0\n"
              "alloc h=1 size=20000 slots=1 flags=1\nstore h=0 slot=0 v=1\ngc-eden\n"
              "switch t=1\nalloc h=0 size=300 slots=0 flags=1\nweak w=1 h=0\nstop-alloc\n"
              "gc-full\nshrink\n"
              "switch t=2\nalloc h=4 size=700 slots=0 flags=0\ndrop h=4\ngc-full\niterate\n"
              "detach t=2\nsweeper n=9\n"));
  unsigned threads = thread_count();
  size_t before = 0;
  for (int round = 0; round < 50; round++) {
    ops_run_result_t r;
    CHECK(run_clean(&prog, &r));
    CHECK_EQ_U64(thread_count(), threads);
    if (round == 9) before = mallinfo2().uordblks;
  }
#  if !defined(HC_ASAN) && !defined(HC_TSAN)
  size_t after = mallinfo2().uordblks;
  if (after > before + 4096) fprintf(stderr, "malloc in use: %zu -> %zu\n", before, after);
  CHECK(after <= before + 4096);
#  else
  (void)before;
  printf("SKIP part of %s: the malloc growth check (mallinfo2 does not see a sanitizer's "
         "allocator)\n",
         __func__);
#  endif
}

/* Verbose and trace output from many threads: every line is whole (one write per line), and
 * every effective op is printed exactly once. */
static void test_trace_lines_whole(void) {
  CHECK(parse("heapfuzz-ops 1\nconfig trigger=1 full_every=2 versions=253 flags=2\n"
              "attach\nattach\nattach\n"
              "alloc h=0 size=48 slots=0 flags=0\nalloc h=0 size=2000 slots=0 flags=0\ngc-full\n"
              "switch t=1\nalloc h=0 size=9000 slots=0 flags=0\ngc-eden\nshrink\n"
              "switch t=2\nalloc h=0 size=112 slots=0 flags=0\nsweep-all\n"
              "switch t=3\nalloc h=0 size=48 slots=0 flags=0\ngc-full\n"
              "sweeper n=15\nsweeper n=15\n"));
  for (int round = 0; round < 10; round++) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    CHECK(out != NULL);
    ops_run_options_t opt = {.verbose = true, .trace = true, .out = out};
    ops_run_result_t r;
    CHECK(ops_run_threads(&prog, &opt, &r));
    fclose(out);
    unsigned ops = 0, events = 0;
    for (char *line = buf, *end; *line; line = end + 1) {
      end = strchr(line, '\n');
      CHECK(end != NULL);
      *end = '\0';
      if (strncmp(line, "op ", 3) == 0) {
        unsigned k;
        char thread[16];
        CHECK(sscanf(line, "op %u [%15[a-z0-9]]: ", &k, thread) == 2);
        CHECK(strstr(line, "]: ") != NULL && strstr(line + 3, "op ") == NULL);
        ops++;
      } else {
        CHECK_STR_CONTAINS(line, "  event ");
        CHECK(strncmp(line, "  event ", 8) == 0 && strstr(line, " arg=") != NULL);
        events++;
      }
    }
    CHECK_EQ_U64(r.ops_skipped, 0);
    CHECK_EQ_U64(ops, r.ops_run);
    CHECK(events > 10);
    free(buf);
  }
}

/* The deterministic interpreter's directed scenarios and regressions, in real-thread mode. */
static void test_scenarios(void) {
  static const char *const programs[] = {
      "heapfuzz-ops 1\n"
      "alloc h=0 size=64 slots=1 flags=0\nalloc h=1 size=64 slots=0 flags=1\n"
      "weak w=0 h=1\nstore h=0 slot=0 v=1\ngc-eden\ndrop h=1\nclear h=0 slot=0\n"
      "gc-eden\nderef dst=2 w=0\ngc-full\nderef dst=3 w=0\nsweep-all\nverify\n",
      "heapfuzz-ops 1\n"
      "alloc h=0 size=48 slots=0 flags=0\nstop-alloc\ngc-full\nshrink\nresume-alloc\n"
      "alloc h=1 size=48 slots=0 flags=0\niterate\nverify\n",
      "heapfuzz-ops 1\nconfig trigger=1 full_every=3 versions=1 flags=3\n"
      "attach\nattach\nalloc h=0 size=9000 slots=4 flags=1\nswitch t=1\n"
      "alloc h=1 size=100 slots=2 flags=0\nswitch t=2\ndetach t=1\n"
      "gc-full\ngc-eden\ngc-full\nswitch t=0\ncheck h=0\nsweeper n=5\nfail-next n=0\n"
      "alloc h=2 size=65000 slots=0 flags=0\nverify\n",
      "heapfuzz-ops 1\nconfig trigger=241 full_every=150 versions=43 flags=67\n"
      "alloc h=151 size=51970 slots=118 flags=41\nalloc h=175 size=3615 slots=61 flags=61\n"
      "alloc h=115 size=2316 slots=181 flags=43\n",
      "heapfuzz-ops 1\nconfig trigger=1 full_every=1 versions=0 flags=0\n"
      "alloc h=0 size=30000 slots=0 flags=0\nalloc h=0 size=30000 slots=0 flags=0\n"
      "alloc h=0 size=30000 slots=0 flags=0\nalloc h=0 size=17235 slots=0 flags=0\n",
  };
  for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
    CHECK(parse(programs[i]));
    for (int round = 0; round < 5; round++) {
      ops_run_result_t r;
      if (!run_clean(&prog, &r)) fprintf(stderr, "scenario %zu\n", i);
      CHECK(!r.finding);
      CHECK_EQ_U64(r.ops_skipped, 0);
    }
  }
}

static void random_bytes(uint64_t *rng, uint8_t *buf, size_t n) {
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)rng_next(rng);
}

/* Random inputs must run clean on the shipped heap: any finding is a heap or oracle bug. */
static void test_random_programs_clean(void) {
  uint64_t rng = 4242;
  static uint8_t bytes[1200];
  uint64_t ops = 0, threads = 0;
  for (int round = 0; round < 200; round++) {
    size_t n = rng_range(&rng, 0, round % 10 == 0 ? sizeof bytes : 300);
    random_bytes(&rng, bytes, n);
    ops_decode(bytes, n, &prog);
    static ops_plan_t plan;
    ops_plan(&prog, &plan);
    threads += plan.threads;
    ops_run_result_t r;
    if (!run_clean(&prog, &r)) fprintf(stderr, "round %d\n", round);
    CHECK(!r.finding);
    ops += r.ops_run;
  }
  printf("random programs: %llu ops run on %llu mutator threads\n", (unsigned long long)ops,
         (unsigned long long)threads);
  CHECK(ops > 5000 && threads > 300);
}

int main(void) {
  RUN_TEST(test_counts_follow_the_plan);
  RUN_TEST(test_held_objects_survive_other_threads);
  RUN_TEST(test_no_leak_across_runs);
  RUN_TEST(test_trace_lines_whole);
  RUN_TEST(test_scenarios);
  RUN_TEST(test_random_programs_clean);
  return 0;
}

#else /* HC_INJECT_BUG_STALE_LAST_ACTIVE */

/* m0's only block is all garbage when it stops allocating; its own shrink then releases the
 * pinned block (the injected bug), and the verify after the shrink must say so: the first line
 * of the output is the finding, in the documented format, and the run aborts (the fuzz targets'
 * abort_on_finding). m1 allocates large objects meanwhile, so the heap has more than one thread
 * but no other thread's objects share (or steal) m0's 48-byte block. In a child, since the run
 * aborts. */
static void test_injected_bug_reported(void) {
  CHECK(parse(
      "heapfuzz-ops 1\n"
      "attach\n"
      "alloc h=0 size=48 slots=0 flags=0\nalloc h=0 size=48 slots=0 flags=0\ndrop h=0\n"
      "stop-alloc\ngc-full\nshrink\nresume-alloc\n"
      "switch t=1\nalloc h=0 size=9000 slots=0 flags=0\nalloc h=1 size=9000 slots=0 flags=0\n"));
  char path[] = "/tmp/test_ops_threads_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    FILE *out = fdopen(fd, "w");
    if (!out) _exit(3);
    ops_run_options_t opt = {.out = out, .abort_on_finding = true};
    ops_run_result_t r;
    ops_run_threads(&prog, &opt, &r);
    _exit(0); /* not reached when the bug is reported */
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  char text[4096] = "";
  FILE *in = fdopen(fd, "r");
  CHECK(in != NULL);
  rewind(in);
  size_t n = fread(text, 1, sizeof text - 1, in);
  text[n] = '\0';
  fclose(in);
  unlink(path);
  fprintf(stderr, "%s(child status %#x)\n", text, (unsigned)status);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  /* m1 may attach first: m0's mutator id is 1 or 2. */
  char *eol = strchr(text, '\n');
  CHECK(eol != NULL);
  *eol = '\0';
  CHECK(strncmp(text, "heapfuzz: finding: op 6 (shrink) on m0: verify: after a shrink: mutator ",
                strlen("heapfuzz: finding: op 6 (shrink) on m0: verify: after a shrink: "
                       "mutator ")) == 0);
  CHECK_STR_CONTAINS(text, ": last-active block of class 48 is not a live block of its "
                           "directory (HC_ERR_VERIFY)");
  *eol = '\n';
  CHECK_STR_CONTAINS(text, "heap state: ");
}

int main(void) {
  RUN_TEST(test_injected_bug_reported);
  return 0;
}

#endif /* HC_INJECT_BUG_STALE_LAST_ACTIVE */
