// SPDX-License-Identifier: MIT
// Page faults of a large array taken ahead of its use, on another core. The first write to
// each page of fresh memory makes the kernel zero it: a million task records are 136 MB,
// and zeroing them was a fifth of a million-task snapshot's stop, on the one core that
// reads the target (the target's own cores stand idle while it is stopped). A thread of
// its own populates the array's pages a window ahead of the last byte used, so the reader
// writes into pages that are already there. Linux 5.14+ (MADV_POPULATE_WRITE); elsewhere
// the thread ends at once and the reader takes the faults itself, as without it.
#ifndef AIODBG_PREFAULT_H
#define AIODBG_PREFAULT_H

#include <stdbool.h>
#include <stddef.h>

struct adbg_prefault;

/**
 * Start populating [base + from, base + len) of a mapping that stays in place (reserved
 * whole: nothing may move or unmap it before adbg_prefault_stop), never more than `ahead`
 * bytes past what adbg_prefault_used last said. NULL when no thread could be started (the
 * caller goes on without). Contents are never changed: the owner may write anywhere
 * meanwhile.
 */
struct adbg_prefault *adbg_prefault_start(void *base, size_t len, size_t from, size_t ahead);

/** The owner has used [base, base + used): the thread may go on to used + ahead. */
void adbg_prefault_used(struct adbg_prefault *pf, size_t used);

/**
 * Stop and join the thread (NULL: nothing), then give back the pages it populated past
 * base + keep, so that the window ahead costs no memory after the array stops growing.
 */
void adbg_prefault_stop(struct adbg_prefault *pf, size_t keep);

#endif
