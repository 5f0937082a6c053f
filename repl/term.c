// SPDX-License-Identifier: MIT
// Signals, the command output stream, terminal width and colour, and the progress line of
// the aiodbg executable (see term.h).
#include "term.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// The progress line appears once a command has run this long (AIODBG_PROGRESS_DELAY_MS
// overrides it)...
#define PROGRESS_DELAY_NS 1000000000ull
// ...and is redrawn this often (or as often as the delay, when that is shorter).
#define PROGRESS_PERIOD_NS 200000000ull
#define PROGRESS_MIN_PERIOD_NS 10000000ull
#define OUTPUT_BUFFER (256 * 1024)
#define PIPE_BUFFER (1024 * 1024)

volatile int term_interrupted;
volatile sig_atomic_t term_terminating;
// why the last write of command output failed.
static int output_errno;
static volatile sig_atomic_t winch_pending, tstp_pending;

// The self-pipe: a byte written by the SIGINT and termination handlers, so that a wait
// for the terminal (poll on it and on this) cannot miss a signal that came just before.
static int wake_pipe[2] = {-1, -1};

static void wake(void)
{
	int e = errno;

	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "", 1);
	errno = e;
}

static void on_sigint(int sig)
{
	(void)sig;
	term_interrupted = 1;
	wake();
}

static void on_sigterm(int sig)
{
	term_terminating = sig;
	term_interrupted = 1;
	wake();
}

static void on_sigwinch(int sig)
{
	(void)sig;
	winch_pending = 1;
}

static void on_sigtstp(int sig)
{
	(void)sig;
	tstp_pending = 1;
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = {.sa_handler = fn, .sa_flags = flags};

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

int term_wake_fd(void)
{
	char buf[64];

	while (wake_pipe[0] >= 0 && read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
	return wake_pipe[0];
}

void term_install_signals(void)
{
	struct sigaction old;

	if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		wake_pipe[0] = wake_pipe[1] = -1; // then waits are only as good as EINTR

	// No SA_RESTART for Ctrl-C and Ctrl-Z: a read at the prompt must return so that
	// they act at once. A resize can wait for the next key.
	handle(SIGINT, on_sigint, 0);
	// Asked to go (kill, the terminal closed, Ctrl-\): no default death in the middle of
	// a snapshot or with the loop paused; the command ends as on Ctrl-C and the session
	// closes as on quit (term_terminating).
	handle(SIGTERM, on_sigterm, 0);
	handle(SIGHUP, on_sigterm, 0);
	handle(SIGQUIT, on_sigterm, 0);
	handle(SIGWINCH, on_sigwinch, SA_RESTART);
	// A shell without job control starts us with SIGTSTP ignored; leave it so.
	if (sigaction(SIGTSTP, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
		handle(SIGTSTP, on_sigtstp, 0);
}

bool term_take_winch(void)
{
	bool r = winch_pending;

	winch_pending = 0;
	return r;
}

bool term_take_tstp(void)
{
	bool r = tstp_pending;

	tstp_pending = 0;
	return r;
}

void term_suspend(void)
{
	sigset_t set;

	signal(SIGTSTP, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	// Continued.
	handle(SIGTSTP, on_sigtstp, 0);
}

void term_reraise(void)
{
	// SIGQUIT's default action dumps core: the user asked us to go, not for our core.
	int sig = term_terminating == SIGQUIT ? SIGTERM : term_terminating;
	sigset_t set;

	if (!sig)
		return;
	fflush(stdout);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

int term_width(void)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;

	if (cols && *cols) {
		char *end;
		long v = strtol(cols, &end, 10);

		if (!*end && v > 0 && v < 10000)
			return (int)v;
	}
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col;
	return 0;
}

bool term_color(bool no_color)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	// https://no-color.org: NO_COLOR set to anything but the empty string.
	if (no_color || (nc && *nc))
		return false;
	if (!term || !*term || strcmp(term, "dumb") == 0)
		return false;
	return isatty(STDOUT_FILENO);
}

/*
 * The progress line. A helper thread (all signals blocked) draws it, so that a walk only
 * stores a counter; the mutex orders the line against command output and error messages.
 */
static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress_cv;
static bool progress_thread_started, progress_enabled;
// Under progress_mu:
static bool progress_active, progress_shown, output_started;
static uint64_t progress_started_ns;
static uint64_t progress_delay_ns = PROGRESS_DELAY_NS, progress_period_ns = PROGRESS_PERIOD_NS;
static struct adbg_session *progress_session;
// Written by the walk (any time), read by the thread.
static _Atomic size_t progress_done;
static const char *_Atomic progress_what;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Under progress_mu. */
static void clear_locked(void)
{
	if (progress_shown)
		write_all(STDERR_FILENO, "\r\033[K", 4);
	progress_shown = false;
}

static void draw_locked(void)
{
	const char *what = atomic_load(&progress_what);
	size_t done = atomic_load(&progress_done);
	char line[96];
	int n;

	if (what)
		n = snprintf(line, sizeof(line), "\r reading %s: %zu…\033[K", what, done);
	else
		n = snprintf(
			line, sizeof(line), "\r reading the target… %llus\033[K",
			(unsigned long long)((now_ns() - progress_started_ns) / 1000000000ull));
	if (n > 0 && (size_t)n < sizeof(line)) {
		write_all(STDERR_FILENO, line, (size_t)n);
		progress_shown = true;
	}
}

/*
 * Is a snapshot under way? A walk that reports counts says so; otherwise a live target
 * is frozen exactly while it is read. (A command that waits for the target, such as
 * `await`, is not reading it and gets no line.)
 */
static bool reading_locked(void)
{
	return atomic_load(&progress_what) ||
	       (progress_session &&
		__atomic_load_n(&progress_session->target->frozen, __ATOMIC_RELAXED));
}

static void *progress_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&progress_mu);
	for (;;) {
		struct timespec ts;
		uint64_t wake;

		while (!progress_active)
			pthread_cond_wait(&progress_cv, &progress_mu);
		wake = now_ns() + progress_period_ns;
		ts.tv_sec = (time_t)(wake / 1000000000ull);
		ts.tv_nsec = (long)(wake % 1000000000ull);
		pthread_cond_timedwait(&progress_cv, &progress_mu, &ts);
		if (progress_active && !output_started && !term_interrupted &&
		    now_ns() - progress_started_ns >= progress_delay_ns && reading_locked())
			draw_locked();
	}
	return NULL;
}

static void progress_hook(void *arg, const char *what, size_t done)
{
	(void)arg;
	atomic_store(&progress_what, what);
	atomic_store(&progress_done, done);
}

/* AIODBG_PROGRESS_DELAY_MS: milliseconds before the line appears (0: at once). */
static void read_delay(void)
{
	const char *v = getenv("AIODBG_PROGRESS_DELAY_MS");
	char *end;
	unsigned long long ms;

	if (!v || !*v)
		return;
	errno = 0;
	ms = strtoull(v, &end, 10);
	if (errno || *end || v[0] == '-' || ms > 3600000ull)
		return; // not a number of milliseconds up to an hour: the default
	progress_delay_ns = ms * 1000000ull;
	if (progress_delay_ns < progress_period_ns)
		progress_period_ns = progress_delay_ns > PROGRESS_MIN_PERIOD_NS
					     ? progress_delay_ns
					     : PROGRESS_MIN_PERIOD_NS;
}

static void progress_start_thread(void)
{
	pthread_condattr_t attr;
	sigset_t all, old;
	pthread_t th;

	progress_thread_started = true;
	if (!isatty(STDERR_FILENO))
		return;
	read_delay();
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&progress_cv, &attr);
	pthread_condattr_destroy(&attr);
	// Signals are for the main thread: it is the one whose reads they must interrupt.
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&th, NULL, progress_main, NULL) == 0) {
		pthread_detach(th);
		progress_enabled = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void term_progress_clear(void)
{
	pthread_mutex_lock(&progress_mu);
	clear_locked();
	pthread_mutex_unlock(&progress_mu);
}

/*
 * The output stream: standard output through a cookie, so the first byte of output erases
 * the progress line (and stops it: the snapshot is over once rendering starts), and
 * nothing more is written after Ctrl-C (a million-row table stops at once).
 */
static ssize_t output_write(void *cookie, const char *buf, size_t len)
{
	(void)cookie;
	if (term_interrupted) {
		errno = EINTR;
		return -1;
	}
	pthread_mutex_lock(&progress_mu);
	clear_locked();
	output_started = true;
	pthread_mutex_unlock(&progress_mu);
	for (size_t done = 0; done < len;) {
		ssize_t n = write(STDOUT_FILENO, buf + done, len - done);

		if (n < 0 && errno == EINTR && !term_interrupted)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			output_errno = errno;
			return done ? (ssize_t)done : -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)len;
}

FILE *term_output(void)
{
	static FILE *out;
	// setvbuf with a NULL buffer keeps glibc's own size (8 KiB for a cookie stream):
	// give it the buffer, or half a gigabyte of JSON takes 80 000 writes.
	static char buffer[OUTPUT_BUFFER];

	if (!out) {
		cookie_io_functions_t io = {.write = output_write};

		struct stat st;

		out = fopencookie(NULL, "w", io);
		if (!out)
			return stdout;
		setvbuf(out, buffer, _IOFBF, sizeof(buffer));
		// Only the main thread writes to it (the progress line goes to stderr's
		// descriptor): no stdio lock per call, which a million-row table notices.
		__fsetlocking(out, FSETLOCKING_BYCALLER);
		// A pipe of the default 64 KiB makes a reader of half a gigabyte of JSON wait
		// on every few writes; ask for a larger one (best effort: capped by
		// /proc/sys/fs/pipe-max-size for unprivileged users).
		if (fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode))
			(void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, PIPE_BUFFER);
	}
	return out;
}

/* A sentence from a command that keeps waiting (adbg_cmd_state.notice): on stderr, after
 * the progress line is cleared. */
static void notice(void *arg, const char *msg)
{
	(void)arg;
	term_progress_clear();
	fprintf(stderr, "aiodbg: %s\n", msg);
	fflush(stderr);
}

void term_command_begin(struct adbg_session *s, struct adbg_cmd_state *st)
{
	if (st)
		st->notice = notice;
	if (!progress_thread_started)
		progress_start_thread();
	// Whatever the REPL or libedit wrote must come before the command's output.
	fflush(stdout);
	if (!progress_enabled)
		return;
	s->progress = progress_hook;
	atomic_store(&progress_what, NULL);
	atomic_store(&progress_done, 0);
	pthread_mutex_lock(&progress_mu);
	progress_session = s;
	progress_started_ns = now_ns();
	output_started = false;
	progress_active = true;
	pthread_cond_signal(&progress_cv);
	pthread_mutex_unlock(&progress_mu);
}

enum term_end term_command_end(void)
{
	FILE *out = term_output();
	enum term_end r = TERM_END_OK;
	int saved;

	if (progress_enabled) {
		pthread_mutex_lock(&progress_mu);
		progress_active = false;
		clear_locked();
		pthread_mutex_unlock(&progress_mu);
	}
	if (!term_interrupted && (fflush(out) != 0 || ferror(out)))
		r = TERM_END_OUTPUT_ERROR;
	saved = output_errno ? output_errno : EIO;
	output_errno = 0;
	// After Ctrl-C the rest of the output is dropped, not written on the next flush.
	if (term_interrupted) {
		__fpurge(out);
		r = TERM_END_INTERRUPTED;
	}
	clearerr(out);
	errno = saved;
	return r;
}
