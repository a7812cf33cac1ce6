# `heapfuzz minimize` on a crashing program, then checks of what it wrote:
#   cmake -DBUG=<bug build of heapfuzz> -DPLAIN=<shipped heapfuzz> -DINPUT=<program>
#         -DOUT=<file> -DEXPECT=<id signature> -DMAX_OPS=<n> [-DTHREADS=ON -DRUNS=<n>]
#         [-DBINARY=ON] [-DMIN_MUTATORS=<n>] [-DMAX_MUTATORS=<n>] [-DMAX_SWITCHES=<n>]
#         -P tools_minimize.cmake
# With BINARY, INPUT is first assembled (`heapfuzz asm`): the binary form a fuzzer's crash has.
# It must exit 0; its header must name EXPECT; the output must parse; hold at most MAX_OPS ops,
# as many as its header says; crash again with the bug build with exactly the signature EXPECT
# (`heapfuzz signature` on the re-run's output); and run clean on the shipped heap. The mutator
# threads it starts (m0 and one per `attach`) must number at least MIN_MUTATORS and at most
# MAX_MUTATORS, its `switch` ops at most MAX_SWITCHES, where given.
foreach(v BUG PLAIN INPUT OUT EXPECT MAX_OPS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "tools_minimize.cmake: -D${v}=... missing")
  endif()
endforeach()
set(mode "")
set(rerun run)
if(THREADS)
  set(mode --threads --runs ${RUNS})
  set(rerun run --threads --repeat ${RUNS})
endif()

file(REMOVE ${OUT})
if(BINARY)
  execute_process(COMMAND ${PLAIN} asm ${INPUT} -o ${OUT}.bin RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "heapfuzz asm ${INPUT} exited ${rc}")
  endif()
  set(INPUT ${OUT}.bin)
endif()
execute_process(COMMAND ${BUG} minimize ${mode} ${INPUT} -o ${OUT}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message(STATUS "minimize: exit ${rc}: ${err}")
if(NOT rc EQUAL 0 OR NOT EXISTS ${OUT})
  message(FATAL_ERROR "heapfuzz minimize exited ${rc}\n${out}\n${err}")
endif()

file(READ ${OUT} text)
message(STATUS "minimized program:\n${text}")
if(NOT text MATCHES "^# minimized: ([^\n]*)\n# ops: ([0-9]+) original, ([0-9]+) minimized")
  message(FATAL_ERROR "no header `# minimized: ...` / `# ops: ...` in ${OUT}")
endif()
set(header_sig "${CMAKE_MATCH_1}")
set(header_ops "${CMAKE_MATCH_3}")
if(NOT header_sig STREQUAL EXPECT)
  message(FATAL_ERROR "header names '${header_sig}', expected '${EXPECT}'")
endif()

# It parses, and its ops (the lines `heapfuzz print` writes after the config line) number as
# the header says, at most MAX_OPS.
execute_process(COMMAND ${PLAIN} print ${OUT}
  OUTPUT_VARIABLE printed ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the minimized program does not parse (exit ${rc}): ${err}")
endif()
string(REGEX REPLACE "\n$" "" printed "${printed}")
string(REPLACE "\n" ";" lines "${printed}")
list(LENGTH lines nlines)
math(EXPR nops "${nlines} - 2")
if(NOT nops EQUAL header_ops)
  message(FATAL_ERROR "${nops} ops printed, the header says ${header_ops}")
endif()
if(nops GREATER MAX_OPS)
  message(FATAL_ERROR "minimized to ${nops} ops, more than ${MAX_OPS}")
endif()

# Its threads: m0, one more per attach (the minimizer leaves no void attach: mz_pass_void).
set(nattach 0)
set(nswitch 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^attach( |$)")
    math(EXPR nattach "${nattach} + 1")
  elseif(line MATCHES "^switch ")
    math(EXPR nswitch "${nswitch} + 1")
  endif()
endforeach()
math(EXPR nmutators "${nattach} + 1")
if(DEFINED MIN_MUTATORS AND nmutators LESS MIN_MUTATORS)
  message(FATAL_ERROR
    "${nmutators} mutator threads, fewer than ${MIN_MUTATORS}: the finding needs them")
endif()
if(DEFINED MAX_MUTATORS AND nmutators GREATER MAX_MUTATORS)
  message(FATAL_ERROR "${nmutators} mutator threads, more than ${MAX_MUTATORS}")
endif()
if(DEFINED MAX_SWITCHES AND nswitch GREATER MAX_SWITCHES)
  message(FATAL_ERROR "${nswitch} switches, more than ${MAX_SWITCHES}")
endif()

# It still crashes the bug build, with the same signature.
execute_process(COMMAND ${BUG} ${rerun} ${OUT}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(rc EQUAL 0)
  message(FATAL_ERROR "the minimized program runs clean on the bug build:\n${out}${err}")
endif()
file(WRITE ${OUT}.report "${out}${err}")
execute_process(COMMAND ${PLAIN} signature ${OUT}.report
  OUTPUT_VARIABLE sig ERROR_VARIABLE err RESULT_VARIABLE rc)
string(REGEX REPLACE "\n$" "" sig "${sig}")
if(NOT rc EQUAL 0 OR NOT sig STREQUAL EXPECT)
  message(FATAL_ERROR "re-run's signature: '${sig}' (exit ${rc}), expected '${EXPECT}'")
endif()

# The crash is the bug's: the shipped heap runs it clean.
execute_process(COMMAND ${PLAIN} ${rerun} ${OUT}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the minimized program fails on the shipped heap (exit ${rc}):\n${err}")
endif()
message(STATUS "minimized to ${nops} ops (at most ${MAX_OPS}), ${nmutators} mutator threads, "
  "${nswitch} switches, same signature: ${sig}")
