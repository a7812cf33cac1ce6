/* standalone_main.c: the replay driver linked into every fuzz target built without a fuzzing
 * engine (curl-fuzzer's and OpenSSL's pattern), so each target doubles as a regression binary:
 *
 *   fuzz_heap [-runs=N] FILE_OR_DIR...
 *
 * replays every file given, and every regular file under every directory given (recursively,
 * in name order, dot files skipped), through LLVMFuzzerTestOneInput once, then prints
 * `replayed N inputs` (N counts executions). -runs=N runs every input N times, as libFuzzer does
 * with files: here in N passes over all inputs, each file read once into memory beforehand, so a
 * timed replay (bench/fuzz_throughput) measures the target rather than file reads. Other
 * arguments of the form -flag or -flag=value are libFuzzer options and are ignored, so one
 * command line works with both builds. Each input sits in a buffer of exactly its size, so ASan
 * catches a read past the end as libFuzzer would. With HEAPFUZZ_ANNOUNCE=1 in the environment
 * each execution is announced on stderr first, in libFuzzer's words (`Running: FILE`), so a
 * report in a batch's log names the input that was running (scripts/lib/campaign_tsan.py: a
 * real-thread program's threads are all joined before the next input starts). Exit status: 0
 * after replaying everything (a finding aborts the process), 2 when an argument cannot be read or
 * -runs is not a number. */
#ifndef _POSIX_C_SOURCE
#  define _POSIX_C_SOURCE 200809L /* opendir, stat */
#endif

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hf_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long replayed;

/* -runs=N above 1: the inputs, read once, replayed in N passes at the end. */
typedef struct input {
  uint8_t *data;
  size_t size;
  char *path;
} input_t;
static long runs = 1;
static bool announce; /* HEAPFUZZ_ANNOUNCE */

static void run_input(const char *path, const uint8_t *data, size_t size) {
  if (announce) fprintf(stderr, "Running: %s\n", path);
  LLVMFuzzerTestOneInput(data, size);
  replayed++;
}
static input_t *kept;
static size_t nkept, cap_kept;

/* Returns 0, or 2 after printing why the file could not be replayed. */
static int replay_file(const char *path) {
  hf_buf_t buf;
  if (!hf_read_file("standalone", path, &buf)) return 2;
  /* An exact-size copy: no slack after the input for an overread to hide in. */
  uint8_t *exact = malloc(buf.size ? buf.size : 1);
  if (!exact) {
    fprintf(stderr, "standalone: cannot read %s: out of memory\n", path);
    free(buf.data);
    return 2;
  }
  if (buf.size) memcpy(exact, buf.data, buf.size);
  free(buf.data);
  if (runs > 1) {
    if (nkept == cap_kept) {
      size_t ncap = cap_kept ? cap_kept * 2 : 256;
      input_t *nk = realloc(kept, ncap * sizeof *nk);
      if (!nk) {
        fprintf(stderr, "standalone: cannot read %s: out of memory\n", path);
        free(exact);
        return 2;
      }
      kept = nk;
      cap_kept = ncap;
    }
    char *name = strdup(path);
    if (!name) {
      fprintf(stderr, "standalone: cannot read %s: out of memory\n", path);
      free(exact);
      return 2;
    }
    kept[nkept++] = (input_t){exact, buf.size, name};
    return 0;
  }
  run_input(path, exact, buf.size);
  free(exact);
  return 0;
}

/* -runs=N; false if N is not a number. Below 1 means once, as for libFuzzer's file inputs. */
static bool parse_runs(const char *arg) {
  char *end;
  errno = 0;
  long n = strtol(arg, &end, 10);
  if (end == arg || *end != '\0' || errno) return false;
  runs = n < 1 ? 1 : n;
  return true;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_path(const char *path);

static int replay_dir(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    fprintf(stderr, "standalone: cannot read %s: %s\n", path, strerror(errno));
    return 2;
  }
  char **names = NULL;
  size_t count = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      char **nn = realloc(names, ncap * sizeof *nn);
      if (!nn) {
        rc = 2;
        break;
      }
      names = nn;
      cap = ncap;
    }
    size_t len = strlen(path) + 1 + strlen(e->d_name) + 1;
    names[count] = malloc(len);
    if (!names[count]) {
      rc = 2;
      break;
    }
    snprintf(names[count], len, "%s/%s", path, e->d_name);
    count++;
  }
  closedir(d);
  if (rc) fprintf(stderr, "standalone: cannot read %s: out of memory\n", path);
  if (count) qsort(names, count, sizeof *names, name_cmp);
  for (size_t i = 0; i < count; i++) {
    if (rc == 0) rc = replay_path(names[i]);
    free(names[i]);
  }
  free(names);
  return rc;
}

static int replay_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "standalone: cannot read %s: %s\n", path, strerror(errno));
    return 2;
  }
  if (S_ISDIR(st.st_mode)) return replay_dir(path);
  if (!S_ISREG(st.st_mode)) return 0; /* sockets, fifos: not inputs */
  return replay_file(path);
}

/* Optional in a target, as with libFuzzer (a weak reference: NULL when the target has none). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

int main(int argc, char **argv) {
  int inputs = 0, rc = 0;
  const char *env = getenv("HEAPFUZZ_ANNOUNCE");
  announce = env && *env && strcmp(env, "0") != 0;
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], "-runs=", 6) == 0 && !parse_runs(argv[i] + 6)) {
      fprintf(stderr, "standalone: -runs wants a number: %s\n", argv[i]);
      return 2;
    }
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-' && argv[i][1] != '\0') continue; /* a libFuzzer flag */
    inputs++;
    int r = replay_path(argv[i]);
    if (r > rc) rc = r;
  }
  if (inputs == 0) {
    fprintf(stderr,
            "usage: %s [-runs=N] FILE_OR_DIR...\n"
            "  replays each file (each file under each directory) through the target, N times\n",
            argv[0]);
    return 2;
  }
  for (long pass = 0; pass < (runs > 1 ? runs : 0); pass++)
    for (size_t i = 0; i < nkept; i++)
      run_input(kept[i].path, kept[i].data, kept[i].size);
  for (size_t i = 0; i < nkept; i++) {
    free(kept[i].data);
    free(kept[i].path);
  }
  free(kept);
  printf("replayed %lu inputs\n", replayed);
  return rc;
}
