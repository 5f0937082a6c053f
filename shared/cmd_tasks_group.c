// SPDX-License-Identifier: MIT
// `tasks --group-by coro|state|thread`: one summary row per coroutine, state or thread, with
// the number of tasks and how many are in each state, as text or JSON (aiodbg/1).
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"
#include "cmd.h"
#include "graph.h"
#include "render.h"
#include "session.h"

#define NSTATES ADBG_NSHOWN

// In ADBG_SHOWN_* order.
static const char *const state_names[NSTATES] = {"running", "pending", "cancelling", "cancelled",
						 "finished"};

static const char *const key_names[] = {"coro", "state", "thread"};

struct group {
	/** ADBG_GROUP_CORO: the coroutine's qualname (NULL: unknown); borrowed. */
	const char *coro;
	/** ADBG_GROUP_THREAD: the thread (0: none known); ADBG_GROUP_STATE: the state. */
	int num;
	size_t count;
	size_t states[NSTATES];
};

/* The state a task is counted in: the STATE column of `tasks`, a cancelling one apart. */
static int task_state(const struct adbg_task *t)
{
	return adbg_task_shown_state(t);
}

struct adbg_error *adbg_tasks_group_option(struct adbg_cmd_ctx *c, int *ret)
{
	for (int i = 1; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--group-by") != 0)
			continue;
		if (i + 1 >= c->argc)
			return adbg_cmd_usage_error(c, "--group-by takes coro, state or thread");
		for (int k = 0; k < 3; k++) {
			if (strcmp(c->argv[i + 1], key_names[k]) != 0)
				continue;
			for (int j = 0; j < 2; j++)
				free(c->argv[i + j]);
			memmove(&c->argv[i], &c->argv[i + 2],
				(size_t)(c->argc - i - 1) * sizeof(char *));
			c->argc -= 2;
			*ret = k;
			return NULL;
		}
		return adbg_cmd_usage_error(c, "--group-by takes coro, state or thread");
	}
	*ret = -1;
	return NULL;
}

static bool same_group(const struct group *g, const struct adbg_task *t, int key)
{
	if (key == ADBG_GROUP_CORO)
		return g->coro == t->coro || (g->coro && t->coro && strcmp(g->coro, t->coro) == 0);
	if (key == ADBG_GROUP_THREAD)
		return g->num == t->thread;
	return g->num == task_state(t);
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->coro != y->coro)
		return !x->coro ? 1 : !y->coro ? -1 : strcmp(x->coro, y->coro);
	return x->num < y->num ? -1 : x->num > y->num;
}

/*
 * The groups, largest first. Coroutine names are interned by the session's code cache,
 * so most lookups end at the pointer comparison; an open-addressing table keyed by the
 * pointer keeps a million tasks linear.
 */
static ADBG_MUST_CHECK struct adbg_error *build_groups(const struct adbg_asyncio_snapshot *snap,
						       int key, struct group **ret, size_t *nret)
{
	size_t cap = 64, n = 0, hsize = 256;
	struct group *g = malloc(cap * sizeof(*g));
	size_t *slot = calloc(hsize, sizeof(*slot)); // group index + 1

	if (!g || !slot)
		goto nomem;
	for (size_t i = 0; i < snap->ntasks; i++) {
		const struct adbg_task *t = &snap->tasks[i];
		uintptr_t h = key == ADBG_GROUP_CORO	 ? (uintptr_t)t->coro >> 4
			      : key == ADBG_GROUP_THREAD ? (uintptr_t)t->thread
							 : (uintptr_t)task_state(t);
		size_t at = (h * 0x9E3779B97F4A7C15ull) & (hsize - 1), gi = 0;

		for (; slot[at]; at = (at + 1) & (hsize - 1)) {
			if (same_group(&g[slot[at] - 1], t, key)) {
				gi = slot[at];
				break;
			}
		}
		// Equal names at different addresses (a name read twice) end in one group.
		if (!gi && key == ADBG_GROUP_CORO && t->coro)
			for (size_t j = 0; j < n && !gi; j++)
				if (same_group(&g[j], t, key))
					gi = j + 1;
		if (!gi) {
			if (n == cap) {
				struct group *bigger = realloc(g, 2 * cap * sizeof(*g));

				if (!bigger)
					goto nomem;
				g = bigger;
				cap *= 2;
			}
			g[n] = (struct group){.coro = key == ADBG_GROUP_CORO ? t->coro : NULL,
					      .num = key == ADBG_GROUP_THREAD  ? t->thread
						     : key == ADBG_GROUP_STATE ? task_state(t)
									       : 0};
			gi = ++n;
			slot[at] = gi;
			if (2 * n > hsize) {
				// Grow: rehash every group.
				size_t *bigger = calloc(2 * hsize, sizeof(*bigger));

				if (!bigger)
					goto nomem;
				free(slot);
				slot = bigger;
				hsize *= 2;
				for (size_t j = 0; j < n; j++) {
					uintptr_t hj = key == ADBG_GROUP_CORO
							       ? (uintptr_t)g[j].coro >> 4
							       : (uintptr_t)g[j].num;
					size_t a = (hj * 0x9E3779B97F4A7C15ull) & (hsize - 1);

					while (slot[a])
						a = (a + 1) & (hsize - 1);
					slot[a] = j + 1;
				}
			}
		}
		g[gi - 1].count++;
		g[gi - 1].states[task_state(t)]++;
	}
	free(slot);
	if (n > 1)
		qsort(g, n, sizeof(*g), group_cmp);
	*ret = g;
	*nret = n;
	return NULL;
nomem:
	free(g);
	free(slot);
	return &adbg_error_nomem;
}

static ADBG_MUST_CHECK struct adbg_error *emit_json(struct adbg_cmd_ctx *c,
						    const struct adbg_asyncio_snapshot *snap,
						    const struct group *g, size_t n, int key)
{
	json_t *doc = adbg_json_document(c->s);
	json_t *arr = json_array();
	char *text;

	json_object_set_new(doc, "group_by", json_string(key_names[key]));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object(), *st = json_object();

		if (key == ADBG_GROUP_CORO)
			json_object_set_new(o, "key",
					    g[i].coro ? json_string(g[i].coro) : json_null());
		else if (key == ADBG_GROUP_THREAD)
			json_object_set_new(o, "key",
					    g[i].num ? json_integer(g[i].num) : json_null());
		else
			json_object_set_new(o, "key", json_string(state_names[g[i].num]));
		json_object_set_new(o, "count", json_integer((json_int_t)g[i].count));
		for (int s = 0; s < NSTATES; s++)
			json_object_set_new(st, state_names[s],
					    json_integer((json_int_t)g[i].states[s]));
		json_object_set_new(o, "states", st);
		json_array_append_new(arr, o);
	}
	json_object_set_new(doc, "groups", arr);
	json_object_set_new(doc, "total", json_integer((json_int_t)snap->ntasks));
	if (c->s->nwarnings) {
		json_t *w = json_array();

		for (size_t i = 0; i < c->s->nwarnings; i++)
			json_array_append_new(w, json_string(c->s->warnings[i]));
		json_object_set_new(doc, "warnings", w);
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		return &adbg_error_nomem;
	fprintf(c->out, "%s\n", text);
	free(text);
	return ferror(c->out) ? adbg_error_create(ADBG_ERR_OS, "writing output failed") : NULL;
}

static void render_text(struct adbg_cmd_ctx *c, const struct adbg_asyncio_snapshot *snap,
			const struct group *g, size_t n, int key)
{
	static const char *const heads[NSTATES] = {"RUNNING", "PENDING", "CANCELLING", "CANCELLED",
						   "FINISHED"};
	bool per_state = key != ADBG_GROUP_STATE;

	adbg_text_cell(c, "COUNT", 7, ADBG_COLOR_BOLD, false);
	for (int s = 0; per_state && s < NSTATES; s++)
		adbg_text_cell(c, heads[s], (int)strlen(heads[s]), ADBG_COLOR_BOLD, false);
	adbg_text_cell(c,
		       key == ADBG_GROUP_CORO	  ? "COROUTINE"
		       : key_names[key][0] == 's' ? "STATE"
						  : "THREAD",
		       0, ADBG_COLOR_BOLD, true);
	fputc('\n', c->out);
	for (size_t i = 0; i < n; i++) {
		char num[32];

		fprintf(c->out, "%7zu ", g[i].count);
		for (int s = 0; per_state && s < NSTATES; s++)
			fprintf(c->out, "%*zu ", (int)strlen(heads[s]), g[i].states[s]);
		if (key == ADBG_GROUP_CORO) {
			adbg_text_cell(c, g[i].coro ? g[i].coro : "?", 0, -1, true);
		} else if (key == ADBG_GROUP_THREAD) {
			snprintf(num, sizeof(num), "%d", g[i].num);
			adbg_text_cell(c, g[i].num ? num : "-", 0, -1, true);
		} else {
			adbg_text_cell(c, state_names[g[i].num], 0, -1, true);
		}
		fputc('\n', c->out);
	}
	fprintf(c->out, "%zu task%s in %zu group%s\n", snap->ntasks, snap->ntasks == 1 ? "" : "s",
		n, n == 1 ? "" : "s");
}

struct adbg_error *adbg_tasks_render_groups(struct adbg_cmd_ctx *c,
					    const struct adbg_asyncio_snapshot *snap, int key)
{
	struct group *g;
	size_t n;
	struct adbg_error *err = build_groups(snap, key, &g, &n);

	if (err)
		return err;
	if (c->opts.json) {
		err = emit_json(c, snap, g, n, key);
	} else {
		render_text(c, snap, g, n, key);
		adbg_text_warnings(c);
	}
	free(g);
	return err;
}
