/* ops_custom_mutator.h: libFuzzer's custom mutator and crossover for the targets whose input is
 * an op program (fuzz_heap, fuzz_heap_threads). Included by each such target once; compiled only
 * when it links a fuzzing engine (HF_FUZZ_ENGINE).
 *
 * Whole ops are inserted, deleted, duplicated, swapped and re-parameterized (ops_mutate), with
 * libFuzzer's byte mutator about one time in eight; crossover splices op lists (ops_crossover).
 * With a custom mutator libFuzzer turns its -len_control off: ops_mutate keeps programs short
 * itself (a soft cap of 64 ops, above which deletion wins; ops/mutate.c). Minimizing a crash
 * with a custom mutator needs -mutate_depth=1. AFL++ gets the same mutations through
 * targets/afl_mutator.c. */
#ifndef HF_OPS_CUSTOM_MUTATOR_H
#define HF_OPS_CUSTOM_MUTATOR_H

#ifdef HF_FUZZ_ENGINE
#  include "heapops.h"

#  include <stddef.h>
#  include <stdint.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size); /* libFuzzer's own */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
                                 size_t size2, uint8_t *out, size_t max_out_size,
                                 unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  if (seed % 8 == 0) return LLVMFuzzerMutate(data, size, max_size);
  return ops_mutate(data, size, max_size, seed / 8);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
                                 size_t size2, uint8_t *out, size_t max_out_size,
                                 unsigned int seed) {
  return ops_crossover(data1, size1, data2, size2, out, max_out_size, seed);
}
#endif

#endif /* HF_OPS_CUSTOM_MUTATOR_H */
