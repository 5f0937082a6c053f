// SPDX-License-Identifier: MIT
// Code objects in target memory: names, file, first line, and the line-number table.
//
// adbg_code_addr2line decodes the 3.11+ co_linetable format (Objects/locations.md in
// 3.11-3.13, InternalDocs/code_objects.md in 3.14+) from a plain byte buffer, so it can
// be tested and fuzzed without a target; adbg_code_read and adbg_code_read_linetable
// fetch what it needs. This module does not turn a frame's instruction pointer into an
// offset (runtime.c does: prev_instr vs instr_ptr, thread-local bytecode) and does not
// cache (codecache.h does).
#ifndef AIODBG_CODE_H
#define AIODBG_CODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "layout.h"
#include "target.h"

/** Line tables longer than this (1 MiB) are refused as corrupt. */
#define ADBG_CODE_MAX_LINETABLE (1u << 20)
/** Names and file names are cut to this many bytes of UTF-8. */
#define ADBG_CODE_MAX_NAME 4096

/** What a code object says about itself. */
struct adbg_code_info {
	/** co_name, co_qualname, co_filename as UTF-8 (malloc'd; never NULL on success). */
	char *name;
	char *qualname;
	char *filename;
	int firstlineno;
};

/**
 * Read the names, file and first line of the code object at code. A name that cannot be
 * read fails the call (the caller decides whether to show "???").
 *
 * @param ret  filled on success; free with adbg_code_info_deinit.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_code_read(struct adbg_target *t,
						  const struct adbg_layout *l, uint64_t code,
						  struct adbg_code_info *ret);

/** Free the strings of ci (NULL-safe; the struct may be reused). */
void adbg_code_info_deinit(struct adbg_code_info *ci);

/**
 * Copy co_linetable (a bytes object) of the code object at code.
 *
 * @param ret      malloc'd table, the caller frees it (NULL when len is 0).
 * @param len_ret  its length.
 * Fails with ADBG_ERR_BAD_DATA if the table is longer than ADBG_CODE_MAX_LINETABLE.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_code_read_linetable(struct adbg_target *t,
							    const struct adbg_layout *l,
							    uint64_t code, uint8_t **ret,
							    size_t *len_ret);

/**
 * The source line of the instruction at byte_offset (in bytes from the start of the
 * bytecode, cache entries included, as co_lines() counts), like CPython's
 * PyCode_Addr2Line.
 *
 * @param table        co_linetable bytes (3.11+ format).
 * @param len          their number.
 * @param firstlineno  co_firstlineno.
 * @param byte_offset  instruction offset; negative means "not started yet".
 * @return the line; firstlineno for a negative offset; -1 when the instruction has no
 *         line (code 15 entries, offsets past the table, malformed tables).
 */
int adbg_code_addr2line(const uint8_t *table, size_t len, int firstlineno, int byte_offset);

/** One address range of a line table: [start, end) in bytes, line -1 for none. */
struct adbg_code_range {
	int start;
	int end;
	int line;
};

/** Iterator over the ranges of a line table (what co_lines() yields, unmerged). */
struct adbg_code_iter {
	const uint8_t *p, *end;
	int line;
	int addr;
};

/** Start iterating table. */
void adbg_code_iter_init(struct adbg_code_iter *it, const uint8_t *table, size_t len,
			 int firstlineno);

/** The next range into *ret; false at the end of the table (or at malformed bytes). */
bool adbg_code_iter_next(struct adbg_code_iter *it, struct adbg_code_range *ret);

/**
 * Read the code object at code and return the line of byte_offset (see
 * adbg_code_addr2line). Convenience for one-off lookups; callers with many frames use
 * a cache.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_code_line(struct adbg_target *t,
						  const struct adbg_layout *l, uint64_t code,
						  int byte_offset, int *ret);

#endif
