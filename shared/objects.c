// SPDX-License-Identifier: MIT
// Readers for Python objects in target memory (see objects.h): copy, check, decode.
#include "objects.h"
#include "objects_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Objects/longobject.c (3.11-3.15): 30-bit digits stored in uint32_t.
#define LONG_SHIFT 30
#define LONG_DIGIT_MASK ((1u << LONG_SHIFT) - 1)

// Read count pointer-sized words at addr into out, in chunks.
static ADBG_MUST_CHECK struct adbg_error *read_words(struct adbg_target *t, uint64_t addr,
						     size_t count, uint64_t *out)
{
	size_t done = 0;

	while (done < count) {
		size_t n = count - done > CHUNK_ITEMS ? CHUNK_ITEMS : count - done;
		struct adbg_error *err = adbg_target_read(t, addr + done * 8, out + done, n * 8);

		if (err)
			return err;
		done += n;
	}
	return NULL;
}

// ---------------------------------------------------------------------------------------
// Types.

struct adbg_error *adbg_obj_read_type(struct adbg_target *t, const struct adbg_layout *l,
				      uint64_t type, struct type_info *ret)
{
	const typeof(l->type_object) *to = &l->type_object;
	struct type_info ti = {.addr = type};
	struct rbuf b;
	size_t n = 0;
	struct adbg_error *err = check_ptr(type, "type");

	if (err)
		return err;
	n = span(n, to->tp_name, 8);
	n = span(n, to->tp_flags, 8);
	n = span(n, to->tp_base, 8);
	n = span(n, to->tp_basicsize, 8);
	n = span(n, to->tp_dictoffset, 8);
	if ((err = rbuf_read(t, type, n, &b)) || (err = rbuf_u64(&b, to->tp_name, &ti.name)) ||
	    (err = rbuf_u64(&b, to->tp_flags, &ti.flags)) ||
	    (err = rbuf_u64(&b, to->tp_base, &ti.base)) ||
	    (err = rbuf_i64(&b, to->tp_basicsize, &ti.basicsize)) ||
	    (err = rbuf_i64(&b, to->tp_dictoffset, &ti.dictoffset)))
		return adbg_error_wrap(err, "type at %#" PRIx64, type);
	*ret = ti;
	return NULL;
}

// Copy tp_name into buf (cut to fit).
static ADBG_MUST_CHECK struct adbg_error *
read_type_name(struct adbg_target *t, const struct type_info *ti, char *buf, size_t size)
{
	char *name;
	struct adbg_error *err;

	// tp_name is a char * and need not be aligned; only NULL is refused.
	if (!ti->name)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "type at %#" PRIx64 ": tp_name is NULL",
					 ti->addr);
	err = adbg_read_cstr(t, ti->name, ADBG_OBJ_MAX_TYPE_NAME, &name);
	if (err)
		return adbg_error_wrap(err, "type at %#" PRIx64 ": tp_name", ti->addr);
	snprintf(buf, size, "%s", name);
	free(name);
	return NULL;
}

struct adbg_error *adbg_obj_type(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj,
				 uint64_t *ret)
{
	uint64_t type;
	struct adbg_error *err = check_ptr(obj, "object");

	if (!err)
		err = adbg_read_u64(t, obj + l->pyobject.ob_type, &type);
	if (!err)
		err = check_ptr(type, "ob_type");
	if (err)
		return adbg_error_wrap(err, "object at %#" PRIx64, obj);
	*ret = type;
	return NULL;
}

struct adbg_error *adbg_obj_tp_name(struct adbg_target *t, const struct adbg_layout *l,
				    uint64_t type, char **ret)
{
	char buf[ADBG_OBJ_MAX_TYPE_NAME + 1];
	struct type_info ti;
	struct adbg_error *err = adbg_obj_read_type(t, l, type, &ti);
	char *s;

	if (!err)
		err = read_type_name(t, &ti, buf, sizeof(buf));
	if (err)
		return err;
	s = strdup(buf);
	if (!s)
		return &adbg_error_nomem;
	*ret = s;
	return NULL;
}

struct adbg_error *adbg_obj_type_name(struct adbg_target *t, const struct adbg_layout *l,
				      uint64_t obj, char **ret)
{
	uint64_t type;
	struct adbg_error *err = adbg_obj_type(t, l, obj, &type);

	if (!err)
		err = adbg_obj_tp_name(t, l, type, ret);
	return adbg_error_wrap(err, "object at %#" PRIx64, obj);
}

struct adbg_error *adbg_obj_type_flags(struct adbg_target *t, const struct adbg_layout *l,
				       uint64_t type, uint64_t *ret)
{
	struct type_info ti;
	struct adbg_error *err = adbg_obj_read_type(t, l, type, &ti);

	if (err)
		return err;
	*ret = ti.flags;
	return NULL;
}

struct adbg_error *adbg_obj_has_type_flags(struct adbg_target *t, const struct adbg_layout *l,
					   uint64_t obj, uint64_t flags, bool *ret)
{
	uint64_t type, tf;
	struct adbg_error *err = adbg_obj_type(t, l, obj, &type);

	if (!err)
		err = adbg_obj_type_flags(t, l, type, &tf);
	if (err)
		return err;
	// A flag the layout does not know (0) never matches.
	*ret = flags && (tf & flags) == flags;
	return NULL;
}

struct adbg_error *adbg_obj_is_subtype(struct adbg_target *t, const struct adbg_layout *l,
				       uint64_t type, uint64_t base, bool *ret)
{
	uint64_t seen[ADBG_OBJ_MAX_TYPE_DEPTH];
	uint64_t cur = type;
	unsigned depth;

	// tp_base is the "solid base": the chain through which instance layouts are
	// inherited (Objects/typeobject.c best_base), which is what a C-level check needs.
	// Mixins reachable only through tp_mro are not followed.
	for (depth = 0; depth < ADBG_OBJ_MAX_TYPE_DEPTH; depth++) {
		struct type_info ti;
		struct adbg_error *err;

		if (cur == base) {
			*ret = true;
			return NULL;
		}
		for (unsigned i = 0; i < depth; i++)
			if (seen[i] == cur)
				return adbg_error_create(ADBG_ERR_BAD_DATA,
							 "type at %#" PRIx64
							 ": tp_base chain loops at %#" PRIx64,
							 type, cur);
		seen[depth] = cur;
		err = adbg_obj_read_type(t, l, cur, &ti);
		if (err)
			return adbg_error_wrap(err, "type at %#" PRIx64 ": walking tp_base", type);
		if (!ti.base) {
			*ret = false;
			return NULL;
		}
		cur = ti.base;
	}
	return adbg_error_create(ADBG_ERR_BAD_DATA,
				 "type at %#" PRIx64 ": tp_base chain longer than %d", type,
				 ADBG_OBJ_MAX_TYPE_DEPTH);
}

struct adbg_error *adbg_obj_is_instance(struct adbg_target *t, const struct adbg_layout *l,
					uint64_t obj, uint64_t type, bool *ret)
{
	uint64_t ot;
	struct adbg_error *err = adbg_obj_type(t, l, obj, &ot);

	if (err)
		return err;
	return adbg_obj_is_subtype(t, l, ot, type, ret);
}

// Builtins recognised by the name of a static type (those without a tp_flags bit).
// Names from the tp_name of each type in Objects/*.c, 3.11-3.15.
static const struct {
	const char *name;
	enum adbg_obj_kind kind;
} named_kinds[] = {
	{"NoneType", ADBG_OBJ_NONE},
	{"bool", ADBG_OBJ_BOOL},
	{"float", ADBG_OBJ_FLOAT},
	{"set", ADBG_OBJ_SET},
	{"frozenset", ADBG_OBJ_FROZENSET},
	{"weakref.ReferenceType", ADBG_OBJ_WEAKREF},
	{"weakref", ADBG_OBJ_WEAKREF},
	{"module", ADBG_OBJ_MODULE},
	{"code", ADBG_OBJ_CODE},
	{"ellipsis", ADBG_OBJ_ELLIPSIS},
	{"NotImplementedType", ADBG_OBJ_NOTIMPLEMENTED},
};

static enum adbg_obj_kind kind_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(named_kinds) / sizeof(named_kinds[0]); i++)
		if (!strcmp(name, named_kinds[i].name))
			return named_kinds[i].kind;
	return ADBG_OBJ_OTHER;
}

static ADBG_MUST_CHECK struct adbg_error *classify(struct adbg_target *t,
						   const struct adbg_layout *l, uint64_t obj,
						   struct adbg_obj_class *ret)
{
	const typeof(l->tp_flags_bits) *fb = &l->tp_flags_bits;
	static const struct {
		size_t bit_offset;
		enum adbg_obj_kind kind;
		const char *name;
	} flag_kinds[] = {
		{offsetof(typeof(*fb), long_subclass), ADBG_OBJ_INT, "int"},
		{offsetof(typeof(*fb), unicode_subclass), ADBG_OBJ_STR, "str"},
		{offsetof(typeof(*fb), bytes_subclass), ADBG_OBJ_BYTES, "bytes"},
		{offsetof(typeof(*fb), tuple_subclass), ADBG_OBJ_TUPLE, "tuple"},
		{offsetof(typeof(*fb), list_subclass), ADBG_OBJ_LIST, "list"},
		{offsetof(typeof(*fb), dict_subclass), ADBG_OBJ_DICT, "dict"},
		{offsetof(typeof(*fb), type_subclass), ADBG_OBJ_TYPE, "type"},
	};
	struct adbg_obj_class c = {.kind = ADBG_OBJ_OTHER};
	struct type_info ti, cur;
	char name[ADBG_OBJ_MAX_TYPE_NAME + 1];
	struct adbg_error *err = adbg_obj_type(t, l, obj, &c.type);
	unsigned depth;

	if (!err)
		err = adbg_obj_read_type(t, l, c.type, &ti);
	if (!err)
		err = read_type_name(t, &ti, name, sizeof(name));
	if (err)
		return adbg_error_wrap(err, "object at %#" PRIx64, obj);
	c.tp_flags = ti.flags;
	snprintf(c.type_name, sizeof(c.type_name), "%.*s", (int)sizeof(c.type_name) - 1, name);
	bool heap = fb->heaptype && (ti.flags & fb->heaptype);

	for (size_t i = 0; i < sizeof(flag_kinds) / sizeof(flag_kinds[0]); i++) {
		uint64_t bit;

		memcpy(&bit, (const char *)fb + flag_kinds[i].bit_offset, sizeof(bit));
		if (bit && (ti.flags & bit)) {
			c.kind = flag_kinds[i].kind;
			c.exact = !heap && !strcmp(name, flag_kinds[i].name);
			// bool is the one static int subclass with a repr of its own.
			if (c.kind == ADBG_OBJ_INT && !heap && !strcmp(name, "bool")) {
				c.kind = ADBG_OBJ_BOOL;
				c.exact = true;
			}
			*ret = c;
			return NULL;
		}
	}

	// Other builtins: the first static type on the tp_base chain names it, so that a
	// class statement ("class float: ...") is never taken for the builtin.
	cur = ti;
	for (depth = 0; heap && depth < ADBG_OBJ_MAX_TYPE_DEPTH; depth++) {
		if (!cur.base)
			break;
		err = adbg_obj_read_type(t, l, cur.base, &cur);
		if (err)
			return adbg_error_wrap(err, "object at %#" PRIx64 ": walking tp_base", obj);
		heap = cur.flags & fb->heaptype;
	}
	if (heap) {
		// Ran out of bases (or depth) without reaching a static type.
		*ret = c;
		return NULL;
	}
	if (cur.addr != ti.addr) {
		err = read_type_name(t, &cur, name, sizeof(name));
		if (err)
			return adbg_error_wrap(err, "object at %#" PRIx64, obj);
	}
	c.kind = kind_by_name(name);
	c.exact = c.kind != ADBG_OBJ_OTHER && cur.addr == ti.addr;
	*ret = c;
	return NULL;
}

// Classes of the types seen in one generation of the target's memory (a snapshot): a
// class depends on its type alone, and reading it (the type, its name, its bases) for
// each of a million objects was a fifth of a large snapshot.
#define CLASS_CACHE 256

struct class_entry {
	uint64_t generation; // the target's generation + 1 when valid
	struct adbg_obj_class c;
};

struct adbg_error *adbg_obj_classify(struct adbg_target *t, const struct adbg_layout *l,
				     uint64_t obj, struct adbg_obj_class *ret)
{
	struct class_entry *e = NULL;
	uint64_t type;
	struct adbg_error *err = adbg_obj_type(t, l, obj, &type);

	if (err)
		return adbg_error_wrap(err, "object at %#" PRIx64, obj);
	if (!t->class_cache)
		t->class_cache = calloc(CLASS_CACHE, sizeof(struct class_entry));
	if (t->class_cache) {
		e = &((struct class_entry *)t->class_cache)[(type >> 4) % CLASS_CACHE];
		if (e->generation == t->generation + 1 && e->c.type == type) {
			*ret = e->c;
			return NULL;
		}
	}
	err = classify(t, l, obj, ret);
	if (!err && e && ret->type == type)
		*e = (struct class_entry){.generation = t->generation + 1, .c = *ret};
	return err;
}

struct adbg_error *adbg_obj_require_flag(struct adbg_target *t, const struct adbg_layout *l,
					 uint64_t obj, uint64_t flag, const char *what)
{
	bool ok;
	struct adbg_error *err = adbg_obj_has_type_flags(t, l, obj, flag, &ok);

	if (err)
		return err;
	if (!ok)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "object at %#" PRIx64 " is not a %s",
					 obj, what);
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *require_kind(struct adbg_target *t,
						       const struct adbg_layout *l, uint64_t obj,
						       enum adbg_obj_kind k1, enum adbg_obj_kind k2,
						       const char *what)
{
	struct adbg_obj_class c;
	struct adbg_error *err = adbg_obj_classify(t, l, obj, &c);

	if (err)
		return err;
	if (c.kind != k1 && c.kind != k2)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "object at %#" PRIx64 " is a %s, not a %s", obj,
					 c.type_name, what);
	return NULL;
}

// ---------------------------------------------------------------------------------------
// str

struct str_info {
	uint64_t addr;
	uint64_t length;
	unsigned kind;
	uint64_t data;
};

static ADBG_MUST_CHECK struct adbg_error *read_str_info(struct adbg_target *t,
							const struct adbg_layout *l, uint64_t obj,
							struct str_info *ret)
{
	const typeof(l->unicode_object) *uo = &l->unicode_object;
	struct str_info si = {.addr = obj};
	struct rbuf b;
	int64_t length;
	uint32_t state, mask;
	size_t n = 0;
	struct adbg_error *err =
		adbg_obj_require_flag(t, l, obj, l->tp_flags_bits.unicode_subclass, "str");

	if (err)
		return err;
	n = span(n, uo->length, 8);
	n = span(n, uo->state, 4);
	if ((err = rbuf_read(t, obj, n, &b)) || (err = rbuf_i64(&b, uo->length, &length)) ||
	    (err = rbuf_u32(&b, uo->state, &state)))
		return adbg_error_wrap(err, "str at %#" PRIx64, obj);
	if (length < 0 || (uint64_t)length > (1ull << 48))
		return adbg_error_create(ADBG_ERR_BAD_DATA, "str at %#" PRIx64 ": length %" PRId64,
					 obj, length);
	si.length = (uint64_t)length;
	// The mask is accepted unshifted (7) or in place (7 << kind_shift).
	mask = uo->kind_mask;
	if (mask & ~7u)
		mask >>= uo->kind_shift;
	si.kind = (state >> uo->kind_shift) & mask;
	if (si.kind != 1 && si.kind != 2 && si.kind != 4)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "str at %#" PRIx64 ": kind %u in state %#x", obj, si.kind,
					 state);
	// Include/cpython/unicodeobject.h: compact ASCII data follows PyASCIIObject,
	// other compact data follows PyCompactUnicodeObject, legacy strings (3.11 and
	// str subclasses made the old way) point to it from PyUnicodeObject.data.
	if (state & uo->compact_bit) {
		if (state & uo->ascii_bit) {
			if (si.kind != 1)
				return adbg_error_create(ADBG_ERR_BAD_DATA,
							 "str at %#" PRIx64 ": ASCII with kind %u",
							 obj, si.kind);
			si.data = obj + uo->asciiobject_size;
		} else {
			si.data = obj + uo->compactunicodeobject_size;
		}
	} else {
		err = adbg_read_u64(t, obj + uo->compactunicodeobject_size, &si.data);
		if (err)
			return adbg_error_wrap(err, "str at %#" PRIx64 ": data pointer", obj);
		if (!si.data)
			return adbg_error_create(ADBG_ERR_UNSUPPORTED,
						 "str at %#" PRIx64 ": legacy string not ready",
						 obj);
	}
	*ret = si;
	return NULL;
}

// Read the first n code points of si into a malloc'd array.
static ADBG_MUST_CHECK struct adbg_error *
read_codepoints(struct adbg_target *t, const struct str_info *si, size_t n, uint32_t **ret)
{
	uint32_t *cps = malloc((n ? n : 1) * sizeof(*cps));
	uint8_t raw[4096];
	size_t done = 0;

	if (!cps)
		return &adbg_error_nomem;
	while (done < n) {
		size_t cnt = sizeof(raw) / si->kind;
		struct adbg_error *err;

		if (cnt > n - done)
			cnt = n - done;
		err = adbg_target_read(t, si->data + done * si->kind, raw, cnt * si->kind);
		if (err) {
			free(cps);
			return adbg_error_wrap(err, "str at %#" PRIx64 ": characters", si->addr);
		}
		for (size_t i = 0; i < cnt; i++) {
			if (si->kind == 1) {
				cps[done + i] = raw[i];
			} else if (si->kind == 2) {
				uint16_t v;

				memcpy(&v, raw + 2 * i, 2);
				cps[done + i] = v;
			} else {
				memcpy(&cps[done + i], raw + 4 * i, 4);
			}
		}
		done += cnt;
	}
	*ret = cps;
	return NULL;
}

size_t adbg_obj_utf8_encode(uint32_t cp, char *out)
{
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static ADBG_MUST_CHECK struct adbg_error *str_to_utf8(struct adbg_target *t,
						      const struct str_info *si, size_t max_bytes,
						      char **ret, bool *truncated_ret)
{
	uint32_t *cps;
	size_t n, i, o = 0;
	char *out;
	struct adbg_error *err;

	if (max_bytes > ADBG_OBJ_MAX_STR)
		max_bytes = ADBG_OBJ_MAX_STR;
	// Every code point takes at least one byte of UTF-8.
	n = si->length < max_bytes ? (size_t)si->length : max_bytes;
	err = read_codepoints(t, si, n, &cps);
	if (err)
		return err;
	out = malloc((n * 4 < max_bytes ? n * 4 : max_bytes) + 1);
	if (!out) {
		free(cps);
		return &adbg_error_nomem;
	}
	for (i = 0; i < n; i++) {
		char enc[4];
		size_t k = adbg_obj_utf8_encode(cps[i], enc);

		if (k > max_bytes - o)
			break;
		memcpy(out + o, enc, k);
		o += k;
	}
	out[o] = '\0';
	free(cps);
	if (truncated_ret)
		*truncated_ret = i < si->length;
	*ret = out;
	return NULL;
}

struct adbg_error *adbg_obj_str(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj,
				size_t max_bytes, char **ret, bool *truncated_ret)
{
	struct str_info si;
	struct adbg_error *err = read_str_info(t, l, obj, &si);

	if (!err)
		err = str_to_utf8(t, &si, max_bytes, ret, truncated_ret);
	return err;
}

struct adbg_error *adbg_obj_str_codepoints(struct adbg_target *t, const struct adbg_layout *l,
					   uint64_t obj, size_t max, uint32_t **ret, size_t *n_ret,
					   uint64_t *length_ret)
{
	struct str_info si;
	size_t n;
	struct adbg_error *err = read_str_info(t, l, obj, &si);

	if (err)
		return err;
	if (max > ADBG_OBJ_MAX_STR)
		max = ADBG_OBJ_MAX_STR;
	n = si.length < max ? (size_t)si.length : max;
	err = read_codepoints(t, &si, n, ret);
	if (err)
		return err;
	*n_ret = n;
	*length_ret = si.length;
	return NULL;
}

static size_t utf8_count(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

struct adbg_error *adbg_obj_str_equals(struct adbg_target *t, const struct adbg_layout *l,
				       uint64_t obj, const char *s, bool *ret)
{
	struct str_info si;
	bool ok, truncated;
	char *text;
	size_t slen = strlen(s);
	struct adbg_error *err =
		adbg_obj_has_type_flags(t, l, obj, l->tp_flags_bits.unicode_subclass, &ok);

	if (err)
		return err;
	if (!ok) {
		*ret = false;
		return NULL;
	}
	err = read_str_info(t, l, obj, &si);
	if (err)
		return err;
	// Cheap test first: the number of code points.
	if (si.length != utf8_count(s)) {
		*ret = false;
		return NULL;
	}
	err = str_to_utf8(t, &si, slen, &text, &truncated);
	if (err)
		return err;
	*ret = !truncated && !strcmp(text, s);
	free(text);
	return NULL;
}

// ---------------------------------------------------------------------------------------
// int, float, bool, bytes

struct int_info {
	bool negative;
	uint64_t ndigits;
	uint64_t digits;
};

static ADBG_MUST_CHECK struct adbg_error *read_int_info(struct adbg_target *t,
							const struct adbg_layout *l, uint64_t obj,
							struct int_info *ret)
{
	const typeof(l->long_object) *lo = &l->long_object;
	struct int_info ii = {.digits = obj + lo->ob_digit};
	struct rbuf b;
	struct adbg_error *err =
		adbg_obj_require_flag(t, l, obj, l->tp_flags_bits.long_subclass, "int");

	if (err)
		return err;
	if ((err = rbuf_read(t, obj, span(0, lo->lv_tag, 8), &b)))
		return adbg_error_wrap(err, "int at %#" PRIx64, obj);
	if (lo->has_lv_tag) {
		uint64_t tag, sign;

		if ((err = rbuf_u64(&b, lo->lv_tag, &tag)))
			return adbg_error_wrap(err, "int at %#" PRIx64, obj);
		// The sign bits and the digit count's shift are the layout's (lv_sign_*).
		sign = tag & lo->lv_sign_mask;
		if (sign && sign != lo->lv_sign_zero && sign != lo->lv_sign_negative)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "int at %#" PRIx64 ": bad lv_tag %#" PRIx64, obj,
						 tag);
		ii.negative = sign == lo->lv_sign_negative;
		ii.ndigits = sign == lo->lv_sign_zero ? 0 : tag >> lo->lv_size_shift;
	} else {
		// 3.11: ob_size is the signed digit count.
		int64_t size;

		if ((err = rbuf_i64(&b, lo->lv_tag, &size)))
			return adbg_error_wrap(err, "int at %#" PRIx64, obj);
		ii.negative = size < 0;
		ii.ndigits = size < 0 ? -(uint64_t)size : (uint64_t)size;
	}
	if (ii.ndigits > (1ull << 40))
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "int at %#" PRIx64 ": %" PRIu64 " digits", obj,
					 ii.ndigits);
	*ret = ii;
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *read_digits(struct adbg_target *t, uint64_t obj,
						      const struct int_info *ii, uint32_t *out)
{
	struct adbg_error *err = adbg_target_read(t, ii->digits, out, ii->ndigits * 4);

	if (err)
		return adbg_error_wrap(err, "int at %#" PRIx64 ": digits", obj);
	for (uint64_t i = 0; i < ii->ndigits; i++)
		if (out[i] > LONG_DIGIT_MASK)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "int at %#" PRIx64 ": digit %" PRIu64
						 " is %#x (over 30 bits)",
						 obj, i, out[i]);
	return NULL;
}

struct adbg_error *adbg_obj_int(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj,
				int64_t *ret)
{
	struct int_info ii;
	uint32_t d[3] = {0, 0, 0};
	uint64_t mag;
	struct adbg_error *err = read_int_info(t, l, obj, &ii);

	if (err)
		return err;
	// Three 30-bit digits hold 90 bits; int64 needs at most 63 of them.
	if (ii.ndigits > 3)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "int at %#" PRIx64 " does not fit in 64 bits", obj);
	err = read_digits(t, obj, &ii, d);
	if (err)
		return err;
	if (d[2] >= 16)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "int at %#" PRIx64 " does not fit in 64 bits", obj);
	mag = (uint64_t)d[0] | (uint64_t)d[1] << LONG_SHIFT | (uint64_t)d[2] << (2 * LONG_SHIFT);
	if (ii.negative ? mag > (1ull << 63) : mag > (uint64_t)INT64_MAX)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "int at %#" PRIx64 " does not fit in 64 bits", obj);
	*ret = ii.negative ? (int64_t)(0 - mag) : (int64_t)mag;
	return NULL;
}

struct adbg_error *adbg_obj_int_str(struct adbg_target *t, const struct adbg_layout *l,
				    uint64_t obj, char **ret)
{
	struct int_info ii;
	uint32_t *d, *dec;
	size_t ndec = 0, len, o;
	char *s;
	struct adbg_error *err = read_int_info(t, l, obj, &ii);

	if (err)
		return err;
	if (ii.ndigits > ADBG_OBJ_MAX_INT_DIGITS) {
		uint32_t top;
		unsigned bits = 0;

		err = adbg_read_u32(t, ii.digits + (ii.ndigits - 1) * 4, &top);
		if (err)
			return adbg_error_wrap(err, "int at %#" PRIx64 ": digits", obj);
		while (bits < 32 && (top >> bits))
			bits++;
		if (asprintf(&s, "<int too large: %" PRIu64 " bits>",
			     (ii.ndigits - 1) * LONG_SHIFT + bits) < 0)
			return &adbg_error_nomem;
		*ret = s;
		return NULL;
	}
	d = malloc((ii.ndigits + 1) * sizeof(*d));
	// Each 30-bit digit adds a little over one base-10^9 limb (30 log10(2) / 9 < 1.004).
	dec = malloc((ii.ndigits * 2 + 2) * sizeof(*dec));
	if (!d || !dec) {
		free(d);
		free(dec);
		return &adbg_error_nomem;
	}
	err = read_digits(t, obj, &ii, d);
	if (err) {
		free(d);
		free(dec);
		return err;
	}
	// Schoolbook base conversion, most significant digit first (like
	// Objects/longobject.c long_to_decimal_string, without its fast paths).
	for (uint64_t i = ii.ndigits; i-- > 0;) {
		uint64_t carry = d[i];

		for (size_t j = 0; j < ndec; j++) {
			uint64_t z = ((uint64_t)dec[j] << LONG_SHIFT) + carry;

			carry = z / 1000000000u;
			dec[j] = (uint32_t)(z % 1000000000u);
		}
		while (carry) {
			dec[ndec++] = (uint32_t)(carry % 1000000000u);
			carry /= 1000000000u;
		}
	}
	free(d);
	len = 2 + (ndec ? ndec * 9 : 1);
	s = malloc(len + 1);
	if (!s) {
		free(dec);
		return &adbg_error_nomem;
	}
	o = 0;
	if (ii.negative && ndec)
		s[o++] = '-';
	if (!ndec) {
		s[o++] = '0';
	} else {
		o += (size_t)sprintf(s + o, "%u", dec[ndec - 1]);
		for (size_t j = ndec - 1; j-- > 0;)
			o += (size_t)sprintf(s + o, "%09u", dec[j]);
	}
	s[o] = '\0';
	free(dec);
	*ret = s;
	return NULL;
}

struct adbg_error *adbg_obj_float(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj,
				  double *ret)
{
	struct rbuf b;
	double v;
	struct adbg_error *err = require_kind(t, l, obj, ADBG_OBJ_FLOAT, ADBG_OBJ_FLOAT, "float");

	if (err)
		return err;
	if ((err = rbuf_read(t, obj, span(0, l->float_object.ob_fval, 8), &b)) ||
	    (err = rbuf_get(&b, l->float_object.ob_fval, &v, sizeof(v))))
		return adbg_error_wrap(err, "float at %#" PRIx64, obj);
	*ret = v;
	return NULL;
}

struct adbg_error *adbg_obj_bool(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj,
				 bool *ret)
{
	int64_t v;
	struct adbg_error *err = require_kind(t, l, obj, ADBG_OBJ_BOOL, ADBG_OBJ_BOOL, "bool");

	if (!err)
		err = adbg_obj_int(t, l, obj, &v);
	if (err)
		return err;
	*ret = v != 0;
	return NULL;
}

struct adbg_error *adbg_obj_is_none(struct adbg_target *t, const struct adbg_layout *l,
				    uint64_t obj, bool *ret)
{
	struct adbg_obj_class c;
	struct adbg_error *err = adbg_obj_classify(t, l, obj, &c);

	if (err)
		return err;
	*ret = c.kind == ADBG_OBJ_NONE;
	return NULL;
}

struct adbg_error *adbg_obj_bytes(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj,
				  size_t max, uint8_t **ret, size_t *len_ret, bool *truncated_ret)
{
	const typeof(l->bytes_object) *bo = &l->bytes_object;
	struct rbuf b;
	int64_t size;
	size_t n;
	uint8_t *data;
	struct adbg_error *err =
		adbg_obj_require_flag(t, l, obj, l->tp_flags_bits.bytes_subclass, "bytes");

	if (err)
		return err;
	if ((err = rbuf_read(t, obj, span(0, bo->ob_size, 8), &b)) ||
	    (err = rbuf_i64(&b, bo->ob_size, &size)))
		return adbg_error_wrap(err, "bytes at %#" PRIx64, obj);
	if (size < 0)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "bytes at %#" PRIx64 ": size %" PRId64,
					 obj, size);
	if (max > ADBG_OBJ_MAX_STR)
		max = ADBG_OBJ_MAX_STR;
	n = (uint64_t)size < max ? (size_t)size : max;
	data = malloc(n + 1);
	if (!data)
		return &adbg_error_nomem;
	err = n ? adbg_target_read(t, obj + bo->ob_sval, data, n) : NULL;
	if (err) {
		free(data);
		return adbg_error_wrap(err, "bytes at %#" PRIx64 ": data", obj);
	}
	data[n] = 0;
	if (truncated_ret)
		*truncated_ret = n < (uint64_t)size;
	*len_ret = n;
	*ret = data;
	return NULL;
}

// ---------------------------------------------------------------------------------------
// tuple, list, set

void adbg_obj_items_deinit(struct adbg_obj_items *items)
{
	if (!items)
		return;
	free(items->items);
	items->items = NULL;
	items->n = 0;
}

void adbg_obj_dict_items_deinit(struct adbg_obj_dict_items *items)
{
	if (!items)
		return;
	free(items->pairs);
	items->pairs = NULL;
	items->n = 0;
}

// Read a PyVarObject-style sequence: size at size_off, items at (inline ? obj + items_off
// : *(obj + items_off)).
static ADBG_MUST_CHECK struct adbg_error *seq_items(struct adbg_target *t, uint64_t obj,
						    uint64_t size_off, uint64_t items_off,
						    bool inline_items, size_t max,
						    struct adbg_obj_items *ret)
{
	struct adbg_obj_items it = {0};
	struct rbuf b;
	int64_t size;
	uint64_t items;
	size_t n = 0;
	struct adbg_error *err;

	n = span(n, size_off, 8);
	if (!inline_items)
		n = span(n, items_off, 8);
	if ((err = rbuf_read(t, obj, n, &b)) || (err = rbuf_i64(&b, size_off, &size)))
		return err;
	if (size < 0 || (uint64_t)size > (1ull << 40))
		return adbg_error_create(ADBG_ERR_BAD_DATA, "size %" PRId64, size);
	if (inline_items) {
		items = obj + items_off;
	} else {
		if ((err = rbuf_u64(&b, items_off, &items)))
			return err;
		if (size && (err = check_ptr(items, "ob_item")))
			return err;
	}
	max = cap_items(max);
	it.n = (uint64_t)size < max ? (size_t)size : max;
	it.truncated = it.n < (uint64_t)size;
	if (it.n) {
		it.items = malloc(it.n * sizeof(*it.items));
		if (!it.items)
			return &adbg_error_nomem;
		err = read_words(t, items, it.n, it.items);
		if (err) {
			free(it.items);
			return adbg_error_wrap(err, "items at %#" PRIx64, items);
		}
	}
	*ret = it;
	return NULL;
}

struct adbg_error *adbg_obj_tuple_items(struct adbg_target *t, const struct adbg_layout *l,
					uint64_t obj, size_t max, struct adbg_obj_items *ret)
{
	struct adbg_error *err =
		adbg_obj_require_flag(t, l, obj, l->tp_flags_bits.tuple_subclass, "tuple");

	if (!err)
		err = seq_items(t, obj, l->tuple_object.ob_size, l->tuple_object.ob_item, true, max,
				ret);
	return adbg_error_wrap(err, "tuple at %#" PRIx64, obj);
}

struct adbg_error *adbg_obj_list_items(struct adbg_target *t, const struct adbg_layout *l,
				       uint64_t obj, size_t max, struct adbg_obj_items *ret)
{
	struct adbg_error *err =
		adbg_obj_require_flag(t, l, obj, l->tp_flags_bits.list_subclass, "list");

	if (!err)
		err = seq_items(t, obj, l->list_object.ob_size, l->list_object.ob_item, false, max,
				ret);
	return adbg_error_wrap(err, "list at %#" PRIx64, obj);
}

static ADBG_MUST_CHECK struct adbg_error *push_item(struct adbg_obj_items *it, size_t *cap,
						    uint64_t v)
{
	if (it->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		uint64_t *p = realloc(it->items, nc * sizeof(*p));

		if (!p)
			return &adbg_error_nomem;
		it->items = p;
		*cap = nc;
	}
	it->items[it->n++] = v;
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *set_items(struct adbg_target *t,
						    const struct adbg_layout *l, uint64_t obj,
						    uint64_t dummy, size_t max,
						    struct adbg_obj_items *ret)
{
	const typeof(l->set_object) *so = &l->set_object;
	struct adbg_obj_items it = {0};
	struct rbuf b;
	int64_t used, mask;
	const typeof(l->set_entry) *se = &l->set_entry;
	// Entries are at most ADBG_SET_ENTRY_MAX bytes (adbg_layout_validate).
	uint64_t table, slots, found = 0, chunk[CHUNK_ITEMS * ADBG_SET_ENTRY_MAX / 8];
	size_t n = 0, cap = 0;
	struct adbg_error *err;

	n = span(n, so->used, 8);
	n = span(n, so->mask, 8);
	n = span(n, so->table, 8);
	if ((err = rbuf_read(t, obj, n, &b)) || (err = rbuf_i64(&b, so->used, &used)) ||
	    (err = rbuf_i64(&b, so->mask, &mask)) || (err = rbuf_u64(&b, so->table, &table)))
		return err;
	slots = (uint64_t)mask + 1;
	if (mask < 0 || (slots & mask) || slots > ADBG_OBJ_MAX_SET_TABLE)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "mask %#" PRIx64 " (cap %u slots)",
					 (uint64_t)mask, ADBG_OBJ_MAX_SET_TABLE);
	if (used < 0 || (uint64_t)used > slots)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "%" PRId64 " used of %" PRIu64 " slots",
					 used, slots);
	if ((err = check_ptr(table, "table")))
		return err;
	max = cap_items(max);
	for (uint64_t i = 0; i < slots && found < (uint64_t)used; i += CHUNK_ITEMS) {
		uint64_t cnt = slots - i < CHUNK_ITEMS ? slots - i : CHUNK_ITEMS;

		err = adbg_target_read(t, table + i * se->size, chunk, cnt * se->size);
		if (err) {
			free(it.items);
			return adbg_error_wrap(err, "table at %#" PRIx64, table);
		}
		for (uint64_t j = 0; j < cnt && found < (uint64_t)used; j++) {
			uint64_t key = chunk[(j * se->size + se->key) / 8];
			uint64_t hash = chunk[(j * se->size + se->hash) / 8];

			// Objects/setobject.c set_discard_entry: a deleted slot keeps the
			// dummy key and hash -1, which no live key can have.
			if (!key || key == dummy || hash == UINT64_MAX)
				continue;
			found++;
			if (it.n == max) {
				it.truncated = true;
				break;
			}
			if ((err = push_item(&it, &cap, key))) {
				free(it.items);
				return err;
			}
		}
		if (it.truncated)
			break;
	}
	*ret = it;
	return NULL;
}

struct adbg_error *adbg_obj_set_items(struct adbg_target *t, const struct adbg_layout *l,
				      uint64_t obj, uint64_t dummy, size_t max,
				      struct adbg_obj_items *ret)
{
	struct adbg_error *err = require_kind(t, l, obj, ADBG_OBJ_SET, ADBG_OBJ_FROZENSET, "set");

	if (!err)
		err = set_items(t, l, obj, dummy, max, ret);
	return adbg_error_wrap(err, "set at %#" PRIx64, obj);
}

// ---------------------------------------------------------------------------------------
// weakref, module, instance attributes

struct adbg_error *adbg_obj_weakref_referent(struct adbg_target *t, const struct adbg_layout *l,
					     uint64_t obj, uint64_t *ret)
{
	uint64_t ref;
	bool none;
	struct adbg_error *err =
		require_kind(t, l, obj, ADBG_OBJ_WEAKREF, ADBG_OBJ_WEAKREF, "weakref");

	if (!err)
		err = adbg_read_u64(t, obj + l->weakref_object.wr_object, &ref);
	if (err)
		return adbg_error_wrap(err, "weakref at %#" PRIx64, obj);
	// Objects/weakrefobject.c clear_weakref: a dead reference points to Py_None.
	if (!ref) {
		*ret = 0;
		return NULL;
	}
	err = adbg_obj_is_none(t, l, ref, &none);
	if (err)
		return adbg_error_wrap(err, "weakref at %#" PRIx64 ": referent", obj);
	*ret = none ? 0 : ref;
	return NULL;
}

struct adbg_error *adbg_obj_module_dict(struct adbg_target *t, const struct adbg_layout *l,
					uint64_t obj, uint64_t *ret)
{
	uint64_t dict;
	struct adbg_error *err =
		require_kind(t, l, obj, ADBG_OBJ_MODULE, ADBG_OBJ_MODULE, "module");

	if (!err)
		err = adbg_read_u64(t, obj + l->module_object.md_dict, &dict);
	if (!err)
		err = check_ptr(dict, "md_dict");
	if (err)
		return adbg_error_wrap(err, "module at %#" PRIx64, obj);
	*ret = dict;
	return NULL;
}
