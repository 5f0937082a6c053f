// SPDX-License-Identifier: MIT
// libFuzzer target: the input is an ELF core file, opened from memory, walked and read.
//
// fuzz-sources: error.c target.c elffile.c target_core.c
//
// Files the input names are looked up in a private directory (--lib-path) holding one
// small ELF library, libfuzz.so, so the file fallback and build-id checks are exercised
// without ever opening host paths. Invariants the rest of aiodbg relies on (maps sorted,
// disjoint, findable; threads have registers) trap when broken.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth_core.h"
#include "target.h"

// Bound the work per input: a 64 KiB input can describe thousands of mappings.
#define MAX_MAPS_WALKED 256

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char libdir[64];

static void remove_libdir(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/libfuzz.so", libdir);
	unlink(path);
	rmdir(libdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const unsigned char id[20] = {0xaa, 1,  2,  3,  4,  5,  6,  7,  8,  9,
					     10,   11, 12, 13, 14, 15, 16, 17, 18, 19};
	unsigned char pages[3 * 4096];
	char path[128];
	FILE *f;

	(void)argc;
	(void)argv;
	snprintf(libdir, sizeof(libdir), "/tmp/aiodbg-fuzz-core.XXXXXX");
	if (!mkdtemp(libdir))
		abort();
	atexit(remove_libdir);
	// The same build id as the library page of the synthetic seeds (gen_core_seeds.c).
	synth_elf_page(pages, 4096, id, sizeof(id), 'c');
	memset(pages + 4096, 'F', 4096);
	memset(pages + 8192, 'G', 4096);
	snprintf(path, sizeof(path), "%s/libfuzz.so", libdir);
	f = fopen(path, "wb");
	if (!f || fwrite(pages, 1, sizeof(pages), f) != sizeof(pages))
		abort();
	fclose(f);
	return 0;
}

static void try_read(struct adbg_target *t, uint64_t addr, size_t len)
{
	unsigned char buf[64];
	struct adbg_error *err;

	if (len > sizeof(buf))
		len = sizeof(buf);
	err = adbg_target_read(t, addr, buf, len);
	// A failed read names the address it failed at, inside the range asked for.
	if (err && err->code == ADBG_ERR_FAULT && (err->addr < addr || err->addr - addr >= len))
		__builtin_trap();
	adbg_error_destroy(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct adbg_open_options opts = {.lib_path = libdir};
	struct adbg_target *t;
	struct adbg_error *err;
	size_t n;

	err = adbg_target_open_core_mem(data, size, &opts, &t);
	if (err) {
		if (!err->message || !err->message[0])
			__builtin_trap();
		adbg_error_destroy(err);
		return 0;
	}
	if (t->kind != ADBG_TARGET_CORE)
		__builtin_trap();
	n = t->nmaps < MAX_MAPS_WALKED ? t->nmaps : MAX_MAPS_WALKED;
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct adbg_mapping *m = &t->maps[i];

		if (m->start >= m->end || (i && t->maps[i - 1].end > m->start))
			__builtin_trap();
		if (i < n && adbg_target_find_mapping(t, m->start) != m)
			__builtin_trap();
	}
	for (size_t i = 0; i < n; i++) {
		const struct adbg_mapping *m = &t->maps[i];
		int fd;

		try_read(t, m->start, 16);
		// A span across the end of this mapping (into the next one, or a gap).
		if (m->end >= 24)
			try_read(t, m->end - 24, 48);
		if (m->path && i < 8) {
			err = adbg_target_open_file(t, m, &fd);
			if (!err)
				close(fd);
			adbg_error_destroy(err);
		}
	}
	for (size_t i = 0; i < t->nthreads; i++) {
		if (!t->threads[i].have_regs)
			__builtin_trap();
		try_read(t, t->threads[i].regs.rsp, 16);
	}
	if (t->cmdline && strlen(t->cmdline) > 80)
		__builtin_trap();
	if (t->executable)
		(void)strlen(t->executable);
	adbg_target_destroy(t);
	return 0;
}
