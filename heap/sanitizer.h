/* sanitizer.h: turns heap events into sanitizer annotations (mimalloc's track.h, for ASan).
 *
 * Invariants kept in ASan builds: inside a block, a cell is poisoned exactly when it is free (on a
 * free list, swept dead, or never allocated). The free-list interval head words are unpoisoned only
 * while the allocator reads or writes them. A block in the heap's block pool (pool.c: released) is
 * poisoned whole, its link word unpoisoned only while the pool reads or writes it; a block carved
 * fresh from a chunk is poisoned as it is carved (the uncarved rest of a chunk is never pointed
 * into); hc_block_memory_alloc hands a block out still poisoned, and hc_block_create unpoisons what
 * it formats as it writes it. So any use of a pooled block (through a stale pointer, or of a
 * header not yet formatted) is a use-after-poison report. Large objects are freed to the system
 * allocator one by one, so ASan's quarantine turns a later use of one into a heap-use-after-free
 * report. */
#ifndef HC_SANITIZER_H
#define HC_SANITIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__has_feature)
#  if __has_feature(address_sanitizer) && !defined(HC_ASAN)
#    define HC_ASAN 1
#  endif
#  if __has_feature(thread_sanitizer) && !defined(HC_TSAN)
#    define HC_TSAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(HC_ASAN)
#  define HC_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(HC_TSAN)
#  define HC_TSAN 1
#endif

#if defined(HC_ASAN) && HC_ASAN
#  include <sanitizer/asan_interface.h>
/* For the few reads of memory the heap poisoned itself (free cells it owns), never of memory it
 * gave back to the system. */
#  define HC_NO_SANITIZE_ADDRESS __attribute__((no_sanitize_address))
#  define hc_poison(p, n)        ASAN_POISON_MEMORY_REGION((p), (n))
#  define hc_unpoison(p, n)      ASAN_UNPOISON_MEMORY_REGION((p), (n))
static inline bool hc_is_poisoned(const void *p) {
  return __asan_address_is_poisoned(p) != 0;
}
/* Any byte of [p, p + n) poisoned, or outside application memory: lets a checker (verify.c)
 * report memory the heap freed instead of reading it. */
static inline bool hc_region_is_poisoned(const void *p, size_t n) {
  return __asan_region_is_poisoned((void *)(uintptr_t)p, n) != NULL;
}
#else
#  define HC_NO_SANITIZE_ADDRESS
#  define hc_poison(p, n)   ((void)(p), (void)(n))
#  define hc_unpoison(p, n) ((void)(p), (void)(n))
static inline bool hc_is_poisoned(const void *p) {
  (void)p;
  return false;
}
static inline bool hc_region_is_poisoned(const void *p, size_t n) {
  (void)p;
  (void)n;
  return false;
}
#endif

#endif /* HC_SANITIZER_H */
