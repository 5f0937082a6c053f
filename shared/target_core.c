// SPDX-License-Identifier: MIT
// The ELF core-file target: memory from the PT_LOAD segments, and from the files NT_FILE
// names for the bytes the core left out; threads from NT_PRSTATUS, pid and command line
// from NT_PRPSINFO.
//
// Formats: elf(5) and Linux fs/binfmt_elf.c (elf_core_dump, fill_files_note,
// fill_prstatus, fill_psinfo). GDB's gcore writes the same notes, but leaves out file
// mappings it considers unmodified (no PT_LOAD at all), so reading a core often means
// reading the libraries it names. Those are found through --sysroot / --lib-path, checked
// against the build id the core kept (the first page of each mapped ELF file), and mapped
// lazily: opening a core never fails because a library moved.
//
// Everything in the core is untrusted: offsets are checked against the file, counts
// against the bytes that hold them, and overlapping segments or mappings are clipped so
// that lookups stay binary searches over sorted, disjoint ranges.
#include "elffile.h"
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

// Caps on what a core may declare. Real cores are far below them; they bound the memory
// a corrupt or hostile core can make us allocate (each is also bounded by the file size).
#define MAX_SEGMENTS (1u << 22)
#define MAX_FILE_ENTRIES (1u << 22)
#define MAX_THREADS (1u << 20)
// NT_FILE's page size: the kernel writes PAGE_SIZE; anything above 1 GiB is corrupt.
#define MAX_PAGE_SIZE (1ull << 30)
// How much of a mapped file's first page we look at for its build id (the kernel dumps
// one page; the ELF header, program headers and .note.gnu.build-id sit at its start).
#define BUILD_ID_WINDOW (64u * 1024)
#define MAX_BUILD_ID 64
// AT_EXECFN is a path on the initial stack.
#define MAX_EXECFN PATH_MAX

_Static_assert(sizeof(elf_gregset_t) == sizeof(struct user_regs_struct),
	       "NT_PRSTATUS pr_reg must be a struct user_regs_struct");

/** One PT_LOAD: memory [start, end), of which [start, file_end) is in the core. */
struct core_seg {
	uint64_t start, end, file_end;
	/** core file offset of start. */
	uint64_t offset;
	uint32_t flags;
	/** index in the program header table, to keep qsort deterministic. */
	size_t index;
};

/** One distinct file named by NT_FILE, found on disk lazily. */
struct core_file {
	/** the path as the core names it. */
	char *path;
	/** address where file offset 0 is mapped (its ELF header may be in the core). */
	uint64_t first_page;
	bool have_first_page;
	/** lookup done (successful or not). */
	bool resolved;
	/** the file we found and mapped (found_path != NULL means found). */
	char *found_path;
	dev_t dev;
	ino_t ino;
	const unsigned char *data;
	size_t len;
	/** when not found: what we saw, for the message (e.g. a build-id mismatch). */
	char *why;
};

/** One NT_FILE entry: file offset `offset` of files[file] is mapped at [start, end). */
struct core_fmap {
	uint64_t start, end, offset;
	size_t file;
};

struct core_impl {
	/**
	 * The whole core: while it is parsed (headers, notes); afterwards only for in-memory
	 * cores. A core file's memory is read with pread (fd), through the target's block
	 * cache: a mapping would count every page a snapshot touched in our RSS (1.5 GB
	 * for a million tasks).
	 */
	const unsigned char *data;
	size_t len;
	/** data is an mmap of the core file (else borrowed, or owned_copy). */
	bool mapped;
	/** the core file, or -1 (in-memory cores). */
	int fd;
	void *owned_copy;
	/** how messages name the core: its path, or "the core" for in-memory cores. */
	char *name;
	struct core_seg *segs;
	size_t nsegs;
	struct core_fmap *fmaps;
	size_t nfmaps;
	/** sorted by path. */
	struct core_file *files;
	size_t nfiles;
	char *sysroot;
	char *lib_path;
	/** --executable, and which file it replaces. */
	char *exe_override;
	size_t exe_file;
	bool have_exe_file;
	/** try the recorded paths themselves (not for in-memory cores: fuzz inputs). */
	bool try_recorded_paths;
};

// ---------------------------------------------------------------------------------------
// lookups over sorted, disjoint ranges

/** The segment containing addr, or NULL; *next_ret is the index of the first segment after addr. */
static const struct core_seg *find_seg(const struct core_impl *ci, uint64_t addr, size_t *next_ret)
{
	size_t lo = 0, hi = ci->nsegs;

	// First segment whose end is above addr.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ci->segs[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ci->nsegs && ci->segs[lo].start <= addr) {
		*next_ret = lo + 1;
		return &ci->segs[lo];
	}
	*next_ret = lo;
	return NULL;
}

static const struct core_fmap *find_fmap(const struct core_impl *ci, uint64_t addr)
{
	size_t lo = 0, hi = ci->nfmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ci->fmaps[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ci->nfmaps && ci->fmaps[lo].start <= addr)
		return &ci->fmaps[lo];
	return NULL;
}

static int cmp_file_path(const void *a, const void *b)
{
	return strcmp(((const struct core_file *)a)->path, ((const struct core_file *)b)->path);
}

static struct core_file *find_file(const struct core_impl *ci, const char *path)
{
	struct core_file key = {.path = (char *)path};

	if (!ci->nfiles)
		return NULL;
	return bsearch(&key, ci->files, ci->nfiles, sizeof(*ci->files), cmp_file_path);
}

// ---------------------------------------------------------------------------------------
// finding the files the core names

/*
 * Copy n bytes at offset off of the core (checked to be inside it when it was opened);
 * false when the file no longer holds them.
 */
static bool core_bytes(const struct core_impl *ci, uint64_t off, void *buf, size_t n)
{
	unsigned char *out = buf;

	if (ci->fd < 0) {
		memcpy(buf, ci->data + off, n);
		return true;
	}
	while (n) {
		ssize_t got = pread(ci->fd, out, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		out += got;
		off += (uint64_t)got;
		n -= (size_t)got;
	}
	return true;
}

/**
 * Copy up to max contiguous bytes that the core itself holds at addr (never from files).
 * Returns how many were copied.
 */
static size_t core_only_bytes(const struct core_impl *ci, uint64_t addr, void *buf, size_t max)
{
	const struct core_seg *s;
	size_t next, n;

	s = find_seg(ci, addr, &next);
	if (!s || addr >= s->file_end)
		return 0;
	n = s->file_end - addr < max ? (size_t)(s->file_end - addr) : max;
	return core_bytes(ci, s->offset + (addr - s->start), buf, n) ? n : 0;
}

/** The GNU build id of an ELF image (copied into id), or 0 when it has none. */
static size_t image_build_id(const void *buf, size_t len, unsigned char id[MAX_BUILD_ID])
{
	const unsigned char *p;
	struct adbg_elf *elf;
	struct adbg_error *err;
	size_t n = 0;

	err = adbg_elf_open_mem(buf, len, &elf);
	if (err) {
		// Not an ELF file (fonts, locale archives...): nothing to compare.
		adbg_error_destroy(err);
		return 0;
	}
	p = adbg_elf_build_id(elf, &n);
	if (!p || n == 0 || n > MAX_BUILD_ID)
		n = 0;
	else
		memcpy(id, p, n);
	adbg_elf_destroy(elf);
	return n;
}

/** The build id recorded in the core for file f (from its first page), or 0. */
static size_t core_build_id(const struct core_impl *ci, const struct core_file *f,
			    unsigned char id[MAX_BUILD_ID])
{
	unsigned char *page;
	size_t n, idlen;

	if (!f->have_first_page)
		return 0;
	// A private, aligned copy: the segment may sit at any offset of the core, and
	// elffile reads headers in place.
	page = malloc(BUILD_ID_WINDOW);
	if (!page)
		return 0;
	n = core_only_bytes(ci, f->first_page, page, BUILD_ID_WINDOW);
	idlen = n >= sizeof(Elf64_Ehdr) ? image_build_id(page, n, id) : 0;
	free(page);
	return idlen;
}

static char *path_join(const char *dir, const char *name)
{
	char *s;
	size_t dl = strlen(dir);

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (asprintf(&s, "%.*s%s%s", (int)dl, dir, name[0] == '/' ? "" : "/", name) < 0)
		return NULL;
	return s;
}

/**
 * Try one candidate for file f: open, map, compare build ids. On success f is resolved
 * and true is returned. A mismatch is remembered in f->why.
 */
static bool try_candidate(struct core_file *f, const char *cand, const unsigned char *want,
			  size_t want_len)
{
	unsigned char id[MAX_BUILD_ID];
	struct stat st;
	void *p = NULL;
	size_t idlen;
	int fd;

	if (!cand)
		return false;
	// O_NONBLOCK: the path may now be a FIFO or a device, and open must not wait; only
	// regular files are used (the flag means nothing for them).
	fd = open(cand, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return false;
	}
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			close(fd);
			return false;
		}
	}
	close(fd);
	// A file with a different build id is another build of the library (a host
	// library that differs from the one in the container the core came from): its
	// bytes would be plausible and wrong.
	if (want_len && p) {
		idlen = image_build_id(p, (size_t)st.st_size, id);
		if (idlen && (idlen != want_len || memcmp(id, want, idlen) != 0)) {
			if (!f->why && asprintf(&f->why, "%s has a different build id", cand) < 0)
				f->why = NULL;
			munmap(p, (size_t)st.st_size);
			return false;
		}
	}
	f->found_path = strdup(cand);
	if (!f->found_path) {
		if (p)
			munmap(p, (size_t)st.st_size);
		return false;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->data = p;
	f->len = p ? (size_t)st.st_size : 0;
	return true;
}

static ADBG_MUST_CHECK struct adbg_error *not_found_error(const struct core_file *f)
{
	if (f->why)
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "the core names %s, which cannot be found (%s): pass "
					 "--sysroot DIR or --lib-path DIRS",
					 f->path, f->why);
	return adbg_error_create(ADBG_ERR_NOT_FOUND,
				 "the core names %s, which cannot be found: pass --sysroot DIR "
				 "or --lib-path DIRS",
				 f->path);
}

/**
 * Find and map the file behind files[idx], once: --executable (for the executable),
 * sysroot + path, each --lib-path directory + basename, then the path itself.
 */
static ADBG_MUST_CHECK struct adbg_error *resolve_file(struct core_impl *ci, size_t idx)
{
	struct core_file *f = &ci->files[idx];
	unsigned char want[MAX_BUILD_ID];
	const char *base;
	size_t want_len, plen;
	char *clean, *cand;
	bool ok = false;

	if (f->resolved)
		return f->found_path ? NULL : not_found_error(f);
	f->resolved = true;

	// The kernel names an unlinked file "PATH (deleted)" (fs/d_path.c); a file at PATH
	// now is at best a newer version, which the build id check then catches.
	plen = strlen(f->path);
	if (plen > 10 && strcmp(f->path + plen - 10, " (deleted)") == 0)
		plen -= 10;
	clean = strndup(f->path, plen);
	if (!clean)
		return &adbg_error_nomem;
	base = strrchr(clean, '/');
	base = base ? base + 1 : clean;
	want_len = core_build_id(ci, f, want);

	if (ci->exe_override && ci->have_exe_file && idx == ci->exe_file)
		ok = try_candidate(f, ci->exe_override, want, want_len);
	if (!ok && ci->sysroot && clean[0]) {
		cand = path_join(ci->sysroot, clean);
		ok = try_candidate(f, cand, want, want_len);
		free(cand);
	}
	if (!ok && ci->lib_path && base[0]) {
		const char *dir = ci->lib_path;

		// The loop advances through the option string, so it is bounded by its length.
		while (!ok && *dir) {
			size_t dl = strcspn(dir, ":");

			if (dl) {
				char *d = strndup(dir, dl);

				cand = d ? path_join(d, base) : NULL;
				ok = try_candidate(f, cand, want, want_len);
				free(cand);
				free(d);
			}
			dir += dl;
			if (*dir == ':')
				dir++;
		}
	}
	if (!ok && ci->try_recorded_paths && clean[0] == '/')
		ok = try_candidate(f, clean, want, want_len);
	free(clean);
	return ok ? NULL : not_found_error(f);
}

// ---------------------------------------------------------------------------------------
// the ops

/* Copy len bytes at addr; *done counts those copied before an error. */
static ADBG_MUST_CHECK struct adbg_error *core_copy(struct adbg_target *t, uint64_t addr, void *buf,
						    size_t len, size_t *done)
{
	struct core_impl *ci = t->impl;
	unsigned char *out = buf;

	*done = 0;

	// Each pass copies one run: from one segment's bytes in the core, or from one
	// mapped file for the bytes the core left out. Core bytes win where both exist:
	// they are what the process had in memory (relocations, RELRO, patched code).
	while (len) {
		const struct core_seg *s;
		const struct core_fmap *fm;
		struct core_file *f;
		struct adbg_error *err;
		uint64_t limit, foff;
		size_t next, n;

		s = find_seg(ci, addr, &next);
		if (s && addr < s->file_end) {
			n = s->file_end - addr < len ? (size_t)(s->file_end - addr) : len;
			if (!core_bytes(ci, s->offset + (addr - s->start), out, n))
				return adbg_error_fault(addr,
							"address %#" PRIx64
							": %s is shorter than when it was opened",
							addr, ci->name);
			out += n;
			addr += n;
			len -= n;
			*done += n;
			continue;
		}
		fm = find_fmap(ci, addr);
		if (!fm)
			return adbg_error_fault(addr,
						"address %#" PRIx64
						" is not in the core nor in a mapped file",
						addr);
		// Stop this run where core bytes start again.
		limit = fm->end - addr;
		if (s && s->end - addr < limit)
			limit = s->end - addr;
		if (!s && next < ci->nsegs && ci->segs[next].start - addr < limit)
			limit = ci->segs[next].start - addr;
		f = &ci->files[fm->file];
		err = resolve_file(ci, fm->file);
		if (err && !adbg_error_is(err, ADBG_ERR_NOMEM)) {
			// A fault, like any unreadable byte (readers treat NOT_FOUND as "no such
			// thing" and would stay silent), but saying which file to provide.
			struct adbg_error *fault = adbg_error_fault(
				addr, "reading %#" PRIx64 ": %s", addr, err->message);

			adbg_error_destroy(err);
			return fault;
		}
		if (err)
			return err;
		// fm->offset + (addr - fm->start) was checked not to wrap when parsing.
		foff = fm->offset + (addr - fm->start);
		if (foff >= f->len)
			return adbg_error_fault(
				addr, "address %#" PRIx64 " is beyond the end of %s (%zu bytes)",
				addr, f->found_path, f->len);
		if (f->len - foff < limit)
			limit = f->len - foff;
		n = limit < len ? (size_t)limit : len;
		memcpy(out, f->data + foff, n);
		out += n;
		addr += n;
		len -= n;
		*done += n;
	}
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *core_read(struct adbg_target *t, uint64_t addr, void *buf,
						    size_t len)
{
	size_t done;

	return core_copy(t, addr, buf, len, &done);
}

/* For the block cache: as much of [addr, addr + len) as is readable from its start. */
static size_t core_read_some(struct adbg_target *t, uint64_t addr, void *buf, size_t len)
{
	size_t done;
	struct adbg_error *err = core_copy(t, addr, buf, len, &done);

	adbg_error_destroy(err);
	return done;
}

static ADBG_MUST_CHECK struct adbg_error *core_open_file(struct adbg_target *t,
							 const struct adbg_mapping *m, int *ret)
{
	struct core_impl *ci = t->impl;
	struct core_file *f = m->path ? find_file(ci, m->path) : NULL;
	struct adbg_error *err;
	struct stat st;
	int fd;

	if (!m->path || !f)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "the core does not map %s",
					 m->path ? m->path : "(anonymous memory)");
	err = resolve_file(ci, (size_t)(f - ci->files));
	if (err)
		return err;
	// We keep the mapping, not the descriptor (a core may name thousands of files);
	// reopen the file we checked, and make sure it is still that file.
	fd = open(f->found_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return adbg_error_os(errno, "cannot open %s (for %s, named by the core)",
				     f->found_path, f->path);
	if (fstat(fd, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino) {
		close(fd);
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "%s changed while aiodbg was reading it", f->found_path);
	}
	*ret = fd;
	return NULL;
}

static void core_impl_free(struct core_impl *ci)
{
	if (!ci)
		return;
	for (size_t i = 0; i < ci->nfiles; i++) {
		struct core_file *f = &ci->files[i];

		if (f->data)
			munmap((void *)f->data, f->len);
		free(f->path);
		free(f->found_path);
		free(f->why);
	}
	free(ci->files);
	free(ci->fmaps);
	free(ci->segs);
	if (ci->mapped)
		munmap((void *)ci->data, ci->len);
	if (ci->fd >= 0)
		close(ci->fd);
	free(ci->owned_copy);
	free(ci->name);
	free(ci->sysroot);
	free(ci->lib_path);
	free(ci->exe_override);
	free(ci);
}

static void core_destroy(struct adbg_target *t)
{
	core_impl_free(t->impl);
	t->impl = NULL;
}

static const struct adbg_target_ops core_ops = {
	.read = core_read,
	.read_some = core_read_some,
	.open_file = core_open_file,
	.destroy = core_destroy,
};

// ---------------------------------------------------------------------------------------
// parsing

/** What the notes told us, before it becomes target fields. */
struct core_notes {
	struct adbg_target *t;
	size_t threads_cap;
	const unsigned char *prpsinfo;
	size_t prpsinfo_len;
	const unsigned char *auxv;
	size_t auxv_len;
	const unsigned char *nt_file;
	size_t nt_file_len;
};

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static ADBG_MUST_CHECK struct adbg_error *note_cb(void *arg, uint32_t type, const char *name,
						  const unsigned char *desc, size_t len)
{
	struct core_notes *cn = arg;
	struct adbg_target *t = cn->t;

	// The process notes are all owned by "CORE" (fs/binfmt_elf.c); "LINUX" notes hold
	// extended register sets we do not need, and their types overlap.
	if (strcmp(name, "CORE") != 0)
		return NULL;
	switch (type) {
	case NT_PRSTATUS: {
		struct adbg_thread *th;
		int32_t pid;

		if (len < offsetof(struct elf_prstatus, pr_reg) + sizeof(elf_gregset_t))
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "NT_PRSTATUS note of %zu bytes, expected %zu", len,
						 sizeof(struct elf_prstatus));
		if (t->nthreads == cn->threads_cap) {
			size_t cap = cn->threads_cap ? 2 * cn->threads_cap : 16;

			if (t->nthreads >= MAX_THREADS)
				return adbg_error_create(ADBG_ERR_BAD_DATA,
							 "more than %u NT_PRSTATUS notes",
							 MAX_THREADS);
			th = realloc(t->threads, cap * sizeof(*th));
			if (!th)
				return &adbg_error_nomem;
			t->threads = th;
			cn->threads_cap = cap;
		}
		th = &t->threads[t->nthreads++];
		memset(th, 0, sizeof(*th));
		memcpy(&pid, desc + offsetof(struct elf_prstatus, pr_pid), sizeof(pid));
		th->tid = pid;
		memcpy(&th->regs, desc + offsetof(struct elf_prstatus, pr_reg), sizeof(th->regs));
		th->have_regs = true;
		break;
	}
	case NT_PRPSINFO:
		if (!cn->prpsinfo) {
			cn->prpsinfo = desc;
			cn->prpsinfo_len = len;
		}
		break;
	case NT_AUXV:
		if (!cn->auxv) {
			cn->auxv = desc;
			cn->auxv_len = len;
		}
		break;
	case NT_FILE:
		if (!cn->nt_file) {
			cn->nt_file = desc;
			cn->nt_file_len = len;
		}
		break;
	default:
		break;
	}
	return NULL;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct core_seg *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_fmap(const void *a, const void *b)
{
	const struct core_fmap *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	// Ties: keep NT_FILE order (file indexes are assigned before sorting by path, so
	// compare ends, then files; any total order will do).
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/** The PT_LOAD segments, sorted, with overlaps clipped away (a real core has none). */
static ADBG_MUST_CHECK struct adbg_error *build_segments(struct core_impl *ci,
							 const struct adbg_elf *elf)
{
	size_t phnum = adbg_elf_phnum(elf), n = 0, out = 0;

	for (size_t i = 0; i < phnum; i++)
		if (adbg_elf_phdr(elf, i)->p_type == PT_LOAD)
			n++;
	if (n > MAX_SEGMENTS)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s has %zu PT_LOAD segments (more than %u)", ci->name, n,
					 MAX_SEGMENTS);
	ci->segs = calloc(n ? n : 1, sizeof(*ci->segs));
	if (!ci->segs)
		return &adbg_error_nomem;
	for (size_t i = 0; i < phnum; i++) {
		const Elf64_Phdr *ph = adbg_elf_phdr(elf, i);
		struct core_seg *s = &ci->segs[out];
		uint64_t memsz = ph->p_memsz, filesz = ph->p_filesz;

		if (ph->p_type != PT_LOAD)
			continue;
		// The kernel writes p_filesz <= p_memsz; if not, the bytes are there anyway.
		if (filesz > memsz)
			memsz = filesz;
		if (memsz == 0)
			continue;
		// Keep end representable: a segment may not wrap past 2^64.
		if (memsz > UINT64_MAX - ph->p_vaddr)
			memsz = UINT64_MAX - ph->p_vaddr;
		if (filesz > memsz)
			filesz = memsz;
		if (memsz == 0)
			continue;
		s->start = ph->p_vaddr;
		s->end = ph->p_vaddr + memsz;
		s->file_end = ph->p_vaddr + filesz;
		s->offset = ph->p_offset;
		s->flags = ph->p_flags;
		s->index = i;
		out++;
	}
	qsort(ci->segs, out, sizeof(*ci->segs), cmp_seg);
	n = out;
	out = 0;
	for (size_t i = 0; i < n; i++) {
		struct core_seg s = ci->segs[i];

		if (out) {
			uint64_t prev_end = ci->segs[out - 1].end;

			if (s.end <= prev_end)
				continue;
			if (s.start < prev_end) {
				uint64_t cut = prev_end - s.start;

				// The core bytes kept, [start + cut, file_end), are a tail of
				// the ones check_extent found inside the file.
				s.start = prev_end;
				s.offset += cut;
				if (s.file_end < s.start)
					s.file_end = s.start;
			}
		}
		ci->segs[out++] = s;
	}
	ci->nsegs = out;
	return NULL;
}

struct path_index {
	char *path;
	size_t index;
};

static int cmp_path_index(const void *a, const void *b)
{
	const struct path_index *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/** Parse NT_FILE (fs/binfmt_elf.c: fill_files_note) into fmaps and files. */
static ADBG_MUST_CHECK struct adbg_error *parse_nt_file(struct core_impl *ci,
							const unsigned char *d, size_t len)
{
	uint64_t count, page_size;
	const unsigned char *names, *end = d + len;
	size_t n, out;

	// Layout: count, page_size, count * {start, end, file_ofs (in pages)}, then count
	// NUL-terminated names, all longs (8 bytes on x86-64).
	if (len < 16)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "NT_FILE note of %zu bytes is too short", len);
	count = get_u64(d);
	page_size = get_u64(d + 8);
	if (count > (len - 16) / 24 || count > MAX_FILE_ENTRIES)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "NT_FILE note claims %" PRIu64 " mappings in %zu bytes",
					 count, len);
	if (page_size == 0 || page_size > MAX_PAGE_SIZE || (page_size & (page_size - 1)))
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "NT_FILE page size %" PRIu64
					 " is not a power of two up to 1 GiB",
					 page_size);
	n = (size_t)count;
	ci->fmaps = calloc(n ? n : 1, sizeof(*ci->fmaps));
	ci->files = calloc(n ? n : 1, sizeof(*ci->files));
	if (!ci->fmaps || !ci->files)
		return &adbg_error_nomem;
	names = d + 16 + 24 * n;
	out = 0;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *e = d + 16 + 24 * i;
		const unsigned char *nul;
		struct core_fmap *fm = &ci->fmaps[out];
		uint64_t pgoff = get_u64(e + 16);

		nul = names < end ? memchr(names, '\0', (size_t)(end - names)) : NULL;
		if (!nul)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "NT_FILE note: name of mapping %zu is missing", i);
		// Each entry gets its own file slot for now; duplicates merge below.
		ci->files[out].path = strndup((const char *)names, (size_t)(nul - names));
		if (!ci->files[out].path)
			return &adbg_error_nomem;
		ci->nfiles = out + 1;
		names = nul + 1;
		fm->start = get_u64(e);
		fm->end = get_u64(e + 8);
		// Entries that cannot describe memory are dropped, not fatal.
		if (fm->start >= fm->end || pgoff > UINT64_MAX / page_size ||
		    pgoff * page_size > UINT64_MAX - (fm->end - fm->start) ||
		    !ci->files[out].path[0]) {
			free(ci->files[out].path);
			ci->files[out].path = NULL;
			ci->nfiles = out;
			continue;
		}
		fm->offset = pgoff * page_size;
		fm->file = out;
		out++;
	}
	ci->nfmaps = out;
	ci->nfiles = out;

	// One core_file per distinct path, sorted by path: a library is mapped four or
	// five times and must be found (and mapped) once.
	if (out) {
		size_t *remap = malloc(out * sizeof(*remap));
		struct path_index *sorted = malloc(out * sizeof(*sorted));
		size_t nf = 0;

		if (!remap || !sorted) {
			free(remap);
			free(sorted);
			return &adbg_error_nomem;
		}
		for (size_t i = 0; i < out; i++) {
			sorted[i].path = ci->files[i].path;
			sorted[i].index = i;
		}
		qsort(sorted, out, sizeof(*sorted), cmp_path_index);
		// The paths move from entry slots to file slots; files[] is rewritten in place
		// (nf <= i at every step, and sorted[] holds every pointer meanwhile).
		for (size_t i = 0; i < out; i++) {
			if (nf && strcmp(sorted[i].path, ci->files[nf - 1].path) == 0) {
				free(sorted[i].path);
			} else {
				memset(&ci->files[nf], 0, sizeof(ci->files[nf]));
				ci->files[nf++].path = sorted[i].path;
			}
			remap[sorted[i].index] = nf - 1;
		}
		for (size_t i = 0; i < out; i++)
			ci->fmaps[i].file = remap[ci->fmaps[i].file];
		ci->nfiles = nf;
		free(remap);
		free(sorted);
	}

	// Sort by address and clip overlaps (which only a corrupt note has).
	qsort(ci->fmaps, ci->nfmaps, sizeof(*ci->fmaps), cmp_fmap);
	out = 0;
	for (size_t i = 0; i < ci->nfmaps; i++) {
		struct core_fmap fm = ci->fmaps[i];

		if (out) {
			uint64_t prev_end = ci->fmaps[out - 1].end;

			if (fm.end <= prev_end)
				continue;
			if (fm.start < prev_end) {
				fm.offset += prev_end - fm.start;
				fm.start = prev_end;
			}
		}
		ci->fmaps[out++] = fm;
	}
	ci->nfmaps = out;
	for (size_t i = 0; i < ci->nfmaps; i++) {
		struct core_file *f = &ci->files[ci->fmaps[i].file];

		if (ci->fmaps[i].offset == 0 && !f->have_first_page) {
			f->first_page = ci->fmaps[i].start;
			f->have_first_page = true;
		}
	}
	return NULL;
}

/**
 * t->maps: every NT_FILE mapping and every PT_LOAD, split where they partly overlap, so
 * that anonymous memory is findable too. Perms come from the PT_LOAD; a file mapping
 * the core has no segment for (gcore leaves unmodified ones out) gets "???p".
 */
static ADBG_MUST_CHECK struct adbg_error *build_maps(struct adbg_target *t,
						     const struct core_impl *ci)
{
	size_t nb = 0, si = 0, fi = 0, nm = 0;
	uint64_t *b;

	b = malloc((2 * (ci->nsegs + ci->nfmaps) + 1) * sizeof(*b));
	if (!b)
		return &adbg_error_nomem;
	for (size_t i = 0; i < ci->nsegs; i++) {
		b[nb++] = ci->segs[i].start;
		b[nb++] = ci->segs[i].end;
	}
	for (size_t i = 0; i < ci->nfmaps; i++) {
		b[nb++] = ci->fmaps[i].start;
		b[nb++] = ci->fmaps[i].end;
	}
	qsort(b, nb, sizeof(*b), cmp_u64);
	t->maps = calloc(nb ? nb : 1, sizeof(*t->maps));
	if (!t->maps) {
		free(b);
		return &adbg_error_nomem;
	}
	// Between two consecutive boundaries, at most one segment and one file mapping
	// apply (both lists are disjoint), and each applies to the whole interval.
	for (size_t k = 0; k + 1 < nb; k++) {
		uint64_t lo = b[k], hi = b[k + 1];
		const struct core_seg *s = NULL;
		const struct core_fmap *fm = NULL;
		struct adbg_mapping *m;

		if (lo == hi)
			continue;
		while (si < ci->nsegs && ci->segs[si].end <= lo)
			si++;
		while (fi < ci->nfmaps && ci->fmaps[fi].end <= lo)
			fi++;
		if (si < ci->nsegs && ci->segs[si].start <= lo)
			s = &ci->segs[si];
		if (fi < ci->nfmaps && ci->fmaps[fi].start <= lo)
			fm = &ci->fmaps[fi];
		if (!s && !fm)
			continue;
		m = &t->maps[nm];
		m->start = lo;
		m->end = hi;
		if (s) {
			m->perms[0] = s->flags & PF_R ? 'r' : '-';
			m->perms[1] = s->flags & PF_W ? 'w' : '-';
			m->perms[2] = s->flags & PF_X ? 'x' : '-';
		} else {
			memcpy(m->perms, "???", 3);
		}
		m->perms[3] = 'p';
		m->perms[4] = '\0';
		if (fm) {
			m->offset = fm->offset + (lo - fm->start);
			m->path = strdup(ci->files[fm->file].path);
			if (!m->path) {
				t->nmaps = nm;
				free(b);
				return &adbg_error_nomem;
			}
		}
		nm++;
	}
	t->nmaps = nm;
	free(b);
	return NULL;
}

/** The executable: the file mapping AT_PHDR, else AT_EXECFN, else pr_fname's match. */
static ADBG_MUST_CHECK struct adbg_error *find_executable(struct adbg_target *t,
							  struct core_impl *ci,
							  const struct core_notes *cn, char **ret)
{
	uint64_t phdr = 0, execfn = 0;
	bool have_phdr = false;
	const struct core_fmap *fm;

	*ret = NULL;
	// Auxiliary vector (fs/binfmt_elf.c: create_elf_tables).
	have_phdr = adbg_auxv_get(cn->auxv, cn->auxv_len, AT_PHDR, &phdr);
	if (!adbg_auxv_get(cn->auxv, cn->auxv_len, AT_EXECFN, &execfn))
		execfn = 0;
	if (!adbg_auxv_get(cn->auxv, cn->auxv_len, AT_SYSINFO_EHDR, &t->vdso))
		t->vdso = 0;
	// The NT_FILE path is the one the kernel resolved (symlinks followed), the same one
	// /proc/PID/exe and the mappings show; AT_EXECFN is what execve was given.
	fm = have_phdr ? find_fmap(ci, phdr) : NULL;
	if (fm) {
		ci->exe_file = fm->file;
		ci->have_exe_file = true;
		*ret = strdup(ci->files[fm->file].path);
		return *ret ? NULL : &adbg_error_nomem;
	}
	if (execfn) {
		char *s = NULL;
		struct adbg_error *err = adbg_read_cstr(t, execfn, MAX_EXECFN, &s);

		if (!err && s[0] == '/') {
			*ret = s;
			return NULL;
		}
		free(s);
		adbg_error_destroy(err);
	}
	// pr_fname: the first 15 bytes of the executable's basename (fs/binfmt_elf.c).
	if (cn->prpsinfo && cn->prpsinfo_len >= offsetof(struct elf_prpsinfo, pr_fname) + 16) {
		char fname[17] = {0};
		size_t fl;

		memcpy(fname, cn->prpsinfo + offsetof(struct elf_prpsinfo, pr_fname), 16);
		fl = strlen(fname);
		for (size_t i = 0; fl && i < ci->nfmaps; i++) {
			const char *p = ci->files[ci->fmaps[i].file].path;
			const char *base = strrchr(p, '/');

			base = base ? base + 1 : p;
			if (ci->fmaps[i].offset == 0 && strncmp(base, fname, fl) == 0) {
				ci->exe_file = ci->fmaps[i].file;
				ci->have_exe_file = true;
				*ret = strdup(p);
				return *ret ? NULL : &adbg_error_nomem;
			}
		}
	}
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *process_info(struct adbg_target *t,
						       const struct core_notes *cn)
{
	const size_t args_off = offsetof(struct elf_prpsinfo, pr_psargs);
	const size_t args_len = sizeof(((struct elf_prpsinfo *)0)->pr_psargs);
	char args[sizeof(((struct elf_prpsinfo *)0)->pr_psargs) + 1] = {0};
	size_t n;
	int32_t pid;

	if (!cn->prpsinfo)
		return NULL;
	if (cn->prpsinfo_len < args_off + args_len)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "NT_PRPSINFO note of %zu bytes, expected %zu",
					 cn->prpsinfo_len, sizeof(struct elf_prpsinfo));
	memcpy(&pid, cn->prpsinfo + offsetof(struct elf_prpsinfo, pr_pid), sizeof(pid));
	t->pid = pid > 0 ? pid : 0;
	// pr_psargs: the start of the argument area with NULs turned into spaces, hence
	// the trailing space (fs/binfmt_elf.c: fill_psinfo).
	memcpy(args, cn->prpsinfo + args_off, args_len);
	n = strlen(args);
	while (n && args[n - 1] == ' ')
		args[--n] = '\0';
	if (n) {
		t->cmdline = strdup(args);
		if (!t->cmdline)
			return &adbg_error_nomem;
	}
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *truncated(const struct core_impl *ci, uint64_t need)
{
	return adbg_error_create(ADBG_ERR_BAD_DATA,
				 "%s is truncated: %zu bytes, segments need %" PRIu64, ci->name,
				 ci->len, need);
}

/** Check the ELF header says "x86-64 core" before anything else reads it. */
static ADBG_MUST_CHECK struct adbg_error *check_header(const struct core_impl *ci)
{
	const unsigned char *d = ci->data;
	uint16_t type, machine;

	if (ci->len < SELFMAG || memcmp(d, ELFMAG, SELFMAG) != 0)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "%s is not an ELF core file", ci->name);
	if (ci->len < 20)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s is truncated: %zu bytes, the ELF header needs %zu",
					 ci->name, ci->len, sizeof(Elf64_Ehdr));
	// e_type and e_machine are at the same offsets in both classes.
	if (d[EI_DATA] == ELFDATA2MSB) {
		type = (uint16_t)(d[16] << 8 | d[17]);
		machine = (uint16_t)(d[18] << 8 | d[19]);
	} else {
		type = (uint16_t)(d[16] | d[17] << 8);
		machine = (uint16_t)(d[18] | d[19] << 8);
	}
	switch (type) {
	case ET_CORE:
		break;
	case ET_EXEC:
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s is an ELF executable, not a core file", ci->name);
	case ET_DYN:
		return adbg_error_create(
			ADBG_ERR_BAD_DATA,
			"%s is an ELF shared object or PIE executable, not a core file", ci->name);
	case ET_REL:
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s is an ELF relocatable object, not a core file",
					 ci->name);
	default:
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s is not an ELF core file (ELF type %u)", ci->name,
					 type);
	}
	if (d[EI_CLASS] != ELFCLASS64)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "%s is a 32-bit core; aiodbg reads x86-64 cores only",
					 ci->name);
	if (d[EI_DATA] != ELFDATA2LSB)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "%s is a big-endian core; aiodbg reads x86-64 cores only",
					 ci->name);
	if (machine != EM_X86_64)
		return adbg_error_create(
			ADBG_ERR_UNSUPPORTED,
			"%s is a core for ELF machine %u; aiodbg reads x86-64 cores only", ci->name,
			machine);
	if (ci->len < sizeof(Elf64_Ehdr))
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s is truncated: %zu bytes, the ELF header needs %zu",
					 ci->name, ci->len, sizeof(Elf64_Ehdr));
	return NULL;
}

/** Every program header, note and PT_LOAD byte must be inside the file. */
static ADBG_MUST_CHECK struct adbg_error *check_extent(const struct core_impl *ci)
{
	Elf64_Ehdr eh;
	uint64_t need = 0;
	struct adbg_error *err;
	size_t phnum;

	memcpy(&eh, ci->data, sizeof(eh));
	err = adbg_elf_header_phnum(ci->data, ci->len, &phnum);
	if (err)
		return adbg_error_wrap(err, "%s", ci->name);
	if (phnum == 0)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "%s has no program headers", ci->name);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s: program headers of %u bytes, expected %zu", ci->name,
					 eh.e_phentsize, sizeof(Elf64_Phdr));
	// phnum < 2^32, so the product fits; the sum may not. elffile reads the table in
	// place, so it must be aligned (it always is: it follows the 64-byte header).
	if (eh.e_phoff > UINT64_MAX - (uint64_t)phnum * sizeof(Elf64_Phdr) || eh.e_phoff % 8)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s: program header offset %#" PRIx64 " is corrupt",
					 ci->name, eh.e_phoff);
	need = eh.e_phoff + (uint64_t)phnum * sizeof(Elf64_Phdr);
	if (need > ci->len)
		return truncated(ci, need);
	for (size_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, ci->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if ((ph.p_type != PT_LOAD && ph.p_type != PT_NOTE) || ph.p_filesz == 0)
			continue;
		if (ph.p_offset > UINT64_MAX - ph.p_filesz)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "%s: program header %zu: offset %#" PRIx64
						 " + size %#" PRIx64 " is corrupt",
						 ci->name, i, ph.p_offset, ph.p_filesz);
		if (ph.p_offset + ph.p_filesz > need)
			need = ph.p_offset + ph.p_filesz;
	}
	if (need > ci->len)
		return truncated(ci, need);
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *core_parse(struct adbg_target *t, struct core_impl *ci,
						     const struct adbg_open_options *opts)
{
	struct core_notes cn = {.t = t};
	struct adbg_elf *elf;
	struct adbg_error *err;
	size_t phnum;

	err = check_header(ci);
	if (!err)
		err = check_extent(ci);
	if (err)
		return err;
	err = adbg_elf_open_mem(ci->data, ci->len, &elf);
	if (err)
		return adbg_error_wrap(err, "%s", ci->name);
	err = build_segments(ci, elf);
	phnum = adbg_elf_phnum(elf);
	for (size_t i = 0; !err && i < phnum; i++) {
		const Elf64_Phdr *ph = adbg_elf_phdr(elf, i);
		const unsigned char *notes;

		if (ph->p_type != PT_NOTE || ph->p_filesz == 0)
			continue;
		notes = adbg_elf_bytes(elf, ph->p_offset, ph->p_filesz); // checked above
		if (!notes)
			err = truncated(ci, ph->p_offset + ph->p_filesz);
		else
			err = adbg_elf_for_each_note(notes, ph->p_filesz, note_cb, &cn);
		if (err)
			err = adbg_error_wrap(err, "%s: notes", ci->name);
	}
	adbg_elf_destroy(elf);
	if (err)
		return err;
	if (cn.nt_file) {
		err = parse_nt_file(ci, cn.nt_file, cn.nt_file_len);
		if (err)
			return adbg_error_wrap(err, "%s", ci->name);
	}
	err = build_maps(t, ci);
	if (!err)
		err = process_info(t, &cn);
	if (err)
		return adbg_error_wrap(err, "%s", ci->name);
	err = find_executable(t, ci, &cn, &t->executable);
	if (err)
		return err;
	if (opts->executable) {
		free(t->executable);
		t->executable = strdup(opts->executable);
		if (!t->executable)
			return &adbg_error_nomem;
	}
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s || !s[0])
		return NULL;
	*ret = strdup(s);
	return *ret ? NULL : &adbg_error_nomem;
}

/** Build the target around ci (taking it over, also on failure). */
static ADBG_MUST_CHECK struct adbg_error *core_open(struct core_impl *ci,
						    const struct adbg_open_options *opts,
						    const char *core_path, struct adbg_target **ret)
{
	static const struct adbg_open_options no_opts;
	struct adbg_target *t;
	struct adbg_error *err;

	if (!opts)
		opts = &no_opts;
	err = adbg_target_alloc(&core_ops, ADBG_TARGET_CORE, &t);
	if (err) {
		core_impl_free(ci);
		return err;
	}
	t->impl = ci;
	err = dup_opt(opts->sysroot, &ci->sysroot);
	if (!err)
		err = dup_opt(opts->lib_path, &ci->lib_path);
	if (!err)
		err = dup_opt(opts->executable, &ci->exe_override);
	if (!err && core_path && !(t->core_path = strdup(core_path)))
		err = &adbg_error_nomem;
	if (!err)
		err = core_parse(t, ci, opts);
	// The same cache as a live target's (256 blocks of 64 KiB), filled by pread.
	if (!err)
		err = adbg_target_enable_cache(t, 16, 8);
	if (err) {
		adbg_target_destroy(t);
		return err;
	}
	if (ci->fd >= 0 && ci->mapped) {
		// Parsed: from now on the file is read with pread.
		munmap((void *)ci->data, ci->len);
		ci->mapped = false;
		ci->data = NULL;
	}
	*ret = t;
	return NULL;
}

struct adbg_error *adbg_target_open_core(const char *path, const struct adbg_open_options *opts,
					 struct adbg_target **ret)
{
	struct core_impl *ci;
	struct stat st;
	void *p;
	int fd;

	// O_NONBLOCK: a FIFO given as the core must not hang us; it is refused below.
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return adbg_error_os(errno, "cannot open core file %s", path);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return adbg_error_os(e, "cannot stat core file %s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s is not an ELF core file (not a regular file)", path);
	}
	if (st.st_size == 0) {
		close(fd);
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s is not an ELF core file (it is empty)", path);
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return adbg_error_create(ADBG_ERR_UNSUPPORTED, "%s is too large to map", path);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		close(fd);
		return adbg_error_os(e, "cannot map core file %s", path);
	}
	ci = calloc(1, sizeof(*ci));
	if (ci)
		ci->name = strdup(path);
	if (!ci || !ci->name) {
		free(ci);
		munmap(p, (size_t)st.st_size);
		close(fd);
		return &adbg_error_nomem;
	}
	ci->fd = fd;
	ci->data = p;
	ci->len = (size_t)st.st_size;
	ci->mapped = true;
	ci->try_recorded_paths = true;
	return core_open(ci, opts, path, ret);
}

struct adbg_error *adbg_target_open_core_mem(const void *buf, size_t len,
					     const struct adbg_open_options *opts,
					     struct adbg_target **ret)
{
	struct core_impl *ci = calloc(1, sizeof(*ci));

	if (!ci)
		return &adbg_error_nomem;
	ci->fd = -1;
	ci->name = strdup("the core");
	if (!ci->name) {
		free(ci);
		return &adbg_error_nomem;
	}
	ci->data = buf;
	ci->len = len;
	// elffile reads headers in place; give it an aligned copy if the caller did not.
	if ((uintptr_t)buf % 8 != 0) {
		ci->owned_copy = malloc(len ? len : 1);
		if (!ci->owned_copy) {
			core_impl_free(ci);
			return &adbg_error_nomem;
		}
		memcpy(ci->owned_copy, buf, len);
		ci->data = ci->owned_copy;
	}
	// The files an in-memory core names are looked up only under --sysroot/--lib-path:
	// a fuzz input must not make us open arbitrary host paths.
	ci->try_recorded_paths = false;
	return core_open(ci, opts, NULL, ret);
}
