# A proof that the fuzzing machinery finds an injected bug: the seed, replayed RUNS times by the
# heapfuzz build with that bug compiled in, must fail every time with a report matching EXPECT.
# Run by ctest as `cmake -DHEAPFUZZ=... -DSEED=... -DEXPECT=... -DRUNS=... -P proof.cmake`;
# -DEAGER=1 replays with `run --eager` (the oracle triage signs a bug with must find it too).
if(NOT HEAPFUZZ OR NOT SEED OR NOT EXPECT OR NOT RUNS)
  message(FATAL_ERROR
    "usage: cmake -DHEAPFUZZ=<bug build> -DSEED=<seed> -DEXPECT=<regex> -DRUNS=<n> -P proof.cmake")
endif()
if(NOT EXISTS ${SEED})
  message(FATAL_ERROR "no such seed: ${SEED}")
endif()

set(found 0)
foreach(run RANGE 1 ${RUNS})
  set(run_args run)
  if(EAGER)
    list(APPEND run_args --eager)
  endif()
  execute_process(COMMAND ${HEAPFUZZ} ${run_args} ${SEED}
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(rc EQUAL 0)
    message(FATAL_ERROR "replay ${run} of ${RUNS} ran clean: the injected bug was not found\n${err}")
  endif()
  if(NOT err MATCHES "${EXPECT}")
    message(FATAL_ERROR
      "replay ${run} of ${RUNS} failed (${rc}) without a report matching '${EXPECT}':\n${err}")
  endif()
  math(EXPR found "${found} + 1")
endforeach()
message(STATUS "found in ${found} of ${RUNS} replays: ${EXPECT}")
