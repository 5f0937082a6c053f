// SPDX-License-Identifier: MIT
// A small, defensive reader of ELF64 little-endian files held in memory.
//
// Used for the files a target maps (sections such as .PyRuntime and AsyncioDebug,
// symbols from .symtab and .dynsym) and for core files (program headers and notes).
// Every offset and size read from the file is checked against the buffer before use:
// the bytes are untrusted. It does not relocate, decompress or follow debuglinks.
#ifndef AIODBG_ELFFILE_H
#define AIODBG_ELFFILE_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct adbg_elf;

struct adbg_elf_section {
	const char *name;
	uint32_t type;
	uint64_t flags;
	uint64_t addr;
	uint64_t offset;
	uint64_t size;
};

/** Parse an ELF64 image of len bytes at buf (borrowed: must outlive the result). */
ADBG_MUST_CHECK struct adbg_error *adbg_elf_open_mem(const void *buf, size_t len,
						     struct adbg_elf **ret);

/** Map the file open on fd read-only and parse it. The fd may be closed afterwards. */
ADBG_MUST_CHECK struct adbg_error *adbg_elf_open_fd(int fd, const char *name,
						    struct adbg_elf **ret);

/** Free (and unmap when adbg_elf_open_fd mapped it). NULL is a no-op. */
void adbg_elf_destroy(struct adbg_elf *elf);

/** e_type: ET_EXEC, ET_DYN, ET_CORE. */
uint16_t adbg_elf_type(const struct adbg_elf *elf);

/**
 * The number of program headers an ELF64 header at buf (len bytes) declares, following
 * PN_XNUM to section header 0's sh_info. Only reads the ELF header and, for PN_XNUM,
 * section header 0 (both bounds-checked); does not validate anything else.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_elf_header_phnum(const void *buf, size_t len, size_t *ret);

/** Number of program headers, and the i-th one (i < adbg_elf_phnum). */
size_t adbg_elf_phnum(const struct adbg_elf *elf);
const Elf64_Phdr *adbg_elf_phdr(const struct adbg_elf *elf, size_t i);

/** The whole image. */
const unsigned char *adbg_elf_data(const struct adbg_elf *elf, size_t *len);

/**
 * Bytes [offset, offset+size) of the image, or NULL if they are not all inside it.
 */
const unsigned char *adbg_elf_bytes(const struct adbg_elf *elf, uint64_t offset, uint64_t size);

/** Find a section by name ("." optional in name: ".PyRuntime" and "PyRuntime" match). */
ADBG_MUST_CHECK struct adbg_error *
adbg_elf_find_section(const struct adbg_elf *elf, const char *name, struct adbg_elf_section *ret);

/** Find a defined symbol in .symtab, then .dynsym. *ret is its st_value. */
ADBG_MUST_CHECK struct adbg_error *adbg_elf_find_symbol(const struct adbg_elf *elf,
							const char *name, uint64_t *ret,
							uint64_t *size_ret);

/**
 * The function symbol that holds link-time address vaddr (.symtab and .dynsym): one whose
 * [st_value, st_value + st_size) holds it, else the nearest one of unknown size (0) at
 * most 4 KiB below it. Among aliases, the name with fewer leading underscores wins, then
 * global over weak over local. *name_ret points into the image; *value_ret is st_value.
 * ADBG_ERR_NOT_FOUND when no symbol holds it (stripped file, code between symbols).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_elf_symbol_at(const struct adbg_elf *elf, uint64_t vaddr,
						      const char **name_ret, uint64_t *value_ret);

/**
 * The function that the PLT entry holding link-time address vaddr calls (x86-64 .plt and
 * .plt.sec through the JUMP_SLOT relocations of .rela.plt; .plt.got through the GLOB_DAT
 * ones of .rela.dyn): *name_ret is its
 * dynamic symbol's name (in the image), *value_ret the entry's address. Shown as
 * "name@plt". ADBG_ERR_NOT_FOUND when vaddr is in no such entry.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_elf_plt_at(const struct adbg_elf *elf, uint64_t vaddr,
						   const char **name_ret, uint64_t *value_ret);

/**
 * The link-time address that corresponds to file offset 0 for the purpose of computing a
 * load bias: p_vaddr - p_offset of the first PT_LOAD. A mapping of file offset O at
 * address A gives bias = A - O - adbg_elf_link_base().
 */
ADBG_MUST_CHECK struct adbg_error *adbg_elf_link_base(const struct adbg_elf *elf, uint64_t *ret);

/** Iterate over notes in [data, data+len); calls fn for each; stops on fn != NULL. */
typedef ADBG_MUST_CHECK struct adbg_error *(*adbg_elf_note_fn)(void *arg, uint32_t type,
							       const char *name,
							       const unsigned char *desc,
							       size_t desc_len);
ADBG_MUST_CHECK struct adbg_error *adbg_elf_for_each_note(const unsigned char *data, size_t len,
							  adbg_elf_note_fn fn, void *arg);

/** The GNU build id (NT_GNU_BUILD_ID note), or NULL. */
const unsigned char *adbg_elf_build_id(const struct adbg_elf *elf, size_t *len);

#endif
