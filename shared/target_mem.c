// SPDX-License-Identifier: MIT
// An in-memory target made of segments: the fake target of unit tests and fuzzers.
#include "target.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct mem_impl {
	struct adbg_mem_segment *segs;
	size_t nsegs;
	/**
	 * segs sorted by address, when no two overlap (then a lookup is a binary search);
	 * NULL when some do (fuzz inputs): the first segment in the caller's order wins.
	 */
	struct adbg_mem_segment *sorted;
};

/* The segment holding addr, or NULL. */
static const struct adbg_mem_segment *find_seg(const struct mem_impl *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nsegs;

	if (!m->sorted) {
		for (size_t i = 0; i < m->nsegs; i++)
			if (addr >= m->segs[i].addr && addr - m->segs[i].addr < m->segs[i].size)
				return &m->segs[i];
		return NULL;
	}
	// The last segment starting at or below addr is the only one that can hold it.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->sorted[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr - m->sorted[lo - 1].addr < m->sorted[lo - 1].size)
		return &m->sorted[lo - 1];
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *mem_read(struct adbg_target *t, uint64_t addr, void *buf,
						   size_t len)
{
	struct mem_impl *m = t->impl;
	unsigned char *out = buf;

	// A read may span adjacent segments; each byte must come from some segment.
	while (len) {
		const struct adbg_mem_segment *s = find_seg(m, addr);

		size_t n;

		if (!s)
			return adbg_error_fault(addr, "address %#" PRIx64 " not mapped", addr);
		n = s->size - (addr - s->addr);
		if (n > len)
			n = len;
		memcpy(out, (const unsigned char *)s->data + (addr - s->addr), n);
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct adbg_mem_segment *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static ADBG_MUST_CHECK struct adbg_error *mem_open_file(struct adbg_target *t,
							const struct adbg_mapping *m, int *ret)
{
	(void)t;
	(void)ret;
	return adbg_error_create(ADBG_ERR_NOT_FOUND, "%s: in-memory targets have no files",
				 m->path);
}

static void mem_destroy(struct adbg_target *t)
{
	struct mem_impl *m = t->impl;

	if (m) {
		free(m->segs);
		free(m->sorted);
	}
	free(m);
}

static const struct adbg_target_ops mem_ops = {
	.read = mem_read,
	.open_file = mem_open_file,
	.destroy = mem_destroy,
};

struct adbg_error *adbg_target_create_mem(const struct adbg_mem_segment *segs, size_t nsegs,
					  struct adbg_target **ret)
{
	struct adbg_target *t;
	struct mem_impl *m;
	struct adbg_error *err = adbg_target_alloc(&mem_ops, ADBG_TARGET_MEMORY, &t);

	if (err)
		return err;
	m = calloc(1, sizeof(*m));
	if (!m || !(m->segs = calloc(nsegs ? nsegs : 1, sizeof(*segs)))) {
		free(m);
		free(t);
		return &adbg_error_nomem;
	}
	if (nsegs) // memcpy's arguments must be valid pointers even for 0 bytes
		memcpy(m->segs, segs, nsegs * sizeof(*segs));
	m->nsegs = nsegs;
	t->impl = m;
	// Sorted for binary search, unless two segments overlap (kept in order then).
	m->sorted = malloc((nsegs ? nsegs : 1) * sizeof(*segs));
	if (!m->sorted) {
		adbg_target_destroy(t);
		return &adbg_error_nomem;
	}
	if (nsegs)
		memcpy(m->sorted, segs, nsegs * sizeof(*segs));
	qsort(m->sorted, nsegs, sizeof(*segs), cmp_seg);
	for (size_t i = 0; i + 1 < nsegs; i++) {
		const struct adbg_mem_segment *a = &m->sorted[i];

		if (a->size > UINT64_MAX - a->addr || a->addr + a->size > m->sorted[i + 1].addr) {
			free(m->sorted);
			m->sorted = NULL;
			break;
		}
	}
	*ret = t;
	return NULL;
}
