// SPDX-License-Identifier: MIT
// An in-memory target made of segments: the fake target of unit tests and fuzzers.
#include "target.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct mem_impl {
	struct adbg_mem_segment *segs;
	size_t nsegs;
};

static struct adbg_error *mem_read(struct adbg_target *t, uint64_t addr, void *buf, size_t len)
{
	struct mem_impl *m = t->impl;
	unsigned char *out = buf;

	// A read may span adjacent segments; each byte must come from some segment.
	while (len) {
		size_t i;

		for (i = 0; i < m->nsegs; i++) {
			const struct adbg_mem_segment *s = &m->segs[i];

			if (addr >= s->addr && addr - s->addr < s->size) {
				size_t n = s->size - (addr - s->addr);

				if (n > len)
					n = len;
				memcpy(out, (const unsigned char *)s->data + (addr - s->addr), n);
				out += n;
				addr += n;
				len -= n;
				break;
			}
		}
		if (i == m->nsegs)
			return adbg_error_fault(addr, "address %#" PRIx64 " not mapped", addr);
	}
	return NULL;
}

static struct adbg_error *mem_open_file(struct adbg_target *t, const struct adbg_mapping *m,
					int *ret)
{
	(void)t;
	(void)ret;
	return adbg_error_create(ADBG_ERR_NOT_FOUND, "%s: in-memory targets have no files",
				 m->path);
}

static void mem_destroy(struct adbg_target *t)
{
	struct mem_impl *m = t->impl;

	if (m)
		free(m->segs);
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
	memcpy(m->segs, segs, nsegs * sizeof(*segs));
	m->nsegs = nsegs;
	t->impl = m;
	*ret = t;
	return NULL;
}
