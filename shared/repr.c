// SPDX-License-Identifier: MIT
// repr-like text for Python objects in target memory (see repr.h), built on the readers.
#include "repr.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "objects.h"

// ---------------------------------------------------------------------------------------
// A bounded text buffer: output past max is cut (full), running out of memory is sticky.

struct sbuf {
	char *buf;
	size_t len, cap, max;
	bool full, nomem;
};

static void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->full || sb->nomem)
		return;
	if (n > sb->max - sb->len) {
		n = sb->max - sb->len;
		sb->full = true;
	}
	if (sb->len + n + 1 > sb->cap) {
		size_t nc = sb->cap ? sb->cap : 64;
		char *p;

		while (nc < sb->len + n + 1)
			nc *= 2;
		p = realloc(sb->buf, nc);
		if (!p) {
			sb->nomem = true;
			return;
		}
		sb->buf = p;
		sb->cap = nc;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_putn(sb, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

struct repr_ctx {
	struct adbg_target *t;
	const struct adbg_layout *l;
	struct sbuf sb;
	// containers being printed, outermost first (the cycle check)
	uint64_t stack[ADBG_REPR_MAX_DEPTH];
	unsigned depth;
};

static void repr_obj(struct repr_ctx *c, uint64_t obj);

static void repr_unreadable(struct repr_ctx *c, uint64_t obj, struct adbg_error *err)
{
	if (adbg_error_is(err, ADBG_ERR_NOMEM))
		c->sb.nomem = true;
	adbg_error_destroy(err);
	sb_printf(&c->sb, "<unreadable %#" PRIx64 ">", obj);
}

// Python's float repr: the shortest string that reads back as the same double
// (Python/pystrtod.c, mode 'r'), exponent form when exp < -4 or exp >= 16.
static void repr_float(struct sbuf *sb, double v)
{
	char tmp[64], digits[32];
	int prec, exp, nd = 0;
	char *e;

	if (isnan(v)) {
		sb_puts(sb, "nan");
		return;
	}
	if (isinf(v)) {
		sb_puts(sb, v < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	// tmp is "[-]d.ddde[+-]XX": split into sign, digits and exponent.
	e = strchr(tmp, 'e');
	if (!e) {
		sb_puts(sb, tmp);
		return;
	}
	exp = atoi(e + 1);
	for (char *p = tmp; p < e; p++)
		if (*p >= '0' && *p <= '9' && nd < (int)sizeof(digits) - 1)
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	if (tmp[0] == '-')
		sb_puts(sb, "-");
	if (exp < -4 || exp >= 16) {
		sb_putn(sb, digits, 1);
		if (nd > 1) {
			sb_puts(sb, ".");
			sb_puts(sb, digits + 1);
		}
		sb_printf(sb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		sb_puts(sb, "0.");
		for (int i = 0; i < -exp - 1; i++)
			sb_puts(sb, "0");
		sb_puts(sb, digits);
	} else {
		for (int i = 0; i <= exp; i++)
			sb_putn(sb, i < nd ? digits + i : "0", 1);
		sb_puts(sb, ".");
		if (nd > exp + 1)
			sb_puts(sb, digits + exp + 1);
		else
			sb_puts(sb, "0");
	}
}

// Approximates Py_UNICODE_ISPRINTABLE for non-ASCII code points without the Unicode
// database: control, separator, format, surrogate and private-use ranges are not
// printable, everything else is.
static bool cp_printable(uint32_t cp)
{
	static const uint32_t ranges[][2] = {
		{0x80, 0xa0},	  {0xad, 0xad},	      {0x600, 0x605},	   {0x61c, 0x61c},
		{0x6dd, 0x6dd},	  {0x70f, 0x70f},     {0x1680, 0x1680},	   {0x180e, 0x180e},
		{0x2000, 0x200f}, {0x2028, 0x202f},   {0x205f, 0x2064},	   {0x2066, 0x206f},
		{0x3000, 0x3000}, {0xd800, 0xf8ff},   {0xfeff, 0xfeff},	   {0xfff9, 0xfffb},
		{0xfffe, 0xffff}, {0xe0000, 0xe0fff}, {0xf0000, 0x10ffff},
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return false;
	return cp <= 0x10ffff;
}

// Objects/unicodeobject.c unicode_repr: quote with ' unless the text has ' and no ".
static void repr_str(struct repr_ctx *c, uint64_t obj)
{
	uint32_t *cps;
	size_t n;
	uint64_t length;
	bool sq = false, dq = false;
	char quote;
	// No code point renders in less than one byte: sb.max of them are enough.
	struct adbg_error *err =
		adbg_obj_str_codepoints(c->t, c->l, obj, c->sb.max, &cps, &n, &length);

	if (err) {
		repr_unreadable(c, obj, err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		sq |= cps[i] == '\'';
		dq |= cps[i] == '"';
	}
	quote = sq && !dq ? '"' : '\'';
	sb_putn(&c->sb, &quote, 1);
	for (size_t i = 0; i < n && !c->sb.full; i++) {
		uint32_t cp = cps[i];
		char enc[4];

		if (cp == (uint32_t)quote || cp == '\\') {
			char esc[2] = {'\\', (char)cp};

			sb_putn(&c->sb, esc, 2);
		} else if (cp == '\t') {
			sb_puts(&c->sb, "\\t");
		} else if (cp == '\n') {
			sb_puts(&c->sb, "\\n");
		} else if (cp == '\r') {
			sb_puts(&c->sb, "\\r");
		} else if (cp < ' ' || cp == 0x7f) {
			sb_printf(&c->sb, "\\x%02x", cp);
		} else if (cp < 0x7f || cp_printable(cp)) {
			sb_putn(&c->sb, enc, adbg_obj_utf8_encode(cp, enc));
		} else if (cp <= 0xff) {
			sb_printf(&c->sb, "\\x%02x", cp);
		} else if (cp <= 0xffff) {
			sb_printf(&c->sb, "\\u%04x", cp);
		} else {
			sb_printf(&c->sb, "\\U%08x", cp);
		}
	}
	free(cps);
	if (n < length)
		sb_puts(&c->sb, "...");
	sb_putn(&c->sb, &quote, 1);
}

// Objects/bytesobject.c PyBytes_Repr.
static void repr_bytes(struct repr_ctx *c, uint64_t obj)
{
	uint8_t *data;
	size_t n;
	bool truncated, sq, dq;
	char quote;
	struct adbg_error *err = adbg_obj_bytes(c->t, c->l, obj, c->sb.max, &data, &n, &truncated);

	if (err) {
		repr_unreadable(c, obj, err);
		return;
	}
	sq = memchr(data, '\'', n) != NULL;
	dq = memchr(data, '"', n) != NULL;
	quote = sq && !dq ? '"' : '\'';
	sb_puts(&c->sb, "b");
	sb_putn(&c->sb, &quote, 1);
	for (size_t i = 0; i < n && !c->sb.full; i++) {
		uint8_t ch = data[i];

		if (ch == (uint8_t)quote || ch == '\\') {
			char esc[2] = {'\\', (char)ch};

			sb_putn(&c->sb, esc, 2);
		} else if (ch == '\t') {
			sb_puts(&c->sb, "\\t");
		} else if (ch == '\n') {
			sb_puts(&c->sb, "\\n");
		} else if (ch == '\r') {
			sb_puts(&c->sb, "\\r");
		} else if (ch < ' ' || ch >= 0x7f) {
			sb_printf(&c->sb, "\\x%02x", ch);
		} else {
			sb_putn(&c->sb, (const char *)&ch, 1);
		}
	}
	free(data);
	if (truncated)
		sb_puts(&c->sb, "...");
	sb_putn(&c->sb, &quote, 1);
}

static bool repr_enter(struct repr_ctx *c, uint64_t obj, const char *recursed)
{
	for (unsigned i = 0; i < c->depth; i++) {
		if (c->stack[i] == obj) {
			sb_puts(&c->sb, recursed);
			return false;
		}
	}
	if (c->depth == ADBG_REPR_MAX_DEPTH) {
		sb_puts(&c->sb, recursed);
		return false;
	}
	c->stack[c->depth++] = obj;
	return true;
}

static void repr_seq(struct repr_ctx *c, uint64_t obj, enum adbg_obj_kind kind)
{
	struct adbg_obj_items it;
	const char *open, *close, *recursed;
	struct adbg_error *err;

	switch (kind) {
	case ADBG_OBJ_TUPLE:
		open = "(", close = ")", recursed = "(...)";
		err = adbg_obj_tuple_items(c->t, c->l, obj, ADBG_REPR_MAX_ITEMS, &it);
		break;
	case ADBG_OBJ_LIST:
		open = "[", close = "]", recursed = "[...]";
		err = adbg_obj_list_items(c->t, c->l, obj, ADBG_REPR_MAX_ITEMS, &it);
		break;
	case ADBG_OBJ_SET:
		open = "{", close = "}", recursed = "set(...)";
		err = adbg_obj_set_items(c->t, c->l, obj, 0, ADBG_REPR_MAX_ITEMS, &it);
		break;
	default:
		open = "frozenset({", close = "})", recursed = "frozenset(...)";
		err = adbg_obj_set_items(c->t, c->l, obj, 0, ADBG_REPR_MAX_ITEMS, &it);
		break;
	}
	if (err) {
		repr_unreadable(c, obj, err);
		return;
	}
	if (!it.n && !it.truncated && (kind == ADBG_OBJ_SET || kind == ADBG_OBJ_FROZENSET)) {
		sb_puts(&c->sb, kind == ADBG_OBJ_SET ? "set()" : "frozenset()");
		adbg_obj_items_deinit(&it);
		return;
	}
	if (!repr_enter(c, obj, recursed)) {
		adbg_obj_items_deinit(&it);
		return;
	}
	sb_puts(&c->sb, open);
	for (size_t i = 0; i < it.n && !c->sb.full; i++) {
		if (i)
			sb_puts(&c->sb, ", ");
		repr_obj(c, it.items[i]);
	}
	if (it.truncated)
		sb_puts(&c->sb, it.n ? ", ..." : "...");
	else if (kind == ADBG_OBJ_TUPLE && it.n == 1)
		sb_puts(&c->sb, ",");
	sb_puts(&c->sb, close);
	c->depth--;
	adbg_obj_items_deinit(&it);
}

static void repr_dict(struct repr_ctx *c, uint64_t obj)
{
	struct adbg_obj_dict_items it;
	struct adbg_error *err = adbg_obj_dict_items(c->t, c->l, obj, ADBG_REPR_MAX_ITEMS, &it);

	if (err) {
		repr_unreadable(c, obj, err);
		return;
	}
	if (!repr_enter(c, obj, "{...}")) {
		adbg_obj_dict_items_deinit(&it);
		return;
	}
	sb_puts(&c->sb, "{");
	for (size_t i = 0; i < it.n && !c->sb.full; i++) {
		if (i)
			sb_puts(&c->sb, ", ");
		repr_obj(c, it.pairs[i].key);
		sb_puts(&c->sb, ": ");
		repr_obj(c, it.pairs[i].value);
	}
	if (it.truncated)
		sb_puts(&c->sb, it.n ? ", ..." : "...");
	sb_puts(&c->sb, "}");
	c->depth--;
	adbg_obj_dict_items_deinit(&it);
}

static void repr_code(struct repr_ctx *c, uint64_t obj)
{
	struct adbg_code_info ci;
	struct adbg_error *err = adbg_code_read(c->t, c->l, obj, &ci);

	if (err) {
		repr_unreadable(c, obj, err);
		return;
	}
	// Objects/codeobject.c code_repr.
	sb_printf(&c->sb, "<code object %.100s at %#" PRIx64 ", file \"%.150s\", line %d>", ci.name,
		  obj, ci.filename, ci.firstlineno);
	adbg_code_info_deinit(&ci);
}

static void repr_module(struct repr_ctx *c, uint64_t obj)
{
	uint64_t dict, name;
	char *s;
	struct adbg_error *err = adbg_obj_module_dict(c->t, c->l, obj, &dict);

	if (!err)
		err = adbg_obj_dict_lookup_str(c->t, c->l, dict, "__name__", &name);
	if (!err)
		err = adbg_obj_str(c->t, c->l, name, 200, &s, NULL);
	if (err) {
		adbg_error_destroy(err);
		sb_printf(&c->sb, "<module at %#" PRIx64 ">", obj);
		return;
	}
	sb_printf(&c->sb, "<module '%s'>", s);
	free(s);
}

static void repr_type(struct repr_ctx *c, uint64_t obj)
{
	char *name;
	struct adbg_error *err = adbg_obj_tp_name(c->t, c->l, obj, &name);

	if (err) {
		repr_unreadable(c, obj, err);
		return;
	}
	sb_printf(&c->sb, "<class '%s'>", name);
	free(name);
}

static void repr_weakref(struct repr_ctx *c, uint64_t obj)
{
	uint64_t ref;
	char *name;
	struct adbg_error *err = adbg_obj_weakref_referent(c->t, c->l, obj, &ref);

	if (err) {
		repr_unreadable(c, obj, err);
		return;
	}
	if (!ref) {
		sb_printf(&c->sb, "<weakref at %#" PRIx64 "; dead>", obj);
		return;
	}
	err = adbg_obj_type_name(c->t, c->l, ref, &name);
	if (err) {
		adbg_error_destroy(err);
		sb_printf(&c->sb, "<weakref at %#" PRIx64 "; to %#" PRIx64 ">", obj, ref);
		return;
	}
	sb_printf(&c->sb, "<weakref at %#" PRIx64 "; to '%s' at %#" PRIx64 ">", obj, name, ref);
	free(name);
}

static void repr_obj(struct repr_ctx *c, uint64_t obj)
{
	struct adbg_obj_class cls;
	struct adbg_error *err;
	bool wrap;

	if (c->sb.full || c->sb.nomem)
		return;
	if (!obj) {
		sb_puts(&c->sb, "<NULL>");
		return;
	}
	err = adbg_obj_classify(c->t, c->l, obj, &cls);
	if (err) {
		repr_unreadable(c, obj, err);
		return;
	}
	// Subclasses of the builtins print as Name(<builtin repr>), e.g.
	// "OrderedDict({'a': 1})"; the name drops any module prefix.
	wrap = !cls.exact && cls.kind != ADBG_OBJ_OTHER && cls.kind != ADBG_OBJ_TYPE &&
	       cls.kind != ADBG_OBJ_MODULE && cls.kind != ADBG_OBJ_WEAKREF;
	if (wrap) {
		const char *dot = strrchr(cls.type_name, '.');

		sb_puts(&c->sb, dot ? dot + 1 : cls.type_name);
		sb_puts(&c->sb, "(");
	}
	switch (cls.kind) {
	case ADBG_OBJ_NONE:
		sb_puts(&c->sb, "None");
		break;
	case ADBG_OBJ_ELLIPSIS:
		sb_puts(&c->sb, "Ellipsis");
		break;
	case ADBG_OBJ_NOTIMPLEMENTED:
		sb_puts(&c->sb, "NotImplemented");
		break;
	case ADBG_OBJ_BOOL:
	case ADBG_OBJ_INT: {
		char *s;

		err = adbg_obj_int_str(c->t, c->l, obj, &s);
		if (err) {
			repr_unreadable(c, obj, err);
			break;
		}
		if (cls.kind == ADBG_OBJ_BOOL)
			sb_puts(&c->sb, strcmp(s, "0") ? "True" : "False");
		else
			sb_puts(&c->sb, s);
		free(s);
		break;
	}
	case ADBG_OBJ_FLOAT: {
		double v;

		err = adbg_obj_float(c->t, c->l, obj, &v);
		if (err)
			repr_unreadable(c, obj, err);
		else
			repr_float(&c->sb, v);
		break;
	}
	case ADBG_OBJ_STR:
		repr_str(c, obj);
		break;
	case ADBG_OBJ_BYTES:
		repr_bytes(c, obj);
		break;
	case ADBG_OBJ_TUPLE:
	case ADBG_OBJ_LIST:
	case ADBG_OBJ_SET:
	case ADBG_OBJ_FROZENSET:
		repr_seq(c, obj, cls.kind);
		break;
	case ADBG_OBJ_DICT:
		repr_dict(c, obj);
		break;
	case ADBG_OBJ_CODE:
		repr_code(c, obj);
		break;
	case ADBG_OBJ_MODULE:
		repr_module(c, obj);
		break;
	case ADBG_OBJ_TYPE:
		repr_type(c, obj);
		break;
	case ADBG_OBJ_WEAKREF:
		repr_weakref(c, obj);
		break;
	case ADBG_OBJ_OTHER:
		sb_printf(&c->sb, "<%s object at %#" PRIx64 ">", cls.type_name, obj);
		break;
	}
	if (wrap)
		sb_puts(&c->sb, ")");
}

struct adbg_error *adbg_obj_repr(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj,
				 size_t max_len, char **ret)
{
	struct repr_ctx c = {.t = t, .l = l};

	if (max_len < 16)
		max_len = 16;
	c.sb.max = max_len;
	repr_obj(&c, obj);
	if (!c.sb.nomem && !c.sb.buf)
		sb_puts(&c.sb, "");
	if (c.sb.nomem) {
		free(c.sb.buf);
		return &adbg_error_nomem;
	}
	if (c.sb.full) {
		// Cut at a character boundary and mark the cut.
		size_t cut = max_len - 3;

		while (cut && ((unsigned char)c.sb.buf[cut] & 0xc0) == 0x80)
			cut--;
		memcpy(c.sb.buf + cut, "...", 4);
	}
	*ret = c.sb.buf;
	return NULL;
}
