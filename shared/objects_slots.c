// SPDX-License-Identifier: MIT
// Reading an attribute that a class declares in __slots__ (see objects.h).
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"

// Classes searched along tp_base at most (asyncio's TimerHandle: TimerHandle, Handle).
#define MAX_BASES 32
// Member offsets beyond this are taken to be garbage (a slot is a word of the instance).
#define MAX_SLOT_OFFSET 65536
// Include/descrobject.h (3.12+; structmember.h before): Py_T_OBJECT, Py_T_OBJECT_EX.
#define MEMBER_T_OBJECT 6
#define MEMBER_T_OBJECT_EX 16

struct adbg_error *adbg_obj_slot(struct adbg_target *t, const struct adbg_layout *l, uint64_t obj,
				 const char *name, uint64_t *ret)
{
	struct adbg_error *err;
	uint64_t type = 0;

	err = adbg_obj_type(t, l, obj, &type);
	for (int depth = 0; !err && type && depth < MAX_BASES; depth++) {
		uint64_t dict = 0, descr = 0, def = 0, value = 0;
		int64_t offset = 0;
		uint32_t kind = 0;
		char *tn = NULL;

		err = adbg_read_u64(t, type + l->type_object.tp_dict, &dict);
		if (!err && dict)
			err = adbg_obj_dict_lookup_str(t, l, dict, name, &descr);
		if (adbg_error_is(err, ADBG_ERR_NOT_FOUND) || (!err && !dict)) {
			adbg_error_destroy(err);
			err = adbg_read_u64(t, type + l->type_object.tp_base, &type);
			continue;
		}
		if (!err)
			err = adbg_obj_type_name(t, l, descr, &tn);
		if (!err && strcmp(tn, "member_descriptor") != 0)
			err = adbg_error_create(ADBG_ERR_NOT_FOUND, "%s is not a slot (a %s)", name,
						tn);
		free(tn);
		if (!err)
			err = adbg_read_u64(t, descr + l->member_descr.d_member, &def);
		if (!err)
			err = adbg_read_u32(t, def + l->member_descr.type, &kind);
		if (!err)
			err = adbg_read_u64(t, def + l->member_descr.offset, (uint64_t *)&offset);
		if (err)
			return adbg_error_wrap(err, "slot %s", name);
		if ((kind != MEMBER_T_OBJECT && kind != MEMBER_T_OBJECT_EX) ||
		    offset < (int64_t)l->pyobject.size || offset > MAX_SLOT_OFFSET)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "slot %s: member type %" PRIu32
						 ", offset %" PRId64,
						 name, kind, offset);
		err = adbg_read_u64(t, obj + (uint64_t)offset, &value);
		if (err)
			return adbg_error_wrap(err, "slot %s", name);
		if (!value)
			return adbg_error_create(ADBG_ERR_NOT_FOUND, "slot %s is unset", name);
		*ret = value;
		return NULL;
	}
	return err ? err : adbg_error_create(ADBG_ERR_NOT_FOUND, "no slot %s", name);
}
