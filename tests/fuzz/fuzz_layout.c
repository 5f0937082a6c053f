// SPDX-License-Identifier: MIT
// libFuzzer target: adbg_layout_build + adbg_layout_validate on untrusted table bytes.
//
// Input: one flags byte, then the bytes of a _Py_DebugOffsets table.
//   flags bit 0: the last 104 bytes are an AsyncioDebug section, not part of the table;
//   flags bit 1: the next 8 bytes are the version to claim (little-endian) instead of the
//                table's own version word (as adbg_python_find passes), to reach the
//                mismatch and 3.11/3.12 paths.
// Seeds: tests/fuzz/seeds-layout.sh runs gen_layout_seeds.c (the real tables of
// tests/unit/fixtures).
// fuzz-sources: layout.c layout_tables.c error.c
// Whatever the bytes, the build must return (never crash, hang or leak) and, on success,
// hand back a layout that validates again.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

#define ASYNCIO_DEBUG_LEN 104

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *table, *ad = NULL;
	size_t table_len, ad_len = 0;
	struct adbg_layout l;
	struct adbg_error *err;
	uint64_t version = 0;
	uint8_t flags;

	if (size < 1)
		return 0;
	flags = data[0];
	table = data + 1;
	table_len = size - 1;
	if (flags & 2) {
		if (table_len < 8)
			return 0;
		memcpy(&version, table, 8);
		table += 8;
		table_len -= 8;
	}
	if ((flags & 1) && table_len >= ASYNCIO_DEBUG_LEN) {
		ad = table + table_len - ASYNCIO_DEBUG_LEN;
		ad_len = ASYNCIO_DEBUG_LEN;
		table_len -= ASYNCIO_DEBUG_LEN;
	}
	if (!(flags & 2) && table_len >= 16)
		memcpy(&version, table + 8, 8);

	err = adbg_layout_build(version, table_len ? table : NULL, table_len, ad, ad_len, &l);
	if (err) {
		adbg_error_destroy(err);
		return 0;
	}
	err = adbg_layout_validate(&l);
	if (err)
		abort();
	return 0;
}
