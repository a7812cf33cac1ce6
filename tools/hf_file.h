/* hf_file.h: reading a whole input file, shared by the heapfuzz tool and the fuzz targets'
 * standalone replay driver. Files are read by length (binaries may hold NUL bytes) and refused,
 * not truncated, past HF_MAX_FILE. Plain C stdio only. */
#ifndef HF_FILE_H
#define HF_FILE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HF_MAX_FILE (16u * 1024 * 1024)

typedef struct hf_buf {
  unsigned char *data;
  size_t size;
} hf_buf_t;

/* Reads the whole file ("-" = stdin) into a fresh buffer. On failure returns false with buf
 * empty and *why (if why is not NULL) saying why, e.g. "No such file or directory". */
static inline bool hf_read_file_why(const char *path, hf_buf_t *buf, const char **why) {
  bool is_stdin = strcmp(path, "-") == 0;
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  const char *msg = NULL;
  int err = f ? 0 : errno;
  size_t cap = 0;
  buf->data = NULL;
  buf->size = 0;
  while (f) {
    if (buf->size == cap) {
      if (cap > HF_MAX_FILE) { /* one byte over the limit was read: too large */
        msg = "larger than 16 MiB";
        break;
      }
      size_t ncap = cap ? cap * 2 : 4096;
      if (ncap > HF_MAX_FILE + 1) ncap = HF_MAX_FILE + 1;
      unsigned char *nd = realloc(buf->data, ncap);
      if (!nd) {
        err = ENOMEM;
        break;
      }
      buf->data = nd;
      cap = ncap;
    }
    size_t n = fread(buf->data + buf->size, 1, cap - buf->size, f);
    buf->size += n;
    if (n == 0) {
      if (ferror(f)) {
        err = errno ? errno : EIO;
        break;
      }
      if (!is_stdin) fclose(f);
      return true;
    }
  }
  if (f && !is_stdin) fclose(f);
  free(buf->data);
  buf->data = NULL;
  buf->size = 0;
  if (why) *why = msg ? msg : strerror(err);
  return false;
}

/* As hf_read_file_why, printing `WHO: cannot read FILE: why` on stderr on failure. */
static inline bool hf_read_file(const char *who, const char *path, hf_buf_t *buf) {
  const char *why = NULL;
  if (hf_read_file_why(path, buf, &why)) return true;
  fprintf(stderr, "%s: cannot read %s: %s\n", who, path, why);
  return false;
}

#endif /* HF_FILE_H */
