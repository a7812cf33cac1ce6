/* heapbackend.h: what heapfuzz needs from a garbage-collected heap. The manual for plugging in
 * your own.
 *
 * heapfuzz runs programs of heap operations (include/heapops.h) under a shadow model that knows
 * what must still be alive. The interpreter never calls a heap directly: it calls the functions
 * of one hb_backend_t, a table you fill in for your heap. The heap core shipped here is the first
 * backend (backends/heapcore.c, a 1:1 mapping onto include/heapcore.h); tests/backend_nogc.c is a
 * minimal one (malloc, no collection) showing the skeleton.
 *
 * What a backend provides
 *   - Required entries (never NULL): create/destroy a heap for one program; attach the program's
 *     first mutator; allocate an object with N reference slots and a payload of raw bytes the
 *     oracle fills and checks; load and store a reference slot; register and unregister root
 *     slots; create, read and destroy weak references; a full collection.
 *   - Optional entries, each promised by a capability bit (HB_CAP_*). An entry whose bit is not
 *     set is never called, so it may be NULL. An op that needs a missing capability is skipped,
 *     deterministically, and counted per capability (`heapfuzz run` prints "skipped: 12 (no
 *     shrink)"); a check whose soundness rests on a missing capability is off, and `heapfuzz run`
 *     says which (ops_describe_backend).
 *   - Hooks back from the heap (hb_hooks_t): an object was finalized, a collection ended, an
 *     optional event trace, and (HB_CAP_YIELD_POINTS) yield points for the deterministic
 *     scheduler.
 *
 * Threads. A mutator (hb_mutator_t) is one thread's access to the heap. Every entry taking a
 * mutator is called on the thread that attached it, holding heap access (HB_CAP_ACCESS: between
 * acquire and release; otherwise from attach to detach). In deterministic mode every logical
 * thread is a fiber on one OS thread, switched only inside hooks.yield or between ops: a heap
 * that knows its mutators by OS thread (thread-local state) or scans native stacks
 * conservatively cannot run several mutators there, and should not claim HB_CAP_YIELD_POINTS.
 * In real-thread mode (HB_CAP_MUTATORS) each logical thread is a pthread and entries are called
 * concurrently. Entries taking only the heap (sweeper_step, fail_next, live_bytes) may be called
 * from any thread, with or without a mutator.
 *
 * Lifetimes. create copies what it keeps of settings and hooks (both are the caller's stack).
 * The interpreter removes its roots and destroys its weak references before destroy, except
 * after a finding, when destroy must free whatever is left. It never registers one slot twice.
 *
 * Objects. An object is allocated as `size` bytes of the op language's nominal layout: an
 * HB_OBJECT_HEADER-byte header, nslots HB_OBJECT_SLOT-byte reference slots, then the payload
 * (the op language guarantees size >= HB_OBJECT_HEADER + HB_OBJECT_SLOT * nslots, nslots <= 32,
 * size < 65536). The layout is nominal: a backend may store objects however it likes, as long as
 * payload() hands back the payload's bytes, writable, keeping what was written while the object
 * lives, and slots hold references the collector traces. A fresh object's slots read NULL and its
 * payload reads zero. Objects never move: the model knows an object by the address alloc
 * returned, so a copying or compacting collector needs a backend that hands out stable handles.
 *
 * Roots. A root is a slot (an hb_object_t * variable) owned by the interpreter: whatever the
 * slot holds when a collection runs is live. The interpreter writes the slot directly; the heap
 * reads it during collections, while the slot's owner thread is parked at a safepoint or inside
 * a heap call. Global roots (root_add / root_remove) are any mutator's; local roots
 * (HB_CAP_LOCAL_ROOTS: root_push / root_pop) are one mutator's LIFO stack, gone at its detach.
 *
 * Status codes. Entries returning hb_status_t return HB_OK (0) on success. The interpreter
 * understands three failures of alloc: HB_ERR_LIMIT (the heap is full, even after collecting),
 * HB_ERR_INJECTED (fault injection failed this allocation), HB_ERR_STOPPED (the mutator stopped
 * allocating). Any other failure is the backend's own code (>= HB_ERR_BACKEND), named by
 * status_name, and is a finding wherever it appears.
 *
 * Determinism. Same program, same build: the same calls in the same order. A backend must not
 * let addresses, clocks or randomness change which hooks it calls, in what order, with what
 * arguments (event trace lines name objects by serial numbers, never addresses): heapfuzz's
 * findings replay because of this.
 */
#ifndef HEAPBACKEND_H
#define HEAPBACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hb_heap hb_heap_t;       /* the backend's heap (its own type, cast) */
typedef struct hb_mutator hb_mutator_t; /* one thread's access to a heap */
typedef struct hb_object hb_object_t;   /* an object: the address alloc returned */
typedef struct hb_weak hb_weak_t;       /* a weak reference */

/* The nominal object layout (see "Objects"). */
#define HB_OBJECT_HEADER 8u
#define HB_OBJECT_SLOT   8u

typedef int hb_status_t;
enum {
  HB_OK = 0,
  HB_ERR_LIMIT = 1,    /* alloc: the heap limit was reached, even after a collection */
  HB_ERR_INJECTED = 2, /* alloc: fault injection (fail_next) failed it */
  HB_ERR_STOPPED = 3,  /* alloc: the mutator stopped allocating (stop_allocating) */
  HB_ERR_BACKEND = 16  /* and above: the backend's own codes (status_name names them) */
};

/* Capabilities: what the optional entries and the oracle's stronger checks may rely on. */
typedef enum hb_capability {
  HB_CAP_EDEN = 1u << 0,              /* collect(m, false): a young-generation collection */
  HB_CAP_SWEEP_STEP = 1u << 1,        /* sweep_step: sweep up to n blocks incrementally */
  HB_CAP_SWEEP_ALL = 1u << 2,         /* sweep_all: finish sweeping */
  HB_CAP_SHRINK = 1u << 3,            /* shrink: return empty memory to the system */
  HB_CAP_STOP_ALLOCATING = 1u << 4,   /* stop_allocating / resume_allocating (JSC's
                                         stopAllocating: a heap walk's window) */
  HB_CAP_ITERATE = 1u << 5,           /* iterate: visit every object the heap holds */
  HB_CAP_VERIFY = 1u << 6,            /* verify: the heap's own consistency check */
  HB_CAP_FAULT_INJECTION = 1u << 7,   /* fail_next: the nth memory acquisition fails */
  HB_CAP_SWEEPER_STEP = 1u << 8,      /* sweeper_step: one step of a background sweeper's loop,
                                         run on a thread without a mutator */
  HB_CAP_MUTATORS = 1u << 9,          /* attach / detach of further mutators, on other threads */
  HB_CAP_ACCESS = 1u << 10,           /* release_access / acquire_access / safepoint. Without
                                         access a mutator touches no object: alloc fails, is_live
                                         answers false, checked calls and weak_create/destroy
                                         return an error; none of them races with a collection */
  HB_CAP_YIELD_POINTS = 1u << 11,     /* hooks.yield at interleaving points and waits: what the
                                         deterministic scheduler's fibers need (with MUTATORS and
                                         ACCESS) to run several mutators */
  HB_CAP_EXACT_DEATH = 1u << 12,      /* a precise heap: after a full collection, every object
                                         unreachable from the roots is dead, and weak references
                                         to it read NULL */
  HB_CAP_EXACT_LIVE_BYTES = 1u << 13, /* live_bytes after a full collection equals the sum of
                                         cell_bytes over the reachable objects */
  HB_CAP_EXACT_FINALIZERS = 1u << 14, /* every finalizable object is finalized exactly once by
                                         the end of destroy (never while reachable: always) */
  HB_CAP_LIVENESS = 1u << 15,         /* is_live: is this address a live object's */
  HB_CAP_SHAPE = 1u << 16,            /* shape: an object's size and slot count, from the heap */
  HB_CAP_LOCAL_ROOTS = 1u << 17,      /* root_push / root_pop */
  HB_CAP_DUMP = 1u << 18,             /* dump: the heap's state, printed after a finding */
  HB_CAP_CHECKED = 1u << 19,          /* load_checked / store_checked: any pointer may be passed */
  HB_CAP_BACKGROUND_SWEEPER = 1u << 20, /* sweeper_start / sweeper_stop: the heap's own sweeping
                                           thread (real-thread mode only: it runs free) */
  HB_CAP_COUNT = 21                     /* number of capability bits */
} hb_capability_t;

enum { HB_ALLOC_FINALIZE = 1u }; /* alloc flags: call hooks.finalized when the object dies */

/* What the heap calls back. ctx is the interpreter's. Every hook may be called inside any entry
 * that can collect or sweep, on the thread making that call. */
typedef struct hb_hooks {
  void *ctx;
  /* A dead object allocated with HB_ALLOC_FINALIZE is being reclaimed (or the heap destroyed):
   * once per object. The hook reads only what the backend's shape/payload give; it never calls
   * into the heap. */
  void (*finalized)(void *ctx, hb_object_t *obj);
  /* A collection ended (full or eden), called in the stopped world, before mutators resume. The
   * oracle settles its model on the count of these, so it must be called exactly once per
   * collection, explicit or automatic (a collect that returns HB_OK without it is a finding). */
  void (*collected)(void *ctx, bool full);
  /* Optional trace: one line (no newline) per heap event, for `heapfuzz run --trace`, by
   * convention "  event NAME key=value ...". NULL when not tracing, so the backend can skip
   * formatting. */
  void (*trace)(void *ctx, const char *line);
  /* HB_CAP_YIELD_POINTS: an interleaving point named `point`, or (wait) a place where this
   * thread cannot go on until another runs (a collector waiting for safepoints, a mutator
   * waiting for a collection): the deterministic scheduler may switch fibers here. NULL when no
   * scheduler runs. */
  void (*yield)(void *ctx, const char *point, bool wait);
} hb_hooks_t;

/* The heap a program asks for. */
typedef struct hb_settings {
  uint8_t config[4]; /* the program's config bytes (ops_config_t), the backend's to interpret:
                        collection trigger and policy, debug modes. Any value is valid. */
  size_t heap_limit; /* bytes the heap may grow to (alloc fails with HB_ERR_LIMIT beyond) */
  bool self_checks;  /* the eager oracle asks the heap to check itself where it can */
} hb_settings_t;

/* Heap iteration's visitor: false stops the walk. Called with the world stopped: it must not
 * call into the heap. */
typedef bool (*hb_visit_fn)(hb_object_t *obj, void *ctx);

typedef struct hb_backend {
  const char *name; /* `heapfuzz run --backend NAME` */
  uint32_t caps;    /* hb_capability_t bits */
  const char *(*status_name)(hb_status_t status);

  /* Lifetime. create makes an empty heap (no mutator attached); destroy is called with every
   * mutator detached, finalizes what is left (HB_CAP_EXACT_FINALIZERS: every finalizable object
   * not finalized yet) and frees everything. */
  hb_status_t (*create)(const hb_settings_t *settings, const hb_hooks_t *hooks, hb_heap_t **out);
  hb_status_t (*destroy)(hb_heap_t *heap);

  /* Mutators. attach is required (one mutator at least); a second attached mutator needs
   * HB_CAP_MUTATORS. detach gives back everything the mutator holds (its local roots too). */
  hb_status_t (*attach)(hb_heap_t *heap, hb_mutator_t **out);
  hb_status_t (*detach)(hb_mutator_t *m);
  hb_status_t (*release_access)(hb_mutator_t *m); /* HB_CAP_ACCESS */
  hb_status_t (*acquire_access)(hb_mutator_t *m); /* HB_CAP_ACCESS */
  void (*safepoint)(hb_mutator_t *m);             /* HB_CAP_ACCESS: park if a collection waits */

  /* Objects. alloc returns NULL and sets *status on failure; it may collect first. */
  hb_object_t *(*alloc)(hb_mutator_t *m, size_t size, uint32_t nslots, unsigned flags,
                        hb_status_t *status);
  hb_object_t *(*load)(hb_mutator_t *m, hb_object_t *obj, uint32_t slot);
  void (*store)(hb_mutator_t *m, hb_object_t *obj, uint32_t slot, hb_object_t *value);
  uint8_t *(*payload)(hb_object_t *obj, size_t *size); /* payload_size bytes, see "Objects" */
  /* HB_CAP_SHAPE: the size and slot count the heap keeps for obj (checked against the model). */
  void (*shape)(const hb_object_t *obj, size_t *size, uint32_t *nslots);
  /* HB_CAP_LIVENESS: p is the address of a live object (any pointer may be asked about: a
   * dropped or dead object's, an interior pointer, one into memory the heap gave back). */
  bool (*is_live)(hb_mutator_t *m, const void *p);
  /* HB_CAP_CHECKED: load and store that validate obj (any pointer, as for is_live), slot and
   * value first, and return an error instead of touching what is not a live object's slot. */
  hb_status_t (*load_checked)(hb_mutator_t *m, hb_object_t *obj, uint32_t slot, hb_object_t **out);
  hb_status_t (*store_checked)(hb_mutator_t *m, hb_object_t *obj, uint32_t slot,
                               hb_object_t *value);

  /* Roots (see "Roots"). */
  hb_status_t (*root_add)(hb_mutator_t *m, hb_object_t **slot);
  hb_status_t (*root_remove)(hb_mutator_t *m, hb_object_t **slot);
  hb_status_t (*root_push)(hb_mutator_t *m, hb_object_t **slot); /* HB_CAP_LOCAL_ROOTS */
  hb_status_t (*root_pop)(hb_mutator_t *m, size_t count);        /* HB_CAP_LOCAL_ROOTS */

  /* Weak references: weak_get reads NULL once the target died (HB_CAP_EXACT_DEATH: at the
   * latest by the end of the next full collection after it became unreachable). */
  hb_status_t (*weak_create)(hb_mutator_t *m, hb_object_t *target, hb_weak_t **out);
  hb_object_t *(*weak_get)(hb_mutator_t *m, hb_weak_t *weak);
  hb_status_t (*weak_destroy)(hb_mutator_t *m, hb_weak_t *weak);

  /* Collection and sweeping. collect(m, true) is a full collection (required); collect(m,
   * false) an eden one (HB_CAP_EDEN). */
  hb_status_t (*collect)(hb_mutator_t *m, bool full);
  void (*sweep_step)(hb_mutator_t *m, size_t max_blocks);   /* HB_CAP_SWEEP_STEP */
  void (*sweep_all)(hb_mutator_t *m);                       /* HB_CAP_SWEEP_ALL */
  void (*shrink)(hb_mutator_t *m);                          /* HB_CAP_SHRINK */
  void (*sweeper_step)(hb_heap_t *heap, size_t max_blocks); /* HB_CAP_SWEEPER_STEP */
  /* HB_CAP_BACKGROUND_SWEEPER: the heap's own sweeper thread, started and stopped from any
   * thread not holding heap access (an error when already in that state); stopped before
   * destroy. Its finalizers run on that thread. */
  hb_status_t (*sweeper_start)(hb_heap_t *heap);
  hb_status_t (*sweeper_stop)(hb_heap_t *heap);
  hb_status_t (*stop_allocating)(hb_mutator_t *m);   /* HB_CAP_STOP_ALLOCATING */
  hb_status_t (*resume_allocating)(hb_mutator_t *m); /* HB_CAP_STOP_ALLOCATING */

  /* Inspection. */
  hb_status_t (*iterate)(hb_mutator_t *m, hb_visit_fn visit, void *ctx); /* HB_CAP_ITERATE */
  /* HB_CAP_VERIFY: HB_OK, or a failure with a one-line reason in msg. */
  hb_status_t (*verify)(hb_mutator_t *m, char *msg, size_t msg_size);
  /* HB_CAP_EXACT_LIVE_BYTES: bytes the heap counts live, and what one object counts for. */
  uint64_t (*live_bytes)(hb_heap_t *heap);
  uint64_t (*cell_bytes)(size_t size, uint32_t nslots);
  void (*fail_next)(hb_heap_t *heap, unsigned nth);          /* HB_CAP_FAULT_INJECTION */
  void (*dump)(hb_heap_t *heap, hb_mutator_t *m, FILE *out); /* HB_CAP_DUMP; m may be NULL */
} hb_backend_t;

/* The heap core (include/heapcore.h), every capability: backends/heapcore.c. */
extern const hb_backend_t hb_heapcore_backend;


/* ---------------------------------------------------------------------------------------------
 * Helpers for a backend (every backend of this repository uses them)
 * ------------------------------------------------------------------------------------------- */

/* One trace line through hooks->trace: nothing, not even the formatting, when not tracing. */
static inline void hb_tracef(const hb_hooks_t *hooks, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void hb_tracef(const hb_hooks_t *hooks, const char *fmt, ...) {
  if (!hooks->trace) return;
  char line[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  hooks->trace(hooks->ctx, line);
}

/* status_name of a backend with codes of its own: names[st] where its table (indexed by status,
 * of `count` entries) has one, else `unknown`. */
static inline const char *hb_status_lookup(const char *const *names, size_t count, hb_status_t st,
                                           const char *unknown) {
  return st >= 0 && (size_t)st < count && names[st] ? names[st] : unknown;
}

/* A heap of one mutator (no HB_CAP_MUTATORS) embeds it with an `attached` flag: attach hands it
 * out once (`busy` while it is out), detach takes it back (`not_attached` when it is not out). */
static inline hb_status_t hb_attach_one(bool *attached, void *mutator, hb_mutator_t **out,
                                        hb_status_t busy) {
  if (*attached) return busy;
  *attached = true;
  *out = (hb_mutator_t *)mutator;
  return HB_OK;
}

static inline hb_status_t hb_detach_one(bool *attached, hb_status_t not_attached) {
  if (!*attached) return not_attached;
  *attached = false;
  return HB_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* HEAPBACKEND_H */
