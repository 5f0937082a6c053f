// SPDX-License-Identifier: MIT
// `aiodbg top PID`: a full-screen live view of a process's loops, redrawn about once a
// second from the sampler of `watch` (shared/watch.h): per loop what runs now, tasks by
// state, the coroutines with the most tasks and their growth, the blocked-loop episodes so
// far, and the tasks that have waited longest, with what they wait on. Plain ANSI escapes
// and termios. When standard output is not a terminal, one plain frame per refresh.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "asyncio.h"
#include "cmd.h"
#include "graph.h"
#include "render.h"
#include "repl.h"
#include "session.h"
#include "target.h"
#include "term.h"
#include "watch.h"

static const char top_usage[] =
	"usage: aiodbg top PID [--interval MS] [--refresh MS] [--duration S]\n"
	"\n"
	"A full-screen live view of the asyncio loops of process PID, redrawn every second\n"
	"(--refresh): per loop, what it runs now (the task, or the callback, and for how\n"
	"long) or that it waits; its tasks by state; the blocked-loop episodes so far (as\n"
	"`aiodbg watch` finds them: one callback holding a loop 100 ms or more); the\n"
	"coroutines with the most tasks and how fast their count grows; and the tasks, the\n"
	"longest-waiting first, with what each waits on and for how long it has been seen\n"
	"waiting on it. It samples like `aiodbg watch` (every --interval MS, default 50).\n"
	"\n"
	"Keys: q quit; p pause the display (sampling goes on); s sort the tasks (by waiting\n"
	"time, name, coroutine); / filter the tasks by name or coroutine (Enter applies,\n"
	"an empty filter clears it); j/k or the arrows select a task; Enter shows its\n"
	"stack (any key returns).\n"
	"\n"
	"When standard output is not a terminal: no keys; one plain frame per refresh, a\n"
	"blank line between frames, until --duration S, Ctrl-C or the process exits.\n"
	"Exit status: as for watch (0, or 3 when the process exited or could not be read).\n";

#define MAX_EPISODES 5
#define MAX_SEEN (1u << 16)

/* When a task was first seen waiting on what it waits on now. */
struct seen {
	uint64_t task, on;
	double since;
};

struct top {
	struct adbg_session *s;
	struct adbg_watch *w;
	bool tty;
	int rows, cols;
	/** the last episodes, newest last. */
	char episodes[MAX_EPISODES][256];
	unsigned nepisodes;
	struct seen *seen;
	size_t nseen;
	bool paused;
	int sort; // 0 waiting, 1 name, 2 coroutine
	char filter[64];
	bool editing;
	char edit[64];
	size_t selected;
	uint64_t selected_id;
	/** the stack view (a task's `task` output), or NULL. */
	char *stack_view;
	double now;
	/** the rows of the task list in the last frame, for the selection. */
	uint64_t *order;
	size_t norder;
};

static struct termios saved_tio;
static bool raw_mode;

static void tty_restore(void)
{
	if (!raw_mode)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	raw_mode = false;
}

static void tty_raw(void)
{
	struct termios tio;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio);
	raw_mode = true;
	fputs("\033[?1049h\033[?25l", stdout);
}

static void on_event(void *arg, const struct adbg_watch_event *ev)
{
	struct top *tp = arg;
	char *slot;
	int n;

	if (tp->nepisodes == MAX_EPISODES) {
		memmove(tp->episodes[0], tp->episodes[1],
			sizeof(tp->episodes[0]) * (MAX_EPISODES - 1));
		tp->nepisodes--;
	}
	slot = tp->episodes[tp->nepisodes++];
	n = snprintf(slot, sizeof(tp->episodes[0]), "+%.1fs  %4.0f ms  thread %d  %s%s  ",
		     ev->start, ev->duration * 1000, ev->thread, ev->task ? "task " : "callback",
		     ev->task && ev->task_name ? ev->task_name : "");
	if (ev->nframes && n > 0 && (size_t)n < sizeof(tp->episodes[0])) {
		const char *file = ev->frames[0].file ? strrchr(ev->frames[0].file, '/') : NULL;

		snprintf(slot + n, sizeof(tp->episodes[0]) - (size_t)n, "%s (%s:%d)",
			 ev->frames[0].function,
			 file		      ? file + 1
			 : ev->frames[0].file ? ev->frames[0].file
					      : "?",
			 ev->frames[0].line);
	}
}

/* How long task t has been seen waiting on what it waits on now (s). */
static double waited(struct top *tp, const struct adbg_task *t)
{
	uint64_t on = t->waiting_on.id;

	for (size_t i = 0; i < tp->nseen; i++)
		if (tp->seen[i].task == t->id) {
			if (tp->seen[i].on != on) {
				tp->seen[i].on = on;
				tp->seen[i].since = tp->now;
			}
			return tp->now - tp->seen[i].since;
		}
	if (tp->nseen < MAX_SEEN)
		tp->seen[tp->nseen++] = (struct seen){t->id, on, tp->now};
	return 0;
}

static struct top *sort_tp;
static const struct adbg_asyncio_snapshot *sort_snap;

static double wait_of(uint64_t id)
{
	for (size_t i = 0; i < sort_tp->nseen; i++)
		if (sort_tp->seen[i].task == id)
			return sort_tp->now - sort_tp->seen[i].since;
	return 0;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int task_cmp(const void *pa, const void *pb)
{
	const struct adbg_task *a = adbg_asyncio_find(sort_snap, *(const uint64_t *)pa);
	const struct adbg_task *b = adbg_asyncio_find(sort_snap, *(const uint64_t *)pb);
	double wa, wb;
	int c;

	if (sort_tp->sort == 1 && (c = cmp_str(a->name, b->name)))
		return c;
	if (sort_tp->sort == 2 && (c = cmp_str(a->coro, b->coro)))
		return c;
	wa = wait_of(a->id);
	wb = wait_of(b->id);
	if (wa != wb)
		return wa < wb ? 1 : -1;
	return cmp_str(a->name, b->name);
}

/* A line of the frame, cut to the width, with the erase-to-end escape on a terminal. */
static void line(struct top *tp, int *row, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void line(struct top *tp, int *row, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (tp->tty && *row >= tp->rows - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	if (tp->tty && tp->cols > 0 && (int)strlen(buf) > tp->cols)
		buf[tp->cols] = '\0';
	fputs(buf, stdout);
	fputs(tp->tty ? "\033[K\n" : "\n", stdout);
	(*row)++;
}

static bool matches(const struct top *tp, const struct adbg_task *t)
{
	return !tp->filter[0] || (t->name && strstr(t->name, tp->filter)) ||
	       (t->coro && strstr(t->coro, tp->filter));
}

/* The coroutines with the most tasks, and their growth. */
static void coro_lines(struct top *tp, int *row, const struct adbg_asyncio_snapshot *snap)
{
	struct adbg_watch_growth g[32];
	size_t ng = adbg_watch_growth(tp->w, g, 32);
	const char *name[8] = {0};
	size_t count[8] = {0}, n = 0;

	// The eight largest, by a pass per place (few coroutines are shown).
	for (size_t k = 0; k < 8; k++) {
		const char *best = NULL;
		size_t bestn = 0;

		for (size_t i = 0; i < snap->ntasks; i++) {
			const char *c = snap->tasks[i].coro ? snap->tasks[i].coro : "?";
			bool taken = false;
			size_t cnt = 0;

			for (size_t j = 0; j < n && !taken; j++)
				taken = strcmp(name[j], c) == 0;
			if (taken || (best && strcmp(best, c) == 0))
				continue;
			for (size_t m = 0; m < snap->ntasks; m++)
				cnt += strcmp(snap->tasks[m].coro ? snap->tasks[m].coro : "?", c) ==
				       0;
			if (cnt > bestn) {
				best = c;
				bestn = cnt;
			}
		}
		if (!best)
			break;
		name[n] = best;
		count[n++] = bestn;
	}
	line(tp, row, "COROUTINES        TASKS  GROWTH");
	for (size_t i = 0; i < n; i++) {
		char growth[64] = "";

		for (size_t j = 0; j < ng; j++)
			if (strcmp(g[j].coro, name[i]) == 0)
				snprintf(growth, sizeof(growth), "%+.1f/s (%u → %u)", g[j].per_s,
					 g[j].first, g[j].last);
		line(tp, row, "  %-15.15s %6zu  %s", name[i], count[i], growth);
	}
}

static void draw(struct top *tp)
{
	const struct adbg_asyncio_snapshot *snap = adbg_watch_tasks(tp->w);
	struct adbg_watch_stats st;
	struct winsize ws;
	int row = 0;
	time_t wall = time(NULL);
	char clock[16];

	if (tp->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row) {
		tp->rows = ws.ws_row;
		tp->cols = ws.ws_col;
	}
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&wall));
	adbg_watch_stats(tp->w, &st);
	if (tp->tty)
		fputs("\033[H", stdout);
	if (tp->stack_view) {
		line(tp, &row, "stack of the selected task (any key returns)");
		for (char *p = tp->stack_view, *nl; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl)
				nl = p + strlen(p) - 1;
			line(tp, &row, "%.*s", (int)(nl - p + (*nl != '\n')), p);
		}
		if (tp->tty)
			fputs("\033[J", stdout);
		fflush(stdout);
		return;
	}
	line(tp, &row,
	     "aiodbg top — process %d (Python %s)  %s  %u samples, stopped %.2f ms each%s",
	     tp->s->target->pid, tp->s->python->version_str, clock, st.samples,
	     st.samples ? st.stopped_ms_total / st.samples : 0, tp->paused ? "  [PAUSED]" : "");
	for (size_t i = 0; i < adbg_watch_nloops(tp->w); i++) {
		const struct adbg_watch_loop *l = adbg_watch_loop_at(tp->w, i);
		const struct adbg_task *rt =
			snap && l->task ? adbg_asyncio_find(snap, l->task) : NULL;
		size_t byst[ADBG_NSHOWN] = {0};

		for (size_t k = 0; snap && k < snap->ntasks; k++)
			if (snap->tasks[k].thread == l->thread)
				byst[adbg_task_shown_state(&snap->tasks[k])]++;
		line(tp, &row, "LOOP %#" PRIx64 " thread %d%s", l->loop, l->thread,
		     l->compiled ? " (compiled)" : "");
		if (l->busy && l->current[0])
			line(tp, &row, "  running: %s%s%s for %.1f s", rt ? "task " : "",
			     rt && rt->name ? rt->name : "", rt ? "," : "",
			     tp->now > l->since ? tp->now - l->since : 0.0);
		else if (rt)
			line(tp, &row, "  running: task %s", rt->name ? rt->name : "?");
		else
			line(tp, &row, "  %s",
			     l->busy ? "running: a callback" : "waiting for events");
		if (l->busy && l->current[0])
			line(tp, &row, "  in: %s", l->current);
		line(tp, &row,
		     "  tasks: %zu running, %zu pending, %zu cancelling, %zu cancelled, %zu "
		     "finished",
		     byst[ADBG_SHOWN_RUNNING], byst[ADBG_SHOWN_PENDING],
		     byst[ADBG_SHOWN_CANCELLING], byst[ADBG_SHOWN_CANCELLED],
		     byst[ADBG_SHOWN_FINISHED]);
		line(tp, &row, "  blocked episodes: %u (longest %.0f ms); lag max %.0f ms",
		     l->events, l->longest_ms, l->lag_max_ms);
	}
	line(tp, &row, "RECENT BLOCKED EPISODES");
	for (unsigned i = 0; i < tp->nepisodes; i++)
		line(tp, &row, "  %s", tp->episodes[i]);
	if (snap)
		coro_lines(tp, &row, snap);
	line(tp, &row, "TASKS (sort: %s%s%s)%s%s",
	     tp->sort == 0   ? "longest waiting"
	     : tp->sort == 1 ? "name"
			     : "coroutine",
	     tp->filter[0] ? ", filter: " : "", tp->filter, tp->editing ? "  filter> " : "",
	     tp->editing ? tp->edit : "");
	line(tp, &row, "  %-24s %-18s %-10s %-34s %s", "NAME", "COROUTINE", "STATE", "WAITING ON",
	     "FOR");
	tp->norder = 0;
	if (snap && (tp->order = realloc(tp->order, (snap->ntasks + 1) * sizeof(*tp->order)))) {
		for (size_t k = 0; k < snap->ntasks; k++) {
			waited(tp, &snap->tasks[k]);
			if (matches(tp, &snap->tasks[k]))
				tp->order[tp->norder++] = snap->tasks[k].id;
		}
		sort_tp = tp;
		sort_snap = snap;
		qsort(tp->order, tp->norder, sizeof(*tp->order), task_cmp);
		if (tp->selected >= tp->norder)
			tp->selected = tp->norder ? tp->norder - 1 : 0;
		for (size_t k = 0; k < tp->norder; k++) {
			const struct adbg_task *t = adbg_asyncio_find(snap, tp->order[k]);
			char on[256];
			static const char *const shown[] = {"running", "pending", "cancelling",
							    "cancelled", "finished"};
			bool sel = tp->tty && k == tp->selected;

			if (sel)
				tp->selected_id = t->id;
			if (tp->tty && sel)
				fputs("\033[7m", stdout);
			line(tp, &row, "%s %-24.24s %-18.18s %-10s %-34.34s %.1f s",
			     sel ? ">" : " ", t->name ? t->name : "?", t->coro ? t->coro : "?",
			     shown[adbg_task_shown_state(t)],
			     adbg_text_waiting_on(snap, t, on, sizeof(on)), wait_of(t->id));
			if (tp->tty && sel)
				fputs("\033[0m", stdout);
		}
	}
	if (tp->tty) {
		fputs("\033[J", stdout);
		if (row < tp->rows)
			printf("\033[%d;1Hq quit  p pause  s sort  / filter  j/k select  Enter "
			       "stack\033[K",
			       tp->rows);
	}
	fflush(stdout);
}

/* The selected task's `task` output, for the stack view. */
static void show_stack(struct top *tp)
{
	char cmd[64], *buf = NULL;
	size_t len = 0;
	FILE *f;
	struct adbg_cmd_opts opts = {0};
	struct adbg_error *err;

	if (!tp->selected_id)
		return;
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	snprintf(cmd, sizeof(cmd), "task %#" PRIx64, tp->selected_id);
	err = adbg_cmd_run(tp->s, cmd, &opts, f);
	if (err) {
		fprintf(f, "%s\n", err->message);
		adbg_error_destroy(err);
	}
	fclose(f);
	tp->stack_view = buf;
	if (tp->tty)
		fputs("\033[2J", stdout);
}

/* A key; false to quit. */
static bool key(struct top *tp, int c)
{
	if (tp->stack_view) {
		free(tp->stack_view);
		tp->stack_view = NULL;
		fputs("\033[2J", stdout);
		return true;
	}
	if (tp->editing) {
		size_t n = strlen(tp->edit);

		if (c == '\n' || c == '\r') {
			snprintf(tp->filter, sizeof(tp->filter), "%s", tp->edit);
			tp->editing = false;
			tp->selected = 0;
		} else if (c == 27) {
			tp->editing = false;
		} else if ((c == 127 || c == 8) && n) {
			tp->edit[n - 1] = '\0';
		} else if (c >= 0x20 && c < 0x7f && n + 1 < sizeof(tp->edit)) {
			tp->edit[n] = (char)c;
			tp->edit[n + 1] = '\0';
		}
		return true;
	}
	switch (c) {
	case 'q':
		return false;
	case 'p':
		tp->paused = !tp->paused;
		break;
	case 's':
		tp->sort = (tp->sort + 1) % 3;
		break;
	case '/':
		tp->editing = true;
		tp->edit[0] = '\0';
		break;
	case 'j':
	case 'B': // the down arrow, ESC [ B
		if (tp->selected + 1 < tp->norder)
			tp->selected++;
		break;
	case 'k':
	case 'A':
		if (tp->selected)
			tp->selected--;
		break;
	case '\n':
	case '\r':
		show_stack(tp);
		break;
	default:
		break;
	}
	return true;
}

int adbg_top_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"interval", required_argument, NULL, 'i'},
		{"refresh", required_argument, NULL, 'r'},
		{"duration", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct adbg_watch_opts o = ADBG_WATCH_OPTS_DEFAULT;
	struct top tp = {0};
	struct adbg_error *err;
	const char *pid_arg = NULL;
	double refresh = 1.0, duration = 0, t0, next_sample = 0, next_draw = 0;
	int opt, pid, status = ADBG_EXIT_OK;
	char *end;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "-h", longopts, NULL)) != -1) {
		double v;

		switch (opt) {
		case 1:
			if (pid_arg) {
				fprintf(stderr, "aiodbg: unexpected argument '%s'\n", optarg);
				return ADBG_EXIT_USAGE;
			}
			pid_arg = optarg;
			break;
		case 'i':
		case 'r':
		case 'd':
			v = strtod(optarg, &end);
			if (end == optarg || *end || !(v > 0 && v <= 1e7)) {
				fprintf(stderr,
					"aiodbg: --%s takes a number more than 0, not '%s'\n",
					opt == 'i'   ? "interval"
					: opt == 'r' ? "refresh"
						     : "duration",
					optarg);
				return ADBG_EXIT_USAGE;
			}
			if (opt == 'i')
				o.interval_ms = v;
			else if (opt == 'r')
				refresh = v / 1000;
			else
				duration = v;
			break;
		case 'h':
			fputs(top_usage, stdout);
			return ADBG_EXIT_OK;
		default:
			fputs("Try 'aiodbg top --help'.\n", stderr);
			return ADBG_EXIT_USAGE;
		}
	}
	if (!pid_arg || (pid = (int)strtol(pid_arg, &end, 10)) <= 0 || *end) {
		fprintf(stderr, "aiodbg: top needs a process id: aiodbg top PID\n");
		return ADBG_EXIT_USAGE;
	}
	o.on_event = on_event;
	o.arg = &tp;
	tp.seen = calloc(MAX_SEEN, sizeof(*tp.seen));
	if (!tp.seen) {
		adbg_repl_print_error(adbg_error_nomem.message);
		return ADBG_EXIT_FAILED;
	}
	if (!adbg_watch_attach(pid, &o, &tp.s, &tp.w)) {
		free(tp.seen);
		return ADBG_EXIT_TARGET;
	}
	tp.tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	tp.rows = 24;
	tp.cols = 80;
	if (tp.tty)
		tty_raw();
	t0 = adbg_mono_now();
	for (;;) {
		double now = adbg_mono_now() - t0, wait;
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

		if (term_interrupted || (duration && now >= duration))
			break;
		if (now >= next_sample) {
			tp.now = now;
			err = adbg_watch_sample(tp.w, now);
			// After the sample: its time is when it stopped the process.
			tp.now = adbg_mono_now() - t0;
			if (err) {
				bool stop = term_interrupted ||
					    adbg_error_is(err, ADBG_ERR_INTERRUPTED);

				tty_restore();
				if (!stop)
					fprintf(stderr, "aiodbg: %s\n", err->message);
				adbg_error_destroy(err);
				status = stop ? ADBG_EXIT_OK : ADBG_EXIT_TARGET;
				break;
			}
			next_sample += o.interval_ms / 1000;
			if (next_sample < now)
				next_sample = now;
		}
		if (now >= next_draw) {
			if (!tp.paused || tp.stack_view) {
				draw(&tp);
				if (!tp.tty)
					fputc('\n', stdout);
			}
			next_draw = now + refresh;
		}
		now = adbg_mono_now() - t0;
		wait = (next_sample < next_draw ? next_sample : next_draw) - now;
		if (!tp.tty) {
			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
			continue;
		}
		if (poll(&pfd, 1, wait > 0 ? (int)(wait * 1000) + 1 : 0) > 0) {
			char buf[16];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			bool go = true;

			for (ssize_t i = 0; i < n && go; i++)
				go = key(&tp, (unsigned char)buf[i]);
			if (!go)
				break;
			if (n > 0) {
				tp.now = adbg_mono_now() - t0;
				draw(&tp);
			}
		}
	}
	tty_restore();
	adbg_watch_finish(tp.w, adbg_mono_now() - t0);
	adbg_watch_destroy(tp.w);
	adbg_session_destroy(tp.s);
	free(tp.seen);
	free(tp.order);
	free(tp.stack_view);
	term_reraise();
	return status;
}
