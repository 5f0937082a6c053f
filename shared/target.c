// SPDX-License-Identifier: MIT
// Target-independent parts of the target layer: the page cache, typed reads, freeze/thaw
// bookkeeping and mapping lookup. The per-kind work is behind struct adbg_target_ops.
#include "target.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CPAGE_SHIFT 12
#define CPAGE_SIZE ((uint64_t)1 << CPAGE_SHIFT)
#define CPAGE_MASK (~(CPAGE_SIZE - 1))

// Tags live apart from the data so that clearing the cache between snapshots touches
// nslots * 8 bytes, not the whole data area (which the kernel maps lazily).
struct adbg_page_cache {
	size_t nslots; // power of two
	uint64_t *tags; // page address + 1 when valid, 0 when empty
	unsigned char *data; // nslots pages
};

uint64_t adbg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct adbg_error *adbg_target_alloc(const struct adbg_target_ops *ops,
				     enum adbg_target_kind kind, struct adbg_target **ret)
{
	struct adbg_target *t = calloc(1, sizeof(*t));

	if (!t)
		return &adbg_error_nomem;
	t->ops = ops;
	t->kind = kind;
	*ret = t;
	return NULL;
}

struct adbg_error *adbg_target_enable_cache(struct adbg_target *t, unsigned log2_pages)
{
	struct adbg_page_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return &adbg_error_nomem;
	c->nslots = (size_t)1 << log2_pages;
	// calloc of a large block is mmap'd zero memory: an unused cache costs address
	// space, not RSS.
	c->tags = calloc(c->nslots, sizeof(*c->tags));
	c->data = calloc(c->nslots, CPAGE_SIZE);
	if (!c->tags || !c->data) {
		free(c->tags);
		free(c->data);
		free(c);
		return &adbg_error_nomem;
	}
	t->cache = c;
	return NULL;
}

static void cache_destroy(struct adbg_page_cache *c)
{
	if (!c)
		return;
	free(c->tags);
	free(c->data);
	free(c);
}

static void cache_clear(struct adbg_page_cache *c)
{
	if (!c)
		return;
	memset(c->tags, 0, c->nslots * sizeof(*c->tags));
}

static void cache_forget(struct adbg_page_cache *c, uint64_t addr, size_t len)
{
	if (!c || !len)
		return;
	for (uint64_t p = addr & CPAGE_MASK; p < addr + len && p >= (addr & CPAGE_MASK);
	     p += CPAGE_SIZE) {
		size_t i = (p >> CPAGE_SHIFT) & (c->nslots - 1);

		if (c->tags[i] == p + 1)
			c->tags[i] = 0;
	}
}

void adbg_target_free_maps(struct adbg_target *t)
{
	for (size_t i = 0; i < t->nmaps; i++)
		free(t->maps[i].path);
	free(t->maps);
	t->maps = NULL;
	t->nmaps = 0;
}

void adbg_target_destroy(struct adbg_target *t)
{
	if (!t)
		return;
	if (t->frozen)
		adbg_target_thaw(t);
	if (t->ops && t->ops->destroy)
		t->ops->destroy(t);
	adbg_target_free_maps(t);
	free(t->threads);
	free(t->executable);
	free(t->cmdline);
	free(t->core_path);
	cache_destroy(t->cache);
	free(t);
}

struct adbg_error *adbg_target_read(struct adbg_target *t, uint64_t addr, void *buf, size_t len)
{
	struct adbg_page_cache *c = t->cache;
	unsigned char *out = buf;

	if (!len)
		return NULL;
	if (addr + len < addr)
		return adbg_error_fault(addr, "address %#" PRIx64 " + %zu wraps around", addr,
					len);
	if (!c)
		return t->ops->read(t, addr, buf, len);

	while (len) {
		uint64_t page = addr & CPAGE_MASK;
		size_t off = addr - page;
		size_t n = CPAGE_SIZE - off < len ? CPAGE_SIZE - off : len;
		size_t i = (page >> CPAGE_SHIFT) & (c->nslots - 1);
		unsigned char *data = c->data + i * CPAGE_SIZE;

		if (c->tags[i] != page + 1) {
			struct adbg_error *err = t->ops->read(t, page, data, CPAGE_SIZE);

			if (err) {
				// A partly readable page (end of a mapping): read only what
				// was asked for, uncached, so the error names the right address.
				c->tags[i] = 0;
				adbg_error_destroy(err);
				return t->ops->read(t, addr, out, len);
			}
			c->tags[i] = page + 1;
		}
		memcpy(out, data + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

struct adbg_error *adbg_read_u64(struct adbg_target *t, uint64_t addr, uint64_t *ret)
{
	uint64_t v;
	struct adbg_error *err = adbg_target_read(t, addr, &v, sizeof(v));

	if (!err)
		*ret = v;
	return err;
}

struct adbg_error *adbg_read_u32(struct adbg_target *t, uint64_t addr, uint32_t *ret)
{
	uint32_t v;
	struct adbg_error *err = adbg_target_read(t, addr, &v, sizeof(v));

	if (!err)
		*ret = v;
	return err;
}

struct adbg_error *adbg_read_u8(struct adbg_target *t, uint64_t addr, uint8_t *ret)
{
	uint8_t v;
	struct adbg_error *err = adbg_target_read(t, addr, &v, sizeof(v));

	if (!err)
		*ret = v;
	return err;
}

struct adbg_error *adbg_read_cstr(struct adbg_target *t, uint64_t addr, size_t max, char **ret)
{
	char *s = malloc(max + 1);
	size_t got = 0;

	if (!s)
		return &adbg_error_nomem;
	// Read in small chunks so a string near the end of a mapping is still readable.
	while (got <= max) {
		size_t chunk = 64 - ((addr + got) & 63);
		struct adbg_error *err;
		char *nul;

		if (chunk > max + 1 - got)
			chunk = max + 1 - got;
		err = adbg_target_read(t, addr + got, s + got, chunk);
		if (err) {
			free(s);
			return err;
		}
		nul = memchr(s + got, '\0', chunk);
		if (nul) {
			*ret = s;
			return NULL;
		}
		got += chunk;
	}
	free(s);
	return adbg_error_create(ADBG_ERR_BAD_DATA, "string at %#" PRIx64 " longer than %zu bytes",
				 addr, max);
}

struct adbg_error *adbg_target_write(struct adbg_target *t, uint64_t addr, const void *buf,
				     size_t len)
{
	if (!t->ops->write)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED, "this target cannot be written");
	cache_forget(t->cache, addr, len);
	return t->ops->write(t, addr, buf, len);
}

struct adbg_error *adbg_target_freeze(struct adbg_target *t)
{
	struct adbg_error *err;

	if (!t->ops->freeze || t->frozen)
		return NULL;
	cache_clear(t->cache);
	t->freeze_started_ns = adbg_now_ns();
	err = t->ops->freeze(t);
	if (err)
		return err;
	t->frozen = true;
	return NULL;
}

void adbg_target_thaw(struct adbg_target *t)
{
	if (!t->frozen)
		return;
	t->ops->thaw(t);
	t->frozen = false;
	t->stopped_ms = (double)(adbg_now_ns() - t->freeze_started_ns) / 1e6;
}

struct adbg_error *adbg_target_refresh(struct adbg_target *t)
{
	if (!t->ops->refresh)
		return NULL;
	cache_clear(t->cache);
	return t->ops->refresh(t);
}

const struct adbg_mapping *adbg_target_find_mapping(const struct adbg_target *t, uint64_t addr)
{
	size_t lo = 0, hi = t->nmaps;

	// Mappings are sorted by start and do not overlap (both /proc/PID/maps and the
	// implementations' own sort guarantee it).
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct adbg_mapping *m = &t->maps[mid];

		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

struct adbg_error *adbg_target_open_file(struct adbg_target *t, const struct adbg_mapping *m,
					 int *ret)
{
	if (!m->path)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "mapping %#" PRIx64 " has no file",
					 m->start);
	return t->ops->open_file(t, m, ret);
}
