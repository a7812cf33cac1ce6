/* hblua.h: the Lua 5.4 backend (backends/lua.c), built when CMake has a Lua 5.4 source tree
 * (cmake/lua.cmake defines HF_HAVE_LUA for everything that links the interpreter). Not lua.h:
 * that name is Lua's own header. */
#ifndef HEAPFUZZ_BACKEND_LUA_H
#define HEAPFUZZ_BACKEND_LUA_H

#include "heapbackend.h"

/* The backend's own status codes (status_name names them). */
enum {
  HBL_ERR_NO_MEMORY = HB_ERR_BACKEND, /* lua_newstate or malloc failed */
  HBL_ERR_LUA,                        /* a protected call raised an error that was not a memory
                                         error (Lua's message is in the dump) */
  HBL_ERR_NO_ACCESS,                  /* alloc or a weak reference's creation or destruction
                                         without heap access; release or acquire twice */
  HBL_ERR_NOT_ATTACHED,               /* detach of a mutator not attached; destroy with one */
  HBL_ERR_NOT_A_ROOT,                 /* root_remove of a slot never added */
  HBL_ERR_NOT_AN_OBJECT,              /* an object Lua no longer holds (its map entry is gone) */
  HBL_ERR_SENTINEL,                   /* a full collection left the sentinel in the weak table:
                                         a weak value to an unreachable object survived it */
  HBL_ERR_NO_CYCLE,                   /* gc-eden in incremental mode: steps never ended a cycle */
  HBL_ERR_WARNING,                    /* Lua warned (an error in a finalizer: one was lost) */
  HBL_ERR_LEAK,                       /* lua_close left bytes allocated */
  HBL_ERR_STACK,                      /* a collection with more than the backend's tables on the
                                         Lua stack (exact death would not hold) */
  HBL_ERR_COROUTINE,                  /* a mutator's coroutine did not yield (or end) as it must:
                                         an error escaped its body (Lua's message in the dump) */
  HBL_ERR_COUNT_
};

extern const hb_backend_t hb_lua_backend;

#endif /* HEAPFUZZ_BACKEND_LUA_H */
