// SPDX-License-Identifier: MIT
// A thread that populates a growing array's pages ahead of its owner (see prefault.h).
#include "prefault.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 // Linux 5.14 (include/uapi/asm-generic/mman-common.h)
#endif

// Populated per call: one huge page when the mapping has them.
#define CHUNK ((size_t)2 << 20)
// How long the thread sleeps when it is a whole window ahead (the owner fills 2 MiB of
// task records in about 2 ms).
#define IDLE_NS 200000

struct adbg_prefault {
	pthread_t thread;
	unsigned char *base;
	size_t len, ahead;
	size_t first; // the thread populates from here (the owner's pages are before)
	size_t done; // the thread's: populated up to here
	atomic_size_t used;
	atomic_bool stop;
};

static void *prefault_main(void *arg)
{
	struct adbg_prefault *pf = arg;

	while (!atomic_load_explicit(&pf->stop, memory_order_relaxed)) {
		size_t want = atomic_load_explicit(&pf->used, memory_order_relaxed) + pf->ahead;
		size_t n;

		if (want > pf->len)
			want = pf->len;
		if (pf->done >= want) {
			if (pf->done >= pf->len)
				break;
			nanosleep(&(struct timespec){.tv_nsec = IDLE_NS}, NULL);
			continue;
		}
		n = pf->len - pf->done < CHUNK ? pf->len - pf->done : CHUNK;
		// Faults the pages in as a write would, without writing: the owner may be
		// writing into them at the same time. Fails on kernels before 5.14 (EINVAL)
		// and when memory runs out (the owner's own faults say so).
		if (madvise(pf->base + pf->done, n, MADV_POPULATE_WRITE) != 0)
			break;
		pf->done += n;
	}
	return NULL;
}

struct adbg_prefault *adbg_prefault_start(void *base, size_t len, size_t from, size_t ahead)
{
	struct adbg_prefault *pf = calloc(1, sizeof(*pf));
	sigset_t all, old;
	uintptr_t page = 4096, start;
	int rc;

	if (!pf)
		return NULL;
	// madvise wants a page-aligned start: the page holding `from` is the owner's already.
	start = ((uintptr_t)base + from + page - 1) & ~(page - 1);
	pf->base = base;
	pf->len = len;
	pf->ahead = ahead;
	pf->first = start - (uintptr_t)base < len ? start - (uintptr_t)base : len;
	pf->done = pf->first;
	atomic_init(&pf->used, from);
	atomic_init(&pf->stop, false);
	// No signal for this thread: Ctrl-C and the others are the main thread's.
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&pf->thread, NULL, prefault_main, pf);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		free(pf);
		return NULL;
	}
	return pf;
}

void adbg_prefault_used(struct adbg_prefault *pf, size_t used)
{
	if (pf)
		atomic_store_explicit(&pf->used, used, memory_order_relaxed);
}

void adbg_prefault_stop(struct adbg_prefault *pf, size_t keep)
{
	uintptr_t page = 4096, from;

	if (!pf)
		return;
	atomic_store_explicit(&pf->stop, true, memory_order_relaxed);
	pthread_join(pf->thread, NULL);
	from = ((uintptr_t)pf->base + keep + page - 1) & ~(page - 1);
	if (from < (uintptr_t)pf->base + pf->first)
		from = (uintptr_t)pf->base + pf->first;
	if (from < (uintptr_t)pf->base + pf->done)
		(void)madvise((void *)from, (uintptr_t)pf->base + pf->done - from, MADV_DONTNEED);
	free(pf);
}
