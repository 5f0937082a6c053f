// SPDX-License-Identifier: MIT
// Sections and symbols of a target's mapped ELF files, with load biases (see symbols.h).
#include "symbols.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elffile.h"

// Mappings are page-granular (x86-64 Linux: 4 KiB), whatever a segment's p_align says.
#define PAGE_MASK_4K (~(uint64_t)0xfff)
// The largest vDSO image read (Linux's x86-64 vDSO is 2 pages; its data pages are apart).
#define VDSO_MAX (1u << 20)

enum file_state {
	FILE_UNOPENED,
	FILE_OPEN,
	FILE_FAILED,
};

struct sym_file {
	char *path;
	uint64_t inode;
	/** index in t->maps of this file's mapping with the lowest file offset. */
	size_t map;
	enum file_state state;
	struct adbg_elf *elf;
	uint64_t bias;
	/** why the file could not be used (FILE_FAILED). */
	struct adbg_error *err;
	/** FILE_FAILED because it could not be opened (not because it is not ELF). */
	bool unreadable;
	/** the vDSO: no file, its image is read from the target's memory into image. */
	bool vdso;
	void *image;
};

struct adbg_symbols {
	struct adbg_target *t;
	struct sym_file *files;
	size_t nfiles, cap;
	/** first open/parse failure that may hide a file we needed (not "not ELF"). */
	const struct adbg_error *open_err;
};

// The vDSO as one more file, last: the mapping that holds t->vdso (anonymous in /proc
// maps and in a core's NT_FILE), named as /proc/PID/maps names it.
static ADBG_MUST_CHECK struct adbg_error *add_vdso(struct adbg_symbols *s)
{
	const struct adbg_mapping *m =
		s->t->vdso ? adbg_target_find_mapping(s->t, s->t->vdso) : NULL;
	struct sym_file *f;

	if (!m || m->path || m->start != s->t->vdso)
		return NULL;
	if (s->nfiles == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct sym_file *nf = realloc(s->files, cap * sizeof(*nf));

		if (!nf)
			return &adbg_error_nomem;
		s->files = nf;
		s->cap = cap;
	}
	f = &s->files[s->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strdup("[vdso]");
	if (!f->path)
		return &adbg_error_nomem;
	f->map = (size_t)(m - s->t->maps);
	f->vdso = true;
	s->nfiles++;
	return NULL;
}

struct adbg_error *adbg_symbols_create(struct adbg_target *t, struct adbg_symbols **ret)
{
	struct adbg_symbols *s = calloc(1, sizeof(*s));
	struct adbg_error *err;

	if (!s)
		return &adbg_error_nomem;
	s->t = t;
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct adbg_mapping *m = &t->maps[i];
		struct sym_file *f = NULL;

		if (!m->path)
			continue;
		for (size_t j = 0; j < s->nfiles; j++) {
			if (s->files[j].inode == m->inode && !strcmp(s->files[j].path, m->path)) {
				f = &s->files[j];
				break;
			}
		}
		if (f) {
			if (m->offset < t->maps[f->map].offset)
				f->map = i;
			continue;
		}
		// Grow by doubling; nfiles <= nmaps bounds it.
		if (s->nfiles == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 16;
			struct sym_file *nf = realloc(s->files, cap * sizeof(*nf));

			if (!nf) {
				adbg_symbols_destroy(s);
				return &adbg_error_nomem;
			}
			s->files = nf;
			s->cap = cap;
		}
		f = &s->files[s->nfiles];
		memset(f, 0, sizeof(*f));
		f->path = strdup(m->path);
		if (!f->path) {
			adbg_symbols_destroy(s);
			return &adbg_error_nomem;
		}
		f->inode = m->inode;
		f->map = i;
		s->nfiles++;
	}
	err = add_vdso(s);
	if (err) {
		adbg_symbols_destroy(s);
		return err;
	}
	*ret = s;
	return NULL;
}

void adbg_symbols_destroy(struct adbg_symbols *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].path);
		adbg_elf_destroy(s->files[i].elf);
		free(s->files[i].image);
		adbg_error_destroy(s->files[i].err);
	}
	free(s->files);
	free(s);
}

size_t adbg_symbols_nfiles(const struct adbg_symbols *s)
{
	return s->nfiles;
}

const char *adbg_symbols_file_path(const struct adbg_symbols *s, size_t i)
{
	return i < s->nfiles ? s->files[i].path : NULL;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

bool adbg_symbols_file_matches(const struct adbg_symbols *s, size_t i,
			       enum adbg_symbols_match match, const char *filter)
{
	bool has;

	if (i >= s->nfiles)
		return false;
	if (match == ADBG_SYMBOLS_ANY || !filter)
		return true;
	has = strstr(base_name(s->files[i].path), filter) != NULL;
	return match == ADBG_SYMBOLS_CONTAINS ? has : !has;
}

const struct adbg_error *adbg_symbols_open_error(const struct adbg_symbols *s)
{
	return s->open_err;
}

// The load bias of a file: its mapping with the lowest file offset O at address A holds the
// PT_LOAD that covers O, so bias = A - (that segment's page-aligned vaddr + what of O lies
// past its page-aligned offset). With O = 0 this is A - (p_vaddr - p_offset) of the first
// PT_LOAD, i.e. adbg_elf_link_base; matching the segment keeps it right when the first
// page is not mapped (cores with filtered segments, unusual linkers).
static ADBG_MUST_CHECK struct adbg_error *compute_bias(const struct adbg_elf *elf,
						       const struct adbg_mapping *m, uint64_t *ret)
{
	struct adbg_error *err;
	uint64_t base;

	for (size_t i = 0; i < adbg_elf_phnum(elf); i++) {
		const Elf64_Phdr *p = adbg_elf_phdr(elf, i);
		uint64_t off_page = p->p_offset & PAGE_MASK_4K;

		if (p->p_type != PT_LOAD || m->offset < off_page ||
		    m->offset - off_page >= p->p_offset - off_page + p->p_filesz)
			continue;
		*ret = m->start - ((p->p_vaddr & PAGE_MASK_4K) + (m->offset - off_page));
		return NULL;
	}
	err = adbg_elf_link_base(elf, &base);
	if (err)
		return err;
	*ret = m->start - m->offset - base;
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *copy_error(const struct adbg_error *e)
{
	struct adbg_error *c = adbg_error_create(e->code, "%s", e->message);

	if (c != &adbg_error_nomem) {
		c->errnum = e->errnum;
		c->addr = e->addr;
	}
	return c;
}

// The vDSO's image: its whole mapping, from the target's memory (a core holds it: the
// kernel dumps it as it dumps anonymous memory).
static ADBG_MUST_CHECK struct adbg_error *
read_vdso(struct adbg_target *t, const struct adbg_mapping *m, struct sym_file *f)
{
	size_t len = (size_t)(m->end - m->start);
	struct adbg_error *err;

	// A few pages on every kernel; more is not a vDSO.
	if (len == 0 || len > VDSO_MAX)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "[vdso]: mapping of %zu bytes", len);
	f->image = malloc(len);
	if (!f->image)
		return &adbg_error_nomem;
	err = adbg_target_read(t, m->start, f->image, len);
	if (!err)
		err = adbg_elf_open_mem(f->image, len, &f->elf);
	if (err) {
		free(f->image);
		f->image = NULL;
		return adbg_error_wrap(err, "[vdso]");
	}
	return NULL;
}

// Open and parse file i once; later calls answer from the cache.
static ADBG_MUST_CHECK struct adbg_error *open_file(struct adbg_symbols *s, size_t i,
						    struct sym_file **ret)
{
	struct sym_file *f = &s->files[i];
	const struct adbg_mapping *m = &s->t->maps[f->map];
	struct adbg_error *err;
	bool got;
	int fd;

	if (f->state == FILE_OPEN) {
		*ret = f;
		return NULL;
	}
	if (f->state == FILE_FAILED)
		return copy_error(f->err);

	// got: there were bytes to parse (the file opened, or the vDSO's memory was read).
	if (f->vdso) {
		err = read_vdso(s->t, m, f);
		got = true;
	} else {
		err = adbg_target_open_file(s->t, m, &fd);
		got = !err;
		if (got) {
			err = adbg_elf_open_fd(fd, f->path, &f->elf);
			close(fd);
		}
	}
	if (got) {
		// Not every mapped file is ELF (locale archives, data files mapped by the
		// program): those are skipped without being remembered as a read failure;
		// nor is a vDSO we could not read (no file would help).
		if (err && err->code != ADBG_ERR_NOMEM) {
			f->state = FILE_FAILED;
			f->err = err;
			return copy_error(err);
		}
	}
	if (!err) {
		err = compute_bias(f->elf, m, &f->bias);
		if (err) {
			adbg_elf_destroy(f->elf);
			f->elf = NULL;
			f->state = FILE_FAILED;
			f->err = adbg_error_wrap(err, "%s", f->path);
			return copy_error(f->err);
		}
		f->state = FILE_OPEN;
		*ret = f;
		return NULL;
	}
	if (err->code == ADBG_ERR_NOMEM)
		return err;
	f->state = FILE_FAILED;
	f->err = err;
	f->unreadable = true;
	if (!s->open_err)
		s->open_err = f->err;
	return copy_error(err);
}

bool adbg_symbols_file_unreadable(const struct adbg_symbols *s, size_t i)
{
	return i < s->nfiles && s->files[i].unreadable;
}

struct adbg_error *adbg_symbols_file_section(struct adbg_symbols *s, size_t i, const char *name,
					     struct adbg_symbols_hit *ret)
{
	struct adbg_elf_section sec;
	struct adbg_error *err;
	struct sym_file *f;

	if (i >= s->nfiles)
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "no file %zu", i);
	err = open_file(s, i, &f);
	if (err)
		return err;
	err = adbg_elf_find_section(f->elf, name, &sec);
	if (err)
		return adbg_error_wrap(err, "%s", f->path);
	// Only allocated sections have an address in the process.
	if (!(sec.flags & SHF_ALLOC))
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "%s: section %s is not loaded",
					 f->path, name);
	ret->addr = sec.addr + f->bias;
	ret->size = sec.size;
	ret->file = i;
	ret->path = f->path;
	return NULL;
}

struct adbg_error *adbg_symbols_file_symbol(struct adbg_symbols *s, size_t i, const char *name,
					    struct adbg_symbols_hit *ret)
{
	struct adbg_error *err;
	struct sym_file *f;
	uint64_t value, size;

	if (i >= s->nfiles)
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "no file %zu", i);
	err = open_file(s, i, &f);
	if (err)
		return err;
	err = adbg_elf_find_symbol(f->elf, name, &value, &size);
	if (err)
		return adbg_error_wrap(err, "%s", f->path);
	ret->addr = value + f->bias;
	ret->size = size;
	ret->file = i;
	ret->path = f->path;
	return NULL;
}

typedef ADBG_MUST_CHECK struct adbg_error *(*lookup_fn)(struct adbg_symbols *s, size_t i,
							const char *name,
							struct adbg_symbols_hit *ret);

static ADBG_MUST_CHECK struct adbg_error *
find_first(struct adbg_symbols *s, lookup_fn fn, const char *what, const char *name,
	   enum adbg_symbols_match match, const char *filter, struct adbg_symbols_hit *ret)
{
	for (size_t i = 0; i < s->nfiles; i++) {
		struct adbg_error *err;

		if (!adbg_symbols_file_matches(s, i, match, filter))
			continue;
		err = fn(s, i, name, ret);
		if (!err)
			return NULL;
		if (err->code == ADBG_ERR_NOMEM)
			return err;
		adbg_error_destroy(err);
	}
	return adbg_error_create(ADBG_ERR_NOT_FOUND, "no mapped file has %s %s", what, name);
}

struct adbg_error *adbg_symbols_find_section(struct adbg_symbols *s, const char *name,
					     enum adbg_symbols_match match, const char *filter,
					     struct adbg_symbols_hit *ret)
{
	return find_first(s, adbg_symbols_file_section, "section", name, match, filter, ret);
}

struct adbg_error *adbg_symbols_find_symbol(struct adbg_symbols *s, const char *name,
					    enum adbg_symbols_match match, const char *filter,
					    struct adbg_symbols_hit *ret)
{
	return find_first(s, adbg_symbols_file_symbol, "symbol", name, match, filter, ret);
}

struct adbg_error *adbg_symbols_file_read(struct adbg_symbols *s, size_t i, uint64_t addr,
					  void *buf, size_t len)
{
	struct adbg_error *err;
	struct sym_file *f;
	uint64_t link;

	if (i >= s->nfiles)
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "no file %zu", i);
	err = open_file(s, i, &f);
	if (err)
		return err;
	link = addr - f->bias;
	for (size_t k = 0; k < adbg_elf_phnum(f->elf); k++) {
		const Elf64_Phdr *p = adbg_elf_phdr(f->elf, k);
		const unsigned char *bytes;

		// Only bytes the file really holds (not the zero-filled tail of .bss).
		if (p->p_type != PT_LOAD || link < p->p_vaddr || link - p->p_vaddr > p->p_filesz ||
		    len > p->p_filesz - (link - p->p_vaddr))
			continue;
		bytes = adbg_elf_bytes(f->elf, p->p_offset + (link - p->p_vaddr), len);
		if (!bytes)
			continue;
		memcpy(buf, bytes, len);
		return NULL;
	}
	return adbg_error_create(ADBG_ERR_NOT_FOUND, "%s: no file bytes for %#" PRIx64 "+%zu",
				 f->path, addr, len);
}

struct adbg_error *adbg_symbols_file_at(struct adbg_symbols *s, uint64_t addr, size_t *ret)
{
	const struct adbg_mapping *m = adbg_target_find_mapping(s->t, addr);

	for (size_t i = 0; m && i < s->nfiles; i++) {
		const struct sym_file *f = &s->files[i];

		if (f->vdso ? &s->t->maps[f->map] == m
			    : m->path && f->inode == m->inode && !strcmp(f->path, m->path)) {
			*ret = i;
			return NULL;
		}
	}
	return adbg_error_create(ADBG_ERR_NOT_FOUND, "%#" PRIx64 " is in no mapped file", addr);
}

struct adbg_error *adbg_symbols_file_elf(struct adbg_symbols *s, size_t i,
					 const struct adbg_elf **elf_ret, uint64_t *bias_ret)
{
	struct adbg_error *err;
	struct sym_file *f;

	if (i >= s->nfiles)
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "no file %zu", i);
	err = open_file(s, i, &f);
	if (err)
		return err;
	*elf_ret = f->elf;
	*bias_ret = f->bias;
	return NULL;
}

struct adbg_error *adbg_symbols_file_function(struct adbg_symbols *s, size_t i, uint64_t addr,
					      const char **name_ret, uint64_t *start_ret,
					      bool *plt_ret)
{
	const struct adbg_elf *elf = NULL;
	struct adbg_error *err;
	uint64_t bias = 0, value;
	const char *name;
	bool plt = false;

	err = adbg_symbols_file_elf(s, i, &elf, &bias);
	if (err)
		return err;
	err = adbg_elf_symbol_at(elf, addr - bias, &name, &value);
	if (adbg_error_is(err, ADBG_ERR_NOT_FOUND)) {
		adbg_error_destroy(err);
		err = adbg_elf_plt_at(elf, addr - bias, &name, &value);
		plt = true;
	}
	if (err)
		return err;
	*name_ret = name;
	*start_ret = value + bias;
	*plt_ret = plt;
	return NULL;
}
