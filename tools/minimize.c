/* minimize.c: `heapfuzz minimize`, op-level minimization of a crashing program, keeping its crash
 * signature (signature.h) identical: syzkaller's order, deterministic.
 *
 * Every candidate runs in a forked child (a finding aborts the process, and a sanitizer report
 * ends it): ops_run in deterministic mode, ops_run_threads with --threads, the child's stdout and
 * stderr (the oracle's line, the sanitizers' reports) captured through a pipe and signed as
 * `heapfuzz signature` would. A child still running at the timeout is killed and counts as type
 * `timeout`; one killed by a signal without any report counts as `signal:<name>`. With --threads
 * a candidate counts if any of --runs runs (default 10, each its own child) crashes with the
 * signature. The parent runs no heap code and starts no thread, so it forks single-threaded.
 *
 * The passes, repeated until a round changes nothing or the budget of candidate runs is spent:
 *   a. the tail: the op the oracle names ends the program if that still crashes; then a binary
 *      search for the shortest crashing prefix;
 *   b. chunks: remove runs of ops, halves first, down to single ops, from the end backwards;
 *   c. threads: each mutator thread whole (its attach, its ops, the switches to it, its detach,
 *      and the preempts that hand it the CPU; the other switches and preempts renumbered to name
 *      the threads they named), the sweeper's ops, the collector's preempts, then each preempt;
 *   d. operands and config bytes: each to 0, else the smallest value a bisection keeps.
 * Every answer is cached by the FNV-1a hash of the candidate's canonical encoding, so a round
 * that changes nothing costs no run. The result is printed as text under a header comment. */
#ifndef _POSIX_C_SOURCE
#  define _POSIX_C_SOURCE 200809L /* fork, pipe, poll, kill, clock_gettime */
#endif

#include "minimize.h"

#include "heapops.h"
#include "hf_file.h"
#include "program.h"
#include "signature.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MZ_REPORT_CAP      (1u << 20) /* bytes of a child's output kept (the first report) */
#define MZ_DEFAULT_RUNS    10u
#define MZ_DEFAULT_BUDGET  2000u
#define MZ_DEFAULT_TIMEOUT 10.0 /* seconds per run */

typedef struct mz_options {
  bool threads;
  unsigned runs;   /* --threads: runs per candidate */
  double timeout;  /* seconds per run */
  unsigned budget; /* candidates run, cache answers not counted */
  bool verbose;    /* each step kept, on stderr */
  const char *in, *out;
} mz_options_t;

typedef struct mz {
  mz_options_t opt;
  hf_signature_t target;
  ops_program_t *best; /* the smallest program with the target signature so far */
  ops_program_t *cand; /* the candidate under test */
  ops_plan_t *plan;    /* of best, for the thread pass */
  ops_plan_t *scratch; /* of a candidate being retargeted */
  uint32_t *origin;    /* the thread pass: candidate op k is best's op origin[k] */
  uint8_t *enc;        /* a candidate's encoding, for its hash */
  size_t enc_cap;
  uint64_t *cache_keys; /* open addressing on the encoding's hash; 0 = empty */
  uint8_t *cache_vals;  /* 1 other behaviour, 2 the target signature */
  size_t cache_cap, cache_used;
  char *report;        /* the last child's output */
  unsigned candidates; /* candidates run (what the budget counts) */
  unsigned cached;     /* candidates answered from the cache */
  unsigned children;   /* child processes (with --threads, up to --runs a candidate) */
  bool budget_spent;
} mz_t;

/* ---------------------------------------------------------------------------------------------
 * Running one program in a child
 * ------------------------------------------------------------------------------------------- */

#if defined(HC_TSAN) || defined(__SANITIZE_THREAD__)
/* TSan's defaults for heapfuzz (TSAN_OPTIONS still overrides them): no second's sleep at exit
 * (atexit_sleep_ms, for threads still running to report; heapfuzz joins every thread first, but
 * TSan counts the fibers of deterministic mode as threads). Every child the minimizer forks
 * exits, crashing or not, so the sleep was most of a candidate's time: 47 candidates took 31 s. */
const char *__tsan_default_options(void);
__attribute__((used)) const char *__tsan_default_options(void) {
  return "atexit_sleep_ms=0";
}
#endif

/* Weak: present in sanitizer builds only. */
extern void __sanitizer_print_stack_trace(void) __attribute__((weak));

/* An abort without a sanitizer report (hc_fatal, an assertion) gets the stack libFuzzer would
 * print, so its signature has the frames it has in a fuzzer's report. */
static void on_abort(int sig) {
  if (__sanitizer_print_stack_trace) __sanitizer_print_stack_trace();
  signal(sig, SIG_DFL);
  raise(sig);
}

static _Noreturn void child_main(const mz_t *m, const ops_program_t *p, int wfd) {
  if (dup2(wfd, STDOUT_FILENO) < 0 || dup2(wfd, STDERR_FILENO) < 0) _exit(125);
  close(wfd);
  unsetenv("HEAPFUZZ_TRACE"); /* the trace would be the whole output */
  signal(SIGABRT, on_abort);
  ops_run_options_t opt = {.out = stderr, .abort_on_finding = true};
  ops_run_result_t r;
  bool clean = m->opt.threads ? ops_run_threads(p, &opt, &r) : ops_run(p, &opt, &r);
  fflush(stdout);
  /* exit, not _exit: LeakSanitizer's check runs at exit, and a leak is a crash too. */
  exit(clean && !r.finding ? 0 : 1);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGABRT:
      return "SIGABRT";
    case SIGILL:
      return "SIGILL";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGTRAP:
      return "SIGTRAP";
    default:
      return NULL;
  }
}

/* Runs p once in a child. Returns true if it crashed, with the crash's signature in sig. Exits
 * the process (status 2) if no child can be started. */
static bool run_child(mz_t *m, const ops_program_t *p, hf_signature_t *sig) {
  int fds[2];
  if (pipe(fds) != 0) {
    fprintf(stderr, "heapfuzz: minimize: pipe: %s\n", strerror(errno));
    exit(2);
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "heapfuzz: minimize: fork: %s\n", strerror(errno));
    exit(2);
  }
  if (pid == 0) {
    close(fds[0]);
    child_main(m, p, fds[1]);
  }
  m->children++;
  close(fds[1]);
  size_t len = 0;
  bool killed = false;
  double deadline = now_seconds() + m->opt.timeout;
  for (;;) {
    int wait_ms = -1;
    if (!killed) {
      double left = deadline - now_seconds();
      if (left <= 0) {
        kill(pid, SIGKILL); /* the pipe closes as it dies */
        killed = true;
      } else {
        wait_ms = (int)(left * 1000) + 1;
      }
    }
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    int r = poll(&pfd, 1, wait_ms);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    char chunk[8192];
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t keep = (size_t)n;
    if (keep > MZ_REPORT_CAP - 1 - len) keep = MZ_REPORT_CAP - 1 - len; /* drained, not kept */
    memcpy(m->report + len, chunk, keep);
    len += keep;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  m->report[len] = '\0';
  if (killed) {
    memset(sig, 0, sizeof *sig);
    sig->op = -1;
    hf_signature_set(sig, "timeout");
    return true;
  }
  if (hf_signature_parse(m->report, len, sig)) return true;
  if (WIFSIGNALED(status)) {
    char type[32];
    const char *name = signal_name(WTERMSIG(status));
    if (name)
      snprintf(type, sizeof type, "signal:%s", name);
    else
      snprintf(type, sizeof type, "signal:%d", WTERMSIG(status));
    memset(sig, 0, sizeof *sig);
    sig->op = -1;
    hf_signature_set(sig, type);
    return true;
  }
  return false;
}

/* ---------------------------------------------------------------------------------------------
 * The predicate, cached
 * ------------------------------------------------------------------------------------------- */

static uint64_t program_hash(mz_t *m, const ops_program_t *p) {
  size_t n = ops_encode(p, NULL, 0);
  if (n > m->enc_cap) {
    free(m->enc);
    m->enc_cap = n;
    m->enc = malloc(n);
    if (!m->enc) {
      fputs("heapfuzz: minimize: out of memory\n", stderr);
      exit(2);
    }
  }
  ops_encode(p, m->enc, n);
  uint64_t h = hf_fnv1a64(m->enc, n);
  return h ? h : 1; /* 0 marks an empty slot */
}

/* The slot of key, or the empty slot where it goes. */
static size_t cache_slot(const mz_t *m, uint64_t key) {
  size_t i = (size_t)key & (m->cache_cap - 1);
  while (m->cache_keys[i] && m->cache_keys[i] != key)
    i = (i + 1) & (m->cache_cap - 1);
  return i;
}

static void cache_put(mz_t *m, uint64_t key, bool same) {
  if (2 * (m->cache_used + 1) > m->cache_cap) { /* grow, at most half full */
    size_t old_cap = m->cache_cap;
    uint64_t *old_keys = m->cache_keys;
    uint8_t *old_vals = m->cache_vals;
    m->cache_cap = old_cap ? old_cap * 2 : 1024;
    m->cache_keys = calloc(m->cache_cap, sizeof *m->cache_keys);
    m->cache_vals = calloc(m->cache_cap, sizeof *m->cache_vals);
    if (!m->cache_keys || !m->cache_vals) {
      fputs("heapfuzz: minimize: out of memory\n", stderr);
      exit(2);
    }
    for (size_t i = 0; i < old_cap; i++) {
      if (!old_keys[i]) continue;
      size_t s = cache_slot(m, old_keys[i]);
      m->cache_keys[s] = old_keys[i];
      m->cache_vals[s] = old_vals[i];
    }
    free(old_keys);
    free(old_vals);
  }
  size_t s = cache_slot(m, key);
  if (!m->cache_keys[s]) m->cache_used++;
  m->cache_keys[s] = key;
  m->cache_vals[s] = same ? 2 : 1;
}

/* Does p crash with the target signature (in one run, or any of --runs with --threads)? */
static bool same_crash(mz_t *m, const ops_program_t *p) {
  if (p->count == 0) return false; /* nothing to run: no finding to keep */
  uint64_t key = program_hash(m, p);
  if (m->cache_cap) {
    size_t s = cache_slot(m, key);
    if (m->cache_keys[s]) {
      m->cached++;
      return m->cache_vals[s] == 2;
    }
  }
  if (m->candidates >= m->opt.budget) {
    m->budget_spent = true;
    return false;
  }
  m->candidates++;
  bool same = false;
  unsigned runs = m->opt.threads ? m->opt.runs : 1;
  for (unsigned r = 0; r < runs && !same; r++) {
    hf_signature_t sig;
    same = run_child(m, p, &sig) && strcmp(sig.signature, m->target.signature) == 0;
  }
  cache_put(m, key, same);
  return same;
}

/* Tests the candidate (m->cand); keeps it as the best when it crashes the same way. */
static bool try_candidate(mz_t *m, const char *what) {
  if (!same_crash(m, m->cand)) return false;
  memcpy(m->best, m->cand, sizeof *m->best);
  if (m->opt.verbose)
    fprintf(stderr, "heapfuzz: minimize: %s: %u ops\n", what, (unsigned)m->best->count);
  return true;
}

/* cand = best without the ops in [from, to). */
static void without_range(mz_t *m, uint32_t from, uint32_t to) {
  m->cand->config = m->best->config;
  uint32_t n = 0;
  for (uint32_t k = 0; k < m->best->count; k++)
    if (k < from || k >= to) m->cand->ops[n++] = m->best->ops[k];
  m->cand->count = n;
}

/* ---------------------------------------------------------------------------------------------
 * The passes (each returns whether it kept a change)
 * ------------------------------------------------------------------------------------------- */

/* a. The tail. */
static bool pass_tail(mz_t *m) {
  bool changed = false;
  long op = m->target.op;
  if (op >= 0 && (uint32_t)op + 1 < m->best->count) {
    without_range(m, (uint32_t)op + 1, m->best->count);
    changed = try_candidate(m, "up to the op the oracle names");
  }
  /* The shortest prefix that still crashes the same way, by bisection: lo never crashed. */
  uint32_t lo = 0, hi = m->best->count;
  while (hi - lo > 1 && !m->budget_spent) {
    uint32_t mid = lo + (hi - lo) / 2;
    without_range(m, mid, m->best->count);
    if (same_crash(m, m->cand))
      hi = mid;
    else
      lo = mid;
  }
  if (hi < m->best->count) {
    without_range(m, hi, m->best->count);
    changed = try_candidate(m, "tail dropped") || changed;
  }
  return changed;
}

/* b. Chunks of ops, halves down to single ops, each size from the end backwards. */
static bool pass_chunks(mz_t *m) {
  bool changed = false;
  for (uint32_t size = m->best->count / 2; size >= 1 && !m->budget_spent; size /= 2) {
    uint32_t end = m->best->count;
    while (end > 0 && !m->budget_spent) {
      uint32_t start = end > size ? end - size : 0;
      without_range(m, start, end);
      changed = try_candidate(m, size == 1 ? "op removed" : "chunk removed") || changed;
      end = start;
    }
  }
  return changed;
}

/* cand = best without the ops for which drop(step, op) holds. */
static void without_ops(mz_t *m, bool (*drop)(const ops_plan_step_t *, const ops_op_t *, unsigned),
                        unsigned arg) {
  m->cand->config = m->best->config;
  uint32_t n = 0;
  for (uint32_t k = 0; k < m->best->count; k++)
    if (!drop(&m->plan->steps[k], &m->best->ops[k], arg)) {
      m->origin[n] = k;
      m->cand->ops[n++] = m->best->ops[k];
    }
  m->cand->count = n;
}

static bool is_preempt(const ops_op_t *op) {
  return op->opcode % OPS_OP_COUNT == OPS_PREEMPT;
}

/* The thread's ops (for a mutator: its attach, switches to it, its detach) and the preempts
 * that hand it the CPU. */
static bool thread_op(const ops_plan_step_t *s, const ops_op_t *op, unsigned thread) {
  return s->thread == thread || (is_preempt(op) && !s->skip && s->target == thread);
}

/* Mutator thread id's number once thread gone (and its attach) is removed. */
static unsigned renumber(unsigned id, unsigned gone) {
  return id < OPS_MAX_THREADS && id > gone ? id - 1 : id;
}

/* After mutator thread gone's ops left the candidate: `switch t`, `detach t` and `preempt to`
 * count attached mutators, one fewer now, so each is pointed back at the thread it named in best
 * (the smallest operand that does it), or else left as it was. Without this, removing a thread
 * turns `preempt to=3` (the collector, beside two mutators) into a preempt to m0. Each operand is
 * found by planning the candidate's prefix up to that op with each value in turn. */
static void retarget(mz_t *m, unsigned gone) {
  uint32_t count = m->cand->count;
  for (uint32_t k = 0; k < count; k++) {
    const ops_plan_step_t *was = &m->plan->steps[m->origin[k]];
    ops_op_t *op = &m->cand->ops[k];
    unsigned code = op->opcode % OPS_OP_COUNT, slot, want;
    if (was->skip) continue;
    if (code == OPS_SWITCH || code == OPS_DETACH) {
      slot = 0;
      want = renumber(was->thread, gone);
    } else if (code == OPS_PREEMPT) {
      slot = 1;
      want = renumber(was->target, gone);
    } else {
      continue;
    }
    uint16_t keep = op->operand[slot];
    m->cand->count = k + 1;
    bool found = false;
    for (int v = -1; v < (int)OPS_MAX_MUTATORS + 2 && !found; v++) { /* -1: as it is */
      op->operand[slot] = v < 0 ? keep : (uint16_t)v;
      ops_plan(m->cand, m->scratch);
      const ops_plan_step_t *now = &m->scratch->steps[k];
      found = !now->skip && (code == OPS_PREEMPT ? now->target : now->thread) == want;
    }
    if (!found) op->operand[slot] = keep;
    m->cand->count = count;
  }
}

/* c. Threads whole, then preempt ops one by one. */
static bool pass_threads(mz_t *m) {
  bool changed = false;
  ops_plan(m->best, m->plan);
  /* Mutator threads from the last started, so the lower threads keep their numbers. */
  for (unsigned t = m->plan->threads; t-- > 1 && !m->budget_spent;) {
    without_ops(m, thread_op, t);
    retarget(m, t);
    if (m->cand->count < m->best->count && try_candidate(m, "thread removed")) {
      changed = true;
      ops_plan(m->best, m->plan);
    }
  }
  static const unsigned helpers[] = {OPS_THREAD_SWEEPER, OPS_THREAD_COLLECTOR};
  for (unsigned i = 0; i < 2 && !m->budget_spent; i++) {
    without_ops(m, thread_op, helpers[i]);
    if (m->cand->count < m->best->count && try_candidate(m, "sweeper or collector removed")) {
      changed = true;
      ops_plan(m->best, m->plan);
    }
  }
  for (uint32_t k = m->best->count; k-- > 0 && !m->budget_spent;) {
    if (!is_preempt(&m->best->ops[k])) continue;
    without_range(m, k, k + 1);
    changed = try_candidate(m, "preempt removed") || changed;
  }
  return changed;
}

/* A value the operand pass lowers: operand i of op k, or config byte i when k is CONFIG. */
#define CONFIG UINT32_MAX

static uint8_t *config_byte(ops_program_t *p, unsigned i) {
  uint8_t *bytes[] = {&p->config.trigger, &p->config.full_every, &p->config.versions,
                      &p->config.flags};
  return bytes[i];
}

static uint16_t field_get(ops_program_t *p, uint32_t k, unsigned i) {
  return k == CONFIG ? *config_byte(p, i) : p->ops[k].operand[i];
}

static void field_set(ops_program_t *p, uint32_t k, unsigned i, uint16_t v) {
  if (k == CONFIG)
    *config_byte(p, i) = (uint8_t)v;
  else
    p->ops[k].operand[i] = v;
}

/* Lowers the value to 0, or else to the smallest value a bisection finds that keeps the crash
 * (the crash need not be monotonic in the value: this finds a small one, not the smallest). */
static bool lower_value(mz_t *m, uint32_t k, unsigned i, const char *what) {
  uint16_t v = field_get(m->best, k, i);
  if (v == 0) return false;
  memcpy(m->cand, m->best, sizeof *m->cand);
  field_set(m->cand, k, i, 0);
  if (try_candidate(m, what)) return true;
  uint16_t lo = 0, hi = v; /* lo does not crash the same way, hi does */
  while (hi - lo > 1 && !m->budget_spent) {
    uint16_t mid = (uint16_t)(lo + (hi - lo) / 2);
    field_set(m->cand, k, i, mid);
    if (same_crash(m, m->cand))
      hi = mid;
    else
      lo = mid;
  }
  field_set(m->cand, k, i, hi);
  return hi < v && try_candidate(m, what);
}

/* d. Operands, then the config bytes (the flags byte a bit at a time: its bits are not a
 * magnitude). */
static bool pass_operands(mz_t *m) {
  bool changed = false;
  for (uint32_t k = 0; k < m->best->count && !m->budget_spent; k++) {
    const ops_op_info_t *info = ops_op_info(m->best->ops[k].opcode % OPS_OP_COUNT);
    for (unsigned i = 0; i < info->operand_count && !m->budget_spent; i++)
      changed = lower_value(m, k, i, "operand lowered") || changed;
  }
  for (unsigned i = 0; i < 3 && !m->budget_spent; i++)
    changed = lower_value(m, CONFIG, i, "config lowered") || changed;
  for (unsigned bit = 0; bit < 8 && !m->budget_spent; bit++) {
    if (!(m->best->config.flags & (1u << bit))) continue;
    memcpy(m->cand, m->best, sizeof *m->cand);
    m->cand->config.flags = (uint8_t)(m->best->config.flags & ~(1u << bit));
    changed = try_candidate(m, "config flag cleared") || changed;
  }
  return changed;
}

/* ---------------------------------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------------------------------- */

static const char usage_line[] = "usage: heapfuzz minimize [--threads] [--runs N] [--timeout S] "
                                 "[--budget N] [-v] INPUT [-o OUT]\n";

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "heapfuzz: minimize: %s%s\n%s", what, arg ? arg : "", usage_line);
  return 2;
}

/* A decimal count in [1, max]. */
static bool parse_count(const char *s, unsigned long max, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v < 1 || v > max) return false;
  *out = (unsigned)v;
  return true;
}

/* The value of an option given as `--opt V` or `--opt=V`; NULL if a is not that option. */
static const char *option_value(const char *a, const char *name, int *i, int argc, char **argv,
                                bool *missing) {
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

/* Returns 0 with the options set, -1 after --help, or 2 after a usage error. */
static int parse_args(int argc, char **argv, mz_options_t *o) {
  *o = (mz_options_t){
      .runs = MZ_DEFAULT_RUNS, .timeout = MZ_DEFAULT_TIMEOUT, .budget = MZ_DEFAULT_BUDGET};
  bool options = true;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v;
    bool missing = false;
    if (!options || a[0] != '-' || a[1] == '\0') {
      if (o->in) return usage_error("takes one INPUT", NULL);
      o->in = a;
    } else if (strcmp(a, "--") == 0) {
      options = false;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage_line, stdout);
      fputs("Minimizes a crashing program, keeping its crash signature (`heapfuzz --help`).\n",
            stdout);
      return -1;
    } else if (strcmp(a, "--threads") == 0) {
      o->threads = true;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      o->verbose = true;
    } else if ((v = option_value(a, "--runs", &i, argc, argv, &missing))) {
      if (!parse_count(v, 1000, &o->runs)) return usage_error("bad --runs (1..1000): ", v);
    } else if ((v = option_value(a, "--budget", &i, argc, argv, &missing))) {
      if (!parse_count(v, 1000000, &o->budget))
        return usage_error("bad --budget (1..1000000): ", v);
    } else if ((v = option_value(a, "--timeout", &i, argc, argv, &missing))) {
      char *end;
      o->timeout = strtod(v, &end);
      if (end == v || *end || !(o->timeout > 0 && o->timeout <= 86400))
        return usage_error("bad --timeout (seconds, above 0): ", v);
    } else if ((v = option_value(a, "-o", &i, argc, argv, &missing)) ||
               (v = option_value(a, "--output", &i, argc, argv, &missing))) {
      o->out = v;
    } else if (strncmp(a, "-o", 2) == 0 && !missing) {
      o->out = a + 2;
    } else {
      return usage_error(missing ? "a value is missing after " : "unknown option ", a);
    }
    if (missing) return usage_error("a value is missing after ", a);
  }
  if (!o->in) return usage_error("no INPUT given", NULL);
  return 0;
}

static void mz_free(mz_t *m) {
  free(m->best);
  free(m->cand);
  free(m->plan);
  free(m->scratch);
  free(m->origin);
  free(m->enc);
  free(m->cache_keys);
  free(m->cache_vals);
  free(m->report);
}

/* Writes the result: the header comment, then the program as text. */
static int write_result(const mz_t *m, uint32_t original) {
  FILE *out = stdout;
  if (m->opt.out && strcmp(m->opt.out, "-") != 0) out = fopen(m->opt.out, "w");
  if (!out) {
    fprintf(stderr, "%s: %s\n", m->opt.out, strerror(errno));
    return 2;
  }
  fprintf(out, "# minimized: %s %s\n", m->target.id, m->target.signature);
  fprintf(out, "# ops: %u original, %u minimized (%u candidates run, %u answers cached%s)\n",
          (unsigned)original, (unsigned)m->best->count, m->candidates, m->cached,
          m->budget_spent ? "; the budget ran out first" : "");
  if (m->opt.threads)
    fprintf(out,
            "# mode: real threads (--threads): a candidate was kept when any of its %u runs "
            "crashed with this signature\n",
            m->opt.runs);
  else
    fputs("# mode: deterministic\n", out);
  ops_print(m->best, out);
  bool bad = ferror(out) != 0;
  bad = (out == stdout ? fflush(out) : fclose(out)) != 0 || bad;
  if (bad) {
    fprintf(stderr, "%s: cannot write\n", out == stdout ? "<stdout>" : m->opt.out);
    return 2;
  }
  return 0;
}

/* Loads INPUT into m->best. Returns 0, or 2 after printing `FILE: message`. */
static int load_input(mz_t *m) {
  hf_buf_t buf;
  const char *why = NULL;
  if (!hf_read_file_why(m->opt.in, &buf, &why)) {
    fprintf(stderr, "%s: %s\n", m->opt.in, why);
    return 2;
  }
  const char *name = strcmp(m->opt.in, "-") == 0 ? "<stdin>" : m->opt.in;
  char err[512];
  bool ok = hf_program_from_bytes(buf.data, buf.size, name, m->best, err, sizeof err);
  free(buf.data);
  if (!ok) fprintf(stderr, "%s\n", err);
  return ok ? 0 : 2;
}

int hf_cmd_minimize(int argc, char **argv) {
  mz_t m;
  memset(&m, 0, sizeof m);
  int rc = parse_args(argc, argv, &m.opt);
  if (rc) return rc < 0 ? 0 : rc;
  m.best = malloc(sizeof *m.best);
  m.cand = malloc(sizeof *m.cand);
  m.plan = malloc(sizeof *m.plan);
  m.scratch = malloc(sizeof *m.scratch);
  m.origin = malloc(OPS_MAX_OPS * sizeof *m.origin);
  m.report = malloc(MZ_REPORT_CAP);
  if (!m.best || !m.cand || !m.plan || !m.scratch || !m.origin || !m.report) {
    fputs("heapfuzz: minimize: out of memory\n", stderr);
    mz_free(&m);
    return 2;
  }
  if ((rc = load_input(&m)) != 0) {
    mz_free(&m);
    return rc;
  }

  /* The original's signature: the first crash (of up to --runs runs with --threads). */
  bool crashed = false;
  unsigned runs = m.opt.threads ? m.opt.runs : 1;
  for (unsigned r = 0; r < runs && !crashed; r++)
    crashed = run_child(&m, m.best, &m.target);
  if (!crashed) {
    fprintf(stderr,
            "heapfuzz: minimize: %s: the program does not crash (%u run%s%s): nothing to "
            "minimize\n",
            m.opt.in, runs, runs == 1 ? "" : "s", m.opt.threads ? " in real-thread mode" : "");
    mz_free(&m);
    return 1;
  }
  if (m.opt.verbose)
    fprintf(stderr, "heapfuzz: minimize: %s: %s %s\n", m.opt.in, m.target.id, m.target.signature);
  uint32_t original = m.best->count;

  bool changed = true;
  while (changed && !m.budget_spent) {
    changed = pass_tail(&m);
    changed = pass_chunks(&m) || changed;
    changed = pass_threads(&m) || changed;
    changed = pass_operands(&m) || changed;
  }
  fprintf(stderr,
          "heapfuzz: minimize: %s: %u -> %u ops, %u candidates run in %u children (%u answers "
          "cached)%s: %s %s\n",
          m.opt.in, (unsigned)original, (unsigned)m.best->count, m.candidates, m.children, m.cached,
          m.budget_spent ? ", the budget ran out first" : "", m.target.id, m.target.signature);
  rc = write_result(&m, original);
  mz_free(&m);
  return rc;
}
