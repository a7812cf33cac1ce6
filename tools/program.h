/* program.h: reading a program file of either form, shared by the heapfuzz commands. */
#ifndef HF_PROGRAM_H
#define HF_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "heapops.h"

/* Text if, after blank and `#` comment lines, it starts with the version keyword. */
bool hf_looks_like_text(const unsigned char *p, size_t n);

/* data[0, size) as a program: parsed when it looks like text (name goes into parse errors),
 * decoded otherwise. False, with `name:line:col: message` in err, on a malformed text. */
bool hf_program_from_bytes(const unsigned char *data, size_t size, const char *name,
                           ops_program_t *prog, char *err, size_t err_size);

#endif /* HF_PROGRAM_H */
