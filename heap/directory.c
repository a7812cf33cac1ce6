/* directory.c: per-size-class block directories (JSC's BlockDirectory).
 *
 * A directory owns an array of slots and one bit vector per hc_bit_kind_t, all guarded by
 * dir->lock. Finding a block is "search want-bits and not avoid-bits under the lock, then set
 * in-use": from then on the claimer owns the block (see internal.h). Slots vacated by removal are
 * reused before the arrays grow, so indices stay small and deterministic. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const bit_kind_names[HC_BIT_KIND_COUNT] = {
    "live",    "empty",  "allocated", "can_allocate",      "eden",
    "unswept", "in_use", "pinned",    "marking_not_empty", "marking_retired",
};

const char *hc_bit_kind_name(hc_bit_kind_t kind) {
  return (unsigned)kind < HC_BIT_KIND_COUNT ? bit_kind_names[kind] : "?";
}

hc_status_t hc_directory_init(hc_directory_t *dir, uint32_t cell_size, uint32_t class_index) {
  memset(dir, 0, sizeof *dir);
  dir->cell_size = cell_size;
  dir->class_index = class_index;
  if (pthread_mutex_init(&dir->lock, NULL) != 0) return HC_ERR_OUT_OF_MEMORY;
  return HC_OK;
}

void hc_directory_destroy(hc_directory_t *dir) {
  /* One allocation holds every array (grow_locked); a directory that never held a block has none.
   * Not free(NULL): under ASan that still unwinds the stack, and teardown runs once per fuzz input
   * for every directory. */
  if (dir->slots) free(dir->slots);
  pthread_mutex_destroy(&dir->lock);
  /* Field by field: ASan range-checks a memset of the whole through a slow runtime call. */
  dir->slots = NULL;
  dir->free_slots = NULL;
  for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
    dir->bits[k] = NULL;
  dir->capacity = dir->used = dir->count = dir->free_count = 0;
}

/* Grows the arrays to hold at least `want` slots. Caller holds the lock. The slots, the free-slot
 * stack and the bit vectors share one allocation, slots first (the strictest alignment): one
 * malloc and one free per growth instead of twelve. */
static bool grow_locked(hc_directory_t *dir, uint32_t want, hc_status_t *why) {
  uint32_t cap = dir->capacity ? dir->capacity : 32;
  while (cap < want)
    cap *= 2;
  if (cap == dir->capacity) return true;
  if (hc_fault_point(dir->heap, why)) return false;
  uint32_t old_cap = dir->capacity;
  uint32_t old_words = hc_bitvec_words(old_cap), words = hc_bitvec_words(cap);
  size_t bytes = (size_t)cap * (sizeof(void *) + sizeof(uint32_t)) +
                 (size_t)HC_BIT_KIND_COUNT * words * sizeof(uint32_t);
  void **slots = calloc(1, bytes);
  if (!slots) return false;
  uint32_t *free_slots = (uint32_t *)(slots + cap);
  if (old_cap) {
    memcpy(slots, dir->slots, old_cap * sizeof *slots);
    memcpy(free_slots, dir->free_slots, old_cap * sizeof *free_slots);
  }
  uint32_t *v = free_slots + cap;
  for (int k = 0; k < HC_BIT_KIND_COUNT; k++, v += words) {
    if (old_cap) memcpy(v, dir->bits[k], old_words * sizeof *v);
    dir->bits[k] = v;
  }
  if (old_cap) free(dir->slots);
  dir->slots = slots;
  dir->free_slots = free_slots;
  dir->capacity = cap;
  return true;
}

uint32_t hc_directory_add(hc_directory_t *dir, void *owner, uint32_t initial, hc_status_t *why) {
  pthread_mutex_lock(&dir->lock);
  uint32_t index;
  if (dir->free_count > 0) {
    index = dir->free_slots[--dir->free_count];
  } else {
    hc_status_t status = HC_OK;
    if (dir->used == dir->capacity && !grow_locked(dir, dir->used + 1, &status)) {
      pthread_mutex_unlock(&dir->lock);
      if (why) *why = status;
      return UINT32_MAX;
    }
    index = dir->used++;
  }
  HC_ASSERT(dir->slots[index] == NULL);
  dir->slots[index] = owner;
  dir->count++;
  hc_bit_set(dir->bits[HC_BIT_LIVE], index);
  for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
    if (initial & HC_BITMASK(k)) hc_bit_set(dir->bits[k], index);
  /* Set the owner's index while the lock is held: readers of slot i rely on owner->index == i. */
  if (dir->cell_size)
    ((hc_block_handle_t *)owner)->index = index;
  else
    ((hc_large_t *)owner)->index = index;
  pthread_mutex_unlock(&dir->lock);
  return index;
}

#if defined(HC_INJECT_BUG_REMOVE_BLOCK_ORDER)
/* INJECTED BUG remove-block-order: JSC's order. The slot is cleared and its index published
 * first; the bits are cleared later, by hc_directory_clear_bits after the release's yield point.
 * A block added at the republished index meanwhile gets its bits cleared under it. */
void hc_directory_remove(hc_directory_t *dir, uint32_t index) {
  pthread_mutex_lock(&dir->lock);
  dir->slots[index] = NULL;
  dir->free_slots[dir->free_count++] = index;
  dir->count--;
  pthread_mutex_unlock(&dir->lock);
}

void hc_directory_clear_bits(hc_directory_t *dir, uint32_t index) {
  pthread_mutex_lock(&dir->lock);
  for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
    hc_bit_clear(dir->bits[k], index);
  pthread_mutex_unlock(&dir->lock);
}
#else
void hc_directory_remove(hc_directory_t *dir, uint32_t index) {
  pthread_mutex_lock(&dir->lock);
  HC_ASSERT(index < dir->used && dir->slots[index] != NULL);
  HC_ASSERT(hc_bit_get(dir->bits[HC_BIT_IN_USE], index));
  /* Bits first, then the slot, then publish the index, all under one lock hold: no finder can
   * see a set bit over an empty slot. */
  for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
    hc_bit_clear(dir->bits[k], index);
  dir->slots[index] = NULL;
  dir->free_slots[dir->free_count++] = index;
  dir->count--;
  pthread_mutex_unlock(&dir->lock);
}
#endif

/* Word-wise search for a slot with (any want) & ~(any avoid), from `start`, wrapping once. */
static uint32_t find_locked(hc_directory_t *dir, hc_block_query_t q, uint32_t start) {
  uint32_t words = hc_bitvec_words(dir->used);
  if (words == 0) return UINT32_MAX;
  if (start >= dir->used) start = 0;
  uint32_t first_word = start / 32;
  for (uint32_t step = 0; step <= words; step++) {
    uint32_t w = (first_word + step) % words;
    uint32_t want = 0, avoid = 0;
    for (int k = 0; k < HC_BIT_KIND_COUNT; k++) {
      if (q.want & HC_BITMASK(k)) want |= dir->bits[k][w];
      if (q.avoid & HC_BITMASK(k)) avoid |= dir->bits[k][w];
    }
    uint32_t hits = want & ~avoid & dir->bits[HC_BIT_LIVE][w];
    if (step == 0)
      hits &= ~0u << (start % 32); /* first pass over the start word: from `start` on */
    else if (step == words)
      hits &= (start % 32) ? ~(~0u << (start % 32)) : 0; /* wrapped: the part before `start` */
    if (hits) {
      uint32_t index = w * 32 + (uint32_t)__builtin_ctz(hits);
      if (index < dir->used) return index;
    }
  }
  return UINT32_MAX;
}

/* A claim never takes a block someone holds (in use): the in-use bit is the block's lock. */
static bool claim_skips_in_use(const hc_directory_t *dir, hc_block_query_t q) {
  (void)dir;
  (void)q;
#if defined(HC_INJECT_BUG_SWEEP_OWNED_BLOCK)
  /* INJECTED BUG sweep-owned-block: the sweepers' search (for unswept blocks) does not skip
   * blocks in use, so a sweep can take the block an allocator just claimed to sweep itself. */
  if (q.want & HC_BITMASK(HC_BIT_UNSWEPT)) return false;
#endif
#if defined(HC_INJECT_BUG_LARGE_DOUBLE_RELEASE)
  /* INJECTED BUG large-double-release: shrink's search of the large directory (for empty ones)
   * does not skip objects in use, so it releases a large object a sweep is releasing too. */
  if (dir->cell_size == 0 && (q.want & HC_BITMASK(HC_BIT_EMPTY))) return false;
#endif
  return true;
}

/* config.self_checks: the block a claim found must be free to take. The in-use bit is the block's
 * lock, and a pinned block is a stopped allocator's last-active block, which only that
 * allocator's resume takes back (and not through a claim). Every sweep, steal, shrink and
 * allocator refill claims here, so a path that forgets either fails at its claim rather than at
 * whatever later use of the block it swept or freed. The report names each rule at the grain
 * the code applies it: skipping blocks in use is decided per query (claim_skips_in_use), so an
 * in-use report names the query's wanted bits, i.e. which search broke it (a sweep wants
 * unswept blocks, shrink and steal empty ones, a refill allocatable ones), whichever directory
 * it searched, and `how` the claim found it (a search, or " by index": a slot remembered from an
 * earlier search); the pin is one mask every release path shares (HC_PROTECTED_BITS), so a pin
 * report names no search. */
static void check_claim_locked(const hc_directory_t *dir, hc_block_query_t q, uint32_t index,
                               const char *how) {
  if (hc_bit_get(dir->bits[HC_BIT_PINNED], index))
    HC_FATAL("self-check: a claim took a pinned block (a stopped allocator's last-active block)");
  if (!hc_bit_get(dir->bits[HC_BIT_IN_USE], index)) return;
  char msg[160], want[96] = "";
  for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
    if (q.want & HC_BITMASK(k)) {
      if (want[0]) strncat(want, ",", sizeof want - strlen(want) - 1);
      strncat(want, bit_kind_names[k], sizeof want - strlen(want) - 1);
    }
  snprintf(msg, sizeof msg, "self-check: a claim%s for %s blocks took one already in use", how,
           want);
  hc_fatal(__FILE__, __LINE__, msg);
}

void *hc_directory_claim(hc_directory_t *dir, hc_block_query_t q, uint32_t clear,
                         uint32_t *cursor) {
  pthread_mutex_lock(&dir->lock);
  if (claim_skips_in_use(dir, q)) q.avoid |= HC_BITMASK(HC_BIT_IN_USE);
  uint32_t index = find_locked(dir, q, cursor ? *cursor : 0);
  void *owner = NULL;
  if (index != UINT32_MAX) {
    owner = dir->slots[index];
    if (hc_unlikely(owner == NULL))
      HC_FATAL("directory bit set over an empty slot"); /* what remove-block-order leads to */
    if (dir->self_checks) check_claim_locked(dir, q, index, "");
    hc_bit_set(dir->bits[HC_BIT_IN_USE], index);
    for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
      if (clear & HC_BITMASK(k)) hc_bit_clear(dir->bits[k], index);
    if (cursor) *cursor = index + 1;
  }
  pthread_mutex_unlock(&dir->lock);
  return owner;
}

#if defined(HC_INJECT_BUG_SHRINK_STALE_LOOKAHEAD) || defined(HC_INJECT_BUG_SWEEP_STALE_LOOKAHEAD)
uint32_t hc_directory_peek(hc_directory_t *dir, hc_block_query_t q, uint32_t start) {
  pthread_mutex_lock(&dir->lock);
  q.avoid |= HC_BITMASK(HC_BIT_IN_USE); /* unclaimed when looked at... */
  uint32_t index = find_locked(dir, q, start);
  pthread_mutex_unlock(&dir->lock);
  return index;
}

void *hc_directory_claim_index(hc_directory_t *dir, hc_block_query_t q, uint32_t index,
                               uint32_t *cursor) {
  pthread_mutex_lock(&dir->lock);
  void *owner = NULL;
  /* ...but not looked at again: the wanted bits are, the in-use bit is not (the bug). */
  if (index < dir->used && dir->slots[index]) {
    bool wanted = false, avoided = false;
    for (int k = 0; k < HC_BIT_KIND_COUNT; k++) {
      bool set = hc_bit_get(dir->bits[k], index);
      wanted |= set && (q.want & HC_BITMASK(k));
      avoided |= set && (q.avoid & HC_BITMASK(k)) && k != HC_BIT_IN_USE;
    }
    if (wanted && !avoided) {
      owner = dir->slots[index];
      if (dir->self_checks) check_claim_locked(dir, q, index, " by index");
      hc_bit_set(dir->bits[HC_BIT_IN_USE], index);
      if (cursor) *cursor = index + 1;
    }
  }
  pthread_mutex_unlock(&dir->lock);
  return owner;
}
#endif

void hc_directory_update(hc_directory_t *dir, uint32_t index, uint32_t set, uint32_t clear) {
  pthread_mutex_lock(&dir->lock);
  HC_ASSERT(index < dir->used && dir->slots[index] != NULL);
  for (int k = 0; k < HC_BIT_KIND_COUNT; k++) {
    if (clear & HC_BITMASK(k)) hc_bit_clear(dir->bits[k], index);
    if (set & HC_BITMASK(k)) hc_bit_set(dir->bits[k], index);
  }
  pthread_mutex_unlock(&dir->lock);
}

bool hc_directory_test(hc_directory_t *dir, uint32_t index, hc_bit_kind_t kind) {
  pthread_mutex_lock(&dir->lock);
  bool v = index < dir->used && hc_bit_get(dir->bits[kind], index);
  pthread_mutex_unlock(&dir->lock);
  return v;
}

uint32_t hc_directory_bits_of(hc_directory_t *dir, uint32_t index) {
  uint32_t mask = 0;
  pthread_mutex_lock(&dir->lock);
  if (index < dir->used)
    for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
      if (hc_bit_get(dir->bits[k], index)) mask |= HC_BITMASK(k);
  pthread_mutex_unlock(&dir->lock);
  return mask;
}
