// SPDX-License-Identifier: MIT
// ELF64 parsing with every offset bounds-checked (format: elf(5), /usr/include/elf.h).
#include "elffile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Sanity cap: a corrupt note segment must not make us loop for long.
#define MAX_NOTES 1000000

struct adbg_elf {
	const unsigned char *data;
	size_t len;
	bool mapped;
	const Elf64_Ehdr *ehdr;
	const Elf64_Phdr *phdrs;
	size_t phnum;
	const Elf64_Shdr *shdrs;
	size_t shnum;
	const char *shstrtab;
	size_t shstrtab_len;
};

const unsigned char *adbg_elf_bytes(const struct adbg_elf *elf, uint64_t offset, uint64_t size)
{
	if (offset > elf->len || size > elf->len - offset)
		return NULL;
	return elf->data + offset;
}

struct adbg_error *adbg_elf_header_phnum(const void *buf, size_t len, size_t *ret)
{
	const unsigned char *data = buf;
	Elf64_Ehdr eh;
	Elf64_Shdr sh0;

	if (len < sizeof(eh))
		return adbg_error_create(ADBG_ERR_BAD_DATA, "not an ELF file");
	memcpy(&eh, data, sizeof(eh));
	if (eh.e_phnum != PN_XNUM) {
		*ret = eh.e_phnum;
		return NULL;
	}
	// More than 0xfffe program headers (cores of processes with many mappings): the
	// real count is in sh_info of section header 0 (elf(5); fs/binfmt_elf.c:
	// fill_extnum_info).
	if (eh.e_shoff == 0 || eh.e_shoff > len || len - eh.e_shoff < sizeof(sh0))
		return adbg_error_create(
			ADBG_ERR_BAD_DATA,
			"e_phnum is PN_XNUM but section header 0 is missing (truncated?)");
	memcpy(&sh0, data + eh.e_shoff, sizeof(sh0));
	*ret = sh0.sh_info;
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *elf_parse(struct adbg_elf *elf)
{
	const Elf64_Ehdr *eh;
	struct adbg_error *err;
	size_t phnum;

	if (elf->len < sizeof(Elf64_Ehdr) || memcmp(elf->data, ELFMAG, SELFMAG) != 0)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "not an ELF file");
	eh = (const Elf64_Ehdr *)elf->data;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "not a 64-bit little-endian ELF file");
	if (eh->e_machine != EM_X86_64)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED, "ELF machine %u is not x86-64",
					 eh->e_machine);
	elf->ehdr = eh;

	err = adbg_elf_header_phnum(elf->data, elf->len, &phnum);
	if (err)
		return err;
	if (phnum) {
		if (eh->e_phentsize != sizeof(Elf64_Phdr))
			return adbg_error_create(ADBG_ERR_BAD_DATA, "bad program header table");
		elf->phdrs = (const Elf64_Phdr *)adbg_elf_bytes(
			elf, eh->e_phoff, (uint64_t)phnum * sizeof(Elf64_Phdr));
		if (!elf->phdrs || (eh->e_phoff & 7))
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "program headers outside the file (truncated?)");
		elf->phnum = phnum;
	}

	// Section headers are optional (cores have none); a bad table is ignored rather
	// than fatal, since cores and stripped files are still useful without it.
	if (eh->e_shnum && eh->e_shentsize == sizeof(Elf64_Shdr) && !(eh->e_shoff & 7)) {
		const Elf64_Shdr *sh = (const Elf64_Shdr *)adbg_elf_bytes(
			elf, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr));

		if (sh && eh->e_shstrndx < eh->e_shnum) {
			const Elf64_Shdr *s = &sh[eh->e_shstrndx];
			const char *str =
				(const char *)adbg_elf_bytes(elf, s->sh_offset, s->sh_size);

			if (str && s->sh_type != SHT_NOBITS) {
				elf->shdrs = sh;
				elf->shnum = eh->e_shnum;
				elf->shstrtab = str;
				elf->shstrtab_len = s->sh_size;
			}
		}
	}
	return NULL;
}

struct adbg_error *adbg_elf_open_mem(const void *buf, size_t len, struct adbg_elf **ret)
{
	struct adbg_elf *elf = calloc(1, sizeof(*elf));
	struct adbg_error *err;

	if (!elf)
		return &adbg_error_nomem;
	elf->data = buf;
	elf->len = len;
	err = elf_parse(elf);
	if (err) {
		free(elf);
		return err;
	}
	*ret = elf;
	return NULL;
}

struct adbg_error *adbg_elf_open_fd(int fd, const char *name, struct adbg_elf **ret)
{
	struct adbg_error *err;
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return adbg_error_os(errno, "%s: stat", name);
	if (!S_ISREG(st.st_mode))
		return adbg_error_create(ADBG_ERR_BAD_DATA, "%s: not a regular file", name);
	if (st.st_size == 0)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "%s: empty file", name);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return adbg_error_os(errno, "%s: mmap", name);
	err = adbg_elf_open_mem(p, (size_t)st.st_size, ret);
	if (err) {
		munmap(p, (size_t)st.st_size);
		return adbg_error_wrap(err, "%s", name);
	}
	(*ret)->mapped = true;
	return NULL;
}

void adbg_elf_destroy(struct adbg_elf *elf)
{
	if (!elf)
		return;
	if (elf->mapped)
		munmap((void *)elf->data, elf->len);
	free(elf);
}

uint16_t adbg_elf_type(const struct adbg_elf *elf)
{
	return elf->ehdr->e_type;
}

size_t adbg_elf_phnum(const struct adbg_elf *elf)
{
	return elf->phnum;
}

const Elf64_Phdr *adbg_elf_phdr(const struct adbg_elf *elf, size_t i)
{
	return i < elf->phnum ? &elf->phdrs[i] : NULL;
}

const unsigned char *adbg_elf_data(const struct adbg_elf *elf, size_t *len)
{
	*len = elf->len;
	return elf->data;
}

static const char *section_name(const struct adbg_elf *elf, const Elf64_Shdr *s)
{
	const char *name;

	if (s->sh_name >= elf->shstrtab_len)
		return NULL;
	name = elf->shstrtab + s->sh_name;
	if (!memchr(name, '\0', elf->shstrtab_len - s->sh_name))
		return NULL;
	return name;
}

/* The first section named name ("." optional), or NULL. */
static const Elf64_Shdr *section_by_name(const struct adbg_elf *elf, const char *name)
{
	const char *want = name[0] == '.' ? name + 1 : name;

	for (size_t i = 0; i < elf->shnum; i++) {
		const Elf64_Shdr *s = &elf->shdrs[i];
		const char *n = section_name(elf, s);

		if (!n)
			continue;
		if (n[0] == '.')
			n++;
		if (strcmp(n, want) == 0)
			return s;
	}
	return NULL;
}

struct adbg_error *adbg_elf_find_section(const struct adbg_elf *elf, const char *name,
					 struct adbg_elf_section *ret)
{
	const Elf64_Shdr *s = section_by_name(elf, name);

	if (!s)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "no section %s", name);
	ret->name = section_name(elf, s);
	ret->type = s->sh_type;
	ret->flags = s->sh_flags;
	ret->addr = s->sh_addr;
	ret->offset = s->sh_offset;
	ret->size = s->sh_size;
	return NULL;
}

/*
 * Section i as a symbol table of this type (SHT_SYMTAB or SHT_DYNSYM) whose symbols and
 * string table are inside the file: its n symbols and its string table.
 */
static bool symtab_at(const struct adbg_elf *elf, size_t i, uint32_t type, const Elf64_Sym **syms,
		      size_t *n, const Elf64_Shdr **strs, const char **str)
{
	const Elf64_Shdr *s = &elf->shdrs[i];

	if (s->sh_type != type || s->sh_entsize != sizeof(Elf64_Sym) || s->sh_link >= elf->shnum)
		return false;
	*syms = (const Elf64_Sym *)adbg_elf_bytes(elf, s->sh_offset, s->sh_size);
	*strs = &elf->shdrs[s->sh_link];
	*str = (const char *)adbg_elf_bytes(elf, (*strs)->sh_offset, (*strs)->sh_size);
	if (!*syms || !*str || (s->sh_offset & 7))
		return false;
	*n = s->sh_size / sizeof(Elf64_Sym);
	return true;
}

static bool symtab_lookup(const struct adbg_elf *elf, uint32_t type, const char *name,
			  uint64_t *ret, uint64_t *size_ret)
{
	for (size_t i = 0; i < elf->shnum; i++) {
		const Elf64_Shdr *strs;
		const Elf64_Sym *syms;
		const char *str;
		size_t n;

		if (!symtab_at(elf, i, type, &syms, &n, &strs, &str))
			continue;
		for (size_t j = 0; j < n; j++) {
			const Elf64_Sym *sym = &syms[j];
			size_t left;

			if (sym->st_shndx == SHN_UNDEF || sym->st_name >= strs->sh_size)
				continue;
			left = strs->sh_size - sym->st_name;
			if (strncmp(str + sym->st_name, name, left) != 0 ||
			    strnlen(str + sym->st_name, left) != strlen(name))
				continue;
			*ret = sym->st_value;
			if (size_ret)
				*size_ret = sym->st_size;
			return true;
		}
	}
	return false;
}

struct adbg_error *adbg_elf_find_symbol(const struct adbg_elf *elf, const char *name, uint64_t *ret,
					uint64_t *size_ret)
{
	if (symtab_lookup(elf, SHT_SYMTAB, name, ret, size_ret) ||
	    symtab_lookup(elf, SHT_DYNSYM, name, ret, size_ret))
		return NULL;
	return adbg_error_create(ADBG_ERR_NOT_FOUND, "no symbol %s", name);
}

// A symbol of unknown size is taken for an address at most this far above it.
#define MAX_UNSIZED_SPAN 4096

/* Candidate order for adbg_elf_symbol_at: sized beats unsized, then higher start, then
 * fewer leading underscores (the public name of an alias: "newlocale" over
 * "__newlocale"), then binding (global, weak, local). */
struct sym_pick {
	const char *name;
	uint64_t value;
	bool sized;
	int rank;
	size_t underscores;
};

static int binding_rank(unsigned char info)
{
	switch (ELF64_ST_BIND(info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_LOCAL:
		return 1;
	}
	return 0;
}

static bool better_pick(const struct sym_pick *a, const struct sym_pick *b)
{
	if (!b->name)
		return true;
	if (a->sized != b->sized)
		return a->sized;
	if (a->value != b->value)
		return a->value > b->value;
	if (a->underscores != b->underscores)
		return a->underscores < b->underscores;
	return a->rank > b->rank;
}

/*
 * Whether section shndx (a real index, not SHN_ABS and the like) is loaded and holds
 * vaddr: a symbol of unknown size names no address past its section (_init's does not
 * reach into the .plt after .init).
 */
static bool section_holds(const struct adbg_elf *elf, size_t shndx, uint64_t vaddr)
{
	const Elf64_Shdr *sh;

	if (shndx == SHN_UNDEF || shndx >= elf->shnum || shndx >= SHN_LORESERVE)
		return false;
	sh = &elf->shdrs[shndx];
	return (sh->sh_flags & SHF_ALLOC) && vaddr >= sh->sh_addr &&
	       vaddr - sh->sh_addr < sh->sh_size;
}

static void symtab_nearest(const struct adbg_elf *elf, uint32_t type, uint64_t vaddr,
			   struct sym_pick *best)
{
	for (size_t i = 0; i < elf->shnum; i++) {
		const Elf64_Shdr *strs;
		const Elf64_Sym *syms;
		const char *str;
		size_t n;

		if (!symtab_at(elf, i, type, &syms, &n, &strs, &str))
			continue;
		for (size_t j = 0; j < n; j++) {
			const Elf64_Sym *sym = &syms[j];
			unsigned char kind = ELF64_ST_TYPE(sym->st_info);
			struct sym_pick p;
			size_t left;

			if ((kind != STT_FUNC && kind != STT_GNU_IFUNC) ||
			    sym->st_shndx == SHN_UNDEF || sym->st_value > vaddr ||
			    sym->st_name == 0 || sym->st_name >= strs->sh_size)
				continue;
			p.sized = sym->st_size != 0;
			if (p.sized ? vaddr - sym->st_value >= sym->st_size
				    : vaddr - sym->st_value >= MAX_UNSIZED_SPAN ||
					      !section_holds(elf, sym->st_shndx, vaddr))
				continue;
			left = strs->sh_size - sym->st_name;
			p.name = str + sym->st_name;
			// The name must end inside the string table (it is untrusted).
			if (strnlen(p.name, left) == left || !p.name[0])
				continue;
			p.value = sym->st_value;
			p.rank = binding_rank(sym->st_info);
			p.underscores = strspn(p.name, "_");
			if (better_pick(&p, best))
				*best = p;
		}
	}
}

struct adbg_error *adbg_elf_symbol_at(const struct adbg_elf *elf, uint64_t vaddr,
				      const char **name_ret, uint64_t *value_ret)
{
	struct sym_pick best = {0};

	symtab_nearest(elf, SHT_SYMTAB, vaddr, &best);
	symtab_nearest(elf, SHT_DYNSYM, vaddr, &best);
	if (!best.name)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "no symbol holds %#" PRIx64, vaddr);
	*name_ret = best.name;
	*value_ret = best.value;
	return NULL;
}

/* The kinds of x86-64 PLT: section, its relocations, entry size, relocation type. */
static const struct plt_kind {
	const char *section, *rela;
	unsigned entry;
	uint32_t rtype;
} plt_kinds[] = {
	// IBT links: calls go through .plt.sec; .plt holds the resolver and lazy stubs.
	{".plt.sec", ".rela.plt", 16, R_X86_64_JUMP_SLOT},
	{".plt", ".rela.plt", 16, R_X86_64_JUMP_SLOT},
	// Functions also used by address: a jmp through their GOT slot (8 bytes; 16 with IBT).
	{".plt.got", ".rela.dyn", 8, R_X86_64_GLOB_DAT},
};

/*
 * The relocation a PLT entry (size bytes at b, at address entry) uses, as binutils finds
 * it: an entry that jumps through a GOT slot (`jmp *slot(%rip)`, ff 25, maybe after endbr64
 * and a bnd prefix) by the relocation of that slot; a lazy stub of an IBT .plt (`push $i`)
 * by index when push_index. The resolver entry (.plt's first) matches neither.
 */
static const Elf64_Rela *plt_relocation(const unsigned char *b, unsigned size, uint64_t entry,
					const Elf64_Rela *relas, size_t n, bool push_index)
{
	static const unsigned starts[] = {0, 1, 4, 5};

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		unsigned k = starts[i];
		int32_t disp;
		uint64_t slot;

		if (k + 6 > size || b[k] != 0xff || b[k + 1] != 0x25)
			continue;
		memcpy(&disp, b + k + 2, 4);
		slot = entry + k + 6 + (uint64_t)(int64_t)disp;
		for (size_t j = 0; j < n; j++)
			if (relas[j].r_offset == slot)
				return &relas[j];
		return NULL;
	}
	for (unsigned k = 0; push_index && k <= 4; k += 4) {
		uint32_t idx;

		if (b[k] != 0x68)
			continue;
		memcpy(&idx, b + k + 1, 4);
		return idx < n ? &relas[idx] : NULL;
	}
	return NULL;
}

struct adbg_error *adbg_elf_plt_at(const struct adbg_elf *elf, uint64_t vaddr,
				   const char **name_ret, uint64_t *value_ret)
{
	const struct plt_kind *kind = NULL;
	const Elf64_Shdr *sec = NULL, *rela, *strs;
	const unsigned char *bytes = NULL;
	const Elf64_Rela *relas, *r = NULL;
	const Elf64_Sym *syms;
	const char *str;
	uint64_t entry = 0, sym;
	unsigned size = 0;
	size_t nsyms, left;

	for (size_t i = 0; i < sizeof(plt_kinds) / sizeof(plt_kinds[0]) && !sec; i++) {
		kind = &plt_kinds[i];
		sec = section_by_name(elf, kind->section);
		if (sec && (sec->sh_type != SHT_PROGBITS ||
			    !section_holds(elf, (size_t)(sec - elf->shdrs), vaddr)))
			sec = NULL;
	}
	if (sec) {
		size = sec->sh_entsize == 8 || sec->sh_entsize == 16 ? (unsigned)sec->sh_entsize
								     : kind->entry;
		entry = sec->sh_addr + (vaddr - sec->sh_addr) / size * size;
		bytes = adbg_elf_bytes(elf, sec->sh_offset + (entry - sec->sh_addr), size);
	}
	if (!bytes)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "%#" PRIx64 " is in no PLT entry",
					 vaddr);
	rela = section_by_name(elf, kind->rela);
	if (rela && rela->sh_type == SHT_RELA && rela->sh_entsize == sizeof(Elf64_Rela) &&
	    !(rela->sh_offset & 7) && rela->sh_link < elf->shnum &&
	    symtab_at(elf, rela->sh_link, SHT_DYNSYM, &syms, &nsyms, &strs, &str) &&
	    (relas = (const Elf64_Rela *)adbg_elf_bytes(elf, rela->sh_offset, rela->sh_size)))
		r = plt_relocation(bytes, size, entry, relas, rela->sh_size / sizeof(Elf64_Rela),
				   kind->rtype == R_X86_64_JUMP_SLOT);
	// The relocation names the function; IRELATIVE (a resolver's pick) has no symbol.
	sym = r ? ELF64_R_SYM(r->r_info) : 0;
	if (!r || ELF64_R_TYPE(r->r_info) != kind->rtype || sym == 0 || sym >= nsyms ||
	    syms[sym].st_name >= strs->sh_size)
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "PLT entry %#" PRIx64 " names no symbol", entry);
	*name_ret = str + syms[sym].st_name;
	left = strs->sh_size - syms[sym].st_name;
	if (strnlen(*name_ret, left) == left || !**name_ret)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "PLT entry %#" PRIx64 ": bad name",
					 entry);
	*value_ret = entry;
	return NULL;
}

struct adbg_error *adbg_elf_link_base(const struct adbg_elf *elf, uint64_t *ret)
{
	for (size_t i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *p = &elf->phdrs[i];

		if (p->p_type == PT_LOAD) {
			*ret = p->p_vaddr - p->p_offset;
			return NULL;
		}
	}
	return adbg_error_create(ADBG_ERR_BAD_DATA, "no PT_LOAD segment");
}

struct adbg_error *adbg_elf_for_each_note(const unsigned char *data, size_t len,
					  adbg_elf_note_fn fn, void *arg)
{
	size_t off = 0;

	for (size_t count = 0; off + sizeof(Elf64_Nhdr) <= len; count++) {
		Elf64_Nhdr nh;
		size_t name_off, desc_off, namesz, descsz;
		struct adbg_error *err;
		const char *name;

		if (count >= MAX_NOTES)
			return adbg_error_create(ADBG_ERR_BAD_DATA, "too many notes");
		memcpy(&nh, data + off, sizeof(nh));
		namesz = nh.n_namesz;
		descsz = nh.n_descsz;
		name_off = off + sizeof(nh);
		// Note names and descriptors are padded to 4 bytes (elf(5)).
		desc_off = name_off + ((namesz + 3) & ~(size_t)3);
		if (desc_off > len || descsz > len - desc_off)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "note at offset %zu is truncated", off);
		name = (const char *)data + name_off;
		if (namesz && name[namesz - 1] != '\0')
			name = "";
		err = fn(arg, nh.n_type, namesz ? name : "", data + desc_off, descsz);
		if (err)
			return err;
		off = desc_off + ((descsz + 3) & ~(size_t)3);
	}
	return NULL;
}

struct build_id_arg {
	const unsigned char *id;
	size_t len;
};

static ADBG_MUST_CHECK struct adbg_error *build_id_note(void *arg, uint32_t type, const char *name,
							const unsigned char *desc, size_t len)
{
	struct build_id_arg *b = arg;

	if (type == NT_GNU_BUILD_ID && strcmp(name, "GNU") == 0 && len && !b->id) {
		b->id = desc;
		b->len = len;
	}
	return NULL;
}

const unsigned char *adbg_elf_build_id(const struct adbg_elf *elf, size_t *len)
{
	struct build_id_arg b = {0};

	for (size_t i = 0; i < elf->phnum && !b.id; i++) {
		const Elf64_Phdr *p = &elf->phdrs[i];
		const unsigned char *d;

		if (p->p_type != PT_NOTE)
			continue;
		d = adbg_elf_bytes(elf, p->p_offset, p->p_filesz);
		if (d)
			adbg_error_destroy(
				adbg_elf_for_each_note(d, p->p_filesz, build_id_note, &b));
	}
	*len = b.len;
	return b.id;
}
