/* bitvec.h: fixed-width bit vectors of 32-bit words, indexed by block slot (JSC's FastBitVector
 * per directory). Callers hold the owning directory's lock: an unlocked read-modify-write of one
 * bit would clobber 31 neighbours. */
#ifndef HC_BITVEC_H
#define HC_BITVEC_H

#include <stdbool.h>
#include <stdint.h>

#define HC_BITVEC_WORD_BITS 32u

static inline uint32_t hc_bitvec_words(uint32_t bits) {
  return (bits + HC_BITVEC_WORD_BITS - 1) / HC_BITVEC_WORD_BITS;
}

static inline bool hc_bit_get(const uint32_t *v, uint32_t i) {
  return (v[i / 32] >> (i % 32)) & 1u;
}

static inline void hc_bit_set(uint32_t *v, uint32_t i) {
  v[i / 32] |= 1u << (i % 32);
}

static inline void hc_bit_clear(uint32_t *v, uint32_t i) {
  v[i / 32] &= ~(1u << (i % 32));
}

static inline void hc_bit_assign(uint32_t *v, uint32_t i, bool value) {
  if (value)
    hc_bit_set(v, i);
  else
    hc_bit_clear(v, i);
}

/* Per-atom bitmaps inside a block header (mark and newly-allocated bits) are 64-bit words read by
 * other threads (hc_is_live_object) while their owner updates them, hence relaxed atomics. */
#include <stdatomic.h>

static inline bool hc_atomic_bit_get(const _Atomic uint64_t *map, uint32_t i) {
  return (atomic_load_explicit(&map[i / 64], memory_order_relaxed) >> (i % 64)) & 1u;
}

/* Single writer per bitmap at a time (the marker with the world stopped, or the block's owner). */
static inline void hc_atomic_bit_set(_Atomic uint64_t *map, uint32_t i) {
  uint64_t w = atomic_load_explicit(&map[i / 64], memory_order_relaxed);
  atomic_store_explicit(&map[i / 64], w | (1ull << (i % 64)), memory_order_relaxed);
}

static inline void hc_atomic_bit_clear(_Atomic uint64_t *map, uint32_t i) {
  uint64_t w = atomic_load_explicit(&map[i / 64], memory_order_relaxed);
  atomic_store_explicit(&map[i / 64], w & ~(1ull << (i % 64)), memory_order_relaxed);
}

/* Clears bits [lo, hi) of a per-atom bitmap, a word at a time; single writer, as above. */
static inline void hc_atomic_bits_clear_range(_Atomic uint64_t *map, uint32_t lo, uint32_t hi) {
  while (lo < hi) {
    uint32_t first = lo % 64, n = hi - lo < 64 - first ? hi - lo : 64 - first;
    uint64_t mask = (n == 64 ? ~0ull : (1ull << n) - 1) << first;
    uint64_t w = atomic_load_explicit(&map[lo / 64], memory_order_relaxed);
    atomic_store_explicit(&map[lo / 64], w & ~mask, memory_order_relaxed);
    lo += n;
  }
}

#endif /* HC_BITVEC_H */
