/* text.c: the text form: ops_print and ops_parse (include/heapops.h).
 *
 * The text is line-based:
 *
 *   heapfuzz-ops 1
 *   config trigger=T full_every=F versions=V flags=X
 *   alloc h=1 size=40 slots=2 flags=0
 *   gc-full
 *
 * ops_print writes exactly that shape (decimal values, every operand in table order, single
 * spaces, a newline after every line) and shows the schedule (ops_plan) in trailing comments:
 * `# on m1` where the thread running the ops changes, `# starts m1` / `# ends m1` on attach and
 * detach, `# -> sweeper` on a preempt for the thread it hands over to, `# void` on an op the plan
 * makes void. ops_parse is more lenient: blank lines and `#`
 * comments anywhere (a `#` starts a comment wherever it appears), spaces, tabs and CRs as
 * separators, the config line optional (absent: all zero) and its keys optional, operand keys in
 * any order, each at most once, missing ones 0. Every error names the offending token as
 * `name:line:col: message` (1-based, columns in bytes).
 *
 * The input is (text, size) and need not be NUL-terminated: the parser reads only text[0, size).
 */
#include "heapops.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX_LINE  4096u /* bytes per line, without the newline */
#define TEXT_QUOTE_MAX 64    /* bytes of a token quoted in an error message */

/* The config line's keys, in print order; each value is one byte. */
static const char *const config_keys[] = {"trigger", "full_every", "versions", "flags"};
static const uint8_t config_widths[] = {1, 1, 1, 1};
#define CONFIG_KEYS (sizeof config_keys / sizeof config_keys[0])
_Static_assert(CONFIG_KEYS <= OPS_MAX_OPERANDS, "parse_operands tracks OPS_MAX_OPERANDS keys");

/* ---------------------------------------------------------------------------------------------
 * Printing
 * ------------------------------------------------------------------------------------------- */

/* The trailing comment that shows where an op runs (see the top of this file). */
static void print_schedule(const ops_plan_step_t *s, unsigned opcode, unsigned *prev_thread,
                           FILE *out) {
  /* attach and detach are the first and last op of their thread; sweeper ops run on the
   * sweeper. None of them takes over the sequence the mutator ops around them run on. */
  bool aside =
      !s->skip && (opcode == OPS_ATTACH || opcode == OPS_DETACH || s->thread == OPS_THREAD_SWEEPER);
  const char *sep = "  # ";
  if (s->skip) {
    fprintf(out, "%svoid", sep);
  } else if (opcode == OPS_ATTACH) {
    fprintf(out, "%sstarts %s", sep, ops_thread_name(s->thread));
  } else if (opcode == OPS_DETACH) {
    fprintf(out, "%sends %s", sep, ops_thread_name(s->thread));
  } else if (s->thread != *prev_thread) {
    fprintf(out, "%son %s", sep, ops_thread_name(s->thread));
    sep = ", ";
  }
  if (!s->skip && opcode == OPS_PREEMPT) fprintf(out, "%s-> %s", sep, ops_thread_name(s->target));
  if (!aside && !s->skip) *prev_thread = s->thread;
}

/* Mirrors ops_encode on a non-canonical program (opcode taken modulo OPS_OP_COUNT, one-byte
 * operands masked, count capped), so print and encode always describe the same program. */
void ops_print(const ops_program_t *p, FILE *out) {
  fprintf(out, "heapfuzz-ops %d\n", OPS_TEXT_VERSION);
  fprintf(out, "config trigger=%u full_every=%u versions=%u flags=%u\n", p->config.trigger,
          p->config.full_every, p->config.versions, p->config.flags);
  ops_plan_t *plan = malloc(sizeof *plan);
  if (plan) ops_plan(p, plan);
  unsigned prev_thread = 0;
  uint32_t n = p->count < OPS_MAX_OPS ? p->count : OPS_MAX_OPS;
  for (uint32_t k = 0; k < n; k++) {
    const ops_op_t *op = &p->ops[k];
    const ops_op_info_t *info = ops_op_info(op->opcode % OPS_OP_COUNT);
    fputs(info->name, out);
    for (unsigned i = 0; i < info->operand_count; i++) {
      unsigned v = op->operand[i];
      if (info->operand_bytes[i] == 1) v &= 0xffu;
      fprintf(out, " %s=%u", info->operand_names[i], v);
    }
    if (plan) print_schedule(&plan->steps[k], op->opcode % OPS_OP_COUNT, &prev_thread, out);
    fputc('\n', out);
  }
  free(plan);
}

/* ---------------------------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------------------------- */

typedef struct token {
  const char *s;
  size_t len;
} token_t;

typedef struct parser {
  const char *name;       /* for error messages */
  char *err;              /* may be NULL */
  size_t err_size;        /* 0: no message */
  size_t line;            /* 1-based number of the current line */
  const char *line_start; /* its first byte: columns count from here */
} parser_t;

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool token_is(token_t t, const char *word) {
  size_t n = strlen(word);
  return t.len == n && memcmp(t.s, word, n) == 0;
}

/* The next whitespace-separated token in [*cur, end), or false at the end of the line. */
static bool next_token(const char **cur, const char *end, token_t *t) {
  const char *s = *cur;
  while (s < end && is_space(*s))
    s++;
  if (s == end) {
    *cur = s;
    return false;
  }
  const char *e = s;
  while (e < end && !is_space(*e))
    e++;
  t->s = s;
  t->len = (size_t)(e - s);
  *cur = e;
  return true;
}

/* Token text for messages: at most TEXT_QUOTE_MAX bytes, then "...". */
#define QUOTE_FMT "%.*s%s"
#define QUOTE_ARG(t)                                                 \
  (int)((t).len < TEXT_QUOTE_MAX ? (t).len : TEXT_QUOTE_MAX), (t).s, \
      (t).len > TEXT_QUOTE_MAX ? "..." : ""

/* Writes `name:line:col: message` into err (truncated, NUL-terminated) and returns false. */
static bool fail(parser_t *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(parser_t *ps, const char *at, const char *fmt, ...) {
  if (ps->err == NULL || ps->err_size == 0) return false;
  size_t col = (size_t)(at - ps->line_start) + 1;
  int n = snprintf(ps->err, ps->err_size, "%s:%zu:%zu: ", ps->name, ps->line, col);
  if (n >= 0 && (size_t)n < ps->err_size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->err_size - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* Parses a decimal value into *v, or fails: digits only, then nothing but the end of the token,
 * then within 0..max. */
static bool parse_value(parser_t *ps, token_t key, token_t val, unsigned max, uint16_t *v) {
  if (val.len == 0) return fail(ps, val.s, "missing value for '" QUOTE_FMT "'", QUOTE_ARG(key));
  size_t i = 0;
  uint32_t acc = 0;
  while (i < val.len && val.s[i] >= '0' && val.s[i] <= '9') {
    acc = acc * 10 + (uint32_t)(val.s[i] - '0');
    if (acc > 0xffffffu) acc = 0xffffffu; /* saturate: any such value is out of range */
    i++;
  }
  if (i == 0) return fail(ps, val.s, "malformed number '" QUOTE_FMT "'", QUOTE_ARG(val));
  if (i < val.len) {
    token_t rest = {val.s + i, val.len - i};
    return fail(ps, rest.s, "garbage '" QUOTE_FMT "' after value", QUOTE_ARG(rest));
  }
  if (acc > max) {
    return fail(ps, val.s, "value " QUOTE_FMT " out of range for '" QUOTE_FMT "' (0..%u)",
                QUOTE_ARG(val), QUOTE_ARG(key), max);
  }
  *v = (uint16_t)acc;
  return true;
}

/* Parses the rest of a line as `key=value` pairs for the given keys (any order, each at most
 * once) into values[], which the caller zeroed. `what` names the line's kind for messages. */
static bool parse_operands(parser_t *ps, const char **cur, const char *end, const char *what,
                           unsigned nkeys, const char *const *keys, const uint8_t *widths,
                           uint16_t *values) {
  bool seen[OPS_MAX_OPERANDS] = {false};
  token_t t;
  while (next_token(cur, end, &t)) {
    const char *eq = memchr(t.s, '=', t.len);
    if (eq == NULL) return fail(ps, t.s, "expected key=value, got '" QUOTE_FMT "'", QUOTE_ARG(t));
    token_t key = {t.s, (size_t)(eq - t.s)};
    token_t val = {eq + 1, t.len - key.len - 1};
    unsigned i = 0;
    while (i < nkeys && !token_is(key, keys[i]))
      i++;
    if (i == nkeys) {
      return fail(ps, key.s, "unknown key '" QUOTE_FMT "' for %s", QUOTE_ARG(key), what);
    }
    if (seen[i]) return fail(ps, key.s, "duplicate key '%s'", keys[i]);
    seen[i] = true;
    if (!parse_value(ps, key, val, widths[i] == 2 ? 0xffffu : 0xffu, &values[i])) return false;
  }
  return true;
}

static bool parse_version(parser_t *ps, token_t first, const char *cur, const char *end) {
  static const char expected[] = "expected 'heapfuzz-ops 1'";
  if (!token_is(first, "heapfuzz-ops")) return fail(ps, first.s, "%s", expected);
  token_t t;
  const char *after_first = cur;
  if (!next_token(&cur, end, &t)) return fail(ps, after_first, "%s", expected);
  char version[8];
  snprintf(version, sizeof version, "%d", OPS_TEXT_VERSION);
  if (!token_is(t, version)) return fail(ps, t.s, "%s", expected);
  if (next_token(&cur, end, &t)) return fail(ps, t.s, "%s", expected);
  return true;
}

static bool parse_config(parser_t *ps, const char **cur, const char *end, ops_config_t *c) {
  uint16_t v[CONFIG_KEYS] = {0};
  if (!parse_operands(ps, cur, end, "config", CONFIG_KEYS, config_keys, config_widths, v)) {
    return false;
  }
  c->trigger = (uint8_t)v[0];
  c->full_every = (uint8_t)v[1];
  c->versions = (uint8_t)v[2];
  c->flags = (uint8_t)v[3];
  return true;
}

static const ops_op_info_t *find_op(token_t name, unsigned *opcode) {
  for (unsigned k = 0; k < OPS_OP_COUNT; k++) {
    const ops_op_info_t *info = ops_op_info(k);
    if (token_is(name, info->name)) {
      *opcode = k;
      return info;
    }
  }
  return NULL;
}

static bool parse_op(parser_t *ps, token_t first, const char **cur, const char *end,
                     ops_program_t *out) {
  unsigned opcode = 0;
  const ops_op_info_t *info = find_op(first, &opcode);
  if (info == NULL) return fail(ps, first.s, "unknown op '" QUOTE_FMT "'", QUOTE_ARG(first));
  if (out->count >= OPS_MAX_OPS) return fail(ps, first.s, "more than %u ops", OPS_MAX_OPS);
  ops_op_t *op = &out->ops[out->count];
  memset(op, 0, sizeof *op);
  op->opcode = (uint8_t)opcode;
  char what[48];
  snprintf(what, sizeof what, "op '%s'", info->name);
  if (!parse_operands(ps, cur, end, what, info->operand_count, info->operand_names,
                      info->operand_bytes, op->operand)) {
    return false;
  }
  out->count++;
  return true;
}

typedef enum parse_state {
  EXPECT_VERSION, /* nothing but blank and comment lines so far */
  EXPECT_CONFIG,  /* the version line seen, no op yet: a config line may come (once) */
  IN_OPS,         /* an op line seen: only ops may come */
} parse_state_t;

static bool parse_lines(parser_t *ps, const char *text, size_t size, ops_program_t *out) {
  parse_state_t state = EXPECT_VERSION;
  bool seen_config = false;
  size_t pos = 0;
  ps->line = 0;
  while (pos < size) {
    const char *ls = text + pos;
    const char *nl = memchr(ls, '\n', size - pos);
    size_t len = nl != NULL ? (size_t)(nl - ls) : size - pos;
    pos += len + (nl != NULL);
    ps->line++;
    ps->line_start = ls;

    const char *nul = memchr(ls, '\0', len < TEXT_MAX_LINE ? len : TEXT_MAX_LINE);
    if (nul != NULL) return fail(ps, nul, "NUL byte in text");
    if (len > TEXT_MAX_LINE) {
      return fail(ps, ls + TEXT_MAX_LINE, "line longer than %u bytes", TEXT_MAX_LINE);
    }
    const char *hash = memchr(ls, '#', len);
    const char *end = hash != NULL ? hash : ls + len;
    const char *cur = ls;
    token_t first;
    if (!next_token(&cur, end, &first)) continue; /* blank or comment only */

    if (state == EXPECT_VERSION) {
      if (!parse_version(ps, first, cur, end)) return false;
      state = EXPECT_CONFIG;
    } else if (token_is(first, "config")) {
      if (seen_config) return fail(ps, first.s, "duplicate config line");
      if (state == IN_OPS) return fail(ps, first.s, "config line after ops");
      if (!parse_config(ps, &cur, end, &out->config)) return false;
      seen_config = true;
    } else {
      if (!parse_op(ps, first, &cur, end, out)) return false;
      state = IN_OPS;
    }
  }
  if (state == EXPECT_VERSION) {
    /* No version line at all: point just past the text, on the last line if it lacks its
     * newline, else on the (empty) line after it. */
    if (size == 0 || text[size - 1] == '\n') {
      ps->line++;
      ps->line_start = text + size;
    }
    return fail(ps, text + size, "expected 'heapfuzz-ops 1'");
  }
  return true;
}

bool ops_parse(const char *text, size_t size, const char *name, ops_program_t *out, char *err,
               size_t err_size) {
  parser_t ps = {
      .name = name != NULL ? name : "<input>",
      .err = err,
      .err_size = err_size,
      .line = 0,
      .line_start = NULL,
  };
  memset(&out->config, 0, sizeof out->config);
  out->count = 0;
  if (err != NULL && err_size > 0) err[0] = '\0';
  if (text == NULL) { /* (NULL, 0): the empty text */
    text = "";
    size = 0;
  }
  if (parse_lines(&ps, text, size, out)) return true;
  /* A failed parse leaves an empty program, never a half-read one. */
  memset(&out->config, 0, sizeof out->config);
  out->count = 0;
  return false;
}
