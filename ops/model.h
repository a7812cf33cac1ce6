/* model.h: the shadow model the interpreter keeps beside the heap: every object the program made,
 * what it must contain, and what is reachable from the program's roots. Only the interpreter's
 * thread touches it. Objects are never removed, only marked dead, so an object index is a stable
 * identity and the number of objects is bounded by the number of allocations (OPS_MAX_OPS). */
#ifndef OPS_MODEL_H
#define OPS_MODEL_H

#include "heapbackend.h"
#include "heapops.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MODEL_NONE UINT32_MAX

typedef struct model_obj {
  hb_object_t *ptr; /* where the heap put it; meaningful while alive */
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
uint32_t model_add(model_t *m, hb_object_t *ptr, uint32_t size, uint32_t nslots, bool finalizable);
/* The live object at ptr, or MODEL_NONE. */
uint32_t model_find(const model_t *m, const void *ptr);
void model_kill(model_t *m, uint32_t index);
/* Revives a dead object and everything it reaches (a weak reference handed it back). */
void model_revive(model_t *m, uint32_t index);
/* Marks `reachable` from the given roots (object indices; MODEL_NONE entries ignored). */
void model_reach(model_t *m, const uint32_t *roots, uint32_t nroots);

/* The payload word at byte offset 8*w of object `index` with pattern `seed` (0: all zero). One
 * hash per 8 bytes: payload checks run after every collection, on every reachable object. */
static inline uint64_t model_payload_word(uint32_t index, uint8_t seed, size_t w) {
  if (seed == 0) return 0;
  uint64_t x = (uint64_t)seed * 0x9e3779b97f4a7c15ull ^ ((uint64_t)index << 20) ^ w;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ull;
  return x ^ (x >> 32);
}

/* Writes (or, with check, compares) the pattern over payload bytes [off, off + n) of a payload p.
 * off is a multiple of 8. Payloads start 8-aligned (after the 8-byte header and 8-byte slots), so
 * whole words go by constant-size copies, which compile to plain loads and stores, and only a
 * short tail goes byte by byte. */
__attribute__((always_inline)) static inline bool
model_payload_apply_at(uint8_t *p, size_t off, size_t n, uint32_t index, uint8_t seed, bool check) {
  p += off;
  if (seed == 0 && check) {
    /* The common case (every new object is checked zeroed): memcmp against zeros. Its
     * sanitizer interceptor checks the whole range, so a poisoned byte is still reported. */
    static const uint8_t zeros[4096];
    for (size_t at = 0; at < n; at += sizeof zeros) {
      size_t k = n - at < sizeof zeros ? n - at : sizeof zeros;
      if (memcmp(p + at, zeros, k) != 0) return false;
    }
    return true;
  }
  size_t w = 0, w0 = off / 8;
  for (; w * 8 + 8 <= n; w++) {
    uint64_t want = model_payload_word(index, seed, w0 + w), got;
    if (check) {
      memcpy(&got, p + w * 8, 8);
      if (got != want) return false;
    } else {
      memcpy(p + w * 8, &want, 8);
    }
  }
  uint64_t last = model_payload_word(index, seed, w0 + w);
  for (size_t i = w * 8; i < n; i++) {
    uint8_t b = (uint8_t)(last >> ((i - w * 8) * 8));
    if (!check)
      p[i] = b;
    else if (p[i] != b)
      return false;
  }
  return true;
}

__attribute__((always_inline)) static inline bool
model_payload_apply(uint8_t *p, size_t n, uint32_t index, uint8_t seed, bool check) {
  return model_payload_apply_at(p, 0, n, index, seed, check);
}

#endif /* OPS_MODEL_H */
