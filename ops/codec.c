/* codec.c: the binary form: total decoding and canonical encoding (include/heapops.h). */
#include "heapops.h"

#include <string.h>

/* Reads the next byte, or 0 past the end: truncated inputs decode as if zero-padded. */
static uint8_t next_byte(const uint8_t *data, size_t size, size_t *pos) {
  uint8_t b = *pos < size ? data[*pos] : 0;
  (*pos)++;
  return b;
}

void ops_decode(const uint8_t *data, size_t size, ops_program_t *out) {
  size_t pos = 0;
  out->config.trigger = next_byte(data, size, &pos);
  out->config.full_every = next_byte(data, size, &pos);
  out->config.versions = next_byte(data, size, &pos);
  out->config.flags = next_byte(data, size, &pos);
  out->count = 0;
  while (pos < size && out->count < OPS_MAX_OPS) {
    ops_op_t *op = &out->ops[out->count++];
    memset(op, 0, sizeof *op);
    op->opcode = (uint8_t)(next_byte(data, size, &pos) % OPS_OP_COUNT);
    const ops_op_info_t *info = ops_op_info(op->opcode);
    for (unsigned i = 0; i < info->operand_count; i++) {
      uint16_t v = next_byte(data, size, &pos);
      if (info->operand_bytes[i] == 2) v |= (uint16_t)(next_byte(data, size, &pos) << 8);
      op->operand[i] = v;
    }
  }
}

size_t ops_encode(const ops_program_t *p, uint8_t *out, size_t cap) {
  size_t n = 0;
#define PUT(b)                          \
  do {                                  \
    if (n < cap) out[n] = (uint8_t)(b); \
    n++;                                \
  } while (0)
  PUT(p->config.trigger);
  PUT(p->config.full_every);
  PUT(p->config.versions);
  PUT(p->config.flags);
  for (uint32_t k = 0; k < p->count && k < OPS_MAX_OPS; k++) {
    const ops_op_t *op = &p->ops[k];
    const ops_op_info_t *info = ops_op_info(op->opcode % OPS_OP_COUNT);
    PUT(op->opcode % OPS_OP_COUNT);
    for (unsigned i = 0; i < info->operand_count; i++) {
      PUT(op->operand[i] & 0xff);
      if (info->operand_bytes[i] == 2) PUT(op->operand[i] >> 8);
    }
  }
#undef PUT
  return n;
}
