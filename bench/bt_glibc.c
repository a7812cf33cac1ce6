/* bt_glibc.c: binary-trees on glibc malloc/free. */
#include <stdlib.h>

#define BT_BACKEND_NAME "glibc"
#define BT_RUN_FN       bt_run_glibc
#define BT_MALLOC(size) malloc(size)
#define BT_FREE(ptr)    free(ptr)
#include "bt_pointers.h"
