/* blockset.c: the set of block addresses and large cells of a heap (JSC's MarkedBlockSet), so a
 * checked call can tell "a cell of this heap" from any other pointer without touching memory the
 * heap does not own. Open addressing with linear probing; the caller holds heap->blockset_lock. */
#include "internal.h"

#include <stdlib.h>

#define EMPTY_KEY     ((uintptr_t)0)
#define TOMBSTONE_KEY ((uintptr_t)1)

static size_t hash_key(uintptr_t key, size_t mask) {
  uint64_t x = (uint64_t)key >> 3; /* keys are at least 8-aligned */
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x & mask;
}

static bool rehash(hc_blockset_t *s, size_t capacity) {
  uintptr_t *keys = calloc(capacity, sizeof *keys);
  if (!keys) return false;
  for (size_t i = 0; i < s->capacity; i++) {
    uintptr_t k = s->keys[i];
    if (k == EMPTY_KEY || k == TOMBSTONE_KEY) continue;
    size_t j = hash_key(k, capacity - 1);
    while (keys[j] != EMPTY_KEY)
      j = (j + 1) & (capacity - 1);
    keys[j] = k;
  }
  free(s->keys);
  s->keys = keys;
  s->capacity = capacity;
  s->tombstones = 0;
  return true;
}

bool hc_blockset_add(hc_blockset_t *s, uintptr_t key) {
  if ((s->count + s->tombstones + 1) * 4 > s->capacity * 3) {
    size_t cap = s->capacity ? s->capacity : 64;
    while ((s->count + 1) * 2 > cap)
      cap *= 2;
    if (!rehash(s, cap)) return false;
  }
  size_t mask = s->capacity - 1, i = hash_key(key, mask);
  size_t slot = SIZE_MAX;
  while (s->keys[i] != EMPTY_KEY) {
    if (s->keys[i] == key) return true;
    if (s->keys[i] == TOMBSTONE_KEY && slot == SIZE_MAX) slot = i;
    i = (i + 1) & mask;
  }
  if (slot == SIZE_MAX)
    slot = i;
  else
    s->tombstones--;
  s->keys[slot] = key;
  s->count++;
  return true;
}

void hc_blockset_remove(hc_blockset_t *s, uintptr_t key) {
  if (s->capacity == 0) return;
  size_t mask = s->capacity - 1, i = hash_key(key, mask);
  while (s->keys[i] != EMPTY_KEY) {
    if (s->keys[i] == key) {
      s->keys[i] = TOMBSTONE_KEY;
      s->count--;
      s->tombstones++;
      return;
    }
    i = (i + 1) & mask;
  }
}

bool hc_blockset_contains(const hc_blockset_t *s, uintptr_t key) {
  if (s->capacity == 0 || key == EMPTY_KEY || key == TOMBSTONE_KEY) return false;
  size_t mask = s->capacity - 1, i = hash_key(key, mask);
  while (s->keys[i] != EMPTY_KEY) {
    if (s->keys[i] == key) return true;
    i = (i + 1) & mask;
  }
  return false;
}

void hc_blockset_free(hc_blockset_t *s) {
  if (s->keys) free(s->keys); /* not free(NULL): ASan unwinds the stack even for that */
  memset(s, 0, sizeof *s);
}
