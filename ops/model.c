/* model.c: the interpreter's shadow model of the heap (ops/model.h). */
#include "model.h"
#include "quiet.h"

#include <stdlib.h>
#include <string.h>

/* The model's memory is the harness's: allocated out of TSan's sight (quiet.h). */
static void *xrealloc(void *p, size_t n) {
  ops_quiet_begin();
  void *q = realloc(p, n ? n : 1);
  ops_quiet_end();
  if (!q) {
    fputs("heapfuzz: out of memory in the model\n", stderr);
    abort();
  }
  return q;
}

void model_init(model_t *m) {
  memset(m, 0, sizeof *m);
}

void model_free(model_t *m) {
  ops_quiet_begin();
  for (uint32_t i = 0; i < m->count; i++)
    free(m->objs[i].slots);
  free(m->objs);
  free(m->map_keys);
  free(m->map_vals);
  free(m->stack);
  ops_quiet_end();
  memset(m, 0, sizeof *m);
}

static uint32_t hash_ptr(uintptr_t key, uint32_t mask) {
  uint64_t x = (uint64_t)key >> 3;
  x ^= x >> 31;
  x *= 0x9e3779b97f4a7c15ull;
  return (uint32_t)(x >> 32) & mask;
}

/* Tombstone-free linear probing with backward-shift deletion. Keys are live object pointers. */
static void map_put(model_t *m, uintptr_t key, uint32_t val);

static void map_grow(model_t *m) {
  uint32_t old_cap = m->map_cap;
  uintptr_t *old_keys = m->map_keys;
  uint32_t *old_vals = m->map_vals;
  m->map_cap = old_cap ? old_cap * 2 : 256;
  ops_quiet_begin();
  m->map_keys = calloc(m->map_cap, sizeof *m->map_keys);
  m->map_vals = calloc(m->map_cap, sizeof *m->map_vals);
  ops_quiet_end();
  if (!m->map_keys || !m->map_vals) {
    fputs("heapfuzz: out of memory in the model\n", stderr);
    abort();
  }
  m->map_used = 0;
  for (uint32_t i = 0; i < old_cap; i++)
    if (old_keys[i]) map_put(m, old_keys[i], old_vals[i]);
  ops_quiet_begin();
  free(old_keys);
  free(old_vals);
  ops_quiet_end();
}

static void map_put(model_t *m, uintptr_t key, uint32_t val) {
  if ((m->map_used + 1) * 2 > m->map_cap) map_grow(m);
  uint32_t mask = m->map_cap - 1, i = hash_ptr(key, mask);
  while (m->map_keys[i] && m->map_keys[i] != key)
    i = (i + 1) & mask;
  if (!m->map_keys[i]) m->map_used++;
  m->map_keys[i] = key;
  m->map_vals[i] = val;
}

static void map_remove(model_t *m, uintptr_t key) {
  if (!m->map_cap) return;
  uint32_t mask = m->map_cap - 1, i = hash_ptr(key, mask);
  while (m->map_keys[i] && m->map_keys[i] != key)
    i = (i + 1) & mask;
  if (!m->map_keys[i]) return;
  m->map_keys[i] = 0;
  m->map_used--;
  for (uint32_t j = (i + 1) & mask; m->map_keys[j]; j = (j + 1) & mask) {
    uintptr_t k = m->map_keys[j];
    uint32_t v = m->map_vals[j];
    m->map_keys[j] = 0;
    m->map_used--;
    map_put(m, k, v);
  }
}

uint32_t model_find(const model_t *m, const void *ptr) {
  if (!m->map_cap || !ptr) return MODEL_NONE;
  uint32_t mask = m->map_cap - 1, i = hash_ptr((uintptr_t)ptr, mask);
  while (m->map_keys[i]) {
    if (m->map_keys[i] == (uintptr_t)ptr) return m->map_vals[i];
    i = (i + 1) & mask;
  }
  return MODEL_NONE;
}

uint32_t model_add(model_t *m, hb_object_t *ptr, uint32_t size, uint32_t nslots, bool finalizable) {
  if (m->count == m->capacity) {
    m->capacity = m->capacity ? m->capacity * 2 : 64;
    m->objs = xrealloc(m->objs, m->capacity * sizeof *m->objs);
  }
  uint32_t index = m->count++;
  model_obj_t *o = &m->objs[index];
  memset(o, 0, sizeof *o);
  o->ptr = ptr;
  o->size = size;
  o->nslots = nslots;
  o->finalizable = finalizable;
  o->alive = true;
  o->slots = xrealloc(NULL, nslots * sizeof *o->slots);
  for (uint32_t i = 0; i < nslots; i++)
    o->slots[i] = MODEL_NONE;
  m->finalizable_allocated += finalizable;
  /* A dead object's address may be reused: the newest object owns it. */
  map_put(m, (uintptr_t)ptr, index);
  return index;
}

void model_kill(model_t *m, uint32_t index) {
  model_obj_t *o = &m->objs[index];
  if (!o->alive) return;
  o->alive = false;
  if (model_find(m, o->ptr) == index) map_remove(m, (uintptr_t)o->ptr);
}

static void push(model_t *m, uint32_t *sp, uint32_t index) {
  if (*sp == m->stack_cap) {
    m->stack_cap = m->stack_cap ? m->stack_cap * 2 : 256;
    m->stack = xrealloc(m->stack, m->stack_cap * sizeof *m->stack);
  }
  m->stack[(*sp)++] = index;
}

/* Depth-first over the model's slots, marking `reachable` or, when reviving, `alive`. */
static void walk(model_t *m, uint32_t start, bool revive) {
  uint32_t sp = 0;
  model_obj_t *s = &m->objs[start];
  if (revive ? s->alive : s->reachable) return;
  push(m, &sp, start);
  while (sp > 0) {
    model_obj_t *o = &m->objs[m->stack[--sp]];
    uint32_t self = (uint32_t)(o - m->objs);
    if (revive) {
      if (o->alive) continue;
      o->alive = true;
      map_put(m, (uintptr_t)o->ptr, self);
    } else {
      if (o->reachable) continue;
      o->reachable = true;
    }
    for (uint32_t i = 0; i < o->nslots; i++) {
      uint32_t c = o->slots[i];
      if (c != MODEL_NONE && !(revive ? m->objs[c].alive : m->objs[c].reachable)) push(m, &sp, c);
    }
  }
}

void model_revive(model_t *m, uint32_t index) {
  walk(m, index, true);
}

void model_reach(model_t *m, const uint32_t *roots, uint32_t nroots) {
  for (uint32_t i = 0; i < m->count; i++)
    m->objs[i].reachable = false;
  for (uint32_t r = 0; r < nroots; r++)
    if (roots[r] != MODEL_NONE) walk(m, roots[r], false);
}
