/* fuzz_lua.c: the fuzz_lua target: fuzz_heap's programs (any input decodes to one, ops_decode)
 * run on Lua 5.4's collector (backends/lua.c) under the shadow-model oracle, in deterministic
 * mode: the program's mutator threads are Lua coroutines, preempted at the backend's yield
 * points; the ops Lua cannot express are skipped and counted (`heapfuzz run --backend lua` lists
 * them). Built when CMake has a Lua 5.4 source tree
 * (cmake/lua.cmake); the fuzz_heap seeds are its seeds as they are.
 *
 * Every input gets a fresh lua_State, created and closed inside ops_run, so no earlier input's
 * objects or collector state reach it. Lua's core is built from source with the same sanitizers
 * and, under libFuzzer, the same coverage instrumentation as the interpreter: the engine sees
 * edges inside lgc.c. Findings: the oracle's, ASan's on Lua's memory (the backend's allocator
 * hands freed blocks back to ASan), and Lua's own assertions (LUAI_ASSERT, LUA_USE_APICHECK).
 *
 * It is fuzz_heap.c on this backend (HF_TARGET_BACKEND): the same findings, op-level mutator,
 * crossover, ops histogram and schedule feedback (the preemptions at the backend's yield points).
 */
#ifndef _POSIX_C_SOURCE
#  define _POSIX_C_SOURCE 200809L /* fuzz_heap.c's clock_gettime, before any system header */
#endif

#include "hblua.h"

#define HF_TARGET_BACKEND (&hb_lua_backend)
#include "fuzz_heap.c"
