// SPDX-License-Identifier: MIT
// Graphviz as a child process: dot text in, an <svg> element out, checked to hold only
// drawing elements before it goes into a report (no script, no handler, no link).
//
// `dot` is found in PATH (or is $AIODBG_DOT); it runs with a time limit and its output is
// capped. This module does not make the dot text (graph.h) and does not print.
#ifndef AIODBG_SVG_H
#define AIODBG_SVG_H

#include <stddef.h>

#include "error.h"

/** SVG output larger than this is refused. */
#define ADBG_SVG_MAX_BYTES (256u << 20)

/**
 * Run `dot -Tsvg` on dot[0..len), waiting at most timeout_ms. On success *svg_ret (free())
 * is the NUL-terminated text from "<svg" to "</svg>", checked by adbg_svg_check.
 * ADBG_ERR_NOT_FOUND when dot is not installed, ADBG_ERR_TIMEOUT when it ran out of time
 * (it is killed), ADBG_ERR_BAD_DATA when it failed (its first line of errors is in the
 * message) or its output did not pass the check.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_svg_from_dot(const char *dot, size_t len,
						     unsigned timeout_ms, char **svg_ret);

/**
 * Check that svg (from "<svg" on) holds only the elements and attributes Graphviz draws
 * with: no script, foreignObject, style or link, no event handler, nothing after </svg>.
 * ADBG_ERR_BAD_DATA naming what was refused.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_svg_check(const char *svg);

#endif
