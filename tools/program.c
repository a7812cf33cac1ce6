/* program.c: reading a program file of either form (program.h). */
#include "program.h"

#include <string.h>

bool hf_looks_like_text(const unsigned char *p, size_t n) {
  static const char magic[] = "heapfuzz-ops";
  size_t i = 0;
  for (;;) {
    while (i < n && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')))
      i++;
    if (i < n && p[i] == '#') {
      while (i < n && p[i] != '\n')
        i++;
      continue;
    }
    break;
  }
  size_t m = sizeof magic - 1;
  return n - i >= m && memcmp(p + i, magic, m) == 0;
}

bool hf_program_from_bytes(const unsigned char *data, size_t size, const char *name,
                           ops_program_t *prog, char *err, size_t err_size) {
  if (err_size) err[0] = '\0';
  if (!hf_looks_like_text(data, size)) {
    ops_decode(data, size, prog);
    return true;
  }
  if (ops_parse((const char *)data, size, name, prog, err, err_size)) return true;
  if (err_size && !err[0]) snprintf(err, err_size, "%s: parse error", name);
  return false;
}
