// SPDX-License-Identifier: MIT
// Readers for Python objects in target memory: types, str, int, float, bytes, containers,
// weakrefs and instance attributes.
//
// Every function takes the target and the layout of its Python, reads the object into a
// local buffer and pulls fields out with bounds-checked accessors; every pointer read
// from the target is untrusted, every walk (tp_base chains, sequences, hash tables,
// nested reprs) has a cap and, where a cycle is possible, a cycle check. Errors name the
// object's address. The readers know the object layouts of CPython 3.11-3.15 through
// struct adbg_layout only; they never test the version. This module does not find
// objects (runtime.c and asyncio.c do), does not cache, and never runs code in the target:
// a "type check" is a look at tp_flags and tp_base, and attribute lookup only reads the
// instance's own dict (no descriptors, no __slots__, no class attributes). Rendering values
// for display is repr.h's job. objects.c holds the readers, objects_dict.c those of dicts
// and instance attributes; objects_impl.h is what the two share.
#ifndef AIODBG_OBJECTS_H
#define AIODBG_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "layout.h"
#include "target.h"

/** tp_base links followed at most (CPython hierarchies are a handful deep). */
#define ADBG_OBJ_MAX_TYPE_DEPTH 64
/** Longest tp_name read, in bytes. */
#define ADBG_OBJ_MAX_TYPE_NAME 512
/** Hard cap on the items any sequence, set or dict walk returns, whatever max says. */
#define ADBG_OBJ_MAX_ITEMS (1u << 24)
/** Largest set hash table (mask + 1) walked; CPython's own tools stop at 2^20. */
#define ADBG_OBJ_MAX_SET_TABLE (1u << 24)
/** Largest dict keys table (log2 of dk_size) accepted. */
#define ADBG_OBJ_MAX_DICT_LOG2 26
/** Ints with more 30-bit digits than this are not converted to decimal (~9600 digits). */
#define ADBG_OBJ_MAX_INT_DIGITS 1024
/** Longest str/bytes read, whatever the caller asks (16 MiB). */
#define ADBG_OBJ_MAX_STR (16u << 20)

/** What an object is, as far as the readers are concerned. */
enum adbg_obj_kind {
	ADBG_OBJ_OTHER,
	ADBG_OBJ_NONE,
	ADBG_OBJ_BOOL,
	ADBG_OBJ_INT,
	ADBG_OBJ_FLOAT,
	ADBG_OBJ_STR,
	ADBG_OBJ_BYTES,
	ADBG_OBJ_TUPLE,
	ADBG_OBJ_LIST,
	ADBG_OBJ_DICT,
	ADBG_OBJ_SET,
	ADBG_OBJ_FROZENSET,
	ADBG_OBJ_WEAKREF,
	ADBG_OBJ_MODULE,
	ADBG_OBJ_CODE,
	ADBG_OBJ_TYPE,
	ADBG_OBJ_ELLIPSIS,
	ADBG_OBJ_NOTIMPLEMENTED,
};

/** The result of adbg_obj_classify. */
struct adbg_obj_class {
	/** the object's type (ob_type). */
	uint64_t type;
	/** its tp_flags. */
	uint64_t tp_flags;
	/** the builtin the object is, or derives from (OTHER when none of the above). */
	enum adbg_obj_kind kind;
	/** the type is that builtin itself, not a subclass. */
	bool exact;
	/** tp_name of the object's type, cut to fit. */
	char type_name[128];
};

/** Address lists returned by the sequence and set readers. */
struct adbg_obj_items {
	/** item addresses (malloc'd; NULL when n == 0). */
	uint64_t *items;
	size_t n;
	/** the object holds more items than were returned. */
	bool truncated;
};

/** One key/value pair of a dict. */
struct adbg_obj_pair {
	uint64_t key;
	uint64_t value;
};

/** Pairs returned by the dict readers, in the dict's iteration order. */
struct adbg_obj_dict_items {
	/** malloc'd; NULL when n == 0. */
	struct adbg_obj_pair *pairs;
	size_t n;
	/** the dict holds more pairs than were returned. */
	bool truncated;
};

/** Free the array of an adbg_obj_items; the struct may be reused. NULL-safe. */
void adbg_obj_items_deinit(struct adbg_obj_items *items);

/** Free the array of an adbg_obj_dict_items; the struct may be reused. NULL-safe. */
void adbg_obj_dict_items_deinit(struct adbg_obj_dict_items *items);

/**
 * The type of obj (ob_type).
 *
 * @param obj  object address.
 * @param ret  the type's address, written on success.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_type(struct adbg_target *t, const struct adbg_layout *l,
						 uint64_t obj, uint64_t *ret);

/**
 * The name of obj's type (tp_name: "int", "collections.OrderedDict", "Task", ...).
 *
 * @param ret  malloc'd NUL-terminated name, the caller frees it; written on success.
 */
ADBG_MUST_CHECK struct adbg_error *
adbg_obj_type_name(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj, char **ret);

/**
 * The name (tp_name) of the type object at type itself (adbg_obj_type_name gives the name of
 * an object's type).
 *
 * @param ret  malloc'd NUL-terminated name, the caller frees it; written on success.
 */
ADBG_MUST_CHECK struct adbg_error *
adbg_obj_tp_name(struct adbg_target *t, const struct adbg_layout *l, uint64_t type, char **ret);

/**
 * The tp_flags of the type object at type (not of an instance: see adbg_obj_classify).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_type_flags(struct adbg_target *t,
						       const struct adbg_layout *l, uint64_t type,
						       uint64_t *ret);

/**
 * Whether the type object at type is base or derives from it through tp_base (single
 * inheritance chain; capped at ADBG_OBJ_MAX_TYPE_DEPTH, a longer or cyclic chain is an
 * ADBG_ERR_BAD_DATA error).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_is_subtype(struct adbg_target *t,
						       const struct adbg_layout *l, uint64_t type,
						       uint64_t base, bool *ret);

/** Whether obj is an instance of the type at type (or of a subclass of it). */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_is_instance(struct adbg_target *t,
							const struct adbg_layout *l, uint64_t obj,
							uint64_t type, bool *ret);

/**
 * Whether obj's type has every bit of flags in tp_flags; e.g.
 * l->tp_flags_bits.unicode_subclass asks "is obj a str or a str subclass".
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_has_type_flags(struct adbg_target *t,
							   const struct adbg_layout *l,
							   uint64_t obj, uint64_t flags, bool *ret);

/**
 * Find out what obj is: its type, flags, name and which builtin it is or derives from.
 * int/str/bytes/tuple/list/dict/type come from tp_flags; the others from the name of
 * the first static (non-heap) type on the tp_base chain, so a class statement cannot
 * pass for a builtin.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_classify(struct adbg_target *t,
						     const struct adbg_layout *l, uint64_t obj,
						     struct adbg_obj_class *ret);

/**
 * Read a str as UTF-8 (compact ASCII, compact 1/2/4-byte kinds, and legacy strings).
 * Lone surrogates become U+FFFD so the result is valid UTF-8.
 *
 * @param max_bytes      at most this many bytes of UTF-8 (the NUL not counted; cut at a
 *                       character boundary; capped at ADBG_OBJ_MAX_STR).
 * @param ret            malloc'd NUL-terminated text, the caller frees it.
 * @param truncated_ret  optional; set when the str did not fit in max_bytes.
 * Fails with ADBG_ERR_BAD_DATA when obj is not a str or its header is corrupt.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_str(struct adbg_target *t, const struct adbg_layout *l,
						uint64_t obj, size_t max_bytes, char **ret,
						bool *truncated_ret);

/**
 * The first code points of a str, for callers that render text themselves (repr.c).
 *
 * @param max         at most this many code points (capped at ADBG_OBJ_MAX_STR).
 * @param ret         malloc'd array of *n_ret code points, the caller frees it.
 * @param n_ret       how many were read: min(length, max).
 * @param length_ret  the str's full length in code points.
 * Fails with ADBG_ERR_BAD_DATA when obj is not a str or its header is corrupt.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_str_codepoints(struct adbg_target *t,
							   const struct adbg_layout *l,
							   uint64_t obj, size_t max, uint32_t **ret,
							   size_t *n_ret, uint64_t *length_ret);

/**
 * Encode the code point cp as UTF-8 into out (room for 4 bytes); lone surrogates and
 * values past U+10FFFF become U+FFFD, so the result is always valid UTF-8.
 *
 * @return the number of bytes written (1-4).
 */
size_t adbg_obj_utf8_encode(uint32_t cp, char *out);

/** Whether the str at obj equals the UTF-8 text s (false if obj is not a str). */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_str_equals(struct adbg_target *t,
						       const struct adbg_layout *l, uint64_t obj,
						       const char *s, bool *ret);

/**
 * Read an int (or bool, or int subclass) into an int64_t. Fails with
 * ADBG_ERR_UNSUPPORTED when the value does not fit (use adbg_obj_int_str).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_int(struct adbg_target *t, const struct adbg_layout *l,
						uint64_t obj, int64_t *ret);

/**
 * An int in decimal ("-1267650600228229401496703205376"). Ints of more than
 * ADBG_OBJ_MAX_INT_DIGITS digits give "<int too large: N bits>". *ret is malloc'd.
 */
ADBG_MUST_CHECK struct adbg_error *
adbg_obj_int_str(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj, char **ret);

/** Read a float (or float subclass). */
ADBG_MUST_CHECK struct adbg_error *
adbg_obj_float(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj, double *ret);

/** Read a bool (True/False; fails on anything else). */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_bool(struct adbg_target *t, const struct adbg_layout *l,
						 uint64_t obj, bool *ret);

/** Whether obj is None. */
ADBG_MUST_CHECK struct adbg_error *
adbg_obj_is_none(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj, bool *ret);

/**
 * Read a bytes object.
 *
 * @param max            at most this many bytes (capped at ADBG_OBJ_MAX_STR).
 * @param ret            malloc'd copy, NUL-terminated for convenience; caller frees.
 * @param len_ret        number of bytes in *ret.
 * @param truncated_ret  optional; set when the object is longer than max.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_bytes(struct adbg_target *t,
						  const struct adbg_layout *l, uint64_t obj,
						  size_t max, uint8_t **ret, size_t *len_ret,
						  bool *truncated_ret);

/**
 * The item addresses of a tuple (or subclass), at most max of them. *ret is filled on
 * success; free with adbg_obj_items_deinit.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_tuple_items(struct adbg_target *t,
							const struct adbg_layout *l, uint64_t obj,
							size_t max, struct adbg_obj_items *ret);

/** The item addresses of a list (or subclass), at most max of them. */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_list_items(struct adbg_target *t,
						       const struct adbg_layout *l, uint64_t obj,
						       size_t max, struct adbg_obj_items *ret);

/**
 * The keys of a set or frozenset, in table order, at most max of them. Empty slots and
 * deleted ones are skipped: a deleted slot holds the dummy key with hash -1
 * (Objects/setobject.c, 3.11-3.15).
 *
 * @param dummy  the dummy key object (the value of the _PySet_Dummy pointer variable),
 *               or 0 when unknown (then hash -1 alone marks deleted slots).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_set_items(struct adbg_target *t,
						      const struct adbg_layout *l, uint64_t obj,
						      uint64_t dummy, size_t max,
						      struct adbg_obj_items *ret);

/**
 * The pairs of a dict (or subclass) in iteration order: combined tables (general and
 * str-only keys) and split tables (values array, 3.11/3.12 prefix layout or 3.13+
 * header layout, as l->managed_dict says). At most max pairs.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_dict_items(struct adbg_target *t,
						       const struct adbg_layout *l, uint64_t dict,
						       size_t max, struct adbg_obj_dict_items *ret);

/**
 * Look up a str key in a dict by comparing key text (no hashing: the target's hash
 * seed is unknown). Non-str keys are skipped. Fails with ADBG_ERR_NOT_FOUND when absent.
 *
 * @param ret  the value's address, written on success.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_dict_lookup_str(struct adbg_target *t,
							    const struct adbg_layout *l,
							    uint64_t dict, const char *key,
							    uint64_t *ret);

/**
 * The referent of a weakref: 0 when the weakref is dead (wr_object is Py_None or NULL).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_weakref_referent(struct adbg_target *t,
							     const struct adbg_layout *l,
							     uint64_t obj, uint64_t *ret);

/** The __dict__ of a module object (md_dict). */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_module_dict(struct adbg_target *t,
							const struct adbg_layout *l, uint64_t obj,
							uint64_t *ret);

/**
 * Look up an attribute in obj's own instance dict: managed dicts (3.11 values pointer,
 * 3.12 tagged word, 3.13+ inline values; key names from the type's ht_cached_keys) or a
 * dict at tp_dictoffset (negative ones, 3.11 int/tuple/bytes subclasses, need
 * l->type_object.tp_itemsize, else ADBG_ERR_UNSUPPORTED). Fails with ADBG_ERR_NOT_FOUND
 * when the instance has no such attribute or no dict.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_getattr(struct adbg_target *t,
						    const struct adbg_layout *l, uint64_t obj,
						    const char *name, uint64_t *ret);

/**
 * All the attributes of obj's instance dict (see adbg_obj_getattr), at most max. An
 * object without a dict gives zero pairs.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_instance_attrs(struct adbg_target *t,
							   const struct adbg_layout *l,
							   uint64_t obj, size_t max,
							   struct adbg_obj_dict_items *ret);

/**
 * An attribute that obj's class (or a base, along tp_base) declares in __slots__: the
 * member descriptor in the class dict gives the offset of the word in the instance
 * (Objects/descrobject.c, PyMemberDef). ADBG_ERR_NOT_FOUND when no class has such a slot
 * or the slot is unset; BAD_DATA when the member is not an object slot.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_slot(struct adbg_target *t, const struct adbg_layout *l,
						 uint64_t obj, const char *name, uint64_t *ret);

#endif
