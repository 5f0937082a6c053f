// SPDX-License-Identifier: MIT
// The live-process target: process_vm_readv reads, /proc/PID/maps, and a freeze of every
// thread (PTRACE_SEIZE + PTRACE_INTERRUPT) for the length of one snapshot.
//
// Never leaving a target stopped rests on two facts: thaw detaches every thread on every
// path of our own, and when the debugger dies for any reason (SIGKILL included) the kernel
// detaches its tracees and resumes them (kernel/ptrace.c: exit_ptrace). SEIZE, unlike
// ATTACH, sends no SIGSTOP, so a tracee that is resumed that way is not left in group-stop.
#include "target.h"

#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

// Caps on what /proc may tell us; a real process is far below them.
#define MAX_THREADS 65536
#define MAX_MAPS (1u << 20)
// A thread that does not report its interrupt stop within this time is left running and
// the snapshot is marked as not coherent for it (it is, e.g., in uninterruptible sleep).
#define STOP_TIMEOUT_NS (2000ull * 1000 * 1000)
// Polling for a thread's stop without sleeping for this long first (wait_stopped).
#define SPIN_NS (200ull * 1000)
// Passes of "list the threads, stop the new ones" before a freeze gives up (see live_freeze).
#define MAX_FREEZE_PASSES 8

struct live_impl {
	char proc[64];
	// tids we seized and must detach (subset of the thread list).
	int *seized;
	size_t nseized;
	// signal a thread reported while we stopped it, to hand back on detach.
	int *pending_sig;
	// set: another tracer owns the process and stops/resumes it (no ptrace of ours).
	bool controlled;
	struct adbg_target_control ctl;
};

static const char ptrace_advice[] =
	"run as root, or give aiodbg CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep), or allow "
	"tracing with 'sysctl kernel.yama.ptrace_scope=0'; in a container, start it with "
	"--cap-add SYS_PTRACE";

/* What /proc/PID[/task/TID]/status says about a thread; false when it is gone. */
struct proc_status {
	char state; // 'R', 'S', 'D', 'T', 't', 'Z', 'X', ...; '?' when not said
	int tracer; // TracerPid, 0 when none
	long uid; // effective uid, -1 when not said
};

static bool read_proc_status(const char *path, struct proc_status *ret)
{
	struct proc_status st = {.state = '?', .tracer = 0, .uid = -1};
	char line[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		long r, e;

		if (sscanf(line, "State: %c", &st.state) == 1)
			continue;
		if (sscanf(line, "TracerPid: %d", &st.tracer) == 1)
			continue;
		if (sscanf(line, "Uid: %ld %ld", &r, &e) == 2)
			st.uid = e;
	}
	fclose(f);
	*ret = st;
	return true;
}

static bool thread_status(int pid, int tid, struct proc_status *ret)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	return read_proc_status(path, ret);
}

/* A thread that has exited, or is exiting past the point of running code (zombie, dead). */
static bool thread_gone(int pid, int tid)
{
	struct proc_status st;

	return !thread_status(pid, tid, &st) || st.state == 'Z' || st.state == 'X';
}

/*
 * Whether the whole process has exited (a zombie its parent has not reaped): every thread
 * listed is gone. A leader that called pthread_exit is a zombie too, while its other
 * threads run on.
 */
static bool process_exited(int pid)
{
	char path[64];
	struct dirent *de;
	bool exited = true;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return true;
	while (exited && (de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]) && !thread_gone(pid, atoi(de->d_name)))
			exited = false;
	closedir(d);
	return exited;
}

static ADBG_MUST_CHECK struct adbg_error *exited_error(int pid)
{
	return adbg_error_create(ADBG_ERR_GONE,
				 "process %d has exited (its parent has not reaped it yet)", pid);
}

/*
 * The advice for a permission failure, from what this machine says: Yama's ptrace_scope
 * (Documentation/admin-guide/LSM/Yama.rst), who we are and who owns the target.
 */
static void permission_advice(int pid, char *buf, size_t len)
{
	struct proc_status st = {.uid = -1};
	char path[64];
	int scope = -1;
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");

	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = -1;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	read_proc_status(path, &st);
	if (scope == 3)
		snprintf(buf, len,
			 "ptrace is disabled on this machine "
			 "(kernel.yama.ptrace_scope = 3, which only a reboot lifts)");
	else if (geteuid() == 0)
		snprintf(buf, len,
			 "aiodbg runs as root but may not trace it: it lacks "
			 "CAP_SYS_PTRACE (in a container, start it with --cap-add SYS_PTRACE), "
			 "or a security module (SELinux, AppArmor, seccomp) forbids it");
	else if (st.uid >= 0 && st.uid != (long)geteuid())
		snprintf(buf, len, "it belongs to uid %ld and aiodbg runs as uid %u; %s", st.uid,
			 (unsigned)geteuid(), ptrace_advice);
	else if (scope == 1 || scope == 2)
		snprintf(buf, len, "kernel.yama.ptrace_scope is %d (%s); %s", scope,
			 scope == 1 ? "only a parent may trace its children"
				    : "only CAP_SYS_PTRACE may trace",
			 ptrace_advice);
	else
		snprintf(buf, len,
			 "it may be non-dumpable (setuid, or prctl(PR_SET_DUMPABLE, 0)); "
			 "%s",
			 ptrace_advice);
}

static ADBG_MUST_CHECK struct adbg_error *perm_error(int pid, int errnum, const char *what)
{
	struct adbg_error *err;
	char advice[512];

	permission_advice(pid, advice, sizeof(advice));
	err = adbg_error_create(ADBG_ERR_PERMISSION, "cannot %s process %d: %s; %s", what, pid,
				strerror(errnum), advice);
	if (err != &adbg_error_nomem)
		err->errnum = errnum;
	return err;
}

/* The name of process pid (its comm), "?" when it cannot be read. */
static void process_name(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	snprintf(buf, len, "?");
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/*
 * PTRACE_SEIZE of thread tid failed with EPERM/EACCES. The kernel says EPERM for four
 * different things (kernel/ptrace.c: ptrace_attach): the thread is exiting (exit_state),
 * another tracer has it, we may not trace it, or it is one of ours. Tell them apart from
 * /proc. *skip_ret: the thread has exited, which is no obstacle to a snapshot (it runs no
 * more code); anything else is an error. A tracer that is another aiodbg taking its own
 * snapshot lets go within milliseconds: that error is marked transient.
 */
static ADBG_MUST_CHECK struct adbg_error *seize_failed(struct adbg_target *t, int tid, int errnum,
						       bool *skip_ret)
{
	struct proc_status st;
	char name[64];

	*skip_ret = false;
	if (thread_gone(t->pid, tid)) {
		if (tid != t->pid || !process_exited(t->pid)) {
			*skip_ret = true;
			return NULL;
		}
		return exited_error(t->pid);
	}
	if (thread_status(t->pid, tid, &st) && st.tracer && st.tracer != getpid()) {
		process_name(st.tracer, name, sizeof(name));
		if (strncmp(name, "aiodbg", 6) == 0) {
			t->freeze_transient = true;
			return adbg_error_create(
				ADBG_ERR_PERMISSION,
				"process %d is being read by another aiodbg (pid %d)", t->pid,
				st.tracer);
		}
		return adbg_error_create(ADBG_ERR_PERMISSION,
					 "process %d is traced by %s (pid %d); detach it first "
					 "(only one tracer can stop a process)",
					 t->pid, name, st.tracer);
	}
	return perm_error(t->pid, errnum, "stop");
}

static ADBG_MUST_CHECK struct adbg_error *live_read(struct adbg_target *t, uint64_t addr, void *buf,
						    size_t len)
{
	size_t done = 0;

	// process_vm_readv may return fewer bytes than asked (it stops at the first
	// unreadable page); retry from where it stopped so the error names that page.
	while (done < len) {
		struct iovec local = {(char *)buf + done, len - done};
		struct iovec remote = {(void *)(uintptr_t)(addr + done), len - done};
		ssize_t n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ESRCH)
			return adbg_error_create(ADBG_ERR_GONE, "process %d has exited", t->pid);
		if (n < 0 && (errno == EPERM || errno == EACCES))
			return perm_error(t->pid, errno, "read the memory of");
		return adbg_error_fault(addr + done, "address %#" PRIx64 " not readable",
					addr + done);
	}
	return NULL;
}

static size_t live_read_some(struct adbg_target *t, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len};
	struct iovec remote = {(void *)(uintptr_t)addr, len};
	ssize_t n;

	do
		n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);
	while (n < 0 && errno == EINTR);
	return n > 0 ? (size_t)n : 0;
}

static ADBG_MUST_CHECK struct adbg_error *live_write(struct adbg_target *t, uint64_t addr,
						     const void *buf, size_t len)
{
	struct live_impl *li = t->impl;
	char path[96];
	ssize_t n;
	int fd;

	if (li->controlled && li->ctl.write)
		return li->ctl.write(li->ctl.arg, addr, buf, len);
	// /proc/PID/mem writes work on read-only pages too, with ptrace permission; live
	// control writes only a few bytes, so one syscall path is enough.
	snprintf(path, sizeof(path), "%s/mem", li->proc);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES || errno == EPERM ? perm_error(t->pid, errno, "write to")
							 : adbg_error_os(errno, "%s", path);
	n = pwrite(fd, buf, len, (off_t)addr);
	close(fd);
	if (n != (ssize_t)len)
		return adbg_error_fault(addr, "writing %zu bytes at %#" PRIx64 " failed", len,
					addr);
	return NULL;
}

static int cmp_mapping(const void *a, const void *b)
{
	const struct adbg_mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static ADBG_MUST_CHECK struct adbg_error *read_maps(struct adbg_target *t)
{
	struct live_impl *li = t->impl;
	struct adbg_mapping *maps = NULL;
	size_t n = 0, cap = 0;
	char path[96], *line = NULL;
	size_t linecap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/maps", li->proc);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return adbg_error_create(ADBG_ERR_GONE, "process %d has exited", t->pid);
		if (errno == EACCES || errno == EPERM)
			return perm_error(t->pid, errno, "read the mappings of");
		return adbg_error_os(errno, "%s", path);
	}
	while (getline(&line, &linecap, f) > 0) {
		struct adbg_mapping m = {0};
		unsigned long long start, end, off, inode;
		char perms[8];
		int pathpos = 0;
		char *p;

		if (sscanf(line, "%llx-%llx %7s %llx %*x:%*x %llu %n", &start, &end, perms, &off,
			   &inode, &pathpos) < 5)
			continue;
		if (n == MAX_MAPS)
			break;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct adbg_mapping *nm = realloc(maps, ncap * sizeof(*nm));

			if (!nm)
				goto nomem;
			maps = nm;
			cap = ncap;
		}
		m.start = start;
		m.end = end;
		m.offset = off;
		m.inode = inode;
		memcpy(m.perms, perms, 4);
		p = line + pathpos;
		p[strcspn(p, "\n")] = '\0';
		// Only real files: anonymous memory and [heap]/[stack]/[vdso] have no file.
		if (p[0] == '/') {
			m.path = strdup(p);
			if (!m.path)
				goto nomem;
		}
		maps[n++] = m;
	}
	free(line);
	fclose(f);
	if (!n) {
		free(maps);
		return adbg_error_create(ADBG_ERR_GONE,
					 "process %d has exited (it has no mappings)", t->pid);
	}
	qsort(maps, n, sizeof(*maps), cmp_mapping);
	adbg_target_free_maps(t);
	t->maps = maps;
	t->nmaps = n;
	return NULL;

nomem:
	free(line);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		free(maps[i].path);
	free(maps);
	return &adbg_error_nomem;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* The thread ids under /proc/PID/task, sorted, the main thread (tid == pid) first. */
static ADBG_MUST_CHECK struct adbg_error *list_tids(struct adbg_target *t, int **ret, size_t *nret)
{
	struct live_impl *li = t->impl;
	char path[96];
	struct dirent *de;
	int *tids = NULL;
	size_t n = 0, cap = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/task", li->proc);
	d = opendir(path);
	if (!d)
		return errno == ENOENT
			       ? adbg_error_create(ADBG_ERR_GONE, "process %d has exited", t->pid)
			       : adbg_error_os(errno, "%s", path);
	while ((de = readdir(d)) && n < MAX_THREADS) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			int *nt = realloc(tids, ncap * sizeof(*nt));

			if (!nt) {
				free(tids);
				closedir(d);
				return &adbg_error_nomem;
			}
			tids = nt;
			cap = ncap;
		}
		tids[n++] = atoi(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(tids, n, sizeof(*tids), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (tids[i] == t->pid && i) {
			memmove(tids + 1, tids, i * sizeof(*tids));
			tids[0] = t->pid;
			break;
		}
	}
	*ret = tids;
	*nret = n;
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *read_threads(struct adbg_target *t)
{
	struct adbg_thread *threads;
	struct adbg_error *err;
	int *tids;
	size_t n;

	err = list_tids(t, &tids, &n);
	if (err)
		return err;
	threads = calloc(n ? n : 1, sizeof(*threads));
	if (!threads) {
		free(tids);
		return &adbg_error_nomem;
	}
	for (size_t i = 0; i < n; i++)
		threads[i].tid = tids[i];
	free(tids);
	free(t->threads);
	t->threads = threads;
	t->nthreads = n;
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *live_refresh(struct adbg_target *t)
{
	struct adbg_error *err = read_maps(t);

	return err ? err : read_threads(t);
}

static bool is_seized(const struct live_impl *li, int tid)
{
	for (size_t i = 0; i < li->nseized; i++)
		if (li->seized[i] == tid)
			return true;
	return false;
}

static int wait_stopped(int tid, int *sig_ret);

static void live_thaw(struct adbg_target *t)
{
	struct live_impl *li = t->impl;
	size_t kept = 0;

	if (li->controlled) {
		li->ctl.resume(li->ctl.arg);
		return;
	}
	for (size_t i = 0; i < li->nseized; i++) {
		int tid = li->seized[i], sig = li->pending_sig[i];

		// Detaching from an interrupt stop resumes the thread; a signal it reported
		// while we held it is handed back so the program does not lose it.
		if (ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)sig) == 0 || errno != ESRCH)
			continue;
		// ESRCH: gone, or still running because it did not reach its interrupt stop
		// during the freeze (e.g. in uninterruptible sleep). Such a thread stops as soon
		// as it can, and would then stay stopped for as long as we live: wait for that
		// stop and detach. If it still has not come, keep it and try again at the next
		// thaw and when the target is destroyed (our exit detaches it at the latest).
		if (wait_stopped(tid, &sig) == 0 &&
		    ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)sig) == 0)
			continue;
		if (kill(tid, 0) == 0 || errno != ESRCH) {
			li->seized[kept] = tid;
			li->pending_sig[kept] = sig;
			kept++;
		}
	}
	li->nseized = kept;
}

/*
 * Wait until tid reports a stop. Returns 0 when stopped (recording a signal to re-inject),
 * -1 when the thread is gone, 1 on timeout.
 */
static int wait_stopped(int tid, int *sig_ret)
{
	uint64_t start = adbg_now_ns(), deadline = start + STOP_TIMEOUT_NS, now;

	for (;;) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == tid) {
			if (WIFEXITED(status) || WIFSIGNALED(status))
				return -1;
			if (WIFSTOPPED(status)) {
				int sig = WSTOPSIG(status);

				// (status >> 16) == PTRACE_EVENT_STOP: our interrupt (or a
				// group stop); anything else is a signal-delivery stop, still
				// a stop, whose signal we must deliver later.
				if ((status >> 16) != PTRACE_EVENT_STOP && sig != SIGTRAP)
					*sig_ret = sig;
				return 0;
			}
			continue;
		}
		now = adbg_now_ns();
		if (now > deadline)
			return 1;
		// A thread stops within microseconds of its interrupt unless it is in the
		// kernel or descheduled: poll without sleeping at first (a sleep costs the
		// timer slack, 50 us, on every stop), then sleep between polls.
		if (now - start < SPIN_NS)
			sched_yield();
		else
			usleep(50);
	}
}

static ADBG_MUST_CHECK struct adbg_error *live_freeze(struct adbg_target *t)
{
	struct live_impl *li = t->impl;
	struct adbg_error *err = NULL;

	t->threads_not_stopped = 0;
	if (li->controlled) {
		err = li->ctl.stop(li->ctl.arg);
		return err ? err : read_threads(t);
	}
	// Threads may be created while we stop the others: list again until a pass finds
	// no new thread (capped, so a process spawning threads in a loop cannot hold us).
	for (int pass = 0;; pass++) {
		size_t before = li->nseized;
		int *tids;
		size_t n;

		err = list_tids(t, &tids, &n);
		if (err)
			break;
		// Interrupt every new thread first, then wait for each: the threads reach
		// their stops concurrently, so the target is stopped for one scheduling delay
		// rather than one per thread.
		for (size_t i = 0; i < n; i++) {
			int tid = tids[i];

			if (is_seized(li, tid))
				continue;
			if (li->nseized == MAX_THREADS)
				break;
			if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0) {
				bool skip = false;

				if (errno == ESRCH)
					continue; // exited meanwhile
				if (errno == EPERM || errno == EACCES)
					err = seize_failed(t, tid, errno, &skip);
				else
					err = adbg_error_os(errno, "PTRACE_SEIZE of thread %d",
							    tid);
				if (skip)
					continue; // exiting: it runs no more code
				break;
			}
			li->seized[li->nseized] = tid;
			li->pending_sig[li->nseized] = 0;
			li->nseized++;
			// A thread that is gone by now fails to detach harmlessly later.
			ptrace(PTRACE_INTERRUPT, tid, 0, 0);
		}
		for (size_t i = before; i < li->nseized; i++) {
			int sig = 0;

			if (wait_stopped(li->seized[i], &sig) > 0)
				t->threads_not_stopped++;
			li->pending_sig[i] = sig;
		}
		free(tids);
		if (err || li->nseized == before)
			break;
		// Still new threads after this many passes: the last ones run on, and may
		// change what we are about to read. Let go, and let the caller try again.
		if (pass + 1 == MAX_FREEZE_PASSES) {
			t->freeze_transient = true;
			err = adbg_error_create(ADBG_ERR_TIMEOUT,
						"the thread list of process %d kept changing "
						"while it was being stopped",
						t->pid);
			break;
		}
	}
	if (err) {
		live_thaw(t);
		return err;
	}
	// Registers of each stopped thread, for native unwinding.
	err = read_threads(t);
	if (err) {
		live_thaw(t);
		return err;
	}
	for (size_t i = 0; i < t->nthreads; i++) {
		struct adbg_thread *th = &t->threads[i];

		if (is_seized(li, th->tid) && ptrace(PTRACE_GETREGS, th->tid, 0, &th->regs) == 0)
			th->have_regs = true;
	}
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *live_open_file(struct adbg_target *t,
							 const struct adbg_mapping *m, int *ret)
{
	struct live_impl *li = t->impl;
	char path[PATH_MAX + 128];
	struct stat st;
	int fd;

	// 1. map_files names the very file mapped, whatever namespace the target is in.
	snprintf(path, sizeof(path), "%s/map_files/%" PRIx64 "-%" PRIx64, li->proc, m->start,
		 m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	// 2. the path inside the target's root (containers, chroots).
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s/root%s", li->proc, m->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && m->inode && fstat(fd, &st) == 0 && st.st_ino != m->inode) {
			close(fd);
			fd = -1;
		}
	}
	// 3. the path as we see it (a chroot seen from outside names host paths).
	if (fd < 0) {
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && m->inode && fstat(fd, &st) == 0 && st.st_ino != m->inode) {
			close(fd);
			fd = -1;
			errno = ESTALE;
		}
	}
	if (fd < 0)
		return adbg_error_os(errno, "cannot open %s, mapped by process %d", m->path,
				     t->pid);
	*ret = fd;
	return NULL;
}

static void live_destroy(struct adbg_target *t)
{
	struct live_impl *li = t->impl;

	if (!li)
		return;
	// A controlled process stays as its owner has it.
	if (!li->controlled)
		live_thaw(t);
	free(li->seized);
	free(li->pending_sig);
	free(li);
}

static const struct adbg_target_ops live_ops = {
	.read = live_read,
	.read_some = live_read_some,
	.read_some_threadsafe = true,
	.write = live_write,
	.freeze = live_freeze,
	.thaw = live_thaw,
	.refresh = live_refresh,
	.open_file = live_open_file,
	.destroy = live_destroy,
};

static char *read_small_file(const char *path, size_t max, size_t *len_ret)
{
	char *buf = malloc(max + 1);
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	n = read(fd, buf, max);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len_ret = (size_t)n;
	return buf;
}

int adbg_target_describe_process(struct adbg_target *t)
{
	char path[64], exe[PATH_MAX];
	size_t len;
	ssize_t n;
	char *cmd, *auxv;
	int saved = 0;

	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		t->executable = strdup(exe);
	} else {
		saved = errno;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", t->pid);
	cmd = read_small_file(path, 4096, &len);
	if (cmd) {
		for (size_t i = 0; i + 1 < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		t->cmdline = cmd;
	}
	// The vDSO (not a file: symbols.c reads its image from memory).
	snprintf(path, sizeof(path), "/proc/%d/auxv", t->pid);
	auxv = read_small_file(path, 4096, &len);
	if (!auxv || !adbg_auxv_get(auxv, len, AT_SYSINFO_EHDR, &t->vdso))
		t->vdso = 0;
	free(auxv);
	return saved;
}

static ADBG_MUST_CHECK struct adbg_error *attach(int pid, const struct adbg_target_control *ctl,
						 struct adbg_target **ret)
{
	struct adbg_target *t;
	struct live_impl *li;
	struct adbg_error *err;
	char path[96];
	struct stat st;
	int n;

	if (pid <= 0)
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "invalid pid %d", pid);
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st) < 0)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "no process with pid %d", pid);
	if (pid == getpid())
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "cannot debug aiodbg itself");
	if (process_exited(pid))
		return exited_error(pid);

	err = adbg_target_alloc(&live_ops, ADBG_TARGET_PROCESS, &t);
	if (err)
		return err;
	li = calloc(1, sizeof(*li));
	if (!li || !(li->seized = calloc(MAX_THREADS, sizeof(int))) ||
	    !(li->pending_sig = calloc(MAX_THREADS, sizeof(int)))) {
		if (li) {
			free(li->seized);
			free(li);
		}
		free(t);
		return &adbg_error_nomem;
	}
	snprintf(li->proc, sizeof(li->proc), "/proc/%d", pid);
	if (ctl) {
		li->controlled = true;
		li->ctl = *ctl;
	}
	t->impl = li;
	t->pid = pid;

	n = adbg_target_describe_process(t);
	if (n == EACCES || n == EPERM) {
		err = perm_error(pid, (int)n, "inspect");
		goto fail;
	}

	err = live_refresh(t);
	if (err)
		goto fail;
	// Prove we may read its memory now, so permission problems surface at attach
	// with advice rather than later as a puzzling fault.
	for (size_t i = 0; i < t->nmaps; i++) {
		unsigned char b;

		if (t->maps[i].perms[0] != 'r')
			continue;
		err = live_read(t, t->maps[i].start, &b, 1);
		if (!err)
			break;
		if (err->code == ADBG_ERR_PERMISSION || err->code == ADBG_ERR_GONE)
			goto fail;
		adbg_error_destroy(err);
		err = NULL;
	}
	// 256 blocks of 64 KiB: 16 MiB of address space, filled only as pages are read. One
	// process_vm_readv brings 16 pages, which a walk over objects allocated together (a
	// task, its coroutine, its frames) mostly uses.
	err = adbg_target_enable_cache(t, 16, 8);
	if (err)
		goto fail;
	*ret = t;
	return NULL;

fail:
	adbg_target_destroy(t);
	return err;
}

struct adbg_error *adbg_target_attach(int pid, const struct adbg_open_options *opts,
				      struct adbg_target **ret)
{
	(void)opts;
	return attach(pid, NULL, ret);
}

struct adbg_error *adbg_target_attach_controlled(int pid, const struct adbg_target_control *ctl,
						 struct adbg_target **ret)
{
	if (!ctl || !ctl->stop || !ctl->resume)
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "a controlled target needs stop "
							       "and resume");
	return attach(pid, ctl, ret);
}
