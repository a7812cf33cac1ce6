/* backend_nogc.h: the minimal example backend (tests/backend_nogc.c): calloc, no collection. */
#ifndef HF_TESTS_BACKEND_NOGC_H
#define HF_TESTS_BACKEND_NOGC_H

#include "heapbackend.h"

/* Its own status codes, for tests that provoke them. */
enum {
  NOGC_ERR_NO_MEMORY = HB_ERR_BACKEND, /* calloc refused */
  NOGC_ERR_ATTACHED,                   /* a second attach (no HB_CAP_MUTATORS), or destroy
                                          before detach */
  NOGC_ERR_NOT_ATTACHED,               /* detach without attach */
  NOGC_ERR_BAD_SHAPE,                  /* alloc outside the op language's object layout */
  NOGC_ERR_NOT_A_ROOT,                 /* root_remove of a slot root_add never registered */
  NOGC_ERR_NOT_AN_OBJECT,              /* weak_create of something alloc did not return */
  NOGC_ERR_UNSUPPORTED                 /* an entry it has no capability for */
};

extern const hb_backend_t hb_nogc_backend;

#endif /* HF_TESTS_BACKEND_NOGC_H */
