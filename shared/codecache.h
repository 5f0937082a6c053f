// SPDX-License-Identifier: MIT
// A per-snapshot cache of decoded code objects: qualname, filename, line table.
//
// Many frames share one code object (a million tasks suspended in the same coroutine), so
// each code object is read and decoded once per snapshot, and its most recent
// instruction->line answers are remembered. The session owns one (adbg_session_code) and
// clears it in adbg_session_snapshot_begin, since a live target may free a code object and
// reuse its address between snapshots; the cache itself knows nothing of sessions. Names
// are copied into the arena it is given; the line table is decoded by code.h.
#ifndef AIODBG_CODECACHE_H
#define AIODBG_CODECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct adbg_arena;
struct adbg_layout;
struct adbg_target;

/** Locals of one code object whose slots an entry remembers (adbg_frame_local's few names). */
#define ADBG_CODE_LOCALS 4

struct adbg_code_entry {
	uint64_t code;
	/** in the session's snapshot strings (adbg_snapshot_strdup); NULL when unreadable. */
	const char *qualname;
	const char *filename;
	int firstlineno;
	/** address of co_code_adaptive[0] in the target. */
	uint64_t bytecode_addr;
	/** address of the first traceable instruction (_co_firsttraceable), 0 if unknown. */
	uint64_t firsttraceable_addr;
	uint8_t *linetable;
	size_t linetable_len;
	/** one remembered answer of adbg_codecache_line. */
	uint64_t last_ip;
	int last_line;
	/** remembered answers of adbg_frame_local (adbg_codecache_local). */
	struct adbg_code_local {
		const char *name;
		int slot;
		bool cell;
	} locals[ADBG_CODE_LOCALS];
	unsigned nlocals;
};

struct adbg_codecache;

/** An empty cache; NULL when out of memory. Free with adbg_codecache_destroy. */
struct adbg_codecache *adbg_codecache_create(void);

/**
 * Find or read the code object at code in target t (layout l). Its names are copied into
 * names (the session's snapshot strings), which must live as long as the entry. *ret
 * stays valid until the cache is cleared. Sessions call this through adbg_session_code.
 */
ADBG_MUST_CHECK struct adbg_error *
adbg_codecache_get(struct adbg_codecache *cc, struct adbg_target *t, const struct adbg_layout *l,
		   struct adbg_arena *names, uint64_t code, const struct adbg_code_entry **ret);

/**
 * The line of the instruction at ip (an address inside the code's bytecode: 3.11/3.12
 * prev_instr, 3.13+ instr_ptr). 0 when the table has no line for it; firstlineno for an
 * ip before the first instruction (a frame that has not started).
 */
int adbg_codecache_line(const struct adbg_code_entry *ce, uint64_t ip);

/**
 * Thread-local bytecode (free-threaded 3.14+, layout field interpreter_frame.tlbc_index):
 * a frame's instruction pointer points into the copy of the bytecode its thread runs,
 * co_tlbc->entries[frame->tlbc_index] (Include/internal/pycore_interpframe.h
 * _PyFrame_GetBytecode). Sets *ip to the same instruction in co_code_adaptive, which the
 * line table and firsttraceable_addr describe. A no-op for layouts without the field or
 * for index 0 (the main copy). co_tlbc is re-read every time: a cached array goes stale
 * when it grows or a slot is filled.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_codecache_main_ip(const struct adbg_code_entry *ce,
							  struct adbg_target *t,
							  const struct adbg_layout *l,
							  uint64_t iframe, uint64_t *ip);

/**
 * The slot of the local called name in ce's code object, when remembered: true, with *slot
 * (-1: the code has no such local) and *cell (the slot holds a cell). A million tasks
 * suspended in one coroutine ask it a million times; the names tuple is read once.
 */
bool adbg_codecache_local(const struct adbg_code_entry *ce, const char *name, int *slot,
			  bool *cell);

/** Remember an answer for adbg_codecache_local (name must outlive the entry: a literal). */
void adbg_codecache_remember_local(const struct adbg_code_entry *ce, const char *name, int slot,
				   bool cell);

/** Free every entry (NULL-safe). */
void adbg_codecache_clear(struct adbg_codecache *cc);

/** Free the cache and its entries (NULL-safe). */
void adbg_codecache_destroy(struct adbg_codecache *cc);

#endif
