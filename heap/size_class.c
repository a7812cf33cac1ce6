/* size_class.c: the size-class table (JSC's MarkedSpace size steps).
 *
 * Every 16 bytes up to 80, then steps of about x1.4; each step is widened to the largest
 * atom-multiple that still fits the same number of cells in a block, so the block's tail waste is
 * as small as that cell count allows. The last class is half the payload: two cells per block.
 * Computed once (not a literal table) so changing the block header cannot leave it stale. */
#include "internal.h"

#include <pthread.h>

uint32_t hc_size_classes[HC_SIZE_CLASS_COUNT];
uint8_t hc_class_of_atoms[HC_MAX_CELL_SMALL / HC_ATOM_SIZE + 1];
uint64_t hc_cell_starts[HC_SIZE_CLASS_COUNT][HC_BITMAP_WORDS];

static pthread_once_t size_classes_once = PTHREAD_ONCE_INIT;

static void compute_size_classes(void) {
  const uint32_t payload = (uint32_t)HC_BLOCK_PAYLOAD;
  const uint32_t half = (payload / 2) & ~(HC_ATOM_SIZE - 1);
  uint32_t n = 0;
  for (uint32_t s = HC_ATOM_SIZE; s <= 80; s += HC_ATOM_SIZE)
    hc_size_classes[n++] = s;
  uint32_t s = 80;
  for (;;) {
    s = ((s * 14 / 10) + HC_ATOM_SIZE - 1) & ~(HC_ATOM_SIZE - 1);
    if (s > half) break;
    uint32_t best = (payload / (payload / s)) & ~(HC_ATOM_SIZE - 1);
    if (best > hc_size_classes[n - 1]) {
      if (n == HC_SIZE_CLASS_COUNT)
        HC_FATAL("size-class table overflow: update HC_SIZE_CLASS_COUNT");
      hc_size_classes[n++] = best;
      s = best;
    }
  }
  if (hc_size_classes[n - 1] < half) {
    if (n == HC_SIZE_CLASS_COUNT) HC_FATAL("size-class table overflow: update HC_SIZE_CLASS_COUNT");
    hc_size_classes[n++] = half;
  }
  if (n != HC_SIZE_CLASS_COUNT || half != HC_MAX_CELL_SMALL)
    HC_FATAL("size-class table does not match HC_SIZE_CLASS_COUNT / HC_MAX_CELL_SMALL");

  uint32_t cls = 0;
  for (uint32_t atoms = 0; atoms <= HC_MAX_CELL_SMALL / HC_ATOM_SIZE; atoms++) {
    while (hc_size_classes[cls] < atoms * HC_ATOM_SIZE)
      cls++;
    hc_class_of_atoms[atoms] = (uint8_t)cls;
  }
#if defined(HC_INJECT_BUG_SIZE_CLASS_SHORT)
  /* INJECTED BUG size-class-short: objects one atom larger than the 112-byte class still go to
   * it, so a 128-byte object overlaps the next cell's first atom. */
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT; c++)
    if (hc_size_classes[c] == 112) hc_class_of_atoms[112 / HC_ATOM_SIZE + 1] = (uint8_t)c;
#endif
  for (uint32_t c = 0; c < HC_SIZE_CLASS_COUNT; c++) {
    uint32_t size = hc_size_classes[c], cells = (uint32_t)(HC_BLOCK_PAYLOAD / size);
    for (uint32_t i = 0; i < cells; i++) {
      uint32_t atom = (uint32_t)(HC_BLOCK_HEADER_SIZE + (size_t)i * size) / HC_ATOM_SIZE;
      hc_cell_starts[c][atom / 64] |= 1ull << (atom % 64);
    }
  }
}

void hc_size_classes_init(void) {
  pthread_once(&size_classes_once, compute_size_classes);
}

size_t hc_cell_size_for(size_t size) {
  if (size == 0 || size > HC_MAX_OBJECT) return 0;
  hc_size_classes_init();
  if (size <= HC_MAX_CELL_SMALL) return hc_size_classes[hc_size_class_index(size)];
  return (size + HC_ATOM_SIZE - 1) & ~(size_t)(HC_ATOM_SIZE - 1);
}
