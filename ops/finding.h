/* finding.h: the one-line report both runners (deterministic, ops/interp.c; real threads,
 * ops/threads_oracle.c) give a finding: "op N (OPTEXT) on THREAD: INVARIANT: DETAIL". One
 * writer, since `heapfuzz signature` (tools/signature.c) parses it. */
#ifndef OPS_FINDING_H
#define OPS_FINDING_H

#include "heapops.h"

#include <stdarg.h>

/* Fills res (finding, op_index, message). op NULL: the op text is `stage` ("setup", "join"...). */
void ops_record_finding(ops_run_result_t *res, uint32_t op_index, const ops_op_t *op,
                        const char *stage, const char *thread, const char *invariant,
                        const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));

#endif /* OPS_FINDING_H */
