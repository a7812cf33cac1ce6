/* White-box tests of the size-class table (heap/size_class.c). */
#include "check.h"
#include "internal.h"

/* The table's defining properties, recomputed independently of the implementation. */
static void test_table_shape(void) {
  hc_size_classes_init();
  for (uint32_t i = 0; i < 5; i++)
    CHECK_EQ_U64(hc_size_classes[i], 16 * (i + 1));
  for (uint32_t i = 1; i < HC_SIZE_CLASS_COUNT; i++) {
    uint32_t prev = hc_size_classes[i - 1], cur = hc_size_classes[i];
    CHECK(cur > prev);
    CHECK_EQ_U64(cur % HC_ATOM_SIZE, 0);
    if (i >= 5 && i < HC_SIZE_CLASS_COUNT - 1) {
      /* a x1.4 step (rounded to atoms), widened while the block still holds as many cells */
      uint32_t step = (prev * 14 / 10 + HC_ATOM_SIZE - 1) & ~(HC_ATOM_SIZE - 1);
      CHECK(cur >= step);
      CHECK_EQ_U64(HC_BLOCK_PAYLOAD / cur, HC_BLOCK_PAYLOAD / step);
      /* waste-aware: one more atom would lose a cell per block */
      CHECK(HC_BLOCK_PAYLOAD / (cur + HC_ATOM_SIZE) < HC_BLOCK_PAYLOAD / cur);
    }
  }
  CHECK_EQ_U64(hc_size_classes[HC_SIZE_CLASS_COUNT - 1], HC_MAX_CELL_SMALL);
  CHECK_EQ_U64(HC_BLOCK_PAYLOAD / HC_MAX_CELL_SMALL, 2); /* last class: half a payload */
}

static void test_lookup(void) {
  hc_size_classes_init();
  for (size_t size = 1; size <= HC_MAX_CELL_SMALL; size++) {
    uint32_t c = hc_size_class_index(size);
    CHECK(c < HC_SIZE_CLASS_COUNT);
    CHECK(hc_size_classes[c] >= size);
    if (c > 0) CHECK(hc_size_classes[c - 1] < size); /* the smallest class that fits */
    CHECK_EQ_U64(hc_cell_size_for(size), hc_size_classes[c]);
  }
}

static void test_geometry(void) {
  CHECK_EQ_U64(HC_BLOCK_HEADER_SIZE % HC_ATOM_SIZE, 0);
  CHECK(HC_BLOCK_HEADER_SIZE >= sizeof(hc_block_t));
  CHECK_EQ_U64(HC_ATOMS_PER_BLOCK, 1024);
  CHECK_EQ_U64(sizeof(hc_large_t) % 16, 8);
}

int main(void) {
  RUN_TEST(test_table_shape);
  RUN_TEST(test_lookup);
  RUN_TEST(test_geometry);
  return 0;
}
