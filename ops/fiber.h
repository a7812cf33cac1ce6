/* fiber.h: user-level context switching for the deterministic scheduler (sched.c), with the
 * sanitizer annotations that make ASan and TSan understand it.
 *
 * ASan: every switch is bracketed by __sanitizer_start_switch_fiber (with the target's stack) and
 * __sanitizer_finish_switch_fiber, so stack poisoning and detect_stack_use_after_return's fake
 * stacks follow the fiber, not the OS thread.
 * TSan: each fiber is a TSan fiber (__tsan_create_fiber) and every switch between two created
 * fibers passes __tsan_switch_to_fiber_no_sync: it creates no happens-before edge, so accesses two
 * fibers make without real synchronization (a mutex, an atomic) are reported as races although
 * the schedule is serial. Creating a fiber, and switching into or out of the main context, are a
 * thread's creation and join, and synchronize as those do.
 *
 * All fibers of a group run on the OS thread that created them; a fiber is switched to only from
 * that thread. Fibers are pooled per OS thread and reused from program to program (fiber.c). */
#ifndef OPS_FIBER_H
#define OPS_FIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <ucontext.h>

typedef struct fiber {
  ucontext_t ctx;
  void *stack; /* NULL for the OS thread's own context (fiber_init_main) */
  size_t stack_size;
  void (*entry)(void *);
  void *arg;
  /* ASan: this fiber's stack bounds (learned at the first switch away, for the main context)
   * and its fake stack while it is switched out. */
  const void *asan_bottom;
  size_t asan_size;
  void *asan_fake_stack;
  void *tsan_fiber; /* TSan's fiber context */
  const char *name;
} fiber_t;

/* Wraps the calling OS thread's context, to switch back to at the end. */
void fiber_init_main(fiber_t *f);
/* A fiber of this OS thread's pool, set to run task(arg) when next switched to (a new fiber the
 * first time, a retired one after). NULL when no fiber could be had. */
fiber_t *fiber_worker(const char *name, void (*task)(void *), void *arg);
/* How many of this OS thread's workers run a task (and, in *total, how many there are). */
unsigned fiber_workers_busy(unsigned *total);
/* Suspends `from` (the running fiber) and runs `to`. Returns when something switches back. */
void fiber_switch(fiber_t *from, fiber_t *to);
/* Ends the running worker's task: the worker goes back to the pool and `to` runs. The task must
 * return right after, without touching its state: by the time this returns, the worker has been
 * handed its next task. */
void fiber_retire(fiber_t *self, fiber_t *to);
/* After the task on `f` retired: everything it did happens-before what the caller does next
 * (TSan), as after joining a thread. */
void fiber_join(fiber_t *f);

#endif /* OPS_FIBER_H */
