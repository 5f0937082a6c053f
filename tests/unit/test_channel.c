// SPDX-License-Identifier: MIT
// Unit tests of channel.c with this process as the "target": who owns what in the channel
// directory, the marker, the sweep of what killed debuggers left, the keepalive, and the
// refusal of a peer that is not the target. Each test runs in a mount namespace of its own
// with a fresh tmpfs on /tmp, so nothing is seen by (or sees) other sessions; without the
// privilege for that, they are skipped.
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"

/* A private /tmp, or false (and a skip line) when this process may not make one. */
static bool private_tmp(const char *test)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777") < 0) {
		printf("%s: SKIPPED: needs a mount namespace of its own (%s)\n", test,
		       strerror(errno));
		fflush(stdout);
		return false;
	}
	return true;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void make_dir(const char *name, const char *marker, time_t age)
{
	char path[128];

	snprintf(path, sizeof(path), "/tmp/%s", name);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	if (marker) {
		char mpath[160];
		FILE *f;

		snprintf(mpath, sizeof(mpath), "%s/o", path);
		f = fopen(mpath, "w");
		ck_assert_ptr_nonnull(f);
		fputs(marker, f);
		fclose(f);
	}
	if (age) {
		struct timespec ts[2] = {{.tv_sec = time(NULL) - age},
					 {.tv_sec = time(NULL) - age}};

		ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
}

/* The directory of ch on this host ("/tmp/aiodbg-XXXXXX"). */
static const char *dir_of(struct adbg_channel *ch, char *buf, size_t size)
{
	const char *s = adbg_channel_socket_path(ch);

	snprintf(buf, size, "%.*s", (int)(strlen(s) - 2), s);
	return buf;
}

START_TEST(test_directory_is_ours_and_marked)
{
	struct adbg_channel *ch = NULL;
	char dir[64], path[96], marker[128] = "", *file = NULL;
	long pid = 0, target = 0;
	unsigned long long start = 0;
	struct stat st;
	FILE *f;

	if (!private_tmp("test_directory_is_ours_and_marked"))
		return;
	ck_assert_ptr_null(adbg_channel_create(getpid(), &ch));
	dir_of(ch, dir, sizeof(dir));
	ck_assert_int_eq(strncmp(dir, "/tmp/aiodbg-", 12), 0);
	ck_assert_int_eq(strlen(dir), strlen("/tmp/aiodbg-XXXXXX"));
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_uid, geteuid());
	// The target is our own user here: nobody else may enter.
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/o", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(marker, sizeof(marker), f));
	fclose(f);
	ck_assert_int_eq(sscanf(marker, "%ld %llu %ld", &pid, &start, &target), 3);
	ck_assert_int_eq(pid, getpid());
	ck_assert_int_eq(target, getpid());
	ck_assert_ptr_null(adbg_channel_write_file(ch, "a.py", "x = 1\n", 6, &file));
	ck_assert_str_eq(file, (snprintf(path, sizeof(path), "%s/a.py", dir), path));
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert(adbg_channel_dir_exists(ch, dir));
	ck_assert(!adbg_channel_dir_exists(ch, "/tmp/aiodbg-nonexistent"));
	free(file);
	adbg_channel_destroy(ch);
	ck_assert(!exists(dir));
}
END_TEST

START_TEST(test_leftovers_of_dead_debuggers_are_swept)
{
	struct adbg_channel *ch = NULL;
	char mine[64], alive[96], dir[64];
	pid_t child;
	int status;

	if (!private_tmp("test_leftovers_of_dead_debuggers_are_swept"))
		return;
	// A pid that is certainly gone: a child we reaped.
	child = fork();
	if (child == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	snprintf(mine, sizeof(mine), "%d 1 1\n", (int)child);
	make_dir("aiodbg-dead01", mine, 0);
	// pid 1 exists, but was not started at tick 12345: a reused pid.
	make_dir("aiodbg-reused", "1 12345 1\n", 0);
	// Ours (this process, alive): kept; the start time does not matter for our own pid.
	snprintf(alive, sizeof(alive), "%d 0 1\n", (int)getpid());
	make_dir("aiodbg-alive1", alive, 0);
	// No marker: young ones may be another debugger's being set up; old ones are gone.
	make_dir("aiodbg-young1", NULL, 0);
	make_dir("aiodbg-old001", NULL, 3600);
	// Not a channel name: never touched.
	make_dir("aiodbg-tests", NULL, 3600);
	ck_assert_ptr_null(adbg_channel_create(getpid(), &ch));
	ck_assert(!exists("/tmp/aiodbg-dead01"));
	ck_assert(!exists("/tmp/aiodbg-reused"));
	ck_assert(!exists("/tmp/aiodbg-old001"));
	ck_assert(exists("/tmp/aiodbg-alive1"));
	ck_assert(exists("/tmp/aiodbg-young1"));
	ck_assert(exists("/tmp/aiodbg-tests"));
	ck_assert(exists(dir_of(ch, dir, sizeof(dir))));
	adbg_channel_destroy(ch);
}
END_TEST

static int connect_to(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static void say_hello(int fd, const char *token)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "{\"hello\": \"%s\"}\n", token);

	ck_assert_int_eq(write(fd, line, (size_t)n), n);
}

START_TEST(test_impostor_refused_then_agent_accepted_and_kept_alive)
{
	struct adbg_channel *ch = NULL;
	struct adbg_error *err;
	char token[64], buf[256];
	struct pollfd pfd;
	pid_t child;
	int fd, status;
	ssize_t n;

	if (!private_tmp("test_impostor_refused_then_agent_accepted_and_kept_alive"))
		return;
	ck_assert_ptr_null(adbg_channel_create(getpid(), &ch));
	snprintf(token, sizeof(token), "%s", adbg_channel_token(ch));
	// Another process (a child: another pid) with the right token is still refused.
	child = fork();
	if (child == 0) {
		struct sockaddr_un addr = {.sun_family = AF_UNIX};
		int cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		char line[128];
		int len = snprintf(line, sizeof(line), "{\"hello\": \"%s\"}\n", token);

		// The debugger may refuse us (SO_PEERCRED) before our hello is written: a write
		// that fails, or SIGPIPE, is the refusal too, not a failure of the child.
		signal(SIGPIPE, SIG_IGN);
		snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", adbg_channel_socket_path(ch));
		if (cfd < 0 || connect(cfd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			_exit(2);
		(void)!write(cfd, line, (size_t)len);
		n = read(cfd, buf, sizeof(buf));
		_exit(n <= 0 ? 0 : 1); // closed (or reset) without a word
	}
	err = adbg_channel_accept(ch, 5000, NULL, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, ADBG_ERR_PERMISSION);
	adbg_error_destroy(err);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(!adbg_channel_connected(ch));
	// The target itself (here: us) with the token is the agent.
	fd = connect_to(adbg_channel_socket_path(ch));
	say_hello(fd, token);
	ck_assert_ptr_null(adbg_channel_accept(ch, 5000, NULL, NULL));
	ck_assert(adbg_channel_connected(ch));
	// The keepalive: an empty line within a few seconds, between whole messages.
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	ck_assert_int_eq(poll(&pfd, 1, 3000), 1);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_ge(n, 1);
	for (ssize_t i = 0; i < n; i++)
		ck_assert_int_eq(buf[i], '\n');
	close(fd);
	adbg_channel_destroy(ch);
}
END_TEST

static Suite *channel_suite(void)
{
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_directory_is_ours_and_marked);
	tcase_add_test(tc, test_leftovers_of_dead_debuggers_are_swept);
	tcase_add_test(tc, test_impostor_refused_then_agent_accepted_and_kept_alive);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(channel_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
