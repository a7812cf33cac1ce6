/* backend_nogc.c: the smallest heap heapfuzz runs programs on (include/heapbackend.h), and the
 * skeleton to copy when plugging in your own.
 *
 * Every object is one calloc'd block: a header (its size, slot count, finalize flag and serial
 * number), then its reference slots, then its payload. Nothing is ever collected: collect is a
 * collection that frees nothing, and destroy finalizes and frees everything. The capabilities
 * are what that truly gives: shape, liveness and iteration from the backend's own bookkeeping,
 * and exact finalizers (each finalizable object once, at destroy). Never exact death nor exact
 * live bytes, since unreachable objects live on; no eden collection, sweeping or shrinking: as
 * no-ops they would hide from `heapfuzz run`'s skip counts that nothing of the kind happened;
 * and one mutator.
 *
 * No locks: without HB_CAP_MUTATORS and HB_CAP_SWEEPER_STEP only one thread at a time calls in.
 * A heap with several mutators synchronizes its entries as it does for its own mutators. */
#include "backend_nogc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The op language's nominal layout (heapbackend.h, "Objects"): what alloc's size counts. */
enum { NOMINAL_HEADER = 8, NOMINAL_SLOT = 8, MAX_SLOTS = 32 };

typedef struct nogc_obj {
  size_t size; /* the nominal size alloc was asked for */
  uint32_t nslots;
  uint32_t serial; /* allocation order: trace lines name objects by it, never by address */
  bool finalize;
  hb_object_t *slots[]; /* then the payload */
} nogc_obj_t;

/* Kept on a list so destroy frees those the interpreter did not. */
typedef struct nogc_weak {
  hb_object_t *target;
  struct nogc_weak *prev, *next;
} nogc_weak_t;

typedef struct nogc_heap nogc_heap_t;
typedef struct nogc_mutator {
  nogc_heap_t *heap;
} nogc_mutator_t;

struct nogc_heap {
  hb_hooks_t hooks;
  size_t limit, bytes; /* nominal sizes: the program's heap limit counts the op language's bytes */
  nogc_mutator_t mutator;
  bool attached;
  /* Every object twice: in allocation order, which iterate and destroy walk so that the hooks
   * run in the same order every time; and by address, so is_live can answer for any pointer. */
  nogc_obj_t **objs, **by_addr;
  size_t nobjs, objs_cap;
  hb_object_t ***roots;
  size_t nroots, roots_cap;
  nogc_weak_t *weaks;
};

static nogc_heap_t *heap_of(hb_heap_t *h) {
  return (nogc_heap_t *)h;
}
static nogc_heap_t *heap_of_mut(hb_mutator_t *m) {
  return ((nogc_mutator_t *)m)->heap;
}
static nogc_obj_t *obj(const hb_object_t *o) {
  return (nogc_obj_t *)o;
}
static size_t payload_size(size_t size, uint32_t nslots) {
  return size - NOMINAL_HEADER - NOMINAL_SLOT * (size_t)nslots;
}

static const char *status_name(hb_status_t st) {
  static const char *const names[] = {
      [HB_OK] = "HB_OK",
      [HB_ERR_LIMIT] = "HB_ERR_LIMIT",
      [NOGC_ERR_NO_MEMORY] = "NOGC_ERR_NO_MEMORY",
      [NOGC_ERR_ATTACHED] = "NOGC_ERR_ATTACHED",
      [NOGC_ERR_NOT_ATTACHED] = "NOGC_ERR_NOT_ATTACHED",
      [NOGC_ERR_BAD_SHAPE] = "NOGC_ERR_BAD_SHAPE",
      [NOGC_ERR_NOT_A_ROOT] = "NOGC_ERR_NOT_A_ROOT",
      [NOGC_ERR_NOT_AN_OBJECT] = "NOGC_ERR_NOT_AN_OBJECT",
      [NOGC_ERR_UNSUPPORTED] = "NOGC_ERR_UNSUPPORTED",
  };
  return hb_status_lookup(names, sizeof names / sizeof names[0], st, "NOGC_ERR_?");
}

/* The first position in by_addr whose object is not below p. */
static size_t by_addr_position(const nogc_heap_t *h, const void *p) {
  size_t lo = 0, hi = h->nobjs;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if ((uintptr_t)h->by_addr[mid] < (uintptr_t)p)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool is_object(const nogc_heap_t *h, const void *p) {
  size_t i = by_addr_position(h, p);
  return i < h->nobjs && h->by_addr[i] == p;
}

/* ---------------------------------------------------------------------------------------------
 * Lifetime and mutators
 * ------------------------------------------------------------------------------------------- */

/* The config bytes would choose a collector's policy; with no collector, every value means the
 * same heap. */
static hb_status_t create(const hb_settings_t *s, const hb_hooks_t *hooks, hb_heap_t **out) {
  nogc_heap_t *h = calloc(1, sizeof *h);
  if (!h) return NOGC_ERR_NO_MEMORY;
  h->hooks = *hooks;
  h->limit = s->heap_limit;
  h->mutator.heap = h;
  *out = (hb_heap_t *)h;
  return HB_OK;
}

static hb_status_t destroy(hb_heap_t *heap) {
  nogc_heap_t *h = heap_of(heap);
  if (h->attached) return NOGC_ERR_ATTACHED;
  /* The finalizers owed: every finalizable object, since none died before. */
  for (size_t i = 0; i < h->nobjs; i++) {
    nogc_obj_t *o = h->objs[i];
    if (o->finalize) {
      hb_tracef(&h->hooks, "  event finalize object=%u", o->serial);
      h->hooks.finalized(h->hooks.ctx, (hb_object_t *)o);
    }
    free(o);
  }
  while (h->weaks) {
    nogc_weak_t *w = h->weaks;
    h->weaks = w->next;
    free(w);
  }
  free(h->objs);
  free(h->by_addr);
  free(h->roots);
  free(h);
  return HB_OK;
}

/* One mutator, embedded in the heap: a second would need HB_CAP_MUTATORS. */
static hb_status_t attach(hb_heap_t *heap, hb_mutator_t **out) {
  nogc_heap_t *h = heap_of(heap);
  return hb_attach_one(&h->attached, &h->mutator, out, NOGC_ERR_ATTACHED);
}

static hb_status_t detach(hb_mutator_t *m) {
  return hb_detach_one(&heap_of_mut(m)->attached, NOGC_ERR_NOT_ATTACHED);
}

/* ---------------------------------------------------------------------------------------------
 * Objects
 * ------------------------------------------------------------------------------------------- */

/* Room for one more object in both of the heap's arrays. */
static bool reserve_object(nogc_heap_t *h) {
  if (h->nobjs < h->objs_cap) return true;
  size_t cap = h->objs_cap ? 2 * h->objs_cap : 64;
  nogc_obj_t **objs = realloc(h->objs, cap * sizeof *objs);
  if (!objs) return false;
  h->objs = objs; /* bigger than objs_cap says until by_addr grows too: harmless */
  nogc_obj_t **by_addr = realloc(h->by_addr, cap * sizeof *by_addr);
  if (!by_addr) return false;
  h->by_addr = by_addr;
  h->objs_cap = cap;
  return true;
}

static hb_object_t *alloc(hb_mutator_t *m, size_t size, uint32_t nslots, unsigned flags,
                          hb_status_t *status) {
  nogc_heap_t *h = heap_of_mut(m);
  /* The op language never asks for these: refusing them makes an interpreter bug a finding. */
  if (nslots > MAX_SLOTS || size < NOMINAL_HEADER + NOMINAL_SLOT * (size_t)nslots) {
    *status = NOGC_ERR_BAD_SHAPE;
    return NULL;
  }
  /* Nothing can be collected to make room: a full heap stays full. */
  if (size > h->limit - h->bytes) {
    *status = HB_ERR_LIMIT;
    return NULL;
  }
  nogc_obj_t *o = calloc(1, sizeof *o + nslots * sizeof o->slots[0] + payload_size(size, nslots));
  if (!o || !reserve_object(h)) {
    free(o);
    *status = NOGC_ERR_NO_MEMORY;
    return NULL;
  }
  o->size = size;
  o->nslots = nslots;
  o->serial = (uint32_t)h->nobjs;
  o->finalize = (flags & HB_ALLOC_FINALIZE) != 0;
  size_t at = by_addr_position(h, o);
  memmove(&h->by_addr[at + 1], &h->by_addr[at], (h->nobjs - at) * sizeof *h->by_addr);
  h->by_addr[at] = o;
  h->objs[h->nobjs++] = o;
  h->bytes += size;
  hb_tracef(&h->hooks, "  event alloc object=%u size=%zu slots=%u finalize=%d", o->serial, size,
            nslots, o->finalize);
  return (hb_object_t *)o;
}

/* No barrier: nothing runs concurrently with the mutator, and there is no old generation. */
static hb_object_t *load(hb_mutator_t *m, hb_object_t *o, uint32_t slot) {
  (void)m;
  return obj(o)->slots[slot];
}
static void store(hb_mutator_t *m, hb_object_t *o, uint32_t slot, hb_object_t *value) {
  (void)m;
  obj(o)->slots[slot] = value;
}

static uint8_t *payload(hb_object_t *o, size_t *size) {
  nogc_obj_t *p = obj(o);
  *size = payload_size(p->size, p->nslots);
  return (uint8_t *)&p->slots[p->nslots];
}

static void shape(const hb_object_t *o, size_t *size, uint32_t *nslots) {
  *size = obj(o)->size;
  *nslots = obj(o)->nslots;
}

static bool is_live(hb_mutator_t *m, const void *p) {
  return is_object(heap_of_mut(m), p);
}

static hb_status_t iterate(hb_mutator_t *m, hb_visit_fn visit, void *ctx) {
  nogc_heap_t *h = heap_of_mut(m);
  for (size_t i = 0; i < h->nobjs; i++)
    if (!visit((hb_object_t *)h->objs[i], ctx)) break;
  return HB_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Roots, weak references, collection
 * ------------------------------------------------------------------------------------------- */

/* A collector would mark from these slots; this heap only keeps them so that removing a slot
 * never added is an error, as it would be in a real heap. */
static hb_status_t root_add(hb_mutator_t *m, hb_object_t **slot) {
  nogc_heap_t *h = heap_of_mut(m);
  if (h->nroots == h->roots_cap) {
    size_t cap = h->roots_cap ? 2 * h->roots_cap : 16;
    hb_object_t ***roots = realloc(h->roots, cap * sizeof *roots);
    if (!roots) return NOGC_ERR_NO_MEMORY;
    h->roots = roots;
    h->roots_cap = cap;
  }
  h->roots[h->nroots++] = slot;
  return HB_OK;
}

static hb_status_t root_remove(hb_mutator_t *m, hb_object_t **slot) {
  nogc_heap_t *h = heap_of_mut(m);
  for (size_t i = h->nroots; i-- > 0;) {
    if (h->roots[i] != slot) continue;
    h->roots[i] = h->roots[--h->nroots]; /* the order of roots is nobody's business */
    return HB_OK;
  }
  return NOGC_ERR_NOT_A_ROOT;
}

static hb_status_t weak_create(hb_mutator_t *m, hb_object_t *target, hb_weak_t **out) {
  nogc_heap_t *h = heap_of_mut(m);
  if (!is_object(h, target)) return NOGC_ERR_NOT_AN_OBJECT;
  nogc_weak_t *w = calloc(1, sizeof *w);
  if (!w) return NOGC_ERR_NO_MEMORY;
  w->target = target;
  w->next = h->weaks;
  if (h->weaks) h->weaks->prev = w;
  h->weaks = w;
  *out = (hb_weak_t *)w;
  return HB_OK;
}

/* Never cleared: its target never dies. */
static hb_object_t *weak_get(hb_mutator_t *m, hb_weak_t *weak) {
  (void)m;
  return ((nogc_weak_t *)weak)->target;
}

static hb_status_t weak_destroy(hb_mutator_t *m, hb_weak_t *weak) {
  nogc_heap_t *h = heap_of_mut(m);
  nogc_weak_t *w = (nogc_weak_t *)weak;
  if (w->prev)
    w->prev->next = w->next;
  else
    h->weaks = w->next;
  if (w->next) w->next->prev = w->prev;
  free(w);
  return HB_OK;
}

/* A collection that frees nothing is still a collection: the oracle settles its model on every
 * one, so the hook runs exactly once. */
static hb_status_t collect(hb_mutator_t *m, bool full) {
  nogc_heap_t *h = heap_of_mut(m);
  if (!full) return NOGC_ERR_UNSUPPORTED; /* eden needs HB_CAP_EDEN: never asked for */
  hb_tracef(&h->hooks, "  event collect full objects=%zu bytes=%zu roots=%zu", h->nobjs, h->bytes,
            h->nroots);
  h->hooks.collected(h->hooks.ctx, true);
  return HB_OK;
}

const hb_backend_t hb_nogc_backend = {
    .name = "nogc",
    .caps = HB_CAP_ITERATE | HB_CAP_EXACT_FINALIZERS | HB_CAP_LIVENESS | HB_CAP_SHAPE,
    .status_name = status_name,
    .create = create,
    .destroy = destroy,
    .attach = attach,
    .detach = detach,
    .alloc = alloc,
    .load = load,
    .store = store,
    .payload = payload,
    .shape = shape,
    .is_live = is_live,
    .root_add = root_add,
    .root_remove = root_remove,
    .weak_create = weak_create,
    .weak_get = weak_get,
    .weak_destroy = weak_destroy,
    .collect = collect,
    .iterate = iterate,
};
