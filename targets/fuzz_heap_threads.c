/* fuzz_heap_threads.c: the fuzz_heap_threads target: any input is a program of heap operations
 * (ops_decode's total decoding, include/heapops.h), run in real-thread mode: one pthread per
 * mutator thread of the program's plan and one for the sweeper, free-running, every thread
 * joined before the input returns (ops_run_threads). Meant for the TSan build (a data race in
 * the heap is a finding) and the ASan build.
 *
 * A finding aborts (abort_on_finding) after the one-line report and heap dump, so the engine
 * records the input as a crash; a sanitizer report does the same. The schedule is the machine's,
 * not the program's: a finding may need several replays (`heapfuzz run --threads --repeat N`).
 * Set HEAPFUZZ_TRACE=1 to print heap events while reproducing.
 *
 * Linked with libFuzzer (HF_FUZZ_ENGINE), the target mutates structurally as fuzz_heap does
 * (ops_mutate, libFuzzer's byte mutator about one time in eight, ops_crossover). */
#include "heapops.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* About 40 KiB: static rather than on the stack; engines call the target from one thread (the
 * program's threads only read it, and are joined before the next input is decoded into it). */
static ops_program_t program;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ops_decode(data, size, &program);
  ops_run_options_t opt = {.verbose = false, .trace = false, .out = NULL, .abort_on_finding = true};
  ops_run_result_t result;
  ops_run_threads(&program, &opt, &result);
  return 0;
}

#include "ops_custom_mutator.h" /* under HF_FUZZ_ENGINE: the op-level mutator */
