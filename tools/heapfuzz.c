/* heapfuzz.c: the heapfuzz command-line tool: run op programs against the heap under the oracle,
 * and convert them between their binary form (what fuzzers mutate) and their text form (what
 * seeds and reports carry); `signature` (signature.c) names a crash, `minimize` (minimize.c)
 * shrinks a crashing program, `dict` (dict.c) writes the fuzzing dictionary. See
 * include/heapops.h for the language and usage() for the commands.
 *
 * Exit status: 0 clean, 1 a finding (the oracle's, or a crash: a sanitizer's report, the heap's
 * fatal error, a scheduler deadlock, a signal; `run` runs each file in a child process to tell
 * them apart and go on), 2 usage, I/O or parse error (signature and minimize: see usage()).
 * Every file is read whole (at most HF_MAX_FILE bytes), by length, so binaries may hold NUL
 * bytes. */
#ifndef _POSIX_C_SOURCE
#  define _POSIX_C_SOURCE 200809L /* fileno, isatty, fork, sigaction, kill */
#endif

#include "dict.h"
#include "heapops.h"
#include "hf_file.h"
#include "explore.h"
#include "minimize.h"
#include "program.h"
#include "signature.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#  include <sys/prctl.h> /* PR_SET_PDEATHSIG */
#endif


enum { EXIT_CLEAN = 0, EXIT_FINDING = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: heapfuzz <command> [options] FILE...\n"
    "\n"
    "Run heap-operation programs against the heap core under a shadow-model oracle, and convert\n"
    "them between the binary form fuzzers mutate and the text form seeds and reports carry.\n"
    "\n"
    "Reproduce a fuzzer finding or replay seeds:\n"
    "  heapfuzz run [-v] [--trace] [--eager] [--threads] [--repeat N] [--backend NAME]\n"
    "               [--no-fork] FILE...\n"
    "      Run each program (text if it starts with `heapfuzz-ops`, in any case, after an\n"
    "      optional byte-order mark, else binary) on a fresh heap and print `FILE: ok (N ops\n"
    "      run, M skipped, K collections)`. A file that looks like text without that line (named\n"
    "      *.ops, a first word like `heap...`, or `#` first and printable) is an error (exit 2).\n"
    "      Each file runs in a child process of its own, so a finding ends that file only and\n"
    "      the remaining files still run. The oracle's finding: `FILE: FINDING at op N (...)`\n"
    "      on stdout, `FILE: <its one-line report>` on stderr. A crash that ends the process\n"
    "      (a sanitizer's report, the heap's fatal error, a scheduler deadlock, a signal): its\n"
    "      report on stderr, then `FILE: FINDING: crashed (killed by SIGABRT)` on stdout and\n"
    "      `FILE: crashed (killed by SIGABRT)` on stderr. Exit 2 if a file could not be read\n"
    "      or parsed (the others still run), else 1 if any file had a finding, else 0.\n"
    "      -v           print each op before it runs (with --threads: `op N [m1]: ...`)\n"
    "      --trace      print heap events (also on with HEAPFUZZ_TRACE=1 in the environment)\n"
    "      --eager      the oracle at its most eager: hc_heap_verify and every reachable\n"
    "                   object checked after every mutator op, so a broken invariant is\n"
    "                   reported after the op that broke it (also HEAPFUZZ_EAGER=1); how\n"
    "                   triage signs a finding's bug. Deterministic mode only\n"
    "      --threads    real-thread mode: one pthread per mutator thread and one for the\n"
    "                   sweeper, free-running (fuzz_heap_threads' mode); not deterministic\n"
    "      --repeat N   run each file N times (1..1000000), stopping that file at its first\n"
    "                   finding: how a real-thread run is replayed until it fails\n"
    "      --backend NAME  the heap to run on, of those built in (default: the first;\n"
    "                   include/heapbackend.h). Ops the heap cannot do are skipped and\n"
    "                   counted (`FILE: skipped: 12 (no shrink)`), and which ops and checks\n"
    "                   are off is printed first\n"
    "      --no-fork    run the files in this process (also HEAPFUZZ_NO_FORK=1): a crash\n"
    "                   then ends heapfuzz with its own status (the signal, or the sanitizer's\n"
    "                   exit code) and the files after it never run; for a debugger, and how\n"
    "                   scripts/triage replays a file (a bare signal stays a signal)\n"
    "\n"
    "Read a crashing input:\n"
    "  heapfuzz print FILE [-o OUT]\n"
    "      Write the program as text (binary input, or text normalized) to stdout or OUT.\n"
    "\n"
    "Turn a hand-written seed into fuzzer input:\n"
    "  heapfuzz asm FILE [-o OUT]\n"
    "      Write the canonical binary form to OUT (or to stdout when it is not a terminal).\n"
    "\n"
    "Write the fuzzing dictionary:\n"
    "  heapfuzz dict [-o OUT]\n"
    "      Write fuzz_heap's libFuzzer / AFL++ dictionary (dictionaries/fuzz_heap.dict) to\n"
    "      stdout or OUT: a token per op of the op table (include/heapops.h), then config\n"
    "      prefixes, operand edges and short op sequences, from text programs in tools/dict.c.\n"
    "\n"
    "Name a crash (the campaign's deduplication key):\n"
    "  heapfuzz signature [--json] [--bug] [--timed-out] REPORT_FILE...\n"
    "      Read the output of a crashing run (libFuzzer, the replay driver, heapfuzz run, with\n"
    "      its sanitizer reports, or gdb's backtrace of it) and print `<id> <signature>` for\n"
    "      the first report in it: signature = type|frame|frame|frame. type: asan:<kind>,\n"
    "      lsan:leak, tsan:<kind>, ubsan:<message>, oracle:<invariant>, fatal:<message>,\n"
    "      libc:<glibc's message>, assert:<condition>, timeout, oom, signal:<name>; frames:\n"
    "      the top 3 functions of the first stack trace without sanitizer, libc and harness\n"
    "      (ops/, backends/, targets/, tools/) frames (an oracle finding: the op and its\n"
    "      detail); numbers read as N; id: 12 hex digits of the signature's FNV-1a hash.\n"
    "      --json prints {id, signature, type, frames, op, thread}. --bug: the bug signature "
    "instead, what broke\n"
    "      rather than who noticed (an oracle finding without the op and its moment, an\n"
    "      assertion without its callers, a sanitizer report without the sanitizer's name;\n"
    "      with --json, bug_id and bug_signature added). --timed-out: the run was stopped at\n"
    "      its time limit (SIGABRT): its abort's report, or none, signs as `timeout` with the\n"
    "      frames where it hung. Exit 0 a crash, 1 none, 2 I/O error.\n"
    "\n"
    "Shrink a crashing program to the ops that matter:\n"
    "  heapfuzz minimize [--threads] [--runs N] [--timeout S] [--budget N] [--max-time S] [-v]\n"
    "                    FILE [-o OUT]\n"
    "      Run FILE (binary or text) in a child process and take its crash signature; then\n"
    "      delete and rewrite ops as a person would, cheapest big wins first, keeping each\n"
    "      change whose run (in a forked child) crashes with exactly that signature: the\n"
    "      tail, automatic collections made explicit, big chunks, void ops, runs of one op\n"
    "      (an allocation run replaced by the collection it fed), the config by meaning,\n"
    "      threads removed or merged, single ops, operands; then handles and weak slots\n"
    "      renumbered in first-use order. Use the build that crashed (a heapfuzz_bug_<name>\n"
    "      build for an injected bug). Writes the program as text to OUT (or stdout) under\n"
    "      `# minimized: <id> <signature>` and `# ops: N original, M minimized (...)`, or,\n"
    "      stopped by the budget, `# budget exhausted after C candidates: not fully\n"
    "      minimized` (`heapfuzz minimize --help` has the passes in full).\n"
    "      --threads    real-thread mode: a candidate counts if any of its runs crashes so\n"
    "      --runs N     runs per candidate with --threads (default 10; 1..1000)\n"
    "      --timeout S  seconds a run may take (default 10); a run past it is killed and\n"
    "                   counts as a crash of type `timeout`\n"
    "      --budget N   candidate runs at most (default 2000; cached answers are free)\n"
    "      --max-time S wall-clock limit (off by default: the result would depend on the\n"
    "                   machine)\n"
    "      -v           print each change kept\n"
    "      Exit 0 minimized (or stopped by the budget, as the header says), 1 FILE does not\n"
    "      crash, 2 usage or I/O error.\n"
    "\n"
    "Find the schedule that breaks a program (the campaign's systematic phase):\n"
    "  heapfuzz explore [--budget N] [--depth 1|2] [--seed S] [--timeout S] [--max-crashes N]\n"
    "                   [--out DIR] FILE...\n"
    "      Run FILE once to learn the heap yield points each op passes, then with a preempt\n"
    "      inserted before each op of a mutator thread, at each of its yield points, to each\n"
    "      other thread (depth 1), then random pairs of those (depth 2), up to the budget\n"
    "      (default 1000 schedules per file), each in a forked child. A schedule that crashes\n"
    "      is saved as DIR/crash-explore-<hash> (binary, with <name>.log), a hung one as\n"
    "      timeout-explore-<hash>; scripts/triage files them. Exit 0 nothing crashed, 1 a\n"
    "      schedule or a program crashed, 2 usage or I/O error (`heapfuzz explore --help`).\n"
    "\n"
    "FILE may be `-` for standard input, OUT `-` for standard output.\n"
    "Exit status: 0 clean, 1 a finding, 2 usage, I/O or parse error.\n"
    "\n"
    "Examples:\n"
    "  heapfuzz run corpus/fuzz_heap/*.ops\n"
    "  heapfuzz run --threads --repeat 20 corpus/fuzz_heap_threads/*.ops\n"
    "  heapfuzz print crash-1234abcd -o crash.ops && heapfuzz run -v --trace crash.ops\n"
    "  heapfuzz asm corpus/fuzz_heap/deep_chain.ops -o deep_chain.bin\n"
    "  heapfuzz dict -o dictionaries/fuzz_heap.dict\n"
    "  heapfuzz signature crash-1234abcd.log\n"
    "  heapfuzz_bug_stale_last_active minimize crash.ops -o small.ops\n";

static void usage(FILE *out) {
  fputs(usage_text, out);
}

/* Prints `heapfuzz: <message>` and the synopsis on stderr; returns the usage-error status. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("heapfuzz: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n"
        "usage: heapfuzz run [-v] [--trace] [--eager] [--threads] [--repeat N] [--backend NAME]\n"
        "                    [--no-fork] FILE...\n"
        "       heapfuzz print FILE [-o OUT]\n"
        "       heapfuzz asm FILE [-o OUT]\n"
        "       heapfuzz dict [-o OUT]\n"
        "       heapfuzz signature [--json] [--bug] [--timed-out] REPORT_FILE...\n"
        "       heapfuzz minimize [--threads] [--runs N] [--timeout S] [--budget N]\n"
        "                         [--max-time S] FILE [-o OUT]\n"
        "       heapfuzz explore [--budget N] [--depth 1|2] [--seed S] [--timeout S]\n"
        "                        [--max-crashes N] [--out DIR] FILE...\n"
        "Run `heapfuzz --help` for details.\n",
        stderr);
  return EXIT_USAGE;
}

/* ---------------------------------------------------------------------------------------------
 * Input
 * ------------------------------------------------------------------------------------------- */

/* Loads FILE as a program. Returns EXIT_CLEAN, or EXIT_USAGE after printing why. */
static int load_program(const char *path, ops_program_t *prog) {
  hf_buf_t buf;
  if (!hf_read_file("heapfuzz", path, &buf)) return EXIT_USAGE;
  const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
  char err[512];
  int rc = EXIT_CLEAN;
  if (!hf_program_from_bytes(buf.data, buf.size, name, prog, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    rc = EXIT_USAGE;
  }
  free(buf.data);
  return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------------------------- */

static FILE *open_output(const char *out_path, const char *mode) {
  if (!out_path || strcmp(out_path, "-") == 0) return stdout;
  FILE *f = fopen(out_path, mode);
  if (!f) fprintf(stderr, "heapfuzz: cannot write %s: %s\n", out_path, strerror(errno));
  return f;
}

/* Flushes and closes (stdout is only flushed); reports a failed write. */
static int close_output(FILE *f, const char *out_path) {
  const char *name = f == stdout ? "<stdout>" : out_path;
  bool bad = ferror(f) != 0;
  if (f == stdout) {
    bad = fflush(f) != 0 || bad;
  } else {
    bad = fclose(f) != 0 || bad;
  }
  if (bad) {
    fprintf(stderr, "heapfuzz: cannot write %s: %s\n", name, strerror(errno ? errno : EIO));
    return EXIT_USAGE;
  }
  return EXIT_CLEAN;
}

/* ---------------------------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------------------------- */

static bool is_help(const char *a) {
  return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* Parses a --repeat count: decimal, 1..1000000. */
static bool parse_repeat(const char *s, unsigned *out) {
  unsigned long v = 0;
  if (*s == '\0') return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + (unsigned long)(*s - '0');
    if (v > 1000000) return false;
  }
  if (v == 0) return false;
  *out = (unsigned)v;
  return true;
}

/* "heapcore, nogc": the backends built in. */
static const char *backend_names(void) {
  static char names[256];
  size_t used = 0;
  names[0] = '\0';
  for (const hb_backend_t *const *b = ops_backends(); *b; b++) {
    int n = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", (*b)->name);
    if (n > 0 && (size_t)n < sizeof names - used) used += (size_t)n;
  }
  return names;
}

/* ---------------------------------------------------------------------------------------------
 * run: each file in a child process
 *
 * A finding the oracle reports is the interpreter's to print, but many end the process: a
 * sanitizer's report (exit 1, 66 for TSan, 23 for a leak, or SIGABRT with abort_on_error=1), the
 * heap's fatal error and a scheduler deadlock (abort), a bare signal. So each file runs in a
 * forked child, and the parent turns how the child ended into that file's verdict and goes on to
 * the next file:
 *   - the child says in a page they share which run is under way (--repeat) and, once it has
 *     printed its file's line (`ok` or the oracle's `FINDING`), its verdict; it ends by exit()
 *     with that verdict, so LeakSanitizer's check and a coverage build's profile run as before;
 *   - an end other than that verdict is a crash: the parent prints `FILE: FINDING: crashed
 *     (...)` on stdout and `FILE: crashed (...)` on stderr, after the child's own report, which
 *     went to the same stderr unbuffered and whole;
 *   - the parent runs no heap code and starts no thread, so every child forks from the same
 *     single-threaded state and prints what a process of its own would;
 *   - a signal that stops the parent (SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGABRT: a time limit's
 *     SIGABRT makes a sanitizer's handle_abort print where the child hung) is passed on to the
 *     child; the parent then reports the file stopped and dies of the same signal. A child
 *     whose parent dies anyway (SIGKILL) is killed with it (Linux).
 * --no-fork (HEAPFUZZ_NO_FORK=1) runs every file in the process itself, as before: what a
 * debugger wants, and how scripts/triage replays a file, since it signs a bare signal by
 * re-running the file under gdb and needs the signal to end heapfuzz itself (hffindings.py).
 * ------------------------------------------------------------------------------------------- */

typedef struct run_config {
  ops_run_options_t opt;
  bool threads;
  unsigned repeat;
} run_config_t;

enum { VERDICT_NONE = -1 }; /* the child has not printed its file's line */

/* What a child tells its parent, in a shared page. */
typedef struct run_progress {
  volatile unsigned run; /* the run under way, 1..repeat */
  volatile int verdict;  /* EXIT_CLEAN or EXIT_FINDING once the file's line is printed */
} run_progress_t;

/* `FILE: skipped: 12 (no shrink), 3 (no eden collection)`: ops the backend could not run. */
static void print_unsupported(const char *path, const ops_run_result_t *result) {
  bool any = false;
  for (unsigned b = 0; b < HB_CAP_COUNT; b++) {
    if (!result->unsupported[b]) continue;
    if (!any) printf("%s: skipped: ", path);
    printf("%s%u (no %s)", any ? ", " : "", (unsigned)result->unsupported[b],
           ops_capability_name(b));
    any = true;
  }
  if (any) putchar('\n');
}

/* Runs one file's program (repeat times, stopping at its first finding) in this process and
 * prints its line; returns EXIT_CLEAN or EXIT_FINDING, which it also leaves in *progress. */
static int run_file(const char *path, const ops_program_t *prog, const run_config_t *cfg,
                    run_progress_t *progress) {
  ops_run_result_t result;
  bool clean = true;
  unsigned run;
  for (run = 1; run <= cfg->repeat && clean; run++) {
    progress->run = run;
    memset(&result, 0, sizeof result);
    fflush(stdout); /* keep stdout and the interpreter's stderr output in order on a terminal */
    clean = cfg->threads ? ops_run_threads(prog, &cfg->opt, &result)
                         : ops_run(prog, &cfg->opt, &result);
    clean = clean && !result.finding;
  }
  run--; /* the last run made */
  /* With --repeat, which run; the counts are that run's (real-thread runs differ). */
  char runs[64] = "";
  if (cfg->repeat > 1) snprintf(runs, sizeof runs, "run %u of %u: ", run, cfg->repeat);
  if (clean) {
    printf("%s: ok (%s%u ops run, %u skipped, %u collections)\n", path, runs,
           (unsigned)result.ops_run, (unsigned)result.ops_skipped, (unsigned)result.collections);
  } else {
    printf("%s: FINDING at op %u (%s%u ops run, %u skipped, %u collections)\n", path,
           (unsigned)result.op_index, runs, (unsigned)result.ops_run, (unsigned)result.ops_skipped,
           (unsigned)result.collections);
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", path, result.message);
  }
  print_unsupported(path, &result);
  fflush(stdout);
  progress->verdict = clean ? EXIT_CLEAN : EXIT_FINDING;
  return progress->verdict;
}

/* The signals the parent passes on to the child it waits for. */
static const int forwarded_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGABRT};
#define FORWARDED_COUNT (sizeof forwarded_signals / sizeof forwarded_signals[0])
static struct sigaction forwarded_before[FORWARDED_COUNT]; /* restored in each child */
static volatile sig_atomic_t running_child;                /* its pid, 0 between children */
static volatile sig_atomic_t stop_signal;                  /* the first signal forwarded */

static void forward_signal(int sig) {
  if (!stop_signal) stop_signal = sig;
  if (running_child > 0) kill((pid_t)running_child, sig);
}

/* No SA_RESTART: the parent's waitpid returns EINTR and waits again. */
static void install_forwarding(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < FORWARDED_COUNT; i++)
    sigaction(forwarded_signals[i], &sa, &forwarded_before[i]);
}

static void forwarded_set(sigset_t *set) {
  sigemptyset(set);
  for (size_t i = 0; i < FORWARDED_COUNT; i++)
    sigaddset(set, forwarded_signals[i]);
}

/* "SIGSEGV", or "signal N" for one without a name here. */
static const char *signal_text(int sig, char *buf, size_t size) {
  static const struct {
    int sig;
    const char *name;
  } names[] = {{SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},   {SIGABRT, "SIGABRT"},
               {SIGILL, "SIGILL"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
               {SIGTRAP, "SIGTRAP"}, {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},
               {SIGHUP, "SIGHUP"},   {SIGQUIT, "SIGQUIT"}, {SIGPIPE, "SIGPIPE"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].sig == sig) return names[i].name;
  snprintf(buf, size, "signal %d", sig);
  return buf;
}

/* Dies of sig, as the parent would have without its handler. */
static _Noreturn void die_of(int sig) {
  fflush(stdout);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  _exit(128 + sig);
}

/* The child's side of run_file_forked: never returns. */
static _Noreturn void child_main(const char *path, const ops_program_t *prog,
                                 const run_config_t *cfg, run_progress_t *progress, pid_t parent,
                                 const sigset_t *mask) {
  for (size_t i = 0; i < FORWARDED_COUNT; i++)
    sigaction(forwarded_signals[i], &forwarded_before[i], NULL);
#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(EXIT_USAGE); /* the parent died before the line above */
#else
  (void)parent;
#endif
  sigprocmask(SIG_SETMASK, mask, NULL);
  /* exit, not _exit: LeakSanitizer's check and a coverage build's profile are written at exit. */
  exit(run_file(path, prog, cfg, progress));
}

/* Runs one file in a forked child (see above). Returns EXIT_CLEAN, EXIT_FINDING, or EXIT_USAGE
 * when no child could be started; a signal forwarded to the child ends the parent here. */
static int run_file_forked(const char *path, const ops_program_t *prog, const run_config_t *cfg,
                           run_progress_t *progress) {
  progress->run = 0;
  progress->verdict = VERDICT_NONE;
  sigset_t block, mask;
  forwarded_set(&block);
  sigprocmask(SIG_BLOCK, &block, &mask); /* until running_child is set */
  if (stop_signal) die_of(stop_signal);  /* it came between two files */
  fflush(stdout);
  fflush(stderr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) child_main(path, prog, cfg, progress, parent, &mask);
  if (pid < 0) {
    sigprocmask(SIG_SETMASK, &mask, NULL);
    fprintf(stderr, "heapfuzz: run: %s: cannot fork: %s\n", path, strerror(errno));
    return EXIT_USAGE;
  }
  running_child = pid;
  sigprocmask(SIG_SETMASK, &mask, NULL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno == EINTR) continue;
    fprintf(stderr, "heapfuzz: run: %s: waitpid: %s\n", path, strerror(errno));
    running_child = 0;
    return EXIT_USAGE;
  }
  running_child = 0;

  char sigbuf[32], how[64], when[64] = "";
  if (WIFSIGNALED(status)) {
    snprintf(how, sizeof how, "killed by %s", signal_text(WTERMSIG(status), sigbuf, sizeof sigbuf));
  } else {
    snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
  }
  if (stop_signal) {
    fprintf(stderr, "%s: stopped by %s (%s)\n", path,
            signal_text(stop_signal, sigbuf, sizeof sigbuf), how);
    die_of(stop_signal);
  }
  int verdict = progress->verdict;
  if (WIFEXITED(status) && verdict != VERDICT_NONE && WEXITSTATUS(status) == verdict)
    return verdict; /* its own line said it all */
  if (verdict != VERDICT_NONE) {
    snprintf(when, sizeof when, " at exit"); /* after its line: LeakSanitizer, say */
  } else if (cfg->repeat > 1 && progress->run > 0) {
    snprintf(when, sizeof when, " in run %u of %u", progress->run, cfg->repeat);
  }
  fflush(stderr);
  printf("%s: FINDING: crashed%s (%s)\n", path, when, how);
  fflush(stdout);
  fprintf(stderr, "%s: crashed%s (%s)\n", path, when, how);
  return EXIT_FINDING;
}

/* An environment variable set to anything but "" or "0" (as HEAPFUZZ_TRACE). */
static bool env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

static int cmd_run(int argc, char **argv, ops_program_t *prog) {
  /* HEAPFUZZ_TRACE=1 and HEAPFUZZ_EAGER=1 also turn those on: ops_run reads them. */
  run_config_t cfg = {.opt = {.verbose = false, .trace = false, .out = NULL}, .repeat = 1};
  bool fork_each = !env_flag("HEAPFUZZ_NO_FORK");
  int i;
  for (i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (is_help(a)) {
      usage(stdout);
      return EXIT_CLEAN;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      cfg.opt.verbose = true;
    } else if (strcmp(a, "--trace") == 0) {
      cfg.opt.trace = true;
    } else if (strcmp(a, "--eager") == 0) {
      cfg.opt.eager = true;
    } else if (strcmp(a, "--threads") == 0) {
      cfg.threads = true;
    } else if (strcmp(a, "--no-fork") == 0) {
      fork_each = false;
    } else if (strcmp(a, "--repeat") == 0 || strncmp(a, "--repeat=", 9) == 0) {
      const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v) return usage_error("run: --repeat needs a count");
      if (!parse_repeat(v, &cfg.repeat))
        return usage_error("run: bad --repeat count '%s' (1..1000000)", v);
    } else if (strcmp(a, "--backend") == 0 || strncmp(a, "--backend=", 10) == 0) {
      const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v) return usage_error("run: --backend needs a name");
      cfg.opt.backend = ops_find_backend(v);
      if (!cfg.opt.backend && ops_backend_missing(v))
        return usage_error("run: no backend '%s' in this build: %s", v, ops_backend_missing(v));
      if (!cfg.opt.backend)
        return usage_error("run: no backend '%s' in this build (%s)", v, backend_names());
    } else if (a[0] == '-' && a[1] != '\0') {
      return usage_error("run: unknown option %s", a);
    } else {
      break;
    }
  }
  int first = i;
  if (first == argc) return usage_error("run: no FILE given");
  /* What a heap chosen by name leaves out (run on the default one, the heap core, a program skips
   * only what the mode cannot run: the background sweeper in deterministic mode). */
  if (cfg.opt.backend) ops_describe_backend(cfg.opt.backend, cfg.threads, "heapfuzz: ", stderr);

  /* The page a child reports its progress in; a plain struct without children. */
  run_progress_t local = {0}, *progress = &local;
  if (fork_each) {
    void *page =
        mmap(NULL, sizeof *progress, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
      fprintf(stderr, "heapfuzz: run: cannot map a shared page: %s\n", strerror(errno));
      return EXIT_USAGE;
    }
    progress = page;
    install_forwarding();
  }
  int status = EXIT_CLEAN;
  for (i = first; i < argc; i++) {
    const char *path = argv[i];
    int rc = load_program(path, prog);
    if (rc == EXIT_CLEAN)
      rc = fork_each ? run_file_forked(path, prog, &cfg, progress)
                     : run_file(path, prog, &cfg, progress);
    if (rc == EXIT_USAGE || (rc == EXIT_FINDING && status == EXIT_CLEAN)) status = rc;
  }
  if (fork_each) munmap(progress, sizeof *progress);
  return status;
}

/* Shared argument parsing of `print`, `asm` and `dict`: exactly one FILE (none with in NULL:
 * `dict`), optional -o OUT. Returns -1 after printing the help. */
static int parse_convert_args(const char *cmd, int argc, char **argv, const char **in,
                              const char **out) {
  bool takes_file = in != NULL;
  const char *file = NULL;
  *out = NULL;
  bool options = true;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (options && strcmp(a, "--") == 0) {
      options = false;
    } else if (options && is_help(a)) {
      usage(stdout);
      return -1;
    } else if (options && (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)) {
      if (i + 1 == argc) return usage_error("%s: -o needs a file name", cmd);
      *out = argv[++i];
    } else if (options && strncmp(a, "-o", 2) == 0 && a[2] != '\0') {
      *out = a + 2;
    } else if (options && a[0] == '-' && a[1] != '\0') {
      return usage_error("%s: unknown option %s", cmd, a);
    } else if (!takes_file) {
      return usage_error("%s: takes no FILE", cmd);
    } else if (file) {
      return usage_error("%s: takes one FILE", cmd);
    } else {
      file = a;
    }
  }
  if (!takes_file) return EXIT_CLEAN;
  if (!file) return usage_error("%s: no FILE given", cmd);
  *in = file;
  return EXIT_CLEAN;
}

static int cmd_print(int argc, char **argv, ops_program_t *prog) {
  const char *in, *out_path;
  int rc = parse_convert_args("print", argc, argv, &in, &out_path);
  if (rc < 0) return EXIT_CLEAN;
  if (rc != EXIT_CLEAN) return rc;
  if (load_program(in, prog) != EXIT_CLEAN) return EXIT_USAGE;
  FILE *out = open_output(out_path, "w");
  if (!out) return EXIT_USAGE;
  ops_print(prog, out);
  return close_output(out, out_path);
}

static int cmd_asm(int argc, char **argv, ops_program_t *prog) {
  const char *in, *out_path;
  int rc = parse_convert_args("asm", argc, argv, &in, &out_path);
  if (rc < 0) return EXIT_CLEAN;
  if (rc != EXIT_CLEAN) return rc;
  if ((!out_path || strcmp(out_path, "-") == 0) && isatty(fileno(stdout))) {
    fprintf(stderr, "heapfuzz: asm: refusing to write binary to a terminal; use -o OUT\n");
    return EXIT_USAGE;
  }
  if (load_program(in, prog) != EXIT_CLEAN) return EXIT_USAGE;
  size_t n = ops_encode(prog, NULL, 0);
  uint8_t *bytes = malloc(n ? n : 1);
  if (!bytes) {
    fprintf(stderr, "heapfuzz: asm: out of memory\n");
    return EXIT_USAGE;
  }
  ops_encode(prog, bytes, n);
  FILE *out = open_output(out_path, "wb");
  if (!out) {
    free(bytes);
    return EXIT_USAGE;
  }
  fwrite(bytes, 1, n, out);
  free(bytes);
  return close_output(out, out_path);
}

/* The dictionary is checked before OUT is opened, so a bad token program leaves OUT as it was. */
static int cmd_dict(int argc, char **argv, ops_program_t *prog) {
  const char *out_path;
  int rc = parse_convert_args("dict", argc, argv, NULL, &out_path);
  if (rc < 0) return EXIT_CLEAN;
  if (rc != EXIT_CLEAN) return rc;
  char err[512];
  if (!hf_dict_write(NULL, prog, err, sizeof err)) {
    fprintf(stderr, "heapfuzz: %s\n", err);
    return EXIT_USAGE;
  }
  FILE *out = open_output(out_path, "w");
  if (!out) return EXIT_USAGE;
  hf_dict_write(out, prog, err, sizeof err);
  return close_output(out, out_path);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (is_help(cmd) || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return EXIT_CLEAN;
  }
  if (strcmp(cmd, "signature") == 0) return hf_cmd_signature(argc - 2, argv + 2);
  if (strcmp(cmd, "minimize") == 0) return hf_cmd_minimize(argc - 2, argv + 2);
  if (strcmp(cmd, "explore") == 0) return hf_cmd_explore(argc - 2, argv + 2);
  int (*fn)(int, char **, ops_program_t *) = NULL;
  if (strcmp(cmd, "run") == 0) {
    fn = cmd_run;
  } else if (strcmp(cmd, "print") == 0) {
    fn = cmd_print;
  } else if (strcmp(cmd, "asm") == 0) {
    fn = cmd_asm;
  } else if (strcmp(cmd, "dict") == 0) {
    fn = cmd_dict;
  } else {
    fprintf(stderr, "heapfuzz: unknown command %s\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
  }
  /* A program is about 40 KiB: one on the heap, reused for every file. */
  ops_program_t *prog = malloc(sizeof *prog);
  if (!prog) {
    fprintf(stderr, "heapfuzz: out of memory\n");
    return EXIT_USAGE;
  }
  int rc = fn(argc - 2, argv + 2, prog);
  free(prog);
  return rc;
}
