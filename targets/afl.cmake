# AFL++ support for the fuzz targets (included by targets/CMakeLists.txt).
#
# afl_mutator (every build): targets/afl_mutator.c with the op mutator (ops/mutate.c and the
# codec it needs) as a shared module, afl_mutator.so, that afl-fuzz loads through
# AFL_CUSTOM_MUTATOR_LIBRARY. It runs inside afl-fuzz, so it is built without sanitizers and,
# where the compiler is afl-clang-fast, without AFL++ instrumentation (AFL_NOOPT): either would
# leave it with symbols afl-fuzz does not have. Built in every preset so ctest can load and check
# it (tests/scripts/test_afl_mutator.py) where no AFL++ is installed.
#
# HF_AFL (presets afl and afl-cmplog, CMAKE_C_COMPILER afl-clang-fast): the targets link AFL++'s
# libFuzzer driver (afl-clang-fast turns -fsanitize=fuzzer into libAFLDriver.a: persistent mode,
# shared-memory test cases) and everything is instrumented by AFL++'s PCGUARD pass. libFuzzer's
# -fsanitize-coverage-ignorelist would make afl-clang-fast fall back to unoptimized
# trace-pc-guard, so the same exclusions (coverage_ignore.txt) reach AFL++ as AFL_LLVM_DENYLIST,
# rewritten for AFL++'s matching: a `src:` entry is compared with the file name, not a path glob.
# HF_AFL_CMPLOG adds AFL_LLVM_CMPLOG=1: the comparison-logging binary afl-fuzz runs with -c.

set(_hf_mutator_sources
  ${CMAKE_CURRENT_SOURCE_DIR}/afl_mutator.c
  ${PROJECT_SOURCE_DIR}/ops/mutate.c
  ${PROJECT_SOURCE_DIR}/ops/codec.c
  ${PROJECT_SOURCE_DIR}/ops/optable.c)
add_library(afl_mutator MODULE ${_hf_mutator_sources})
set_target_properties(afl_mutator PROPERTIES PREFIX "" C_VISIBILITY_PRESET default)
target_include_directories(afl_mutator PRIVATE ${PROJECT_SOURCE_DIR}/include)
# After the global -fsanitize=... flags on the command line, so these win.
target_compile_options(afl_mutator PRIVATE -fno-sanitize=all)
target_link_options(afl_mutator PRIVATE -fno-sanitize=all -Wl,--no-undefined)
hf_set_warnings(afl_mutator STRICT)

if(NOT HF_AFL)
  return()
endif()

if(NOT CMAKE_C_COMPILER MATCHES "afl-clang")
  message(FATAL_ERROR "HF_AFL needs CMAKE_C_COMPILER afl-clang-fast (Debian package afl++); "
                      "it is ${CMAKE_C_COMPILER}")
endif()

# AFL_LLVM_DENYLIST from coverage_ignore.txt: `src:*/heap/verify.c` -> `src:verify.c`.
set(_hf_ignore ${CMAKE_CURRENT_SOURCE_DIR}/coverage_ignore.txt)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_hf_ignore})
file(STRINGS ${_hf_ignore} _hf_ignore_lines)
set(_hf_deny "# generated from targets/coverage_ignore.txt by targets/afl.cmake\n")
foreach(line IN LISTS _hf_ignore_lines)
  if(line MATCHES "^src:(.*/)?([^/]+)$")
    string(APPEND _hf_deny "src:${CMAKE_MATCH_2}\n")
  elseif(line MATCHES "^fun:")
    string(APPEND _hf_deny "${line}\n")
  endif()
endforeach()
set(HF_AFL_DENYLIST ${CMAKE_CURRENT_BINARY_DIR}/afl_denylist.txt)
file(WRITE ${HF_AFL_DENYLIST} "${_hf_deny}")

option(HF_AFL_CMPLOG "Compile with AFL++ comparison logging (AFL_LLVM_CMPLOG=1), for afl-fuzz -c"
  OFF)
set(_hf_launcher env AFL_LLVM_DENYLIST=${HF_AFL_DENYLIST})
if(HF_AFL_CMPLOG)
  list(APPEND _hf_launcher AFL_LLVM_CMPLOG=1)
endif()
# Per target rather than CMAKE_C_COMPILER_LAUNCHER: the libraries are defined before targets/.
set_property(TARGET ${HF_SCHED_CORE} heapops fuzz_heap fuzz_heap_threads fuzz_ops_text
  PROPERTY C_COMPILER_LAUNCHER ${_hf_launcher})
set_target_properties(afl_mutator PROPERTIES
  C_COMPILER_LAUNCHER "env;AFL_NOOPT=1"
  C_LINKER_LAUNCHER "env;AFL_NOOPT=1")
message(STATUS "heapfuzz: fuzz targets link AFL++'s driver (cmplog: ${HF_AFL_CMPLOG})")
