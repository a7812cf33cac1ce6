/* signature.c: crash signatures from a run's output (signature.h has the rules in short).
 *
 * The text is read line by line. The first line that opens a report decides the type; the first
 * stack trace after it (lines `#0 ...`, `#1 ...`, before the next report opens) gives the frames.
 * signature_frames.c reads the frames and has the two filters: the runtime (sanitizers,
 * libFuzzer, libc, the loader) and the harness (ops/, backends/, targets/, tools/). The top 3
 * frames after both, or after the runtime filter alone when the harness filter leaves none (a bug
 * in the harness itself). A frame is its function name only, so a signature survives edits that
 * move lines. */
#include "signature.h"

#include "hf_file.h"
#include "signature_frames.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Strings
 * ------------------------------------------------------------------------------------------- */

/* type = prefix followed by s[0, n), cut to fit (a plain concatenation: gcc's truncation
 * warnings see through snprintf's sizes). */
static void set_type(char type[HF_SIG_TEXT], const char *prefix, const char *s, size_t n) {
  size_t p = strlen(prefix);
  hf_sig_copy(type, HF_SIG_TEXT, prefix, p);
  if (p < HF_SIG_TEXT) hf_sig_copy(type + p, HF_SIG_TEXT - p, s, n);
}

static bool is_word(int c) {
  return isalnum(c) || c == '_';
}

/* Copies s[0, n) replacing every number (a word that starts with a digit: 17, 0x6060000000b8,
 * 64KiB) by N. With keep_quotes, text between single quotes ('uint8_t[4]', UBSan's type names)
 * is copied as it is. */
static void normalize_numbers(const char *s, size_t n, bool keep_quotes, char *dst, size_t cap) {
  size_t o = 0;
  bool quoted = false;
  for (size_t i = 0; i < n && o + 1 < cap;) {
    unsigned char c = (unsigned char)s[i];
    if (keep_quotes && c == '\'') quoted = !quoted;
    bool word_start = i == 0 || !is_word((unsigned char)s[i - 1]);
    if (!quoted && word_start && isdigit(c)) {
      while (i < n && is_word((unsigned char)s[i]))
        i++;
      dst[o++] = 'N';
      continue;
    }
    if (!quoted && word_start && is_word(c)) { /* a word: copied whole, digits and all */
      while (i < n && is_word((unsigned char)s[i]) && o + 1 < cap)
        dst[o++] = s[i++];
      continue;
    }
    dst[o++] = (char)c;
    i++;
  }
  dst[o] = '\0';
}

/* ---------------------------------------------------------------------------------------------
 * Lines
 * ------------------------------------------------------------------------------------------- */

typedef struct lines {
  const char *text;
  size_t size, pos;
} lines_t;

/* The next line, without its newline and CR, with ANSI color sequences removed (a report copied
 * from a terminal), cut at HF_SIG_LINE_MAX-1 bytes. False at the end of the text. */
static bool next_line(lines_t *ls, char line[HF_SIG_LINE_MAX]) {
  if (ls->pos >= ls->size) return false;
  const char *s = ls->text + ls->pos;
  const char *nl = memchr(s, '\n', ls->size - ls->pos);
  size_t n = nl ? (size_t)(nl - s) : ls->size - ls->pos;
  ls->pos += n + (nl ? 1 : 0);
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < HF_SIG_LINE_MAX; i++) {
    if (s[i] == '\x1b' && i + 1 < n && s[i + 1] == '[') {
      i += 2;
      while (i < n && !isalpha((unsigned char)s[i]))
        i++;
      continue;
    }
    if (s[i] == '\0' || s[i] == '\r') continue;
    line[o++] = s[i];
  }
  line[o] = '\0';
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Report headers
 * ------------------------------------------------------------------------------------------- */

typedef enum kind {
  K_NONE,
  K_ASAN,
  K_LSAN,
  K_TSAN,
  K_TSAN_ERROR,
  K_UBSAN,
  K_UBSAN_ERROR,
  K_ORACLE,
  K_FATAL,
  K_LIBFUZZER,
  K_GDB,
  K_LIBC,
  K_ASSERT,
} kind_t;

static const struct {
  const char *marker;
  kind_t kind;
} headers[] = {
    {"heapfuzz: finding: ", K_ORACLE},
    {"ERROR: AddressSanitizer: ", K_ASAN},
    {"ERROR: LeakSanitizer: detected memory leaks", K_LSAN},
    {"WARNING: ThreadSanitizer: ", K_TSAN},
    {"ERROR: ThreadSanitizer: ", K_TSAN_ERROR},
    {"runtime error: ", K_UBSAN},
    {"ERROR: UndefinedBehaviorSanitizer: ", K_UBSAN_ERROR},
    {"heapcore: fatal: ", K_FATAL},
    {"ERROR: libFuzzer: ", K_LIBFUZZER},
    {"Program received signal ", K_GDB},        /* gdb stopped on it */
    {"Program terminated with signal ", K_GDB}, /* gdb on a core file */
};

/* glibc's fatal messages, each at the start of a line: malloc's checks (malloc_printerr), glibc's
 * own assertions, the older `*** Error in `PROG': MSG: 0xADDR ***` form; besides these, the stack
 * protector's and fortify's `*** MSG ***: terminated`. */
static const char *const libc_messages[] = {
    "free(): ",
    "malloc(): ",
    "realloc(): ",
    "calloc(): ",
    "munmap_chunk(): ",
    "mremap_chunk(): ",
    "malloc_consolidate(): ",
    "tcache_thread_shutdown(): ",
    "_int_malloc(): ",
    "_int_free(): ",
    "_int_realloc(): ",
    "_int_memalign(): ",
    "memalign(): ",
    "posix_memalign(): ",
    "aligned_alloc(): ",
    "malloc_check_get_size: ",
    "double free or corruption (",
    "corrupted size vs. prev_size",
    "corrupted double-linked list",
    "invalid fastbin entry (free)",
    "Fatal glibc error: ",
    "*** Error in `",
};

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    n--;
  return n >= k && strncmp(s + n - k, suffix, k) == 0;
}

/* The kind of report the line opens, and (rest) the text after its marker. */
static kind_t header_of(const char *line, const char **rest) {
  for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
    const char *at = strstr(line, headers[i].marker);
    if (at) {
      *rest = at + strlen(headers[i].marker);
      return headers[i].kind;
    }
  }
  /* gdb's stop in a program with threads: `Thread 2 "heapfuzz" received signal SIGSEGV, ...`. */
  const char *sig = strstr(line, " received signal ");
  if (sig && hf_sig_starts_with(line, "Thread ")) {
    *rest = sig + strlen(" received signal ");
    return K_GDB;
  }
  if (HF_IN_LIST(line, libc_messages, true) ||
      (hf_sig_starts_with(line, "*** ") && strstr(line + 4, " ***: "))) {
    *rest = line;
    return K_LIBC;
  }
  /* assert(3): `PROG: FILE:LINE: FUNC: Assertion `COND' failed.` */
  const char *cond = strstr(line, "Assertion `");
  if (cond && ends_with(line, "' failed.")) {
    *rest = cond + strlen("Assertion `");
    return K_ASSERT;
  }
  return K_NONE;
}

/* A report that is the abort of a report before it: libFuzzer's (deadly signal, timeout), a
 * sanitizer's ABRT (handle_abort=1), gdb's SIGABRT stop. */
static bool is_abort(kind_t k, const char *rest) {
  if (k == K_LIBFUZZER) return true;
  if (k == K_ASAN || k == K_TSAN_ERROR || k == K_UBSAN_ERROR)
    return hf_sig_starts_with(rest, "ABRT ");
  return k == K_GDB && hf_sig_starts_with(rest, "SIGABRT");
}

/* An ASan kind is a hyphenated name (heap-use-after-free) or a signal (SEGV). A sentence
 * ("attempting double-free", "requested allocation size ...") is named on the SUMMARY line. */
static bool asan_kind_is_name(const char *s, size_t n) {
  bool upper = n > 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '-') return true;
    if (!isupper((unsigned char)s[i])) upper = false;
  }
  return upper;
}

/* glibc's message (see libc_messages): its text, numbers as N, without the decorations. */
static void libc_type(const char *line, char type[HF_SIG_TEXT]) {
  const char *msg = line, *end = line + strlen(line);
  if (hf_sig_starts_with(line, "*** Error in `")) { /* glibc before 2.26 */
    const char *q = strstr(line, "': ");
    msg = q ? q + 3 : line;
    for (const char *a = strstr(msg, ": 0x"); a; a = strstr(a + 1, ": 0x"))
      end = a;                                   /* before the address */
  } else if (hf_sig_starts_with(line, "*** ")) { /* `*** stack smashing detected ***: terminated` */
    msg = line + 4;
    end = strstr(msg, " ***");
  } else if (hf_sig_starts_with(line, "Fatal glibc error: ")) {
    msg = line + strlen("Fatal glibc error: ");
  }
  char norm[HF_SIG_TEXT];
  normalize_numbers(msg, (size_t)(end - msg), false, norm, sizeof norm);
  hf_sig_trim_right(norm);
  set_type(type, "libc:", norm, strlen(norm));
}

/* libFuzzer's error line: timeout, out-of-memory, deadly signal (named later from the stack). */
static void libfuzzer_type(const char *rest, char type[HF_SIG_TEXT]) {
  if (hf_sig_starts_with(rest, "timeout")) {
    set_type(type, "timeout", "", 0);
  } else if (hf_sig_starts_with(rest, "out-of-memory")) {
    set_type(type, "oom", "", 0);
  } else if (hf_sig_starts_with(rest, "deadly signal")) {
    set_type(type, "signal:", "", 0);
  } else {
    char norm[HF_SIG_TEXT];
    normalize_numbers(rest, strlen(rest), false, norm, sizeof norm);
    hf_sig_trim_right(norm);
    set_type(type, "libfuzzer:", norm, strlen(norm));
  }
}

/* ---------------------------------------------------------------------------------------------
 * The parser
 * ------------------------------------------------------------------------------------------- */

uint64_t hf_fnv1a64(const void *data, size_t size) {
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

/* line = type, then `|` and each frame; id = its hash's first 12 hex digits. */
static void sign(const char *type, const char (*frames)[HF_SIG_TEXT], unsigned count,
                 char line[HF_SIG_LINE], char id[HF_SIG_ID]) {
  /* HF_SIG_LINE holds the type and every frame, each with its bar. */
  size_t n = strlen(type);
  memcpy(line, type, n);
  for (unsigned i = 0; i < count; i++) {
    size_t f = strlen(frames[i]);
    line[n++] = '|';
    memcpy(line + n, frames[i], f);
    n += f;
  }
  line[n] = '\0';
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hf_fnv1a64(line, n));
  hf_sig_copy(id, HF_SIG_ID, hex, 12);
}

/* The length of a thread name (m0..m15, sweeper, collector) and its space that open s: the
 * real-thread oracle names the mutator that owns the object (`m2 object #N`), the deterministic
 * one does not. */
static size_t owner_len(const char *s) {
  size_t n = 0;
  if (s[0] == 'm' && isdigit((unsigned char)s[1]))
    for (n = 1; isdigit((unsigned char)s[n]);)
      n++;
  else if (hf_sig_starts_with(s, "sweeper") || hf_sig_starts_with(s, "collector"))
    n = strcspn(s, " ");
  return n > 0 && s[n] == ' ' ? n + 1 : 0;
}

/* The bug signature (signature.h): the crash signature without whoever noticed the bug. */
static void bug_sign(hf_signature_t *sig) {
  char type[HF_SIG_TEXT];
  char frames[HF_SIG_FRAMES][HF_SIG_TEXT];
  unsigned count = sig->frame_count;
  memcpy(type, sig->type, sizeof type);
  memcpy(frames, sig->frames, sizeof frames);
  const char *kind = strchr(type, ':') ? strchr(type, ':') + 1 : "";
  if (hf_sig_starts_with(type, "oracle:") && count == 2) {
    /* The detail alone: not the op's mnemonic, verify's `after <when>: ` or the object's owner. */
    const char *d = sig->frames[1];
    if (strcmp(kind, "verify") == 0 && hf_sig_starts_with(d, "after ") && strstr(d, ": "))
      d = strstr(d, ": ") + 2;
    d += owner_len(d);
    hf_sig_copy(frames[0], HF_SIG_TEXT, d, strlen(d));
    count = 1;
  } else if (hf_sig_starts_with(type, "asan:") || hf_sig_starts_with(type, "tsan:") ||
             hf_sig_starts_with(type, "ubsan:")) {
    bool signal = kind[0] != '\0';
    for (const char *c = kind; *c; c++)
      signal = signal && isupper((unsigned char)*c); /* SEGV, BUS, ABRT, FPE, ILL, TRAP */
    char name[HF_SIG_TEXT];
    hf_sig_copy(name, sizeof name, kind, strlen(kind));
    bool ubsan_message = hf_sig_starts_with(type, "ubsan:") && !signal;
    if (signal)
      set_type(type, "signal:SIG", name, strlen(name));
    else if (!ubsan_message)
      set_type(type, "sanitizer:", name, strlen(name));
    if (!ubsan_message && sig->culprit_count > 0) { /* the culprit, not its callers */
      memcpy(frames, sig->culprit, sizeof sig->culprit);
      count = sig->culprit_count;
    }
  } else if (hf_sig_starts_with(type, "signal:") && sig->culprit_count > 0) {
    memcpy(frames, sig->culprit, sizeof sig->culprit);
    count = sig->culprit_count;
  } else if (hf_sig_starts_with(type, "fatal:") || hf_sig_starts_with(type, "assert:")) {
    count = 0; /* an assertion's condition is the invariant, whoever called the check */
  }
  sign(type, (const char(*)[HF_SIG_TEXT])frames, count, sig->bug_signature, sig->bug_id);
}

static void finish(hf_signature_t *sig) {
  sign(sig->type, (const char(*)[HF_SIG_TEXT])sig->frames, sig->frame_count, sig->signature,
       sig->id);
  bug_sign(sig);
}

void hf_signature_set(hf_signature_t *sig, const char *type) {
  hf_sig_copy(sig->type, sizeof sig->type, type, strlen(type));
  finish(sig);
}

void hf_signature_timed_out(hf_signature_t *sig) {
  static const char *const aborts[] = {"asan:ABRT", "tsan:ABRT", "ubsan:ABRT", "signal:SIGABRT"};
  if (sig->type[0] != '\0' && !HF_IN_LIST(sig->type, aborts, false)) return;
  if (sig->type[0] == '\0') { /* no report: hung somewhere */
    memset(sig, 0, sizeof *sig);
    sig->op = -1;
  }
  hf_signature_set(sig, "timeout");
}

/* The oracle's line: `op N (OPTEXT) on THREAD: INVARIANT: DETAIL`. */
static void parse_oracle(const char *rest, hf_signature_t *sig) {
  char norm[HF_SIG_TEXT];
  const char *open = strchr(rest, '(');
  const char *close = open ? strstr(open, ") on ") : NULL;
  const char *colon = close ? strstr(close + 5, ": ") : NULL;
  if (!hf_sig_starts_with(rest, "op ") || !close || !colon) { /* not the shape: the whole line */
    normalize_numbers(rest, strlen(rest), false, norm, sizeof norm);
    set_type(sig->type, "oracle:", norm, strlen(norm));
    return;
  }
  sig->op = strtol(rest + 3, NULL, 10);
  hf_sig_copy(sig->thread, sizeof sig->thread, close + 5, (size_t)(colon - (close + 5)));
  const char *inv = colon + 2;
  const char *inv_end = strstr(inv, ": ");
  const char *detail = inv_end ? inv_end + 2 : inv + strlen(inv);
  if (!inv_end) inv_end = detail;
  char invariant[HF_SIG_TEXT];
  hf_sig_copy(invariant, sizeof invariant, inv, (size_t)(inv_end - inv));
  set_type(sig->type, "oracle:", invariant, strlen(invariant));
  const char *optext = open + 1;
  size_t mlen = 0;
  while (optext + mlen < close && optext[mlen] != ' ')
    mlen++;
  hf_sig_copy(sig->frames[0], sizeof sig->frames[0], optext, mlen);
  normalize_numbers(detail, strlen(detail), false, sig->frames[1], sizeof sig->frames[1]);
  hf_sig_trim_right(sig->frames[1]);
  sig->frame_count = 2;
}

/* The report's first stack trace: frames until the trace ends or the next report opens. An
 * abort's report (is_abort: libFuzzer's deadly signal or timeout, a sanitizer's ABRT, gdb's
 * SIGABRT) does not end the search: it follows a report without a stack (hc_fatal's line, glibc's
 * message, assert(3)'s, a UBSan error) as the same crash's abort, and its stack is that crash's. */
static void read_stack(lines_t *ls, hf_frame_t *frames, unsigned *count, unsigned cap) {
  char line[HF_SIG_LINE_MAX];
  bool in_trace = false;
  *count = 0;
  while (next_line(ls, line)) {
    const char *rest;
    hf_frame_t f;
    bool is_frame = hf_frame_parse(line, &f);
    if (!in_trace) {
      kind_t k = header_of(line, &rest);
      if (k != K_NONE && !is_abort(k, rest)) return;
      if (!is_frame) continue;
      in_trace = true;
    } else if (!is_frame) {
      return;
    }
    if (*count < cap) frames[(*count)++] = f;
  }
}

#define MAX_STACK 64u

/* ---------------------------------------------------------------------------------------------
 * The culprit (signature.h's bug signature for sanitizer reports and signals)
 * ------------------------------------------------------------------------------------------- */

static bool in_header(const hf_frame_t *f) {
  size_t n = strlen(f->file);
  return n > 2 && strcmp(f->file + n - 2, ".h") == 0;
}

/* The function a stack's access is charged to: the first frame that is not the runtime, the
 * harness or an inline helper from a header; failing that, the first that is not the runtime or
 * the harness; then the first that is not the runtime. NULL when all are the runtime's. */
static const char *culprit_of(const hf_frame_t *stack, unsigned n) {
  const char *not_harness = NULL, *not_runtime = NULL;
  for (unsigned i = 0; i < n; i++) {
    const hf_frame_t *f = &stack[i];
    if (hf_frame_is_runtime(f)) continue;
    if (!not_runtime) not_runtime = f->func;
    if (hf_frame_is_harness(f)) continue;
    if (!not_harness) not_harness = f->func;
    if (!in_header(f)) return f->func;
  }
  return not_harness ? not_harness : not_runtime;
}

static void set_culprit(hf_signature_t *sig, unsigned i, const char *func) {
  hf_sig_copy(sig->culprit[i], HF_SIG_TEXT, func, strlen(func));
  sig->culprit_count = i + 1;
}

static bool starts_with_nocase(const char *s, const char *prefix) {
  for (; *prefix; s++, prefix++)
    if (tolower((unsigned char)*s) != *prefix) return false;
  return true;
}

/* One side of a TSan data race: `  [Previous ][atomic ]read|write of size N at ADDR by THREAD[
 * (mutexes: write M0, ...)]:` and the stack under it. */
typedef struct race_access {
  bool locked, atomic, write;
  char func[HF_SIG_TEXT];
} race_access_t;

static bool parse_race_access(const char *line, race_access_t *a) {
  const char *s = line + strspn(line, " ");
  if (s == line) return false;
  if (hf_sig_starts_with(s, "Previous ")) s += strlen("Previous ");
  a->atomic = starts_with_nocase(s, "atomic ");
  if (a->atomic) s += strlen("atomic ");
  a->write = starts_with_nocase(s, "write of size ");
  if (!a->write && !starts_with_nocase(s, "read of size ")) return false;
  a->locked = strstr(s, " (mutexes: ") != NULL;
  return true;
}

/* A data race's culprit, from its two accesses (the lines after the report's header, ls): the side
 * that broke the rule (signature.h), or both functions sorted when neither did. Left unset when
 * the report does not show both sides. */
static void race_culprit(lines_t ls, hf_frame_t *stack, hf_signature_t *sig) {
  race_access_t side[2];
  unsigned sides = 0;
  char line[HF_SIG_LINE_MAX];
  const char *rest;
  while (sides < 2 && next_line(&ls, line) && header_of(line, &rest) == K_NONE) {
    if (!parse_race_access(line, &side[sides])) continue;
    unsigned n = 0;
    read_stack(&ls, stack, &n, MAX_STACK);
    const char *func = culprit_of(stack, n);
    if (!func) return;
    hf_sig_copy(side[sides].func, HF_SIG_TEXT, func, strlen(func));
    sides++;
  }
  if (sides < 2) return;
  int pick = -1; /* the side that broke the rule */
  if (side[0].locked != side[1].locked)
    pick = side[0].locked ? 1 : 0;
  else if (side[0].atomic != side[1].atomic)
    pick = side[0].atomic ? 1 : 0;
  else if (side[0].write != side[1].write)
    pick = side[0].write ? 0 : 1;
  int cmp = strcmp(side[0].func, side[1].func);
  if (pick < 0 && cmp == 0) pick = 0;
  if (pick >= 0) {
    set_culprit(sig, 0, side[pick].func);
  } else {
    set_culprit(sig, 0, side[cmp < 0 ? 0 : 1].func);
    set_culprit(sig, 1, side[cmp < 0 ? 1 : 0].func);
  }
}

bool hf_signature_parse(const char *text, size_t size, hf_signature_t *sig) {
  memset(sig, 0, sizeof *sig);
  sig->op = -1;
  lines_t ls = {text, size, 0};
  char line[HF_SIG_LINE_MAX];
  const char *rest = NULL;
  kind_t kind = K_NONE;
  while (kind == K_NONE && next_line(&ls, line))
    kind = header_of(line, &rest);
  if (kind == K_NONE) return false;

  char norm[HF_SIG_TEXT];
  size_t tok = hf_sig_token_len(rest);
  switch (kind) {
    case K_ASAN:
      if (!asan_kind_is_name(rest, tok)) { /* the SUMMARY line names it */
        lines_t ahead = ls;
        char l2[HF_SIG_LINE_MAX];
        const char *summary = NULL;
        while (!summary && next_line(&ahead, l2))
          if ((summary = strstr(l2, "SUMMARY: AddressSanitizer: ")))
            summary += strlen("SUMMARY: AddressSanitizer: ");
        if (summary) {
          set_type(sig->type, "asan:", summary, hf_sig_token_len(summary));
          break;
        }
      }
      set_type(sig->type, "asan:", rest, tok);
      break;
    case K_LSAN:
      set_type(sig->type, "lsan:leak", "", 0);
      break;
    case K_TSAN: {
      const char *pid = strstr(rest, " (pid=");
      size_t n = pid ? (size_t)(pid - rest) : strlen(rest);
      normalize_numbers(rest, n, false, norm, sizeof norm);
      hf_sig_trim_right(norm);
      set_type(sig->type, "tsan:", norm, strlen(norm));
      break;
    }
    case K_TSAN_ERROR:
      set_type(sig->type, "tsan:", rest, tok);
      break;
    case K_UBSAN:
      normalize_numbers(rest, strlen(rest), true, norm, sizeof norm);
      hf_sig_trim_right(norm);
      set_type(sig->type, "ubsan:", norm, strlen(norm));
      break;
    case K_UBSAN_ERROR:
      set_type(sig->type, "ubsan:", rest, tok);
      break;
    case K_FATAL: { /* `FILE:LINE: MESSAGE`: the message alone (lines move) */
      const char *msg = strstr(rest, ": ");
      msg = msg ? msg + 2 : rest;
      normalize_numbers(msg, strlen(msg), false, norm, sizeof norm);
      hf_sig_trim_right(norm);
      set_type(sig->type, "fatal:", norm, strlen(norm));
      break;
    }
    case K_LIBFUZZER:
      libfuzzer_type(rest, sig->type);
      break;
    case K_GDB: /* `SIGSEGV, Segmentation fault.` */
      set_type(sig->type, "signal:", rest, strcspn(rest, ", "));
      break;
    case K_LIBC:
      libc_type(rest, sig->type);
      break;
    case K_ASSERT: { /* `COND' failed.`: COND, numbers as N (as the heap's own assertions) */
      size_t n = strlen(rest);
      while (n > 0 && isspace((unsigned char)rest[n - 1]))
        n--;
      normalize_numbers(rest, n - strlen("' failed."), false, norm, sizeof norm);
      set_type(sig->type, "assert:", norm, strlen(norm));
      break;
    }
    case K_ORACLE:
      parse_oracle(rest, sig);
      finish(sig);
      return true;
    case K_NONE:
      break;
  }

  hf_frame_t *stack = malloc(MAX_STACK * sizeof *stack);
  if (!stack) abort();
  if (hf_sig_starts_with(sig->type, "tsan:data race")) race_culprit(ls, stack, sig);
  unsigned n = 0;
  read_stack(&ls, stack, &n, MAX_STACK);
  if (strcmp(sig->type, "signal:") == 0) { /* libFuzzer does not name the signal */
    bool aborted = false;
    for (unsigned i = 0; i < n; i++)
      aborted = aborted || strcmp(stack[i].func, "abort") == 0;
    const char *name = aborted ? "SIGABRT" : "unknown";
    set_type(sig->type, "signal:", name, strlen(name));
  }
  bool charged = hf_sig_starts_with(sig->type, "asan:") || hf_sig_starts_with(sig->type, "tsan:") ||
                 hf_sig_starts_with(sig->type, "signal:") ||
                 hf_sig_starts_with(sig->type, "ubsan:");
  if (charged && sig->culprit_count == 0 && !hf_sig_starts_with(sig->type, "tsan:data race")) {
    const char *func = culprit_of(stack, n);
    if (func) set_culprit(sig, 0, func);
  }
  for (int pass = 0; pass < 2 && sig->frame_count == 0; pass++) {
    for (unsigned i = 0; i < n && sig->frame_count < HF_SIG_FRAMES; i++) {
      if (hf_frame_is_runtime(&stack[i]) || (pass == 0 && hf_frame_is_harness(&stack[i]))) continue;
      hf_sig_copy(sig->frames[sig->frame_count++], HF_SIG_TEXT, stack[i].func,
                  strlen(stack[i].func));
    }
  }
  free(stack);
  finish(sig);
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Output and the command
 * ------------------------------------------------------------------------------------------- */

static void json_string(const char *s, FILE *out) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20)
      fprintf(out, "\\u%04x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

void hf_signature_print_json(const hf_signature_t *sig, bool bug, FILE *out) {
  fputs("{\"id\": ", out);
  json_string(sig->id, out);
  fputs(", \"signature\": ", out);
  json_string(sig->signature, out);
  fputs(", \"type\": ", out);
  json_string(sig->type, out);
  fputs(", \"frames\": [", out);
  for (unsigned i = 0; i < sig->frame_count; i++) {
    if (i) fputs(", ", out);
    json_string(sig->frames[i], out);
  }
  fputs("], \"op\": ", out);
  if (sig->op >= 0)
    fprintf(out, "%ld", sig->op);
  else
    fputs("null", out);
  fputs(", \"thread\": ", out);
  if (sig->thread[0])
    json_string(sig->thread, out);
  else
    fputs("null", out);
  if (bug) {
    fputs(", \"bug_id\": ", out);
    json_string(sig->bug_id, out);
    fputs(", \"bug_signature\": ", out);
    json_string(sig->bug_signature, out);
  }
  fputs("}\n", out);
}

#define SIGNATURE_USAGE "usage: heapfuzz signature [--json] [--bug] [--timed-out] REPORT_FILE...\n"

int hf_cmd_signature(int argc, char **argv) {
  bool json = false, bug = false, timed_out = false;
  int i = 0;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (strcmp(a, "--bug") == 0) {
      bug = true;
    } else if (strcmp(a, "--timed-out") == 0) {
      timed_out = true;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(
          SIGNATURE_USAGE
          "Prints `<id> <signature>` for the first crash report in each file (see\n"
          "`heapfuzz --help`). --timed-out: the run was stopped at its time limit (a replay\n"
          "sent SIGABRT): its abort report, or no report at all, signs as `timeout` with the\n"
          "frames where it hung, as libFuzzer's timeout report does. --bug: print the bug\n"
          "signature instead, `<bug_id> <bug_signature>` (one bug, whichever op, oracle pass\n"
          "or sanitizer noticed it; see tools/signature.h); with --json, add both to the object.\n"
          "Exit status: 0 crash found, 1 no crash, 2 usage or I/O error.\n",
          stdout);
      return 0;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "heapfuzz: signature: unknown option %s\n" SIGNATURE_USAGE, a);
      return 2;
    } else {
      break;
    }
  }
  if (i == argc) {
    fputs("heapfuzz: signature: no REPORT_FILE given\n" SIGNATURE_USAGE, stderr);
    return 2;
  }
  int status = 0;
  for (; i < argc; i++) {
    hf_buf_t buf;
    const char *why = NULL;
    if (!hf_read_file_why(argv[i], &buf, &why)) {
      fprintf(stderr, "%s: %s\n", argv[i], why);
      status = 2;
      continue;
    }
    hf_signature_t sig;
    bool crash = hf_signature_parse((const char *)buf.data, buf.size, &sig);
    free(buf.data);
    if (timed_out) {
      hf_signature_timed_out(&sig);
      crash = true;
    }
    if (!crash) {
      fprintf(stderr, "%s: no crash report\n", argv[i]);
      if (status == 0) status = 1;
      continue;
    }
    if (json)
      hf_signature_print_json(&sig, bug, stdout);
    else if (bug)
      printf("%s %s\n", sig.bug_id, sig.bug_signature);
    else
      printf("%s %s\n", sig.id, sig.signature);
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "heapfuzz: signature: cannot write <stdout>\n");
    return 2;
  }
  return status;
}
