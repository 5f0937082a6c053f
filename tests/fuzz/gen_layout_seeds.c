// SPDX-License-Identifier: MIT
// Writes seeds for tests/fuzz/fuzz_layout.c into the directory named by argv[1]: the real
// _Py_DebugOffsets and AsyncioDebug tables of tests/unit/fixtures/debug_offsets.h in the
// fuzzer's input format, plus bare 3.11/3.12 versions.
// Built and run by tests/fuzz/seeds-layout.sh (cc -Itests/unit).
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fixtures/debug_offsets.h"

static int write_seed(const char *dir, const char *name, uint8_t flags, const void *version,
		      const void *table, size_t table_len, const void *ad, size_t ad_len)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return 1;
	}
	ok = fwrite(&flags, 1, 1, f) == 1;
	if (version)
		ok &= fwrite(version, 8, 1, f) == 1;
	if (table_len)
		ok &= fwrite(table, table_len, 1, f) == 1;
	if (ad_len)
		ok &= fwrite(ad, ad_len, 1, f) == 1;
	ok &= fclose(f) == 0;
	if (!ok)
		perror(path);
	return !ok;
}

int main(int argc, char **argv)
{
	static const uint64_t v311 = 0x030b07f0, v312 = 0x030c01f0, v310 = 0x030a0df0;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	rc |= write_seed(argv[1], "3.13.0", 0, NULL, do_3_13_0, sizeof(do_3_13_0), NULL, 0);
	rc |= write_seed(argv[1], "3.13.18", 0, NULL, do_3_13_18, sizeof(do_3_13_18), NULL, 0);
	rc |= write_seed(argv[1], "3.14.10", 1, NULL, do_3_14_10, sizeof(do_3_14_10), ad_3_14_10,
			 sizeof(ad_3_14_10));
	rc |= write_seed(argv[1], "3.14.10-noasyncio", 0, NULL, do_3_14_10, sizeof(do_3_14_10),
			 NULL, 0);
	rc |= write_seed(argv[1], "3.15.2", 1, NULL, do_3_15_2, sizeof(do_3_15_2), ad_3_15_2,
			 sizeof(ad_3_15_2));
	rc |= write_seed(argv[1], "3.11.7", 2, &v311, NULL, 0, NULL, 0);
	rc |= write_seed(argv[1], "3.12.1", 2, &v312, NULL, 0, NULL, 0);
	rc |= write_seed(argv[1], "3.10.13", 2, &v310, NULL, 0, NULL, 0);
	return rc;
}
