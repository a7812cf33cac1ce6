# cmake/lua_bugs.cmake: bugs planted in Lua's collector, to prove a campaign finds a bug inside
# lgc.c (issue 16). Included by cmake/lua.cmake, which with -DHF_LUA_INJECT_BUG=<name> builds the
# lua backend on a copy of the tree (<build>/lua-bug-<name>/src) with one small edit to its lgc.c
# (the source tree is never touched). scripts/lua-bug-trials times fuzz_lua finding one.
#
# Script mode, what ctest lua_planted_bugs runs for each bug (the edits still apply to the tree):
#   cmake -DLUA_SRC=<dir with lgc.c> -DBUG=<name> -DCOPY=<dir> -P cmake/lua_bugs.cmake
#
# Each is a classic collector mistake: one anchor (which must occur exactly once: a tree where it
# does not is refused) and its replacement:
#   weak_last_not_cleared  clearbyvalues never clears the last entry of a weak table's array
#                          part: a weak reference (or the backend's map entry) to a dead object
#                          can outlive the collection that found it dead (an off-by-one)
#   barrierback_missing    luaC_barrierback_ leaves a black object black instead of graying it
#                          (a store into it during the mark phase is lost: a missing barrier)
#   udata_genlink_missing  traverseudata never calls genlink: in generational mode a touched old
#                          userdata is not revisited at the next young collection (its user
#                          values' young objects can be freed while reachable)
if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  cmake_minimum_required(VERSION 3.25) # script mode: the project's policies (IN_LIST)
endif()
set(_hf_lua_bugs weak_last_not_cleared barrierback_missing udata_genlink_missing)
set(_hf_lua_bug_weak_last_not_cleared_anchor
  "    for (i = 0; i < asize; i++) {\n      TValue *o = &h->array[i];\n      if (iscleared(g, gcvalueN(o)))  /* value was collected? */\n")
set(_hf_lua_bug_weak_last_not_cleared_patch
  "    for (i = 0; i + 1 < asize; i++) {  /* heapfuzz planted bug weak_last_not_cleared */\n      TValue *o = &h->array[i];\n      if (iscleared(g, gcvalueN(o)))  /* value was collected? */\n")
set(_hf_lua_bug_barrierback_missing_anchor
  "  else  /* link it in 'grayagain' and paint it gray */\n    linkobjgclist(o, g->grayagain);\n")
set(_hf_lua_bug_barrierback_missing_patch
  "  else  /* heapfuzz planted bug barrierback_missing: it stays black */\n    (void)0;\n")
set(_hf_lua_bug_udata_genlink_missing_anchor
  "  genlink(g, obj2gco(u));\n  return 1 + u->nuvalue;\n")
set(_hf_lua_bug_udata_genlink_missing_patch
  "  return 1 + u->nuvalue;  /* heapfuzz planted bug udata_genlink_missing */\n")

# hf_lua_plant_bug(<src> <bug> <copy> <out>): copies the Lua source directory <src> (its .c and
# .h) to <copy> with <bug>'s edit applied to lgc.c, and sets <out> to <copy>.
function(hf_lua_plant_bug src bug _copy out)
  if(NOT bug IN_LIST _hf_lua_bugs)
    string(REPLACE ";" ", " _known "${_hf_lua_bugs}")
    message(FATAL_ERROR "HF_LUA_INJECT_BUG=${bug} is not a planted Lua bug: one of ${_known}")
  endif()
  file(MAKE_DIRECTORY "${_copy}")
  file(GLOB _files "${src}/*.c" "${src}/*.h")
  list(FILTER _files EXCLUDE REGEX "/lgc\\.c$")
  file(COPY ${_files} DESTINATION "${_copy}") # timestamps kept: a reconfigure rebuilds nothing
  file(READ "${src}/lgc.c" _lgc)
  string(FIND "${_lgc}" "${_hf_lua_bug_${bug}_anchor}" _first)
  string(FIND "${_lgc}" "${_hf_lua_bug_${bug}_anchor}" _last REVERSE)
  if(_first EQUAL -1 OR NOT _first EQUAL _last)
    message(FATAL_ERROR "HF_LUA_INJECT_BUG=${bug}: ${src}/lgc.c does not hold the code the bug edits exactly once (not Lua 5.4.4's lgc.c?)")
  endif()
  string(REPLACE "${_hf_lua_bug_${bug}_anchor}" "${_hf_lua_bug_${bug}_patch}" _lgc "${_lgc}")
  file(WRITE "${_copy}/lgc.c.new" "${_lgc}")
  file(COPY_FILE "${_copy}/lgc.c.new" "${_copy}/lgc.c" ONLY_IF_DIFFERENT)
  file(REMOVE "${_copy}/lgc.c.new")
  if(NOT CMAKE_SCRIPT_MODE_FILE)
    set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${src}/lgc.c")
  endif()
  set(${out} "${_copy}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT LUA_SRC OR NOT BUG OR NOT COPY)
    message(FATAL_ERROR "usage: cmake -DLUA_SRC=<dir> -DBUG=<name> -DCOPY=<dir> -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
  hf_lua_plant_bug("${LUA_SRC}" "${BUG}" "${COPY}" _copy)
  message(STATUS "planted ${BUG} in ${_copy}/lgc.c")
endif()
