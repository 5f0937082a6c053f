// SPDX-License-Identifier: MIT
// The debugger <-> agent channel: a unix socket in a private directory inside the
// target's root, checked with SO_PEERCRED and a token (see channel.h).
//
// Every operation inside the directory goes through a descriptor of it opened right after
// mkdtemp (openat, fchownat, unlinkat, and bind through /proc/self/fd/N), so a target
// that owns the directory and swaps it for a symlink cannot make us create or remove
// files elsewhere.
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "target.h"

// A message longer than this is not something our agent sends.
#define MAX_MESSAGE (16u << 20)
// Wait in slices this long so an interrupt is seen quickly.
#define POLL_SLICE_MS 50

struct adbg_channel {
	int pid;
	uid_t uid;
	gid_t gid;
	/** the parent directory (in the target's root) and ours, and our name in it. */
	int parent_fd, dir_fd;
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
};

/* The target's filesystem uid and gid (the fourth field of Uid:/Gid: in status). */
static struct adbg_error *target_ids(int pid, uid_t *uid, gid_t *gid)
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

static struct adbg_error *make_dir(struct adbg_channel *ch)
{
	static const char *const bases[] = { "/tmp", "/var/tmp", "/dev/shm" };
	int first_errno = 0;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		char parent[96], tmpl[128];

		snprintf(parent, sizeof(parent), "/proc/%d/root%s", ch->pid, bases[i]);
		snprintf(tmpl, sizeof(tmpl), "%s/aiodbg-XXXXXX", parent);
		if (!mkdtemp(tmpl)) {
			if (!first_errno)
				first_errno = errno;
			continue;
		}
		snprintf(ch->name, sizeof(ch->name), "%s", strrchr(tmpl, '/') + 1);
		ch->parent_fd = open(parent, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		ch->dir_fd = open(tmpl, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (ch->parent_fd < 0 || ch->dir_fd < 0) {
			int e = errno;

			rmdir(tmpl);
			return adbg_error_os(e, "opening %s", tmpl);
		}
		snprintf(ch->target_dir, sizeof(ch->target_dir), "%s/%s", bases[i], ch->name);
		return NULL;
	}
	return adbg_error_os(first_errno,
			     "cannot create a private directory in /tmp, /var/tmp or /dev/shm "
			     "of process %d (through /proc/%d/root)",
			     ch->pid, ch->pid);
}

struct adbg_error *adbg_channel_create(int pid, struct adbg_channel **ret)
{
	struct adbg_channel *ch = calloc(1, sizeof(*ch));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct adbg_error *err;
	unsigned char rnd[16];

	if (!ch)
		return &adbg_error_nomem;
	ch->pid = pid;
	ch->parent_fd = ch->dir_fd = ch->listen_fd = ch->conn_fd = -1;
	err = target_ids(pid, &ch->uid, &ch->gid);
	if (err)
		goto fail;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		err = adbg_error_os(errno, "getrandom");
		goto fail;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(ch->token + 2 * i, 3, "%02x", rnd[i]);
	err = make_dir(ch);
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
	// The target's user must be able to connect (write permission on the socket) and
	// to enter the directory; nobody else may.
	if (fchmodat(ch->dir_fd, "s", 0600, 0) < 0 ||
	    fchownat(ch->dir_fd, "s", ch->uid, ch->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchown(ch->dir_fd, ch->uid, ch->gid) < 0) {
		err = adbg_error_os(errno, "giving %s to uid %u", ch->target_dir,
				    (unsigned)ch->uid);
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
	fd = openat(ch->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
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
	if (fchown(fd, ch->uid, ch->gid) < 0) {
		int e = errno;

		close(fd);
		return adbg_error_os(e, "chown %s/%s", ch->target_dir, name);
	}
	close(fd);
	if (path_ret && asprintf(path_ret, "%s/%s", ch->target_dir, name) < 0)
		return &adbg_error_nomem;
	return NULL;
}

void adbg_channel_remove_dir(struct adbg_channel *ch)
{
	static const char *const names[] = { "s", "a.py" };

	if (!ch || ch->dir_removed || ch->dir_fd < 0)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlinkat(ch->dir_fd, names[i], 0);
	if (ch->parent_fd >= 0)
		unlinkat(ch->parent_fd, ch->name, AT_REMOVEDIR);
	ch->dir_removed = true;
}

void adbg_channel_destroy(struct adbg_channel *ch)
{
	if (!ch)
		return;
	adbg_channel_remove_dir(ch);
	if (ch->conn_fd >= 0)
		close(ch->conn_fd);
	if (ch->listen_fd >= 0)
		close(ch->listen_fd);
	if (ch->dir_fd >= 0)
		close(ch->dir_fd);
	if (ch->parent_fd >= 0)
		close(ch->parent_fd);
	free(ch->buf);
	free(ch);
}

/* Wait for fd to become readable: 1 ready, 0 timeout, or an error. */
static struct adbg_error *wait_readable(int fd, int timeout_ms, volatile int *interrupted,
					bool *ready)
{
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX
					   : adbg_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
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
static struct adbg_error *take_message(struct adbg_channel *ch, json_t **ret, bool *got)
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

static struct adbg_error *fill(struct adbg_channel *ch)
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
		close(ch->conn_fd);
		ch->conn_fd = -1;
		return adbg_error_create(ADBG_ERR_GONE, "the agent in process %d closed the channel",
					 ch->pid);
	}
	ch->len += (size_t)n;
	return NULL;
}

struct adbg_error *adbg_channel_recv(struct adbg_channel *ch, int timeout_ms,
				     volatile int *interrupted, json_t **ret)
{
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX
					   : adbg_now_ns() + (uint64_t)timeout_ms * 1000000u;
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
				    deadline == UINT64_MAX ? -1 : (int)((deadline - now) / 1000000u) + 1,
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
	size_t len, done = 0;

	if (!text)
		return &adbg_error_nomem;
	if (ch->conn_fd < 0) {
		free(text);
		return adbg_error_create(ADBG_ERR_GONE, "no agent connected");
	}
	len = strlen(text);
	text[len++] = '\n'; // json_dumps's NUL becomes the newline; we send len bytes
	while (done < len) {
		ssize_t n = send(ch->conn_fd, text + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(text);
			return e == EPIPE || e == ECONNRESET
				       ? adbg_error_create(ADBG_ERR_GONE,
							   "the agent in process %d is gone", ch->pid)
				       : adbg_error_os(e, "sending to the agent");
		}
		done += (size_t)n;
	}
	free(text);
	return NULL;
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
		err = adbg_error_create(ADBG_ERR_PERMISSION,
					"the process that connected did not present the agent's token");
	if (err) {
		json_decref(hello);
		if (ch->conn_fd >= 0)
			close(ch->conn_fd);
		ch->conn_fd = -1;
		ch->len = 0;
		return adbg_error_wrap(err, "agent hello");
	}
	if (hello_ret)
		*hello_ret = hello;
	else
		json_decref(hello);
	return NULL;
}
