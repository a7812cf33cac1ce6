/* finding.c: the finding line (finding.h). */
#include "finding.h"

void ops_record_finding(ops_run_result_t *res, uint32_t op_index, const ops_op_t *op,
                        const char *stage, const char *thread, const char *invariant,
                        const char *fmt, va_list ap) {
  char optext[128];
  snprintf(optext, sizeof optext, "%s", stage);
  if (op) ops_format_op(op, optext, sizeof optext);
  char detail[256];
  vsnprintf(detail, sizeof detail, fmt, ap);
  res->finding = true;
  res->op_index = op_index;
  snprintf(res->message, sizeof res->message, "op %u (%s) on %s: %s: %s", op_index, optext, thread,
           invariant, detail);
}
