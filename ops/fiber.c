/* fiber.c: ucontext fibers with ASan and TSan annotations (fiber.h). */
#include "fiber.h"

#include <dlfcn.h>
#include <pthread.h>
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
#define FIBER_POOL_MAX   32u

/* Stacks are mapped once and reused: a fuzzer runs thousands of programs a second, and mapping
 * fresh stacks for each would cost more than the program. The pool holds no state a program can
 * observe (a reused stack is unpoisoned for ASan before it runs again). */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static void *pool[FIBER_POOL_MAX];
static unsigned pool_count;

static void *stack_get(void) {
  pthread_mutex_lock(&pool_lock);
  void *s = pool_count ? pool[--pool_count] : NULL;
  pthread_mutex_unlock(&pool_lock);
  if (s) return s;
  s = mmap(NULL, FIBER_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
           -1, 0);
  return s == MAP_FAILED ? NULL : s;
}

static void stack_put(void *s) {
#if FIBER_ASAN
  /* A frame that never returned (none should) would leave its redzones poisoned. */
  ASAN_UNPOISON_MEMORY_REGION(s, FIBER_STACK_SIZE);
#endif
  pthread_mutex_lock(&pool_lock);
  bool kept = pool_count < FIBER_POOL_MAX;
  if (kept) pool[pool_count++] = s;
  pthread_mutex_unlock(&pool_lock);
  if (!kept) munmap(s, FIBER_STACK_SIZE);
}

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
  abort(); /* entries end with fiber_exit */
}

void fiber_init_main(fiber_t *f) {
  *f = (fiber_t){.name = "main"};
#if FIBER_TSAN
  f->tsan_fiber = __tsan_get_current_fiber();
#endif
}

bool fiber_create(fiber_t *f, const char *name, void (*entry)(void *), void *arg) {
  *f = (fiber_t){.entry = entry, .arg = arg, .name = name};
  f->stack = stack_get();
  if (!f->stack) return false;
  f->stack_size = FIBER_STACK_SIZE;
  f->asan_bottom = f->stack;
  f->asan_size = f->stack_size;
  if (getcontext(&f->ctx) != 0) {
    stack_put(f->stack);
    f->stack = NULL;
    return false;
  }
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

_Noreturn void fiber_exit(fiber_t *from, fiber_t *to) {
#if FIBER_TSAN
  __tsan_release(from); /* for fiber_join */
#endif
  switch_to(from, to, NULL); /* NULL: ASan may drop this fiber's fake stack */
  abort();                   /* an ended fiber is never switched to */
}

void fiber_join(fiber_t *f) {
#if FIBER_TSAN
  __tsan_acquire(f);
#else
  (void)f;
#endif
}

void fiber_destroy(fiber_t *f) {
#if FIBER_TSAN
  if (f->stack && f->tsan_fiber) __tsan_destroy_fiber(f->tsan_fiber);
#endif
  if (f->stack) stack_put(f->stack);
  f->stack = NULL;
  f->tsan_fiber = NULL;
}
