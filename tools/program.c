/* program.c: reading a program file of either form (program.h). */
#include "program.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char magic[] = "heapfuzz-ops";
#define MAGIC_LEN (sizeof magic - 1)

static const unsigned char bom[] = {0xef, 0xbb, 0xbf};

/* The offset of the first byte after blank and `#` comment lines. */
static size_t skip_comments(const unsigned char *p, size_t n) {
  size_t i = 0;
  for (;;) {
    while (i < n && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')))
      i++;
    if (i < n && p[i] == '#') {
      while (i < n && p[i] != '\n')
        i++;
      continue;
    }
    return i;
  }
}

bool hf_looks_like_text(const unsigned char *p, size_t n) {
  size_t i = skip_comments(p, n);
  return n - i >= MAGIC_LEN && memcmp(p + i, magic, MAGIC_LEN) == 0;
}

/* Text a person wrote, without the exact magic line: a `.ops` name, a first word that starts
 * like the magic in any case (`HEAPFUZZ-OPS`, `heapfuz-ops`), or a comment first and printable
 * ASCII throughout. A fuzzer's binary input is none of these but by a rare chance (a `#` first
 * and every byte printable); it would then be refused with the error below, never misread. */
static bool is_printable_text(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!(isprint(p[i]) || p[i] == '\n' || p[i] == '\t' || p[i] == '\r')) return false;
  return true;
}

static bool looks_like_text_without_magic(const unsigned char *p, size_t n, const char *name) {
  size_t len = strlen(name);
  if (len >= 4 && strcmp(name + len - 4, ".ops") == 0) return true;
  size_t i = skip_comments(p, n);
  if (n - i >= 4 && strncasecmp((const char *)p + i, "heap", 4) == 0) return true;
  return n > 0 && p[0] == '#' && memchr(p, '\n', n) && is_printable_text(p, n);
}

bool hf_program_from_bytes(const unsigned char *data, size_t size, const char *name,
                           ops_program_t *prog, char *err, size_t err_size) {
  if (err_size) err[0] = '\0';
  /* A byte-order mark an editor put first: the same text. */
  if (size >= sizeof bom && memcmp(data, bom, sizeof bom) == 0 &&
      hf_looks_like_text(data + sizeof bom, size - sizeof bom)) {
    data += sizeof bom;
    size -= sizeof bom;
  }
  /* The magic in another case: the same text, once the magic is lowercased (column numbers in
   * parse errors are unchanged). */
  size_t at = skip_comments(data, size);
  unsigned char *copy = NULL;
  if (!hf_looks_like_text(data, size) && size - at >= MAGIC_LEN &&
      strncasecmp((const char *)data + at, magic, MAGIC_LEN) == 0) {
    copy = malloc(size);
    if (!copy) {
      snprintf(err, err_size, "%s: out of memory", name);
      return false;
    }
    memcpy(copy, data, size);
    memcpy(copy + at, magic, MAGIC_LEN);
    data = copy;
  }
  bool ok = true;
  if (hf_looks_like_text(data, size)) {
    ok = ops_parse((const char *)data, size, name, prog, err, err_size);
    if (!ok && err_size && !err[0]) snprintf(err, err_size, "%s: parse error", name);
  } else if (looks_like_text_without_magic(data, size, name)) {
    /* Never run silently as a binary program: a typo in a seed would fuzz something else. */
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < size; i++) {
      line += data[i] == '\n';
      col = data[i] == '\n' ? 1 : col + 1;
    }
    snprintf(err, err_size,
             "%s:%zu:%zu: expected 'heapfuzz-ops 1' (the file looks like a text program; a binary "
             "program does not start with '#' or 'heap', nor is it named *.ops)",
             name, line, col);
    ok = false;
  } else {
    ops_decode(data, size, prog);
  }
  free(copy);
  return ok;
}
