// SPDX-License-Identifier: MIT
// The `tasks`, `tree` and `task` commands: rendering the asyncio model as a table, an
// awaited-by forest (text or Graphviz) and one task in full, or as JSON (aiodbg/1).
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"
#include "cmd.h"
#include "error.h"
#include "graph.h"
#include "render.h"
#include "render_trio.h"
#include "trio.h"
#include "session.h"

// Deeper awaited-by chains than this are cut in the tree (a chain that long is a bug
// of its own, and the cap keeps garbage from recursing forever).
#define MAX_TREE_DEPTH 256

struct aio_read {
	unsigned flags;
	struct adbg_asyncio_snapshot snap;
};

static ADBG_MUST_CHECK struct adbg_error *aio_read(struct adbg_session *s, void *arg)
{
	struct aio_read *a = arg;

	return adbg_asyncio_snapshot(s, a->flags, &a->snap);
}

static void aio_drop(struct adbg_session *s, void *arg)
{
	(void)s;
	adbg_asyncio_snapshot_deinit(&((struct aio_read *)arg)->snap);
}

/* One snapshot of the tasks, read again while a live target changes under us. */
static ADBG_MUST_CHECK struct adbg_error *asyncio_snapshot(struct adbg_session *s, unsigned flags,
							   struct adbg_asyncio_snapshot *ret)
{
	struct aio_read a = {.flags = flags};
	struct adbg_error *err = adbg_session_snapshot(s, aio_read, aio_drop, &a);

	if (!err)
		*ret = a.snap;
	return err;
}

static const char *basename_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path ? path : "?";
}

static json_t *json_loops(const struct adbg_asyncio_snapshot *snap)
{
	json_t *a = json_array();

	for (size_t i = 0; i < snap->nloops; i++) {
		const struct adbg_loop *l = &snap->loops[i];
		json_t *o = json_object();

		json_object_set_new(o, "id", adbg_json_addr(l->id));
		json_object_set_new(o, "thread", l->thread ? json_integer(l->thread) : json_null());
		json_object_set_new(o, "type", l->type ? json_string(l->type) : json_null());
		json_object_set_new(o, "running", json_boolean(l->running));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *json_cycles(const struct adbg_asyncio_snapshot *snap)
{
	json_t *a = json_array();

	for (size_t i = 0; i < snap->ncycles; i++) {
		json_t *c = json_array();

		for (size_t j = 0; j < snap->cycles[i].n; j++)
			json_array_append_new(c, adbg_json_addr(snap->cycles[i].ids[j]));
		json_array_append_new(a, c);
	}
	return a;
}

/* For each cycle, the lock each of its tasks waits for held by the next (null: an await). */
static json_t *json_cycle_locks(const struct adbg_asyncio_snapshot *snap)
{
	json_t *a = json_array();

	for (size_t i = 0; i < snap->ncycles; i++) {
		json_t *c = json_array();

		for (size_t j = 0; j < snap->cycles[i].n; j++)
			json_array_append_new(c, snap->cycles[i].locks
							 ? adbg_json_addr(snap->cycles[i].locks[j])
							 : json_null());
		json_array_append_new(a, c);
	}
	return a;
}

/*
 * The whole document, streamed: a million tasks must not become a million-node JSON tree
 * in memory. The frame around the tasks is built with jansson; the tasks are streamed
 * (adbg_json_write_tasks, render.c), except for `task ID`, which uses the jansson object
 * builder (adbg_json_task).
 */
static ADBG_MUST_CHECK struct adbg_error *emit_tasks_json(struct adbg_cmd_ctx *c,
							  const struct adbg_asyncio_snapshot *snap,
							  const struct adbg_task *only)
{
	json_t *doc = adbg_json_document(c->s);
	struct adbg_error *err;
	char *head;
	size_t len;
	int flags = JSON_COMPACT | JSON_PRESERVE_ORDER;

	json_object_set_new(doc, "loops", json_loops(snap));
	json_object_set_new(doc, "cycles", json_cycles(snap));
	json_object_set_new(doc, "cycle_locks", json_cycle_locks(snap));
	if (c->s->nwarnings) {
		json_t *w = json_array();

		for (size_t i = 0; i < c->s->nwarnings; i++)
			json_array_append_new(w, json_string(c->s->warnings[i]));
		json_object_set_new(doc, "warnings", w);
	}
	json_object_set_new(doc, "tasks", json_array());
	head = json_dumps(doc, flags);
	json_decref(doc);
	if (!head)
		return &adbg_error_nomem;
	// The serialised document ends with `"tasks":[]}`: write it up to the '[', then the
	// tasks, then close; all on one line (JSON Lines, docs/json.md).
	len = strlen(head);
	while (len && head[len - 1] != '[')
		len--;
	fwrite(head, 1, len, c->out);
	free(head);
	if (only) {
		json_t *o = adbg_json_task(snap, only);
		char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

		json_decref(o);
		fputs(text ? text : "null", c->out);
		free(text);
	} else {
		err = adbg_json_write_tasks(c->out, snap, snap->tasks, snap->ntasks);
		if (err)
			return err;
	}
	fputs("]}\n", c->out);
	return ferror(c->out) ? adbg_error_create(ADBG_ERR_OS, "writing output failed") : NULL;
}

/* "cancelling(2) \"msg\"" and friends: a constant, or written in buf (at least 96 bytes). */
static const char *cancel_text(const struct adbg_task *t, char *buf, size_t len)
{
	if (t->trio)
		return adbg_trio_cancel_text(t->trio, buf, len);
	if (t->state == ADBG_TASK_CANCELLED)
		return "cancelled";
	if (t->cancelling) {
		snprintf(buf, len, "cancelling(%d)%s", t->cancel_count,
			 t->cancel_requested ? " undelivered" : "");
		return buf;
	}
	if (t->cancel_count < 0 || (t->state == ADBG_TASK_PENDING && t->cancel_requested))
		return "requested";
	return "-";
}

static const char *awaiting_text(const struct adbg_asyncio_snapshot *snap,
				 const struct adbg_task *t, char *buf, size_t len)
{
	return adbg_text_waiting_on(snap, t, buf, len);
}

/* Target strings (names, messages, paths) in free text: control characters neutralised. */
static void put_text(struct adbg_cmd_ctx *c, const char *str)
{
	adbg_text_cell(c, str ? str : "?", 0, -1, true);
}

/* A task's name as text: a name that was cut ends in "…" (what was kept is MAX_NAME). */
static const char *name_text(const struct adbg_task *t, char *buf, size_t len)
{
	if (!t->name)
		return "?";
	if (!t->name_truncated)
		return t->name;
	snprintf(buf, len, "%s…", t->name);
	return buf;
}

#define NAME_BUF 512

/* "0x" and the hex digits of v (buf of at least 19 bytes), as "%#" PRIx64 but "0" for 0. */
static void put_hex(char *buf, uint64_t v)
{
	char tmp[16];
	size_t n = 0;

	if (!v) {
		strcpy(buf, "0");
		return;
	}
	for (; v; v >>= 4)
		tmp[n++] = "0123456789abcdef"[v & 15];
	*buf++ = '0';
	*buf++ = 'x';
	while (n)
		*buf++ = tmp[--n];
	*buf = 0;
}

/* v in decimal (buf of at least 12 bytes), as "%d". */
static void put_int(char *buf, int v)
{
	char tmp[12];
	size_t n = 0;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	do
		tmp[n++] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*buf++ = '-';
	while (n)
		*buf++ = tmp[--n];
	*buf = 0;
}

/* "function file:line" with the file's base name, cut to len - 1 bytes (as snprintf). */
static void where_text(char *buf, size_t len, const struct adbg_frame *f)
{
	const char *parts[3] = {f->function, " ", basename_of(f->file)};
	char line[12];
	size_t at = 0;

	put_int(line, f->line);
	for (size_t k = 0; k < 4; k++) {
		const char *p = k < 3 ? parts[k] : NULL;
		size_t n;

		if (k == 3) {
			if (at < len - 1)
				buf[at++] = ':';
			p = line;
		}
		n = strlen(p ? p : "(null)");
		if (n > len - 1 - at)
			n = len - 1 - at;
		memcpy(buf + at, p ? p : "(null)", n);
		at += n;
	}
	buf[at] = 0;
}

/*
 * The AWAITING text of the last task that had one shareable: tasks that wait on no task,
 * in a known function (waiting_on.what) with the same wait detail, have the same text.
 */
struct awaiting_memo {
	uint32_t wait;
	const char *what;
	char text[256];
};

static const char *awaiting(struct awaiting_memo *m, const struct adbg_asyncio_snapshot *snap,
			    const struct adbg_task *t, char *buf, size_t len)
{
	bool shareable = t->has_waiting_on && !t->waiting_on.task && t->waiting_on.what;

	if (shareable && m->what == t->waiting_on.what && m->wait == t->wait)
		return m->text;
	awaiting_text(snap, t, buf, len);
	if (shareable) {
		m->what = t->waiting_on.what;
		m->wait = t->wait;
		snprintf(m->text, sizeof(m->text), "%s", buf);
	}
	return buf;
}

static int state_color(const struct adbg_task *t)
{
	if (t->state == ADBG_TASK_CANCELLED)
		return ADBG_COLOR_RED;
	if (t->cancelling)
		return ADBG_COLOR_YELLOW;
	if (t->running)
		return ADBG_COLOR_GREEN;
	return -1;
}

static ADBG_MUST_CHECK struct adbg_error *render_table(struct adbg_cmd_ctx *c,
						       const struct adbg_asyncio_snapshot *snap)
{
	// Preferred widths; on a terminal WHERE takes what is left, and when that is not
	// enough the wider columns give way down to their minimums.
	enum { ID, NAME, STATE, CANCEL, AWAIT, THREAD, WHERE, NCOL };
	int w[NCOL] = {14, 20, 9, 16, 22, 8, 0};
	static const int min[NCOL] = {14, 10, 7, 9, 10, 7, 12};
	int wid, wname, wstate, wcancel, wawait, wthread, wwhere;
	struct awaiting_memo aw = {0};

	// Room for the longer texts of tasks waiting on a lock, queue or deadline (a million
	// tasks in one Event.wait share a text: it is made once).
	for (size_t i = 0; i < snap->ntasks; i++) {
		char buf[256];
		int n;

		if (!snap->tasks[i].wait)
			continue;
		n = adbg_text_columns(awaiting(&aw, snap, &snap->tasks[i], buf, sizeof(buf)));
		if (n > w[AWAIT])
			w[AWAIT] = n < 64 ? n : 64;
	}
	if (c->opts.width) {
		w[WHERE] = c->opts.width - (w[ID] + w[NAME] + w[STATE] + w[CANCEL] + w[AWAIT] +
					    w[THREAD] + NCOL - 1);
		if (w[WHERE] < 40)
			w[WHERE] = 40;
		adbg_text_fit(w, min, NCOL, c->opts.width);
	}
	wid = w[ID], wname = w[NAME], wstate = w[STATE], wcancel = w[CANCEL];
	wawait = w[AWAIT], wthread = w[THREAD], wwhere = w[WHERE];
	adbg_text_cell(c, "ID", wid, ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "NAME", wname, ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "STATE", wstate, ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "CANCEL", wcancel, ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "AWAITING", wawait, ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "THREAD", wthread, ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "WHERE", wwhere, ADBG_COLOR_BOLD, true);
	fputc('\n', c->out);
	// A million rows: the cells are put together by hand (snprintf was most of the time).
	for (size_t i = 0; i < snap->ntasks; i++) {
		const struct adbg_task *t = &snap->tasks[i];
		const struct adbg_frame *f = adbg_task_where(t);
		char id[24], buf[256], where[512], thread[16], name[NAME_BUF];

		put_hex(id, t->id);
		put_int(thread, t->thread);
		if (f)
			where_text(where, sizeof(where), f);
		else
			snprintf(where, sizeof(where), "%s", t->coro ? t->coro : "-");
		adbg_text_cell(c, id, wid, -1, false);
		adbg_text_cell(c, name_text(t, name, sizeof(name)), wname, -1, false);
		adbg_text_cell(c, t->running ? "running" : adbg_task_state_name(t->state), wstate,
			       state_color(t), false);
		adbg_text_cell(c, cancel_text(t, buf, sizeof(buf)), wcancel, state_color(t), false);
		adbg_text_cell(c, awaiting(&aw, snap, t, buf, sizeof(buf)), wawait, -1, false);
		adbg_text_cell(c, t->thread ? thread : "-", wthread, -1, false);
		adbg_text_cell(c, where, wwhere, -1, true);
		fputc('\n', c->out);
	}
	fprintf(c->out, "%zu task%s\n", snap->ntasks, snap->ntasks == 1 ? "" : "s");
	return NULL;
}

struct adbg_error *adbg_cmd_tasks(struct adbg_cmd_ctx *c)
{
	struct adbg_asyncio_snapshot snap;
	struct adbg_error *err;
	int group;

	err = adbg_tasks_group_option(c, &group);
	if (err)
		return err;
	if (c->argc > 1)
		return adbg_cmd_usage_error(c, "too many arguments");
	// Counts need no stacks.
	err = asyncio_snapshot(c->s, group < 0 ? ADBG_AIO_STACKS : 0, &snap);
	if (err)
		return err;
	if (group >= 0) {
		err = adbg_tasks_render_groups(c, &snap, group);
		adbg_asyncio_snapshot_deinit(&snap);
		return err;
	}
	if (c->opts.json)
		err = emit_tasks_json(c, &snap, NULL);
	else
		err = render_table(c, &snap);
	if (!err && !c->opts.json)
		adbg_text_warnings(c);
	adbg_asyncio_snapshot_deinit(&snap);
	return err;
}

/*
 * The awaited-by forest as `python -m asyncio pstree` draws it: a root is a task nobody
 * awaits; under a task come the tasks it awaits (those whose awaited_by names it). The
 * children lists are the awaited_by edges turned around, kept as one flat array.
 */
struct tree {
	const struct adbg_asyncio_snapshot *snap;
	size_t *first; // children of task i: child[first[i] .. first[i+1])
	size_t *child;
	uint8_t *state; // 0 unseen, 1 on the current path, 2 printed
	char prefix[4 * MAX_TREE_DEPTH + 8];
};

static ADBG_MUST_CHECK struct adbg_error *tree_build(struct tree *tr,
						     const struct adbg_asyncio_snapshot *snap)
{
	size_t n = snap->ntasks, edges = 0, *fill;

	tr->snap = snap;
	tr->first = calloc(n + 1, sizeof(size_t));
	tr->state = calloc(n ? n : 1, 1);
	fill = calloc(n + 1, sizeof(size_t));
	if (!tr->first || !tr->state || !fill)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const struct adbg_task *t = &snap->tasks[i];

		for (size_t j = 0; j < t->nawaited_by; j++) {
			const struct adbg_task *w = adbg_asyncio_find(snap, t->awaited_by[j]);

			if (w) {
				tr->first[w - snap->tasks + 1]++;
				edges++;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		tr->first[i + 1] += tr->first[i];
	tr->child = calloc(edges ? edges : 1, sizeof(size_t));
	if (!tr->child)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const struct adbg_task *t = &snap->tasks[i];

		for (size_t j = 0; j < t->nawaited_by; j++) {
			const struct adbg_task *w = adbg_asyncio_find(snap, t->awaited_by[j]);
			size_t wi;

			if (!w)
				continue;
			wi = (size_t)(w - snap->tasks);
			tr->child[tr->first[wi] + fill[wi]++] = i;
		}
	}
	free(fill);
	return NULL;
nomem:
	free(fill);
	free(tr->first);
	free(tr->state);
	return &adbg_error_nomem;
}

static void tree_deinit(struct tree *tr)
{
	free(tr->first);
	free(tr->child);
	free(tr->state);
}

static void tree_node(struct adbg_cmd_ctx *c, struct tree *tr, size_t idx, size_t plen, bool last,
		      int depth)
{
	const struct adbg_asyncio_snapshot *snap = tr->snap;
	const struct adbg_task *t = &snap->tasks[idx];
	const char *branch = depth ? (last ? "└── " : "├── ") : "";
	char buf[128], aw[256], name[NAME_BUF];
	size_t nchild = tr->first[idx + 1] - tr->first[idx];
	bool show_cancel = t->cancelling || t->state == ADBG_TASK_CANCELLED ||
			   (t->trio && strcmp(cancel_text(t, buf, sizeof(buf)), "-") != 0);

	fprintf(c->out, "%.*s%s(T) ", (int)plen, tr->prefix, branch);
	put_text(c, name_text(t, name, sizeof(name)));
	fprintf(c->out, " %#" PRIx64 " [%s%s%s]", t->id,
		t->running ? "running" : adbg_task_state_name(t->state), show_cancel ? ", " : "",
		show_cancel ? cancel_text(t, buf, sizeof(buf)) : "");
	if (t->has_waiting_on && !nchild) {
		fputs(" awaiting ", c->out);
		put_text(c, awaiting_text(snap, t, aw, sizeof(aw)));
	}
	if (t->trio && t->trio->lock_owner) {
		const struct adbg_task *o = adbg_asyncio_find(snap, t->trio->lock_owner);

		fputs(" held by ", c->out);
		put_text(c, o ? o->name : NULL);
	}
	fputc('\n', c->out);
	if (depth) {
		memcpy(tr->prefix + plen, last ? "    " : "│   ", last ? 4 : 6);
		plen += last ? 4 : 6;
	}
	// Frames outermost first, like CPython's pstree; those left out come first.
	if (t->stack.omitted)
		fprintf(c->out, "%.*s%s  … %" PRIu32 " frames not shown …\n", (int)plen, tr->prefix,
			nchild ? "│" : " ", t->stack.omitted);
	for (size_t j = t->stack.n; j-- > 0;) {
		const struct adbg_frame *f = &t->stack.frames[j];

		fprintf(c->out, "%.*s%s  ", (int)plen, tr->prefix, nchild ? "│" : " ");
		put_text(c, f->function);
		fputc(' ', c->out);
		put_text(c, f->file);
		fprintf(c->out, ":%d\n", f->line);
	}
	tr->state[idx] = 1;
	for (size_t k = 0; k < nchild; k++) {
		size_t ch = tr->child[tr->first[idx] + k];
		bool ch_last = k + 1 == nchild;

		if (tr->state[ch] == 1) {
			fprintf(c->out, "%.*s%s(cycle back to ", (int)plen, tr->prefix,
				ch_last ? "└── " : "├── ");
			put_text(c, snap->tasks[ch].name);
			fprintf(c->out, " %#" PRIx64 ")\n", snap->tasks[ch].id);
			continue;
		}
		if (depth + 1 >= MAX_TREE_DEPTH || plen + 8 > sizeof(tr->prefix)) {
			fprintf(c->out, "%.*s%s… (deeper tasks not shown)\n", (int)plen, tr->prefix,
				ch_last ? "└── " : "├── ");
			break;
		}
		tree_node(c, tr, ch, plen, ch_last, depth + 1);
	}
	tr->state[idx] = 2;
}

static bool is_root(const struct adbg_asyncio_snapshot *snap, const struct adbg_task *t)
{
	for (size_t j = 0; j < t->nawaited_by; j++)
		if (adbg_asyncio_find(snap, t->awaited_by[j]))
			return false;
	return true;
}

/* The awaited-by forest as text: each root's tree, then each cycle, then what is left. */
static ADBG_MUST_CHECK struct adbg_error *render_tree(struct adbg_cmd_ctx *c,
						      const struct adbg_asyncio_snapshot *snap)
{
	struct tree *tr = calloc(1, sizeof(*tr));
	struct adbg_error *err;

	if (!tr)
		return &adbg_error_nomem;
	err = tree_build(tr, snap);
	if (err) {
		free(tr);
		return err;
	}
	for (size_t i = 0; i < snap->ntasks; i++)
		if (is_root(snap, &snap->tasks[i]))
			tree_node(c, tr, i, 0, true, 0);
	// Tasks that only await each other have no root: show each cycle once.
	for (size_t i = 0; i < snap->ncycles; i++) {
		fprintf(c->out, "cycle:");
		for (size_t j = 0; j < snap->cycles[i].n; j++) {
			const struct adbg_task *t = adbg_asyncio_find(snap, snap->cycles[i].ids[j]);

			fprintf(c->out, "%s ", j ? " →" : "");
			put_text(c, t ? t->name : NULL);
			fprintf(c->out, " %#" PRIx64, snap->cycles[i].ids[j]);
		}
		fprintf(c->out, "\n");
		// Through locks: a deadlock; say which task waits for which lock.
		for (size_t j = 0; snap->cycles[i].locks && j < snap->cycles[i].n; j++) {
			const struct adbg_task *t = adbg_asyncio_find(snap, snap->cycles[i].ids[j]);
			const struct adbg_wait_detail *d = t ? adbg_asyncio_wait(snap, t) : NULL;
			char aw[256];

			if (!t || !d || !snap->cycles[i].locks[j])
				continue;
			fprintf(c->out, "  deadlock: ");
			put_text(c, t->name);
			fprintf(c->out, " waits for %s %#" PRIx64 ": ", d->primitive_type,
				snap->cycles[i].locks[j]);
			put_text(c, awaiting_text(snap, t, aw, sizeof(aw)));
			fputc('\n', c->out);
		}
	}
	for (size_t i = 0; i < snap->ntasks; i++)
		if (tr->state[i] == 0)
			tree_node(c, tr, i, 0, true, 0);
	tree_deinit(tr);
	free(tr);
	return NULL;
}

struct adbg_error *adbg_cmd_tree(struct adbg_cmd_ctx *c)
{
	struct adbg_asyncio_snapshot snap;
	struct adbg_error *err;
	bool dot = adbg_cmd_take_flag(c, "--dot");

	if (c->argc > 1)
		return adbg_cmd_usage_error(c, "too many arguments");
	if (dot && c->opts.json)
		return adbg_cmd_usage_error(c, "--dot and --json exclude each other");
	if (dot)
		return adbg_cmd_tree_dot(c);
	err = asyncio_snapshot(c->s, ADBG_AIO_STACKS, &snap);
	if (err)
		return err;
	if (c->opts.json) {
		err = emit_tasks_json(c, &snap, NULL);
		adbg_asyncio_snapshot_deinit(&snap);
		return err;
	}
	err = render_tree(c, &snap);
	adbg_asyncio_snapshot_deinit(&snap);
	if (err)
		return err;
	adbg_text_warnings(c);
	return NULL;
}

/* `task`: the wait detail, a line each (lock and holders, queue, event, deadline). */
static void task_wait_lines(struct adbg_cmd_ctx *c, const struct adbg_asyncio_snapshot *snap,
			    const struct adbg_task *t)
{
	const struct adbg_wait_detail *d = adbg_asyncio_wait(snap, t);

	if (!d)
		return;
	if (d->primitive)
		fprintf(c->out, "\n  on:         %s %#" PRIx64, d->primitive_type, d->primitive);
	if (d->is_lock && d->nholders) {
		fputs("\n  held by:   ", c->out);
		for (uint32_t i = 0; i < d->nholders; i++) {
			uint64_t id = snap->holders[d->holders_at + i];
			const struct adbg_task *h = adbg_asyncio_find(snap, id);

			fputc(' ', c->out);
			put_text(c, h ? h->name : NULL);
			fprintf(c->out, " %#" PRIx64 "%s", id, i + 1 < d->nholders ? "," : "");
		}
		fprintf(c->out, " (%s)", d->held_evidence);
	} else if (d->is_lock) {
		fprintf(c->out, "\n  held by:    %s", d->held_unknown ? d->held_unknown : "?");
	}
	if (d->is_queue)
		fprintf(c->out,
			"\n  queue:      size %" PRId64 ", maxsize %" PRId64 ", %" PRIu32
			" getter%s, %" PRIu32 " putter%s",
			d->qsize, d->maxsize, d->getters, d->getters == 1 ? "" : "s", d->putters,
			d->putters == 1 ? "" : "s");
	if (d->is_event)
		fprintf(c->out, "\n  event:      %s", d->event_set ? "set" : "not set");
	if (d->has_deadline) {
		fprintf(c->out, "\n  deadline:   ");
		if (d->left_known)
			fprintf(c->out, "%.3f s left (%s; ", d->left,
				d->deadline_via ? d->deadline_via : "timer");
		else
			fprintf(c->out, "unknown time left (%s; ",
				d->deadline_via ? d->deadline_via : "timer");
		fprintf(c->out, "loop time %.3f%s)", d->when,
			!d->left_known ? ""
			: strcmp(snap->now_source, "loop") == 0
				? ", now = the loop's last clock reading"
				: "");
	}
}

struct adbg_error *adbg_cmd_task(struct adbg_cmd_ctx *c)
{
	struct adbg_asyncio_snapshot snap;
	struct adbg_task *t;
	struct adbg_error *err;
	char buf[128], aw[256], name[NAME_BUF];

	if (c->argc != 2)
		return adbg_cmd_usage_error(c, c->argc < 2 ? "which task?" : "too many arguments");
	err = asyncio_snapshot(c->s, ADBG_AIO_STACKS, &snap);
	if (err)
		return err;
	err = adbg_asyncio_lookup(&snap, c->argv[1], &t);
	if (err)
		goto out;
	if (c->opts.json) {
		err = emit_tasks_json(c, &snap, t);
		goto out;
	}
	fputs("Task ", c->out);
	put_text(c, name_text(t, name, sizeof(name)));
	fprintf(c->out, " %#" PRIx64 "\n", t->id);
	fprintf(c->out, "  state:      %s%s\n", adbg_task_state_name(t->state),
		t->running ? " (running now)" : "");
	if (t->trio)
		fprintf(c->out, "  cancel:     %s", cancel_text(t, buf, sizeof(buf)));
	else
		fprintf(c->out, "  cancel:     %s, requests %d", cancel_text(t, buf, sizeof(buf)),
			t->cancel_count);
	if (t->cancel_message) {
		fputs(", message \"", c->out);
		put_text(c, t->cancel_message);
		fputs(t->cancel_message_truncated ? "…\"" : "\"", c->out);
	}
	fputs("\n  coroutine:  ", c->out);
	put_text(c, t->coro);
	fprintf(c->out, "\n  loop:       %#" PRIx64 " (thread %d)\n", t->loop, t->thread);
	fputs("  awaiting:   ", c->out);
	put_text(c, awaiting_text(&snap, t, aw, sizeof(aw)));
	task_wait_lines(c, &snap, t);
	fputs("\n  awaited by:", c->out);
	for (size_t i = 0; i < t->nawaited_by; i++) {
		const struct adbg_task *w = adbg_asyncio_find(&snap, t->awaited_by[i]);

		fputc(' ', c->out);
		put_text(c, w ? w->name : NULL);
		fprintf(c->out, " %#" PRIx64 "%s", t->awaited_by[i],
			i + 1 < t->nawaited_by ? "," : "");
	}
	fprintf(c->out, "%s\n", t->nawaited_by ? "" : " -");
	if (t->trio)
		adbg_trio_text_detail(c, &snap, t);
	fputs("  stack (most recent call last):\n", c->out);
	adbg_text_frames_omitted(c->out, &t->stack, "    ");
	for (size_t j = t->stack.n; j-- > 0;)
		adbg_text_frame(c->out, &t->stack.frames[j], "    ");
	adbg_text_warnings(c);
out:
	adbg_asyncio_snapshot_deinit(&snap);
	return err;
}

/* The shared text of a task (graph.h), for the graph and the report. */
const char *adbg_task_cancel_text(const struct adbg_task *t, char *buf, size_t len)
{
	const char *text = cancel_text(t, buf, len);

	// Always in buf: the graph reads it there.
	if (text != buf && len)
		snprintf(buf, len, "%s", text);
	return buf;
}

const char *adbg_task_awaiting_text(const struct adbg_asyncio_snapshot *snap,
				    const struct adbg_task *t, char *buf, size_t len)
{
	size_t n;

	awaiting_text(snap, t, buf, len);
	// The holder of the trio.Lock it waits for, as the tree says it.
	n = strlen(buf);
	if (t->trio && t->trio->lock_owner && n < len) {
		const struct adbg_task *o = adbg_asyncio_find(snap, t->trio->lock_owner);

		snprintf(buf + n, len - n, " held by %s", o && o->name ? o->name : "?");
	}
	return buf;
}

/* A frame of asyncio's own modules (".../python3.X/asyncio/NAME.py", the standard
 * library of any install), not of the program. */
static bool is_asyncio_frame(const struct adbg_frame *f)
{
	const char *d = f->file ? strstr(f->file, "/asyncio/") : NULL;
	const char *lib;

	if (!d || strchr(d + 9, '/') || f->kind != ADBG_FRAME_PYTHON)
		return false;
	for (lib = d; lib > f->file && lib[-1] != '/';)
		lib--;
	return strncmp(lib, "python3.", 8) == 0;
}

const struct adbg_frame *adbg_task_where(const struct adbg_task *t)
{
	size_t i = 0;

	if (!t->stack.n)
		return NULL;
	// A Trio task is always innermost in Trio's own trap: where it waits is further out.
	if (t->trio)
		return &t->stack.frames[t->trio->where < t->stack.n ? t->trio->where : 0];
	// Likewise an asyncio task waiting in Lock.acquire or Queue.get: the program's
	// frame that called into asyncio (the AWAITING column names the wait itself). A
	// task whose coroutine is asyncio's own is where it is.
	while (i < t->stack.n && is_asyncio_frame(&t->stack.frames[i]))
		i++;
	return &t->stack.frames[i < t->stack.n ? i : 0];
}
