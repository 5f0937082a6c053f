// SPDX-License-Identifier: MIT
// Transparent huge pages for the few large arrays of a snapshot (a million tasks: the task
// records, their index, the frame pool). Filling such an array 4 KiB page by page costs a
// page fault per page, which on a virtual machine was a tenth of the snapshot; with the
// advice, one fault maps 2 MiB. Only an advice: without THP nothing changes.
#ifndef AIODBG_HUGEMEM_H
#define AIODBG_HUGEMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define ADBG_HUGE_PAGE ((size_t)2 << 20)

/*
 * Advise the whole 2 MiB pages inside [p, p + len) of a malloc'd block (glibc maps large
 * blocks on their own, and the advice follows them through realloc's mremap).
 */
static inline void adbg_advise_huge(void *p, size_t len)
{
	uintptr_t start = ((uintptr_t)p + ADBG_HUGE_PAGE - 1) & ~(uintptr_t)(ADBG_HUGE_PAGE - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(uintptr_t)(ADBG_HUGE_PAGE - 1);

	if (p && len >= 2 * ADBG_HUGE_PAGE && end > start)
		(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
}

/*
 * An array that grows to hundreds of megabytes: its own mapping, moved by mremap rather
 * than copied (realloc copies when the block lives in the heap, and glibc's mmap
 * threshold moves). *cap_bytes is the mapped size (0 for none); returns false when out of
 * memory, leaving the array as it was. It starts at 64 KiB and is advised for huge pages
 * from 4 MiB on: a huge page is zeroed whole at its first touch, and a small snapshot (a
 * watch samples a few hundred tasks twice a second, with the target stopped) would pay
 * 2 MiB of zeroing for a few kilobytes.
 */
static inline bool adbg_huge_grow(void **p, size_t *cap_bytes, size_t want_bytes)
{
	size_t size = *cap_bytes ? *cap_bytes : (size_t)64 << 10;
	void *np;

	while (size < want_bytes)
		size *= 2;
	if (size == *cap_bytes)
		return true;
	if (*p)
		np = mremap(*p, *cap_bytes, size, MREMAP_MAYMOVE);
	else
		np = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (np == MAP_FAILED)
		return false;
	if (size >= 2 * ADBG_HUGE_PAGE)
		(void)madvise(np, size, MADV_HUGEPAGE);
	*p = np;
	*cap_bytes = size;
	return true;
}

static inline void adbg_huge_free(void *p, size_t cap_bytes)
{
	if (p)
		munmap(p, cap_bytes);
}

#endif
