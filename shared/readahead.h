// SPDX-License-Identifier: MIT
// Blocks of target memory copied ahead of the reader, on another core. A large snapshot of
// a stopped process spends a third of its stop in process_vm_readv (the kernel walking the
// target's page tables and copying), on the one core that also parses; the target's own
// cores stand idle. When the reader misses a block, a thread of ours copies the blocks
// that follow it into buffers of its own (objects of one kind are allocated in address
// order, so a walk over a million tasks streams through a few runs of blocks), and the
// reader's next miss trades its cache buffer for the copied one instead of copying.
//
// Single owner: every function but the thread's own runs on the owner's thread. The
// thread only reads the target through `read_some`, which must be safe to call from
// another thread (process_vm_readv is; GDB's API is not).
#ifndef AIODBG_READAHEAD_H
#define AIODBG_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct adbg_readahead;

/** How the thread reads: as many bytes of [addr, addr + len) as are readable from addr. */
typedef size_t (*adbg_read_some_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/**
 * Start the thread with nbufs buffers of bsize bytes each, lent by the owner (bufs[i]; the
 * owner gets a set of nbufs buffers back from adbg_readahead_stop, not necessarily the
 * same ones: adbg_readahead_take trades). NULL when no thread could be started (the owner
 * reads everything itself, as without it).
 */
struct adbg_readahead *adbg_readahead_start(adbg_read_some_fn read_some, void *ctx, size_t bsize,
					    unsigned char **bufs, unsigned nbufs);

/**
 * Ask for the block at addr (bsize-aligned). Nothing happens when it is already asked for
 * or copied, or when every buffer holds a block not yet taken and none is old enough to
 * give up.
 */
void adbg_readahead_want(struct adbg_readahead *ra, uint64_t addr);

/**
 * The block at addr if the thread has copied it (waiting for a copy in progress): *buf,
 * the owner's buffer, is exchanged for the one holding it, and the number of bytes copied
 * from addr is returned (fewer than bsize where the memory ends). A block asked for but
 * not begun is withdrawn. -1: not there; the owner reads it itself.
 */
long adbg_readahead_take(struct adbg_readahead *ra, uint64_t addr, unsigned char **buf);

/** Forget every block asked for or copied (the memory may have changed). */
void adbg_readahead_forget(struct adbg_readahead *ra);

/** Stop and join the thread (NULL: nothing); bufs[0..nbufs) receive the buffers back. */
void adbg_readahead_stop(struct adbg_readahead *ra, unsigned char **bufs);

/** Blocks the thread copied, and how many of them the owner took (for benchmarks and tests). */
void adbg_readahead_stats(const struct adbg_readahead *ra, uint64_t *copied, uint64_t *taken);

#endif
