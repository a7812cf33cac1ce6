/* heapcore.h: the heap core's one public header, and its manual.
 *
 * A mark-sweep garbage-collected heap modelled on JavaScriptCore's MarkedSpace: 16 KiB blocks
 * carved into cells of one size class each, per-mutator local allocators with interval free lists,
 * lazy and incremental sweeping with an optional background sweeper, release of empty blocks,
 * stop-the-world full and eden (sticky-mark) collections with a write barrier, weak references and
 * finalizers.
 *
 * Threading model. Every call that touches the heap takes the caller's mutator (`hc_mutator_t`)
 * explicitly; there are no hidden thread-locals, so one OS thread may host several mutators and a
 * scheduler may interleave them. A mutator must be used by one thread at a time. A mutator that
 * "has heap access" may be stopped only at a safepoint: inside a heap call that can collect, in
 * `hc_safepoint`, or while it has released access (`hc_mutator_release_access`). A collection
 * requested by any mutator waits until every other mutator holding access reaches a safepoint.
 *
 * Objects. An object is a cell: an 8-byte header (its size and its number of reference slots),
 * then `nslots` reference slots, then payload bytes, all zeroed at allocation. Sizes are object
 * sizes including the header; the cell holding an object may be larger (hc_cell_size_for).
 * References are only to the start of a cell. Roots are explicit.
 *
 * Errors. Calls that can be misused return `hc_status_t`; allocation returns NULL and leaves the
 * reason in `hc_mutator_last_error`. Misuse never corrupts the heap.
 */
#ifndef HEAPCORE_H
#define HEAPCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Geometry
 * ------------------------------------------------------------------------------------------- */

#define HC_BLOCK_SIZE     16384u /* bytes per block, blocks are aligned to their size */
#define HC_ATOM_SIZE      16u    /* cell granularity inside a block */
#define HC_HEADER_SIZE    8u     /* object header bytes */
#define HC_SLOT_SIZE      8u     /* one reference slot */
#define HC_MAX_CELL_SMALL 8048u  /* largest size served from blocks; larger objects are "large" */
#define HC_MAX_OBJECT     (64u * 1024u * 1024u) /* largest object; larger requests are misuse */
#define HC_MAX_SLOTS      65535u                /* most reference slots one object may have */

/* ---------------------------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------------------------- */

typedef enum hc_status {
  HC_OK = 0,
  HC_ERR_INVALID_ARGUMENT,   /* NULL where an object is required, bad configuration value */
  HC_ERR_SIZE_ZERO,          /* allocation of size 0 */
  HC_ERR_SIZE_TOO_LARGE,     /* size over HC_MAX_OBJECT or over the heap limit */
  HC_ERR_TOO_MANY_SLOTS,     /* header + slots do not fit the size, or over HC_MAX_SLOTS */
  HC_ERR_SLOT_OUT_OF_RANGE,  /* slot index >= the object's slot count */
  HC_ERR_NOT_A_CELL,         /* pointer is not a live cell of this heap */
  HC_ERR_HEAP_LIMIT,         /* heap limit reached, even after a full collection */
  HC_ERR_INJECTED_FAULT,     /* the fault-injection knob failed this block acquisition */
  HC_ERR_OUT_OF_MEMORY,      /* the system allocator refused */
  HC_ERR_ALLOCATION_STOPPED, /* allocation between hc_mutator_stop/resume_allocating */
  HC_ERR_WRONG_STATE,        /* call not valid in the current state (e.g. resume without stop) */
  HC_ERR_UNSUPPORTED,        /* feature compiled out of this build (e.g. yield points) */
  HC_ERR_VERIFY,             /* hc_heap_verify found a broken invariant */
  HC_STATUS_COUNT
} hc_status_t;

/* A static string naming the status ("HC_ERR_HEAP_LIMIT"). Unknown values give "HC_ERR_?". */
const char *hc_status_name(hc_status_t status);

/* ---------------------------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------------------------- */

typedef struct hc_heap hc_heap_t;
typedef struct hc_mutator hc_mutator_t;
typedef struct hc_object hc_object_t; /* opaque: a pointer to a cell's first byte */
typedef struct hc_weak hc_weak_t;

typedef enum hc_collection_kind {
  HC_COLLECT_EDEN = 0, /* trace young objects from roots and the remembered set; marks are sticky */
  HC_COLLECT_FULL = 1, /* trace everything from the roots */
} hc_collection_kind_t;

/* Called at sweep for each dead object allocated with HC_ALLOC_FINALIZE, once. The object's
 * header and payload are intact; its reference slots may point to cells already swept, so a
 * finalizer must not follow them. It must not call into the heap. */
typedef void (*hc_finalizer_fn)(hc_object_t *obj, void *ctx);

/* Yield points: places where another thread's interleaving matters. In builds with
 * HC_YIELD_POINTS they call the registered hook; otherwise they compile to nothing. */
typedef enum hc_yield_point {
  HC_YP_BLOCK_FOUND = 0,    /* a block was found and claimed (in-use), before it is swept */
  HC_YP_ALLOCATION_STOPPED, /* between stop- and resume-allocating */
  HC_YP_BLOCK_UNLINKED,     /* a block was removed from its directory, before it is freed */
  HC_YP_COLLECTOR_PHASE,    /* at each collector phase boundary (see hc_phase_t) */
  HC_YP_SWEEPER_LOOP,       /* inside the sweeper's loop, between blocks */
  HC_YP_SAFEPOINT_WAIT,     /* a collector waiting for mutators to stop (fiber schedulers must
                               run the other mutators here or the wait never ends) */
  HC_YP_ACCESS_WAIT,        /* a mutator waiting for a collection to finish */
  HC_YP_BLOCK_PUBLISHED,    /* a new block entered the block set: the checked calls of other
                               threads (hc_is_live_object) can find it from here on */
  HC_YP_COUNT
} hc_yield_point_t;

/* Collector phases. A collection yields (HC_YP_COLLECTOR_PHASE) and emits HC_EV_PHASE on entering
 * STOPPED, MARKING, END_MARKING and RESUMING, before doing that phase's work. STOPPING and NONE
 * are states only (hc_heap_dump shows them), entered by the stop-the-world handshake. */
typedef enum hc_phase {
  HC_PHASE_NONE = 0,    /* mutators running */
  HC_PHASE_STOPPING,    /* a collector asked the world to stop and waits for safepoints */
  HC_PHASE_STOPPED,     /* every other mutator parked; next: stop allocators, gather roots */
  HC_PHASE_MARKING,     /* next: (full) invalidate marks; trace from roots and remembered set */
  HC_PHASE_END_MARKING, /* next: clear weak references, update directory bits, bump versions */
  HC_PHASE_RESUMING,    /* allocation prepared; the world resumes next */
  HC_PHASE_COUNT
} hc_phase_t;

/* `mutator` is the mutator on whose behalf the heap yields, or NULL for the background sweeper
 * and at HC_YP_BLOCK_PUBLISHED (block creation does not know who asked). */
typedef void (*hc_yield_fn)(void *ctx, hc_yield_point_t point, hc_mutator_t *mutator);

/* Heap events, for tracing. Identities are serial numbers, never addresses, so traces of the
 * same program are identical from run to run. */
typedef enum hc_event_kind {
  HC_EV_BLOCK_ACQUIRED = 0, /* a new block joined a directory */
  HC_EV_BLOCK_SWEPT,        /* a block was swept (arg = 1 if into a free list) */
  HC_EV_BLOCK_RELEASED,     /* a block left its directory and went back to the system */
  HC_EV_BLOCK_STOLEN,       /* an empty block moved to another size class (arg = its old one) */
  HC_EV_LARGE_ALLOCATED,
  HC_EV_LARGE_RELEASED,
  HC_EV_ALLOCATOR_STOPPED, /* block = its new last-active block; arg = live cells in it */
  HC_EV_ALLOCATOR_RESUMED,
  HC_EV_PHASE, /* arg = hc_phase_t, cell_size = collection kind */
  HC_EV_MUTATOR_ATTACHED,
  HC_EV_MUTATOR_DETACHED,
  HC_EV_COUNT
} hc_event_kind_t;

typedef struct hc_event {
  hc_event_kind_t kind;
  uint32_t mutator;   /* mutator id; 0 for sweeps (whoever swept) and the sweeper's releases */
  uint32_t cell_size; /* size class of the block, or cell bytes of a large object */
  uint64_t block;     /* block or large object serial number (starts at 1), 0 if none */
  uint64_t arg;
} hc_event_t;

typedef void (*hc_event_fn)(void *ctx, const hc_event_t *event);

/* ---------------------------------------------------------------------------------------------
 * Heap lifetime and configuration
 * ------------------------------------------------------------------------------------------- */

typedef struct hc_config {
  size_t heap_limit;         /* bytes of blocks plus large objects; 0 = no limit */
  size_t gc_trigger_bytes;   /* when an allocation slow path collects: HC_GC_TRIGGER_ADAPTIVE
                                (hc_config_init's default) once the bytes handed to allocators
                                since the last collection reach a budget proportional to the
                                bytes the last full collection found live (see below); another
                                number: after exactly that many bytes, whatever is live; 0 = only
                                explicit GCs */
  unsigned full_gc_every;    /* every Nth automatic collection is full, the others eden */
  unsigned full_gc_growth;   /* an automatic collection is full once eden collections have
                                promoted this percent of the old generation (live bytes after the
                                last full one, at least gc_trigger_bytes, or HC_GC_MIN_TRIGGER
                                with the adaptive trigger) since the last full one; with
                                full_gc_every also 0, every automatic collection is full */
  unsigned version_limit;    /* largest mark / newly-allocated version before wraparound resets
                                every block (2..255); small values make wraparound easy to reach */
  bool scribble;             /* fill dead cells with HC_SCRIBBLE_BYTE instead of zero */
  bool release_empty_blocks; /* sweeping (incremental or background) releases blocks it finds
                                empty; otherwise only hc_shrink releases them (which allocation
                                also runs once when it reaches the heap limit) */
  uint64_t seed;             /* seeds the free-list secrets: determinism, no randomness */
  bool self_checks;          /* check invariants where they break, not where a later use notices:
                                a claim (by a sweep, a steal, a shrink, an allocator) that would
                                take a block in use or a stopped allocator's pinned last-active
                                block, a collection that leaves the heap failing hc_heap_verify
                                (checked before the world resumes), a version wraparound that
                                left a block's bits current, and (HC_DEBUG builds) an object
                                given a cell smaller than itself, are fatal errors there. Costs
                                a bit test per claim and a verification per collection;
                                heapfuzz's eager oracle turns it on */
  hc_finalizer_fn finalizer;
  void *finalizer_ctx;
} hc_config_t;

#define HC_SCRIBBLE_BYTE 0xdb

/* gc_trigger_bytes = HC_GC_TRIGGER_ADAPTIVE: the trigger follows the live heap, as Go (GOGC=100),
 * Boehm (GC_free_space_divisor) and JavaScriptCore size theirs. A full collection that finds L
 * bytes live bounds the heap at L * (1 + HC_GC_HEAP_GROWTH / 100): the next automatic collection
 * waits for L * HC_GC_HEAP_GROWTH / 100 bytes of allocation, and each eden collection leaves
 * what remains of the bound after its survivors (at least HC_GC_MIN_TRIGGER each time). Marking
 * then costs a bounded fraction of allocation whatever the heap's size, and the heap stays about
 * twice what survived. An eden collection never raises the bound: it counts every old object as
 * live, garbage promoted just before it died included. The floor keeps small heaps from
 * collecting every few blocks. With the adaptive trigger an automatic collection is also full
 * (besides what full_gc_every and full_gc_growth ask) when the remembered set holds a quarter or
 * more of the old generation's objects: the eden collection would trace from them anyway, and
 * only a full one frees old garbage. A fixed byte count is the only way to get a trigger that
 * does not move, and leaves the choice of eden or full to full_gc_every and full_gc_growth. */
#define HC_GC_TRIGGER_ADAPTIVE SIZE_MAX
#define HC_GC_HEAP_GROWTH      100u
#define HC_GC_MIN_TRIGGER      ((size_t)4 << 20)

/* Fills *config with the defaults: no limit, the adaptive collection trigger, every automatic
 * collection full (full_gc_every = full_gc_growth = 0), version_limit 255. */
void hc_config_init(hc_config_t *config);

hc_status_t hc_heap_create(const hc_config_t *config, hc_heap_t **out);
/* Fails with HC_ERR_WRONG_STATE while mutators are attached or the sweeper runs. Runs the
 * finalizers of every remaining finalizable object, then frees everything. */
hc_status_t hc_heap_destroy(hc_heap_t *heap);

/* Registers the scheduler's yield hook (NULL to remove). HC_ERR_UNSUPPORTED in builds without
 * HC_YIELD_POINTS. Set it while no other thread uses the heap. */
hc_status_t hc_heap_set_yield_hook(hc_heap_t *heap, hc_yield_fn fn, void *ctx);
/* Registers an event hook (NULL to remove); available in every build. */
void hc_heap_set_event_hook(hc_heap_t *heap, hc_event_fn fn, void *ctx);

/* Fault injection: the nth fallible step of acquiring memory from now fails (1 = the next one);
 * 0 disarms. The steps, in the order one new block takes them: reserving its bytes against the
 * limit, its handle, the pool's growth when it has no block left (a 2 MiB chunk), entering it in
 * the block set, growing its directory when full; a large object: reserving, its memory, the
 * block set, the large directory. A failed step is undone as a real out-of-memory would be, and
 * the allocation that met it returns NULL with HC_ERR_INJECTED_FAULT. One-shot: it disarms itself
 * when it fires. */
void hc_heap_fail_allocation(hc_heap_t *heap, uint64_t nth);

/* ---------------------------------------------------------------------------------------------
 * Mutators, access and safepoints
 * ------------------------------------------------------------------------------------------- */

/* Attaches a new mutator with heap access. Mutator ids are 1, 2, ... in attach order. */
hc_status_t hc_mutator_attach(hc_heap_t *heap, hc_mutator_t **out);
/* Gives back the mutator's blocks, free lists (pins included) and remembered objects, drops its
 * roots, and frees it. A mutator without access first reacquires it, waiting for any collection
 * in progress. */
hc_status_t hc_mutator_detach(hc_mutator_t *mutator);
uint32_t hc_mutator_id(const hc_mutator_t *mutator);
hc_heap_t *hc_mutator_heap(const hc_mutator_t *mutator);

/* Parks here if a collection was requested. Call it in long loops that do not allocate. */
void hc_safepoint(hc_mutator_t *mutator);
/* Release access before blocking outside the heap: the mutator counts as stopped until it
 * reacquires. Releasing gives back its current blocks and free lists (a mutator that stopped
 * allocating itself keeps its pinned last-active blocks). While released it must not touch heap
 * objects; allocation fails with HC_ERR_WRONG_STATE. Both return HC_ERR_WRONG_STATE when the
 * mutator already is in the requested state. */
hc_status_t hc_mutator_release_access(hc_mutator_t *mutator);
hc_status_t hc_mutator_acquire_access(hc_mutator_t *mutator);

/* Stop and resume allocating for this mutator's local allocators (JSC's stopAllocating /
 * resumeAllocating). Stop flushes each free list into the block's newly-allocated bits and keeps
 * the block as "last-active"; that block stays pinned (nothing releases, steals or allocates from
 * it) until resume, which re-takes it and rebuilds its free list. Collections in between do not
 * end the protection: the block's cells may all die and the block may look empty, and resume
 * must still find it where it was (the window JSC's last-active block leaves open). Collections
 * stop and then forget the allocators of mutators that did not stop themselves, as JSC's
 * prepareForAllocation does. Allocating while stopped fails with HC_ERR_ALLOCATION_STOPPED. */
hc_status_t hc_mutator_stop_allocating(hc_mutator_t *mutator);
hc_status_t hc_mutator_resume_allocating(hc_mutator_t *mutator);

/* The status left by the mutator's last failed allocation (HC_OK after a success). */
hc_status_t hc_mutator_last_error(const hc_mutator_t *mutator);

/* ---------------------------------------------------------------------------------------------
 * Roots
 * ------------------------------------------------------------------------------------------- */

/* A per-mutator shadow stack of root slots: the collector reads *slot for each pushed slot.
 * Pop in LIFO order. The slot memory must stay valid while pushed. A slot holding anything but a
 * live object of this heap (NULL aside) is skipped and counted in hc_stats_t.bad_roots; a stale
 * handle is never revived. hc_heap_verify reports a root to a dead cell: it cannot tell a stale
 * handle from a collector that freed a rooted object. */
static inline hc_status_t hc_root_push(hc_mutator_t *mutator, hc_object_t **slot);
static inline hc_status_t hc_root_pop(hc_mutator_t *mutator, size_t count);
/* hc_root_pop fails with HC_ERR_WRONG_STATE when popping more than were pushed. */
/* Heap-wide root slots, removable in any order. Add and remove only with heap access (not
 * checked). Removing a slot that is not registered fails with HC_ERR_WRONG_STATE. */
hc_status_t hc_global_root_add(hc_mutator_t *mutator, hc_object_t **slot);
hc_status_t hc_global_root_remove(hc_mutator_t *mutator, hc_object_t **slot);

/* ---------------------------------------------------------------------------------------------
 * Allocation and object access
 * ------------------------------------------------------------------------------------------- */

#define HC_ALLOC_FINALIZE 1u /* run the heap's finalizer when the object dies */

/* Allocates a zeroed object of `size` total bytes (header included) with `nslots` reference slots
 * (all NULL). May collect (and so park) on its slow path. NULL on failure, reason in
 * hc_mutator_last_error. */
hc_object_t *hc_alloc(hc_mutator_t *mutator, size_t size, uint32_t nslots);
hc_object_t *hc_alloc_ex(hc_mutator_t *mutator, size_t size, uint32_t nslots, unsigned flags);

/* The cell bytes an object of `size` occupies (its size class, or the large-object rounding);
 * 0 for an invalid size. Live-byte statistics count these. */
size_t hc_cell_size_for(size_t size);

size_t hc_object_size(const hc_object_t *obj);
uint32_t hc_object_slot_count(const hc_object_t *obj);
void *hc_object_payload(hc_object_t *obj); /* after the slots; 8-byte aligned */
size_t hc_object_payload_size(const hc_object_t *obj);

/* Unchecked fast accessors: obj must be a live object of the heap, slot < its slot count.
 * hc_store runs the write barrier. */
static inline hc_object_t *hc_load(const hc_object_t *obj, uint32_t slot);
static inline void hc_store(hc_mutator_t *mutator, hc_object_t *obj, uint32_t slot,
                            hc_object_t *value);

/* Checked accessors: validate every pointer and index first and return an error instead of
 * touching memory that is not a live cell of this heap. Without heap access they fail with
 * HC_ERR_WRONG_STATE (and hc_is_live_object answers false), never racing with a collection. */
hc_status_t hc_load_checked(hc_mutator_t *mutator, hc_object_t *obj, uint32_t slot,
                            hc_object_t **out);
hc_status_t hc_store_checked(hc_mutator_t *mutator, hc_object_t *obj, uint32_t slot,
                             hc_object_t *value);
/* True if p is the start of a live cell of this heap (as far as a mutator can tell: a cell that
 * died but was not yet swept counts as dead once a collection has found it unreachable). */
bool hc_is_live_object(hc_mutator_t *mutator, const void *p);

/* ---------------------------------------------------------------------------------------------
 * Weak references
 * ------------------------------------------------------------------------------------------- */

/* A weak reference does not keep its target alive; a collection that finds the target dead
 * clears it (eden collections clear those to dead young objects, full ones all dead). Create and
 * destroy need heap access (HC_ERR_WRONG_STATE without); hc_weak_get does not. */
hc_status_t hc_weak_create(hc_mutator_t *mutator, hc_object_t *target, hc_weak_t **out);
hc_object_t *hc_weak_get(const hc_weak_t *weak); /* NULL once cleared */
hc_status_t hc_weak_destroy(hc_mutator_t *mutator, hc_weak_t *weak);

/* ---------------------------------------------------------------------------------------------
 * Collection, sweeping, shrinking, iteration
 * ------------------------------------------------------------------------------------------- */

/* Stops the world, marks, clears weak references, updates the directories, resumes. */
hc_status_t hc_collect(hc_mutator_t *mutator, hc_collection_kind_t kind);

/* Incremental sweep: sweeps up to `max_blocks` unswept blocks (and large objects) no one holds.
 * Returns how many were swept. Releases the empty ones if config.release_empty_blocks. */
size_t hc_sweep_step(hc_mutator_t *mutator, size_t max_blocks);
/* Sweeps every unswept block no one holds. Returns how many were swept. */
size_t hc_sweep_all(hc_mutator_t *mutator);
/* Releases every empty block and dead large object no one holds or protects. Returns how many. */
size_t hc_shrink(hc_mutator_t *mutator);

/* Visits every live object with the world stopped and allocation stopped everywhere. The visitor
 * must not call into the heap; returning false ends the walk early. */
typedef bool (*hc_visit_fn)(hc_object_t *obj, void *ctx);
hc_status_t hc_heap_iterate(hc_mutator_t *mutator, hc_visit_fn visit, void *ctx);

/* The background sweeper: a thread that sweeps unswept blocks after each collection, stopping for
 * collections like a mutator. hc_sweeper_run_step does one iteration of its loop on the calling
 * thread (for schedulers that run the sweeper as a fiber); it needs no running thread. */
hc_status_t hc_sweeper_start(hc_heap_t *heap);
/* Waits for the sweeper thread to end. Call it without heap access: the sweeper parks for a
 * collection like a mutator, and a collection waits for every mutator holding access. */
hc_status_t hc_sweeper_stop(hc_heap_t *heap);
size_t hc_sweeper_run_step(hc_heap_t *heap, size_t max_blocks);

/* ---------------------------------------------------------------------------------------------
 * Oracle and statistics
 * ------------------------------------------------------------------------------------------- */

/* Stops the world and checks every structural invariant: directory bits against block slots and
 * handles, every allocator's current and last-active blocks, every free list, every live cell's
 * header and references, counts. On failure returns HC_ERR_VERIFY and writes one line naming the
 * invariant into msg (if msg_size > 0). */
hc_status_t hc_heap_verify(hc_mutator_t *mutator, char *msg, size_t msg_size);

typedef struct hc_stats {
  uint64_t live_bytes; /* cell bytes marked by the last collection plus, for eden
                          collections, those still sticky-marked; exact after a full one */
  uint64_t live_objects;
  uint64_t committed_bytes; /* blocks and large objects held from the system */
  uint64_t blocks;          /* blocks in directories */
  uint64_t large_objects;
  uint64_t bytes_allocated; /* object bytes handed out since creation */
  uint64_t objects_allocated;
  uint64_t full_collections;
  uint64_t eden_collections;
  uint64_t blocks_swept;
  uint64_t blocks_released;
  uint64_t blocks_stolen;
  uint64_t finalizers_run;
  uint64_t weak_cleared;
  uint64_t version_wraps;
  uint64_t bad_roots; /* root slots that held something not a live cell (skipped) */
  uint64_t block_acquisitions;
  uint64_t failed_acquisitions;
} hc_stats_t;

void hc_heap_get_stats(hc_heap_t *heap, hc_stats_t *out);

/* Writes a human-readable snapshot of the heap's state (phase, mutators, their allocators'
 * current and last-active blocks with those blocks' directory bits, directory summaries) to out.
 * With a mutator that has access, the world is stopped for the snapshot, so it is consistent and
 * race-free. With NULL (a crash handler, or a program whose other threads are all stopped) it
 * reads without synchronization: a best effort. */
void hc_heap_dump(hc_heap_t *heap, hc_mutator_t *mutator, FILE *out);

/* ---------------------------------------------------------------------------------------------
 * Inline fast paths
 *
 * Root pushes and reference loads and stores are the hottest calls a program makes (binary-trees
 * makes about three per object), so their fast paths are inline here, as handle scopes and write
 * barriers are in V8 and JavaScriptCore. That fixes two layouts, which the library checks at
 * compile time: a mutator starts with its root stack, and an object header is
 * {uint32 size, uint16 nslots, uint8 flags, uint8 state} followed by the slots. The slow paths
 * are ordinary functions (the hc__ prefix: not for direct use).
 * ------------------------------------------------------------------------------------------- */

typedef struct hc__root_stack {
  hc_object_t ***slots;
  size_t count;
  size_t capacity;
} hc__root_stack_t;

#define HC__STATE_OFFSET 7u    /* the header byte the write barrier reads */
#define HC__STATE_NEW    0xa1u /* allocated since the collection that last saw it: young */
#define HC__STATE_OLD    0xa2u /* marked by a collection, not remembered */

hc_status_t hc__root_push_slow(hc_mutator_t *mutator, hc_object_t **slot);
hc_status_t hc__root_pop_slow(hc_mutator_t *mutator, size_t count);
void hc__write_barrier_slow(hc_mutator_t *mutator, hc_object_t *obj);

static inline hc_status_t hc_root_push(hc_mutator_t *mutator, hc_object_t **slot) {
  hc__root_stack_t *rs = (hc__root_stack_t *)(void *)mutator;
  if (mutator && slot && rs->count < rs->capacity) {
    rs->slots[rs->count++] = slot;
    return HC_OK;
  }
  return hc__root_push_slow(mutator, slot);
}

static inline hc_status_t hc_root_pop(hc_mutator_t *mutator, size_t count) {
  hc__root_stack_t *rs = (hc__root_stack_t *)(void *)mutator;
  if (mutator && count <= rs->count) {
    rs->count -= count;
    return HC_OK;
  }
  return hc__root_pop_slow(mutator, count);
}

static inline hc_object_t **hc__slot_address(const hc_object_t *obj, uint32_t slot) {
  return (hc_object_t **)((char *)(uintptr_t)obj + HC_HEADER_SIZE) + slot;
}

static inline unsigned char hc__state_of(const hc_object_t *obj) {
  return __atomic_load_n((const unsigned char *)obj + HC__STATE_OFFSET, __ATOMIC_RELAXED);
}

/* Relaxed atomics: mutators on other threads may race on a slot (the program's race, not the
 * heap's), and the collector reads slots only with the world stopped. */
static inline hc_object_t *hc_load(const hc_object_t *obj, uint32_t slot) {
  return __atomic_load_n(hc__slot_address(obj, slot), __ATOMIC_RELAXED);
}

/* Stop-the-world collection means store and barrier need no ordering between them: no collector
 * runs between the two. Only an old object gaining a young referent needs remembering. */
static inline void hc_store(hc_mutator_t *mutator, hc_object_t *obj, uint32_t slot,
                            hc_object_t *value) {
  __atomic_store_n(hc__slot_address(obj, slot), value, __ATOMIC_RELAXED);
  if (value && hc__state_of(obj) == HC__STATE_OLD && hc__state_of(value) == HC__STATE_NEW)
    hc__write_barrier_slow(mutator, obj);
}

#ifdef __cplusplus
}
#endif
#endif /* HEAPCORE_H */
