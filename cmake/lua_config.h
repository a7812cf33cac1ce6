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

/* Under TSan, Lua's errors and yields (ldo.c's LUAI_THROW, a longjmp) through sigsetjmp and
 * siglongjmp: with LUA_USE_POSIX's _setjmp/_longjmp, TSan did not unwind its shadow call stack
 * at a coroutine's yield (the lua backend yields after every op), so it grew without bound and
 * ended in a crash inside TSan after a few thousand ops on one thread. */
#if defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define HEAPFUZZ_LUA_TSAN 1
#  endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(HEAPFUZZ_LUA_TSAN)

#  define LUAI_THROW(L, c) siglongjmp((c)->b, 1)
#  define LUAI_TRY(L, c, a)          \
    if (sigsetjmp((c)->b, 0) == 0) { \
      a                              \
    }
#  define luai_jmpbuf sigjmp_buf
#endif

#endif
