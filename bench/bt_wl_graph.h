/* bt_wl_graph.h: workload 3, a large long-lived graph mutated at random, written once.
 *
 * Shape (N = --depth): G = 2^(N+1) graph nodes (GCBench's 32-byte node: left, right, an int32 id)
 * are allocated and kept in a table; every node's left edge points to a random graph node. Then
 * 8G mutations, each on a random node a, chosen by one PRNG shared by every backend:
 *   - half rewire: a.left = a random graph node (a store of an old object into an old object:
 *     the write barrier's fast path);
 *   - half replace a's chain: a fresh list of 1 to 3 nodes (linked through left, ids consecutive)
 *     becomes a.right, and the old list is dropped (a store of a young object into an old one:
 *     the barrier's slow path and the remembered set; chains that survived an eden collection
 *     and are then replaced are old garbage, which only full collections free).
 * At the end every graph node's id, left edge and chain are compared with a shadow model kept in
 * malloc'd arrays (9 bytes per node, the same for every backend), and folded into the checksum.
 * G = 512 Ki at N=18: 16 MiB of graph nodes plus about as much in chains, 4 Mi mutations.
 *
 * Include this from a backend file after defining (besides the bt_workload.h operations):
 *   uint32_t bt_node_id(const bt_node_t *), void bt_node_set_id(bt_node_t *, uint32_t)
 *   void bt_node_free(bt_ctx_t *, bt_node_t *)   free one node, or nothing for a GC
 *   bt_table_t *bt_table_new(bt_ctx_t *, size_t n)  n node references, all NULL
 *   bt_node_t *bt_table_get(const bt_table_t *, size_t i)
 *   void bt_table_set(bt_ctx_t *, bt_table_t *, size_t i, bt_node_t *)
 *   void bt_table_root_push(bt_ctx_t *, bt_table_t **slot), bt_table_drop(bt_ctx_t *, bt_table_t *)
 */
#ifndef HF_BENCH_BT_WL_GRAPH_H
#define HF_BENCH_BT_WL_GRAPH_H

#include <stdio.h>
#include <stdlib.h>

#include "bt_common.h"

#define BT_GRAPH_MUTATIONS_PER_NODE 8u
#define BT_GRAPH_MAX_CHAIN          3u

/* A uniform index below n from 32 random bits, without a division. */
static inline size_t bt_graph_pick(uint64_t r, size_t n) {
  return (size_t)(((r >> 32) * (uint64_t)n) >> 32);
}

/* Frees a chain node by node (manual backends; nothing for a GC). */
static void bt_graph_chain_drop(bt_ctx_t *c, bt_node_t *head) {
  while (head != NULL) {
    bt_node_t *next = bt_left(head);
    bt_node_free(c, head);
    head = next;
  }
}

static void bt_wl_graph(bt_ctx_t *c, const bt_options_t *opt, bt_result_t *res) {
  const size_t g = (size_t)1 << (opt->depth + 1);
  const uint64_t mutations = (uint64_t)g * BT_GRAPH_MUTATIONS_PER_NODE;
  /* The shadow model: what each node's left edge, chain head id and chain length must be. */
  uint32_t *shadow_left = malloc(g * sizeof *shadow_left);
  uint32_t *shadow_head = calloc(g, sizeof *shadow_head);
  uint8_t *shadow_len = calloc(g, sizeof *shadow_len);
  if (shadow_left == NULL || shadow_head == NULL || shadow_len == NULL)
    bt_die(BT_BACKEND_NAME, "out of memory for the shadow model");
  uint64_t rng = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)g, t_start, c_start;
  bt_clock_start(&t_start, &c_start);

  bt_table_t *table = bt_table_new(c, g);
  bt_table_root_push(c, &table);
  for (size_t i = 0; i < g; i++) {
    bt_node_t *node = bt_node_new(c, NULL, NULL);
    bt_node_set_id(node, (uint32_t)i);
    bt_table_set(c, table, i, node); /* reachable before the next allocation */
  }
  for (size_t i = 0; i < g; i++) {
    size_t b = bt_graph_pick(bt_rand(&rng), g);
    bt_set_left(c, bt_table_get(table, i), bt_table_get(table, b));
    shadow_left[i] = (uint32_t)b;
  }
  res->work = g;

  uint32_t next_id = (uint32_t)g;
  bt_node_t *head = NULL;
  bt_root_push(c, &head);
  for (uint64_t k = 0; k < mutations; k++) {
    const uint64_t r = bt_rand(&rng);
    const size_t a = bt_graph_pick(r, g);
    if ((r & 1) == 0) {
      const size_t b = bt_graph_pick(bt_rand(&rng), g);
      bt_set_left(c, bt_table_get(table, a), bt_table_get(table, b));
      shadow_left[a] = (uint32_t)b;
      continue;
    }
    const unsigned len = 1 + (unsigned)((r >> 1) & 0xffff) % BT_GRAPH_MAX_CHAIN;
    head = NULL;
    for (unsigned j = 0; j < len; j++) {
      bt_node_t *node = bt_node_new(c, head, NULL); /* head is rooted */
      bt_node_set_id(node, next_id++);
      head = node;
    }
    bt_node_t *owner = bt_table_get(table, a);
    bt_node_t *old = bt_right(owner);
    bt_set_right(c, owner, head);
    bt_graph_chain_drop(c, old);
    shadow_head[a] = next_id - 1;
    shadow_len[a] = (uint8_t)len;
    res->work += len;
  }
  head = NULL;
  bt_root_pop(c, 1);

  /* Check every node against the model; the checksum folds the model in, the same way. */
  uint64_t sum = 0, expected = 0;
  bool ok = true;
  for (size_t i = 0; i < g; i++) {
    const bt_node_t *node = bt_table_get(table, i);
    const bt_node_t *left = bt_left(node);
    uint64_t chain_len = 0, chain_ids = 0;
    uint32_t want = shadow_head[i];
    for (const bt_node_t *p = bt_right(node); p != NULL; p = bt_left(p)) {
      ok &= bt_node_id(p) == want--;
      chain_ids += bt_node_id(p);
      chain_len++;
    }
    ok &= bt_node_id(node) == (uint32_t)i && left != NULL;
    sum = bt_mix(sum, left != NULL ? bt_node_id(left) : UINT32_MAX);
    sum = bt_mix(sum, chain_len);
    sum = bt_mix(sum, chain_ids);
    const uint64_t len = shadow_len[i], head_id = shadow_head[i];
    expected = bt_mix(expected, shadow_left[i]);
    expected = bt_mix(expected, len);
    expected = bt_mix(expected, len * head_id - len * (len - 1) / 2);
  }
  bt_clock_stop(res, t_start, c_start);

  for (size_t i = 0; i < g; i++) {
    bt_graph_chain_drop(c, bt_right(bt_table_get(table, i)));
    bt_node_free(c, bt_table_get(table, i));
  }
  bt_root_pop(c, 1);
  bt_table_drop(c, table);
  free(shadow_left);
  free(shadow_head);
  free(shadow_len);
  if (opt->verbose)
    fprintf(stderr, "%s: graph of %zu nodes, %llu mutations, %llu objects allocated\n",
            BT_BACKEND_NAME, g, (unsigned long long)mutations, (unsigned long long)res->work);
  res->checksum = sum;
  res->expected = expected;
  res->ok = ok && sum == expected;
}

#endif /* HF_BENCH_BT_WL_GRAPH_H */
