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
