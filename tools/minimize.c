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
 * The passes run in rounds until a round changes nothing, cheap big wins first (a fuzzer's crash
 * is mostly noise, long runs of one op and ops on threads that need not be there):
 *   a. the tail: the op the oracle names ends the program if that still crashes; then a binary
 *      search for the shortest crashing prefix;
 *   b. collections: with an automatic trigger, a probe (one run with the interpreter's trace)
 *      finds the ops that collected, and one candidate makes those collections explicit with the
 *      trigger off (minimize_rewrite.c);
 *   c. big chunks: runs of ops removed, halves first, down to chunks of MZ_LARGE_CHUNK ops, each
 *      size from the end backwards;
 *   d. void ops: every op the plan makes statically void, at once (minimize_threads.c);
 *   e. runs of one op (or of a period of 2 or 3 ops): removed whole, an allocation run replaced
 *      by the collection it fed or by fewer, larger allocations, sweeper ticks merged, else cut
 *      to the shortest prefix or suffix by bisection (minimize_rewrite.c);
 *   f. the config bytes by what they mean, the trigger lowered (minimize_rewrite.c);
 *   g. threads: each mutator thread removed whole (its attach, its ops, the switches to it, its
 *      detach, the preempts that hand it the CPU; the other switches and preempts renumbered to
 *      name the threads they named), else merged into the thread that ran before it (its ops
 *      kept), else removed once its ops moved, segment by segment, to the thread before, the
 *      thread after or any other mutator; the sweeper's ops, the collector's preempts, then each
 *      preempt (minimize_threads.c);
 *   h. moves: the ops a switch hands to a thread moved to the threads beside them, whole or
 *      split, so the switch goes (minimize_threads.c);
 *   i. chunks again, down to single ops;
 *   j. operands (not handles or weak slots), each to 0, else the smallest value a bisection keeps;
 *      ops alike lowered together.
 * Then handles and weak slots are renumbered 0, 1, 2... in first-use order (minimize_rewrite.c).
 * Every answer is cached by the FNV-1a hash of the candidate's canonical encoding, so a round
 * that changes nothing costs no run. The budget (--budget candidates, --max-time seconds) stops
 * every pass; a result it stopped is written under a header that says it is not minimized. The
 * result is printed as text under a header comment. Same input, same build: same output (but
 * with --max-time, and but for runs killed at --timeout). */
#ifndef _POSIX_C_SOURCE
#  define _POSIX_C_SOURCE 200809L /* fork, pipe, poll, kill, clock_gettime */
#endif

#include "minimize.h"

#include "heapcore.h" /* the heap core's event trace: which collections were automatic */
#include "hf_file.h"
#include "minimize_internal.h"
#include "program.h"

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
#define MZ_LARGE_CHUNK     8u   /* the first chunk pass of a round stops at chunks this small */

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
void hf_abort_with_stack(int sig) {
  if (__sanitizer_print_stack_trace) __sanitizer_print_stack_trace();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* probe: deterministic mode with the interpreter's op and event trace (mz_probe_collections),
 * whatever the mode. */
static _Noreturn void child_main(const mz_t *m, const ops_program_t *p, bool probe, int wfd) {
  if (dup2(wfd, STDOUT_FILENO) < 0 || dup2(wfd, STDERR_FILENO) < 0) _exit(125);
  close(wfd);
  unsetenv("HEAPFUZZ_TRACE"); /* the trace would be the whole output */
  signal(SIGABRT, hf_abort_with_stack);
  ops_run_options_t opt = {
      .out = stderr, .abort_on_finding = true, .verbose = probe, .trace = probe};
  ops_run_result_t r;
  bool clean = m->opt.threads && !probe ? ops_run_threads(p, &opt, &r) : ops_run(p, &opt, &r);
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

/* Takes each whole line of a probe's output as it comes. */
typedef struct line_sink {
  void (*line)(void *ctx, const char *line);
  void *ctx;
} line_sink_t;

/* Hands the whole lines in buf[0, *len) to sink and keeps the rest (the start of a line) at the
 * front of buf. A line that fills the buffer alone is cut. */
static void drain_lines(char *buf, size_t *len, const line_sink_t *sink) {
  size_t start = 0;
  for (size_t i = 0; i < *len; i++) {
    if (buf[i] != '\n') continue;
    buf[i] = '\0';
    sink->line(sink->ctx, buf + start);
    start = i + 1;
  }
  if (start == 0 && *len == MZ_REPORT_CAP - 1) start = *len; /* one huge line: dropped */
  memmove(buf, buf + start, *len - start);
  *len -= start;
}

/* Runs p once in a child, killed past the timeout (*killed). Its output goes to m->report
 * (NUL-terminated, its length returned; the first MZ_REPORT_CAP - 1 bytes), or with a sink, line
 * by line to the sink. Exits the process (status 2) if no child can be started. */
static size_t run_capture(mz_t *m, const ops_program_t *p, const line_sink_t *sink, int *status,
                          bool *killed) {
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
    child_main(m, p, sink != NULL, fds[1]);
  }
  m->children++;
  close(fds[1]);
  size_t len = 0;
  *killed = false;
  double deadline = now_seconds() + m->opt.timeout;
  for (;;) {
    int wait_ms = -1;
    if (!*killed) {
      double left = deadline - now_seconds();
      if (left <= 0) {
        kill(pid, SIGKILL); /* the pipe closes as it dies */
        *killed = true;
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
    for (size_t done = 0; done < (size_t)n;) {
      size_t keep = (size_t)n - done;
      if (keep > MZ_REPORT_CAP - 1 - len) keep = MZ_REPORT_CAP - 1 - len;
      memcpy(m->report + len, chunk + done, keep);
      len += keep;
      done += keep;
      if (!sink) break; /* the rest is drained, not kept */
      drain_lines(m->report, &len, sink);
    }
  }
  close(fds[0]);
  *status = 0;
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
  m->report[len] = '\0';
  return len;
}

/* Runs p once in a child. Returns true if it crashed, with the crash's signature in sig. */
static bool run_child(mz_t *m, const ops_program_t *p, hf_signature_t *sig) {
  int status;
  bool killed;
  size_t len = run_capture(m, p, NULL, &status, &killed);
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

/* Counts one more candidate run, or sets the stop if the budget or the time is spent. */
static bool may_run(mz_t *m) {
  if (m->candidates >= m->opt.budget)
    m->stop = MZ_STOP_BUDGET;
  else if (m->opt.max_time > 0 && now_seconds() - m->started >= m->opt.max_time)
    m->stop = MZ_STOP_TIME;
  else
    m->candidates++;
  return m->stop == MZ_STOP_NONE;
}

/* Does p crash with the target signature (in one run, or any of --runs with --threads)? */
bool mz_same_crash(mz_t *m, const ops_program_t *p) {
  if (p->count == 0) return false; /* nothing to run: no finding to keep */
  uint64_t key = program_hash(m, p);
  if (m->cache_cap) {
    size_t s = cache_slot(m, key);
    if (m->cache_keys[s]) {
      m->cached++;
      return m->cache_vals[s] == 2;
    }
  }
  if (!may_run(m)) return false;
  bool same = false;
  unsigned runs = m->opt.threads ? m->opt.runs : 1;
  for (unsigned r = 0; r < runs && !same; r++) {
    hf_signature_t sig;
    same = run_child(m, p, &sig) && strcmp(sig.signature, m->target.signature) == 0;
  }
  cache_put(m, key, same);
  return same;
}

/* ---------------------------------------------------------------------------------------------
 * The collection probe
 * ------------------------------------------------------------------------------------------- */

typedef struct probe {
  const ops_program_t *p;
  long op;            /* the op the last `op N [thread]: ...` line started, or -1 */
  unsigned collector; /* collections the collector thread announced and has not finished */
  mz_collection_t *out;
  uint32_t count, cap;
} probe_t;

/* One line of the interpreter's verbose trace (ops/sched.c, ops/interp.c): `op N [m0]: text`
 * starts op N; `  collector: gc-full` announces the collector thread's collection; `  event phase
 * ... size=KIND ... arg=PHASE` with the resuming phase ends a collection. */
static void probe_line(void *ctx, const char *line) {
  probe_t *pr = ctx;
  unsigned k, kind;
  unsigned long long block, phase;
  if (strncmp(line, "op ", 3) == 0 && sscanf(line + 3, "%u", &k) == 1) {
    pr->op = k;
    pr->collector = 0;
  } else if (strncmp(line, "  collector: gc-", 16) == 0) {
    pr->collector++;
  } else if (sscanf(line, "  event phase mutator=%*u size=%u block=%llu arg=%llu", &kind, &block,
                    &phase) == 3 &&
             phase == HC_PHASE_RESUMING) {
    if (pr->collector) {
      pr->collector--;
      return;
    }
    if (pr->op < 0 || (uint32_t)pr->op >= pr->p->count || pr->count == pr->cap) return;
    unsigned code = mz_code(&pr->p->ops[pr->op]);
    if (code != OPS_GC_FULL && code != OPS_GC_EDEN)
      pr->out[pr->count++] = (mz_collection_t){(uint32_t)pr->op, kind == HC_COLLECT_FULL};
  }
}

uint32_t mz_probe_collections(mz_t *m, mz_collection_t *out, uint32_t cap) {
  uint64_t key = program_hash(m, m->best);
  if (key == m->probed || !may_run(m)) return 0; /* probed already: what it found was tried */
  m->probed = key;
  probe_t pr = {.p = m->best, .op = -1, .out = out, .cap = cap};
  line_sink_t sink = {probe_line, &pr};
  int status;
  bool killed;
  run_capture(m, m->best, &sink, &status, &killed);
  return pr.count;
}

/* Tests the candidate (m->cand); keeps it as the best when it crashes the same way. */
bool mz_try_candidate(mz_t *m, const char *what) {
  if (!mz_same_crash(m, m->cand)) return false;
  memcpy(m->best, m->cand, sizeof *m->best);
  if (m->opt.verbose)
    fprintf(stderr, "heapfuzz: minimize: %s: %u ops\n", what, (unsigned)m->best->count);
  return true;
}

void mz_without_range(mz_t *m, uint32_t from, uint32_t to) {
  mz_replace_range(m, from, to, NULL, 0);
}

void mz_replace_range(mz_t *m, uint32_t from, uint32_t to, const ops_op_t *with, uint32_t n) {
  m->cand->config = m->best->config;
  uint32_t c = 0;
  for (uint32_t k = 0; k < from; k++)
    m->cand->ops[c++] = m->best->ops[k];
  for (uint32_t i = 0; i < n && c < OPS_MAX_OPS; i++)
    m->cand->ops[c++] = with[i];
  for (uint32_t k = to; k < m->best->count && c < OPS_MAX_OPS; k++)
    m->cand->ops[c++] = m->best->ops[k];
  m->cand->count = c;
}

/* ---------------------------------------------------------------------------------------------
 * The passes (each returns whether it kept a change)
 * ------------------------------------------------------------------------------------------- */

/* a. The tail. */
static bool pass_tail(mz_t *m) {
  bool changed = false;
  long op = m->target.op; /* an index into the input: the first round only */
  if (op >= 0 && (uint32_t)op + 1 < m->best->count) {
    mz_without_range(m, (uint32_t)op + 1, m->best->count);
    changed = mz_try_candidate(m, "up to the op the oracle names");
  }
  m->target.op = -1;
  /* The shortest prefix that still crashes the same way, by bisection: lo never crashed. */
  uint32_t lo = 0, hi = m->best->count;
  while (hi - lo > 1 && !mz_spent(m)) {
    uint32_t mid = lo + (hi - lo) / 2;
    mz_without_range(m, mid, m->best->count);
    if (mz_same_crash(m, m->cand))
      hi = mid;
    else
      lo = mid;
  }
  if (hi < m->best->count) {
    mz_without_range(m, hi, m->best->count);
    changed = mz_try_candidate(m, "tail dropped") || changed;
  }
  return changed;
}

/* b. Chunks of ops, halves down to chunks of min_size ops, each size from the end backwards. */
static bool pass_chunks(mz_t *m, uint32_t min_size) {
  bool changed = false;
  for (uint32_t size = m->best->count / 2; size >= min_size && !mz_spent(m); size /= 2) {
    uint32_t end = m->best->count;
    while (end > 0 && !mz_spent(m)) {
      uint32_t start = end > size ? end - size : 0;
      mz_without_range(m, start, end);
      changed = mz_try_candidate(m, size == 1 ? "op removed" : "chunk removed") || changed;
      end = start;
    }
  }
  return changed;
}

/* ---------------------------------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------------------------------- */

static const char usage_line[] =
    "usage: heapfuzz minimize [--threads] [--runs N] [--timeout S] [--budget N] [--max-time S]\n"
    "                         [-v] INPUT [-o OUT]\n";

static const char help_text[] =
    "Shrinks a crashing program (binary or text) to what its crash needs, keeping its crash\n"
    "signature exactly (`heapfuzz signature`). Every candidate runs in a forked child of this\n"
    "build: use the build that crashed (heapfuzz_bug_<name> for an injected bug).\n"
    "Passes, cheap big wins first, in rounds until a round changes nothing: the tail; the\n"
    "automatic collections made explicit, trigger off (found by one traced run, which counts\n"
    "as a candidate); chunks of 8 ops or more; statically void ops; runs of one op (removed,\n"
    "an allocation run replaced by the gc-full or gc-eden it fed or by fewer, larger\n"
    "allocations, sweeper ticks merged, else cut to the shortest prefix or suffix); config\n"
    "bytes (the trigger lowered); threads (removed whole, else merged into the thread before\n"
    "them, else removed once their ops moved to other threads; the sweeper, the collector,\n"
    "each preempt); ops moved to the threads beside them so a switch goes; chunks down to\n"
    "single ops; operands (ops alike together). Then handles and weak slots renumbered 0, 1,\n"
    "2... in first-use order. Same input, same build: same output.\n"
    "  --threads     real-thread mode: a candidate counts if any of its runs crashes so\n"
    "  --runs N      runs per candidate with --threads (default 10; 1..1000)\n"
    "  --timeout S   seconds a run may take (default 10); a run past it is killed and counts\n"
    "                as a crash of type `timeout`\n"
    "  --budget N    candidates run at most (default 2000; cached answers are free)\n"
    "  --max-time S  seconds for the whole minimization (default: no limit; the result then\n"
    "                depends on the machine's speed)\n"
    "  -v            print each change kept\n"
    "  -o OUT        write the result to OUT (default: standard output)\n"
    "The result is the program as text under a header. Minimized (a round changed nothing):\n"
    "  # minimized: <id> <signature>\n"
    "  # ops: N original, M minimized (C candidates run, K answers cached)\n"
    "Stopped by --budget first (or --max-time: `# time limit of S s reached after ...`), it\n"
    "is smaller, with the same signature, but not minimized, and the header says so:\n"
    "  # budget exhausted after C candidates: not fully minimized\n"
    "  # signature: <id> <signature>\n"
    "  # ops: N original, M when the budget ran out (K answers cached)\n"
    "stderr's last line says the same. Exit 0 a program written (minimized, or not fully as\n"
    "its header says), 1 INPUT does not crash, 2 usage or I/O error.\n";

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
      fputs(help_text, stdout);
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
    } else if ((v = option_value(a, "--max-time", &i, argc, argv, &missing))) {
      char *end;
      o->max_time = strtod(v, &end);
      if (end == v || *end || !(o->max_time > 0 && o->max_time <= 1e7))
        return usage_error("bad --max-time (seconds, above 0): ", v);
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

/* Writes the header (minimized, or why not) and the program as text to f. */
static void print_result(const mz_t *m, uint32_t original, FILE *f) {
  if (m->stop == MZ_STOP_NONE) {
    fprintf(f, "# minimized: %s %s\n", m->target.id, m->target.signature);
    fprintf(f, "# ops: %u original, %u minimized (%u candidates run, %u answers cached)\n",
            (unsigned)original, (unsigned)m->best->count, m->candidates, m->cached);
  } else {
    if (m->stop == MZ_STOP_BUDGET)
      fprintf(f, "# budget exhausted after %u candidates: not fully minimized\n", m->candidates);
    else
      fprintf(f, "# time limit of %g s reached after %u candidates: not fully minimized\n",
              m->opt.max_time, m->candidates);
    fprintf(f, "# signature: %s %s\n", m->target.id, m->target.signature);
    fprintf(f, "# ops: %u original, %u when the %s ran out (%u answers cached)\n",
            (unsigned)original, (unsigned)m->best->count,
            m->stop == MZ_STOP_BUDGET ? "budget" : "time", m->cached);
  }
  if (m->opt.threads)
    fprintf(f,
            "# mode: real threads (--threads): a candidate was kept when any of its %u runs "
            "crashed with this signature\n",
            m->opt.runs);
  else
    fputs("# mode: deterministic\n", f);
  ops_print(m->best, f);
}

/* Writes the result to OUT (or stdout). Returns 0, or 2 after printing why not. */
static int write_result(const mz_t *m, uint32_t original) {
  FILE *out = stdout;
  if (m->opt.out && strcmp(m->opt.out, "-") != 0) out = fopen(m->opt.out, "w");
  if (!out) {
    fprintf(stderr, "%s: %s\n", m->opt.out, strerror(errno));
    return 2;
  }
  print_result(m, original, out);
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

  m.started = now_seconds();
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

  /* Rounds of the passes, cheap big wins first (a round that keeps nothing costs few runs: every
   * answer is cached): the tail and big chunks shrink a long program in a few dozen candidates;
   * the rewrites of runs and threads act on what is left in a few each; only then single ops,
   * operands and the config, which cost a candidate per op or per bit of a value. */
  bool changed = true;
  while (changed && !mz_spent(&m)) {
    changed = pass_tail(&m);
    changed = mz_pass_collections(&m) || changed;
    changed = pass_chunks(&m, MZ_LARGE_CHUNK) || changed;
    changed = mz_pass_void(&m) || changed;
    changed = mz_pass_runs(&m) || changed;
    changed = mz_pass_config(&m) || changed;
    changed = mz_pass_threads(&m) || changed;
    changed = mz_pass_moves(&m) || changed;
    changed = pass_chunks(&m, 1) || changed;
    changed = mz_pass_operands(&m) || changed;
  }
  if (!mz_spent(&m)) mz_renumber(&m);
  static const char *const stopped[] = {"", ": the budget ran out, NOT fully minimized",
                                        ": the time limit was reached, NOT fully minimized"};
  fprintf(stderr,
          "heapfuzz: minimize: %s: %u -> %u ops, %u candidates run in %u children (%u answers "
          "cached)%s: %s %s\n",
          m.opt.in, (unsigned)original, (unsigned)m.best->count, m.candidates, m.children, m.cached,
          stopped[m.stop], m.target.id, m.target.signature);
  rc = write_result(&m, original);
  mz_free(&m);
  return rc;
}
