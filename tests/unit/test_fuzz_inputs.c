// SPDX-License-Identifier: MIT
// Unit tests: the committed inputs of fuzz_runtime (tests/fuzz/seeds-runtime/, minimised
// reproducers of its findings) run through the fuzz target's own entry point, so a fixed
// finding stays fixed in `make check`. Leaks show in the ASan stage of make check, which
// runs this test too; crashes and hangs show in every build.
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../fuzz/fuzz_runtime.c"

static size_t run_dir(const char *name)
{
	const char *src = getenv("AIODBG_SRCDIR") ? getenv("AIODBG_SRCDIR") : ".";
	char dir[4096], path[8192];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s", src, name);
	d = opendir(dir);
	ck_assert_msg(d, "%s: not found (set AIODBG_SRCDIR)", dir);
	while ((de = readdir(d))) {
		struct stat st;
		uint8_t *buf;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		buf = malloc((size_t)st.st_size + 1);
		f = fopen(path, "rb");
		ck_assert(buf && f);
		ck_assert_uint_eq(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)st.st_size);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

START_TEST(test_runtime_inputs)
{
	ck_assert_uint_ge(run_dir("seeds-runtime"), 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fuzz_inputs");
	TCase *tc = tcase_create("runtime");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_runtime_inputs);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
