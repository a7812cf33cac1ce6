/* freelist.h: interval free lists (JSC's FreeList), inline because the allocation fast path and
 * the sweeper both live on them.
 *
 * Free cells form runs ("intervals"). The allocator bump-allocates inside the current interval
 * [cur, end); when it runs out it reads the next interval's head cell. Heads store their length and
 * the next head's address XOR'ed with a per-sweep secret, so a stray write into a free cell turns
 * into a wild pointer the verifier and sanitizers notice rather than a plausible link.
 *
 * Invariant (with scribble off): every free cell is all zero except interval head words, and heads
 * are zeroed again as soon as they are consumed or the free list is abandoned. So a free cell's
 * header reads as state FREE, and allocation need not clear memory. */
#ifndef HC_FREELIST_H
#define HC_FREELIST_H

#include "internal.h"

#define HC_FREE_LIST_END ((uintptr_t)1) /* never equal to a scrambled 16-aligned address */

/* Laid out so that the header's state byte (byte 7) is always zero in a head: a head never looks
 * like an object to hc_is_live_object. */
typedef struct hc_interval_head {
  uint32_t bytes;
  uint32_t zero;
  uintptr_t scrambled_next;
} hc_interval_head_t;

_Static_assert(sizeof(hc_interval_head_t) == HC_ATOM_SIZE,
               "an interval head fits the smallest cell");

static inline void hc_free_list_clear(hc_free_list_t *fl) {
  fl->cur = fl->end = NULL;
  fl->next = HC_FREE_LIST_END;
}

/* Reads and consumes the next interval head, making it current. False at the end of the list. */
static inline bool hc_free_list_take_interval(hc_free_list_t *fl) {
  if (fl->next == HC_FREE_LIST_END) return false;
  hc_interval_head_t *head = (hc_interval_head_t *)(fl->next ^ fl->secret);
  hc_unpoison(head, sizeof *head);
  uint32_t bytes = head->bytes;
  uintptr_t next = head->scrambled_next;
  /* Zeroed with atomic stores: the block is free-listed, so hc_is_live_object may be reading
   * this cell's state byte (always zero in a head) from another thread. */
  atomic_store_explicit((_Atomic uint64_t *)(void *)head, 0, memory_order_relaxed);
  atomic_store_explicit((_Atomic uint64_t *)(void *)&head->scrambled_next, 0, memory_order_relaxed);
  hc_poison(head, sizeof *head);
  if (hc_unlikely(bytes == 0 || bytes > HC_BLOCK_PAYLOAD || bytes % fl->cell_size != 0 ||
                  hc_block_of(head) != hc_block_of((char *)head + bytes - 1)))
    HC_FATAL("corrupt free-list interval head");
  fl->cur = (char *)head;
  fl->end = (char *)head + bytes;
  fl->next = next;
  return true;
}

/* Pops one cell from the current interval, or NULL when it is used up (the caller then takes the
 * next interval on its slow path). */
static inline char *hc_free_list_pop(hc_free_list_t *fl) {
  char *p = fl->cur;
  if (hc_unlikely(p >= fl->end)) return NULL;
  fl->cur = p + fl->cell_size;
  return p;
}

/* Appends intervals in address order while sweeping; writes heads back to front at the end. */
typedef struct hc_free_list_builder {
  uint32_t count;
  uint32_t start[HC_ATOMS_PER_BLOCK / 2];
  uint32_t bytes[HC_ATOMS_PER_BLOCK / 2];
} hc_free_list_builder_t;

static inline void hc_free_list_builder_add(hc_free_list_builder_t *b, uint32_t start,
                                            uint32_t bytes) {
  if (b->count > 0 && b->start[b->count - 1] + b->bytes[b->count - 1] == start) {
    b->bytes[b->count - 1] += bytes; /* extend the run */
    return;
  }
  b->start[b->count] = start;
  b->bytes[b->count] = bytes;
  b->count++;
}

/* Builds fl from the builder's runs, offsets relative to block base. */
static inline void hc_free_list_finish(hc_free_list_t *fl, const hc_free_list_builder_t *b,
                                       char *base, uintptr_t secret) {
  hc_free_list_clear(fl);
  fl->secret = secret & ~(uintptr_t)(HC_ATOM_SIZE - 1);
  if (b->count == 0) return;
  uintptr_t next = HC_FREE_LIST_END;
  for (uint32_t i = b->count; i-- > 1;) {
    hc_interval_head_t *head = (hc_interval_head_t *)(base + b->start[i]);
    hc_unpoison(head, sizeof *head);
    head->bytes = b->bytes[i];
    head->zero = 0;
    head->scrambled_next = next;
    hc_poison(head, sizeof *head);
    next = (uintptr_t)head ^ fl->secret;
  }
  fl->cur = base + b->start[0];
  fl->end = fl->cur + b->bytes[0];
  fl->next = next;
}

#endif /* HC_FREELIST_H */
