/* dict.h: `heapfuzz dict`, the fuzzing dictionary of fuzz_heap (dictionaries/fuzz_heap.dict),
 * generated from the op table (include/heapops.h, OPS_OP_TABLE) and the text programs in
 * dict.c, so its bytes always follow the table. */
#ifndef HF_DICT_H
#define HF_DICT_H

#include "heapops.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes the libFuzzer / AFL++ dictionary to out, or with out NULL only checks that every token
 * program of dict.c parses into what its token needs. scratch: a program to parse into. On a bad
 * token program returns false, having written `dict: <token>: <why>` into err, and writes
 * nothing: so check first (out NULL), then write. */
bool hf_dict_write(FILE *out, ops_program_t *scratch, char *err, size_t err_size);

#endif /* HF_DICT_H */
