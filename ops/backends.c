/* backends.c: the heaps built into this build (include/heapops.h "Backends"), and what running
 * on one leaves out. */
#include "heapops.h"

#include <string.h>

#ifdef HF_HAVE_JSC
#  include "jsc.h" /* backends/jsc.c, when CMake found JavaScriptCore (cmake/jsc.cmake) */
#endif
#ifdef HF_HAVE_LUA
#  include "hblua.h" /* backends/lua.c, when CMake has a Lua 5.4 source tree (cmake/lua.cmake) */
#endif

static const hb_backend_t *const builtin[] = {&hb_heapcore_backend,
#ifdef HF_HAVE_JSC
                                              &hb_jsc_backend,
#endif
#ifdef HF_HAVE_LUA
                                              &hb_lua_backend,
#endif
                                              NULL};

const hb_backend_t *const *ops_backends(void) {
  return builtin;
}

const hb_backend_t *ops_default_backend(void) {
  return builtin[0];
}

const hb_backend_t *ops_find_backend(const char *name) {
  for (unsigned i = 0; builtin[i]; i++)
    if (strcmp(builtin[i]->name, name) == 0) return builtin[i];
  return NULL;
}

/* The backends CMake left out of this build, with its reason (cmake/jsc.cmake's HF_JSC_MISSING,
 * cmake/lua.cmake's HF_LUA_MISSING). */
static const struct {
  const char *name, *why;
} left_out[] = {
#ifdef HF_JSC_MISSING
    {"jsc", HF_JSC_MISSING},
#endif
#ifdef HF_LUA_MISSING
    {"lua", HF_LUA_MISSING}, /* cmake/lua.cmake */
#endif
    {NULL, NULL},
};

const char *ops_backend_missing(const char *name) {
  for (unsigned i = 0; left_out[i].name; i++)
    if (strcmp(left_out[i].name, name) == 0) return left_out[i].why;
  return NULL;
}

const char *ops_capability_name(unsigned bit) {
  static const char *const names[HB_CAP_COUNT] = {
      "eden collection",
      "incremental sweep",
      "sweep all",
      "shrink",
      "stop allocating",
      "iteration",
      "verifier",
      "fault injection",
      "sweeper step",
      "mutators",
      "heap access",
      "yield points",
      "exact death",
      "exact live bytes",
      "exact finalizers",
      "liveness query",
      "object shape",
      "local roots",
      "dump",
      "checked access",
      "background sweeper",
  };
  return bit < HB_CAP_COUNT ? names[bit] : "?";
}

/* The oracle's checks that rest on one capability (oracle.c, threads.c): off without it. */
static const struct {
  uint32_t cap;
  const char *check;
} gated_checks[] = {
    {HB_CAP_EXACT_DEATH, "weak references to dead objects cleared by a full collection"},
    {HB_CAP_EXACT_LIVE_BYTES, "live bytes after a full collection"},
    {HB_CAP_EXACT_FINALIZERS, "every finalizer exactly once by the end"},
    {HB_CAP_LIVENESS, "reachable objects are live cells (the heap's own answer)"},
    {HB_CAP_SHAPE, "object headers (size, slots); finalizers and visits only of objects"},
    {HB_CAP_VERIFY, "the heap's verifier after collections, sweeps and shrinks"},
};

uint32_t ops_mode_caps(const hb_backend_t *b, bool threads) {
  uint32_t caps = b->caps;
  if (threads) return caps;
  const uint32_t fibers = HB_CAP_YIELD_POINTS | HB_CAP_ACCESS;
  if ((caps & fibers) != fibers) caps &= ~(uint32_t)HB_CAP_MUTATORS;
  return caps & ~(uint32_t)HB_CAP_BACKGROUND_SWEEPER;
}

void ops_describe_backend(const hb_backend_t *b, bool threads, const char *prefix, FILE *out) {
  uint32_t caps = ops_mode_caps(b, threads);
  char ops[512] = "";
  size_t used = 0;
  for (unsigned op = 0; op < OPS_OP_COUNT; op++) {
    uint32_t need = ops_op_needs(op) & ~OPS_NEED_FLAGS;
    if ((caps & need) == need) continue;
    int n =
        snprintf(ops + used, sizeof ops - used, "%s%s", used ? ", " : "", ops_op_info(op)->name);
    if (n > 0 && (size_t)n < sizeof ops - used) used += (size_t)n;
  }
  if (used) fprintf(out, "%sops skipped on %s: %s\n", prefix, b->name, ops);
  for (unsigned i = 0; i < sizeof gated_checks / sizeof gated_checks[0]; i++)
    if (!(caps & gated_checks[i].cap))
      fprintf(out, "%scheck off on %s (no %s): %s\n", prefix, b->name,
              ops_capability_name((unsigned)__builtin_ctz(gated_checks[i].cap)),
              gated_checks[i].check);
}
