// SPDX-License-Identifier: MIT
// Merging native and Python stacks at the eval-loop entries (see native.h).
#include "native.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct adbg_error *adbg_native_push(struct adbg_native_stack *ns, const struct adbg_frame *f,
				    uint64_t sp)
{
	struct adbg_error *err;

	// adbg_stack_push grows by doubling from 4 (at n = 0, 4, 8, ...); sp[] follows.
	if (ns->st.n == 0 || (ns->st.n >= 4 && (ns->st.n & (ns->st.n - 1)) == 0)) {
		size_t cap = ns->st.n < 4 ? 4 : ns->st.n * 2;
		uint64_t *nsp = realloc(ns->sp, cap * sizeof(*nsp));

		if (!nsp)
			return &adbg_error_nomem;
		ns->sp = nsp;
	}
	err = adbg_stack_push(&ns->st, f);
	if (err)
		return err;
	ns->sp[ns->st.n - 1] = sp;
	return NULL;
}

void adbg_native_stack_deinit(struct adbg_native_stack *ns)
{
	adbg_stack_deinit(&ns->st);
	free(ns->sp);
	memset(ns, 0, sizeof(*ns));
}

bool adbg_native_is_eval_loop(const char *function)
{
	// The default eval loop; builds with computed gotos or the 3.14 tail-calling
	// interpreter still enter through it. GCC names split parts "NAME.cold" and the
	// like.
	return function && (strcmp(function, "_PyEval_EvalFrameDefault") == 0 ||
			    strncmp(function, "_PyEval_EvalFrameDefault.", 25) == 0);
}

/* One eval-loop entry's Python frames, innermost first. */
struct segment {
	struct adbg_stack st;
	/** address of the shim that marks the entry (3.12+), 0 when none. */
	uint64_t anchor;
};

struct adbg_native_segments {
	struct segment *segs;
	size_t n;
};

static void segments_free(struct segment *segs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		adbg_stack_deinit(&segs[i].st);
	free(segs);
}

void adbg_native_segments_destroy(struct adbg_native_segments *segs)
{
	if (!segs)
		return;
	segments_free(segs->segs, segs->n);
	free(segs);
}

/*
 * Cut the interpreter-frame chain that starts at iframe into per-entry segments, innermost
 * first. Frames CPython hides (shims, frames not started) are left out, as in `bt`. The walk
 * has the cap and cycle check of adbg_stack_walk (at most twice the frame cap in steps).
 */
static ADBG_MUST_CHECK struct adbg_error *python_segments(struct adbg_session *s, uint64_t iframe,
							  unsigned max_frames, struct segment **ret,
							  size_t *nret)
{
	const struct adbg_layout *l = &s->python->layout;
	size_t nsegs = 1, steps = 0, cap = adbg_frame_cap(max_frames);
	struct segment *segs = calloc(1, sizeof(*segs));
	struct adbg_error *err = NULL;
	size_t nframes = 0;

	if (!segs)
		return &adbg_error_nomem;
	while (iframe) {
		struct adbg_frame f;
		bool skip = false, close = false;
		uint8_t owner, entry = 0;

		// The same cut as adbg_stack_walk, so that both views show the same frames.
		if (++steps > 2 * cap || nframes == cap)
			break;
		err = adbg_read_u8(s->target, iframe + l->interpreter_frame.owner, &owner);
		if (err)
			break;
		if ((int)owner == l->frame_owner.cstack ||
		    (int)owner == l->frame_owner.interpreter) {
			// The shim below an entry's frames: the segment above it is complete.
			segs[nsegs - 1].anchor = iframe;
			close = true;
		} else {
			err = adbg_frame_read(s, iframe, &f, &skip);
			if (err)
				break;
			if (!skip) {
				err = adbg_stack_push(&segs[nsegs - 1].st, &f);
				if (err)
					break;
				nframes++;
			}
			// 3.11: Include/internal/pycore_frame.h `bool is_entry`: this frame was
			// the first one its entry pushed, so the segment ends with it.
			if (l->interpreter_frame.is_entry != ADBG_NO_FIELD) {
				err = adbg_read_u8(s->target,
						   iframe + l->interpreter_frame.is_entry, &entry);
				if (err)
					break;
				close = entry != 0;
			}
		}
		if (close) {
			struct segment *ns = realloc(segs, (nsegs + 1) * sizeof(*ns));

			if (!ns) {
				err = &adbg_error_nomem;
				break;
			}
			segs = ns;
			memset(&segs[nsegs], 0, sizeof(*segs));
			nsegs++;
		}
		err = adbg_read_u64(s->target, iframe + l->interpreter_frame.previous, &iframe);
		if (err)
			break;
	}
	if (adbg_error_is(err, ADBG_ERR_NOMEM)) {
		segments_free(segs, nsegs);
		return err;
	}
	// A chain that breaks off still gives the segments read so far (the plain `bt` walk
	// reports the same break).
	adbg_session_warn_error(s, adbg_error_wrap(err, "Python frame chain"));
	// The outermost entry's mark leaves an empty segment behind it (3.15: the thread's
	// base frame another).
	while (nsegs > 1 && !segs[nsegs - 1].st.n)
		nsegs--;
	*ret = segs;
	*nret = nsegs;
	return NULL;
}

/*
 * The native frame whose stack area holds addr, or -1. The outermost frame found has no
 * known upper end (and an eval loop is never outermost: it was called), so it holds
 * nothing; that also keeps a stack the unwinder could not finish from swallowing every
 * anchor.
 */
static long frame_holding(const struct adbg_native_stack *ns, uint64_t addr)
{
	for (size_t i = 0; i + 1 < ns->st.n; i++) {
		uint64_t lo = ns->sp[i], hi = ns->sp[i + 1];

		if (lo && lo <= addr && addr < hi)
			return (long)i;
	}
	return -1;
}

/*
 * seg_of[i] = the segment native frame i runs, or -1. Anchored when every segment with
 * frames has its shim inside a native frame, in order; else by the eval loop's name.
 */
static void assign_segments(const struct adbg_native_stack *ns, const struct segment *segs,
			    size_t nsegs, long *seg_of)
{
	long last = -1;
	size_t next = 0;
	bool anchored = nsegs > 0;

	for (size_t i = 0; i < ns->st.n; i++)
		seg_of[i] = -1;
	for (size_t k = 0; k < nsegs && anchored; k++) {
		long i;

		if (!segs[k].st.n)
			continue;
		i = segs[k].anchor ? frame_holding(ns, segs[k].anchor) : -1;
		// Innermost segments sit in younger native frames: indices must grow.
		if (i <= last) {
			anchored = false;
			break;
		}
		seg_of[i] = (long)k;
		last = i;
	}
	if (anchored)
		return;
	for (size_t i = 0; i < ns->st.n; i++)
		seg_of[i] = -1;
	for (size_t i = 0; i < ns->st.n && next < nsegs; i++) {
		if (!adbg_native_is_eval_loop(ns->st.frames[i].function))
			continue;
		// An entry that has not pushed a frame yet keeps its C frame.
		if (segs[next].st.n)
			seg_of[i] = (long)next;
		next++;
	}
}

static ADBG_MUST_CHECK struct adbg_error *copy_stack(const struct adbg_stack *from,
						     struct adbg_stack *ret)
{
	struct adbg_stack out = {0};
	struct adbg_error *err = NULL;

	for (size_t i = 0; i < from->n && !err; i++)
		err = adbg_stack_push(&out, &from->frames[i]);
	if (err) {
		adbg_stack_deinit(&out);
		return err;
	}
	out.truncated = from->truncated;
	*ret = out;
	return NULL;
}

struct adbg_error *adbg_native_segments_read(struct adbg_session *s, const struct adbg_pythread *th,
					     unsigned max_frames, struct adbg_native_segments **ret)
{
	struct adbg_native_segments *ps = calloc(1, sizeof(*ps));
	struct adbg_error *err;

	if (!ps)
		return &adbg_error_nomem;
	if (th->current_frame) {
		err = python_segments(s, th->current_frame, max_frames, &ps->segs, &ps->n);
		if (err) {
			free(ps);
			return err;
		}
	}
	*ret = ps;
	return NULL;
}

struct adbg_error *adbg_native_merge(struct adbg_session *s, const struct adbg_pythread *th,
				     const struct adbg_native_segments *ps,
				     const struct adbg_native_stack *ns, struct adbg_stack *ret)
{
	const struct segment *segs = ps->segs;
	size_t nsegs = ps->n, left = 0;
	struct adbg_stack out = {0};
	struct adbg_error *err = NULL;
	long *seg_of = NULL;
	bool *used = NULL;

	// Nothing to place the Python frames in: they are the whole story.
	if (!ns->st.n)
		return copy_stack(&th->stack, ret);
	seg_of = calloc(ns->st.n, sizeof(*seg_of));
	used = calloc(nsegs + 1, sizeof(*used));
	if (!seg_of || !used) {
		err = &adbg_error_nomem;
		goto out;
	}
	assign_segments(ns, segs, nsegs, seg_of);
	for (size_t i = 0; i < ns->st.n && !err; i++) {
		if (seg_of[i] < 0) {
			err = adbg_stack_push(&out, &ns->st.frames[i]);
			continue;
		}
		used[seg_of[i]] = true;
		for (size_t j = 0; j < segs[seg_of[i]].st.n && !err; j++)
			err = adbg_stack_push(&out, &segs[seg_of[i]].st.frames[j]);
	}
	for (size_t k = 0; k < nsegs && !err; k++) {
		if (used[k])
			continue;
		left += segs[k].st.n;
		for (size_t j = 0; j < segs[k].st.n && !err; j++)
			err = adbg_stack_push(&out, &segs[k].st.frames[j]);
	}
	if (!err && left)
		adbg_session_warn(s,
				  "thread %d: %zu Python frame(s) have no eval-loop frame in the "
				  "native stack; shown outermost",
				  th->tid, left);
out:
	free(seg_of);
	free(used);
	if (err) {
		adbg_stack_deinit(&out);
		return err;
	}
	out.truncated = ns->st.truncated || th->stack.truncated;
	*ret = out;
	return NULL;
}
