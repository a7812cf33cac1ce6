/* bt_boehm.c: the workloads on the Boehm-Demers-Weiser collector (Debian libgc-dev), as GCBench
 * runs with -DGC: nodes from GC_MALLOC, the array from GC_MALLOC_ATOMIC, nothing ever freed.
 * Roots are found by scanning the stack conservatively, so the root operations do nothing.
 * GC_THREADS: gc.h redirects pthread_create to GC_pthread_create, which registers each thread
 * of the threads workload with the collector. Default configuration: GC_INIT and nothing else. */
#define GC_THREADS 1
#include <gc.h>
#include <stdio.h>

static void bt_boehm_print_stats(void) {
  fprintf(stderr, "boehm: collections=%lu heap_bytes=%lu total_allocated=%lu\n",
          (unsigned long)GC_get_gc_no(), (unsigned long)GC_get_heap_size(),
          (unsigned long)GC_get_total_bytes());
}

#define BT_BACKEND_NAME        "boehm"
#define BT_RUN_FN              bt_run_boehm
#define BT_MALLOC(size)        GC_MALLOC(size)        /* zeroed, scanned */
#define BT_MALLOC_ATOMIC(size) GC_MALLOC_ATOMIC(size) /* not scanned */
#define BT_COLLECTED           1
#define BT_INIT()              GC_INIT()
#define BT_PRINT_STATS()       bt_boehm_print_stats()
#include "bt_pointers.h"
