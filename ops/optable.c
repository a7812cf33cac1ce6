/* optable.c: the op language's table: mnemonics and operand layouts (include/heapops.h). */
#include "heapops.h"

#include <stdio.h>

#define OP0(n)   \
  {              \
    n, 0, {0}, { \
      0          \
    }            \
  }
#define OP1(n, a, wa) \
  {                   \
    n, 1, {wa}, {     \
      a               \
    }                 \
  }
#define OP2(n, a, wa, b, wb) \
  {                          \
    n, 2, {wa, wb}, {        \
      a, b                   \
    }                        \
  }
#define OP3(n, a, wa, b, wb, c, wc) \
  {                                 \
    n, 3, {wa, wb, wc}, {           \
      a, b, c                       \
    }                               \
  }
#define OP4(n, a, wa, b, wb, c, wc, d, wd) \
  {                                        \
    n, 4, {wa, wb, wc, wd}, {              \
      a, b, c, d                           \
    }                                      \
  }

static const ops_op_info_t op_table[OPS_OP_COUNT] = {
    [OPS_ALLOC] = OP4("alloc", "h", 1, "size", 2, "slots", 1, "flags", 1),
    [OPS_STORE] = OP3("store", "h", 1, "slot", 1, "v", 1),
    [OPS_CLEAR] = OP2("clear", "h", 1, "slot", 1),
    [OPS_LOAD] = OP3("load", "dst", 1, "h", 1, "slot", 1),
    [OPS_WRITE] = OP2("write", "h", 1, "seed", 1),
    [OPS_CHECK] = OP1("check", "h", 1),
    [OPS_ROOT] = OP1("root", "h", 1),
    [OPS_UNROOT] = OP1("unroot", "h", 1),
    [OPS_DROP] = OP1("drop", "h", 1),
    [OPS_WEAK_NEW] = OP2("weak", "w", 1, "h", 1),
    [OPS_WEAK_GET] = OP2("deref", "dst", 1, "w", 1),
    [OPS_GC_FULL] = OP0("gc-full"),
    [OPS_GC_EDEN] = OP0("gc-eden"),
    [OPS_SWEEP] = OP1("sweep", "n", 1),
    [OPS_SWEEP_ALL] = OP0("sweep-all"),
    [OPS_SHRINK] = OP0("shrink"),
    [OPS_STOP_ALLOC] = OP0("stop-alloc"),
    [OPS_RESUME_ALLOC] = OP0("resume-alloc"),
    [OPS_ITERATE] = OP0("iterate"),
    [OPS_ATTACH] = OP0("attach"),
    [OPS_DETACH] = OP1("detach", "t", 1),
    [OPS_SWITCH] = OP1("switch", "t", 1),
    [OPS_SWEEPER_TICK] = OP1("sweeper", "n", 1),
    [OPS_FAIL_NEXT] = OP1("fail-next", "n", 1),
    [OPS_VERIFY] = OP0("verify"),
    [OPS_PREEMPT] = OP3("preempt", "after", 1, "to", 1, "n", 1),
};

const ops_op_info_t *ops_op_info(unsigned opcode) {
  return opcode < OPS_OP_COUNT ? &op_table[opcode] : NULL;
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
