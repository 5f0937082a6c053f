// SPDX-License-Identifier: MIT
// The `info` command: what the target is and how long the snapshot stopped it.
#include <inttypes.h>

#include "cmd.h"
#include "error.h"
#include "render.h"
#include "session.h"

struct adbg_error *adbg_cmd_info(struct adbg_cmd_ctx *c)
{
	struct adbg_session *s = c->s;
	struct adbg_target *t = s->target;
	const struct adbg_python *py = s->python;
	struct adbg_error *err;
	json_t *doc;

	if (c->argc > 1)
		return adbg_cmd_usage_error(c, "too many arguments");
	// The snapshot: stopping every thread also re-lists them, so the count is current.
	err = adbg_session_snapshot_begin(s);
	if (err)
		return err;
	adbg_session_snapshot_end(s);
	if (t->threads_not_stopped)
		adbg_session_warn(s, "%u thread(s) did not stop within the timeout",
				  t->threads_not_stopped);

	if (c->opts.json) {
		doc = adbg_json_document(s);
		json_object_set_new(json_object_get(doc, "target"), "thread_count",
				    json_integer((json_int_t)t->nthreads));
		json_object_set_new(json_object_get(doc, "target"), "runtime",
				    adbg_json_addr(py->runtime_addr));
		return adbg_json_emit(c, doc);
	}
	fprintf(c->out, "kind: %s\n", adbg_session_kind_name(s));
	if (t->core_path)
		fprintf(c->out, "core: %s\n", t->core_path);
	if (t->pid)
		fprintf(c->out, "pid: %d\n", t->pid);
	fprintf(c->out, "executable: %s\n", t->executable ? t->executable : "(unknown)");
	if (t->cmdline)
		fprintf(c->out, "command: %s\n", t->cmdline);
	fprintf(c->out, "python: %s (%s build)\n", py->version_str,
		py->layout.free_threaded ? "free-threaded" : "default");
	fprintf(c->out, "runtime: %#" PRIx64 " in %s\n", py->runtime_addr,
		py->binary ? py->binary : "?");
	fprintf(c->out, "threads: %zu\n", t->nthreads);
	if (t->kind == ADBG_TARGET_PROCESS)
		fprintf(c->out, "stopped: %.2f ms\n", t->stopped_ms);
	adbg_text_warnings(c);
	return NULL;
}
