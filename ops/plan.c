/* plan.c: which logical thread runs each op (ops_plan, include/heapops.h "Threads and
 * schedules"). Both modes run the same plan: the deterministic scheduler interleaves the threads'
 * op sequences on fibers, the real-thread runner gives each sequence a pthread. The plan is a
 * function of the program text alone, so a program's threads are the same in every run. */
#include "heapops.h"

#include <string.h>

/* The attached mutators, in attach order: what `switch t` and `detach t` count. */
typedef struct attached {
  uint8_t thread[OPS_MAX_MUTATORS];
  uint32_t count;
} attached_t;

static void remove_at(attached_t *a, uint32_t i) {
  memmove(&a->thread[i], &a->thread[i + 1], (a->count - i - 1) * sizeof a->thread[0]);
  a->count--;
}

void ops_plan(const ops_program_t *p, ops_plan_t *out) {
  /* Only the steps of the program's ops are written: a plan has room for OPS_MAX_OPS (12 KiB),
   * and clearing all of it for every program was a measurable share of a short one. */
  out->uses_sweeper = out->uses_collector = false;
  attached_t att = {{0}, 1}; /* thread 0's mutator is attached before the first op */
  uint32_t current = 0;      /* index into att of the thread that runs the next ops */
  out->threads = 1;
  out->count = p->count < OPS_MAX_OPS ? p->count : OPS_MAX_OPS;
  for (uint32_t k = 0; k < out->count; k++) {
    const ops_op_t *op = &p->ops[k];
    ops_plan_step_t *s = &out->steps[k];
    *s = (ops_plan_step_t){.thread = att.thread[current], .target = att.thread[current]};
    switch ((ops_opcode_t)(op->opcode % OPS_OP_COUNT)) {
      case OPS_ATTACH:
        if (att.count == OPS_MAX_MUTATORS || out->threads == OPS_MAX_THREADS) {
          s->skip = true;
          break;
        }
        s->thread = s->target = (uint8_t)out->threads++;
        att.thread[att.count++] = s->thread;
        break;
      case OPS_DETACH: {
        if (att.count < 2) {
          s->skip = true;
          break;
        }
        uint32_t t = op->operand[0] % att.count;
        s->thread = s->target = att.thread[t];
        /* The running thread detaching itself hands the ops that follow to the next mutator,
         * counted before the removal (as `switch t+1` would). */
        uint8_t next = att.thread[current == t ? (t + 1) % att.count : current];
        remove_at(&att, t);
        for (current = 0; att.thread[current] != next; current++) {
        }
        break;
      }
      case OPS_SWITCH: {
        uint32_t t = op->operand[0] % att.count;
        s->skip = t == current;
        current = t;
        s->thread = s->target = att.thread[current];
        break;
      }
      case OPS_SWEEPER_TICK:
        s->thread = s->target = OPS_THREAD_SWEEPER;
        out->uses_sweeper = true;
        break;
      case OPS_PREEMPT: {
        /* to: an attached mutator, then the sweeper, then the collector. */
        uint32_t t = (op->operand[1] & 0xffu) % (att.count + 2);
        s->target = t < att.count    ? att.thread[t]
                    : t == att.count ? (uint8_t)OPS_THREAD_SWEEPER
                                     : (uint8_t)OPS_THREAD_COLLECTOR;
        s->skip = s->target == s->thread;
        if (s->target == OPS_THREAD_SWEEPER) out->uses_sweeper = true;
        if (s->target == OPS_THREAD_COLLECTOR) out->uses_collector = true;
        break;
      }
      default:
        break;
    }
  }
}

const char *ops_thread_name(unsigned thread) {
  static const char *const names[OPS_THREAD_COUNT] = {
      "m0", "m1",  "m2",  "m3",  "m4",  "m5",  "m6",  "m7",      "m8",
      "m9", "m10", "m11", "m12", "m13", "m14", "m15", "sweeper", "collector"};
  _Static_assert(OPS_THREAD_COUNT == 18, "one name per thread");
  return thread < OPS_THREAD_COUNT ? names[thread] : "?";
}
