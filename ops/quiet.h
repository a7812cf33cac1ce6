/* quiet.h: the harness's own calls into the C library, kept out of TSan's view.
 *
 * In TSan builds the deterministic interpreter is uninstrumented (ops/interp.h), but its calls
 * into the C library still pass TSan's interceptors: memory allocated on one logical thread's
 * fiber and grown or freed on another's, or a FILE written from several, would be reported as
 * races between logical threads that share that memory only through the serial scheduler. Such
 * calls (the model's allocations, verbose and trace output) run between ops_quiet_begin and
 * ops_quiet_end, which switch TSan's tracking off for the running fiber; the heap core's
 * accesses are never inside. Elsewhere both compile to nothing. */
#ifndef OPS_QUIET_H
#define OPS_QUIET_H

#if defined(HC_TSAN) && HC_TSAN
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
static inline void ops_quiet_begin(void) {
  __tsan_ignore_thread_begin();
}
static inline void ops_quiet_end(void) {
  __tsan_ignore_thread_end();
}
#else
static inline void ops_quiet_begin(void) {}
static inline void ops_quiet_end(void) {}
#endif

#endif /* OPS_QUIET_H */
