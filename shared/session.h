// SPDX-License-Identifier: MIT
// A debugging session: one target, the Python recognised in it, and what its snapshots read.
//
// The session is what every command runs against, in the REPL and in GDB alike. Opening
// one recognises the Python once (version, layout); each command then takes its own
// snapshot (freeze, read, thaw). Warnings collected while reading (caps hit, unreadable
// objects) are kept per command for the renderer. This module does not print. What the
// user chose (the selection) and what a front end lends to commands (hooks, live control)
// are the front end's: struct adbg_cmd_state (cmd.h).
#ifndef AIODBG_SESSION_H
#define AIODBG_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "error.h"
#include "python.h"
#include "target.h"

struct adbg_code_entry;

/**
 * Progress of a long walk: what is being read ("tasks") and how many so far. Called from
 * the walk itself, so it must be quick and must not touch the target.
 */
typedef void (*adbg_progress_fn)(void *arg, const char *what, size_t done);

/** Long walks report progress every this many items (adbg_session_progress). */
#define ADBG_PROGRESS_EVERY 1024
/**
 * A warm read (adbg_session_warm) ends after this many items of a long walk: at 10 000
 * tasks a whole warm read was a tenth of `tasks`.
 */
#define ADBG_WARM_ITEMS 2048

struct adbg_session {
	struct adbg_target *target;
	struct adbg_python *python;
	/** warnings of the current command, newest last. */
	char **warnings;
	size_t nwarnings;
	/**
	 * What the walks hear from and report to the front end, which sets them: a flag set
	 * asynchronously (e.g. from a SIGINT handler) to ask long walks to stop, or NULL; and
	 * progress (the REPL's "reading tasks: N..."), or NULL.
	 */
	volatile int *interrupted;
	/**
	 * adbg_session_snapshot first reads a live target with it running, for at most this
	 * long (ms; 0: not), so that the stop that follows does not wait on pages the kernel
	 * dropped (adbg_session_warm). Front ends that attach set it (ADBG_WARM_MS).
	 */
	unsigned warm_ms;
	/** while a bounded warm read is under way: when it gives up (adbg_now_ns); else 0. */
	uint64_t warm_until_ns;
	/** when the last snapshot of a live target ended (adbg_now_ns); 0: none yet. */
	uint64_t last_snapshot_ns;
	/**
	 * a warm read is under way (the target runs): reads that need it stopped (native
	 * unwinding from its registers) are left out.
	 */
	bool warming;
	adbg_progress_fn progress;
	void *progress_arg;
	/** decoded code objects of the current snapshot. */
	struct adbg_codecache *codecache;
	/** the strings of the current snapshot (adbg_snapshot_strdup). */
	struct adbg_arena strings;
	/**
	 * what of a live target was seen changing during the current snapshot ("thread
	 * list"; static text), NULL when nothing was (adbg_session_inconsistent); with the
	 * detail of the last such sighting. adbg_session_snapshot reads again while it is set.
	 */
	const char *race_what;
	char *race_detail;
	/** the "not verified against a live interpreter" warning was given (layout.h). */
	bool unverified_warned;
};

/**
 * Open a session over target t (ownership passes to the session, also on failure).
 * Fails when t holds no supported Python.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_session_create(struct adbg_target *t,
						       struct adbg_session **ret);

/**
 * Open a session over target t with a Python already recognised (adbg_python_at); both
 * pass to the session, also on failure.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_session_create_python(struct adbg_target *t,
							      struct adbg_python *py,
							      struct adbg_session **ret);

/** Free the session and its target (thawing it). NULL is a no-op. */
void adbg_session_destroy(struct adbg_session *s);

/** Record a warning for the current command (printf-style). Never fails. */
void adbg_session_warn(struct adbg_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * A failure that costs only part of the output: record err's message as a warning, then
 * destroy err. Takes ownership of err; NULL is a no-op. Context goes on with
 * adbg_error_wrap: adbg_session_warn_error(s, adbg_error_wrap(err, "thread %d", tid)).
 */
void adbg_session_warn_error(struct adbg_session *s, struct adbg_error *err);

/** Drop the warnings (at the start of each command). */
void adbg_session_clear_warnings(struct adbg_session *s);

/**
 * For long walks: report that done items of what have been read so far. Cheap enough to
 * call for every item; the front end's hook sees every ADBG_PROGRESS_EVERY-th.
 */
static inline void adbg_session_progress(struct adbg_session *s, const char *what, size_t done)
{
	// A warm read has seen enough: what the kernel may have dropped (the interpreter's
	// type names and constants) is what every task touches, not each task's own memory.
	if (s->warming && done >= ADBG_WARM_ITEMS)
		s->warm_until_ns = 1; // long past: adbg_session_interrupted from now on
	if (s->progress && done % ADBG_PROGRESS_EVERY == 0)
		s->progress(s->progress_arg, what, done);
}

/**
 * Copy str into the snapshot's string arena (names of tasks, code objects, native
 * symbols): no allocation of its own, valid until the next snapshot begins. NULL when out
 * of memory.
 */
static inline const char *adbg_snapshot_strdup(struct adbg_session *s, const char *str)
{
	return adbg_arena_strdup(&s->strings, str);
}

/**
 * The code object at code, decoded (names, first line, line table) through the snapshot's
 * code cache (codecache.h): read from the target on first use in a snapshot. *ret stays
 * valid until the next snapshot begins.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_session_code(struct adbg_session *s, uint64_t code,
						     const struct adbg_code_entry **ret);

/** true if the user asked to stop (Ctrl-C), or a bounded warm read is out of time. */
bool adbg_session_interrupted(const struct adbg_session *s);

/**
 * Start a snapshot: freeze the target (live) and drop what earlier snapshots cached.
 * Always pair with adbg_session_snapshot_end, also on error paths. A freeze that fails
 * because the process changed while being stopped is tried again (see
 * adbg_session_snapshot); the reads that follow are not: prefer adbg_session_snapshot.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_session_snapshot_begin(struct adbg_session *s);

/** End a snapshot: thaw the target. Idempotent. */
void adbg_session_snapshot_end(struct adbg_session *s);

/** A snapshot of a live target is taken this many times at most when the target keeps changing. */
#define ADBG_SNAPSHOT_ATTEMPTS 5

/**
 * Freezing a process that another aiodbg holds for its own snapshot is tried this many times
 * at most (adbg_freeze_backoff_ms between tries: about 1.2 s in all). The other snapshot
 * lasts milliseconds on a quiet machine but can take hundreds of them on a loaded one or a
 * big heap; a session that holds the process for longer (a pause) is reported after that.
 */
#define ADBG_FREEZE_ATTEMPTS 12

/** The back-off before freeze attempt attempt+1 while another aiodbg holds the process. */
unsigned adbg_freeze_backoff_ms(unsigned attempt);

/**
 * Whether the target can change between two snapshots (a running process, a live GDB
 * inferior): there an inconsistency may be a race with the program, worth reading again.
 * On a core (or an in-memory target) nothing changes: an inconsistency is corrupt data.
 */
bool adbg_session_live(const struct adbg_session *s);

/**
 * Report an inconsistency in the target's structures of the kind a running program
 * produces while it changes them: a thread state that does not point back to its
 * interpreter, a list that ends in memory that is no longer there. what names the
 * structure ("thread list"; static text). Returns an ADBG_ERR_BAD_DATA error with the
 * message, for the caller to return or turn into a warning. On a live target the session
 * also notes a race (race_what), so that adbg_session_snapshot reads again; on a core
 * (nothing there changes) the message says the data is corrupt.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_session_inconsistent(struct adbg_session *s,
							     const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * What adbg_session_snapshot does while the target is frozen: read it into arg. On
 * failure it leaves nothing behind; drop (may be NULL) frees what a successful read made,
 * when the snapshot is read again.
 */
typedef ADBG_MUST_CHECK struct adbg_error *(*adbg_snapshot_read_fn)(struct adbg_session *s,
								    void *arg);
typedef void (*adbg_snapshot_drop_fn)(struct adbg_session *s, void *arg);

/**
 * One coherent snapshot: freeze, read(s, arg), thaw. When the target is live and the read
 * saw it change (adbg_session_inconsistent), or the freeze failed on a process that
 * changed while being stopped (threads starting, another aiodbg's snapshot), it thaws,
 * backs off briefly (adbg_snapshot_backoff_ms), and tries again, up to
 * ADBG_SNAPSHOT_ATTEMPTS times. If the target is still changing then: a failed read fails
 * with "the thread list of process N kept changing during 5 snapshots; try again (...)"
 * (ADBG_ERR_TIMEOUT), a read that only warned keeps its result with that warning. The
 * target is thawed on every path; Ctrl-C (interrupted) stops the retries with
 * ADBG_ERR_INTERRUPTED. Warnings of abandoned attempts are dropped.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_session_snapshot(struct adbg_session *s,
							 adbg_snapshot_read_fn read,
							 adbg_snapshot_drop_fn drop, void *arg);

/**
 * Read as adbg_session_snapshot would, but without stopping the target, and forget what
 * was read (drop, warnings, cached code and strings): to bring the memory the next
 * snapshot reads into the target's RAM first. A page the kernel has dropped (a clean file
 * page: the interpreter's type names and constants) costs milliseconds to read back from
 * disk, and a sampler's first stop read dozens of them (30-70 ms instead of 0.5 ms); `bt`
 * of a process idle for a few seconds stopped it 20-30 ms instead of 2. The target runs
 * meanwhile, so what the read sees may be inconsistent; it is thrown away, and every walk
 * over target memory is capped and cycle-checked. max_ms (0: none) bounds it: the walks
 * that check adbg_session_interrupted give up then (a million tasks are not read twice);
 * so does a walk that reports ADBG_WARM_ITEMS items of progress.
 * No-op on a target that cannot change (a core) or is already frozen.
 */
void adbg_session_warm(struct adbg_session *s, adbg_snapshot_read_fn read,
		       adbg_snapshot_drop_fn drop, void *arg, unsigned max_ms);

/** The warm read's bound that attaching front ends set (adbg_session.warm_ms). */
#define ADBG_WARM_MS 100
/**
 * No warm read when the session's previous snapshot ended less than this long ago (ms):
 * what it read is still in RAM (the kernel dropped such pages after several idle seconds),
 * and a REPL's commands in a row would each read twice.
 */
#define ADBG_WARM_FRESH_MS 2000

/** How long adbg_session_snapshot waits before attempt number attempt + 1 (1-based), in ms. */
unsigned adbg_snapshot_backoff_ms(unsigned attempt);

/** "process" or "core" (a GDB inferior is one of them too), "memory" for tests. */
const char *adbg_session_kind_name(const struct adbg_session *s);

#endif
