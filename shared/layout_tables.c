// SPDX-License-Identifier: MIT
// The built-in per-minor layout tables (see layout_tables.h) and the pending-call queues.
//
// Every number here was printed from CPython's own headers and checked on real
// interpreters of each minor version: the opening comment of layout.c says how, and
// test_layout.c checks these tables against tests/unit/fixtures/layout_expect.h.
#include "layout_tables.h"

#include <stddef.h>
#include <stdint.h>

#define NF ADBG_NO_FIELD
// A field filled from the target's _Py_DebugOffsets (or AsyncioDebug): the built-in table
// deliberately holds no value for it, so a version whose table lacks it cannot silently
// use a guess.
#define DO ADBG_NO_FIELD
// A PyFrameState the version does not have.
#define NO_STATE ADBG_NO_STATE

// --- Built-in tables ---------------------------------------------------------------------
//
// Values that did not change between 3.11 and 3.15 (all seven interpreters of layout.c's list).

// Tables, one field a line, aligned by hand:
// clang-format off
#define PYOBJECT_LAYOUT {.size = 16, .ob_refcnt = 0, .ob_type = 8}
#define LIST_LAYOUT {.size = 40, .ob_item = 24, .ob_size = 16}
#define SET_LAYOUT {.size = 200, .used = 24, .table = 40, .mask = 32}
// Include/cpython/setobject.h (3.11-3.15): setentry {PyObject *key; Py_hash_t hash;}.
#define SET_ENTRY_LAYOUT {.size = 16, .key = 0, .hash = 8}
// Include/internal/pycore_dict.h (3.11-3.15): DICT_KEYS_GENERAL 0, _UNICODE 1, _SPLIT 2;
// PyDictKeyEntry {me_hash, me_key, me_value}, PyDictUnicodeEntry {me_key, me_value}.
#define DICT_KEYS_KIND_VALUES {.general = 0, .unicode = 1, .split = 2}
#define DICT_ENTRY_LAYOUT                                                                  \
	{                                                                                  \
		.general_size = 24, .general_key = 8, .general_value = 16,                 \
		.unicode_size = 16, .unicode_key = 0, .unicode_value = 8                   \
	}
#define DICT_LAYOUT {.size = 48, .ma_used = 16, .ma_keys = 32, .ma_values = 40}
// Include/internal/pycore_dict.h, struct _dictkeysobject (3.11-3.15).
#define DICT_KEYS_LAYOUT                                                                   \
	{                                                                                  \
		.dk_log2_size = 8, .dk_log2_index_bytes = 9, .dk_kind = 10,                \
		.dk_nentries = 24, .dk_indices = 32                                        \
	}
#define FLOAT_LAYOUT {.size = 24, .ob_fval = 16}
#define BYTES_LAYOUT {.size = 40, .ob_size = 16, .ob_sval = 32}
// Include/internal/pycore_gil.h: interval, last_holder, locked (3.11-3.15).
#define GIL_STATE_LAYOUT {.locked = 16, .last_holder = 8}
// PyFunctionObject (_Py_COMMON_FIELDS(func_): globals, builtins, name, qualname, code,
// defaults, kwdefaults, closure) and PyCellObject (ob_ref): unchanged 3.11-3.15 in
// Include/cpython/funcobject.h and cellobject.h; checked live on all seven interpreters of
// the matrix by comparing id(f.__closure__) etc. with the words at these offsets.
#define FUNCTION_LAYOUT {.func_qualname = 40, .func_code = 48, .func_closure = 72}
#define CELL_LAYOUT {.ob_ref = 16}
// Include/cpython/classobject.h PyMethodObject: im_func, im_self after the header.
#define METHOD_LAYOUT {.im_func = 16, .im_self = 24}
// Include/descrobject.h: PyMemberDescrObject is PyDescr_COMMON (header, d_type, d_name,
// d_qualname) then PyMemberDef *d_member; PyMemberDef is {name, int type, offset, ...}.
#define MEMBER_DESCR_LAYOUT {.d_member = 40, .type = 8, .offset = 16}
// Include/internal/pycore_code.h CO_FAST_CELL 0x40, CO_FAST_FREE 0x80 (3.11-3.15; a 3.15
// closure's free and cell variables checked live with `locals`, tests/integration/test_live.py).
#define LOCALSPLUS_KIND_BITS {.cell = 0x40, .free = 0x80}
#define WEAKREF_LAYOUT {.wr_object = 16}
// What done-callbacks hold (asyncio_edges.c), unchanged 3.11-3.15 and checked live on all
// seven interpreters of the matrix (a bound method's __func__/__self__, a partial's
// func/args/keywords, every item of a 200-item deque after 70 popleft()s and a __slots__
// attribute through its member descriptor, against the words at these offsets):
// Modules/_functoolsmodule.c partialobject {fn, args, kw, dict, ...} (3.14 adds phcount
// after them);
#define PARTIAL_LAYOUT {.fn = 16, .args = 24, .kw = 32}
// Modules/_collectionsmodule.c dequeobject {PyObject_VAR_HEAD, leftblock, rightblock,
// leftindex, rightindex, ...}, block {leftlink, data[BLOCKLEN = 64], rightlink}.
#define DEQUE_LAYOUT                                                                       \
	{                                                                                  \
		.ob_size = 16, .leftblock = 24, .rightblock = 32, .leftindex = 40,         \
		.rightindex = 48, .block_data = 8, .block_rightlink = 520, .block_len = 64 \
	}
// Include/cpython/methodobject.h PyCFunctionObject, Include/methodobject.h PyMethodDef.
#define CFUNCTION_LAYOUT {.m_ml = 16, .m_self = 24, .ml_name = 0}
// Modules/_asynciomodule.c fut_state (3.11-3.15).
#define FUTURE_STATE_VALUES {.pending = 0, .cancelled = 1, .finished = 2}
// Include/object.h.
#define TP_FLAGS_BITS(inline_bit)                                                       \
	{                                                                                  \
		.long_subclass = 1ul << 24, .unicode_subclass = 1ul << 28,                 \
		.tuple_subclass = 1ul << 26, .list_subclass = 1ul << 25,                   \
		.dict_subclass = 1ul << 29, .bytes_subclass = 1ul << 27,                   \
		.type_subclass = 1ul << 31, .managed_dict = 1ul << 4,                      \
		.inline_values = (inline_bit), .heaptype = 1ul << 9                     \
	}
// Include/cpython/unicodeobject.h PyASCIIObject.state bit-fields of default builds:
// interned:2, kind:3, compact:1, ascii:1 (3.11-3.15; 3.14t differs, see python.c).
#define UNICODE_BITS .kind_shift = 2, .kind_mask = 7, .compact_bit = 0x20, .ascii_bit = 0x40
// 3.12+ Include/internal/pycore_long.h: lv_tag's low 2 bits are the sign (SIGN_MASK 3,
// SIGN_ZERO 1, SIGN_NEGATIVE 2; 0 positive), bit 2 is 3.14's immortality flag, the digit
// count is lv_tag >> NON_SIZE_BITS (3).
#define LV_TAG_BITS .lv_sign_mask = 3, .lv_sign_zero = 1, .lv_sign_negative = 2, .lv_size_shift = 3
// 3.13+ Include/internal/pycore_dict.h: struct _dictvalues {uint8_t capacity, size,
// embedded, valid; PyObject *values[];}.
#define DICT_VALUES_313 {.values = 8, .capacity = 0, .size = 1, .valid = 3}
// 3.13+ Include/internal/pycore_object.h: MANAGED_DICT_OFFSET, the PyManagedDictPointer
// three words before the object (free-threaded builds: one word, -8, for their tables).
#define MANAGED_DICT_PTR_313 {.values = 0, .dict = -24}
#define NO_DEBUGGER_SUPPORT                                                                \
	{                                                                                  \
		.eval_breaker = NF, .remote_debugger_support = NF,                        \
		.remote_debugging_enabled = NF, .debugger_pending_call = NF,              \
		.debugger_script_path = NF, .debugger_script_path_size = NF               \
	}

// 3.11 and 3.12 FutureObj/TaskObj: Modules/_asynciomodule.c, FutureObj_HEAD with int
// _state/_log_tb/_blocking and dict/_weakreflist inside the object (3.11.2 source;
// 3.12.1 checked live).
#define FUTURE_LAYOUT_311                                                                  \
	{                                                                                  \
		.size = 128, .fut_loop = 16, .fut_callback0 = 24, .fut_context0 = 32,      \
		.fut_callbacks = 40, .fut_exception = 48, .fut_result = 64,                \
		.fut_cancel_msg = 80, .fut_cancelled_exc = 120, .fut_state = 88,           \
		.fut_awaited_by = NF, .fut_awaited_by_is_set = NF, .fut_is_task = NF       \
	}
#define TASK_LAYOUT_311                                                                    \
	{                                                                                  \
		.size = 176, .task_fut_waiter = 128, .task_coro = 136, .task_name = 144,   \
		.task_context = 152, .task_must_cancel = 160, .task_must_cancel_mask = 0,  \
		.task_num_cancels_requested = 168, .task_node = NF                         \
	}

// 3.14 and 3.15 FutureObj (3.14 _asynciomodule.c; 3.15 checked live): _cancelled_exc,
// _awaited_by, _state, char _is_task, char _awaited_by_is_set, then the bit-fields
// _log_tb:1, _blocking:1 which TaskObj continues with must_cancel:1 (mask 0x04 of byte
// 110). The fields AsyncioDebug describes are DO.
#define FUTURE_LAYOUT_314                                                                  \
	{                                                                                  \
		.size = 112, .fut_loop = 16, .fut_callback0 = 24, .fut_context0 = 32,      \
		.fut_callbacks = 40, .fut_exception = 48, .fut_result = 64,                \
		.fut_cancel_msg = 80, .fut_cancelled_exc = 88, .fut_state = 104,           \
		.fut_awaited_by = DO, .fut_awaited_by_is_set = DO, .fut_is_task = DO       \
	}
#define TASK_LAYOUT_314                                                                    \
	{                                                                                  \
		.size = DO, .task_fut_waiter = 120, .task_coro = DO, .task_name = DO,      \
		.task_context = 144, .task_must_cancel = 110, .task_must_cancel_mask = 0x04, \
		.task_num_cancels_requested = 112, .task_node = DO                         \
	}

const struct adbg_layout adbg_layout_311 = {
	.runtime_state = {.size = 166688, .finalizing = 24, .interpreters_head = 40,
			  .interpreters_main = 48, .main_thread = 80, .ceval_gil = 360},
	// 3.11 has one GIL, in _PyRuntime.ceval (Include/internal/pycore_ceval_state.h).
	.interpreter_state = {.size = 107752, .id = 48, .next = 0, .threads_head = 16,
			      .threads_main = NF, .imports_modules = 888, .sysdict = 904,
			      .builtins = 912, .ceval_gil = NF, .gil_runtime_state = NF,
			      .gil_runtime_state_enabled = NF, .gil_runtime_state_locked = NF,
			      .gil_runtime_state_holder = NF, .asyncio_tasks_head = NF},
	// Include/cpython/pystate.h: cframe -> _PyCFrame {uint8_t use_tracing;
	// _PyInterpreterFrame *current_frame; ...}; no _status field yet.
	.thread_state = {.size = 360, .prev = 0, .next = 8, .interp = 16, .current_frame = NF,
			 .cframe = 56, .cframe_current_frame = 8, .thread_id = 152,
			 .native_thread_id = 160, .datastack_chunk = 296, .status = NF,
			 .dict = 128, .asyncio_running_loop = NF, .asyncio_running_task = NF,
			 .asyncio_tasks_head = NF, .impl_size = NF},
	.gil_state = GIL_STATE_LAYOUT,
	// Include/internal/pycore_frame.h: f_func, f_globals, f_builtins, f_locals, f_code,
	// frame_obj, previous, prev_instr, stacktop, is_entry, owner, localsplus.
	.interpreter_frame = {.size = 80, .previous = 48, .executable = 32, .globals = 8,
			      .locals = 24, .instr_ptr = 56, .localsplus = 72, .owner = 69,
			      .stackpointer = 64, .tlbc_index = NF, .is_entry = 68,
			      .instr_kind = ADBG_INSTR_PREV, .stack_kind = ADBG_STACK_INDEX,
			      .awaited_depth = 1},
	.frame_owner = {.thread = 0, .generator = 1, .frame_object = 2, .cstack = -1,
			.interpreter = -1},
	.code_object = {.size = 192, .flags = 48, .filename = 112, .name = 120,
			.qualname = 128, .linetable = 136, .firstlineno = 72, .argcount = 56,
			.nlocalsplus = 76, .localsplusnames = 96, .co_names = 32, .localspluskinds = 104,
			.firsttraceable = 168, .co_code_adaptive = 184, .co_tlbc = NF},
	.pyobject = PYOBJECT_LAYOUT,
	.type_object = {.size = 408, .tp_name = 24, .tp_basicsize = 32, .tp_flags = 168,
			.tp_base = 256, .tp_dict = 264, .tp_dictoffset = 288, .tp_repr = 88,
			.ht_cached_keys = 872, .ht_module = 880, .ht_qualname = 864},
	.tuple_object = {.size = 32, .ob_item = 24, .ob_size = 16},
	.list_object = LIST_LAYOUT,
	.set_object = SET_LAYOUT,
	.dict_object = DICT_LAYOUT,
	.dict_values = {.values = 0, .capacity = NF, .size = NF, .valid = NF},
	// 3.11 Include/internal/pycore_object.h: _PyObject_ValuesPointer is obj[-4],
	// _PyObject_ManagedDictPointer obj[-3] (before PyGC_Head).
	.managed_dict_ptr = {.values = -32, .dict = -24},
	.dict_keys = DICT_KEYS_LAYOUT,
	.dict_keys_kind = DICT_KEYS_KIND_VALUES,
	.dict_entry = DICT_ENTRY_LAYOUT,
	.set_entry = SET_ENTRY_LAYOUT,
	.float_object = FLOAT_LAYOUT,
	// 3.11 PyLongObject is a PyVarObject: ob_size is the signed digit count.
	.long_object = {.size = 32, .lv_tag = 16, .ob_digit = 24, .has_lv_tag = false},
	.bytes_object = BYTES_LAYOUT,
	// 3.11 PyASCIIObject still has wstr (size 48; compact 72).
	.unicode_object = {.size = 80, .state = 32, .length = 16, .asciiobject_size = 48,
			   .compactunicodeobject_size = 72, UNICODE_BITS},
	// Include/cpython/genobject.h: 3.11 still has gi_code first.
	.gen_object = {.size = 88, .gi_code = 16, .gi_name = 32, .gi_qualname = 40,
		       .gi_iframe = 80, .gi_frame_state = 75},
	.frame_state = {.created = -2, .suspended = -1, .suspended_yield_from = NO_STATE,
			.suspended_yield_from_locked = NO_STATE, .executing = 0,
			.completed = 1, .cleared = 4},
	.llist_node = {.next = NF, .prev = NF},
	.weakref_object = WEAKREF_LAYOUT,
	.function_object = FUNCTION_LAYOUT,
	.cell_object = CELL_LAYOUT,
	.method_object = METHOD_LAYOUT,
	.member_descr = MEMBER_DESCR_LAYOUT,
	.partial_object = PARTIAL_LAYOUT,
	.deque_object = DEQUE_LAYOUT,
	.localsplus_kind = LOCALSPLUS_KIND_BITS,
	.module_object = {.md_dict = 16, .md_state = 32},
	.cfunction_object = CFUNCTION_LAYOUT,
	.managed_dict = ADBG_MANAGED_DICT_311,
	.asyncio_future_object = FUTURE_LAYOUT_311,
	.asyncio_task_object = TASK_LAYOUT_311,
	.future_state = FUTURE_STATE_VALUES,
	// 3.11 keeps all_tasks/current_tasks in C statics, not in a module state.
	.asyncio_module_state = {.current_tasks = NF, .scheduled_tasks = NF,
				 .eager_tasks = NF},
	.stackref_tag_mask = 0,
	.tp_flags_bits = TP_FLAGS_BITS(0),
	.debugger_support = NO_DEBUGGER_SUPPORT,
};

const struct adbg_layout adbg_layout_312 = {
	.runtime_state = {.size = 459944, .finalizing = 24, .interpreters_head = 40,
			  .interpreters_main = 48, .main_thread = 64, .ceval_gil = NF},
	// 3.12: per-interpreter GIL; ceval.gil points at the one in use, _gil is the
	// interpreter's own (Include/internal/pycore_interp.h).
	.interpreter_state = {.size = 383552, .id = 8, .next = 0, .threads_head = 72,
			      .threads_main = NF, .imports_modules = 944, .sysdict = 352,
			      .builtins = 360, .ceval_gil = 384, .gil_runtime_state = 1040,
			      .gil_runtime_state_enabled = NF, .gil_runtime_state_locked = 1056,
			      .gil_runtime_state_holder = 1048, .asyncio_tasks_head = NF},
	// 3.12 _PyCFrame starts with current_frame (use_tracing is gone).
	.thread_state = {.size = 288, .prev = 0, .next = 8, .interp = 16, .current_frame = NF,
			 .cframe = 56, .cframe_current_frame = 0, .thread_id = 136,
			 .native_thread_id = 144, .datastack_chunk = 232, .status = 24,
			 .dict = 112, .asyncio_running_loop = NF, .asyncio_running_task = NF,
			 .asyncio_tasks_head = NF, .impl_size = NF},
	.gil_state = GIL_STATE_LAYOUT,
	// f_code, previous, f_funcobj, f_globals, f_builtins, f_locals, frame_obj,
	// prev_instr, stacktop, return_offset, owner, localsplus.
	.interpreter_frame = {.size = 80, .previous = 8, .executable = 0, .globals = 24,
			      .locals = 40, .instr_ptr = 56, .localsplus = 72, .owner = 70,
			      .stackpointer = 64, .tlbc_index = NF, .is_entry = NF,
			      .instr_kind = ADBG_INSTR_PREV, .stack_kind = ADBG_STACK_INDEX,
			      .awaited_depth = 1},
	.frame_owner = {.thread = 0, .generator = 1, .frame_object = 2, .cstack = 3,
			.interpreter = -1},
	.code_object = {.size = 200, .flags = 48, .filename = 112, .name = 120,
			.qualname = 128, .linetable = 136, .firstlineno = 68, .argcount = 52,
			.nlocalsplus = 72, .localsplusnames = 96, .co_names = 32, .localspluskinds = 104,
			.firsttraceable = 176, .co_code_adaptive = 192, .co_tlbc = NF},
	.pyobject = PYOBJECT_LAYOUT,
	.type_object = {.size = 416, .tp_name = 24, .tp_basicsize = 32, .tp_flags = 168,
			.tp_base = 256, .tp_dict = 264, .tp_dictoffset = 288, .tp_repr = 88,
			.ht_cached_keys = 880, .ht_module = 888, .ht_qualname = 872},
	.tuple_object = {.size = 32, .ob_item = 24, .ob_size = 16},
	.list_object = LIST_LAYOUT,
	.set_object = SET_LAYOUT,
	.dict_object = DICT_LAYOUT,
	.dict_values = {.values = 0, .capacity = NF, .size = NF, .valid = NF},
	// 3.12 Include/internal/pycore_object.h: _PyObject_DictOrValuesPointer, obj[-3].
	.managed_dict_ptr = {.values = 0, .dict = -24},
	.dict_keys = DICT_KEYS_LAYOUT,
	.dict_keys_kind = DICT_KEYS_KIND_VALUES,
	.dict_entry = DICT_ENTRY_LAYOUT,
	.set_entry = SET_ENTRY_LAYOUT,
	.float_object = FLOAT_LAYOUT,
	.long_object = {.size = 32, .lv_tag = 16, .ob_digit = 24, .has_lv_tag = true, LV_TAG_BITS},
	.bytes_object = BYTES_LAYOUT,
	.unicode_object = {.size = 64, .state = 32, .length = 16, .asciiobject_size = 40,
			   .compactunicodeobject_size = 56, UNICODE_BITS},
	.gen_object = {.size = 80, .gi_code = NF, .gi_name = 24, .gi_qualname = 32,
		       .gi_iframe = 72, .gi_frame_state = 67},
	.frame_state = {.created = -2, .suspended = -1, .suspended_yield_from = NO_STATE,
			.suspended_yield_from_locked = NO_STATE, .executing = 0,
			.completed = 1, .cleared = 4},
	.llist_node = {.next = NF, .prev = NF},
	.weakref_object = WEAKREF_LAYOUT,
	.function_object = FUNCTION_LAYOUT,
	.cell_object = CELL_LAYOUT,
	.method_object = METHOD_LAYOUT,
	.member_descr = MEMBER_DESCR_LAYOUT,
	.partial_object = PARTIAL_LAYOUT,
	.deque_object = DEQUE_LAYOUT,
	.localsplus_kind = LOCALSPLUS_KIND_BITS,
	.module_object = {.md_dict = 16, .md_state = 32},
	.cfunction_object = CFUNCTION_LAYOUT,
	.managed_dict = ADBG_MANAGED_DICT_312,
	.asyncio_future_object = FUTURE_LAYOUT_311,
	.asyncio_task_object = TASK_LAYOUT_311,
	.future_state = FUTURE_STATE_VALUES,
	// Modules/_asynciomodule.c asyncio_state: four type pointers, asyncio_mod,
	// context_kwname, then current_tasks, scheduled_tasks, eager_tasks (3.12/3.13).
	.asyncio_module_state = {.current_tasks = 48, .scheduled_tasks = 56,
				 .eager_tasks = 64},
	.stackref_tag_mask = 0,
	.tp_flags_bits = TP_FLAGS_BITS(0),
	.debugger_support = NO_DEBUGGER_SUPPORT,
};

// 3.13: what _Py_DebugOffsets describes is DO; the rest is built in.
const struct adbg_layout adbg_layout_313 = {
	.runtime_state = {.size = DO, .finalizing = DO, .interpreters_head = DO,
			  .interpreters_main = DO, .main_thread = DO, .ceval_gil = NF},
	.interpreter_state = {.size = DO, .id = DO, .next = DO, .threads_head = DO,
			      .threads_main = DO, .imports_modules = DO, .sysdict = DO,
			      .builtins = DO, .ceval_gil = DO, .gil_runtime_state = DO,
			      .gil_runtime_state_enabled = NF, .gil_runtime_state_locked = DO,
			      .gil_runtime_state_holder = DO, .asyncio_tasks_head = NF},
	.thread_state = {.size = DO, .prev = DO, .next = DO, .interp = DO, .current_frame = DO,
			 .cframe = NF, .cframe_current_frame = NF, .thread_id = DO,
			 .native_thread_id = DO, .datastack_chunk = DO, .status = DO,
			 .dict = 128, .asyncio_running_loop = DO, .asyncio_running_task = NF,
			 .asyncio_tasks_head = NF, .impl_size = DO},
	.gil_state = GIL_STATE_LAYOUT,
	// f_executable, previous, f_funcobj, f_globals, f_builtins, f_locals, frame_obj,
	// instr_ptr, stacktop, return_offset, owner, localsplus.
	.interpreter_frame = {.size = DO, .previous = DO, .executable = DO, .globals = 24,
			      .locals = 40, .instr_ptr = DO, .localsplus = DO, .owner = DO,
			      .stackpointer = 64, .tlbc_index = NF, .is_entry = NF,
			      .instr_kind = ADBG_INSTR_CURRENT, .stack_kind = ADBG_STACK_INDEX,
			      .awaited_depth = 1},
	.frame_owner = {.thread = 0, .generator = 1, .frame_object = 2, .cstack = 3,
			.interpreter = -1},
	.code_object = {.size = DO, .flags = 48, .filename = DO, .name = DO, .qualname = DO,
			.linetable = DO, .firstlineno = DO, .argcount = DO, .nlocalsplus = 72,
			.localsplusnames = DO, .co_names = 32, .localspluskinds = DO, .firsttraceable = 184,
			.co_code_adaptive = DO, .co_tlbc = NF},
	.pyobject = {.size = DO, .ob_refcnt = 0, .ob_type = DO},
	.type_object = {.size = DO, .tp_name = DO, .tp_basicsize = 32, .tp_flags = DO,
			.tp_base = 256, .tp_dict = 264, .tp_dictoffset = 288, .tp_repr = DO,
			.ht_cached_keys = 880, .ht_module = 888, .ht_qualname = 872},
	.tuple_object = {.size = DO, .ob_item = DO, .ob_size = DO},
	.list_object = {.size = DO, .ob_item = DO, .ob_size = DO},
	.set_object = SET_LAYOUT,
	.dict_object = {.size = DO, .ma_used = 16, .ma_keys = DO, .ma_values = DO},
	// 3.13 PyDictValues: capacity, size, embedded, valid (uint8_t), then values[].
	.dict_values = DICT_VALUES_313,
	.managed_dict_ptr = MANAGED_DICT_PTR_313,
	.dict_keys = DICT_KEYS_LAYOUT,
	.dict_keys_kind = DICT_KEYS_KIND_VALUES,
	.dict_entry = DICT_ENTRY_LAYOUT,
	.set_entry = SET_ENTRY_LAYOUT,
	.float_object = {.size = DO, .ob_fval = DO},
	.long_object = {.size = DO, .lv_tag = DO, .ob_digit = DO, .has_lv_tag = true,
			LV_TAG_BITS},
	.bytes_object = {.size = DO, .ob_size = DO, .ob_sval = DO},
	.unicode_object = {.size = DO, .state = DO, .length = DO, .asciiobject_size = DO,
			   .compactunicodeobject_size = 56, UNICODE_BITS},
	// 3.13's _Py_DebugOffsets has no gen_object section (added in 3.14).
	.gen_object = {.size = 80, .gi_code = NF, .gi_name = 24, .gi_qualname = 32,
		       .gi_iframe = 72, .gi_frame_state = 67},
	// Include/internal/pycore_frame.h 3.13: FRAME_SUSPENDED_YIELD_FROM added.
	.frame_state = {.created = -3, .suspended = -2, .suspended_yield_from = -1,
			.suspended_yield_from_locked = NO_STATE, .executing = 0,
			.completed = 1, .cleared = 4},
	// Include/internal/pycore_llist.h exists from 3.13 (nothing of asyncio uses it yet).
	.llist_node = {.next = 0, .prev = 8},
	.weakref_object = WEAKREF_LAYOUT,
	.function_object = FUNCTION_LAYOUT,
	.cell_object = CELL_LAYOUT,
	.method_object = METHOD_LAYOUT,
	.member_descr = MEMBER_DESCR_LAYOUT,
	.partial_object = PARTIAL_LAYOUT,
	.deque_object = DEQUE_LAYOUT,
	.localsplus_kind = LOCALSPLUS_KIND_BITS,
	.module_object = {.md_dict = 16, .md_state = 32},
	.cfunction_object = CFUNCTION_LAYOUT,
	.managed_dict = ADBG_MANAGED_DICT_313,
	// 3.13 Modules/_asynciomodule.c: _cancelled_exc moved before _state, the
	// bit-fields _log_tb, _blocking, must_cancel (0x04), log_destroy_pending share the
	// unsigned at 100, dict and weakref list moved to the pre-header.
	.asyncio_future_object = {.size = 104, .fut_loop = 16, .fut_callback0 = 24,
				  .fut_context0 = 32, .fut_callbacks = 40, .fut_exception = 48,
				  .fut_result = 64, .fut_cancel_msg = 80,
				  .fut_cancelled_exc = 88, .fut_state = 96,
				  .fut_awaited_by = NF, .fut_awaited_by_is_set = NF,
				  .fut_is_task = NF},
	.asyncio_task_object = {.size = 144, .task_fut_waiter = 112, .task_coro = 120,
				.task_name = 128, .task_context = 136, .task_must_cancel = 100,
				.task_must_cancel_mask = 0x04,
				.task_num_cancels_requested = 104, .task_node = NF},
	.future_state = FUTURE_STATE_VALUES,
	.asyncio_module_state = {.current_tasks = 48, .scheduled_tasks = 56,
				 .eager_tasks = 64},
	.stackref_tag_mask = 0,
	.tp_flags_bits = TP_FLAGS_BITS(1ul << 2),
	.debugger_support = NO_DEBUGGER_SUPPORT,
};

#define DEBUGGER_SUPPORT_DO                                                                \
	{                                                                                  \
		.eval_breaker = DO, .remote_debugger_support = DO,                        \
		.remote_debugging_enabled = DO, .debugger_pending_call = DO,              \
		.debugger_script_path = DO, .debugger_script_path_size = DO               \
	}

const struct adbg_layout adbg_layout_314 = {
	.runtime_state = {.size = DO, .finalizing = DO, .interpreters_head = DO,
			  .interpreters_main = DO, .main_thread = DO, .ceval_gil = NF},
	.interpreter_state = {.size = DO, .id = DO, .next = DO, .threads_head = DO,
			      .threads_main = DO, .imports_modules = DO, .sysdict = DO,
			      .builtins = DO, .ceval_gil = DO, .gil_runtime_state = DO,
			      .gil_runtime_state_enabled = NF, .gil_runtime_state_locked = DO,
			      .gil_runtime_state_holder = DO, .asyncio_tasks_head = DO},
	.thread_state = {.size = DO, .prev = DO, .next = DO, .interp = DO, .current_frame = DO,
			 .cframe = NF, .cframe_current_frame = NF, .thread_id = DO,
			 .native_thread_id = DO, .datastack_chunk = DO, .status = DO,
			 .dict = 128, .asyncio_running_loop = DO, .asyncio_running_task = DO,
			 .asyncio_tasks_head = DO, .impl_size = DO},
	.gil_state = GIL_STATE_LAYOUT,
	.interpreter_frame = {.size = DO, .previous = DO, .executable = DO, .globals = 24,
			      .locals = 40, .instr_ptr = DO, .localsplus = DO, .owner = DO,
			      .stackpointer = DO, .tlbc_index = NF, .is_entry = NF,
			      .instr_kind = ADBG_INSTR_CURRENT,
			      .stack_kind = ADBG_STACK_POINTER, .awaited_depth = 1},
	// Include/internal/pycore_interpframe_structs.h 3.14: INTERPRETER 3, CSTACK 4.
	.frame_owner = {.thread = 0, .generator = 1, .frame_object = 2, .cstack = 4,
			.interpreter = 3},
	.code_object = {.size = DO, .flags = 48, .filename = DO, .name = DO, .qualname = DO,
			.linetable = DO, .firstlineno = DO, .argcount = DO, .nlocalsplus = 72,
			.localsplusnames = DO, .co_names = 32, .localspluskinds = DO, .firsttraceable = 192,
			.co_code_adaptive = DO, .co_tlbc = NF},
	.pyobject = {.size = DO, .ob_refcnt = 0, .ob_type = DO},
	.type_object = {.size = DO, .tp_name = DO, .tp_basicsize = 32, .tp_flags = DO,
			.tp_base = 256, .tp_dict = 264, .tp_dictoffset = 288, .tp_repr = DO,
			.ht_cached_keys = 880, .ht_module = 888, .ht_qualname = 872},
	.tuple_object = {.size = DO, .ob_item = DO, .ob_size = DO},
	.list_object = {.size = DO, .ob_item = DO, .ob_size = DO},
	.set_object = {.size = DO, .used = DO, .table = DO, .mask = DO},
	.dict_object = {.size = DO, .ma_used = 16, .ma_keys = DO, .ma_values = DO},
	.dict_values = DICT_VALUES_313,
	.managed_dict_ptr = MANAGED_DICT_PTR_313,
	.dict_keys = DICT_KEYS_LAYOUT,
	.dict_keys_kind = DICT_KEYS_KIND_VALUES,
	.dict_entry = DICT_ENTRY_LAYOUT,
	.set_entry = SET_ENTRY_LAYOUT,
	.float_object = {.size = DO, .ob_fval = DO},
	.long_object = {.size = DO, .lv_tag = DO, .ob_digit = DO, .has_lv_tag = true,
			LV_TAG_BITS},
	.bytes_object = {.size = DO, .ob_size = DO, .ob_sval = DO},
	.unicode_object = {.size = DO, .state = DO, .length = DO, .asciiobject_size = DO,
			   .compactunicodeobject_size = 56, UNICODE_BITS},
	.gen_object = {.size = DO, .gi_code = NF, .gi_name = DO, .gi_qualname = 32,
		       .gi_iframe = DO, .gi_frame_state = DO},
	.frame_state = {.created = -3, .suspended = -2, .suspended_yield_from = -1,
			.suspended_yield_from_locked = NO_STATE, .executing = 0,
			.completed = 1, .cleared = 4},
	.llist_node = {.next = DO, .prev = DO},
	.weakref_object = WEAKREF_LAYOUT,
	.function_object = FUNCTION_LAYOUT,
	.cell_object = CELL_LAYOUT,
	.method_object = METHOD_LAYOUT,
	.member_descr = MEMBER_DESCR_LAYOUT,
	.partial_object = PARTIAL_LAYOUT,
	.deque_object = DEQUE_LAYOUT,
	.localsplus_kind = LOCALSPLUS_KIND_BITS,
	.module_object = {.md_dict = 16, .md_state = 32},
	.cfunction_object = CFUNCTION_LAYOUT,
	.managed_dict = ADBG_MANAGED_DICT_313,
	.asyncio_future_object = FUTURE_LAYOUT_314,
	.asyncio_task_object = TASK_LAYOUT_314,
	.future_state = FUTURE_STATE_VALUES,
	// 3.14+ finds tasks through the AsyncioDebug lists, not the module state.
	.asyncio_module_state = {.current_tasks = NF, .scheduled_tasks = NF,
				 .eager_tasks = NF},
	// Include/internal/pycore_stackref.h 3.14 default build: Py_TAG_BITS 3.
	.stackref_tag_mask = 3,
	.tp_flags_bits = TP_FLAGS_BITS(1ul << 2),
	.debugger_support = DEBUGGER_SUPPORT_DO,
	// Modules/_asynciomodule.c (3.14+): GENERATE_DEBUG_SECTION(AsyncioDebug, ...).
	.has_asyncio_debug = true,
};

const struct adbg_layout adbg_layout_315 = {
	.runtime_state = {.size = DO, .finalizing = DO, .interpreters_head = DO,
			  .interpreters_main = DO, .main_thread = DO, .ceval_gil = NF},
	.interpreter_state = {.size = DO, .id = DO, .next = DO, .threads_head = DO,
			      .threads_main = DO, .imports_modules = DO, .sysdict = DO,
			      .builtins = DO, .ceval_gil = DO, .gil_runtime_state = DO,
			      .gil_runtime_state_enabled = NF, .gil_runtime_state_locked = DO,
			      .gil_runtime_state_holder = DO, .asyncio_tasks_head = DO},
	// 3.15 PyThreadState gained base_frame, last_profiled_frame, ...: dict moved to 152.
	.thread_state = {.size = DO, .prev = DO, .next = DO, .interp = DO, .current_frame = DO,
			 .cframe = NF, .cframe_current_frame = NF, .thread_id = DO,
			 .native_thread_id = DO, .datastack_chunk = DO, .status = DO,
			 .dict = 152, .asyncio_running_loop = DO, .asyncio_running_task = DO,
			 .asyncio_tasks_head = DO, .impl_size = DO},
	.gil_state = GIL_STATE_LAYOUT,
	// 3.15: the awaited object of a suspended `await` is stackpointer[-2]
	// (Python/bytecodes.c _SEND_GEN_FRAME leaves a NULL above it; checked live).
	.interpreter_frame = {.size = DO, .previous = DO, .executable = DO, .globals = 24,
			      .locals = 40, .instr_ptr = DO, .localsplus = DO, .owner = DO,
			      .stackpointer = DO, .tlbc_index = NF, .is_entry = NF,
			      .instr_kind = ADBG_INSTR_CURRENT,
			      .stack_kind = ADBG_STACK_POINTER, .awaited_depth = 2},
	// Include/internal/pycore_interpframe_structs.h 3.15: CSTACK is gone.
	.frame_owner = {.thread = 0, .generator = 1, .frame_object = 2, .cstack = -1,
			.interpreter = 3},
	.code_object = {.size = DO, .flags = 48, .filename = DO, .name = DO, .qualname = DO,
			.linetable = DO, .firstlineno = DO, .argcount = DO, .nlocalsplus = 72,
			.localsplusnames = DO, .co_names = 32, .localspluskinds = DO, .firsttraceable = 192,
			.co_code_adaptive = DO, .co_tlbc = NF},
	.pyobject = {.size = DO, .ob_refcnt = 0, .ob_type = DO},
	// 3.15 PyTypeObject grew by 8 after tp_dictoffset; ht_* moved by 8.
	.type_object = {.size = DO, .tp_name = DO, .tp_basicsize = DO, .tp_flags = DO,
			.tp_base = 256, .tp_dict = 264, .tp_dictoffset = DO, .tp_repr = DO,
			.ht_cached_keys = DO, .ht_module = 896, .ht_qualname = 880},
	.tuple_object = {.size = DO, .ob_item = DO, .ob_size = DO},
	.list_object = {.size = DO, .ob_item = DO, .ob_size = DO},
	.set_object = {.size = DO, .used = DO, .table = DO, .mask = DO},
	.dict_object = {.size = DO, .ma_used = 16, .ma_keys = DO, .ma_values = DO},
	.dict_values = DICT_VALUES_313,
	.managed_dict_ptr = MANAGED_DICT_PTR_313,
	.dict_keys = DICT_KEYS_LAYOUT,
	.dict_keys_kind = DICT_KEYS_KIND_VALUES,
	.dict_entry = DICT_ENTRY_LAYOUT,
	.set_entry = SET_ENTRY_LAYOUT,
	.float_object = {.size = DO, .ob_fval = DO},
	.long_object = {.size = DO, .lv_tag = DO, .ob_digit = DO, .has_lv_tag = true,
			LV_TAG_BITS},
	.bytes_object = {.size = DO, .ob_size = DO, .ob_sval = DO},
	.unicode_object = {.size = DO, .state = DO, .length = DO, .asciiobject_size = DO,
			   .compactunicodeobject_size = DO, UNICODE_BITS},
	.gen_object = {.size = DO, .gi_code = NF, .gi_name = DO, .gi_qualname = 32,
		       .gi_iframe = DO, .gi_frame_state = DO},
	// Include/internal/pycore_frame.h 3.15: non-negative, COMPLETED gone,
	// SUSPENDED_YIELD_FROM_LOCKED added.
	.frame_state = {.created = 0, .suspended = 1, .suspended_yield_from = 2,
			.suspended_yield_from_locked = 3, .executing = 4,
			.completed = NO_STATE, .cleared = 5},
	.llist_node = {.next = DO, .prev = DO},
	.weakref_object = WEAKREF_LAYOUT,
	.function_object = FUNCTION_LAYOUT,
	.cell_object = CELL_LAYOUT,
	.method_object = METHOD_LAYOUT,
	.member_descr = MEMBER_DESCR_LAYOUT,
	.partial_object = PARTIAL_LAYOUT,
	.deque_object = DEQUE_LAYOUT,
	.localsplus_kind = LOCALSPLUS_KIND_BITS,
	// 3.15 PyModuleObject: md_state moved to 24 (Include/internal/pycore_moduleobject.h).
	.module_object = {.md_dict = 16, .md_state = 24},
	.cfunction_object = CFUNCTION_LAYOUT,
	.managed_dict = ADBG_MANAGED_DICT_313,
	.asyncio_future_object = FUTURE_LAYOUT_314,
	.asyncio_task_object = TASK_LAYOUT_314,
	.future_state = FUTURE_STATE_VALUES,
	.asyncio_module_state = {.current_tasks = NF, .scheduled_tasks = NF,
				 .eager_tasks = NF},
	.stackref_tag_mask = 3,
	.tp_flags_bits = TP_FLAGS_BITS(1ul << 2),
	.debugger_support = DEBUGGER_SUPPORT_DO,
	// Modules/_asynciomodule.c (3.14+): GENERATE_DEBUG_SECTION(AsyncioDebug, ...).
	.has_asyncio_debug = true,
};


/* -- free-threaded builds (Py_GIL_DISABLED) ------------------------------------------ */
//
// Include/object.h: a free-threaded PyObject is {ob_tid, ob_flags/_padding, ob_mutex,
// ob_gc_bits, ob_ref_local, ob_ref_shared, ob_type}, 32 bytes instead of 16, so every field
// after PyObject_HEAD moves by pyobject.size - 16. The target's _Py_DebugOffsets already
// describes its own build; these are the built-in fields (above) that follow an object
// header and move with it. Fields the tables leave to the target (DO) are skipped.
// Checked against an offsetof probe compiled with -DPy_GIL_DISABLED against the 3.13.5,
// 3.14.10 and 3.15.2 headers (the method gives byte for byte the layout of a real
// `configure --disable-gil` 3.13.5 build) and live on that 3.13.5t.
#define OF(f) ((uint32_t)offsetof(struct adbg_layout, f))
const uint32_t adbg_layout_object_fields[] = {
	OF(code_object.flags), OF(code_object.nlocalsplus), OF(code_object.co_names),
	OF(code_object.firsttraceable),
	OF(type_object.tp_basicsize), OF(type_object.tp_base), OF(type_object.tp_dict),
	OF(type_object.tp_dictoffset), OF(type_object.ht_cached_keys),
	OF(type_object.ht_module), OF(type_object.ht_qualname),
	OF(set_object.size), OF(set_object.used), OF(set_object.table), OF(set_object.mask),
	OF(dict_object.ma_used),
	OF(unicode_object.compactunicodeobject_size),
	OF(gen_object.size), OF(gen_object.gi_code), OF(gen_object.gi_name),
	OF(gen_object.gi_qualname), OF(gen_object.gi_iframe), OF(gen_object.gi_frame_state),
	OF(weakref_object.wr_object),
	OF(function_object.func_qualname), OF(function_object.func_code),
	OF(function_object.func_closure),
	OF(cell_object.ob_ref),
	OF(method_object.im_func), OF(method_object.im_self),
	OF(member_descr.d_member),
	OF(module_object.md_dict), OF(module_object.md_state),
	OF(partial_object.fn), OF(partial_object.args), OF(partial_object.kw),
	OF(deque_object.ob_size), OF(deque_object.leftblock), OF(deque_object.rightblock),
	OF(deque_object.leftindex), OF(deque_object.rightindex),
	OF(cfunction_object.m_ml), OF(cfunction_object.m_self),
	OF(asyncio_future_object.size), OF(asyncio_future_object.fut_loop),
	OF(asyncio_future_object.fut_callback0), OF(asyncio_future_object.fut_context0),
	OF(asyncio_future_object.fut_callbacks), OF(asyncio_future_object.fut_exception),
	OF(asyncio_future_object.fut_result), OF(asyncio_future_object.fut_cancel_msg),
	OF(asyncio_future_object.fut_cancelled_exc), OF(asyncio_future_object.fut_state),
	OF(asyncio_future_object.fut_awaited_by),
	OF(asyncio_future_object.fut_awaited_by_is_set),
	OF(asyncio_future_object.fut_is_task),
	OF(asyncio_task_object.size), OF(asyncio_task_object.task_fut_waiter),
	OF(asyncio_task_object.task_coro), OF(asyncio_task_object.task_name),
	OF(asyncio_task_object.task_context), OF(asyncio_task_object.task_must_cancel),
	OF(asyncio_task_object.task_num_cancels_requested),
	OF(asyncio_task_object.task_node),
};
const size_t adbg_layout_object_nfields =
	sizeof(adbg_layout_object_fields) / sizeof(adbg_layout_object_fields[0]);

// What else differs in a free-threaded build, per minor:
//  - Include/internal/pycore_gil.h: struct _gil_runtime_state starts with `int enabled`
//    (then interval, last_holder, locked): last_holder 16, locked 24.
//  - Include/internal/pycore_object.h: MANAGED_DICT_OFFSET is -8 (no PyGC_Head before
//    the object; the weakref pointer is at -16).
//  - 3.14+ Include/cpython/unicodeobject.h: `unsigned char interned` is a whole byte and
//    the :24 padding is gone, so kind is bits 8-10, compact 11, ascii 12 (3.13t keeps the
//    default bit-fields; checked live: state 0x66 for "hello").
//  - 3.14+ Include/internal/pycore_stackref.h: Py_TAG_BITS is 1.
//  - 3.14+ TaskObj ends with uintptr_t task_tid (size 192): AsyncioDebug gives it.
//  - 3.14+ thread-local bytecode: interpreter_frame.tlbc_index and code_object.co_tlbc come
//    from the target's _Py_DebugOffsets.
// 3.14t and 3.15t are computed from the headers only: no such interpreter could be built
// here yet (their sources are not downloadable), hence live_verified = false.
#define FT_UNICODE_313 .kind_shift = 2, .kind_mask = 7, .compact_bit = 0x20, .ascii_bit = 0x40
#define FT_UNICODE_314 .kind_shift = 8, .kind_mask = 7, .compact_bit = 0x800, .ascii_bit = 0x1000
static const struct adbg_layout_ft ft_layouts[] = {
	{.minor = 13, .gil_state = {.locked = 24, .last_holder = 16}, .managed_dict = -8,
	 .unicode = {FT_UNICODE_313}, .stackref_tag_mask = 0, .live_verified = true},
	{.minor = 14, .gil_state = {.locked = 24, .last_holder = 16}, .managed_dict = -8,
	 .unicode = {FT_UNICODE_314}, .stackref_tag_mask = 1, .live_verified = false},
	{.minor = 15, .gil_state = {.locked = 24, .last_holder = 16}, .managed_dict = -8,
	 .unicode = {FT_UNICODE_314}, .stackref_tag_mask = 1, .live_verified = false},
};

const struct adbg_layout_ft *adbg_layout_ft_find(unsigned minor)
{
	for (size_t i = 0; i < sizeof(ft_layouts) / sizeof(ft_layouts[0]); i++)
		if (ft_layouts[i].minor == minor)
			return &ft_layouts[i];
	return NULL;
}

/* -- the pending-call queue (3.11-3.13) ---------------------------------------------- */

static const struct adbg_pending_calls_layout pending_calls[] = {
	// 3.11.2 (Debian) and 3.11.7: ceval at interp+96, eval_breaker +100, pending +112.
	{ 11, ADBG_PENDING_311, { 112 }, 1, 100, 32, 16, 16, 528, 0 },
	// 3.12.1: _PyRuntime+2016; interp->ceval.eval_breaker at +368.
	{ 12, ADBG_PENDING_312, { 2016 }, 1, 368, 32, 16, 24, 536, 8 },
	// 3.13.0: 2640; 3.13.18: 2664 (a field was added earlier in _PyRuntimeState).
	{ 13, ADBG_PENDING_313, { 2640, 2664 }, 2, 0, 300, 24, 24, 7224, 12 },
};

const struct adbg_pending_calls_layout *adbg_layout_pending_calls(const struct adbg_layout *l)
{
	// 3.13t: the same queue at the same place (offsetof(_PyRuntimeState,
	// ceval.pending_mainthread) is 2640 in 3.13.5t's headers too); 3.14+ use PEP 768.
	if (l->major != 3)
		return NULL;
	for (size_t i = 0; i < sizeof(pending_calls) / sizeof(pending_calls[0]); i++)
		if (pending_calls[i].minor == l->minor)
			return &pending_calls[i];
	return NULL;
}
// clang-format on
