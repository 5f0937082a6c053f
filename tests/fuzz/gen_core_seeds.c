// SPDX-License-Identifier: MIT
// Writes seeds for fuzz_core: synthetic cores (synth_core.h), and small cuts of a real
// core given on the command line, each under libFuzzer's -max_len.
//
// usage: gen_core_seeds OUTDIR [REAL_CORE...]
//
// A gcore core puts its notes after the segment data, so its first 64 KiB hold headers
// and memory but no notes. Besides that raw head, each real core is rewritten with the
// headers and notes first ("notes-first", then cut to 64 KiB, like a kernel core's start)
// and with every PT_LOAD shrunk to a few hundred bytes ("shrunk", a complete small core).
// This is a host tool for trusted input (our own gcore output); it still checks bounds.
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_core.h"

#define MAX_SEED (64 * 1024)
#define SHRUNK_LOAD 256

static const char *outdir;

static void put_file(const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void synthetic(void)
{
	static const unsigned char id[20] = {0xaa, 1,  2,  3,  4,  5,  6,  7,  8,  9,
					     10,   11, 12, 13, 14, 15, 16, 17, 18, 19};
	static unsigned char lib_page[4096], anon[4096];
	static const struct synth_fmap fmaps[] = {
		{0x400000, 0x401000, 0, "/usr/bin/fakepython"},
		{0x401000, 0x403000, 1, "/usr/bin/fakepython"},
		{0x20000000, 0x20003000, 0, "/lib/libfuzz.so"},
	};
	static const struct synth_thread threads[] = {
		{1234, 0x401234, 0x10000800},
		{1240, 0x401300, 0x10001800},
	};
	struct synth_seg segs[] = {
		{0x400000, 0x1000, 0x100, PF_R, NULL, 'P'},
		{0x401000, 0x2000, 0x100, PF_R | PF_X, NULL, 'T'},
		{0x10000000, 0x1000, 0x1000, PF_R | PF_W, anon, 0},
		{0x10001000, 0x1000, 0x100, PF_R | PF_W, NULL, 'b'},
		{0x20000000, 0x1000, 0x1000, PF_R, lib_page, 0},
	};
	struct synth_core c = {
		.segs = segs,
		.nsegs = 5,
		.fmaps = fmaps,
		.nfmaps = 3,
		.threads = threads,
		.nthreads = 2,
		.pid = 1234,
		.fname = "fakepython",
		.psargs = "fakepython -c pass ",
		.at_phdr = 0x400040,
		.at_execfn = 0x10000100,
	};
	unsigned char *buf;
	size_t len;

	synth_elf_page(lib_page, sizeof(lib_page), id, sizeof(id), 'C');
	memset(anon, 'a', sizeof(anon));
	strcpy((char *)anon + 0x100, "/opt/bin/execfn-python");
	buf = synth_core_build(&c, &len, NULL);
	put_file("synth-std", buf, len);
	free(buf);
	c.xnum = true;
	buf = synth_core_build(&c, &len, NULL);
	put_file("synth-xnum", buf, len);
	free(buf);
	c.xnum = false;
	c.nfmaps = 0;
	c.at_phdr = 0;
	buf = synth_core_build(&c, &len, NULL);
	put_file("synth-anon", buf, len);
	free(buf);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		perror(path);
		exit(1);
	}
	for (;;) {
		size_t r;

		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

// Headers, then notes, then each PT_LOAD's first max_load bytes (page-aligned no more).
static unsigned char *relayout(const unsigned char *d, size_t len, size_t max_load, size_t *out_len)
{
	struct synth_buf out = {0};
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	size_t phnum;

	if (len < sizeof(eh))
		return NULL;
	memcpy(&eh, d, sizeof(eh));
	phnum = eh.e_phnum;
	if (phnum == 0 || phnum == PN_XNUM || eh.e_phoff > len ||
	    phnum * sizeof(*ph) > len - eh.e_phoff)
		return NULL;
	ph = malloc(phnum * sizeof(*ph));
	if (!ph)
		abort();
	memcpy(ph, d + eh.e_phoff, phnum * sizeof(*ph));
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	synth_put(&out, &eh, sizeof(eh));
	synth_put(&out, NULL, phnum * sizeof(*ph));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < phnum; i++) {
			uint32_t want = pass == 0 ? PT_NOTE : PT_LOAD;
			size_t keep;

			if (ph[i].p_type != want)
				continue;
			if (ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset) {
				ph[i].p_filesz = 0;
				continue;
			}
			keep = ph[i].p_filesz;
			if (want == PT_LOAD && keep > max_load)
				keep = max_load;
			synth_align(&out, want == PT_LOAD ? 8 : 4);
			synth_put(&out, d + ph[i].p_offset, keep);
			ph[i].p_offset = out.len - keep;
			ph[i].p_filesz = keep;
		}
	}
	memcpy(out.p + sizeof(eh), ph, phnum * sizeof(*ph));
	free(ph);
	*out_len = out.len;
	return out.p;
}

static void real(const char *path, int k)
{
	unsigned char *d, *r;
	size_t len, rlen;
	char name[64];

	d = slurp(path, &len);
	snprintf(name, sizeof(name), "real%d-head", k);
	put_file(name, d, len < MAX_SEED ? len : MAX_SEED);
	r = relayout(d, len, SIZE_MAX, &rlen);
	if (r) {
		snprintf(name, sizeof(name), "real%d-notes-first", k);
		put_file(name, r, rlen < MAX_SEED ? rlen : MAX_SEED);
		free(r);
	}
	r = relayout(d, len, SHRUNK_LOAD, &rlen);
	if (r) {
		snprintf(name, sizeof(name), "real%d-shrunk", k);
		if (rlen > MAX_SEED)
			fprintf(stderr, "gen_core_seeds: %s: shrunk core is %zu bytes, cut\n", path,
				rlen);
		put_file(name, r, rlen < MAX_SEED ? rlen : MAX_SEED);
		free(r);
	}
	r = relayout(d, len, 0, &rlen);
	if (r) {
		snprintf(name, sizeof(name), "real%d-no-memory", k);
		put_file(name, r, rlen < MAX_SEED ? rlen : MAX_SEED);
		free(r);
	}
	free(d);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OUTDIR [REAL_CORE...]\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	synthetic();
	for (int i = 2; i < argc; i++)
		real(argv[i], i - 1);
	return 0;
}
