// SPDX-License-Identifier: MIT
// Native stacks of live processes and core files with libunwind: the REPL's unwinder for
// `bt --native` (struct adbg_unwinder, native.h).
//
// libunwind walks each thread with accessors over the target: memory through the target
// (a live process is frozen for the snapshot), registers from the thread's stop (live: the
// freeze's PTRACE_GETREGS; cores: NT_PRSTATUS), unwind tables from the .eh_frame_hdr of
// each mapped file, opened like every other file of the target (containers, --sysroot).
// Frames are symbolised from the mapped files' .symtab/.dynsym (function + offset, object
// file). Walks are capped at ADBG_MAX_NATIVE_FRAMES and stop when the stack pointer fails
// to grow. GDB inferiors and in-memory targets are not supported (the GDB extension has
// its own unwinder). This module is kept apart from native.c so that only front ends that
// use it link libunwind.
#ifndef AIODBG_UNWIND_H
#define AIODBG_UNWIND_H

#include "native.h"

/** The libunwind unwinder, for adbg_cmd_state.unwinder (cmd.h). */
extern const struct adbg_unwinder adbg_libunwind_unwinder;

#endif
