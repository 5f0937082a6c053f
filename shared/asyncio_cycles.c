// SPDX-License-Identifier: MIT
// The wait-for cycles of an asyncio snapshot (see asyncio_waits.h): tasks that await each
// other, or hold the locks each other waits for (a deadlock), and the locks of each.
#include <stdlib.h>

#include "asyncio_waits.h"

/* The lock each task of a cycle waits for held by another task of it (asyncio.h). */
static ADBG_MUST_CHECK struct adbg_error *cycle_locks(struct adbg_asyncio_snapshot *snap)
{
	for (size_t i = 0; i < snap->ncycles; i++) {
		struct adbg_cycle *cy = &snap->cycles[i];

		for (size_t k = 0; k < cy->n; k++) {
			const struct adbg_task *t = adbg_asyncio_find(snap, cy->ids[k]);
			const struct adbg_wait_detail *w = t ? adbg_asyncio_wait(snap, t) : NULL;
			bool in_cycle = false;

			for (uint32_t h = 0; w && h < w->nholders && !in_cycle; h++)
				for (size_t j = 0; j < cy->n; j++)
					in_cycle |= snap->holders[w->holders_at + h] == cy->ids[j];
			if (!in_cycle)
				continue;
			if (!cy->locks) {
				cy->locks = calloc(cy->n, sizeof(uint64_t));
				if (!cy->locks)
					return &adbg_error_nomem;
			}
			cy->locks[k] = w->primitive;
		}
	}
	return NULL;
}

/*
 * Cycles: strongly connected components of size > 1 of the wait-for graph (Tarjan,
 * iterative), whose edges are the awaited_by edges and the lock edges.
 */
struct adbg_error *adbg_asyncio_find_cycles(struct adbg_asyncio_snapshot *snap)
{
	size_t n = snap->ntasks, counter = 0, sp = 0, csp = 0;
	size_t *idx = malloc(n * sizeof(size_t)), *low = malloc(n * sizeof(size_t));
	size_t *stack = malloc(n * sizeof(size_t));
	uint8_t *on = calloc(n ? n : 1, 1);
	// call stack of (node, next edge) for the iterative DFS
	size_t *cs_node = malloc(n * sizeof(size_t)), *cs_edge = malloc(n * sizeof(size_t));
	struct adbg_error *err = NULL;

	if (!n)
		goto out;
	if (!idx || !low || !stack || !on || !cs_node || !cs_edge) {
		err = &adbg_error_nomem;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = SIZE_MAX;
	// Edge u -> v when u is awaited by v, or holds a lock v waits for (the direction does
	// not change the SCCs).
	for (size_t root = 0; root < n; root++) {
		if (idx[root] != SIZE_MAX)
			continue;
		cs_node[csp] = root;
		cs_edge[csp++] = 0;
		idx[root] = low[root] = counter++;
		stack[sp++] = root;
		on[root] = 1;
		while (csp) {
			size_t u = cs_node[csp - 1];
			struct adbg_task *tu = &snap->tasks[u];

			const struct adbg_lock_edge *le;
			// u's waiters: its awaiters, then the waiters of locks it holds.
			size_t nle = adbg_asyncio_lock_waiters(snap, tu->id, &le);

			if (cs_edge[csp - 1] < tu->nawaited_by + nle) {
				size_t e = cs_edge[csp - 1]++;
				struct adbg_task *tv = adbg_asyncio_find(
					snap, e < tu->nawaited_by ? tu->awaited_by[e]
								  : le[e - tu->nawaited_by].waiter);
				size_t v;

				if (!tv)
					continue;
				v = (size_t)(tv - snap->tasks);
				if (idx[v] == SIZE_MAX) {
					idx[v] = low[v] = counter++;
					stack[sp++] = v;
					on[v] = 1;
					cs_node[csp] = v;
					cs_edge[csp++] = 0;
				} else if (on[v] && idx[v] < low[u]) {
					low[u] = idx[v];
				}
				continue;
			}
			csp--;
			if (csp && low[u] < low[cs_node[csp - 1]])
				low[cs_node[csp - 1]] = low[u];
			if (low[u] == idx[u]) {
				size_t start = sp;
				struct adbg_cycle *nc;

				do {
					on[stack[--start]] = 0;
				} while (stack[start] != u);
				if (sp - start > 1) {
					nc = realloc(snap->cycles,
						     (snap->ncycles + 1) * sizeof(*nc));
					if (!nc) {
						err = &adbg_error_nomem;
						goto out;
					}
					snap->cycles = nc;
					nc[snap->ncycles].n = sp - start;
					nc[snap->ncycles].locks = NULL;
					nc[snap->ncycles].ids =
						malloc((sp - start) * sizeof(uint64_t));
					if (!nc[snap->ncycles].ids) {
						err = &adbg_error_nomem;
						goto out;
					}
					for (size_t k = start; k < sp; k++)
						nc[snap->ncycles].ids[k - start] =
							snap->tasks[stack[k]].id;
					snap->ncycles++;
				}
				sp = start;
			}
		}
	}
	if (!err)
		err = cycle_locks(snap);
out:
	free(idx);
	free(low);
	free(stack);
	free(on);
	free(cs_node);
	free(cs_edge);
	return err;
}
