// SPDX-License-Identifier: MIT
// A repr-like rendering of Python objects in target memory, for displaying values.
//
// adbg_obj_repr prints what Python's repr() would for the builtins (None, bool, int,
// float, str, bytes, tuple, list, dict, set, frozenset, and subclasses of those), names
// types, code objects, modules and weakrefs, and prints anything else as "<X object at
// 0x...>". It reads through the object readers (objects.h) and code.h only, with caps on
// depth, items and length and a cycle check; an object that cannot be read prints as
// "<unreadable 0x...>" instead of failing. It never runs code in the target, so a class's
// own __repr__ is not used, and it does not find objects (runtime.c and asyncio.c do).
#ifndef AIODBG_REPR_H
#define AIODBG_REPR_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct adbg_layout;
struct adbg_target;

/** adbg_obj_repr: containers nested deeper than this print as "[...]". */
#define ADBG_REPR_MAX_DEPTH 6
/** adbg_obj_repr: items shown per container before ", ...". */
#define ADBG_REPR_MAX_ITEMS 32

/**
 * A repr-like rendering for displaying values: None/True/False, int, float, str (quoted
 * and escaped as Python does, printability approximated), bytes, tuple/list/dict/set/
 * frozenset (recursive, cut at ADBG_REPR_MAX_DEPTH and ADBG_REPR_MAX_ITEMS, self-references
 * as "[...]"), subclasses of those as "Name(<base repr>)", types as "<class 'X'>", code and
 * modules by name, anything else "<X object at 0x...>". Objects that cannot be read print
 * as "<unreadable 0x...>": only running out of memory fails.
 *
 * @param max_len  at most this many bytes (>= 16); longer output ends in "...".
 * @param ret      malloc'd NUL-terminated text, the caller frees it.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_obj_repr(struct adbg_target *t, const struct adbg_layout *l,
						 uint64_t obj, size_t max_len, char **ret);

#endif
