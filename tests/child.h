/* child.h: running a test function in a forked child with its stderr captured, for tests whose
 * subject ends the process (a fatal self-check, a failing CHECK of the harness itself). Uses no
 * CHECK: test_harness_selftest tests check.h with it. */
#ifndef HF_TESTS_CHILD_H
#define HF_TESTS_CHILD_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn in a child whose stderr goes into out (NUL-terminated, at most cap - 1 bytes; the rest
 * is drained); returns the child's wait status (an exit 0 if fn returns). */
static inline int hf_run_child(void (*fn)(void), char *out, size_t cap) {
  int fds[2];
  if (pipe(fds) != 0) {
    perror("hf_run_child: pipe");
    exit(1);
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    perror("hf_run_child: fork");
    exit(1);
  }
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    fn();
    _exit(0);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t got;
  char sink[256];
  while ((got = read(fds[0], n + 1 < cap ? out + n : sink,
                     n + 1 < cap ? cap - 1 - n : sizeof sink)) > 0)
    if (n + 1 < cap) n += (size_t)got;
  out[n] = '\0';
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

#endif /* HF_TESTS_CHILD_H */
