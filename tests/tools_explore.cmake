# `heapfuzz explore` finds the schedule an ordering bug needs, from the program without it:
#   cmake -DBUG=<bug build of heapfuzz> -DPLAIN=<shipped heapfuzz> -DZOO=<zoo program>
#         -DOUT=<scratch dir> -DEXPECT=<regex of the crash's signature> [-DTWO_CHANGE_POINTS=ON]
#         -P tools_explore.cmake
# The zoo program with its preempt ops taken out must run clean with the bug build (the bug
# needs the schedule), and explore on the bug build must then save a crash (exit 1) that crashes
# again with `heapfuzz run` on the bug build, with a signature matching EXPECT, and runs clean on
# the shipped heap; a second explore writes the same crash (same input, same build, same
# schedules), and explore on the shipped heap finds nothing (exit 0). With TWO_CHANGE_POINTS, every
# single preemption of the program (explore --depth 1, exhaustive) must run clean first.
foreach(v BUG PLAIN ZOO OUT EXPECT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "tools_explore.cmake: -D${v}=... missing")
  endif()
endforeach()

function(run_expect rc)
  execute_process(COMMAND ${ARGN} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE got)
  if(NOT got EQUAL rc)
    message(FATAL_ERROR "expected exit ${rc}, got ${got}: ${ARGN}\n${out}\n${err}")
  endif()
  set(last_out "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
file(STRINGS ${ZOO} lines)
set(text "")
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^preempt")
    string(APPEND text "${line}\n")
  endif()
endforeach()
file(WRITE ${OUT}/input.ops "${text}")

run_expect(0 ${BUG} run ${OUT}/input.ops)
if(TWO_CHANGE_POINTS) # no single preemption anywhere does it
  run_expect(0 ${BUG} explore --depth 1 --out ${OUT}/depth1 ${OUT}/input.ops)
  if(NOT last_out MATCHES "of depth 1, 0 of depth 2\\) in [0-9]+ children: 0 crashes")
    message(FATAL_ERROR "explore --depth 1: ${last_out}")
  endif()
endif()
run_expect(1 ${BUG} explore --out ${OUT}/crashes ${OUT}/input.ops)
set(first "${last_out}")
message(STATUS "explore:\n${first}")
file(GLOB crashes ${OUT}/crashes/crash-explore-*)
list(FILTER crashes EXCLUDE REGEX "\\.log$")
list(LENGTH crashes n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one crash file in ${OUT}/crashes, found ${n}: ${crashes}")
endif()
if(NOT EXISTS ${crashes}.log)
  message(FATAL_ERROR "no report beside ${crashes}")
endif()
execute_process(COMMAND ${BUG} run --no-fork ${crashes} OUTPUT_VARIABLE out ERROR_VARIABLE err
  RESULT_VARIABLE rc)
if(rc EQUAL 0)
  message(FATAL_ERROR "the saved schedule does not crash again: ${out}\n${err}")
endif()
file(WRITE ${OUT}/replay.log "${out}${err}")
run_expect(0 ${PLAIN} signature ${OUT}/replay.log)
if(NOT last_out MATCHES "${EXPECT}")
  message(FATAL_ERROR "signature ${last_out} does not match ${EXPECT}")
endif()
run_expect(0 ${PLAIN} run ${crashes})

run_expect(1 ${BUG} explore --out ${OUT}/again ${OUT}/input.ops)
string(REPLACE "${OUT}/crashes" "${OUT}/again" expected "${first}")
if(NOT last_out STREQUAL expected)
  message(FATAL_ERROR "a second explore differs:\n${last_out}\nfrom\n${expected}")
endif()
run_expect(0 ${PLAIN} explore --budget 300 --out ${OUT}/plain ${OUT}/input.ops)
if(NOT last_out MATCHES "0 crashes, 0 timeouts")
  message(FATAL_ERROR "explore on the shipped heap: ${last_out}")
endif()
