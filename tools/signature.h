/* signature.h: crash signatures (ClusterFuzz's "crash state"): the type of the first report in a
 * crashing run's output and the top 3 frames of its first stack trace, without sanitizer, libc
 * and harness frames. Two crashes with the same signature are one finding. `heapfuzz signature`
 * prints them; `heapfuzz minimize` keeps a program's signature identical while it shrinks it.
 *
 * The rules (the campaign's shared contract; signature.c has the details):
 *   type       asan:<kind>, lsan:leak, tsan:<kind>, ubsan:<message, numbers as N>,
 *              oracle:<invariant>, fatal:<message, numbers as N>, timeout, oom,
 *              signal:<name> (libFuzzer's deadly signal; gdb's `Program received signal
 *              SIGSEGV, ...`, as triage re-runs a replay that died of a bare signal),
 *              libc:<glibc's fatal message, numbers as N> (`free(): double free detected in
 *              tcache N`, `stack smashing detected`, ...), assert:<assert(3)'s condition,
 *              numbers as N>, libfuzzer:<error> (the first of these the text holds); the
 *              abort of a run stopped at its time limit is a `timeout` too (--timed-out);
 *   frames     function names of the top 3 frames of the report's first stack trace (a
 *              sanitizer's, libFuzzer's, gdb's backtrace), dropping the sanitizer runtimes, libc,
 *              libFuzzer and the harness (files under ops/, backends/, targets/, tools/); if that
 * leaves none, the top 3 without the harness rule. A report without a stack (the heap's fatal
 * error, glibc's message, assert(3)'s) takes that of the abort that follows. An oracle finding's
 * frames are the op's mnemonic and its detail with numbers as N; signature  type, then `|` and each
 * frame (just the type when there is no frame); id         the first 12 hex digits of the
 * signature's 64-bit FNV-1a hash.
 *
 * The bug signature names the bug rather than whoever noticed it (`heapfuzz signature --bug`):
 *   oracle     oracle:<invariant>|<detail>: no op, and the detail without verify's
 *              `after <when>: ` (a shrink, a collection, a sweep, a verify op, an op, the final
 *              full collection) and without the owning thread (`m2 object #N`) the real-thread
 *              oracle names; so a broken heap invariant is one bug whichever op or pass found it;
 *   sanitizer  the type without the sanitizer's name: a signal is signal:SIG<name> whoever
 *              caught it (asan:SEGV, tsan:SEGV, ubsan:SEGV, gdb's and libFuzzer's signal:SIGSEGV),
 *              and ASan's and TSan's kinds, which they share, read sanitizer:<kind> (one use
 *              after free, one bug, from the ASan and the TSan build); then the culprit alone,
 *              not the callers that led there (one stale pointer read by hc_is_live_object,
 *              hc_load_checked and hc_store_checked is one bug in the lookup they share):
 *              - memory errors and signals: the top frame left by the filters that is not an
 *                inline helper from a header (bitvec.h's hc_bit_set: its caller made the
 *                access);
 *              - a data race: the side that broke the rule, whichever access TSan caught
 *                second: the one that held no lock against one that held a lock; else the
 *                plain access against an atomic one; else the write against a read; else both
 *                functions, sorted (an unlocked write in finish_sweep races with every locked
 *                reader of its word, and is one bug: `sanitizer:data race|finish_sweep`);
 *   assertion  fatal:<message> and assert:<condition> without frames: the condition is the
 *              invariant, whichever path reached the check;
 *   otherwise  the signature (timeout, oom, lsan:, ubsan:<message>, libc:);
 *   bug id     12 hex digits of the bug signature's FNV-1a hash, as the id. */
#ifndef HF_SIGNATURE_H
#define HF_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HF_SIG_FRAMES 3u
#define HF_SIG_TEXT   256u /* bytes of the type and of each frame, NUL included (cut beyond) */
#define HF_SIG_LINE   (HF_SIG_TEXT * (HF_SIG_FRAMES + 1u) + 8u)
#define HF_SIG_ID     13u /* 12 hex digits and the NUL */

typedef struct hf_signature {
  char type[HF_SIG_TEXT];
  char frames[HF_SIG_FRAMES][HF_SIG_TEXT];
  unsigned frame_count;
  char signature[HF_SIG_LINE];
  char id[HF_SIG_ID];
  long op;                  /* oracle finding: the op's index; -1 otherwise */
  char thread[HF_SIG_TEXT]; /* oracle finding: the thread it names; "" otherwise */
  /* A sanitizer report's or a signal's culprit (signature.c): the function that made the bad
   * access, or a race's two when neither side is the one that broke the rule; set by the
   * parser, 0 when not found (the bug signature then keeps the crash frames). */
  char culprit[2][HF_SIG_TEXT];
  unsigned culprit_count;
  char bug_signature[HF_SIG_LINE]; /* the bug signature (above), derived with signature */
  char bug_id[HF_SIG_ID];
} hf_signature_t;

/* Parses a run's output, text[0, size) (need not be NUL-terminated). Returns true and fills out
 * when the text holds a crash report, false (out cleared) when it does not. */
bool hf_signature_parse(const char *text, size_t size, hf_signature_t *out);

/* For a run stopped because it ran over its time limit (triage and repro send a replay SIGABRT at
 * their --timeout, and the sanitizer, with handle_abort=1, prints the stack where it hung): the
 * abort's report (type `asan:ABRT`, `tsan:ABRT`, `ubsan:ABRT` or `signal:SIGABRT`) becomes type
 * `timeout`, its frames kept, so that the hang signs as libFuzzer's own timeout report of it
 * does. A text without a report (sig as hf_signature_parse left it on false) becomes `timeout`
 * without frames; any other report (a crash printed before the stop) is left as it is. */
void hf_signature_timed_out(hf_signature_t *sig);

/* Sets type and frames directly (for a crash with no report to parse, e.g. a run the minimizer
 * killed at its timeout) and derives signature and id, bug signature and bug id. */
void hf_signature_set(hf_signature_t *sig, const char *type);

/* 64-bit FNV-1a. */
uint64_t hf_fnv1a64(const void *data, size_t size);

/* One JSON object on one line: id, signature, type, frames, op, thread (null when absent), and
 * with bug, bug_id and bug_signature. */
void hf_signature_print_json(const hf_signature_t *sig, bool bug, FILE *out);

/* `heapfuzz signature [--json] [--bug] [--timed-out] REPORT_FILE...` (argv after the command
 * name). Returns the exit status: 0 every file held a crash, 1 some file held none, 2 usage or
 * read error. */
int hf_cmd_signature(int argc, char **argv);

#endif /* HF_SIGNATURE_H */
