// SPDX-License-Identifier: MIT
// ELF sections and symbols of the files a target maps, at their addresses in the target.
//
// adbg_symbols_create lists the distinct files behind the target's mappings (t->maps
// entries with a path; one file per path and inode). A file is opened (through
// adbg_target_open_file, so /proc/PID/root, map_files and --sysroot apply), parsed with
// elffile.h and given its load bias the first time a lookup needs it, and then cached for
// the life of the symbols object. Files that cannot be opened or parsed are skipped; the
// first such error is kept so that callers can tell "no file holds it" from "a file we
// could not read might have" (then suggest --sysroot/--lib-path). This module reads no
// target memory and knows nothing of Python; it does not follow debuglinks or decompress
// sections.
#ifndef AIODBG_SYMBOLS_H
#define AIODBG_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "target.h"

struct adbg_symbols;
struct adbg_elf;

/** Which files a search visits, by their base name. */
enum adbg_symbols_match {
	/** every file. */
	ADBG_SYMBOLS_ANY,
	/** files whose base name contains the filter string. */
	ADBG_SYMBOLS_CONTAINS,
	/** files whose base name does not contain the filter string. */
	ADBG_SYMBOLS_LACKS,
};

/** Where a section or symbol is in the target. */
struct adbg_symbols_hit {
	/** address in the target (link-time address + the file's load bias). */
	uint64_t addr;
	/** section size, or the symbol's st_size. */
	uint64_t size;
	/** index of the file (adbg_symbols_file_path), stable for the object's life. */
	size_t file;
	/** the file's path as the target names it; owned by the symbols object. */
	const char *path;
};

/**
 * List the files target t maps. Nothing is opened yet. t must outlive the result and its
 * maps must not change meanwhile (create a new object after adbg_target_refresh).
 *
 * @param ret  the new object (adbg_symbols_destroy), written on success only.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_symbols_create(struct adbg_target *t,
						       struct adbg_symbols **ret);

/** Free the object and every file it opened. NULL is a no-op. */
void adbg_symbols_destroy(struct adbg_symbols *s);

/** Number of distinct mapped files. */
size_t adbg_symbols_nfiles(const struct adbg_symbols *s);

/** Path of file i (i < adbg_symbols_nfiles) as the target names it. */
const char *adbg_symbols_file_path(const struct adbg_symbols *s, size_t i);

/** Whether file i's base name passes (match, filter); filter is ignored for ANY. */
bool adbg_symbols_file_matches(const struct adbg_symbols *s, size_t i,
			       enum adbg_symbols_match match, const char *filter);

/**
 * Find an allocated section (".PyRuntime" or "PyRuntime") in file i.
 *
 * @param ret  written on success only.
 * Errors: ADBG_ERR_NOT_FOUND when the file has no such section; the file's open or parse
 * error (also remembered, see adbg_symbols_open_error) when it cannot be read.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_symbols_file_section(struct adbg_symbols *s, size_t i,
							     const char *name,
							     struct adbg_symbols_hit *ret);

/**
 * Find a defined symbol in file i (.symtab, then .dynsym). Errors as for
 * adbg_symbols_file_section.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_symbols_file_symbol(struct adbg_symbols *s, size_t i,
							    const char *name,
							    struct adbg_symbols_hit *ret);

/**
 * The first file passing (match, filter), in mapping order, that has section name.
 * ADBG_ERR_NOT_FOUND when none has it (files that could not be opened are skipped).
 */
ADBG_MUST_CHECK struct adbg_error *
adbg_symbols_find_section(struct adbg_symbols *s, const char *name, enum adbg_symbols_match match,
			  const char *filter, struct adbg_symbols_hit *ret);

/** Like adbg_symbols_find_section, for a symbol. */
ADBG_MUST_CHECK struct adbg_error *
adbg_symbols_find_symbol(struct adbg_symbols *s, const char *name, enum adbg_symbols_match match,
			 const char *filter, struct adbg_symbols_hit *ret);

/**
 * The file mapped at target address addr: *ret is its index. ADBG_ERR_NOT_FOUND when addr
 * is in no mapping, or in anonymous memory or a pseudo file ([vdso], JIT code).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_symbols_file_at(struct adbg_symbols *s, uint64_t addr,
							size_t *ret);

/**
 * The function symbol of file i that holds target address addr (adbg_elf_symbol_at), else
 * the function its PLT entry there calls (adbg_elf_plt_at; *plt_ret is then true, and
 * *start_ret the entry's address): *name_ret points into the file's image (valid for the
 * symbols object's life), *start_ret is the symbol's address in the target.
 * ADBG_ERR_NOT_FOUND when neither holds it; the file's open or parse error when it cannot
 * be read.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_symbols_file_function(struct adbg_symbols *s, size_t i,
							      uint64_t addr, const char **name_ret,
							      uint64_t *start_ret, bool *plt_ret);

/**
 * File i, opened and parsed: its ELF image and load bias (target address = link-time
 * address + bias). Both stay valid for the symbols object's life. Errors as for
 * adbg_symbols_file_section.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_symbols_file_elf(struct adbg_symbols *s, size_t i,
							 const struct adbg_elf **elf_ret,
							 uint64_t *bias_ret);

/**
 * Copy len bytes that file i's image places at target address addr (the file's initial
 * contents of that memory: useful when a core lacks read-only segments). Fails with
 * ADBG_ERR_NOT_FOUND when no PT_LOAD of the file covers all of them from file bytes.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_symbols_file_read(struct adbg_symbols *s, size_t i,
							  uint64_t addr, void *buf, size_t len);

/**
 * The first error met opening or parsing a file, or NULL. Owned by the symbols object;
 * copy the message if it must outlive it.
 */
const struct adbg_error *adbg_symbols_open_error(const struct adbg_symbols *s);

/** Whether file i was tried and could not be opened (missing, permission, moved). */
bool adbg_symbols_file_unreadable(const struct adbg_symbols *s, size_t i);

#endif
