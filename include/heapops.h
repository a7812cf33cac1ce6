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

#include "heapcore.h"

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

typedef enum ops_opcode {
  OPS_ALLOC = 0,    /* h size(u16) slots flags: allocate into handle h (flags: bit0 finalize) */
  OPS_STORE,        /* h slot v: h.slot = v (the write barrier runs) */
  OPS_CLEAR,        /* h slot: h.slot = NULL */
  OPS_LOAD,         /* dst h slot: handle dst = h.slot */
  OPS_WRITE,        /* h seed: fill h's payload from seed */
  OPS_CHECK,        /* h: the payload matches the model */
  OPS_ROOT,         /* h: the handle becomes a root */
  OPS_UNROOT,       /* h: the handle stops being a root (its object may die) */
  OPS_DROP,         /* h: the handle forgets its object */
  OPS_WEAK_NEW,     /* w h: weak slot w refers weakly to h's object */
  OPS_WEAK_GET,     /* dst w: handle dst = weak slot w's target (NULL once cleared) */
  OPS_GC_FULL,      /* a full collection */
  OPS_GC_EDEN,      /* an eden collection */
  OPS_SWEEP,        /* n: incremental sweep of up to n blocks */
  OPS_SWEEP_ALL,    /* sweep everything */
  OPS_SHRINK,       /* release empty blocks */
  OPS_STOP_ALLOC,   /* the current mutator stops allocating */
  OPS_RESUME_ALLOC, /* the current mutator resumes allocating */
  OPS_ITERATE,      /* heap iteration: every live object visited must be a model object */
  OPS_ATTACH,       /* start a new mutator thread, which attaches (up to OPS_MAX_MUTATORS) */
  OPS_DETACH,       /* t: mutator t detaches and its thread ends (never the last one) */
  OPS_SWITCH,       /* t: the next ops run on mutator t */
  OPS_SWEEPER_TICK, /* n: the sweeper thread runs one step of its loop, up to n blocks */
  OPS_FAIL_NEXT,    /* n: the nth block acquisition from now fails */
  OPS_VERIFY,       /* the heap's verifier and the model's invariants */
  OPS_PREEMPT,      /* after to n: at this thread's after-th heap yield point from now, hand the
                       CPU to thread `to` for n ops (a mutator), n sweeper steps, or one
                       collection (the collector); see "Threads and schedules" below */
  OPS_OP_COUNT
} ops_opcode_t;

typedef struct ops_op_info {
  const char *name;                            /* text mnemonic */
  uint8_t operand_count;                       /* 0..OPS_MAX_OPERANDS */
  uint8_t operand_bytes[OPS_MAX_OPERANDS];     /* 1 or 2 (little-endian) each */
  const char *operand_names[OPS_MAX_OPERANDS]; /* text keys */
} ops_op_info_t;

/* NULL for an opcode outside 0..OPS_OP_COUNT-1. */
const ops_op_info_t *ops_op_info(unsigned opcode);

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
  uint8_t flags;      /* bit0 scribble, bit1 release empty blocks */
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
 *   - the sweeper thread (OPS_THREAD_SWEEPER) runs every `sweeper` op: hc_sweeper_run_step, as
 *     the heap's background sweeper would.
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

/* The heap configuration a program's config bytes select (both modes; the finalizer is the
 * runner's to set). */
void ops_heap_config(const ops_config_t *c, hc_config_t *cfg);

/* Assigns every op of p to its thread (see above). Pure: depends on p alone. */
void ops_plan(const ops_program_t *p, ops_plan_t *out);
/* "m0".."m15", "sweeper", "collector" (a static string; "?" out of range). */
const char *ops_thread_name(unsigned thread);

/* ---------------------------------------------------------------------------------------------
 * Structure-aware mutation (wrapped by the fuzz targets' LLVMFuzzerCustomMutator and
 * LLVMFuzzerCustomCrossOver, and by AFL++'s afl_custom_fuzz)
 * ------------------------------------------------------------------------------------------- */

/* Mutates the program in data[0, size) in place, whole ops at a time: insert, delete, duplicate,
 * swap, or re-parameterize an op, or change the config. Deterministic for a given seed. Returns
 * the new size (at most max_size; the op list is cut to fit). */
size_t ops_mutate(uint8_t *data, size_t size, size_t max_size, uint32_t seed);
/* Splices two programs: a prefix of a's ops followed by a suffix of b's, a's config. Writes at
 * most max_size bytes to out and returns the size. */
size_t ops_crossover(const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size, uint8_t *out,
                     size_t max_size, uint32_t seed);

/* ---------------------------------------------------------------------------------------------
 * The interpreter
 * ------------------------------------------------------------------------------------------- */

typedef struct ops_run_options {
  bool verbose;          /* print each op before it runs */
  bool trace;            /* print heap events (also on when HEAPFUZZ_TRACE is set, not to 0) */
  FILE *out;             /* where verbose, trace and reports go (stderr if NULL) */
  bool abort_on_finding; /* abort() after reporting (what fuzz targets want) */
  /* The oracle at its most eager (also on when HEAPFUZZ_EAGER is set, not to 0): after every op
   * of a thread that holds a mutator, hc_heap_verify and every object reachable from the rooted
   * handles checked against the model, as a verify op does. A broken invariant is then reported
   * right after the op that broke it, whichever later op or sanitizer would have noticed it: what
   * triage signs a finding's bug by. Deterministic mode only; real-thread mode ignores it. */
  bool eager;
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

#ifdef __cplusplus
}
#endif
#endif /* HEAPOPS_H */
