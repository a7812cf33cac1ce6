/* jsc.c: JavaScriptCore's garbage-collected heap as a heapfuzz backend (include/heapbackend.h),
 * through JSC's public C API (Debian's libjavascriptcoregtk-4.1, or the JSC build CMake was
 * pointed at: cmake/jsc.cmake) and a few exported debugging entry points.
 *
 * The mapping (issue 15, ../shared/notes/foreign-heaps.md):
 *   - heap: a fresh context group (a JSC VM, with its own heap) and one global context per
 *     program, released by destroy: no earlier program's objects, weak handles or collection
 *     state reach a later one. One jsc heap at a time per process.
 *   - object: JSObjectMake with one of two JSClasses, with a finalize callback when the op asks
 *     for one; its private data is the backend's record of it (serial number, nominal size, slot
 *     count, payload), so the id JSC keeps for it is checked on every shape() call.
 *   - reference slot i: indexed property i, null when empty. Any other value read back (a
 *     missing property, a number) is a reference that changed.
 *   - payload: a Uint8Array at index nslots over bytes calloc'd here and handed to JSC
 *     (JSObjectMakeTypedArrayWithBytesNoCopy), which frees them through jsc_free_bytes when the
 *     array dies. Not numbers in further properties: payload() must hand the oracle raw bytes it
 *     writes and reads directly (ops/payload.c), with no backend call between, so properties
 *     would need a copy and a write-back the interface has no place for. And since the bytes
 *     are malloc'd, a JSC that frees the array of an object still reachable makes the oracle's
 *     next payload read an ASan heap-use-after-free (JSC's own memory is uninstrumented).
 *   - roots: JSValueProtect / JSValueUnprotect. The interpreter writes its root slots directly,
 *     so before every job (below) the backend protects what each slot holds now and unprotects
 *     what it held (jsc_sync): the collector sees the slots as they are at any collection.
 *   - weak references: the exported private JSWeakCreate / JSWeakGetObject / JSWeakRelease.
 *   - full collection: JSSynchronousGarbageCollectForDebugging (collects, then sweeps, so the
 *     dead objects' finalizers run inside it); eden: JSSynchronousEdenCollectForDebugging.
 *   - collections, explicit or automatic, are counted by a heap finalizer
 *     (JSContextGroupAddHeapFinalizer), which JSC runs once at the end of each.
 *
 * Every JSC call runs on one thread of its own, the worker. The deterministic scheduler runs each
 * logical thread on a fiber (ops/fiber.c), a stack JSC does not know: JSC checks that the stack
 * pointer lies within the OS thread's stack (it aborts in sanitizeStackForVM on the first call),
 * and scans from the stack pointer to the thread's stack origin conservatively. So the entries
 * hand their JSC work to the worker as a job and wait for it (a futex handoff, a few
 * microseconds). JSC's conservative scan then sees the worker's stack only, never the
 * interpreter's: an object the program holds only in an unrooted handle is not kept alive by it,
 * as the op language means. Only calls that take no JSC lock run on the caller's thread:
 * JSObjectGetPrivate (shape, payload) and JSWeakGetObject (weak_get).
 *
 * The worker holds the JSLock, and so heap access, from create to destroy: create's job calls a
 * JavaScript function (jsc_serve) that runs the heap's further jobs until destroy's. A thread
 * without heap access counts as stopped to JSC's collector, so otherwise a collection an
 * allocation started could end on JSC's collector thread between two jobs, while an object the
 * interpreter holds unrooted, or has just rooted (JSC learns of roots at the next job), is
 * unprotected. Holding access, a collection ends only where the worker stops for it, inside a
 * JSC call of a job. That also makes stores, root changes and weak releases safe to hand to JSC
 * lazily, at the start of the next job, which saves their handoffs.
 *
 * Determinism: JSC_useConcurrentGC defaults to 0 here (set in the environment before the first
 * VM, unless already set): with concurrent marking an automatic collection ends at whichever
 * later job the collector's progress meets, so a program's collections would not replay.
 * JSC_useConcurrentGC=1 turns it back on (sound, not reproducible).
 *
 * Hooks. JSC runs finalize callbacks and heap finalizers on whichever thread sweeps or ends the
 * collection: the worker, or one of JSC's own while the worker is stopped. They only queue an
 * event (jsc_push_event); the entry that ran the job delivers the queue to the interpreter's
 * hooks on the caller's thread after it (jsc_deliver), in the order JSC ran them. A finalized
 * object's shape is read from its record, never from the dying cell.
 *
 * Loads. A handoff per load would dominate a run: the oracle reads every slot of every reachable
 * object after each collection. So a load that misses reads, in one job, the slots of its object
 * and of every object reachable from it and from the roots (jsc_job_snapshot), stamped with the
 * heap's epoch; any other job starts a new epoch. Between jobs no JSC code runs, so loads in the
 * same epoch are answered with what the properties hold.
 *
 * Capabilities: eden collections; shape (from the record JSC's private data points to); exact
 * finalizers (releasing the group finalizes every object still there: JSC's lastChanceToFinalize).
 * Not exact death: JSC scans stacks and registers conservatively, so an object no root reaches may
 * survive a full collection. No sweep step, shrink, stop-allocating, iteration, verifier,
 * liveness query or fault injection in the C API (a C++ shim over exported symbols could reach
 * some: a later step of issue 15), no yield points, and one mutator. The config bytes are not
 * read: JSC's collection policy is process-wide options (JSC_* environment variables), not a
 * per-heap setting, and the heap limit is not enforced (the C API has none).
 *
 * Compiled only with HF_HAVE_JSC (cmake/jsc.cmake defines it when it found JSC): builds that
 * compile every backend source themselves, as .clusterfuzzlite/build.sh does, get an empty unit. */
#include "jsc.h"

#ifndef HF_HAVE_JSC
typedef int hf_jsc_not_built; /* ISO C wants a declaration in every translation unit */
#else

#  include <JavaScriptCore/JavaScript.h>
#  include <linux/futex.h>
#  include <pthread.h>
#  include <stdarg.h>
#  include <stdatomic.h>
#  include <stdlib.h>
#  include <string.h>
#  include <sys/syscall.h>
#  include <unistd.h>

/* JSC's private C API: exported by every build, declared in headers Debian does not ship
 * (WebKit's JSWeakPrivate.h, JSContextRefPrivate.h, JSHeapFinalizerPrivate.h). */
typedef const struct OpaqueJSWeak *JSWeakRef;
JS_EXPORT JSWeakRef JSWeakCreate(JSContextGroupRef group, JSObjectRef object);
JS_EXPORT void JSWeakRelease(JSContextGroupRef group, JSWeakRef weak);
JS_EXPORT JSObjectRef JSWeakGetObject(JSWeakRef weak);
JS_EXPORT void JSSynchronousGarbageCollectForDebugging(JSContextRef ctx);
JS_EXPORT void JSSynchronousEdenCollectForDebugging(JSContextRef ctx);
typedef void (*JSHeapFinalizer)(JSContextGroupRef group, void *user_data);
JS_EXPORT void JSContextGroupAddHeapFinalizer(JSContextGroupRef group, JSHeapFinalizer finalizer,
                                              void *user_data);
JS_EXPORT void JSContextGroupRemoveHeapFinalizer(JSContextGroupRef group, JSHeapFinalizer finalizer,
                                                 void *user_data);

/* What load returns for a slot that holds neither null nor an object (a property JSC lost, a
 * number): no object's address, so the oracle reports the reference changed. */
#  define JSC_NOT_A_REFERENCE ((hb_object_t *)(uintptr_t)1)

enum { JSC_MAX_SLOTS = 32, JSC_CHUNK = 64 };

typedef struct jsc_heap jsc_heap_t;

/* One object the program allocated; JSC's private data of the object points here. Records live
 * until destroy, so a finalize callback always finds its record. */
typedef struct jsc_obj {
  JSObjectRef obj; /* what alloc returned: the model's name for it */
  jsc_heap_t *heap;
  uint8_t *bytes;      /* the payload (its Uint8Array's bytes), NULL when empty */
  size_t size;         /* the nominal size alloc was asked for */
  size_t payload_size; /* size - header - slots */
  uint32_t nslots;
  uint32_t serial; /* allocation order: trace lines name objects by it, never by address */
  bool finalize;
  uint64_t snap_epoch;              /* snap holds the slots as read in this epoch (0: never) */
  hb_object_t *snap[JSC_MAX_SLOTS]; /* see "Loads" */
} jsc_obj_t;

typedef struct jsc_mutator {
  jsc_heap_t *heap;
} jsc_mutator_t;

/* A root slot and the value the backend protected for it (NULL: none yet). */
typedef struct jsc_root {
  hb_object_t **slot;
  JSObjectRef held;
} jsc_root_t;

/* Kept in the heap's list so that destroy releases those the interpreter did not. */
typedef struct jsc_weak {
  JSWeakRef ref;
  size_t index; /* in the heap's weaks */
} jsc_weak_t;

/* A store the next job makes (see "Loads" and the JSLock paragraph above). */
typedef struct jsc_store {
  JSObjectRef obj, value;
  uint32_t slot;
} jsc_store_t;

typedef enum { JSC_EV_FINALIZED, JSC_EV_COLLECTED } jsc_event_kind_t;

typedef struct jsc_event {
  jsc_event_kind_t kind;
  bool full;         /* JSC_EV_COLLECTED: the collection an explicit full collect asked for */
  jsc_obj_t *record; /* JSC_EV_FINALIZED */
} jsc_event_t;

/* A growable array of plain items. */
#  define JSC_ARRAY(type) \
    struct {              \
      type *items;        \
      size_t count, cap;  \
    }

struct jsc_heap {
  hb_hooks_t hooks;
  JSContextGroupRef group;
  JSGlobalContextRef ctx;
  jsc_mutator_t mutator;
  bool attached;
  bool served;    /* the worker entered jsc_serve for this heap */
  uint64_t epoch; /* see "Loads"; every job but a snapshot starts a new one */
  uint32_t nobjs; /* records made; chunk i holds serials i * JSC_CHUNK ... */
  JSC_ARRAY(jsc_obj_t *) chunks;
  /* What the interpreter did without a job, for the next job to tell JSC (jsc_sync). */
  JSC_ARRAY(jsc_store_t) stores;
  JSC_ARRAY(jsc_root_t) roots;
  JSC_ARRAY(JSObjectRef) unprotect; /* removed roots' values */
  JSC_ARRAY(JSWeakRef) released;    /* destroyed weak references */
  JSC_ARRAY(jsc_weak_t *) weaks;
  JSC_ARRAY(jsc_obj_t *) work; /* the snapshot's worklist (worker only) */
  /* Events from JSC's callbacks, any thread: under events_lock. */
  pthread_mutex_t events_lock;
  JSC_ARRAY(jsc_event_t) events;
  bool events_failed; /* an event could not be queued: the run's count would be wrong */
};

/* Room for one more item in a JSC_ARRAY; false when out of memory. */
#  define JSC_RESERVE(arr) \
    jsc_reserve((void **)&(arr).items, &(arr).cap, (arr).count, sizeof *(arr).items)

static bool jsc_reserve(void **items, size_t *cap, size_t count, size_t item) {
  if (count < *cap) return true;
  size_t n = *cap ? 2 * *cap : 16;
  void *p = realloc(*items, n * item);
  if (!p) return false;
  *items = p;
  *cap = n;
  return true;
}

static jsc_heap_t *jsc_heap_of(hb_mutator_t *m) {
  return ((jsc_mutator_t *)m)->heap;
}

static const char *jsc_status_name(hb_status_t st) {
  static const char *const names[] = {
      [HB_OK] = "HB_OK",
      [HB_ERR_LIMIT] = "HB_ERR_LIMIT",
      [HB_ERR_INJECTED] = "HB_ERR_INJECTED",
      [HB_ERR_STOPPED] = "HB_ERR_STOPPED",
      [JSC_ERR_NO_MEMORY] = "JSC_ERR_NO_MEMORY",
      [JSC_ERR_EXCEPTION] = "JSC_ERR_EXCEPTION",
      [JSC_ERR_WORKER] = "JSC_ERR_WORKER",
      [JSC_ERR_ATTACHED] = "JSC_ERR_ATTACHED",
      [JSC_ERR_NOT_ATTACHED] = "JSC_ERR_NOT_ATTACHED",
      [JSC_ERR_NOT_A_ROOT] = "JSC_ERR_NOT_A_ROOT",
      [JSC_ERR_UNSUPPORTED] = "JSC_ERR_UNSUPPORTED",
      [JSC_ERR_BUSY] = "JSC_ERR_BUSY",
  };
  return hb_status_lookup(names, sizeof names / sizeof names[0], st, "JSC_ERR_?");
}

/* ---------------------------------------------------------------------------------------------
 * The worker: the one thread that calls JSC (see the top of this file)
 *
 * One per process, started by the first create, and again in a forked child (threads do not
 * survive fork; JSC does not either: a child must not use a heap of its parent). Callers take
 * turns under `lock`; a job is a handoff through the futex word `state`: the caller posts it
 * (JOB_POSTED) and sleeps, the worker runs it, marks it JOB_DONE and wakes the caller, which sets
 * JOB_IDLE. The atomics order the job's data between the two threads.
 * ------------------------------------------------------------------------------------------- */

typedef struct jsc_job jsc_job_t;
typedef void (*jsc_job_fn)(jsc_job_t *job);

struct jsc_job {
  jsc_job_fn fn;
  jsc_heap_t *h;
  hb_status_t status;
  jsc_obj_t *record;  /* alloc, snapshot */
  JSObjectRef target; /* weak_create */
  bool full;          /* collect */
  JSWeakRef weak;     /* weak_create's result */
};

enum { JOB_IDLE, JOB_POSTED, JOB_DONE };

static struct {
  pthread_mutex_t lock; /* one caller at a time; guards starting the thread */
  pid_t pid;            /* the process the thread runs in (0: not started) */
  _Atomic uint32_t state;
  jsc_job_t *job;
  bool heap_alive; /* a jsc heap exists (the worker is inside its jsc_serve) */
} jsc_worker = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void jsc_futex_wait(_Atomic uint32_t *word, uint32_t value) {
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}
static void jsc_futex_wake(_Atomic uint32_t *word) {
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Worker side: the next job posted, and the end of one. */
static jsc_job_t *jsc_next_job(void) {
  uint32_t s;
  while ((s = atomic_load_explicit(&jsc_worker.state, memory_order_acquire)) != JOB_POSTED)
    jsc_futex_wait(&jsc_worker.state, s);
  return jsc_worker.job;
}
static void jsc_job_done(void) {
  atomic_store_explicit(&jsc_worker.state, JOB_DONE, memory_order_release);
  jsc_futex_wake(&jsc_worker.state);
}

static void *jsc_worker_main(void *unused) {
  (void)unused;
  for (;;) {
    jsc_job_t *j = jsc_next_job();
    j->fn(j); /* create's job returns only after its heap's destroy job (jsc_serve) */
    jsc_job_done();
  }
  return NULL;
}

/* Runs the job on the worker and waits for it. False: the worker could not be started. */
static bool jsc_call(jsc_job_t *job) {
  pthread_mutex_lock(&jsc_worker.lock);
  if (jsc_worker.pid != getpid()) {
    /* Before JSC reads its options (at the first VM): see "Determinism" at the top. */
    setenv("JSC_useConcurrentGC", "0", 0);
    pthread_t thread;
    atomic_store_explicit(&jsc_worker.state, JOB_IDLE, memory_order_relaxed);
    if (pthread_create(&thread, NULL, jsc_worker_main, NULL) != 0) {
      pthread_mutex_unlock(&jsc_worker.lock);
      return false;
    }
    pthread_detach(thread);
    jsc_worker.pid = getpid();
    jsc_worker.heap_alive = false;
  }
  jsc_worker.job = job;
  atomic_store_explicit(&jsc_worker.state, JOB_POSTED, memory_order_release);
  jsc_futex_wake(&jsc_worker.state);
  uint32_t s;
  while ((s = atomic_load_explicit(&jsc_worker.state, memory_order_acquire)) != JOB_DONE)
    jsc_futex_wait(&jsc_worker.state, s);
  atomic_store_explicit(&jsc_worker.state, JOB_IDLE, memory_order_relaxed);
  pthread_mutex_unlock(&jsc_worker.lock);
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * JSC's callbacks (any thread) and their delivery (the caller's thread)
 * ------------------------------------------------------------------------------------------- */

static void jsc_push_event(jsc_heap_t *h, jsc_event_t ev) {
  pthread_mutex_lock(&h->events_lock);
  if (JSC_RESERVE(h->events))
    h->events.items[h->events.count++] = ev;
  else
    h->events_failed = true;
  pthread_mutex_unlock(&h->events_lock);
}

/* The JSClass finalize callback: the object is dead and being swept. Its private data, our
 * record, is still readable here; the cell is not, once this returns. */
static void jsc_on_finalize(JSObjectRef obj) {
  jsc_obj_t *o = JSObjectGetPrivate(obj);
  if (o) jsc_push_event(o->heap, (jsc_event_t){.kind = JSC_EV_FINALIZED, .record = o});
}

/* The heap finalizer: once at the end of every collection of the group's heap. */
static void jsc_on_collected(JSContextGroupRef group, void *heap) {
  (void)group;
  jsc_push_event(heap, (jsc_event_t){.kind = JSC_EV_COLLECTED});
}

/* The record the finalized hook is being called for: shape() reads it, not the dead cell. */
static _Thread_local const jsc_obj_t *jsc_finalizing;

/* Hands the queued events to the interpreter's hooks, in order. `mark_full`: the job was an
 * explicit full collection, whose collection is the last one it ran (JSC's heap finalizer does
 * not say which kind ended; any other counts as eden, the weaker claim). */
static void jsc_deliver(jsc_heap_t *h, bool mark_full) {
  pthread_mutex_lock(&h->events_lock);
  jsc_event_t *events = h->events.items;
  size_t n = h->events.count;
  h->events.items = NULL;
  h->events.count = h->events.cap = 0;
  bool failed = h->events_failed;
  pthread_mutex_unlock(&h->events_lock);
  if (failed) {
    fputs("heapfuzz: jsc backend: out of memory queueing heap events\n", stderr);
    abort(); /* a lost finalizer or collection would be a false finding */
  }
  size_t last_collection = n;
  for (size_t i = 0; i < n; i++)
    if (events[i].kind == JSC_EV_COLLECTED) last_collection = i;
  if (mark_full && last_collection < n) events[last_collection].full = true;
  for (size_t i = 0; i < n; i++) {
    const jsc_event_t *ev = &events[i];
    if (ev->kind == JSC_EV_COLLECTED) {
      hb_tracef(&h->hooks, "  event collected %s", ev->full ? "full" : "eden-or-automatic");
      h->hooks.collected(h->hooks.ctx, ev->full);
    } else {
      hb_tracef(&h->hooks, "  event finalize object=%u", ev->record->serial);
      jsc_finalizing = ev->record;
      h->hooks.finalized(h->hooks.ctx, (hb_object_t *)ev->record->obj);
      jsc_finalizing = NULL;
    }
  }
  free(events);
}

/* ---------------------------------------------------------------------------------------------
 * Jobs: what runs on the worker. Each starts with jsc_sync.
 * ------------------------------------------------------------------------------------------- */

static JSClassRef jsc_class_plain, jsc_class_finalized; /* made once per process */

/* Tells JSC what the interpreter did since the last job, in order: stores, roots removed, root
 * slots written, weak references destroyed. */
static void jsc_sync(jsc_heap_t *h) {
  JSValueRef null = JSValueMakeNull(h->ctx);
  for (size_t i = 0; i < h->stores.count; i++) {
    const jsc_store_t *s = &h->stores.items[i];
    JSValueRef exc = NULL;
    JSObjectSetPropertyAtIndex(h->ctx, s->obj, s->slot, s->value ? s->value : null, &exc);
    /* A throw leaves the slot as it was: the next load reports the reference changed. */
  }
  h->stores.count = 0;
  for (size_t i = 0; i < h->unprotect.count; i++)
    JSValueUnprotect(h->ctx, h->unprotect.items[i]);
  h->unprotect.count = 0;
  for (size_t i = 0; i < h->roots.count; i++) {
    jsc_root_t *r = &h->roots.items[i];
    JSObjectRef now = (JSObjectRef)*r->slot;
    if (now == r->held) continue;
    if (now) JSValueProtect(h->ctx, now);
    if (r->held) JSValueUnprotect(h->ctx, r->held);
    r->held = now;
  }
  for (size_t i = 0; i < h->released.count; i++)
    JSWeakRelease(h->group, h->released.items[i]);
  h->released.count = 0;
}

static void jsc_free_bytes(void *bytes, void *unused) {
  (void)unused;
  free(bytes);
}

/* The record of an object the interpreter names: the one being finalized, or the one JSC's
 * private data points to, if it points back (else JSC lost or changed the object's id). */
static jsc_obj_t *jsc_record(const hb_object_t *obj) {
  if (jsc_finalizing && jsc_finalizing->obj == (JSObjectRef)obj) return (jsc_obj_t *)jsc_finalizing;
  jsc_obj_t *o = JSObjectGetPrivate((JSObjectRef)obj);
  return o && o->obj == (JSObjectRef)obj ? o : NULL;
}

static hb_object_t *jsc_ref_of(JSContextRef ctx, JSValueRef v) {
  if (v && JSValueIsNull(ctx, v)) return NULL;
  if (!v || !JSValueIsObject(ctx, v)) return JSC_NOT_A_REFERENCE;
  return (hb_object_t *)JSValueToObject(ctx, v, NULL);
}

/* Reads every slot of the record's object into its snapshot, for this epoch. */
static hb_status_t jsc_read_slots(jsc_heap_t *h, jsc_obj_t *o) {
  JSValueRef exc = NULL;
  for (uint32_t s = 0; s < o->nslots; s++) {
    JSValueRef v = JSObjectGetPropertyAtIndex(h->ctx, o->obj, s, &exc);
    if (exc) return JSC_ERR_EXCEPTION;
    o->snap[s] = jsc_ref_of(h->ctx, v);
  }
  o->snap_epoch = h->epoch;
  return HB_OK;
}

/* Runs the heap's jobs after create's, holding the JSLock (see the top), until destroy's. */
static JSValueRef jsc_serve(JSContextRef ctx, JSObjectRef function, JSObjectRef self, size_t argc,
                            const JSValueRef argv[], JSValueRef *exception);
static void jsc_job_destroy(jsc_job_t *j);

static void jsc_job_create(jsc_job_t *j) {
  jsc_heap_t *h = j->h; /* j is the caller's: gone once this job is marked done */
  if (!jsc_class_plain) {
    JSClassDefinition def = kJSClassDefinitionEmpty;
    def.className = "HeapfuzzObject";
    jsc_class_plain = JSClassCreate(&def);
    def.className = "HeapfuzzFinalizedObject";
    def.finalize = jsc_on_finalize;
    jsc_class_finalized = JSClassCreate(&def);
  }
  h->group = JSContextGroupCreate();
  h->ctx = h->group ? JSGlobalContextCreateInGroup(h->group, NULL) : NULL;
  JSObjectRef serve = h->ctx ? JSObjectMakeFunctionWithCallback(h->ctx, NULL, jsc_serve) : NULL;
  if (!jsc_class_plain || !jsc_class_finalized || !serve) {
    if (h->ctx) JSGlobalContextRelease(h->ctx);
    if (h->group) JSContextGroupRelease(h->group);
    j->status = JSC_ERR_NO_MEMORY;
    return;
  }
  /* Counted from here: setting up the global object is no program's collection. */
  JSContextGroupAddHeapFinalizer(h->group, jsc_on_collected, h);
  j->status = HB_OK;
  JSValueRef exc = NULL;
  JSObjectCallAsFunction(h->ctx, serve, NULL, 0, NULL, &exc);
  if (!h->served) { /* JSC did not run it: create fails */
    JSContextGroupRemoveHeapFinalizer(h->group, jsc_on_collected, h);
    JSGlobalContextRelease(h->ctx);
    JSContextGroupRelease(h->group);
    j->status = JSC_ERR_EXCEPTION;
    return;
  }
  /* jsc_serve returned on the destroy job, which the worker's loop marks done after this. */
  jsc_job_destroy(jsc_worker.job);
}

static JSValueRef jsc_serve(JSContextRef ctx, JSObjectRef function, JSObjectRef self, size_t argc,
                            const JSValueRef argv[], JSValueRef *exception) {
  (void)function, (void)self, (void)argc, (void)argv, (void)exception;
  jsc_worker.job->h->served = true;
  jsc_job_done(); /* create's */
  for (;;) {
    jsc_job_t *j = jsc_next_job();
    if (j->fn == jsc_job_destroy) return JSValueMakeUndefined(ctx);
    j->fn(j);
    jsc_job_done();
  }
}

/* Runs in create's job after jsc_serve returned: the JSLock is no longer held. */
static void jsc_job_destroy(jsc_job_t *j) {
  jsc_heap_t *h = j->h;
  jsc_sync(h); /* pending stores, unprotects and releases */
  for (size_t i = 0; i < h->roots.count; i++)
    if (h->roots.items[i].held) JSValueUnprotect(h->ctx, h->roots.items[i].held);
  for (size_t i = 0; i < h->weaks.count; i++)
    JSWeakRelease(h->group, h->weaks.items[i]->ref);
  /* Releasing the VM runs the finalizers still owed; it is no collection of the program's. */
  JSContextGroupRemoveHeapFinalizer(h->group, jsc_on_collected, h);
  JSGlobalContextRelease(h->ctx);
  JSContextGroupRelease(h->group);
  j->status = HB_OK;
}

static void jsc_job_alloc(jsc_job_t *j) {
  jsc_heap_t *h = j->h;
  jsc_obj_t *o = j->record;
  JSContextRef ctx = h->ctx;
  jsc_sync(h);
  JSObjectRef obj = JSObjectMake(ctx, o->finalize ? jsc_class_finalized : jsc_class_plain, o);
  if (!obj) {
    j->status = JSC_ERR_NO_MEMORY;
    return;
  }
  o->obj = obj; /* from here a finalize callback can find it */
  /* Every slot an explicit null: a fresh object's slots read NULL, and a property that goes
   * missing later reads as a changed reference. */
  JSValueRef exc = NULL, null = JSValueMakeNull(ctx);
  for (uint32_t s = 0; s < o->nslots && !exc; s++)
    JSObjectSetPropertyAtIndex(ctx, obj, s, null, &exc);
  if (!exc && o->payload_size) {
    uint8_t *bytes = calloc(1, o->payload_size);
    if (!bytes) {
      j->status = JSC_ERR_NO_MEMORY;
      return;
    }
    /* JSC owns the bytes from here, even when this fails (it calls jsc_free_bytes). */
    JSObjectRef array = JSObjectMakeTypedArrayWithBytesNoCopy(
        ctx, kJSTypedArrayTypeUint8Array, bytes, o->payload_size, jsc_free_bytes, NULL, &exc);
    if (array) {
      o->bytes = bytes;
      JSObjectSetPropertyAtIndex(ctx, obj, o->nslots, array, &exc);
    } else if (!exc) {
      j->status = JSC_ERR_NO_MEMORY;
      return;
    }
  }
  /* The interpreter reads the new object's slots next: read them now, in this handoff. */
  j->status = exc ? JSC_ERR_EXCEPTION : jsc_read_slots(h, o);
}

/* The slots of j->record and of everything reachable from it and from the roots, for this epoch
 * (see "Loads"): what the oracle's checks after a collection read, in one handoff. */
static void jsc_job_snapshot(jsc_job_t *j) {
  jsc_heap_t *h = j->h;
  jsc_sync(h);
  h->work.count = 0;
  if (JSC_RESERVE(h->work)) h->work.items[h->work.count++] = j->record;
  for (size_t i = 0; i < h->roots.count; i++) {
    jsc_obj_t *o =
        h->roots.items[i].held ? jsc_record((hb_object_t *)h->roots.items[i].held) : NULL;
    if (o && JSC_RESERVE(h->work)) h->work.items[h->work.count++] = o;
  }
  while (h->work.count) {
    jsc_obj_t *o = h->work.items[--h->work.count];
    if (o->snap_epoch == h->epoch) continue;
    hb_status_t st = jsc_read_slots(h, o);
    if (o == j->record) j->status = st;
    if (st != HB_OK) continue;
    for (uint32_t s = 0; s < o->nslots; s++) {
      jsc_obj_t *child =
          o->snap[s] && o->snap[s] != JSC_NOT_A_REFERENCE ? jsc_record(o->snap[s]) : NULL;
      if (child && child->snap_epoch != h->epoch && JSC_RESERVE(h->work))
        h->work.items[h->work.count++] = child;
    }
  }
}

static void jsc_job_weak_create(jsc_job_t *j) {
  jsc_sync(j->h);
  j->weak = JSWeakCreate(j->h->group, j->target);
  j->status = j->weak ? HB_OK : JSC_ERR_NO_MEMORY;
}

static void jsc_job_collect(jsc_job_t *j) {
  jsc_sync(j->h);
  if (j->full)
    JSSynchronousGarbageCollectForDebugging(j->h->ctx);
  else
    JSSynchronousEdenCollectForDebugging(j->h->ctx);
  j->status = HB_OK;
}

/* One job on the worker, then the events it raised. */
static hb_status_t jsc_run(jsc_heap_t *h, jsc_job_fn fn, jsc_job_t *j) {
  j->fn = fn;
  j->h = h;
  if (fn != jsc_job_snapshot) h->epoch++;
  if (!jsc_call(j)) return JSC_ERR_WORKER;
  jsc_deliver(h, fn == jsc_job_collect && j->full);
  return j->status;
}

/* ---------------------------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------------------------- */

static jsc_obj_t *jsc_new_record(jsc_heap_t *h) {
  uint32_t n = h->nobjs;
  if (n % JSC_CHUNK == 0) {
    if (!JSC_RESERVE(h->chunks)) return NULL;
    jsc_obj_t *chunk = calloc(JSC_CHUNK, sizeof *chunk);
    if (!chunk) return NULL;
    h->chunks.items[h->chunks.count++] = chunk;
  }
  jsc_obj_t *o = &h->chunks.items[n / JSC_CHUNK][n % JSC_CHUNK];
  o->heap = h;
  o->serial = n;
  h->nobjs = n + 1;
  return o;
}

static void jsc_free_heap(jsc_heap_t *h) {
  for (size_t i = 0; i < h->chunks.count; i++)
    free(h->chunks.items[i]);
  for (size_t i = 0; i < h->weaks.count; i++)
    free(h->weaks.items[i]);
  free(h->chunks.items);
  free(h->stores.items);
  free(h->roots.items);
  free(h->unprotect.items);
  free(h->released.items);
  free(h->weaks.items);
  free(h->work.items);
  free(h->events.items);
  pthread_mutex_destroy(&h->events_lock);
  free(h);
}

/* ---------------------------------------------------------------------------------------------
 * The entries
 * ------------------------------------------------------------------------------------------- */

static hb_status_t jsc_create(const hb_settings_t *s, const hb_hooks_t *hooks, hb_heap_t **out) {
  (void)s; /* see the top of this file: JSC's policy is process-wide, and there is no limit */
  if (jsc_worker.heap_alive && jsc_worker.pid == getpid()) return JSC_ERR_BUSY;
  jsc_heap_t *h = calloc(1, sizeof *h);
  if (!h) return JSC_ERR_NO_MEMORY;
  h->hooks = *hooks;
  h->mutator.heap = h;
  h->epoch = 1;
  pthread_mutex_init(&h->events_lock, NULL);
  jsc_job_t j = {0};
  hb_status_t st = jsc_run(h, jsc_job_create, &j);
  if (st != HB_OK) {
    jsc_free_heap(h);
    return st;
  }
  jsc_worker.heap_alive = true;
  *out = (hb_heap_t *)h;
  return HB_OK;
}

static hb_status_t jsc_destroy(hb_heap_t *heap) {
  jsc_heap_t *h = (jsc_heap_t *)heap;
  if (h->attached) return JSC_ERR_NOT_ATTACHED;
  jsc_job_t j = {0};
  hb_status_t st = jsc_run(h, jsc_job_destroy, &j); /* delivers the last finalizers */
  if (st != HB_OK) return st;
  jsc_worker.heap_alive = false;
  jsc_free_heap(h);
  return HB_OK;
}

/* One mutator, embedded in the heap: a second would need HB_CAP_MUTATORS. */
static hb_status_t jsc_attach(hb_heap_t *heap, hb_mutator_t **out) {
  jsc_heap_t *h = (jsc_heap_t *)heap;
  return hb_attach_one(&h->attached, &h->mutator, out, JSC_ERR_ATTACHED);
}

static hb_status_t jsc_detach(hb_mutator_t *m) {
  return hb_detach_one(&jsc_heap_of(m)->attached, JSC_ERR_NOT_ATTACHED);
}

static hb_object_t *jsc_alloc(hb_mutator_t *m, size_t size, uint32_t nslots, unsigned flags,
                              hb_status_t *status) {
  jsc_heap_t *h = jsc_heap_of(m);
  if (nslots > JSC_MAX_SLOTS || size < HB_OBJECT_HEADER + HB_OBJECT_SLOT * (size_t)nslots) {
    *status = JSC_ERR_UNSUPPORTED; /* the op language never asks: an interpreter bug */
    return NULL;
  }
  jsc_obj_t *o = jsc_new_record(h);
  if (!o) {
    *status = JSC_ERR_NO_MEMORY;
    return NULL;
  }
  o->size = size;
  o->nslots = nslots;
  o->payload_size = size - HB_OBJECT_HEADER - HB_OBJECT_SLOT * (size_t)nslots;
  o->finalize = (flags & HB_ALLOC_FINALIZE) != 0;
  jsc_job_t j = {.record = o};
  hb_status_t st = jsc_run(h, jsc_job_alloc, &j);
  if (st != HB_OK) {
    *status = st;
    return NULL;
  }
  hb_tracef(&h->hooks, "  event alloc object=%u size=%zu slots=%u finalize=%d", o->serial, size,
            nslots, o->finalize);
  return (hb_object_t *)o->obj;
}

static hb_object_t *jsc_load(hb_mutator_t *m, hb_object_t *obj, uint32_t slot) {
  jsc_heap_t *h = jsc_heap_of(m);
  jsc_obj_t *o = jsc_record(obj);
  if (!o || slot >= o->nslots) return JSC_NOT_A_REFERENCE;
  if (o->snap_epoch != h->epoch) {
    jsc_job_t j = {.record = o};
    if (jsc_run(h, jsc_job_snapshot, &j) != HB_OK) return JSC_NOT_A_REFERENCE;
  }
  return o->snap[slot];
}

/* Made by the next job (jsc_sync): no handoff of its own. */
static void jsc_store(hb_mutator_t *m, hb_object_t *obj, uint32_t slot, hb_object_t *value) {
  jsc_heap_t *h = jsc_heap_of(m);
  h->epoch++; /* the object's snapshot is stale */
  if (!JSC_RESERVE(h->stores)) {
    fputs("heapfuzz: jsc backend: out of memory queueing a store\n", stderr);
    abort(); /* a lost store would be a false finding */
  }
  h->stores.items[h->stores.count++] =
      (jsc_store_t){.obj = (JSObjectRef)obj, .value = (JSObjectRef)value, .slot = slot};
}

static uint8_t *jsc_payload(hb_object_t *obj, size_t *size) {
  static uint8_t none[1]; /* a valid pointer for an empty payload */
  const jsc_obj_t *o = jsc_record(obj);
  *size = o && o->bytes ? o->payload_size : 0;
  return o && o->bytes ? o->bytes : none;
}

/* What the record says, found through JSC's private data: a size of 0 and 33 slots, no object's
 * shape, when JSC no longer hands back the record it was given. */
static void jsc_shape(const hb_object_t *obj, size_t *size, uint32_t *nslots) {
  const jsc_obj_t *o = jsc_record(obj);
  *size = o ? o->size : 0;
  *nslots = o ? o->nslots : JSC_MAX_SLOTS + 1;
}

/* Only the slot is recorded here; JSC learns of it at the next job (jsc_sync). */
static hb_status_t jsc_root_add(hb_mutator_t *m, hb_object_t **slot) {
  jsc_heap_t *h = jsc_heap_of(m);
  if (!JSC_RESERVE(h->roots)) return JSC_ERR_NO_MEMORY;
  h->roots.items[h->roots.count++] = (jsc_root_t){.slot = slot};
  return HB_OK;
}

static hb_status_t jsc_root_remove(hb_mutator_t *m, hb_object_t **slot) {
  jsc_heap_t *h = jsc_heap_of(m);
  for (size_t i = h->roots.count; i-- > 0;) {
    jsc_root_t *r = &h->roots.items[i];
    if (r->slot != slot) continue;
    if (r->held) {
      if (!JSC_RESERVE(h->unprotect)) return JSC_ERR_NO_MEMORY;
      h->unprotect.items[h->unprotect.count++] = r->held;
    }
    *r = h->roots.items[--h->roots.count];
    return HB_OK;
  }
  return JSC_ERR_NOT_A_ROOT;
}

static hb_status_t jsc_weak_create(hb_mutator_t *m, hb_object_t *target, hb_weak_t **out) {
  jsc_heap_t *h = jsc_heap_of(m);
  jsc_weak_t *w = calloc(1, sizeof *w);
  if (!w || !JSC_RESERVE(h->weaks)) {
    free(w);
    return JSC_ERR_NO_MEMORY;
  }
  jsc_job_t j = {.target = (JSObjectRef)target};
  hb_status_t st = jsc_run(h, jsc_job_weak_create, &j);
  if (st != HB_OK) {
    free(w);
    return st;
  }
  w->ref = j.weak;
  w->index = h->weaks.count;
  h->weaks.items[h->weaks.count++] = w;
  *out = (hb_weak_t *)w;
  return HB_OK;
}

/* JSWeakGetObject takes no lock and runs no JSC code that checks its stack: the caller's thread.
 * No collection runs meanwhile: the worker holds heap access between jobs. */
static hb_object_t *jsc_weak_get(hb_mutator_t *m, hb_weak_t *weak) {
  (void)m;
  return (hb_object_t *)JSWeakGetObject(((jsc_weak_t *)weak)->ref);
}

/* Released by the next job (jsc_sync): no handoff of its own. */
static hb_status_t jsc_weak_destroy(hb_mutator_t *m, hb_weak_t *weak) {
  jsc_heap_t *h = jsc_heap_of(m);
  jsc_weak_t *w = (jsc_weak_t *)weak;
  if (!JSC_RESERVE(h->released)) return JSC_ERR_NO_MEMORY;
  h->released.items[h->released.count++] = w->ref;
  jsc_weak_t *last = h->weaks.items[--h->weaks.count];
  h->weaks.items[w->index] = last;
  last->index = w->index;
  free(w);
  return HB_OK;
}

static hb_status_t jsc_collect(hb_mutator_t *m, bool full) {
  jsc_job_t j = {.full = full};
  return jsc_run(jsc_heap_of(m), jsc_job_collect, &j);
}

const hb_backend_t hb_jsc_backend = {
    .name = "jsc",
    .caps = HB_CAP_EDEN | HB_CAP_EXACT_FINALIZERS | HB_CAP_SHAPE,
    .status_name = jsc_status_name,
    .create = jsc_create,
    .destroy = jsc_destroy,
    .attach = jsc_attach,
    .detach = jsc_detach,
    .alloc = jsc_alloc,
    .load = jsc_load,
    .store = jsc_store,
    .payload = jsc_payload,
    .shape = jsc_shape,
    .root_add = jsc_root_add,
    .root_remove = jsc_root_remove,
    .weak_create = jsc_weak_create,
    .weak_get = jsc_weak_get,
    .weak_destroy = jsc_weak_destroy,
    .collect = jsc_collect,
};

#endif /* HF_HAVE_JSC */
