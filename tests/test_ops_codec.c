/* test_ops_codec.c: the op language's binary and text forms (ops/codec.c, ops/text.c).
 *
 * Round trips over random canonical programs, totality of ops_decode over random bytes and of
 * ops_parse over mutated texts, the exact print format, and the exact parse error messages.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include "heapops.h"
#include "check.h"
#include "hc_testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ops_program_t prog_a, prog_b, prog_c;

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

typedef struct buf {
  char *data;
  size_t size;
} buf_t;

static buf_t print_text(const ops_program_t *p) {
  buf_t b = {NULL, 0};
  FILE *f = open_memstream(&b.data, &b.size);
  CHECK(f != NULL);
  ops_print(p, f);
  CHECK(fclose(f) == 0);
  return b;
}

static buf_t encode_bytes(const ops_program_t *p) {
  size_t n = ops_encode(p, NULL, 0);
  buf_t b = {malloc(n), n};
  CHECK(b.data != NULL);
  CHECK_EQ_U64(ops_encode(p, (uint8_t *)b.data, n), n);
  return b;
}

static bool same_bytes(buf_t a, buf_t b) {
  return a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
}

/* Field by field: ops_op_t has a padding byte. */
static void check_same_program(const ops_program_t *a, const ops_program_t *b) {
  CHECK_EQ_U64(a->config.trigger, b->config.trigger);
  CHECK_EQ_U64(a->config.full_every, b->config.full_every);
  CHECK_EQ_U64(a->config.versions, b->config.versions);
  CHECK_EQ_U64(a->config.flags, b->config.flags);
  CHECK_EQ_U64(a->count, b->count);
  for (uint32_t k = 0; k < a->count; k++) {
    CHECK_EQ_U64(a->ops[k].opcode, b->ops[k].opcode);
    for (unsigned i = 0; i < OPS_MAX_OPERANDS; i++)
      CHECK_EQ_U64(a->ops[k].operand[i], b->ops[k].operand[i]);
  }
}

/* Canonical: every opcode valid, every operand within its width, unused operands zero. */
static void check_canonical(const ops_program_t *p) {
  CHECK(p->count <= OPS_MAX_OPS);
  for (uint32_t k = 0; k < p->count; k++) {
    const ops_op_info_t *info = ops_op_info(p->ops[k].opcode);
    CHECK(info != NULL);
    for (unsigned i = 0; i < OPS_MAX_OPERANDS; i++) {
      unsigned max = i >= info->operand_count ? 0 : info->operand_bytes[i] == 2 ? 0xffff : 0xff;
      CHECK(p->ops[k].operand[i] <= max);
    }
  }
}

static void random_program(uint64_t *rng, uint32_t max_ops, ops_program_t *p) {
  memset(p, 0, sizeof *p);
  uint64_t c = rng_next(rng);
  p->config = (ops_config_t){(uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24)};
  p->count = (uint32_t)rng_range(rng, 0, max_ops);
  for (uint32_t k = 0; k < p->count; k++) {
    ops_op_t *op = &p->ops[k];
    op->opcode = (uint8_t)rng_below(rng, OPS_OP_COUNT);
    const ops_op_info_t *info = ops_op_info(op->opcode);
    for (unsigned i = 0; i < info->operand_count; i++) {
      uint64_t r = rng_next(rng);
      /* Mostly full-range values, sometimes the edges. */
      uint16_t v = (uint16_t)(r & 3) == 0 ? 0 : (r & 3) == 1 ? 0xffff : (uint16_t)(r >> 16);
      op->operand[i] = info->operand_bytes[i] == 2 ? v : (uint16_t)(v & 0xff);
    }
  }
}

/* ops_parse on an exact-size heap copy, so ASan catches any read past the end. */
static bool parse_exact(const char *text, size_t size, ops_program_t *out, char *err,
                        size_t err_size) {
  char *copy = malloc(size > 0 ? size : 1);
  CHECK(copy != NULL);
  if (size > 0) memcpy(copy, text, size);
  bool ok = ops_parse(copy, size, "t.ops", out, err, err_size);
  free(copy);
  return ok;
}

/* Parses text (which must succeed) and prints it again: the canonical form. */
static void check_parses_to(const char *text, size_t size, const char *canonical) {
  char err[256] = "";
  if (!parse_exact(text, size, &prog_a, err, sizeof err)) {
    fprintf(stderr, "unexpected parse error: %s\n", err);
    CHECK(!"parse failed");
  }
  CHECK_EQ_U64(err[0], 0);
  check_canonical(&prog_a);
  buf_t out = print_text(&prog_a);
  if (strcmp(out.data, canonical) != 0) {
    fprintf(stderr, "printed:\n%s---\nexpected:\n%s---\n", out.data, canonical);
    CHECK(!"canonical text differs");
  }
  free(out.data);
}

static void check_parse_error(const char *text, size_t size, const char *expected) {
  char err[256] = "";
  prog_a.count = 77;
  if (parse_exact(text, size, &prog_a, err, sizeof err)) {
    fprintf(stderr, "parsed, expected error: %s\n", expected);
    CHECK(!"parse succeeded");
  }
  if (strcmp(err, expected) != 0) {
    fprintf(stderr, "error:    %s\nexpected: %s\n", err, expected);
    CHECK(!"wrong error message");
  }
  CHECK_EQ_U64(prog_a.count, 0); /* a failed parse leaves an empty program */
}

/* ---------------------------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------------------------- */

static void check_round_trips(const ops_program_t *p) {
  /* Binary: encode -> decode is the identity; encode(decode(encode(p))) is byte-identical. */
  buf_t bin = encode_bytes(p);
  ops_decode((const uint8_t *)bin.data, bin.size, &prog_b);
  check_same_program(p, &prog_b);
  buf_t bin2 = encode_bytes(&prog_b);
  CHECK(same_bytes(bin, bin2));

  /* Text: print -> parse is the identity; print(parse(print(p))) is byte-identical. */
  buf_t txt = print_text(p);
  char err[256] = "";
  if (!parse_exact(txt.data, txt.size, &prog_c, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    CHECK(!"printed program does not parse");
  }
  check_same_program(p, &prog_c);
  buf_t txt2 = print_text(&prog_c);
  CHECK(same_bytes(txt, txt2));
  free(bin.data);
  free(bin2.data);
  free(txt.data);
  free(txt2.data);
}

static void test_round_trip_random(void) {
  uint64_t rng = 0x6f70732d636f6465u;
  for (int n = 0; n < 2000; n++) {
    random_program(&rng, 300, &prog_a);
    check_round_trips(&prog_a);
  }
  /* A few full-length programs. */
  for (int n = 0; n < 4; n++) {
    random_program(&rng, OPS_MAX_OPS, &prog_a);
    prog_a.count = OPS_MAX_OPS - (uint32_t)n;
    check_round_trips(&prog_a);
  }
}

static void test_encode_capacity(void) {
  uint64_t rng = 42;
  random_program(&rng, 50, &prog_a);
  size_t n = ops_encode(&prog_a, NULL, 0);
  uint8_t *full = malloc(n), *part = malloc(n + 1);
  CHECK(full != NULL && part != NULL);
  CHECK_EQ_U64(ops_encode(&prog_a, full, n), n);
  memset(part, 0xee, n + 1);
  CHECK_EQ_U64(ops_encode(&prog_a, part, n / 2), n); /* the bytes needed, writing only n / 2 */
  CHECK(memcmp(part, full, n / 2) == 0);
  for (size_t i = n / 2; i <= n; i++)
    CHECK_EQ_U64(part[i], 0xee);
  free(full);
  free(part);
}

/* ---------------------------------------------------------------------------------------------
 * Totality of decoding
 * ------------------------------------------------------------------------------------------- */

static void test_decode_total(void) {
  uint64_t rng = 7;
  uint8_t *bytes = malloc(2000);
  CHECK(bytes != NULL);
  for (int n = 0; n < 20000; n++) {
    size_t len = rng_range(&rng, 0, 2000);
    for (size_t i = 0; i < len; i++)
      bytes[i] = (uint8_t)rng_next(&rng);
    ops_decode(bytes, len, &prog_a);
    check_canonical(&prog_a);
    if (n % 8 == 0) check_round_trips(&prog_a); /* every decoded program is canonical */
  }
  free(bytes);
}

static void test_decode_truncated(void) {
  /* Config complete, then an alloc cut after its size's low byte: the rest reads as zero. */
  const uint8_t cut[] = {1, 2, 3, 4, OPS_OP_COUNT + OPS_ALLOC, 7, 0x34};
  ops_decode(cut, sizeof cut, &prog_a);
  CHECK_EQ_U64(prog_a.config.trigger, 1);
  CHECK_EQ_U64(prog_a.config.flags, 4);
  CHECK_EQ_U64(prog_a.count, 1);
  CHECK_EQ_U64(prog_a.ops[0].opcode, OPS_ALLOC); /* opcode byte modulo OPS_OP_COUNT */
  CHECK_EQ_U64(prog_a.ops[0].operand[0], 7);
  CHECK_EQ_U64(prog_a.ops[0].operand[1], 0x34);
  CHECK_EQ_U64(prog_a.ops[0].operand[2], 0);
  CHECK_EQ_U64(prog_a.ops[0].operand[3], 0);
  buf_t txt = print_text(&prog_a);
  CHECK(strcmp(txt.data, "heapfuzz-ops 1\nconfig trigger=1 full_every=2 versions=3 flags=4\n"
                         "alloc h=7 size=52 slots=0 flags=0\n") == 0);
  free(txt.data);

  /* A truncated config, and the empty input. */
  const uint8_t short_cfg[] = {9, 8};
  ops_decode(short_cfg, sizeof short_cfg, &prog_a);
  CHECK_EQ_U64(prog_a.config.trigger, 9);
  CHECK_EQ_U64(prog_a.config.full_every, 8);
  CHECK_EQ_U64(prog_a.config.versions, 0);
  CHECK_EQ_U64(prog_a.config.flags, 0);
  CHECK_EQ_U64(prog_a.count, 0);
  ops_decode(NULL, 0, &prog_a);
  CHECK_EQ_U64(prog_a.count, 0);
  CHECK_EQ_U64(prog_a.config.trigger, 0);
}

static void test_decode_cut_at_max(void) {
  size_t len = OPS_CONFIG_BYTES + OPS_MAX_OPS + 100;
  uint8_t *bytes = calloc(len, 1);
  CHECK(bytes != NULL);
  memset(bytes + OPS_CONFIG_BYTES, OPS_GC_FULL, len - OPS_CONFIG_BYTES);
  ops_decode(bytes, len, &prog_a);
  CHECK_EQ_U64(prog_a.count, OPS_MAX_OPS);
  CHECK_EQ_U64(prog_a.ops[OPS_MAX_OPS - 1].opcode, OPS_GC_FULL);
  CHECK_EQ_U64(ops_encode(&prog_a, NULL, 0), OPS_CONFIG_BYTES + OPS_MAX_OPS);
  free(bytes);
}

/* ---------------------------------------------------------------------------------------------
 * The text form
 * ------------------------------------------------------------------------------------------- */

static void test_print_format(void) {
  memset(&prog_a, 0, sizeof prog_a);
  prog_a.config = (ops_config_t){1, 2, 3, 255};
  prog_a.ops[0] = (ops_op_t){OPS_ALLOC, {1, 513, 2, 1}};
  prog_a.ops[1] = (ops_op_t){OPS_GC_FULL, {0}};
  prog_a.ops[2] = (ops_op_t){OPS_WEAK_GET, {3, 4}};
  prog_a.ops[3] = (ops_op_t){OPS_FAIL_NEXT, {255}};
  prog_a.count = 4;
  buf_t t = print_text(&prog_a);
  CHECK(strcmp(t.data, "heapfuzz-ops 1\n"
                       "config trigger=1 full_every=2 versions=3 flags=255\n"
                       "alloc h=1 size=513 slots=2 flags=1\n"
                       "gc-full\n"
                       "deref dst=3 w=4\n"
                       "fail-next n=255\n") == 0);
  free(t.data);

  /* A non-canonical program prints what it encodes to. */
  prog_a.ops[1] = (ops_op_t){OPS_OP_COUNT + OPS_CHECK, {0x1ff, 9}};
  t = print_text(&prog_a);
  CHECK_STR_CONTAINS(t.data, "\ncheck h=255\n");
  buf_t bin = encode_bytes(&prog_a);
  ops_decode((const uint8_t *)bin.data, bin.size, &prog_b);
  buf_t t2 = print_text(&prog_b);
  CHECK(same_bytes(t, t2));
  free(t.data);
  free(t2.data);
  free(bin.data);
}

#define T(s) s, sizeof(s) - 1

static void test_parse_accepts(void) {
  check_parses_to(T("# header\n\nheapfuzz-ops 1   # version\n# between\n"
                    "config versions=7 # the rest is zero\n\n"
                    "  alloc  flags=1 h=3\tsize=300 # any order\n"
                    "gc-full#tight\r\ncheck h=0\n# no newline at the end"),
                  "heapfuzz-ops 1\nconfig trigger=0 full_every=0 versions=7 flags=0\n"
                  "alloc h=3 size=300 slots=0 flags=1\ngc-full\ncheck h=0\n");
  check_parses_to(T("heapfuzz-ops 1"),
                  "heapfuzz-ops 1\nconfig trigger=0 full_every=0 versions=0 flags=0\n");
  check_parses_to(T("heapfuzz-ops\t1\r\nconfig\nalloc\nstore v=255 h=007\nalloc size=65535\n"),
                  "heapfuzz-ops 1\nconfig trigger=0 full_every=0 versions=0 flags=0\n"
                  "alloc h=0 size=0 slots=0 flags=0\nstore h=7 slot=0 v=255\n"
                  "alloc h=0 size=65535 slots=0 flags=0\n");
  check_parses_to(T("heapfuzz-ops 1\nconfig flags=3 trigger=1 versions=255 full_every=2\n"
                    "sweep n=4"),
                  "heapfuzz-ops 1\nconfig trigger=1 full_every=2 versions=255 flags=3\n"
                  "sweep n=4\n");

  /* A line of exactly the bound is fine. */
  size_t len = 15 + 4096 + 1;
  char *text = malloc(len);
  CHECK(text != NULL);
  memcpy(text, "heapfuzz-ops 1\n", 15);
  memset(text + 15, ' ', 4096);
  memcpy(text + 15 + 4096 - 6, "verify\n", 7);
  check_parses_to(text, len,
                  "heapfuzz-ops 1\nconfig trigger=0 full_every=0 versions=0 flags=0\nverify\n");
  free(text);
}

static void test_parse_errors(void) {
  static const struct {
    const char *text;
    size_t size;
    const char *expected;
  } cases[] = {
      /* The version line. */
      {T(""), "t.ops:1:1: expected 'heapfuzz-ops 1'"},
      {T("# only a comment\n\n"), "t.ops:3:1: expected 'heapfuzz-ops 1'"},
      {T("# no newline"), "t.ops:1:13: expected 'heapfuzz-ops 1'"},
      {T("heapfuzz-ops 2\n"), "t.ops:1:14: expected 'heapfuzz-ops 1'"},
      {T("heapfuzz-ops\n"), "t.ops:1:13: expected 'heapfuzz-ops 1'"},
      {T("heapfuzz-ops 1 extra\n"), "t.ops:1:16: expected 'heapfuzz-ops 1'"},
      {T("\n  HEAPFUZZ-OPS 1\n"), "t.ops:2:3: expected 'heapfuzz-ops 1'"},
      {T("alloc h=1\n"), "t.ops:1:1: expected 'heapfuzz-ops 1'"},
      {T("config trigger=1\nheapfuzz-ops 1\n"), "t.ops:1:1: expected 'heapfuzz-ops 1'"},
      /* Unknown ops and keys. */
      {T("heapfuzz-ops 1\nconfig\nallocc h=1\n"), "t.ops:3:1: unknown op 'allocc'"},
      {T("heapfuzz-ops 1\n\tcheck\th=1 # ok\n  bogus\n"), "t.ops:3:3: unknown op 'bogus'"},
      {T("heapfuzz-ops 1\r\ncheck h=1\r\nbogus\r\n"), "t.ops:3:1: unknown op 'bogus'"},
      {T("heapfuzz-ops 1\nh=1\n"), "t.ops:2:1: unknown op 'h=1'"},
      {T("heapfuzz-ops 1\nalloc h=1 sise=3\n"), "t.ops:2:11: unknown key 'sise' for op 'alloc'"},
      {T("heapfuzz-ops 1\ngc-full h=1\n"), "t.ops:2:9: unknown key 'h' for op 'gc-full'"},
      {T("heapfuzz-ops 1\ncheck =1\n"), "t.ops:2:7: unknown key '' for op 'check'"},
      {T("heapfuzz-ops 1\nconfig trigger=1 speed=2\n"),
       "t.ops:2:18: unknown key 'speed' for config"},
      {T("heapfuzz-ops 1\nalloc h=1 7\n"), "t.ops:2:11: expected key=value, got '7'"},
      {T("heapfuzz-ops 1\ngc-full now\n"), "t.ops:2:9: expected key=value, got 'now'"},
      /* Duplicate keys. */
      {T("heapfuzz-ops 1\nstore h=1 v=2 h=3\n"), "t.ops:2:15: duplicate key 'h'"},
      {T("heapfuzz-ops 1\nconfig flags=1 flags=1\n"), "t.ops:2:16: duplicate key 'flags'"},
      /* Values. */
      {T("heapfuzz-ops 1\ncheck h=x\n"), "t.ops:2:9: malformed number 'x'"},
      {T("heapfuzz-ops 1\ncheck h=-1\n"), "t.ops:2:9: malformed number '-1'"},
      {T("heapfuzz-ops 1\ncheck h=\n"), "t.ops:2:9: missing value for 'h'"},
      {T("heapfuzz-ops 1\ncheck h=12abc\n"), "t.ops:2:11: garbage 'abc' after value"},
      {T("heapfuzz-ops 1\ncheck h=0x10\n"), "t.ops:2:10: garbage 'x10' after value"},
      {T("heapfuzz-ops 1\nstore h=1,slot=2\n"), "t.ops:2:10: garbage ',slot=2' after value"},
      {T("heapfuzz-ops 1\ncheck h=1=2\n"), "t.ops:2:10: garbage '=2' after value"},
      {T("heapfuzz-ops 1\ncheck h=256\n"), "t.ops:2:9: value 256 out of range for 'h' (0..255)"},
      {T("heapfuzz-ops 1\nalloc size=65536\n"),
       "t.ops:2:12: value 65536 out of range for 'size' (0..65535)"},
      {T("heapfuzz-ops 1\nalloc size=99999999999999999999999\n"),
       "t.ops:2:12: value 99999999999999999999999 out of range for 'size' (0..65535)"},
      {T("heapfuzz-ops 1\nconfig trigger=300\n"),
       "t.ops:2:16: value 300 out of range for 'trigger' (0..255)"},
      /* The config line's place. */
      {T("heapfuzz-ops 1\nverify\nconfig trigger=1\n"), "t.ops:3:1: config line after ops"},
      {T("heapfuzz-ops 1\nconfig\n# c\nconfig\n"), "t.ops:4:1: duplicate config line"},
      /* NUL bytes, also inside comments. */
      {T("heapfuzz-ops 1\nche\0ck h=1\n"), "t.ops:2:4: NUL byte in text"},
      {T("heapfuzz-ops 1 # a\0b\n"), "t.ops:1:19: NUL byte in text"},
      {T("\0"), "t.ops:1:1: NUL byte in text"},
      /* Long tokens are quoted in part. */
      {T("heapfuzz-ops 1\n"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "\n"),
       "t.ops:2:1: unknown op "
       "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_parse_error(cases[i].text, cases[i].size, cases[i].expected);
}

static void test_parse_limits(void) {
  /* A line one byte over the bound (before any NUL further on). */
  size_t len = 15 + 4097 + 2;
  char *text = malloc(len);
  CHECK(text != NULL);
  memcpy(text, "heapfuzz-ops 1\n", 15);
  memset(text + 15, ' ', 4097);
  memcpy(text + 15 + 4097, "\0\n", 2);
  check_parse_error(text, len, "t.ops:2:4097: line longer than 4096 bytes");
  free(text);

  /* OPS_MAX_OPS ops parse; one more does not. */
  size_t cap = 15 + 7 * (OPS_MAX_OPS + 1);
  text = malloc(cap);
  CHECK(text != NULL);
  memcpy(text, "heapfuzz-ops 1\n", 15);
  for (size_t k = 0; k <= OPS_MAX_OPS; k++)
    memcpy(text + 15 + 7 * k, "verify\n", 7);
  CHECK(parse_exact(text, cap - 7, &prog_a, NULL, 0));
  CHECK_EQ_U64(prog_a.count, OPS_MAX_OPS);
  check_parse_error(text, cap, "t.ops:4098:1: more than 4096 ops");
  free(text);

  /* Messages are truncated to err_size and always terminated; no err at all is fine. */
  const char bad[] = "heapfuzz-ops 1\nbogus\n";
  char err[8];
  memset(err, 'x', sizeof err);
  CHECK(!ops_parse(bad, sizeof bad - 1, "t.ops", &prog_a, err, sizeof err));
  CHECK(strcmp(err, "t.ops:2") == 0);
  CHECK(!ops_parse(bad, sizeof bad - 1, "t.ops", &prog_a, NULL, 0));
  char err2[64];
  CHECK(!ops_parse(bad, sizeof bad - 1, NULL, &prog_a, err2, sizeof err2));
  CHECK(strcmp(err2, "<input>:2:1: unknown op 'bogus'") == 0);
  CHECK(!ops_parse(NULL, 0, "t.ops", &prog_a, err2, sizeof err2));
  CHECK(strcmp(err2, "t.ops:1:1: expected 'heapfuzz-ops 1'") == 0);
}

/* Mutated texts: the parser never crashes or over-reads, and whatever parses is canonical and
 * round-trips through print. */
static void test_parse_total(void) {
  static const char alphabet[] = " \t\n\r#=0123456789az-\0";
  uint64_t rng = 99;
  char err[128];
  int parsed = 0;
  for (int n = 0; n < 3000; n++) {
    random_program(&rng, 20, &prog_b);
    buf_t t = print_text(&prog_b);
    size_t edits = rng_range(&rng, 1, 4);
    for (size_t e = 0; e < edits && t.size > 0; e++) {
      size_t at = rng_below(&rng, t.size);
      switch (rng_below(&rng, 3)) {
        case 0:
          t.data[at] = alphabet[rng_below(&rng, sizeof alphabet - 1)];
          break;
        case 1:
          t.data[at] = (char)rng_next(&rng);
          break;
        default:
          t.size = at;
          break; /* truncate */
      }
    }
    if (parse_exact(t.data, t.size, &prog_a, err, sizeof err)) {
      parsed++;
      check_canonical(&prog_a);
      check_round_trips(&prog_a);
    } else {
      CHECK_STR_CONTAINS(err, "t.ops:");
    }
    free(t.data);
  }
  CHECK(parsed > 0);
}

int main(void) {
  RUN_TEST(test_round_trip_random);
  RUN_TEST(test_encode_capacity);
  RUN_TEST(test_decode_total);
  RUN_TEST(test_decode_truncated);
  RUN_TEST(test_decode_cut_at_max);
  RUN_TEST(test_print_format);
  RUN_TEST(test_parse_accepts);
  RUN_TEST(test_parse_errors);
  RUN_TEST(test_parse_limits);
  RUN_TEST(test_parse_total);
  return 0;
}
