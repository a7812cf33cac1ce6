/* fuzz_lua.c: the fuzz_lua target: fuzz_heap's programs (any input decodes to one, ops_decode)
 * run on Lua 5.4's collector (backends/lua.c) under the shadow-model oracle, in deterministic
 * mode: one mutator, the ops of further threads and those Lua cannot express skipped and counted
 * (`heapfuzz run --backend lua` lists them). Built when CMake has a Lua 5.4 source tree
 * (cmake/lua.cmake); the fuzz_heap seeds are its seeds as they are.
 *
 * Every input gets a fresh lua_State, created and closed inside ops_run, so no earlier input's
 * objects or collector state reach it. Lua's core is built from source with the same sanitizers
 * and, under libFuzzer, the same coverage instrumentation as the interpreter: the engine sees
 * edges inside lgc.c. Findings: the oracle's, ASan's on Lua's memory (the backend's allocator
 * hands freed blocks back to ASan), and Lua's own assertions (LUAI_ASSERT, LUA_USE_APICHECK).
 *
 * A finding aborts (abort_on_finding) after the interpreter printed its report and the heap
 * dump, as in fuzz_heap. The op-level mutator and crossover are fuzz_heap's
 * (ops_custom_mutator.h). */
#include "hblua.h"
#include "heapops.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The fiber pool and the first-time paths of the interpreter, as fuzz_heap does. */
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
  ops_run_options_t opt = {.abort_on_finding = true, .backend = &hb_lua_backend};
  ops_run_result_t result;
  ops_run(&program, &opt, &result);
  return 0;
}

#include "ops_custom_mutator.h" /* under HF_FUZZ_ENGINE: the op-level mutator */
