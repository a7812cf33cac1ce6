/* lua_config.h: forced into every file of Lua's core by cmake/lua.cmake (-include).
 *
 * Lua seeds its string hashes from the time and a few addresses (lstate.c's luai_makeseed), so
 * the layout of its string table, and with it when that table grows (an allocation, counted in
 * the collector's debt), would differ from run to run. heapfuzz needs the same program to run the
 * same way every time (include/heapbackend.h, "Determinism"): a fixed seed. lstate.c defines its
 * own luai_makeseed only when this macro is not defined. */
#ifndef HEAPFUZZ_LUA_CONFIG_H
#define HEAPFUZZ_LUA_CONFIG_H

#define luai_makeseed(L) ((unsigned int)0x68656170u)

#endif
