// SPDX-License-Identifier: MIT
// Builds struct adbg_layout for a target: built-in per-minor tables (layout_tables.c),
// completed on 3.13+ by the target's own _Py_DebugOffsets and on 3.14+ by its AsyncioDebug
// section, then validated.
//
// How the numbers were verified (x86-64, GCC, default builds):
//  - Every CPython offset, size and enum value here and in layout_tables.c was printed by
//    tests/unit/fixtures/print_offsets.c (Py_BUILD_CORE + the internal/pycore_*.h headers)
//    compiled against the headers of Debian bookworm python3.11 3.11.2, pyenv 3.11.7,
//    3.12.1 and 3.13.0, and the Debian sid python3.13 3.13.18, python3.14 3.14.10 and
//    python3.15 3.15.2 (.cache/sid/usr/include, host gcc 12); gen_layout_expect.sh turns
//    that output into the expectations test_layout.c checks this file against.
//  - Patch releases: 3.11.2 and 3.11.7 agree on every value printed. 3.13.0 and 3.13.18
//    do not: PyThreadState grew by 8 bytes (datastack_cached_chunk), moving
//    _PyThreadStateImpl.asyncio_running_loop from 304 to 312 and the sizes of
//    _PyRuntimeState/PyInterpreterState; every such number is therefore taken or derived
//    from the target's own table, never built in. Only 3.12.1 was available for 3.12;
//    python.c checks a thread state's back pointer to catch a 3.12.x that moved.
//  - The _Py_DebugOffsets bytes embedded in the real binaries (.PyRuntime of pyenv's
//    libpython3.13.so.1.0 and of the sid python3.13/3.14/3.15; a static initializer, so the
//    file holds what memory holds) agree word for word with the headers, except that the
//    real 3.15.2 build's _PyRuntimeState and PyInterpreterState are 8 bytes larger (no
//    offset differs). They are the fixtures of test_layout.c (gen_debug_offsets.sh).
//  - TaskObj/FutureObj are private to Modules/_asynciomodule.c: re-declared from the
//    sources of 3.11.2 and 3.13.15 (Debian source packages) and 3.14 (code index) and
//    compiled for the bit-field positions; then checked on live tasks with ctypes on all
//    seven interpreters (coro, fut_waiter, name, context, _state after set_result and
//    cancel, num_cancels_requested and the must_cancel bit after cancel(), gi_frame_state
//    and the awaited object at stackpointer[-1] / [-2] on 3.15) and against the
//    AsyncioDebug sections of 3.14.10 and 3.15.2.
//  - Live: adbg_python_find on running processes of all seven, walking runtime ->
//    interpreter -> thread -> frames -> code -> qualname, and on 3.14/3.15 the thread's
//    task list -> task_coro -> coroutine frame, gave the expected names.
#include "layout.h"
#include "layout_tables.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NF ADBG_NO_FIELD
// A PyFrameState the version does not have.
#define NO_STATE ADBG_NO_STATE

// Largest struct, offset or size we believe: the biggest real one is _PyRuntimeState of
// 3.12 (459944 bytes). Anything larger in a table is corruption.
#define MAX_PLAUSIBLE (1u << 20)

// --- Per-minor definitions of _Py_DebugOffsets and AsyncioDebug --------------------------
//
// _Py_DebugOffsets is not compatible across minors (3.13 Include/internal/pycore_runtime.h:
// "only guaranteed to be stable between patch versions"), so each minor gets its own
// definition, in declaration order; the static asserts pin the sizes measured above.

struct do_header {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
};

// 3.13: Include/internal/pycore_runtime.h.
struct do313 {
	struct do_header h;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus, owner;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object, list_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
};
_Static_assert(sizeof(struct do313) == 584, "3.13 _Py_DebugOffsets is 584 bytes");

// 3.14: Include/internal/pycore_debug_offsets.h.
struct do314 {
	struct do_header h;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, threads_main, gc, imports_modules, sysdict,
			builtins, ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder, code_object_generation,
			tlbc_generation;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus, owner, stackpointer,
			tlbc_index;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object, list_object;
	struct {
		uint64_t size, used, table, mask;
	} set_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
	struct {
		uint64_t size, gi_name, gi_iframe, gi_frame_state;
	} gen_object;
	struct {
		uint64_t next, prev;
	} llist_node;
	struct {
		uint64_t eval_breaker, remote_debugger_support, remote_debugging_enabled,
			debugger_pending_call, debugger_script_path, debugger_script_path_size;
	} debugger_support;
};
_Static_assert(sizeof(struct do314) == 760, "3.14 _Py_DebugOffsets is 760 bytes");

// 3.15: Include/internal/pycore_debug_offsets.h of 3.15.2 (more thread_state fields,
// err_stackitem, tp_basicsize/tp_dictoffset, heap_type_object, compact unicode size,
// gc frame and generation stats).
struct do315 {
	struct do_header h;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, threads_main, gc, imports_modules, sysdict,
			builtins, ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder, code_object_generation,
			tlbc_generation;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, base_frame, last_profiled_frame,
			last_profiled_frame_seq, thread_id, native_thread_id, datastack_chunk,
			status, holds_gil, gil_requested, current_exception, exc_state;
	} thread_state;
	struct {
		uint64_t exc_value;
	} err_stackitem;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus, owner, stackpointer,
			tlbc_index;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags, tp_basicsize, tp_dictoffset;
	} type_object;
	struct {
		uint64_t size, ht_cached_keys;
	} heap_type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object, list_object;
	struct {
		uint64_t size, used, table, mask;
	} set_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size, compactunicodeobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting, frame, generation_stats_size, generation_stats;
	} gc;
	struct {
		uint64_t size, gi_name, gi_iframe, gi_frame_state;
	} gen_object;
	struct {
		uint64_t next, prev;
	} llist_node;
	struct {
		uint64_t eval_breaker, remote_debugger_support, remote_debugging_enabled,
			debugger_pending_call, debugger_script_path, debugger_script_path_size;
	} debugger_support;
};
_Static_assert(sizeof(struct do315) == 888, "3.15 _Py_DebugOffsets is 888 bytes");

// AsyncioDebug (3.14 Modules/_asynciomodule.c Py_AsyncioModuleDebugOffsets; the 3.15.2
// section has the same 13 words, values matching its headers).
struct asyncio_debug {
	struct {
		uint64_t size, task_name, task_awaited_by, task_is_task, task_awaited_by_is_set,
			task_coro, task_node;
	} asyncio_task_object;
	struct {
		uint64_t size, asyncio_tasks_head;
	} asyncio_interpreter_state;
	struct {
		uint64_t size, asyncio_running_loop, asyncio_running_task, asyncio_tasks_head;
	} asyncio_thread_state;
};
_Static_assert(sizeof(struct asyncio_debug) == 104, "AsyncioDebug is 13 words");

// One copy from a table word into a layout field.
struct copy {
	uint32_t dst;
	uint32_t src;
	const char *name;
};

// Tables, one entry a line, aligned by hand:
// clang-format off
#define C_(T, dst, src) {offsetof(struct adbg_layout, dst), offsetof(T, src), #src}
#define C313(dst, src) C_(struct do313, dst, src)
#define C314(dst, src) C_(struct do314, dst, src)
#define C315(dst, src) C_(struct do315, dst, src)
#define CAD(dst, src) C_(struct asyncio_debug, dst, src)

// Fields every minor's table has under the same name (the C macro is the minor's).
#define COMMON_COPIES(C)                                                                   \
	C(runtime_state.size, runtime_state.size),                                         \
	C(runtime_state.finalizing, runtime_state.finalizing),                             \
	C(runtime_state.interpreters_head, runtime_state.interpreters_head),               \
	C(interpreter_state.size, interpreter_state.size),                                 \
	C(interpreter_state.id, interpreter_state.id),                                     \
	C(interpreter_state.next, interpreter_state.next),                                 \
	C(interpreter_state.threads_head, interpreter_state.threads_head),                 \
	C(interpreter_state.imports_modules, interpreter_state.imports_modules),           \
	C(interpreter_state.sysdict, interpreter_state.sysdict),                           \
	C(interpreter_state.builtins, interpreter_state.builtins),                         \
	C(interpreter_state.ceval_gil, interpreter_state.ceval_gil),                       \
	C(interpreter_state.gil_runtime_state, interpreter_state.gil_runtime_state),       \
	C(interpreter_state.gil_runtime_state_locked,                                      \
	  interpreter_state.gil_runtime_state_locked),                                     \
	C(interpreter_state.gil_runtime_state_holder,                                      \
	  interpreter_state.gil_runtime_state_holder),                                     \
	C(thread_state.size, thread_state.size),                                           \
	C(thread_state.prev, thread_state.prev),                                           \
	C(thread_state.next, thread_state.next),                                           \
	C(thread_state.interp, thread_state.interp),                                       \
	C(thread_state.current_frame, thread_state.current_frame),                         \
	C(thread_state.thread_id, thread_state.thread_id),                                 \
	C(thread_state.native_thread_id, thread_state.native_thread_id),                   \
	C(thread_state.datastack_chunk, thread_state.datastack_chunk),                     \
	C(thread_state.status, thread_state.status),                                       \
	C(interpreter_frame.size, interpreter_frame.size),                                 \
	C(interpreter_frame.previous, interpreter_frame.previous),                         \
	C(interpreter_frame.executable, interpreter_frame.executable),                     \
	C(interpreter_frame.instr_ptr, interpreter_frame.instr_ptr),                       \
	C(interpreter_frame.localsplus, interpreter_frame.localsplus),                     \
	C(interpreter_frame.owner, interpreter_frame.owner),                               \
	C(code_object.size, code_object.size),                                             \
	C(code_object.filename, code_object.filename),                                     \
	C(code_object.name, code_object.name),                                             \
	C(code_object.qualname, code_object.qualname),                                     \
	C(code_object.linetable, code_object.linetable),                                   \
	C(code_object.firstlineno, code_object.firstlineno),                               \
	C(code_object.argcount, code_object.argcount),                                     \
	C(code_object.localsplusnames, code_object.localsplusnames),                       \
	C(code_object.localspluskinds, code_object.localspluskinds),                       \
	C(code_object.co_code_adaptive, code_object.co_code_adaptive),                     \
	C(pyobject.size, pyobject.size),                                                   \
	C(pyobject.ob_type, pyobject.ob_type),                                             \
	C(type_object.size, type_object.size),                                             \
	C(type_object.tp_name, type_object.tp_name),                                       \
	C(type_object.tp_repr, type_object.tp_repr),                                       \
	C(type_object.tp_flags, type_object.tp_flags),                                     \
	C(tuple_object.size, tuple_object.size),                                           \
	C(tuple_object.ob_item, tuple_object.ob_item),                                     \
	C(tuple_object.ob_size, tuple_object.ob_size),                                     \
	C(list_object.size, list_object.size),                                             \
	C(list_object.ob_item, list_object.ob_item),                                       \
	C(list_object.ob_size, list_object.ob_size),                                       \
	C(dict_object.size, dict_object.size),                                             \
	C(dict_object.ma_keys, dict_object.ma_keys),                                       \
	C(dict_object.ma_values, dict_object.ma_values),                                   \
	C(float_object.size, float_object.size),                                           \
	C(float_object.ob_fval, float_object.ob_fval),                                     \
	C(long_object.size, long_object.size),                                             \
	C(long_object.lv_tag, long_object.lv_tag),                                         \
	C(long_object.ob_digit, long_object.ob_digit),                                     \
	C(bytes_object.size, bytes_object.size),                                           \
	C(bytes_object.ob_size, bytes_object.ob_size),                                     \
	C(bytes_object.ob_sval, bytes_object.ob_sval),                                     \
	C(unicode_object.size, unicode_object.size),                                       \
	C(unicode_object.state, unicode_object.state),                                     \
	C(unicode_object.length, unicode_object.length),                                   \
	C(unicode_object.asciiobject_size, unicode_object.asciiobject_size)

// Fields 3.14 added and 3.15 kept.
#define COPIES_SINCE_314(C)                                                                \
	C(interpreter_state.threads_main, interpreter_state.threads_main),                 \
	C(interpreter_frame.stackpointer, interpreter_frame.stackpointer),                 \
	C(set_object.size, set_object.size),                                               \
	C(set_object.used, set_object.used),                                               \
	C(set_object.table, set_object.table),                                             \
	C(set_object.mask, set_object.mask),                                               \
	C(gen_object.size, gen_object.size),                                               \
	C(gen_object.gi_name, gen_object.gi_name),                                         \
	C(gen_object.gi_iframe, gen_object.gi_iframe),                                     \
	C(gen_object.gi_frame_state, gen_object.gi_frame_state),                           \
	C(llist_node.next, llist_node.next),                                               \
	C(llist_node.prev, llist_node.prev),                                               \
	C(debugger_support.eval_breaker, debugger_support.eval_breaker),                   \
	C(debugger_support.remote_debugger_support,                                        \
	  debugger_support.remote_debugger_support),                                       \
	C(debugger_support.remote_debugging_enabled,                                       \
	  debugger_support.remote_debugging_enabled),                                      \
	C(debugger_support.debugger_pending_call, debugger_support.debugger_pending_call), \
	C(debugger_support.debugger_script_path, debugger_support.debugger_script_path),   \
	C(debugger_support.debugger_script_path_size,                                      \
	  debugger_support.debugger_script_path_size)

// The free-threaded-only fields (gil_runtime_state_enabled, tlbc_index, co_tlbc) are 0 in
// default builds: they are copied for free-threaded targets only (copies_ft_*).
static const struct copy copies_313[] = {COMMON_COPIES(C313)};
static const struct copy copies_ft_313[] = {
	C313(interpreter_state.gil_runtime_state_enabled,
	     interpreter_state.gil_runtime_state_enabled),
};
#define FT_COPIES_SINCE_314(C)                                                             \
	C(interpreter_state.gil_runtime_state_enabled,                                     \
	  interpreter_state.gil_runtime_state_enabled),                                    \
	C(interpreter_frame.tlbc_index, interpreter_frame.tlbc_index),                     \
	C(code_object.co_tlbc, code_object.co_tlbc)
static const struct copy copies_ft_314[] = {FT_COPIES_SINCE_314(C314)};
static const struct copy copies_ft_315[] = {FT_COPIES_SINCE_314(C315)};
static const struct copy copies_314[] = {COMMON_COPIES(C314), COPIES_SINCE_314(C314)};
static const struct copy copies_315[] = {
	COMMON_COPIES(C315),
	COPIES_SINCE_314(C315),
	C315(type_object.tp_basicsize, type_object.tp_basicsize),
	C315(type_object.tp_dictoffset, type_object.tp_dictoffset),
	C315(type_object.ht_cached_keys, heap_type_object.ht_cached_keys),
	C315(unicode_object.compactunicodeobject_size,
	     unicode_object.compactunicodeobject_size),
};

static const struct copy copies_asyncio[] = {
	CAD(asyncio_task_object.size, asyncio_task_object.size),
	CAD(asyncio_task_object.task_name, asyncio_task_object.task_name),
	CAD(asyncio_future_object.fut_awaited_by, asyncio_task_object.task_awaited_by),
	CAD(asyncio_future_object.fut_is_task, asyncio_task_object.task_is_task),
	CAD(asyncio_future_object.fut_awaited_by_is_set,
	    asyncio_task_object.task_awaited_by_is_set),
	CAD(asyncio_task_object.task_coro, asyncio_task_object.task_coro),
	CAD(asyncio_task_object.task_node, asyncio_task_object.task_node),
	CAD(interpreter_state.asyncio_tasks_head,
	    asyncio_interpreter_state.asyncio_tasks_head),
	CAD(thread_state.impl_size, asyncio_thread_state.size),
	CAD(thread_state.asyncio_running_loop, asyncio_thread_state.asyncio_running_loop),
	CAD(thread_state.asyncio_running_task, asyncio_thread_state.asyncio_running_task),
	CAD(thread_state.asyncio_tasks_head, asyncio_thread_state.asyncio_tasks_head),
};

// A field computed from another one: dst = src + add. Used where CPython's table has a
// neighbour of the field we need, which is sturdier than a built-in number when a patch
// release moves the struct.
struct derive {
	uint32_t dst;
	uint32_t src;
	uint64_t add;
};

#define D(dst, src, add) {offsetof(struct adbg_layout, dst), offsetof(struct adbg_layout, src), add}

// 3.13-3.15 _PyRuntimeState: struct pyinterpreters {PyMutex mutex; head; main; next_id;}
// then unsigned long main_thread (pycore_runtime.h / pycore_runtime_structs.h).
#define RUNTIME_DERIVES                                                                    \
	D(runtime_state.interpreters_main, runtime_state.interpreters_head, 8),            \
	D(runtime_state.main_thread, runtime_state.interpreters_head, 24)

static const struct derive derives_313[] = {
	RUNTIME_DERIVES,
	// 3.13 struct pythreads {next_unique_id; head; main; ...} (pycore_interp.h).
	D(interpreter_state.threads_main, interpreter_state.threads_head, 8),
	// 3.13 pycore_tstate.h: _PyThreadStateImpl {PyThreadState base; PyObject
	// *asyncio_running_loop; ...}. PyThreadState grew from 304 (3.13.0) to 312 bytes
	// (3.13.18: datastack_cached_chunk), so the loop moved too; following the table's
	// thread_state.size covers every patch release. _PyThreadStateImpl is 32 bytes
	// larger in both.
	D(thread_state.asyncio_running_loop, thread_state.size, 0),
	D(thread_state.impl_size, thread_state.size, 32),
};

static const struct derive derives_314[] = {RUNTIME_DERIVES};

struct minor {
	unsigned minor;
	const struct adbg_layout *base;
	/** sizeof _Py_DebugOffsets, 0 when the minor has none. */
	size_t debug_size;
	const struct copy *copies;
	size_t ncopies;
	const struct derive *derives;
	size_t nderives;
	/** the free-threaded-only fields of _Py_DebugOffsets. */
	const struct copy *ft_copies;
	size_t nft_copies;
};

#define ARR(a) a, sizeof(a) / sizeof((a)[0])

static const struct minor minors[] = {
	{11, &adbg_layout_311, 0, NULL, 0, NULL, 0, NULL, 0},
	{12, &adbg_layout_312, 0, NULL, 0, NULL, 0, NULL, 0},
	{13, &adbg_layout_313, sizeof(struct do313), ARR(copies_313), ARR(derives_313),
	 ARR(copies_ft_313)},
	{14, &adbg_layout_314, sizeof(struct do314), ARR(copies_314), ARR(derives_314),
	 ARR(copies_ft_314)},
	{15, &adbg_layout_315, sizeof(struct do315), ARR(copies_315), ARR(derives_314),
	 ARR(copies_ft_315)},
};
// clang-format on

// --- Version helpers ----------------------------------------------------------------------

void adbg_version_string(uint64_t version, char *buf, size_t len)
{
	unsigned major = (version >> 24) & 0xff, minor = (version >> 16) & 0xff;
	unsigned micro = (version >> 8) & 0xff, level = (version >> 4) & 0xf;
	unsigned serial = version & 0xf;

	if (!len)
		return;
	// Include/patchlevel.h: PY_RELEASE_LEVEL_ALPHA 0xA, BETA 0xB, GAMMA (rc) 0xC,
	// FINAL 0xF.
	switch (level) {
	case 0xf:
		snprintf(buf, len, "%u.%u.%u", major, minor, micro);
		break;
	case 0xa:
		snprintf(buf, len, "%u.%u.%ua%u", major, minor, micro, serial);
		break;
	case 0xb:
		snprintf(buf, len, "%u.%u.%ub%u", major, minor, micro, serial);
		break;
	case 0xc:
		snprintf(buf, len, "%u.%u.%urc%u", major, minor, micro, serial);
		break;
	default:
		// Not a level CPython uses; keep the raw nibbles visible.
		snprintf(buf, len, "%u.%u.%u-%x%x", major, minor, micro, level, serial);
		break;
	}
}

static uint64_t *field(struct adbg_layout *l, uint32_t off)
{
	return (uint64_t *)((char *)l + off);
}

static uint64_t field_get(const struct adbg_layout *l, uint32_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)l + off, sizeof(v));
	return v;
}

static uint64_t table_word(const void *table, uint32_t off)
{
	uint64_t v;

	// Little-endian x86-64 target and host: the bytes are the value.
	memcpy(&v, (const unsigned char *)table + off, sizeof(v));
	return v;
}

static ADBG_MUST_CHECK struct adbg_error *apply_copies(struct adbg_layout *l, const void *table,
						       const struct copy *copies, size_t n,
						       const char *what)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = table_word(table, copies[i].src);

		// The table is untrusted: refuse values no real CPython struct reaches
		// before anything is computed from them.
		if (v >= MAX_PLAUSIBLE)
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "%s: %s = %#" PRIx64 " is not a plausible offset",
						 what, copies[i].name, v);
		memcpy(field(l, copies[i].dst), &v, sizeof(v));
	}
	return NULL;
}

static void apply_derives(struct adbg_layout *l, const struct derive *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = field_get(l, d[i].src);

		// Sources passed apply_copies (< MAX_PLAUSIBLE), so the sum cannot wrap.
		v = v == NF ? NF : v + d[i].add;
		memcpy(field(l, d[i].dst), &v, sizeof(v));
	}
}

static const struct minor *find_minor(unsigned minor)
{
	for (size_t i = 0; i < sizeof(minors) / sizeof(minors[0]); i++)
		if (minors[i].minor == minor)
			return &minors[i];
	return NULL;
}

size_t adbg_layout_debug_offsets_size(uint64_t version)
{
	const struct minor *m = ((version >> 24) & 0xff) == 3 && !(version >> 32)
					? find_minor((version >> 16) & 0xff)
					: NULL;

	return m ? m->debug_size : 0;
}

size_t adbg_layout_asyncio_debug_size(uint64_t version)
{
	const struct minor *m = ((version >> 24) & 0xff) == 3 && !(version >> 32)
					? find_minor((version >> 16) & 0xff)
					: NULL;

	return m && m->base->has_asyncio_debug ? sizeof(struct asyncio_debug) : 0;
}

static ADBG_MUST_CHECK struct adbg_error *check_header(const struct minor *m, uint64_t version,
						       const void *debug_offsets, size_t debug_len,
						       bool *free_threaded)
{
	struct do_header h;
	char want[48], got[48];

	if (!debug_offsets)
		return adbg_error_create(ADBG_ERR_INVALID_ARG,
					 "Python 3.%u needs the target's _Py_DebugOffsets",
					 m->minor);
	if (debug_len < m->debug_size)
		return adbg_error_create(
			ADBG_ERR_BAD_DATA,
			"_Py_DebugOffsets truncated: %zu bytes, Python 3.%u's is %zu", debug_len,
			m->minor, m->debug_size);
	memcpy(&h, debug_offsets, sizeof(h));
	// Include/internal/pycore_debug_offsets.h: _Py_Debug_Cookie "xdebugpy", no NUL.
	if (memcmp(h.cookie, "xdebugpy", 8) != 0)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "_Py_DebugOffsets: bad cookie (expected \"xdebugpy\")");
	if (h.version != version) {
		adbg_version_string(version, want, sizeof(want));
		adbg_version_string(h.version, got, sizeof(got));
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "_Py_DebugOffsets: version %s (%#" PRIx64
					 ") does not match the target's %s",
					 got, h.version, want);
	}
	if (h.free_threaded != 0 && h.free_threaded != 1)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "_Py_DebugOffsets: free_threaded = %#" PRIx64
					 " (expected 0 or 1)",
					 h.free_threaded);
	*free_threaded = h.free_threaded == 1;
	return NULL;
}

/*
 * A free-threaded build (Py_GIL_DISABLED): the target's table already describes it; move
 * the built-in fields that follow an object header by the header's growth and apply what
 * else the build changes (layout_tables.c).
 */
static ADBG_MUST_CHECK struct adbg_error *
apply_free_threaded(struct adbg_layout *l, const struct minor *m, const void *debug_offsets)
{
	const struct adbg_layout_ft *ft = adbg_layout_ft_find(m->minor);
	struct adbg_error *err;
	uint64_t delta;

	if (!ft)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "free-threaded builds of 3.%u are not supported",
					 m->minor);
	err = apply_copies(l, debug_offsets, m->ft_copies, m->nft_copies, "_Py_DebugOffsets");
	if (err)
		return err;
	// The table gives offsetof(struct _gil_runtime_state, enabled); the layout field is
	// relative to the interpreter, like gil_runtime_state_locked.
	l->interpreter_state.gil_runtime_state_enabled += l->interpreter_state.gil_runtime_state;
	// Include/object.h: 32 bytes in free-threaded builds, larger than the default 16.
	if (l->pyobject.size <= 16 || l->pyobject.size > 64)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "_Py_DebugOffsets: pyobject.size %" PRIu64
					 " is not a free-threaded object header",
					 l->pyobject.size);
	delta = l->pyobject.size - 16;
	for (size_t i = 0; i < adbg_layout_object_nfields; i++) {
		uint64_t v = field_get(m->base, adbg_layout_object_fields[i]);

		if (v != NF) {
			v += delta;
			memcpy(field(l, adbg_layout_object_fields[i]), &v, sizeof(v));
		}
	}
	l->gil_state.locked = ft->gil_state.locked;
	l->gil_state.last_holder = ft->gil_state.last_holder;
	l->managed_dict_ptr.dict = ft->managed_dict;
	l->unicode_object.kind_shift = ft->unicode.kind_shift;
	l->unicode_object.kind_mask = ft->unicode.kind_mask;
	l->unicode_object.compact_bit = ft->unicode.compact_bit;
	l->unicode_object.ascii_bit = ft->unicode.ascii_bit;
	l->stackref_tag_mask = ft->stackref_tag_mask;
	l->free_threaded = true;
	l->live_unverified = !ft->live_verified;
	return NULL;
}

struct adbg_error *adbg_layout_build(uint64_t version, const void *debug_offsets, size_t debug_len,
				     const void *asyncio_debug, size_t asyncio_len,
				     struct adbg_layout *ret)
{
	unsigned major = (version >> 24) & 0xff, minor = (version >> 16) & 0xff;
	const struct minor *m = NULL;
	struct adbg_layout l;
	struct adbg_error *err;
	char vs[48];

	adbg_version_string(version, vs, sizeof(vs));
	if (version >> 32)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "%#" PRIx64 " is not a Python version",
					 version);
	if (major == 3)
		m = find_minor(minor);
	if (!m)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED,
					 "Python %s is not supported: aiodbg supports CPython "
					 "3.11-3.15",
					 vs);

	l = *m->base;
	if (m->debug_size) {
		bool ft = false;

		err = check_header(m, version, debug_offsets, debug_len, &ft);
		if (!err)
			err = apply_copies(&l, debug_offsets, m->copies, m->ncopies,
					   "_Py_DebugOffsets");
		if (!err && ft)
			err = apply_free_threaded(&l, m, debug_offsets);
		if (err)
			return adbg_error_wrap(err, "Python %s", vs);
		l.from_debug_offsets = true;
	}
	apply_derives(&l, m->derives, m->nderives);

	if (m->base->has_asyncio_debug && asyncio_debug) {
		if (asyncio_len < sizeof(struct asyncio_debug))
			return adbg_error_create(ADBG_ERR_BAD_DATA,
						 "Python %s: AsyncioDebug truncated: %zu bytes, "
						 "expected %zu",
						 vs, asyncio_len, sizeof(struct asyncio_debug));
		err = apply_copies(&l, asyncio_debug, copies_asyncio,
				   sizeof(copies_asyncio) / sizeof(copies_asyncio[0]),
				   "AsyncioDebug");
		if (err)
			return adbg_error_wrap(err, "Python %s", vs);
		// Both tables come from one build: sizeof(PyInterpreterState) must agree.
		if (table_word(asyncio_debug,
			       offsetof(struct asyncio_debug, asyncio_interpreter_state.size)) !=
		    l.interpreter_state.size)
			return adbg_error_create(
				ADBG_ERR_BAD_DATA,
				"Python %s: AsyncioDebug's PyInterpreterState size %" PRIu64
				" differs from _Py_DebugOffsets' %" PRIu64
				" (mismatched _asyncio module?)",
				vs,
				table_word(asyncio_debug, offsetof(struct asyncio_debug,
								   asyncio_interpreter_state.size)),
				l.interpreter_state.size);
		l.from_asyncio_debug = true;
	} else if (m->base->has_asyncio_debug) {
		// Without the section (asyncio not imported yet, or its file unreadable)
		// nothing says where the task lists are; leave them unknown rather than
		// guess, since PyInterpreterState is not stable across patch releases.
		l.asyncio_task_object.size = NF;
		l.asyncio_task_object.task_name = NF;
		l.asyncio_task_object.task_coro = NF;
		l.asyncio_task_object.task_node = NF;
		l.asyncio_future_object.fut_awaited_by = NF;
		l.asyncio_future_object.fut_is_task = NF;
		l.asyncio_future_object.fut_awaited_by_is_set = NF;
		l.interpreter_state.asyncio_tasks_head = NF;
		l.thread_state.asyncio_running_loop = NF;
		l.thread_state.asyncio_running_task = NF;
		l.thread_state.asyncio_tasks_head = NF;
		l.thread_state.impl_size = NF;
	}

	l.version = version;
	l.major = major;
	l.minor = minor;
	l.micro = (version >> 8) & 0xff;

	err = adbg_layout_validate(&l);
	if (err)
		return adbg_error_wrap(err, "Python %s", vs);
	*ret = l;
	return NULL;
}

// --- Validation ---------------------------------------------------------------------------

// Bound for fields of structs whose size no table gives (dict keys header, PyHeapTypeObject
// tail, ...): generous, but still catches garbage.
#define SMALL_STRUCT 4096

// One offset field: it must fit with `width` bytes inside the struct whose size is the
// layout field `bound` (or inside `fixed` bytes when bound is NO_BOUND), aligned to width.
// Tables, one entry a line, aligned by hand:
// clang-format off
struct field_check {
	uint32_t off;
	uint32_t bound;
	uint32_t fixed;
	uint8_t width;
	const char *name;
	const char *in;
};

#define NO_BOUND UINT32_MAX
#define L(f) offsetof(struct adbg_layout, f)
#define FB(f, b, w, in) {L(f), L(b), 0, w, #f, in}
#define FF(f, n, w, in) {L(f), NO_BOUND, n, w, #f, in}

static const struct field_check field_checks[] = {
	FB(runtime_state.finalizing, runtime_state.size, 8, "_PyRuntimeState"),
	FB(runtime_state.interpreters_head, runtime_state.size, 8, "_PyRuntimeState"),
	FB(runtime_state.interpreters_main, runtime_state.size, 8, "_PyRuntimeState"),
	FB(runtime_state.main_thread, runtime_state.size, 8, "_PyRuntimeState"),
	FB(runtime_state.ceval_gil, runtime_state.size, 8, "_PyRuntimeState"),
	FB(interpreter_state.id, interpreter_state.size, 8, "PyInterpreterState"),
	FB(interpreter_state.next, interpreter_state.size, 8, "PyInterpreterState"),
	FB(interpreter_state.threads_head, interpreter_state.size, 8, "PyInterpreterState"),
	FB(interpreter_state.threads_main, interpreter_state.size, 8, "PyInterpreterState"),
	FB(interpreter_state.imports_modules, interpreter_state.size, 8, "PyInterpreterState"),
	FB(interpreter_state.sysdict, interpreter_state.size, 8, "PyInterpreterState"),
	FB(interpreter_state.builtins, interpreter_state.size, 8, "PyInterpreterState"),
	FB(interpreter_state.ceval_gil, interpreter_state.size, 8, "PyInterpreterState"),
	FB(interpreter_state.gil_runtime_state, interpreter_state.size, 8,
	   "PyInterpreterState"),
	FB(interpreter_state.gil_runtime_state_enabled, interpreter_state.size, 4,
	   "PyInterpreterState"),
	FB(interpreter_state.gil_runtime_state_locked, interpreter_state.size, 4,
	   "PyInterpreterState"),
	FB(interpreter_state.gil_runtime_state_holder, interpreter_state.size, 8,
	   "PyInterpreterState"),
	FB(interpreter_state.asyncio_tasks_head, interpreter_state.size, 8,
	   "PyInterpreterState"),
	FB(thread_state.prev, thread_state.size, 8, "PyThreadState"),
	FB(thread_state.next, thread_state.size, 8, "PyThreadState"),
	FB(thread_state.interp, thread_state.size, 8, "PyThreadState"),
	FB(thread_state.current_frame, thread_state.size, 8, "PyThreadState"),
	FB(thread_state.cframe, thread_state.size, 8, "PyThreadState"),
	FF(thread_state.cframe_current_frame, 64, 8, "_PyCFrame"),
	FB(thread_state.thread_id, thread_state.size, 8, "PyThreadState"),
	FB(thread_state.native_thread_id, thread_state.size, 8, "PyThreadState"),
	FB(thread_state.datastack_chunk, thread_state.size, 8, "PyThreadState"),
	FB(thread_state.status, thread_state.size, 4, "PyThreadState"),
	FB(thread_state.dict, thread_state.size, 8, "PyThreadState"),
	FB(thread_state.asyncio_running_loop, thread_state.impl_size, 8, "_PyThreadStateImpl"),
	FB(thread_state.asyncio_running_task, thread_state.impl_size, 8, "_PyThreadStateImpl"),
	FB(thread_state.asyncio_tasks_head, thread_state.impl_size, 16, "_PyThreadStateImpl"),
	FF(gil_state.locked, 256, 4, "struct _gil_runtime_state"),
	FF(gil_state.last_holder, 256, 8, "struct _gil_runtime_state"),
	FB(interpreter_frame.previous, interpreter_frame.size, 8, "_PyInterpreterFrame"),
	FB(interpreter_frame.executable, interpreter_frame.size, 8, "_PyInterpreterFrame"),
	FB(interpreter_frame.globals, interpreter_frame.size, 8, "_PyInterpreterFrame"),
	FB(interpreter_frame.locals, interpreter_frame.size, 8, "_PyInterpreterFrame"),
	FB(interpreter_frame.instr_ptr, interpreter_frame.size, 8, "_PyInterpreterFrame"),
	FB(interpreter_frame.localsplus, interpreter_frame.size, 8, "_PyInterpreterFrame"),
	FB(interpreter_frame.owner, interpreter_frame.size, 1, "_PyInterpreterFrame"),
	FB(interpreter_frame.stackpointer, interpreter_frame.size, 4, "_PyInterpreterFrame"),
	FB(interpreter_frame.tlbc_index, interpreter_frame.size, 4, "_PyInterpreterFrame"),
	FB(interpreter_frame.is_entry, interpreter_frame.size, 1, "_PyInterpreterFrame"),
	FB(code_object.flags, code_object.size, 4, "PyCodeObject"),
	FB(code_object.filename, code_object.size, 8, "PyCodeObject"),
	FB(code_object.name, code_object.size, 8, "PyCodeObject"),
	FB(code_object.qualname, code_object.size, 8, "PyCodeObject"),
	FB(code_object.linetable, code_object.size, 8, "PyCodeObject"),
	FB(code_object.firstlineno, code_object.size, 4, "PyCodeObject"),
	FB(code_object.argcount, code_object.size, 4, "PyCodeObject"),
	FB(code_object.nlocalsplus, code_object.size, 4, "PyCodeObject"),
	FB(code_object.localsplusnames, code_object.size, 8, "PyCodeObject"),
	FB(code_object.co_names, code_object.size, 8, "PyCodeObject"),
	FB(code_object.localspluskinds, code_object.size, 8, "PyCodeObject"),
	FB(code_object.firsttraceable, code_object.size, 4, "PyCodeObject"),
	FB(code_object.co_code_adaptive, code_object.size, 2, "PyCodeObject"),
	FB(code_object.co_tlbc, code_object.size, 8, "PyCodeObject"),
	FB(pyobject.ob_refcnt, pyobject.size, 8, "PyObject"),
	FB(pyobject.ob_type, pyobject.size, 8, "PyObject"),
	FB(type_object.tp_name, type_object.size, 8, "PyTypeObject"),
	FB(type_object.tp_basicsize, type_object.size, 8, "PyTypeObject"),
	FB(type_object.tp_flags, type_object.size, 8, "PyTypeObject"),
	FB(type_object.tp_base, type_object.size, 8, "PyTypeObject"),
	FB(type_object.tp_dict, type_object.size, 8, "PyTypeObject"),
	FB(type_object.tp_dictoffset, type_object.size, 8, "PyTypeObject"),
	FB(type_object.tp_repr, type_object.size, 8, "PyTypeObject"),
	FF(type_object.ht_cached_keys, SMALL_STRUCT, 8, "PyHeapTypeObject"),
	FF(type_object.ht_module, SMALL_STRUCT, 8, "PyHeapTypeObject"),
	FF(type_object.ht_qualname, SMALL_STRUCT, 8, "PyHeapTypeObject"),
	FB(tuple_object.ob_item, tuple_object.size, 8, "PyTupleObject"),
	FB(tuple_object.ob_size, tuple_object.size, 8, "PyTupleObject"),
	FB(list_object.ob_item, list_object.size, 8, "PyListObject"),
	FB(list_object.ob_size, list_object.size, 8, "PyListObject"),
	FB(set_object.used, set_object.size, 8, "PySetObject"),
	FB(set_object.table, set_object.size, 8, "PySetObject"),
	FB(set_object.mask, set_object.size, 8, "PySetObject"),
	FB(dict_object.ma_used, dict_object.size, 8, "PyDictObject"),
	FB(dict_object.ma_keys, dict_object.size, 8, "PyDictObject"),
	FB(dict_object.ma_values, dict_object.size, 8, "PyDictObject"),
	FF(dict_values.values, 64, 8, "PyDictValues"),
	FF(dict_keys.dk_log2_size, 64, 1, "PyDictKeysObject"),
	FF(dict_keys.dk_log2_index_bytes, 64, 1, "PyDictKeysObject"),
	FF(dict_keys.dk_kind, 64, 1, "PyDictKeysObject"),
	FF(dict_keys.dk_nentries, 64, 8, "PyDictKeysObject"),
	FF(dict_keys.dk_indices, 64, 1, "PyDictKeysObject"),
	FB(float_object.ob_fval, float_object.size, 8, "PyFloatObject"),
	FB(long_object.lv_tag, long_object.size, 8, "PyLongObject"),
	FB(long_object.ob_digit, long_object.size, 4, "PyLongObject"),
	FB(bytes_object.ob_size, bytes_object.size, 8, "PyBytesObject"),
	FB(bytes_object.ob_sval, bytes_object.size, 1, "PyBytesObject"),
	FB(unicode_object.state, unicode_object.size, 4, "PyUnicodeObject"),
	FB(unicode_object.length, unicode_object.size, 8, "PyUnicodeObject"),
	FB(gen_object.gi_code, gen_object.size, 8, "PyGenObject"),
	FB(gen_object.gi_name, gen_object.size, 8, "PyGenObject"),
	FB(gen_object.gi_qualname, gen_object.size, 8, "PyGenObject"),
	FB(gen_object.gi_iframe, gen_object.size, 8, "PyGenObject"),
	FB(gen_object.gi_frame_state, gen_object.size, 1, "PyGenObject"),
	FF(llist_node.next, 16, 8, "struct llist_node"),
	FF(llist_node.prev, 16, 8, "struct llist_node"),
	FF(weakref_object.wr_object, 256, 8, "PyWeakReference"),
	FF(function_object.func_qualname, 256, 8, "PyFunctionObject"),
	FF(function_object.func_code, 256, 8, "PyFunctionObject"),
	FF(function_object.func_closure, 256, 8, "PyFunctionObject"),
	FF(cell_object.ob_ref, 256, 8, "PyCellObject"),
	FF(method_object.im_func, 256, 8, "PyMethodObject"),
	FF(method_object.im_self, 256, 8, "PyMethodObject"),
	FF(member_descr.d_member, 256, 8, "PyMemberDescrObject"),
	FF(member_descr.type, 64, 4, "PyMemberDef"),
	FF(member_descr.offset, 64, 8, "PyMemberDef"),
	FF(partial_object.fn, 256, 8, "partialobject"),
	FF(partial_object.args, 256, 8, "partialobject"),
	FF(partial_object.kw, 256, 8, "partialobject"),
	FF(deque_object.ob_size, 256, 8, "dequeobject"),
	FF(deque_object.leftblock, 256, 8, "dequeobject"),
	FF(deque_object.rightblock, 256, 8, "dequeobject"),
	FF(deque_object.leftindex, 256, 8, "dequeobject"),
	FF(deque_object.rightindex, 256, 8, "dequeobject"),
	FF(deque_object.block_data, SMALL_STRUCT, 8, "deque block"),
	FF(deque_object.block_rightlink, SMALL_STRUCT, 8, "deque block"),
	FF(module_object.md_dict, 256, 8, "PyModuleObject"),
	FF(module_object.md_state, 256, 8, "PyModuleObject"),
	FF(cfunction_object.m_ml, 256, 8, "PyCFunctionObject"),
	FF(cfunction_object.m_self, 256, 8, "PyCFunctionObject"),
	FF(cfunction_object.ml_name, 32, 8, "PyMethodDef"),
	FB(asyncio_future_object.fut_loop, asyncio_future_object.size, 8, "FutureObj"),
	FB(asyncio_future_object.fut_callback0, asyncio_future_object.size, 8, "FutureObj"),
	FB(asyncio_future_object.fut_context0, asyncio_future_object.size, 8, "FutureObj"),
	FB(asyncio_future_object.fut_callbacks, asyncio_future_object.size, 8, "FutureObj"),
	FB(asyncio_future_object.fut_exception, asyncio_future_object.size, 8, "FutureObj"),
	FB(asyncio_future_object.fut_result, asyncio_future_object.size, 8, "FutureObj"),
	FB(asyncio_future_object.fut_cancel_msg, asyncio_future_object.size, 8, "FutureObj"),
	FB(asyncio_future_object.fut_cancelled_exc, asyncio_future_object.size, 8,
	   "FutureObj"),
	FB(asyncio_future_object.fut_state, asyncio_future_object.size, 4, "FutureObj"),
	FB(asyncio_future_object.fut_awaited_by, asyncio_future_object.size, 8, "FutureObj"),
	FB(asyncio_future_object.fut_awaited_by_is_set, asyncio_future_object.size, 1,
	   "FutureObj"),
	FB(asyncio_future_object.fut_is_task, asyncio_future_object.size, 1, "FutureObj"),
	FB(asyncio_task_object.task_fut_waiter, asyncio_task_object.size, 8, "TaskObj"),
	FB(asyncio_task_object.task_coro, asyncio_task_object.size, 8, "TaskObj"),
	FB(asyncio_task_object.task_name, asyncio_task_object.size, 8, "TaskObj"),
	FB(asyncio_task_object.task_context, asyncio_task_object.size, 8, "TaskObj"),
	FB(asyncio_task_object.task_must_cancel, asyncio_task_object.size, 1, "TaskObj"),
	FB(asyncio_task_object.task_num_cancels_requested, asyncio_task_object.size, 4,
	   "TaskObj"),
	FB(asyncio_task_object.task_node, asyncio_task_object.size, 16, "TaskObj"),
	FF(asyncio_module_state.current_tasks, SMALL_STRUCT, 8, "asyncio_state"),
	FF(asyncio_module_state.scheduled_tasks, SMALL_STRUCT, 8, "asyncio_state"),
	FF(asyncio_module_state.eager_tasks, SMALL_STRUCT, 8, "asyncio_state"),
	FB(debugger_support.eval_breaker, thread_state.size, 8, "PyThreadState"),
	FB(debugger_support.remote_debugger_support, thread_state.size, 4, "PyThreadState"),
	FB(debugger_support.remote_debugging_enabled, interpreter_state.size, 4,
	   "PyInterpreterState"),
	FF(debugger_support.debugger_pending_call, SMALL_STRUCT, 4, "_PyRemoteDebuggerSupport"),
	FF(debugger_support.debugger_script_path, SMALL_STRUCT, 1, "_PyRemoteDebuggerSupport"),
};

// Struct sizes: each must be known-or-absent and plausible.
struct size_check {
	uint32_t off;
	const char *name;
};

#define S(f) {L(f), #f}

static const struct size_check size_checks[] = {
	S(runtime_state.size),        S(interpreter_state.size),  S(thread_state.size),
	S(thread_state.impl_size),    S(interpreter_frame.size),  S(code_object.size),
	S(pyobject.size),             S(type_object.size),        S(tuple_object.size),
	S(list_object.size),          S(set_object.size),         S(dict_object.size),
	S(float_object.size),         S(long_object.size),        S(bytes_object.size),
	S(unicode_object.size),       S(unicode_object.asciiobject_size),
	S(unicode_object.compactunicodeobject_size),              S(gen_object.size),
	S(asyncio_future_object.size), S(asyncio_task_object.size),
	S(debugger_support.debugger_script_path_size),
};

// What every reader needs on every version: a table without these is unusable.
static const struct size_check required[] = {
	S(runtime_state.interpreters_head), S(interpreter_state.next),
	S(interpreter_state.threads_head),  S(thread_state.next),
	S(thread_state.native_thread_id),   S(interpreter_frame.previous),
	S(interpreter_frame.executable),    S(interpreter_frame.instr_ptr),
	S(interpreter_frame.owner),         S(interpreter_frame.localsplus),
	S(interpreter_frame.stackpointer),  S(code_object.filename),
	S(code_object.qualname),            S(code_object.linetable),
	S(code_object.firstlineno),         S(code_object.co_code_adaptive),
	S(pyobject.size),                   S(pyobject.ob_type),
	S(type_object.tp_name),             S(type_object.tp_flags),
	S(type_object.tp_base),             S(unicode_object.state),
	S(unicode_object.length),           S(gen_object.gi_iframe),
	S(gen_object.gi_frame_state),       S(asyncio_future_object.size),
	S(asyncio_future_object.fut_state), S(asyncio_task_object.task_fut_waiter),
};
// clang-format on

static ADBG_MUST_CHECK struct adbg_error *bad(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static ADBG_MUST_CHECK struct adbg_error *bad(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return adbg_error_create(ADBG_ERR_BAD_DATA, "layout: %s", msg);
}

static bool single_bit(uint64_t v)
{
	return v && !(v & (v - 1));
}

static ADBG_MUST_CHECK struct adbg_error *
check_distinct(const char *what, const int *vals, const char *const *names, size_t n, int absent)
{
	for (size_t i = 0; i < n; i++) {
		if (vals[i] == absent)
			continue;
		for (size_t j = i + 1; j < n; j++)
			if (vals[j] == vals[i])
				return bad("%s.%s and %s.%s are both %d", what, names[i], what,
					   names[j], vals[i]);
	}
	return NULL;
}

struct adbg_error *adbg_layout_validate(const struct adbg_layout *l)
{
	struct adbg_error *err;

	if (l->major != 3 || l->minor < 11 || l->minor > 15)
		return adbg_error_create(ADBG_ERR_UNSUPPORTED, "layout: Python %u.%u", l->major,
					 l->minor);

	for (size_t i = 0; i < sizeof(size_checks) / sizeof(size_checks[0]); i++) {
		uint64_t v = field_get(l, size_checks[i].off);

		if (v != NF && (v == 0 || v >= MAX_PLAUSIBLE))
			return bad("%s = %#" PRIx64 " is not a plausible size", size_checks[i].name,
				   v);
	}

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (field_get(l, required[i].off) == NF)
			return bad("%s is missing", required[i].name);
	if (l->thread_state.current_frame == NF &&
	    (l->thread_state.cframe == NF || l->thread_state.cframe_current_frame == NF))
		return bad("no way from a thread to its frames");

	for (size_t i = 0; i < sizeof(field_checks) / sizeof(field_checks[0]); i++) {
		const struct field_check *c = &field_checks[i];
		uint64_t v = field_get(l, c->off);
		uint64_t size = c->bound == NO_BOUND ? c->fixed : field_get(l, c->bound);

		if (v == NF)
			continue;
		if (size == NF)
			size = MAX_PLAUSIBLE;
		if (v >= MAX_PLAUSIBLE || v + c->width > size)
			return bad("%s = %" PRIu64 " does not fit in %s (%" PRIu64 " bytes)",
				   c->name, v, c->in, size);
		// Natural alignment, at most a word (llist nodes are two words).
		if (v % (c->width > 8 ? 8 : c->width))
			return bad("%s = %" PRIu64 " is not aligned for its type", c->name, v);
	}

	// Object headers: PyObject is {ob_refcnt, ob_type} (FT: more before ob_type), and
	// every PyVarObject/float/long field follows it. A table parsed with the wrong
	// per-minor definition fails these first.
	if (l->pyobject.ob_type == NF || l->pyobject.ob_type + 8 != l->pyobject.size)
		return bad("pyobject.ob_type = %" PRIu64
			   " is not the last word of PyObject (%" PRIu64 " bytes)",
			   l->pyobject.ob_type, l->pyobject.size);
	{
		static const struct {
			uint32_t off;
			const char *name;
		} after_head[] = {
			S(tuple_object.ob_size),
			S(list_object.ob_size),
			S(bytes_object.ob_size),
			S(float_object.ob_fval),
			S(long_object.lv_tag),
			S(dict_object.ma_used),
			S(unicode_object.length),
			S(weakref_object.wr_object),
			S(module_object.md_dict),
			S(cfunction_object.m_ml),
			S(asyncio_future_object.fut_loop),
		};

		for (size_t i = 0; i < sizeof(after_head) / sizeof(after_head[0]); i++) {
			uint64_t v = field_get(l, after_head[i].off);

			if (v != l->pyobject.size)
				return bad("%s = %" PRIu64 " but the object header is %" PRIu64
					   " bytes",
					   after_head[i].name, v, l->pyobject.size);
		}
	}

	// A deque block is {leftlink, data[block_len], rightlink}: the readers walk its slots
	// and then follow rightlink, so both must agree.
	if (l->deque_object.block_len == 0 || l->deque_object.block_len > 1024 ||
	    l->deque_object.block_rightlink !=
		    l->deque_object.block_data + 8ull * l->deque_object.block_len)
		return bad("deque block inconsistent: data at %" PRIu64 ", %u slots, rightlink at "
			   "%" PRIu64,
			   l->deque_object.block_data, l->deque_object.block_len,
			   l->deque_object.block_rightlink);

	if (l->unicode_object.asciiobject_size == NF ||
	    l->unicode_object.compactunicodeobject_size == NF ||
	    l->unicode_object.asciiobject_size > l->unicode_object.compactunicodeobject_size ||
	    l->unicode_object.compactunicodeobject_size > l->unicode_object.size)
		return bad("unicode sizes inconsistent: ascii %" PRIu64 ", compact %" PRIu64
			   ", object %" PRIu64,
			   l->unicode_object.asciiobject_size,
			   l->unicode_object.compactunicodeobject_size, l->unicode_object.size);
	if (!l->unicode_object.kind_mask || l->unicode_object.kind_shift > 24 ||
	    !single_bit(l->unicode_object.compact_bit) ||
	    !single_bit(l->unicode_object.ascii_bit) ||
	    l->unicode_object.compact_bit == l->unicode_object.ascii_bit ||
	    ((l->unicode_object.compact_bit | l->unicode_object.ascii_bit) &
	     (l->unicode_object.kind_mask << l->unicode_object.kind_shift)))
		return bad("unicode state bits overlap");
	if (!single_bit(l->localsplus_kind.cell) || !single_bit(l->localsplus_kind.free) ||
	    l->localsplus_kind.cell == l->localsplus_kind.free)
		return bad("localsplus kind bits: cell %#x, free %#x", l->localsplus_kind.cell,
			   l->localsplus_kind.free);

	if (l->asyncio_task_object.size != NF && l->asyncio_future_object.size != NF &&
	    l->asyncio_task_object.size < l->asyncio_future_object.size)
		return bad("TaskObj (%" PRIu64 " bytes) is smaller than FutureObj (%" PRIu64 ")",
			   l->asyncio_task_object.size, l->asyncio_future_object.size);
	if (l->asyncio_task_object.task_must_cancel_mask &&
	    !single_bit(l->asyncio_task_object.task_must_cancel_mask))
		return bad("asyncio_task_object.task_must_cancel_mask %#x is not one bit",
			   l->asyncio_task_object.task_must_cancel_mask);
	if (l->interpreter_state.asyncio_tasks_head != NF &&
	    l->thread_state.asyncio_tasks_head == NF)
		return bad("asyncio task lists half described");
	if (l->stackref_tag_mask > 7)
		return bad("stackref_tag_mask %#" PRIx64, l->stackref_tag_mask);
	// Managed dict pointers: words in the pre-header (PyGC_Head and the 3.11 pointers).
	{
		const int64_t md[] = {l->managed_dict_ptr.values, l->managed_dict_ptr.dict};

		for (size_t i = 0; i < 2; i++)
			if (md[i] && (md[i] < -64 || md[i] > -8 || md[i] % 8))
				return bad("managed_dict_ptr word %zu = %" PRId64, i, md[i]);
		if (!l->managed_dict_ptr.dict ||
		    !l->managed_dict_ptr.values != (l->managed_dict != ADBG_MANAGED_DICT_311))
			return bad("managed_dict_ptr does not fit managed_dict kind %d",
				   (int)l->managed_dict);
	}
	if (l->managed_dict == ADBG_MANAGED_DICT_313) {
		const uint64_t dv[] = {l->dict_values.capacity, l->dict_values.size,
				       l->dict_values.valid};

		for (size_t i = 0; i < 3; i++)
			if (dv[i] >= ADBG_DICT_VALUES_COUNTS || dv[i] == dv[(i + 1) % 3])
				return bad("dict_values count %zu at %#" PRIx64, i, dv[i]);
	}
	// Entries of sets and dicts: words, inside the entry, within the readers' buffers.
	{
		const typeof(l->set_entry) *se = &l->set_entry;
		const typeof(l->dict_entry) *de = &l->dict_entry;
		const uint64_t ent[][4] = {
			{se->size, se->key, se->hash, ADBG_SET_ENTRY_MAX},
			{de->general_size, de->general_key, de->general_value, ADBG_DICT_ENTRY_MAX},
			{de->unicode_size, de->unicode_key, de->unicode_value, ADBG_DICT_ENTRY_MAX},
		};
		static const char *const entn[] = {"set_entry", "dict_entry.general",
						   "dict_entry.unicode"};
		const typeof(l->dict_keys_kind) *kk = &l->dict_keys_kind;

		for (size_t i = 0; i < 3; i++)
			if (!ent[i][0] || ent[i][0] > ent[i][3] || ent[i][0] % 8 || ent[i][1] % 8 ||
			    ent[i][2] % 8 || ent[i][1] + 8 > ent[i][0] ||
			    ent[i][2] + 8 > ent[i][0] || ent[i][1] == ent[i][2])
				return bad("%s: size %" PRIu64 ", fields at %" PRIu64
					   " and %" PRIu64,
					   entn[i], ent[i][0], ent[i][1], ent[i][2]);
		if (kk->general > 255 || kk->unicode > 255 || kk->split > 255 ||
		    kk->general == kk->unicode || kk->general == kk->split ||
		    kk->unicode == kk->split)
			return bad("dict_keys_kind %u/%u/%u", kk->general, kk->unicode, kk->split);
	}
	if (l->long_object.has_lv_tag) {
		const typeof(l->long_object) *lo = &l->long_object;

		if (!lo->lv_sign_mask || lo->lv_sign_mask > 7 || !lo->lv_sign_zero ||
		    !lo->lv_sign_negative || lo->lv_sign_zero == lo->lv_sign_negative ||
		    (lo->lv_sign_zero | lo->lv_sign_negative) & ~lo->lv_sign_mask ||
		    lo->lv_size_shift < 2 || lo->lv_size_shift > 8)
			return bad("long_object lv_tag bits (mask %#" PRIx64 ", shift %u)",
				   lo->lv_sign_mask, lo->lv_size_shift);
	}
	if (l->interpreter_frame.awaited_depth < 1 || l->interpreter_frame.awaited_depth > 4)
		return bad("interpreter_frame.awaited_depth %u",
			   l->interpreter_frame.awaited_depth);
	if (l->managed_dict > ADBG_MANAGED_DICT_313 ||
	    l->interpreter_frame.instr_kind > ADBG_INSTR_CURRENT ||
	    l->interpreter_frame.stack_kind > ADBG_STACK_POINTER)
		return bad("bad kind enum");

	// Enum values: distinct, and within the C type that stores them.
	{
		const int st[] = {l->frame_state.created,
				  l->frame_state.suspended,
				  l->frame_state.suspended_yield_from,
				  l->frame_state.suspended_yield_from_locked,
				  l->frame_state.executing,
				  l->frame_state.completed,
				  l->frame_state.cleared};
		static const char *const stn[] = {"created",
						  "suspended",
						  "suspended_yield_from",
						  "suspended_yield_from_locked",
						  "executing",
						  "completed",
						  "cleared"};
		const int ow[] = {l->frame_owner.thread, l->frame_owner.generator,
				  l->frame_owner.frame_object, l->frame_owner.cstack,
				  l->frame_owner.interpreter};
		static const char *const own[] = {"thread", "generator", "frame_object", "cstack",
						  "interpreter"};
		const int fs[] = {l->future_state.pending, l->future_state.cancelled,
				  l->future_state.finished};
		static const char *const fsn[] = {"pending", "cancelled", "finished"};

		for (size_t i = 0; i < 7; i++)
			if (st[i] != NO_STATE && (st[i] < INT8_MIN + 1 || st[i] > INT8_MAX))
				return bad("frame_state.%s = %d is not an int8", stn[i], st[i]);
		for (size_t i = 0; i < 5; i++)
			if (ow[i] < -1 || ow[i] > 255)
				return bad("frame_owner.%s = %d is not a char", own[i], ow[i]);
		if (l->frame_state.created == NO_STATE || l->frame_state.suspended == NO_STATE ||
		    l->frame_state.executing == NO_STATE || l->frame_state.cleared == NO_STATE ||
		    l->frame_owner.generator < 0)
			return bad("frame state/owner enums incomplete");
		err = check_distinct("frame_state", st, stn, 7, NO_STATE);
		if (!err)
			err = check_distinct("frame_owner", ow, own, 5, -1);
		if (!err)
			err = check_distinct("future_state", fs, fsn, 3, INT8_MIN);
		if (err)
			return err;
	}

	// Type flag bits: single, distinct bits (0 = the version has no such flag).
	{
		const uint64_t *b = &l->tp_flags_bits.long_subclass;
		size_t n = sizeof(l->tp_flags_bits) / sizeof(uint64_t);
		uint64_t seen = 0;

		for (size_t i = 0; i < n; i++) {
			if (!b[i])
				continue;
			if (!single_bit(b[i]) || (seen & b[i]))
				return bad("tp_flags_bits word %zu = %#" PRIx64
					   " is not a fresh single bit",
					   i, b[i]);
			seen |= b[i];
		}
	}
	return NULL;
}
