// SPDX-License-Identifier: MIT
// Pictures and reports: `tree --dot` (the graph, graph.h) and `report --html FILE`, one
// self-contained HTML page (the template shared/report/report.html, embedded at build
// time) with the model as JSON that an inline script renders.
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asyncio.h"
#include "cmd.h"
#include "error.h"
#include "graph.h"
#include "python.h"
#include "render.h"
#include "runtime.h"
#include "session.h"
#include "svg.h"
#include "target.h"

/* The embedded template (tests/env/embed.sh): {file name, text}, ending with {NULL, NULL}. */
extern const char *const adbg_report_files[][2];

/* A graph of more task nodes than this (after collapsing) is not drawn in the report. */
#define REPORT_MAX_GRAPH_NODES 2000
/* How long dot may take for the report's graph. */
#define REPORT_DOT_TIMEOUT_MS 30000

/* Tasks and threads, both read in one freeze of the target. */
struct report_read {
	struct adbg_asyncio_snapshot aio;
	struct adbg_runtime_snapshot rt;
};

static ADBG_MUST_CHECK struct adbg_error *report_read(struct adbg_session *s, void *arg)
{
	struct report_read *r = arg;
	struct adbg_error *err = adbg_asyncio_snapshot(s, ADBG_AIO_STACKS, &r->aio);
	size_t before = s->nwarnings, kept;

	if (err)
		return err;
	err = adbg_runtime_snapshot(s, ADBG_RT_STACKS | ADBG_RT_NAMES, &r->rt);
	if (err) {
		adbg_asyncio_snapshot_deinit(&r->aio);
		return err;
	}
	// The thread stacks were walked by the task snapshot too: its warnings once.
	kept = before;
	for (size_t i = before; i < s->nwarnings; i++) {
		bool dup = false;

		for (size_t j = 0; j < before && !dup; j++)
			dup = strcmp(s->warnings[i], s->warnings[j]) == 0;
		if (dup)
			free(s->warnings[i]);
		else
			s->warnings[kept++] = s->warnings[i];
	}
	s->nwarnings = kept;
	return NULL;
}

static void report_drop(struct adbg_session *s, void *arg)
{
	struct report_read *r = arg;

	(void)s;
	adbg_asyncio_snapshot_deinit(&r->aio);
	adbg_runtime_snapshot_deinit(&r->rt);
}

static void report_deinit(struct report_read *r)
{
	report_drop(NULL, r);
}

/* Warnings as dot comments: the text after the graph must stay valid dot. */
static void dot_warnings(struct adbg_cmd_ctx *c)
{
	for (size_t i = 0; i < c->s->nwarnings; i++) {
		fputs("// warning: ", c->out);
		for (const char *p = c->s->warnings[i]; *p; p++)
			fputc(*p == '\n' || *p == '\r' ? ' ' : *p, c->out);
		fputc('\n', c->out);
	}
}

struct adbg_error *adbg_cmd_tree_dot(struct adbg_cmd_ctx *c)
{
	struct report_read r = {0};
	struct adbg_graph_opts o = {.collapse_min = ADBG_GRAPH_COLLAPSE_MIN};
	struct adbg_error *err = adbg_session_snapshot(c->s, report_read, report_drop, &r);

	if (err)
		return err;
	o.rt = &r.rt;
	err = adbg_graph_dot(c->out, &r.aio, &o, NULL);
	if (!err)
		dot_warnings(c);
	report_deinit(&r);
	return err;
}

/* JSON inside a <script> element: "<", ">" and "&" escaped, so that no "</script>" or
 * "<!--" can come from the target; bytes that are not UTF-8 become U+FFFD. */
static void js_str(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	while (*p) {
		size_t n = adbg_utf8_seq_len(p);

		if (!n) {
			fputs("\\ufffd", out);
			p++;
			continue;
		}
		if (n > 1) {
			// U+2028 and U+2029 are line ends to older JavaScript parsers.
			if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
			    (p[2] == 0xa8 || p[2] == 0xa9))
				fprintf(out, "\\u%04x", p[2] == 0xa8 ? 0x2028 : 0x2029);
			else
				fwrite(p, 1, n, out);
			p += n;
			continue;
		}
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&' || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
		p++;
	}
	fputc('"', out);
}

static void js_addr(FILE *out, uint64_t addr)
{
	if (addr)
		fprintf(out, "\"%#" PRIx64 "\"", addr);
	else
		fputs("null", out);
}

/* Frames are written once each, in a table; tasks and threads refer to them by index. */
struct frame_table {
	struct frame_slot {
		const char *function, *file;
		int line;
		uint32_t idx; /* + 1; 0: empty */
	} * slots;
	size_t size, n;
	FILE *out;
};

static uint64_t frame_hash(const struct adbg_frame *f)
{
	uint64_t h = (uint64_t)(uintptr_t)f->function * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)(uintptr_t)f->file * 0xc2b2ae3d27d4eb4full;
	h ^= (uint64_t)(uint32_t)f->line * 0x165667b19e3779f9ull;
	return h ^ (h >> 29);
}

/* The index of frame f, written to the table's stream when new. */
static ADBG_MUST_CHECK struct adbg_error *frame_index(struct frame_table *ft,
						      const struct adbg_frame *f, uint32_t *ret)
{
	size_t i;

	if (2 * (ft->n + 1) > ft->size) {
		size_t size = ft->size ? ft->size * 2 : 4096;
		struct frame_slot *slots = calloc(size, sizeof(*slots));

		if (!slots)
			return &adbg_error_nomem;
		for (size_t k = 0; k < ft->size; k++) {
			struct frame_slot *o = &ft->slots[k];

			if (!o->idx)
				continue;
			i = frame_hash(&(struct adbg_frame){
				    .function = o->function, .file = o->file, .line = o->line}) &
			    (size - 1);
			while (slots[i].idx)
				i = (i + 1) & (size - 1);
			slots[i] = *o;
		}
		free(ft->slots);
		ft->slots = slots;
		ft->size = size;
	}
	for (i = frame_hash(f) & (ft->size - 1); ft->slots[i].idx; i = (i + 1) & (ft->size - 1)) {
		struct frame_slot *o = &ft->slots[i];

		if (o->function == f->function && o->file == f->file && o->line == f->line) {
			*ret = o->idx - 1;
			return NULL;
		}
	}
	ft->slots[i] = (struct frame_slot){f->function, f->file, f->line, (uint32_t)++ft->n};
	fputs(ft->n > 1 ? ",\n[" : "\n[", ft->out);
	js_str(ft->out, f->function);
	fputc(',', ft->out);
	js_str(ft->out, f->file);
	fprintf(ft->out, ",%d]", f->line);
	*ret = (uint32_t)ft->n - 1;
	return NULL;
}

/* "[i,j,...]" for a stack; the frames themselves go to the frame table. */
static ADBG_MUST_CHECK struct adbg_error *write_stack(FILE *out, struct frame_table *ft,
						      const struct adbg_stack *st)
{
	fputc('[', out);
	for (size_t j = 0; j < st->n; j++) {
		uint32_t idx;
		struct adbg_error *err = frame_index(ft, &st->frames[j], &idx);

		if (err)
			return err;
		fprintf(out, "%s%" PRIu32, j ? "," : "", idx);
	}
	fputc(']', out);
	return NULL;
}

static long task_index(const struct adbg_asyncio_snapshot *snap, uint64_t id)
{
	const struct adbg_task *t = id ? adbg_asyncio_find(snap, id) : NULL;

	return t ? (long)(t - snap->tasks) : -1;
}

/* The command line that made the report, as the user would type it again. */
static void write_command(FILE *out, struct adbg_cmd_ctx *c)
{
	const struct adbg_target *t = c->s->target;
	char *cmd = NULL, *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&cmd, &len);

	if (!m) {
		js_str(out, "report");
		return;
	}
	fprintf(m, "report %s", c->rest ? c->rest : "");
	fclose(m);
	m = open_memstream(&line, &len);
	if (m) {
		if (t->kind == ADBG_TARGET_GDB)
			fprintf(m, "(gdb) aio %s    # gdb %s%s", cmd,
				t->core_path ? "EXECUTABLE " : "-p ",
				t->core_path ? t->core_path : "");
		else if (t->kind == ADBG_TARGET_CORE)
			fprintf(m, "aiodbg core %s -c '%s'", t->core_path ? t->core_path : "CORE",
				cmd);
		else
			fprintf(m, "aiodbg attach %d -c '%s'", t->pid, cmd);
		if (t->kind == ADBG_TARGET_GDB && !t->core_path)
			fprintf(m, "%d", t->pid);
		fclose(m);
	}
	js_str(out, line ? line : cmd);
	free(line);
	free(cmd);
}

/*
 * The data the page renders (report.html documents the rows): the target, loops, threads,
 * the frame table, tasks, cycles and warnings. Frames are written to a second stream and
 * appended, so that a frame is written once however many tasks share it.
 */
static ADBG_MUST_CHECK struct adbg_error *write_data(FILE *out, struct adbg_cmd_ctx *c,
						     const struct report_read *r, const char *graph)
{
	const struct adbg_asyncio_snapshot *snap = &r->aio;
	const struct adbg_target *t = c->s->target;
	struct frame_table ft = {0};
	struct adbg_error *err = NULL;
	char *frames = NULL, stamp[32];
	size_t frames_len = 0;
	time_t now = time(NULL);
	struct tm tm;

	ft.out = open_memstream(&frames, &frames_len);
	if (!ft.out)
		return &adbg_error_nomem;
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
	fputs("{\"target\":{\"kind\":", out);
	js_str(out, t->core_path ? "core" : "process");
	fprintf(out, ",\"pid\":%d,\"executable\":", t->pid);
	js_str(out, t->executable);
	fputs(",\"cmdline\":", out);
	js_str(out, t->cmdline);
	fputs(",\"core\":", out);
	js_str(out, t->core_path);
	fputs(",\"python\":", out);
	js_str(out, c->s->python->version_str);
	fprintf(out, ",\"build\":\"%s\",\"stopped_ms\":%.3f},\n\"command\":",
		c->s->python->layout.free_threaded ? "free-threaded" : "default", t->stopped_ms);
	write_command(out, c);
	fprintf(out, ",\"generated\":\"%s\",\"graph\":", stamp);
	js_str(out, graph);
	fputs(",\n\"loops\":[", out);
	for (size_t i = 0; i < snap->nloops; i++) {
		const struct adbg_loop *l = &snap->loops[i];

		fputs(i ? ",{\"id\":" : "{\"id\":", out);
		js_addr(out, l->id);
		fprintf(out, ",\"thread\":%d,\"type\":", l->thread);
		js_str(out, l->type);
		fprintf(out, ",\"running\":%s}", l->running ? "true" : "false");
	}
	fputs("],\n\"threads\":[", out);
	for (size_t i = 0; i < r->rt.nthreads && !err; i++) {
		const struct adbg_pythread *th = &r->rt.threads[i];
		long ti = task_index(snap, th->running_task);

		fprintf(out, "%s{\"tid\":%d,\"name\":", i ? ",\n" : "\n", th->tid);
		js_str(out, th->name);
		fprintf(out, ",\"main\":%s,\"gil\":\"%s\",\"loop\":", th->main ? "true" : "false",
			adbg_gil_name(th->gil));
		js_addr(out, th->loop);
		if (ti >= 0)
			fprintf(out, ",\"task\":%ld,\"frames\":", ti);
		else
			fputs(",\"task\":null,\"frames\":", out);
		err = write_stack(out, &ft, &th->stack);
		fprintf(out, ",\"omitted\":%" PRIu32 "}", th->stack.omitted);
	}
	fputs("],\n\"tasks\":[", out);
	for (size_t i = 0; i < snap->ntasks && !err; i++) {
		const struct adbg_task *tk = &snap->tasks[i];
		char buf[160], name[600];
		bool first = true;
		const struct adbg_frame *where;

		fprintf(out, "%s[\"%#" PRIx64 "\",", i ? ",\n" : "\n", tk->id);
		snprintf(name, sizeof(name), "%s%s", tk->name ? tk->name : "?",
			 tk->name_truncated ? "…" : "");
		js_str(out, name);
		fprintf(out, ",\"%s\",", tk->running ? "running" : adbg_task_state_name(tk->state));
		js_str(out, adbg_task_cancel_text(tk, buf, sizeof(buf)));
		fputc(',', out);
		js_str(out, adbg_task_awaiting_text(snap, tk, buf, sizeof(buf)));
		fprintf(out, ",%d,", tk->thread);
		js_addr(out, tk->loop);
		fputc(',', out);
		js_str(out, tk->coro);
		fputc(',', out);
		err = write_stack(out, &ft, &tk->stack);
		fprintf(out, ",%" PRIu32 ",[", tk->stack.omitted);
		for (size_t j = 0; j < tk->nawaited_by; j++) {
			long w = task_index(snap, tk->awaited_by[j]);

			if (w < 0)
				continue;
			fprintf(out, "%s%ld", first ? "" : ",", w);
			first = false;
		}
		fputs("],", out);
		js_str(out, tk->cancel_message);
		where = adbg_task_where(tk);
		fprintf(out, ",%zu]", where ? (size_t)(where - tk->stack.frames) : (size_t)0);
	}
	fputs("],\n\"cycles\":[", out);
	for (size_t i = 0; i < snap->ncycles; i++) {
		fputs(i ? ",[" : "[", out);
		for (size_t j = 0; j < snap->cycles[i].n; j++)
			fprintf(out, "%s%ld", j ? "," : "",
				task_index(snap, snap->cycles[i].ids[j]));
		fputc(']', out);
	}
	fputs("],\n\"warnings\":[", out);
	for (size_t i = 0; i < c->s->nwarnings; i++) {
		fputs(i ? "," : "", out);
		js_str(out, c->s->warnings[i]);
	}
	fclose(ft.out);
	free(ft.slots);
	fputs("],\n\"frames\":[", out);
	if (frames)
		fwrite(frames, 1, frames_len, out);
	fputs("]}", out);
	free(frames);
	return err;
}

/* Text into HTML: the characters that could start markup or end an attribute escaped. */
static void html_text(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(s[i], out);
		}
	}
}

/* The report's picture: dot's SVG, or a note that says why there is none. */
struct report_graph {
	char *svg;
	/** the dot text, kept for the page when dot could not draw it (NULL: too large) */
	char *dot;
	size_t dot_len;
	char note[400];
};

static ADBG_MUST_CHECK struct adbg_error *make_graph(const struct report_read *r,
						     struct report_graph *g)
{
	struct adbg_graph_opts o = {.rt = &r->rt, .collapse_min = ADBG_GRAPH_COLLAPSE_MIN};
	FILE *m = open_memstream(&g->dot, &g->dot_len);
	struct adbg_error *err;
	size_t nodes = 0;

	if (!m)
		return &adbg_error_nomem;
	err = adbg_graph_dot(m, &r->aio, &o, &nodes);
	if (fclose(m) && !err)
		err = &adbg_error_nomem;
	if (err)
		return err;
	if (nodes > REPORT_MAX_GRAPH_NODES) {
		snprintf(g->note, sizeof(g->note),
			 "not drawn: %zu nodes after collapsing identical siblings, more than the "
			 "%d a picture can show; `tree --dot` writes the whole graph",
			 nodes, REPORT_MAX_GRAPH_NODES);
		free(g->dot);
		g->dot = NULL;
		return NULL;
	}
	err = adbg_svg_from_dot(g->dot, g->dot_len, REPORT_DOT_TIMEOUT_MS, &g->svg);
	if (err) {
		// The page says why, and keeps the dot text to draw elsewhere.
		snprintf(g->note, sizeof(g->note), "not drawn: %s; the dot text is below",
			 err->message);
		adbg_error_destroy(err);
		return NULL;
	}
	snprintf(g->note, sizeof(g->note), "drawn by Graphviz dot, %zu node%s", nodes,
		 nodes == 1 ? "" : "s");
	return NULL;
}

static const char *report_template(void)
{
	for (size_t i = 0; adbg_report_files[i][0]; i++)
		if (strcmp(adbg_report_files[i][0], "report.html") == 0)
			return adbg_report_files[i][1];
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *write_report(FILE *out, struct adbg_cmd_ctx *c,
						       const struct report_read *r,
						       const struct report_graph *g)
{
	const char *tpl = report_template();
	const char *gm = tpl ? strstr(tpl, "@@GRAPH@@") : NULL;
	const char *dm = gm ? strstr(gm, "@@DATA@@") : NULL;
	struct adbg_error *err;

	if (!dm)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "report template without its markers");
	fwrite(tpl, 1, (size_t)(gm - tpl), out);
	if (g->svg) {
		fputs(g->svg, out);
	} else {
		fputs("<p class=\"note\" id=\"graph-note\">The graph is ", out);
		html_text(out, g->note, strlen(g->note));
		fputs(".</p>", out);
		if (g->dot) {
			fputs("<details><summary>dot text</summary><pre>", out);
			html_text(out, g->dot, g->dot_len);
			fputs("</pre></details>", out);
		}
	}
	gm += strlen("@@GRAPH@@");
	fwrite(gm, 1, (size_t)(dm - gm), out);
	err = write_data(out, c, r, g->note);
	if (err)
		return err;
	dm += strlen("@@DATA@@");
	fputs(dm, out);
	return NULL;
}

struct adbg_error *adbg_cmd_report(struct adbg_cmd_ctx *c)
{
	struct report_read r = {0};
	struct report_graph g = {0};
	struct adbg_error *err;
	bool html = adbg_cmd_take_flag(c, "--html");
	const char *path;
	FILE *out;
	long size;

	if (!html)
		return adbg_cmd_usage_error(c, "which format? (--html)");
	if (c->argc != 2)
		return adbg_cmd_usage_error(c, c->argc < 2 ? "which file?" : "too many arguments");
	path = c->argv[1];
	err = adbg_session_snapshot(c->s, report_read, report_drop, &r);
	if (err)
		return err;
	err = make_graph(&r, &g);
	if (err)
		goto out;
	out = strcmp(path, "-") == 0 ? c->out : fopen(path, "w");
	if (!out) {
		err = adbg_error_os(errno, "report: cannot write %s", path);
		goto out;
	}
	err = write_report(out, c, &r, &g);
	size = ftell(out);
	if (out != c->out) {
		if (fclose(out) && !err)
			err = adbg_error_os(errno, "report: writing %s", path);
	} else if (ferror(out) && !err) {
		err = adbg_error_create(ADBG_ERR_OS, "report: writing failed");
	}
	if (!err && out != c->out) {
		fprintf(c->out,
			"report written to %s: %zu task%s, %zu thread%s, %ld bytes; graph %s\n",
			path, r.aio.ntasks, r.aio.ntasks == 1 ? "" : "s", r.rt.nthreads,
			r.rt.nthreads == 1 ? "" : "s", size, g.note);
		adbg_text_warnings(c);
	}
out:
	free(g.svg);
	free(g.dot);
	report_deinit(&r);
	return err;
}
