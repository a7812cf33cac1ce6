/* binary_trees.c: the driver of the benchmark suite (bench/README.md).
 *
 *   bench_binary_trees --backend heapcore|boehm|mimalloc|glibc [--workload W] [--depth N]
 *                      [--threads T] [--hc-tuned] [--verbose]
 *
 * Runs one workload once on one allocator and prints one line:
 *   workload=W backend=X depth=N threads=T wall_ms=... cpu_ms=... maxrss_kb=... work=...
 *   checksum=...
 * wall_ms and cpu_ms (the process's CPU time, every thread) time the workload only; work is the
 * objects it allocated (per thread for the threads workload); maxrss_kb is the process's peak
 * resident set, which is why bench/run starts a fresh process for every measurement (see
 * bt_peak_rss_kb).
 * Exit status: 0 ok, 1 the run failed (an allocator error or a wrong checksum), 2 usage,
 * 3 the backend was not built into this binary.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bt_common.h"

#define BT_EXIT_FAILED    1
#define BT_EXIT_USAGE     2
#define BT_EXIT_NOT_BUILT 3

typedef struct bt_backend {
  const char *name;
  int (*run)(const bt_options_t *opt, bt_result_t *res); /* NULL: not built */
} bt_backend_t;

static const bt_backend_t bt_backends[] = {
    {"heapcore", bt_run_heapcore},
#ifdef HF_HAVE_BOEHM
    {"boehm", bt_run_boehm},
#else
    {"boehm", NULL},
#endif
#ifdef HF_HAVE_MIMALLOC
    {"mimalloc", bt_run_mimalloc},
#else
    {"mimalloc", NULL},
#endif
    {"glibc", bt_run_glibc},
};
#define BT_BACKEND_COUNT (sizeof bt_backends / sizeof bt_backends[0])

static const char *const bt_workload_names[BT_WL_COUNT] = {"gcbench", "bintrees", "graph",
                                                           "threads"};

uint64_t bt_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

uint64_t bt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

_Noreturn void bt_die(const char *backend, const char *what) {
  fflush(stdout);
  fprintf(stderr, "bench_binary_trees: %s: %s\n", backend, what);
  exit(BT_EXIT_FAILED);
}

/* Peak resident set of this process image in KiB. On Linux getrusage's ru_maxrss is no good for
 * that: exec folds the pre-exec address space's high-water mark into it, so a process started by
 * a 15 MiB Python runner reports at least 15 MiB. /proc/self/status's VmHWM counts only this
 * image; ru_maxrss is the fallback where there is no /proc. */
static long bt_peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f != NULL) {
    char line[256];
    long kb = -1;
    while (kb < 0 && fgets(line, sizeof line, f) != NULL)
      if (sscanf(line, "VmHWM: %ld kB", &kb) != 1) kb = -1;
    fclose(f);
    if (kb >= 0) return kb;
  }
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
  return (long)ru.ru_maxrss;
}

static void bt_usage(FILE *out) {
  fprintf(
      out,
      "usage: bench_binary_trees --backend NAME [--workload W] [--depth N] [--threads T]\n"
      "                          [--verbose] [heap core options]\n"
      "       bench_binary_trees --list-backends\n"
      "\n"
      "Runs one workload once on one allocator and prints\n"
      "  workload=W backend=X depth=N threads=T wall_ms=... cpu_ms=... maxrss_kb=... work=...\n"
      "  checksum=...\n"
      "\n"
      "  --backend NAME      heapcore, boehm, mimalloc or glibc\n"
      "  --workload W        gcbench (default), bintrees, graph or threads\n"
      "  --depth N           size parameter (long-lived tree depth), %d..%d (default %d)\n"
      "  --threads T         threads workload: mutator threads, 1..%d (default 1)\n"
      "  --verbose           phase timings and allocator statistics on stderr\n"
      "  --list-backends     print 'NAME built' or 'NAME not-built' per backend\n"
      "heap core configuration (default: what README.md's example sets):\n"
      "  --hc-tuned          the policy bt_heapcore.c tuned for GCBench at N=18\n"
      "  --hc-trigger-kib K  collect after K KiB handed to allocators\n"
      "  --hc-full-every N   every Nth automatic collection is full\n"
      "  --hc-full-growth P  full collection once eden ones promoted P%% of the old generation\n"
      "  --hc-all-full       every automatic collection is full (no eden collections)\n"
      "  --hc-release-empty  sweeping releases empty blocks\n"
      "  --hc-sweeper        run the background sweeper thread\n",
      BT_MIN_DEPTH, BT_MAX_DEPTH, BT_DEFAULT_DEPTH, BT_MAX_THREADS);
}

/* Parses a decimal in [lo, hi] or exits with a usage error. */
static unsigned long long bt_parse_num(const char *flag, const char *s, unsigned long long lo,
                                       unsigned long long hi) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s != NULL ? s : "", &end, 10);
  if (s == NULL || *s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v < lo || v > hi) {
    fprintf(stderr, "bench_binary_trees: %s wants a number in %llu..%llu, got '%s'\n", flag, lo, hi,
            s != NULL ? s : "");
    exit(BT_EXIT_USAGE);
  }
  return v;
}

int main(int argc, char **argv) {
  bt_options_t opt = {.workload = BT_WL_GCBENCH, .depth = BT_DEFAULT_DEPTH, .threads = 1};
  const char *backend_name = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      bt_usage(stdout);
      return 0;
    } else if (strcmp(a, "--list-backends") == 0) {
      for (size_t b = 0; b < BT_BACKEND_COUNT; b++)
        printf("%s %s\n", bt_backends[b].name, bt_backends[b].run != NULL ? "built" : "not-built");
      return 0;
    } else if (strcmp(a, "--backend") == 0 && next != NULL) {
      backend_name = next;
      i++;
    } else if (strcmp(a, "--depth") == 0) {
      opt.depth = (int)bt_parse_num(a, next, BT_MIN_DEPTH, BT_MAX_DEPTH);
      i++;
    } else if (strcmp(a, "--workload") == 0 && next != NULL) {
      int w = 0;
      while (w < BT_WL_COUNT && strcmp(bt_workload_names[w], next) != 0)
        w++;
      if (w == BT_WL_COUNT) {
        fprintf(stderr, "bench_binary_trees: unknown workload '%s'\n", next);
        return BT_EXIT_USAGE;
      }
      opt.workload = (bt_workload_kind_t)w;
      i++;
    } else if (strcmp(a, "--threads") == 0) {
      opt.threads = (int)bt_parse_num(a, next, 1, BT_MAX_THREADS);
      i++;
    } else if (strcmp(a, "--hc-tuned") == 0) {
      opt.hc_tuned = true;
    } else if (strcmp(a, "--verbose") == 0) {
      opt.verbose = true;
    } else if (strcmp(a, "--hc-trigger-kib") == 0) {
      opt.hc_trigger_bytes = (size_t)bt_parse_num(a, next, 1, 1u << 24) << 10;
      i++;
    } else if (strcmp(a, "--hc-full-every") == 0) {
      opt.hc_full_every = (unsigned)bt_parse_num(a, next, 1, 1000000);
      i++;
    } else if (strcmp(a, "--hc-full-growth") == 0) {
      opt.hc_full_growth = (unsigned)bt_parse_num(a, next, 1, 100000);
      i++;
    } else if (strcmp(a, "--hc-all-full") == 0) {
      opt.hc_all_full = true;
    } else if (strcmp(a, "--hc-release-empty") == 0) {
      opt.hc_release_empty = true;
    } else if (strcmp(a, "--hc-sweeper") == 0) {
      opt.hc_sweeper = true;
    } else {
      fprintf(stderr, "bench_binary_trees: unknown or incomplete option '%s'\n", a);
      bt_usage(stderr);
      return BT_EXIT_USAGE;
    }
  }
  if (opt.workload == BT_WL_THREADS && opt.depth < 10) {
    fprintf(stderr, "bench_binary_trees: the threads workload needs --depth 10 or more\n");
    return BT_EXIT_USAGE;
  }
  if (backend_name == NULL) {
    fprintf(stderr, "bench_binary_trees: --backend is required\n");
    bt_usage(stderr);
    return BT_EXIT_USAGE;
  }

  const bt_backend_t *backend = NULL;
  for (size_t b = 0; b < BT_BACKEND_COUNT; b++)
    if (strcmp(bt_backends[b].name, backend_name) == 0) backend = &bt_backends[b];
  if (backend == NULL) {
    fprintf(stderr, "bench_binary_trees: unknown backend '%s'\n", backend_name);
    bt_usage(stderr);
    return BT_EXIT_USAGE;
  }
  if (backend->run == NULL) {
    fprintf(stderr,
            "bench_binary_trees: %s: backend not built (its library was not found when this "
            "binary was configured)\n",
            backend->name);
    return BT_EXIT_NOT_BUILT;
  }

  bt_result_t res = {0};
  if (backend->run(&opt, &res) != 0) return BT_EXIT_FAILED;
  const long rss_kb = bt_peak_rss_kb();
  if (rss_kb < 0) bt_die(backend->name, "cannot read the peak RSS");
  printf("workload=%s backend=%s depth=%d threads=%d wall_ms=%.3f cpu_ms=%.3f maxrss_kb=%ld "
         "work=%llu checksum=%llu\n",
         bt_workload_names[opt.workload], backend->name, opt.depth, opt.threads,
         (double)res.wall_ns / 1e6, (double)res.cpu_ns / 1e6, rss_kb, (unsigned long long)res.work,
         (unsigned long long)res.checksum);
  fflush(stdout);
  if (!res.ok) {
    fprintf(stderr, "bench_binary_trees: %s: wrong result: checksum %llu, expected %llu\n",
            backend->name, (unsigned long long)res.checksum, (unsigned long long)res.expected);
    return BT_EXIT_FAILED;
  }
  return 0;
}
