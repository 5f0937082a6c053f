// SPDX-License-Identifier: MIT
// Unit tests of svg.c: what adbg_svg_check lets into a report (Graphviz's drawing
// elements) and what it refuses (script, handlers, links, foreign content, text after the
// element), and adbg_svg_from_dot with dot missing.
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "svg.h"

#define HEAD                                                                     \
	"<svg width=\"62pt\" height=\"44pt\" viewBox=\"0.00 0.00 62.00 44.00\" " \
	"xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"

/* What dot -Tsvg writes for `digraph { a }`, cut to its <svg> element. */
static const char good[] = HEAD
	"<g id=\"graph0\" class=\"graph\" transform=\"scale(1 1) rotate(0) translate(4 40)\">\n"
	"<title>%3</title>\n<polygon fill=\"white\" stroke=\"none\" points=\"-4,4 -4,-40 58,-40 "
	"58,4 -4,4\"/>\n<!-- a -->\n<g id=\"node1\" class=\"node\">\n<title>a</title>\n"
	"<ellipse fill=\"none\" stroke=\"black\" cx=\"27\" cy=\"-18\" rx=\"27\" ry=\"18\"/>\n"
	"<text text-anchor=\"middle\" x=\"27\" y=\"-14.3\" font-family=\"Times,serif\" "
	"font-size=\"14.00\">&lt;a&gt; &amp; &quot;b&quot;</text>\n</g>\n</g>\n</svg>";

static void refused(const char *svg, const char *why)
{
	struct adbg_error *err = adbg_svg_check(svg);

	ck_assert_msg(err, "accepted: %s", svg);
	ck_assert_int_eq(err->code, ADBG_ERR_BAD_DATA);
	ck_assert_msg(strstr(err->message, why), "%s: %s", svg, err->message);
	adbg_error_destroy(err);
}

START_TEST(test_graphviz_output_accepted)
{
	ck_assert_ptr_null(adbg_svg_check(good));
	ck_assert_ptr_null(adbg_svg_check(HEAD "</svg>\n"));
}
END_TEST

START_TEST(test_dangerous_refused)
{
	refused(HEAD "<script>alert(1)</script></svg>", "element <script>");
	refused(HEAD "<g onload=\"alert(1)\"></g></svg>", "attribute onload");
	refused(HEAD "<a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
		"element <a>");
	refused(HEAD "<text xlink:href=\"http://example.com/\">x</text></svg>",
		"attribute xlink:href");
	refused(HEAD "<foreignObject><div>x</div></foreignObject></svg>",
		"element <foreignObject>");
	refused(HEAD "<g style=\"background:url(http://x/)\"></g></svg>", "attribute style");
	refused(HEAD "<image href=\"x.png\"/></svg>", "element <image>");
	refused(HEAD "<g id=x></g></svg>", "unquoted attribute");
	refused(HEAD "<g id=\"a<b\"></g></svg>", "bad attribute value");
	refused(HEAD "</svg><script>alert(1)</script>", "text after </svg>");
	refused(HEAD "<g>", "not closed");
	refused(HEAD "<!-- open", "open comment");
	refused("<html><svg></svg></html>", "does not start with <svg");
	refused(HEAD "<SCRIPT>x</SCRIPT></svg>", "element <SCRIPT>");
}
END_TEST

START_TEST(test_dot_missing)
{
	char *svg = NULL;
	struct adbg_error *err;

	setenv("AIODBG_DOT", "/nonexistent/dot", 1);
	err = adbg_svg_from_dot("digraph { a }", 13, 5000, &svg);
	unsetenv("AIODBG_DOT");
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, ADBG_ERR_NOT_FOUND);
	ck_assert_str_eq(err->message,
			 "Graphviz's dot is not installed (Debian: apt install graphviz)");
	ck_assert_ptr_null(svg);
	adbg_error_destroy(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("svg");
	TCase *tc = tcase_create("svg");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_graphviz_output_accepted);
	tcase_add_test(tc, test_dangerous_refused);
	tcase_add_test(tc, test_dot_missing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
