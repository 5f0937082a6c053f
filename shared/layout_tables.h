// SPDX-License-Identifier: MIT
// The built-in per-minor layout tables of CPython 3.11-3.15 (private to layout*.c).
//
// What aiodbg knows of each minor version without asking the target: the whole layout of
// 3.11 and 3.12, and on 3.13+ what _Py_DebugOffsets and AsyncioDebug do not describe
// (pre-header and enum values, asyncio objects before 3.14, constants of the readers).
// Fields that the target's own tables give are ADBG_NO_FIELD here, so that a version
// whose table lacks one cannot silently use a guess. adbg_layout_build (layout.c) starts
// from one of these, completes it from the target and validates it: nothing else uses
// them directly. This module does not read targets or validate.
#ifndef AIODBG_LAYOUT_TABLES_H
#define AIODBG_LAYOUT_TABLES_H

#include "layout.h"

/** The built-in table of 3.minor, for adbg_layout_build only. */
extern const struct adbg_layout adbg_layout_311;
extern const struct adbg_layout adbg_layout_312;
extern const struct adbg_layout adbg_layout_313;
extern const struct adbg_layout adbg_layout_314;
extern const struct adbg_layout adbg_layout_315;

/**
 * Offsets (into struct adbg_layout, each a uint64_t field) of the built-in fields that
 * follow an object header: a free-threaded build moves them by pyobject.size - 16.
 */
extern const uint32_t adbg_layout_object_fields[];
extern const size_t adbg_layout_object_nfields;

/** What a free-threaded build of a minor changes besides the object header. */
struct adbg_layout_ft {
	unsigned minor;
	struct {
		uint64_t locked, last_holder;
	} gil_state;
	/** MANAGED_DICT_OFFSET. */
	int64_t managed_dict;
	/** PyASCIIObject.state bit-fields. */
	struct {
		unsigned kind_shift;
		uint32_t kind_mask, compact_bit, ascii_bit;
	} unicode;
	uint64_t stackref_tag_mask;
	/** aiodbg was checked against a running interpreter of this flavour. */
	bool live_verified;
};

/** The free-threaded differences of 3.minor, or NULL when it has no such build. */
const struct adbg_layout_ft *adbg_layout_ft_find(unsigned minor);

#endif
