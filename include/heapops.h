/* heapops.h: the op language, its binary and text forms, and the interpreter that runs a program
 * against the heap core under a shadow-model oracle.
 *
 * Binary form (what fuzzers mutate). Every byte string is a valid program:
 *   - the first OPS_CONFIG_BYTES bytes configure the heap (missing bytes read as 0);
 *   - then ops, one after another: an opcode byte (taken modulo OPS_OP_COUNT) followed by that
 *     op's operand bytes (ops_op_info().operand_bytes; missing trailing bytes read as 0);
 *   - at most OPS_MAX_OPS ops are decoded, the rest of the input is ignored.
 * Operands are raw bytes; the interpreter maps them onto what exists when the op runs (handle
 * numbers modulo the handle table, mutator numbers modulo the attached mutators, sizes into the
 * allowed range), and an op whose state is absent (no object in the handle, no second mutator)
 * is skipped, deterministically. So decoding never fails and running never misuses the heap.
 *
 * Text form (what regression seeds and reports carry): a version line `heapfuzz-ops 1`, a
 * `config` line, then one op per line as `name key=value ...` with the raw operand values, and
 * `#` comments. Binary -> text -> binary and text -> binary -> text round-trip exactly for
 * canonical programs (what ops_encode produces).
 */
#ifndef HEAPOPS_H
#define HEAPOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heapbackend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OPS_TEXT_VERSION 1
#define OPS_MAX_OPS      4096u /* ops decoded per program */
#define OPS_MAX_OPERANDS 4u    /* operands per op */
#define OPS_CONFIG_BYTES 4u
#define OPS_HANDLES      32u /* handle table: object references the program holds */
#define OPS_WEAK_SLOTS   16u /* weak reference table */
#define OPS_MAX_MUTATORS 4u  /* mutators attached at once */
#define OPS_MAX_THREADS  16u /* mutator threads a program starts over its life (attach ops) */
#define OPS_PREEMPT_BUDGET                                                                        \
  8u                          /* preemptions that may fire per run (PCT's bound on change points) \
                               */
#define OPS_MAX_OBJECT 65536u /* largest object a program allocates */
#define OPS_HEAP_LIMIT (8u * 1024 * 1024) /* bounds every program's heap */


/* The op table: one line per op, in opcode order (an opcode is its line's position: the binary
 * form's numbers, so a new op goes at the end). Each line is
 *   X(ID, mnemonic, function, needs, operand count, OPS_KEYS(keys...), OPS_WIDTHS(bytes...))
 * function: the interpreter's ops_exec_<function> (ops/exec.c), run by both schedulers;
 * needs: the hb_capability_t bits the op needs (0: none): on a backend without one the op is
 * skipped and counted; OPS_NEED_MUTATOR, an op of a thread holding a mutator (skipped on a
 * thread that has none: the sweeper, or one whose attach was skipped); OPS_RUNS_RELEASED, an op
 * that also runs while its thread has released heap access (release-access), checking that the
 * heap refuses what needs access; every other op of such a thread is skipped. Everything else
 * derives from this table: ops_opcode_t, ops_op_info(), the interpreter's dispatch, and the fuzzing
 * dictionary
 * (`heapfuzz dict`). */
#define OPS_NEED_MUTATOR  (1u << 31)
#define OPS_RUNS_RELEASED (1u << 30)
#define OPS_NEED_FLAGS                                                      \
  (OPS_NEED_MUTATOR | OPS_RUNS_RELEASED) /* the bits that are no capability \
                                          */
#define OPS_KEYS(...) \
  { __VA_ARGS__ }
#define OPS_WIDTHS(...) \
  { __VA_ARGS__ }
#define OPS_OP_TABLE(X)                                                                            \
  /* h size(u16) slots flags: allocate into handle h (flags: bit0 finalize) */                     \
  X(ALLOC, "alloc", alloc, OPS_NEED_MUTATOR | OPS_RUNS_RELEASED, 4,                                \
    OPS_KEYS("h", "size", "slots", "flags"), OPS_WIDTHS(1, 2, 1, 1))                               \
  /* h slot v: h.slot = v (the write barrier runs) */                                              \
  X(STORE, "store", store, OPS_NEED_MUTATOR, 3, OPS_KEYS("h", "slot", "v"), OPS_WIDTHS(1, 1, 1))   \
  /* h slot: h.slot = NULL */                                                                      \
  X(CLEAR, "clear", clear, OPS_NEED_MUTATOR, 2, OPS_KEYS("h", "slot"), OPS_WIDTHS(1, 1))           \
  /* dst h slot: handle dst = h.slot */                                                            \
  X(LOAD, "load", load, OPS_NEED_MUTATOR, 3, OPS_KEYS("dst", "h", "slot"), OPS_WIDTHS(1, 1, 1))    \
  /* h seed: fill h's payload from seed */                                                         \
  X(WRITE, "write", write, OPS_NEED_MUTATOR, 2, OPS_KEYS("h", "seed"), OPS_WIDTHS(1, 1))           \
  /* h: the payload matches the model */                                                           \
  X(CHECK, "check", check, OPS_NEED_MUTATOR, 1, OPS_KEYS("h"), OPS_WIDTHS(1))                      \
  /* h: the handle becomes a root */                                                               \
  X(ROOT, "root", root, OPS_NEED_MUTATOR, 1, OPS_KEYS("h"), OPS_WIDTHS(1))                         \
  /* h: the handle stops being a root (its object may die) */                                      \
  X(UNROOT, "unroot", unroot, OPS_NEED_MUTATOR, 1, OPS_KEYS("h"), OPS_WIDTHS(1))                   \
  /* h: the handle forgets its object */                                                           \
  X(DROP, "drop", drop, 0, 1, OPS_KEYS("h"), OPS_WIDTHS(1))                                        \
  /* w h: weak slot w refers weakly to h's object */                                               \
  X(WEAK_NEW, "weak", weak_new, OPS_NEED_MUTATOR | OPS_RUNS_RELEASED, 2, OPS_KEYS("w", "h"),       \
    OPS_WIDTHS(1, 1))                                                                              \
  /* dst w: handle dst = weak slot w's target (NULL once cleared) */                               \
  X(WEAK_GET, "deref", weak_get, OPS_NEED_MUTATOR, 2, OPS_KEYS("dst", "w"), OPS_WIDTHS(1, 1))      \
  /* a full collection */                                                                          \
  X(GC_FULL, "gc-full", gc_full, OPS_NEED_MUTATOR, 0, OPS_KEYS(0), OPS_WIDTHS(0))                  \
  /* an eden collection */                                                                         \
  X(GC_EDEN, "gc-eden", gc_eden, OPS_NEED_MUTATOR | HB_CAP_EDEN, 0, OPS_KEYS(0), OPS_WIDTHS(0))    \
  /* n: incremental sweep of up to n blocks */                                                     \
  X(SWEEP, "sweep", sweep, OPS_NEED_MUTATOR | HB_CAP_SWEEP_STEP, 1, OPS_KEYS("n"), OPS_WIDTHS(1))  \
  /* sweep everything */                                                                           \
  X(SWEEP_ALL, "sweep-all", sweep_all, OPS_NEED_MUTATOR | HB_CAP_SWEEP_ALL, 0, OPS_KEYS(0),        \
    OPS_WIDTHS(0))                                                                                 \
  /* release empty blocks */                                                                       \
  X(SHRINK, "shrink", shrink, OPS_NEED_MUTATOR | HB_CAP_SHRINK, 0, OPS_KEYS(0), OPS_WIDTHS(0))     \
  /* the current mutator stops allocating */                                                       \
  X(STOP_ALLOC, "stop-alloc", stop_alloc, OPS_NEED_MUTATOR | HB_CAP_STOP_ALLOCATING, 0,            \
    OPS_KEYS(0), OPS_WIDTHS(0))                                                                    \
  /* the current mutator resumes allocating */                                                     \
  X(RESUME_ALLOC, "resume-alloc", resume_alloc, OPS_NEED_MUTATOR | HB_CAP_STOP_ALLOCATING, 0,      \
    OPS_KEYS(0), OPS_WIDTHS(0))                                                                    \
  /* heap iteration: every live object visited must be a model object */                           \
  X(ITERATE, "iterate", iterate, OPS_NEED_MUTATOR | HB_CAP_ITERATE, 0, OPS_KEYS(0), OPS_WIDTHS(0)) \
  /* start a new mutator thread, which attaches (up to OPS_MAX_MUTATORS) */                        \
  X(ATTACH, "attach", attach, HB_CAP_MUTATORS, 0, OPS_KEYS(0), OPS_WIDTHS(0))                      \
  /* t: mutator t detaches and its thread ends (never the last one) */                             \
  X(DETACH, "detach", detach, OPS_NEED_MUTATOR | OPS_RUNS_RELEASED | HB_CAP_MUTATORS, 1,           \
    OPS_KEYS("t"), OPS_WIDTHS(1))                                                                  \
  /* t: the next ops run on mutator t */                                                           \
  X(SWITCH, "switch", switch, 0, 1, OPS_KEYS("t"), OPS_WIDTHS(1))                                  \
  /* n: the sweeper thread runs one step of its loop, up to n blocks */                            \
  X(SWEEPER_TICK, "sweeper", sweeper, HB_CAP_SWEEPER_STEP, 1, OPS_KEYS("n"), OPS_WIDTHS(1))        \
  /* n: the nth block acquisition from now fails */                                                \
  X(FAIL_NEXT, "fail-next", fail_next, HB_CAP_FAULT_INJECTION, 1, OPS_KEYS("n"), OPS_WIDTHS(1))    \
  /* the heap's verifier and the model's invariants */                                             \
  X(VERIFY, "verify", verify, OPS_NEED_MUTATOR, 0, OPS_KEYS(0), OPS_WIDTHS(0))                     \
  /* after to n: at this thread's after-th heap yield point from now, hand the CPU to thread `to`  \
     for n ops (a mutator), n sweeper steps, or one collection (the collector); see "Threads and   \
     schedules" below */                                                                           \
  X(PREEMPT, "preempt", preempt, HB_CAP_YIELD_POINTS, 3, OPS_KEYS("after", "to", "n"),             \
    OPS_WIDTHS(1, 1, 1))                                                                           \
  /* o off: is the pointer off*8 bytes into object o (any object the program ever made, dead or    \
     alive) a live object? */                                                                      \
  X(IS_LIVE, "is-live", is_live, OPS_NEED_MUTATOR | OPS_RUNS_RELEASED | HB_CAP_LIVENESS, 2,        \
    OPS_KEYS("o", "off"), OPS_WIDTHS(1, 1))                                                        \
  /* dst o off slot: checked load through that pointer into handle dst */                          \
  X(LOAD_CHECKED, "load-checked", load_checked,                                                    \
    OPS_NEED_MUTATOR | OPS_RUNS_RELEASED | HB_CAP_CHECKED, 4, OPS_KEYS("dst", "o", "off", "slot"), \
    OPS_WIDTHS(1, 1, 1, 1))                                                                        \
  /* o off slot v: checked store of handle v's object through that pointer */                      \
  X(STORE_CHECKED, "store-checked", store_checked,                                                 \
    OPS_NEED_MUTATOR | OPS_RUNS_RELEASED | HB_CAP_CHECKED, 4, OPS_KEYS("o", "off", "slot", "v"),   \
    OPS_WIDTHS(1, 1, 1, 1))                                                                        \
  /* the current mutator gives back its heap access (until acquire-access): meanwhile it touches   \
     no object, and the calls that may be made without access must fail as documented */           \
  X(RELEASE_ACCESS, "release-access", release_access, OPS_NEED_MUTATOR | HB_CAP_ACCESS, 0,         \
    OPS_KEYS(0), OPS_WIDTHS(0))                                                                    \
  /* the current mutator takes its heap access back (waiting out a collection) */                  \
  X(ACQUIRE_ACCESS, "acquire-access", acquire_access,                                              \
    OPS_NEED_MUTATOR | OPS_RUNS_RELEASED | HB_CAP_ACCESS, 0, OPS_KEYS(0), OPS_WIDTHS(0))           \
  /* the heap's own background sweeper thread starts (real-thread mode) */                         \
  X(SWEEPER_START, "sweeper-start", sweeper_start, HB_CAP_BACKGROUND_SWEEPER, 0, OPS_KEYS(0),      \
    OPS_WIDTHS(0))                                                                                 \
  /* and stops */                                                                                  \
  X(SWEEPER_STOP, "sweeper-stop", sweeper_stop, HB_CAP_BACKGROUND_SWEEPER, 0, OPS_KEYS(0),         \
    OPS_WIDTHS(0))

#define OPS_ENUM_ENTRY_(id, ...) OPS_##id,
typedef enum ops_opcode { OPS_OP_TABLE(OPS_ENUM_ENTRY_) OPS_OP_COUNT } ops_opcode_t;
#undef OPS_ENUM_ENTRY_

typedef struct ops_op_info {
  const char *name;                            /* text mnemonic */
  uint8_t operand_count;                       /* 0..OPS_MAX_OPERANDS */
  uint8_t operand_bytes[OPS_MAX_OPERANDS];     /* 1 or 2 (little-endian) each */
  const char *operand_names[OPS_MAX_OPERANDS]; /* text keys */
} ops_op_info_t;

/* NULL for an opcode outside 0..OPS_OP_COUNT-1. */
const ops_op_info_t *ops_op_info(unsigned opcode);
/* What the op needs (the op table's `needs`: OPS_NEED_MUTATOR and hb_capability_t bits). */
uint32_t ops_op_needs(unsigned opcode);

typedef struct ops_op {
  uint8_t opcode;
  uint16_t operand[OPS_MAX_OPERANDS];
} ops_op_t;

/* Formats one op as its text line without newline (`alloc h=3 size=48 slots=1 flags=0`);
 * returns the length it needed, like snprintf. */
size_t ops_format_op(const ops_op_t *op, char *buf, size_t size);

typedef struct ops_config {
  uint8_t trigger;    /* automatic collection after (trigger % 8) * 64 KiB; 0 = never */
  uint8_t full_every; /* config.full_gc_every = full_every % 8 */
  uint8_t versions;   /* config.version_limit = 2 + versions % 254 (small wraps quickly) */
  uint8_t flags;      /* bit0 scribble, bit1 release empty blocks, bits 2-3 full collections'
                         growth policy (the heap core's full_gc_growth: 0, 50, 100, 200%) */
} ops_config_t;

typedef struct ops_program {
  ops_config_t config;
  uint32_t count;
  ops_op_t ops[OPS_MAX_OPS];
} ops_program_t;

/* Total decoding: any bytes become a program (see the top of this file). */
void ops_decode(const uint8_t *data, size_t size, ops_program_t *out);
/* Canonical binary form. Returns the bytes needed and writes at most the first cap of them. */
size_t ops_encode(const ops_program_t *p, uint8_t *out, size_t cap);

/* Text form. ops_print writes the program; ops_parse reads one. On a malformed text, ops_parse
 * returns false and writes `name:line:col: message` into err. */
void ops_print(const ops_program_t *p, FILE *out);
bool ops_parse(const char *text, size_t size, const char *name, ops_program_t *out, char *err,
               size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Threads and schedules
 *
 * A program is the interleaving of several logical threads' op sequences. Which thread runs an
 * op is fixed by the program text alone (ops_plan), never by what the heap does:
 *   - mutator threads 0..OPS_MAX_THREADS-1. Thread 0 exists from the start; `attach` starts the
 *     next thread, and is that thread's first op (it attaches its own mutator); `detach t` is
 *     the last op of the thread of attached mutator t (it detaches itself). `switch t` makes
 *     attached mutator t's thread the one that runs the ops that follow. Mutators are numbered
 *     in attach order among those attached, as `switch` and `detach` count them.
 *   - the sweeper thread (OPS_THREAD_SWEEPER) runs every `sweeper` op: one step of the heap's
 *     background sweeper loop (the backend's sweeper_step), on a thread without a mutator.
 *   - the collector thread (OPS_THREAD_COLLECTOR) has no ops of its own: a `preempt` to it runs
 *     one collection (full when n is odd) through a mutator of its own.
 *   - `preempt` arms a change point on the thread that runs it (see OPS_PREEMPT).
 *
 * Deterministic mode (ops_run): every thread is a fiber on the calling OS thread and exactly one
 * runs at a time. Ops start in program order; a thread keeps the CPU through an op and gives it
 * up only between ops, at a heap wait (a collection waiting for safepoints, a mutator waiting for
 * a collection) or when an armed preemption fires at a heap yield point. The schedule depends on
 * the program alone, so every run of a program is the same run.
 *
 * Real-thread mode (ops_run_threads): every thread is a pthread running its ops free, joined
 * before the call returns.
 * ------------------------------------------------------------------------------------------- */

#define OPS_THREAD_SWEEPER   OPS_MAX_THREADS
#define OPS_THREAD_COLLECTOR (OPS_MAX_THREADS + 1u)
#define OPS_THREAD_COUNT     (OPS_MAX_THREADS + 2u)

typedef struct ops_plan_step {
  uint8_t thread; /* the thread that runs this op */
  uint8_t target; /* preempt: the thread it hands the CPU to */
  bool skip;      /* statically void: attach past the limits, detach of the last mutator,
                     switch to the running thread, preempt to itself */
} ops_plan_step_t;

typedef struct ops_plan {
  uint32_t count;      /* = the program's op count */
  uint32_t threads;    /* mutator threads started (1 + effective attach ops) */
  bool uses_sweeper;   /* a sweeper op, or a preempt to the sweeper */
  bool uses_collector; /* a preempt to the collector */
  ops_plan_step_t steps[OPS_MAX_OPS];
} ops_plan_t;

/* Assigns every op of p to its thread (see above). Pure: depends on p alone. */
void ops_plan(const ops_program_t *p, ops_plan_t *out);
/* "m0".."m15", "sweeper", "collector" (a static string; "?" out of range). */
const char *ops_thread_name(unsigned thread);

/* ---------------------------------------------------------------------------------------------
 * Structure-aware mutation (wrapped by the fuzz targets' LLVMFuzzerCustomMutator and
 * LLVMFuzzerCustomCrossOver, and by AFL++'s afl_custom_fuzz)
 * ------------------------------------------------------------------------------------------- */

/* Mutates the program in data[0, size) in place, whole ops at a time: insert, delete, duplicate,
 * swap, or re-parameterize an op, change the config, or change only the schedule (a preempt
 * retimed, retargeted or inserted, an op moved across a switch to another thread). Deterministic
 * for a given seed. Returns
 * the new size (at most max_size; the op list is cut to fit). */
size_t ops_mutate(uint8_t *data, size_t size, size_t max_size, uint32_t seed);
/* Splices two programs: a prefix of a's ops followed by a suffix of b's, a's config. Writes at
 * most max_size bytes to out and returns the size. */
size_t ops_crossover(const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size, uint8_t *out,
                     size_t max_size, uint32_t seed);

/* ---------------------------------------------------------------------------------------------
 * The interpreter
 * ------------------------------------------------------------------------------------------- */

/* What the deterministic scheduler reports about one run's interleaving: feedback for a fuzzing
 * engine, which sees code coverage but not which interleavings it has tried, and the yield
 * points a schedule explorer (`heapfuzz explore`) can place a preemption at. Either pointer may
 * be NULL. Real-thread mode reports nothing.
 *   features: a map of feature_count bytes. A run sets to 1 (never counts up) the byte of every
 *     interleaving feature it reaches, hashed into the map as AFL hashes edges:
 *       - a preemption fired: (the yield point, the op it cut into, the kind of thread it went
 *         to: mutator, sweeper or collector);
 *       - an op, a sweeper step or a collection started while another thread was stopped inside
 *         an op: (where that thread is stopped, its op, what starts).
 *     Only opcodes and yield point names go in, never handles, sizes or counts, so the space is
 *     small (points x opcodes x opcodes, a few tens of thousands) and the map's size bounds it
 *     again: a corpus gains at most feature_count inputs from it, whatever the programs do.
 *   yields: one counter per program op (room for the program's op count, zeroed by the caller):
 *     the heap yield points (waits excluded) the op passed on its own thread. A `preempt
 *     after=a` placed right before op k, on its thread, fires inside op k when a < yields[k]. */
typedef struct ops_schedule_log {
  uint8_t *features;
  size_t feature_count;
  uint16_t *yields;
} ops_schedule_log_t;

typedef struct ops_run_options {
  bool verbose;          /* print each op before it runs */
  bool trace;            /* print heap events (also on when HEAPFUZZ_TRACE is set, not to 0) */
  FILE *out;             /* where verbose, trace and reports go (stderr if NULL) */
  bool abort_on_finding; /* abort() after reporting (what fuzz targets want) */
  /* The oracle at its most eager (also on when HEAPFUZZ_EAGER is set, not to 0): after every op
   * of a thread that holds a mutator, the heap's verifier and every object reachable from the
   * rooted handles checked against the model, as a verify op does. A broken invariant is then
   * reported right after the op that broke it, whichever later op or sanitizer would have noticed
   * it: what triage signs a finding's bug by. Deterministic mode only; real-thread mode ignores it.
   */
  bool eager;
  /* The heap the program runs on (include/heapbackend.h); NULL: this build's default
   * (ops_default_backend). */
  const hb_backend_t *backend;
  /* Deterministic mode: the interleaving's features and yield counts (NULL: not reported). */
  ops_schedule_log_t *schedule;
} ops_run_options_t;

typedef struct ops_run_result {
  bool finding;         /* the oracle found a broken invariant */
  uint32_t op_index;    /* which op (when finding) */
  char message[512];    /* the one-line report: "op N (text): invariant: detail" */
  uint32_t ops_run;     /* ops executed (not skipped) */
  uint32_t ops_skipped; /* ops skipped for absent state */
  uint32_t collections; /* collections observed (explicit and automatic) */
  uint32_t switches;    /* fiber switches (deterministic mode) */
  uint32_t preemptions; /* preemptions that fired at heap yield points (deterministic mode) */
  /* Ops skipped because the backend lacks what they need (also counted in ops_skipped), by
   * capability bit: unsupported[b] for hb_capability_t 1u << b. */
  uint32_t unsupported[HB_CAP_COUNT];
} ops_run_result_t;

/* Runs the program on a fresh heap in deterministic mode (see "Threads and schedules") and tears
 * everything down before returning. Returns true when the program ran clean; on a finding, fills
 * result and (with abort_on_finding) aborts. */
bool ops_run(const ops_program_t *p, const ops_run_options_t *opt, ops_run_result_t *result);

/* Creates the process-wide state a first program would otherwise create on the way (the heap
 * core's size-class table, the calling thread's pool of fibers), so every program runs the same
 * code from the first on: what a fuzzing engine's stability measure asks for. Optional; call it
 * once per thread before the first ops_run (the fuzz targets do, in LLVMFuzzerInitialize). */
void ops_warm_up(void);

/* Runs the program in real-thread mode: one pthread per mutator thread plus the sweeper thread,
 * free-running (preempt ops do nothing), every thread joined before it returns. Each thread keeps
 * its own handles and weak references; the oracle checks what a thread can see alone while it
 * runs and the whole heap at the join. Same result conventions as ops_run. */
bool ops_run_threads(const ops_program_t *p, const ops_run_options_t *opt,
                     ops_run_result_t *result);

/* ---------------------------------------------------------------------------------------------
 * Backends
 * ------------------------------------------------------------------------------------------- */

/* This build's heaps: the default first (the heap core). NULL-terminated. */
const hb_backend_t *const *ops_backends(void);
const hb_backend_t *ops_default_backend(void);
/* The built-in backend named `name`, or NULL. */
const hb_backend_t *ops_find_backend(const char *name);
/* Why the backend `name`, one heapfuzz knows, is not in this build (CMake's reason: the package
 * to install, the option that turned it off); NULL when it is in the build or unknown. */
const char *ops_backend_missing(const char *name);
/* The backend's capabilities a mode can use: deterministic mode (threads false) runs several
 * mutators as fibers only on a heap with yield points and heap access, and never the heap's own
 * free-running sweeper thread. */
uint32_t ops_mode_caps(const hb_backend_t *b, bool threads);
/* The capability's short name ("shrink", "eden collection"), for "skipped: 12 (no shrink)". */
const char *ops_capability_name(unsigned bit);
/* Prints what running programs on the backend in the given mode leaves out: the ops it skips
 * and the oracle's checks that are off for want of a capability (one line each, prefixed with
 * `prefix`). Prints nothing for a backend with every capability. */
void ops_describe_backend(const hb_backend_t *b, bool threads, const char *prefix, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* HEAPOPS_H */
