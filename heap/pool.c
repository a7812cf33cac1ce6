/* pool.c: block memory. Blocks are carved from 2 MiB chunks mapped 2 MiB-aligned, one at a time
 * as the heap needs them; released blocks go to the heap's pool for reuse; a destroyed heap's
 * chunks go to a small process-wide cache for the next heap.
 *
 * Lock order: pool_lock (per heap) and chunk_cache_lock (per process) are leaves; this file never
 * holds both. */
#include "internal.h"

#include <sys/mman.h>

#define CHUNK_BYTES ((size_t)2 << 20)

void hc_pool_init(hc_heap_t *heap) {
  pthread_mutex_init(&heap->pool_lock, NULL);
}

/* The pool: free blocks linked through their first word, under pool_lock (a leaf lock; its
 * unlock-lock pairs also order one owner's last use of a block before the next owner's first).
 * Under ASan a pooled block is poisoned whole; its link word is unpoisoned only while read or
 * written here. */
static void pool_push_locked(hc_heap_t *heap, void *block) {
  hc_unpoison(block, sizeof(void *));
  *(void **)block = heap->pool_free;
  hc_poison(block, sizeof(void *));
  heap->pool_free = block;
}

static void *pool_pop_locked(hc_heap_t *heap) {
  void *block = heap->pool_free;
  hc_unpoison(block, sizeof(void *));
  heap->pool_free = *(void **)block;
  hc_poison(block, sizeof(void *));
  return block;
}

/* The process's chunk cache: chunks of destroyed heaps, for the next heap's pool. A program that
 * creates and destroys heaps by the thousand (a fuzzer, a test runner, a worker per request) then
 * pays no mmap, munmap or page faults per heap: the pages stay resident and the heap formats what
 * it carves anyway (hc_block_create zeroes a block whole). Bounded to HC_CHUNK_CACHE_MAX chunks
 * (8 MiB resident at most); the rest go back to the system. chunk_cache_lock is a leaf, taken
 * only here, so it orders the destroying thread's last use of a chunk before the next heap's
 * first. Under ASan a cached chunk keeps its poison: a pointer into a destroyed heap stays a
 * report, and pool carving poisons every block again before handing it out. */
static pthread_mutex_t chunk_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void *chunk_cache[HC_CHUNK_CACHE_MAX]; /* under chunk_cache_lock */
static size_t chunk_cache_count;              /* under chunk_cache_lock */

size_t hc_pool_cached_chunks(void) {
  pthread_mutex_lock(&chunk_cache_lock);
  size_t n = chunk_cache_count;
  pthread_mutex_unlock(&chunk_cache_lock);
  return n;
}

static void *chunk_map(void) {
  pthread_mutex_lock(&chunk_cache_lock);
  void *cached = chunk_cache_count ? chunk_cache[--chunk_cache_count] : NULL;
  pthread_mutex_unlock(&chunk_cache_lock);
  if (cached) return cached;
  size_t bytes = CHUNK_BYTES;
  char *raw =
      mmap(NULL, bytes + CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return NULL;
  char *aligned = (char *)(((uintptr_t)raw + CHUNK_BYTES - 1) & ~(uintptr_t)(CHUNK_BYTES - 1));
  if (aligned > raw) munmap(raw, (size_t)(aligned - raw));
  size_t tail = (size_t)(raw + bytes + CHUNK_BYTES - (aligned + bytes));
  if (tail) munmap(aligned + bytes, tail);
  return aligned;
}

/* Back to the cache, or to the system. Manual poison outlives munmap (the ASan runtime of clang
 * 14 does not reset the shadow of unmapped memory), so an unmapped chunk is unpoisoned first,
 * whole: whatever is mapped at these addresses next must not inherit the poison, and a chunk that
 * came from the cache may carry some from an earlier heap beyond what the last one carved. */
static void chunk_unmap(void *chunk) {
  pthread_mutex_lock(&chunk_cache_lock);
  bool cached = chunk_cache_count < HC_CHUNK_CACHE_MAX;
  if (cached) chunk_cache[chunk_cache_count++] = chunk;
  pthread_mutex_unlock(&chunk_cache_lock);
  if (cached) return;
  hc_unpoison(chunk, CHUNK_BYTES);
  munmap(chunk, CHUNK_BYTES);
}

/* Maps a 2 MiB chunk aligned to 2 MiB as the new carving range. Nothing in it is touched here:
 * blocks are carved one at a time (hc_block_memory_alloc), so a small heap (one fuzz program, a
 * short-lived runtime) faults in only the pages of the blocks it uses. Chunks after the first are
 * offered to transparent huge pages: a heap that grew past 2 MiB is likely to use the next one
 * whole, and one huge-page fault replaces 512 small ones (binary-trees spends several percent in
 * page faults otherwise); the first is not, since a huge page is zeroed whole on first touch,
 * 2 MiB for a heap that may need 16 KiB of it. */
static bool pool_grow_locked(hc_heap_t *heap, hc_status_t *why) {
  if (hc_fault_point(heap, why)) return false; /* as if mmap had failed */
  char *chunk = chunk_map();
  if (!chunk) return false;
  if (heap->pool_chunks.count > 0) madvise(chunk, CHUNK_BYTES, MADV_HUGEPAGE);
  if (!hc_vec_push(&heap->pool_chunks, chunk)) {
    chunk_unmap(chunk);
    return false;
  }
  heap->pool_carve = chunk;
  heap->pool_carve_end = chunk + CHUNK_BYTES;
  return true;
}

void *hc_block_memory_alloc(hc_heap_t *heap, hc_status_t *why) {
  hc_status_t ignored;
  if (!why) why = &ignored;
  pthread_mutex_lock(&heap->pool_lock);
  void *b = NULL;
  if (heap->pool_free) {
    b = pool_pop_locked(heap);
  } else if (heap->pool_carve < heap->pool_carve_end || pool_grow_locked(heap, why)) {
    b = heap->pool_carve;
    heap->pool_carve += HC_BLOCK_SIZE;
    hc_poison(b, HC_BLOCK_SIZE); /* as if it had come from the pool */
  }
  pthread_mutex_unlock(&heap->pool_lock);
  return b; /* still poisoned: hc_block_create unpoisons what it formats */
}

/* Released blocks go back to the pool, poisoned; their pages go back to the system. A destroyed
 * heap's blocks are only poisoned: their chunks go whole (hc_heap_destroy). */
void hc_block_memory_free(hc_heap_t *heap, void *mem) {
  hc_poison(mem, HC_BLOCK_SIZE);
  if (heap->destroying) return;
  madvise(mem, HC_BLOCK_SIZE, MADV_DONTNEED);
  pthread_mutex_lock(&heap->pool_lock);
  pool_push_locked(heap, mem);
  pthread_mutex_unlock(&heap->pool_lock);
}

/* The chunks go to the process's chunk cache, poisoned as they are, or back to the system. Called
 * by hc_heap_destroy alone, once every block is freed. */
void hc_pool_destroy(hc_heap_t *heap) {
  for (size_t i = 0; i < heap->pool_chunks.count; i++)
    chunk_unmap(heap->pool_chunks.items[i]);
  hc_vec_free(&heap->pool_chunks);
  pthread_mutex_destroy(&heap->pool_lock);
}
