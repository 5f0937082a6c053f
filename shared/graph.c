// SPDX-License-Identifier: MIT
// The await graph as Graphviz dot text: clusters per loop, labelled and coloured task
// nodes, collapsed identical siblings, cycles in red with a caption, a legend (graph.h).
#include "graph.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"
#include "runtime.h"

/* Fill colours by state; the legend shows the same. */
static const struct {
	const char *what, *fill;
} colors[] = {
	{"running", "#b9ecb9"},	  {"pending", "#d6e6fb"},  {"cancelling", "#ffe2a0"},
	{"cancelled", "#f5b4b4"}, {"finished", "#e2e2e2"},
};
#define CYCLE_COLOR "#d00000"

int adbg_task_shown_state(const struct adbg_task *t)
{
	if (t->state == ADBG_TASK_CANCELLED)
		return ADBG_SHOWN_CANCELLED;
	if (t->state == ADBG_TASK_FINISHED)
		return ADBG_SHOWN_FINISHED;
	if (t->running)
		return ADBG_SHOWN_RUNNING;
	return t->cancelling ? ADBG_SHOWN_CANCELLING : ADBG_SHOWN_PENDING;
}

/* The colours are indexed by the shown state. */
static int color_of(const struct adbg_task *t)
{
	return adbg_task_shown_state(t);
}

size_t adbg_utf8_seq_len(const unsigned char *p)
{
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2)
		n = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((p[0] & 0xf8) == 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * A target's string inside a double-quoted dot string: quotes and backslashes escaped (so
 * that no escape of dot's, \n \l \N, comes from the target), control characters and bytes
 * that are not UTF-8 (dot rejects them) as '?'.
 */
static void dot_text(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "?");

	while (*p) {
		size_t n = adbg_utf8_seq_len(p);

		// U+2028 and U+2029 would break the line of a label too.
		if ((n == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    (n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))) {
			fputc('?', out);
		} else if (n == 1 && (*p == '"' || *p == '\\')) {
			fputc('\\', out);
			fputc(*p, out);
		} else if (n) {
			fwrite(p, 1, n, out);
		} else {
			fputc('?', out);
			n = 1;
		}
		p += n;
	}
}

static const char *basename_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path ? path : "?";
}

#define NO_IDX ((size_t)-1)

struct graph {
	const struct adbg_asyncio_snapshot *snap;
	const struct adbg_graph_opts *opts;
	/** per task: tasks it awaits, resolved waiters, the only waiter (or NO_IDX) */
	uint32_t *nchild, *nwaiter;
	size_t *parent;
	/** per task: its cycle + 1 (0: in none) */
	uint32_t *cycle;
	/** per task: the first task of its collapsed group (itself when drawn alone) */
	size_t *rep;
	/** per task: the size of the group it represents (1: alone) */
	uint32_t *count;
};

static void graph_deinit(struct graph *g)
{
	free(g->nchild);
	free(g->nwaiter);
	free(g->parent);
	free(g->cycle);
	free(g->rep);
	free(g->count);
}

/*
 * What a task awaits without the time its deadline leaves: siblings that sleep the same
 * sleep, started a moment apart, are the same (", 3599.9 s left (sleep)" differs).
 */
static const char *await_kind(const struct adbg_asyncio_snapshot *snap, const struct adbg_task *t,
			      char *buf, size_t len)
{
	char *cut;

	adbg_task_awaiting_text(snap, t, buf, len);
	cut = strstr(buf, " s left (");
	if (cut) {
		while (cut > buf && !(cut[0] == ',' && cut[1] == ' '))
			cut--;
		*cut = '\0';
	}
	cut = strstr(buf, ", deadline ");
	if (cut)
		*cut = '\0';
	return buf;
}

/* The sibling signature of task i, compared field by field (strings by content). */
static int sig_cmp(const struct graph *g, size_t a, size_t b)
{
	const struct adbg_task *x = &g->snap->tasks[a], *y = &g->snap->tasks[b];
	const struct adbg_frame *fx, *fy;
	char bx[256], by[256];
	int d;

	if (g->parent[a] != g->parent[b])
		return g->parent[a] < g->parent[b] ? -1 : 1;
	if (x->loop != y->loop)
		return x->loop < y->loop ? -1 : 1;
	if (color_of(x) != color_of(y))
		return color_of(x) - color_of(y);
	d = strcmp(x->coro ? x->coro : "", y->coro ? y->coro : "");
	if (d)
		return d;
	d = strcmp(adbg_task_cancel_text(x, bx, sizeof(bx)),
		   adbg_task_cancel_text(y, by, sizeof(by)));
	if (d)
		return d;
	d = strcmp(await_kind(g->snap, x, bx, sizeof(bx)), await_kind(g->snap, y, by, sizeof(by)));
	if (d)
		return d;
	// The same suspension point: every frame of the stack.
	if (x->stack.n != y->stack.n)
		return x->stack.n < y->stack.n ? -1 : 1;
	for (size_t k = 0; k < x->stack.n; k++) {
		fx = &x->stack.frames[k];
		fy = &y->stack.frames[k];
		d = strcmp(fx->function, fy->function);
		if (!d)
			d = strcmp(fx->file ? fx->file : "", fy->file ? fy->file : "");
		if (!d)
			d = fx->line - fy->line;
		if (d)
			return d;
	}
	return 0;
}

static int sort_cmp(const void *pa, const void *pb, void *g)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int d = sig_cmp(g, a, b);

	return d ? d : (a < b ? -1 : a > b);
}

/*
 * Which tasks are drawn alone and which as a group: a leaf (awaits no task) with at most
 * one waiter, outside every cycle and not running, goes with its identical siblings;
 * groups smaller than collapse_min are drawn one by one.
 */
static ADBG_MUST_CHECK struct adbg_error *collapse(struct graph *g)
{
	const struct adbg_asyncio_snapshot *snap = g->snap;
	size_t n = snap->ntasks, m = 0, *idx;
	unsigned min = g->opts ? g->opts->collapse_min : 0;

	for (size_t i = 0; i < n; i++) {
		g->rep[i] = i;
		g->count[i] = 1;
	}
	if (min < 2)
		return NULL;
	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return &adbg_error_nomem;
	for (size_t i = 0; i < n; i++)
		if (!g->nchild[i] && g->nwaiter[i] <= 1 && !g->cycle[i] && !snap->tasks[i].running)
			idx[m++] = i;
	qsort_r(idx, m, sizeof(*idx), sort_cmp, g);
	for (size_t i = 0; i < m;) {
		size_t j = i + 1;

		while (j < m && sig_cmp(g, idx[i], idx[j]) == 0)
			j++;
		if (j - i >= min) {
			for (size_t k = i; k < j; k++)
				g->rep[idx[k]] = idx[i];
			g->count[idx[i]] = (uint32_t)(j - i);
		}
		i = j;
	}
	free(idx);
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *graph_build(struct graph *g)
{
	const struct adbg_asyncio_snapshot *snap = g->snap;
	size_t n = snap->ntasks, alloc = n ? n : 1;

	g->nchild = calloc(alloc, sizeof(*g->nchild));
	g->nwaiter = calloc(alloc, sizeof(*g->nwaiter));
	g->parent = calloc(alloc, sizeof(*g->parent));
	g->cycle = calloc(alloc, sizeof(*g->cycle));
	g->rep = calloc(alloc, sizeof(*g->rep));
	g->count = calloc(alloc, sizeof(*g->count));
	if (!g->nchild || !g->nwaiter || !g->parent || !g->cycle || !g->rep || !g->count)
		return &adbg_error_nomem;
	for (size_t i = 0; i < n; i++) {
		const struct adbg_task *t = &snap->tasks[i];

		g->parent[i] = NO_IDX;
		for (size_t j = 0; j < t->nawaited_by; j++) {
			const struct adbg_task *w = adbg_asyncio_find(snap, t->awaited_by[j]);

			if (!w)
				continue;
			g->nchild[w - snap->tasks]++;
			g->parent[i] = g->nwaiter[i]++ ? NO_IDX : (size_t)(w - snap->tasks);
		}
	}
	for (size_t c = 0; c < snap->ncycles; c++)
		for (size_t j = 0; j < snap->cycles[c].n; j++) {
			const struct adbg_task *t = adbg_asyncio_find(snap, snap->cycles[c].ids[j]);

			if (t && !g->cycle[t - snap->tasks])
				g->cycle[t - snap->tasks] = (uint32_t)c + 1;
		}
	return collapse(g);
}

static void node_id(FILE *out, const struct graph *g, size_t i)
{
	size_t r = g->rep[i];

	if (g->count[r] > 1)
		fprintf(out, "\"g%#" PRIx64 "\"", g->snap->tasks[r].id);
	else
		fprintf(out, "\"%#" PRIx64 "\"", g->snap->tasks[r].id);
}

/* One task's node (or its group's): name, state, cancellation, where, what it awaits. */
static void write_node(FILE *out, const struct graph *g, size_t i)
{
	const struct adbg_task *t = &g->snap->tasks[i];
	const struct adbg_frame *f = adbg_task_where(t);
	const struct adbg_task *w =
		t->waiting_on.task ? adbg_asyncio_find(g->snap, t->waiting_on.task) : NULL;
	char cbuf[128], abuf[256];
	const char *aw = adbg_task_awaiting_text(g->snap, t, abuf, sizeof(abuf));

	fputs("    ", out);
	node_id(out, g, i);
	fputs(" [label=\"", out);
	if (g->count[i] > 1) {
		fprintf(out, "×%" PRIu32 " ", g->count[i]);
		dot_text(out, t->coro ? t->coro : t->name);
		if (t->has_waiting_on) {
			fputs(" (", out);
			dot_text(out, await_kind(g->snap, t, abuf, sizeof(abuf)));
			fputc(')', out);
		}
	} else {
		dot_text(out, t->name);
		if (t->name_truncated)
			fputs("…", out);
	}
	fprintf(out, "\\n%s", t->running ? "running" : adbg_task_state_name(t->state));
	adbg_task_cancel_text(t, cbuf, sizeof(cbuf));
	if (strcmp(cbuf, "-") != 0 && t->state != ADBG_TASK_CANCELLED) {
		fputs(", ", out);
		dot_text(out, cbuf);
	}
	if (f) {
		fputs("\\nat ", out);
		dot_text(out, f->function);
		fputc(' ', out);
		dot_text(out, basename_of(f->file));
		fprintf(out, ":%d", f->line);
	}
	// A task it awaits is an edge; anything else is said in the node.
	if (t->has_waiting_on && !w && g->count[i] == 1) {
		fputs("\\nawaits ", out);
		dot_text(out, aw);
	}
	fprintf(out, "\", fillcolor=\"%s\"", colors[color_of(t)].fill);
	if (g->cycle[i])
		fputs(", color=\"" CYCLE_COLOR "\", penwidth=2.5", out);
	if (g->count[i] > 1)
		fputs(", peripheries=2", out);
	fputs("];\n", out);
}

static const char *thread_name(const struct adbg_graph_opts *o, int tid)
{
	for (size_t i = 0; o && o->rt && i < o->rt->nthreads; i++)
		if (o->rt->threads[i].tid == tid)
			return o->rt->threads[i].name;
	return NULL;
}

/* The tasks of one loop (loop 0 with others: tasks whose loop is not in the list). */
static size_t write_cluster(FILE *out, const struct graph *g, size_t k, const struct adbg_loop *l)
{
	const struct adbg_asyncio_snapshot *snap = g->snap;
	size_t drawn = 0;

	fprintf(out, "  subgraph cluster_%zu {\n    label=\"", k);
	if (l && l->thread) {
		const char *name = thread_name(g->opts, l->thread);

		fprintf(out, "thread %d", l->thread);
		if (name) {
			fputs(" \\\"", out);
			dot_text(out, name);
			fputs("\\\"", out);
		}
		fputs(", ", out);
	}
	if (l) {
		fputs("loop ", out);
		dot_text(out, l->type ? l->type : "?");
		fprintf(out, " %#" PRIx64 "%s", l->id, l->running ? "" : " (not running)");
	} else {
		fputs("tasks of no known loop", out);
	}
	fputs("\";\n    style=\"rounded,dashed\"; color=\"#808080\"; fontcolor=black; "
	      "fontsize=11;\n",
	      out);
	for (size_t i = 0; i < snap->ntasks; i++) {
		const struct adbg_task *t = &snap->tasks[i];
		bool mine = false;

		if (g->rep[i] != i)
			continue;
		if (l) {
			mine = t->loop == l->id;
		} else {
			mine = true;
			for (size_t j = 0; j < snap->nloops && mine; j++)
				mine = t->loop != snap->loops[j].id;
		}
		if (!mine)
			continue;
		write_node(out, g, i);
		drawn++;
	}
	fputs("  }\n", out);
	return drawn;
}

/* A target's string in an HTML-like label of dot: markup characters as entities. */
static void dot_html(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "?");

	while (*p) {
		size_t n = adbg_utf8_seq_len(p);

		if (!n || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			fputc('?', out);
			n = 1;
		} else if (*p == '&') {
			fputs("&amp;", out);
		} else if (*p == '<') {
			fputs("&lt;", out);
		} else if (*p == '>') {
			fputs("&gt;", out);
		} else if (*p == '"') {
			fputs("&quot;", out);
		} else if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
			   (p[2] == 0xa8 || p[2] == 0xa9)) {
			fputc('?', out);
		} else {
			fwrite(p, 1, n, out);
		}
		p += n;
	}
}

/*
 * The graph's label, above it: the task count, the cycles in await order (each closed on
 * its first task), and the legend of colours and styles. A label, not nodes: a legend
 * node would take a rank of the layout and push the tasks apart.
 */
static void write_label(FILE *out, const struct adbg_asyncio_snapshot *snap)
{
	fprintf(out,
		"  labelloc=t; labeljust=l;\n  label=<<table border=\"0\" cellborder=\"0\" "
		"cellspacing=\"2\" cellpadding=\"1\">\n  <tr><td align=\"left\">%zu "
		"task%s</td></tr>\n",
		snap->ntasks, snap->ntasks == 1 ? "" : "s");
	if (snap->ncycles)
		fprintf(out,
			"  <tr><td align=\"left\"><font color=\"" CYCLE_COLOR "\">DEADLOCK: %zu "
			"cycle%s of tasks waiting on each other (red):</font></td></tr>\n",
			snap->ncycles, snap->ncycles == 1 ? "" : "s");
	for (size_t c = 0; c < snap->ncycles; c++) {
		const struct adbg_cycle *cy = &snap->cycles[c];

		fputs("  <tr><td align=\"left\"><font color=\"" CYCLE_COLOR "\">", out);
		for (size_t j = 0; j <= cy->n && cy->n; j++) {
			const struct adbg_task *t = adbg_asyncio_find(snap, cy->ids[j % cy->n]);

			fputs(j ? " → " : "   ", out);
			dot_html(out, t ? t->name : "?");
		}
		fputs("</font></td></tr>\n", out);
	}
	fputs("  <tr><td align=\"left\"><table border=\"0\" cellborder=\"1\" cellspacing=\"3\" "
	      "cellpadding=\"2\"><tr><td border=\"0\"><font point-size=\"9\">legend</font></td>",
	      out);
	for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++)
		fprintf(out,
			"<td bgcolor=\"%s\" style=\"rounded\"><font "
			"point-size=\"9\">%s</font></td>",
			colors[i].fill, colors[i].what);
	fputs("<td color=\"" CYCLE_COLOR "\" style=\"rounded\"><font point-size=\"9\">in a cycle: "
	      "deadlock</font></td><td style=\"rounded\"><font point-size=\"9\">×N identical "
	      "siblings</font></td><td border=\"0\"><font point-size=\"9\">edge: waiter → "
	      "awaited</font></td></tr></table></td></tr>\n  </table>>;\n",
	      out);
}

struct adbg_error *adbg_graph_dot(FILE *out, const struct adbg_asyncio_snapshot *snap,
				  const struct adbg_graph_opts *opts, size_t *nodes_ret)
{
	struct graph g = {.snap = snap, .opts = opts};
	struct adbg_error *err = graph_build(&g);
	size_t drawn = 0;

	if (err) {
		graph_deinit(&g);
		return err;
	}
	fputs("digraph asyncio {\n  rankdir=LR; fontname=\"Helvetica\"; fontsize=12; "
	      "newrank=true;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", "
	      "fontsize=10];\n  edge [color=\"#505050\", arrowsize=0.7, fontname=\"Helvetica\"];\n",
	      out);
	write_label(out, snap);
	for (size_t k = 0; k < snap->nloops; k++)
		drawn += write_cluster(out, &g, k, &snap->loops[k]);
	{
		// Tasks of no known loop get a cluster only when there are some.
		bool orphans = false;

		for (size_t i = 0; i < snap->ntasks && !orphans; i++) {
			orphans = true;
			for (size_t j = 0; j < snap->nloops && orphans; j++)
				orphans = snap->tasks[i].loop != snap->loops[j].id;
		}
		if (orphans)
			drawn += write_cluster(out, &g, snap->nloops, NULL);
	}
	// An edge waiter -> awaited; one per group.
	for (size_t i = 0; i < snap->ntasks; i++) {
		const struct adbg_task *t = &snap->tasks[i];

		if (g.rep[i] != i)
			continue;
		for (size_t j = 0; j < t->nawaited_by; j++) {
			const struct adbg_task *w = adbg_asyncio_find(snap, t->awaited_by[j]);
			size_t wi;

			if (!w)
				continue;
			wi = (size_t)(w - snap->tasks);
			fputs("  ", out);
			node_id(out, &g, wi);
			fputs(" -> ", out);
			node_id(out, &g, i);
			if (g.cycle[i] && g.cycle[i] == g.cycle[wi])
				fputs(" [color=\"" CYCLE_COLOR "\", penwidth=2.5, style=bold, "
				      "label=\"deadlock\", fontcolor=\"" CYCLE_COLOR
				      "\", fontsize=9]",
				      out);
			fputs(";\n", out);
		}
	}
	// A cycle through something else than awaits (a lock held by the next task): its
	// links as dashed red edges.
	for (size_t c = 0; c < snap->ncycles; c++) {
		const struct adbg_cycle *cy = &snap->cycles[c];

		for (size_t j = 0; j < cy->n; j++) {
			const struct adbg_task *a = adbg_asyncio_find(snap, cy->ids[j]);
			const struct adbg_task *b =
				adbg_asyncio_find(snap, cy->ids[(j + 1) % cy->n]);
			bool awaited = false;

			if (!a || !b || a == b)
				continue;
			for (size_t k = 0; k < b->nawaited_by && !awaited; k++)
				awaited = b->awaited_by[k] == a->id;
			if (awaited)
				continue;
			fputs("  ", out);
			node_id(out, &g, (size_t)(a - snap->tasks));
			fputs(" -> ", out);
			node_id(out, &g, (size_t)(b - snap->tasks));
			fputs(" [color=\"" CYCLE_COLOR
			      "\", penwidth=2.5, style=dashed, label=\"waits "
			      "for\", fontcolor=\"" CYCLE_COLOR
			      "\", fontsize=9, constraint=false];\n",
			      out);
		}
	}
	fputs("}\n", out);
	graph_deinit(&g);
	if (nodes_ret)
		*nodes_ret = drawn;
	return ferror(out) ? adbg_error_create(ADBG_ERR_OS, "writing the graph failed") : NULL;
}
