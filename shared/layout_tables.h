// SPDX-License-Identifier: MIT
// The built-in per-minor layout tables of CPython 3.11-3.15 (private to layout*.c).
//
// What aiodbg knows of each minor version without asking the target: the whole layout of
// 3.11 and 3.12, and on 3.13+ what _Py_DebugOffsets and AsyncioDebug do not describe
// (pre-header and enum values, asyncio objects before 3.14, constants of the readers).
// Fields that the target's own tables give are ADBG_NO_FIELD here, so that a version
// whose table lacks one cannot silently use a guess. adbg_layout_build (layout.c) starts
// from one of these, completes it from the target and validates it: nothing else uses
// them directly. This module does not read targets or validate.
#ifndef AIODBG_LAYOUT_TABLES_H
#define AIODBG_LAYOUT_TABLES_H

#include "layout.h"

/** The built-in table of 3.minor, for adbg_layout_build only. */
extern const struct adbg_layout adbg_layout_311;
extern const struct adbg_layout adbg_layout_312;
extern const struct adbg_layout adbg_layout_313;
extern const struct adbg_layout adbg_layout_314;
extern const struct adbg_layout adbg_layout_315;

#endif
