// SPDX-License-Identifier: MIT
// Loading the agent into a live CPython at a safe point, and waking an idle loop.
//
// Design
// ------
// What must never happen (docs/design.md §5): running code at an
// arbitrary instruction (pyrasite's `call` from GDB: deadlocks on the GIL or malloc locks,
// crashes), leaving the target stopped, or changing what the program observes (signals,
// exceptions, altered state). So aiodbg never makes the target call anything itself: it
// only writes a request into a structure CPython polls between bytecodes, on a thread that
// holds the GIL, and lets the interpreter pick it up.
//
// * 3.14+ (PEP 768): while every thread is stopped (ptrace interrupt, target_live.c),
//   write the agent file's path into remote_debugger_support.debugger_script_path of the
//   chosen thread, set debugger_pending_call = 1 and OR _PY_EVAL_PLEASE_STOP_BIT (5) into
//   its eval_breaker, keeping the other bits; thaw. _PyRunRemoteDebugger runs the file at
//   the thread's next eval-breaker check. Refused when remote_debugging_enabled is not 1
//   (PYTHON_DISABLE_REMOTE_DEBUG, -X disable-remote-debug, --without-remote-debug): the
//   owner said no, and we do not go around it. Refused when another tool's request is
//   still pending in that slot.
//
// * 3.11-3.13 (pending calls, reference §6): the same thing Py_AddPendingCall does, done
//   from outside while every thread is stopped: push {PyRun_SimpleString, source} on the
//   main thread's pending-call queue and raise the eval breaker; the main thread runs it
//   between bytecodes, where calling into CPython is legal. We write only when the
//   queue's lock is free (a thread stopped inside Py_AddPendingCall or while popping
//   holds it: thaw, retry) and the queue has room. The queue's place inside _PyRuntime
//   moves between patch releases (3.13.0: 2640, 3.13.18: 2664), so each version has a
//   short list of candidate offsets, measured on real interpreters (layout.c,
//   adbg_layout_pending_calls), and a candidate is used only if every field there is
//   what a live queue must hold (lock a semaphore of value 0/1, indices in range and
//   consistent, max == 32, ...). No candidate valid:
//   refuse, naming the version. The source is a two-line bootstrap that execs the agent
//   file inside try/except BaseException (so PyRun_SimpleString returns 0 and nothing
//   reaches the interrupted frame, reference §6.3); it runs in __main__'s globals, so it
//   uses no name the program could have shadowed, binds none, and closes the file.
//
// * Refused at once rather than after a timeout: a loop paused by another aiodbg session
//   (its agent's frames on the loop's thread), a 3.11-3.13 main thread blocked in
//   threading (it runs no pending call), a target that exits while we wait.
//
//   The bootstrap string needs target memory that nobody uses. We do not inject an mmap
//   (that means running a syscall on a hijacked thread and restoring a possibly
//   interrupted syscall: exactly the kind of register surgery that hangs targets). We use
//   the slack at the end of the last page of a loaded ELF file's writable segment, after
//   p_vaddr + p_memsz: mapped, private, zero-filled by the loader, and part of no object
//   (the kernel puts the brk heap on a later page). ld.so is excluded (its minimal malloc
//   uses its own tail). The bytes must read as zeros (no other debugger is using them),
//   or hold the bootstrap of a session that is over (its directory is gone) whose call has
//   left the queue; they are zeroed again once the agent has connected, which proves
//   PyRun_SimpleString has compiled them, and only while they still hold our bootstrap. A
//   load that fails gives them back (release_scratch): withdrawn while still the last call
//   queued, or, once the call has run, after a second look. A call left queued behind
//   another stays with its string; when it runs it finds no agent file and does nothing,
//   and the next load reuses the bytes. Nothing accumulates, whatever fails or is killed.
//
// * Pending calls run only on the main thread (3.11-3.13), PEP 768 scripts on the chosen
//   one, and only when that thread executes bytecode. A loop parked in epoll_wait runs
//   nothing, so after queueing we wake it with one byte into its self-pipe: the socket
//   loop._csock, taken with pidfd_getfd (same permission as ptrace) — what
//   call_soon_threadsafe does; the loop's _read_from_self drains it. No signal is ever
//   sent. A thread busy in a long C call or blocked elsewhere is reported (its Python
//   stack, how long we waited) about once a second until the timeout.
//
// The agent then connects back over the channel (channel.c); see agent.py for the rest.
#include "inject.h"
#include "trio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "elffile.h"
#include "objects.h"
#include "runtime.h"

// Generated from shared/agent/*.py by tests/env/embed.sh.
extern const char *const adbg_agent_files[][2];

// Thawing and trying again this often when the pending-call lock is held.
#define LOCK_RETRIES 200
#define LOCK_RETRY_US 500
// How often we re-wake the loop and tell the user what we are waiting for.
#define REWAKE_MS 1000
#define PROGRESS_MS 1000
// Mapped files examined for slack memory.
#define MAX_SCRATCH_FILES 128
#define PAGE 4096u
// The agent resumes a paused loop after this many seconds of the target running without
// a byte from us (the keepalive sends one a second: channel.c).
#define ALIVE_LEASE_S 5.0
// A failed load checks that its call has left the queue twice, this far apart, before
// reusing the bootstrap's bytes (see release_scratch).
#define RECLAIM_GAP_US 50000
// A loop seen in another session's agent is looked at again this much later.
#define OTHER_SESSION_GAP_US 100000
// Bootstraps of older sessions start with this (find_scratch reuses unqueued ones).
#define BOOT_PREFIX "try:__import__('builtins').exec("

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* -- the agent file ------------------------------------------------------------------ */

static const char *agent_source(void)
{
	for (size_t i = 0; adbg_agent_files[i][0]; i++)
		if (strcmp(adbg_agent_files[i][0], "agent.py") == 0)
			return adbg_agent_files[i][1];
	return NULL;
}

/* Write "_AIODBG = {config}\n<agent.py>" into the channel's directory. */
static ADBG_MUST_CHECK struct adbg_error *
write_agent(struct adbg_channel *ch, const struct adbg_inject_opts *o, char **path_ret)
{
	const char *src = agent_source();
	struct adbg_error *err;
	json_t *cfg;
	char *cfgtext, *text;
	int n;

	if (!src)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "the agent is not built in");
	long dpid, duid;

	// JSON strings and numbers are Python literals too. dpid/duid: who the agent must find
	// at the other end of the socket; alive: the liveness lease (channel.c, keepalive).
	char file[128];

	// The file's own path (its directory is the socket's): the agent runs under that name.
	snprintf(file, sizeof(file), "%.*s/a.py", (int)(strlen(adbg_channel_socket_path(ch)) - 2),
		 adbg_channel_socket_path(ch));
	adbg_channel_peer_ids(ch, &dpid, &duid);
	cfg = json_pack("{s:s, s:s, s:f, s:I, s:I, s:f, s:s}", "sock", adbg_channel_socket_path(ch),
			"token", adbg_channel_token(ch), "lease", o->lease > 0 ? o->lease : 600.0,
			"dpid", (json_int_t)dpid, "duid", (json_int_t)duid, "alive", ALIVE_LEASE_S,
			"file", file);
	cfgtext = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(cfg);
	if (!cfgtext)
		return &adbg_error_nomem;
	n = asprintf(&text, "_AIODBG = %s\n%s", cfgtext, src);
	free(cfgtext);
	if (n < 0)
		return &adbg_error_nomem;
	err = adbg_channel_write_file(ch, "a.py", text, (size_t)n, path_ret);
	free(text);
	return err;
}

/* -- threads ------------------------------------------------------------------------- */

/* The Python thread with kernel id tid (0: the main thread), target frozen. */
static ADBG_MUST_CHECK struct adbg_error *find_thread(struct adbg_session *s, int tid,
						      unsigned flags,
						      struct adbg_runtime_snapshot *snap,
						      const struct adbg_pythread **ret)
{
	struct adbg_error *err = adbg_runtime_snapshot(s, flags, snap);

	if (err)
		return err;
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct adbg_pythread *th = &snap->threads[i];

		if (tid ? th->tid == tid : th->main) {
			*ret = th;
			return NULL;
		}
	}
	adbg_runtime_snapshot_deinit(snap);
	if (tid)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "no Python thread %d in process %d",
					 tid, s->target->pid);
	return adbg_error_create(ADBG_ERR_NOT_FOUND, "process %d has no main Python thread",
				 s->target->pid);
}

struct adbg_error *adbg_inject_describe_thread(struct adbg_session *s, int tid, char **ret)
{
	struct adbg_runtime_snapshot snap;
	const struct adbg_pythread *th;
	struct adbg_error *err;
	char name[64];
	int n;

	err = adbg_session_snapshot_begin(s);
	if (err) {
		adbg_session_snapshot_end(s);
		return err;
	}
	err = find_thread(s, tid, ADBG_RT_STACKS | ADBG_RT_NAMES, &snap, &th);
	if (err) {
		adbg_session_snapshot_end(s);
		return err;
	}
	snprintf(name, sizeof(name), "%s (thread %d)", th->name ? th->name : "thread", th->tid);
	if (th->stack.n) {
		const struct adbg_frame *f = &th->stack.frames[0];

		n = asprintf(ret, "%s is in %s (%s:%d)", name, f->function, f->file ? f->file : "?",
			     f->line);
	} else {
		n = asprintf(ret, "%s runs no Python code (blocked in native code)", name);
	}
	adbg_runtime_snapshot_deinit(&snap);
	adbg_session_snapshot_end(s);
	return n < 0 ? &adbg_error_nomem : NULL;
}

/* -- waking a loop ------------------------------------------------------------------- */

/* Whether the type at type is, or derives from, the type named name (tp_base chain). */
static bool derives_from(struct adbg_target *t, const struct adbg_layout *l, uint64_t type,
			 const char *name)
{
	for (int depth = 0; type && depth < ADBG_OBJ_MAX_TYPE_DEPTH; depth++) {
		char *tn = NULL;
		bool hit = adbg_ok(adbg_obj_tp_name(t, l, type, &tn)) && strcmp(tn, name) == 0;

		free(tn);
		if (hit)
			return true;
		if (!adbg_ok(adbg_read_u64(t, type + l->type_object.tp_base, &type)))
			return false;
	}
	return false;
}

/* Whether obj is a socket object of family AF_UNIX. */
static bool is_unix_socket(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj)
{
	char *tn = NULL;
	uint32_t family = 0;
	bool sock = obj && !(obj & 7) && adbg_ok(adbg_obj_type_name(t, l, obj, &tn)) &&
		    strcmp(tn, "socket") == 0;

	free(tn);
	// Modules/socketmodule.h PySocketSockObject: PyObject_HEAD, SOCKET_T sock_fd (an
	// int on Unix), int sock_family.
	return sock && adbg_ok(adbg_read_u32(t, obj + l->pyobject.size + 4, &family)) &&
	       family == 1;
}

/*
 * uvloop's self-pipe. Its Loop (uvloop/loop.pxd, 0.17-0.23) is a Cython class whose fields
 * are C members, not attributes: `object _ssock, _csock`, next to each other near the
 * start (the 256 KiB read buffer comes later). When the loop runs on the main thread they
 * are a socketpair, _csock is the signal wakeup fd (signal.set_wakeup_fd), and the loop
 * reads _ssock: a NUL byte there makes it call uvloop's _noop.noop(), a Python function,
 * "to let CPython process signals" (Loop._read_from_self/_ceval_process_signals) — the
 * bytecode a pending call or a PEP 768 script waits for; NUL bytes are otherwise ignored.
 * Found as the only two adjacent AF_UNIX socket objects among the first fields.
 */
#define UVLOOP_FIELDS_SCAN 1024
static ADBG_MUST_CHECK struct adbg_error *uvloop_csock(struct adbg_session *s, uint64_t loop,
						       uint64_t *ret)
{
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_target *t = s->target;
	uint64_t type, fields[UVLOOP_FIELDS_SCAN / 8], found = 0;
	unsigned pairs = 0;
	struct adbg_error *err;

	err = adbg_obj_type(t, l, loop, &type);
	if (err)
		return err;
	if (!derives_from(t, l, type, "uvloop.loop.Loop"))
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "not a uvloop loop");
	err = adbg_target_read(t, loop + l->pyobject.size, fields, sizeof(fields));
	if (err)
		return err;
	for (size_t i = 0; i + 1 < sizeof(fields) / 8; i++) {
		if (is_unix_socket(t, l, fields[i]) && is_unix_socket(t, l, fields[i + 1])) {
			found = fields[i + 1];
			pairs++;
			i++;
		}
	}
	if (pairs != 1)
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "uvloop loop %#" PRIx64 ": no self-pipe (%u candidates; "
					 "it has one only on the main thread)",
					 loop, pairs);
	*ret = found;
	return NULL;
}

struct adbg_error *adbg_inject_wake_loop(struct adbg_session *s, uint64_t loop)
{
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_target *t = s->target;
	struct adbg_error *err;
	uint64_t csock;
	uint32_t fd;
	struct stat st;
	char *tname = NULL;
	int pidfd, sfd;
	ssize_t n;

	// BaseSelectorEventLoop._make_self_pipe: self._ssock, self._csock = socketpair();
	// _write_to_self sends b'\0' on _csock (Lib/asyncio/selector_events.py, 3.11-3.15).
	// uvloop keeps the pair in C fields (uvloop_csock).
	err = adbg_obj_getattr(t, l, loop, "_csock", &csock);
	if (err && adbg_ok(uvloop_csock(s, loop, &csock))) {
		adbg_error_destroy(err);
		err = NULL;
	}
	// A Trio run wakes on a byte from its run_sync_soon socketpair (trio.h).
	if (err && adbg_ok(adbg_trio_wakeup_sock(s, loop, &csock))) {
		adbg_error_destroy(err);
		err = NULL;
	}
	if (err)
		return adbg_error_wrap(err, "loop %#" PRIx64 " has no self-pipe (_csock)", loop);
	err = adbg_obj_type_name(t, l, csock, &tname);
	if (err)
		return adbg_error_wrap(err, "loop %#" PRIx64 ": _csock", loop);
	if (strcmp(tname, "socket") != 0) {
		err = adbg_error_create(ADBG_ERR_NOT_FOUND,
					"loop %#" PRIx64 ": _csock is a %s, not a socket", loop,
					tname);
		free(tname);
		return err;
	}
	free(tname);
	// Modules/socketmodule.h PySocketSockObject: PyObject_HEAD, then SOCKET_T sock_fd
	// (an int on Unix).
	err = adbg_read_u32(t, csock + l->pyobject.size, &fd);
	if (err)
		return adbg_error_wrap(err, "loop %#" PRIx64 ": _csock fd", loop);
	if ((int32_t)fd < 0 || fd > (1u << 24))
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "loop %#" PRIx64 ": its self-pipe is closed", loop);
	pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (pidfd < 0)
		return adbg_error_os(errno, "pidfd_open(%d)", t->pid);
	sfd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	close(pidfd);
	if (sfd < 0)
		return adbg_error_os(errno, "pidfd_getfd(%d, %u): taking the loop's self-pipe",
				     t->pid, fd);
	if (fstat(sfd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		close(sfd);
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "fd %u of process %d is not the loop's self-pipe socket",
					 fd, t->pid);
	}
	n = send(sfd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(sfd);
	// EAGAIN: the pipe is full of wake-ups already, so the loop is awake anyway.
	if (n < 0 && errno != EAGAIN)
		return adbg_error_os(errno, "waking loop %#" PRIx64, loop);
	return NULL;
}

/* -- PEP 768 (3.14+) ----------------------------------------------------------------- */

struct pep768_request {
	uint64_t slot;
	char path[512];
};

static ADBG_MUST_CHECK struct adbg_error *queue_pep768(struct adbg_session *s, int tid,
						       const char *path, struct pep768_request *req)
{
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_target *t = s->target;
	struct adbg_runtime_snapshot snap;
	const struct adbg_pythread *th;
	struct adbg_error *err;
	uint32_t enabled, pending;
	uint64_t eb, slot;
	size_t len = strlen(path);

	err = find_thread(s, tid, 0, &snap, &th);
	if (err)
		return err;
	err = adbg_read_u32(t, th->interp + l->debugger_support.remote_debugging_enabled, &enabled);
	if (err)
		goto out;
	if (enabled != 1) {
		err = adbg_error_create(
			ADBG_ERR_UNSUPPORTED,
			"process %d has remote debugging disabled (PYTHON_DISABLE_REMOTE_DEBUG, "
			"-X disable-remote-debug, or a build --without-remote-debug); aiodbg will "
			"not load its agent into it, so pause/eval/await/cancel are unavailable "
			"(the read-only commands still work)",
			t->pid);
		goto out;
	}
	if (len + 1 > l->debugger_support.debugger_script_path_size ||
	    len + 1 > sizeof(req->path)) {
		err = adbg_error_create(ADBG_ERR_UNSUPPORTED, "agent path %s is too long", path);
		goto out;
	}
	slot = th->tstate + l->debugger_support.remote_debugger_support;
	err = adbg_read_u32(t, slot + l->debugger_support.debugger_pending_call, &pending);
	if (err)
		goto out;
	if (pending) {
		err = adbg_error_create(ADBG_ERR_UNSUPPORTED,
					"thread %d of process %d already has a remote-debugger "
					"script pending (another debugger?); try again later",
					th->tid, t->pid);
		goto out;
	}
	// Target stopped: path, then the flag, then the eval breaker (read-modify-write is
	// safe only because nothing runs; the other bits are kept).
	err = adbg_target_write(t, slot + l->debugger_support.debugger_script_path, path, len + 1);
	if (!err) {
		uint32_t one = 1;

		err = adbg_target_write(t, slot + l->debugger_support.debugger_pending_call, &one,
					sizeof(one));
	}
	if (!err)
		err = adbg_read_u64(t, th->tstate + l->debugger_support.eval_breaker, &eb);
	if (!err) {
		eb |= 1u << 5; // _PY_EVAL_PLEASE_STOP_BIT, Include/internal/pycore_ceval.h
		err = adbg_target_write(t, th->tstate + l->debugger_support.eval_breaker, &eb,
					sizeof(eb));
	}
	if (!err) {
		req->slot = slot;
		snprintf(req->path, sizeof(req->path), "%s", path);
	}
out:
	adbg_runtime_snapshot_deinit(&snap);
	return err;
}

/* Withdraw our PEP 768 request if the thread has not taken it (target frozen). */
/* Withdraw our script if it is still pending (target frozen); true when it was taken. */
static bool withdraw_pep768(struct adbg_session *s, const struct pep768_request *req)
{
	const struct adbg_layout *l = &s->python->layout;
	char buf[sizeof(req->path)];
	size_t len = strlen(req->path) + 1;
	uint32_t pending, zero = 0;

	if (!req->slot)
		return false;
	if (!adbg_ok(adbg_read_u32(s->target, req->slot + l->debugger_support.debugger_pending_call,
				   &pending)))
		return false;
	if (pending != 1)
		return true;
	if (adbg_ok(adbg_target_read(
		    s->target, req->slot + l->debugger_support.debugger_script_path, buf, len)) &&
	    memcmp(buf, req->path, len) == 0)
		adbg_error_destroy(adbg_target_write(
			s->target, req->slot + l->debugger_support.debugger_pending_call, &zero,
			sizeof(zero)));
	return false;
}

/* -- pending calls (3.11-3.13) ------------------------------------------------------- */

struct pending_queue {
	const struct adbg_pending_calls_layout *ql;
	uint64_t addr;
	uint64_t eb_addr;
	int32_t first, last, npending;
	uint32_t calls_to_do;
	/** the lock is held by a stopped thread: retry later. */
	bool busy;
	bool full;
};

/*
 * Read the queue at addr and check it looks exactly like a live one. Returns
 * ADBG_ERR_BAD_DATA when it does not (wrong candidate), NULL with q filled otherwise.
 */
static ADBG_MUST_CHECK struct adbg_error *read_queue(struct adbg_target *t,
						     const struct adbg_pending_calls_layout *ql,
						     uint64_t addr, struct pending_queue *q)
{
	enum adbg_pending_kind k = ql->kind;
	unsigned char hdr[24];
	int32_t ints[2];
	struct adbg_error *err;
	int32_t n = ql->ncalls;
	size_t h = (size_t)ql->header;

	memset(q, 0, sizeof(*q));
	err = adbg_target_read(t, addr, hdr, sizeof(hdr));
	if (!err)
		err = adbg_target_read(t, addr + ql->first, ints, sizeof(ints));
	if (err)
		return err;
	q->ql = ql;
	q->addr = addr;
	q->first = ints[0];
	q->last = ints[1];
	if (q->first < 0 || q->first >= n || q->last < 0 || q->last >= n)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "indices out of range");
	if (h > sizeof(hdr) - 12 || (k == ADBG_PENDING_313 && h < 4))
		return adbg_error_create(ADBG_ERR_BAD_DATA, "queue header out of range");
	if (k == ADBG_PENDING_313) {
		int32_t npending, max, maxloop;
		uint8_t mutex = hdr[h - 4];

		memcpy(&npending, hdr + h, 4);
		memcpy(&max, hdr + h + 4, 4);
		memcpy(&maxloop, hdr + h + 8, 4);
		// Python/ceval_gil.c: the main thread's queue has max 32, maxloop 0.
		if (max != 32 || maxloop != 0 || npending < 0 || npending > 32 || mutex > 3 ||
		    (q->last - q->first + n) % n != npending)
			return adbg_error_create(ADBG_ERR_BAD_DATA, "fields not those of a queue");
		q->npending = npending;
		q->busy = mutex & 1;
		q->full = npending >= 32;
	} else {
		uint64_t lock, sem;
		uint32_t calls_to_do, async_exc, busy = 0;
		memcpy(&lock, hdr + h, 8);
		memcpy(&calls_to_do, hdr + h + 8, 4);
		memcpy(&async_exc, hdr + h + 12, 4);
		if (k == ADBG_PENDING_312)
			memcpy(&busy, hdr, 4);
		if (!lock || calls_to_do > 1 || async_exc > 1 || busy > 1)
			return adbg_error_create(ADBG_ERR_BAD_DATA, "fields not those of a queue");
		// The lock is a sem_t (Python/thread_pthread.h, USE_SEMAPHORES on Linux);
		// glibc x86-64 keeps the value in the low 32 bits and the waiter count in the
		// high 32 bits of its first word (nptl/sem_waitcommon.c). 1: free, 0: held.
		err = adbg_read_u64(t, lock, &sem);
		if (err)
			return adbg_error_create(ADBG_ERR_BAD_DATA, "lock not readable");
		if ((uint32_t)sem > 1 || (sem >> 32) > 4096)
			return adbg_error_create(ADBG_ERR_BAD_DATA, "lock not a semaphore");
		q->busy = (uint32_t)sem == 0;
		q->calls_to_do = calls_to_do;
		q->npending = (q->last - q->first + n) % n;
		q->full = (q->last + 1) % n == q->first;
	}
	return NULL;
}

/* Find the queue (target frozen). */
static ADBG_MUST_CHECK struct adbg_error *
locate_queue(struct adbg_session *s, const struct adbg_pythread *main, struct pending_queue *q)
{
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_target *t = s->target;
	const struct adbg_pending_calls_layout *ql = adbg_layout_pending_calls(l);
	uint64_t base;

	if (!ql)
		return adbg_error_create(
			ADBG_ERR_UNSUPPORTED, "no pending-call injection for Python %s%s",
			s->python->version_str, l->free_threaded ? " (free-threaded)" : "");
	base = ql->kind == ADBG_PENDING_311 ? main->interp : s->python->runtime_addr;
	for (size_t i = 0; i < ql->ncandidates; i++) {
		struct adbg_error *err = read_queue(t, ql, base + ql->candidates[i], q);

		if (!err) {
			q->eb_addr = ql->kind == ADBG_PENDING_313
					     ? main->tstate + l->debugger_support.eval_breaker
					     : main->interp + ql->interp_eval_breaker;
			if (ql->kind == ADBG_PENDING_313 &&
			    l->debugger_support.eval_breaker == ADBG_NO_FIELD)
				q->eb_addr = main->tstate + 24; // 3.13: PyThreadState.eval_breaker
			return NULL;
		}
		if (err->code != ADBG_ERR_BAD_DATA)
			return err;
		adbg_error_destroy(err);
	}
	return adbg_error_create(ADBG_ERR_UNSUPPORTED,
				 "Python %s: the pending-call queue is not where aiodbg knows it "
				 "(this patch release is not supported for live control yet; the "
				 "read-only commands still work)",
				 s->python->version_str);
}

struct pending_request {
	struct pending_queue q;
	int32_t index;
	uint64_t func, arg;
	uint64_t scratch;
	size_t scratch_len;
	/** what we wrote at scratch (NUL included), to zero it only while it is ours. */
	char boot[256];
	/** the channel (its root tells whether an old bootstrap's session is over). */
	struct adbg_channel *ch;
	/** bytes of an older session's bootstrap at scratch beyond ours, zeroed when writing. */
	size_t stale_len;
};

/*
 * Whether a call with argument arg is in the queue at q's place (target frozen). True
 * when that cannot be told (the queue is busy or unreadable): the caller then keeps
 * the bytes.
 */
static bool call_queued(struct adbg_target *t, const struct pending_queue *q, uint64_t arg)
{
	const struct adbg_pending_calls_layout *ql = q->ql;
	struct pending_queue now;

	if (!adbg_ok(read_queue(t, ql, q->addr, &now)) || now.busy)
		return true;
	for (int32_t k = 0; k < now.npending && k < ql->ncalls; k++) {
		int32_t i = (now.first + k) % ql->ncalls;
		uint64_t entry[2];

		if (!adbg_ok(adbg_target_read(t, q->addr + ql->calls + (uint64_t)i * ql->stride,
					      entry, sizeof(entry))) ||
		    entry[1] == arg)
			return true;
	}
	return false;
}

/* Push {func, arg} (target frozen; q validated and neither busy nor full). */
static ADBG_MUST_CHECK struct adbg_error *push_call(struct adbg_target *t,
						    struct pending_request *r)
{
	struct pending_queue *q = &r->q;
	const struct adbg_pending_calls_layout *ql = q->ql;
	int32_t n = ql->ncalls, i = q->last, next = (q->last + 1) % n;
	uint64_t entry[3] = { r->func, r->arg, 1 /* _Py_PENDING_MAINTHREADONLY, as 3.13's
						     Py_AddPendingCall */ };
	struct adbg_error *err;

	if (ql->stride > sizeof(entry))
		return adbg_error_create(ADBG_ERR_BAD_DATA, "pending-call entry too large");
	err = adbg_target_write(t, q->addr + ql->calls + (uint64_t)i * ql->stride, entry,
				ql->stride);
	if (err)
		return err;
	err = adbg_target_write(t, q->addr + ql->first + 4, &next, 4);
	if (err)
		return err;
	if (ql->kind == ADBG_PENDING_313) {
		int32_t np = q->npending + 1;
		uint64_t eb;

		err = adbg_target_write(t, q->addr + ql->header, &np, 4);
		if (!err)
			err = adbg_read_u64(t, q->eb_addr, &eb);
		if (!err) {
			eb |= 1u << 2; // _PY_CALLS_TO_DO_BIT
			err = adbg_target_write(t, q->eb_addr, &eb, 8);
		}
	} else {
		uint32_t one = 1;

		err = adbg_target_write(t, q->addr + ql->header + 8, &one, 4); // calls_to_do
		// COMPUTE_EVAL_BREAKER would set it to 1 from the main thread; take_gil
		// recomputes it on the main thread anyway if another thread clears it.
		if (!err)
			err = adbg_target_write(t, q->eb_addr, &one, 4);
	}
	if (!err)
		r->index = i;
	return err;
}

/* Withdraw our call if it is still the last one queued (target frozen). */
static bool withdraw_call(struct adbg_session *s, struct pending_request *r)
{
	struct pending_queue now;
	const struct adbg_pending_calls_layout *ql = r->q.ql;
	int32_t n = ql->ncalls;
	uint64_t entry[2];

	if (!adbg_ok(read_queue(s->target, r->q.ql, r->q.addr, &now)) || now.busy)
		return false;
	if ((r->index + 1) % n != now.last || now.npending == 0)
		return false;
	if (!adbg_ok(adbg_target_read(s->target,
				      r->q.addr + ql->calls + (uint64_t)r->index * ql->stride,
				      entry, sizeof(entry))) ||
	    entry[0] != r->func || entry[1] != r->arg)
		return false;
	if (!adbg_ok(adbg_target_write(s->target, r->q.addr + ql->first + 4, &r->index, 4)))
		return false;
	if (ql->kind == ADBG_PENDING_313) {
		int32_t np = now.npending - 1;

		adbg_error_destroy(adbg_target_write(s->target, r->q.addr + ql->header, &np, 4));
	} else if (now.npending == 1) {
		uint32_t zero = 0;

		adbg_error_destroy(
			adbg_target_write(s->target, r->q.addr + ql->header + 8, &zero, 4));
	}
	return true;
}

static bool is_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool is_ld_so(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, "ld-", 3) == 0;
}

/*
 * Whether the len bytes at addr (buf holds up to have of them) are free for our bootstrap:
 * all zero, or the bootstrap of an aiodbg session that is over (its directory is gone)
 * whose call has left the queue: it ran, and PyRun_SimpleString copies its source before
 * parsing (Parser/tokenizer.c, translate_newlines), so nobody reads those bytes again.
 * This is what keeps failed or killed loads from using up the slack one by one.
 */
static bool scratch_free(struct adbg_session *s, struct pending_request *r, uint64_t addr,
			 const unsigned char *buf, size_t have, size_t len)
{
	const char *text = (const char *)buf, *open_at, *end;
	const char *nul = memchr(buf, 0, have);
	char dir[64];
	size_t k;

	if (is_zero(buf, len)) {
		r->stale_len = 0;
		return true;
	}
	if (!nul || strncmp(text, BOOT_PREFIX, strlen(BOOT_PREFIX)) != 0 || !r->ch)
		return false;
	k = (size_t)(nul - text);
	if (k < len && !is_zero(buf + k, len - k))
		return false;
	open_at = strstr(text, "open('");
	end = open_at ? strstr(open_at, "/a.py'") : NULL;
	if (!end || (size_t)(end - open_at - 6) >= sizeof(dir))
		return false;
	memcpy(dir, open_at + 6, (size_t)(end - open_at - 6));
	dir[end - open_at - 6] = 0;
	if (adbg_channel_dir_exists(r->ch, dir) || call_queued(s->target, &r->q, addr))
		return false;
	r->stale_len = k + 1;
	return true;
}

/* Slack after the writable segment of the file mapped by m, if len bytes of it are free. */
static bool file_slack(struct adbg_session *s, struct pending_request *r,
		       const struct adbg_mapping *m, size_t len, uint64_t *ret)
{
	struct adbg_target *t = s->target;
	struct adbg_elf *elf = NULL;
	struct adbg_error *err;
	uint64_t base, bias;
	bool found = false;
	int fd;

	err = adbg_target_open_file(t, m, &fd);
	if (err) {
		adbg_error_destroy(err);
		return false;
	}
	err = adbg_elf_open_fd(fd, m->path, &elf);
	close(fd);
	if (!err)
		err = adbg_elf_link_base(elf, &base);
	if (err) {
		adbg_error_destroy(err);
		adbg_elf_destroy(elf);
		return false;
	}
	bias = m->start - m->offset - base;
	for (size_t i = 0; i < adbg_elf_phnum(elf) && !found; i++) {
		const Elf64_Phdr *ph = adbg_elf_phdr(elf, i);
		const struct adbg_mapping *wm;
		uint64_t end, start, page_end;
		unsigned char buf[256];
		size_t have;

		if (!ph || ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || !ph->p_memsz)
			continue;
		end = bias + ph->p_vaddr + ph->p_memsz;
		start = (end + 15) & ~(uint64_t)15;
		page_end = (end + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		if (start >= page_end || page_end - start < len + 16 || len > sizeof(buf))
			continue;
		// Leave 16 bytes of margin at the start; the bytes must be private, writable
		// memory of this very mapping and unused (zero, or a finished bootstrap).
		start += 16;
		wm = adbg_target_find_mapping(t, start);
		if (!wm || wm->end < page_end || wm->perms[1] != 'w' || wm->perms[3] != 'p')
			continue;
		have = page_end - start < sizeof(buf) ? (size_t)(page_end - start) : sizeof(buf);
		if (adbg_ok(adbg_target_read(t, start, buf, have)) &&
		    scratch_free(s, r, start, buf, have, len)) {
			*ret = start;
			found = true;
		}
	}
	adbg_elf_destroy(elf);
	return found;
}

/* Find len unused bytes of writable target memory (target frozen); see the design. */
static ADBG_MUST_CHECK struct adbg_error *
find_scratch(struct adbg_session *s, struct pending_request *r, size_t len, uint64_t *ret)
{
	struct adbg_target *t = s->target;
	const char *seen[MAX_SCRATCH_FILES];
	size_t nseen = 0;

	// Pass 0: the file holding _PyRuntime; 1: other python files; 2: any other file.
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < t->nmaps && nseen < MAX_SCRATCH_FILES; i++) {
			const struct adbg_mapping *m = &t->maps[i];
			bool dup = false, py;

			if (!m->path || is_ld_so(m->path))
				continue;
			py = strstr(m->path, "python") != NULL;
			if ((pass == 0 &&
			     (!s->python->binary || strcmp(m->path, s->python->binary))) ||
			    (pass == 1 && !py) || (pass == 2 && py))
				continue;
			for (size_t j = 0; j < nseen && !dup; j++)
				dup = strcmp(seen[j], m->path) == 0;
			if (dup)
				continue;
			seen[nseen++] = m->path;
			if (file_slack(s, r, m, len, ret))
				return NULL;
		}
	}
	return adbg_error_create(ADBG_ERR_UNSUPPORTED,
				 "found no unused writable memory in process %d for the agent's "
				 "bootstrap",
				 t->pid);
}

/* Zero the bootstrap's bytes if they still hold ours (target frozen). */
static void zero_scratch(struct adbg_target *t, const struct pending_request *r)
{
	char now[256], zeros[256] = {0};

	if (!r->scratch || r->scratch_len > sizeof(now) ||
	    !adbg_ok(adbg_target_read(t, r->scratch, now, r->scratch_len)) ||
	    memcmp(now, r->boot, r->scratch_len) != 0)
		return;
	adbg_error_destroy(adbg_target_write(t, r->scratch, zeros, r->scratch_len));
}

/*
 * After a load that failed: give the bootstrap's bytes back unless the call may still
 * read them. Withdrawn (still the last queued): zero them. Gone from the queue: it ran
 * (its agent found no channel, or failed); PyRun_SimpleString copies the source right
 * after popping it, so we look again RECLAIM_GAP_US later — a main thread caught between
 * the pop and the copy (microseconds, holding the GIL) has copied by then — and zero them.
 * Still queued behind another call: the bytes stay until it runs; the next load reuses
 * them (scratch_free). Nothing accumulates either way.
 */
static bool release_scratch(struct adbg_session *s, struct pending_request *r)
{
	bool queued = true;

	if (!r->scratch)
		return false;
	if (adbg_ok(adbg_session_snapshot_begin(s))) {
		if (withdraw_call(s, r))
			zero_scratch(s->target, r);
		else
			queued = call_queued(s->target, &r->q, r->scratch);
	}
	adbg_session_snapshot_end(s);
	if (queued)
		return false;
	usleep(RECLAIM_GAP_US);
	if (adbg_ok(adbg_session_snapshot_begin(s)) && !call_queued(s->target, &r->q, r->scratch))
		zero_scratch(s->target, r);
	adbg_session_snapshot_end(s);
	return true;
}

static ADBG_MUST_CHECK struct adbg_error *queue_pending(struct adbg_session *s, const char *path,
							struct pending_request *r)
{
	struct adbg_target *t = s->target;
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_runtime_snapshot snap;
	const struct adbg_pythread *main;
	struct adbg_error *err;
	uint64_t finalizing;
	char *boot;
	int n;

	err = adbg_python_symbol(t, "PyRun_SimpleString", &r->func);
	if (err)
		return adbg_error_wrap(err, "finding PyRun_SimpleString");
	// try/except: PyRun_SimpleString must return 0, or the interrupted frame would get
	// a SystemError (reference §6.3). PyRun_SimpleString runs in __main__'s globals,
	// where the program may have shadowed any name (`from os import *` replaces open):
	// the only name looked up there is __import__ (no `import *` exports a dunder), and
	// the rest runs in a fresh dict whose builtins are the real ones. It binds no name in
	// __main__ (no __warningregistry__ either: nothing warns) and closes the file.
	// Unbuffered (a FileIO): on free-threaded 3.13 a BufferedReader's close() flushes
	// under a second critical section on itself, and PyMutex_Lock spins on that lock,
	// which this thread holds, with 40 sched_yield() calls before it parks; beside busy
	// threads each yield gives the CPU away for a whole round of the run queue (25
	// spinning threads on 2 cores: 40 yields took 0.5-1 s, and stalled the agent's
	// thread on a lock the spinning thread held).
	n = asprintf(&boot,
		     BOOT_PREFIX
		     "\"with open('%s','rb',0)as f:exec(compile(f.read(),f.name,'exec'),"
		     "{'__name__':'__aiodbg__'})\",{})\nexcept BaseException:pass\n",
		     path);
	if (n < 0)
		return &adbg_error_nomem;
	if ((size_t)n + 1 > sizeof(r->boot)) {
		free(boot);
		return adbg_error_create(ADBG_ERR_UNSUPPORTED, "agent path %s is too long", path);
	}
	memcpy(r->boot, boot, (size_t)n + 1);
	r->scratch_len = (size_t)n + 1;

	for (int attempt = 0;; attempt++) {
		err = adbg_session_snapshot_begin(s);
		if (!err)
			err = adbg_read_u64(t,
					    s->python->runtime_addr + l->runtime_state.finalizing,
					    &finalizing);
		if (!err && finalizing)
			err = adbg_error_create(ADBG_ERR_UNSUPPORTED,
						"process %d is shutting down Python", t->pid);
		if (!err)
			err = find_thread(s, 0, 0, &snap, &main);
		if (err)
			break;
		err = locate_queue(s, main, &r->q);
		adbg_runtime_snapshot_deinit(&snap);
		if (err)
			break;
		if (!r->q.busy && !r->q.full)
			break;
		adbg_session_snapshot_end(s);
		if (attempt == LOCK_RETRIES) {
			free(boot);
			return adbg_error_create(ADBG_ERR_TIMEOUT,
						 "process %d's pending-call queue stayed %s",
						 t->pid, r->q.full ? "full" : "locked");
		}
		usleep(LOCK_RETRY_US);
	}
	if (!err)
		err = find_scratch(s, r, r->scratch_len, &r->scratch);
	if (!err)
		err = adbg_target_write(t, r->scratch, boot, r->scratch_len);
	if (!err && r->stale_len > r->scratch_len) {
		// The rest of a longer old bootstrap: zero, so the region reads as ours alone.
		char zeros[256] = {0};

		err = adbg_target_write(t, r->scratch + r->scratch_len, zeros,
					r->stale_len - r->scratch_len);
	}
	if (!err) {
		r->arg = r->scratch;
		err = push_call(t, r);
	}
	adbg_session_snapshot_end(s);
	free(boot);
	return err;
}

/* -- the whole sequence -------------------------------------------------------------- */

/* Whether process pid is gone or a zombie (it exited; its parent has not reaped it). */
static bool process_exited(int pid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* "/tmp/aiodbg-XXXXXX" when file is an agent file ("/tmp/aiodbg-XXXXXX/a.py"), else NULL. */
static bool agent_file_dir(const char *file, char *dir, size_t size)
{
	const char *a = file ? strstr(file, "/aiodbg-") : NULL;
	size_t n;

	if (!a || strlen(a) != strlen("/aiodbg-XXXXXX/a.py") || strcmp(a + 14, "/a.py") != 0)
		return false;
	n = (size_t)(a - file) + 14;
	if (n >= size)
		return false;
	memcpy(dir, file, n);
	dir[n] = 0;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The agent directory when thread tid is in another agent's wait for requests (frozen). */
static bool in_agent_wait(struct adbg_session *s, int tid, char *dir, size_t size)
{
	struct adbg_runtime_snapshot snap;
	const struct adbg_pythread *th;
	struct adbg_error *err = find_thread(s, tid, ADBG_RT_STACKS, &snap, &th);
	bool found = false;

	if (err) {
		// No such thread (yet): the wait will say what happens.
		adbg_error_destroy(err);
		return false;
	}
	// _Mailbox.get under _Agent.next_request (agent.py): the paused loop's wait.
	for (size_t i = 0; i < th->stack.n && i < 2 && !found; i++) {
		const struct adbg_frame *f = &th->stack.frames[i];

		found = agent_file_dir(f->file, dir, size) && strstr(f->function, "next_request");
	}
	adbg_runtime_snapshot_deinit(&snap);
	return found;
}

/*
 * Before queueing: refuse at once what cannot work. The loop's thread (tid; 0: main)
 * waiting for requests in another session's agent (agent.py, _Agent.next_request in its
 * /tmp/aiodbg-XXXXXX/a.py): that loop is paused by another aiodbg and runs nothing until
 * that session continues it or goes away.
 */
static ADBG_MUST_CHECK struct adbg_error *check_other_session(struct adbg_session *s, int tid)
{
	char dir[64];

	// Seen twice, OTHER_SESSION_GAP_US apart (thawed between): a loop that was just
	// continued passes through that wait on its way out, a paused one stays in it.
	for (int look = 0; look < 2; look++) {
		struct adbg_error *err = adbg_session_snapshot_begin(s);
		bool found = !err && in_agent_wait(s, tid, dir, sizeof(dir));

		adbg_session_snapshot_end(s);
		if (err)
			return err;
		if (!found)
			return NULL;
		if (!look)
			usleep(OTHER_SESSION_GAP_US);
	}
	return adbg_error_create(ADBG_ERR_UNSUPPORTED,
				 "the loop is paused by another aiodbg session (its agent in %s); "
				 "continue it there, or end that session",
				 dir);
}

/*
 * 3.11-3.13, while waiting: the main thread (the only one that runs pending calls) blocked
 * in threading (Thread.join, a lock, a condition) with the GIL released runs no bytecode,
 * so it will not load the agent until whatever it waits for happens. Said once it has
 * lasted a second, instead of a timeout that blames a safe point.
 */
static ADBG_MUST_CHECK struct adbg_error *check_main_blocked(struct adbg_session *s)
{
	struct adbg_runtime_snapshot snap;
	const struct adbg_pythread *th;
	struct adbg_error *err;

	err = adbg_session_snapshot_begin(s);
	if (!err)
		err = find_thread(s, 0, ADBG_RT_STACKS, &snap, &th);
	if (err) {
		adbg_session_snapshot_end(s);
		adbg_error_destroy(err);
		return NULL;
	}
	// A free-threaded build without a GIL (ADBG_GIL_NONE) counts too: a main thread that
	// ran bytecode would have reached its eval breaker within the second waited.
	if (th->stack.n && th->gil != ADBG_GIL_HELD &&
	    ends_with(th->stack.frames[0].file, "/threading.py")) {
		const struct adbg_frame *f = &th->stack.frames[0];

		// Name the call the program made (Thread.join), not threading's helper
		// inside it (_wait_for_tstate_lock): the outermost of the threading frames.
		for (size_t i = 1;
		     i < th->stack.n && ends_with(th->stack.frames[i].file, "/threading.py"); i++)
			f = &th->stack.frames[i];

		err = adbg_error_create(
			ADBG_ERR_UNSUPPORTED,
			"the main thread is blocked in %s() (%s:%d) with the GIL released; on "
			"Python %s the agent can only be loaded by the main thread between two "
			"bytecodes (a pending call), so live control is unavailable until that "
			"wait ends (Python 3.14+ loads it on the loop's own thread; the read-only "
			"commands still work)",
			f->function, f->file, f->line, s->python->version_str);
	}
	adbg_runtime_snapshot_deinit(&snap);
	adbg_session_snapshot_end(s);
	return err;
}

static ADBG_MUST_CHECK struct adbg_error *wait_agent(struct adbg_session *s,
						     struct adbg_channel *ch,
						     const struct adbg_inject_opts *o, int tid,
						     bool pending)
{
	uint64_t start = adbg_now_ns(), last_wake = start, last_progress = start;
	uint64_t deadline =
		start + (uint64_t)(o->timeout_ms > 0 ? o->timeout_ms : 10000) * 1000000u;
	int impostors = 0;

	for (;;) {
		struct adbg_error *err = adbg_channel_accept(ch, 50, o->interrupted, NULL);
		uint64_t now = adbg_now_ns();

		if (adbg_error_is(err, ADBG_ERR_PERMISSION) && impostors++ < 100) {
			// Someone else connected (its connection is closed): keep waiting for ours.
			adbg_error_destroy(err);
			err = adbg_error_create(ADBG_ERR_TIMEOUT, "impostor");
		}
		if (!err || err->code != ADBG_ERR_TIMEOUT)
			return err;
		adbg_error_destroy(err);
		if (process_exited(s->target->pid))
			return adbg_error_create(ADBG_ERR_GONE, "process %d exited",
						 s->target->pid);
		if (now >= deadline) {
			char *where = NULL;
			struct adbg_error *derr = adbg_inject_describe_thread(s, tid, &where);

			adbg_error_destroy(derr);
			err = adbg_error_create(
				ADBG_ERR_TIMEOUT,
				"the agent was not loaded within %.1f s: the thread "
				"never reached a safe point%s%s",
				(double)(now - start) / 1e9, where ? "; " : "", where ? where : "");
			free(where);
			return err;
		}
		if (o->wake_loop && now - last_wake >= REWAKE_MS * 1000000ull) {
			adbg_error_destroy(adbg_inject_wake_loop(s, o->wake_loop));
			last_wake = now;
		}
		if (now - last_progress >= PROGRESS_MS * 1000000ull) {
			char *where = NULL, *msg = NULL;

			if (pending) {
				err = check_main_blocked(s);
				if (err)
					return err;
			}
			if (o->progress) {
				adbg_error_destroy(adbg_inject_describe_thread(s, tid, &where));
				if (asprintf(
					    &msg,
					    "waiting %.1f s for a safe point to load the agent: %s",
					    (double)(now - start) / 1e9, where ? where : "?") >= 0)
					o->progress(o->progress_arg, msg);
			}
			free(msg);
			free(where);
			last_progress = now;
		}
	}
}

struct adbg_error *adbg_inject_agent(struct adbg_session *s, const struct adbg_inject_opts *o,
				     struct adbg_channel **ret)
{
	const struct adbg_layout *l = &s->python->layout;
	struct pep768_request pep = {0};
	struct pending_request pc = {0};
	struct adbg_channel *ch = NULL;
	struct adbg_error *err, *werr;
	bool use_pep768 = l->debugger_support.remote_debugger_support != ADBG_NO_FIELD;
	int tid = use_pep768 ? o->tid : 0;
	char *path = NULL;

	if (s->target->kind != ADBG_TARGET_PROCESS)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED, "live control needs a live process");
	err = adbg_target_refresh(s->target);
	if (!err)
		err = check_other_session(s, o->tid);
	if (!err)
		err = adbg_channel_create(s->target->pid, &ch);
	if (!err)
		err = write_agent(ch, o, &path);
	if (err)
		goto fail;

	if (use_pep768) {
		err = adbg_session_snapshot_begin(s);
		if (!err)
			err = queue_pep768(s, tid, path, &pep);
		adbg_session_snapshot_end(s);
	} else {
		pc.ch = ch;
		err = queue_pending(s, path, &pc);
	}
	if (err) {
		(void)release_scratch(s, &pc);
		goto fail;
	}
	if (o->wake_loop) {
		werr = adbg_inject_wake_loop(s, o->wake_loop);
		adbg_error_destroy(werr);
	}
	err = wait_agent(s, ch, o, tid, !use_pep768);
	if (err) {
		// Withdraw what the thread has not taken yet, with everything stopped; give
		// back the bootstrap's bytes (release_scratch).
		bool ran = false;

		if (use_pep768) {
			if (adbg_ok(adbg_session_snapshot_begin(s)))
				ran = withdraw_pep768(s, &pep);
			adbg_session_snapshot_end(s);
		} else if (!process_exited(s->target->pid)) {
			ran = release_scratch(s, &pc);
		}
		if (ran && err->code == ADBG_ERR_TIMEOUT) {
			// Not a safe point missed: the interpreter ran our loader, and no agent
			// came of it.
			adbg_error_destroy(err);
			err = adbg_error_create(
				ADBG_ERR_TIMEOUT,
				"the interpreter ran the agent's loader but no agent "
				"connected in time: the program refused to open or "
				"run it (an audit hook, a sandbox) or its thread did "
				"not get to run");
		}
		goto fail;
	}
	// Connected: PyRun_SimpleString has compiled the bootstrap, nobody reads it again.
	if (pc.scratch) {
		if (adbg_ok(adbg_session_snapshot_begin(s)))
			zero_scratch(s->target, &pc);
		adbg_session_snapshot_end(s);
	}
	adbg_channel_remove_dir(ch);
	free(path);
	*ret = ch;
	return NULL;

fail:
	free(path);
	adbg_channel_destroy(ch);
	if (err->code != ADBG_ERR_GONE && err->code != ADBG_ERR_INTERRUPTED &&
	    process_exited(s->target->pid)) {
		// Whatever failed (a read, the scratch search, the wait) failed because of that.
		adbg_error_destroy(err);
		err = adbg_error_create(ADBG_ERR_GONE, "process %d exited", s->target->pid);
	}
	return adbg_error_wrap(err, "loading the agent into process %d", s->target->pid);
}
