/* signature_frames.c: stack frames of crash reports (signature_frames.h).
 *
 * The frame formats of the sanitizers and of gdb's backtrace are read:
 *   ASan, LSan, UBSan, libFuzzer:  #1 0x5623c1353c16 in FUNC FILE:LINE:COL      (or (MODULE+0xOFF))
 *   TSan:                          #1 FUNC FILE:LINE:COL (MODULE+0xOFF)
 *   gdb:                           #1  0x000055555555a1b2 in FUNC (ARGS) at FILE:LINE
 *                                  #1  FUNC (ARGS) at FILE:LINE    (frame 0, an inlined frame)
 *                                  #1  0x00007ffff7e0a456 in FUNC (ARGS) from MODULE
 *                                  #1  0x00007ffff7e0a456 in ?? ()  (no name: like ASan's <null>)
 * the sanitizers' possibly followed by ` (BuildId: ...)`. gdb's FUNC ends at the first ` (` outside
 * <...> and (...) (C++ names, templates); its ARGS may hold anything, parentheses and ` at ` in
 * quoted strings included, so the tail is looked for after their closing parenthesis. A frame
 * named in angle brackets (`<signal handler called>`, `<null>`) has no name.
 *
 * Frame filtering, in two steps:
 *   1. runtime: a frame without a function name; the sanitizer runtimes (`__asan`, `__tsan`,
 *      `__ubsan`, `__lsan`, `__msan`, `__hwasan`, `__sanitizer`, `__interceptor`,
 *      `___interceptor` prefixes, a file under compiler-rt, and, without a file, the allocation,
 *      string, memory and pthread functions the statically linked runtimes intercept: `free`,
 *      `calloc`, `memcmp`, `bcmp`, `strlen`, `pthread_mutex_lock`, ..., and the interceptors'
 *      sanitizer_common helpers: any name with `Interceptor` in it, such as
 *      `MemcmpInterceptorCommon(...)`, `StrstrCheck`, `printf_common`);
 * libFuzzer (`fuzzer::`, and `main` without a file: libFuzzer's, linked without line information);
 * libc, libstdc++ and the dynamic loader (their module, glibc's relative source paths such as
 *      `./stdlib/abort.c` or `../sysdeps/...`, and the libc entry points and signal frames:
 *      `abort`, `raise`, `__libc_*`, `__GI_*`, `__pthread_*`, `start_thread`, `clone`, `_start`);
 *   2. harness: a frame whose file is under ops/, backends/ (the heap adapters), targets/ or tools/
 * (any directory of that name in the path), or LLVMFuzzer* without a file. */
#include "signature_frames.h"

#include <ctype.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Strings
 * ------------------------------------------------------------------------------------------- */

void hf_sig_copy(char *dst, size_t cap, const char *s, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

bool hf_sig_starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

void hf_sig_trim_right(char *s) {
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
}

size_t hf_sig_token_len(const char *s) {
  size_t n = 0;
  while (s[n] && !isspace((unsigned char)s[n]))
    n++;
  return n;
}

bool hf_sig_in_list(const char *s, const char *const *list, size_t n, bool prefix) {
  for (size_t i = 0; i < n; i++)
    if (prefix ? hf_sig_starts_with(s, list[i]) : strcmp(s, list[i]) == 0) return true;
  return false;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------------------------- */

/* Whether s[0, n) is a sanitizer's module in parentheses: MODULE+0xOFF or <unknown module>. */
static bool is_module_offset(const char *s, size_t n) {
  if (n == strlen("<unknown module>") && strncmp(s, "<unknown module>", n) == 0) return true;
  size_t i = n;
  while (i > 0 && isxdigit((unsigned char)s[i - 1]))
    i--;
  return i < n && i >= 3 && strncmp(s + i - 3, "+0x", 3) == 0;
}

/* gdb's frame, s after `#N  ` and `0xPC in `: `FUNC (ARGS)`, then ` at FILE:LINE`, ` from MODULE`
 * or nothing. False when s is not of that shape (a sanitizer's frame). */
static bool parse_gdb(const char *s, hf_frame_t *f) {
  size_t i = 0;
  int angle = 0, paren = 0;
  for (; s[i] && !(s[i] == ' ' && s[i + 1] == '(' && angle == 0 && paren == 0); i++) {
    if (s[i] == '<') angle++;
    if (s[i] == '>' && angle > 0) angle--;
    if (s[i] == '(') paren++;
    if (s[i] == ')' && paren > 0) paren--;
  }
  if (!s[i] || i == 0 || s[0] == '(') return false; /* `(MODULE+0xOFF)`: a sanitizer's */
  const char *args = s + i + 1, *close = NULL;
  char quote = 0;
  int depth = 0;
  for (const char *p = args; *p && !close; p++) {
    if (quote) {
      if (*p == '\\' && p[1])
        p++;
      else if (*p == quote)
        quote = 0;
    } else if (*p == '"' || *p == '\'') {
      quote = *p;
    } else if (*p == '(') {
      depth++;
    } else if (*p == ')' && --depth == 0) {
      close = p;
    }
  }
  if (!close) return false;
  const char *tail = close + 1;
  if (hf_sig_starts_with(tail, " at ")) {
    const char *file = tail + 4, *colon = strrchr(file, ':');
    size_t n = colon && isdigit((unsigned char)colon[1]) ? (size_t)(colon - file) : strlen(file);
    hf_sig_copy(f->file, sizeof f->file, file, n);
    hf_sig_trim_right(f->file);
  } else if (hf_sig_starts_with(tail, " from ")) {
    hf_sig_copy(f->module, sizeof f->module, tail + 6, strlen(tail + 6));
    hf_sig_trim_right(f->module);
  } else if (tail[strspn(tail, " \t")] != '\0' ||
             is_module_offset(args + 1, (size_t)(close - args - 1))) {
    memset(f, 0, sizeof *f);
    return false;
  }
  if (strncmp(s, "??", i) != 0) hf_sig_copy(f->func, sizeof f->func, s, i);
  return true;
}

bool hf_frame_parse(const char *line, hf_frame_t *f) {
  memset(f, 0, sizeof *f);
  const char *s = line;
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s != '#' || !isdigit((unsigned char)s[1])) return false;
  s++;
  while (isdigit((unsigned char)*s))
    s++;
  if (*s != ' ') return false;
  while (*s == ' ')
    s++;
  if (s[0] == '0' && s[1] == 'x') { /* ASan style: the pc, then `in FUNC` unless unknown */
    s += hf_sig_token_len(s);
    while (*s == ' ')
      s++;
    if (hf_sig_starts_with(s, "in ")) s += 3;
  }
  char rest[HF_SIG_LINE_MAX];
  hf_sig_copy(rest, sizeof rest, s, strlen(s));
  hf_sig_trim_right(rest);
  char *bid = strstr(rest, " (BuildId:");
  if (bid) *bid = '\0';
  hf_sig_trim_right(rest);
  if (parse_gdb(rest, f)) return true;
  /* A trailing (MODULE+0xOFF). */
  size_t n = strlen(rest);
  if (n > 0 && rest[n - 1] == ')') {
    char *open = strrchr(rest, '(');
    if (open && strstr(open, "+0x")) {
      hf_sig_copy(f->module, sizeof f->module, open + 1, strlen(open + 1) - 1);
      *open = '\0';
      hf_sig_trim_right(rest);
    }
  }
  /* A trailing location: FILE:LINE[:COL], <null>, or a path. */
  char *sp = strrchr(rest, ' ');
  if (sp) {
    const char *loc = sp + 1;
    const char *colon = strchr(loc, ':');
    bool is_loc =
        strcmp(loc, "<null>") == 0 || loc[0] == '/' || (colon && isdigit((unsigned char)colon[1]));
    if (is_loc) {
      size_t flen = colon && loc[0] != '<' ? (size_t)(colon - loc) : strlen(loc);
      if (strcmp(loc, "<null>") != 0) hf_sig_copy(f->file, sizeof f->file, loc, flen);
      *sp = '\0';
      hf_sig_trim_right(rest);
    }
  }
  size_t len = strlen(rest);
  if (len > 0 && !(rest[0] == '<' && rest[len - 1] == '>'))
    hf_sig_copy(f->func, sizeof f->func, rest, len);
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Filters
 * ------------------------------------------------------------------------------------------- */

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

bool hf_frame_is_runtime(const hf_frame_t *f) {
  static const char *const func_prefixes[] = {
      "__asan",   "__tsan",      "__ubsan",       "__lsan",         "__msan",
      "__hwasan", "__sanitizer", "__interceptor", "___interceptor", "fuzzer::",
      "__libc_",  "__GI_",       "__pthread_",
  };
  static const char *const libc_funcs[] = {
      "abort",  "raise",   "gsignal",  "start_thread", "clone",         "clone3",
      "_start", "__clone", "__clone3", "__restore_rt", "__assert_fail", "__assert_fail_base",
  };
  /* Interposed by the sanitizer runtimes, which are linked into the binary without line
   * information: the allocation functions and the string and memory functions they check. */
  static const char *const interposed[] = {
      "malloc",        "calloc",      "realloc", "reallocarray", "free",    "posix_memalign",
      "aligned_alloc", "memalign",    "valloc",  "pvalloc",      "strdup",  "strndup",
      "memcpy",        "memmove",     "memset",  "memcmp",       "bcmp",    "memchr",
      "memrchr",       "memmem",      "strlen",  "strnlen",      "strcmp",  "strncmp",
      "strcasecmp",    "strncasecmp", "strchr",  "strchrnul",    "strrchr", "strstr",
      "strcasestr",    "strcpy",      "strncpy", "stpcpy",       "strcat",  "strncat",
      "strspn",        "strcspn",     "strpbrk", "wcslen",       "wcsnlen",
  };
  /* sanitizer_common's helpers behind those interceptors (global names, not in a __sanitizer
   * namespace): MemcmpInterceptorCommon(...), StrstrCheck(...), printf_common(...). */
  static const char *const interceptor_helpers[] = {
      "StrstrCheck",
      "printf_common",
      "scanf_common",
  };
  static const char *const libc_modules[] = {
      "libc.so", "libc-", "ld-linux", "ld-",     "libpthread", "libstdc++", "libgcc_s",
      "libm.so", "libdl", "librt",    "libasan", "libtsan",    "libubsan",  "liblsan",
  };
  if (f->func[0] == '\0') return true;
  if (HF_IN_LIST(f->func, func_prefixes, true) || HF_IN_LIST(f->func, libc_funcs, false))
    return true;
  if (f->file[0] == '\0') {
    /* The name alone, without a C++ parameter list or a `.part.N` clone suffix. */
    char name[HF_SIG_TEXT];
    hf_sig_copy(name, sizeof name, f->func, strcspn(f->func, "(."));
    if (HF_IN_LIST(name, interposed, false) || hf_sig_starts_with(name, "pthread_") ||
        strstr(name, "Interceptor") || HF_IN_LIST(name, interceptor_helpers, false))
      return true;
  }
  if (f->file[0] == '\0' && strcmp(f->func, "main") == 0) return true; /* libFuzzer's */
  if (strstr(f->file, "compiler-rt/") || strstr(f->file, "/sanitizer_common/")) return true;
  if (hf_sig_starts_with(f->file, "./") || hf_sig_starts_with(f->file, "../") ||
      strstr(f->file, "sysdeps/"))
    return true; /* glibc's own sources, as its debug information names them */
  if (f->module[0] && HF_IN_LIST(base_name(f->module), libc_modules, true)) return true;
  return false;
}

bool hf_frame_is_harness(const hf_frame_t *f) {
  static const char *const dirs[] = {"ops/", "backends/", "targets/", "tools/"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    if (hf_sig_starts_with(f->file, dirs[i])) return true;
    char inner[16];
    snprintf(inner, sizeof inner, "/%s", dirs[i]);
    if (strstr(f->file, inner)) return true;
  }
  return f->file[0] == '\0' && hf_sig_starts_with(f->func, "LLVMFuzzer");
}
