/* internal.h: the heap core's shared internals, and a map of the library.
 *
 * Ownership, in one place (the rest of the code refers back here):
 *   - A directory's bit vectors and slot array are guarded by its lock (dir->lock).
 *   - The in-use bit is the ownership bit of a block (or large object): whoever set it (an
 *     allocator, the sweeper, shrink, a steal) is the only party that reads or writes the block's
 *     cells, bitmaps and handle fields until it clears it. Claim = set in-use under the lock.
 *   - The pinned bit protects an allocator's last-active block between stop- and resume-allocating:
 *     nothing may release, steal or allocate from a pinned block.
 *   - Mark bits, mark versions, the mark stack and every allocator's fields of *other* mutators are
 *     touched only by the collector, with the world stopped (every other participant parked on
 *     heap->world_lock, which gives the happens-before edges).
 *   - A mutator's own fields are touched by the thread running it, or by the collector while it is
 *     parked.
 * Lock order: world_lock → sweep_lock → blockset_lock → dir->lock → (roots_lock | weak_lock);
 * pool_lock and pool.c's chunk_cache_lock are leaves.
 * Never take a directory lock while holding another directory's lock. world_lock is never held
 * while collecting: the stopped world is a state (collecting, stop_requested), not a held lock.
 */
#ifndef HC_INTERNAL_H
#define HC_INTERNAL_H

#include "heapcore.h"

#include "bitvec.h"
#include "sanitizer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define hc_likely(x)   __builtin_expect(!!(x), 1)
#define hc_unlikely(x) __builtin_expect(!!(x), 0)
#define hc_noinline    __attribute__((noinline))

/* ---------------------------------------------------------------------------------------------
 * Assertions (HC_DEBUG) and fatal errors
 * ------------------------------------------------------------------------------------------- */

_Noreturn void hc_fatal(const char *file, int line, const char *msg);
#define HC_FATAL(msg) hc_fatal(__FILE__, __LINE__, (msg))
#if defined(HC_DEBUG) && HC_DEBUG
#  define HC_ASSERT(c) ((c) ? (void)0 : hc_fatal(__FILE__, __LINE__, "assertion failed: " #  c))
#else
#  define HC_ASSERT(c) ((void)0)
#endif

/* ---------------------------------------------------------------------------------------------
 * Geometry
 * ------------------------------------------------------------------------------------------- */

#define HC_BLOCK_MASK       ((uintptr_t)HC_BLOCK_SIZE - 1)
#define HC_ATOMS_PER_BLOCK  (HC_BLOCK_SIZE / HC_ATOM_SIZE)   /* 1024 */
#define HC_BITMAP_WORDS     ((int)(HC_ATOMS_PER_BLOCK / 64)) /* 16 */
#define HC_LARGE_TAG        8u /* large cells sit at addresses == 8 (mod 16), block cells at 0 */
#define HC_SIZE_CLASS_COUNT 17u

/* Object header. `state` is the only field read by other threads (the write barrier, and
 * hc_is_live_object in free-listed blocks). NEW and OLD come from heapcore.h, where the inline
 * barrier tests them. */
enum {
  HC_STATE_FREE = 0,            /* zeroed free cell (not an object) */
  HC_STATE_NEW = HC__STATE_NEW, /* allocated since the last collection that saw it: young */
  HC_STATE_OLD = HC__STATE_OLD, /* marked by a collection: old, not in the remembered set */
  HC_STATE_REMEMBERED = 0xa3    /* old and in a remembered set (stores into it need no barrier) */
};
#define HC_FLAG_FINALIZE 1u

typedef struct hc_header {
  uint32_t size;   /* requested object size, header included */
  uint16_t nslots; /* reference slots after the header */
  uint8_t flags;   /* HC_FLAG_* */
  _Atomic uint8_t state;
} hc_header_t;

_Static_assert(sizeof(hc_header_t) == HC_HEADER_SIZE, "header is 8 bytes");
_Static_assert(offsetof(hc_header_t, state) == HC__STATE_OFFSET, "the inline barrier's byte");

/* The header as one word (little-endian): size | nslots | flags | state. Written with one atomic
 * store at allocation, because hc_is_live_object may read the state byte from another thread. */
static inline void hc_write_header(void *cell, size_t size, uint32_t nslots, unsigned flags) {
  uint64_t word = (uint64_t)size | (uint64_t)nslots << 32 | (uint64_t)(flags & 0xff) << 48 |
                  (uint64_t)HC_STATE_NEW << 56;
  atomic_store_explicit((_Atomic uint64_t *)cell, word, memory_order_relaxed);
}
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the header is written as one word");

static inline hc_header_t *hc_header_of(const hc_object_t *obj) {
  return (hc_header_t *)(uintptr_t)obj;
}
static inline _Atomic(hc_object_t *) *hc_slots_of(const hc_object_t *obj) {
  return (_Atomic(hc_object_t *) *)((char *)(uintptr_t)obj + HC_HEADER_SIZE);
}
static inline bool hc_state_is_object(uint8_t s) {
  return s >= HC_STATE_NEW && s <= HC_STATE_REMEMBERED;
}
static inline bool hc_is_large_cell(const void *p) {
  return ((uintptr_t)p & (HC_ATOM_SIZE - 1)) == HC_LARGE_TAG;
}

/* ---------------------------------------------------------------------------------------------
 * Blocks (block.c) and their handles
 * ------------------------------------------------------------------------------------------- */

typedef struct hc_directory hc_directory_t;
typedef struct hc_block_handle hc_block_handle_t;

/* The header at the start of every 16 KiB block. Marks and newly-allocated bits are per atom and
 * valid only while the block's version equals the heap's (JSC's versioned bitmaps: a new
 * collection invalidates every block's marks by bumping one counter; the bitmap is cleared lazily
 * the first time the marker touches the block in the new cycle). */
typedef struct hc_block {
  hc_block_handle_t *handle;
  uint8_t mark_version;          /* collector only */
  _Atomic uint8_t newly_version; /* owner writes, hc_is_live_object reads */
  uint8_t pristine;              /* payload all free and zero; owner only */
  uint8_t has_finalizable;       /* some cell was allocated with HC_FLAG_FINALIZE; owner only */
  uint16_t marked_cells;         /* cells marked in mark_version's cycle; collector only */
  uint16_t cell_size;            /* copy of handle->cell_size, so marking stays in the block */
  _Atomic uint64_t marks[HC_BITMAP_WORDS];
  _Atomic uint64_t newly[HC_BITMAP_WORDS];
} hc_block_t;

#define HC_BLOCK_HEADER_SIZE ((sizeof(hc_block_t) + HC_ATOM_SIZE - 1) & ~(size_t)(HC_ATOM_SIZE - 1))
#define HC_BLOCK_PAYLOAD     (HC_BLOCK_SIZE - HC_BLOCK_HEADER_SIZE)

/* The separately allocated handle (JSC's MarkedBlock::Handle). Fields other than `index` are
 * written only by the block's in-use owner; `index` changes only under the directory lock. */
struct hc_block_handle {
  hc_block_t *block;
  hc_directory_t *dir;
  uint32_t index;              /* slot in dir */
  uint32_t cell_size;          /* bytes per cell (the size class) */
  uint32_t cells;              /* cells in the payload */
  _Atomic bool free_listed;    /* an allocator allocates from it through a free list */
  uint64_t serial;             /* identity for traces and dumps (no addresses in output) */
  uint64_t sweeps;             /* free lists built from it, for its per-sweep secret; owner only */
  const uint64_t *cell_starts; /* hc_cell_starts of its size class */
};

static inline hc_block_t *hc_block_of(const void *cell) {
  return (hc_block_t *)((uintptr_t)cell & ~HC_BLOCK_MASK);
}
static inline char *hc_block_first_cell(hc_block_t *b) {
  return (char *)b + HC_BLOCK_HEADER_SIZE;
}
static inline uint32_t hc_atom_index(const hc_block_t *b, const void *p) {
  return (uint32_t)(((uintptr_t)p - (uintptr_t)b) / HC_ATOM_SIZE);
}

/* Result of sweeping one block. */
typedef struct hc_sweep_result {
  uint32_t live_cells;
  uint32_t free_cells;
} hc_sweep_result_t;

typedef struct hc_free_list hc_free_list_t;

/* block.c */
hc_block_handle_t *hc_block_create(hc_heap_t *heap, uint32_t cell_size, hc_status_t *status);
void hc_block_destroy(hc_heap_t *heap, hc_block_handle_t *h);
void hc_block_format(hc_heap_t *heap, hc_block_handle_t *h, uint32_t cell_size);
hc_sweep_result_t hc_block_sweep(hc_heap_t *heap, hc_block_handle_t *h, hc_free_list_t *fl);
/* The block's liveness rule (top of block.c) per atom, for a block no allocator free-lists. */
void hc_block_live_bits(const hc_heap_t *heap, hc_block_t *b, uint64_t live[HC_BITMAP_WORDS]);
bool hc_block_cell_is_marked(const hc_heap_t *heap, hc_block_t *b, const void *cell);
bool hc_block_cell_is_newly(const hc_heap_t *heap, hc_block_t *b, const void *cell);
bool hc_block_cell_index(const hc_block_handle_t *h, const void *p, uint32_t *index);
void hc_block_stop_allocating(hc_heap_t *heap, hc_block_handle_t *h, hc_free_list_t *fl);
uint32_t hc_block_count_live(const hc_heap_t *heap, hc_block_handle_t *h);
void hc_block_finalize_all(hc_heap_t *heap, hc_block_handle_t *h);

/* ---------------------------------------------------------------------------------------------
 * Large objects (large.c): one system allocation each, own mark bit, a directory of their own
 * ------------------------------------------------------------------------------------------- */

typedef struct hc_large {
  uint64_t serial;
  size_t cell_bytes;             /* object size rounded up to 16 */
  uint32_t index;                /* slot in heap->large_dir; under its lock */
  uint8_t mark_version;          /* collector only */
  uint8_t marked;                /* collector only */
  _Atomic uint8_t newly_version; /* allocation time's heap version: "allocated since last GC" */
  _Atomic uint8_t finalized;     /* set once by the sweep that finds it dead */
  void *base;                    /* what the system allocator returned */
  uint64_t pad;                  /* makes sizeof == 8 (mod 16) so the cell lands at 8 (mod 16) */
} hc_large_t;

_Static_assert(sizeof(hc_large_t) % 16 == 8, "large cells must sit at 8 mod 16");

static inline hc_large_t *hc_large_of(const void *cell) {
  return (hc_large_t *)((char *)(uintptr_t)cell - sizeof(hc_large_t));
}
static inline hc_object_t *hc_large_cell(hc_large_t *l) {
  return (hc_object_t *)((char *)l + sizeof(hc_large_t));
}

hc_object_t *hc_large_allocate(hc_mutator_t *m, size_t size, uint32_t nslots, unsigned flags);
void hc_large_destroy(hc_heap_t *heap, hc_large_t *l);
bool hc_large_is_marked(const hc_heap_t *heap, const hc_large_t *l);
bool hc_large_is_live(const hc_heap_t *heap, const hc_large_t *l);
hc_sweep_result_t hc_large_sweep(hc_heap_t *heap, hc_large_t *l);

/* ---------------------------------------------------------------------------------------------
 * Directories (directory.c): one per size class plus one for large objects
 * ------------------------------------------------------------------------------------------- */

typedef enum hc_bit_kind {
  HC_BIT_LIVE = 0,          /* the slot holds a block */
  HC_BIT_EMPTY,             /* no live cell */
  HC_BIT_ALLOCATED,         /* an allocator used up every free cell since the last collection */
  HC_BIT_CAN_ALLOCATE,      /* may have free cells: worth sweeping into a free list */
  HC_BIT_EDEN,              /* cells were allocated in it since the last collection */
  HC_BIT_UNSWEPT,           /* dead cells may await finalization and zeroing */
  HC_BIT_IN_USE,            /* claimed: see the ownership notes at the top */
  HC_BIT_PINNED,            /* an allocator's last-active block between stop and resume */
  HC_BIT_MARKING_NOT_EMPTY, /* the collector marked something in it (this full cycle) */
  HC_BIT_MARKING_RETIRED,   /* so full of marked cells that allocating into it is not worth it */
  HC_BIT_KIND_COUNT
} hc_bit_kind_t;

const char *hc_bit_kind_name(hc_bit_kind_t kind);

struct hc_directory {
  pthread_mutex_t lock;
  uint32_t cell_size; /* 0 for the large-object directory */
  uint32_t class_index;
  uint32_t capacity; /* slots allocated */
  uint32_t used;     /* slots ever used: searches stop here */
  uint32_t count;    /* occupied slots */
  void **slots;      /* hc_block_handle_t* (or hc_large_t* in the large directory); the one
                        allocation that also holds free_slots and bits (NULL until a first add) */
  uint32_t *bits[HC_BIT_KIND_COUNT];
  uint32_t *free_slots; /* stack of vacated slot indices, reused before growing */
  uint32_t free_count;
  bool self_checks; /* config.self_checks, copied at creation (claims check their block) */
  hc_heap_t *heap;  /* the heap it belongs to, for fault injection; NULL outside a heap */
};

/* The query a finder runs under the lock: want any of `want`, none of `avoid`. */
typedef struct hc_block_query {
  uint32_t want;  /* bit mask over hc_bit_kind_t */
  uint32_t avoid; /* bit mask over hc_bit_kind_t */
} hc_block_query_t;
#define HC_BITMASK(k) (1u << (k))

hc_status_t hc_directory_init(hc_directory_t *dir, uint32_t cell_size, uint32_t class_index);
void hc_directory_destroy(hc_directory_t *dir);
/* Adds a slot owner; sets LIVE and the bits in `initial`. Returns the slot, or UINT32_MAX when
 * the directory could not grow, with the reason in *why (may be NULL). */
uint32_t hc_directory_add(hc_directory_t *dir, void *owner, uint32_t initial, hc_status_t *why);
/* Removes the slot (caller holds its in-use claim): clears every bit, then empties the slot. */
void hc_directory_remove(hc_directory_t *dir, uint32_t index);
#if defined(HC_INJECT_BUG_REMOVE_BLOCK_ORDER)
void hc_directory_clear_bits(hc_directory_t *dir, uint32_t index); /* directory.c, the bug's */
#endif
/* Finds, from *cursor, a slot matching the query, sets IN_USE on it, clears the bits in `clear`,
 * advances *cursor, and returns its owner (NULL if none). Locks the directory. */
void *hc_directory_claim(hc_directory_t *dir, hc_block_query_t q, uint32_t clear, uint32_t *cursor);
#if defined(HC_INJECT_BUG_SHRINK_STALE_LOOKAHEAD) || defined(HC_INJECT_BUG_SWEEP_STALE_LOOKAHEAD)
/* The lookahead bugs' two halves (directory.c): a search that claims nothing (the index of the
 * next match from `start`, or UINT32_MAX), and a later claim of that index that re-checks the
 * query's wanted bits but not the in-use bit. */
uint32_t hc_directory_peek(hc_directory_t *dir, hc_block_query_t q, uint32_t start);
void *hc_directory_claim_index(hc_directory_t *dir, hc_block_query_t q, uint32_t index,
                               uint32_t *cursor);
#endif
/* Bit updates under the lock. */
void hc_directory_update(hc_directory_t *dir, uint32_t index, uint32_t set, uint32_t clear);
bool hc_directory_test(hc_directory_t *dir, uint32_t index, hc_bit_kind_t kind);
uint32_t hc_directory_bits_of(hc_directory_t *dir, uint32_t index); /* mask of set kinds */

/* ---------------------------------------------------------------------------------------------
 * Size classes (size_class.c)
 * ------------------------------------------------------------------------------------------- */

extern uint32_t hc_size_classes[HC_SIZE_CLASS_COUNT];
extern uint8_t hc_class_of_atoms[HC_MAX_CELL_SMALL / HC_ATOM_SIZE + 1];
/* Per size class, the atoms where its cells start: whole-word newly/live bitmap arithmetic. */
extern uint64_t hc_cell_starts[HC_SIZE_CLASS_COUNT][HC_BITMAP_WORDS];
void hc_size_classes_init(void); /* idempotent, thread-safe */

static inline uint32_t hc_size_class_index(size_t size) {
  return hc_class_of_atoms[(size + HC_ATOM_SIZE - 1) / HC_ATOM_SIZE];
}

/* ---------------------------------------------------------------------------------------------
 * Free lists and local allocators (freelist.h, allocator.c)
 * ------------------------------------------------------------------------------------------- */

/* A chain of intervals (runs of free cells). The current interval is bump-allocated between cur
 * and end; the next interval's head cell stores {bytes, scrambled next} (see freelist.h). */
struct hc_free_list {
  char *cur;
  char *end;
  uintptr_t next;   /* scrambled address of the next interval head; HC_FREE_LIST_END if none */
  uintptr_t secret; /* per-sweep secret XOR'ed into links (JSC scrambles its free lists too) */
  uint32_t cell_size;
  uint32_t needs_zero; /* scribble mode: free cells hold the pattern, zero at allocation */
};

typedef struct hc_local_allocator {
  hc_free_list_t fl;
  hc_directory_t *dir;
  hc_block_handle_t *current;     /* claimed (in-use), free-listed */
  hc_block_handle_t *last_active; /* pinned, between stop and resume */
  uint32_t cursor;                /* where the next block search starts */
} hc_local_allocator_t;

/* la must be all zero (it lives in a calloc'ed mutator). */
void hc_allocator_init(hc_local_allocator_t *la, hc_directory_t *dir);
/* Stops: flushes the free list into newly bits, unclaims, pins as last-active. */
void hc_allocator_stop(hc_heap_t *heap, hc_mutator_t *m, hc_local_allocator_t *la);
/* Re-takes the last-active block (if any) and rebuilds its free list. */
void hc_allocator_resume(hc_heap_t *heap, hc_mutator_t *m, hc_local_allocator_t *la);
/* Forgets the last-active block (end of a collection, detach): unpins it. */
void hc_allocator_forget_last_active(hc_heap_t *heap, hc_local_allocator_t *la);
/* Stop then forget every allocator of m: no free list, current or last-active block afterwards
 * (the teardown contract; also what detach and releasing access do). */
void hc_mutator_drop_allocators(hc_mutator_t *m);
hc_object_t *hc_allocate_generic(hc_mutator_t *m, size_t size, uint32_t nslots, unsigned flags);

/* ---------------------------------------------------------------------------------------------
 * Mutators (mutator.c)
 * ------------------------------------------------------------------------------------------- */

typedef struct hc_vec {
  void **items;
  size_t count;
  size_t capacity;
} hc_vec_t;

bool hc_vec_grow(hc_vec_t *v);
void hc_vec_free(hc_vec_t *v);

static inline bool hc_vec_push(hc_vec_t *v, void *item) {
  if (hc_unlikely(v->count == v->capacity) && !hc_vec_grow(v)) return false;
  v->items[v->count++] = item;
  return true;
}

struct hc_mutator {
  hc__root_stack_t roots; /* first: the inline hc_root_push reads it (heapcore.h); LIFO slots */
  hc_heap_t *heap;
  uint32_t id;
  hc_mutator_t *next;            /* heap->mutators list, under world_lock */
  bool has_access;               /* written by the owner under world_lock; the owner reads freely */
  bool allocation_stopped;       /* user-level stop (hc_mutator_stop_allocating) */
  bool world_stopped_allocators; /* collector or iteration stopped this mutator's allocators */
  hc_status_t last_error;
  _Atomic uint64_t objects_allocated; /* owner writes (load+store, no RMW), stats reads */
  _Atomic uint64_t bytes_allocated;
  hc_vec_t remembered; /* objects that got state REMEMBERED through this mutator's barrier */
  hc_local_allocator_t allocators[HC_SIZE_CLASS_COUNT];
};

/* Owner-only counters read by hc_heap_get_stats from other threads: no RMW needed. */
static inline void hc_count_allocation(hc_mutator_t *m, size_t size) {
  atomic_store_explicit(&m->objects_allocated,
                        atomic_load_explicit(&m->objects_allocated, memory_order_relaxed) + 1,
                        memory_order_relaxed);
  atomic_store_explicit(&m->bytes_allocated,
                        atomic_load_explicit(&m->bytes_allocated, memory_order_relaxed) + size,
                        memory_order_relaxed);
}

/* Participant access hand-off, world_lock held; m is NULL for the sweeper (mutator.c). */
void hc_access_drop_locked(hc_heap_t *heap, hc_mutator_t *m);
void hc_access_take_locked(hc_heap_t *heap, hc_mutator_t *m);

/* Parks the mutator until the pending stop ends (slow path of hc_safepoint). */
void hc_safepoint_slow(hc_mutator_t *m);
/* The world: stop every other participant holding access / restart. */
void hc_world_stop(hc_heap_t *heap, hc_mutator_t *self);
void hc_world_resume(hc_heap_t *heap);

/* ---------------------------------------------------------------------------------------------
 * Weak references
 * ------------------------------------------------------------------------------------------- */

struct hc_weak {
  _Atomic(hc_object_t *) target;
  hc_weak_t *prev, *next; /* heap->weak_list, under weak_lock */
};

/* ---------------------------------------------------------------------------------------------
 * The heap
 * ------------------------------------------------------------------------------------------- */

/* Open-addressing set of block addresses and large cells: pointer validation for checked calls. */
typedef struct hc_blockset {
  uintptr_t *keys; /* 0 = empty, 1 = tombstone */
  size_t capacity; /* power of two */
  size_t count;
  size_t tombstones;
} hc_blockset_t;

bool hc_blockset_add(hc_blockset_t *s, uintptr_t key);
void hc_blockset_remove(hc_blockset_t *s, uintptr_t key);
bool hc_blockset_contains(const hc_blockset_t *s, uintptr_t key);
void hc_blockset_free(hc_blockset_t *s);

typedef struct hc_stat_counters {
  _Atomic uint64_t blocks_swept, blocks_released, blocks_stolen, finalizers_run, weak_cleared;
  _Atomic uint64_t version_wraps, bad_roots, failed_acquisitions;
} hc_stat_counters_t;

struct hc_heap {
  hc_config_t config;
  hc_directory_t dirs[HC_SIZE_CLASS_COUNT];
  hc_directory_t large_dir;

  /* Versions: written by the collector with the world stopped. */
  uint8_t mark_version;
  _Atomic uint8_t newly_version;

  /* The world. */
  pthread_mutex_t world_lock;
  pthread_cond_t world_cond;
  _Atomic int stop_requested; /* read without the lock on every safepoint poll */
  bool collecting;            /* a collector (or verifier, iterator) owns the stopped world */
  uint32_t access_count;      /* participants holding access: mutators and the sweeper */
  hc_mutator_t *mutators;
  uint32_t mutator_count;
  uint32_t next_mutator_id;
  _Atomic int phase; /* hc_phase_t, for dumps */

  /* The background sweeper. */
  pthread_t sweeper_thread;
  bool sweeper_running;  /* under world_lock */
  bool sweeper_quit;     /* under world_lock */
  bool sweeper_has_work; /* under world_lock */
  pthread_cond_t sweeper_cond;
  uint32_t sweep_dir_cursor; /* under sweep_lock */
  uint32_t sweep_cursors[HC_SIZE_CLASS_COUNT + 1];
  pthread_mutex_t sweep_lock;

  /* Heap-wide roots (hc_global_root_add); remembered objects gathered at each collection and
   * handed over by detaching mutators. */
  pthread_mutex_t roots_lock;
  hc_vec_t global_roots;
  hc_vec_t remembered; /* collector or world_lock */

  pthread_mutex_t weak_lock;
  hc_weak_t *weak_list;

  pthread_mutex_t blockset_lock;
  hc_blockset_t blockset;

  /* Accounting and limits. */
  _Atomic size_t committed;
  _Atomic uint64_t acquisitions; /* block and large reservations (the stats' count) */
  _Atomic uint64_t fault_points; /* fallible steps taken (hc_fault_point), for the knob */
  _Atomic uint64_t fail_at;      /* the fault point that fails; 0 = disarmed */
  _Atomic size_t bytes_since_gc;
  /* The automatic collection trigger in bytes (0 = none): config.gc_trigger_bytes when fixed,
   * recomputed from the live bytes by every collection when adaptive. Written by the collector
   * (world stopped) and at creation, read by allocation slow paths. */
  _Atomic size_t gc_trigger;
  _Atomic uint64_t next_serial;
  unsigned auto_collections;         /* collector only */
  uint64_t live_bytes, live_objects; /* collector only, while marking */
  uint64_t live_after_full;          /* collector only: live_bytes at the end of the last full GC */
  _Atomic uint64_t published_live_bytes, published_live_objects; /* at the end of a collection */
  _Atomic uint64_t full_collections, eden_collections;
  uint64_t detached_objects, detached_bytes; /* allocation counts of detached mutators */
  hc_stat_counters_t stats;

  /* Collector scratch. */
  hc_vec_t mark_stack;
  hc_vec_t root_scratch; /* roots found live at the start of a collection */
  void *verify_scratch;  /* hc_verify_stopped's arrays, kept between calls (verify.c) */
  size_t verify_scratch_bytes;

  /* Hooks. */
  hc_yield_fn yield_fn;
  void *yield_ctx;
  hc_event_fn event_fn;
  void *event_ctx;

  /* Block memory (pool.c): blocks carved from mapped 2 MiB chunks; free blocks kept for reuse.
   * Under ASan a pooled block is poisoned whole (sanitizer.h). All under pool_lock. */
  pthread_mutex_t pool_lock;
  void *pool_free; /* singly linked through the first word of each free block */
  hc_vec_t pool_chunks;
  char *pool_carve;     /* the newest chunk's never-used tail, [pool_carve, pool_carve_end): */
  char *pool_carve_end; /* untouched, so the kernel has backed none of it with pages */
  bool destroying;      /* set by hc_heap_destroy, whose thread alone then touches the heap */
};

/* Directory i of 0..HC_SIZE_CLASS_COUNT: the size classes, then the large-object directory. */
static inline hc_directory_t *hc_directory_at(hc_heap_t *heap, uint32_t i) {
  return i < HC_SIZE_CLASS_COUNT ? &heap->dirs[i] : &heap->large_dir;
}

/* heap.c */
uint64_t hc_next_serial(hc_heap_t *heap);
uintptr_t hc_block_secret(const hc_heap_t *heap, hc_block_handle_t *h);
/* One block or large-object acquisition: counts it for fault injection, then reserves its bytes
 * against the heap limit. */
hc_status_t hc_reserve_memory(hc_heap_t *heap, size_t bytes);
/* A fallible step of acquiring memory (hc_heap_fail_allocation lists them), taken just before the
 * system call or table growth it guards: true when fault injection fails this one, with *why =
 * HC_ERR_INJECTED_FAULT; false with *why = HC_ERR_OUT_OF_MEMORY, the status to report if the
 * real call then fails. heap may be NULL (a directory outside a heap, in unit tests). */
bool hc_fault_point(hc_heap_t *heap, hc_status_t *why);
void hc_unreserve_memory(hc_heap_t *heap, size_t bytes);
void hc_emit(hc_heap_t *heap, hc_event_kind_t kind, uint32_t mutator, uint32_t cell_size,
             uint64_t block, uint64_t arg);
void hc_set_phase(hc_heap_t *heap, hc_phase_t phase, int kind);
void hc_run_finalizer(hc_heap_t *heap, hc_object_t *obj);

/* pool.c */
#define HC_CHUNK_CACHE_MAX 4 /* chunks the process keeps for its next heaps (8 MiB) */
void hc_pool_init(hc_heap_t *heap);
size_t hc_pool_cached_chunks(void); /* for tests */
/* Hands the heap's chunks to the process's chunk cache or the system (hc_heap_destroy). */
void hc_pool_destroy(hc_heap_t *heap);
/* A 16 KiB block-aligned block from the pool, or NULL with the reason in *why (may be NULL):
 * the pool had to grow and could not. Under ASan it is still poisoned whole: the formatter
 * (hc_block_create) unpoisons what it writes. */
void *hc_block_memory_alloc(hc_heap_t *heap, hc_status_t *why);
/* Back to the pool: poisoned whole under ASan, pages returned to the system (MADV_DONTNEED). */
void hc_block_memory_free(hc_heap_t *heap, void *mem);

/* Yield points compile to nothing without HC_YIELD_POINTS. */
#if defined(HC_YIELD_POINTS) && HC_YIELD_POINTS
static inline void hc_yield(hc_heap_t *heap, hc_yield_point_t point, hc_mutator_t *m) {
  if (heap->yield_fn) heap->yield_fn(heap->yield_ctx, point, m);
}
#  define HC_YIELD(heap, point, m) hc_yield((heap), (point), (m))
#else
#  define HC_YIELD(heap, point, m) ((void)(heap), (void)(point), (void)(m))
#endif
static inline bool hc_has_scheduler(const hc_heap_t *heap) {
#if defined(HC_YIELD_POINTS) && HC_YIELD_POINTS
  return heap->yield_fn != NULL;
#else
  (void)heap;
  return false;
#endif
}

/* What makes a block unclaimable by sweeping, shrinking and stealing: a stopped allocator's pin.
 * Only the pinning allocator's resume may claim a pinned block, so resume never meets another
 * claim and nothing can release the block resume is about to sweep. */
#if defined(HC_INJECT_BUG_STALE_LAST_ACTIVE)
/* INJECTED BUG stale-last-active: release paths ignore the pin, as JSC's do, so a stopped
 * allocator's last-active block can be released before resume-allocating sweeps it again. */
#  define HC_PROTECTED_BITS 0u
#else
#  define HC_PROTECTED_BITS HC_BITMASK(HC_BIT_PINNED)
#endif

/* sweep.c */
/* Releases a block whose in-use claim the caller holds: unlink, yield, then free. */
void hc_release_block(hc_heap_t *heap, hc_block_handle_t *h, hc_mutator_t *m);
void hc_release_large(hc_heap_t *heap, hc_large_t *l, hc_mutator_t *m);
size_t hc_sweep_some(hc_heap_t *heap, hc_mutator_t *m, size_t max_blocks);

/* collect.c */
/* The automatic collection policy, from allocation slow paths: collects if the bytes handed out
 * since the last collection, plus `incoming`, reach the trigger (heap->gc_trigger). */
void hc_collect_if_triggered(hc_heap_t *heap, hc_mutator_t *m, size_t incoming);
/* The trigger a new heap starts with: the fixed one, or the adaptive one's floor. */
size_t hc_initial_trigger(const hc_config_t *config);
/* Runs a collection with the world stopped by `self` (yield points report it). */
void hc_collect_stopped(hc_heap_t *heap, hc_collection_kind_t kind, hc_mutator_t *self);
bool hc_cell_is_marked(const hc_heap_t *heap, const void *cell);
/* Stops/resumes every mutator's allocators with the world stopped (skips user-stopped ones). */
void hc_stop_all_allocators(hc_heap_t *heap);
void hc_resume_all_allocators(hc_heap_t *heap);

/* object.c */
/* Is p the start of a live cell of this heap (by the liveness rule of block.c, or the header
 * state in a free-listed block)? Reads no cell that a concurrent sweep may be wiping. Caller holds
 * blockset_lock. */
bool hc_lookup_live_cell_locked(hc_heap_t *heap, const void *p);

/* verify.c */
hc_status_t hc_verify_stopped(hc_heap_t *heap, char *msg, size_t msg_size);

#endif /* HC_INTERNAL_H */
