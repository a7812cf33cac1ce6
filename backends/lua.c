/* lua.c: Lua 5.4's collector as a heapfuzz backend (include/heapbackend.h), through Lua's C API,
 * on a Lua core built from source with the preset's sanitizers and coverage (cmake/lua.cmake).
 *
 * The mapping (one fresh lua_State per program, created and closed by create/destroy):
 *   - an object is a full userdata, lua_newuserdatauv(L, header + payload, nslots): its memory
 *     holds the backend's header (serial number, nominal size, slot count, flags) then the
 *     payload; hb_object_t * is that memory's address (Lua never moves objects). Slot i is user
 *     value i + 1 (lua_setiuservalue, whose write barrier is Lua's own). A finalizable object gets
 *     a shared metatable whose __gc calls hooks.finalized.
 *   - C cannot push a userdata from its address, so a weak-valued table maps each object's
 *     serial number to its userdata. Serial numbers, not addresses, are its keys: with addresses,
 *     the table's layout, and with it when it grows (allocations, which the collector counts),
 *     would change with ASLR, and a program would not run the same way twice.
 *   - roots: a strong table; the interpreter writes its root slots directly, so before every
 *     call that can collect the backend copies the slots that changed into it (sync_roots).
 *   - weak references: entries of a weak-valued table (__mode = "v").
 *   - full collection: LUA_GCCOLLECT. Eden: in generational mode one LUA_GCSTEP (Lua's own young
 *     collection, or a major one when its policy says so); in incremental mode the current cycle
 *     driven to its atomic phase by basic steps. Sweep step n: LUA_GCSTEP n (n KiB of debt).
 *   - the program's config bytes choose the mode and its parameters (config_from).
 *
 * When collections run. Lua's automatic collector is stopped (LUA_GCSTOP) for the whole program:
 * every collection is one the backend asks for, with LUA_GCSTEP or LUA_GCCOLLECT, from C with
 * nothing of the program on the Lua stack, only the backend's own tables (but a fresh object
 * during the step that follows its allocation, which the interpreter holds as a root then too).
 * Automatic collection is emulated: with config, a basic step at the allocation that brings the
 * bytes Lua allocated since the last step to a threshold, the same luaC_step Lua's allocation
 * sites run when its debt is due. So Lua collects only where the backend knows it may (and in an
 * emergency collection inside an allocation, when memory runs out), which is what makes the next
 * point exact, and a program deterministic.
 *
 * Counting collections (hooks.collected, once per collection): Lua has no hook for it. An
 * unreachable sentinel userdata sits in the weak-reference table; Lua clears weak values at the
 * atomic phase of every cycle (incremental) and of every young or major collection
 * (generational), the moment it decides what dies. After each call that may collect, a cleared
 * sentinel means at least one atomic phase ran in it: the backend reports one collection and
 * puts a new sentinel in (created with the collector stopped, so no collection runs inside its
 * own creation, which could make it old in generational mode and blind). Reported full only for
 * LUA_GCCOLLECT. The oracle settles after the call, so one report covers any number of atomic
 * phases in it.
 *
 * Why the strong checks hold (the capabilities):
 *   - exact death: a full collection starts from the registry (roots, the backend's tables, the
 *     attached mutators' coroutines, whose stacks hold only those tables: stacks_clean) and the
 *     running coroutine's stack, the same, so what no root reaches dies, and Lua removes weak
 *     values to it, also to objects it finalizes (before their resurrection for __gc), in that
 *     collection's atomic phase.
 *   - exact finalizers: lua_close calls every pending __gc. A finalizer is lost only if an error
 *     escapes it (Lua turns it into a warning): __gc here cannot fail, and finalizers never run
 *     while fault injection is armed (only inside alloc's protected call, where the collector is
 *     stopped and an emergency collection calls no finalizer). The warning function reports any
 *     warning as HBL_ERR_WARNING anyway.
 *
 * Memory: the lua_Alloc (lalloc) counts Lua's bytes, gives freed blocks back with free(), so
 * that ASan reports a read of freed Lua memory as a use-after-free (other builds scribble them
 * first: a stale read sees garbage the oracle notices), and fails allocations for the heap limit
 * and fault injection, only inside alloc's protected call: Lua then runs an emergency collection
 * and retries, and raises a memory error if the retry fails too, which alloc returns as
 * HB_ERR_LIMIT or HB_ERR_INJECTED (an injected failure sticks until the call ends, so the retry
 * fails too: the memory error path, not only the emergency collection, is what fault injection
 * exercises). lua_close must give back every byte (HBL_ERR_LEAK otherwise).
 *
 * Mutators are coroutines. Every mutator (the first too) is a Lua thread, lua_newthread, kept in a
 * registry table while attached, and runs its ops on its own lua_State: what an op pushes, and
 * the objects it creates, are on that coroutine's stack. Its body is a C function that serves one
 * request per resume and yields (lua_yieldk with itself as continuation), so between ops, and
 * while the interpreter's scheduler has the mutator preempted, the coroutine is suspended in a
 * yield; attach starts it (a resume to its first yield), detach lets it return (dead) and drops
 * it from the registry, so a later collection frees it (luaE_freethread). The calls that can
 * collect or call a finalizer (alloc, collect, sweep_step) run inside a resume, with the
 * coroutine running, as Lua code allocating there would; the others (load, store, weak
 * references) only read and write the suspended coroutine's stack. All of it on one OS thread:
 * the interpreter's fibers call hooks.yield only from the backend's C code, outside any resume
 * (HB_CAP_YIELD_POINTS), so a preemption is a coroutine staying suspended in its yield while
 * others resume theirs: the schedule stays the program's own. Heap access is a flag per mutator
 * (no collection needs to wait for anyone: Lua's collector runs inside the call that steps it).
 * In real-thread mode a big lock (gil_acquire) lets one OS thread into Lua at a time; an entry
 * lock around each call, let go at its yield points, orders the calls for TSan in both modes.
 *
 * Yield points are only where every suspended coroutine's stack holds nothing of the program but
 * a fresh object (exact death below): "alloc-enter" and "collect-enter" before the call's
 * resume, "alloc-fresh" after it with the new object still on the coroutine's stack (another
 * thread's collection must keep it: it is the allocating op's, which the model does not know yet,
 * and Lua must trace it on the suspended stack), "step-enter" before a sweep step. A collection
 * checks that: every coroutine's stack is the backend's three tables, plus the fresh object of
 * one suspended at "alloc-fresh" (HBL_ERR_STACK otherwise).
 *
 * Compiled only with HF_HAVE_LUA (cmake/lua.cmake defines it when it has a Lua 5.4 tree): builds
 * that compile every backend source themselves (.clusterfuzzlite/build.sh) get an empty file. */
#ifndef HF_HAVE_LUA
typedef int hbl_not_built; /* ISO C: a translation unit is not empty */
#else

#  include "hblua.h"

#  include "lua.h"

#  include <pthread.h>
#  include <stdarg.h>
#  include <stdlib.h>
#  include <string.h>

/* ---------------------------------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------------------------------- */

/* The start of every object's userdata memory; the payload follows. */
typedef struct hbl_header {
  uint32_t serial; /* allocation order, from 1: the object's key in the map table */
  uint32_t size;   /* the nominal size alloc was asked for (heapbackend.h "Objects") */
  uint32_t nslots;
  uint32_t flags; /* HB_ALLOC_FINALIZE */
} hbl_header_t;

/* The backend's tables, in the registry's array part after Lua's own entries (integer keys:
 * their layout does not depend on addresses). */
enum {
  RIDX_MAP = LUA_RIDX_LAST + 1, /* serial -> userdata, weak values */
  RIDX_ROOTS,                   /* root index -> userdata, strong */
  RIDX_WEAK,                    /* weak reference key -> userdata, weak values; [1] the sentinel */
  RIDX_FINMT,                   /* the metatable of finalizable objects ({__gc = on_gc}) */
  RIDX_THREADS,                 /* mutator key -> its coroutine, while attached */
};
enum { SENTINEL_KEY = 1, FIRST_WEAK_KEY = 2 };
/* Between entries every stack (the main thread's, and each coroutine's, in its body's frame) holds
 * the backend's three tables at these indices, and nothing else: one lua_rawgeti finds an
 * object's userdata. They are the registry's anyway, so a stack holds nothing of the program
 * when a collection runs. */
enum { STK_MAP = 1, STK_ROOTS, STK_WEAK, STK_TOP = STK_WEAK };

/* A weak reference: its key in the weak table. Records are reused (free list) so keys stay
 * small; all of them are on `all` for destroy. */
typedef struct hbl_weak {
  lua_Integer key;
  struct hbl_weak *next_free, *next_all;
} hbl_weak_t;

typedef struct hbl_heap hbl_heap_t;

/* What a resume of a mutator's coroutine does (its body, serve). */
typedef enum { REQ_ALLOC, REQ_COLLECT, REQ_STEP, REQ_DETACH } hbl_request_t;

/* A mutator: its coroutine, and the request its next resume serves. */
typedef struct hbl_mutator {
  hbl_heap_t *heap;
  lua_State *co;   /* its coroutine (the registry's RIDX_THREADS[key] keeps it) */
  lua_Integer key; /* attach order, from 1 */
  bool access;     /* holds heap access (HB_CAP_ACCESS) */
  bool holding;    /* suspended at "alloc-fresh": a fresh object on its stack */
  struct hbl_mutator *next;
  /* The request, and its outcome. */
  hbl_request_t req;
  size_t size; /* REQ_ALLOC */
  uint32_t nslots;
  unsigned flags;
  bool full;          /* REQ_COLLECT */
  int data;           /* REQ_STEP: LUA_GCSTEP's argument */
  hb_status_t status; /* REQ_ALLOC, REQ_COLLECT */
  hb_object_t *fresh; /* REQ_ALLOC: the new object, on the coroutine's stack */
} hbl_mutator_t;

struct hbl_heap {
  lua_State *L; /* the main thread: creates the coroutines, closes the state */
  hb_hooks_t hooks;
  hbl_mutator_t *mutators; /* attached, newest first */
  lua_Integer next_thread_key;
  /* The big lock (gil_acquire): real-thread mode runs one mutator in Lua at a time. */
  pthread_mutex_t gil_mutex;
  pthread_cond_t gil_cond;
  pthread_t gil_owner;
  unsigned gil_held, gil_waiters;
  uint64_t gil_grants;
  /* Held inside every entry but while it yields: what orders the mutators' calls for TSan in
   * deterministic mode too, where they are fibers of one OS thread (each a thread to TSan). */
  pthread_mutex_t lock;

  /* The program's collector (config_from). */
  bool generational;
  int pause, stepmul, stepsize, minormul, majormul;
  size_t auto_bytes; /* a basic step once Lua allocated this much since the last (0: none) */
  size_t debt;       /* bytes Lua allocated since the last step: what Lua's own GCdebt counts */

  /* lalloc's accounts. Limit and injection apply only while armed (alloc's protected call). */
  size_t bytes, peak, limit;
  bool armed;
  unsigned fail_in; /* fail_next: the acquisition (counted while armed) that fails */
  bool failing;     /* that acquisition failed: all fail until the protected call ends */
  bool limit_hit;   /* an acquisition failed for the heap limit in this call */
  uint64_t failed_allocations;

  /* Roots: the interpreter's slots, and what sync_roots last copied of each into RIDX_ROOTS. */
  hb_object_t ***roots;
  hb_object_t **synced;
  size_t nroots, roots_cap;

  hbl_weak_t *free_weaks, *all_weaks;
  lua_Integer next_weak_key;

  uint32_t next_serial;
  uint64_t collections, full_collections, finalized, steps;
  hb_status_t sticky; /* the first error seen where an entry could not return it */
  char last_error[160];
};

static hbl_header_t *header(const hb_object_t *o) {
  return (hbl_header_t *)o;
}
/* The heap, from any of its Lua threads: its extra space holds it (set in create). */
static hbl_heap_t *heap_of_state(lua_State *L) {
  return *(hbl_heap_t **)lua_getextraspace(L);
}

static const char *status_name(hb_status_t st) {
  static const char *const names[] = {
      [HB_OK] = "HB_OK",
      [HB_ERR_LIMIT] = "HB_ERR_LIMIT",
      [HB_ERR_INJECTED] = "HB_ERR_INJECTED",
      [HB_ERR_STOPPED] = "HB_ERR_STOPPED",
      [HBL_ERR_NO_MEMORY] = "HBL_ERR_NO_MEMORY",
      [HBL_ERR_LUA] = "HBL_ERR_LUA",
      [HBL_ERR_NO_ACCESS] = "HBL_ERR_NO_ACCESS",
      [HBL_ERR_NOT_ATTACHED] = "HBL_ERR_NOT_ATTACHED",
      [HBL_ERR_NOT_A_ROOT] = "HBL_ERR_NOT_A_ROOT",
      [HBL_ERR_NOT_AN_OBJECT] = "HBL_ERR_NOT_AN_OBJECT",
      [HBL_ERR_SENTINEL] = "HBL_ERR_SENTINEL",
      [HBL_ERR_NO_CYCLE] = "HBL_ERR_NO_CYCLE",
      [HBL_ERR_WARNING] = "HBL_ERR_WARNING",
      [HBL_ERR_LEAK] = "HBL_ERR_LEAK",
      [HBL_ERR_STACK] = "HBL_ERR_STACK",
      [HBL_ERR_COROUTINE] = "HBL_ERR_COROUTINE",
  };
  return hb_status_lookup(names, sizeof names / sizeof names[0], st, "HBL_ERR_?");
}

/* Keeps the first error an entry without a status (load, store, sweep_step) met: the next
 * collect returns it, so it becomes a finding there. */
static void fail_later(hbl_heap_t *h, hb_status_t st, const char *what) {
  if (h->sticky != HB_OK) return;
  h->sticky = st;
  snprintf(h->last_error, sizeof h->last_error, "%s", what);
}

/* ---------------------------------------------------------------------------------------------
 * Lua's memory, its hooks back, and finalizers
 * ------------------------------------------------------------------------------------------- */

/* Freed Lua memory: ASan quarantines it (free() poisons it: a later read is a use-after-free
 * report); other builds overwrite it, so that a stale read sees garbage the oracle notices. */
static void scribble(void *p, size_t n) {
#  if defined(HC_ASAN) && HC_ASAN
  (void)p, (void)n;
#  else
  memset(p, 0xdf, n);
#  endif
}

/* Lua's lua_Alloc. An acquisition is a new block or a growing one (for a new block, osize is a
 * type tag, not a size). Lua never expects a shrink or a free to fail, and gets none. */
static void *lalloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  hbl_heap_t *h = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    if (ptr) {
      scribble(ptr, old);
      free(ptr);
      h->bytes -= old;
    }
    return NULL;
  }
  if (nsize > old && h->armed) {
    if (h->failing) return NULL;
    if (h->fail_in && --h->fail_in == 0) {
      h->failing = true;
      h->failed_allocations++;
      return NULL;
    }
    if (h->bytes - old + nsize > h->limit) {
      h->limit_hit = true;
      return NULL;
    }
  }
  if (ptr && nsize < old) scribble((char *)ptr + nsize, old - nsize);
  void *q = realloc(ptr, nsize);
  if (!q) return NULL; /* the system's own failure: Lua raises a memory error */
  if (nsize > old) h->debt += nsize - old;
  h->bytes = h->bytes - old + nsize;
  if (h->bytes > h->peak) h->peak = h->bytes;
  return q;
}

/* An error outside any protected call: the backend keeps every call that can raise one inside
 * lua_pcall, so this is a bug of the backend or of Lua. Abort: the engine records a crash. */
static int on_panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "heapfuzz: lua backend: unprotected Lua error: %s\n", msg ? msg : "?");
  fflush(stderr);
  abort();
}

/* Lua warns when an error escapes a finalizer (which is then lost). Pieces of one message come
 * with tocont set; the first piece is enough. */
static void on_warning(void *ud, const char *msg, int tocont) {
  (void)tocont;
  hbl_heap_t *h = ud;
  char what[120];
  snprintf(what, sizeof what, "Lua warned: %s", msg);
  fail_later(h, HBL_ERR_WARNING, what);
}

/* __gc of finalizable objects: Lua calls it once per object, after the atomic phase that found
 * it unreachable (or at lua_close). It cannot raise an error. */
static int on_gc(lua_State *L) {
  hbl_heap_t *h = heap_of_state(L);
  hb_object_t *o = lua_touserdata(L, 1);
  h->finalized++;
  hb_tracef(&h->hooks, "  event finalize object=%u", header(o)->serial);
  h->hooks.finalized(h->hooks.ctx, o);
  return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Tables and the sentinel
 * ------------------------------------------------------------------------------------------- */

/* Pushes o's userdata onto S (nil for NULL). An object Lua no longer holds pushes nil and false.
 * S: the main thread or a coroutine, its tables at STK_MAP.. (every helper below takes the stack
 * it works on). */
static bool push_object(lua_State *L, const hb_object_t *o) {
  if (!o) {
    lua_pushnil(L);
    return true;
  }
  lua_rawgeti(L, STK_MAP, (lua_Integer)header(o)->serial);
  if (lua_touserdata(L, -1) == (const void *)o) return true;
  lua_pop(L, 1);
  lua_pushnil(L);
  return false;
}

/* Copies the root slots that changed since the last copy into the roots table. Before any call
 * that can collect: the collector must see what the slots hold now. */
static void sync_roots(hbl_heap_t *h, lua_State *L) {
  for (size_t i = 0; i < h->nroots; i++) {
    hb_object_t *o = *h->roots[i];
    if (o == h->synced[i]) continue;
    if (!push_object(L, o)) fail_later(h, HBL_ERR_NOT_AN_OBJECT, "a root holds a dead object");
    lua_rawseti(L, STK_ROOTS, (lua_Integer)i + 1);
    h->synced[i] = o;
  }
}

/* A new unreachable sentinel in the weak table. The collector is stopped, so its creation runs
 * no collection step. */
static void arm_sentinel(lua_State *L) {
  lua_newuserdatauv(L, 0, 0);
  lua_rawseti(L, STK_WEAK, SENTINEL_KEY);
}

/* After a call that may have collected: reports a collection if an atomic phase ran (the
 * sentinel is gone), or `full` (LUA_GCCOLLECT, which must have cleared it). Returns whether it
 * reported one. */
static bool settle(hbl_heap_t *h, lua_State *L, bool full, const char *kind, hb_status_t *st) {
  bool cleared = lua_rawgeti(L, STK_WEAK, SENTINEL_KEY) == LUA_TNIL;
  lua_pop(L, 1);
  if (full && !cleared && st) *st = HBL_ERR_SENTINEL;
  if (!cleared && !full) return false;
  h->collections++;
  h->full_collections += full;
  hb_tracef(&h->hooks, "  event collected kind=%s full=%d collections=%llu bytes=%zu", kind, full,
            (unsigned long long)h->collections, h->bytes);
  h->hooks.collected(h->hooks.ctx, full);
  arm_sentinel(L);
  return true;
}

/* One LUA_GCSTEP (data 0: a basic step; else data KiB of debt), then its settle. */
static bool gc_step(hbl_heap_t *h, lua_State *L, int data, const char *kind) {
  h->steps++;
  h->debt = 0;
  lua_gc(L, LUA_GCSTEP, data);
  return settle(h, L, false, kind, NULL);
}

/* A basic step (incremental mode) or one collection (generational: enough debt that Lua's
 * genstep decides between a young and a major collection by its own policy). */
static bool auto_step(hbl_heap_t *h, lua_State *L, const char *kind) {
  return gc_step(h, L, h->generational ? 0x7fff : 0, kind);
}

/* ---------------------------------------------------------------------------------------------
 * Lifetime and mutators
 * ------------------------------------------------------------------------------------------- */

/* The config bytes: config[0] bit 0 the mode (0 incremental, 1 generational), bits 1-3 t the
 * automatic collection (a basic step once Lua allocated 64 << t bytes since the last step; t = 0:
 * none).
 * Incremental: pause 25..400% (config[1]), stepmul 25..400 (config[2]), step size 2^4..2^13
 * bytes (config[3]). Generational: minor multiplier 1..100% (config[1]), major multiplier
 * 10..200% (config[2]). Lua's defaults are pause 200, stepmul 100, step 2^13; minor 20, major
 * 100: the small values make a small program's collector work often. */
static void config_from(hbl_heap_t *h, const hb_settings_t *s) {
  h->generational = s->config[0] & 1u;
  unsigned t = (s->config[0] >> 1) & 7u;
  h->auto_bytes = t ? (size_t)64 << t : 0; /* 128 B (about every allocation) .. 8 KiB */
  h->pause = 25 * (1 + s->config[1] % 16);
  h->stepmul = 25 * (1 + s->config[2] % 16);
  h->stepsize = 4 + s->config[3] % 10;
  h->minormul = 1 + s->config[1] % 100;
  h->majormul = 10 * (1 + s->config[2] % 20);
}

static void new_weak_table(lua_State *L) {
  lua_createtable(L, 0, 0);
  lua_createtable(L, 0, 1);
  lua_pushstring(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
}

/* Pushes the backend's three tables (STK_MAP, STK_ROOTS, STK_WEAK) onto L. */
static void push_tables(lua_State *L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, RIDX_MAP);
  lua_rawgeti(L, LUA_REGISTRYINDEX, RIDX_ROOTS);
  lua_rawgeti(L, LUA_REGISTRYINDEX, RIDX_WEAK);
}

static hb_status_t create(const hb_settings_t *s, const hb_hooks_t *hooks, hb_heap_t **out) {
  hbl_heap_t *h = calloc(1, sizeof *h);
  if (!h) return HBL_ERR_NO_MEMORY;
  h->hooks = *hooks;
  h->limit = s->heap_limit;
  h->next_weak_key = FIRST_WEAK_KEY;
  h->next_thread_key = 1;
  config_from(h, s);
  lua_State *L = h->L = lua_newstate(lalloc, h);
  if (!L) {
    free(h);
    return HBL_ERR_NO_MEMORY;
  }
  pthread_mutex_init(&h->gil_mutex, NULL);
  pthread_mutex_init(&h->lock, NULL);
  pthread_cond_init(&h->gil_cond, NULL);
  *(hbl_heap_t **)lua_getextraspace(L) = h; /* coroutines get a copy (lua_newthread) */
  lua_atpanic(L, on_panic);
  lua_setwarnf(L, on_warning, h);
  lua_gc(L, LUA_GCSTOP); /* every collection from here on is the backend's (see the top) */
  if (h->generational)
    lua_gc(L, LUA_GCGEN, h->minormul, h->majormul); /* a collection of the empty state */
  else
    lua_gc(L, LUA_GCINC, h->pause, h->stepmul, h->stepsize);
  new_weak_table(L);
  lua_rawseti(L, LUA_REGISTRYINDEX, RIDX_MAP);
  lua_createtable(L, 0, 0);
  lua_rawseti(L, LUA_REGISTRYINDEX, RIDX_ROOTS);
  new_weak_table(L);
  lua_rawseti(L, LUA_REGISTRYINDEX, RIDX_WEAK);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, on_gc);
  lua_setfield(L, -2, "__gc");
  lua_rawseti(L, LUA_REGISTRYINDEX, RIDX_FINMT);
  lua_createtable(L, 0, 0);
  lua_rawseti(L, LUA_REGISTRYINDEX, RIDX_THREADS);
  push_tables(L);
  arm_sentinel(L);
  *out = (hb_heap_t *)h;
  return HB_OK;
}

/* lua_close calls the finalizers still owed (the hooks stay set) and frees every object, and the
 * coroutines still attached (after a finding); then every byte Lua had must be back. */
static hb_status_t destroy(hb_heap_t *heap) {
  hbl_heap_t *h = (hbl_heap_t *)heap;
  if (h->mutators) return HBL_ERR_NOT_ATTACHED;
  h->armed = false;
  lua_close(h->L);
  hb_status_t st = h->sticky;
  if (st == HB_OK && h->bytes != 0) st = HBL_ERR_LEAK;
  while (h->all_weaks) {
    hbl_weak_t *w = h->all_weaks;
    h->all_weaks = w->next_all;
    free(w);
  }
  pthread_mutex_destroy(&h->gil_mutex);
  pthread_mutex_destroy(&h->lock);
  pthread_cond_destroy(&h->gil_cond);
  free(h->roots);
  free(h->synced);
  free(h);
  return st;
}

/* ---------------------------------------------------------------------------------------------
 * Mutators: coroutines
 * ------------------------------------------------------------------------------------------- */

static hbl_mutator_t *mut_of(hb_mutator_t *m) {
  return (hbl_mutator_t *)m;
}

/* The big lock (Lua's lua_lock, in effect), for real-thread mode: Lua runs one thread at a time.
 * An OS thread holds it while any of its mutators holds heap access (`held` counts them), so in
 * deterministic mode, every mutator a fiber on one OS thread, it never waits. Holders hand it
 * over at the yield points, where the interpreter expects other threads' collections (the
 * heap's safepoints), when another thread waits for it; release_access and detach let it go. */
static void gil_acquire(hbl_heap_t *h) {
  pthread_t self = pthread_self();
  pthread_mutex_lock(&h->gil_mutex);
  if (h->gil_held && !pthread_equal(h->gil_owner, self)) {
    h->gil_waiters++;
    while (h->gil_held)
      pthread_cond_wait(&h->gil_cond, &h->gil_mutex);
    h->gil_waiters--;
  }
  if (!h->gil_held) {
    h->gil_owner = self;
    h->gil_grants++;
  }
  h->gil_held++;
  pthread_mutex_unlock(&h->gil_mutex);
}

static void gil_release(hbl_heap_t *h) {
  pthread_mutex_lock(&h->gil_mutex);
  if (h->gil_held && --h->gil_held == 0) pthread_cond_broadcast(&h->gil_cond);
  pthread_mutex_unlock(&h->gil_mutex);
}

/* A safepoint: a thread waiting for the lock gets it, and this one waits for it back. */
static void gil_pass(hbl_heap_t *h) {
  pthread_mutex_lock(&h->gil_mutex);
  if (h->gil_waiters && h->gil_held) {
    unsigned held = h->gil_held;
    uint64_t grants = h->gil_grants;
    h->gil_held = 0;
    pthread_cond_broadcast(&h->gil_cond);
    while (h->gil_grants == grants || h->gil_held)
      pthread_cond_wait(&h->gil_cond, &h->gil_mutex);
    h->gil_owner = pthread_self();
    h->gil_grants++;
    h->gil_held = held;
  }
  pthread_mutex_unlock(&h->gil_mutex);
}

/* The entry lock (hbl_heap_t.lock), after the big lock when a call takes both. */
static void enter(hbl_heap_t *h) {
  pthread_mutex_lock(&h->lock);
}
static void leave(hbl_heap_t *h) {
  pthread_mutex_unlock(&h->lock);
}

/* A heap yield point of m's thread, its coroutine suspended and its stack clean (see the top),
 * the entry lock let go: the deterministic scheduler may run other fibers here, and in
 * real-thread mode other threads may take the big lock. */
static void yield_point(hbl_mutator_t *m, const char *point) {
  hbl_heap_t *h = m->heap;
  leave(h);
  if (h->hooks.yield)
    h->hooks.yield(h->hooks.ctx, point, false);
  else
    gil_pass(h);
  enter(h);
}

static int serve(lua_State *co, int status, lua_KContext ctx);
static void alloc_in(hbl_heap_t *h, hbl_mutator_t *m);
static hb_status_t collect_in(hbl_heap_t *h, hbl_mutator_t *m);

/* The body of every mutator's coroutine: (map, roots, weak, mutator) -> it keeps the three tables
 * as its frame's STK_MAP.. and parks in its first yield (attach's resume returns). */
static int body(lua_State *co) {
  hbl_mutator_t *m = lua_touserdata(co, STK_TOP + 1);
  lua_settop(co, STK_TOP);
  return lua_yieldk(co, 0, (lua_KContext)m, serve);
}

/* The body's continuation: each resume serves m's request inside the running coroutine, then
 * yields again (returns: the coroutine ends, for REQ_DETACH). The stack is the three tables at
 * every yield, but the fresh object of REQ_ALLOC, which alloc pops. */
static int serve(lua_State *co, int status, lua_KContext ctx) {
  (void)status;
  hbl_mutator_t *m = (hbl_mutator_t *)ctx;
  hbl_heap_t *h = m->heap;
  switch (m->req) {
    case REQ_ALLOC:
      alloc_in(h, m);
      break;
    case REQ_COLLECT:
      m->status = collect_in(h, m);
      break;
    case REQ_STEP:
      sync_roots(h, co);
      gc_step(h, co, m->data, "step");
      break;
    case REQ_DETACH:
      lua_settop(co, 0);
      return 0;
  }
  return lua_yieldk(co, 0, ctx, serve);
}

/* Resumes m's coroutine for its request; it yields back (or returns, for REQ_DETACH). */
static void resume(hbl_mutator_t *m, hbl_request_t req) {
  hbl_heap_t *h = m->heap;
  m->req = req;
  int nres = 0;
  int rc = lua_resume(m->co, h->L, 0, &nres);
  if (rc == (req == REQ_DETACH ? LUA_OK : LUA_YIELD)) return;
  const char *msg = lua_tostring(m->co, -1);
  char what[120];
  snprintf(what, sizeof what, "mutator %lld: resume: %s", (long long)m->key, msg ? msg : "?");
  fail_later(h, HBL_ERR_COROUTINE, what);
}

/* A new coroutine, kept in RIDX_THREADS[key], started: suspended in its first yield. */
static hb_status_t attach(hb_heap_t *heap, hb_mutator_t **out) {
  hbl_heap_t *h = (hbl_heap_t *)heap;
  hbl_mutator_t *m = calloc(1, sizeof *m);
  if (!m) return HBL_ERR_NO_MEMORY;
  gil_acquire(h); /* it holds heap access from now on */
  enter(h);
  lua_State *L = h->L;
  m->heap = h;
  m->key = h->next_thread_key++;
  m->access = true;
  lua_rawgeti(L, LUA_REGISTRYINDEX, RIDX_THREADS);
  m->co = lua_newthread(L); /* the collector is stopped: no step inside */
  lua_rawseti(L, -2, m->key);
  lua_pop(L, 1);
  lua_pushcfunction(m->co, body);
  push_tables(m->co);
  lua_pushlightuserdata(m->co, m);
  int nres = 0;
  int rc = lua_resume(m->co, L, STK_TOP + 1, &nres);
  hb_status_t st = HB_OK;
  if (rc != LUA_YIELD || lua_gettop(m->co) != STK_TOP) {
    st = HBL_ERR_COROUTINE;
    lua_rawgeti(L, LUA_REGISTRYINDEX, RIDX_THREADS);
    lua_pushnil(L);
    lua_rawseti(L, -2, m->key);
    lua_pop(L, 1);
    free(m);
    leave(h);
    gil_release(h);
    return st;
  } else {
    m->next = h->mutators;
    h->mutators = m;
    hb_tracef(&h->hooks, "  event attach mutator=%lld", (long long)m->key);
    *out = (hb_mutator_t *)m;
  }
  leave(h);
  return st;
}

/* The coroutine returns (dead) and leaves the registry: a later collection frees it. */
static hb_status_t detach(hb_mutator_t *mm) {
  hbl_mutator_t *m = mut_of(mm);
  hbl_heap_t *h = m->heap;
  bool took = !m->access; /* the teardown detaches threads that ended without access */
  if (took) gil_acquire(h);
  enter(h);
  hbl_mutator_t **p = &h->mutators;
  while (*p && *p != m)
    p = &(*p)->next;
  if (!*p) {
    leave(h);
    if (took) gil_release(h);
    return HBL_ERR_NOT_ATTACHED;
  }
  *p = m->next;
  resume(m, REQ_DETACH);
  hb_status_t st = lua_status(m->co) == LUA_OK && lua_gettop(m->co) == 0 ? HB_OK : h->sticky;
  lua_rawgeti(h->L, LUA_REGISTRYINDEX, RIDX_THREADS);
  lua_pushnil(h->L);
  lua_rawseti(h->L, -2, m->key);
  lua_pop(h->L, 1);
  hb_tracef(&h->hooks, "  event detach mutator=%lld", (long long)m->key);
  free(m);
  leave(h);
  gil_release(h);
  return st == HB_OK ? HB_OK : HBL_ERR_COROUTINE;
}

static hb_status_t release_access(hb_mutator_t *mm) {
  hbl_mutator_t *m = mut_of(mm);
  enter(m->heap); /* orders this thread's last object accesses before others' calls (TSan) */
  bool had = m->access;
  m->access = false;
  leave(m->heap);
  if (had) gil_release(m->heap);
  return had ? HB_OK : HBL_ERR_NO_ACCESS;
}

static hb_status_t acquire_access(hb_mutator_t *mm) {
  hbl_mutator_t *m = mut_of(mm);
  bool had = m->access;
  if (!had) gil_acquire(m->heap);
  enter(m->heap);
  m->access = true;
  leave(m->heap);
  return had ? HBL_ERR_NO_ACCESS : HB_OK;
}

/* Nothing waits for a safepoint here: a collection runs whole inside the call that steps it, and
 * the big lock changes hands at the yield points (in real-thread mode the interpreter calls no
 * safepoint between ops). The deterministic scheduler calls it before each op of a mutator: the
 * entry lock taken and let go orders what the thread did to objects since its last call (their
 * payloads) before whatever another fiber's call does next (free them, for TSan). */
static void safepoint(hb_mutator_t *m) {
  hbl_heap_t *h = mut_of(m)->heap;
  enter(h);
  leave(h);
}

/* ---------------------------------------------------------------------------------------------
 * Objects
 * ------------------------------------------------------------------------------------------- */

static size_t payload_size(size_t size, uint32_t nslots) {
  return size - HB_OBJECT_HEADER - HB_OBJECT_SLOT * (size_t)nslots;
}

/* alloc's protected part: (heap, size, nslots, flags) -> the new userdata. The map entry comes
 * before the metatable: an object whose map insertion failed (a memory error) then has no
 * finalizer, which the interpreter, never told of it, would not expect. */
static int alloc_protected(lua_State *L) {
  hbl_heap_t *h = lua_touserdata(L, 1);
  size_t size = (size_t)lua_tointeger(L, 2);
  uint32_t nslots = (uint32_t)lua_tointeger(L, 3);
  unsigned flags = (unsigned)lua_tointeger(L, 4);
  lua_settop(L, 0);
  size_t payload = payload_size(size, nslots);
  hbl_header_t *o = lua_newuserdatauv(L, sizeof *o + payload, (int)nslots);
  memset(o + 1, 0, payload); /* Lua does not clear userdata memory; user values start nil */
  o->serial = ++h->next_serial;
  o->size = (uint32_t)size;
  o->nslots = nslots;
  o->flags = flags;
  lua_rawgeti(L, LUA_REGISTRYINDEX, RIDX_MAP);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, (lua_Integer)o->serial);
  lua_pop(L, 1);
  if (flags & HB_ALLOC_FINALIZE) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, RIDX_FINMT);
    lua_setmetatable(L, 1);
  }
  return 1;
}

/* REQ_ALLOC, inside m's running coroutine: the new object stays on its stack (m->fresh), for
 * alloc to pop. */
static void alloc_in(hbl_heap_t *h, hbl_mutator_t *m) {
  lua_State *L = m->co;
  m->fresh = NULL;
  m->status = HB_OK;
  sync_roots(h, L); /* an emergency collection may run inside */
  lua_pushcfunction(L, alloc_protected);
  lua_pushlightuserdata(L, h);
  lua_pushinteger(L, (lua_Integer)m->size);
  lua_pushinteger(L, (lua_Integer)m->nslots);
  lua_pushinteger(L, (lua_Integer)m->flags);
  h->armed = true;
  h->failing = h->limit_hit = false;
  int rc = lua_pcall(L, 4, 1, 0);
  h->armed = false;
  if (rc == LUA_OK) {
    m->fresh = lua_touserdata(L, -1);
    hb_tracef(&h->hooks, "  event alloc object=%u size=%zu slots=%u finalize=%d mutator=%lld",
              header(m->fresh)->serial, m->size, m->nslots, (m->flags & HB_ALLOC_FINALIZE) != 0,
              (long long)m->key);
  } else if (rc == LUA_ERRMEM && (h->failing || h->limit_hit)) {
    m->status = h->failing ? HB_ERR_INJECTED : HB_ERR_LIMIT;
    hb_tracef(&h->hooks, "  event alloc-failed size=%zu status=%s", m->size,
              status_name(m->status));
  } else {
    const char *msg = lua_tostring(L, -1);
    snprintf(h->last_error, sizeof h->last_error, "alloc: %s", msg ? msg : "?");
    m->status = rc == LUA_ERRMEM ? HBL_ERR_NO_MEMORY : HBL_ERR_LUA;
  }
  if (!m->fresh) lua_pop(L, 1);           /* the error */
  settle(h, L, false, "emergency", NULL); /* Lua collects when an acquisition fails */
  /* Automatic collection, with the fresh object on the stack: the interpreter holds it as a
   * root until it has settled the collections of this call. */
  if (m->fresh && h->auto_bytes && h->debt >= h->auto_bytes) auto_step(h, L, "auto");
}

static hb_object_t *alloc_locked(hb_mutator_t *mm, size_t size, uint32_t nslots, unsigned flags,
                                 hb_status_t *status) {
  hbl_mutator_t *m = mut_of(mm);
  if (!m->access) {
    *status = HBL_ERR_NO_ACCESS;
    return NULL;
  }
  yield_point(m, "alloc-enter");
  m->size = size;
  m->nslots = nslots;
  m->flags = flags;
  m->fresh = NULL; /* stays NULL if the coroutine cannot be resumed */
  resume(m, REQ_ALLOC);
  hb_object_t *o = m->fresh;
  if (o) {
    m->holding = true;
    yield_point(m, "alloc-fresh");
    m->holding = false;
    lua_pop(m->co, 1);
  } else {
    *status = m->status != HB_OK ? m->status : HBL_ERR_COROUTINE;
  }
  return o;
}

static hb_object_t *load_locked(hb_mutator_t *mm, hb_object_t *o, uint32_t slot) {
  hbl_mutator_t *m = mut_of(mm);
  hbl_heap_t *h = m->heap;
  lua_State *L = m->co;
  if (!push_object(L, o)) fail_later(h, HBL_ERR_NOT_AN_OBJECT, "load from a dead object");
  lua_getiuservalue(L, -1, (int)slot + 1);
  hb_object_t *v = lua_touserdata(L, -1);
  lua_settop(L, STK_TOP);
  return v;
}

/* lua_setiuservalue runs Lua's write barrier (luaC_barrierback). */
static void store_locked(hb_mutator_t *mm, hb_object_t *o, uint32_t slot, hb_object_t *value) {
  hbl_mutator_t *m = mut_of(mm);
  hbl_heap_t *h = m->heap;
  lua_State *L = m->co;
  bool ok = push_object(L, o);
  ok = push_object(L, value) && ok;
  if (ok)
    lua_setiuservalue(L, -2, (int)slot + 1);
  else
    fail_later(h, HBL_ERR_NOT_AN_OBJECT, "store into or of a dead object");
  lua_settop(L, STK_TOP);
}

static uint8_t *payload(hb_object_t *o, size_t *size) {
  hbl_header_t *hd = header(o);
  *size = payload_size(hd->size, hd->nslots);
  return (uint8_t *)(hd + 1);
}

static void shape(const hb_object_t *o, size_t *size, uint32_t *nslots) {
  *size = header(o)->size;
  *nslots = header(o)->nslots;
}

/* ---------------------------------------------------------------------------------------------
 * Roots and weak references
 * ------------------------------------------------------------------------------------------- */

static hb_status_t root_add_locked(hb_mutator_t *mm, hb_object_t **slot) {
  hbl_heap_t *h = mut_of(mm)->heap;
  hb_status_t st = HB_OK;
  if (h->nroots == h->roots_cap) {
    size_t cap = h->roots_cap ? 2 * h->roots_cap : 16;
    hb_object_t ***roots = realloc(h->roots, cap * sizeof *roots);
    if (roots) h->roots = roots;
    hb_object_t **synced = roots ? realloc(h->synced, cap * sizeof *synced) : NULL;
    if (synced) h->synced = synced;
    if (synced)
      h->roots_cap = cap;
    else
      st = HBL_ERR_NO_MEMORY;
  }
  if (st == HB_OK) {
    h->roots[h->nroots] = slot;
    h->synced[h->nroots] = (hb_object_t *)h; /* never a slot's value: the next sync copies it */
    h->nroots++;
  }
  return st;
}

/* The last root moves into the removed one's place: its entry is copied at the next sync, and
 * the last entry of the table is cleared now. */
static hb_status_t root_remove_locked(hb_mutator_t *mm, hb_object_t **slot) {
  hbl_mutator_t *m = mut_of(mm);
  hbl_heap_t *h = m->heap;
  for (size_t i = h->nroots; i-- > 0;) {
    if (h->roots[i] != slot) continue;
    h->nroots--;
    h->roots[i] = h->roots[h->nroots];
    h->synced[i] = (hb_object_t *)h;
    lua_pushnil(m->co);
    lua_rawseti(m->co, STK_ROOTS, (lua_Integer)h->nroots + 1);
    return HB_OK;
  }
  return HBL_ERR_NOT_A_ROOT;
}

static hb_status_t weak_create_locked(hb_mutator_t *mm, hb_object_t *target, hb_weak_t **out) {
  hbl_mutator_t *m = mut_of(mm);
  hbl_heap_t *h = m->heap;
  lua_State *L = m->co;
  hb_status_t st = HB_OK;
  hbl_weak_t *w = h->free_weaks;
  if (!m->access) {
    st = HBL_ERR_NO_ACCESS;
  } else if (w) {
    h->free_weaks = w->next_free;
  } else if ((w = calloc(1, sizeof *w)) != NULL) {
    w->key = h->next_weak_key++;
    w->next_all = h->all_weaks;
    h->all_weaks = w;
  } else {
    st = HBL_ERR_NO_MEMORY;
  }
  if (st == HB_OK && !push_object(L, target)) {
    lua_settop(L, STK_TOP);
    w->next_free = h->free_weaks;
    h->free_weaks = w;
    st = HBL_ERR_NOT_AN_OBJECT;
  }
  if (st == HB_OK) {
    lua_rawseti(L, STK_WEAK, w->key);
    *out = (hb_weak_t *)w;
  }
  return st;
}

static hb_object_t *weak_get_locked(hb_mutator_t *mm, hb_weak_t *weak) {
  hbl_mutator_t *m = mut_of(mm);
  lua_rawgeti(m->co, STK_WEAK, ((hbl_weak_t *)weak)->key);
  hb_object_t *o = lua_touserdata(m->co, -1);
  lua_pop(m->co, 1);
  return o;
}

static hb_status_t weak_destroy_locked(hb_mutator_t *mm, hb_weak_t *weak) {
  hbl_mutator_t *m = mut_of(mm);
  hbl_heap_t *h = m->heap;
  hbl_weak_t *w = (hbl_weak_t *)weak;
  if (!m->access) {
    return HBL_ERR_NO_ACCESS;
  }
  lua_pushnil(m->co);
  lua_rawseti(m->co, STK_WEAK, w->key);
  w->next_free = h->free_weaks;
  h->free_weaks = w;
  return HB_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Collection
 * ------------------------------------------------------------------------------------------- */

/* Bounds gc-eden's basic steps in incremental mode: a cycle of a program's heap (at most a few
 * thousand objects) ends in far fewer steps of the smallest size. */
enum { MAX_CYCLE_STEPS = 1000000 };

/* Exact death rests on this: every coroutine's stack holds the backend's tables, and the fresh
 * object of one suspended at "alloc-fresh"; the running one (self) only the tables. */
static bool stacks_clean(const hbl_heap_t *h, const hbl_mutator_t *self) {
  if (lua_gettop(h->L) != STK_TOP) return false;
  for (const hbl_mutator_t *m = h->mutators; m; m = m->next)
    if (lua_gettop(m->co) != STK_TOP + (m != self && m->holding)) return false;
  return true;
}

/* REQ_COLLECT, inside m's running coroutine. */
static hb_status_t collect_in(hbl_heap_t *h, hbl_mutator_t *m) {
  lua_State *L = m->co;
  hb_status_t st = h->sticky;
  if (!stacks_clean(h, m)) return HBL_ERR_STACK;
  sync_roots(h, L);
  if (m->full) {
    lua_gc(L, LUA_GCCOLLECT);
    settle(h, L, true, "full", &st);
  } else if (h->generational) {
    if (!auto_step(h, L, "young")) st = HBL_ERR_NO_CYCLE;
  } else {
    unsigned n = 0;
    while (!gc_step(h, L, 0, "cycle"))
      if (++n == MAX_CYCLE_STEPS) return HBL_ERR_NO_CYCLE;
  }
  return st;
}

static hb_status_t collect_locked(hb_mutator_t *mm, bool full) {
  hbl_mutator_t *m = mut_of(mm);
  hbl_heap_t *h = m->heap;
  yield_point(m, "collect-enter");
  m->full = full;
  m->status = HBL_ERR_COROUTINE;
  resume(m, REQ_COLLECT);
  hb_status_t st = m->status;
  if (st != HB_OK && h->sticky == HB_OK) h->sticky = st;
  return st;
}

static void sweep_step_locked(hb_mutator_t *mm, size_t n) {
  hbl_mutator_t *m = mut_of(mm);
  yield_point(m, "step-enter");
  m->data = (int)n;
  resume(m, REQ_STEP);
}

/* ---------------------------------------------------------------------------------------------
 * The entries that take a mutator, each under the entry lock
 * ------------------------------------------------------------------------------------------- */

static hb_object_t *alloc(hb_mutator_t *mm, size_t size, uint32_t nslots, unsigned flags,
                          hb_status_t *status) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  hb_object_t *o = alloc_locked(mm, size, nslots, flags, status);
  leave(h);
  return o;
}

static hb_object_t *load(hb_mutator_t *mm, hb_object_t *o, uint32_t slot) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  hb_object_t *v = load_locked(mm, o, slot);
  leave(h);
  return v;
}

static void store(hb_mutator_t *mm, hb_object_t *o, uint32_t slot, hb_object_t *value) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  store_locked(mm, o, slot, value);
  leave(h);
}

static hb_status_t root_add(hb_mutator_t *mm, hb_object_t **slot) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  hb_status_t st = root_add_locked(mm, slot);
  leave(h);
  return st;
}

static hb_status_t root_remove(hb_mutator_t *mm, hb_object_t **slot) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  hb_status_t st = root_remove_locked(mm, slot);
  leave(h);
  return st;
}

static hb_status_t weak_create(hb_mutator_t *mm, hb_object_t *target, hb_weak_t **out) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  hb_status_t st = weak_create_locked(mm, target, out);
  leave(h);
  return st;
}

static hb_object_t *weak_get(hb_mutator_t *mm, hb_weak_t *weak) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  hb_object_t *o = weak_get_locked(mm, weak);
  leave(h);
  return o;
}

static hb_status_t weak_destroy(hb_mutator_t *mm, hb_weak_t *weak) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  hb_status_t st = weak_destroy_locked(mm, weak);
  leave(h);
  return st;
}

static hb_status_t collect(hb_mutator_t *mm, bool full) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  hb_status_t st = collect_locked(mm, full);
  leave(h);
  return st;
}

static void sweep_step(hb_mutator_t *mm, size_t n) {
  hbl_heap_t *h = mut_of(mm)->heap;
  enter(h);
  sweep_step_locked(mm, n);
  leave(h);
}

static void fail_next(hb_heap_t *heap, unsigned nth) {
  hbl_heap_t *h = (hbl_heap_t *)heap;
  enter(h);
  h->fail_in = nth;
  leave(h);
}

static void dump(hb_heap_t *heap, hb_mutator_t *m, FILE *out) {
  hbl_heap_t *h = (hbl_heap_t *)heap;
  fprintf(out, "lua heap (%s): %s mode", LUA_RELEASE,
          h->generational ? "generational" : "incremental");
  if (h->generational)
    fprintf(out, " minormul=%d majormul=%d", h->minormul, h->majormul);
  else
    fprintf(out, " pause=%d stepmul=%d stepsize=2^%d", h->pause, h->stepmul, h->stepsize);
  fprintf(out, ", automatic step every %zu bytes allocated\n", h->auto_bytes);
  fprintf(out, "  bytes=%zu peak=%zu limit=%zu objects allocated=%u roots=%zu\n", h->bytes, h->peak,
          h->limit, h->next_serial, h->nroots);
  fprintf(out, "  collections=%llu (full %llu) steps=%llu finalized=%llu injected failures=%llu\n",
          (unsigned long long)h->collections, (unsigned long long)h->full_collections,
          (unsigned long long)h->steps, (unsigned long long)h->finalized,
          (unsigned long long)h->failed_allocations);
  fprintf(out, "  mutators (coroutines):");
  for (const hbl_mutator_t *o = h->mutators; o; o = o->next)
    fprintf(out, " %lld%s%s%s", (long long)o->key, o == mut_of(m) ? "*" : "",
            o->access ? "" : " (released)", o->holding ? " (holding a fresh object)" : "");
  fprintf(out, "\n");
  if (h->sticky != HB_OK)
    fprintf(out, "  error: %s: %s\n", status_name(h->sticky), h->last_error);
  else if (h->last_error[0])
    fprintf(out, "  last error: %s\n", h->last_error);
}

const hb_backend_t hb_lua_backend = {
    .name = "lua",
    .caps = HB_CAP_EDEN | HB_CAP_SWEEP_STEP | HB_CAP_FAULT_INJECTION | HB_CAP_MUTATORS |
            HB_CAP_ACCESS | HB_CAP_YIELD_POINTS | HB_CAP_EXACT_DEATH | HB_CAP_EXACT_FINALIZERS |
            HB_CAP_SHAPE | HB_CAP_DUMP,
    .status_name = status_name,
    .create = create,
    .destroy = destroy,
    .attach = attach,
    .detach = detach,
    .release_access = release_access,
    .acquire_access = acquire_access,
    .safepoint = safepoint,
    .alloc = alloc,
    .load = load,
    .store = store,
    .payload = payload,
    .shape = shape,
    .root_add = root_add,
    .root_remove = root_remove,
    .weak_create = weak_create,
    .weak_get = weak_get,
    .weak_destroy = weak_destroy,
    .collect = collect,
    .sweep_step = sweep_step,
    .fail_next = fail_next,
    .dump = dump,
};

#endif /* HF_HAVE_LUA */
