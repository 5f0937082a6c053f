// SPDX-License-Identifier: MIT
// Target-independent parts of the target layer: the page cache, typed reads, freeze/thaw
// bookkeeping and mapping lookup. The per-kind work is behind struct adbg_target_ops.
#include "target.h"
#include "readahead.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define CPAGE_SIZE ((uint64_t)4096)
#define CPAGE_MASK (~(CPAGE_SIZE - 1))
#define HUGE_PAGE ((size_t)2 << 20)
// Blocks a block address may be kept in (a set; the least recently used one is replaced).
// Direct-mapped, a walk streaming through the heap evicted the few blocks every object
// needs (the interpreter's static types, None): 2 127 distinct blocks cost 21 068 reads
// for 100k tasks; with 4 ways a streaming block replaces another streaming block.
#define CACHE_WAYS 4
// Readahead (readahead.h) while a live target is stopped: started at the RA_AFTER-th miss
// of a freeze (a small snapshot does not pay for a thread), with RA_BUFS buffers beyond
// the cache's, asking for the RA_DEPTH blocks after each miss.
#define RA_AFTER 64
#define RA_BUFS 64
#define RA_DEPTH 4

// Tags live apart from the data so that clearing the cache between snapshots touches
// a few words per slot, not the whole data area (which the kernel maps lazily).
struct cache_slot {
	uint64_t tag; // block address + 1 when valid, 0 when empty
	// the valid bytes of the block: [lo, hi) (a block a mapping starts or ends in
	// holds only part of it)
	uint32_t lo, hi;
	uint64_t used; // when last used (the cache's clock)
	unsigned char *data; // the block's bytes (traded with the readahead's buffers)
};

struct adbg_page_cache {
	unsigned shift; // log2 of the block size
	size_t nslots; // power of two, at least CACHE_WAYS
	uint64_t clock; // counts lookups, for least-recently-used replacement
	size_t last; // the slot the last read was served from (most reads follow in it)
	struct cache_slot *slots;
	unsigned char *data; // nslots + RA_BUFS blocks, huge-page aligned
	void *map; // the mapping data is in
	size_t map_len;
	// Readahead: on from freeze to thaw on targets that allow it (ra_on), started
	// after RA_AFTER misses (ra); spare holds the buffers it does not have.
	bool ra_on;
	unsigned misses;
	struct adbg_readahead *ra;
	unsigned char *spare[RA_BUFS];
};

uint64_t adbg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct adbg_error *adbg_target_alloc(const struct adbg_target_ops *ops, enum adbg_target_kind kind,
				     struct adbg_target **ret)
{
	struct adbg_target *t = calloc(1, sizeof(*t));

	if (!t)
		return &adbg_error_nomem;
	t->ops = ops;
	t->kind = kind;
	*ret = t;
	return NULL;
}

/* Stop the readahead (its buffers come back) and leave it off until asked again. */
static void cache_ra_stop(struct adbg_page_cache *c)
{
	if (!c)
		return;
	adbg_readahead_stop(c->ra, c->spare);
	c->ra = NULL;
	c->ra_on = false;
	c->misses = 0;
}

static void cache_destroy(struct adbg_page_cache *c)
{
	if (!c)
		return;
	cache_ra_stop(c);
	free(c->slots);
	munmap(c->map, c->map_len);
	free(c);
}

struct adbg_error *adbg_target_enable_cache(struct adbg_target *t, unsigned log2_block,
					    unsigned log2_slots)
{
	struct adbg_page_cache *c;
	size_t size;
	void *map;

	if (log2_block < 12 || log2_block > 24 || log2_block + log2_slots > 34 || log2_slots < 2)
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "cache of 2^%u blocks of 2^%u bytes",
					 log2_slots, log2_block);
	c = calloc(1, sizeof(*c));
	if (!c)
		return &adbg_error_nomem;
	c->shift = log2_block;
	c->nslots = (size_t)1 << log2_slots;
	size = (c->nslots + RA_BUFS) << log2_block;
	// Anonymous memory: an unused cache costs address space, not RSS. Aligned to and
	// advised for huge pages, so that filling 64 MiB faults 32 times rather than 16384
	// (page faults, not copying, were most of the cost of a large snapshot).
	c->map_len = size + HUGE_PAGE;
	map = mmap(NULL, c->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (map == MAP_FAILED || !c->slots) {
		if (map != MAP_FAILED)
			munmap(map, c->map_len);
		free(c->slots);
		free(c);
		return &adbg_error_nomem;
	}
	c->map = map;
	c->data = (unsigned char *)(((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	(void)madvise(c->data, size, MADV_HUGEPAGE); // a hint: fine to fail
	for (size_t i = 0; i < c->nslots; i++)
		c->slots[i].data = c->data + (i << log2_block);
	for (size_t i = 0; i < RA_BUFS; i++)
		c->spare[i] = c->data + ((c->nslots + i) << log2_block);
	cache_destroy(t->cache);
	t->cache = c;
	return NULL;
}

static void cache_clear(struct adbg_page_cache *c)
{
	if (!c)
		return;
	adbg_readahead_forget(c->ra);
	for (size_t i = 0; i < c->nslots; i++)
		c->slots[i] = (struct cache_slot){.data = c->slots[i].data};
}

/* The first slot of block b's set. */
static size_t cache_set(const struct adbg_page_cache *c, uint64_t b)
{
	return ((b >> c->shift) & (c->nslots / CACHE_WAYS - 1)) * CACHE_WAYS;
}

/* Whether block b is in the cache (whole or in part), without counting it as used. */
static bool cache_has(const struct adbg_page_cache *c, uint64_t b)
{
	const struct cache_slot *set = &c->slots[cache_set(c, b)];

	for (size_t w = 0; w < CACHE_WAYS; w++)
		if (set[w].tag == b + 1)
			return true;
	return false;
}

/*
 * The slot of block b holding [off, off + n) of it, else the slot to fill: an empty one,
 * else the least recently used one of the set (its tag says it does not hold b).
 */
static size_t cache_lookup(struct adbg_page_cache *c, uint64_t b, size_t off, size_t n)
{
	size_t first = cache_set(c, b), victim = first;
	const struct cache_slot *last = &c->slots[c->last];

	// Already the most recently used: no clock to advance.
	if (last->tag == b + 1 && off >= last->lo && off + n <= last->hi)
		return c->last;
	for (size_t i = first; i < first + CACHE_WAYS; i++) {
		struct cache_slot *slot = &c->slots[i];

		if (slot->tag == b + 1 && off >= slot->lo && off + n <= slot->hi) {
			slot->used = ++c->clock;
			c->last = i;
			return i;
		}
		if (slot->tag == b + 1) {
			// The block, but not the part asked for: filled again in place.
			victim = i;
			break;
		}
		if (slot->used < c->slots[victim].used)
			victim = i;
	}
	c->slots[victim].tag = 0;
	c->slots[victim].used = ++c->clock;
	c->last = victim;
	return victim;
}

static void cache_forget(struct adbg_page_cache *c, uint64_t addr, size_t len)
{
	uint64_t mask;

	if (!c || !len)
		return;
	mask = ~(((uint64_t)1 << c->shift) - 1);
	for (uint64_t b = addr & mask; b < addr + len && b >= (addr & mask);
	     b += (uint64_t)1 << c->shift) {
		struct cache_slot *set = &c->slots[cache_set(c, b)];

		for (size_t w = 0; w < CACHE_WAYS; w++)
			if (set[w].tag == b + 1)
				set[w].tag = 0;
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
	free(t->class_cache);
	free(t);
}

/* Count the time since start (0: not frozen, not counted) as copying. */
static void copy_time(struct adbg_target *t, uint64_t start)
{
	if (start)
		t->copy_ns += adbg_now_ns() - start;
}

static size_t ra_read_some(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct adbg_target *t = ctx;

	return t->ops->read_some(t, addr, buf, len);
}

/*
 * After a miss of block b: start the readahead at the RA_AFTER-th miss, and ask for the
 * blocks after b that are not cached, as far as the mapping b is in goes.
 */
static void readahead_after(struct adbg_target *t, uint64_t b)
{
	struct adbg_page_cache *c = t->cache;
	uint64_t bsize = (uint64_t)1 << c->shift;
	const struct adbg_mapping *m = adbg_target_find_mapping(t, b);

	if (!c->ra && ++c->misses == RA_AFTER)
		c->ra = adbg_readahead_start(ra_read_some, t, bsize, c->spare, RA_BUFS);
	for (unsigned k = 1; c->ra && k <= RA_DEPTH; k++) {
		uint64_t next = b + k * bsize;

		if (next < b || (t->nmaps && (!m || next >= m->end)))
			break;
		if (!cache_has(c, next))
			adbg_readahead_want(c->ra, next);
	}
}

/*
 * Fill the slot of block b so that it holds [off, off + n) of it, or fail (the caller
 * then reads uncached, for the right error). A whole block when it is readable; else the
 * part from the asked page on, as far as it is readable. The readahead's copy when it has
 * one.
 */
static bool cache_fill(struct adbg_target *t, struct cache_slot *slot, uint64_t b, size_t off,
		       size_t n)
{
	struct adbg_page_cache *c = t->cache;
	size_t bsize = (size_t)1 << c->shift, page_off = off & ~(size_t)(CPAGE_SIZE - 1), got;
	uint64_t start = 0;
	long ahead;

	slot->tag = 0;
	if (t->frozen)
		start = adbg_now_ns();
	if (c->ra_on) {
		ahead = adbg_readahead_take(c->ra, b, &slot->data);
		readahead_after(t, b);
		if (ahead >= 0 && (size_t)ahead >= off + n) {
			slot->lo = 0;
			slot->hi = (uint32_t)ahead;
			goto done;
		}
	}
	if (t->ops->read_some) {
		got = t->ops->read_some(t, b, slot->data, bsize);
		if (got >= off + n) {
			slot->lo = 0;
			slot->hi = (uint32_t)got;
		} else {
			got = page_off ? t->ops->read_some(t, b + page_off, slot->data + page_off,
							   bsize - page_off)
				       : 0;
			if (page_off + got < off + n) {
				copy_time(t, start);
				return false;
			}
			slot->lo = (uint32_t)page_off;
			slot->hi = (uint32_t)(page_off + got);
		}
	} else {
		struct adbg_error *err = t->ops->read(t, b, slot->data, bsize);

		if (err) {
			adbg_error_destroy(err);
			copy_time(t, start);
			return false;
		}
		slot->lo = 0;
		slot->hi = (uint32_t)bsize;
	}
done:
	copy_time(t, start);
	slot->tag = b + 1;
	return true;
}

/*
 * [addr, addr + len) in the block the last read was served from, or NULL. Most reads of
 * a walk (an object's fields, one after the other) land there: this answers them without
 * the set lookup and its clock.
 */
static inline const unsigned char *cache_peek(const struct adbg_page_cache *c, uint64_t addr,
					      size_t len)
{
	const struct cache_slot *last;
	uint64_t b;
	size_t off;

	if (!c)
		return NULL;
	last = &c->slots[c->last];
	b = addr & ~(((uint64_t)1 << c->shift) - 1);
	off = (size_t)(addr - b);
	if (last->tag != b + 1 || off < last->lo || off + len > last->hi)
		return NULL;
	return last->data + off;
}

struct adbg_error *adbg_target_read(struct adbg_target *t, uint64_t addr, void *buf, size_t len)
{
	struct adbg_page_cache *c = t->cache;
	unsigned char *out = buf;
	uint64_t bsize, mask;

	if (!len)
		return NULL;
	if (addr + len < addr)
		return adbg_error_fault(addr, "address %#" PRIx64 " + %zu wraps around", addr, len);
	if (!c)
		return t->ops->read(t, addr, buf, len);

	bsize = (uint64_t)1 << c->shift;
	mask = ~(bsize - 1);
	while (len) {
		uint64_t b = addr & mask;
		size_t off = addr - b;
		size_t n = bsize - off < len ? bsize - off : len;
		size_t i = cache_lookup(c, b, off, n);
		struct cache_slot *slot = &c->slots[i];

		if (!slot->tag && !cache_fill(t, slot, b, off, n))
			// Partly unreadable: read only what was asked for, uncached, so the
			// error names the right address.
			return t->ops->read(t, addr, out, len);
		memcpy(out, slot->data + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

struct adbg_error *adbg_read_u64(struct adbg_target *t, uint64_t addr, uint64_t *ret)
{
	const unsigned char *p = cache_peek(t->cache, addr, sizeof(*ret));
	uint64_t v;
	struct adbg_error *err;

	if (p) {
		memcpy(ret, p, sizeof(*ret)); // a constant size: one load
		return NULL;
	}
	err = adbg_target_read(t, addr, &v, sizeof(v));

	if (!err)
		*ret = v;
	return err;
}

struct adbg_error *adbg_read_u32(struct adbg_target *t, uint64_t addr, uint32_t *ret)
{
	const unsigned char *p = cache_peek(t->cache, addr, sizeof(*ret));
	uint32_t v;
	struct adbg_error *err;

	if (p) {
		memcpy(ret, p, sizeof(*ret)); // a constant size: one load
		return NULL;
	}
	err = adbg_target_read(t, addr, &v, sizeof(v));

	if (!err)
		*ret = v;
	return err;
}

struct adbg_error *adbg_read_u8(struct adbg_target *t, uint64_t addr, uint8_t *ret)
{
	const unsigned char *p = cache_peek(t->cache, addr, sizeof(*ret));
	uint8_t v;
	struct adbg_error *err;

	if (p) {
		*ret = *p;
		return NULL;
	}
	err = adbg_target_read(t, addr, &v, sizeof(v));
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
	if (t->cache)
		adbg_readahead_forget(t->cache->ra);
	t->generation++;
	return t->ops->write(t, addr, buf, len);
}

struct adbg_error *adbg_target_freeze(struct adbg_target *t)
{
	struct adbg_error *err;

	if (!t->ops->freeze || t->frozen)
		return NULL;
	cache_clear(t->cache);
	t->generation++;
	t->freeze_started_ns = adbg_now_ns();
	t->copy_ns = 0;
	t->freeze_transient = false;
	err = t->ops->freeze(t);
	if (err)
		return err;
	t->frozen = true;
	if (t->ops->read_some_threadsafe)
		adbg_target_readahead(t, true);
	return NULL;
}

void adbg_target_thaw(struct adbg_target *t)
{
	if (!t->frozen)
		return;
	// Joined before the target runs: nothing copies a moving process.
	adbg_target_readahead(t, false);
	t->ops->thaw(t);
	t->frozen = false;
	t->stopped_ms = (double)(adbg_now_ns() - t->freeze_started_ns) / 1e6;
	t->copy_ms = (double)t->copy_ns / 1e6;
}

void adbg_target_readahead(struct adbg_target *t, bool on)
{
	struct adbg_page_cache *c = t->cache;

	if (!c || !t->ops->read_some || c->shift < 16)
		return;
	if (!on) {
		cache_ra_stop(c);
		return;
	}
	c->ra_on = true;
	c->misses = 0;
}

void adbg_target_readahead_stats(const struct adbg_target *t, uint64_t *copied, uint64_t *taken)
{
	adbg_readahead_stats(t->cache ? t->cache->ra : NULL, copied, taken);
}

struct adbg_error *adbg_target_refresh(struct adbg_target *t)
{
	if (!t->ops->refresh)
		return NULL;
	cache_clear(t->cache);
	t->generation++;
	return t->ops->refresh(t);
}

bool adbg_auxv_get(const void *auxv, size_t len, uint64_t type, uint64_t *ret)
{
	const unsigned char *p = auxv;

	for (size_t off = 0; p && off + 16 <= len; off += 16) {
		uint64_t a_type, a_val;

		memcpy(&a_type, p + off, 8);
		memcpy(&a_val, p + off + 8, 8);
		if (a_type == 0) // AT_NULL
			break;
		if (a_type == type) {
			*ret = a_val;
			return true;
		}
	}
	return false;
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
