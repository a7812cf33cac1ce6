/* fuzz_ops_text: fuzzes the text form's parser (ops/text.c).
 *
 * Any input must be either rejected with a `name:line:col: message` error or parsed into a
 * program whose printed form parses back to the same program and prints identically: the round
 * trip regression seeds and bug reports rely on. A violation aborts (a finding). */
#include "heapops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ops_program_t first, second;

static char *print_to_memory(const ops_program_t *p, size_t *len) {
  char *buf = NULL;
  FILE *out = open_memstream(&buf, len);
  if (!out) abort();
  ops_print(p, out);
  fclose(out);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  if (!ops_parse((const char *)data, size, "input", &first, err, sizeof err)) {
    /* Rejections must say where: "input:LINE:COL: message". */
    unsigned line, col;
    if (sscanf(err, "input:%u:%u: ", &line, &col) != 2 || line == 0 || col == 0) {
      fprintf(stderr, "fuzz_ops_text: malformed error message: %s\n", err);
      abort();
    }
    return 0;
  }
  size_t len1, len2;
  char *text1 = print_to_memory(&first, &len1);
  if (!ops_parse(text1, len1, "printed", &second, err, sizeof err)) {
    fprintf(stderr, "fuzz_ops_text: printed program does not parse: %s\n", err);
    abort();
  }
  char *text2 = print_to_memory(&second, &len2);
  if (len1 != len2 || memcmp(text1, text2, len1) != 0 || first.count != second.count ||
      memcmp(&first.config, &second.config, sizeof first.config) != 0 ||
      memcmp(first.ops, second.ops, first.count * sizeof first.ops[0]) != 0) {
    fprintf(stderr, "fuzz_ops_text: print/parse round trip differs\n");
    abort();
  }
  free(text1);
  free(text2);
  return 0;
}
