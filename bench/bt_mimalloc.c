/* bt_mimalloc.c: binary-trees on mimalloc with explicit free (mi_malloc/mi_free; malloc itself is
 * not overridden, so only the workload's nodes and array come from mimalloc). */
#include <mimalloc.h>

#define BT_BACKEND_NAME  "mimalloc"
#define BT_RUN_FN        bt_run_mimalloc
#define BT_MALLOC(size)  mi_malloc(size)
#define BT_FREE(ptr)     mi_free(ptr)
#define BT_PRINT_STATS() mi_stats_print_out(NULL, NULL)
#include "bt_pointers.h"
