// SPDX-License-Identifier: MIT
// A hint to bring memory into the CPU cache before it is used: for the lookups of a large
// snapshot (a million tasks' index is 16 MiB), whose addresses are known a few steps
// ahead. Only a hint: no fault, no effect on results.
#ifndef AIODBG_PREFETCH_H
#define AIODBG_PREFETCH_H

static inline void adbg_prefetch(const void *p)
{
#if defined(__x86_64__)
	// GCC 12 at -O2 dropped __builtin_prefetch in the snapshot's loops as dead code.
	__asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p);
#endif
}

#endif
