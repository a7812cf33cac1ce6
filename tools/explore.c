/* explore.c: `heapfuzz explore`, systematic schedules for promising programs (issue 14).
 *
 * An ordering bug needs one or two preemptions at the right yield point to the right thread. A
 * fuzzer that keeps a program reaching a sweep, a shrink or a steal while another mutator is
 * attached has the ops already; what it lacks is the schedule, and random mutation finds one
 * yield point in hundreds slowly. So explore tries the schedules of a program systematically,
 * as PCT does, with a budget:
 *   1. The program runs once as it is, in a child, with the scheduler's yield counts
 *      (ops_schedule_log_t.yields): how many heap yield points each op passes on its own
 *      thread.
 *   2. Depth 1: for every op k of a mutator thread that passes a yield point, every yield point
 *      a < yields[k] of it (at most 16, what a preempt can count), every thread a preempt there
 *      can name (each other mutator attached at that point, the sweeper, the collector) and a
 *      few run lengths (a mutator: 1, 2 or 4 ops; the sweeper: 1 or 4 steps; the collector: an
 *      eden or a full collection), one candidate: the program with `preempt after=a to=T n=q`
 *      inserted right before op k (it runs on op k's thread, so it fires inside op k). All of
 *      them, when the budget allows; else a seeded sample of the budget's size.
 *   3. Depth 2, with what is left of the budget (at least a quarter of it). The depth-1 runs
 *      count their yields too: an op that yields only once another thread cut in (a sweep that
 *      finds a block unswept because a shrink is stopped at its claim) is where a second change
 *      point can go. So first each depth-1 change point is paired with every change point of
 *      the windows its own run revealed; then seeded random pairs of a depth-1 change point and
 *      one drawn from the yield points any run so far passed, in another op.
 * Candidates run one after another in a forked child, as fast as a fuzzer's executions: the
 * parent learns which one is running from a shared page; when the child dies (a finding aborts,
 * a sanitizer report exits), that candidate is the crash: its program is saved, in binary form as
 * a fuzzer's crash file, crash-explore-<hash> in --out, with the child's report beside it
 * (<name>.log), and a new child goes on with the next candidate. A candidate still running after
 * --timeout seconds is killed and saved as timeout-explore-<hash>. scripts/triage files them like
 * any engine's crash files.
 *
 * Same file, same build, same options: the same candidates in the same order (the sample is
 * seeded by --seed and the program's bytes; no clock decides anything but a timeout). */
#ifndef _POSIX_C_SOURCE
#  define _POSIX_C_SOURCE 200809L /* fork, kill, sigaction */
#endif

#include "explore.h"

#include "hf_file.h"
#include "minimize.h" /* hf_abort_with_stack */
#include "program.h"
#include "signature.h" /* hf_fnv1a64 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EX_DEFAULT_BUDGET  1000u
#define EX_DEFAULT_TIMEOUT 10u
#define EX_MAX_AFTER       16u   /* a preempt counts 1..16 yield points (ops/sched.c's arm) */
#define EX_MAX_REVEALED    8192u /* depth-1 windows remembered for depth 2 */

enum { EX_CLEAN = 0, EX_CRASH = 1, EX_USAGE = 2 };

/* A change point: `preempt after=after to=to n=n` inserted right before program op `op`. */
typedef struct ex_point {
  uint32_t op;
  uint8_t after, to, n;
} ex_point_t;

/* A candidate: one or two change points (depth 2: b.op > a.op). */
typedef struct ex_candidate {
  ex_point_t a, b;
  uint8_t depth;
} ex_candidate_t;

typedef struct ex_options {
  uint32_t budget, depth, seed, timeout, max_crashes;
  const char *out;
} ex_options_t;

/* A window a depth-1 candidate revealed: op `op` passed `yields` yield points in its run, more
 * than in the unchanged program's. */
typedef struct ex_window {
  uint32_t cand, op;
  uint16_t yields;
} ex_window_t;

/* The page the running child and the parent share. */
typedef struct ex_shared {
  volatile uint32_t current;    /* the candidate the child runs (or is about to) */
  volatile uint32_t done;       /* the child finished every candidate */
  volatile uint32_t started;    /* the child is set up: from here on, a death is a candidate's */
  uint16_t yields[OPS_MAX_OPS]; /* per program op: the most yield points a run saw it pass */
  uint16_t base[OPS_MAX_OPS];   /* per program op: the yield points of the unchanged run */
  /* The ops a depth-1 candidate made pass more yield points than the unchanged run: where its
   * preemption opened a window a second change point can use. */
  uint32_t nrevealed;
  ex_window_t revealed[EX_MAX_REVEALED];
} ex_shared_t;

typedef struct ex_state {
  const ex_options_t *opt;
  const char *path;
  const ops_program_t *prog;
  ex_shared_t *shm;
  ex_candidate_t *cands;
  uint32_t count, depth1;
  uint32_t origin[OPS_MAX_OPS];     /* the variant's op j is the program's op origin[j] */
  uint16_t run_yields[OPS_MAX_OPS]; /* the child's last run's yields, by variant op */
  ops_program_t *variant;           /* scratch: the candidate being built */
  char log_path[4200];              /* the running child's output */
  uint32_t crashes, timeouts, children;
} ex_state_t;

/* ---------------------------------------------------------------------------------------------
 * Candidates
 * ------------------------------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* p with the candidate's preempts inserted, each right before its op; origin (if not NULL) maps
 * the variant's ops back to p's (UINT32_MAX for an inserted preempt). */
static void build_variant(const ops_program_t *p, const ex_candidate_t *c, ops_program_t *out,
                          uint32_t *origin) {
  out->config = p->config;
  out->count = 0;
  const ex_point_t *pts[2] = {&c->a, c->depth == 2 ? &c->b : NULL};
  for (uint32_t k = 0; k < p->count && out->count < OPS_MAX_OPS; k++) {
    for (int i = 0; i < 2; i++)
      if (pts[i] && pts[i]->op == k && out->count < OPS_MAX_OPS) {
        if (origin) origin[out->count] = UINT32_MAX;
        out->ops[out->count++] =
            (ops_op_t){.opcode = OPS_PREEMPT, .operand = {pts[i]->after, pts[i]->to, pts[i]->n}};
      }
    if (out->count == OPS_MAX_OPS) break;
    if (origin) origin[out->count] = k;
    out->ops[out->count++] = p->ops[k];
  }
}

/* Ops a preempt inserted before them runs on the same thread as: a mutator's own ops (not the
 * ops that change who runs: attach, switch, detach, and not the sweeper's). */
static bool preemptible(const ops_op_t *op) {
  switch ((ops_opcode_t)(op->opcode % OPS_OP_COUNT)) {
    case OPS_ATTACH:
    case OPS_DETACH:
    case OPS_SWITCH:
    case OPS_SWEEPER_TICK:
    case OPS_PREEMPT:
      return false;
    default:
      return true;
  }
}

/* Appends the depth-1 change points before op k: every `to` that names a distinct other thread
 * there, with its run lengths. The plan of the program with one preempt at k says whom a `to`
 * names (mutators are counted among those attached at that point). */
static void add_points_at(ex_state_t *st, uint32_t k, uint32_t yields, ops_plan_t *plan,
                          ex_point_t **pts, uint32_t *n, uint32_t *cap) {
  uint32_t after_max = yields < EX_MAX_AFTER ? yields : EX_MAX_AFTER;
  bool seen[OPS_THREAD_COUNT] = {false};
  for (uint8_t to = 0; to < OPS_MAX_MUTATORS + 2; to++) {
    ex_candidate_t c = {.a = {k, 0, to, 0}, .depth = 1};
    build_variant(st->prog, &c, st->variant, NULL);
    st->variant->count = k + 2; /* who runs the preempt and op k depends on the ops before */
    ops_plan(st->variant, plan);
    const ops_plan_step_t *s = &plan->steps[k];
    if (s->skip || seen[s->target] || s->thread != plan->steps[k + 1].thread) continue;
    seen[s->target] = true;
    static const uint8_t mutator_n[] = {0, 1, 3}, sweeper_n[] = {0, 3}, collector_n[] = {0, 1};
    const uint8_t *ns = s->target == OPS_THREAD_SWEEPER     ? sweeper_n
                        : s->target == OPS_THREAD_COLLECTOR ? collector_n
                                                            : mutator_n;
    uint32_t nn = s->target < OPS_THREAD_SWEEPER ? 3 : 2;
    for (uint32_t a = 0; a < after_max; a++)
      for (uint32_t i = 0; i < nn; i++) {
        if (*n == *cap) {
          *cap = *cap ? *cap * 2 : 256;
          ex_point_t *grown = realloc(*pts, *cap * sizeof **pts);
          if (!grown) {
            fprintf(stderr, "heapfuzz: explore: out of memory\n");
            exit(EX_USAGE);
          }
          *pts = grown;
        }
        (*pts)[(*n)++] = (ex_point_t){k, (uint8_t)a, to, ns[i]};
      }
  }
}

/* Every change point the yield counts (st->shm->yields) allow. */
static ex_point_t *collect_points(ex_state_t *st, uint32_t *n) {
  ops_plan_t *plan = malloc(sizeof *plan);
  ex_point_t *pts = NULL;
  uint32_t cap = 0;
  *n = 0;
  if (!plan) exit(EX_USAGE);
  for (uint32_t k = 0; k + 1 < OPS_MAX_OPS && k < st->prog->count; k++)
    if (st->shm->yields[k] && preemptible(&st->prog->ops[k]))
      add_points_at(st, k, st->shm->yields[k], plan, &pts, n, &cap);
  free(plan);
  return pts;
}

/* Phase 1's candidates: the depth-1 change points of the unchanged run, all of them when the
 * budget allows (leaving depth 2 a quarter of it), else a seeded sample. */
static void plan_depth1(ex_state_t *st, uint64_t *rng) {
  uint32_t n;
  ex_point_t *pts = collect_points(st, &n);
  uint32_t budget = st->opt->budget;
  uint32_t cap = st->opt->depth >= 2 ? budget - budget / 4 : budget;
  uint32_t d1 = n < cap ? n : cap;
  for (uint32_t i = 0; i < d1; i++) { /* a partial shuffle puts the sample first */
    uint32_t j = i + (uint32_t)(splitmix(rng) % (n - i));
    ex_point_t t = pts[i];
    pts[i] = pts[j];
    pts[j] = t;
  }
  st->cands = malloc(((size_t)budget + 1) * sizeof *st->cands);
  if (!st->cands) exit(EX_USAGE);
  for (uint32_t i = 0; i < d1; i++)
    st->cands[i] = (ex_candidate_t){.a = pts[i], .depth = 1};
  st->count = st->depth1 = d1;
  free(pts);
}

/* Two preempts inserted before ops a and b keep both ops within the program's op cap. */
static bool fits_two(uint32_t a, uint32_t b) {
  return (a > b ? a : b) + 2 < OPS_MAX_OPS;
}

/* Phase 2's candidates. First every window a depth-1 candidate revealed (an op that passed
 * more yield points with its preemption than without): that candidate's change point with each
 * change point in the window; PCT's depth 2 where it is likeliest to matter. Then, with what is
 * left, seeded random pairs of a depth-1 change point and any change point the runs so far
 * allow (the most yield points any run saw each op pass), in another op. */
static void plan_depth2(ex_state_t *st, uint64_t *rng) {
  ops_plan_t *plan = malloc(sizeof *plan);
  if (!plan) exit(EX_USAGE);
  ex_point_t *win = NULL;
  uint32_t cap = 0;
  for (uint32_t r = 0; r < st->shm->nrevealed && st->count < st->opt->budget; r++) {
    uint32_t n = 0, k = st->shm->revealed[r].op;
    ex_point_t x = st->cands[st->shm->revealed[r].cand].a;
    if (x.op == k || !fits_two(x.op, k) || !preemptible(&st->prog->ops[k])) continue;
    add_points_at(st, k, st->shm->revealed[r].yields, plan, &win, &n, &cap);
    for (uint32_t i = 0; i < n && st->count < st->opt->budget; i++)
      st->cands[st->count++] =
          (ex_candidate_t){.a = x.op < k ? x : win[i], .b = x.op < k ? win[i] : x, .depth = 2};
  }
  free(win);
  free(plan);
  uint32_t n;
  ex_point_t *pts = collect_points(st, &n);
  uint32_t want = st->opt->budget - st->count;
  for (uint32_t tries = 0; st->depth1 && n && st->count < st->opt->budget && tries < 4 * want;
       tries++) { /* the first half: one of the depth-1 candidates, cands[0, depth1) */
    ex_point_t x = st->cands[splitmix(rng) % st->depth1].a, y = pts[splitmix(rng) % n];
    if (x.op == y.op || !fits_two(x.op, y.op)) continue;
    st->cands[st->count++] =
        (ex_candidate_t){.a = x.op < y.op ? x : y, .b = x.op < y.op ? y : x, .depth = 2};
  }
  free(pts);
}

/* ---------------------------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------------------------- */

/* The child: runs candidates from `first` on, or (first == UINT32_MAX) the program itself with
 * its yields counted. Output goes to the log file. Never returns. */
static _Noreturn void child_main(ex_state_t *st, uint32_t first) {
  int fd = open(st->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(125);
  close(fd);
  unsetenv("HEAPFUZZ_TRACE");
  signal(SIGABRT, hf_abort_with_stack);
  ops_run_options_t opt = {.out = stderr, .abort_on_finding = true};
  ops_run_result_t r;
  ops_schedule_log_t log = {NULL, 0, st->run_yields};
  opt.schedule = &log;
  st->shm->started = 1;
  if (first == UINT32_MAX) {
    memset(st->run_yields, 0, sizeof st->run_yields);
    alarm(st->opt->timeout);
    ops_run(st->prog, &opt, &r);
    alarm(0);
    memcpy(st->shm->yields, st->run_yields, sizeof st->shm->yields);
    memcpy(st->shm->base, st->run_yields, sizeof st->shm->base);
    st->shm->nrevealed = 0;
  } else {
    for (uint32_t i = first; i < st->count; i++) {
      st->shm->current = i;
      build_variant(st->prog, &st->cands[i], st->variant, st->origin);
      memset(st->run_yields, 0, st->variant->count * sizeof st->run_yields[0]);
      alarm(st->opt->timeout);
      ops_run(st->variant, &opt, &r);
      alarm(0); /* the bookkeeping below is no part of the schedule's time */
      for (uint32_t j = 0; j < st->variant->count; j++) { /* what a second change point can use */
        uint32_t k = st->origin[j];
        if (k == UINT32_MAX) continue;
        if (st->run_yields[j] > st->shm->yields[k]) st->shm->yields[k] = st->run_yields[j];
        if (st->cands[i].depth == 1 && st->run_yields[j] > st->shm->base[k] &&
            st->shm->nrevealed < EX_MAX_REVEALED)
          st->shm->revealed[st->shm->nrevealed++] =
              (ex_window_t){.cand = i, .op = k, .yields = st->run_yields[j]};
      }
    }
  }
  st->shm->done = 1;
  fflush(stdout);
  _exit(0); /* no LeakSanitizer pass: leaks are the other engines' to report */
}

/* Runs a child from `first`; returns its wait status (a child that cannot start: exit). */
static int run_child(ex_state_t *st, uint32_t first) {
  st->shm->done = 0;
  st->shm->started = 0;
  st->shm->current = first;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "heapfuzz: explore: fork: %s\n", strerror(errno));
    exit(EX_USAGE);
  }
  if (pid == 0) child_main(st, first);
  st->children++;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      fprintf(stderr, "heapfuzz: explore: waitpid: %s\n", strerror(errno));
      exit(EX_USAGE);
    }
  if (!st->shm->started) { /* died before its first schedule: no candidate's doing */
    fprintf(stderr, "heapfuzz: explore: a child could not set up (writing %s)\n", st->log_path);
    exit(EX_USAGE);
  }
  return status;
}

static void describe(const ex_point_t *p, char *buf, size_t size) {
  snprintf(buf, size, "preempt after=%u to=%u n=%u before op %u", p->after, p->to, p->n, p->op);
}

/* Candidate i ended its child with `status`: saves it. */
static void save_crash(ex_state_t *st, uint32_t i, int status) {
  bool timeout = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
  build_variant(st->prog, &st->cands[i], st->variant, NULL);
  static uint8_t bytes[OPS_CONFIG_BYTES + OPS_MAX_OPS * 8];
  size_t n = ops_encode(st->variant, bytes, sizeof bytes);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s-explore-%016llx", st->opt->out, timeout ? "timeout" : "crash",
           (unsigned long long)hf_fnv1a64(bytes, n));
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "heapfuzz: explore: cannot write %s: %s\n", path, strerror(errno));
    exit(EX_USAGE);
  }
  char log[4200];
  snprintf(log, sizeof log, "%s.log", path);
  if (rename(st->log_path, log) != 0) /* the child's log, in the same directory */
    fprintf(stderr, "heapfuzz: explore: cannot write %s: %s\n", log, strerror(errno));
  char a[96], b[96] = "";
  describe(&st->cands[i].a, a, sizeof a);
  if (st->cands[i].depth == 2) describe(&st->cands[i].b, b, sizeof b);
  printf("%s: %s: %s (schedule %u of %u: %s%s%s)\n", st->path, timeout ? "timeout" : "crash", path,
         i + 1, st->count, a, b[0] ? ", " : "", b);
  if (timeout)
    st->timeouts++;
  else
    st->crashes++;
}

/* Runs the candidates from *next to st->count, a child at a time, each crash saved. False when
 * enough crashed (--max-crashes); *next is then the first not run. */
static bool run_candidates(ex_state_t *st, uint32_t *next) {
  while (*next < st->count) {
    int status = run_child(st, *next);
    if (st->shm->done && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      *next = st->count;
      break;
    }
    uint32_t i = st->shm->current;
    save_crash(st, i, status);
    *next = i + 1;
    if (st->crashes + st->timeouts >= st->opt->max_crashes) return false;
  }
  return true;
}

static int explore_file(ex_state_t *st) {
  /* 1. The program as it is: it must run clean, and it tells the yield counts. */
  int status = run_child(st, UINT32_MAX);
  if (!st->shm->done || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    printf("%s: crashes without a change point: not explored (replay it with heapfuzz run)\n",
           st->path);
    return EX_CRASH;
  }
  /* 2. Depth 1, then depth 2 planned from what the depth-1 runs passed. */
  uint64_t rng =
      st->opt->seed ^ hf_fnv1a64(st->prog->ops, st->prog->count * sizeof st->prog->ops[0]);
  plan_depth1(st, &rng);
  uint32_t next = 0;
  bool enough = !run_candidates(st, &next);
  if (!enough && st->opt->depth >= 2) {
    plan_depth2(st, &rng);
    enough = !run_candidates(st, &next);
  }
  uint32_t ran = enough ? next : st->count;
  printf("%s: explored %u of %u schedules (%u of depth 1, %u of depth 2) in %u children: %u "
         "crashes, %u timeouts\n",
         st->path, ran, st->count, st->depth1, st->count - st->depth1, st->children, st->crashes,
         st->timeouts);
  return st->crashes + st->timeouts ? EX_CRASH : EX_CLEAN;
}

/* ---------------------------------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------------------------------- */

static const char explore_usage[] =
    "usage: heapfuzz explore [--budget N] [--depth 1|2] [--seed S] [--timeout S]\n"
    "                        [--max-crashes N] [--out DIR] FILE...\n"
    "  Try each program's schedules systematically: a preempt before every op of a mutator\n"
    "  thread, at each heap yield point the op passes, to each other thread (depth 1), then\n"
    "  pairs (depth 2): each of those with the yield points its own run revealed, then random\n"
    "  pairs, within the budget. A schedule that crashes is saved in\n"
    "  DIR as crash-explore-<hash> (its program, binary) with <name>.log (the report); one that\n"
    "  runs past the timeout as timeout-explore-<hash>.\n"
    "  --budget N       schedules per program (default 1000; depth 1 sampled when it has more)\n"
    "  --depth D        1: single preemptions only; 2 (default): pairs with what is left\n"
    "  --seed S         the sample's seed (default 0)\n"
    "  --timeout S      seconds a schedule may run (default 10)\n"
    "  --max-crashes N  stop a program after N crashes (default 1)\n"
    "  --out DIR        where crashes go (default .; created)\n"
    "  Exit 0 nothing crashed, 1 a schedule (or a program itself) crashed, 2 usage or I/O "
    "error.\n";

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long v = s ? strtoul(s, &end, 10) : 0;
  if (!s || !*s || *end || errno || v < lo || v > hi) return false;
  *out = (uint32_t)v;
  return true;
}

int hf_cmd_explore(int argc, char **argv) {
  ex_options_t opt = {.budget = EX_DEFAULT_BUDGET,
                      .depth = 2,
                      .timeout = EX_DEFAULT_TIMEOUT,
                      .max_crashes = 1,
                      .out = "."};
  int first = argc;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool ok = true;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(explore_usage, stdout);
      return EX_CLEAN;
    } else if (strcmp(a, "--budget") == 0) {
      ok = parse_u32(v, 1, 10000000, &opt.budget), i++;
    } else if (strcmp(a, "--depth") == 0) {
      ok = parse_u32(v, 1, 2, &opt.depth), i++;
    } else if (strcmp(a, "--seed") == 0) {
      ok = parse_u32(v, 0, UINT32_MAX, &opt.seed), i++;
    } else if (strcmp(a, "--timeout") == 0) {
      ok = parse_u32(v, 1, 3600, &opt.timeout), i++;
    } else if (strcmp(a, "--max-crashes") == 0) {
      ok = parse_u32(v, 1, 1000000, &opt.max_crashes), i++;
    } else if (strcmp(a, "--out") == 0) {
      ok = v != NULL, opt.out = v, i++;
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "heapfuzz: explore: unknown option %s\n%s", a, explore_usage);
      return EX_USAGE;
    } else {
      first = i;
      break;
    }
    if (!ok) {
      fprintf(stderr, "heapfuzz: explore: bad or missing value for %s\n%s", a, explore_usage);
      return EX_USAGE;
    }
  }
  if (first == argc) {
    fprintf(stderr, "heapfuzz: explore: no FILE given\n%s", explore_usage);
    return EX_USAGE;
  }
  if (mkdir(opt.out, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "heapfuzz: explore: cannot create %s: %s\n", opt.out, strerror(errno));
    return EX_USAGE;
  }
  ex_shared_t *shm =
      mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ops_program_t *prog = malloc(sizeof *prog), *variant = malloc(sizeof *variant);
  if (shm == MAP_FAILED || !prog || !variant) {
    fprintf(stderr, "heapfuzz: explore: out of memory\n");
    return EX_USAGE;
  }
  int rc = EX_CLEAN;
  for (int i = first; i < argc; i++) {
    hf_buf_t buf;
    const char *why = NULL;
    char err[512];
    if (!hf_read_file_why(argv[i], &buf, &why)) {
      fprintf(stderr, "heapfuzz: explore: %s: %s\n", argv[i], why ? why : "cannot read");
      rc = EX_USAGE;
      continue;
    }
    bool parsed = hf_program_from_bytes(buf.data, buf.size, argv[i], prog, err, sizeof err);
    free(buf.data);
    if (!parsed) {
      fprintf(stderr, "%s\n", err);
      rc = EX_USAGE;
      continue;
    }
    ex_state_t st = {.opt = &opt, .path = argv[i], .prog = prog, .shm = shm, .variant = variant};
    snprintf(st.log_path, sizeof st.log_path, "%s/.explore-%ld.log", opt.out, (long)getpid());
    int r = explore_file(&st);
    unlink(st.log_path);
    free(st.cands);
    if (r == EX_CRASH && rc == EX_CLEAN) rc = EX_CRASH;
  }
  free(prog);
  free(variant);
  munmap(shm, sizeof *shm);
  return rc;
}
