/* verify.c: the debug oracle (JSC's verifyHeap) and the heap state dump.
 *
 * hc_heap_verify stops the world but leaves every allocator as it is, so it sees the heap in the
 * state a mutator left it: current blocks claimed and free-listed, last-active blocks pinned. It
 * first derives each block's live-cell bitmap (from its free list if it is free-listed, else from
 * the mark and newly bits), then checks structure, then every live cell's header and references.
 * The first broken invariant is reported in one line and the walk stops.
 *
 * A corrupt heap is reported, never read: the verifier follows a pointer only to memory it has
 * found to be the heap's (a handle, block or large object a directory holds and the block set
 * knows; a cell start that block's bits call allocated), and under ASan also checks that memory
 * unpoisoned first, so a freed handle, a released block or a swept cell under a live bit is a
 * report naming it, not a use-after-poison inside the verifier. */
#include "freelist.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct vblock {
  hc_block_handle_t *h;
  uint64_t live[HC_BITMAP_WORDS];
} vblock_t;

/* A block some allocator holds as current or last-active (gathered once per verify). */
typedef struct held_block {
  const hc_block_handle_t *h; /* compared by address only, never dereferenced */
  const hc_local_allocator_t *la;
  bool last_active;
} held_block_t;

typedef struct verifier {
  hc_heap_t *heap;
  char *msg;
  size_t msg_size;
  bool failed;
  vblock_t *blocks;   /* in directory order: what is checked, and so reported, first */
  vblock_t **by_addr; /* the same, sorted by block address, for lookups only */
  size_t nblocks;
  size_t max_blocks;  /* what the directories' counts add up to: room in blocks and by_addr */
  held_block_t *held; /* every allocator's current and last-active block */
  size_t nheld;
  /* For a report only (cell_name, describe_target): kept here so that check_cell, which runs for
   * every live cell, has no array on its stack for ASan to pad and poison at each call. */
  char name[64];
  char what[160];
} verifier_t;

/* The checks run for every live cell and slot, after every collection of a fuzzing run: they are
 * inlined (check_cell and is_live_ref, forced, as the compiler stops doing on its own once their
 * report paths grow), and everything that only formats a report is cold and out of their way. */
#define verify_cold   __attribute__((cold, noinline))
#define verify_inline inline __attribute__((always_inline))

static verify_cold void fail(verifier_t *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static verify_cold void fail(verifier_t *v, const char *fmt, ...) {
  if (v->failed) return;
  v->failed = true;
  if (v->msg && v->msg_size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, v->msg_size, fmt, ap);
    va_end(ap);
  }
}

#define CHECK(v, cond, ...)   \
  do {                        \
    if (!(cond)) {            \
      fail((v), __VA_ARGS__); \
      return;                 \
    }                         \
  } while (0)

static int compare_vblock(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)(*(vblock_t *const *)a)->h->block;
  uintptr_t y = (uintptr_t)(*(vblock_t *const *)b)->h->block;
  return x < y ? -1 : x > y;
}

static vblock_t *find_vblock(verifier_t *v, const void *p) {
  hc_block_t *b = hc_block_of(p);
  size_t lo = 0, hi = v->nblocks;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    uintptr_t k = (uintptr_t)v->by_addr[mid]->h->block;
    if (k == (uintptr_t)b) return v->by_addr[mid];
    if (k < (uintptr_t)b)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Is h one of the handles the directories hold? By address only: an allocator may hold a handle
 * that was freed (the bug class heapfuzz hunts), and reading it would be a use-after-free. */
static bool holds_handle(const verifier_t *v, const hc_block_handle_t *h) {
  for (size_t i = 0; i < v->nblocks; i++)
    if (v->blocks[i].h == h) return true;
  return false;
}

static bool vblock_is_live(const vblock_t *vb, const void *cell) {
  uint32_t atom = hc_atom_index(vb->h->block, cell);
  return (vb->live[atom / 64] >> (atom % 64)) & 1u;
}

/* Is p the start of a cell of this heap, live or dead? Roots that are not (foreign pointers,
 * interior pointers) are user errors the collector skips and counts; verify skips them too. */
static bool is_cell_start(verifier_t *v, const void *p) {
  if (hc_is_large_cell(p)) return hc_blockset_contains(&v->heap->blockset, (uintptr_t)p);
  vblock_t *vb = ((uintptr_t)p & (HC_ATOM_SIZE - 1)) ? NULL : find_vblock(v, p);
  uint32_t index;
  return vb && hc_block_cell_index(vb->h, p, &index);
}

/* Reads no memory of p's: the blocks come from the directories, and a large cell in the block set
 * is one the large directory holds (check_blockset), whose hc_large_t check_large_directory found
 * readable. */
static verify_inline bool is_live_ref(verifier_t *v, const void *p) {
  if (hc_is_large_cell(p)) {
    if (!hc_blockset_contains(&v->heap->blockset, (uintptr_t)p)) return false;
    return hc_large_is_live(v->heap, hc_large_of(p));
  }
  vblock_t *vb = find_vblock(v, p);
  uint32_t index;
  return vb && hc_block_cell_index(vb->h, p, &index) && vblock_is_live(vb, p);
}

/* What a reference that is_live_ref rejected points to, for the report, from the same tables and
 * without reading the target either. Under ASan the shadow tells freed memory from foreign. */
static verify_cold const char *describe_target(verifier_t *v, const void *p) {
  char *buf = v->what;
  size_t size = sizeof v->what;
#if defined(HC_ASAN) && HC_ASAN
  bool poisoned = hc_region_is_poisoned(p, 1);
  const char *large_why = poisoned ? "poisoned: freed" : "not poisoned: foreign";
  const char *block_why =
      poisoned ? "poisoned: a released block, or freed memory" : "not poisoned: foreign memory";
#else
  const char *large_why = "freed, or foreign";
  const char *block_why = "a released block, or foreign memory";
#endif
  if (hc_is_large_cell(p)) {
    if (hc_blockset_contains(&v->heap->blockset, (uintptr_t)p))
      snprintf(buf, size, "dead large object #%llu", (unsigned long long)hc_large_of(p)->serial);
    else
      snprintf(buf, size, "a large-object address the heap does not hold (%s)", large_why);
    return buf;
  }
  vblock_t *vb = find_vblock(v, p);
  if (!vb) {
    snprintf(buf, size, "an address in no block of the heap (%s)", block_why);
    return buf;
  }
  const hc_block_handle_t *h = vb->h;
  unsigned long long serial = (unsigned long long)h->serial;
  uintptr_t off = (uintptr_t)p - (uintptr_t)h->block;
  if (off < HC_BLOCK_HEADER_SIZE) {
    snprintf(buf, size, "the header of block #%llu", serial);
    return buf;
  }
  off -= HC_BLOCK_HEADER_SIZE;
  uint32_t cell = (uint32_t)(off / h->cell_size), into = (uint32_t)(off % h->cell_size);
  if (cell >= h->cells)
    snprintf(buf, size, "past the last cell of block #%llu", serial);
  else if (into)
    snprintf(buf, size, "inside cell %u of block #%llu (offset %u)", cell, serial, into);
  else
    snprintf(buf, size, "free cell %u of block #%llu", cell, serial);
  return buf;
}

/* A live cell, named in reports as "block #B: live cell C" or "large #S: live object". The name
 * is formatted only when a check fails: check_cell runs for every live cell. */
typedef struct cell_id {
  const hc_block_handle_t *h; /* NULL for a large object */
  uint64_t serial;
} cell_id_t;

static verify_cold const char *cell_name(verifier_t *v, cell_id_t id, const void *cell) {
  char *buf = v->name;
  size_t size = sizeof v->name;
  if (!id.h) {
    snprintf(buf, size, "large #%llu: live object", (unsigned long long)id.serial);
  } else {
    uint32_t index = 0;
    hc_block_cell_index(id.h, cell, &index);
    snprintf(buf, size, "block #%llu: live cell %u", (unsigned long long)id.serial, index);
  }
  return buf;
}

/* Walks a free list without consuming it, checking every cell; marks the free cells dead in vb. */
static void check_free_list(verifier_t *v, const hc_local_allocator_t *la, vblock_t *vb) {
  const hc_free_list_t *fl = &la->fl;
  hc_block_handle_t *h = vb->h;
  char *lo = hc_block_first_cell(h->block), *hi = lo + (size_t)h->cells * h->cell_size;
  CHECK(v, fl->cell_size == h->cell_size, "allocator class %u: free list cell size %u != %u",
        la->dir->cell_size, fl->cell_size, h->cell_size);
  uint32_t seen = 0;
  hc_block_t *b = h->block;
  bool marks_ok = b->mark_version == v->heap->mark_version;
  bool newly_ok = atomic_load_explicit(&b->newly_version, memory_order_relaxed) ==
                  atomic_load_explicit(&v->heap->newly_version, memory_order_relaxed);
  char *cur = fl->cur, *end = fl->end;
  uintptr_t next = fl->next;
  for (;;) {
    CHECK(v, cur <= end && (cur == end || (cur >= lo && end <= hi)),
          "block #%llu: free-list interval outside the payload", (unsigned long long)h->serial);
    uint32_t index;
    if (cur < end)
      CHECK(v, hc_block_cell_index(h, cur, &index), "block #%llu: free cell not on a cell boundary",
            (unsigned long long)h->serial);
    /* The interval's cells, from cur on a boundary, are the cell starts among its atoms; they are
     * checked a bitmap word at a time, the first bad cell reported as a cell-by-cell walk would. */
    uint32_t a = hc_atom_index(h->block, cur);
    uint32_t a_end =
        (uint32_t)(((uintptr_t)end - (uintptr_t)h->block + HC_ATOM_SIZE - 1) / HC_ATOM_SIZE);
    while (a < a_end) {
      uint32_t w = a / 64, first = a % 64, n = a_end - a < 64 - first ? a_end - a : 64 - first;
      uint64_t cells = ((n == 64 ? ~0ull : (1ull << n) - 1) << first) & h->cell_starts[w];
      uint64_t live = (marks_ok ? atomic_load_explicit(&b->marks[w], memory_order_relaxed) : 0) |
                      (newly_ok ? atomic_load_explicit(&b->newly[w], memory_order_relaxed) : 0);
      uint64_t bad = cells & live, too_many = 0;
      uint32_t count = (uint32_t)__builtin_popcountll(cells);
      if (seen + count > h->cells) { /* the cell at which the walk would pass h->cells */
        too_many = cells;
        for (uint32_t k = seen; k < h->cells; k++)
          too_many &= too_many - 1;
      }
      if (bad && (!too_many || __builtin_ctzll(bad) <= __builtin_ctzll(too_many))) {
        uint32_t off = (w * 64 + (uint32_t)__builtin_ctzll(bad)) * HC_ATOM_SIZE;
        CHECK(v, false, "block #%llu: free-list cell %u is live by the bits",
              (unsigned long long)h->serial,
              (uint32_t)((off - HC_BLOCK_HEADER_SIZE) / h->cell_size));
      }
      CHECK(v, !too_many, "block #%llu: free list longer than the block",
            (unsigned long long)h->serial);
      seen += count;
      vb->live[w] &= ~cells;
      a += n;
    }
    if (next == HC_FREE_LIST_END) break;
    hc_interval_head_t *head = (hc_interval_head_t *)(next ^ fl->secret);
    CHECK(v, (char *)head >= lo && (char *)head < hi,
          "block #%llu: free-list link leaves the payload", (unsigned long long)h->serial);
    CHECK(v, hc_block_cell_index(h, head, &index), "block #%llu: free-list link off a cell start",
          (unsigned long long)h->serial);
    /* A head is free memory, poisoned but for the allocator's own accesses. One that is not (a
     * link into a live cell) is left unpoisoned: the check of its interval reports it, and the
     * verifier must not poison a live object's header on its way. */
    bool head_poisoned = hc_region_is_poisoned(head, sizeof *head);
    hc_unpoison(head, sizeof *head);
    uint32_t bytes = head->bytes;
    uintptr_t n = head->scrambled_next;
    if (head_poisoned) hc_poison(head, sizeof *head);
    CHECK(v, bytes > 0 && bytes % h->cell_size == 0 && (char *)head + bytes <= hi,
          "block #%llu: bad free-list interval length %u", (unsigned long long)h->serial, bytes);
    cur = (char *)head;
    end = cur + bytes;
    next = n;
  }
}

/* The allocators holding a block as current (how many, and one of them) and as last-active.
 * Returned by value: an out-parameter would put check_directory's frame on ASan's fake stack. */
typedef struct owners {
  const hc_local_allocator_t *cur;
  int cur_n, last_n;
} owners_t;

static owners_t find_owners(const verifier_t *v, const hc_block_handle_t *h) {
  owners_t o = {NULL, 0, 0};
  for (size_t i = 0; i < v->nheld; i++)
    if (v->held[i].h == h) {
      if (v->held[i].last_active) {
        o.last_n++;
      } else {
        o.cur = v->held[i].la;
        o.cur_n++;
      }
    }
  return o;
}

static void check_directory(verifier_t *v, hc_directory_t *d) {
  hc_heap_t *heap = v->heap;
  uint32_t live_count = 0;
  for (uint32_t i = 0; i < d->used; i++) {
    void *owner = d->slots[i];
    uint32_t bits = 0;
    for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
      if (hc_bit_get(d->bits[k], i)) bits |= HC_BITMASK(k);
    CHECK(v, (owner != NULL) == ((bits & HC_BITMASK(HC_BIT_LIVE)) != 0),
          "directory %u slot %u: live bit %d but slot %s", d->cell_size, i,
          (bits & HC_BITMASK(HC_BIT_LIVE)) != 0, owner ? "occupied" : "empty");
    if (!owner) {
      CHECK(v, bits == 0, "directory %u slot %u: bits 0x%x set on an empty slot", d->cell_size, i,
            bits);
      continue;
    }
    live_count++;
    if (!d->cell_size) continue; /* large objects: check_large_directory */
    /* Nothing is read through a slot before it is known to be the heap's: a handle freed, or a
     * block released, while a directory still holds it is the bug this verifier must report.
     * Handles are malloc'ed (only ASan knows a freed one); a block is the heap's while it is in
     * the block set, and its header then unpoisoned. */
    hc_block_handle_t *h = owner;
    CHECK(v, !hc_region_is_poisoned(h, sizeof *h),
          "directory %u slot %u: the block handle is freed memory (poisoned)", d->cell_size, i);
    CHECK(v, h->index == i && h->dir == d && h->cell_size == d->cell_size,
          "block #%llu: handle says slot %u of class %u, found in slot %u of class %u",
          (unsigned long long)h->serial, h->index, h->cell_size, i, d->cell_size);
    CHECK(v, hc_blockset_contains(&heap->blockset, (uintptr_t)h->block),
          "block #%llu: its memory is not in the heap's block set (released, or foreign)",
          (unsigned long long)h->serial);
    CHECK(v, !hc_region_is_poisoned(h->block, sizeof *h->block),
          "block #%llu: its header is poisoned (a released block)", (unsigned long long)h->serial);
    CHECK(v, h->block->handle == h, "block #%llu: block header does not point back to its handle",
          (unsigned long long)h->serial);
    owners_t own = find_owners(v, h);
    const hc_local_allocator_t *cur = own.cur;
    int cur_n = own.cur_n, last_n = own.last_n;
    CHECK(v, cur_n <= 1 && last_n <= 1 && cur_n + last_n <= 1,
          "block #%llu: held by %d allocators as current and %d as last-active",
          (unsigned long long)h->serial, cur_n, last_n);
    bool in_use = bits & HC_BITMASK(HC_BIT_IN_USE);
    bool free_listed = atomic_load_explicit(&h->free_listed, memory_order_relaxed);
    CHECK(v, in_use == (cur_n == 1), "block #%llu: in-use %d but %d allocators hold it",
          (unsigned long long)h->serial, in_use, cur_n);
    CHECK(v, free_listed == (cur_n == 1), "block #%llu: free-listed %d but %d allocators hold it",
          (unsigned long long)h->serial, free_listed, cur_n);
    CHECK(v, ((bits & HC_BITMASK(HC_BIT_PINNED)) != 0) == (last_n == 1),
          "block #%llu: pinned %d but it is the last-active block of %d allocators",
          (unsigned long long)h->serial, (bits & HC_BITMASK(HC_BIT_PINNED)) != 0, last_n);
    CHECK(v, h->cells == HC_BLOCK_PAYLOAD / h->cell_size, "block #%llu: %u cells for size %u",
          (unsigned long long)h->serial, h->cells, h->cell_size);
    /* Bits only at cell starts: the directory's size class's table (size_class.c computes it from
     * the same geometry), which the handle's copy, read by sweeps and stop-allocating, must be. */
    const uint64_t *starts = hc_cell_starts[d->class_index];
    CHECK(v, h->cell_starts == starts, "block #%llu: cell-start table of another size class",
          (unsigned long long)h->serial);
    hc_block_t *b = h->block;
    for (int w = 0; w < HC_BITMAP_WORDS; w++) {
      uint64_t marks = atomic_load_explicit(&b->marks[w], memory_order_relaxed);
      uint64_t newly = atomic_load_explicit(&b->newly[w], memory_order_relaxed);
      if (b->mark_version == heap->mark_version)
        CHECK(v, (marks & ~starts[w]) == 0, "block #%llu: mark bit off a cell start",
              (unsigned long long)h->serial);
      if (atomic_load_explicit(&b->newly_version, memory_order_relaxed) ==
          atomic_load_explicit(&heap->newly_version, memory_order_relaxed))
        CHECK(v, (newly & ~starts[w]) == 0, "block #%llu: newly-allocated bit off a cell start",
              (unsigned long long)h->serial);
    }
    CHECK(v, v->nblocks < v->max_blocks, "directory %u: more occupied slots than blocks counted",
          d->cell_size);
    vblock_t *vb = &v->blocks[v->nblocks++];
    vb->h = h;
    if (cur) {
      for (int w = 0; w < HC_BITMAP_WORDS; w++)
        vb->live[w] = starts[w];
      check_free_list(v, cur, vb);
      if (v->failed) return;
    } else {
      uint64_t marks_ok = b->mark_version == heap->mark_version;
      uint64_t newly_ok = atomic_load_explicit(&b->newly_version, memory_order_relaxed) ==
                          atomic_load_explicit(&heap->newly_version, memory_order_relaxed);
      bool any = false;
      for (int w = 0; w < HC_BITMAP_WORDS; w++) {
        vb->live[w] = (marks_ok ? atomic_load_explicit(&b->marks[w], memory_order_relaxed) : 0) |
                      (newly_ok ? atomic_load_explicit(&b->newly[w], memory_order_relaxed) : 0);
        any |= vb->live[w] != 0;
      }
      if (bits & HC_BITMASK(HC_BIT_EMPTY))
        CHECK(v, !any, "block #%llu: marked empty but has live cells",
              (unsigned long long)h->serial);
    }
  }
  CHECK(v, live_count == d->count, "directory %u: count %u but %u live slots", d->cell_size,
        d->count, live_count);
}

/* "block #B: live object's slot S points to a dead or foreign cell" is the report as it was first
 * written, which the zoo's expect lines match; what the target is, and which cell holds the
 * object, follow it. */
static verify_cold void fail_slot(verifier_t *v, cell_id_t id, const hc_object_t *obj, uint32_t s,
                                  const void *t) {
  const char *what = describe_target(v, t);
  if (id.h) {
    uint32_t index = 0;
    hc_block_cell_index(id.h, obj, &index);
    fail(v,
         "block #%llu: live object's slot %u points to a dead or foreign cell: %s; the "
         "object is cell %u",
         (unsigned long long)id.serial, s, what, index);
  } else {
    fail(v, "large #%llu: live object's slot %u points to a dead or foreign cell: %s",
         (unsigned long long)id.serial, s, what);
  }
}

/* Is any byte of the 8-byte word at p poisoned? p is 8-aligned (a header or a slot) in memory the
 * heap owns. ASan's shadow makes the addressable bytes of an 8-byte granule a prefix (the first k,
 * 0 <= k <= 8), so the word's last byte answers for all eight: one shadow lookup for every live
 * cell's header and each slot, where hc_region_is_poisoned pays for generality. */
_Static_assert(HC_HEADER_SIZE == 8 && HC_SLOT_SIZE == 8, "a header and a slot are one granule");
static inline bool word_is_poisoned(const void *p) {
  return hc_is_poisoned((const char *)p + 7);
}

/* A cell the heap considers allocated: a live cell start of a block the directories hold, or a
 * large object the large directory holds (check_large_directory checked its hc_large_t). Under
 * ASan the header, then the slots, are checked unpoisoned before they are read: a cell the bits
 * call live but the heap freed (swept, free-listed, a freed large object) is reported, not read.
 * Without ASan a freed cell is still the heap's memory, and its zeroed header says so. */
static verify_inline void check_cell(verifier_t *v, hc_object_t *obj, size_t cell_bytes,
                                     cell_id_t id) {
  CHECK(v, !word_is_poisoned(obj), "%s is poisoned (free memory)", cell_name(v, id, obj));
  hc_header_t *hdr = hc_header_of(obj);
  uint8_t state = atomic_load_explicit(&hdr->state, memory_order_relaxed);
  CHECK(v, hc_state_is_object(state), "%s has state 0x%02x%s", cell_name(v, id, obj), state,
        state == HC_STATE_FREE ? " (free memory)" : "");
  CHECK(v, hdr->size > 0 && hc_cell_size_for(hdr->size) == cell_bytes,
        "%s holds an object of size %u in a cell of %zu bytes", cell_name(v, id, obj), hdr->size,
        cell_bytes);
  CHECK(v, (uint64_t)hdr->nslots * HC_SLOT_SIZE + HC_HEADER_SIZE <= hdr->size,
        "%s: %u slots do not fit in %u bytes", cell_name(v, id, obj), hdr->nslots, hdr->size);
  for (uint32_t s = 0; s < hdr->nslots; s++) {
    CHECK(v, !word_is_poisoned(&hc_slots_of(obj)[s]), "%s: its slot %u is poisoned (free memory)",
          cell_name(v, id, obj), s);
    hc_object_t *t = hc_load(obj, s);
    if (t == NULL || is_live_ref(v, t)) continue;
    fail_slot(v, id, obj, s, t);
    return;
  }
}

/* The first of the given cells (a word of cell-start bits at atom 64*w) whose state byte says
 * it holds an object; 64 if none. The state is read whether or not the cell is poisoned: the heap
 * owns the memory, and every way a cell becomes poisoned (format, sweep, free-list heads) leaves a
 * state no object has. So ASan builds check every dead cell, not only unpoisoned ones, with no
 * runtime call per cell to ask which those are. */
HC_NO_SANITIZE_ADDRESS static uint32_t first_dead_object(const hc_block_t *b, int w,
                                                         uint64_t cells) {
  for (; cells; cells &= cells - 1) {
    uint32_t bit = (uint32_t)__builtin_ctzll(cells);
    const _Atomic uint8_t *state =
        (const _Atomic uint8_t *)((const char *)b + (size_t)(w * 64 + (int)bit) * HC_ATOM_SIZE +
                                  HC__STATE_OFFSET);
    /* hc_state_is_object, spelled out: it would not be inlined into this uninstrumented code. */
    uint8_t st = atomic_load_explicit(state, memory_order_relaxed);
    if (st >= HC_STATE_NEW && st <= HC_STATE_REMEMBERED) return bit;
  }
  return 64;
}

/* Every cell of every block, a word of cell-start bits at a time: live cells are checked as
 * objects; in a swept block, a dead cell must not hold one. The first failure in address order is
 * the one reported. */
static void check_cells(verifier_t *v) {
  for (size_t i = 0; i < v->nblocks && !v->failed; i++) {
    vblock_t *vb = &v->blocks[i];
    hc_block_handle_t *h = vb->h;
    bool unswept = hc_bit_get(h->dir->bits[HC_BIT_UNSWEPT], h->index);
    cell_id_t id = {h, h->serial};
    for (int w = 0; w < HC_BITMAP_WORDS && !v->failed; w++) {
      uint64_t live = vb->live[w] & h->cell_starts[w];
      /* In an unswept block dead cells may still hold objects: not checked. */
      uint32_t bad = unswept ? 64 : first_dead_object(h->block, w, h->cell_starts[w] & ~live);
      for (; live && !v->failed && (uint32_t)__builtin_ctzll(live) < bad; live &= live - 1) {
        char *cell = (char *)h->block + (size_t)(w * 64 + __builtin_ctzll(live)) * HC_ATOM_SIZE;
        check_cell(v, (hc_object_t *)cell, h->cell_size, id);
      }
      if (bad < 64 && !v->failed) {
        char *cell = (char *)h->block + (size_t)(w * 64 + (int)bad) * HC_ATOM_SIZE;
        fail(v, "block #%llu: swept block holds a dead object in cell %u",
             (unsigned long long)h->serial,
             (uint32_t)((size_t)(cell - hc_block_first_cell(h->block)) / h->cell_size));
      }
    }
  }
}

/* The large directory's objects, before any reference is followed: each must be in the block set
 * before its hc_large_t is read (a large object freed while the directory holds it is not, in a
 * heap that removed it from the set), and under ASan that memory must not be freed. */
static void check_large_directory(verifier_t *v) {
  hc_heap_t *heap = v->heap;
  hc_directory_t *d = &heap->large_dir;
  for (uint32_t i = 0; i < d->used && !v->failed; i++) {
    hc_large_t *l = d->slots[i];
    if (!l) continue;
    CHECK(v, hc_blockset_contains(&heap->blockset, (uintptr_t)hc_large_cell(l)),
          "large directory slot %u: holds an object not in the heap's block set (freed, or never "
          "added)",
          i);
    CHECK(v, !hc_region_is_poisoned(l, sizeof *l),
          "large directory slot %u: holds freed memory (poisoned)", i);
    bool empty = hc_bit_get(d->bits[HC_BIT_EMPTY], i);
    CHECK(v, l->index == i, "large #%llu: index %u in slot %u", (unsigned long long)l->serial,
          l->index, i);
    CHECK(v, !hc_bit_get(d->bits[HC_BIT_IN_USE], i) && !hc_bit_get(d->bits[HC_BIT_PINNED], i),
          "large #%llu: claimed while the world is stopped", (unsigned long long)l->serial);
    CHECK(v, !(empty && hc_large_is_live(heap, l)), "large #%llu: marked empty but live",
          (unsigned long long)l->serial);
  }
}

/* The block set holds the directories' blocks and large objects, and nothing else (each of them
 * was found in it): so a large cell in the set is one the large directory holds, which is what
 * lets is_live_ref read its hc_large_t. A block or large object freed without leaving the set, or
 * added to it and never to a directory, fails here. */
static void check_blockset(verifier_t *v) {
  size_t held = v->nblocks + v->heap->large_dir.count;
  CHECK(v, v->heap->blockset.count == held,
        "the heap's block set holds %zu blocks and large objects, its directories %zu",
        v->heap->blockset.count, held);
}

static void check_large(verifier_t *v) {
  hc_heap_t *heap = v->heap;
  hc_directory_t *d = &heap->large_dir;
  for (uint32_t i = 0; i < d->used && !v->failed; i++) {
    hc_large_t *l = d->slots[i];
    if (l && hc_large_is_live(heap, l)) {
      cell_id_t id = {NULL, l->serial};
      check_cell(v, hc_large_cell(l), l->cell_bytes, id);
    }
  }
}

static void check_allocators_and_roots(verifier_t *v) {
  hc_heap_t *heap = v->heap;
  uint32_t mutators = 0;
  for (hc_mutator_t *m = heap->mutators; m && !v->failed; m = m->next) {
    mutators++;
    for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++) {
      const hc_local_allocator_t *la = &m->allocators[i];
      CHECK(v, la->dir == &heap->dirs[i], "mutator %u: allocator %u points at the wrong directory",
            m->id, i);
      if (la->current)
        CHECK(v, holds_handle(v, la->current) && la->current->dir == la->dir,
              "mutator %u: current block of class %u is not a live block of its directory", m->id,
              la->dir->cell_size);
      else
        CHECK(v, la->fl.cur == la->fl.end && la->fl.next == HC_FREE_LIST_END,
              "mutator %u: free list of class %u without a current block", m->id,
              la->dir->cell_size);
      if (la->last_active) {
        CHECK(v, holds_handle(v, la->last_active) && la->last_active->dir == la->dir,
              "mutator %u: last-active block of class %u is not a live block of its directory",
              m->id, la->dir->cell_size);
        CHECK(v, m->allocation_stopped,
              "mutator %u: last-active block of class %u while allocating", m->id,
              la->dir->cell_size);
        CHECK(v, la->current == NULL, "mutator %u: both current and last-active in class %u", m->id,
              la->dir->cell_size);
      }
    }
    for (size_t r = 0; r < m->roots.count; r++) {
      hc_object_t *t = *m->roots.slots[r];
      CHECK(v, t == NULL || !is_cell_start(v, t) || is_live_ref(v, t),
            "mutator %u: root %zu points to a dead cell: %s", m->id, r, describe_target(v, t));
    }
    for (size_t r = 0; r < m->remembered.count; r++) {
      hc_object_t *t = m->remembered.items[r];
      CHECK(v, is_live_ref(v, t), "mutator %u: remembered object %zu is dead: %s", m->id, r,
            describe_target(v, t));
    }
  }
  CHECK(v, mutators == heap->mutator_count, "mutator list has %u entries, count says %u", mutators,
        heap->mutator_count);
  pthread_mutex_lock(&heap->roots_lock);
  for (size_t r = 0; r < heap->global_roots.count && !v->failed; r++) {
    hc_object_t *t = *(hc_object_t **)heap->global_roots.items[r];
    if (t && is_cell_start(v, t) && !is_live_ref(v, t))
      fail(v, "global root %zu points to a dead cell: %s", r, describe_target(v, t));
  }
  pthread_mutex_unlock(&heap->roots_lock);
  pthread_mutex_lock(&heap->weak_lock);
  size_t n = 0;
  for (hc_weak_t *w = heap->weak_list; w && !v->failed; w = w->next, n++) {
    hc_object_t *t = atomic_load_explicit(&w->target, memory_order_relaxed);
    if (t && !is_live_ref(v, t))
      fail(v, "weak reference %zu points to a dead object: %s", n, describe_target(v, t));
  }
  pthread_mutex_unlock(&heap->weak_lock);
}

static void check_accounting(verifier_t *v) {
  hc_heap_t *heap = v->heap;
  size_t bytes = v->nblocks * (size_t)HC_BLOCK_SIZE;
  for (uint32_t i = 0; i < heap->large_dir.used; i++) {
    hc_large_t *l = heap->large_dir.slots[i];
    if (l) bytes += sizeof(hc_large_t) + l->cell_bytes;
  }
  size_t committed = atomic_load_explicit(&heap->committed, memory_order_relaxed);
  CHECK(v, committed == bytes, "committed bytes %zu but blocks and large objects hold %zu",
        committed, bytes);
  CHECK(v, heap->config.heap_limit == 0 || committed <= heap->config.heap_limit,
        "committed bytes %zu over the heap limit %zu", committed, heap->config.heap_limit);
  CHECK(v, heap->mark_version >= 1 && heap->mark_version <= heap->config.version_limit,
        "mark version %u outside 1..%u", heap->mark_version, heap->config.version_limit);
}

/* Sorts by block address: insertion sort for the few blocks of a small heap (a fuzz program's, on
 * every verify it runs), qsort beyond. */
static void sort_by_addr(vblock_t **a, size_t n) {
  if (n > 16) {
    qsort(a, n, sizeof *a, compare_vblock);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    vblock_t *x = a[i];
    size_t j = i;
    for (; j > 0 && (uintptr_t)a[j - 1]->h->block > (uintptr_t)x->h->block; j--)
      a[j] = a[j - 1];
    a[j] = x;
  }
}

/* The verifier's arrays, carved from one scratch buffer the heap keeps between calls (the world
 * is stopped, so there is one verifier at a time; hc_heap_destroy frees it). */
static bool take_scratch(verifier_t *v, size_t nblocks, size_t nheld) {
  hc_heap_t *heap = v->heap;
  size_t bytes = nblocks * (sizeof *v->blocks + sizeof *v->by_addr) + nheld * sizeof *v->held;
  if (bytes > heap->verify_scratch_bytes || !heap->verify_scratch) {
    size_t cap = heap->verify_scratch_bytes ? heap->verify_scratch_bytes : 4096;
    while (cap < bytes)
      cap *= 2;
    void *p = malloc(cap);
    if (!p) return false;
    if (heap->verify_scratch) free(heap->verify_scratch);
    heap->verify_scratch = p;
    heap->verify_scratch_bytes = cap;
  }
  v->max_blocks = nblocks;
  v->blocks = heap->verify_scratch;
  v->by_addr = (vblock_t **)(v->blocks + nblocks);
  v->held = (held_block_t *)(v->by_addr + nblocks);
  return true;
}

hc_status_t hc_verify_stopped(hc_heap_t *heap, char *msg, size_t msg_size) {
  verifier_t v = {heap, msg, msg_size, false, NULL, NULL, 0, 0, NULL, 0, "", ""};
  if (msg && msg_size) msg[0] = '\0';
  size_t total = 0;
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT; c++)
    total += heap->dirs[c].count;
  /* Room for every allocator's two blocks; the mutator list is checked against the count later. */
  size_t held = 0;
  for (hc_mutator_t *m = heap->mutators; m; m = m->next)
    held += 2 * HC_SIZE_CLASS_COUNT;
  if (!take_scratch(&v, total, held)) {
    fail(&v, "out of memory while verifying");
    return HC_ERR_OUT_OF_MEMORY;
  }
  for (hc_mutator_t *m = heap->mutators; m; m = m->next)
    for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++) {
      const hc_local_allocator_t *la = &m->allocators[i];
      if (la->current) v.held[v.nheld++] = (held_block_t){la->current, la, false};
      if (la->last_active) v.held[v.nheld++] = (held_block_t){la->last_active, la, true};
    }
  pthread_mutex_lock(&heap->blockset_lock);
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT && !v.failed; c++) {
    pthread_mutex_lock(&heap->dirs[c].lock);
    check_directory(&v, &heap->dirs[c]);
    pthread_mutex_unlock(&heap->dirs[c].lock);
  }
  if (!v.failed) {
    pthread_mutex_lock(&heap->large_dir.lock);
    check_directory(&v, &heap->large_dir);
    pthread_mutex_unlock(&heap->large_dir.lock);
  }
  for (size_t i = 0; i < v.nblocks; i++)
    v.by_addr[i] = &v.blocks[i];
  sort_by_addr(v.by_addr, v.nblocks);
  if (!v.failed) check_large_directory(&v);
  if (!v.failed) check_blockset(&v);
  if (!v.failed) check_cells(&v);
  if (!v.failed) check_large(&v);
  if (!v.failed) check_allocators_and_roots(&v);
  if (!v.failed) check_accounting(&v);
  pthread_mutex_unlock(&heap->blockset_lock);
  return v.failed ? HC_ERR_VERIFY : HC_OK;
}

hc_status_t hc_heap_verify(hc_mutator_t *m, char *msg, size_t msg_size) {
  if (!m) return HC_ERR_INVALID_ARGUMENT;
  if (!m->has_access) return HC_ERR_WRONG_STATE;
  hc_world_stop(m->heap, m);
  hc_status_t st = hc_verify_stopped(m->heap, msg, msg_size);
  hc_world_resume(m->heap);
  return st;
}

/* ---------------------------------------------------------------------------------------------
 * Dump
 * ------------------------------------------------------------------------------------------- */

static const char *const phase_names[HC_PHASE_COUNT] = {"none",    "stopping",    "stopped",
                                                        "marking", "end-marking", "resuming"};

/* Reads bits without the directory lock: dump runs either with the world stopped (no one else
 * touches the bits) or as a crash handler's best effort, where taking a lock could deadlock. */
static uint32_t bits_unlocked(hc_directory_t *d, uint32_t index) {
  uint32_t mask = 0;
  if (index < d->used)
    for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
      if (hc_bit_get(d->bits[k], index)) mask |= HC_BITMASK(k);
  return mask;
}

static void dump_bits(FILE *out, hc_directory_t *d, uint32_t index) {
  uint32_t mask = bits_unlocked(d, index);
  fprintf(out, "[");
  bool first = true;
  for (int k = 0; k < HC_BIT_KIND_COUNT; k++)
    if (mask & HC_BITMASK(k)) {
      fprintf(out, "%s%s", first ? "" : " ", hc_bit_kind_name(k));
      first = false;
    }
  fprintf(out, "]");
}

/* Is h a handle some directory still holds? Compared by address only, never dereferenced: an
 * allocator holding a released block (the bug this heap is fuzzed for) must show up in the dump,
 * not crash it. */
static bool handle_in_directory(hc_heap_t *heap, const hc_block_handle_t *h) {
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT; c++) {
    hc_directory_t *d = &heap->dirs[c];
    for (uint32_t i = 0; i < d->used; i++)
      if (d->slots[i] == h) return true;
  }
  return false;
}

static void dump_block(hc_heap_t *heap, FILE *out, const char *what, hc_block_handle_t *h) {
  if (!handle_in_directory(heap, h)) {
    fprintf(out, "      %s: a block no directory holds (released or never added)\n", what);
    return;
  }
  fprintf(out, "      %s: block #%llu slot %u ", what, (unsigned long long)h->serial, h->index);
  dump_bits(out, h->dir, h->index);
  fprintf(out, "\n");
}

static void dump_stopped(hc_heap_t *heap, FILE *out) {
  int phase = atomic_load_explicit(&heap->phase, memory_order_relaxed);
  fprintf(out, "heap state: phase %s, mark version %u, newly version %u\n",
          (unsigned)phase < HC_PHASE_COUNT ? phase_names[phase] : "?", heap->mark_version,
          atomic_load_explicit(&heap->newly_version, memory_order_relaxed));
  for (hc_mutator_t *m = heap->mutators; m; m = m->next) {
    fprintf(out, "  mutator %u: access %d, allocation %s, %zu roots\n", m->id, m->has_access,
            m->allocation_stopped ? "stopped" : "running", m->roots.count);
    for (uint32_t i = 0; i < HC_SIZE_CLASS_COUNT; i++) {
      const hc_local_allocator_t *la = &m->allocators[i];
      if (!la->current && !la->last_active) continue;
      fprintf(out, "    allocator %u B:\n", la->dir->cell_size);
      if (la->current) dump_block(heap, out, "current", la->current);
      if (la->last_active) dump_block(heap, out, "last-active", la->last_active);
    }
  }
  for (uint32_t c = 0; c <= HC_SIZE_CLASS_COUNT; c++) {
    hc_directory_t *d = hc_directory_at(heap, c);
    if (d->count) {
      fprintf(out, "  directory %s%u: %u blocks;", d->cell_size ? "" : "large ", d->cell_size,
              d->count);
      for (int k = 1; k < HC_BIT_KIND_COUNT; k++) {
        uint32_t n = 0;
        for (uint32_t w = 0; w < hc_bitvec_words(d->used); w++)
          n += (uint32_t)__builtin_popcount(d->bits[k][w]);
        if (n) fprintf(out, " %s %u", hc_bit_kind_name(k), n);
      }
      fprintf(out, "\n");
    }
  }
}

void hc_heap_dump(hc_heap_t *heap, hc_mutator_t *m, FILE *out) {
  if (!heap || !out) return;
  bool stop = m && m->heap == heap && m->has_access;
  if (stop) hc_world_stop(heap, m);
  dump_stopped(heap, out);
  if (stop) hc_world_resume(heap);
}
