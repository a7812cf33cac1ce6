/* afl_mutator.c: the structure-aware mutator of fuzz_heap and fuzz_heap_threads for AFL++, as a
 * custom mutator library (AFL_CUSTOM_MUTATOR_LIBRARY=.../afl_mutator.so).
 *
 * AFL++'s libFuzzer driver (libAFLDriver.a, linked by afl-clang-fast -fsanitize=fuzzer) never
 * calls LLVMFuzzerCustomMutator, so the targets' own hooks are dead code under AFL++; this
 * library gives AFL++ the same mutations: whole ops inserted, deleted, duplicated, swapped and
 * re-parameterized (ops_mutate), and, when AFL++ offers a second queue entry to splice with,
 * op-list crossover (ops_crossover) one time in four.
 *
 * AFL++ calls afl_custom_fuzz in its custom stage, before havoc; its own mutations (havoc,
 * splicing, the dictionary, cmplog's input-to-state replacement) stay on: they are the byte-level
 * fallback libFuzzer's build gets one time in eight (LLVMFuzzerMutate), and they reach encodings
 * the op structure cannot express (scripts/fuzz does not set AFL_CUSTOM_MUTATOR_ONLY).
 *
 * The library runs inside afl-fuzz, not in the target: it is built without sanitizers and
 * without AFL++ instrumentation (targets/afl.cmake), from ops/mutate.c, ops/codec.c and
 * ops/optable.c only. The API is AFL++'s C custom mutator API (docs/custom_mutators.md); the
 * afl_state_t argument is not used, so this file needs no AFL++ header. */
#include "heapops.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output cap: fuzz_heap.options' max_len, what libFuzzer gets as -max_len. Programs longer than
 * that add little (a program decodes at most OPS_MAX_OPS ops) and slow every execution. */
#define AFL_MUTATOR_MAX_LEN 4096u

typedef struct afl_mutator {
  uint64_t rng;          /* splitmix64 state, from AFL++'s seed */
  uint8_t *buf;          /* the mutated input handed back to AFL++ */
  size_t cap;            /* bytes allocated in buf */
  const char *last_op;   /* what the last afl_custom_fuzz did, for afl_custom_describe */
  unsigned long calls;   /* afl_custom_fuzz calls */
  unsigned long splices; /* of which crossovers */
} afl_mutator_t;

void *afl_custom_init(void *afl, unsigned int seed);
size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
                       uint8_t *add_buf, size_t add_buf_size, size_t max_size);
const char *afl_custom_describe(void *data, size_t max_description_len);
void afl_custom_deinit(void *data);

static uint32_t next_seed(afl_mutator_t *m) {
  uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Makes room for n bytes in m->buf; false when out of memory. */
static int reserve(afl_mutator_t *m, size_t n) {
  if (n <= m->cap) return 1;
  uint8_t *nb = realloc(m->buf, n);
  if (!nb) return 0;
  m->buf = nb;
  m->cap = n;
  return 1;
}

void *afl_custom_init(void *afl, unsigned int seed) {
  (void)afl;
  afl_mutator_t *m = calloc(1, sizeof *m);
  if (!m) {
    perror("afl_mutator: afl_custom_init");
    return NULL; /* AFL++ stops with an error: better than fuzzing without the mutator */
  }
  m->rng = seed;
  m->last_op = "ops_mutate";
  return m;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
                       uint8_t *add_buf, size_t add_buf_size, size_t max_size) {
  afl_mutator_t *m = data;
  size_t limit = max_size < AFL_MUTATOR_MAX_LEN ? max_size : AFL_MUTATOR_MAX_LEN;
  m->calls++;
  /* ops_mutate works in place and needs room for the program to grow up to limit; AFL++'s buf
   * is only buf_size long, so the work happens in a buffer of our own. */
  if (limit < OPS_CONFIG_BYTES || !reserve(m, buf_size > limit ? buf_size : limit)) {
    *out_buf = buf; /* cannot mutate: hand the input back unchanged (AFL++ runs it again) */
    return buf_size;
  }
  uint32_t seed = next_seed(m);
  if (add_buf && add_buf_size && seed % 4 == 0) {
    size_t n = ops_crossover(buf, buf_size, add_buf, add_buf_size, m->buf, limit, seed / 4);
    if (n) {
      m->splices++;
      m->last_op = "ops_crossover";
      *out_buf = m->buf;
      return n;
    }
  }
  memcpy(m->buf, buf, buf_size);
  m->last_op = "ops_mutate";
  *out_buf = m->buf;
  return ops_mutate(m->buf, buf_size, limit, seed);
}

/* Names the mutation in the names of the queue entries and crashes it finds (",ops_mutate" where
 * AFL++'s own stages write ",op:havoc"), so a campaign can count what it contributed. */
const char *afl_custom_describe(void *data, size_t max_description_len) {
  afl_mutator_t *m = data;
  if (strlen(m->last_op) >= max_description_len) return NULL;
  return m->last_op;
}

void afl_custom_deinit(void *data) {
  afl_mutator_t *m = data;
  if (!m) return;
  if (getenv("AFL_DEBUG"))
    fprintf(stderr, "afl_mutator: %lu mutations, %lu of them crossovers\n", m->calls, m->splices);
  free(m->buf);
  free(m);
}
