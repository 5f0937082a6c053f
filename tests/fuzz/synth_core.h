// SPDX-License-Identifier: MIT
// Builds small synthetic ELF core files in memory, for tests/unit/test_core.c and as seeds
// of the core fuzzer (tests/fuzz/gen_core_seeds.c).
//
// A core is described by a list of PT_LOAD segments, NT_FILE entries, threads and a few
// process facts; synth_core_build lays it out the way Linux does (ELF header, program
// headers, one PT_NOTE, then segment data) and reports where each part landed, so tests
// can cut or corrupt it precisely. Header-only (static functions) so that both users can
// include it without a library. It does not try to be a general ELF writer.
#ifndef AIODBG_SYNTH_CORE_H
#define AIODBG_SYNTH_CORE_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/user.h>

// Every user takes only some of these helpers.
#define SYNTH_FN static __attribute__((unused))

struct synth_seg {
	uint64_t vaddr, memsz, filesz;
	uint32_t flags;
	/** bytes of the segment: data (filesz bytes) if set, else filled with fill. */
	const void *data;
	unsigned char fill;
};

struct synth_fmap {
	uint64_t start, end, pgoff;
	const char *path;
};

struct synth_thread {
	int tid;
	uint64_t rip, rsp;
};

struct synth_core {
	const struct synth_seg *segs;
	size_t nsegs;
	const struct synth_fmap *fmaps;
	size_t nfmaps;
	const struct synth_thread *threads;
	size_t nthreads;
	int pid;
	/** pr_fname and pr_psargs of NT_PRPSINFO (omitted when psargs is NULL). */
	const char *fname, *psargs;
	/** NT_AUXV entries (omitted when both are 0). */
	uint64_t at_phdr, at_execfn;
	/** write e_phnum = PN_XNUM and the count in section header 0. */
	bool xnum;
};

/** Where the parts of a built core are. */
struct synth_layout {
	size_t phoff, notes_off, notes_len;
	/** file offset of each segment's data (same order as synth_core.segs). */
	size_t seg_off[64];
	size_t len;
};

struct synth_buf {
	unsigned char *p;
	size_t len, cap;
};

SYNTH_FN size_t synth_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

SYNTH_FN void synth_put(struct synth_buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	if (d)
		memcpy(b->p + b->len, d, n);
	else
		memset(b->p + b->len, 0, n);
	b->len += n;
}

SYNTH_FN void synth_align(struct synth_buf *b, size_t a)
{
	while (b->len % a)
		synth_put(b, NULL, 1);
}

SYNTH_FN void synth_note(struct synth_buf *b, const char *name, uint32_t type, const void *desc,
			 size_t len)
{
	Elf64_Nhdr nh = {
		.n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = (uint32_t)len, .n_type = type};

	synth_put(b, &nh, sizeof(nh));
	synth_put(b, name, nh.n_namesz);
	synth_align(b, 4);
	synth_put(b, desc, len);
	synth_align(b, 4);
}

/** The notes of a core: PRSTATUS per thread, PRPSINFO, AUXV, FILE. */
SYNTH_FN void synth_notes(const struct synth_core *c, struct synth_buf *b)
{
	for (size_t i = 0; i < c->nthreads; i++) {
		struct elf_prstatus st;
		struct user_regs_struct regs;

		memset(&st, 0, sizeof(st));
		memset(&regs, 0, sizeof(regs));
		st.pr_pid = c->threads[i].tid;
		regs.rip = c->threads[i].rip;
		regs.rsp = c->threads[i].rsp;
		memcpy(&st.pr_reg, &regs, sizeof(regs));
		synth_note(b, "CORE", NT_PRSTATUS, &st, sizeof(st));
	}
	if (c->psargs) {
		struct elf_prpsinfo ps;

		memset(&ps, 0, sizeof(ps));
		ps.pr_pid = c->pid;
		// Both fields are fixed-size and need not end in a NUL (fs/binfmt_elf.c).
		if (c->fname)
			memcpy(ps.pr_fname, c->fname,
			       synth_min(strlen(c->fname), sizeof(ps.pr_fname)));
		memcpy(ps.pr_psargs, c->psargs, synth_min(strlen(c->psargs), sizeof(ps.pr_psargs)));
		synth_note(b, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
	}
	if (c->at_phdr || c->at_execfn) {
		uint64_t auxv[] = {AT_PAGESZ, 4096,	    AT_PHDR, c->at_phdr,
				   AT_EXECFN, c->at_execfn, AT_NULL, 0};

		synth_note(b, "CORE", NT_AUXV, auxv, sizeof(auxv));
	}
	if (c->nfmaps) {
		struct synth_buf d = {0};
		uint64_t hdr[2] = {c->nfmaps, 4096};

		synth_put(&d, hdr, sizeof(hdr));
		for (size_t i = 0; i < c->nfmaps; i++) {
			uint64_t e[3] = {c->fmaps[i].start, c->fmaps[i].end, c->fmaps[i].pgoff};

			synth_put(&d, e, sizeof(e));
		}
		for (size_t i = 0; i < c->nfmaps; i++)
			synth_put(&d, c->fmaps[i].path, strlen(c->fmaps[i].path) + 1);
		synth_note(b, "CORE", NT_FILE, d.p, d.len);
		free(d.p);
	}
}

/**
 * Build the core described by c. Returns a malloc'd buffer (8-aligned) of *len_ret bytes;
 * layout_ret (optional) says where the parts are.
 */
SYNTH_FN unsigned char *synth_core_build(const struct synth_core *c, size_t *len_ret,
					 struct synth_layout *layout_ret)
{
	struct synth_buf notes = {0}, out = {0};
	struct synth_layout lay;
	size_t phnum = 1 + c->nsegs, off;
	Elf64_Ehdr eh;

	memset(&lay, 0, sizeof(lay));
	synth_notes(c, &notes);
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = c->xnum ? PN_XNUM : (uint16_t)phnum;
	lay.phoff = sizeof(eh);
	off = sizeof(eh) + phnum * sizeof(Elf64_Phdr);
	if (c->xnum) {
		eh.e_shoff = off;
		eh.e_shentsize = sizeof(Elf64_Shdr);
		eh.e_shnum = 1;
		off += sizeof(Elf64_Shdr);
	}
	lay.notes_off = off;
	lay.notes_len = notes.len;
	off += notes.len;
	synth_put(&out, &eh, sizeof(eh));
	{
		Elf64_Phdr ph;
		size_t data_off = (off + 4095) & ~(size_t)4095;

		memset(&ph, 0, sizeof(ph));
		ph.p_type = PT_NOTE;
		ph.p_offset = lay.notes_off;
		ph.p_filesz = notes.len;
		ph.p_align = 1;
		synth_put(&out, &ph, sizeof(ph));
		for (size_t i = 0; i < c->nsegs; i++) {
			memset(&ph, 0, sizeof(ph));
			ph.p_type = PT_LOAD;
			ph.p_flags = c->segs[i].flags;
			ph.p_vaddr = c->segs[i].vaddr;
			ph.p_memsz = c->segs[i].memsz;
			ph.p_filesz = c->segs[i].filesz;
			ph.p_offset = data_off;
			ph.p_align = 4096;
			if (i < 64)
				lay.seg_off[i] = data_off;
			data_off += (c->segs[i].filesz + 4095) & ~(size_t)4095;
			synth_put(&out, &ph, sizeof(ph));
		}
	}
	if (c->xnum) {
		Elf64_Shdr sh;

		memset(&sh, 0, sizeof(sh));
		sh.sh_info = (uint32_t)phnum;
		synth_put(&out, &sh, sizeof(sh));
	}
	synth_put(&out, notes.p, notes.len);
	free(notes.p);
	for (size_t i = 0; i < c->nsegs; i++) {
		synth_align(&out, 4096);
		if (c->segs[i].data) {
			synth_put(&out, c->segs[i].data, c->segs[i].filesz);
		} else {
			size_t at = out.len;

			synth_put(&out, NULL, c->segs[i].filesz);
			memset(out.p + at, c->segs[i].fill, c->segs[i].filesz);
		}
	}
	lay.len = out.len;
	if (layout_ret)
		*layout_ret = lay;
	*len_ret = out.len;
	return out.p;
}

/**
 * Write a minimal ELF shared object header into page (size bytes, filled with fill): one
 * PT_NOTE at 0x100 holding a GNU build id of idlen bytes.
 */
SYNTH_FN void synth_elf_page(unsigned char *page, size_t size, const unsigned char *id,
			     size_t idlen, unsigned char fill)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = (uint32_t)idlen, .n_type = NT_GNU_BUILD_ID};

	memset(page, fill, size);
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	memcpy(page, &eh, sizeof(eh));
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_NOTE;
	ph.p_offset = 0x100;
	ph.p_filesz = sizeof(nh) + 4 + idlen;
	ph.p_align = 4;
	memcpy(page + sizeof(eh), &ph, sizeof(ph));
	memcpy(page + 0x100, &nh, sizeof(nh));
	memcpy(page + 0x100 + sizeof(nh), "GNU", 4);
	memcpy(page + 0x100 + sizeof(nh) + 4, id, idlen);
}

#endif
