// SPDX-License-Identifier: MIT
// libunwind for `bt --native` in the REPL (see unwind.h).
//
// One set of accessors over our own target serves live processes and cores: memory through
// adbg_target_read (process_vm_readv and the page cache while the process is frozen; the
// core and the files it names for a core), registers from the thread's stop (live: the
// PTRACE_GETREGS of the freeze, target_live.c; cores: NT_PRSTATUS), and the unwind table of
// a pc from the .eh_frame_hdr of the file mapped there, opened the way the target opens
// files (live: /proc/PID/map_files, then /proc/PID/root; cores: --sysroot, --lib-path,
// build ids checked). libunwind does the DWARF work.
//
// Why not libunwind's own accessors (1.6, Debian 12):
// - ptrace (_UPT_*): _UPT_find_proc_info opens "/proc/PID/root" + the path /proc/PID/maps
//   shows (src/os-linux.c: tdep_get_elf_image). For a process in a chroot that path is
//   already relative to our root, so the file is not found and the walk stops after the
//   innermost frame: every row of the test matrix in the sid root failed that way. It also
//   cannot open deleted files (upgraded libraries), which map_files can, and reads memory
//   one PTRACE_PEEKDATA per word while the target is stopped.
// - coredump (_UCD_*): gcore leaves out the PT_LOAD of every file mapping it did not modify
//   (the text of each library), so _UCD_add_backing_file_at_vaddr has no segment to back and
//   _UCD_find_proc_info no image for any pc in a library; and a backing file is taken to be
//   mapped from file offset 0 (src/coredump/_UCD_find_proc_info.c: "mapoff = 0", FIXME),
//   which the code of no `-z separate-code` library is. On a gcore of python3.11, 0 of 92
//   file mappings could be backed and the walk stopped after the innermost frame.
#include "unwind.h"

#include <inttypes.h>
#include <libunwind.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecache.h"
#include "elffile.h"
#include "symbols.h"

// libunwind exports this (src/dwarf/Gfind_proc_info-lsb.c) and its own remote accessors
// call it to search a .eh_frame_hdr table through access_mem; 1.6 has no public wrapper
// (1.7 added unw_get_proc_info_in_range).
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

// .eh_frame_hdr (LSB 5.0, "Exception Frame Header"): version 1, then the encodings of
// eh_frame_ptr, fde_count and the table; the binary-search table libunwind reads must be
// DW_EH_PE_datarel | DW_EH_PE_sdata4 (pairs of 4-byte offsets from the header).
#define EH_HDR_VERSION 1
#define DW_EH_PE_omit 0xff
#define DW_EH_PE_absptr 0x00
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_udata8 0x04
#define DW_EH_PE_sdata8 0x0c
#define DW_EH_PE_datarel 0x30
#define EH_TABLE_ENC (DW_EH_PE_datarel | DW_EH_PE_sdata4)

/*
 * Target memory that is a copy of a file's bytes, read from our own map of the file: the
 * .eh_frame_hdr table and .eh_frame of each file, which libunwind searches and parses for
 * every frame (never written at run time: no relocations apply to them). Reading them
 * here instead of from the target saves the system calls (live: one process_vm_readv per
 * page) while a live process is stopped.
 */
struct uw_local {
	uint64_t start, end;
	const unsigned char *bytes;
};

/* The unwind table of one mapped file, found once per command. */
struct uw_table {
	bool done;
	/** why the file has none (static string or snapshot arena), when !ok. */
	const char *why;
	bool ok;
	/** the file itself could not be opened or parsed (moved, other build, ...). */
	bool unreadable;
	unw_dyn_info_t di;
};

struct uw_state {
	struct adbg_session *s;
	struct adbg_symbols *syms;
	unw_addr_space_t as;
	bool live;
	/** one per symbols file. */
	struct uw_table *tables;
	size_t ntables;
	/** file bytes served locally, two per file with a table at most. */
	struct uw_local *local;
	size_t nlocal;
};

/* What the accessors need while one thread is unwound. */
struct uw_thread {
	struct uw_state *st;
	const struct adbg_thread *th;
	/** the last thing an accessor could not do, for the "stopped" message. */
	char why[512];
	/**
	 * set when a pc is in a file that cannot be read: libunwind would go on guessing
	 * from frame pointers, which without the file's unwind table gives garbage, so the
	 * walk stops there and says which file is missing.
	 */
	bool fatal;
};

static void note(struct uw_thread *ut, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct uw_thread *ut, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ut->why, sizeof(ut->why), fmt, ap);
	va_end(ap);
}

// ---------------------------------------------------------------------------------------
// accessors over the target

static int target_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			     void *arg)
{
	struct uw_thread *ut = arg;
	struct adbg_error *err;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	for (size_t i = 0; i < ut->st->nlocal; i++) {
		const struct uw_local *lo = &ut->st->local[i];

		if (addr >= lo->start && addr < lo->end && lo->end - addr >= sizeof(*val)) {
			memcpy(val, lo->bytes + (addr - lo->start), sizeof(*val));
			return 0;
		}
	}
	err = adbg_target_read(ut->st->s->target, addr, val, sizeof(*val));
	if (err) {
		note(ut, "%s", err->message);
		adbg_error_destroy(err);
		return -UNW_EINVAL;
	}
	return 0;
}

static int target_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
			     void *arg)
{
	const struct user_regs_struct *r = &((struct uw_thread *)arg)->th->regs;

	(void)as;
	if (write)
		return -UNW_EREADONLYREG;
	// libunwind-x86_64.h numbers the registers in DWARF order.
	switch (reg) {
	case UNW_X86_64_RAX:
		*val = r->rax;
		break;
	case UNW_X86_64_RDX:
		*val = r->rdx;
		break;
	case UNW_X86_64_RCX:
		*val = r->rcx;
		break;
	case UNW_X86_64_RBX:
		*val = r->rbx;
		break;
	case UNW_X86_64_RSI:
		*val = r->rsi;
		break;
	case UNW_X86_64_RDI:
		*val = r->rdi;
		break;
	case UNW_X86_64_RBP:
		*val = r->rbp;
		break;
	case UNW_X86_64_RSP:
		*val = r->rsp;
		break;
	case UNW_X86_64_R8:
		*val = r->r8;
		break;
	case UNW_X86_64_R9:
		*val = r->r9;
		break;
	case UNW_X86_64_R10:
		*val = r->r10;
		break;
	case UNW_X86_64_R11:
		*val = r->r11;
		break;
	case UNW_X86_64_R12:
		*val = r->r12;
		break;
	case UNW_X86_64_R13:
		*val = r->r13;
		break;
	case UNW_X86_64_R14:
		*val = r->r14;
		break;
	case UNW_X86_64_R15:
		*val = r->r15;
		break;
	case UNW_X86_64_RIP:
		*val = r->rip;
		break;
	default:
		return -UNW_EBADREG;
	}
	return 0;
}

static int target_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			       void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EBADREG;
}

static int target_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

static int target_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
				unw_word_t *off, void *arg)
{
	// Frames are named with symbols.h, not through libunwind.
	(void)as;
	(void)addr;
	(void)buf;
	(void)len;
	(void)off;
	(void)arg;
	return -UNW_ENOINFO;
}

static int target_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	// No dynamically registered unwind info (_U_dyn_register) is looked for.
	(void)as;
	(void)addr;
	(void)arg;
	return -UNW_ENOINFO;
}

static void target_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	// dwarf_search_unwind_table's info is libunwind's own (format TABLE, freed by it).
	(void)as;
	(void)pi;
	(void)arg;
}

/* Size of an encoded pointer of encoding enc in .eh_frame_hdr, 0 when unsupported. */
static size_t enc_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		return 8;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		return 4;
	}
	return 0;
}

/* Serve [addr, addr + size) from bytes (the file's image) in target_access_mem. */
static void add_local(struct uw_state *st, uint64_t addr, uint64_t size, const unsigned char *bytes)
{
	if (!bytes || !size || addr > UINT64_MAX - size || st->nlocal == 2 * st->ntables)
		return;
	st->local[st->nlocal++] = (struct uw_local){addr, addr + size, bytes};
}

/* Fill t for file i: the file's .eh_frame_hdr as a libunwind remote table. */
static void find_table(struct uw_state *st, size_t i, struct uw_table *t)
{
	struct adbg_elf_section sec;
	const struct adbg_elf *elf;
	const Elf64_Phdr *eh = NULL;
	const unsigned char *hdr;
	uint64_t bias, lo = UINT64_MAX, hi = 0, count = 0, hdr_addr;
	struct adbg_error *err;
	size_t ptr_size, count_size;

	t->done = true;
	err = adbg_symbols_file_elf(st->syms, i, &elf, &bias);
	if (err) {
		t->why = adbg_snapshot_strdup(st->s, err->message);
		t->unreadable = err->code != ADBG_ERR_NOMEM;
		adbg_error_destroy(err);
		return;
	}
	for (size_t k = 0; k < adbg_elf_phnum(elf); k++) {
		const Elf64_Phdr *p = adbg_elf_phdr(elf, k);

		if (p->p_type == PT_GNU_EH_FRAME)
			eh = p;
		if (p->p_type == PT_LOAD && (p->p_flags & PF_X) &&
		    p->p_vaddr <= UINT64_MAX - p->p_memsz) {
			if (p->p_vaddr < lo)
				lo = p->p_vaddr;
			if (p->p_vaddr + p->p_memsz > hi)
				hi = p->p_vaddr + p->p_memsz;
		}
	}
	if (!eh || lo >= hi) {
		t->why = "no .eh_frame_hdr (PT_GNU_EH_FRAME)";
		return;
	}
	// The header is read from the file; libunwind reads the table and the FDEs through
	// access_mem, i.e. from the same bytes as the target maps them.
	hdr = adbg_elf_bytes(elf, eh->p_offset, 4);
	if (!hdr || eh->p_filesz < 4 || hdr[0] != EH_HDR_VERSION || hdr[3] != EH_TABLE_ENC ||
	    hdr[2] == DW_EH_PE_omit || (hdr[2] & 0x70) != 0) {
		t->why = "unsupported .eh_frame_hdr";
		return;
	}
	ptr_size = hdr[1] == DW_EH_PE_omit ? 0 : enc_size(hdr[1]);
	count_size = enc_size(hdr[2]);
	if ((hdr[1] != DW_EH_PE_omit && !ptr_size) || !count_size ||
	    eh->p_filesz < 4 + ptr_size + count_size ||
	    !(hdr = adbg_elf_bytes(elf, eh->p_offset, 4 + ptr_size + count_size))) {
		t->why = "unsupported .eh_frame_hdr";
		return;
	}
	memcpy(&count, hdr + 4 + ptr_size, count_size); // little-endian
	// Each entry is 8 bytes and must lie inside the segment.
	if (count > (eh->p_filesz - 4 - ptr_size - count_size) / 8) {
		t->why = "corrupt .eh_frame_hdr (FDE count)";
		return;
	}
	hdr_addr = eh->p_vaddr + bias;
	t->di.start_ip = lo + bias;
	t->di.end_ip = hi + bias;
	t->di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	t->di.gp = 0;
	t->di.load_offset = 0;
	t->di.u.rti.name_ptr = 0;
	t->di.u.rti.segbase = hdr_addr;
	t->di.u.rti.table_data = hdr_addr + 4 + ptr_size + count_size;
	t->di.u.rti.table_len = count * 8 / sizeof(unw_word_t);
	t->ok = true;
	add_local(st, hdr_addr, eh->p_filesz, adbg_elf_bytes(elf, eh->p_offset, eh->p_filesz));
	err = adbg_elf_find_section(elf, ".eh_frame", &sec);
	if (!err && sec.type == SHT_PROGBITS && (sec.flags & SHF_ALLOC) && !(sec.flags & SHF_WRITE))
		add_local(st, sec.addr + bias, sec.size, adbg_elf_bytes(elf, sec.offset, sec.size));
	adbg_error_destroy(err);
}

static int target_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
				 int need_unwind_info, void *arg)
{
	struct uw_thread *ut = arg;
	struct uw_state *st = ut->st;
	struct adbg_error *err;
	struct uw_table *t;
	size_t i;

	err = adbg_symbols_file_at(st->syms, ip, &i);
	if (err) {
		note(ut, "no unwind information for %#" PRIx64 " (%s)", (uint64_t)ip, err->message);
		adbg_error_destroy(err);
		return -UNW_ENOINFO;
	}
	if (i >= st->ntables)
		return -UNW_ENOINFO;
	t = &st->tables[i];
	if (!t->done)
		find_table(st, i, t);
	if (!t->ok) {
		if (t->unreadable)
			note(ut, "%s", t->why ? t->why : "out of memory");
		else
			note(ut, "no unwind information for %#" PRIx64 " in %s: %s", (uint64_t)ip,
			     adbg_symbols_file_path(st->syms, i),
			     t->why ? t->why : "out of memory");
		ut->fatal = t->unreadable;
		return -UNW_ENOINFO;
	}
	// dwarf_search_unwind_table asserts the pc is in the table's range.
	if (ip < t->di.start_ip || ip >= t->di.end_ip) {
		note(ut, "%#" PRIx64 " is outside the code of %s", (uint64_t)ip,
		     adbg_symbols_file_path(st->syms, i));
		return -UNW_ENOINFO;
	}
	return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &t->di, pi, need_unwind_info, arg);
}

static unw_accessors_t target_accessors = {
	.find_proc_info = target_find_proc_info,
	.put_unwind_info = target_put_unwind_info,
	.get_dyn_info_list_addr = target_get_dyn_info_list_addr,
	.access_mem = target_access_mem,
	.access_reg = target_access_reg,
	.access_fpreg = target_access_fpreg,
	.resume = target_resume,
	.get_proc_name = target_get_proc_name,
};

// ---------------------------------------------------------------------------------------
// the unwinder

static void uw_end(struct adbg_session *s, void *state)
{
	struct uw_state *st = state;

	(void)s;
	if (!st)
		return;
	if (st->as)
		unw_destroy_addr_space(st->as);
	adbg_symbols_destroy(st->syms);
	free(st->tables);
	free(st->local);
	free(st);
}

static ADBG_MUST_CHECK struct adbg_error *uw_begin(struct adbg_session *s, void **state_ret)
{
	struct adbg_target *t = s->target;
	struct uw_state *st;
	struct adbg_error *err;

	if (t->kind != ADBG_TARGET_PROCESS && t->kind != ADBG_TARGET_CORE)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "native stacks need a live process or a core file");
	st = calloc(1, sizeof(*st));
	if (!st)
		return &adbg_error_nomem;
	st->s = s;
	st->live = t->kind == ADBG_TARGET_PROCESS;
	err = adbg_symbols_create(t, &st->syms);
	if (err) {
		uw_end(s, st);
		return err;
	}
	st->ntables = adbg_symbols_nfiles(st->syms);
	st->tables = calloc(st->ntables ? st->ntables : 1, sizeof(*st->tables));
	st->local = calloc(2 * st->ntables + 1, sizeof(*st->local));
	st->as = unw_create_addr_space(&target_accessors, 0);
	if (!st->tables || !st->local || !st->as) {
		uw_end(s, st);
		return &adbg_error_nomem;
	}
	// No register-state cache: the global one blocks every signal around each use (two
	// sigprocmask calls per lookup, while the target is stopped), and the per-thread one
	// is one TLS cache for all address spaces, which a new address space (next command)
	// does not always flush (src/dwarf/Gparser.c: get_rs_cache compares generation
	// counters that start at 0 in each): rules cached for code since unloaded could be
	// reused. A stack has few frames and parsing their FDEs is cheap.
	unw_set_caching_policy(st->as, UNW_CACHE_NONE);
	*state_ret = st;
	return NULL;
}

/*
 * Name frame f: symbol + offset and object file, "??" when unknown. Until then f->offset
 * is 1 when f->addr is a return address (see uw_thread).
 */
static void symbolise(struct uw_state *st, struct adbg_frame *f)
{
	uint64_t pc = f->addr, at = pc - f->offset, start;
	struct adbg_error *err;
	const char *name;
	char buf[256];
	bool plt;
	size_t i;

	f->offset = 0;
	f->function = "??";
	err = adbg_symbols_file_at(st->syms, at, &i);
	if (err) {
		adbg_error_destroy(err);
		return;
	}
	f->file = adbg_snapshot_strdup(st->s, adbg_symbols_file_path(st->syms, i));
	err = adbg_symbols_file_function(st->syms, i, at, &name, &start, &plt);
	if (err) {
		adbg_error_destroy(err);
		return;
	}
	if (plt) {
		// As GDB names them; a name too long for the buffer is shown cut.
		snprintf(buf, sizeof(buf), "%s@plt", name);
		name = buf;
	}
	name = adbg_snapshot_strdup(st->s, name);
	if (name) {
		f->function = name;
		f->offset = pc - start < (1u << 24) ? (uint32_t)(pc - start) : 0;
	}
}

static const struct adbg_thread *find_thread(const struct adbg_target *t, int tid)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *uw_thread(struct adbg_session *s, void *state, int tid,
						    struct adbg_native_stack *ret)
{
	struct uw_state *st = state;
	struct uw_thread ut = {.st = st};
	struct adbg_native_stack ns = {0};
	struct adbg_error *err = NULL;
	unw_word_t prev_sp = 0;
	bool prev_signal = false;
	unw_cursor_t c;
	int r;

	ut.th = find_thread(s->target, tid);
	if (st->live && (!ut.th || !ut.th->have_regs))
		return adbg_error_create(
			ADBG_ERR_UNSUPPORTED,
			"thread %d: not stopped (it did not reach its ptrace stop "
			"while the process was frozen); its native stack cannot be "
			"read",
			tid);
	if (!st->live && (!ut.th || !ut.th->have_regs))
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "thread %d: the core holds no registers for it (no "
					 "NT_PRSTATUS note); its native stack cannot be read",
					 tid);
	r = unw_init_remote(&c, st->as, &ut);
	if (r < 0) {
		err = adbg_error_create(ADBG_ERR_BAD_DATA, "thread %d: cannot start unwinding: %s",
					tid, unw_strerror(r));
		goto out;
	}
	for (;;) {
		unw_word_t pc = 0, sp = 0;
		struct adbg_frame f;

		if (unw_get_reg(&c, UNW_REG_IP, &pc) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0) {
			ns.stopped = "registers of a frame are unknown";
			break;
		}
		if (ns.st.n == ADBG_MAX_NATIVE_FRAMES) {
			ns.st.truncated = true;
			break;
		}
		// Callers sit higher on the stack; a pointer that fails to grow (outside a
		// signal frame, whose handler may run on another stack) means garbage or a
		// cycle, which would repeat forever.
		if (ns.st.n && sp <= prev_sp && !prev_signal) {
			ns.stopped = "the stack pointer stopped growing (corrupt stack?)";
			break;
		}
		if (!pc)
			break; // the outermost frame's return address
		// Named after the thaw (uw_name). Until then `offset` says how far before the pc
		// to look: a caller's pc is a return address, which may be the first byte after
		// its function (a call that does not return), so look up the call instruction.
		memset(&f, 0, sizeof(f));
		f.kind = ADBG_FRAME_NATIVE;
		f.addr = pc;
		f.offset = ns.st.n && !prev_signal ? 1 : 0;
		err = adbg_native_push(&ns, &f, sp);
		if (err)
			goto out;
		prev_sp = sp;
		prev_signal = unw_is_signal_frame(&c) > 0;
		ut.why[0] = '\0';
		r = unw_step(&c);
		if (r == 0 && !ut.fatal)
			break;
		if (r < 0 || ut.fatal) {
			char msg[700];

			if (ut.fatal)
				snprintf(msg, sizeof(msg), "%s", ut.why);
			else
				snprintf(msg, sizeof(msg), "%s%s%s", unw_strerror(r),
					 ut.why[0] ? ": " : "", ut.why);
			ns.stopped = adbg_snapshot_strdup(s, msg);
			if (!ns.stopped)
				ns.stopped = "out of memory";
			break;
		}
	}
	if (!ns.st.n) {
		err = adbg_error_create(ADBG_ERR_BAD_DATA, "thread %d: no native frame found%s%s",
					tid, ns.stopped ? ": " : "", ns.stopped ? ns.stopped : "");
		goto out;
	}
out:
	if (err) {
		adbg_native_stack_deinit(&ns);
		return err;
	}
	*ret = ns;
	return NULL;
}

/* Name the frames uw_thread found, once the target runs again. */
static void uw_name(struct adbg_session *s, void *state, struct adbg_native_stack *ns)
{
	(void)s;
	for (size_t i = 0; i < ns->st.n; i++)
		if (!ns->st.frames[i].function)
			symbolise(state, &ns->st.frames[i]);
}

const struct adbg_unwinder adbg_libunwind_unwinder = {
	.begin = uw_begin,
	.thread = uw_thread,
	.name = uw_name,
	.end = uw_end,
};
