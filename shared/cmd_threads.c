// SPDX-License-Identifier: MIT
// The `threads` and `bt` commands: Python threads and their stacks.
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"
#include "cmd.h"
#include "error.h"
#include "render.h"
#include "session.h"
#include "native.h"
#include "runtime.h"

static json_t *json_thread(const struct adbg_pythread *th, bool frames)
{
	json_t *o = json_object();

	json_object_set_new(o, "tid", json_integer(th->tid));
	json_object_set_new(o, "name", th->name ? json_string(th->name) : json_null());
	if (th->name_truncated)
		json_object_set_new(o, "name_truncated", json_true());
	json_object_set_new(o, "main", json_boolean(th->main));
	json_object_set_new(o, "gil", json_string(adbg_gil_name(th->gil)));
	json_object_set_new(o, "loop", adbg_json_addr(th->loop));
	json_object_set_new(o, "running_task", adbg_json_addr(th->running_task));
	// Added fields (DESIGN §6), present only when they say something.
	if (th->agent)
		json_object_set_new(o, "agent", json_true());
	if (frames) {
		json_object_set_new(o, "frames", adbg_json_stack(&th->stack));
		if (th->stack.omitted)
			json_object_set_new(o, "frames_omitted", json_integer(th->stack.omitted));
	}
	return o;
}

static void text_thread_header(FILE *out, const struct adbg_pythread *th)
{
	fprintf(out, "Thread %d", th->tid);
	if (th->name) {
		fputs(" \"", out);
		adbg_text_clean(out, th->name);
		fputs(th->name_truncated ? "…\"" : "\"", out);
	}
	fprintf(out, "%s%s, GIL %s\n", th->main ? " (main)" : "",
		th->agent ? " (aiodbg's agent, not the program's)" : "", adbg_gil_name(th->gil));
}

/* bt --native: what is read while the target is frozen, per thread shown. */
struct native_thread {
	struct adbg_pythread *th;
	struct adbg_native_stack ns;
	struct adbg_native_segments *segs;
	/** why no native frame could be read (the stack keeps its Python frames). */
	struct adbg_error *err;
};

struct native_run {
	/** the front end's unwinder (adbg_cmd_state.unwinder). */
	const struct adbg_unwinder *u;
	void *state;
	bool begun;
	struct native_thread *t;
	size_t n;
};

/* Free what a run read; the unwinder stays, for a snapshot read again. */
static void native_run_deinit(struct adbg_session *s, struct native_run *nr)
{
	const struct adbg_unwinder *u = nr->u;

	for (size_t i = 0; i < nr->n; i++) {
		adbg_native_stack_deinit(&nr->t[i].ns);
		adbg_native_segments_destroy(nr->t[i].segs);
		adbg_error_destroy(nr->t[i].err);
	}
	free(nr->t);
	if (nr->begun && nr->u->end)
		nr->u->end(s, nr->state);
	memset(nr, 0, sizeof(*nr));
	nr->u = u;
}

/*
 * The frozen half of bt --native: the native frames of each thread shown (all, or tid
 * want) and its interpreter-frame chain cut at the eval-loop entries. Nothing that can
 * wait for the thaw is done here (naming frames, merging).
 */
static ADBG_MUST_CHECK struct adbg_error *native_read(struct adbg_session *s,
						      struct adbg_runtime_snapshot *snap, long want,
						      unsigned max_frames, struct native_run *nr)
{
	const struct adbg_unwinder *u = nr->u;
	struct adbg_error *err;

	nr->t = calloc(snap->nthreads ? snap->nthreads : 1, sizeof(*nr->t));
	if (!nr->t)
		return &adbg_error_nomem;
	err = u->begin ? u->begin(s, &nr->state) : NULL;
	if (err)
		return err;
	nr->begun = true;
	for (size_t i = 0; i < snap->nthreads; i++) {
		struct native_thread *nt = &nr->t[nr->n];

		if (want && snap->threads[i].tid != want)
			continue;
		nt->th = &snap->threads[i];
		nr->n++;
		err = u->thread(s, nr->state, nt->th->tid, &nt->ns);
		if (adbg_error_is(err, ADBG_ERR_NOMEM))
			return err;
		nt->err = err;
		if (err)
			continue;
		err = adbg_native_segments_read(s, nt->th, max_frames, &nt->segs);
		if (err)
			return err;
	}
	return NULL;
}

/*
 * The thawed half: name the frames, merge each stack and put it in place of the thread's
 * Python stack. A thread whose native frames could not be read keeps its Python frames,
 * with a warning; when no thread's could, the command fails with the first reason.
 */
static ADBG_MUST_CHECK struct adbg_error *native_finish(struct adbg_session *s,
							struct native_run *nr, unsigned max_frames)
{
	const struct adbg_unwinder *u = nr->u;
	struct adbg_error *first = NULL;
	size_t failed = 0;

	for (size_t i = 0; i < nr->n; i++) {
		struct native_thread *nt = &nr->t[i];
		struct adbg_stack merged;
		struct adbg_error *err;

		if (nt->err) {
			if (!failed++)
				first = nt->err;
			continue;
		}
		if (u->name)
			u->name(s, nr->state, &nt->ns);
		if (nt->ns.stopped && nt->ns.st.n)
			adbg_session_warn(s,
					  "thread %d: native stack incomplete: unwinding stopped "
					  "after %s: %s",
					  nt->th->tid, nt->ns.st.frames[nt->ns.st.n - 1].function,
					  nt->ns.stopped);
		else if (nt->ns.st.truncated)
			adbg_session_warn(s, "thread %d: native stack cut at %d frames",
					  nt->th->tid, ADBG_MAX_NATIVE_FRAMES);
		err = adbg_native_merge(s, nt->th, nt->segs, &nt->ns, &merged);
		if (err)
			return err;
		// Outer Python frames the walk left out are left out of the merge too.
		merged.omitted += nt->th->stack.omitted;
		if (max_frames && merged.n > max_frames) {
			merged.omitted += (uint32_t)(merged.n - max_frames);
			merged.n = max_frames;
			merged.truncated = true;
			adbg_session_warn(s, "thread %d: stack cut at %u frames", nt->th->tid,
					  max_frames);
		}
		adbg_stack_deinit(&nt->th->stack);
		nt->th->stack = merged;
	}
	if (failed && failed == nr->n) {
		// Every thread failed: the command fails with the first reason (it is the
		// caller's to free, not the run's).
		for (size_t i = 0; i < nr->n; i++)
			if (nr->t[i].err == first)
				nr->t[i].err = NULL;
		return first;
	}
	for (size_t i = 0; i < nr->n; i++)
		if (nr->t[i].err)
			adbg_session_warn(s, "%s; showing its Python frames only",
					  nr->t[i].err->message);
	return NULL;
}

/* What bt and threads read while the target is frozen (see adbg_session_snapshot). */
struct rt_read {
	unsigned flags;
	/** frames per stack (bt --max-frames; 0: ADBG_MAX_FRAMES). */
	unsigned max_frames;
	struct adbg_runtime_snapshot snap;
	// bt --native: the native frames of thread want (0: all), read while frozen (nr.u:
	// with the front end's unwinder)
	bool native;
	long want;
	struct native_run nr;
};

static ADBG_MUST_CHECK struct adbg_error *rt_read(struct adbg_session *s, void *arg)
{
	struct rt_read *r = arg;
	struct adbg_error *err = adbg_runtime_snapshot_capped(s, r->flags, r->max_frames, &r->snap);

	if (!err)
		adbg_asyncio_thread_loops(s, &r->snap);
	// Not while warming: the threads' registers are those of the last stop.
	if (!err && r->native && !s->warming) {
		err = native_read(s, &r->snap, r->want, r->max_frames, &r->nr);
		if (err) {
			native_run_deinit(s, &r->nr);
			adbg_runtime_snapshot_deinit(&r->snap);
		}
	}
	return err;
}

static void rt_drop(struct adbg_session *s, void *arg)
{
	struct rt_read *r = arg;

	if (r->native)
		native_run_deinit(s, &r->nr);
	adbg_runtime_snapshot_deinit(&r->snap);
}

/* Take a snapshot of the runtime with the target frozen only while reading. */
static ADBG_MUST_CHECK struct adbg_error *runtime_snapshot(struct adbg_session *s, unsigned flags,
							   struct adbg_runtime_snapshot *ret)
{
	struct rt_read r = {.flags = flags};
	struct adbg_error *err = adbg_session_snapshot(s, rt_read, rt_drop, &r);

	if (!err)
		*ret = r.snap;
	return err;
}

struct adbg_error *adbg_cmd_threads(struct adbg_cmd_ctx *c)
{
	struct adbg_runtime_snapshot snap;
	struct adbg_error *err;

	if (c->argc > 1)
		return adbg_cmd_usage_error(c, "too many arguments");
	err = runtime_snapshot(c->s, ADBG_RT_STACKS | ADBG_RT_NAMES, &snap);
	if (err)
		return err;
	if (c->opts.json) {
		json_t *doc = adbg_json_document(c->s), *a = json_array();

		for (size_t i = 0; i < snap.nthreads; i++)
			json_array_append_new(a, json_thread(&snap.threads[i], false));
		json_object_set_new(doc, "threads", a);
		adbg_runtime_snapshot_deinit(&snap);
		return adbg_json_emit(c, doc);
	}
	// TID NAME MAIN GIL WHERE; on a terminal WHERE takes the rest, NAME gives way first.
	int w[5] = {8, 20, 4, 8, 0};
	static const int min[5] = {7, 10, 4, 8, 20};

	if (c->opts.width) {
		w[4] = c->opts.width - (w[0] + w[1] + w[2] + w[3] + 4);
		if (w[4] < 40)
			w[4] = 40;
		adbg_text_fit(w, min, 5, c->opts.width);
	}
	adbg_text_cell(c, "TID", w[0], ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "NAME", w[1], ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "MAIN", w[2], ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "GIL", w[3], ADBG_COLOR_BOLD, false);
	adbg_text_cell(c, "WHERE", w[4], ADBG_COLOR_BOLD, true);
	fputc('\n', c->out);
	for (size_t i = 0; i < snap.nthreads; i++) {
		const struct adbg_pythread *th = &snap.threads[i];
		const struct adbg_frame *top = th->stack.n ? &th->stack.frames[0] : NULL;
		char tid[16], where[1024], name[512];

		snprintf(tid, sizeof(tid), "%d", th->tid);
		adbg_text_cell(c, tid, w[0], -1, false);
		snprintf(name, sizeof(name), "%s%s", th->name ? th->name : "?",
			 th->name_truncated ? "…" : "");
		adbg_text_cell(c, name, w[1], -1, false);
		adbg_text_cell(c, th->main ? "yes" : "", w[2], -1, false);
		adbg_text_cell(c, adbg_gil_name(th->gil), w[3], -1, false);
		if (top && top->line)
			snprintf(where, sizeof(where), "%s (%s:%d)", top->function,
				 top->file ? top->file : "?", top->line);
		else if (top)
			snprintf(where, sizeof(where), "%s (%s)", top->function,
				 top->file ? top->file : "?");
		else
			snprintf(where, sizeof(where), "(no Python frame)");
		adbg_text_cell(c, where, w[4], -1, true);
		fputc('\n', c->out);
	}
	adbg_runtime_snapshot_deinit(&snap);
	adbg_text_warnings(c);
	return NULL;
}

struct adbg_error *adbg_cmd_bt(struct adbg_cmd_ctx *c)
{
	struct adbg_runtime_snapshot snap = {0};
	struct adbg_error *err;
	long want = 0;
	bool found = false;
	unsigned max_frames = 0;
	bool native;

	native = adbg_cmd_take_flag(c, "--native");
	// --max-frames N: cut each stack after N frames (default ADBG_MAX_FRAMES).
	for (int i = 1; i + 1 < c->argc; i++) {
		char *end;
		long v;

		if (strcmp(c->argv[i], "--max-frames") != 0)
			continue;
		v = strtol(c->argv[i + 1], &end, 10);
		if (*end || v <= 0 || v > ADBG_MAX_FRAMES)
			return adbg_cmd_usage_error(c, "--max-frames takes 1 to 1024");
		max_frames = (unsigned)v;
		// Drop the option and its value from argv.
		free(c->argv[i]);
		free(c->argv[i + 1]);
		memmove(&c->argv[i], &c->argv[i + 2], (size_t)(c->argc - i - 1) * sizeof(char *));
		c->argc -= 2;
		break;
	}
	if (c->argc > 2)
		return adbg_cmd_usage_error(c, "too many arguments");
	if (c->argc == 2) {
		char *end;

		want = strtol(c->argv[1], &end, 0);
		if (*end || want <= 0)
			return adbg_cmd_usage_error(c, "expected a thread id");
	}
	if (native && !c->st->unwinder)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "bt --native: this front end cannot unwind native stacks");
	// New mappings (libraries loaded since the last command) must be known to unwind
	// through them; this must precede the freeze, which records the threads' registers.
	if (native) {
		err = adbg_target_refresh(c->s->target);
		if (err)
			return err;
	}
	{
		struct rt_read r = {.flags = ADBG_RT_STACKS | ADBG_RT_NAMES,
				    .max_frames = max_frames,
				    .native = native,
				    .want = want,
				    .nr = {.u = c->st->unwinder}};

		err = adbg_session_snapshot(c->s, rt_read, rt_drop, &r);
		if (!err) {
			snap = r.snap;
			if (native)
				err = native_finish(c->s, &r.nr, max_frames);
			if (native)
				native_run_deinit(c->s, &r.nr);
			if (err)
				adbg_runtime_snapshot_deinit(&snap);
		}
	}
	if (err)
		return err;
	if (c->opts.json) {
		json_t *doc = adbg_json_document(c->s), *a = json_array();

		for (size_t i = 0; i < snap.nthreads; i++) {
			if (want && snap.threads[i].tid != want)
				continue;
			found = true;
			json_array_append_new(a, json_thread(&snap.threads[i], true));
		}
		json_object_set_new(doc, "threads", a);
		adbg_runtime_snapshot_deinit(&snap);
		if (want && !found) {
			json_decref(doc);
			return adbg_error_create(ADBG_ERR_NOT_FOUND, "no Python thread %ld", want);
		}
		return adbg_json_emit(c, doc);
	}
	for (size_t i = 0; i < snap.nthreads; i++) {
		const struct adbg_pythread *th = &snap.threads[i];

		if (want && th->tid != want)
			continue;
		if (found)
			fputc('\n', c->out);
		found = true;
		text_thread_header(c->out, th);
		// Outermost first reads like a traceback; JSON keeps innermost first.
		fprintf(c->out, "Traceback (most recent call last):\n");
		adbg_text_frames_omitted(c->out, &th->stack, "  ");
		for (size_t j = th->stack.n; j-- > 0;)
			adbg_text_frame(c->out, &th->stack.frames[j], "  ");
		if (!th->stack.n)
			fprintf(c->out, "  (no Python frame)\n");
	}
	adbg_runtime_snapshot_deinit(&snap);
	if (want && !found)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "no Python thread %ld", want);
	adbg_text_warnings(c);
	return NULL;
}
