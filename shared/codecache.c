// SPDX-License-Identifier: MIT
// The per-snapshot code-object cache (see codecache.h).
#include "codecache.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "code.h"
#include "layout.h"
#include "objects.h"
#include "target.h"

// Names and paths longer than this are cut: they are for display.
#define MAX_NAME_BYTES 1024
// co_linetable larger than this is not read (real tables are a few KiB).
#define MAX_LINETABLE (1u << 20)
struct adbg_codecache {
	struct adbg_code_entry **slots; // open addressing by code address
	size_t nslots, nused;
};

static void entry_free(struct adbg_code_entry *e)
{
	free(e->linetable);
	free(e);
}

void adbg_codecache_clear(struct adbg_codecache *cc)
{
	if (!cc)
		return;
	for (size_t i = 0; i < cc->nslots; i++) {
		if (cc->slots[i])
			entry_free(cc->slots[i]);
		cc->slots[i] = NULL;
	}
	cc->nused = 0;
}

void adbg_codecache_destroy(struct adbg_codecache *cc)
{
	if (!cc)
		return;
	adbg_codecache_clear(cc);
	free(cc->slots);
	free(cc);
}

struct adbg_codecache *adbg_codecache_create(void)
{
	return calloc(1, sizeof(struct adbg_codecache));
}

static size_t slot_of(uint64_t code, size_t nslots)
{
	// Objects are 16-byte aligned; mix the bits above that.
	uint64_t h = (code >> 4) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20) & (nslots - 1);
}

static ADBG_MUST_CHECK struct adbg_error *cache_insert(struct adbg_codecache *cc,
						       struct adbg_code_entry *e)
{
	if ((cc->nused + 1) * 2 > cc->nslots) {
		size_t n = cc->nslots ? cc->nslots * 2 : 256;
		struct adbg_code_entry **ns = calloc(n, sizeof(*ns));

		if (!ns)
			return &adbg_error_nomem;
		for (size_t i = 0; i < cc->nslots; i++) {
			struct adbg_code_entry *o = cc->slots[i];
			size_t j;

			if (!o)
				continue;
			for (j = slot_of(o->code, n); ns[j]; j = (j + 1) & (n - 1))
				;
			ns[j] = o;
		}
		free(cc->slots);
		cc->slots = ns;
		cc->nslots = n;
	}
	for (size_t j = slot_of(e->code, cc->nslots);; j = (j + 1) & (cc->nslots - 1)) {
		if (!cc->slots[j]) {
			cc->slots[j] = e;
			cc->nused++;
			return NULL;
		}
	}
}

static const char *read_name(struct adbg_target *t, const struct adbg_layout *l,
			     struct adbg_arena *names, uint64_t str)
{
	struct adbg_error *err;
	const char *interned;
	char *text;

	if (!str)
		return NULL;
	err = adbg_obj_str(t, l, str, MAX_NAME_BYTES, &text, NULL);
	if (err) {
		adbg_error_destroy(err);
		return NULL;
	}
	interned = adbg_arena_strdup(names, text);
	free(text);
	return interned;
}

struct adbg_error *adbg_codecache_get(struct adbg_codecache *cc, struct adbg_target *t,
				      const struct adbg_layout *l, struct adbg_arena *names,
				      uint64_t code, const struct adbg_code_entry **ret)
{
	struct adbg_code_entry *e;
	uint64_t qualname = 0, filename = 0, linetable = 0;
	uint32_t firstlineno = 0, firsttraceable = 0;
	struct adbg_error *err;
	bool is_code = false;

	if (!code)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "frame without a code object");
	if (cc->nslots) {
		for (size_t j = slot_of(code, cc->nslots); cc->slots[j];
		     j = (j + 1) & (cc->nslots - 1)) {
			if (cc->slots[j]->code == code) {
				*ret = cc->slots[j];
				return NULL;
			}
		}
	}
	// A frame's executable may be something other than a code object (3.13+ shims
	// use None): check the type before trusting the fields.
	{
		struct adbg_obj_class cls;

		err = adbg_obj_classify(t, l, code, &cls);
		if (err)
			return adbg_error_wrap(err, "code object %#" PRIx64, code);
		is_code = cls.kind == ADBG_OBJ_CODE;
		if (!is_code)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "%#" PRIx64 " is a %s, not a code object", code,
						 cls.type_name);
	}
	err = adbg_read_u64(t, code + l->code_object.qualname, &qualname);
	if (!err)
		err = adbg_read_u64(t, code + l->code_object.filename, &filename);
	if (!err)
		err = adbg_read_u64(t, code + l->code_object.linetable, &linetable);
	if (!err)
		err = adbg_read_u32(t, code + l->code_object.firstlineno, &firstlineno);
	if (!err && l->code_object.firsttraceable != ADBG_NO_FIELD)
		err = adbg_read_u32(t, code + l->code_object.firsttraceable, &firsttraceable);
	if (err)
		return adbg_error_wrap(err, "code object %#" PRIx64, code);

	e = calloc(1, sizeof(*e));
	if (!e)
		return &adbg_error_nomem;
	e->code = code;
	e->qualname = read_name(t, l, names, qualname);
	e->filename = read_name(t, l, names, filename);
	e->firstlineno = (int)firstlineno;
	e->bytecode_addr = code + l->code_object.co_code_adaptive;
	// _co_firsttraceable counts code units (2 bytes each).
	e->firsttraceable_addr = l->code_object.firsttraceable != ADBG_NO_FIELD
					 ? e->bytecode_addr + 2ull * firsttraceable
					 : 0;
	e->last_ip = UINT64_MAX;
	if (linetable) {
		uint8_t *bytes = NULL;
		size_t len = 0;

		err = adbg_obj_bytes(t, l, linetable, MAX_LINETABLE, &bytes, &len, NULL);
		if (err) {
			// Without a table the frame still has a name; lines show as unknown.
			adbg_error_destroy(err);
		} else {
			e->linetable = bytes;
			e->linetable_len = len;
		}
	}
	err = cache_insert(cc, e);
	if (err) {
		entry_free(e);
		return err;
	}
	*ret = e;
	return NULL;
}

bool adbg_codecache_local(const struct adbg_code_entry *ce, const char *name, int *slot, bool *cell)
{
	for (unsigned i = 0; i < ce->nlocals; i++)
		if (strcmp(ce->locals[i].name, name) == 0) {
			*slot = ce->locals[i].slot;
			*cell = ce->locals[i].cell;
			return true;
		}
	return false;
}

void adbg_codecache_remember_local(const struct adbg_code_entry *ce, const char *name, int slot,
				   bool cell)
{
	// The cache owns its entries; as with last_ip, a remembered answer is not a change
	// of what the entry describes.
	struct adbg_code_entry *e = (struct adbg_code_entry *)ce;

	if (e->nlocals < ADBG_CODE_LOCALS)
		e->locals[e->nlocals++] =
			(struct adbg_code_local){.name = name, .slot = slot, .cell = cell};
}

int adbg_codecache_line(const struct adbg_code_entry *ce, uint64_t ip)
{
	struct adbg_code_entry *e = (struct adbg_code_entry *)ce;
	int64_t off;
	int line;

	if (ip == e->last_ip)
		return e->last_line;
	// 3.11/3.12 prev_instr of a frame that has not run yet points one unit before the
	// first instruction (lasti == -1): CPython reports co_firstlineno then.
	if (ip < e->bytecode_addr) {
		line = e->firstlineno;
	} else {
		off = (int64_t)(ip - e->bytecode_addr);
		if (!e->linetable || off > INT32_MAX)
			return 0;
		line = adbg_code_addr2line(e->linetable, e->linetable_len, e->firstlineno,
					   (int)off);
		if (line < 0)
			line = 0;
	}
	e->last_ip = ip;
	e->last_line = line;
	return line;
}

// Include/cpython/code.h _PyCodeArray {Py_ssize_t size; char *entries[];}. CPython's own
// reader (Modules/_remote_debugging) bounds it by MAX_TLBC_SIZE 2048.
#define MAX_TLBC 2048

struct adbg_error *adbg_codecache_main_ip(const struct adbg_code_entry *ce, struct adbg_target *t,
					  const struct adbg_layout *l, uint64_t iframe,
					  uint64_t *ip)
{
	uint64_t arr, size, copy;
	uint32_t idx;
	struct adbg_error *err;

	if (l->interpreter_frame.tlbc_index == ADBG_NO_FIELD ||
	    l->code_object.co_tlbc == ADBG_NO_FIELD)
		return NULL;
	err = adbg_read_u32(t, iframe + l->interpreter_frame.tlbc_index, &idx);
	if (err)
		return adbg_error_wrap(err, "frame %#" PRIx64 ": tlbc_index", iframe);
	if (idx == 0)
		return NULL;
	err = adbg_read_u64(t, ce->code + l->code_object.co_tlbc, &arr);
	if (!err && arr)
		err = adbg_read_u64(t, arr, &size);
	if (err)
		return adbg_error_wrap(err, "code object %#" PRIx64 ": co_tlbc", ce->code);
	if (!arr || (int32_t)idx < 0 || size > MAX_TLBC || idx >= size)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "frame %#" PRIx64 ": tlbc_index %" PRIu32
					 " outside the code object's %" PRIu64 " bytecode copies",
					 iframe, idx, arr ? size : 0);
	err = adbg_read_u64(t, arr + 8 + 8ull * idx, &copy);
	if (err)
		return adbg_error_wrap(err, "code object %#" PRIx64 ": co_tlbc[%" PRIu32 "]",
				       ce->code, idx);
	// An empty slot: the thread has no copy yet, so the frame runs the main one.
	if (copy && *ip >= copy)
		*ip = ce->bytecode_addr + (*ip - copy);
	return NULL;
}
