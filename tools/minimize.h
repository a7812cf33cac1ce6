/* minimize.h: `heapfuzz minimize`, op-level minimization of a crashing program that keeps its
 * crash signature (signature.h) identical. minimize.c has the algorithm. */
#ifndef HF_MINIMIZE_H
#define HF_MINIMIZE_H

/* `heapfuzz minimize [--threads] [--runs N] [--timeout S] [--budget N] [-v] INPUT [-o OUT]`
 * (argv after the command name). Returns the exit status: 0 minimized, 1 the input does not
 * crash, 2 usage or I/O error. */
int hf_cmd_minimize(int argc, char **argv);

#endif /* HF_MINIMIZE_H */
