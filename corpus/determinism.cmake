# No state carries from one input to the next: running every seed twice in one heapfuzz process
# (--no-fork: heapfuzz run otherwise gives each file a child of its own) prints exactly what
# running each seed alone, in its own process, prints (with -v and --trace: every op and every
# heap event). Run by ctest as `cmake -DHEAPFUZZ=... -DSEED_DIR=... -P`.
if(NOT HEAPFUZZ OR NOT SEED_DIR)
  message(FATAL_ERROR "usage: cmake -DHEAPFUZZ=<heapfuzz> -DSEED_DIR=<dir> -P determinism.cmake")
endif()
file(GLOB SEEDS ${SEED_DIR}/*.ops)
list(SORT SEEDS)
if(NOT SEEDS)
  message(FATAL_ERROR "no seeds in ${SEED_DIR}")
endif()

execute_process(COMMAND ${HEAPFUZZ} run --no-fork -v --trace ${SEEDS} ${SEEDS}
  OUTPUT_VARIABLE together_out ERROR_VARIABLE together_err RESULT_VARIABLE together_rc)
if(NOT together_rc EQUAL 0)
  message(FATAL_ERROR "heapfuzz run over the corpus twice failed (${together_rc}):\n${together_err}")
endif()

set(alone_out "")
set(alone_err "")
foreach(round 1 2)
  foreach(seed IN LISTS SEEDS)
    execute_process(COMMAND ${HEAPFUZZ} run -v --trace ${seed}
      OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "heapfuzz run ${seed} failed (${rc}):\n${err}")
    endif()
    string(APPEND alone_out "${out}")
    string(APPEND alone_err "${err}")
  endforeach()
endforeach()

if(NOT together_out STREQUAL alone_out)
  message(FATAL_ERROR "stdout differs between one process and one process per seed")
endif()
if(NOT together_err STREQUAL alone_err)
  message(FATAL_ERROR "the op and event trace differs between one process and one per seed")
endif()
string(LENGTH "${together_err}" trace_bytes)
list(LENGTH SEEDS nseeds)
message(STATUS "identical: ${nseeds} seeds twice, ${trace_bytes} bytes of op and event trace")
