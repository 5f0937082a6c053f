// SPDX-License-Identifier: MIT
// The thread that copies blocks ahead of the reader (see readahead.h).
//
// Each buffer is an entry whose state only moves this way:
//
//   FREE --owner: want--> QUEUED --thread--> BUSY --thread--> READY --owner: take--> FREE
//   QUEUED --owner: take or forget withdraws it--> FREE
//
// The owner alone makes an entry FREE or QUEUED and alone touches a FREE or READY entry's
// fields; the thread alone touches a BUSY one's. A withdrawn entry may still sit in the
// queue (or twice, once queued again): the thread skips every occurrence it cannot move
// from QUEUED to BUSY.
#include "readahead.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

enum { FREE, QUEUED, BUSY, READY };

struct entry {
	atomic_int state;
	uint64_t addr;
	size_t got; // bytes copied (the thread's, read by the owner once READY)
	uint64_t asked; // the owner's clock when asked for
	unsigned char *buf;
};

struct adbg_readahead {
	pthread_t thread;
	adbg_read_some_fn read_some;
	void *ctx;
	size_t bsize;
	struct entry *e;
	unsigned n;
	uint64_t clock; // counts wants (the owner's)
	uint64_t taken; // the owner's
	atomic_uint_fast64_t copied;
	// The queue of entry numbers, and the thread's sleep: under mu.
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned *queue;
	unsigned cap;
	uint64_t head;
	atomic_uint_fast64_t tail; // written under mu; read without it by the waiting thread
	bool quit, sleeping;
};

// How long the thread polls an empty queue before it sleeps. Waking a sleeping thread
// costs the owner a futex call and an interrupt to the other core, per block asked for;
// while a large snapshot runs, the next request comes within microseconds.
#define POLL_NS 50000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A spin-wait hint: the other core's hyperthread, if any, runs on. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__)
	__asm__ volatile("pause");
#endif
}

/* Poll (unlocked) until the queue has something or POLL_NS have passed. */
static void poll_queue(struct adbg_readahead *ra, uint64_t head)
{
	uint64_t until = 0;

	for (unsigned i = 0; atomic_load_explicit(&ra->tail, memory_order_relaxed) == head; i++) {
		if ((i & 63) == 0) {
			uint64_t t = now_ns();

			if (!until)
				until = t + POLL_NS;
			else if (t >= until)
				return;
		}
		cpu_relax();
	}
}

static void *readahead_main(void *arg)
{
	struct adbg_readahead *ra = arg;

	pthread_mutex_lock(&ra->mu);
	for (;;) {
		struct entry *e;
		int expect = QUEUED;

		if (ra->head == atomic_load_explicit(&ra->tail, memory_order_relaxed) &&
		    !ra->quit) {
			uint64_t head = ra->head;

			pthread_mutex_unlock(&ra->mu);
			poll_queue(ra, head);
			pthread_mutex_lock(&ra->mu);
		}
		while (ra->head == atomic_load_explicit(&ra->tail, memory_order_relaxed) &&
		       !ra->quit) {
			ra->sleeping = true;
			pthread_cond_wait(&ra->cv, &ra->mu);
			ra->sleeping = false;
		}
		if (ra->quit)
			break;
		e = &ra->e[ra->queue[ra->head++ % ra->cap]];
		pthread_mutex_unlock(&ra->mu);
		if (atomic_compare_exchange_strong_explicit(
			    &e->state, &expect, BUSY, memory_order_acquire, memory_order_relaxed)) {
			e->got = ra->read_some(ra->ctx, e->addr, e->buf, ra->bsize);
			atomic_fetch_add_explicit(&ra->copied, 1, memory_order_relaxed);
			atomic_store_explicit(&e->state, READY, memory_order_release);
		}
		pthread_mutex_lock(&ra->mu);
	}
	pthread_mutex_unlock(&ra->mu);
	return NULL;
}

struct adbg_readahead *adbg_readahead_start(adbg_read_some_fn read_some, void *ctx, size_t bsize,
					    unsigned char **bufs, unsigned nbufs)
{
	struct adbg_readahead *ra = calloc(1, sizeof(*ra));
	sigset_t all, old;
	int rc;

	if (!ra || !nbufs)
		goto fail;
	ra->read_some = read_some;
	ra->ctx = ctx;
	ra->bsize = bsize;
	ra->n = nbufs;
	// Room for every entry queued a few times over (withdrawn ones stay queued).
	ra->cap = 4 * nbufs;
	ra->e = calloc(nbufs, sizeof(*ra->e));
	ra->queue = calloc(ra->cap, sizeof(*ra->queue));
	if (!ra->e || !ra->queue)
		goto fail;
	for (unsigned i = 0; i < nbufs; i++) {
		atomic_init(&ra->e[i].state, FREE);
		ra->e[i].buf = bufs[i];
	}
	atomic_init(&ra->copied, 0);
	atomic_init(&ra->tail, 0);
	pthread_mutex_init(&ra->mu, NULL);
	pthread_cond_init(&ra->cv, NULL);
	// No signal for this thread: Ctrl-C and the others are the owner's.
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&ra->thread, NULL, readahead_main, ra);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_cond_destroy(&ra->cv);
		pthread_mutex_destroy(&ra->mu);
		goto fail;
	}
	return ra;

fail:
	if (ra) {
		free(ra->e);
		free(ra->queue);
		free(ra);
	}
	return NULL;
}

/* The entry holding or fetching addr, or NULL. */
static struct entry *find(struct adbg_readahead *ra, uint64_t addr)
{
	for (unsigned i = 0; i < ra->n; i++)
		if (ra->e[i].addr == addr &&
		    atomic_load_explicit(&ra->e[i].state, memory_order_relaxed) != FREE)
			return &ra->e[i];
	return NULL;
}

/* Wait until the thread has finished copying into e. */
static void wait_copied(struct entry *e)
{
	for (unsigned spins = 0; atomic_load_explicit(&e->state, memory_order_acquire) == BUSY;
	     spins++)
		if (spins > 64)
			sched_yield(); // the copy is a few microseconds away
}

void adbg_readahead_want(struct adbg_readahead *ra, uint64_t addr)
{
	struct entry *e = NULL, *oldest = NULL;
	uint64_t tail;

	if (!ra)
		return;
	ra->clock++;
	for (unsigned i = 0; i < ra->n; i++) {
		struct entry *x = &ra->e[i];
		int st = atomic_load_explicit(&x->state, memory_order_relaxed);

		if (st != FREE && x->addr == addr)
			return;
		if (st == FREE && !e)
			e = x;
		else if (st == READY && (!oldest || x->asked < oldest->asked))
			oldest = x;
	}
	// A block copied long ago and never taken was a wrong guess: its buffer is reused.
	// One copied recently is likely a block the reader is about to reach.
	if (!e && oldest && ra->clock - oldest->asked > 2u * ra->n) {
		atomic_load_explicit(&oldest->state, memory_order_acquire);
		atomic_store_explicit(&oldest->state, FREE, memory_order_relaxed);
		e = oldest;
	}
	if (!e)
		return;
	pthread_mutex_lock(&ra->mu);
	tail = atomic_load_explicit(&ra->tail, memory_order_relaxed);
	if (tail - ra->head < ra->cap) {
		e->addr = addr;
		e->asked = ra->clock;
		atomic_store_explicit(&e->state, QUEUED, memory_order_release);
		ra->queue[tail % ra->cap] = (unsigned)(e - ra->e);
		atomic_store_explicit(&ra->tail, tail + 1, memory_order_relaxed);
		if (ra->sleeping)
			pthread_cond_signal(&ra->cv);
	}
	pthread_mutex_unlock(&ra->mu);
}

/* Withdraw e if the thread has not begun it; else wait for its copy. True: withdrawn. */
static bool withdraw(struct entry *e)
{
	int expect = QUEUED;

	if (atomic_compare_exchange_strong_explicit(&e->state, &expect, FREE, memory_order_relaxed,
						    memory_order_relaxed))
		return true;
	wait_copied(e);
	return false;
}

long adbg_readahead_take(struct adbg_readahead *ra, uint64_t addr, unsigned char **buf)
{
	struct entry *e = ra ? find(ra, addr) : NULL;
	unsigned char *mine;

	if (!e || withdraw(e))
		return -1;
	// READY: the acquire in wait_copied (or in the failed exchange's reload) orders the
	// thread's copy before our use of the buffer.
	atomic_thread_fence(memory_order_acquire);
	mine = *buf;
	*buf = e->buf;
	e->buf = mine;
	atomic_store_explicit(&e->state, FREE, memory_order_relaxed);
	ra->taken++;
	return (long)e->got;
}

void adbg_readahead_forget(struct adbg_readahead *ra)
{
	if (!ra)
		return;
	for (unsigned i = 0; i < ra->n; i++) {
		struct entry *e = &ra->e[i];

		if (atomic_load_explicit(&e->state, memory_order_relaxed) == FREE || withdraw(e))
			continue;
		atomic_thread_fence(memory_order_acquire);
		atomic_store_explicit(&e->state, FREE, memory_order_relaxed);
	}
}

void adbg_readahead_stop(struct adbg_readahead *ra, unsigned char **bufs)
{
	if (!ra)
		return;
	pthread_mutex_lock(&ra->mu);
	ra->quit = true;
	pthread_cond_signal(&ra->cv);
	pthread_mutex_unlock(&ra->mu);
	pthread_join(ra->thread, NULL);
	for (unsigned i = 0; i < ra->n; i++)
		bufs[i] = ra->e[i].buf;
	pthread_cond_destroy(&ra->cv);
	pthread_mutex_destroy(&ra->mu);
	free(ra->e);
	free(ra->queue);
	free(ra);
}

void adbg_readahead_stats(const struct adbg_readahead *ra, uint64_t *copied, uint64_t *taken)
{
	*copied = ra ? atomic_load_explicit(&ra->copied, memory_order_relaxed) : 0;
	*taken = ra ? ra->taken : 0;
}
