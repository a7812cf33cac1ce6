# cmake/lua.cmake: the Lua 5.4 backend (backends/lua.c, issue 16). Lua's core is built from source
# here, with the preset's sanitizers and coverage instrumentation (and, in fuzzing builds,
# libFuzzer's coverage), so a campaign sees inside Lua's collector. Optional: without a source
# tree, one line says how to get one, and everything else builds; the lua backend, fuzz_lua and
# the Lua tests are left out (the tests report themselves skipped).
#
# The source tree:
#   -DHF_LUA_SOURCE=<dir>   any Lua 5.4 tree (a release, a fork, a patched tree): a directory
#                           holding src/lua.h, or lua.h itself (the layout of Lua's git repository)
#   otherwise               build/lua-source/lua5.4, where scripts/lua-source puts Debian 12's
#                           lua5.4 source package (5.4.4; scripts/test runs it as root)
# A tree whose lua.h is not LUA_VERSION_NUM 504 is refused here, not by a compile error.
#   -DHF_LUA_INJECT_BUG=<name>  builds on a copy of that tree with a collector bug planted in its
#                           lgc.c (cmake/lua_bugs.cmake lists them): a campaign's own test, never
#                           the shipped build (empty by default)
#
# The core is every .c of that directory but the stand-alone programs (lua.c, luac.c) and the
# amalgamation and test-suite files of Lua's repository (onelua.c, ltests.c), compiled with:
#   LUAI_ASSERT           Lua's internal assertions (lua_assert: the collector's own invariants)
#   LUA_USE_APICHECK      checks of every C API call (the backend's use of the API)
#   LUA_USE_POSIX         the standard library's POSIX calls (no dlopen: loadlib is unused)
#   luai_makeseed fixed   (cmake/lua_config.h, forced in): Lua seeds its string hashes with the
#                         time and addresses; fixed, a program runs the same way every time
#
# Included from the top-level CMakeLists.txt after HEAPOPS_BACKEND_SOURCES is set. Defines:
#   hf_lua              an interface library: Lua's headers and core, HF_HAVE_LUA=1 (every build
#                       of the interpreter links it, so ops/backends.c lists the backend)
#   hf_lua_core         the static library of Lua's core
#   HF_LUA_TREE         the directory of Lua's sources as given (before any planted bug's copy)
#   HF_LUA_MISSING      why there is no lua backend in this build ("" when there is one); a
#                       compile definition of the tests and the interpreter, so no `;` or `"`
# targets/CMakeLists.txt builds fuzz_lua when hf_lua exists.

# Planted bugs (-DHF_LUA_INJECT_BUG=<name>, empty by default: the shipped build never has one):
# cmake/lua_bugs.cmake copies the tree and edits its lgc.c (the list of bugs is there).
set(HF_LUA_INJECT_BUG "" CACHE STRING
  "Plant a collector bug in a copy of Lua's lgc.c: weak_last_not_cleared, barrierback_missing, udata_genlink_missing (empty: none)")
include(${CMAKE_CURRENT_LIST_DIR}/lua_bugs.cmake)

set(HF_LUA_SOURCE "" CACHE PATH
  "A Lua 5.4 source tree to build the lua backend on (default: build/lua-source/lua5.4, from scripts/lua-source)")
option(HF_LUA "Build the Lua backend when a Lua 5.4 source tree is there" ON)
# Lua's internal assertions are on everywhere, but in scripts/coverage's build (-DHF_LUA_ASSERT=OFF):
# there clang's coverage mapping counts the line after each lua_assert as never run (a region
# that starts after assert's failure branch), which would hide a tenth of lgc.c's covered lines.
option(HF_LUA_ASSERT "Compile Lua with its internal assertions (LUAI_ASSERT)" ON)

set(HF_LUA_MISSING "")
set(_hf_lua_src "")

# The directory of lua.h in <tree> (src/ or the tree itself), or "" when there is none.
function(_hf_lua_find_src tree out)
  set(${out} "" PARENT_SCOPE)
  foreach(dir "${tree}/src" "${tree}")
    if(EXISTS "${dir}/lua.h" AND EXISTS "${dir}/lgc.c")
      set(${out} "${dir}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
endfunction()

# LUA_VERSION_NUM of <src>/lua.h, or "" when it has none.
function(_hf_lua_version src out)
  file(STRINGS "${src}/lua.h" _line REGEX "^#define[ \t]+LUA_VERSION_NUM[ \t]+[0-9]+")
  string(REGEX REPLACE ".*LUA_VERSION_NUM[ \t]+([0-9]+).*" "\\1" _num "${_line}")
  set(${out} "${_num}" PARENT_SCOPE)
endfunction()

if(NOT HF_LUA)
  set(HF_LUA_MISSING "the lua backend is off (-DHF_LUA=OFF)")
elseif(HF_LUA_SOURCE)
  # Asked for: anything but a Lua 5.4 tree is an error, one line, saying what was looked for.
  _hf_lua_find_src("${HF_LUA_SOURCE}" _hf_lua_src)
  if(NOT _hf_lua_src)
    message(FATAL_ERROR "HF_LUA_SOURCE=${HF_LUA_SOURCE} is not a Lua source tree: looked for lua.h and lgc.c in ${HF_LUA_SOURCE}/src and ${HF_LUA_SOURCE}")
  endif()
  _hf_lua_version("${_hf_lua_src}" _hf_lua_num)
  if(NOT _hf_lua_num STREQUAL "504")
    message(FATAL_ERROR "HF_LUA_SOURCE=${HF_LUA_SOURCE} is not Lua 5.4: ${_hf_lua_src}/lua.h has LUA_VERSION_NUM '${_hf_lua_num}', the lua backend needs 504")
  endif()
else()
  set(_hf_lua_default "${PROJECT_SOURCE_DIR}/build/lua-source/lua5.4")
  _hf_lua_find_src("${_hf_lua_default}" _hf_lua_src)
  if(_hf_lua_src)
    _hf_lua_version("${_hf_lua_src}" _hf_lua_num)
    if(NOT _hf_lua_num STREQUAL "504")
      set(_hf_lua_src "")
    endif()
  endif()
  if(NOT _hf_lua_src)
    set(HF_LUA_MISSING "no Lua 5.4 source: run scripts/lua-source (as root) or give -DHF_LUA_SOURCE=<dir>")
  endif()
endif()

if(HF_LUA_MISSING)
  message(STATUS "heapfuzz: ${HF_LUA_MISSING}: no lua backend, fuzz_lua or Lua tests")
else()
  set(HF_LUA_TREE "${_hf_lua_src}")
  if(HF_LUA_INJECT_BUG)
    hf_lua_plant_bug("${_hf_lua_src}" "${HF_LUA_INJECT_BUG}"
      "${PROJECT_BINARY_DIR}/lua-bug-${HF_LUA_INJECT_BUG}/src" _hf_lua_src)
    set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
      "${PROJECT_SOURCE_DIR}/cmake/lua_bugs.cmake")
    message(STATUS "heapfuzz: lua backend with the PLANTED BUG ${HF_LUA_INJECT_BUG} (${_hf_lua_src}/lgc.c)")
  endif()
  # Debian's tree (its patch 0002-lua-modules-paths) has luaconf.h include a header its own build
  # generates, defining DEB_HOST_MULTIARCH for the module search paths: written here instead.
  set(_hf_lua_gen "${PROJECT_BINARY_DIR}/lua-include")
  file(STRINGS "${_hf_lua_src}/luaconf.h" _hf_lua_deb REGEX "#include \"lua5\\.4-deb-multiarch\\.h\"")
  if(_hf_lua_deb)
    file(CONFIGURE OUTPUT "${_hf_lua_gen}/lua5.4-deb-multiarch.h" CONTENT
      "/* Generated by cmake/lua.cmake for Debian's luaconf.h. */\n#define DEB_HOST_MULTIARCH \"${CMAKE_LIBRARY_ARCHITECTURE}\"\n")
  endif()
  file(GLOB _hf_lua_sources CONFIGURE_DEPENDS "${_hf_lua_src}/*.c")
  list(FILTER _hf_lua_sources EXCLUDE REGEX "/(lua|luac|onelua|ltests)\\.c$")
  add_library(hf_lua_core STATIC ${_hf_lua_sources})
  target_include_directories(hf_lua_core PRIVATE "${_hf_lua_src}" "${_hf_lua_gen}")
  target_compile_definitions(hf_lua_core PRIVATE LUA_USE_APICHECK LUA_USE_POSIX
    $<$<BOOL:${HF_LUA_ASSERT}>:LUAI_ASSERT>)
  # Lua is not ours to hold to -Werror, and C17 (not its C89/C99 default) is fine for it.
  target_compile_options(hf_lua_core PRIVATE -w -include ${PROJECT_SOURCE_DIR}/cmake/lua_config.h)
  target_link_libraries(hf_lua_core PUBLIC m)
  # libFuzzer builds: Lua's core gets the coverage instrumentation targets/CMakeLists.txt gives
  # the heap core and the interpreter (edges; comparisons only with HF_FUZZ_TRACE_CMP), so the
  # engine sees new behaviour inside Lua's collector. AFL++ builds (afl-clang-fast) instrument it
  # anyway. Only the files a program's calls reach get counters: the parser, the VM, the code
  # generator and the standard libraries never run here, and libFuzzer scans every counter after
  # every execution (about 2% of fuzz_lua's time, for edges that never change).
  if(HF_FUZZ_ENGINE AND NOT HF_AFL)
    target_compile_options(hf_lua_core PRIVATE -fsanitize=fuzzer-no-link)
    if(NOT HF_FUZZ_TRACE_CMP)
      target_compile_options(hf_lua_core PRIVATE -fno-sanitize-coverage=trace-cmp)
    endif()
    foreach(src IN LISTS _hf_lua_sources)
      if(NOT src MATCHES "/l(api|do|func|gc|mem|object|state|string|table|tm|debug)\\.c$")
        set_property(SOURCE ${src} APPEND PROPERTY COMPILE_OPTIONS
          "-fno-sanitize-coverage=inline-8bit-counters,indirect-calls,trace-cmp,pc-table")
      endif()
    endforeach()
  endif()

  add_library(hf_lua INTERFACE)
  # SYSTEM: Lua's headers are not ours to hold to -Werror either.
  target_include_directories(hf_lua SYSTEM INTERFACE "${_hf_lua_src}" "${_hf_lua_gen}")
  target_include_directories(hf_lua INTERFACE ${PROJECT_SOURCE_DIR}/backends)
  target_link_libraries(hf_lua INTERFACE hf_lua_core)
  target_compile_definitions(hf_lua INTERFACE HF_HAVE_LUA=1)
  list(APPEND HEAPOPS_BACKEND_SOURCES ${PROJECT_SOURCE_DIR}/backends/lua.c)
  file(STRINGS "${_hf_lua_src}/lua.h" _hf_lua_rel REGEX "^#define[ \t]+LUA_VERSION_RELEASE[ \t]+\"")
  string(REGEX REPLACE ".*\"(.*)\".*" "\\1" _hf_lua_rel "${_hf_lua_rel}")
  message(STATUS "heapfuzz: lua backend on Lua 5.4.${_hf_lua_rel} from ${_hf_lua_src}")
endif()
