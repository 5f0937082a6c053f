// SPDX-License-Identifier: MIT
// The renderers every command uses: the aiodbg/1 JSON document and its Frame and Task
// objects (jansson, and the buffered rows of `tasks --json`), text frames, colour, and the
// cells and column fitting of text tables (see render.h).
#include "render.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"
#include "cmd.h"
#include "error.h"
#include "render_trio.h"
#include "runtime.h"
#include "session.h"
#include "target.h"

/* JSON documents (see render.h). */

json_t *adbg_json_addr(uint64_t addr)
{
	char buf[24];

	if (!addr)
		return json_null();
	snprintf(buf, sizeof(buf), "%#" PRIx64, addr);
	return json_string(buf);
}

json_t *adbg_json_target(struct adbg_session *s)
{
	struct adbg_target *t = s->target;
	json_t *py = json_object(), *obj = json_object();

	json_object_set_new(py, "version", json_string(s->python->version_str));
	json_object_set_new(py, "free_threaded", json_boolean(s->python->layout.free_threaded));
	json_object_set_new(obj, "kind", json_string(adbg_session_kind_name(s)));
	json_object_set_new(obj, "pid", t->pid ? json_integer(t->pid) : json_null());
	json_object_set_new(obj, "executable",
			    t->executable ? json_string(t->executable) : json_null());
	if (t->core_path)
		json_object_set_new(obj, "core", json_string(t->core_path));
	json_object_set_new(obj, "python", py);
	json_object_set_new(obj, "stopped_ms", json_real(t->stopped_ms));
	if (t->stopped_ms > 0)
		json_object_set_new(obj, "copy_ms", json_real(t->copy_ms));
	return obj;
}

json_t *adbg_json_document(struct adbg_session *s)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "schema", json_string("aiodbg/1"));
	json_object_set_new(doc, "target", adbg_json_target(s));
	return doc;
}

struct adbg_error *adbg_json_emit(struct adbg_cmd_ctx *c, json_t *doc)
{
	if (c->s && c->s->nwarnings) {
		json_t *w = json_array();

		for (size_t i = 0; i < c->s->nwarnings; i++)
			json_array_append_new(w, json_string(c->s->warnings[i]));
		json_object_set_new(doc, "warnings", w);
	}
	// One compact line per document: several commands make JSON Lines (docs/json.md).
	if (json_dumpf(doc, c->out, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0) {
		json_decref(doc);
		return adbg_error_create(ADBG_ERR_OS, "writing JSON output failed");
	}
	fputc('\n', c->out);
	json_decref(doc);
	return NULL;
}

void adbg_json_emit_error(FILE *out, const char *line, const struct adbg_error *err,
			  int exit_status)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "schema", json_string("aiodbg/1"));
	json_object_set_new(doc, "ok", json_false());
	json_object_set_new(doc, "command", json_string(line));
	json_object_set_new(doc, "error", json_string(err->message));
	json_object_set_new(doc, "exit_status", json_integer(exit_status));
	// A line that is not UTF-8 makes json_string fail: the key is then left out, and the
	// document is still one object.
	if (json_dumpf(doc, out, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0)
		fputc('\n', out);
	json_decref(doc);
}

void adbg_text_warnings(struct adbg_cmd_ctx *c)
{
	for (size_t i = 0; c->s && i < c->s->nwarnings; i++)
		fprintf(c->out, "warning: %s\n", c->s->warnings[i]);
}

/* Frames (see render.h). */

json_t *adbg_json_frame(const struct adbg_frame *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "function", json_string(f->function));
	json_object_set_new(o, "file", f->file ? json_string(f->file) : json_null());
	json_object_set_new(o, "line", f->line ? json_integer(f->line) : json_null());
	json_object_set_new(o, "kind",
			    json_string(f->kind == ADBG_FRAME_NATIVE ? "native" : "python"));
	// Native frames also say where they are exactly (fields added to schema aiodbg/1).
	if (f->kind == ADBG_FRAME_NATIVE) {
		json_object_set_new(o, "pc", adbg_json_addr(f->addr));
		if (f->offset)
			json_object_set_new(o, "offset", json_integer(f->offset));
	}
	return o;
}

json_t *adbg_json_stack(const struct adbg_stack *st)
{
	json_t *a = json_array();

	for (size_t i = 0; i < st->n; i++)
		json_array_append_new(a, adbg_json_frame(&st->frames[i]));
	return a;
}

void adbg_text_clean(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

void adbg_text_frame(FILE *out, const struct adbg_frame *f, const char *indent)
{
	fputs(indent, out);
	adbg_text_clean(out, f->function);
	// Native: "clock_nanosleep+0x5b (/lib/.../libc.so.6)", "?? 0x7f... (file)".
	if (f->kind == ADBG_FRAME_NATIVE && f->offset)
		fprintf(out, "+%#x", (unsigned)f->offset);
	else if (f->kind == ADBG_FRAME_NATIVE && !strcmp(f->function, "??") && f->addr)
		fprintf(out, " %#" PRIx64, f->addr);
	fputs(" (", out);
	adbg_text_clean(out, f->file ? f->file : "?");
	if (f->line)
		fprintf(out, ":%d", f->line);
	fputs(")\n", out);
}

void adbg_text_frames_omitted(FILE *out, const struct adbg_stack *st, const char *indent)
{
	if (st->omitted)
		fprintf(out, "%s… %" PRIu32 " frame%s not shown …\n", indent, st->omitted,
			st->omitted == 1 ? "" : "s");
}

/* Colour and cells (see render.h). */

static const char *const color_escapes[] = {
	[ADBG_COLOR_BOLD] = "\033[1m",	 [ADBG_COLOR_DIM] = "\033[2m",
	[ADBG_COLOR_RED] = "\033[31m",	 [ADBG_COLOR_YELLOW] = "\033[33m",
	[ADBG_COLOR_GREEN] = "\033[32m", [ADBG_COLOR_CYAN] = "\033[36m",
};

const char *adbg_color(const struct adbg_cmd_ctx *c, enum adbg_color col)
{
	if (!c->opts.color || c->opts.json ||
	    (unsigned)col >= sizeof(color_escapes) / sizeof(color_escapes[0]))
		return "";
	return color_escapes[col];
}

const char *adbg_color_end(const struct adbg_cmd_ctx *c)
{
	return c->opts.color && !c->opts.json ? "\033[0m" : "";
}

int adbg_text_columns(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Write the first cols columns of s; control characters (from the target: a task name is
 * anybody's string) become '?', so that no name can drive the terminal. */
static void put_columns(FILE *out, const char *s, int cols)
{
	const char *run = s; // bytes not yet written, all printable

	for (; *s; s++) {
		unsigned char b = (unsigned char)*s;

		if ((b & 0xc0) != 0x80 && cols-- <= 0)
			break;
		if (b < 0x20 || b == 0x7f) {
			fwrite(run, 1, (size_t)(s - run), out);
			fputc('?', out);
			run = s + 1;
		}
	}
	fwrite(run, 1, (size_t)(s - run), out);
}

/* n spaces. */
static void put_spaces(FILE *out, int n)
{
	static const char spaces[] =
		"                                                                ";

	for (; n > 0; n -= (int)sizeof(spaces) - 1)
		fwrite(spaces, 1, n < (int)sizeof(spaces) - 1 ? (size_t)n : sizeof(spaces) - 1,
		       out);
}

void adbg_text_cell(const struct adbg_cmd_ctx *c, const char *s, int width, int color, bool last)
{
	const char *on = color >= 0 ? adbg_color(c, (enum adbg_color)color) : "";
	int n = adbg_text_columns(s);

	fputs(on, c->out);
	if (width > 0 && n > width) {
		put_columns(c->out, s, width - 1);
		fputs("…", c->out);
		n = width;
	} else {
		put_columns(c->out, s, n);
	}
	if (*on)
		fputs(adbg_color_end(c), c->out);
	if (!last)
		put_spaces(c->out, width > n ? width - n + 1 : 1);
}

void adbg_text_fit(int *w, const int *min, int n, int width)
{
	int total = n - 1; // the separating spaces

	if (width <= 0)
		return;
	for (int i = 0; i < n; i++)
		total += w[i];
	// Take one column at a time from the widest column that can still give one.
	while (total > width) {
		int best = -1;

		for (int i = 0; i < n; i++)
			if (w[i] > min[i] && (best < 0 || w[i] - min[i] > w[best] - min[best]))
				best = i;
		if (best < 0)
			break;
		w[best]--;
		total--;
	}
}

/* Tasks (see render.h). */

/* Appends to buf (of len bytes, holding a string), as far as it fits. */
static void cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

const char *adbg_text_waiting_on(const struct adbg_asyncio_snapshot *snap,
				 const struct adbg_task *t, char *buf, size_t len)
{
	const struct adbg_task *w;
	const struct adbg_wait_detail *d;

	if (!len)
		return buf;
	buf[0] = 0;
	if (!t->has_waiting_on) {
		snprintf(buf, len, "-");
		return buf;
	}
	w = t->waiting_on.task ? adbg_asyncio_find(snap, t->waiting_on.task) : NULL;
	if (w)
		snprintf(buf, len, "Task %s", w->name ? w->name : "?");
	else if (t->waiting_on.what)
		snprintf(buf, len, "%s", t->waiting_on.what);
	else
		snprintf(buf, len, "%s %#" PRIx64, t->waiting_on.type ? t->waiting_on.type : "?",
			 t->waiting_on.id);
	d = adbg_asyncio_wait(snap, t);
	if (!d)
		return buf;
	if (d->is_lock && d->nholders) {
		cat(buf, len, " held by");
		for (uint32_t i = 0; i < d->nholders; i++) {
			const struct adbg_task *h =
				adbg_asyncio_find(snap, snap->holders[d->holders_at + i]);

			cat(buf, len, "%s %s", i ? "," : "", h && h->name ? h->name : "?");
		}
	} else if (d->is_lock) {
		cat(buf, len, " held by %s",
		    d->held_unknown && strncmp(d->held_unknown, "nobody", 6) == 0
			    ? "nobody (free)"
			    : "an unknown owner");
	}
	if (d->is_queue) {
		cat(buf, len, " (size %" PRId64, d->qsize);
		if (d->maxsize > 0)
			cat(buf, len, " of %" PRId64, d->maxsize);
		cat(buf, len, ", %" PRIu32 " getter%s, %" PRIu32 " putter%s)", d->getters,
		    d->getters == 1 ? "" : "s", d->putters, d->putters == 1 ? "" : "s");
	}
	if (d->is_event)
		cat(buf, len, " (%s)", d->event_set ? "set" : "not set");
	if (d->has_deadline && d->left_known)
		cat(buf, len, ", %.1f s left (%s)", d->left,
		    d->deadline_via ? d->deadline_via : "timer");
	else if (d->has_deadline)
		cat(buf, len, ", deadline %.3f loop time (%s)", d->when,
		    d->deadline_via ? d->deadline_via : "timer");
	return buf;
}

static void wait_detail_fields(const struct adbg_asyncio_snapshot *snap,
			       const struct adbg_wait_detail *d, json_t *w);

json_t *adbg_json_waiting_on(const struct adbg_asyncio_snapshot *snap, const struct adbg_task *t)
{
	const struct adbg_wait_detail *d = snap ? adbg_asyncio_wait(snap, t) : NULL;
	json_t *w;

	if (!t->has_waiting_on)
		return json_null();
	w = json_object();
	json_object_set_new(w, "type", json_string(t->waiting_on.type ? t->waiting_on.type : "?"));
	json_object_set_new(w, "id", adbg_json_addr(t->waiting_on.id));
	json_object_set_new(w, "task", adbg_json_addr(t->waiting_on.task));
	if (t->waiting_on.what)
		json_object_set_new(w, "what", json_string(t->waiting_on.what));
	if (d)
		wait_detail_fields(snap, d, w);
	return w;
}

/* The fields a wait detail adds to WaitingOn (docs/json.md), present when known. */
static void wait_detail_fields(const struct adbg_asyncio_snapshot *snap,
			       const struct adbg_wait_detail *d, json_t *w)
{
	if (d->primitive) {
		json_t *p = json_object();

		json_object_set_new(p, "type", json_string(d->primitive_type));
		json_object_set_new(p, "id", adbg_json_addr(d->primitive));
		json_object_set_new(w, "primitive", p);
	}
	if (d->is_lock) {
		json_t *by = json_array();

		json_object_set_new(w, "lock", adbg_json_addr(d->lock));
		for (uint32_t i = 0; i < d->nholders; i++)
			json_array_append_new(by, adbg_json_addr(snap->holders[d->holders_at + i]));
		if (d->nholders) {
			json_object_set_new(w, "held_by", by);
			json_object_set_new(w, "held_evidence", json_string(d->held_evidence));
		} else {
			json_decref(by);
			json_object_set_new(w, "held_by", json_null());
			json_object_set_new(w, "held_by_unknown",
					    json_string(d->held_unknown ? d->held_unknown : "?"));
		}
	}
	if (d->is_queue) {
		json_t *q = json_object();

		json_object_set_new(q, "size", d->qsize < 0 ? json_null() : json_integer(d->qsize));
		json_object_set_new(q, "maxsize",
				    d->maxsize < 0 ? json_null() : json_integer(d->maxsize));
		json_object_set_new(q, "getters", json_integer(d->getters));
		json_object_set_new(q, "putters", json_integer(d->putters));
		json_object_set_new(w, "queue", q);
	}
	if (d->is_event)
		json_object_set_new(w, "event_set", json_boolean(d->event_set));
	if (d->has_deadline) {
		json_t *dl = json_object();

		json_object_set_new(dl, "when", json_real(d->when));
		json_object_set_new(dl, "left", d->left_known ? json_real(d->left) : json_null());
		json_object_set_new(dl, "clock",
				    d->left_known ? json_string(snap->now_source) : json_null());
		json_object_set_new(dl, "via",
				    d->deadline_via ? json_string(d->deadline_via) : json_null());
		json_object_set_new(w, "deadline", dl);
	}
}

json_t *adbg_json_task(const struct adbg_asyncio_snapshot *snap, const struct adbg_task *t)
{
	json_t *o = json_object(), *cancel = json_object(), *by = json_array();

	json_object_set_new(o, "id", adbg_json_addr(t->id));
	json_object_set_new(o, "name", t->name ? json_string(t->name) : json_null());
	// Added fields (DESIGN §6), present only when true; adbg_json_write_tasks writes the
	// same.
	if (t->name_truncated)
		json_object_set_new(o, "name_truncated", json_true());
	json_object_set_new(o, "thread", t->thread ? json_integer(t->thread) : json_null());
	json_object_set_new(o, "loop", adbg_json_addr(t->loop));
	json_object_set_new(o, "state", json_string(adbg_task_state_name(t->state)));
	json_object_set_new(o, "cancelling", json_boolean(t->cancelling));
	json_object_set_new(cancel, "requested", json_boolean(t->cancel_requested));
	json_object_set_new(cancel, "count", json_integer(t->cancel_count));
	json_object_set_new(cancel, "message",
			    t->cancel_message ? json_string(t->cancel_message) : json_null());
	if (t->cancel_message_truncated)
		json_object_set_new(cancel, "message_truncated", json_true());
	json_object_set_new(o, "cancel", cancel);
	json_object_set_new(o, "running", json_boolean(t->running));
	json_object_set_new(o, "coro", t->coro ? json_string(t->coro) : json_null());
	json_object_set_new(o, "stack", adbg_json_stack(&t->stack));
	if (t->stack.omitted)
		json_object_set_new(o, "frames_omitted", json_integer(t->stack.omitted));
	json_object_set_new(o, "waiting_on", adbg_json_waiting_on(snap, t));
	for (size_t i = 0; i < t->nawaited_by; i++)
		json_array_append_new(by, adbg_json_addr(t->awaited_by[i]));
	json_object_set_new(o, "awaited_by", by);
	if (t->trio) {
		json_object_set_new(o, "runtime", json_string("trio"));
		json_object_set_new(o, "trio", adbg_json_trio(t->trio));
	}
	return o;
}

/*
 * Serialised fragments shared by many tasks: escaped strings and whole frame objects, each
 * produced once by jansson and keyed by the address of the (interned) string or by the
 * frame's (function, file, line). A million tasks suspended at the same three places
 * cost three frame serialisations, not three million.
 */
struct frag {
	const void *k1, *k2;
	int line;
	char *json;
	size_t len;
};

#define FRAG_SLOTS 4096 // direct-mapped; a miss re-serialises, never fails

struct frag_cache {
	struct frag slots[FRAG_SLOTS];
};

static void frag_cache_free(struct frag_cache *fc)
{
	for (size_t i = 0; i < FRAG_SLOTS; i++)
		free(fc->slots[i].json);
	free(fc);
}

static struct frag *frag_slot(struct frag_cache *fc, const void *k1, const void *k2, int line)
{
	uintptr_t h = ((uintptr_t)k1 * 31 + (uintptr_t)k2) * 0x9e3779b97f4a7c15ull + (unsigned)line;

	return &fc->slots[(h >> 40) % FRAG_SLOTS];
}

/* Store the serialisation of v (stolen) in slot f. */
static struct frag *frag_set(struct frag *f, const void *k1, const void *k2, int line, json_t *v)
{
	free(f->json);
	f->json = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	f->len = f->json ? strlen(f->json) : 0;
	f->k1 = k1;
	f->k2 = k2;
	f->line = line;
	return f;
}

/*
 * The tasks' JSON is built in a byte buffer and written with one fwrite per JSON_BATCH
 * bytes: a million tasks are half a gigabyte of JSON, and per-field stdio calls (and
 * printf) were a third of the time of `tasks --json`.
 */
#define JSON_BATCH (256 * 1024)
struct obuf {
	char *p;
	size_t n, cap;
	bool failed;
};

static void ob_put(struct obuf *b, const char *s, size_t n)
{
	if (b->n + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		char *np;

		while (ncap < b->n + n)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

#define OB_LIT(b, lit) ob_put((b), (lit), sizeof(lit) - 1)

static void ob_bool(struct obuf *b, bool v)
{
	if (v)
		OB_LIT(b, "true");
	else
		OB_LIT(b, "false");
}

static void ob_int(struct obuf *b, long long v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *q = e;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do
		*--q = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--q = '-';
	ob_put(b, q, (size_t)(e - q));
}

/* "0x..." (as %#x would), or null for 0. */
static void ob_addr(struct obuf *b, uint64_t addr)
{
	char tmp[24], *e = tmp + sizeof(tmp), *q = e;

	if (!addr) {
		OB_LIT(b, "null");
		return;
	}
	*--q = '"';
	do
		*--q = "0123456789abcdef"[addr & 15];
	while (addr >>= 4);
	*--q = 'x';
	*--q = '0';
	*--q = '"';
	ob_put(b, q, (size_t)(e - q));
}

/*
 * The length of str when it is printable ASCII without '"' and '\\' (what jansson writes
 * as it is, between quotes), else (size_t)-1.
 */
static size_t plain_len(const char *str)
{
	const unsigned char *p = (const unsigned char *)str;

	for (; *p; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			return (size_t)-1;
	return (size_t)((const char *)p - str);
}

/*
 * An interned string (or NULL) as JSON: plain ASCII as it is (a million task names, each
 * its own), anything else as jansson writes it (escapes, UTF-8 checked), via the cache.
 */
static void ob_str(struct obuf *b, struct frag_cache *fc, const char *str)
{
	struct frag *f;
	size_t n;

	if (!str) {
		OB_LIT(b, "null");
		return;
	}
	n = plain_len(str);
	if (n != (size_t)-1) {
		OB_LIT(b, "\"");
		ob_put(b, str, n);
		OB_LIT(b, "\"");
		return;
	}
	f = frag_slot(fc, str, NULL, -1);
	if (f->k1 != str || f->k2 || f->line != -1 || !f->json)
		frag_set(f, str, NULL, -1, json_string(str));
	if (f->json)
		ob_put(b, f->json, f->len);
	else
		OB_LIT(b, "null");
}

static void ob_frame(struct obuf *b, struct frag_cache *fc, const struct adbg_frame *fr)
{
	struct frag *f = frag_slot(fc, fr->function, fr->file, fr->line);

	if (f->k1 != fr->function || f->k2 != fr->file || f->line != fr->line || !f->json)
		frag_set(f, fr->function, fr->file, fr->line, adbg_json_frame(fr));
	if (f->json)
		ob_put(b, f->json, f->len);
	else
		OB_LIT(b, "null");
}

/* A Trio task's "runtime" and "trio" (render_trio.c): a few, so built with jansson. */
static void ob_trio(struct obuf *b, const struct adbg_task *t)
{
	json_t *o = adbg_json_trio(t->trio);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	if (!text) {
		b->failed = true;
		return;
	}
	OB_LIT(b, ",\"runtime\":\"trio\",\"trio\":");
	ob_put(b, text, strlen(text));
	free(text);
}

/*
 * One task, with the same keys and values as adbg_json_task (which `task ID --json` and
 * the tests use as the reference), from cached fragments.
 */
/*
 * The fields of wait detail i (many tasks share one: a million waiters of one Event), as
 * serialised by jansson the first time and cached in extras[i]: `,"primitive":...`.
 */
static void ob_wait_detail(struct obuf *b, const struct adbg_asyncio_snapshot *snap, char **extras,
			   size_t i)
{
	if (!extras[i]) {
		json_t *w = json_object();
		char *text;

		wait_detail_fields(snap, &snap->waits[i], w);
		text = json_dumps(w, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(w);
		if (!text) {
			b->failed = true;
			return;
		}
		// "{...}" -> ",..." (nothing for an empty object)
		text[strlen(text) - 1] = 0;
		text[0] = text[1] ? ',' : 0;
		extras[i] = text;
	}
	ob_put(b, extras[i], strlen(extras[i]));
}

static void ob_task(struct obuf *b, struct frag_cache *fc, const struct adbg_asyncio_snapshot *snap,
		    char **extras, const struct adbg_task *t)
{
	OB_LIT(b, "{\"id\":");
	ob_addr(b, t->id);
	OB_LIT(b, ",\"name\":");
	ob_str(b, fc, t->name);
	if (t->name_truncated)
		OB_LIT(b, ",\"name_truncated\":true");
	OB_LIT(b, ",\"thread\":");
	if (t->thread)
		ob_int(b, t->thread);
	else
		OB_LIT(b, "null");
	OB_LIT(b, ",\"loop\":");
	ob_addr(b, t->loop);
	OB_LIT(b, ",\"state\":\"");
	ob_put(b, adbg_task_state_name(t->state), strlen(adbg_task_state_name(t->state)));
	OB_LIT(b, "\",\"cancelling\":");
	ob_bool(b, t->cancelling);
	OB_LIT(b, ",\"cancel\":{\"requested\":");
	ob_bool(b, t->cancel_requested);
	OB_LIT(b, ",\"count\":");
	ob_int(b, t->cancel_count);
	OB_LIT(b, ",\"message\":");
	ob_str(b, fc, t->cancel_message);
	if (t->cancel_message_truncated)
		OB_LIT(b, ",\"message_truncated\":true");
	OB_LIT(b, "},\"running\":");
	ob_bool(b, t->running);
	OB_LIT(b, ",\"coro\":");
	ob_str(b, fc, t->coro);
	OB_LIT(b, ",\"stack\":[");
	for (size_t i = 0; i < t->stack.n; i++) {
		if (i)
			OB_LIT(b, ",");
		ob_frame(b, fc, &t->stack.frames[i]);
	}
	OB_LIT(b, "]");
	if (t->stack.omitted) {
		OB_LIT(b, ",\"frames_omitted\":");
		ob_int(b, t->stack.omitted);
	}
	OB_LIT(b, ",\"waiting_on\":");
	if (t->has_waiting_on) {
		OB_LIT(b, "{\"type\":");
		ob_str(b, fc, t->waiting_on.type ? t->waiting_on.type : "?");
		OB_LIT(b, ",\"id\":");
		ob_addr(b, t->waiting_on.id);
		OB_LIT(b, ",\"task\":");
		ob_addr(b, t->waiting_on.task);
		if (t->waiting_on.what) {
			OB_LIT(b, ",\"what\":");
			ob_str(b, fc, t->waiting_on.what);
		}
		if (snap && t->wait && t->wait <= snap->nwaits)
			ob_wait_detail(b, snap, extras, t->wait - 1);
		OB_LIT(b, "}");
	} else {
		OB_LIT(b, "null");
	}
	OB_LIT(b, ",\"awaited_by\":[");
	for (size_t i = 0; i < t->nawaited_by; i++) {
		if (i)
			OB_LIT(b, ",");
		ob_addr(b, t->awaited_by[i]);
	}
	OB_LIT(b, "]");
	if (t->trio)
		ob_trio(b, t);
	OB_LIT(b, "}");
}

struct adbg_error *adbg_json_write_tasks(FILE *out, const struct adbg_asyncio_snapshot *snap,
					 const struct adbg_task *tasks, size_t n)
{
	struct frag_cache *fc = calloc(1, sizeof(*fc));
	struct obuf b = {0};
	size_t nextras = snap ? snap->nwaits : 0;
	char **extras = calloc(nextras ? nextras : 1, sizeof(*extras));

	if (!fc || !extras) {
		free(fc);
		free(extras);
		return &adbg_error_nomem;
	}
	for (size_t i = 0; i < n && !b.failed; i++) {
		if (i)
			OB_LIT(&b, ",");
		ob_task(&b, fc, snap, extras, &tasks[i]);
		// Written in batches: a stdio call per task was a tenth of the time.
		if (!b.failed && (b.n >= JSON_BATCH || i + 1 == n)) {
			if (fwrite(b.p, 1, b.n, out) != b.n)
				break;
			b.n = 0;
		}
	}
	free(b.p);
	for (size_t i = 0; i < nextras; i++)
		free(extras[i]);
	free(extras);
	frag_cache_free(fc);
	return b.failed ? &adbg_error_nomem : NULL;
}
