// SPDX-License-Identifier: MIT
// `aiodbg watch PID`: sample a live process (shared/watch.h) until --duration, Ctrl-C or
// the process exits; print one event per blocked-loop episode (text, or JSON Lines) and a
// summary: the episodes, loop lag, coroutines whose task count keeps growing, and what the
// sampling cost the target.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"
#include "repl.h"
#include "session.h"
#include "target.h"
#include "term.h"
#include "watch.h"

static const char watch_usage[] =
	"usage: aiodbg watch PID [--blocked MS] [--interval MS] [--duration S] [--json]\n"
	"\n"
	"Sample the asyncio loops of process PID and report every episode in which one\n"
	"callback or task step held a loop for MS milliseconds or more (default 100): when\n"
	"it started, how long it lasted, the loop and its thread, the task, and the Python\n"
	"stack seen most often during it. Each sample stops the process for one short\n"
	"snapshot of its threads' stacks (as `threads` does). Every 500 ms, or 0.5 ms per\n"
	"task if that is longer (10 000 tasks: every 5 s), a sample also reads the tasks\n"
	"(like `tasks`, without stacks), for the leak signal and the lag; and once per\n"
	"episode of a task step, to name the task. The process runs on between samples;\n"
	"what it loses is the stops, which the summary reports (the process stopped N ms\n"
	"per sample; --json: stopped_ms). make bench (tests/bench/watch.sh) measures it on\n"
	"a busy service of 200 tasks: at the default interval (50 ms) a sample stopped it\n"
	"0.43-0.46 ms on an idle 2-core machine (0.9 % of its time), and slowed it by\n"
	"0.2 % +- 0.8 % on Python 3.11 and 1.1 % +- 0.9 % on 3.14; a loaded machine\n"
	"stretches the stops several times.\n"
	"The cost is about the stop time over the interval: a longer --interval costs\n"
	"proportionally less (and times episodes less closely).\n"
	"\n"
	"  --blocked MS    report episodes of MS ms or more (default 100)\n"
	"  --interval MS   between samples (default 50); durations are accurate to about\n"
	"                  one interval\n"
	"  --duration S    stop after S seconds (default: until Ctrl-C)\n"
	"  --json          JSON Lines: one object per event, then the summary\n"
	"\n"
	"The summary says: the episodes; per loop, its lag (how late the earliest timer of\n"
	"its heap - a sleep, timeout, wait_for deadline or call_later callback - was at the\n"
	"task samples: a loop that keeps up shows about 0; none on uvloop); the coroutines\n"
	"whose number of pending tasks grew steadily across the watch (each quarter of it\n"
	"more than the one before: a leak signal); and how long the process was stopped per\n"
	"sample.\n"
	"\n"
	"A running callback is found from the loop thread's stack: for asyncio's loops, the\n"
	"frames above BaseEventLoop._run_once and Handle._run; for a loop compiled in C\n"
	"(uvloop), the frames above asyncio's Runner.run. On uvloop, a callback that is C\n"
	"code with no Python frame looks like a waiting loop and is not reported. Two steps\n"
	"of one task, or two calls of one callback, with no sample between them count as\n"
	"one episode.\n"
	"\n"
	"Exit status: 0 the watch ended (--duration or Ctrl-C), 2 bad usage, 3 cannot attach,\n"
	"or the process exited or could not be read during the watch (the summary is still\n"
	"printed), 1 another failure.\n";

struct watch_out {
	FILE *out;
	bool json;
};

double adbg_mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wall_text(double wall, char *buf, size_t len, bool iso)
{
	time_t secs = (time_t)wall;
	struct tm tm;
	char base[32];
	int ms = (int)((wall - (double)secs) * 1000) % 1000;

	if (iso) {
		gmtime_r(&secs, &tm);
		strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, len, "%.24s.%03dZ", base, ms < 0 ? 0 : ms);
	} else {
		localtime_r(&secs, &tm);
		strftime(base, sizeof(base), "%H:%M:%S", &tm);
		snprintf(buf, len, "%.24s.%03d", base, ms < 0 ? 0 : ms);
	}
}

static json_t *json_frames(const struct adbg_watch_frame *f, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "function", json_string(f[i].function));
		json_object_set_new(o, "file", f[i].file ? json_string(f[i].file) : json_null());
		json_object_set_new(o, "line", f[i].line ? json_integer(f[i].line) : json_null());
		json_object_set_new(o, "kind", json_string("python"));
		json_array_append_new(a, o);
	}
	return a;
}

static void put_json(FILE *out, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(doc);
	if (text)
		fprintf(out, "%s\n", text);
	free(text);
	fflush(out);
}

static void on_event(void *arg, const struct adbg_watch_event *ev)
{
	struct watch_out *wo = arg;
	char when[64];

	wall_text(ev->start_wall, when, sizeof(when), wo->json);
	if (wo->json) {
		json_t *o = json_object();

		json_object_set_new(o, "schema", json_string("aiodbg/1"));
		json_object_set_new(o, "event", json_string("blocked"));
		json_object_set_new(o, "time", json_string(when));
		json_object_set_new(o, "start_s", json_real(ev->start));
		json_object_set_new(o, "duration_ms", json_real(ev->duration * 1000));
		json_object_set_new(o, "duration_low_ms", json_real(ev->duration_low * 1000));
		json_object_set_new(o, "duration_high_ms", json_real(ev->duration_high * 1000));
		json_object_set_new(o, "loop", ev->loop ? adbg_json_addr(ev->loop) : json_null());
		json_object_set_new(o, "thread", json_integer(ev->thread));
		if (ev->task) {
			json_t *t = json_object();

			json_object_set_new(t, "id", adbg_json_addr(ev->task));
			json_object_set_new(t, "name",
					    ev->task_name ? json_string(ev->task_name)
							  : json_null());
			json_object_set_new(t, "coro",
					    ev->task_coro ? json_string(ev->task_coro)
							  : json_null());
			json_object_set_new(o, "task", t);
		} else {
			json_object_set_new(o, "task", json_null());
		}
		json_object_set_new(o, "stack", json_frames(ev->frames, ev->nframes));
		json_object_set_new(o, "stack_samples", json_integer(ev->stack_samples));
		json_object_set_new(o, "samples", json_integer(ev->samples));
		json_object_set_new(o, "ongoing", json_boolean(ev->ongoing));
		put_json(wo->out, o);
		return;
	}
	fprintf(wo->out, "%s  loop blocked %s%.0f ms  thread %d", when, ev->ongoing ? "≥ " : "",
		ev->duration * 1000, ev->thread);
	if (ev->loop)
		fprintf(wo->out, "  loop %#" PRIx64, ev->loop);
	if (ev->task) {
		fputs("  task ", wo->out);
		adbg_text_clean(wo->out, ev->task_name ? ev->task_name : "?");
		fprintf(wo->out, " %#" PRIx64, ev->task);
	} else {
		fputs("  (a callback)", wo->out);
	}
	fprintf(wo->out, "%s\n", ev->ongoing ? "  (still running)" : "");
	fprintf(wo->out, "  stack in %u of %u samples (most recent call last):\n",
		ev->stack_samples, ev->samples);
	for (size_t i = ev->nframes; i-- > 0;) {
		fputs("    ", wo->out);
		adbg_text_clean(wo->out, ev->frames[i].function);
		fputs(" (", wo->out);
		adbg_text_clean(wo->out, ev->frames[i].file ? ev->frames[i].file : "?");
		fprintf(wo->out, ":%d)\n", ev->frames[i].line);
	}
	fflush(wo->out);
}

#define MAX_GROWTH 16

static void summary(struct watch_out *wo, struct adbg_session *s, struct adbg_watch *w,
		    const char *ended, const char *why, double elapsed,
		    const struct adbg_watch_opts *o)
{
	struct adbg_watch_stats st;
	struct adbg_watch_growth g[MAX_GROWTH];
	size_t ng = adbg_watch_growth(w, g, MAX_GROWTH), nl = adbg_watch_nloops(w);
	double mean = 0;

	adbg_watch_stats(w, &st);
	if (st.samples)
		mean = st.stopped_ms_total / st.samples;
	if (wo->json) {
		json_t *doc = adbg_json_document(s), *loops = json_array(), *gr = json_array(),
		       *stop = json_object();

		json_object_set_new(doc, "event", json_string("summary"));
		json_object_set_new(doc, "ended", json_string(ended));
		if (why)
			json_object_set_new(doc, "error", json_string(why));
		json_object_set_new(doc, "elapsed_s", json_real(elapsed));
		json_object_set_new(doc, "interval_ms", json_real(o->interval_ms));
		json_object_set_new(doc, "blocked_ms", json_real(o->blocked_ms));
		json_object_set_new(doc, "samples", json_integer(st.samples));
		json_object_set_new(doc, "task_samples", json_integer(st.task_samples));
		json_object_set_new(stop, "mean", json_real(mean));
		json_object_set_new(stop, "max", json_real(st.stopped_ms_max));
		json_object_set_new(doc, "stopped_ms", stop);
		json_object_set_new(doc, "events", json_integer(st.events));
		json_object_set_new(doc, "longest_ms", json_real(st.longest_ms));
		for (size_t i = 0; i < nl; i++) {
			const struct adbg_watch_loop *l = adbg_watch_loop_at(w, i);
			json_t *lo = json_object(), *lag = json_object();

			json_object_set_new(lo, "thread", json_integer(l->thread));
			json_object_set_new(lo, "loop",
					    l->loop ? adbg_json_addr(l->loop) : json_null());
			json_object_set_new(lo, "compiled", json_boolean(l->compiled));
			json_object_set_new(lo, "events", json_integer(l->events));
			json_object_set_new(lo, "longest_ms", json_real(l->longest_ms));
			json_object_set_new(lag, "max", json_real(l->lag_max_ms));
			json_object_set_new(
				lag, "mean",
				json_real(l->lag_samples ? l->lag_sum_ms / l->lag_samples : 0));
			json_object_set_new(lo, "lag_ms", lag);
			json_array_append_new(loops, lo);
		}
		json_object_set_new(doc, "loops", loops);
		for (size_t i = 0; i < ng; i++) {
			json_t *go = json_object();

			json_object_set_new(go, "coro", json_string(g[i].coro));
			json_object_set_new(go, "first", json_integer(g[i].first));
			json_object_set_new(go, "last", json_integer(g[i].last));
			json_object_set_new(go, "per_s", json_real(g[i].per_s));
			json_object_set_new(go, "over_s", json_real(g[i].over));
			json_object_set_new(go, "samples", json_integer(g[i].points));
			json_array_append_new(gr, go);
		}
		json_object_set_new(doc, "growing", gr);
		put_json(wo->out, doc);
		return;
	}
	fprintf(wo->out,
		"--- watch of process %d ended (%s) after %.2f s: %u samples (%u with tasks), "
		"the process stopped %.2f ms per sample (max %.2f ms)\n",
		s->target->pid, ended, elapsed, st.samples, st.task_samples, mean,
		st.stopped_ms_max);
	fprintf(wo->out, "blocked-loop episodes of %.0f ms or more: %u", o->blocked_ms, st.events);
	if (st.events)
		fprintf(wo->out, ", the longest %.0f ms", st.longest_ms);
	fputc('\n', wo->out);
	for (size_t i = 0; i < nl; i++) {
		const struct adbg_watch_loop *l = adbg_watch_loop_at(w, i);

		fprintf(wo->out, "loop ");
		if (l->loop)
			fprintf(wo->out, "%#" PRIx64 " ", l->loop);
		fprintf(wo->out, "(thread %d%s): %u episode%s", l->thread,
			l->compiled ? ", compiled loop" : "", l->events, l->events == 1 ? "" : "s");
		if (l->events)
			fprintf(wo->out, ", the longest %.0f ms", l->longest_ms);
		if (l->lag_samples)
			fprintf(wo->out, "; lag max %.0f ms, mean %.1f ms", l->lag_max_ms,
				l->lag_sum_ms / l->lag_samples);
		fputc('\n', wo->out);
	}
	for (size_t i = 0; i < ng; i++) {
		fputs("growing: ", wo->out);
		adbg_text_clean(wo->out, g[i].coro);
		fprintf(wo->out, ": %u → %u pending tasks in %.1f s (%+.1f/s, %u samples)\n",
			g[i].first, g[i].last, g[i].over, g[i].per_s, g[i].points);
	}
	if (!ng)
		fputs("growing: no coroutine's task count grew steadily\n", wo->out);
	fflush(wo->out);
}

static bool process_gone(int pid)
{
	char path[64], buf[512];
	FILE *f;
	char *paren;
	bool gone = true;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f) && (paren = strrchr(buf, ')')) && paren[1] == ' ')
		gone = paren[2] == 'Z' || paren[2] == 'X';
	fclose(f);
	return gone;
}

static bool parse_ms(const char *arg, double lo, double hi, double *ret)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v >= lo && v <= hi))
		return false;
	*ret = v;
	return true;
}

static int bad_usage(const char *fmt, const char *arg)
{
	fputs("aiodbg: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'aiodbg watch --help'.\n", stderr);
	return ADBG_EXIT_USAGE;
}

/* Sleep until the monotonic time `until` (seconds); returns early on a signal. */
static void sleep_until(double until)
{
	struct timespec ts = {.tv_sec = (time_t)until,
			      .tv_nsec = (long)((until - (double)(time_t)until) * 1e9)};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

bool adbg_watch_attach(int pid, const struct adbg_watch_opts *o, struct adbg_session **s_ret,
		       struct adbg_watch **w_ret)
{
	struct adbg_open_options open_opts = {0};
	struct adbg_target *target = NULL;
	struct adbg_session *s = NULL;
	struct adbg_error *err;

	term_install_signals();
	err = adbg_target_attach(pid, &open_opts, &target);
	// A sample reads a few dozen scattered objects (the loop threads' frames, a task
	// sample a few per task): 4 KiB blocks, not the 64 KiB that suit a whole-heap walk,
	// which copied 2.8 MB per sample and made copying most of each stop.
	if (!err)
		err = adbg_target_enable_cache(target, 12, 12);
	if (!err)
		err = adbg_session_create(target, &s);
	if (!err) {
		s->interrupted = &term_interrupted;
		err = adbg_watch_create(s, o, w_ret);
	}
	if (err) {
		adbg_repl_print_error(err->message);
		adbg_error_destroy(err);
		adbg_session_destroy(s);
		term_reraise();
		return false;
	}
	*s_ret = s;
	return true;
}

int adbg_watch_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"blocked", required_argument, NULL, 'b'},
		{"interval", required_argument, NULL, 'i'},
		{"duration", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct adbg_watch_opts o = ADBG_WATCH_OPTS_DEFAULT;
	struct watch_out wo = {.out = stdout};
	struct adbg_session *s = NULL;
	struct adbg_watch *w = NULL;
	struct adbg_error *err;
	const char *pid_arg = NULL, *ended = "duration";
	char *why = NULL;
	double duration = 0, t0, now = 0, next;
	int opt, pid, status = ADBG_EXIT_OK;
	char *end;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "-h", longopts, NULL)) != -1) {
		switch (opt) {
		case 1:
			if (pid_arg)
				return bad_usage("unexpected argument '%s'", optarg);
			pid_arg = optarg;
			break;
		case 'b':
			if (!parse_ms(optarg, 1, 3600e3, &o.blocked_ms))
				return bad_usage(
					"--blocked takes milliseconds (1 to 3600000), not '%s'",
					optarg);
			break;
		case 'i':
			if (!parse_ms(optarg, 1, 60e3, &o.interval_ms))
				return bad_usage(
					"--interval takes milliseconds (1 to 60000), not '%s'",
					optarg);
			break;
		case 'd':
			if (!parse_ms(optarg, 0.001, 1e7, &duration))
				return bad_usage("--duration takes seconds (more than 0), not '%s'",
						 optarg);
			break;
		case 'j':
			wo.json = true;
			break;
		case 'h':
			fputs(watch_usage, stdout);
			return ADBG_EXIT_OK;
		default:
			fputs("Try 'aiodbg watch --help'.\n", stderr);
			return ADBG_EXIT_USAGE;
		}
	}
	if (!pid_arg)
		return bad_usage("%swatch needs a process id: aiodbg watch PID", "");
	pid = (int)strtol(pid_arg, &end, 10);
	if (end == pid_arg || *end || pid <= 0)
		return bad_usage("'%s' is not a process id", pid_arg);
	o.on_event = on_event;
	o.arg = &wo;
	if (!adbg_watch_attach(pid, &o, &s, &w))
		return ADBG_EXIT_TARGET;
	setvbuf(stdout, NULL, _IOLBF, 0);
	fprintf(stderr,
		"aiodbg: watching process %d (Python %s): a sample every %.0f ms, loops blocked "
		"%.0f ms or more%s\n",
		pid, s->python->version_str, o.interval_ms, o.blocked_ms,
		duration ? "" : "; Ctrl-C ends it");
	t0 = adbg_mono_now();
	next = 0;
	for (;;) {
		double before;

		if (term_interrupted) {
			ended = term_terminating ? "terminated" : "interrupted";
			break;
		}
		before = adbg_mono_now() - t0;
		if (duration && before >= duration)
			break;
		err = adbg_watch_sample(w, before);
		now = adbg_mono_now() - t0;
		if (err) {
			if (term_interrupted || adbg_error_is(err, ADBG_ERR_INTERRUPTED)) {
				ended = term_terminating ? "terminated" : "interrupted";
			} else if (process_gone(pid)) {
				ended = "exited";
				status = ADBG_EXIT_TARGET;
			} else {
				ended = "error";
				why = strdup(err->message);
				status = adbg_error_is(err, ADBG_ERR_NOMEM) ? ADBG_EXIT_FAILED
									    : ADBG_EXIT_TARGET;
			}
			adbg_error_destroy(err);
			break;
		}
		next += o.interval_ms / 1000;
		if (next < now)
			next = now;
		if (duration && next > duration)
			next = duration;
		sleep_until(t0 + next);
	}
	now = adbg_mono_now() - t0;
	adbg_watch_finish(w, now);
	if (strcmp(ended, "exited") == 0)
		fprintf(stderr, "aiodbg: process %d exited; the watch ended after %.2f s\n", pid,
			now);
	else if (why)
		fprintf(stderr, "aiodbg: the watch ended after %.2f s: %s\n", now, why);
	summary(&wo, s, w, ended, why, now, &o);
	free(why);
	adbg_watch_destroy(w);
	adbg_session_destroy(s);
	term_reraise();
	return status;
}
