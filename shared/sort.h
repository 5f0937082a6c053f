// SPDX-License-Identifier: MIT
// Sorting the large arrays of a snapshot: a million task addresses (the 3.11-3.13
// registries, read in address order) sorted by qsort took a tenth of a second with the
// target stopped; a radix sort takes a few milliseconds.
#ifndef AIODBG_SORT_H
#define AIODBG_SORT_H

#include <stddef.h>
#include <stdint.h>

/**
 * Sort a[0..n) in ascending order. Uses n * 8 bytes of scratch memory; without it (out of
 * memory) it falls back to qsort, so it cannot fail.
 */
void adbg_sort_u64(uint64_t *a, size_t n);

#endif
