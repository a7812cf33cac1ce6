/* dict.c: `heapfuzz dict`: the libFuzzer / AFL++ dictionary of fuzz_heap, generated (dict.h).
 *
 * Nothing here spells an opcode byte. The dictionary has
 *   - a header listing every op as mnemonic=opcode, from the op table (include/heapops.h);
 *   - one token per op, in table order: op_<mnemonic, '-' as '_'>, the opcode byte and the
 *     table's operand bytes, all zero;
 *   - the tokens below (`tokens`): each a small program in the text form, parsed by ops_parse
 *     and encoded by ops_encode; a config token is the 4 config bytes of its config line, an op
 *     token the bytes of its ops (without the config bytes).
 * So adding an op to the table, or changing an operand's width, needs no edit here: regenerate
 * dictionaries/fuzz_heap.dict (`heapfuzz dict -o dictionaries/fuzz_heap.dict`; ctest
 * dictionary_current fails until it is). A token program that no longer parses (a renamed op or
 * key) makes `heapfuzz dict` fail, naming the token. */
#include "dict.h"

#include <stdlib.h>
#include <string.h>

#define DICT_WIDTH     92u  /* columns of the generated opcode list */
#define DICT_MAX_TOKEN 128u /* bytes of a token (AFL++ takes at most 128) */

typedef enum dict_kind {
  DICT_SECTION, /* a comment paragraph after a blank line */
  DICT_NOTE,    /* a comment paragraph right above the next token */
  DICT_CONFIG,  /* a token: the config bytes of `config <text>` */
  DICT_OPS,     /* a token: the bytes of the ops of <text> (one per line) */
} dict_kind_t;

typedef struct dict_entry {
  dict_kind_t kind;
  const char *name; /* the token's name (NULL for comments) */
  const char *text; /* comment lines, or the token's program (without its version line) */
} dict_entry_t;

#define SECTION(text) \
  { DICT_SECTION, NULL, text }
#define NOTE(text) \
  { DICT_NOTE, NULL, text }
#define CONFIG(name, text) \
  { DICT_CONFIG, name, "config " text }
#define OPS(name, text) \
  { DICT_OPS, name, text }

/* The interesting tokens, after the one-per-op tokens: config prefixes, operand values at the
 * edges the heap cares about, and short sequences of ops. */
static const dict_entry_t tokens[] = {
    SECTION("Config prefixes (trigger, full_every, versions, flags): collection pressure, version "
            "wrap,\nscribble and release of empty blocks."),
    CONFIG("config_plain", "trigger=0 full_every=0 versions=253 flags=0"),
    CONFIG("config_pressure", "trigger=1 full_every=2 versions=253 flags=0"),
    CONFIG("config_pressure_eden", "trigger=2 full_every=5 versions=253 flags=0"),
    CONFIG("config_wrap", "trigger=0 full_every=0 versions=0 flags=0"),
    CONFIG("config_wrap_pressure", "trigger=1 full_every=3 versions=1 flags=0"),
    CONFIG("config_release", "trigger=0 full_every=0 versions=253 flags=2"),
    CONFIG("config_scribble_release", "trigger=3 full_every=2 versions=6 flags=3"),

    SECTION("alloc h size(u16) slots flags: every size-class edge, large objects, finalizable."),
    OPS("alloc_8", "alloc h=0 size=8 slots=0 flags=0"),
    OPS("alloc_16", "alloc h=0 size=16 slots=1 flags=0"),
    OPS("alloc_17", "alloc h=0 size=17 slots=1 flags=0"),
    OPS("alloc_32", "alloc h=0 size=32 slots=1 flags=0"),
    OPS("alloc_48", "alloc h=0 size=48 slots=1 flags=0"),
    OPS("alloc_64", "alloc h=0 size=64 slots=1 flags=0"),
    OPS("alloc_80", "alloc h=0 size=80 slots=1 flags=0"),
    OPS("alloc_81", "alloc h=0 size=81 slots=1 flags=0"),
    OPS("alloc_112", "alloc h=0 size=112 slots=1 flags=0"),
    OPS("alloc_113", "alloc h=0 size=113 slots=1 flags=0"),
    OPS("alloc_160", "alloc h=0 size=160 slots=1 flags=0"),
    OPS("alloc_224", "alloc h=0 size=224 slots=1 flags=0"),
    OPS("alloc_320", "alloc h=0 size=320 slots=1 flags=0"),
    OPS("alloc_448", "alloc h=0 size=448 slots=1 flags=0"),
    OPS("alloc_640", "alloc h=0 size=640 slots=1 flags=0"),
    OPS("alloc_944", "alloc h=0 size=944 slots=1 flags=0"),
    OPS("alloc_1328", "alloc h=0 size=1328 slots=1 flags=0"),
    OPS("alloc_2000", "alloc h=0 size=2000 slots=1 flags=0"),
    OPS("alloc_3216", "alloc h=0 size=3216 slots=1 flags=0"),
    OPS("alloc_5360", "alloc h=0 size=5360 slots=1 flags=0"),
    OPS("alloc_8048", "alloc h=0 size=8048 slots=1 flags=0"),
    OPS("alloc_8049", "alloc h=0 size=8049 slots=1 flags=0"),
    OPS("alloc_16384", "alloc h=0 size=16384 slots=1 flags=0"),
    OPS("alloc_32768", "alloc h=0 size=32768 slots=1 flags=0"),
    OPS("alloc_65535", "alloc h=0 size=65535 slots=1 flags=0"),
    OPS("alloc_holder_32_slots", "alloc h=0 size=264 slots=32 flags=0"),
    OPS("alloc_finalizable", "alloc h=1 size=48 slots=0 flags=1"),
    OPS("alloc_large_finalizable", "alloc h=2 size=20000 slots=0 flags=1"),

    SECTION("Graph edits and reads (h, slot, v / dst)."),
    OPS("store_1_0_0", "store h=1 slot=0 v=0"),
    OPS("store_0_0_1", "store h=0 slot=0 v=1"),
    OPS("clear_0_0", "clear h=0 slot=0"),
    OPS("load_2_0_0", "load dst=2 h=0 slot=0"),
    OPS("load_walk_2_2_0", "load dst=2 h=2 slot=0"),
    OPS("write_0", "write h=0 seed=7"),
    OPS("check_0", "check h=0"),
    OPS("root_0", "root h=0"),
    OPS("root_1", "root h=1"),
    OPS("unroot_0", "unroot h=0"),
    OPS("drop_1", "drop h=1"),
    OPS("weak_0_1", "weak w=0 h=1"),
    OPS("deref_3_0", "deref dst=3 w=0"),

    SECTION("Collector, sweeper and allocator state."),
    OPS("gc_full", "gc-full"),
    OPS("gc_eden", "gc-eden"),
    OPS("sweep_1", "sweep n=0"),
    OPS("sweep_16", "sweep n=15"),
    OPS("sweep_all", "sweep-all"),
    OPS("shrink", "shrink"),
    OPS("stop_alloc", "stop-alloc"),
    OPS("resume_alloc", "resume-alloc"),
    OPS("iterate", "iterate"),
    OPS("sweeper_1", "sweeper n=0"),
    OPS("sweeper_16", "sweeper n=15"),
    OPS("fail_next_1", "fail-next n=0"),
    OPS("fail_next_3", "fail-next n=2"),
    OPS("verify", "verify"),

    SECTION("Mutators."),
    OPS("attach", "attach"),
    OPS("detach_1", "detach t=1"),
    OPS("switch_0", "switch t=0"),
    OPS("switch_1", "switch t=1"),

    SECTION("Short sequences: the stop / collect / shrink / resume window, root-then-alloc, aging "
            "a\nholder before storing a young object into it."),
    OPS("window_stop_gc_shrink_resume", "stop-alloc\ngc-full\nshrink\nresume-alloc"),
    OPS("window_stop_gc_sweeper_resume", "stop-alloc\ngc-full\nsweeper n=15\nresume-alloc"),
    OPS("window_stop_eden_sweep_resume", "stop-alloc\ngc-eden\nsweep n=15\nresume-alloc"),
    OPS("root_then_alloc", "root h=0\nalloc h=0 size=64 slots=4 flags=0"),
    OPS("alloc_store_drop_eden",
        "alloc h=1 size=48 slots=1 flags=0\nstore h=0 slot=0 v=1\ndrop h=1\ngc-eden"),
    OPS("attach_switch", "attach\nswitch t=1"),

    SECTION("Change points (preempt after to n): at the running thread's next yield points, hand "
            "the CPU\nto another thread. With one mutator attached, to=1 is the sweeper and to=2 "
            "the collector; with\ntwo, to=1 is the other mutator, 2 the sweeper, 3 the "
            "collector."),
    OPS("preempt_next_1", "preempt after=0 to=1 n=0"),
    OPS("preempt_next_2", "preempt after=0 to=2 n=1"),
    OPS("preempt_next_3", "preempt after=0 to=3 n=1"),
    OPS("preempt_second_1", "preempt after=1 to=1 n=3"),
    OPS("preempt_third_2", "preempt after=2 to=2 n=0"),
    NOTE("stop-alloc cut by the collector (one mutator), then the sweeper's turn, then resume."),
    OPS("window_preempt_collector_stop_sweeper_resume",
        "preempt after=0 to=2 n=1\nstop-alloc\nsweeper n=15\nresume-alloc"),
};
#define TOKENS (sizeof tokens / sizeof tokens[0])

static const char header[] =
    "fuzz_heap.dict: libFuzzer / AFL++ dictionary for the fuzz_heap target (binary op programs,\n"
    "include/heapops.h). Tokens are whole ops (opcode byte, then its operands, sizes "
    "little-endian)\n"
    "and config prefixes, so a mutation that inserts one inserts a well-formed op.\n"
    "Generated by `heapfuzz dict` (tools/dict.c) from the op table and the text programs in\n"
    "tools/dict.c; do not edit. Regenerate: `heapfuzz dict -o dictionaries/fuzz_heap.dict`.";

static const char op_section[] =
    "Every op (op_<mnemonic>), in opcode order: the opcode byte, then its operand bytes, zero.";

/* Writes each line of text as a `# ` comment line. */
static void put_comment(FILE *out, const char *text) {
  while (*text) {
    const char *nl = strchr(text, '\n');
    size_t len = nl ? (size_t)(nl - text) : strlen(text);
    fprintf(out, "# %.*s\n", (int)len, text);
    text += len + (nl != NULL);
  }
}

/* `name="\xNN..."`: every byte escaped. */
static void put_token(FILE *out, const char *prefix, const char *name, const uint8_t *bytes,
                      size_t n) {
  fprintf(out, "%s", prefix);
  for (const char *c = name; *c; c++)
    fputc(*c == '-' ? '_' : *c, out);
  fputs("=\"", out);
  for (size_t i = 0; i < n; i++)
    fprintf(out, "\\x%02x", bytes[i]);
  fputs("\"\n", out);
}

/* The opcode list of the header (`Opcodes: alloc=0 store=1 ...`), wrapped at DICT_WIDTH. */
static void put_opcodes(FILE *out) {
  size_t col = (size_t)fprintf(out, "# Opcodes:");
  for (unsigned k = 0; k < OPS_OP_COUNT; k++) {
    char item[64];
    int n = snprintf(item, sizeof item, " %s=%u", ops_op_info(k)->name, k);
    size_t len = n > 0 ? (size_t)n : 0;
    if (col + len > DICT_WIDTH) {
      fputs("\n#", out);
      col = 1;
    }
    fputs(item, out);
    col += len;
  }
  fputc('\n', out);
}

/* Parses a token's program and encodes its bytes into buf[0, *n). */
static bool token_bytes(const dict_entry_t *e, ops_program_t *scratch, uint8_t *buf, size_t *n,
                        char *err, size_t err_size) {
  char text[1024];
  int len = snprintf(text, sizeof text, "heapfuzz-ops %d\n%s\n", OPS_TEXT_VERSION, e->text);
  if (len < 0 || (size_t)len >= sizeof text) {
    snprintf(err, err_size, "dict: token %s: program too long", e->name);
    return false;
  }
  char name[128], why[256];
  snprintf(name, sizeof name, "token %s", e->name);
  if (!ops_parse(text, (size_t)len, name, scratch, why, sizeof why)) {
    snprintf(err, err_size, "dict: %s (the token's text starts on line 2)", why);
    return false;
  }
  if (e->kind == DICT_CONFIG ? scratch->count != 0 : scratch->count == 0) {
    snprintf(err, err_size, "dict: token %s: %s", e->name,
             e->kind == DICT_CONFIG ? "a config token has no op" : "an op token needs an op");
    return false;
  }
  uint8_t all[OPS_CONFIG_BYTES + DICT_MAX_TOKEN];
  size_t total = ops_encode(scratch, all, sizeof all);
  size_t from = e->kind == DICT_CONFIG ? 0 : OPS_CONFIG_BYTES;
  size_t to = e->kind == DICT_CONFIG ? OPS_CONFIG_BYTES : total;
  if (total > sizeof all || to - from > DICT_MAX_TOKEN) {
    snprintf(err, err_size, "dict: token %s: longer than %u bytes", e->name, DICT_MAX_TOKEN);
    return false;
  }
  memcpy(buf, all + from, to - from);
  *n = to - from;
  return true;
}

/* Every token's bytes, or false with err set. Token names must be unique: the op_ names and
 * those of `tokens`. */
static bool check_tokens(ops_program_t *scratch, char *err, size_t err_size) {
  for (size_t i = 0; i < TOKENS; i++) {
    const dict_entry_t *e = &tokens[i];
    if (e->kind != DICT_CONFIG && e->kind != DICT_OPS) continue;
    uint8_t buf[DICT_MAX_TOKEN];
    size_t n;
    if (!token_bytes(e, scratch, buf, &n, err, err_size)) return false;
    bool dup = strncmp(e->name, "op_", 3) == 0;
    for (size_t j = 0; j < i && !dup; j++)
      dup = tokens[j].name && strcmp(tokens[j].name, e->name) == 0;
    if (dup) {
      snprintf(err, err_size, "dict: token %s: name taken (op_ names are the ops')", e->name);
      return false;
    }
  }
  return true;
}

/* Some named op token has exactly these bytes. */
static bool named_token_equals(const uint8_t *bytes, size_t size) {
  ops_program_t *copy = malloc(sizeof *copy); /* token_bytes parses into its scratch */
  if (!copy) abort();
  bool found = false;
  for (size_t i = 0; i < TOKENS && !found; i++) {
    if (tokens[i].kind != DICT_OPS) continue;
    uint8_t buf[DICT_MAX_TOKEN];
    size_t n;
    char err[8];
    found = token_bytes(&tokens[i], copy, buf, &n, err, sizeof err) && n == size &&
            memcmp(buf, bytes, n) == 0;
  }
  free(copy);
  return found;
}

bool hf_dict_write(FILE *out, ops_program_t *scratch, char *err, size_t err_size) {
  if (err_size) err[0] = '\0';
  if (!check_tokens(scratch, err, err_size)) return false;
  if (!out) return true;

  put_comment(out, header);
  put_opcodes(out);

  fputc('\n', out);
  put_comment(out, op_section);
  for (unsigned k = 0; k < OPS_OP_COUNT; k++) {
    memset(&scratch->config, 0, sizeof scratch->config);
    scratch->count = 1;
    scratch->ops[0] = (ops_op_t){.opcode = (uint8_t)k};
    uint8_t all[OPS_CONFIG_BYTES + 1 + 2 * OPS_MAX_OPERANDS];
    size_t n = ops_encode(scratch, all, sizeof all);
    /* An op a named token below already spells with zero operands gets no second copy: libFuzzer
     * would pick it twice as often. */
    if (!named_token_equals(all + OPS_CONFIG_BYTES, n - OPS_CONFIG_BYTES))
      put_token(out, "op_", ops_op_info(k)->name, all + OPS_CONFIG_BYTES, n - OPS_CONFIG_BYTES);
  }

  for (size_t i = 0; i < TOKENS; i++) {
    const dict_entry_t *e = &tokens[i];
    if (e->kind == DICT_SECTION) fputc('\n', out);
    if (e->kind == DICT_SECTION || e->kind == DICT_NOTE) {
      put_comment(out, e->text);
      continue;
    }
    uint8_t buf[DICT_MAX_TOKEN];
    size_t n = 0;
    token_bytes(e, scratch, buf, &n, err, err_size); /* checked above */
    put_token(out, "", e->name, buf, n);
  }
  return true;
}
