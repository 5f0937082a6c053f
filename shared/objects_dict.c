// SPDX-License-Identifier: MIT
// Readers of dicts and instance attributes (see objects.h): combined and split hash
// tables, managed dicts and __dict__ pointers.
#include "objects.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "objects_impl.h"

// ---------------------------------------------------------------------------------------
// dict

// Where the pairs of a dict (or of an instance's attribute values) are: a keys object and,
// for split tables, a values array.
struct dict_src {
	uint64_t keys;
	uint64_t values;
};

// Called per pair; returns true to stop the walk. Errors go into the callback's state.
typedef bool (*pair_fn)(void *arg, uint64_t key, uint64_t value);

struct keys_info {
	uint8_t log2_size, log2_index_bytes, kind;
	int64_t nentries;
	uint64_t entries;
	size_t esize, key_off, value_off;
};

static ADBG_MUST_CHECK struct adbg_error *
read_keys(struct adbg_target *t, const struct adbg_layout *l, uint64_t keys, struct keys_info *ret)
{
	const typeof(l->dict_keys) *dk = &l->dict_keys;
	const typeof(l->dict_keys_kind) *kk = &l->dict_keys_kind;
	const typeof(l->dict_entry) *de = &l->dict_entry;
	struct keys_info ki = {0};
	struct rbuf b;
	size_t n = 0;
	struct adbg_error *err = check_ptr(keys, "ma_keys");

	if (err)
		return err;
	n = span(n, dk->dk_log2_size, 1);
	n = span(n, dk->dk_log2_index_bytes, 1);
	n = span(n, dk->dk_kind, 1);
	n = span(n, dk->dk_nentries, 8);
	if ((err = rbuf_read(t, keys, n, &b)) ||
	    (err = rbuf_u8(&b, dk->dk_log2_size, &ki.log2_size)) ||
	    (err = rbuf_u8(&b, dk->dk_log2_index_bytes, &ki.log2_index_bytes)) ||
	    (err = rbuf_u8(&b, dk->dk_kind, &ki.kind)) ||
	    (err = rbuf_i64(&b, dk->dk_nentries, &ki.nentries)))
		return adbg_error_wrap(err, "keys at %#" PRIx64, keys);
	// Index entries are 1, 2, 4 or 8 bytes wide (Objects/dictobject.c), so the index
	// area is 2^log2_size .. 2^(log2_size+3) bytes.
	if (ki.log2_size > ADBG_OBJ_MAX_DICT_LOG2 || ki.log2_index_bytes < ki.log2_size ||
	    ki.log2_index_bytes > ki.log2_size + 3 ||
	    (ki.kind != kk->general && ki.kind != kk->unicode && ki.kind != kk->split) ||
	    ki.nentries < 0 || ki.nentries > (1ll << ki.log2_size) ||
	    dk->dk_indices == ADBG_NO_FIELD)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "keys at %#" PRIx64 ": log2_size %u, log2_index_bytes %u"
					 ", kind %u, nentries %" PRId64,
					 keys, ki.log2_size, ki.log2_index_bytes, ki.kind,
					 ki.nentries);
	ki.entries = keys + dk->dk_indices + (1ull << ki.log2_index_bytes);
	// Split keys hold str-only entries too.
	ki.esize = ki.kind == kk->general ? de->general_size : de->unicode_size;
	ki.key_off = ki.kind == kk->general ? de->general_key : de->unicode_key;
	ki.value_off = ki.kind == kk->general ? de->general_value : de->unicode_value;
	*ret = ki;
	return NULL;
}

// Split values: where the values array starts and the insertion order of this instance.
static ADBG_MUST_CHECK struct adbg_error *read_values_order(struct adbg_target *t,
							    const struct adbg_layout *l,
							    uint64_t values, uint64_t *array_ret,
							    uint8_t *order, size_t *count_ret)
{
	struct adbg_error *err;

	if (l->managed_dict == ADBG_MANAGED_DICT_313) {
		// 3.13+: uint8_t counts before the array (l->dict_values), the insertion
		// order in the size bytes after values[capacity] (Objects/dictobject.c
		// get_insertion_order_array).
		const typeof(l->dict_values) *dv = &l->dict_values;
		uint8_t hdr[ADBG_DICT_VALUES_COUNTS], capacity, size;

		err = adbg_target_read(t, values, hdr, sizeof(hdr));
		if (err)
			return err;
		capacity = hdr[dv->capacity];
		size = hdr[dv->size];
		if (size > capacity)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "values at %#" PRIx64 ": size %u > capacity %u",
						 values, size, capacity);
		err = size ? adbg_target_read(t, values + dv->values + 8ull * capacity, order, size)
			   : NULL;
		if (err)
			return err;
		*array_ret = values + dv->values;
		*count_ret = size;
		return NULL;
	}
	// 3.11/3.12 Include/internal/pycore_dict.h: a prefix before values[]: [-1] the
	// prefix size, [-2] the number of values, [-3-i] the index of the i-th inserted
	// (Objects/dictobject.c get_index_from_order).
	uint8_t prefix[256];
	uint8_t psize;

	err = adbg_read_u8(t, values - 1, &psize);
	if (err)
		return err;
	if (psize < 2)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "values at %#" PRIx64 ": prefix size %u", values, psize);
	err = adbg_target_read(t, values - psize, prefix, psize);
	if (err)
		return err;
	size_t count = prefix[psize - 2];

	if (count + 2 > psize)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "values at %#" PRIx64 ": %zu values in a %u-byte prefix",
					 values, count, psize);
	for (size_t i = 0; i < count; i++)
		order[i] = prefix[psize - 3 - i];
	*array_ret = values;
	*count_ret = count;
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *dict_walk(struct adbg_target *t,
						    const struct adbg_layout *l,
						    const struct dict_src *src, pair_fn fn,
						    void *arg)
{
	struct keys_info ki = {0};
	// Entries are at most ADBG_DICT_ENTRY_MAX bytes (adbg_layout_validate).
	uint64_t buf[CHUNK_ITEMS * ADBG_DICT_ENTRY_MAX / 8];
	struct adbg_error *err = read_keys(t, l, src->keys, &ki);

	if (err)
		return err;
	if (src->values) {
		uint8_t order[256];
		uint64_t array = 0, key, value;
		size_t count = 0;

		if (ki.kind != l->dict_keys_kind.split)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "values at %#" PRIx64
						 " with unshared keys (kind %u)",
						 src->values, ki.kind);
		err = read_values_order(t, l, src->values, &array, order, &count);
		if (err)
			return adbg_error_wrap(err, "split values at %#" PRIx64, src->values);
		for (size_t i = 0; i < count; i++) {
			if (order[i] >= ki.nentries)
				return adbg_error_create(ADBG_ERR_BAD_DATA,
							 "values at %#" PRIx64
							 ": index %u of %" PRId64 " keys",
							 src->values, order[i], ki.nentries);
			if ((err = adbg_read_u64(t, ki.entries + order[i] * ki.esize + ki.key_off,
						 &key)) ||
			    (err = adbg_read_u64(t, array + 8ull * order[i], &value)))
				return adbg_error_wrap(err, "split dict entry %u", order[i]);
			if (value && fn(arg, key, value))
				return NULL;
		}
		return NULL;
	}
	if (ki.kind == l->dict_keys_kind.split)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "keys at %#" PRIx64 ": split keys without values",
					 src->keys);
	// Entries are in insertion order; deleted ones have value NULL (3.11+
	// Objects/dictobject.c delitem_common clears key and value).
	for (int64_t i = 0; i < ki.nentries; i += CHUNK_ITEMS) {
		int64_t cnt = ki.nentries - i < CHUNK_ITEMS ? ki.nentries - i : CHUNK_ITEMS;
		size_t words = ki.esize / 8;

		err = adbg_target_read(t, ki.entries + (uint64_t)i * ki.esize, buf,
				       (size_t)cnt * ki.esize);
		if (err)
			return adbg_error_wrap(err, "dict entries at %#" PRIx64, ki.entries);
		for (int64_t j = 0; j < cnt; j++) {
			uint64_t key = buf[j * words + ki.key_off / 8];
			uint64_t value = buf[j * words + ki.value_off / 8];

			if (key && value && fn(arg, key, value))
				return NULL;
		}
	}
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *
dict_src_of(struct adbg_target *t, const struct adbg_layout *l, uint64_t dict, struct dict_src *ret)
{
	const typeof(l->dict_object) *d = &l->dict_object;
	struct dict_src src;
	struct rbuf b;
	size_t n = 0;
	struct adbg_error *err =
		adbg_obj_require_flag(t, l, dict, l->tp_flags_bits.dict_subclass, "dict");

	if (err)
		return err;
	n = span(n, d->ma_keys, 8);
	n = span(n, d->ma_values, 8);
	if ((err = rbuf_read(t, dict, n, &b)) || (err = rbuf_u64(&b, d->ma_keys, &src.keys)) ||
	    (err = rbuf_u64(&b, d->ma_values, &src.values)))
		return err;
	if (src.values && (err = check_ptr(src.values, "ma_values")))
		return err;
	*ret = src;
	return NULL;
}

struct collect_state {
	struct adbg_obj_dict_items it;
	size_t cap, max;
	struct adbg_error *err;
};

static bool collect_pair(void *arg, uint64_t key, uint64_t value)
{
	struct collect_state *cs = arg;

	if (cs->it.n == cs->max) {
		cs->it.truncated = true;
		return true;
	}
	if (cs->it.n == cs->cap) {
		size_t nc = cs->cap ? cs->cap * 2 : 16;
		struct adbg_obj_pair *p = realloc(cs->it.pairs, nc * sizeof(*p));

		if (!p) {
			cs->err = &adbg_error_nomem;
			return true;
		}
		cs->it.pairs = p;
		cs->cap = nc;
	}
	cs->it.pairs[cs->it.n].key = key;
	cs->it.pairs[cs->it.n].value = value;
	cs->it.n++;
	return false;
}

static ADBG_MUST_CHECK struct adbg_error *collect(struct adbg_target *t,
						  const struct adbg_layout *l,
						  const struct dict_src *src, size_t max,
						  struct adbg_obj_dict_items *ret)
{
	struct collect_state cs = {.max = cap_items(max)};
	struct adbg_error *err = dict_walk(t, l, src, collect_pair, &cs);

	if (!err)
		err = cs.err;
	if (err) {
		free(cs.it.pairs);
		return err;
	}
	*ret = cs.it;
	return NULL;
}

struct adbg_error *adbg_obj_dict_items(struct adbg_target *t, const struct adbg_layout *l,
				       uint64_t dict, size_t max, struct adbg_obj_dict_items *ret)
{
	struct dict_src src;
	struct adbg_error *err = dict_src_of(t, l, dict, &src);

	if (!err)
		err = collect(t, l, &src, max, ret);
	return adbg_error_wrap(err, "dict at %#" PRIx64, dict);
}

struct lookup_state {
	struct adbg_target *t;
	const struct adbg_layout *l;
	const char *key;
	uint64_t value;
	bool found;
	struct adbg_error *err;
};

static bool lookup_pair(void *arg, uint64_t key, uint64_t value)
{
	struct lookup_state *ls = arg;
	bool eq;
	struct adbg_error *err = adbg_obj_str_equals(ls->t, ls->l, key, ls->key, &eq);

	// A key that cannot be read cannot be the one we want; keep looking.
	if (err) {
		if (err->code == ADBG_ERR_NOMEM) {
			ls->err = err;
			return true;
		}
		adbg_error_destroy(err);
		return false;
	}
	if (eq) {
		ls->value = value;
		ls->found = true;
	}
	return eq;
}

static ADBG_MUST_CHECK struct adbg_error *lookup(struct adbg_target *t, const struct adbg_layout *l,
						 const struct dict_src *src, const char *key,
						 uint64_t *ret)
{
	struct lookup_state ls = {.t = t, .l = l, .key = key};
	struct adbg_error *err = dict_walk(t, l, src, lookup_pair, &ls);

	if (!err)
		err = ls.err;
	if (err)
		return err;
	if (!ls.found)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "no key '%s'", key);
	*ret = ls.value;
	return NULL;
}

struct adbg_error *adbg_obj_dict_lookup_str(struct adbg_target *t, const struct adbg_layout *l,
					    uint64_t dict, const char *key, uint64_t *ret)
{
	struct dict_src src;
	struct adbg_error *err = dict_src_of(t, l, dict, &src);

	if (!err)
		err = lookup(t, l, &src, key, ret);
	return adbg_error_wrap(err, "dict at %#" PRIx64, dict);
}

// The shared keys of a heap type's instances (PyHeapTypeObject.ht_cached_keys).
static ADBG_MUST_CHECK struct adbg_error *cached_keys(struct adbg_target *t,
						      const struct adbg_layout *l,
						      const struct type_info *ti, uint64_t *ret)
{
	uint64_t keys;
	struct adbg_error *err;

	if (!(ti->flags & l->tp_flags_bits.heaptype))
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "type at %#" PRIx64 ": split values on a static type",
					 ti->addr);
	err = adbg_read_u64(t, ti->addr + l->type_object.ht_cached_keys, &keys);
	if (!err)
		err = check_ptr(keys, "ht_cached_keys");
	if (err)
		return adbg_error_wrap(err, "type at %#" PRIx64, ti->addr);
	*ret = keys;
	return NULL;
}

// Where obj's instance attributes live; *has_ret is false when it has no dict (yet).
static ADBG_MUST_CHECK struct adbg_error *instance_src(struct adbg_target *t,
						       const struct adbg_layout *l, uint64_t obj,
						       struct dict_src *ret, bool *has_ret)
{
	const typeof(l->managed_dict_ptr) *mdp = &l->managed_dict_ptr;
	struct dict_src src = {0};
	struct type_info ti;
	uint64_t type, word, dict = 0;
	struct adbg_error *err = adbg_obj_type(t, l, obj, &type);

	if (!err)
		err = adbg_obj_read_type(t, l, type, &ti);
	if (err)
		return err;
	if (l->tp_flags_bits.managed_dict && (ti.flags & l->tp_flags_bits.managed_dict)) {
		switch (l->managed_dict) {
		case ADBG_MANAGED_DICT_311:
			// A values pointer, else a dict pointer (l->managed_dict_ptr).
			if ((err = adbg_read_u64(t, obj + (uint64_t)mdp->values, &word)))
				return err;
			if (word) {
				src.values = word;
				if ((err = check_ptr(word, "values")) ||
				    (err = cached_keys(t, l, &ti, &src.keys)))
					return err;
				break;
			}
			if ((err = adbg_read_u64(t, obj + (uint64_t)mdp->dict, &dict)))
				return err;
			break;
		case ADBG_MANAGED_DICT_312:
			// 3.12 Include/internal/pycore_object.h: PyDictOrValues; low bit set
			// means values, stored as (values - 1).
			if ((err = adbg_read_u64(t, obj + (uint64_t)mdp->dict, &word)))
				return err;
			if (word & 1) {
				src.values = word + 1;
				if ((err = check_ptr(src.values, "values")) ||
				    (err = cached_keys(t, l, &ti, &src.keys)))
					return err;
				break;
			}
			dict = word;
			break;
		case ADBG_MANAGED_DICT_313: {
			// 3.13+ Include/internal/pycore_object.h: a materialised dict (at
			// MANAGED_DICT_OFFSET) wins over the inline values, which sit at obj +
			// tp_basicsize (3.14 _PyObject_InlineValues; 3.13 asserts basicsize ==
			// sizeof(PyObject)).
			if ((err = adbg_read_u64(t, obj + (uint64_t)mdp->dict, &dict)))
				return err;
			if (dict)
				break;
			if (l->tp_flags_bits.inline_values &&
			    (ti.flags & l->tp_flags_bits.inline_values)) {
				uint8_t hdr[ADBG_DICT_VALUES_COUNTS];
				uint64_t values = obj + (uint64_t)ti.basicsize;

				if (ti.basicsize <= 0 || ti.basicsize > (1 << 20) ||
				    (ti.basicsize & 7))
					return adbg_error_create(ADBG_ERR_BAD_DATA,
								 "type at %#" PRIx64
								 ": tp_basicsize %" PRId64,
								 type, ti.basicsize);
				if ((err = adbg_target_read(t, values, hdr, sizeof(hdr))))
					return err;
				// "valid" is cleared when the values moved to a dict.
				if (hdr[l->dict_values.valid]) {
					src.values = values;
					if ((err = cached_keys(t, l, &ti, &src.keys)))
						return err;
				}
			}
			break;
		}
		}
	} else if (ti.dictoffset > 0) {
		if (ti.dictoffset > (1 << 20) || (ti.dictoffset & 7))
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "type at %#" PRIx64 ": tp_dictoffset %" PRId64,
						 type, ti.dictoffset);
		if ((err = adbg_read_u64(t, obj + (uint64_t)ti.dictoffset, &dict)))
			return err;
	} else if (ti.dictoffset < 0) {
		// 3.11 Objects/object.c _PyObject_ComputedDictPointer: the dict follows
		// the variable part, tp_dictoffset counts back from the rounded-up end
		// (instances of int/tuple/bytes subclasses; 3.12+ use managed dicts).
		uint64_t itemsize_off = l->type_object.tp_itemsize;
		int64_t itemsize, size;

		if (!itemsize_off || itemsize_off == ADBG_NO_FIELD)
			return adbg_error_create(ADBG_ERR_UNSUPPORTED,
						 "negative tp_dictoffset needs tp_itemsize, which "
						 "the layout lacks");
		if ((err = adbg_read_u64(t, type + itemsize_off, (uint64_t *)&itemsize)) ||
		    (err = adbg_read_u64(t, obj + l->list_object.ob_size, (uint64_t *)&size)))
			return err;
		// PyVarObject.ob_size (the list's is the same field); signed for 3.11 ints.
		if (size < 0)
			size = -size;
		if (itemsize < 0 || itemsize > 64 || size > (1ll << 40) || ti.basicsize <= 0 ||
		    ti.basicsize > (1 << 20) || ti.dictoffset < -(1 << 20))
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "type at %#" PRIx64 ": tp_dictoffset %" PRId64
						 ", tp_itemsize %" PRId64 ", ob_size %" PRId64,
						 type, ti.dictoffset, itemsize, size);
		int64_t off = ((ti.basicsize + size * itemsize + 7) & ~7ll) + ti.dictoffset;

		if (off < 0 || (off & 7))
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "object at %#" PRIx64 ": dict offset %" PRId64,
						 obj, off);
		if ((err = adbg_read_u64(t, obj + (uint64_t)off, &dict)))
			return err;
	}
	if (!src.values && dict) {
		if ((err = dict_src_of(t, l, dict, &src)))
			return adbg_error_wrap(err, "__dict__ at %#" PRIx64, dict);
	}
	*has_ret = src.keys != 0;
	*ret = src;
	return NULL;
}

struct adbg_error *adbg_obj_getattr(struct adbg_target *t, const struct adbg_layout *l,
				    uint64_t obj, const char *name, uint64_t *ret)
{
	struct dict_src src;
	bool has;
	struct adbg_error *err = instance_src(t, l, obj, &src, &has);

	if (!err && !has)
		err = adbg_error_create(ADBG_ERR_NOT_FOUND, "no __dict__");
	if (!err)
		err = lookup(t, l, &src, name, ret);
	return adbg_error_wrap(err, "object at %#" PRIx64 ": attribute %s", obj, name);
}

struct adbg_error *adbg_obj_instance_attrs(struct adbg_target *t, const struct adbg_layout *l,
					   uint64_t obj, size_t max,
					   struct adbg_obj_dict_items *ret)
{
	struct dict_src src;
	bool has;
	struct adbg_error *err = instance_src(t, l, obj, &src, &has);

	if (!err && !has) {
		*ret = (struct adbg_obj_dict_items){0};
		return NULL;
	}
	if (!err)
		err = collect(t, l, &src, max, ret);
	return adbg_error_wrap(err, "object at %#" PRIx64 ": attributes", obj);
}
