# ---------------------------------------------------------------------------------------------
# The heapfuzz tools (tools/): `heapfuzz signature` and `heapfuzz minimize`. Included from
# tests/CMakeLists.txt after the unit tests are defined.
# ---------------------------------------------------------------------------------------------

# test_tools_signature (a unit test, found by the glob) links the signature parser itself.
if(TARGET test_tools_signature)
  target_sources(test_tools_signature PRIVATE ${PROJECT_SOURCE_DIR}/tools/signature.c ${PROJECT_SOURCE_DIR}/tools/signature_frames.c)
  target_include_directories(test_tools_signature PRIVATE ${PROJECT_SOURCE_DIR}/tools)
endif()

if(NOT TARGET heapfuzz)
  return()
endif()

# Every fixture report gives exactly the signature tests/fixtures/reports/expected.txt names.
add_test(NAME tools_signature_fixtures COMMAND ${CMAKE_COMMAND}
  -DHEAPFUZZ=$<TARGET_FILE:heapfuzz> -DDIR=${CMAKE_CURRENT_SOURCE_DIR}/fixtures/reports
  -P ${CMAKE_CURRENT_SOURCE_DIR}/tools_signature.cmake)
set_tests_properties(tools_signature_fixtures PROPERTIES
  TIMEOUT 120 LABELS tools ENVIRONMENT "${HF_TEST_ENVIRONMENT}")

# hf_tools_expect(<name> <status> <regex> <command> <args>...): the command exits with that
# status and prints something matching the regex (tools_expect.cmake).
function(hf_tools_expect name rc regex)
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -DRC=${rc} "-DEXPECT=${regex}"
    -P ${CMAKE_CURRENT_SOURCE_DIR}/tools_expect.cmake -- ${ARGN})
  set_tests_properties(${name} PROPERTIES
    TIMEOUT 300 LABELS tools ENVIRONMENT "${HF_TEST_ENVIRONMENT}")
endfunction()

# A missing file: `FILE: message` and exit 2; a text without a crash: exit 1.
hf_tools_expect(tools_signature_missing_file 2 "no_such_report.txt: No such file or directory"
  $<TARGET_FILE:heapfuzz> signature ${CMAKE_CURRENT_BINARY_DIR}/no_such_report.txt)
hf_tools_expect(tools_signature_json 0
  "^{\"id\": \"7b449035a5dd\", \"signature\": \"asan:heap-use-after-free\\|hc_allocator_resume\\|hc_mutator_resume_allocating\", \"type\": \"asan:heap-use-after-free\", \"frames\": \\[\"hc_allocator_resume\", \"hc_mutator_resume_allocating\"\\], \"op\": null, \"thread\": null}\n$"
  $<TARGET_FILE:heapfuzz> signature --json
  ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/reports/asan_uaf_stale_last_active.txt)

# ---- heapfuzz minimize ----------------------------------------------------------------------

hf_tools_expect(tools_minimize_clean 1 "weak_refs.ops: the program does not crash"
  $<TARGET_FILE:heapfuzz> minimize ${PROJECT_SOURCE_DIR}/corpus/fuzz_heap/weak_refs.ops)
hf_tools_expect(tools_minimize_missing_file 2 "no_such_program.ops: No such file or directory"
  $<TARGET_FILE:heapfuzz> minimize ${CMAKE_CURRENT_BINARY_DIR}/no_such_program.ops)
hf_tools_expect(tools_minimize_usage 2 "bad --runs"
  $<TARGET_FILE:heapfuzz> minimize --runs 0 ${PROJECT_SOURCE_DIR}/corpus/fuzz_heap/weak_refs.ops)

# The padded proof seed, minimized with the bug build that crashes it: at most 7 ops, 1.5 times
# the 5 essential ones (K = 5, worked out in the fixture's comment: alloc, preempt, stop-alloc,
# sweeper, resume-alloc), the proof's signature kept. Where the bug variant is built
# (HF_BUG_VARIANTS: asan and tsan), each with its sanitizer's report of the use after free.
# Then real-thread mode (--threads): the injected-bug program of test_ops_threads.c, padded,
# whose oracle finding names the same op whatever the schedule (K = 5, see its comment).
if(TARGET heapfuzz_bug_stale_last_active AND HC_SANITIZE MATCHES "address|thread")
  if(HC_SANITIZE MATCHES "address")
    set(_hf_uaf "7b449035a5dd asan:heap-use-after-free|hc_allocator_resume|hc_mutator_resume_allocating")
  else()
    set(_hf_uaf "75eb2bc11a9a tsan:heap-use-after-free|hc_allocator_resume|hc_mutator_resume_allocating")
  endif()
  add_test(NAME tools_minimize_stale_last_active COMMAND ${CMAKE_COMMAND}
    -DBUG=$<TARGET_FILE:heapfuzz_bug_stale_last_active> -DPLAIN=$<TARGET_FILE:heapfuzz>
    -DINPUT=${CMAKE_CURRENT_SOURCE_DIR}/fixtures/minimize/stale_last_active_padded.ops
    -DOUT=${CMAKE_CURRENT_BINARY_DIR}/minimized_stale_last_active.ops
    "-DEXPECT=${_hf_uaf}" -DMAX_OPS=7
    -P ${CMAKE_CURRENT_SOURCE_DIR}/tools_minimize.cmake)
  add_test(NAME tools_minimize_threads COMMAND ${CMAKE_COMMAND}
    -DBUG=$<TARGET_FILE:heapfuzz_bug_stale_last_active> -DPLAIN=$<TARGET_FILE:heapfuzz>
    -DINPUT=${CMAKE_CURRENT_SOURCE_DIR}/fixtures/minimize/stale_last_active_threads.ops
    -DOUT=${CMAKE_CURRENT_BINARY_DIR}/minimized_stale_last_active_threads.ops
    "-DEXPECT=9d014e74cddd oracle:verify|shrink|after a shrink: mutator N: last-active block of class N is not a live block of its directory (HC_ERR_VERIFY)"
    -DMAX_OPS=7 -DTHREADS=ON -DRUNS=3
    -P ${CMAKE_CURRENT_SOURCE_DIR}/tools_minimize.cmake)
  # The same from its binary form, as a fuzzer's crashing input comes.
  add_test(NAME tools_minimize_binary COMMAND ${CMAKE_COMMAND}
    -DBUG=$<TARGET_FILE:heapfuzz_bug_stale_last_active> -DPLAIN=$<TARGET_FILE:heapfuzz>
    -DINPUT=${CMAKE_CURRENT_SOURCE_DIR}/fixtures/minimize/stale_last_active_padded.ops
    -DOUT=${CMAKE_CURRENT_BINARY_DIR}/minimized_stale_last_active_bin.ops -DBINARY=ON
    "-DEXPECT=${_hf_uaf}" -DMAX_OPS=7
    -P ${CMAKE_CURRENT_SOURCE_DIR}/tools_minimize.cmake)
  # The essential ops interleaved with a second thread: 5 ops exactly, which takes the thread
  # pass's renumbering of the preempt (see the fixture's comment).
  add_test(NAME tools_minimize_interleaved COMMAND ${CMAKE_COMMAND}
    -DBUG=$<TARGET_FILE:heapfuzz_bug_stale_last_active> -DPLAIN=$<TARGET_FILE:heapfuzz>
    -DINPUT=${CMAKE_CURRENT_SOURCE_DIR}/fixtures/minimize/stale_last_active_interleaved.ops
    -DOUT=${CMAKE_CURRENT_BINARY_DIR}/minimized_stale_last_active_interleaved.ops
    "-DEXPECT=${_hf_uaf}" -DMAX_OPS=5
    -P ${CMAKE_CURRENT_SOURCE_DIR}/tools_minimize.cmake)
  set_tests_properties(tools_minimize_stale_last_active tools_minimize_threads
    tools_minimize_binary tools_minimize_interleaved PROPERTIES
    TIMEOUT 600 LABELS tools ENVIRONMENT "${HF_TEST_ENVIRONMENT}")
endif()
