// SPDX-License-Identifier: MIT
// Completion of command lines for the front ends: command names, options, and task and
// thread ids from a cached quick snapshot (see complete.h).
#include "complete.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"
#include "cmd.h"
#include "runtime.h"
#include "session.h"

struct adbg_complete_cache {
	/** when the candidates were read; valid is false until the first read. */
	uint64_t taken_ns;
	bool valid;
	uint64_t *task_ids;
	size_t ntasks;
	/** task names, sorted and without duplicates. */
	char **names;
	size_t nnames;
	int *tids;
	size_t ntids;
};

static void complete_cache_clear(struct adbg_complete_cache *cache)
{
	for (size_t i = 0; i < cache->nnames; i++)
		free(cache->names[i]);
	free(cache->names);
	free(cache->task_ids);
	free(cache->tids);
	memset(cache, 0, sizeof(*cache));
}

void adbg_complete_cache_destroy(struct adbg_complete_cache *cache)
{
	if (!cache)
		return;
	complete_cache_clear(cache);
	free(cache);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name the line splitter gives back unchanged: no blanks, quotes or backslashes. */
static bool completable_name(const char *name)
{
	if (!*name)
		return false;
	for (const char *p = name; *p; p++)
		if (isspace((unsigned char)*p) || *p == '"' || *p == '\'' || *p == '\\')
			return false;
	return true;
}

struct complete_snap {
	struct adbg_runtime_snapshot rt;
	struct adbg_asyncio_snapshot snap;
	bool have_snap;
};

static ADBG_MUST_CHECK struct adbg_error *complete_snap_read(struct adbg_session *s, void *arg)
{
	struct complete_snap *cs = arg;
	struct adbg_error *err;

	// Threads first: a process without asyncio imported still has threads to offer.
	err = adbg_runtime_snapshot(s, 0, &cs->rt);
	if (err)
		return err;
	err = adbg_asyncio_snapshot(s, 0, &cs->snap);
	cs->have_snap = !err;
	// Without tasks the threads still serve: not a failure of the read.
	if (err && !adbg_error_is(err, ADBG_ERR_NOMEM) &&
	    !adbg_error_is(err, ADBG_ERR_INTERRUPTED)) {
		adbg_error_destroy(err);
		err = NULL;
	}
	if (err)
		adbg_runtime_snapshot_deinit(&cs->rt);
	return err;
}

static void complete_snap_drop(struct adbg_session *s, void *arg)
{
	struct complete_snap *cs = arg;

	(void)s;
	adbg_runtime_snapshot_deinit(&cs->rt);
	if (cs->have_snap)
		adbg_asyncio_snapshot_deinit(&cs->snap);
	cs->have_snap = false;
}

static ADBG_MUST_CHECK struct adbg_error *complete_read(struct adbg_session *s,
							struct adbg_complete_cache *cache)
{
	struct complete_snap cs = {0};
	struct adbg_runtime_snapshot rt;
	struct adbg_asyncio_snapshot snap;
	struct adbg_error *err;
	bool have_snap;

	err = adbg_session_snapshot(s, complete_snap_read, complete_snap_drop, &cs);
	if (err)
		return err;
	rt = cs.rt;
	snap = cs.snap;
	have_snap = cs.have_snap;
	if (rt.nthreads) {
		cache->tids = calloc(rt.nthreads, sizeof(int));
		for (size_t i = 0; cache->tids && i < rt.nthreads; i++)
			if (rt.threads[i].tid)
				cache->tids[cache->ntids++] = rt.threads[i].tid;
	}
	adbg_runtime_snapshot_deinit(&rt);
	if (have_snap && snap.ntasks) {
		cache->task_ids = calloc(snap.ntasks, sizeof(uint64_t));
		cache->names = calloc(snap.ntasks, sizeof(char *));
		for (size_t i = 0; cache->task_ids && cache->names && i < snap.ntasks; i++) {
			const struct adbg_task *t = &snap.tasks[i];

			cache->task_ids[cache->ntasks++] = t->id;
			if (t->name && completable_name(t->name)) {
				char *dup = strdup(t->name);

				if (dup)
					cache->names[cache->nnames++] = dup;
			}
		}
		if (cache->nnames) {
			size_t n = 1;

			qsort(cache->names, cache->nnames, sizeof(char *), compare_names);
			for (size_t i = 1; i < cache->nnames; i++) {
				if (strcmp(cache->names[i], cache->names[n - 1]) == 0)
					free(cache->names[i]);
				else
					cache->names[n++] = cache->names[i];
			}
			cache->nnames = n;
		}
	}
	if (have_snap)
		adbg_asyncio_snapshot_deinit(&snap);
	// Whatever the snapshot warned about belongs to no command.
	adbg_session_clear_warnings(s);
	return err;
}

/* Fresh candidates from the target, reusing the cache while it is young (or a core). */
static void complete_refresh(struct adbg_session *s, struct adbg_complete_cache *cache)
{
	uint64_t now = adbg_now_ns();
	struct adbg_error *err;

	if (cache->valid && (s->target->kind != ADBG_TARGET_PROCESS ||
			     now - cache->taken_ns < (uint64_t)ADBG_COMPLETE_TTL_MS * 1000000))
		return;
	complete_cache_clear(cache);
	err = complete_read(s, cache);
	// An unreadable target stays unreadable for a while: do not stop it on every Tab.
	// An interrupted read is tried again on the next Tab. The age counts from the end of
	// the read: a read that takes longer than the TTL must still serve the next Tab.
	cache->valid = !err || err->code != ADBG_ERR_INTERRUPTED;
	cache->taken_ns = adbg_now_ns();
	adbg_error_destroy(err);
}

static void offer(const char *cand, const char *word, size_t wlen, adbg_complete_fn fn, void *arg)
{
	if (strncmp(cand, word, wlen) == 0)
		fn(arg, cand);
}

void adbg_cmd_complete(struct adbg_session *s, struct adbg_complete_cache **cachep,
		       const char *line, const char *word, adbg_complete_fn fn, void *arg)
{
	size_t llen = strlen(line), wlen = strlen(word);
	size_t before = llen >= wlen ? llen - wlen : 0;
	const struct adbg_cmd *cmd;
	char name[64];
	size_t start, n;

	start = strspn(line, " \t");
	if (start >= before) {
		// The first word: a command name or alias.
		for (cmd = adbg_cmds; cmd->name; cmd++) {
			offer(cmd->name, word, wlen, fn, arg);
			for (int i = 0; cmd->aliases[i]; i++)
				offer(cmd->aliases[i], word, wlen, fn, arg);
		}
		return;
	}
	n = strcspn(line + start, " \t");
	if (n >= sizeof(name))
		return;
	memcpy(name, line + start, n);
	name[n] = '\0';
	cmd = adbg_cmd_find(name);
	if (!cmd || (cmd->flags & ADBG_CMD_RAW))
		return;
	if (word[0] == '-' || !cmd->complete) {
		for (int i = 0; cmd->options[i]; i++)
			offer(cmd->options[i], word, wlen, fn, arg);
		return;
	}
	if (cmd->complete & ADBG_COMPLETE_COMMAND) {
		for (const struct adbg_cmd *c = adbg_cmds; c->name; c++)
			offer(c->name, word, wlen, fn, arg);
	}
	if (!(cmd->complete & (ADBG_COMPLETE_TASK | ADBG_COMPLETE_THREAD)) || !s || !cachep)
		return;
	if (!*cachep) {
		*cachep = calloc(1, sizeof(**cachep));
		if (!*cachep)
			return;
	}
	complete_refresh(s, *cachep);
	if (cmd->complete & ADBG_COMPLETE_TASK) {
		struct adbg_complete_cache *cache = *cachep;
		char id[24];

		// Ids once the word looks like one ("0x..."), so that "task <Tab>" lists names.
		if (wlen >= 2 && word[0] == '0' && (word[1] == 'x' || word[1] == 'X')) {
			for (size_t i = 0; i < cache->ntasks; i++) {
				snprintf(id, sizeof(id), "%#" PRIx64, cache->task_ids[i]);
				offer(id, word, wlen, fn, arg);
			}
		} else {
			for (size_t i = 0; i < cache->nnames; i++)
				offer(cache->names[i], word, wlen, fn, arg);
			// "0" may start an id; an empty word lists the names only.
			if (wlen == 1 && word[0] == '0') {
				for (size_t i = 0; i < cache->ntasks; i++) {
					snprintf(id, sizeof(id), "%#" PRIx64, cache->task_ids[i]);
					offer(id, word, wlen, fn, arg);
				}
			}
		}
	}
	if (cmd->complete & ADBG_COMPLETE_THREAD) {
		char tid[16];

		for (size_t i = 0; i < (*cachep)->ntids; i++) {
			snprintf(tid, sizeof(tid), "%d", (*cachep)->tids[i]);
			offer(tid, word, wlen, fn, arg);
		}
	}
}
