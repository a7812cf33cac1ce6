/* fiber.c: ucontext fibers with ASan and TSan annotations (fiber.h). */
#include "fiber.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(HC_ASAN) && HC_ASAN
#  include <sanitizer/asan_interface.h>
#  include <sanitizer/common_interface_defs.h>
#  define FIBER_ASAN 1
#else
#  define FIBER_ASAN 0
#endif
#if defined(HC_TSAN) && HC_TSAN
#  include <sanitizer/tsan_interface.h>
#  define FIBER_TSAN 1
#else
#  define FIBER_TSAN 0
#endif

/* ASan's instrumented frames are several times larger than plain ones; a collection's marking
 * runs on whichever fiber collects. 256 KiB is ample for every build. */
#define FIBER_STACK_SIZE (256u * 1024u)

/* ASan intercepts swapcontext: it warns once per process (which would make a program's output
 * depend on what ran before it in the process) and clears the shadow of the whole target stack,
 * live frames included. The start/finish annotations below already tell ASan everything, so
 * ASan builds call glibc's swapcontext itself. */
typedef int (*swapcontext_fn)(ucontext_t *, const ucontext_t *);

static swapcontext_fn real_swapcontext(void) {
#if FIBER_ASAN
  static swapcontext_fn fn;
  if (!fn) {
    fn = (swapcontext_fn)dlsym(RTLD_NEXT, "swapcontext");
    if (!fn) abort();
  }
  return fn;
#else
  return swapcontext;
#endif
}

/* Handed from the switching fiber to the one it starts or resumes (same OS thread). */
static _Thread_local fiber_t *switching_from;

/* After a switch lands in a fiber: tell ASan the switch is over, learning the bounds of the stack
 * we came from (that is how the main context's bounds become known). */
static void landed(fiber_t *self) {
#if FIBER_ASAN
  fiber_t *from = switching_from;
  __sanitizer_finish_switch_fiber(self->asan_fake_stack, &from->asan_bottom, &from->asan_size);
#else
  (void)self;
#endif
}

/* makecontext passes only ints; the fiber being started is the switch's target, recorded here. */
static _Thread_local fiber_t *starting;

static void fiber_start(void) {
  fiber_t *self = starting;
  landed(self);
  self->entry(self->arg);
  abort(); /* a worker's loop never ends */
}

void fiber_init_main(fiber_t *f) {
  *f = (fiber_t){.name = "main"};
#if FIBER_TSAN
  f->tsan_fiber = __tsan_get_current_fiber();
#endif
}

static bool fiber_create(fiber_t *f, const char *name, void (*entry)(void *), void *arg) {
  *f = (fiber_t){.entry = entry, .arg = arg, .name = name};
  void *stack = mmap(NULL, FIBER_STACK_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return false;
  if (getcontext(&f->ctx) != 0) {
    munmap(stack, FIBER_STACK_SIZE);
    return false;
  }
  f->stack = stack;
  f->stack_size = FIBER_STACK_SIZE;
  f->asan_bottom = f->stack;
  f->asan_size = f->stack_size;
  f->ctx.uc_stack.ss_sp = f->stack;
  f->ctx.uc_stack.ss_size = f->stack_size;
  f->ctx.uc_link = NULL;
  makecontext(&f->ctx, fiber_start, 0);
#if FIBER_TSAN
  f->tsan_fiber = __tsan_create_fiber(0);
  __tsan_set_fiber_name(f->tsan_fiber, name);
#endif
  return true;
}

static void switch_to(fiber_t *from, fiber_t *to, void **fake_stack_save) {
  switching_from = from;
  starting = to;
#if FIBER_ASAN
  __sanitizer_start_switch_fiber(fake_stack_save, to->asan_bottom, to->asan_size);
#else
  (void)fake_stack_save;
#endif
#if FIBER_TSAN
  /* Into or out of the main context is thread creation or join: those synchronize. */
  bool join = from->stack == NULL || to->stack == NULL;
  __tsan_switch_to_fiber(to->tsan_fiber, join ? 0 : __tsan_switch_to_fiber_no_sync);
#endif
  real_swapcontext()(&from->ctx, &to->ctx);
}

void fiber_switch(fiber_t *from, fiber_t *to) {
  if (from == to) return;
  switch_to(from, to, &from->asan_fake_stack);
  landed(from);
}

void fiber_join(fiber_t *f) {
#if FIBER_TSAN
  __tsan_acquire(f);
#else
  (void)f;
#endif
}


/* ---------------------------------------------------------------------------------------------
 * Worker fibers
 *
 * A fuzzer runs thousands of programs a second, each with a few fibers. Creating and ending a
 * fiber per program is costly under sanitizers (ASan maps a fake stack per fiber when
 * detect_stack_use_after_return is on, TSan sets up a fiber context), so fibers are kept per OS
 * thread and handed out again: a worker runs one task, retires to the pool, and runs the next
 * task it is given. A task's start and end synchronize (TSan) with whoever handed it out and
 * whoever joins it, as a thread's creation and join would.
 * ------------------------------------------------------------------------------------------- */

#define FIBER_WORKERS_MAX 64u

typedef struct worker {
  fiber_t fiber;
  void (*task)(void *);
  void *task_arg;
  bool busy;
} worker_t;

/* The fibers of an OS thread run only on it: one pool per thread. Its fibers are never freed
 * (a process runs programs until it exits). */
static _Thread_local worker_t *workers[FIBER_WORKERS_MAX];
static _Thread_local unsigned worker_count;
static _Thread_local worker_t *idle[FIBER_WORKERS_MAX]; /* the workers without a task */
static _Thread_local unsigned idle_count;

static void worker_main(void *arg) {
  worker_t *w = arg;
  for (;;) {
#if FIBER_TSAN
    __tsan_acquire(w); /* the task's creation */
#endif
    w->task(w->task_arg); /* ends in fiber_retire; returns when handed the next task */
  }
}

fiber_t *fiber_worker(const char *name, void (*task)(void *), void *arg) {
  worker_t *w = idle_count ? idle[--idle_count] : NULL;
  if (!w) {
    if (worker_count == FIBER_WORKERS_MAX) return NULL;
    w = calloc(1, sizeof *w);
    if (!w || !fiber_create(&w->fiber, name, worker_main, w)) {
      free(w);
      return NULL;
    }
    workers[worker_count++] = w;
  }
  w->busy = true;
  w->task = task;
  w->task_arg = arg;
  w->fiber.name = name;
#if FIBER_TSAN
  __tsan_set_fiber_name(w->fiber.tsan_fiber, name);
  __tsan_release(w);
#endif
  return &w->fiber;
}

unsigned fiber_workers_busy(unsigned *total) {
  unsigned busy = 0;
  for (unsigned i = 0; i < worker_count; i++)
    busy += workers[i]->busy;
  if (total) *total = worker_count;
  return busy;
}

void fiber_retire(fiber_t *self, fiber_t *to) {
  worker_t *w = (worker_t *)self; /* fiber is the worker's first member */
#if FIBER_TSAN
  __tsan_release(self); /* for fiber_join */
#endif
  w->busy = false;
  idle[idle_count++] = w;
  fiber_switch(self, to);
}
