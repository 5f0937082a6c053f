// SPDX-License-Identifier: MIT
// The live-control commands: pause, continue, eval/p, await, cancel (through the agent,
// see inject.c and agent/agent.py), and select, up, down, locals (the selection that
// eval/await use; locals are read from memory, so they work on cores too).
//
// The agent is loaded on the first command that needs it and stays for the session; the
// channel closing (quit, or the debugger dying) makes it resume the loop and unload.
// eval/await/cancel on a loop that is not paused pause it for the one command
// ("transient" pause) and let it run again afterwards.
//
// eval and await are bounded: the agent stops an expression after its timeout (it enforces
// it itself, so that it holds even if we are stopped), and Ctrl-C has it stop it at once
// (an await's task is cancelled; code running on the loop thread gets an exception raised
// in that thread). One that does not stop (blocked in a call into C) is left running: the
// agent lets the loop run, or pauses it again, when it ends, and the next command says
// that it is still running until then.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"
#include "channel.h"
#include "cmd.h"
#include "error.h"
#include "render.h"
#include "session.h"
#include "inject.h"
#include "objects.h"
#include "repr.h"
#include "runtime.h"

// Defaults: how long pause waits for the loop, how long a paused loop stays paused
// without a word from the debugger.
#define DEFAULT_TIMEOUT_S 10.0
#define DEFAULT_LEASE_S 600.0
// eval and await stop their expression after this long by default (--timeout S, or
// AIODBG_EVAL_TIMEOUT / AIODBG_AWAIT_TIMEOUT in the environment; 0: never). An eval runs
// with the loop paused, so it should be short; an await waits for the program (a queue, a
// lock, a peer) and may rightly take longer.
#define DEFAULT_EVAL_TIMEOUT_S 10.0
#define DEFAULT_AWAIT_TIMEOUT_S 60.0
#define MAX_EXPR_TIMEOUT_S 86400.0
// An expression told to stop (its timeout, Ctrl-C) has this long to do it before we say
// that it could not be interrupted.
#define INTERRUPT_GRACE_S 3.0
// Locals shown at most per frame; characters of each repr.
#define MAX_LOCALS 256
#define LOCAL_REPR_MAX 200
// Room for a task name as the snapshot keeps it (asyncio.c: 256 bytes, and "…" when cut):
// AnyIO names its tasks by their function's qualified name, often 80 characters and more.
#define TASK_NAME_MAX 272
_Static_assert(sizeof(((struct adbg_selection *)0)->name) == TASK_NAME_MAX,
	       "the selection keeps a whole task name");
// A busy loop is reported this often while pause waits.
#define BUSY_REPORT_MS 1000

struct adbg_live {
	struct adbg_channel *ch;
	int next_id;
	bool paused;
	uint64_t loop;
	int tid;
	double lease;
	/** the front end's halted flag (adbg_cmd_state.halted), or NULL. */
	volatile int *halted;
};

void adbg_cmd_state_live_close(struct adbg_cmd_state *st)
{
	if (!st || !st->live)
		return;
	adbg_channel_destroy(st->live->ch);
	free(st->live);
	st->live = NULL;
}

/* Live control's state in the front end's, made on first use; NULL: out of memory. */
static struct adbg_live *live_of(struct adbg_cmd_state *st)
{
	struct adbg_live *lv = st->live;

	if (!lv) {
		lv = calloc(1, sizeof(*lv));
		if (!lv)
			return NULL;
		lv->lease = st->live_lease_s > 0 ? st->live_lease_s : DEFAULT_LEASE_S;
		lv->halted = st->halted;
		st->live = lv;
	}
	return lv;
}

/* Forget the agent (it went away). */
static void live_lost(struct adbg_live *lv)
{
	adbg_channel_destroy(lv->ch);
	lv->ch = NULL;
	lv->paused = false;
}

/*
 * What a wait does when it is interrupted (err: ADBG_ERR_INTERRUPTED, consumed; id: the
 * request's): NULL to wait on (*deadline may be moved, 0: none), or the error that ends
 * the wait.
 */
typedef ADBG_MUST_CHECK struct adbg_error *(*interrupt_fn)(void *arg, struct adbg_error *err,
							   int id, uint64_t *deadline);

/*
 * The one wait for the agent: send req (consumed; an "id" is added) and wait for the reply
 * with the same id until deadline (adbg_now_ns; 0: none) or until *interrupted is set.
 * Replies to other ids (late answers to abandoned requests) are dropped. An interruption
 * ends the wait unless on_interrupt (may be NULL) says to wait on.
 */
static ADBG_MUST_CHECK struct adbg_error *wait_reply(struct adbg_live *lv, json_t *req,
						     uint64_t deadline, volatile int *interrupted,
						     interrupt_fn on_interrupt, void *arg,
						     json_t **ret)
{
	int id = ++lv->next_id;
	struct adbg_error *err;

	json_object_set_new(req, "id", json_integer(id));
	err = adbg_channel_send(lv->ch, req);
	json_decref(req);
	while (!err) {
		json_t *msg = NULL;
		int left = -1;

		if (deadline) {
			uint64_t now = adbg_now_ns();

			left = now >= deadline ? 0 : (int)((deadline - now) / 1000000u);
		}
		err = adbg_channel_recv(lv->ch, left, interrupted, &msg);
		if (!err) {
			if (json_integer_value(json_object_get(msg, "id")) == id) {
				*ret = msg;
				return NULL;
			}
			json_decref(msg); // a late answer to a request we stopped waiting for
			continue;
		}
		if (err->code == ADBG_ERR_INTERRUPTED && on_interrupt)
			err = on_interrupt(arg, err, id, &deadline);
	}
	if (err->code == ADBG_ERR_GONE)
		live_lost(lv);
	return err;
}

/*
 * Send req (consumed) and wait up to timeout_ms (< 0: no limit) for its reply. An
 * interruption abandons the request. Without an interrupt flag of its own, the wait ends
 * when the program is halted by someone else: the request stays queued for the agent, and
 * the next command resynchronises.
 */
static ADBG_MUST_CHECK struct adbg_error *request(struct adbg_live *lv, json_t *req, int timeout_ms,
						  volatile int *interrupted, json_t **ret)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : adbg_now_ns() + (uint64_t)timeout_ms * 1000000u;

	return wait_reply(lv, req, deadline, interrupted ? interrupted : lv->halted, NULL, NULL,
			  ret);
}

/* An agent-level failure ({"ok": false, "error": ...}) as an error. */
static ADBG_MUST_CHECK struct adbg_error *agent_error(json_t *reply, const char *what)
{
	const char *msg = json_string_value(json_object_get(reply, "error"));

	return adbg_error_create(ADBG_ERR_NOT_FOUND, "%s: %s", what, msg ? msg : "failed");
}

/* -- loops, tasks, threads ----------------------------------------------------------- */

struct target_loop {
	uint64_t loop;
	int tid;
	/** the loop running on the main thread (what ≤3.13 injection wakes), 0: none. */
	uint64_t main_loop;
	uint64_t task;
	char task_name[TASK_NAME_MAX];
};

/*
 * The selected task has ended (t: as the snapshot has it; NULL: no longer found). The
 * selection is dropped, and the error says so and what to do.
 */
static ADBG_MUST_CHECK struct adbg_error *selection_ended(struct adbg_cmd_state *st,
							  const struct adbg_task *t)
{
	struct adbg_selection sel = st->sel; // what it was: the message names it
	const char *name = t && t->name ? t->name : sel.name[0] ? sel.name : NULL;
	const char *what = !t				     ? "has ended"
			   : t->state == ADBG_TASK_CANCELLED ? "was cancelled"
							     : "has finished";

	memset(&st->sel, 0, sizeof(st->sel));
	return adbg_error_create(ADBG_ERR_STATE,
				 "the selected task %#" PRIx64 "%s%s%s %s, so it is no longer "
				 "selected: 'select ID|NAME' another one (without a selection, "
				 "eval and await use __main__)",
				 sel.task, name ? " (" : "", name ? name : "", name ? ")" : "",
				 what);
}

/* A running loop in snap on thread tid (0: on any thread). */
static bool has_running_loop(const struct adbg_asyncio_snapshot *snap, int tid)
{
	for (size_t i = 0; i < snap->nloops; i++)
		if (snap->loops[i].running && (!tid || snap->loops[i].thread == tid))
			return true;
	return false;
}

/*
 * Which loop a command is about: --thread TID's, else the selected task's (or task
 * spec's), else the main thread's, else the only running one.
 */
static ADBG_MUST_CHECK struct adbg_error *
choose_loop(struct adbg_cmd_ctx *c, int tid, const char *task_spec, struct target_loop *ret)
{
	struct adbg_session *s = c->s;
	struct adbg_asyncio_snapshot snap;
	struct adbg_error *err;
	struct target_loop tl = {0};
	size_t running = 0;

	// Without a task to find, the threads' loops are all it needs: a million tasks are
	// not read to evaluate 6*7.
	unsigned flags = task_spec || (!tid && c->st->sel.task) ? 0 : ADBG_AIO_LOOPS_ONLY;

	for (;;) {
		err = adbg_session_snapshot_begin(s);
		if (!err)
			err = adbg_asyncio_snapshot(s, flags, &snap);
		adbg_session_snapshot_end(s);
		if (err)
			return err;
		if (!(flags & ADBG_AIO_LOOPS_ONLY) || has_running_loop(&snap, tid))
			break;
		// No asyncio loop runs there: a Trio run is found from the threads' frames,
		// which only the whole snapshot reads.
		adbg_asyncio_snapshot_deinit(&snap);
		flags = 0;
	}
	for (size_t i = 0; i < snap.nloops; i++) {
		const struct adbg_loop *l = &snap.loops[i];

		if (!l->running)
			continue;
		running++;
		if (l->thread == s->target->pid)
			tl.main_loop = l->id;
	}
	if (task_spec || (!tid && c->st->sel.task)) {
		bool selection = !task_spec;
		struct adbg_task *t = NULL;
		char spec[32];

		if (!task_spec) {
			snprintf(spec, sizeof(spec), "%#" PRIx64, c->st->sel.task);
			task_spec = spec;
		}
		err = adbg_asyncio_lookup(&snap, task_spec, &t);
		if (selection && adbg_error_is(err, ADBG_ERR_NOT_FOUND)) {
			adbg_error_destroy(err);
			err = selection_ended(c->st, NULL);
		}
		if (err)
			goto out;
		if (t->state != ADBG_TASK_PENDING) {
			err = selection ? selection_ended(c->st, t)
					: adbg_error_create(ADBG_ERR_STATE,
							    "task %#" PRIx64 " (%s) is %s, "
							    "not pending",
							    t->id, t->name ? t->name : "?",
							    adbg_task_state_name(t->state));
			goto out;
		}
		tl.task = t->id;
		snprintf(tl.task_name, sizeof(tl.task_name), "%s", t->name ? t->name : "?");
		tl.loop = t->loop;
		for (size_t i = 0; i < snap.nloops; i++)
			if (snap.loops[i].id == t->loop)
				tl.tid = snap.loops[i].thread;
		if (!tl.tid)
			tl.tid = t->thread;
	}
	for (size_t i = 0; !tl.loop && i < snap.nloops; i++) {
		const struct adbg_loop *l = &snap.loops[i];

		if (!l->running)
			continue;
		if (tid ? l->thread == tid : (l->thread == s->target->pid || running == 1)) {
			tl.loop = l->id;
			tl.tid = l->thread;
		}
	}
	if (!tl.loop) {
		if (tid)
			err = adbg_error_create(ADBG_ERR_NOT_FOUND,
						"no running asyncio loop on thread %d", tid);
		else if (running)
			err = adbg_error_create(
				ADBG_ERR_INVALID_ARG,
				"%zu loops are running; choose one with --thread TID "
				"or select a task",
				running);
		else
			err = adbg_error_create(ADBG_ERR_NOT_FOUND,
						"process %d runs no asyncio loop", s->target->pid);
	}
out:
	adbg_asyncio_snapshot_deinit(&snap);
	if (!err)
		*ret = tl;
	return err;
}

/*
 * What a long wait is waiting for (a busy loop, a thread that has not reached a safe
 * point). The front end shows it as it happens (the REPL and GDB: on stderr), so the user
 * sees it while aiodbg keeps trying and stdout carries only results; in JSON mode it also
 * becomes a warning.
 */
static void progress(void *arg, const char *msg)
{
	struct adbg_cmd_ctx *c = arg;

	if (c->opts.json)
		adbg_session_warn(c->s, "%s", msg);
	if (c->st->notice)
		c->st->notice(c->st->notice_arg, msg);
}

/*
 * Bring our idea of the loop's state in line with the agent's. A command that was cut
 * short (Ctrl-C, a breakpoint in GDB, a timeout) may have left the agent pausing or paused
 * for a pause nobody holds any more: that one is undone, so the loop runs as the user
 * expects. A pause the user asked for ('pause') stays; one the agent gave up (its lease ran
 * out) is forgotten.
 */
static ADBG_MUST_CHECK struct adbg_error *resync(struct adbg_live *lv)
{
	json_t *reply = NULL;
	struct adbg_error *err;
	const char *state, *loop;

	err = request(lv, json_pack("{s:s}", "cmd", "ping"), 5000, NULL, &reply);
	if (err)
		return err;
	state = json_string_value(json_object_get(reply, "state")) ?: "";
	loop = json_string_value(json_object_get(reply, "loop"));
	if (strcmp(state, "awaiting") == 0 || strcmp(state, "evaluating") == 0) {
		// An expression we stopped waiting for (it could not be interrupted).
		err = adbg_error_create(ADBG_ERR_STATE,
					"the expression of an interrupted %s is still running on "
					"loop %s; try again when it has finished",
					state[0] == 'a' ? "await" : "eval", loop ? loop : "?");
	} else if (strcmp(state, "paused") == 0 && lv->paused) {
		if (loop)
			lv->loop = strtoull(loop, NULL, 16);
	} else if (strcmp(state, "paused") == 0 || strcmp(state, "pausing") == 0) {
		json_t *r2 = NULL;

		// A leftover of a command that did not finish: let the loop run again.
		err = request(lv, json_pack("{s:s}", "cmd", "cancel_pause"), 5000, NULL, &r2);
		if (!err && json_is_true(json_object_get(r2, "was_paused"))) {
			json_decref(r2);
			r2 = NULL;
			err = request(lv, json_pack("{s:s}", "cmd", "continue"), 5000, NULL, &r2);
		}
		json_decref(r2);
		lv->paused = false;
	} else {
		lv->paused = false;
	}
	json_decref(reply);
	return err;
}

/* Load the agent if it is not there yet. */
static ADBG_MUST_CHECK struct adbg_error *ensure_agent(struct adbg_cmd_ctx *c,
						       const struct target_loop *tl,
						       double timeout_s, struct adbg_live **ret)
{
	struct adbg_live *lv = live_of(c->st);
	struct adbg_inject_opts o = {0};
	struct adbg_error *err;

	if (!lv)
		return &adbg_error_nomem;
	if (lv->ch && adbg_channel_connected(lv->ch)) {
		err = resync(lv);
		if (!err) {
			*ret = lv;
			return NULL;
		}
		if (err->code == ADBG_ERR_TIMEOUT) {
			// The agent's thread needs the GIL to answer.
			adbg_error_destroy(err);
			return adbg_error_create(
				ADBG_ERR_TIMEOUT,
				"the agent did not answer within 5 s: the program "
				"is stopped, or a thread holds the GIL (a long call "
				"into C); try again");
		}
		if (err->code != ADBG_ERR_GONE && lv->ch)
			return err;
		adbg_error_destroy(err);
		live_lost(lv);
	}
	// 3.14+: the loop's own thread takes the agent; ≤3.13: the main thread does.
	o.tid = tl->tid;
	o.wake_loop = c->s->python->layout.debugger_support.remote_debugger_support != ADBG_NO_FIELD
			      ? tl->loop
			      : tl->main_loop;
	o.timeout_ms = (int)(timeout_s * 1000);
	o.lease = lv->lease;
	o.interrupted = c->s->interrupted;
	o.progress = progress;
	o.progress_arg = c;
	err = adbg_inject_agent(c->s, &o, &lv->ch);
	if (err)
		return err;
	lv->paused = false;
	*ret = lv;
	return NULL;
}

/* Pause the loop tl names; on success lv->paused. */
static ADBG_MUST_CHECK struct adbg_error *do_pause(struct adbg_cmd_ctx *c, struct adbg_live *lv,
						   const struct target_loop *tl, double timeout_s,
						   json_t **info)
{
	uint64_t start = adbg_now_ns(), deadline = start + (uint64_t)(timeout_s * 1e9);
	uint64_t last_report = start;
	int id = ++lv->next_id;
	json_t *req = json_pack("{s:s, s:i, s:I, s:f, s:i}", "cmd", "pause", "tid", tl->tid, "loop",
				(json_int_t)tl->loop, "lease", lv->lease, "id", id);
	struct adbg_error *err;

	err = adbg_channel_send(lv->ch, req);
	json_decref(req);
	while (!err) {
		json_t *msg = NULL;
		uint64_t now;

		err = adbg_channel_recv(lv->ch, 100, c->s->interrupted, &msg);
		if (!err) {
			if (json_integer_value(json_object_get(msg, "id")) != id) {
				json_decref(msg);
				continue;
			}
			if (!json_is_true(json_object_get(msg, "ok"))) {
				err = agent_error(msg, "pause");
				json_decref(msg);
				return err;
			}
			lv->paused = true;
			lv->loop = tl->loop;
			lv->tid = (int)json_integer_value(json_object_get(msg, "thread"));
			if (info)
				*info = msg;
			else
				json_decref(msg);
			return NULL;
		}
		if (err->code != ADBG_ERR_TIMEOUT)
			break;
		adbg_error_destroy(err);
		err = NULL;
		now = adbg_now_ns();
		if (now >= deadline) {
			err = adbg_error_create(ADBG_ERR_TIMEOUT, "the loop did not pause");
			break;
		}
		if (now - last_report >= BUSY_REPORT_MS * 1000000ull) {
			char *where = NULL, *msgtext = NULL;

			adbg_error_destroy(adbg_inject_describe_thread(c->s, tl->tid, &where));
			if (asprintf(&msgtext,
				     "loop %#" PRIx64 " is busy: it has not come back to its "
				     "scheduler for %.1f s; %s",
				     tl->loop, (double)(now - start) / 1e9,
				     where ? where : "") >= 0)
				progress(c, msgtext);
			free(msgtext);
			free(where);
			last_report = now;
		}
	}
	if (err->code == ADBG_ERR_GONE)
		return err;
	// Give up: withdraw the request; if the pause won the race, undo it.
	{
		json_t *reply = NULL;
		struct adbg_error *cerr;
		char *where = NULL;

		cerr = request(lv, json_pack("{s:s}", "cmd", "cancel_pause"), 5000, NULL, &reply);
		if (!cerr && json_is_true(json_object_get(reply, "was_paused"))) {
			json_decref(reply);
			reply = NULL;
			adbg_error_destroy(request(lv, json_pack("{s:s}", "cmd", "continue"), 5000,
						   NULL, &reply));
		}
		json_decref(reply);
		adbg_error_destroy(cerr);
		if (err->code == ADBG_ERR_TIMEOUT) {
			adbg_error_destroy(adbg_inject_describe_thread(c->s, tl->tid, &where));
			adbg_error_destroy(err);
			err = adbg_error_create(
				ADBG_ERR_TIMEOUT,
				"loop %#" PRIx64 " did not pause within %.1f s: a "
				"callback is hogging its thread%s%s; it was left running",
				tl->loop, timeout_s, where ? ": " : "", where ? where : "");
			free(where);
		}
	}
	return err;
}

static ADBG_MUST_CHECK struct adbg_error *do_continue(struct adbg_live *lv)
{
	json_t *reply = NULL;
	struct adbg_error *err;

	err = request(lv, json_pack("{s:s}", "cmd", "continue"), 5000, NULL, &reply);
	if (err)
		return err;
	lv->paused = false;
	if (!json_is_true(json_object_get(reply, "ok")))
		err = agent_error(reply, "continue");
	json_decref(reply);
	return err;
}

static bool parse_double(const char *s, double *ret)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v <= 0 || v > 86400)
		return false;
	*ret = v;
	return true;
}

/* Take "--opt VALUE" out of c's arguments; the value is malloc'd (NULL: absent). */
static char *take_value(struct adbg_cmd_ctx *c, const char *opt, bool *bad)
{
	for (int i = 1; i < c->argc; i++) {
		char *val;

		if (strcmp(c->argv[i], opt) != 0)
			continue;
		if (i + 1 >= c->argc) {
			*bad = true;
			return NULL;
		}
		val = c->argv[i + 1];
		free(c->argv[i]);
		memmove(&c->argv[i], &c->argv[i + 2], (size_t)(c->argc - i - 1) * sizeof(char *));
		c->argc -= 2;
		return val;
	}
	return NULL;
}

/* -- pause / continue ---------------------------------------------------------------- */

struct adbg_error *adbg_cmd_pause(struct adbg_cmd_ctx *c)
{
	double timeout = DEFAULT_TIMEOUT_S;
	struct target_loop tl;
	struct adbg_live *lv;
	struct adbg_error *err;
	json_t *info = NULL;
	bool bad = false;
	char *tidv = take_value(c, "--thread", &bad), *tov = take_value(c, "--timeout", &bad);
	char *lease = take_value(c, "--lease", &bad);
	int tid = 0;

	if (bad || c->argc != 1 || (tidv && (tid = atoi(tidv)) <= 0) ||
	    (tov && !parse_double(tov, &timeout))) {
		free(tidv);
		free(tov);
		free(lease);
		return adbg_cmd_usage_error(c, NULL);
	}
	lv = live_of(c->st);
	if (!lv)
		return &adbg_error_nomem;
	if (lease && !parse_double(lease, &lv->lease))
		err = adbg_cmd_usage_error(c, "bad --lease");
	else
		err = NULL;
	free(tidv);
	free(tov);
	free(lease);
	if (err)
		return err;
	err = choose_loop(c, tid, NULL, &tl);
	if (!err)
		err = ensure_agent(c, &tl, timeout, &lv);
	if (!err && lv->paused)
		err = adbg_error_create(ADBG_ERR_STATE,
					"loop %#" PRIx64 " is already paused; 'continue' first",
					lv->loop);
	if (!err)
		err = do_pause(c, lv, &tl, timeout, &info);
	if (err)
		return err;
	if (c->opts.json) {
		json_t *doc = adbg_json_document(c->s), *p = json_object();

		json_object_set(p, "loop", json_object_get(info, "loop"));
		json_object_set(p, "thread", json_object_get(info, "thread"));
		json_object_set(p, "thread_name", json_object_get(info, "thread_name"));
		json_object_set(p, "waited_ms", json_object_get(info, "waited_ms"));
		json_object_set_new(doc, "paused", p);
		json_decref(info);
		return adbg_json_emit(c, doc);
	}
	fprintf(c->out, "paused loop %s on thread %" JSON_INTEGER_FORMAT " (%s)\n",
		json_string_value(json_object_get(info, "loop")) ?: "?",
		json_integer_value(json_object_get(info, "thread")),
		json_string_value(json_object_get(info, "thread_name")) ?: "?");
	json_decref(info);
	return NULL;
}

struct adbg_error *adbg_cmd_continue(struct adbg_cmd_ctx *c)
{
	struct adbg_live *lv = c->st->live;
	struct adbg_error *err;

	if (c->argc != 1)
		return adbg_cmd_usage_error(c, NULL);
	if (!lv || !lv->ch || !lv->paused)
		return adbg_error_create(ADBG_ERR_STATE, "no loop is paused");
	err = do_continue(lv);
	if (err)
		return err;
	if (c->opts.json) {
		json_t *doc = adbg_json_document(c->s);

		json_object_set_new(doc, "continued", adbg_json_addr(lv->loop));
		return adbg_json_emit(c, doc);
	}
	fprintf(c->out, "continued loop %#" PRIx64 "\n", lv->loop);
	return NULL;
}

/* -- eval / await / cancel ----------------------------------------------------------- */

/*
 * Make sure the loop of the selected task (or the chosen loop) is paused; *transient is
 * set when we paused it for this command only.
 */
static ADBG_MUST_CHECK struct adbg_error *paused_for(struct adbg_cmd_ctx *c, const char *task_spec,
						     struct target_loop *tl,
						     struct adbg_live **lv_ret, bool *transient)
{
	struct adbg_error *err;
	struct adbg_live *lv;

	*transient = false;
	err = choose_loop(c, 0, task_spec, tl);
	if (!err)
		err = ensure_agent(c, tl, DEFAULT_TIMEOUT_S, &lv);
	if (err)
		return err;
	if (lv->paused && lv->loop != tl->loop)
		return adbg_error_create(ADBG_ERR_STATE,
					 "loop %#" PRIx64
					 " is paused, but this needs loop %#" PRIx64
					 "; 'continue' first",
					 lv->loop, tl->loop);
	if (!lv->paused) {
		err = do_pause(c, lv, tl, DEFAULT_TIMEOUT_S, NULL);
		if (err)
			return err;
		*transient = true;
	}
	*lv_ret = lv;
	return NULL;
}

/* The function name of the selected frame (from memory), to check the agent's frame. */
static void selected_function(struct adbg_session *s, const struct adbg_selection *sel, char *buf,
			      size_t len)
{
	struct adbg_asyncio_snapshot snap;
	struct adbg_task *t;

	buf[0] = '\0';
	if (!sel->task || !adbg_ok(adbg_session_snapshot_begin(s))) {
		adbg_session_snapshot_end(s);
		return;
	}
	if (adbg_ok(adbg_asyncio_snapshot(s, ADBG_AIO_STACKS, &snap))) {
		t = adbg_asyncio_find(&snap, sel->task);
		if (t && sel->frame < t->stack.n)
			snprintf(buf, len, "%s", t->stack.frames[sel->frame].function);
		adbg_asyncio_snapshot_deinit(&snap);
	}
	adbg_session_snapshot_end(s);
}

static void print_result(struct adbg_cmd_ctx *c, json_t *reply)
{
	if (c->opts.json) {
		json_t *o = json_object();
		static const char *const keys[] = {"ok",	"repr",	 "type",       "error",
						   "traceback", "frame", "interrupted"};

		json_object_set_new(o, "schema", json_string("aiodbg/1"));
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (json_object_get(reply, keys[i]))
				json_object_set(o, keys[i], json_object_get(reply, keys[i]));
		json_dumpf(o, c->out, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', c->out);
		json_decref(o);
		return;
	}
	if (json_is_true(json_object_get(reply, "ok"))) {
		fprintf(c->out, "%s\n", json_string_value(json_object_get(reply, "repr")) ?: "");
		return;
	}
	if (json_string_value(json_object_get(reply, "traceback")))
		fputs(json_string_value(json_object_get(reply, "traceback")), c->out);
	else
		fprintf(c->out, "%s\n",
			json_string_value(json_object_get(reply, "error")) ?: "error");
}

/* A timeout of eval/await: seconds, 0 (none) to MAX_EXPR_TIMEOUT_S; s need not end at len. */
static bool parse_expr_timeout(const char *s, size_t len, double *ret)
{
	char buf[32], *end;
	double v;

	if (!len || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &end);
	if (end == buf || *end || !(v >= 0) || v > MAX_EXPR_TIMEOUT_S)
		return false;
	*ret = v;
	return true;
}

/*
 * eval/await's "[--timeout S] EXPR": the expression and its timeout (by default the
 * environment's AIODBG_EVAL_TIMEOUT or AIODBG_AWAIT_TIMEOUT, else DEFAULT_*_TIMEOUT_S).
 * Python code may start with "--" too (`p --x`): "--timeout" is the option only when a
 * number follows it.
 */
static ADBG_MUST_CHECK struct adbg_error *expr_args(struct adbg_cmd_ctx *c, bool is_await,
						    const char **expr, double *timeout)
{
	const char *env_name = is_await ? "AIODBG_AWAIT_TIMEOUT" : "AIODBG_EVAL_TIMEOUT";
	const char *env = getenv(env_name), *p = c->rest ? c->rest : "";

	*timeout = is_await ? DEFAULT_AWAIT_TIMEOUT_S : DEFAULT_EVAL_TIMEOUT_S;
	if (env && *env && !parse_expr_timeout(env, strlen(env), timeout))
		return adbg_error_create(
			ADBG_ERR_INVALID_ARG,
			"%s=%s: not a number of seconds from 0 (no timeout) to %.0f", env_name, env,
			MAX_EXPR_TIMEOUT_S);
	p += strspn(p, " \t");
	if (strncmp(p, "--timeout", 9) == 0 && (p[9] == ' ' || p[9] == '\t')) {
		const char *v = p + 9 + strspn(p + 9, " \t");
		size_t n = strcspn(v, " \t");

		if (parse_expr_timeout(v, n, timeout))
			p = v + n;
		else if ((*v >= '0' && *v <= '9') || *v == '.')
			return adbg_cmd_usage_error(c, "--timeout takes seconds, from 0 (none) "
						       "to 86400");
	}
	p += strspn(p, " \t");
	if (!*p)
		return adbg_cmd_usage_error(c, "no expression");
	*expr = p;
	return NULL;
}

/* Ask the agent to stop the expression of request req_id at once (its answer is dropped). */
static ADBG_MUST_CHECK struct adbg_error *send_interrupt(struct adbg_live *lv, int req_id)
{
	json_t *m = json_pack("{s:s, s:i, s:i}", "cmd", "interrupt", "req", req_id, "id",
			      ++lv->next_id);
	struct adbg_error *err = adbg_channel_send(lv->ch, m);

	json_decref(m);
	return err;
}

/* An eval/await being waited for (expr_request). */
struct expr_wait {
	struct adbg_cmd_ctx *c;
	struct adbg_live *lv;
	volatile int *intr;
	const char *after;
	bool ctrl_c;
};

/*
 * Ctrl-C during an expression: the first has the agent stop it at once and gives it
 * INTERRUPT_GRACE_S (the interrupt flag is cleared meanwhile, so that a second Ctrl-C stops
 * the waiting); the second stops waiting. When GDB holds the program stopped (a
 * breakpoint), the command ends now and the agent stops the expression when the program
 * runs again.
 */
static ADBG_MUST_CHECK struct adbg_error *expr_interrupted(void *arg, struct adbg_error *err,
							   int id, uint64_t *deadline)
{
	struct expr_wait *w = arg;

	if (w->lv->halted && *w->lv->halted) {
		adbg_error_destroy(send_interrupt(w->lv, id));
		return err;
	}
	adbg_error_destroy(err);
	if (w->ctrl_c)
		return adbg_error_create(ADBG_ERR_INTERRUPTED,
					 "stopped waiting for the expression, which is still "
					 "running in the target; %s",
					 w->after);
	w->ctrl_c = true;
	*w->intr = 0;
	progress(w->c, "stopping the expression (Ctrl-C again: stop waiting for it)");
	*deadline = adbg_now_ns() + (uint64_t)(INTERRUPT_GRACE_S * 1e9);
	return send_interrupt(w->lv, id);
}

/*
 * Send the eval/await request req (consumed; an "id" is added) and wait for its reply in
 * *ret. The agent stops the expression itself after timeout_s (0: never); we wait that long
 * and INTERRUPT_GRACE_S more. Ctrl-C has the agent stop it at once (expr_interrupted; *ctrl_c
 * is then set). An expression that has not stopped by then is left to the agent:
 * ADBG_ERR_TIMEOUT, saying so. transient: the loop was paused for this command.
 */
static ADBG_MUST_CHECK struct adbg_error *expr_request(struct adbg_cmd_ctx *c, struct adbg_live *lv,
						       json_t *req, double timeout_s,
						       bool transient, bool *ctrl_c, json_t **ret)
{
	struct expr_wait w = {
		.c = c,
		.lv = lv,
		.intr = c->s->interrupted ? c->s->interrupted : lv->halted,
		.after = transient ? "the loop runs on when it ends"
				   : "the loop is paused again when it ends",
	};
	uint64_t deadline = 0;
	struct adbg_error *err;

	if (timeout_s > 0)
		deadline = adbg_now_ns() + (uint64_t)((timeout_s + INTERRUPT_GRACE_S) * 1e9);
	err = wait_reply(lv, req, deadline, w.intr, expr_interrupted, &w, ret);
	*ctrl_c = w.ctrl_c;
	if (!err || err->code != ADBG_ERR_TIMEOUT)
		return err;
	adbg_error_destroy(err);
	if (w.ctrl_c)
		return adbg_error_create(
			ADBG_ERR_TIMEOUT,
			"the expression did not stop within %.1f s of Ctrl-C and "
			"is still running in the target: it is in a call into C "
			"that cannot be interrupted (time.sleep, a blocking read), "
			"or it caught the interruption; %s",
			INTERRUPT_GRACE_S, w.after);
	return adbg_error_create(ADBG_ERR_TIMEOUT,
				 "the expression was interrupted after %.1f s (its timeout; "
				 "--timeout S changes it) but is still running in the target: it "
				 "is in a call into C that cannot be interrupted (time.sleep, a "
				 "blocking read), or it caught the interruption; %s",
				 timeout_s, w.after);
}

static ADBG_MUST_CHECK struct adbg_error *eval_or_await(struct adbg_cmd_ctx *c, const char *cmd)
{
	bool is_await = strcmp(cmd, "await") == 0, transient, ctrl_c = false;
	struct target_loop tl;
	struct adbg_live *lv;
	struct adbg_error *err;
	json_t *req, *reply = NULL;
	const char *expr = NULL;
	double timeout = 0;
	char fn[256];

	err = expr_args(c, is_await, &expr, &timeout);
	if (err)
		return err;
	selected_function(c->s, &c->st->sel, fn, sizeof(fn));
	err = paused_for(c, NULL, &tl, &lv, &transient);
	if (err)
		return err;
	req = json_pack("{s:s, s:s, s:f}", "cmd", cmd, "expr", expr, "timeout", timeout);
	// A pause of this command's own: the agent lets the loop run as soon as the expression
	// ends, even if we have stopped waiting for it.
	if (transient)
		json_object_set_new(req, "resume", json_true());
	if (c->st->sel.task) {
		char id[32];

		snprintf(id, sizeof(id), "%#" PRIx64, c->st->sel.task);
		json_object_set_new(req, "task", json_string(id));
		json_object_set_new(req, "frame", json_integer(c->st->sel.frame));
		if (fn[0])
			json_object_set_new(req, "function", json_string(fn));
	}
	err = expr_request(c, lv, req, timeout, transient, &ctrl_c, &reply);
	if (transient)
		lv->paused = false;
	if (!err) {
		print_result(c, reply);
		// The output shows the failure (a traceback, {"ok": false}).
		if (!json_is_true(json_object_get(reply, "ok")))
			err = adbg_error_create(ADBG_ERR_REPORTED, "the expression failed: %s",
						json_string_value(json_object_get(reply, "error"))
							?: "error");
		json_decref(reply);
	}
	if (ctrl_c && c->s->interrupted) {
		// Ctrl-C stopped the expression (or our waiting for it): the command's outcome is
		// the interrupt, which the front end reports (and a batch run stops at). What it
		// printed stays: the interrupt drops output not yet written.
		if (err && err->code != ADBG_ERR_REPORTED)
			progress(c, err->message);
		adbg_error_destroy(err);
		fflush(c->out);
		*c->s->interrupted = 1;
		return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	}
	return err;
}

struct adbg_error *adbg_cmd_eval(struct adbg_cmd_ctx *c)
{
	return eval_or_await(c, "eval");
}

struct adbg_error *adbg_cmd_await(struct adbg_cmd_ctx *c)
{
	return eval_or_await(c, "await");
}

struct adbg_error *adbg_cmd_cancel(struct adbg_cmd_ctx *c)
{
	struct target_loop tl;
	struct adbg_live *lv;
	struct adbg_error *err, *cerr;
	bool transient;
	json_t *req, *reply = NULL;
	char *msg = NULL, id[32];

	if (c->argc < 2)
		return adbg_cmd_usage_error(c, NULL);
	// cancel ID word word... : the message is the rest, quoted or not.
	for (int i = 2; i < c->argc; i++) {
		char *m = NULL;

		if (asprintf(&m, "%s%s%s", msg ? msg : "", msg ? " " : "", c->argv[i]) < 0) {
			free(msg);
			return &adbg_error_nomem;
		}
		free(msg);
		msg = m;
	}
	err = paused_for(c, c->argv[1], &tl, &lv, &transient);
	if (err) {
		free(msg);
		return err;
	}
	snprintf(id, sizeof(id), "%#" PRIx64, tl.task);
	req = json_pack("{s:s, s:s}", "cmd", "cancel", "task", id);
	if (msg)
		json_object_set_new(req, "msg", json_string(msg));
	err = request(lv, req, 60000, NULL, &reply);
	if (!err && !json_is_true(json_object_get(reply, "ok")))
		err = agent_error(reply, "cancel");
	if (!err) {
		if (c->opts.json) {
			json_t *doc = adbg_json_document(c->s), *o = json_object();

			json_object_set_new(o, "task", json_string(id));
			json_object_set(o, "cancelled", json_object_get(reply, "cancelled"));
			json_object_set(o, "cancelling", json_object_get(reply, "cancelling"));
			json_object_set(o, "state", json_object_get(reply, "state"));
			json_object_set_new(o, "message", msg ? json_string(msg) : json_null());
			// Trio: the cancel scope cancelled, and what that also cancels.
			if (json_string_value(json_object_get(reply, "scope")))
				json_object_set(o, "scope", json_object_get(reply, "scope"));
			if (json_string_value(json_object_get(reply, "note")))
				json_object_set(o, "note", json_object_get(reply, "note"));
			json_object_set_new(doc, "cancel", o);
			err = adbg_json_emit(c, doc);
		} else if (json_string_value(json_object_get(reply, "scope"))) {
			// Trio: the task's innermost cancel scope was cancelled.
			fprintf(c->out, "task %s (%s): cancelled its cancel scope %s%s%s%s\n", id,
				tl.task_name, json_string_value(json_object_get(reply, "scope")),
				msg ? ", reason \"" : "", msg ? msg : "", msg ? "\"" : "");
		} else {
			fprintf(c->out,
				"task %s (%s): cancel() returned %s; now %s, cancelling "
				"%" JSON_INTEGER_FORMAT "%s%s%s\n",
				id, tl.task_name,
				json_is_true(json_object_get(reply, "cancelled")) ? "True"
										  : "False",
				json_string_value(json_object_get(reply, "state")) ?: "?",
				json_integer_value(json_object_get(reply, "cancelling")),
				msg ? ", message \"" : "", msg ? msg : "", msg ? "\"" : "");
		}
		// Trio: what cancelling the innermost scope also cancels.
		if (!c->opts.json && json_string_value(json_object_get(reply, "note")))
			fprintf(c->out, "note: %s\n",
				json_string_value(json_object_get(reply, "note")));
		// cancel() returns False for a task that is already done: nothing was cancelled,
		// as the output says.
		if (!err && !json_is_true(json_object_get(reply, "cancelled")))
			err = adbg_error_create(ADBG_ERR_REPORTED,
						"task %s (%s): cancel() returned False", id,
						tl.task_name);
	}
	json_decref(reply);
	free(msg);
	if (transient && lv->ch) {
		cerr = do_continue(lv);
		if (!err)
			err = cerr;
		else
			adbg_error_destroy(cerr);
	}
	return err;
}

/* -- select / up / down / locals ----------------------------------------------------- */

static ADBG_MUST_CHECK struct adbg_error *selected_task(struct adbg_cmd_ctx *c, const char *spec,
							struct adbg_asyncio_snapshot *snap,
							struct adbg_task **ret)
{
	struct adbg_error *err;
	char buf[32];

	if (!spec) {
		if (!c->st->sel.task)
			return adbg_error_create(ADBG_ERR_INVALID_ARG,
						 "no task selected; 'select ID|NAME' first");
		snprintf(buf, sizeof(buf), "%#" PRIx64, c->st->sel.task);
		spec = buf;
	}
	err = adbg_session_snapshot_begin(c->s);
	if (!err)
		err = adbg_asyncio_snapshot(c->s, ADBG_AIO_STACKS, snap);
	adbg_session_snapshot_end(c->s);
	if (err)
		return err;
	err = adbg_asyncio_lookup(snap, spec, ret);
	if (!err && spec == buf && (*ret)->state != ADBG_TASK_PENDING)
		err = selection_ended(c->st, *ret);
	else if (spec == buf && adbg_error_is(err, ADBG_ERR_NOT_FOUND)) {
		adbg_error_destroy(err);
		err = selection_ended(c->st, NULL);
	}
	if (err)
		adbg_asyncio_snapshot_deinit(snap);
	return err;
}

static ADBG_MUST_CHECK struct adbg_error *show_frame(struct adbg_cmd_ctx *c,
						     const struct adbg_task *t)
{
	const struct adbg_frame *f =
		c->st->sel.frame < t->stack.n ? &t->stack.frames[c->st->sel.frame] : NULL;

	if (c->opts.json) {
		json_t *doc = adbg_json_document(c->s), *sel = json_object();

		json_object_set_new(sel, "task", adbg_json_addr(t->id));
		json_object_set_new(sel, "name", t->name ? json_string(t->name) : json_null());
		json_object_set_new(sel, "frame_index", json_integer(c->st->sel.frame));
		json_object_set_new(sel, "frames", json_integer((json_int_t)t->stack.n));
		json_object_set_new(sel, "frame", f ? adbg_json_frame(f) : json_null());
		json_object_set_new(doc, "selected", sel);
		return adbg_json_emit(c, doc);
	}
	fprintf(c->out, "task %#" PRIx64 " (%s), frame #%u of %zu:", t->id, t->name ? t->name : "?",
		c->st->sel.frame, t->stack.n);
	if (f)
		adbg_text_frame(c->out, f, " ");
	else
		fprintf(c->out, " (no Python frame)\n");
	return NULL;
}

static bool is_asyncio_frame(const struct adbg_frame *f)
{
	// Trio's own frames too: a Trio task always ends in its traps.
	return f->file && (strstr(f->file, "/asyncio/") || strstr(f->file, "/trio/"));
}

struct adbg_error *adbg_cmd_select(struct adbg_cmd_ctx *c)
{
	struct adbg_asyncio_snapshot snap;
	struct adbg_task *t;
	struct adbg_error *err;
	unsigned frame = 0;

	if (c->argc != 2)
		return adbg_cmd_usage_error(c, NULL);
	err = selected_task(c, c->argv[1], &snap, &t);
	if (err)
		return err;
	// Start at the innermost frame of the program's own code: asyncio.sleep or
	// Queue.get frames at the bottom are rarely what the user wants to look at.
	while (frame + 1 < t->stack.n && is_asyncio_frame(&t->stack.frames[frame]))
		frame++;
	if (t->stack.n && is_asyncio_frame(&t->stack.frames[frame]))
		frame = 0;
	c->st->sel.task = t->id;
	c->st->sel.frame = frame;
	snprintf(c->st->sel.name, sizeof(c->st->sel.name), "%s", t->name ? t->name : "");
	err = show_frame(c, t);
	adbg_asyncio_snapshot_deinit(&snap);
	return err;
}

static ADBG_MUST_CHECK struct adbg_error *move_frame(struct adbg_cmd_ctx *c, int delta)
{
	struct adbg_asyncio_snapshot snap;
	struct adbg_task *t;
	struct adbg_error *err;
	long n = 1;

	if (c->argc > 2 || (c->argc == 2 && (n = strtol(c->argv[1], NULL, 10)) <= 0))
		return adbg_cmd_usage_error(c, NULL);
	err = selected_task(c, NULL, &snap, &t);
	if (err)
		return err;
	if (!t->stack.n) {
		err = adbg_error_create(ADBG_ERR_NOT_FOUND, "task %#" PRIx64 " has no frames",
					t->id);
	} else {
		long f = (long)c->st->sel.frame + delta * n;

		if (f < 0 || f >= (long)t->stack.n) {
			err = adbg_error_create(ADBG_ERR_INVALID_ARG, "already at the %s frame",
						delta > 0 ? "outermost" : "innermost");
		} else {
			c->st->sel.frame = (unsigned)f;
			err = show_frame(c, t);
		}
	}
	adbg_asyncio_snapshot_deinit(&snap);
	return err;
}

struct adbg_error *adbg_cmd_up(struct adbg_cmd_ctx *c)
{
	return move_frame(c, 1);
}

struct adbg_error *adbg_cmd_down(struct adbg_cmd_ctx *c)
{
	return move_frame(c, -1);
}

/* The locals of interpreter frame f, from memory (target frozen), with their reprs. */
static ADBG_MUST_CHECK struct adbg_error *read_locals(struct adbg_session *s,
						      const struct adbg_frame *f, json_t *out)
{
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_frame_locals fl = {0};
	struct adbg_error *err;

	err = adbg_frame_locals(s, f, MAX_LOCALS, &fl);
	for (size_t i = 0; !err && i < fl.n; i++) {
		char *name = NULL, *repr = NULL;
		json_t *o;

		if (!fl.values[i])
			continue; // unbound
		if (!adbg_ok(adbg_obj_str(s->target, l, fl.names[i], 256, &name, NULL)))
			continue;
		err = adbg_obj_repr(s->target, l, fl.values[i], LOCAL_REPR_MAX, &repr);
		if (err) {
			free(name);
			break;
		}
		o = json_object();
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "repr", json_string(repr));
		json_array_append_new(out, o);
		free(name);
		free(repr);
	}
	adbg_frame_locals_deinit(&fl);
	return err;
}

struct adbg_error *adbg_cmd_locals(struct adbg_cmd_ctx *c)
{
	struct adbg_asyncio_snapshot snap = {0};
	struct adbg_task *t = NULL;
	struct adbg_error *err;
	const struct adbg_frame *f = NULL;
	json_t *locals;
	char id[32];

	if (c->argc != 1)
		return adbg_cmd_usage_error(c, NULL);
	if (!c->st->sel.task)
		return adbg_error_create(ADBG_ERR_INVALID_ARG,
					 "no task selected; 'select ID|NAME' first");
	snprintf(id, sizeof(id), "%#" PRIx64, c->st->sel.task);
	locals = json_array();
	// One snapshot for the stack and the values (frame strings live until the next).
	err = adbg_session_snapshot_begin(c->s);
	if (!err)
		err = adbg_asyncio_snapshot(c->s, ADBG_AIO_STACKS, &snap);
	if (!err) {
		err = adbg_asyncio_lookup(&snap, id, &t);
		if (!err && t->state != ADBG_TASK_PENDING && !t->stack.n) {
			err = selection_ended(c->st, t);
		} else if (adbg_error_is(err, ADBG_ERR_NOT_FOUND)) {
			adbg_error_destroy(err);
			err = selection_ended(c->st, NULL);
		}
	}
	if (!err && c->st->sel.frame >= t->stack.n)
		err = adbg_error_create(ADBG_ERR_NOT_FOUND, "task %s has no frame #%u", id,
					c->st->sel.frame);
	if (!err) {
		f = &t->stack.frames[c->st->sel.frame];
		err = read_locals(c->s, f, locals);
	}
	adbg_session_snapshot_end(c->s);
	if (!err && c->opts.json) {
		json_t *doc = adbg_json_document(c->s);

		json_object_set_new(doc, "task", adbg_json_addr(t->id));
		json_object_set_new(doc, "frame", adbg_json_frame(f));
		json_object_set(doc, "locals", locals);
		err = adbg_json_emit(c, doc);
	} else if (!err) {
		size_t i;
		json_t *o;

		fprintf(c->out, "frame #%u:", c->st->sel.frame);
		adbg_text_frame(c->out, f, " ");
		json_array_foreach(locals, i, o) fprintf(
			c->out, "  %s = %s\n", json_string_value(json_object_get(o, "name")),
			json_string_value(json_object_get(o, "repr")));
		if (!json_array_size(locals))
			fprintf(c->out, "  (no locals)\n");
		adbg_text_warnings(c);
	}
	json_decref(locals);
	adbg_asyncio_snapshot_deinit(&snap);
	return err;
}
