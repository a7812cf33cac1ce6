/* minimize.h: `heapfuzz minimize`, minimization of a crashing program that keeps its crash
 * signature (signature.h) identical: ops deleted, and rewritten as a person would (runs cut,
 * automatic collections made explicit, threads merged, ops moved between threads, handles
 * renumbered). minimize.c has the algorithm and the command, minimize_threads.c and
 * minimize_rewrite.c the passes beside it. */
#ifndef HF_MINIMIZE_H
#define HF_MINIMIZE_H

/* `heapfuzz minimize [--threads] [--runs N] [--timeout S] [--budget N] [--max-time S] [-v] INPUT
 * [-o OUT]` (argv after the command name). Returns the exit status: 0 a program written (its
 * header says whether the budget or the time limit stopped it before it was minimized), 1 the
 * input does not crash, 2 usage or I/O error. */
int hf_cmd_minimize(int argc, char **argv);

/* SIGABRT's handler in a child that runs a program (minimize's, explore's): prints the stack as
 * a sanitizer would (in sanitizer builds), so an abort without a report (hc_fatal, an assertion)
 * is signed by the same frames as in a fuzzer's report, then dies of the signal. */
void hf_abort_with_stack(int sig);

#endif /* HF_MINIMIZE_H */
