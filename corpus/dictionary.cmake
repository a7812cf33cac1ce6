# dictionary.cmake: checks that the shipped fuzzing dictionary is what `heapfuzz dict` writes
# (tools/dict.c: a token per op of include/heapops.h's op table, and text programs encoded by
# the codec), so a change of the op table or of the tokens cannot leave it stale.
# Run as: cmake -DHEAPFUZZ=<heapfuzz> -DDICT=<dictionaries/fuzz_heap.dict> -DWORK_DIR=<scratch dir>
#   -P dictionary.cmake
foreach(var HEAPFUZZ DICT WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "dictionary.cmake: -D${var}=... is required")
  endif()
endforeach()
file(MAKE_DIRECTORY ${WORK_DIR})
set(generated ${WORK_DIR}/fuzz_heap.dict)
execute_process(COMMAND ${HEAPFUZZ} dict -o ${generated} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dictionary: `${HEAPFUZZ} dict` failed (${rc}): ${err}")
endif()

if(NOT EXISTS ${DICT})
  set(differs 1)
else()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${DICT} ${generated}
    RESULT_VARIABLE differs)
endif()
if(NOT differs EQUAL 0)
  find_program(DIFF diff)
  if(DIFF AND EXISTS ${DICT})
    execute_process(COMMAND ${DIFF} -u ${DICT} ${generated}) # shown as is, above the error
  endif()
  # Unwrapped (a FATAL_ERROR message is rewrapped), so the command can be pasted.
  message(NOTICE "dictionary: regenerate with\n  ${HEAPFUZZ} dict -o ${DICT}")
  message(FATAL_ERROR
    "dictionary: ${DICT} is stale: not what `heapfuzz dict` writes (the op table in "
    "include/heapops.h or the tokens in tools/dict.c changed, or the file was edited by hand). "
    "Regenerate it with `heapfuzz dict -o dictionaries/fuzz_heap.dict` (the command above) and "
    "commit it.")
endif()
message(STATUS "dictionary: ${DICT} is current")
