// SPDX-License-Identifier: MIT
// Completion of command lines, for front ends (the REPL's Tab, GDB's complete()).
//
// Task ids and names and thread ids come from a quick snapshot (no stacks) kept in a cache
// the front end owns, so that pressing Tab again within ADBG_COMPLETE_TTL_MS does not stop
// the target again; for a core the snapshot is taken once. What a command's arguments
// complete to is said by its entry in the command table (struct adbg_cmd.complete, cmd.h).
#ifndef AIODBG_COMPLETE_H
#define AIODBG_COMPLETE_H

struct adbg_session;

/** How long completion candidates from a live target are reused. */
#define ADBG_COMPLETE_TTL_MS 3000

/** Candidates of one completion; the front end owns it. */
struct adbg_complete_cache;

/** Receives one candidate (a whole word); the string is only valid during the call. */
typedef void (*adbg_complete_fn)(void *arg, const char *candidate);

/**
 * Offer every completion of word, the (possibly empty) word that ends line, where line is
 * the command line up to the cursor. The first word completes to command names and
 * aliases; a word starting with '-' to the command's options; other words to what the
 * command takes (struct adbg_cmd.complete): task names (names with spaces or quotes are
 * left out) and, once the word starts with "0", task ids ("0x..."); thread ids; command
 * names. Each candidate is passed to fn once, in table order for commands and options,
 * sorted for names.
 *
 * s may be NULL (no target: commands and options only). *cache may be NULL; it is
 * allocated on first use and refreshed when stale. Never fails: when the target cannot be
 * read (or the user interrupted the snapshot) there are simply no target candidates.
 */
void adbg_cmd_complete(struct adbg_session *s, struct adbg_complete_cache **cache, const char *line,
		       const char *word, adbg_complete_fn fn, void *arg);

/** Drop the cached candidates (e.g. before the next Tab must see a change). NULL is a no-op. */
void adbg_complete_cache_destroy(struct adbg_complete_cache *cache);

#endif
