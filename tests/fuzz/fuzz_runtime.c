// SPDX-License-Identifier: MIT
// libFuzzer target: the runtime and asyncio walks over a target whose memory is the input.
//
// The input is the memory of a fake target (target_mem.c) and where _PyRuntime is in it:
// runtime -> interpreters -> thread states -> interpreter frames -> code objects -> names,
// file names and line tables, and the asyncio registries and tasks, are all read from it.
// Then the commands that walk them run as a user would run them, JSON and text:
// `threads`, `bt`, `bt --native` (native frames from the input too, merged at the eval-loop
// entries), `tasks`, `tree`, `info`. Whatever the bytes, each must return: no crash, no
// hang, no read outside the input, no leak.
//
// Input (little-endian):
//   u64 version        PY_VERSION_HEX to assume when _PyRuntime has no cookie (3.11/3.12)
//   u64 runtime_addr   where _PyRuntime is
//   u64 asyncio_debug  where the AsyncioDebug section's bytes are (3.14+), 0 for none
//   u16 nsegs          then nsegs times: u64 addr, u32 len, len bytes of memory at addr
//   the rest           native frames for every thread, innermost first: u64 sp, u8 name
//                      (an index into native_names)
// Seeds: tests/fuzz/seeds-runtime.sh cuts them from real processes of every interpreter of
// the matrix (the bytes the walks read, and the native frames of their main thread).
// FUZZ_RUNTIME_SHOW=1 prints the commands' output to stderr (to see what a seed holds).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "native.h"
#include "python.h"
#include "session.h"
#include "target.h"

#define MAX_SEGS 512
#define NATIVE_FRAME_BYTES 9

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const native_names[] = {
	"??",
	"_PyEval_EvalFrameDefault",
	"_PyEval_EvalFrameDefault.cold",
	"clock_nanosleep",
	"PyObject_Vectorcall",
	"main",
	"_start",
	"start_thread",
};

struct input {
	const uint8_t *native;
	size_t native_len;
};

static uint64_t get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, p, n);
	return v;
}

static struct adbg_error *fuzz_thread(struct adbg_session *s, void *state, int tid,
				      struct adbg_native_stack *ret)
{
	const struct input *in = state;
	struct adbg_native_stack ns = {0};

	(void)s;
	if (tid % 7 == 3)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "thread %d: not unwound", tid);
	for (size_t off = 0; off + NATIVE_FRAME_BYTES <= in->native_len;
	     off += NATIVE_FRAME_BYTES) {
		uint8_t k = in->native[off + 8];
		struct adbg_frame f = {
			.kind = ADBG_FRAME_NATIVE,
			.function =
				native_names[k % (sizeof(native_names) / sizeof(native_names[0]))],
			.file = k & 0x80 ? NULL : "/lib/libfuzz.so",
			.addr = 0x400000 + off,
			.offset = k,
		};
		struct adbg_error *err;

		if (ns.st.n == ADBG_MAX_NATIVE_FRAMES) {
			ns.st.truncated = true;
			break;
		}
		err = adbg_native_push(&ns, &f, get(in->native + off, 8));
		if (err) {
			adbg_native_stack_deinit(&ns);
			return err;
		}
	}
	*ret = ns;
	return NULL;
}

// The input of the current run, for the unwinder (libFuzzer runs one input at a time).
static struct input *current_input;

static struct adbg_error *fuzz_begin(struct adbg_session *s, void **state_ret)
{
	(void)s;
	*state_ret = current_input;
	return NULL;
}

static const struct adbg_unwinder fuzz_unwinder = {
	.begin = fuzz_begin,
	.thread = fuzz_thread,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cmds[] = {
		"info --json",
		"threads",
		"threads --json",
		"bt --json",
		"bt",
		"bt --native --json",
		"bt --native --max-frames 5",
		"tasks --json",
		"tasks",
		"tree --json",
		"tree --dot",
	};
	static FILE *out;
	struct adbg_mem_segment segs[MAX_SEGS];
	struct adbg_cmd_opts opts = {.width = 100};
	struct adbg_cmd_state state = {0};
	struct adbg_session *s;
	struct adbg_target *t;
	struct adbg_python *py;
	struct adbg_error *err;
	struct input in;
	uint64_t version, runtime, ad;
	size_t nsegs, off = 26;

	// FUZZ_RUNTIME_SHOW=1 shows what the commands print (to check a seed reproduces).
	if (!out)
		out = getenv("FUZZ_RUNTIME_SHOW") ? stderr : fopen("/dev/null", "w");
	if (size < off)
		return 0;
	version = get(data, 8);
	runtime = get(data + 8, 8);
	ad = get(data + 16, 8);
	nsegs = get(data + 24, 2);
	if (nsegs > MAX_SEGS)
		return 0;
	for (size_t i = 0; i < nsegs; i++) {
		size_t len;

		if (size - off < 12)
			return 0;
		segs[i].addr = get(data + off, 8);
		len = get(data + off + 8, 4);
		off += 12;
		if (len > size - off)
			return 0;
		segs[i].data = data + off;
		segs[i].size = len;
		off += len;
	}
	in.native = data + off;
	in.native_len = size - off;
	current_input = &in;

	err = adbg_target_create_mem(segs, nsegs, &t);
	if (err) {
		adbg_error_destroy(err);
		return 0;
	}
	err = adbg_python_at(t, runtime, version, ad, &py);
	if (err) {
		adbg_error_destroy(err);
		adbg_target_destroy(t);
		return 0;
	}
	err = adbg_session_create_python(t, py, &s);
	if (err) {
		adbg_error_destroy(err);
		return 0;
	}
	state.unwinder = &fuzz_unwinder;
	opts.state = &state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		opts.json = false;
		adbg_error_destroy(adbg_cmd_run(s, cmds[i], &opts, out));
	}
	adbg_cmd_state_deinit(&state);
	adbg_session_destroy(s);
	return 0;
}
