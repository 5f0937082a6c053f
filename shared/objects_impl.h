// SPDX-License-Identifier: MIT
// Private to the object readers (objects.c, objects_dict.c): local copies of remote objects.
//
// A remote object's fixed part is copied into a struct rbuf and its fields are pulled out
// with bounds-checked accessors (span says how many bytes the fields need); pointers are
// checked before they are chased. Nothing outside objects*.c includes this header: the
// readers' interface is objects.h.
#ifndef AIODBG_OBJECTS_IMPL_H
#define AIODBG_OBJECTS_IMPL_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "layout.h"
#include "objects.h"
#include "target.h"

// Largest fixed part of an object we copy at once. Type objects are the biggest thing
// read through it (tp_dictoffset is at 288 on 3.11-3.15).
#define RBUF_MAX 512
// Items read from the target per chunk by the sequence, set and dict walks.
#define CHUNK_ITEMS 512

// The helpers below are plain static functions, each reader file getting its own copy (as
// when they were objects.c's alone); "inline" would change what GCC inlines, and with it
// its uninitialised-value analysis of the out-parameters.

struct rbuf {
	uint64_t addr;
	size_t len;
	uint8_t data[RBUF_MAX];
};

// The end of a field [off, off + width) when it can be read through an rbuf, else cur:
// a field that does not exist or lies beyond RBUF_MAX is then refused by the accessor.
__attribute__((unused)) static size_t span(size_t cur, uint64_t off, size_t width)
{
	if (off == ADBG_NO_FIELD || off > RBUF_MAX - width)
		return cur;
	return off + width > cur ? (size_t)off + width : cur;
}

__attribute__((unused)) static struct adbg_error *check_ptr(uint64_t addr, const char *what)
{
	if (!addr)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "%s is NULL", what);
	// Every object CPython allocates is at least pointer-aligned; anything else is
	// garbage and must not be chased.
	if (addr & 7)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "%s %#" PRIx64 " is misaligned", what,
					 addr);
	return NULL;
}

__attribute__((unused)) static struct adbg_error *rbuf_read(struct adbg_target *t, uint64_t addr,
							    size_t len, struct rbuf *b)
{
	struct adbg_error *err;

	if (!len || len > sizeof(b->data))
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "layout: no readable fields (object span %zu bytes)", len);
	err = adbg_target_read(t, addr, b->data, len);
	if (err)
		return err;
	b->addr = addr;
	b->len = len;
	return NULL;
}

__attribute__((unused)) static struct adbg_error *rbuf_get(const struct rbuf *b, uint64_t off,
							   void *out, size_t n)
{
	if (off == ADBG_NO_FIELD || off > b->len || n > b->len - off)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "object at %#" PRIx64 ": field offset %#" PRIx64
					 " outside the %zu bytes read (layout)",
					 b->addr, off, b->len);
	memcpy(out, b->data + off, n);
	return NULL;
}

__attribute__((unused)) static struct adbg_error *rbuf_u64(const struct rbuf *b, uint64_t off,
							   uint64_t *ret)
{
	return rbuf_get(b, off, ret, sizeof(*ret));
}

__attribute__((unused)) static struct adbg_error *rbuf_i64(const struct rbuf *b, uint64_t off,
							   int64_t *ret)
{
	return rbuf_get(b, off, ret, sizeof(*ret));
}

__attribute__((unused)) static struct adbg_error *rbuf_u32(const struct rbuf *b, uint64_t off,
							   uint32_t *ret)
{
	return rbuf_get(b, off, ret, sizeof(*ret));
}

__attribute__((unused)) static struct adbg_error *rbuf_u8(const struct rbuf *b, uint64_t off,
							  uint8_t *ret)
{
	return rbuf_get(b, off, ret, sizeof(*ret));
}

__attribute__((unused)) static size_t cap_items(size_t max)
{
	return max > ADBG_OBJ_MAX_ITEMS ? ADBG_OBJ_MAX_ITEMS : max;
}

/** What the readers need of a type object. */
struct type_info {
	uint64_t addr;
	uint64_t flags;
	uint64_t base;
	uint64_t name;
	int64_t basicsize;
	int64_t dictoffset;
};

/** Read the type object at type (tp_name, tp_flags, tp_base, sizes, tp_dictoffset). */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_read_type(struct adbg_target *t,
						      const struct adbg_layout *l, uint64_t type,
						      struct type_info *ret);

/** Fail unless obj's type carries flag (a *_SUBCLASS bit); what names the expected type. */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_require_flag(struct adbg_target *t,
							 const struct adbg_layout *l, uint64_t obj,
							 uint64_t flag, const char *what);

#endif
