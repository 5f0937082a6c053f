// SPDX-License-Identifier: MIT
// One layout struct for every supported CPython (3.11-3.15): the byte offsets, sizes and
// constants the readers need.
//
// It is filled once per target by adbg_layout_build: from the target's own
// _Py_DebugOffsets (3.13+), completed by built-in per-minor tables for what that table
// does not describe (asyncio objects before 3.14, pre-header layouts, enum values), and
// entirely from built-in tables on 3.11 and 3.12. adbg_layout_validate checks it once;
// readers then use it without re-checking. Fields are named after _Py_DebugOffsets
// (Include/internal/pycore_debug_offsets.h) so both can be grepped together. An offset
// that does not exist in a version is ADBG_NO_FIELD. Version-specific knowledge lives in
// layout.c only: readers never test the version.
#ifndef AIODBG_LAYOUT_H
#define AIODBG_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/** Marks an offset that does not exist in this version. */
#define ADBG_NO_FIELD UINT64_MAX
/** Marks a frame_state value that does not exist in this version. */
#define ADBG_NO_STATE INT8_MIN

/**
 * Bytes of counts at the start of a 3.13+ split values array (PyDictValues): the
 * dict_values.capacity, size and valid offsets index into them.
 */
#define ADBG_DICT_VALUES_COUNTS 4

/** Largest dict entry (PyDictKeyEntry, 24 bytes) and set entry (setentry, 16) allowed. */
#define ADBG_DICT_ENTRY_MAX 24
#define ADBG_SET_ENTRY_MAX 16

/** How instance attribute dicts are found (managed dicts changed in every minor). */
enum adbg_managed_dict_kind {
	/** 3.11: values pointer at obj-32, dict pointer at obj-24. */
	ADBG_MANAGED_DICT_311,
	/** 3.12: one tagged word at obj-24 (low bit set: values array). */
	ADBG_MANAGED_DICT_312,
	/** 3.13+: inline values after the object; PyManagedDictPointer at obj-24 (FT obj-8). */
	ADBG_MANAGED_DICT_313,
};

/** How a frame's instruction pointer is stored. */
enum adbg_instr_kind {
	/** 3.11/3.12: prev_instr, the last executed code unit. */
	ADBG_INSTR_PREV,
	/** 3.13+: instr_ptr, the current code unit. */
	ADBG_INSTR_CURRENT,
};

/** How the value stack top is stored. */
enum adbg_stack_kind {
	/** 3.11-3.13: int stacktop, index into localsplus. */
	ADBG_STACK_INDEX,
	/** 3.14+: _PyStackRef *stackpointer. */
	ADBG_STACK_POINTER,
};

struct adbg_layout {
	/** PY_VERSION_HEX of the target. */
	uint64_t version;
	unsigned major, minor, micro;
	bool free_threaded;
	/**
	 * A free-threaded flavour whose layout was computed from its headers but never
	 * checked against a running interpreter (3.14t, 3.15t): say so once per session.
	 */
	bool live_unverified;
	/** the target published _Py_DebugOffsets (3.13+). */
	bool from_debug_offsets;
	/**
	 * The AsyncioDebug section was given (3.14+). Without it (asyncio not imported
	 * yet, or the section's file unreadable) the asyncio thread/interpreter fields
	 * are ADBG_NO_FIELD.
	 */
	bool from_asyncio_debug;
	/**
	 * The version publishes an AsyncioDebug section (3.14+), which the target maps only
	 * once it imports asyncio: until it is found, look again before each snapshot.
	 */
	bool has_asyncio_debug;

	struct {
		uint64_t size;
		uint64_t finalizing;
		uint64_t interpreters_head;
		uint64_t interpreters_main;
		/** pthread id of the main thread (unsigned long). */
		uint64_t main_thread;
		/**
		 * 3.11 only: the GIL (struct _gil_runtime_state) embedded in _PyRuntimeState
		 * (ceval.gil); ADBG_NO_FIELD from 3.12 on, where each interpreter points to
		 * the GIL it uses (interpreter_state.ceval_gil).
		 */
		uint64_t ceval_gil;
	} runtime_state;

	struct {
		uint64_t size;
		uint64_t id;
		uint64_t next;
		uint64_t threads_head;
		/** 3.14+ in the table; ADBG_NO_FIELD before (use runtime main_thread). */
		uint64_t threads_main;
		uint64_t imports_modules;
		uint64_t sysdict;
		uint64_t builtins;
		/** 3.12+: ceval.gil, a pointer to the struct _gil_runtime_state in use. */
		uint64_t ceval_gil;
		/** 3.12+: _gil, the interpreter's own struct _gil_runtime_state. */
		uint64_t gil_runtime_state;
		/** FT only (ADBG_NO_FIELD otherwise); relative to the interpreter. */
		uint64_t gil_runtime_state_enabled;
		/**
		 * _gil.locked and _gil.last_holder relative to the *interpreter*, as in
		 * _Py_DebugOffsets. To read the GIL an interpreter actually uses, follow
		 * ceval_gil and add gil_state.locked / gil_state.last_holder instead.
		 */
		uint64_t gil_runtime_state_locked;
		uint64_t gil_runtime_state_holder;
		/** 3.14+: PyInterpreterState.asyncio_tasks_head (from AsyncioDebug). */
		uint64_t asyncio_tasks_head;
	} interpreter_state;

	struct {
		uint64_t size;
		uint64_t prev;
		uint64_t next;
		uint64_t interp;
		/** 3.13+: tstate->current_frame; ADBG_NO_FIELD on 3.11/3.12. */
		uint64_t current_frame;
		/** 3.11/3.12: tstate->cframe, then cframe_current_frame inside _PyCFrame. */
		uint64_t cframe;
		uint64_t cframe_current_frame;
		uint64_t thread_id;
		uint64_t native_thread_id;
		uint64_t datastack_chunk;
		uint64_t status;
		/** PyThreadState.dict (3.11/3.12 keep the running loop there). */
		uint64_t dict;
		/** _PyThreadStateImpl fields: 3.13+ running loop, 3.14+ task and task list. */
		uint64_t asyncio_running_loop;
		uint64_t asyncio_running_task;
		uint64_t asyncio_tasks_head;
		/** sizeof(_PyThreadStateImpl) (3.13+), which holds the asyncio fields. */
		uint64_t impl_size;
	} thread_state;

	/** Offsets inside struct _gil_runtime_state (Include/internal/pycore_gil.h). */
	struct {
		/** int locked. */
		uint64_t locked;
		/** PyThreadState *last_holder. */
		uint64_t last_holder;
	} gil_state;

	struct {
		uint64_t size;
		uint64_t previous;
		/** code object (3.11: f_code; 3.12: f_code; 3.13+: f_executable, tagged 3.14+). */
		uint64_t executable;
		uint64_t globals;
		uint64_t locals;
		uint64_t instr_ptr;
		uint64_t localsplus;
		uint64_t owner;
		/** stacktop (int, ADBG_STACK_INDEX) or stackpointer (ADBG_STACK_POINTER). */
		uint64_t stackpointer;
		/** FT 3.14+: int32 tlbc_index. */
		uint64_t tlbc_index;
		/**
		 * 3.11 only: bool is_entry, set on the first frame an entry into the eval
		 * loop pushed (3.12+ mark entries with shim frames: frame_owner.cstack and
		 * frame_owner.interpreter instead).
		 */
		uint64_t is_entry;
		enum adbg_instr_kind instr_kind;
		enum adbg_stack_kind stack_kind;
		/**
		 * 3.15+: the awaited object is stackpointer[-2], not [-1] (extra NULL
		 * operand of _SEND_GEN_FRAME).
		 */
		unsigned awaited_depth;
	} interpreter_frame;

	/** enum _frameowner values; -1 when the version has no such owner. */
	struct {
		int thread;
		int generator;
		int frame_object;
		int cstack;
		int interpreter;
	} frame_owner;

	struct {
		uint64_t size;
		uint64_t flags;
		uint64_t filename;
		uint64_t name;
		uint64_t qualname;
		uint64_t linetable;
		uint64_t firstlineno;
		uint64_t argcount;
		uint64_t nlocalsplus;
		uint64_t localsplusnames;
		uint64_t localspluskinds;
		/** tuple co_names: the global and attribute names the code uses. */
		uint64_t co_names;
		uint64_t firsttraceable;
		uint64_t co_code_adaptive;
		/** FT 3.14+: _PyCodeArray *co_tlbc. */
		uint64_t co_tlbc;
	} code_object;

	/**
	 * Bits of the _PyLocals_Kind bytes in code_object.localspluskinds: a cell variable
	 * (CO_FAST_CELL) and a free variable (CO_FAST_FREE), whose slot holds a cell once
	 * the frame runs.
	 */
	struct {
		uint8_t cell;
		uint8_t free;
	} localsplus_kind;

	struct {
		uint64_t size;
		uint64_t ob_refcnt;
		uint64_t ob_type;
	} pyobject;

	struct {
		uint64_t size;
		uint64_t tp_name;
		uint64_t tp_basicsize;
		/** Py_ssize_t tp_itemsize (40 on 3.11-3.15); objects.c needs it for negative
		 *  tp_dictoffset. 0 or ADBG_NO_FIELD: unknown (such dicts are unsupported). */
		uint64_t tp_itemsize;
		uint64_t tp_flags;
		uint64_t tp_base;
		/** PyObject *tp_dict (heap types keep their class dict there). */
		uint64_t tp_dict;
		uint64_t tp_dictoffset;
		uint64_t tp_repr;
		/** PyHeapTypeObject fields. */
		uint64_t ht_cached_keys;
		uint64_t ht_module;
		uint64_t ht_qualname;
	} type_object;

	struct {
		uint64_t size;
		uint64_t ob_item;
		uint64_t ob_size;
	} tuple_object, list_object;

	struct {
		uint64_t size;
		uint64_t used;
		uint64_t table;
		uint64_t mask;
	} set_object;

	/** setentry {key, hash}: the entries of a set's table. */
	struct {
		uint64_t size;
		uint64_t key;
		uint64_t hash;
	} set_entry;

	struct {
		uint64_t size;
		uint64_t ma_used;
		uint64_t ma_keys;
		uint64_t ma_values;
	} dict_object;

	/** PyDictValues: the values array (3.11/3.12: at 0; 3.13+: after 4 bytes of counts). */
	struct {
		uint64_t values;
		/**
		 * 3.13+: the uint8_t counts before the array (capacity, size, valid; the
		 * insertion order follows values[capacity]); ADBG_NO_FIELD before.
		 */
		uint64_t capacity;
		uint64_t size;
		uint64_t valid;
	} dict_values;

	/**
	 * Where an instance's managed dict pointers are, in bytes from the object (in the
	 * pre-header, so negative); 0 when the version has no such pointer. What they hold
	 * depends on managed_dict.
	 */
	struct {
		/** 3.11: the split values pointer (_PyObject_ValuesPointer). */
		int64_t values;
		/** 3.11: the dict; 3.12: PyDictOrValues; 3.13+: PyManagedDictPointer. */
		int64_t dict;
	} managed_dict_ptr;

	/** PyDictKeysObject. */
	struct {
		uint64_t dk_log2_size;
		uint64_t dk_log2_index_bytes;
		uint64_t dk_kind;
		uint64_t dk_nentries;
		uint64_t dk_indices;
	} dict_keys;

	/** dk_kind values (enum DictKeysKind). */
	struct {
		unsigned general;
		unsigned unicode;
		unsigned split;
	} dict_keys_kind;

	/**
	 * The entries after a keys object's indices: PyDictKeyEntry {me_hash, me_key,
	 * me_value} of general keys, PyDictUnicodeEntry {me_key, me_value} of str-only and
	 * split keys.
	 */
	struct {
		uint64_t general_size;
		uint64_t general_key;
		uint64_t general_value;
		uint64_t unicode_size;
		uint64_t unicode_key;
		uint64_t unicode_value;
	} dict_entry;

	struct {
		uint64_t size;
		uint64_t ob_fval;
	} float_object;

	struct {
		uint64_t size;
		/** 3.12+: lv_tag; 3.11: ob_size (signed digit count). */
		uint64_t lv_tag;
		uint64_t ob_digit;
		bool has_lv_tag;
		/**
		 * 3.12+ lv_tag: the sign bits (mask, the values for zero and negative; 0 is
		 * positive) and the shift of the digit count. 0 on 3.11.
		 */
		uint64_t lv_sign_mask;
		uint64_t lv_sign_zero;
		uint64_t lv_sign_negative;
		unsigned lv_size_shift;
	} long_object;

	struct {
		uint64_t size;
		uint64_t ob_size;
		uint64_t ob_sval;
	} bytes_object;

	struct {
		uint64_t size;
		uint64_t state;
		uint64_t length;
		uint64_t asciiobject_size;
		uint64_t compactunicodeobject_size;
		/** bit positions inside the 32-bit state word. */
		unsigned kind_shift;
		uint32_t kind_mask;
		uint32_t compact_bit;
		uint32_t ascii_bit;
	} unicode_object;

	struct {
		uint64_t size;
		/** 3.11 only: gi_code. */
		uint64_t gi_code;
		uint64_t gi_name;
		uint64_t gi_qualname;
		uint64_t gi_iframe;
		uint64_t gi_frame_state;
	} gen_object;

	/** PyFrameState values; ADBG_NO_STATE when the version has no such state. */
	struct {
		int created;
		int suspended;
		int suspended_yield_from;
		int suspended_yield_from_locked;
		int executing;
		int completed;
		int cleared;
	} frame_state;

	struct {
		uint64_t next;
		uint64_t prev;
	} llist_node;

	struct {
		uint64_t wr_object;
	} weakref_object;

	/** PyFunctionObject (closures of asyncio helpers such as shield). */
	struct {
		uint64_t func_qualname;
		uint64_t func_code;
		uint64_t func_closure;
	} function_object;

	/** PyCellObject. */
	struct {
		uint64_t ob_ref;
	} cell_object;
	/** PyMethodObject, a bound method (3.11-3.13 keep `async with`'s __aexit__ as one). */
	struct {
		uint64_t im_func;
		uint64_t im_self;
	} method_object;
	/** PyMemberDescrObject's PyMemberDef, and that def's type and offset: __slots__. */
	struct {
		uint64_t d_member;
		uint64_t type;
		uint64_t offset;
	} member_descr;

	struct {
		uint64_t md_dict;
		uint64_t md_state;
	} module_object;

	/** functools.partial (Modules/_functoolsmodule.c partialobject; private). */
	struct {
		uint64_t fn;
		uint64_t args;
		uint64_t kw;
	} partial_object;

	/**
	 * collections.deque (Modules/_collectionsmodule.c dequeobject and block; private), a
	 * PyVarObject (ob_size is its length; asyncio's waiter queues): the items are in a
	 * doubly linked list of blocks of block_len slots, from leftblock[leftindex] to
	 * rightblock[rightindex].
	 */
	struct {
		uint64_t ob_size;
		uint64_t leftblock;
		uint64_t rightblock;
		uint64_t leftindex;
		uint64_t rightindex;
		/** inside a block: data[0] and the rightlink pointer. */
		uint64_t block_data;
		uint64_t block_rightlink;
		unsigned block_len;
	} deque_object;

	/** builtin_function_or_method and PyMethodDef (task_wakeup callbacks, 3.11-3.13). */
	struct {
		uint64_t m_ml;
		uint64_t m_self;
		uint64_t ml_name;
	} cfunction_object;

	enum adbg_managed_dict_kind managed_dict;

	/** _asyncio FutureObj / TaskObj. Bit fields: offset of the byte + mask. */
	struct {
		uint64_t size;
		uint64_t fut_loop;
		uint64_t fut_callback0;
		uint64_t fut_context0;
		uint64_t fut_callbacks;
		uint64_t fut_exception;
		uint64_t fut_result;
		uint64_t fut_cancel_msg;
		uint64_t fut_cancelled_exc;
		uint64_t fut_state;
		uint64_t fut_awaited_by;
		uint64_t fut_awaited_by_is_set;
		uint64_t fut_is_task;
	} asyncio_future_object;

	struct {
		uint64_t size;
		uint64_t task_fut_waiter;
		uint64_t task_coro;
		uint64_t task_name;
		uint64_t task_context;
		/** int (mask 0) or the byte holding the bit (mask != 0). */
		uint64_t task_must_cancel;
		uint8_t task_must_cancel_mask;
		uint64_t task_num_cancels_requested;
		uint64_t task_node;
		/** the task's own _cancel_msg is fut_cancel_msg. */
	} asyncio_task_object;

	/** fut_state values. */
	struct {
		int pending;
		int cancelled;
		int finished;
	} future_state;

	/** _asyncio module state (3.12/3.13), offsets inside md_state. */
	struct {
		uint64_t current_tasks;
		uint64_t scheduled_tasks;
		uint64_t eager_tasks;
	} asyncio_module_state;

	/** _PyStackRef tag bits to clear (3.14+: 3 default, 1 FT); 0 before. */
	uint64_t stackref_tag_mask;

	/** Type flags (Include/object.h). */
	struct {
		uint64_t long_subclass;
		uint64_t unicode_subclass;
		uint64_t tuple_subclass;
		uint64_t list_subclass;
		uint64_t dict_subclass;
		uint64_t bytes_subclass;
		uint64_t type_subclass;
		uint64_t managed_dict;
		uint64_t inline_values;
		uint64_t heaptype;
	} tp_flags_bits;

	/** PEP 768 (3.14+); all ADBG_NO_FIELD before. */
	struct {
		uint64_t eval_breaker;
		uint64_t remote_debugger_support;
		uint64_t remote_debugging_enabled;
		uint64_t debugger_pending_call;
		uint64_t debugger_script_path;
		uint64_t debugger_script_path_size;
	} debugger_support;
};

/*
 * Py_AddPendingCall's queue of the main thread (3.11-3.13), which live control writes
 * from outside (inject.c). Not in _Py_DebugOffsets: measured on real interpreters of each
 * minor version (Py_AddPendingCall through ctypes; docs/design.md §3).
 * Offsets are relative to the queue.
 */
enum adbg_pending_kind {
	ADBG_PENDING_311, /* lock, calls_to_do, async_exc, calls[32]{func,arg}, first, last */
	ADBG_PENDING_312, /* busy, lock, calls_to_do, async_exc, calls[32], first, last */
	ADBG_PENDING_313, /* handling_thread, mutex, npending, max, maxloop,
			     calls[300]{func,arg,flags}, first, next */
};

struct adbg_pending_calls_layout {
	unsigned minor;
	enum adbg_pending_kind kind;
	/**
	 * where the queue may be: offsets in the main interpreter (3.11: interp->ceval.pending)
	 * or in _PyRuntime (3.12/3.13: ceval.pending_mainthread). Patch releases move it.
	 */
	uint64_t candidates[4];
	size_t ncandidates;
	/** 3.11/3.12: interp->ceval.eval_breaker (an int); 3.13: 0 (tstate->eval_breaker). */
	uint64_t interp_eval_breaker;
	/** the ring: entries, bytes per entry, offset of calls[0], of first (then last/next). */
	int32_t ncalls;
	uint64_t stride, calls, first;
	/**
	 * 3.11/3.12: offset of lock (calls_to_do and async_exc follow); 3.13: of npending
	 * (max and maxloop follow; the mutex byte is 4 bytes before).
	 */
	uint64_t header;
};

/** The pending-call queue of l's version (3.11-3.13, 3.13t too), or NULL. */
const struct adbg_pending_calls_layout *adbg_layout_pending_calls(const struct adbg_layout *l);

/**
 * Fill *ret for the target's version.
 *
 * @param version        PY_VERSION_HEX read from the target (cookie table or Py_Version).
 * @param debug_offsets  the target's _Py_DebugOffsets bytes (3.13+), or NULL.
 * @param debug_len      number of bytes available at debug_offsets.
 * @param asyncio_debug  the target's AsyncioDebug section bytes (3.14+), or NULL.
 * @param asyncio_len    its length.
 * @param ret            written on success only.
 *
 * Free-threaded builds (3.13t-3.15t, _Py_DebugOffsets.free_threaded) get their own
 * layout: the header-derived built-in fields move with the object header
 * (layout_tables.c). Fails with ADBG_ERR_UNSUPPORTED for versions outside 3.11-3.15,
 * and ADBG_ERR_BAD_DATA when the tables fail validation.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_layout_build(uint64_t version, const void *debug_offsets,
						     size_t debug_len, const void *asyncio_debug,
						     size_t asyncio_len, struct adbg_layout *ret);

/**
 * Bytes of _Py_DebugOffsets that adbg_layout_build needs for this version (584 for 3.13,
 * 760 for 3.14, 888 for 3.15), 0 when the version has no such table or is unsupported.
 */
size_t adbg_layout_debug_offsets_size(uint64_t version);

/** Bytes of the AsyncioDebug section adbg_layout_build reads (3.14+), else 0. */
size_t adbg_layout_asyncio_debug_size(uint64_t version);

/** Check every offset against its struct's size and internal consistency. */
ADBG_MUST_CHECK struct adbg_error *adbg_layout_validate(const struct adbg_layout *l);

/** "3.14.10", "3.15.0a8", ... for a PY_VERSION_HEX; buf of at least 32 bytes. */
void adbg_version_string(uint64_t version, char *buf, size_t len);

#endif
