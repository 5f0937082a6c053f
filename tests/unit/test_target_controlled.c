// SPDX-License-Identifier: MIT
// Unit tests of the controlled live target (target_live.c, adbg_target_attach_controlled):
// the live target the GDB extension uses, where another tracer owns the process.
//
// Against a real child process (stopped and resumed here with SIGSTOP/SIGCONT, standing in
// for GDB): freeze and thaw call the owner's stop and resume and never ptrace, writes go
// through the owner's write, reads work, and destroying the target leaves the process as
// the owner has it.
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target.h"

#define OK(expr)                                                                   \
	do {                                                                       \
		struct adbg_error *e_ = (expr);                                    \
		ck_assert_msg(!e_, "%s failed: %s", #expr, e_ ? e_->message : ""); \
	} while (0)

struct owner {
	pid_t pid;
	int stops, resumes, writes;
	uint64_t waddr;
	size_t wlen;
	bool fail_stop;
};

static struct adbg_error *own_stop(void *arg)
{
	struct owner *o = arg;

	o->stops++;
	if (o->fail_stop)
		return adbg_error_create(ADBG_ERR_GONE, "owner says gone");
	kill(o->pid, SIGSTOP);
	return NULL;
}

static void own_resume(void *arg)
{
	struct owner *o = arg;

	o->resumes++;
	kill(o->pid, SIGCONT);
}

static struct adbg_error *own_write(void *arg, uint64_t addr, const void *buf, size_t len)
{
	struct owner *o = arg;

	(void)buf;
	o->writes++;
	o->waddr = addr;
	o->wlen = len;
	return NULL;
}

/* A value in the child's memory: the child is a fork, so the same address holds it. */
static volatile uint64_t shared_value = 0x1122334455667788ull;

static pid_t spawn(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The child's state letter from /proc/PID/stat ('T' stopped, 't' traced). */
static char state_of(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	return p[2];
}

START_TEST(test_freeze_thaw_write_go_to_the_owner)
{
	struct owner o = {0};
	struct adbg_target_control ctl = {own_stop, own_resume, own_write, &o};
	struct adbg_target *t;
	uint64_t v = 0;
	unsigned char bytes[4] = {1, 2, 3, 4};

	o.pid = spawn();
	OK(adbg_target_attach_controlled(o.pid, &ctl, &t));
	ck_assert_int_eq(t->kind, ADBG_TARGET_PROCESS);
	OK(adbg_read_u64(t, (uint64_t)(uintptr_t)&shared_value, &v));
	ck_assert_uint_eq(v, 0x1122334455667788ull);

	OK(adbg_target_freeze(t));
	ck_assert_int_eq(o.stops, 1);
	ck_assert(t->frozen);
	ck_assert_uint_ge(t->nthreads, 1);
	// No ptrace of ours: the owner's SIGSTOP, not a trace stop.
	for (int i = 0; i < 200 && state_of(o.pid) != 'T'; i++)
		usleep(1000);
	ck_assert_int_eq(state_of(o.pid), 'T');
	ck_assert(!t->threads[0].have_regs);

	OK(adbg_target_write(t, 0x1000, bytes, sizeof(bytes)));
	ck_assert_int_eq(o.writes, 1);
	ck_assert_uint_eq(o.waddr, 0x1000);
	ck_assert_uint_eq(o.wlen, 4);

	adbg_target_thaw(t);
	ck_assert_int_eq(o.resumes, 1);
	ck_assert(!t->frozen);

	// Destroyed while frozen: thaw goes to the owner once; nothing else touches it.
	OK(adbg_target_freeze(t));
	adbg_target_destroy(t);
	ck_assert_int_eq(o.stops, 2);
	ck_assert_int_eq(o.resumes, 2);
	// We never attached: another tracer can.
	ck_assert_int_eq(ptrace(PTRACE_SEIZE, o.pid, 0, 0), 0);
	ptrace(PTRACE_DETACH, o.pid, 0, 0);
	reap(o.pid);
}
END_TEST

START_TEST(test_owner_failure_is_the_freeze_error)
{
	struct owner o = {.fail_stop = true};
	struct adbg_target_control ctl = {own_stop, own_resume, NULL, &o};
	struct adbg_target *t;
	struct adbg_error *err;

	o.pid = spawn();
	OK(adbg_target_attach_controlled(o.pid, &ctl, &t));
	err = adbg_target_freeze(t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, ADBG_ERR_GONE);
	adbg_error_destroy(err);
	ck_assert(!t->frozen);
	adbg_target_destroy(t);
	ck_assert_int_eq(o.resumes, 0);
	reap(o.pid);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct adbg_target_control none = {0};
	struct adbg_target *t = NULL;
	struct adbg_error *err;

	err = adbg_target_attach_controlled(getpid(), NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, ADBG_ERR_INVALID_ARG);
	adbg_error_destroy(err);
	err = adbg_target_attach_controlled(getpid(), &none, &t);
	ck_assert_ptr_nonnull(err);
	adbg_error_destroy(err);
	ck_assert_ptr_null(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("target_controlled");
	TCase *tc = tcase_create("live");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_freeze_thaw_write_go_to_the_owner);
	tcase_add_test(tc, test_owner_failure_is_the_freeze_error);
	tcase_add_test(tc, test_bad_arguments);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
