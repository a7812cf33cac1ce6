/* heapcore.c: the heap core (include/heapcore.h) as a heapfuzz backend (include/heapbackend.h).
 *
 * A 1:1 mapping: every entry is one hc_* call, and the heap core offers every capability. The
 * program's config bytes select the heap configuration (ops_config_t in include/heapops.h names
 * them): an automatic collection trigger, how often an automatic collection is full, the mark
 * version limit (small ones wrap around quickly), scribbling of dead cells and the release of
 * empty blocks by sweeps. hb_heap_t is the heap core's hc_heap_t and hb_mutator_t its
 * hc_mutator_t, cast; status codes map the three the interpreter understands and keep the rest as
 * HB_ERR_BACKEND + hc_status_t, so status_name prints the heap core's names. */
#include "heapbackend.h"
#include "heapcore.h"

#include <stdio.h>
#include <stdlib.h>

_Static_assert(HC_HEADER_SIZE == HB_OBJECT_HEADER && HC_SLOT_SIZE == HB_OBJECT_SLOT,
               "the heap core's layout is the op language's nominal one");

/* The backend's per-heap state: the hooks, and the heap. Only create and destroy write it. */
typedef struct hcb_heap {
  hc_heap_t *heap;
  hb_hooks_t hooks;
} hcb_heap_t;

static hcb_heap_t *hcb(hb_heap_t *h) {
  return (hcb_heap_t *)h;
}
static hc_mutator_t *mut(hb_mutator_t *m) {
  return (hc_mutator_t *)m;
}
static hc_object_t *obj(hb_object_t *o) {
  return (hc_object_t *)o;
}

static hb_status_t status_of(hc_status_t st) {
  switch (st) {
    case HC_OK:
      return HB_OK;
    case HC_ERR_HEAP_LIMIT:
      return HB_ERR_LIMIT;
    case HC_ERR_INJECTED_FAULT:
      return HB_ERR_INJECTED;
    case HC_ERR_ALLOCATION_STOPPED:
      return HB_ERR_STOPPED;
    default:
      return HB_ERR_BACKEND + (hb_status_t)st;
  }
}

static const char *status_name(hb_status_t st) {
  switch (st) {
    case HB_OK:
      return hc_status_name(HC_OK);
    case HB_ERR_LIMIT:
      return hc_status_name(HC_ERR_HEAP_LIMIT);
    case HB_ERR_INJECTED:
      return hc_status_name(HC_ERR_INJECTED_FAULT);
    case HB_ERR_STOPPED:
      return hc_status_name(HC_ERR_ALLOCATION_STOPPED);
    default:
      return hc_status_name((hc_status_t)(st - HB_ERR_BACKEND));
  }
}

/* ---------------------------------------------------------------------------------------------
 * Hooks: the heap core's events, finalizer and yield points onto the interpreter's hooks
 * ------------------------------------------------------------------------------------------- */

static const char *const event_names[HC_EV_COUNT] = {
    "block-acquired",  "block-swept",      "block-released",    "block-stolen",
    "large-allocated", "large-released",   "allocator-stopped", "allocator-resumed",
    "phase",           "mutator-attached", "mutator-detached",
};

static const char *const yield_names[HC_YP_COUNT] = {
    "block-found",  "allocation-stopped", "block-unlinked", "collector-phase",
    "sweeper-loop", "safepoint-wait",     "access-wait",    "block-published",
};

/* A collection ends when it enters RESUMING (in the stopped world): the hook that counts it. */
static void on_event(void *ctx, const hc_event_t *ev) {
  const hb_hooks_t *hooks = &((hcb_heap_t *)ctx)->hooks;
  if (ev->kind == HC_EV_PHASE && ev->arg == HC_PHASE_RESUMING)
    hooks->collected(hooks->ctx, ev->cell_size == HC_COLLECT_FULL);
  if (hooks->trace) {
    char line[160];
    snprintf(line, sizeof line, "  event %s mutator=%u size=%u block=%llu arg=%llu",
             (unsigned)ev->kind < HC_EV_COUNT ? event_names[ev->kind] : "?", ev->mutator,
             ev->cell_size, (unsigned long long)ev->block, (unsigned long long)ev->arg);
    hooks->trace(hooks->ctx, line);
  }
}

static void on_finalize(hc_object_t *o, void *ctx) {
  const hb_hooks_t *hooks = &((hcb_heap_t *)ctx)->hooks;
  hooks->finalized(hooks->ctx, (hb_object_t *)o);
}

static void on_yield(void *ctx, hc_yield_point_t point, hc_mutator_t *m) {
  (void)m; /* the scheduler knows which thread runs */
  const hb_hooks_t *hooks = &((hcb_heap_t *)ctx)->hooks;
  hooks->yield(hooks->ctx, (unsigned)point < HC_YP_COUNT ? yield_names[point] : "?",
               point == HC_YP_SAFEPOINT_WAIT || point == HC_YP_ACCESS_WAIT);
}

/* ---------------------------------------------------------------------------------------------
 * Lifetime
 * ------------------------------------------------------------------------------------------- */

/* The config bytes: trigger (automatic collection after (trigger % 8) * 64 KiB; 0 = never),
 * full_every (every Nth automatic collection is full, N = full_every % 8), versions (version
 * limit 2 + versions % 254) and flags (bit0 scribble, bit1 release empty blocks, bits 2-3 the
 * full collection's growth policy: full once eden collections promoted 0, 50, 100 or 200% of
 * the old generation). */
static void config_from(const hb_settings_t *s, hc_config_t *cfg) {
  hc_config_init(cfg);
  cfg->heap_limit = s->heap_limit;
  cfg->gc_trigger_bytes = (size_t)(s->config[0] % 8u) * 64u * 1024u;
  cfg->full_gc_every = s->config[1] % 8u;
  cfg->version_limit = 2u + s->config[2] % 254u;
  cfg->scribble = s->config[3] & 1u;
  cfg->release_empty_blocks = (s->config[3] & 2u) != 0;
  static const unsigned growth[4] = {0, 50, 100, 200};
  cfg->full_gc_growth = growth[(s->config[3] >> 2) & 3u];
  cfg->self_checks = s->self_checks;
  cfg->seed = 0x6865617066757a7aull; /* fixed: same program, same execution */
}

static hb_status_t create(const hb_settings_t *s, const hb_hooks_t *hooks, hb_heap_t **out) {
  hcb_heap_t *h = calloc(1, sizeof *h);
  if (!h) return status_of(HC_ERR_OUT_OF_MEMORY);
  h->hooks = *hooks;
  hc_config_t cfg;
  config_from(s, &cfg);
  cfg.finalizer = on_finalize;
  cfg.finalizer_ctx = h;
  hc_status_t st = hc_heap_create(&cfg, &h->heap);
  if (st == HC_OK) {
    hc_heap_set_event_hook(h->heap, on_event, h);
    if (hooks->yield) st = hc_heap_set_yield_hook(h->heap, on_yield, h);
    if (st != HC_OK) hc_heap_destroy(h->heap);
  }
  if (st != HC_OK) {
    free(h);
    return status_of(st);
  }
  *out = (hb_heap_t *)h;
  return HB_OK;
}

/* The hooks stay set through destroy: it finalizes what is left and traces the releases. */
static hb_status_t destroy(hb_heap_t *heap) {
  hc_status_t st = hc_heap_destroy(hcb(heap)->heap);
  if (st == HC_OK) free(hcb(heap));
  return status_of(st);
}

/* ---------------------------------------------------------------------------------------------
 * The entries
 * ------------------------------------------------------------------------------------------- */

/* A new mutator belongs to this heap and has an id (1, 2, ... in attach order): what
 * hc_mutator_heap and hc_mutator_id promise, checked where the interpreter sees an error. */
static hb_status_t attach(hb_heap_t *heap, hb_mutator_t **out) {
  hc_status_t st = hc_mutator_attach(hcb(heap)->heap, (hc_mutator_t **)out);
  if (st == HC_OK &&
      (hc_mutator_heap(mut(*out)) != hcb(heap)->heap || hc_mutator_id(mut(*out)) == 0))
    st = HC_ERR_WRONG_STATE;
  return status_of(st);
}
static hb_status_t detach(hb_mutator_t *m) {
  return status_of(hc_mutator_detach(mut(m)));
}
static hb_status_t release_access(hb_mutator_t *m) {
  return status_of(hc_mutator_release_access(mut(m)));
}
static hb_status_t acquire_access(hb_mutator_t *m) {
  return status_of(hc_mutator_acquire_access(mut(m)));
}
static void safepoint(hb_mutator_t *m) {
  hc_safepoint(mut(m));
}

/* hc_alloc (its own inline-size fast path, what most embedders call) unless the object is
 * finalizable. */
static hb_object_t *alloc(hb_mutator_t *m, size_t size, uint32_t nslots, unsigned flags,
                          hb_status_t *status) {
  hc_object_t *o = (flags & HB_ALLOC_FINALIZE)
                       ? hc_alloc_ex(mut(m), size, nslots, HC_ALLOC_FINALIZE)
                       : hc_alloc(mut(m), size, nslots);
  if (!o) *status = status_of(hc_mutator_last_error(mut(m)));
  return (hb_object_t *)o;
}
static hb_object_t *load(hb_mutator_t *m, hb_object_t *o, uint32_t slot) {
  (void)m;
  return (hb_object_t *)hc_load(obj(o), slot);
}
static void store(hb_mutator_t *m, hb_object_t *o, uint32_t slot, hb_object_t *value) {
  hc_store(mut(m), obj(o), slot, obj(value));
}
static uint8_t *payload(hb_object_t *o, size_t *size) {
  *size = hc_object_payload_size(obj(o));
  return hc_object_payload(obj(o));
}
static void shape(const hb_object_t *o, size_t *size, uint32_t *nslots) {
  *size = hc_object_size((const hc_object_t *)o);
  *nslots = hc_object_slot_count((const hc_object_t *)o);
}
static bool is_live(hb_mutator_t *m, const void *p) {
  return hc_is_live_object(mut(m), p);
}

static hb_status_t load_checked(hb_mutator_t *m, hb_object_t *o, uint32_t slot, hb_object_t **out) {
  return status_of(hc_load_checked(mut(m), obj(o), slot, (hc_object_t **)out));
}
static hb_status_t store_checked(hb_mutator_t *m, hb_object_t *o, uint32_t slot,
                                 hb_object_t *value) {
  return status_of(hc_store_checked(mut(m), obj(o), slot, obj(value)));
}

static hb_status_t root_add(hb_mutator_t *m, hb_object_t **slot) {
  return status_of(hc_global_root_add(mut(m), (hc_object_t **)slot));
}
static hb_status_t root_remove(hb_mutator_t *m, hb_object_t **slot) {
  return status_of(hc_global_root_remove(mut(m), (hc_object_t **)slot));
}
static hb_status_t root_push(hb_mutator_t *m, hb_object_t **slot) {
  return status_of(hc_root_push(mut(m), (hc_object_t **)slot));
}
static hb_status_t root_pop(hb_mutator_t *m, size_t count) {
  return status_of(hc_root_pop(mut(m), count));
}

static hb_status_t weak_create(hb_mutator_t *m, hb_object_t *target, hb_weak_t **out) {
  return status_of(hc_weak_create(mut(m), obj(target), (hc_weak_t **)out));
}
static hb_object_t *weak_get(hb_mutator_t *m, hb_weak_t *weak) {
  (void)m;
  return (hb_object_t *)hc_weak_get((hc_weak_t *)weak);
}
static hb_status_t weak_destroy(hb_mutator_t *m, hb_weak_t *weak) {
  return status_of(hc_weak_destroy(mut(m), (hc_weak_t *)weak));
}

static hb_status_t collect(hb_mutator_t *m, bool full) {
  return status_of(hc_collect(mut(m), full ? HC_COLLECT_FULL : HC_COLLECT_EDEN));
}
static void sweep_step(hb_mutator_t *m, size_t max_blocks) {
  hc_sweep_step(mut(m), max_blocks);
}
static void sweep_all(hb_mutator_t *m) {
  hc_sweep_all(mut(m));
}
static void shrink(hb_mutator_t *m) {
  hc_shrink(mut(m));
}
static void sweeper_step(hb_heap_t *heap, size_t max_blocks) {
  hc_sweeper_run_step(hcb(heap)->heap, max_blocks);
}
static hb_status_t sweeper_start(hb_heap_t *heap) {
  return status_of(hc_sweeper_start(hcb(heap)->heap));
}
static hb_status_t sweeper_stop(hb_heap_t *heap) {
  return status_of(hc_sweeper_stop(hcb(heap)->heap));
}
static hb_status_t stop_allocating(hb_mutator_t *m) {
  return status_of(hc_mutator_stop_allocating(mut(m)));
}
static hb_status_t resume_allocating(hb_mutator_t *m) {
  return status_of(hc_mutator_resume_allocating(mut(m)));
}

static hb_status_t iterate(hb_mutator_t *m, hb_visit_fn visit, void *ctx) {
  return status_of(hc_heap_iterate(mut(m), (hc_visit_fn)visit, ctx));
}
static hb_status_t verify(hb_mutator_t *m, char *msg, size_t msg_size) {
  return status_of(hc_heap_verify(mut(m), msg, msg_size));
}
static uint64_t live_bytes(hb_heap_t *heap) {
  hc_stats_t st;
  hc_heap_get_stats(hcb(heap)->heap, &st);
  return st.live_bytes;
}
static uint64_t cell_bytes(size_t size, uint32_t nslots) {
  (void)nslots;
  return hc_cell_size_for(size);
}
static void fail_next(hb_heap_t *heap, unsigned nth) {
  hc_heap_fail_allocation(hcb(heap)->heap, nth);
}
static void dump(hb_heap_t *heap, hb_mutator_t *m, FILE *out) {
  hc_heap_dump(hcb(heap)->heap, mut(m), out);
}

const hb_backend_t hb_heapcore_backend = {
    .name = "heapcore",
    .caps = HB_CAP_EDEN | HB_CAP_SWEEP_STEP | HB_CAP_SWEEP_ALL | HB_CAP_SHRINK |
            HB_CAP_STOP_ALLOCATING | HB_CAP_ITERATE | HB_CAP_VERIFY | HB_CAP_FAULT_INJECTION |
            HB_CAP_SWEEPER_STEP | HB_CAP_MUTATORS | HB_CAP_ACCESS |
#if defined(HC_YIELD_POINTS) && HC_YIELD_POINTS
            HB_CAP_YIELD_POINTS |
#endif
            HB_CAP_EXACT_DEATH | HB_CAP_EXACT_LIVE_BYTES | HB_CAP_EXACT_FINALIZERS |
            HB_CAP_LIVENESS | HB_CAP_SHAPE | HB_CAP_LOCAL_ROOTS | HB_CAP_DUMP | HB_CAP_CHECKED |
            HB_CAP_BACKGROUND_SWEEPER,
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
    .is_live = is_live,
    .load_checked = load_checked,
    .store_checked = store_checked,
    .root_add = root_add,
    .root_remove = root_remove,
    .root_push = root_push,
    .root_pop = root_pop,
    .weak_create = weak_create,
    .weak_get = weak_get,
    .weak_destroy = weak_destroy,
    .collect = collect,
    .sweep_step = sweep_step,
    .sweep_all = sweep_all,
    .shrink = shrink,
    .sweeper_step = sweeper_step,
    .sweeper_start = sweeper_start,
    .sweeper_stop = sweeper_stop,
    .stop_allocating = stop_allocating,
    .resume_allocating = resume_allocating,
    .iterate = iterate,
    .verify = verify,
    .live_bytes = live_bytes,
    .cell_bytes = cell_bytes,
    .fail_next = fail_next,
    .dump = dump,
};
