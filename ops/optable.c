/* optable.c: the op language's mnemonics and operand layouts, from include/heapops.h's op
 * table. */
#include "heapops.h"

#include <stdio.h>

#define OPS_INFO_ENTRY_(id, mnemonic, fn, needs, count, keys, widths) \
  [OPS_##id] = {mnemonic, count, widths, keys},
static const ops_op_info_t op_table[OPS_OP_COUNT] = {OPS_OP_TABLE(OPS_INFO_ENTRY_)};
#undef OPS_INFO_ENTRY_

#define OPS_NEEDS_ENTRY_(id, mnemonic, fn, needs, ...) [OPS_##id] = needs,
static const uint32_t op_needs[OPS_OP_COUNT] = {OPS_OP_TABLE(OPS_NEEDS_ENTRY_)};
#undef OPS_NEEDS_ENTRY_

const ops_op_info_t *ops_op_info(unsigned opcode) {
  return opcode < OPS_OP_COUNT ? &op_table[opcode] : NULL;
}

uint32_t ops_op_needs(unsigned opcode) {
  return opcode < OPS_OP_COUNT ? op_needs[opcode] : 0;
}

size_t ops_format_op(const ops_op_t *op, char *buf, size_t size) {
  const ops_op_info_t *info = ops_op_info(op->opcode % OPS_OP_COUNT);
  int n = snprintf(buf, size, "%s", info->name);
  size_t used = n > 0 ? (size_t)n : 0;
  for (unsigned i = 0; i < info->operand_count; i++) {
    n = snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0, " %s=%u",
                 info->operand_names[i], (unsigned)op->operand[i]);
    used += n > 0 ? (size_t)n : 0;
  }
  return used;
}
