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
 * It is fuzz_heap.c on this backend (HF_TARGET_BACKEND): the same findings, op-level mutator,
 * crossover, ops histogram and schedule feedback (empty here: no yield points). */
#ifndef _POSIX_C_SOURCE
#  define _POSIX_C_SOURCE 200809L /* fuzz_heap.c's clock_gettime, before any system header */
#endif

#include "jsc.h"

#if defined(HC_ASAN) && HC_ASAN
/* LeakSanitizer reports JSC's own process-wide allocations (its caches, its threads' state) at
 * exit: never the program's. ASAN_OPTIONS in the environment still overrides this. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "detect_leaks=0";
}
#endif

#define HF_TARGET_BACKEND (&hb_jsc_backend)
#include "fuzz_heap.c"
