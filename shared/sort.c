// SPDX-License-Identifier: MIT
// Least-significant-digit radix sort of 64-bit keys (see sort.h).
#include "sort.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DIGIT_BITS 16
#define DIGITS (64 / DIGIT_BITS)
#define BUCKETS ((size_t)1 << DIGIT_BITS)
// Below this, qsort is as fast and needs no scratch array.
#define RADIX_MIN 4096

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void adbg_sort_u64(uint64_t *a, size_t n)
{
	uint64_t *tmp, *src = a, *dst;
	size_t *count;

	if (n < 2)
		return;
	tmp = n >= RADIX_MIN ? malloc(n * sizeof(*tmp)) : NULL;
	count = tmp ? malloc(BUCKETS * sizeof(*count)) : NULL;
	if (!count) {
		free(tmp);
		qsort(a, n, sizeof(*a), cmp_u64);
		return;
	}
	dst = tmp;
	for (unsigned d = 0; d < DIGITS; d++) {
		unsigned shift = d * DIGIT_BITS;
		size_t sum = 0;
		bool one_bucket;

		memset(count, 0, BUCKETS * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(src[i] >> shift) & (BUCKETS - 1)]++;
		// A digit all keys share (an address's top bits) needs no pass.
		one_bucket = count[(src[0] >> shift) & (BUCKETS - 1)] == n;
		if (one_bucket)
			continue;
		for (size_t b = 0; b < BUCKETS; b++) {
			size_t c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & (BUCKETS - 1)]++] = src[i];
		{
			uint64_t *swap = src;

			src = dst;
			dst = swap;
		}
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	free(count);
	free(tmp);
}
