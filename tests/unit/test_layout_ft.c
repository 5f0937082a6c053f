// SPDX-License-Identifier: MIT
// Unit tests of free-threaded layouts (layout.c apply_free_threaded, layout_tables.c): the
// real 3.13.5t _Py_DebugOffsets (built by tests/env/build-ft.sh) and the 3.14.10t/3.15.2t
// ones computed from Debian sid's headers (fixtures/debug_offsets_ft.h), checked against
// offsetof() values from those headers (-DPy_GIL_DISABLED); then readers on synthetic
// memory laid out the free-threaded way: 3.14t's str state bits and its thread-local
// bytecode.
#include <check.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "codecache.h"
#include "layout.h"
#include "objects.h"
#include "target.h"

#include "fixtures/debug_offsets_ft.h"

#define NF ADBG_NO_FIELD

#define OK(expr)                                                                   \
	do {                                                                       \
		struct adbg_error *e_ = (expr);                                    \
		ck_assert_msg(!e_, "%s failed: %s", #expr, e_ ? e_->message : ""); \
	} while (0)

// AsyncioDebug words of 3.14t/3.15t: TaskObj re-declared from 3.14's _asynciomodule.c with
// Py_GIL_DISABLED (task_tid at the end: size 192), the thread and interpreter offsets printed
// by ft_debug_offsets.c.
static const uint64_t ad_3_14_10t[13] = {192,	 152,	112,   124, 125, 144, 168,
					 249976, 17304, 19216, 864, 872, 880};
static const uint64_t ad_3_15_2t[13] = {192,	152,   112,   124,  125,  144, 168,
					250328, 17256, 19408, 1024, 1032, 1048};

// What every free-threaded minor shares: the object header and what follows it.
static void check_common(const struct adbg_layout *l)
{
	ck_assert(l->free_threaded);
	ck_assert_uint_eq(l->pyobject.size, 32);
	ck_assert_uint_eq(l->pyobject.ob_type, 24);
	ck_assert_uint_eq(l->type_object.tp_name, 40);
	ck_assert_uint_eq(l->type_object.tp_flags, 184);
	// Built-in fields moved by 16 with the header.
	ck_assert_uint_eq(l->type_object.tp_basicsize, 48);
	ck_assert_uint_eq(l->type_object.tp_base, 272);
	ck_assert_uint_eq(l->type_object.tp_dict, 280);
	ck_assert_uint_eq(l->code_object.flags, 64);
	ck_assert_uint_eq(l->code_object.co_names, 48);
	ck_assert_uint_eq(l->code_object.nlocalsplus, 88);
	ck_assert_uint_eq(l->code_object.filename, 128);
	ck_assert_uint_eq(l->code_object.qualname, 144);
	ck_assert_uint_eq(l->dict_object.ma_used, 32);
	ck_assert_uint_eq(l->dict_object.ma_keys, 48);
	ck_assert_uint_eq(l->set_object.used, 40);
	ck_assert_uint_eq(l->set_object.mask, 48);
	ck_assert_uint_eq(l->set_object.table, 56);
	ck_assert_uint_eq(l->unicode_object.length, 32);
	ck_assert_uint_eq(l->unicode_object.state, 48);
	ck_assert_uint_eq(l->unicode_object.asciiobject_size, 56);
	ck_assert_uint_eq(l->unicode_object.compactunicodeobject_size, 72);
	ck_assert_uint_eq(l->list_object.ob_item, 40);
	ck_assert_uint_eq(l->long_object.ob_digit, 40);
	ck_assert_uint_eq(l->gen_object.gi_name, 40);
	ck_assert_uint_eq(l->gen_object.gi_qualname, 48);
	ck_assert_uint_eq(l->gen_object.gi_iframe, 88);
	ck_assert_uint_eq(l->gen_object.gi_frame_state, 83);
	ck_assert_uint_eq(l->weakref_object.wr_object, 32);
	ck_assert_uint_eq(l->function_object.func_code, 64);
	ck_assert_uint_eq(l->cell_object.ob_ref, 32);
	ck_assert_uint_eq(l->member_descr.d_member, 56);
	ck_assert_uint_eq(l->member_descr.offset, 16); // inside PyMemberDef: unmoved
	ck_assert_uint_eq(l->deque_object.block_rightlink, 520);
	ck_assert_uint_eq(l->asyncio_future_object.fut_loop, 32);
	// Not objects: unmoved.
	ck_assert_uint_eq(l->dict_keys.dk_indices, 32);
	ck_assert_uint_eq(l->interpreter_frame.previous, 8);
	ck_assert_uint_eq(l->interpreter_frame.instr_ptr, 56);
	// pycore_gil.h (int enabled first), MANAGED_DICT_OFFSET.
	ck_assert_uint_eq(l->gil_state.last_holder, 16);
	ck_assert_uint_eq(l->gil_state.locked, 24);
	ck_assert_int_eq(l->managed_dict_ptr.dict, -8);
	OK(adbg_layout_validate(l));
}

START_TEST(test_313t_real)
{
	struct adbg_layout l;

	OK(adbg_layout_build(0x030d05f0, do_3_13_5t, sizeof(do_3_13_5t), NULL, 0, &l));
	check_common(&l);
	ck_assert(!l.live_unverified);
	// 3.13t has no thread-local bytecode and no stackrefs; the 3.13 str bits.
	ck_assert_uint_eq(l.interpreter_frame.tlbc_index, NF);
	ck_assert_uint_eq(l.code_object.co_tlbc, NF);
	ck_assert_uint_eq(l.code_object.co_code_adaptive, 216);
	ck_assert_uint_eq(l.code_object.firsttraceable, 200);
	ck_assert_uint_eq(l.tuple_object.ob_item, 40);
	ck_assert_uint_eq(l.stackref_tag_mask, 0);
	ck_assert_uint_eq(l.unicode_object.kind_shift, 2);
	ck_assert_uint_eq(l.unicode_object.compact_bit, 0x20);
	ck_assert_uint_eq(l.unicode_object.ascii_bit, 0x40);
	// pycore_gil.h: _gil 7760, enabled its first int, locked 7784.
	ck_assert_uint_eq(l.interpreter_state.gil_runtime_state, 7760);
	ck_assert_uint_eq(l.interpreter_state.gil_runtime_state_enabled, 7760);
	ck_assert_uint_eq(l.interpreter_state.gil_runtime_state_locked, 7784);
	// 3.13's _asyncio objects, 16 bytes further (checked live on 3.13.5t).
	ck_assert_uint_eq(l.asyncio_task_object.size, 160);
	ck_assert_uint_eq(l.asyncio_task_object.task_fut_waiter, 128);
	ck_assert_uint_eq(l.asyncio_task_object.task_coro, 136);
	ck_assert_uint_eq(l.asyncio_task_object.task_name, 144);
	ck_assert_uint_eq(l.asyncio_task_object.task_must_cancel, 116);
	ck_assert_uint_eq(l.asyncio_module_state.scheduled_tasks, 56);
	ck_assert_uint_eq(l.module_object.md_state, 48);
	// Py_AddPendingCall's queue: offsetof(_PyRuntimeState, ceval.pending_mainthread) is
	// 2640 in the 3.13.5t headers as in 3.13.0's, calls[300] of 24 bytes.
	ck_assert_ptr_nonnull(adbg_layout_pending_calls(&l));
	ck_assert_uint_eq(adbg_layout_pending_calls(&l)->candidates[0], 2640);
	ck_assert_uint_eq(adbg_layout_pending_calls(&l)->first, 7224);
}
END_TEST

START_TEST(test_314t_headers)
{
	struct adbg_layout l;

	OK(adbg_layout_build(0x030e0af0, do_3_14_10t, sizeof(do_3_14_10t), ad_3_14_10t,
			     sizeof(ad_3_14_10t), &l));
	check_common(&l);
	ck_assert(l.live_unverified);
	// cpython/code.h: co_tlbc inserted before co_code_adaptive (+24, not +16).
	ck_assert_uint_eq(l.code_object.co_tlbc, 224);
	ck_assert_uint_eq(l.code_object.co_code_adaptive, 232);
	ck_assert_uint_eq(l.code_object.firsttraceable, 208);
	// 3.14 added PyTupleObject.ob_hash.
	ck_assert_uint_eq(l.tuple_object.ob_item, 48);
	// pycore_interpframe_structs.h: int32 tlbc_index after stackpointer.
	ck_assert_uint_eq(l.interpreter_frame.tlbc_index, 72);
	ck_assert_uint_eq(l.interpreter_frame.owner, 78);
	// pycore_stackref.h Py_TAG_BITS 1; cpython/unicodeobject.h interned as a byte.
	ck_assert_uint_eq(l.stackref_tag_mask, 1);
	ck_assert_uint_eq(l.unicode_object.kind_shift, 8);
	ck_assert_uint_eq(l.unicode_object.compact_bit, 0x800);
	ck_assert_uint_eq(l.unicode_object.ascii_bit, 0x1000);
	ck_assert_uint_eq(l.interpreter_state.gil_runtime_state, 7808);
	ck_assert_uint_eq(l.interpreter_state.gil_runtime_state_enabled, 7808);
	ck_assert_uint_eq(l.interpreter_state.gil_runtime_state_locked, 7832);
	// TaskObj: AsyncioDebug's words, the built-in rest moved by 16.
	ck_assert_uint_eq(l.asyncio_task_object.size, 192);
	ck_assert_uint_eq(l.asyncio_task_object.task_name, 152);
	ck_assert_uint_eq(l.asyncio_task_object.task_node, 168);
	ck_assert_uint_eq(l.asyncio_task_object.task_fut_waiter, 136);
	ck_assert_uint_eq(l.asyncio_task_object.task_context, 160);
	ck_assert_uint_eq(l.asyncio_task_object.task_must_cancel, 126);
	ck_assert_uint_eq(l.asyncio_task_object.task_must_cancel_mask, 0x04);
	ck_assert_uint_eq(l.asyncio_future_object.fut_awaited_by, 112);
	ck_assert_uint_eq(l.asyncio_future_object.fut_state, 120);
	ck_assert_uint_eq(l.thread_state.impl_size, 19216);
	ck_assert_ptr_null(adbg_layout_pending_calls(&l)); // PEP 768 instead
	ck_assert_uint_eq(l.interpreter_state.asyncio_tasks_head, 17304);
}
END_TEST

START_TEST(test_315t_headers)
{
	struct adbg_layout l;

	OK(adbg_layout_build(0x030f02f0, do_3_15_2t, sizeof(do_3_15_2t), ad_3_15_2t,
			     sizeof(ad_3_15_2t), &l));
	check_common(&l);
	ck_assert(l.live_unverified);
	ck_assert_uint_eq(l.code_object.co_tlbc + 8, l.code_object.co_code_adaptive);
	ck_assert_uint_ne(l.interpreter_frame.tlbc_index, NF);
	ck_assert_uint_eq(l.stackref_tag_mask, 1);
	ck_assert_uint_eq(l.unicode_object.kind_shift, 8);
	ck_assert_uint_eq(l.module_object.md_state, 40);
	ck_assert_uint_eq(l.thread_state.asyncio_running_loop, 1024);
	ck_assert_uint_eq(l.asyncio_task_object.size, 192);
}
END_TEST

// A default table that says free_threaded = 1 has a 16-byte object header: refused.
START_TEST(test_default_table_claiming_ft)
{
	unsigned char buf[sizeof(do_3_14_10t)];
	struct adbg_layout l;
	struct adbg_error *e;
	uint64_t sixteen = 16;

	memcpy(buf, do_3_14_10t, sizeof(buf));
	// pyobject.size: 3.14 _Py_DebugOffsets, 8-byte words; find it as the word 32
	// followed by 24 (ob_type), the only such pair in the table.
	for (size_t i = 24; i + 16 <= sizeof(buf); i += 8) {
		uint64_t a, b;

		memcpy(&a, buf + i, 8);
		memcpy(&b, buf + i + 8, 8);
		if (a == 32 && b == 24) {
			memcpy(buf + i, &sixteen, 8);
			break;
		}
	}
	e = adbg_layout_build(0x030e0af0, buf, sizeof(buf), NULL, 0, &l);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->code, ADBG_ERR_BAD_DATA);
	ck_assert_msg(strstr(e->message, "free-threaded object header"), "%s", e->message);
	adbg_error_destroy(e);
}
END_TEST

static void put64(unsigned char *mem, uint64_t off, uint64_t v)
{
	memcpy(mem + off, &v, 8);
}

// A 3.14t str "héllo" (compact, not ASCII: kind 1 at bits 8-10, compact bit 11) and "abc"
// (compact ASCII, bit 12), read through the 3.14t layout; with the default bits the same
// memory would decode as kind 0 and be refused.
START_TEST(test_314t_str_state)
{
	static unsigned char mem[0x400];
	struct adbg_mem_segment seg = {0x10000, mem, sizeof(mem)};
	struct adbg_target *t;
	struct adbg_layout l;
	char *s = NULL;
	const uint64_t type = 0x10000, s1 = 0x10200, s2 = 0x10300;

	OK(adbg_layout_build(0x030e0af0, do_3_14_10t, sizeof(do_3_14_10t), ad_3_14_10t,
			     sizeof(ad_3_14_10t), &l));
	memset(mem, 0, sizeof(mem));
	put64(mem, type - 0x10000 + l.pyobject.ob_type, type);
	put64(mem, type - 0x10000 + l.type_object.tp_flags, l.tp_flags_bits.unicode_subclass);
	put64(mem, s1 - 0x10000 + l.pyobject.ob_type, type);
	put64(mem, s1 - 0x10000 + l.unicode_object.length, 5);
	put64(mem, s1 - 0x10000 + l.unicode_object.state, (1u << 8) | 0x800);
	memcpy(mem + s1 - 0x10000 + l.unicode_object.compactunicodeobject_size, "h\xe9llo", 5);
	put64(mem, s2 - 0x10000 + l.pyobject.ob_type, type);
	put64(mem, s2 - 0x10000 + l.unicode_object.length, 3);
	put64(mem, s2 - 0x10000 + l.unicode_object.state, (1u << 8) | 0x800 | 0x1000);
	memcpy(mem + s2 - 0x10000 + l.unicode_object.asciiobject_size, "abc", 3);
	OK(adbg_target_create_mem(&seg, 1, &t));
	OK(adbg_obj_str(t, &l, s1, 64, &s, NULL));
	ck_assert_str_eq(s, "h\xc3\xa9llo");
	free(s);
	OK(adbg_obj_str(t, &l, s2, 64, &s, NULL));
	ck_assert_str_eq(s, "abc");
	free(s);
	adbg_target_destroy(t);
}
END_TEST

// 3.14t thread-local bytecode: a frame with tlbc_index 1 whose instr_ptr points into the
// thread's copy maps to the same offset of co_code_adaptive; index 0 and layouts without the
// field leave it alone; an index past the array is an error.
START_TEST(test_314t_tlbc)
{
	static unsigned char mem[0x1000];
	struct adbg_mem_segment seg = {0x20000, mem, sizeof(mem)};
	const uint64_t code = 0x20000, arr = 0x20400, copy = 0x20800, frame = 0x20c00;
	struct adbg_code_entry ce = {0};
	struct adbg_target *t;
	struct adbg_layout l, def = {0};
	struct adbg_error *e;
	uint64_t ip;

	OK(adbg_layout_build(0x030e0af0, do_3_14_10t, sizeof(do_3_14_10t), ad_3_14_10t,
			     sizeof(ad_3_14_10t), &l));
	memset(mem, 0, sizeof(mem));
	put64(mem, l.code_object.co_tlbc, arr);
	put64(mem, arr - code, 2);
	put64(mem, arr - code + 8, code + l.code_object.co_code_adaptive);
	put64(mem, arr - code + 16, copy);
	put64(mem, frame - code + l.interpreter_frame.tlbc_index, 1);
	ce.code = code;
	ce.bytecode_addr = code + l.code_object.co_code_adaptive;
	OK(adbg_target_create_mem(&seg, 1, &t));

	ip = copy + 10;
	OK(adbg_codecache_main_ip(&ce, t, &l, frame, &ip));
	ck_assert_uint_eq(ip, ce.bytecode_addr + 10);

	// Slot not filled yet: the frame runs the main copy.
	put64(mem, arr - code + 16, 0);
	ip = ce.bytecode_addr + 6;
	OK(adbg_codecache_main_ip(&ce, t, &l, frame, &ip));
	ck_assert_uint_eq(ip, ce.bytecode_addr + 6);

	put64(mem, frame - code + l.interpreter_frame.tlbc_index, 0);
	ip = copy + 4;
	OK(adbg_codecache_main_ip(&ce, t, &l, frame, &ip));
	ck_assert_uint_eq(ip, copy + 4);

	put64(mem, frame - code + l.interpreter_frame.tlbc_index, 5);
	e = adbg_codecache_main_ip(&ce, t, &l, frame, &ip);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->code, ADBG_ERR_BAD_DATA);
	ck_assert_msg(strstr(e->message, "tlbc_index 5"), "%s", e->message);
	adbg_error_destroy(e);

	// A default build's layout has no tlbc_index: nothing is read.
	def.interpreter_frame.tlbc_index = NF;
	def.code_object.co_tlbc = NF;
	ip = copy + 4;
	OK(adbg_codecache_main_ip(&ce, t, &def, frame, &ip));
	ck_assert_uint_eq(ip, copy + 4);
	adbg_target_destroy(t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("layout_ft");
	TCase *tc = tcase_create("layout_ft");

	tcase_add_test(tc, test_313t_real);
	tcase_add_test(tc, test_314t_headers);
	tcase_add_test(tc, test_315t_headers);
	tcase_add_test(tc, test_default_table_claiming_ft);
	tcase_add_test(tc, test_314t_str_state);
	tcase_add_test(tc, test_314t_tlbc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
