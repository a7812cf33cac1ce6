/* jsc.h: the JavaScriptCore backend (backends/jsc.c), built when CMake finds JSC (cmake/jsc.cmake
 * defines HF_HAVE_JSC for everything that links the interpreter). */
#ifndef HEAPFUZZ_BACKEND_JSC_H
#define HEAPFUZZ_BACKEND_JSC_H

#include "heapbackend.h"

/* The backend's own status codes (status_name names them). */
enum {
  JSC_ERR_NO_MEMORY = HB_ERR_BACKEND, /* malloc failed, or JSC returned no object */
  JSC_ERR_EXCEPTION,                  /* a JSC call threw (the C API's exception out-parameter) */
  JSC_ERR_WORKER,                     /* the thread that makes every JSC call could not start */
  JSC_ERR_ATTACHED,                   /* attach: the one mutator is attached already */
  JSC_ERR_NOT_ATTACHED,               /* detach or destroy with the wrong mutator state */
  JSC_ERR_NOT_A_ROOT,                 /* root_remove of a slot never added */
  JSC_ERR_UNSUPPORTED,                /* an entry its capabilities do not promise */
  JSC_ERR_BUSY,                       /* create: another jsc heap is alive (one at a time) */
  JSC_ERR_COUNT_
};

extern const hb_backend_t hb_jsc_backend;

#endif /* HEAPFUZZ_BACKEND_JSC_H */
