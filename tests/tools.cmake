# ---------------------------------------------------------------------------------------------
# The heapfuzz tools (tools/): `heapfuzz signature` and `heapfuzz minimize`. Included from
# tests/CMakeLists.txt after the unit tests are defined.
# ---------------------------------------------------------------------------------------------

# test_tools_signature (a unit test, found by the glob) links the signature parser itself.
if(TARGET test_tools_signature)
  target_sources(test_tools_signature PRIVATE ${PROJECT_SOURCE_DIR}/tools/signature.c)
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
