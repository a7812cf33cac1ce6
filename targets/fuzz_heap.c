/* fuzz_heap.c: the fuzz_heap target: any input is a program of heap operations (ops_decode's
 * total decoding, include/heapops.h), run on a fresh heap under the shadow-model oracle.
 *
 * A finding aborts (abort_on_finding) after the interpreter printed its one-line report and heap
 * dump, so the engine records the input as a crash; a sanitizer report does the same. Every
 * program is torn down inside ops_run, so nothing carries over to the next input. Set
 * HEAPFUZZ_TRACE=1 to print heap events while reproducing.
 *
 * Linked with libFuzzer (HF_FUZZ_ENGINE), the target also mutates structurally: whole ops are
 * inserted, deleted, duplicated, swapped and re-parameterized (ops_mutate), with libFuzzer's byte
 * mutator about one time in eight, and crossover splices op lists (ops_crossover). Minimizing a
 * crash with a custom mutator needs -mutate_depth=1. */
#include "heapops.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Before the first input (and before AFL++'s fork server starts): create what a first program
 * would create on the way (fibers, the size-class table), so that every input runs the same code
 * whatever ran before it in the process (AFL++ stability). */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  ops_warm_up();
  return 0;
}

/* About 40 KiB: static rather than on the stack; engines call the target from one thread. */
static ops_program_t program;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ops_decode(data, size, &program);
  ops_run_options_t opt = {.verbose = false, .trace = false, .out = NULL, .abort_on_finding = true};
  ops_run_result_t result;
  ops_run(&program, &opt, &result);
  return 0;
}

#ifndef HF_PLAIN_LIBFUZZER        /* fuzz_heap_plain: libFuzzer's byte mutator alone */
#  include "ops_custom_mutator.h" /* under HF_FUZZ_ENGINE: the op-level mutator */
#endif
