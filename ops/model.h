/* model.h: the shadow model the interpreter keeps beside the heap: every object the program made,
 * what it must contain, and what is reachable from the program's roots. Only the interpreter's
 * thread touches it. Objects are never removed, only marked dead, so an object index is a stable
 * identity and the number of objects is bounded by the number of allocations (OPS_MAX_OPS). */
#ifndef OPS_MODEL_H
#define OPS_MODEL_H

#include "heapcore.h"
#include "heapops.h"

#include <stdbool.h>
#include <stdint.h>

#define MODEL_NONE UINT32_MAX

typedef struct model_obj {
  hc_object_t *ptr; /* where the heap put it; meaningful while alive */
  uint32_t size;    /* requested object size */
  uint32_t nslots;
  uint32_t *slots; /* child object indices, MODEL_NONE for NULL */
  uint8_t seed;    /* payload pattern: 0 = all zero, else derived from (seed, index) */
  bool finalizable;
  bool alive;     /* reachable at the last collection, allocated since, or revived */
  bool reachable; /* scratch for reachability */
} model_obj_t;

typedef struct model {
  model_obj_t *objs;
  uint32_t count, capacity;
  /* Live pointers -> object index, open addressing: finalizer and iteration checks. */
  uintptr_t *map_keys;
  uint32_t *map_vals;
  uint32_t map_cap, map_used;
  uint64_t finalizable_allocated;
  uint32_t *stack; /* scratch for reachability walks */
  uint32_t stack_cap;
} model_t;

void model_init(model_t *m);
void model_free(model_t *m);
/* Adds a freshly allocated, zeroed object; returns its index. */
uint32_t model_add(model_t *m, hc_object_t *ptr, uint32_t size, uint32_t nslots, bool finalizable);
/* The live object at ptr, or MODEL_NONE. */
uint32_t model_find(const model_t *m, const void *ptr);
void model_kill(model_t *m, uint32_t index);
/* Revives a dead object and everything it reaches (a weak reference handed it back). */
void model_revive(model_t *m, uint32_t index);
/* Marks `reachable` from the given roots (object indices; MODEL_NONE entries ignored). */
void model_reach(model_t *m, const uint32_t *roots, uint32_t nroots);

/* The payload byte at offset i of object `index` with pattern `seed`. */
static inline uint8_t model_payload_byte(uint32_t index, uint8_t seed, size_t i) {
  if (seed == 0) return 0;
  uint64_t x = (uint64_t)seed * 0x9e3779b97f4a7c15ull ^ ((uint64_t)index << 20) ^ (i >> 3);
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 32;
  return (uint8_t)(x >> ((i & 7) * 8));
}

#endif /* OPS_MODEL_H */
