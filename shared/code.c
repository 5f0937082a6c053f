// SPDX-License-Identifier: MIT
// Code objects: names and line numbers from co_linetable (see code.h).
#include "code.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"

// _PyCodeLocationInfoKind (Include/internal/pycore_code.h, 3.11-3.15).
enum {
	LOC_ONE_LINE0 = 10,
	LOC_ONE_LINE1 = 11,
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,
	LOC_LONG = 14,
	LOC_NONE = 15,
};

// Objects/codeobject.c scan_varint: 6-bit chunks, least significant first, bit 6 says
// another chunk follows. Bounded by the table end and by 32 bits of result.
static unsigned scan_varint(const uint8_t *p, const uint8_t *end)
{
	unsigned val = 0, shift = 0;
	uint8_t b;

	do {
		if (p >= end || shift > 30)
			return val;
		b = *p++;
		val |= (unsigned)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return val;
}

static int scan_signed_varint(const uint8_t *p, const uint8_t *end)
{
	unsigned v = scan_varint(p, end);

	return (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
}

void adbg_code_iter_init(struct adbg_code_iter *it, const uint8_t *table, size_t len,
			 int firstlineno)
{
	it->p = table;
	it->end = table + len;
	it->line = firstlineno;
	it->addr = 0;
}

bool adbg_code_iter_next(struct adbg_code_iter *it, struct adbg_code_range *ret)
{
	const uint8_t *p = it->p;
	int code, delta = 0;
	long long line, end;

	// Every entry starts with bit 7 set (Objects/locations.md); anything else means we
	// are not at an entry, so the table is over as far as we can tell.
	if (p >= it->end || !(*p & 0x80))
		return false;
	code = (*p >> 3) & 15;
	switch (code) {
	case LOC_NO_COLUMNS:
	case LOC_LONG:
		delta = scan_signed_varint(p + 1, it->end);
		break;
	case LOC_ONE_LINE1:
		delta = 1;
		break;
	case LOC_ONE_LINE2:
		delta = 2;
		break;
	default:
		// short forms, ONE_LINE0 and NONE keep the line; NONE only hides it.
		break;
	}
	line = (long long)it->line + delta;
	// Lengths count code units (2 bytes), cache entries included.
	end = (long long)it->addr + ((*p & 7) + 1) * 2;
	if (line < INT_MIN || line > INT_MAX || end > INT_MAX)
		return false;
	it->line = (int)line;
	ret->start = it->addr;
	ret->end = (int)end;
	ret->line = code == LOC_NONE ? -1 : it->line;
	it->addr = (int)end;
	// Objects/codeobject.c advance: the next entry is the next byte with bit 7 set.
	do
		p++;
	while (p < it->end && !(*p & 0x80));
	it->p = p;
	return true;
}

int adbg_code_addr2line(const uint8_t *table, size_t len, int firstlineno, int byte_offset)
{
	struct adbg_code_iter it;
	struct adbg_code_range r;

	// Objects/codeobject.c PyCode_Addr2Line: a frame that has not started (lasti -1).
	if (byte_offset < 0)
		return firstlineno;
	if (!table)
		return -1;
	adbg_code_iter_init(&it, table, len, firstlineno);
	// Each step consumes at least one byte, so this ends within len steps.
	while (adbg_code_iter_next(&it, &r)) {
		if (byte_offset < r.end)
			return byte_offset >= r.start ? r.line : -1;
	}
	return -1;
}

void adbg_code_info_deinit(struct adbg_code_info *ci)
{
	if (!ci)
		return;
	free(ci->name);
	free(ci->qualname);
	free(ci->filename);
	ci->name = ci->qualname = ci->filename = NULL;
}

// The fields of a code object that code.c reads, from one local copy.
struct code_fields {
	uint64_t name, qualname, filename, linetable;
	int32_t firstlineno;
};

static ADBG_MUST_CHECK struct adbg_error *read_fields(struct adbg_target *t,
						      const struct adbg_layout *l, uint64_t code,
						      struct code_fields *ret)
{
	const typeof(l->code_object) *co = &l->code_object;
	uint64_t offs[] = {co->name, co->qualname, co->filename, co->linetable, co->firstlineno};
	uint8_t buf[512];
	struct code_fields f;
	size_t n = 0;
	struct adbg_error *err;

	if (!code || (code & 7))
		return adbg_error_create(ADBG_ERR_BAD_DATA, "code object %#" PRIx64 " is %s", code,
					 code ? "misaligned" : "NULL");
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		if (offs[i] == ADBG_NO_FIELD || offs[i] > sizeof(buf) - 8)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "layout: code object field offset %#" PRIx64,
						 offs[i]);
		if (offs[i] + 8 > n)
			n = offs[i] + 8;
	}
	err = adbg_target_read(t, code, buf, n);
	if (err)
		return adbg_error_wrap(err, "code object at %#" PRIx64, code);
	memcpy(&f.name, buf + co->name, 8);
	memcpy(&f.qualname, buf + co->qualname, 8);
	memcpy(&f.filename, buf + co->filename, 8);
	memcpy(&f.linetable, buf + co->linetable, 8);
	memcpy(&f.firstlineno, buf + co->firstlineno, 4);
	*ret = f;
	return NULL;
}

struct adbg_error *adbg_code_read(struct adbg_target *t, const struct adbg_layout *l, uint64_t code,
				  struct adbg_code_info *ret)
{
	struct adbg_code_info ci = {0};
	struct code_fields f;
	struct adbg_error *err = read_fields(t, l, code, &f);

	if (err)
		return err;
	if ((err = adbg_obj_str(t, l, f.name, ADBG_CODE_MAX_NAME, &ci.name, NULL)) ||
	    (err = adbg_obj_str(t, l, f.qualname, ADBG_CODE_MAX_NAME, &ci.qualname, NULL)) ||
	    (err = adbg_obj_str(t, l, f.filename, ADBG_CODE_MAX_NAME, &ci.filename, NULL))) {
		adbg_code_info_deinit(&ci);
		return adbg_error_wrap(err, "code object at %#" PRIx64, code);
	}
	ci.firstlineno = f.firstlineno;
	*ret = ci;
	return NULL;
}

struct adbg_error *adbg_code_read_linetable(struct adbg_target *t, const struct adbg_layout *l,
					    uint64_t code, uint8_t **ret, size_t *len_ret)
{
	struct code_fields f;
	uint8_t *table;
	size_t len;
	bool truncated;
	struct adbg_error *err = read_fields(t, l, code, &f);

	if (err)
		return err;
	err = adbg_obj_bytes(t, l, f.linetable, ADBG_CODE_MAX_LINETABLE, &table, &len, &truncated);
	if (err)
		return adbg_error_wrap(err, "code object at %#" PRIx64 ": co_linetable", code);
	if (truncated) {
		free(table);
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "code object at %#" PRIx64
					 ": co_linetable longer than %u bytes",
					 code, ADBG_CODE_MAX_LINETABLE);
	}
	if (!len) {
		free(table);
		table = NULL;
	}
	*ret = table;
	*len_ret = len;
	return NULL;
}

struct adbg_error *adbg_code_line(struct adbg_target *t, const struct adbg_layout *l, uint64_t code,
				  int byte_offset, int *ret)
{
	struct code_fields f;
	uint8_t *table;
	size_t len;
	struct adbg_error *err = read_fields(t, l, code, &f);

	if (!err)
		err = adbg_code_read_linetable(t, l, code, &table, &len);
	if (err)
		return err;
	*ret = adbg_code_addr2line(table, len, f.firstlineno, byte_offset);
	free(table);
	return NULL;
}
