// SPDX-License-Identifier: MIT
// A string arena: many small strings copied into large chunks and freed all at once.
//
// The session keeps one for the strings of the current snapshot (task names, qualnames,
// file names, native symbols): a million tasks make a million names, and this makes each
// one a copy into the current chunk, with no allocation of its own and no free. The arena
// does not intern (equal strings are stored twice; the code cache shares what repeats)
// and is not thread-safe.
#ifndef AIODBG_ARENA_H
#define AIODBG_ARENA_H

#include <stddef.h>

struct adbg_arena_chunk;

/** An arena; zero-initialised storage is an empty arena ready for use. */
struct adbg_arena {
	/** newest chunk first; NULL when empty. */
	struct adbg_arena_chunk *chunks;
};

/**
 * Copy the NUL-terminated str into the arena. The copy stays valid until
 * adbg_arena_deinit. NULL when out of memory (the arena is unchanged then).
 */
const char *adbg_arena_strdup(struct adbg_arena *a, const char *str);

/** Free every string of the arena; it is empty (and usable) afterwards. */
void adbg_arena_deinit(struct adbg_arena *a);

#endif
