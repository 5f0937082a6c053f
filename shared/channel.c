// SPDX-License-Identifier: MIT
// The debugger <-> agent channel: a unix socket in a private directory inside the
// target's root, checked with SO_PEERCRED on both ends and a token (see channel.h).
//
// Who may do what (issue 14, the hijack): the target's user must be able to reach the
// socket and read the agent file, and must not be able to replace either. So the
// directory belongs to us (our euid), group the target's fsgid, mode 0710: the target can
// enter it but cannot create, rename or remove anything in it; the agent file is 0640 and
// the socket 0660, both ours, group the target's. The agent checks the peer of the socket
// it connected to (SO_PEERCRED: our pid and uid as its namespaces show them, passed in its
// config), we check the peer that connected to us (the target's pid) and its token.
//
// Containment: every path is resolved inside the target's root. The base directory (/tmp,
// /var/tmp, /dev/shm) is opened with openat2(RESOLVE_IN_ROOT) relative to /proc/PID/root,
// so a container whose /tmp is an absolute symlink gets our directory where the symlink
// points inside the container, never on the host. Every later operation goes through the
// descriptors (mkdirat, openat, fchownat, unlinkat, and bind through /proc/self/fd/N).
//
// Leftovers: a marker file "o" in the directory names the creating process (pid and start
// time) and the target ("PID START TARGET\n"). A debugger killed with SIGKILL cannot
// clean up; the next channel into the same root removes the aiodbg-* directories we own
// whose creator is gone.
//
// Liveness: once the agent is connected, a keepalive thread sends an empty line every
// second (one mutex serialises it with adbg_channel_send). The agent keeps a loop paused
// only while such bytes keep coming (agent.py, _Agent.next_request), counting only the time
// the target itself runs. So a debugger that is stopped (Ctrl-Z, SIGSTOP) stops renewing
// and the loop resumes a few seconds later; GDB holding the inferior stopped at its
// prompt stops the agent's clock too, so that is not mistaken for a dead debugger (the
// keepalive thread goes on in GDB's process and the bytes wait in the socket).
#include "channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "target.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

// A message longer than this is not something our agent sends.
#define MAX_MESSAGE (16u << 20)
// Wait in slices this long so an interrupt is seen quickly.
#define POLL_SLICE_MS 50
// The keepalive period; the agent's liveness lease (agent.py) is a few of these.
#define KEEPALIVE_MS 1000
// A marker-less directory of ours this old is a leftover (a creator killed between mkdir
// and writing the marker); younger ones may be another debugger's, being set up.
#define STALE_UNMARKED_S 60
// Entries looked at in one base directory when sweeping leftovers.
#define MAX_SWEEP_ENTRIES 4096

static const char *const bases[] = {"/tmp", "/var/tmp", "/dev/shm"};
// What a channel directory may hold (remove_dir removes exactly these).
static const char *const dir_files[] = {"s", "a.py", "o"};

struct adbg_channel {
	int pid;
	uid_t uid;
	gid_t gid;
	/** our pid and euid as the target's namespaces show them (what the agent checks). */
	long seen_pid, seen_uid;
	/** the target's root (O_PATH), the parent directory in it and ours, our name. */
	int root_fd, parent_fd, dir_fd;
	char name[32];
	/** "/tmp/aiodbg-XXXXXX" as the target sees it. */
	char target_dir[64];
	char sock_path[80];
	char token[33];
	int listen_fd, conn_fd;
	bool dir_removed;
	/** received bytes not yet returned as messages. */
	char *buf;
	size_t len, cap;
	/** serialises writes (and the closing of conn_fd) with the keepalive thread. */
	pthread_mutex_t wmu;
	pthread_cond_t kcv;
	bool keepalive_running, keepalive_stop;
	pthread_t keepalive;
};

/* The target's filesystem uid and gid (the fourth field of Uid:/Gid: in status). */
static ADBG_MUST_CHECK struct adbg_error *target_ids(int pid, uid_t *uid, gid_t *gid)
{
	char path[64], line[256];
	unsigned long r, e, s, f;
	int found = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fp = fopen(path, "re");
	if (!fp)
		return adbg_error_os(errno, "%s", path);
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "Uid: %lu %lu %lu %lu", &r, &e, &s, &f) == 4) {
			*uid = (uid_t)f;
			found |= 1;
		} else if (sscanf(line, "Gid: %lu %lu %lu %lu", &r, &e, &s, &f) == 4) {
			*gid = (gid_t)f;
			found |= 2;
		}
	}
	fclose(fp);
	if (found != 3)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "%s: no Uid/Gid lines", path);
	return NULL;
}

/* Whether namespace ns ("pid", "user") of pid is ours. */
static bool same_ns(int pid, const char *ns)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	if (stat(path, &a) < 0)
		return true; // no namespaces in this kernel: one of each
	snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	if (stat(path, &b) < 0)
		return true;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Our pid and euid as process pid sees them, which is what SO_PEERCRED tells the agent
 * (net/core/sock.c: cred_to_ucred translates into the reader's namespaces). A process
 * outside the reader's pid namespace is pid 0; a uid with no mapping in its user namespace
 * is the overflow uid.
 */
static void seen_ids(int pid, long *pid_ret, long *uid_ret)
{
	char path[64], line[256];
	long uid = geteuid();
	FILE *fp;

	*pid_ret = same_ns(pid, "pid") ? (long)getpid() : 0;
	if (same_ns(pid, "user")) {
		*uid_ret = uid;
		return;
	}
	*uid_ret = 65534;
	fp = fopen("/proc/sys/kernel/overflowuid", "re");
	if (fp) {
		if (!fgets(line, sizeof(line), fp) || sscanf(line, "%ld", uid_ret) != 1)
			*uid_ret = 65534;
		fclose(fp);
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	fp = fopen(path, "re");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		long inside, outside, count;

		if (sscanf(line, "%ld %ld %ld", &inside, &outside, &count) == 3 && uid >= outside &&
		    uid - outside < count) {
			*uid_ret = inside + (uid - outside);
			break;
		}
	}
	fclose(fp);
}

/* Field 22 of /proc/PID/stat (start time in clock ticks), 0 when unreadable. */
static unsigned long long start_time(long pid)
{
	char path[64], buf[1024];
	unsigned long long st = 0;
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	// The command name (field 2) may hold spaces and parentheses: start after the last ')'.
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p)
		sscanf(p, " %llu", &st);
	return st;
}

static bool is_channel_name(const char *name)
{
	if (strncmp(name, "aiodbg-", 7) != 0 || strlen(name) != 13)
		return false;
	for (int i = 7; i < 13; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9')))
			return false;
	return true;
}

/* Remove directory name in parent and the files a channel puts there. */
static void remove_channel_dir(int parent_fd, const char *name)
{
	int fd = openat(parent_fd, name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		for (size_t i = 0; i < sizeof(dir_files) / sizeof(dir_files[0]); i++)
			unlinkat(fd, dir_files[i], 0);
		close(fd);
	}
	unlinkat(parent_fd, name, AT_REMOVEDIR);
}

/*
 * Remove what killed debuggers left in parent: aiodbg-XXXXXX directories owned by our euid
 * whose marker names a process that is gone (or was replaced: another start time), or
 * that have no marker and are older than STALE_UNMARKED_S. Best effort, silent.
 */
static void sweep_leftovers(int parent_fd)
{
	int fd = openat(parent_fd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	size_t seen = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) && seen++ < MAX_SWEEP_ENTRIES) {
		char marker[128] = "";
		long cpid = 0;
		unsigned long long cstart = 0;
		struct stat st;
		bool stale;
		int dfd, mfd;
		ssize_t n;

		if (!is_channel_name(de->d_name))
			continue;
		if (fstatat(parent_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		dfd = openat(parent_fd, de->d_name,
			     O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		mfd = openat(dfd, "o", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		if (mfd >= 0) {
			n = read(mfd, marker, sizeof(marker) - 1);
			close(mfd);
			if (n > 0)
				marker[n] = 0;
		}
		if (sscanf(marker, "%ld %llu", &cpid, &cstart) == 2 && cpid > 0)
			stale = cpid != getpid() && start_time(cpid) != cstart;
		else
			stale = time(NULL) - st.st_mtime > STALE_UNMARKED_S;
		if (stale)
			remove_channel_dir(parent_fd, de->d_name);
	}
	closedir(d);
}

/* openat2(RESOLVE_IN_ROOT): path resolved as if root_fd were "/", magic links refused. */
static int open_in_root(int root_fd, const char *path, struct adbg_error **err)
{
	struct open_how how = {
		.flags = O_DIRECTORY | O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));

	if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
		*err = adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "this kernel has no openat2 (Linux 5.6+), which aiodbg "
					 "needs to create its channel inside the target's root "
					 "without following links out of it");
	return fd;
}

static ADBG_MUST_CHECK struct adbg_error *make_dir(struct adbg_channel *ch)
{
	static const char alnum[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct adbg_error *err = NULL;
	char root[64];
	int first_errno = 0, root_fd;

	snprintf(root, sizeof(root), "/proc/%d/root", ch->pid);
	root_fd = ch->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return adbg_error_os(errno, "%s", root);
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		int pfd = open_in_root(root_fd, bases[i] + 1, &err);

		if (err)
			break;
		if (pfd < 0) {
			if (!first_errno)
				first_errno = errno;
			continue;
		}
		sweep_leftovers(pfd);
		for (int attempt = 0; attempt < 100; attempt++) {
			unsigned char rnd[6];

			if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
				err = adbg_error_os(errno, "getrandom");
				break;
			}
			memcpy(ch->name, "aiodbg-", 7);
			for (int j = 0; j < 6; j++)
				ch->name[7 + j] = alnum[rnd[j] % (sizeof(alnum) - 1)];
			ch->name[13] = 0;
			if (mkdirat(pfd, ch->name, 0700) == 0)
				break;
			ch->name[0] = 0;
			if (errno != EEXIST)
				break;
		}
		if (err) {
			close(pfd);
			break;
		}
		if (!ch->name[0]) {
			if (!first_errno)
				first_errno = errno;
			close(pfd);
			continue;
		}
		ch->parent_fd = pfd;
		ch->dir_fd = openat(pfd, ch->name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (ch->dir_fd < 0) {
			int e = errno;

			unlinkat(pfd, ch->name, AT_REMOVEDIR);
			return adbg_error_os(e, "opening %s/%s in process %d's root", bases[i],
					     ch->name, ch->pid);
		}
		snprintf(ch->target_dir, sizeof(ch->target_dir), "%s/%s", bases[i], ch->name);
		return NULL;
	}
	if (err)
		return err;
	return adbg_error_os(first_errno,
			     "cannot create a private directory in /tmp, /var/tmp or /dev/shm "
			     "of process %d (resolved inside /proc/%d/root)",
			     ch->pid, ch->pid);
}

/* The marker: who made the directory (and for which target), so that a later channel can
 * tell a leftover. */
static ADBG_MUST_CHECK struct adbg_error *write_marker(struct adbg_channel *ch)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "%ld %llu %d\n", (long)getpid(), start_time(getpid()),
			 ch->pid);
	int fd =
		openat(ch->dir_fd, "o", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return adbg_error_os(errno, "creating %s/o", ch->target_dir);
	if (write(fd, text, (size_t)n) != n) {
		int e = errno;

		close(fd);
		return adbg_error_os(e, "writing %s/o", ch->target_dir);
	}
	close(fd);
	return NULL;
}

struct adbg_error *adbg_channel_create(int pid, struct adbg_channel **ret)
{
	struct adbg_channel *ch = calloc(1, sizeof(*ch));
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct adbg_error *err;
	unsigned char rnd[16];

	if (!ch)
		return &adbg_error_nomem;
	ch->pid = pid;
	ch->root_fd = ch->parent_fd = ch->dir_fd = ch->listen_fd = ch->conn_fd = -1;
	pthread_mutex_init(&ch->wmu, NULL);
	pthread_cond_init(&ch->kcv, NULL);
	err = target_ids(pid, &ch->uid, &ch->gid);
	if (err)
		goto fail;
	seen_ids(pid, &ch->seen_pid, &ch->seen_uid);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		err = adbg_error_os(errno, "getrandom");
		goto fail;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(ch->token + 2 * i, 3, "%02x", rnd[i]);
	err = make_dir(ch);
	if (!err)
		err = write_marker(ch);
	if (err)
		goto fail;
	snprintf(ch->sock_path, sizeof(ch->sock_path), "%s/s", ch->target_dir);

	ch->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ch->listen_fd < 0) {
		err = adbg_error_os(errno, "socket");
		goto fail;
	}
	// bind() has no *at() form: name the directory through our descriptor of it.
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/s", ch->dir_fd);
	if (bind(ch->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(ch->listen_fd, 4) < 0) {
		err = adbg_error_os(errno, "listening on %s in process %d's root", ch->sock_path,
				    pid);
		goto fail;
	}
	// Everything stays ours; the target's group may enter the directory (not list it,
	// not change it) and connect to the socket (which needs write permission on it).
	if (fchownat(ch->dir_fd, "s", (uid_t)-1, ch->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(ch->dir_fd, "s", ch->uid == geteuid() ? 0600 : 0660, 0) < 0 ||
	    fchown(ch->dir_fd, (uid_t)-1, ch->gid) < 0 ||
	    fchmod(ch->dir_fd, ch->uid == geteuid() ? 0700 : 0710) < 0) {
		err = adbg_error_os(errno, "opening %s to process %d (gid %u)", ch->target_dir, pid,
				    (unsigned)ch->gid);
		goto fail;
	}
	*ret = ch;
	return NULL;

fail:
	adbg_channel_destroy(ch);
	return err;
}

const char *adbg_channel_socket_path(const struct adbg_channel *ch)
{
	return ch->sock_path;
}

const char *adbg_channel_token(const struct adbg_channel *ch)
{
	return ch->token;
}

void adbg_channel_peer_ids(const struct adbg_channel *ch, long *pid, long *uid)
{
	*pid = ch->seen_pid;
	*uid = ch->seen_uid;
}

bool adbg_channel_dir_exists(const struct adbg_channel *ch, const char *dir)
{
	struct adbg_error *err = NULL;
	int fd;

	if (ch->root_fd < 0 || dir[0] != '/')
		return true;
	fd = open_in_root(ch->root_fd, dir + 1, &err);
	if (err) {
		adbg_error_destroy(err);
		return true;
	}
	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno != ENOENT;
}

int adbg_channel_connected(const struct adbg_channel *ch)
{
	return ch && ch->conn_fd >= 0;
}

struct adbg_error *adbg_channel_write_file(struct adbg_channel *ch, const char *name,
					   const void *data, size_t len, char **path_ret)
{
	const char *p = data;
	size_t done = 0;
	int fd;

	if (ch->dir_removed || strchr(name, '/'))
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "cannot write %s", name);
	fd = openat(ch->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return adbg_error_os(errno, "creating %s/%s", ch->target_dir, name);
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			close(fd);
			return adbg_error_os(e, "writing %s/%s", ch->target_dir, name);
		}
		done += (size_t)n;
	}
	// Ours, readable by the target's group only: the target can read it, not change it.
	if (fchown(fd, (uid_t)-1, ch->gid) < 0 ||
	    fchmod(fd, ch->uid == geteuid() ? 0600 : 0640) < 0) {
		int e = errno;

		close(fd);
		return adbg_error_os(e, "giving %s/%s to gid %u", ch->target_dir, name,
				     (unsigned)ch->gid);
	}
	close(fd);
	if (path_ret && asprintf(path_ret, "%s/%s", ch->target_dir, name) < 0)
		return &adbg_error_nomem;
	return NULL;
}

void adbg_channel_remove_dir(struct adbg_channel *ch)
{
	if (!ch || ch->dir_removed || ch->dir_fd < 0)
		return;
	for (size_t i = 0; i < sizeof(dir_files) / sizeof(dir_files[0]); i++)
		unlinkat(ch->dir_fd, dir_files[i], 0);
	if (ch->parent_fd >= 0)
		unlinkat(ch->parent_fd, ch->name, AT_REMOVEDIR);
	ch->dir_removed = true;
}

/* -- keepalive ----------------------------------------------------------------------- */

static void *keepalive_main(void *arg)
{
	struct adbg_channel *ch = arg;

	pthread_mutex_lock(&ch->wmu);
	while (!ch->keepalive_stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += KEEPALIVE_MS / 1000;
		ts.tv_nsec += (KEEPALIVE_MS % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!ch->keepalive_stop &&
		       pthread_cond_timedwait(&ch->kcv, &ch->wmu, &ts) != ETIMEDOUT)
			;
		if (ch->keepalive_stop || ch->conn_fd < 0)
			break;
		// An empty line: the agent renews its lease on any byte and skips empty lines.
		// Never blocks: a full socket (the target stopped for long) has news enough.
		(void)send(ch->conn_fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	pthread_mutex_unlock(&ch->wmu);
	return NULL;
}

static void keepalive_start(struct adbg_channel *ch)
{
	pthread_condattr_t ca;
	sigset_t all, old;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&ch->kcv);
	pthread_cond_init(&ch->kcv, &ca);
	pthread_condattr_destroy(&ca);
	ch->keepalive_stop = false;
	// Signals (SIGINT, SIGTERM, ...) are the front end's: they go to its threads.
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ch->keepalive_running = pthread_create(&ch->keepalive, NULL, keepalive_main, ch) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void keepalive_stop(struct adbg_channel *ch)
{
	if (!ch->keepalive_running)
		return;
	pthread_mutex_lock(&ch->wmu);
	ch->keepalive_stop = true;
	pthread_cond_signal(&ch->kcv);
	pthread_mutex_unlock(&ch->wmu);
	pthread_join(ch->keepalive, NULL);
	ch->keepalive_running = false;
}

/* Close the connection (the keepalive thread may be using it: under the mutex). */
static void close_conn(struct adbg_channel *ch)
{
	pthread_mutex_lock(&ch->wmu);
	if (ch->conn_fd >= 0)
		close(ch->conn_fd);
	ch->conn_fd = -1;
	pthread_mutex_unlock(&ch->wmu);
}

void adbg_channel_destroy(struct adbg_channel *ch)
{
	if (!ch)
		return;
	keepalive_stop(ch);
	adbg_channel_remove_dir(ch);
	if (ch->conn_fd >= 0)
		close(ch->conn_fd);
	if (ch->listen_fd >= 0)
		close(ch->listen_fd);
	if (ch->dir_fd >= 0)
		close(ch->dir_fd);
	if (ch->parent_fd >= 0)
		close(ch->parent_fd);
	if (ch->root_fd >= 0)
		close(ch->root_fd);
	pthread_cond_destroy(&ch->kcv);
	pthread_mutex_destroy(&ch->wmu);
	free(ch->buf);
	free(ch);
}

/* Wait for fd to become readable: 1 ready, 0 timeout, or an error. */
static ADBG_MUST_CHECK struct adbg_error *wait_readable(int fd, int timeout_ms,
							volatile int *interrupted, bool *ready)
{
	uint64_t deadline =
		timeout_ms < 0 ? UINT64_MAX : adbg_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = adbg_now_ns();
		int slice = POLL_SLICE_MS, r;

		if (interrupted && *interrupted)
			return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
		if (now >= deadline) {
			*ready = false;
			return NULL;
		}
		if (deadline != UINT64_MAX && (deadline - now) / 1000000u < (uint64_t)slice)
			slice = (int)((deadline - now) / 1000000u) + 1;
		r = poll(&pfd, 1, slice);
		if (r < 0 && errno != EINTR)
			return adbg_error_os(errno, "poll");
		if (r > 0) {
			*ready = true;
			return NULL;
		}
	}
}

/* Take one line out of the buffer, if a whole one is there. */
static ADBG_MUST_CHECK struct adbg_error *take_message(struct adbg_channel *ch, json_t **ret,
						       bool *got)
{
	char *nl = ch->len ? memchr(ch->buf, '\n', ch->len) : NULL;
	json_error_t jerr;
	size_t n;
	json_t *msg;

	*got = false;
	if (!nl)
		return NULL;
	n = (size_t)(nl - ch->buf);
	msg = json_loadb(ch->buf, n, 0, &jerr);
	memmove(ch->buf, nl + 1, ch->len - n - 1);
	ch->len -= n + 1;
	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		return adbg_error_create(ADBG_ERR_BAD_DATA, "agent sent a malformed message: %s",
					 jerr.text);
	}
	*ret = msg;
	*got = true;
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *fill(struct adbg_channel *ch)
{
	ssize_t n;

	if (ch->cap - ch->len < 65536) {
		size_t ncap = ch->cap ? ch->cap * 2 : 131072;
		char *nb;

		if (ncap > MAX_MESSAGE * 2)
			return adbg_error_create(ADBG_ERR_BAD_DATA, "agent message too long");
		nb = realloc(ch->buf, ncap);
		if (!nb)
			return &adbg_error_nomem;
		ch->buf = nb;
		ch->cap = ncap;
	}
	n = recv(ch->conn_fd, ch->buf + ch->len, ch->cap - ch->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return NULL;
	if (n <= 0) {
		close_conn(ch);
		return adbg_error_create(ADBG_ERR_GONE,
					 "the agent in process %d closed the channel", ch->pid);
	}
	ch->len += (size_t)n;
	return NULL;
}

struct adbg_error *adbg_channel_recv(struct adbg_channel *ch, int timeout_ms,
				     volatile int *interrupted, json_t **ret)
{
	uint64_t deadline =
		timeout_ms < 0 ? UINT64_MAX : adbg_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct adbg_error *err;
	bool got, ready;

	for (;;) {
		uint64_t now;

		err = take_message(ch, ret, &got);
		if (err || got)
			return err;
		if (ch->conn_fd < 0)
			return adbg_error_create(ADBG_ERR_GONE, "no agent connected");
		now = adbg_now_ns();
		if (now >= deadline)
			return adbg_error_create(ADBG_ERR_TIMEOUT, "no answer from the agent");
		err = wait_readable(ch->conn_fd,
				    deadline == UINT64_MAX ? -1
							   : (int)((deadline - now) / 1000000u) + 1,
				    interrupted, &ready);
		if (err)
			return err;
		if (ready) {
			err = fill(ch);
			if (err)
				return err;
		}
	}
}

struct adbg_error *adbg_channel_send(struct adbg_channel *ch, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	struct adbg_error *err = NULL;
	size_t len, done = 0;

	if (!text)
		return &adbg_error_nomem;
	len = strlen(text);
	text[len++] = '\n'; // json_dumps's NUL becomes the newline; we send len bytes
	// One writer at a time: the keepalive's newline must not land inside a message.
	pthread_mutex_lock(&ch->wmu);
	if (ch->conn_fd < 0)
		err = adbg_error_create(ADBG_ERR_GONE, "no agent connected");
	while (!err && done < len) {
		ssize_t n = send(ch->conn_fd, text + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			err = e == EPIPE || e == ECONNRESET
				      ? adbg_error_create(ADBG_ERR_GONE,
							  "the agent in process %d is gone",
							  ch->pid)
				      : adbg_error_os(e, "sending to the agent");
			break;
		}
		done += (size_t)n;
	}
	pthread_mutex_unlock(&ch->wmu);
	free(text);
	return err;
}

struct adbg_error *adbg_channel_accept(struct adbg_channel *ch, int timeout_ms,
				       volatile int *interrupted, json_t **hello_ret)
{
	struct adbg_error *err;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	json_t *hello = NULL;
	const char *token;
	bool ready;
	int fd;

	if (ch->conn_fd >= 0)
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "the agent is already connected");
	err = wait_readable(ch->listen_fd, timeout_ms, interrupted, &ready);
	if (err)
		return err;
	if (!ready)
		return adbg_error_create(ADBG_ERR_TIMEOUT, "the agent did not connect");
	fd = accept4(ch->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return adbg_error_os(errno, "accept");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.pid != ch->pid) {
		close(fd);
		return adbg_error_create(ADBG_ERR_PERMISSION,
					 "a process other than %d connected to the agent socket",
					 ch->pid);
	}
	ch->conn_fd = fd;
	err = adbg_channel_recv(ch, 5000, interrupted, &hello);
	token = hello ? json_string_value(json_object_get(hello, "hello")) : NULL;
	if (!err && (!token || strcmp(token, ch->token) != 0))
		err = adbg_error_create(
			ADBG_ERR_PERMISSION,
			"the process that connected did not present the agent's token");
	if (err) {
		json_decref(hello);
		close_conn(ch);
		ch->len = 0;
		return adbg_error_wrap(err, "agent hello");
	}
	keepalive_start(ch);
	if (hello_ret)
		*hello_ret = hello;
	else
		json_decref(hello);
	return NULL;
}
