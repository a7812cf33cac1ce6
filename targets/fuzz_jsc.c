/* fuzz_jsc.c: the fuzz_jsc target: fuzz_heap's programs (any input decodes to one, ops_decode)
 * run on JavaScriptCore's heap (backends/jsc.c) under the shadow-model oracle, in deterministic
 * mode: one mutator, the ops of further threads and those JSC cannot express skipped and counted
 * (`heapfuzz run --backend jsc` lists them). Built when CMake finds JSC (cmake/jsc.cmake); the
 * fuzz_heap seeds are its seeds as they are.
 *
 * Every input gets a fresh context group (a VM of its own), created and released inside ops_run,
 * so no earlier input's objects or collection state reach it. JSC's code is not instrumented:
 * coverage comes from the interpreter and the backend, findings from the oracle, ASan on the
 * payload bytes the backend hands JSC, and JSC's own crashes and assertions.
 *
 * A finding aborts (abort_on_finding) after the interpreter printed its report, as in fuzz_heap.
 * The op-level mutator and crossover are fuzz_heap's (ops_custom_mutator.h). */
#include "heapops.h"
#include "jsc.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#if defined(HC_ASAN) && HC_ASAN
/* LeakSanitizer reports JSC's own process-wide allocations (its caches, its threads' state) at
 * exit: never the program's. ASAN_OPTIONS in the environment still overrides this. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "detect_leaks=0";
}
#endif

/* The fiber pool and the first-time paths of the interpreter, as fuzz_heap does. JSC itself
 * starts with the first input (its first context group). */
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
  ops_run_options_t opt = {.abort_on_finding = true, .backend = &hb_jsc_backend};
  ops_run_result_t result;
  ops_run(&program, &opt, &result);
  return 0;
}

#include "ops_custom_mutator.h" /* under HF_FUZZ_ENGINE: the op-level mutator */
