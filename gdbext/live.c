// SPDX-License-Identifier: MIT
// Live control from GDB: `aio pause|continue|eval|await|cancel` on the process GDB has
// attached, with GDB as the only tracer.
//
// Design
// ------
// The live-control commands (shared/cmd_live.c, inject.c) load the agent and then talk to
// it over a socket while the program runs: the agent lives in the program's threads, so
// nothing happens while GDB holds the process stopped. In the aiodbg executable the target
// is stopped and resumed with PTRACE_SEIZE/INTERRUPT; under GDB only GDB may trace it. So:
//
// * The command runs on a worker thread, against a live target of its own over the same
//   pid (shared/target_live.c, "controlled"): it reads with process_vm_readv, which needs
//   no tracer, and asks us to stop, resume and write. It never calls into GDB or Python.
// * GDB's main thread (this file's drive loop, holding the Python GIL) does what the worker
//   asks: resume = `continue` with scheduler-locking off (every thread runs, as the agent
//   needs the loop's thread and ≤3.13 the main one); write = gdb.Inferior.write_memory, so
//   GDB sees every byte we change; and it reports each stop back.
// * To stop, the worker sends SIGINT to the process's main thread with tgkill: exactly
//   what GDB's own Ctrl-C does, a signal GDB intercepts and does not pass (`handle SIGINT
//   stop nopass`, GDB's default, enforced for the command). The program never sees it.
//   A stop is ours when $_siginfo says SIGINT, SI_TKILL, from our pid; a SIGINT from
//   anyone else is the user's Ctrl-C (the command is interrupted, as in the REPL); any
//   other stop (a breakpoint, a signal GDB stops on, the exit) ends the resuming: the
//   worker's waits are interrupted and the command fails saying what stopped the program,
//   which stays stopped there for the user.
// * GDB prints "received signal SIGINT" on each of our stops; while the command runs,
//   GDB's stdout goes to a temporary file, and the part that tells a foreign stop is shown
//   to the user.
// * When the command ends, the worker stops the program again (as GDB had it), and we put
//   back GDB's selected thread and frame, scheduler-locking, SIGINT handling, pagination
//   and stdout.
//
// The agent is loaded only at points where CPython allows it (PEP 768 on 3.14+, a pending
// call on ≤3.13: inject.c), never with an inferior call at an arbitrary instruction.
#include "gdbext.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

// How often the drive loop looks for Ctrl-C while the worker works with the program
// stopped.
#define POLL_MS 100
// The agent keeps a paused loop paused this long without a request from us: the user may
// read in GDB for a long time, and a closed socket (GDB gone) releases the loop anyway.
// Liveness is separate (shared/channel.c, the keepalive): the channel's keepalive thread
// runs in GDB's process like in the REPL's, never calls into GDB, and sends a byte a
// second while the session's channel is open. While GDB holds the inferior stopped at its
// prompt, the agent cannot run and its clock does not advance (agent.py, next_request
// counts only time the program ran); the bytes wait in the socket and renew the lease the
// moment it runs again. A GDB that is itself stopped (Ctrl-Z) while the program runs stops
// renewing, and the loop runs again after the liveness lease, as with the REPL.
#define GDB_LEASE_S 86400.0
// Foreign-stop text shown to the user, at most.
#define MAX_REASON 4096

#ifndef SI_TKILL
#define SI_TKILL (-6)
#endif

enum run_state {
	ST_STOPPED,
	/** the worker wants the program running; the drive loop has not resumed it yet. */
	ST_RESUME,
	ST_RUNNING,
	/** stopped by something else (breakpoint, signal): not ours to resume. */
	ST_HALTED,
	/** the program exited. */
	ST_GONE,
};

/* One command in flight (there is only one GDB main thread, so one at a time). */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/** a command runs: stop/resume/write act only then. */
	bool active;
	int pid;
	enum run_state state;
	/** our SIGINT is on its way. */
	bool stop_sent;
	/** the last stop was our SIGINT (GDB's selected thread is the one that got it). */
	bool last_ours;
	/** a foreign stop came while our SIGINT was on its way: it is still pending. */
	bool stray_sigint;
	/** a write the drive loop must do with GDB. */
	bool write_wanted;
	uint64_t waddr;
	const void *wbuf;
	size_t wlen;
	struct adbg_error *werr;
	/** what GDB said when the program stopped for another reason (malloc'd). */
	char *reason;
	bool done;
	/** the live session's interrupt flag: Ctrl-C, or the program halted. */
	volatile int interrupted;
	/** the live session's halted flag: stopped by something else, or gone. */
	volatile int halted;
	/** the command, for the worker. */
	struct adbg_session *s;
	const char *line;
	const struct adbg_cmd_opts *opts;
	FILE *out;
	struct adbg_error *err;
} job = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/*
 * The session over the controlled target, kept across commands, and its command state
 * (the agent's channel, and the hooks of this front end's live control).
 */
static struct adbg_session *live_s;
static struct adbg_cmd_state live_state;

/* -- the worker's side --------------------------------------------------------------- */

/* SIGINT to one thread of the process (the main one, else any), as GDB's Ctrl-C. */
static void send_stop(int pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	if (syscall(SYS_tgkill, pid, pid, SIGINT) == 0)
		return;
	// The main thread has exited (a zombie leader): any other thread will do.
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && syscall(SYS_tgkill, pid, atoi(de->d_name), SIGINT) == 0)
			break;
	closedir(d);
}

static ADBG_MUST_CHECK struct adbg_error *halted_error(void)
{
	if (job.state == ST_GONE)
		return adbg_error_create(ADBG_ERR_GONE, "process %d exited", job.pid);
	// Not ADBG_ERR_INTERRUPTED: that one reads "interrupted (Ctrl-C)" to the user.
	return adbg_error_create(ADBG_ERR_UNSUPPORTED,
				 "the program stopped for another reason while aiodbg was "
				 "working with it (see above); it is left stopped there");
}

/* Caller holds job.mu. */
static ADBG_MUST_CHECK struct adbg_error *stop_locked(void)
{
	for (;;) {
		switch (job.state) {
		case ST_STOPPED:
			return NULL;
		case ST_RESUME:
			// Not resumed yet: simply do not.
			job.state = ST_STOPPED;
			return NULL;
		case ST_HALTED:
			// Stopped, though not by us: a snapshot, a write, withdrawing a request
			// all still work; only resuming does not.
			return NULL;
		case ST_GONE:
			return halted_error();
		case ST_RUNNING:
			if (!job.stop_sent) {
				job.stop_sent = true;
				send_stop(job.pid);
			}
			pthread_cond_wait(&job.cv, &job.mu);
			break;
		}
	}
}

static ADBG_MUST_CHECK struct adbg_error *ctl_stop(void *arg)
{
	struct adbg_error *err = NULL;

	(void)arg;
	pthread_mutex_lock(&job.mu);
	if (job.active)
		err = stop_locked();
	pthread_mutex_unlock(&job.mu);
	return err;
}

static void ctl_resume(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&job.mu);
	if (job.active && job.state == ST_STOPPED) {
		job.state = ST_RESUME;
		pthread_cond_broadcast(&job.cv);
	}
	pthread_mutex_unlock(&job.mu);
}

static ADBG_MUST_CHECK struct adbg_error *ctl_write(void *arg, uint64_t addr, const void *buf,
						    size_t len)
{
	struct adbg_error *err = NULL;
	bool resume_after = false;

	(void)arg;
	pthread_mutex_lock(&job.mu);
	if (!job.active) {
		pthread_mutex_unlock(&job.mu);
		return adbg_error_create(ADBG_ERR_UNSUPPORTED, "no aio command is running");
	}
	// GDB writes only while the program is stopped (inject.c zeroes its bootstrap after
	// the agent connected, with the program running).
	if (job.state == ST_RUNNING || job.state == ST_RESUME) {
		resume_after = job.state == ST_RUNNING;
		err = stop_locked();
	}
	if (!err && job.state != ST_STOPPED && job.state != ST_HALTED)
		err = halted_error();
	if (!err) {
		job.waddr = addr;
		job.wbuf = buf;
		job.wlen = len;
		job.write_wanted = true;
		pthread_cond_broadcast(&job.cv);
		while (job.write_wanted)
			pthread_cond_wait(&job.cv, &job.mu);
		err = job.werr;
		job.werr = NULL;
	}
	if (resume_after && job.state == ST_STOPPED) {
		job.state = ST_RESUME;
		pthread_cond_broadcast(&job.cv);
	}
	pthread_mutex_unlock(&job.mu);
	return err;
}

static void *worker(void *arg)
{
	struct adbg_error *err;

	(void)arg;
	// While an aio live command runs, the program runs, except while we read a snapshot
	// of it: the agent and the loop live in its threads (the REPL's model too).
	ctl_resume(NULL);
	job.err = adbg_cmd_run(job.s, job.line, job.opts, job.out);
	// Leave the program stopped, as GDB had it.
	err = ctl_stop(NULL);
	if (err && !job.err)
		job.err = err;
	else
		adbg_error_destroy(err);
	pthread_mutex_lock(&job.mu);
	job.done = true;
	pthread_cond_broadcast(&job.cv);
	pthread_mutex_unlock(&job.mu);
	return NULL;
}

/* -- GDB's side: small helpers ------------------------------------------------------- */

/* gdb.parameter(name) as a new string (None/bool become "off"/"on"), or NULL. */
static char *parameter_str(const char *name)
{
	PyObject *gdb = gdbext_gdb_module();
	PyObject *v = gdb ? PyObject_CallMethod(gdb, "parameter", "s", name) : NULL;
	char *r = NULL;

	if (v == Py_True)
		r = strdup("on");
	else if (v == Py_False || v == Py_None)
		r = strdup("off");
	else if (v && PyUnicode_Check(v))
		r = strdup(PyUnicode_AsUTF8(v) ?: "");
	Py_XDECREF(v);
	PyErr_Clear();
	return r;
}

/* Run a GDB command whose output does not matter; errors are ignored. */
static void quiet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void quiet(const char *fmt, ...)
{
	char *cmd = NULL, *out = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	adbg_error_destroy(gdbext_execute(cmd, &out));
	free(out);
	free(cmd);
}

/* Push out what GDB has buffered for stdout (its own streams, and C's). */
static void flush_gdb(void)
{
	PyObject *gdb = gdbext_gdb_module();
	PyObject *r = gdb ? PyObject_CallMethod(gdb, "flush", NULL) : NULL;

	Py_XDECREF(r);
	PyErr_Clear();
	fflush(stdout);
}

/* int(gdb.parse_and_eval(expr)), or -1 with *ok false. */
static long long eval_ll(const char *expr, bool *ok)
{
	PyObject *gdb = gdbext_gdb_module();
	PyObject *v = gdb ? PyObject_CallMethod(gdb, "parse_and_eval", "s", expr) : NULL;
	PyObject *n = v ? PyNumber_Long(v) : NULL;
	long long r = n ? PyLong_AsLongLong(n) : -1;

	Py_XDECREF(v);
	Py_XDECREF(n);
	if (PyErr_Occurred()) {
		PyErr_Clear();
		*ok = false;
		return -1;
	}
	return r;
}

/* The pid of GDB's selected inferior (0: no process), -1 on error. */
static long inferior_pid(void)
{
	PyObject *gdb = gdbext_gdb_module();
	PyObject *inf = gdb ? PyObject_CallMethod(gdb, "selected_inferior", NULL) : NULL;
	PyObject *pid = inf ? PyObject_GetAttrString(inf, "pid") : NULL;
	long r = pid ? PyLong_AsLong(pid) : -1;

	Py_XDECREF(inf);
	Py_XDECREF(pid);
	PyErr_Clear();
	return r;
}

/*
 * Refuse when a file GDB has loaded is not the one the process maps (a process in a
 * container or chroot, debugged without `set sysroot`): resuming it, GDB would plant its
 * breakpoints (its shared-library event breakpoint in ld.so, at least) at addresses
 * computed from the wrong file, and corrupt the program's code.
 */
static ADBG_MUST_CHECK struct adbg_error *check_files(const struct adbg_target *t)
{
	PyObject *gdb = gdbext_gdb_module();
	PyObject *list = gdb ? PyObject_CallMethod(gdb, "objfiles", NULL) : NULL;
	PyObject *seq = list ? PySequence_Fast(list, "objfiles") : NULL;
	struct adbg_error *err = NULL;

	Py_XDECREF(list);
	if (!seq) {
		PyErr_Clear();
		return NULL;
	}
	for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq) && !err; i++) {
		PyObject *o = PySequence_Fast_GET_ITEM(seq, i);
		PyObject *owner = PyObject_GetAttrString(o, "owner");
		PyObject *name = PyObject_GetAttrString(o, "filename");
		const char *path = name && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
		struct stat st;
		bool mapped = false;

		// Separate debug files (owner set) and the vDSO (no file) are not mapped.
		if (owner == Py_None && path && path[0] == '/' && stat(path, &st) == 0) {
			for (size_t k = 0; k < t->nmaps && !mapped; k++)
				mapped = t->maps[k].inode == st.st_ino;
			if (!mapped)
				err = adbg_error_create(
					ADBG_ERR_UNSUPPORTED,
					"GDB has loaded %s, but process %d does not map that file "
					"(it runs in a container or chroot?); resuming it, GDB "
					"would "
					"put breakpoints at wrong addresses. Tell GDB where its "
					"files "
					"are ('set sysroot /proc/%d/root' before attaching) and "
					"try "
					"again",
					path, t->pid, t->pid);
		}
		Py_XDECREF(owner);
		Py_XDECREF(name);
		PyErr_Clear();
	}
	Py_DECREF(seq);
	return err;
}

/* What GDB had selected, to put back. */
struct gdb_state {
	long thread_num;
	int frame_level;
	char *scheduler_locking;
	/** SIGINT's handling, when we changed it: "stop print pass" words to restore. */
	char sigint[64];
	/** GDB's stdout while we hide its chatter in the file log_path (-1: not hidden). */
	int saved_stdout;
	char *log_path;
	char *pagination;
};

static void save_selection(struct gdb_state *st)
{
	PyObject *gdb = gdbext_gdb_module();
	PyObject *th = gdb ? PyObject_CallMethod(gdb, "selected_thread", NULL) : NULL;
	PyObject *num = th && th != Py_None ? PyObject_GetAttrString(th, "num") : NULL;
	PyObject *fr = gdb ? PyObject_CallMethod(gdb, "selected_frame", NULL) : NULL;
	PyObject *lvl = fr ? PyObject_CallMethod(fr, "level", NULL) : NULL;

	st->thread_num = num ? PyLong_AsLong(num) : -1;
	st->frame_level = lvl ? (int)PyLong_AsLong(lvl) : 0;
	Py_XDECREF(th);
	Py_XDECREF(num);
	Py_XDECREF(fr);
	Py_XDECREF(lvl);
	PyErr_Clear();
}

static void restore_selection(const struct gdb_state *st)
{
	if (st->thread_num > 0)
		quiet("thread %ld", st->thread_num);
	if (st->frame_level > 0)
		quiet("frame %d", st->frame_level);
}

/*
 * `handle SIGINT WORDS` without GDB's "SIGINT is used by the debugger. Are you sure?",
 * which it asks on a terminal whatever the change.
 */
static void handle_sigint(const char *words)
{
	char *confirm = parameter_str("confirm");

	if (confirm && strcmp(confirm, "on") == 0)
		quiet("set confirm off");
	quiet("handle SIGINT %s", words);
	if (confirm && strcmp(confirm, "on") == 0)
		quiet("set confirm on");
	free(confirm);
}

/* Parse "SIGINT  Yes  Yes  No  Interrupt" of `info signals SIGINT`. */
static bool sigint_handling(bool *stop, bool *print, bool *pass)
{
	char *out = NULL, *p;
	char w[3][8];
	bool ok = false;

	if (!adbg_ok(gdbext_execute("info signals SIGINT", &out)))
		return false;
	p = strstr(out, "\nSIGINT");
	if (p && sscanf(p + 7, "%7s %7s %7s", w[0], w[1], w[2]) == 3) {
		*stop = strcmp(w[0], "Yes") == 0;
		*print = strcmp(w[1], "Yes") == 0;
		*pass = strcmp(w[2], "Yes") == 0;
		ok = true;
	}
	free(out);
	return ok;
}

static ADBG_MUST_CHECK struct adbg_error *prepare(struct gdb_state *st)
{
	bool stop, print, pass;
	char *nonstop = parameter_str("non-stop");
	char tmpl[] = "/tmp/aiodbg-gdb-out-XXXXXX";
	int fd;

	if (nonstop && strcmp(nonstop, "on") == 0) {
		free(nonstop);
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "live control from GDB needs all-stop mode "
					 "('set non-stop off' before attaching)");
	}
	free(nonstop);
	if (!sigint_handling(&stop, &print, &pass))
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "cannot read GDB's handling of SIGINT ('info signals "
					 "SIGINT')");
	st->saved_stdout = -1;
	save_selection(st);
	if (!stop || pass) {
		snprintf(st->sigint, sizeof(st->sigint), "%s %s %s", stop ? "stop" : "nostop",
			 print ? "print" : "noprint", pass ? "pass" : "nopass");
		handle_sigint("stop print nopass");
	}
	st->scheduler_locking = parameter_str("scheduler-locking");
	if (st->scheduler_locking && strcmp(st->scheduler_locking, "off") != 0)
		quiet("set scheduler-locking off");
	// GDB's chatter about our stops ("received signal SIGINT", the frame) goes to a file
	// of ours: GDB prints it from its stop observers, which neither gdb.execute's
	// to_string nor `set logging redirect` inside a command catches. No pager meanwhile:
	// it would count those lines and stop to ask the user, who cannot see it.
	st->pagination = parameter_str("pagination");
	if (st->pagination && strcmp(st->pagination, "on") == 0)
		quiet("set pagination off");
	flush_gdb();
	fd = mkstemp(tmpl);
	if (fd >= 0) {
		st->saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (st->saved_stdout >= 0 && dup2(fd, STDOUT_FILENO) >= 0) {
			st->log_path = strdup(tmpl);
		} else {
			if (st->saved_stdout >= 0)
				close(st->saved_stdout);
			st->saved_stdout = -1;
			unlink(tmpl);
		}
		close(fd);
	}
	return NULL;
}

static void restore(struct gdb_state *st, bool selection)
{
	// GDB passes a thread's last stop signal when it resumes it (or detaches) if the
	// signal is set to pass: forget our SIGINT, or the user's `continue` would deliver it.
	if (job.last_ours)
		quiet("queue-signal 0");
	// First, while GDB's stdout is still ours: GDB announces the thread switch.
	if (selection)
		restore_selection(st);
	if (st->saved_stdout >= 0) {
		flush_gdb();
		dup2(st->saved_stdout, STDOUT_FILENO);
		close(st->saved_stdout);
		st->saved_stdout = -1;
	}
	if (st->log_path)
		unlink(st->log_path);
	if (st->pagination && strcmp(st->pagination, "on") == 0)
		quiet("set pagination on");
	if (st->scheduler_locking && strcmp(st->scheduler_locking, "off") != 0)
		quiet("set scheduler-locking %s", st->scheduler_locking);
	// Our SIGINT may still be pending (in the kernel or in GDB) after a foreign stop: GDB
	// reports it when the program next runs, and must not pass it then.
	if (st->sigint[0] && !job.stray_sigint)
		handle_sigint(st->sigint);
	free(st->log_path);
	free(st->pagination);
	free(st->scheduler_locking);
}

/* How long our log file is now (GDB flushed). */
static long log_size(const struct gdb_state *st)
{
	FILE *f;
	long n;

	if (!st->log_path)
		return 0;
	flush_gdb();
	f = fopen(st->log_path, "r");
	if (!f)
		return 0;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

/* What GDB logged from offset on, without our "Continuing." lines. */
static char *log_since(const struct gdb_state *st, long offset)
{
	char *buf, *line, *save = NULL, *out;
	size_t n = 0;
	FILE *f;

	if (!st->log_path)
		return NULL;
	flush_gdb();
	f = fopen(st->log_path, "r");
	if (!f)
		return NULL;
	buf = calloc(1, MAX_REASON + 1);
	out = calloc(1, MAX_REASON + 1);
	if (buf && out && fseek(f, offset, SEEK_SET) == 0)
		n = fread(buf, 1, MAX_REASON, f);
	fclose(f);
	if (!buf || !out) {
		free(buf);
		free(out);
		return NULL;
	}
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "Continuing.") == 0 || !line[0])
			continue;
		strncat(out, line, MAX_REASON - strlen(out) - 1);
		strncat(out, "\n", MAX_REASON - strlen(out));
	}
	free(buf);
	if (!out[0]) {
		free(out);
		return NULL;
	}
	return out;
}

/* -- GDB's side: the drive loop ------------------------------------------------------ */

/* Resume with `continue` until the program stops; then say whose stop it was. */
static void resume(struct gdb_state *st)
{
	long before = log_size(st), pid;
	struct adbg_error *err;
	char *out = NULL;
	bool ok = true, sent;
	long long signo, code, spid;

	err = gdbext_execute("continue", &out);
	free(out);
	// A Ctrl-C that GDB turned into a Python exception, or a failed resume.
	if (err) {
		adbg_error_destroy(err);
		PyErr_Clear();
	}
	pid = inferior_pid();
	signo = eval_ll("$_siginfo.si_signo", &ok);
	code = eval_ll("$_siginfo.si_code", &ok);
	spid = eval_ll("$_siginfo._sifields._kill.si_pid", &ok);

	pthread_mutex_lock(&job.mu);
	sent = job.stop_sent;
	job.last_ours = false;
	if (pid != job.pid) {
		job.state = ST_GONE;
	} else if (ok && signo == SIGINT && code == SI_TKILL && spid == getpid()) {
		// Ours; one sent earlier in the command and not wanted now: run on.
		job.state = sent ? ST_STOPPED : ST_RESUME;
		job.last_ours = true;
	} else if (ok && signo == SIGINT) {
		// The user's Ctrl-C: interrupt the command (the worker then decides, as the
		// REPL does: an await is cancelled; it still needs the program running).
		job.interrupted = 1;
		job.state = sent ? ST_STOPPED : ST_RESUME;
	} else {
		job.state = ST_HALTED;
	}
	job.stop_sent = false;
	if ((job.state == ST_HALTED || job.state == ST_GONE) && !job.reason)
		job.reason = log_since(st, before);
	if (job.state == ST_HALTED && sent)
		job.stray_sigint = true;
	if (job.state == ST_HALTED || job.state == ST_GONE)
		job.interrupted = job.halted = 1;
	pthread_cond_broadcast(&job.cv);
	pthread_mutex_unlock(&job.mu);
}

static void do_write(void)
{
	PyObject *gdb = gdbext_gdb_module();
	PyObject *inf = gdb ? PyObject_CallMethod(gdb, "selected_inferior", NULL) : NULL;
	PyObject *res =
		inf ? PyObject_CallMethod(inf, "write_memory", "Ky#", (unsigned long long)job.waddr,
					  (const char *)job.wbuf, (Py_ssize_t)job.wlen)
		    : NULL;
	struct adbg_error *err = NULL;

	if (!res) {
		err = gdbext_py_error(ADBG_ERR_FAULT, "gdb write_memory");
		if (err != &adbg_error_nomem)
			err->addr = job.waddr;
	}
	Py_XDECREF(res);
	Py_XDECREF(inf);
	pthread_mutex_lock(&job.mu);
	job.werr = err;
	job.write_wanted = false;
	pthread_cond_broadcast(&job.cv);
	pthread_mutex_unlock(&job.mu);
}

static void drive(struct gdb_state *st)
{
	for (;;) {
		enum { WAIT, RESUME, WRITE, DONE } act = WAIT;
		struct timespec ts;

		Py_BEGIN_ALLOW_THREADS pthread_mutex_lock(&job.mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!job.done && job.state != ST_RESUME && !job.write_wanted)
			if (pthread_cond_timedwait(&job.cv, &job.mu, &ts) == ETIMEDOUT)
				break;
		if (job.write_wanted) {
			act = WRITE;
		} else if (job.state == ST_RESUME) {
			act = RESUME;
			job.state = ST_RUNNING;
		} else if (job.done) {
			act = DONE;
		} else if (job.state == ST_HALTED || job.state == ST_GONE) {
			// Keep the worker's waits from waiting for a program that will not run.
			job.interrupted = job.halted = 1;
		}
		pthread_mutex_unlock(&job.mu);
		Py_END_ALLOW_THREADS

			// Ctrl-C while the program is stopped and the worker busy.
			if (PyErr_CheckSignals() < 0)
		{
			PyErr_Clear();
			job.interrupted = 1;
		}
		if (act == DONE)
			return;
		if (act == WRITE)
			do_write();
		else if (act == RESUME)
			resume(st);
	}
}

/* -- the entry point ----------------------------------------------------------------- */

void gdbext_live_forget(void)
{
	// The agent's channel first: the agent resumes the loop and unloads itself.
	adbg_cmd_state_deinit(&live_state);
	adbg_session_destroy(live_s);
	live_s = NULL;
}

void gdbext_live_check(void)
{
	if (live_s && !job.active && inferior_pid() != live_s->target->pid)
		gdbext_live_forget();
}

static void notice(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "aiodbg: %s\n", msg);
	fflush(stderr);
}

static ADBG_MUST_CHECK struct adbg_error *live_session(const struct adbg_session *gs)
{
	static const struct adbg_target_control ctl = {
		.stop = ctl_stop,
		.resume = ctl_resume,
		.write = ctl_write,
	};
	struct adbg_target *t;
	struct adbg_error *err;

	if (live_s && live_s->target->pid != gs->target->pid)
		gdbext_live_forget();
	if (live_s)
		return adbg_target_refresh(live_s->target);
	err = adbg_target_attach_controlled(gs->target->pid, &ctl, &t);
	if (!err)
		err = adbg_session_create(t, &live_s);
	if (err) {
		live_s = NULL;
		return err;
	}
	live_s->interrupted = &job.interrupted;
	live_state.live_lease_s = GDB_LEASE_S;
	// On the worker thread, which must not call into GDB: straight to stderr, which
	// GDB does not buffer (its stdout is ours while the program runs).
	live_state.notice = notice;
	live_state.halted = &job.halted;
	return NULL;
}

struct adbg_error *gdbext_live_run(struct adbg_session *gs, bool native, const char *line,
				   const struct adbg_cmd_opts *opts, FILE *out)
{
	struct gdb_state st = {.saved_stdout = -1};
	struct adbg_cmd_opts live_opts = *opts;
	struct adbg_error *err;
	sigset_t all, old;
	pthread_t th;
	int rc;

	if (!native)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "live control from GDB needs a process GDB runs on this "
					 "machine (not a remote target); use 'aiodbg attach PID' "
					 "where the process runs");
	err = live_session(gs);
	if (err)
		return adbg_error_wrap(err, "process %d", gs->target->pid);
	// The selection of `aio select/up/down` is the GDB session's.
	if (opts->state)
		live_state.sel = opts->state->sel;
	live_opts.state = &live_state;
	err = check_files(live_s->target);
	if (err)
		return err;
	job.last_ours = false;
	err = prepare(&st);
	if (err) {
		restore(&st, false);
		return err;
	}

	pthread_mutex_lock(&job.mu);
	job.active = true;
	job.pid = live_s->target->pid;
	job.state = ST_STOPPED;
	job.stop_sent = false;
	job.last_ours = false;
	job.stray_sigint = false;
	job.write_wanted = false;
	job.done = false;
	job.interrupted = 0;
	job.halted = 0;
	free(job.reason);
	job.reason = NULL;
	job.s = live_s;
	job.line = line;
	job.opts = &live_opts;
	job.out = out;
	job.err = NULL;
	pthread_mutex_unlock(&job.mu);

	// Signals stay with GDB's main thread (its Ctrl-C and SIGCHLD handling).
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&th, NULL, worker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		job.active = false;
		restore(&st, false);
		return adbg_error_os(rc, "starting the worker thread");
	}
	drive(&st);
	pthread_join(th, NULL);

	pthread_mutex_lock(&job.mu);
	job.active = false;
	err = job.err;
	job.err = NULL;
	pthread_mutex_unlock(&job.mu);
	// A foreign stop leaves GDB where the program stopped, for the user to look at.
	restore(&st, job.state == ST_STOPPED);
	if (job.reason) {
		fputs(job.reason, out);
		free(job.reason);
		job.reason = NULL;
	}
	if (job.state == ST_GONE) {
		adbg_error_destroy(err);
		gdbext_live_forget();
		return adbg_error_create(ADBG_ERR_GONE, "the program exited");
	}
	if (job.state == ST_HALTED) {
		adbg_error_destroy(err);
		if (!job.stray_sigint)
			return halted_error();
		return adbg_error_create(
			ADBG_ERR_UNSUPPORTED,
			"the program stopped for another reason while aiodbg was working with it "
			"(see above); it is left stopped there. A SIGINT aiodbg sent to stop it is "
			"still pending: GDB will report it when the program runs again%s",
			st.sigint[0] ? ", so SIGINT stays on 'handle SIGINT stop print nopass' for "
				       "it not to reach the program"
				     : " (it does not pass it to the program)");
	}
	if (opts->state)
		opts->state->sel = live_state.sel;
	return err;
}
