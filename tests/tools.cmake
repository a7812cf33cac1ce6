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

# ---- heapfuzz run --backend: an unknown name lists the built-in ones; a known one this build
# left out says why (CMake's reason: here the tsan preset's, or the package to install) --------
hf_tools_expect(tools_run_backend_unknown 2 "no backend 'nosuchheap' in this build \\(heapcore"
  $<TARGET_FILE:heapfuzz> run --backend nosuchheap ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/text/bom.ops)
if(NOT TARGET hf_jsc)
  hf_tools_expect(tools_run_backend_left_out 2 "no backend 'jsc' in this build: [a-zA-Z]"
    $<TARGET_FILE:heapfuzz> run --backend jsc ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/text/bom.ops)
endif()
if(NOT TARGET hf_lua) # cmake/lua.cmake: no Lua 5.4 source tree, or -DHF_LUA=OFF
  hf_tools_expect(tools_run_backend_lua_left_out 2 "no backend 'lua' in this build: [a-zA-Z]"
    $<TARGET_FILE:heapfuzz> run --backend lua ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/text/bom.ops)
endif()

# ---- text or binary (tools/program.c; tests/fixtures/text/README.md) -----------------------

set(_hf_text ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/text)
hf_tools_expect(tools_text_bom 0 "bom.ops: ok \\(2 ops run"
  $<TARGET_FILE:heapfuzz> run ${_hf_text}/bom.ops)
hf_tools_expect(tools_text_uppercase_magic 0 "uppercase.ops: ok \\(2 ops run"
  $<TARGET_FILE:heapfuzz> run ${_hf_text}/uppercase.ops)
hf_tools_expect(tools_text_misspelt_magic 2 "misspelt.ops:2:1: expected 'heapfuzz-ops 1'"
  $<TARGET_FILE:heapfuzz> run ${_hf_text}/misspelt.ops)
hf_tools_expect(tools_text_no_magic 2 "no_magic.txt:2:1: expected 'heapfuzz-ops 1'"
  $<TARGET_FILE:heapfuzz> asm ${_hf_text}/no_magic.txt -o ${CMAKE_CURRENT_BINARY_DIR}/no_magic.bin)
hf_tools_expect(tools_text_noise_named_ops 2 "noise.ops:1:1: expected 'heapfuzz-ops 1'"
  $<TARGET_FILE:heapfuzz> run ${_hf_text}/noise.ops)
hf_tools_expect(tools_text_binary_stays_total 0 "binary.bin: ok"
  $<TARGET_FILE:heapfuzz> run ${_hf_text}/binary.bin)

# ---- heapfuzz run: exit status (each file in a child process; tools/heapfuzz.c) --------------

# A finding that ends the process ends only its file: a sanitizer's report (SIGABRT, as
# abort_on_error=1 makes it), the heap's fatal error (--eager's self-check), or TSan's exit 66;
# heapfuzz prints its report, `FILE: FINDING: crashed (...)`, runs the next file and exits 1.
# tests/scripts/test_fuzz_run_exit_codes.py has the rest (a signal, --repeat, a stop, triage).
if(TARGET heapfuzz_bug_stale_last_active AND HC_SANITIZE MATCHES "address")
  hf_tools_expect(tools_run_crash_goes_on 1
    "stale-last-active.ops: FINDING: crashed \\(killed by SIGABRT\\)\n[^\n]*weak_refs.ops: ok \\(.*AddressSanitizer: heap-use-after-free.*stale-last-active.ops: crashed \\(killed by SIGABRT\\)\n$"
    $<TARGET_FILE:heapfuzz_bug_stale_last_active> run
    ${PROJECT_SOURCE_DIR}/corpus/zoo/stale-last-active.ops
    ${PROJECT_SOURCE_DIR}/corpus/fuzz_heap/weak_refs.ops)
  hf_tools_expect(tools_run_fatal_goes_on 1
    "stale-last-active.ops: FINDING: crashed \\(killed by SIGABRT\\)\n[^\n]*weak_refs.ops: ok \\(.*heapcore: fatal: [^\n]*self-check: a claim took a pinned block.*stale-last-active.ops: crashed \\(killed by SIGABRT\\)\n$"
    $<TARGET_FILE:heapfuzz_bug_stale_last_active> run --eager
    ${PROJECT_SOURCE_DIR}/corpus/zoo/stale-last-active.ops
    ${PROJECT_SOURCE_DIR}/corpus/fuzz_heap/weak_refs.ops)
endif()
if(TARGET heapfuzz_bug_unlocked_sweep_bits AND HC_SANITIZE MATCHES "thread")
  hf_tools_expect(tools_run_tsan_exit_goes_on 1
    "unlocked_sweep_bits_race.ops: FINDING: crashed \\(exit status 66\\)\n[^\n]*weak_refs.ops: ok \\(.*ThreadSanitizer: data race.*unlocked_sweep_bits_race.ops: crashed \\(exit status 66\\)\n$"
    $<TARGET_FILE:heapfuzz_bug_unlocked_sweep_bits> run
    ${PROJECT_SOURCE_DIR}/corpus/proofs/unlocked_sweep_bits_race.ops
    ${PROJECT_SOURCE_DIR}/corpus/fuzz_heap/weak_refs.ops)
endif()

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

# A result the budget stopped says so, in place of `# minimized:` (and on stderr), exit 0:
# --budget 5 on the padded proof; --max-time so short that no candidate runs.
if(TARGET heapfuzz_bug_stale_last_active AND HC_SANITIZE MATCHES "address|thread")
  string(REPLACE "|" "\\|" _hf_uaf_re "${_hf_uaf}")
  hf_tools_expect(tools_minimize_budget 0
    "^# budget exhausted after 5 candidates: not fully minimized\n# signature: ${_hf_uaf_re}\n# ops: 78 original, [0-9]+ when the budget ran out .*heapfuzz: minimize: .*, 5 candidates run .*: the budget ran out, NOT fully minimized"
    $<TARGET_FILE:heapfuzz_bug_stale_last_active> minimize --budget 5
    ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/minimize/stale_last_active_padded.ops)
  hf_tools_expect(tools_minimize_max_time 0
    "^# time limit of 0.001 s reached after 0 candidates: not fully minimized\n# signature: ${_hf_uaf_re}\n# ops: 78 original, 78 when the time ran out"
    $<TARGET_FILE:heapfuzz_bug_stale_last_active> minimize --max-time 0.001
    ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/minimize/stale_last_active_padded.ops)
endif()

# The zoo as the yardstick: a zoo program padded with noise (tests/fixtures/minimize/pad.py:
# sparse handles, explicit collections turned into the fewest allocations that make the automatic
# trigger collect in time, noise, threads, ops moved onto threads of their own; about 300 ops)
# must minimize to at most 1.5 times the zoo program's ops (K), its signature kept
# (tools_minimize.cmake). Without the rewrites (minimize_rewrite.c) remove-block-order stopped at
# 180 ops and version-wrap at 187, their 2,000-candidate budget spent; now 7 and 3 in ~100.
# version_wrap_auto: a crash inside an automatic collection (it names the alloc op), 306 ops,
# against a hand-written 7.
# hf_minimize_fixture(<bug> <fixture> <max ops> <id signature>), where the bug build exists.
function(hf_minimize_fixture bug fixture max expect)
  if(NOT TARGET heapfuzz_bug_${bug} OR NOT HC_SANITIZE MATCHES "address")
    return()
  endif()
  add_test(NAME tools_minimize_${fixture} COMMAND ${CMAKE_COMMAND}
    -DBUG=$<TARGET_FILE:heapfuzz_bug_${bug}> -DPLAIN=$<TARGET_FILE:heapfuzz>
    -DINPUT=${CMAKE_CURRENT_SOURCE_DIR}/fixtures/minimize/${fixture}.ops
    -DOUT=${CMAKE_CURRENT_BINARY_DIR}/minimized_${fixture}.ops
    "-DEXPECT=${expect}" -DMAX_OPS=${max} ${ARGN}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/tools_minimize.cmake)
  set_tests_properties(tools_minimize_${fixture} PROPERTIES
    TIMEOUT 600 LABELS tools ENVIRONMENT "${HF_TEST_ENVIRONMENT}")
endfunction()
hf_minimize_fixture(remove_block_order remove_block_order_padded 21 # K = 14
  "b15c8fb682d2 oracle:verify|shrink|after a shrink: directory N slot N: live bit N but slot occupied (HC_ERR_VERIFY)")
hf_minimize_fixture(version_wrap version_wrap_padded 16 # K = 11
  "471f796ead34 oracle:verify|gc-full|after a collection: block #N: marked empty but has live cells (HC_ERR_VERIFY)")
hf_minimize_fixture(missing_barrier missing_barrier_padded 15 # K = 10
  "acffda73fa79 oracle:reachable object lost|gc-eden|object #N is not a live cell")
hf_minimize_fixture(large_double_release large_double_release_padded 15 # K = 10
  "deb3d853731a asan:heap-use-after-free|hc_large_sweep|sweep_owner|hc_sweep_some")
hf_minimize_fixture(version_wrap version_wrap_auto 10 # K = 7
  "346b502f879a oracle:verify|alloc|after a collection: block #N: marked empty but has live cells (HC_ERR_VERIFY)")
# Threads a person would not write: a finding spread over three mutators where two suffice (its
# ops move to the threads beside them, minimize_threads.c), and one whose second thread the bug
# needs (kept).
hf_minimize_fixture(remove_block_order remove_block_order_threads 9
  "b15c8fb682d2 oracle:verify|shrink|after a shrink: directory N slot N: live bit N but slot occupied (HC_ERR_VERIFY)"
  -DMIN_MUTATORS=2 -DMAX_MUTATORS=2)
hf_minimize_fixture(detach_keeps_block detach_keeps_block_threads 6
  "b7bbd0a9f3a8 oracle:verify|verify|after a verify op: block #N: in-use N but N allocators hold it (HC_ERR_VERIFY)"
  -DMIN_MUTATORS=2 -DMAX_MUTATORS=2)

# Same input, same build: same output (a padded program with threads, runs and a probe).
if(TARGET heapfuzz_bug_remove_block_order AND HC_SANITIZE MATCHES "address")
  add_test(NAME tools_minimize_deterministic COMMAND sh -c
    "\"$0\" minimize \"$1\" -o \"$2.1\" && \"$0\" minimize \"$1\" -o \"$2.2\" && cmp \"$2.1\" \"$2.2\""
    $<TARGET_FILE:heapfuzz_bug_remove_block_order>
    ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/minimize/remove_block_order_padded.ops
    ${CMAKE_CURRENT_BINARY_DIR}/minimized_deterministic)
  set_tests_properties(tools_minimize_deterministic PROPERTIES
    TIMEOUT 600 LABELS tools ENVIRONMENT "${HF_TEST_ENVIRONMENT}")
endif()

# ---- heapfuzz explore: systematic schedules (tools/explore.c) ---------------------------------

# The zoo's ordering bugs, their preempts taken out: explore finds the schedule
# (tools_explore.cmake).
# Every zoo program with a preempt: one change point (two use-after-frees, one oracle finding),
# then the bugs that need two (no single preemption finds them).
foreach(_hf_case "large-double-release|asan:heap-use-after-free|OFF"
                 "sweep-owned-block|asan:heap-use-after-free|OFF"
                 "remove-block-order|oracle:verify.shrink.*live bit N but slot occupied|OFF"
                 "shrink-stale-lookahead|asan:heap-use-after-free|ON"
                 "sweep-stale-lookahead|asan:heap-use-after-free|ON"
                 "resume-unpin-early|oracle:.*allocation returned a live object|ON")
  string(REPLACE "|" ";" _hf_case "${_hf_case}")
  list(GET _hf_case 0 _hf_bug)
  list(GET _hf_case 1 _hf_expect)
  list(GET _hf_case 2 _hf_two)
  string(REPLACE "-" "_" _hf_under ${_hf_bug})
  if(TARGET heapfuzz_bug_${_hf_under} AND HC_SANITIZE MATCHES "address")
    add_test(NAME tools_explore_${_hf_under} COMMAND ${CMAKE_COMMAND}
      -DBUG=$<TARGET_FILE:heapfuzz_bug_${_hf_under}> -DPLAIN=$<TARGET_FILE:heapfuzz>
      -DZOO=${PROJECT_SOURCE_DIR}/corpus/zoo/${_hf_bug}.ops
      -DOUT=${CMAKE_CURRENT_BINARY_DIR}/explore_${_hf_under}
      "-DEXPECT=${_hf_expect}" -DTWO_CHANGE_POINTS=${_hf_two}
      -P ${CMAKE_CURRENT_SOURCE_DIR}/tools_explore.cmake)
    set_tests_properties(tools_explore_${_hf_under} PROPERTIES
      TIMEOUT 300 LABELS tools ENVIRONMENT "${HF_TEST_ENVIRONMENT}")
  endif()
endforeach()
hf_tools_expect(tools_explore_usage 2 "explore: bad or missing value for --depth"
  $<TARGET_FILE:heapfuzz> explore --depth 3 x.ops)
hf_tools_expect(tools_explore_missing_file 2 "no_such.ops: No such file or directory"
  $<TARGET_FILE:heapfuzz> explore --out ${CMAKE_CURRENT_BINARY_DIR}/explore_missing
  ${CMAKE_CURRENT_BINARY_DIR}/no_such.ops)
