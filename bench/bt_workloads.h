/* bt_workloads.h: every workload, and the switch that picks one. A backend file defines its
 * allocator operations (see each workload header for the list) and then includes this. */
#ifndef HF_BENCH_BT_WORKLOADS_H
#define HF_BENCH_BT_WORKLOADS_H

#include "bt_workload.h"
#include "bt_wl_bintrees.h"
#include "bt_wl_graph.h"
#include "bt_wl_threads.h"

/* Runs the workload opt->workload names. */
static void bt_run_workload(bt_ctx_t *c, const bt_options_t *opt, bt_result_t *res) {
  switch (opt->workload) {
    case BT_WL_GCBENCH:
      bt_wl_gcbench(c, opt, res);
      break;
    case BT_WL_BINTREES:
      bt_wl_bintrees(c, opt, res);
      break;
    case BT_WL_GRAPH:
      bt_wl_graph(c, opt, res);
      break;
    case BT_WL_THREADS:
      bt_wl_threads(c, opt, res);
      break;
    default:
      bt_die(BT_BACKEND_NAME, "unknown workload");
  }
}

#endif /* HF_BENCH_BT_WORKLOADS_H */
