/* payload.c: the oracle's reads and writes of object payloads (exec.h). The one place the
 * interpreter touches heap memory itself, so in TSan builds, unlike the rest of the interpreter,
 * this file is instrumented: a race between a thread filling an object and the heap reusing its
 * cell is the heap's, and must be seen. */
#include "exec.h"

void ops_payload_write(hb_object_t *obj, const hb_backend_t *be, uint32_t index, uint8_t seed) {
  size_t n;
  uint8_t *p = be->payload(obj, &n);
  model_payload_apply(p, n, index, seed, false);
}

bool ops_payload_check(hb_object_t *obj, const hb_backend_t *be, uint32_t index, uint8_t seed) {
  size_t n;
  uint8_t *p = be->payload(obj, &n);
  return model_payload_apply(p, n, index, seed, true);
}

/* Payloads up to OPS_SAMPLE_FULL bytes are compared whole; a longer one by its first and last
 * OPS_SAMPLE_EDGE bytes and the first OPS_SAMPLE_LINE bytes of every OPS_SAMPLE_EDGE between.
 * What a collector bug does to a live object it lost is whole-cell: its memory freed (under ASan
 * any read of it is a report), reused (a new header and payload from the cell's start), wiped by
 * a sweep (zero or scribble, the whole cell), or overlapped by a neighbour in a cell too small
 * for it (the tail). Every sample reads one cache line in sixteen of a large payload's middle,
 * which after every collection was most of a fuzz program's checking time (64 KiB objects). */
enum { OPS_SAMPLE_FULL = 4096, OPS_SAMPLE_EDGE = 1024, OPS_SAMPLE_LINE = 64 };

bool ops_payload_check_sampled(hb_object_t *obj, const hb_backend_t *be, uint32_t index,
                               uint8_t seed) {
  size_t n;
  uint8_t *p = be->payload(obj, &n);
  if (n <= OPS_SAMPLE_FULL) return model_payload_apply(p, n, index, seed, true);
  size_t tail = (n - OPS_SAMPLE_EDGE) & ~(size_t)7; /* 8-aligned, so at most 1031 bytes */
  if (!model_payload_apply_at(p, 0, OPS_SAMPLE_EDGE, index, seed, true) ||
      !model_payload_apply_at(p, tail, n - tail, index, seed, true))
    return false;
  for (size_t off = OPS_SAMPLE_EDGE; off + OPS_SAMPLE_LINE <= tail; off += OPS_SAMPLE_EDGE)
    if (!model_payload_apply_at(p, off, OPS_SAMPLE_LINE, index, seed, true)) return false;
  return true;
}
