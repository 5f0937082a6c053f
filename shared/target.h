// SPDX-License-Identifier: MIT
// The target: whatever holds the memory and threads of the Python program we inspect.
//
// One interface (struct adbg_target_ops) with three implementations: a live process
// (target_live.c), an ELF core file (target_core.c) and a GDB inferior (gdbext/). A fourth,
// an in-memory target made of segments (target_mem.c), serves unit tests and fuzzing.
// This module reads and, for live targets, freezes and thaws; it knows nothing of Python.
// Reads go through a per-snapshot page cache that adbg_target_freeze invalidates.
#ifndef AIODBG_TARGET_H
#define AIODBG_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

#include "error.h"

struct adbg_target;

enum adbg_target_kind {
	ADBG_TARGET_PROCESS,
	ADBG_TARGET_CORE,
	ADBG_TARGET_GDB,
	ADBG_TARGET_MEMORY,
};

/** One mapping of the target's address space, as /proc/PID/maps or NT_FILE name it. */
struct adbg_mapping {
	uint64_t start, end;
	/** offset of start in the mapped file. */
	uint64_t offset;
	uint64_t inode;
	/** "r-xp" style; cores know only what their PT_LOAD flags say. */
	char perms[5];
	/** path as the target names it; NULL for anonymous memory and pseudo files. */
	char *path;
};

/** One thread of the target. */
struct adbg_thread {
	int tid;
	/** registers are known (cores: NT_PRSTATUS; live: only while frozen). */
	bool have_regs;
	struct user_regs_struct regs;
};

struct adbg_target_ops {
	/** Required. Read exactly len bytes at addr, or fail with ADBG_ERR_FAULT. */
	ADBG_MUST_CHECK struct adbg_error *(*read)(struct adbg_target *t, uint64_t addr, void *buf,
						   size_t len);
	/**
	 * Optional. Read up to len bytes at addr, stopping at the first unreadable byte;
	 * returns how many were read (0: addr itself is unreadable, or any failure). The
	 * cache fills whole blocks with it, so that one call brings a block that a mapping
	 * ends in the middle of.
	 */
	size_t (*read_some)(struct adbg_target *t, uint64_t addr, void *buf, size_t len);
	/**
	 * read_some may run on another thread at the same time as any other operation (a
	 * process read with process_vm_readv): the cache then copies ahead of large
	 * snapshots while the target is frozen (readahead.h).
	 */
	bool read_some_threadsafe;
	/** Optional (NULL: read-only target). Write exactly len bytes at addr. */
	ADBG_MUST_CHECK struct adbg_error *(*write)(struct adbg_target *t, uint64_t addr,
						    const void *buf, size_t len);
	/** Optional (NULL: the target cannot change under us). Stop every thread. */
	ADBG_MUST_CHECK struct adbg_error *(*freeze)(struct adbg_target *t);
	/** Required when freeze is set. Resume every thread; idempotent; never fails. */
	void (*thaw)(struct adbg_target *t);
	/** Optional. Re-read mappings and the thread list (live targets). */
	ADBG_MUST_CHECK struct adbg_error *(*refresh)(struct adbg_target *t);
	/**
	 * Required. Open the file behind mapping m read-only; *ret is an fd the caller
	 * closes. Live targets find it through /proc/PID/map_files or /proc/PID/root (so
	 * containers work); cores through --sysroot / --lib-path or the recorded path.
	 */
	ADBG_MUST_CHECK struct adbg_error *(*open_file)(struct adbg_target *t,
							const struct adbg_mapping *m, int *ret);
	/** Required. Free the implementation's state (not the struct adbg_target fields). */
	void (*destroy)(struct adbg_target *t);
};

/** Read cache: direct-mapped blocks of memory (live and GDB targets). */
struct adbg_page_cache;

struct adbg_target {
	const struct adbg_target_ops *ops;
	enum adbg_target_kind kind;
	/** process id (cores: from NT_PRPSINFO), 0 when unknown. */
	int pid;
	/** the executable's path as the target names it, or NULL. */
	char *executable;
	/** command line (NUL-separated args joined by spaces), or NULL. */
	char *cmdline;
	/** address of the vDSO's ELF header (AT_SYSINFO_EHDR), 0 when unknown. */
	uint64_t vdso;
	struct adbg_mapping *maps;
	size_t nmaps;
	struct adbg_thread *threads;
	size_t nthreads;
	/** true while frozen. */
	bool frozen;
	/** threads that did not stop within the timeout during the last freeze. */
	unsigned threads_not_stopped;
	/**
	 * set by a freeze that failed because the process changed while it was being
	 * stopped (threads kept starting, another aiodbg held it for its own snapshot):
	 * the same freeze a moment later may well succeed. Cleared by every freeze.
	 */
	bool freeze_transient;
	/** how long the last freeze..thaw lasted, in milliseconds (0 for cores). */
	double stopped_ms;
	/** of stopped_ms, the time spent reading the target's memory. */
	double copy_ms;
	uint64_t freeze_started_ns;
	/** reading time of the current freeze so far, in nanoseconds. */
	uint64_t copy_ns;
	/** the core file's path (cores only). */
	char *core_path;
	struct adbg_page_cache *cache;
	/**
	 * Counts the moments what was read before may have changed (freeze, refresh, write):
	 * caches of what memory says (objects.c's classes of types) hold for one generation.
	 */
	uint64_t generation;
	/** objects.c's cache of type classes (freed with the target). */
	void *class_cache;
	/** implementation state. */
	void *impl;
};

/** Options for opening targets. Zero-initialised means "defaults". */
struct adbg_open_options {
	/** prefix for every file the target names (cores, moved files), or NULL. */
	const char *sysroot;
	/** colon-separated directories searched by file name for libraries, or NULL. */
	const char *lib_path;
	/** the executable of a core, when not where the core says, or NULL. */
	const char *executable;
};

/**
 * Attach to live process pid for reading (no thread is stopped until adbg_target_freeze).
 * Fails with ADBG_ERR_NOT_FOUND (no such process), ADBG_ERR_PERMISSION (with ptrace_scope
 * / CAP_SYS_PTRACE advice) or ADBG_ERR_OS.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_target_attach(int pid, const struct adbg_open_options *opts,
						      struct adbg_target **ret);

/**
 * Who stops and resumes a live process that another tracer owns (the GDB extension: GDB
 * is the process's tracer, and only it may stop and resume it). All three are called on
 * the thread that uses the target.
 */
struct adbg_target_control {
	/** Stop every thread (no-op when already stopped). */
	ADBG_MUST_CHECK struct adbg_error *(*stop)(void *arg);
	/** Let every thread run. */
	void (*resume)(void *arg);
	/** Write memory the way the owner does (NULL: through /proc/PID/mem). */
	ADBG_MUST_CHECK struct adbg_error *(*write)(void *arg, uint64_t addr, const void *buf,
						    size_t len);
	void *arg;
};

/**
 * Like adbg_target_attach, but never ptrace: freeze and thaw ask ctl (copied) to stop and
 * resume the process. Threads have no registers (the owner holds them).
 */
ADBG_MUST_CHECK struct adbg_error *
adbg_target_attach_controlled(int pid, const struct adbg_target_control *ctl,
			      struct adbg_target **ret);

/** Open an ELF core file. */
ADBG_MUST_CHECK struct adbg_error *adbg_target_open_core(const char *path,
							 const struct adbg_open_options *opts,
							 struct adbg_target **ret);

/**
 * Open an ELF core held in memory (for fuzzing). buf must outlive the target; files the
 * core names are looked up only if opts says where.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_target_open_core_mem(const void *buf, size_t len,
							     const struct adbg_open_options *opts,
							     struct adbg_target **ret);

/** One segment of an in-memory target: size bytes at addr. data is not copied. */
struct adbg_mem_segment {
	uint64_t addr;
	const void *data;
	size_t size;
};

/** Create an in-memory target over the given segments (copied array, borrowed data). */
ADBG_MUST_CHECK struct adbg_error *adbg_target_create_mem(const struct adbg_mem_segment *segs,
							  size_t nsegs, struct adbg_target **ret);

/** Detach (thawing if frozen) and free. NULL is a no-op. */
void adbg_target_destroy(struct adbg_target *t);

/** Read exactly len bytes at addr through the page cache. */
ADBG_MUST_CHECK struct adbg_error *adbg_target_read(struct adbg_target *t, uint64_t addr, void *buf,
						    size_t len);

/** Read a little-endian 64-bit word. */
ADBG_MUST_CHECK struct adbg_error *adbg_read_u64(struct adbg_target *t, uint64_t addr,
						 uint64_t *ret);
ADBG_MUST_CHECK struct adbg_error *adbg_read_u32(struct adbg_target *t, uint64_t addr,
						 uint32_t *ret);
ADBG_MUST_CHECK struct adbg_error *adbg_read_u8(struct adbg_target *t, uint64_t addr, uint8_t *ret);

/**
 * Read a NUL-terminated string of at most max bytes (not counting the NUL). *ret is
 * malloc'd. Fails with ADBG_ERR_BAD_DATA if no NUL is found within max bytes.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_read_cstr(struct adbg_target *t, uint64_t addr, size_t max,
						  char **ret);

/** Write (live targets only); invalidates the cached pages it touches. */
ADBG_MUST_CHECK struct adbg_error *adbg_target_write(struct adbg_target *t, uint64_t addr,
						     const void *buf, size_t len);

/**
 * Stop every thread for one coherent snapshot and drop the page cache. No-op for targets
 * that cannot change. Always pair with adbg_target_thaw; thaw also happens on destroy.
 * The library installs no signal handler: the front ends turn SIGINT (and the REPL
 * SIGTERM, SIGHUP and SIGQUIT) into the session's interrupt flag, which ends a snapshot
 * and so thaws; if the debugger dies, the kernel lets the seized threads go.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_target_freeze(struct adbg_target *t);

/** Resume every thread and record stopped_ms. Idempotent. */
void adbg_target_thaw(struct adbg_target *t);

/** Re-read mappings and threads (live targets; no-op otherwise). */
ADBG_MUST_CHECK struct adbg_error *adbg_target_refresh(struct adbg_target *t);

/** The mapping that contains addr, or NULL. */
const struct adbg_mapping *adbg_target_find_mapping(const struct adbg_target *t, uint64_t addr);

/** Open the file behind a mapping (see adbg_target_ops.open_file). */
ADBG_MUST_CHECK struct adbg_error *adbg_target_open_file(struct adbg_target *t,
							 const struct adbg_mapping *m, int *ret);

/** Monotonic clock in nanoseconds. */
uint64_t adbg_now_ns(void);

/**
 * For implementations on this machine's processes: set t->executable, t->cmdline and
 * t->vdso of process t->pid from /proc/PID/exe, /proc/PID/cmdline (arguments joined by
 * spaces) and /proc/PID/auxv.
 * Returns 0, or the errno of reading the exe link (EACCES/EPERM: no permission).
 */
int adbg_target_describe_process(struct adbg_target *t);

/**
 * The value of entry type (AT_*) of an auxiliary vector of len bytes ({a_type, a_val}
 * pairs of 8 bytes up to AT_NULL, as /proc/PID/auxv and NT_AUXV hold it). False when the
 * vector has no such entry before AT_NULL or its end.
 */
bool adbg_auxv_get(const void *auxv, size_t len, uint64_t type, uint64_t *ret);

/* For implementations: free maps/threads arrays, and the common part of destroy. */
void adbg_target_free_maps(struct adbg_target *t);
/** Allocate a target with ops and kind set, everything else zero. */
ADBG_MUST_CHECK struct adbg_error *adbg_target_alloc(const struct adbg_target_ops *ops,
						     enum adbg_target_kind kind,
						     struct adbg_target **ret);
/**
 * Copy blocks ahead of the reader on another thread (readahead.h) until turned off: done
 * by freeze and thaw on targets whose read_some is thread-safe; tests turn it on for their
 * own. Needs the cache with blocks of 64 KiB or more, and read_some.
 */
void adbg_target_readahead(struct adbg_target *t, bool on);

/** Blocks the readahead of the current freeze copied, and how many the reader took. */
void adbg_target_readahead_stats(const struct adbg_target *t, uint64_t *copied, uint64_t *taken);

/**
 * Enable the read cache: 2^log2_slots blocks of 2^log2_block bytes (12 ≤ log2_block ≤ 24,
 * log2_slots ≥ 2), in sets of 4 (a block may be kept in any slot of its set).
 * Large blocks pay where reads are cheap in bulk and dear one by one (process_vm_readv);
 * the cache memory asks for transparent huge pages, so filling it does not fault 4 KiB
 * at a time. Enabling it again replaces the cache (e.g. with smaller blocks for a
 * sampler that reads little per stop).
 */
ADBG_MUST_CHECK struct adbg_error *
adbg_target_enable_cache(struct adbg_target *t, unsigned log2_block, unsigned log2_slots);

#endif
