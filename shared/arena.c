// SPDX-License-Identifier: MIT
// The string arena (see arena.h): chunks of 64 KiB, bump allocation, freed together.
#include "arena.h"

#include <stdlib.h>
#include <string.h>

// Bytes per chunk; a longer string gets a chunk of its own size.
#define ARENA_CHUNK (64u * 1024)

struct adbg_arena_chunk {
	struct adbg_arena_chunk *next;
	size_t used, size;
	char data[];
};

const char *adbg_arena_strdup(struct adbg_arena *a, const char *str)
{
	size_t len = strlen(str) + 1;
	struct adbg_arena_chunk *c = a->chunks;
	char *p;

	if (!c || c->size - c->used < len) {
		size_t size = len > ARENA_CHUNK ? len : ARENA_CHUNK;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = a->chunks;
		a->chunks = c;
	}
	p = c->data + c->used;
	memcpy(p, str, len);
	c->used += len;
	return p;
}

void adbg_arena_deinit(struct adbg_arena *a)
{
	struct adbg_arena_chunk *c = a->chunks;

	while (c) {
		struct adbg_arena_chunk *next = c->next;

		free(c);
		c = next;
	}
	a->chunks = NULL;
}
