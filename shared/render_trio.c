// SPDX-License-Identifier: MIT
// Rendering Trio tasks' nurseries and cancel scopes (see render_trio.h).
#include "render_trio.h"

#include <inttypes.h>
#include <stdio.h>

#include "asyncio.h"
#include "cmd.h"
#include "render.h"
#include "trio.h"

/* What cancelled a scope, in a word: 0.28+ says; before, a passed deadline is one. */
static const char *cancel_source(const struct adbg_trio_task *tt, const struct adbg_trio_scope *sc)
{
	if (sc->cancel_source)
		return sc->cancel_source;
	if (sc->has_deadline && tt->now_known && sc->left <= 0)
		return "deadline";
	return NULL;
}

/* The deadline that applies to the task: the earliest up to the first shield. */
static const struct adbg_trio_scope *effective_deadline(const struct adbg_trio_task *tt)
{
	const struct adbg_trio_scope *best = NULL;

	for (uint32_t k = 0; k < tt->nscopes; k++) {
		const struct adbg_trio_scope *sc = &tt->scopes[k];

		if (sc->has_deadline && (!best || sc->deadline < best->deadline))
			best = sc;
		if (sc->shield)
			break;
	}
	return best;
}

json_t *adbg_json_trio(const struct adbg_trio_task *tt)
{
	json_t *o = json_object(), *nurseries = json_array(), *scopes = json_array();

	json_object_set_new(o, "runner", adbg_json_addr(tt->runner));
	json_object_set_new(o, "parent_nursery", adbg_json_addr(tt->parent_nursery));
	json_object_set_new(o, "parent_task", adbg_json_addr(tt->parent_task));
	for (uint32_t k = 0; k < tt->nchild_nurseries; k++)
		json_array_append_new(nurseries, adbg_json_addr(tt->child_nurseries[k]));
	json_object_set_new(o, "child_nurseries", nurseries);
	for (uint32_t k = 0; k < tt->nscopes; k++) {
		const struct adbg_trio_scope *sc = &tt->scopes[k];
		const char *src = sc->cancel_called ? cancel_source(tt, sc) : NULL;
		json_t *j = json_object();

		json_object_set_new(j, "id", adbg_json_addr(sc->id));
		json_object_set_new(j, "nursery", adbg_json_addr(sc->nursery));
		json_object_set_new(j, "deadline",
				    sc->has_deadline ? json_real(sc->deadline) : json_null());
		json_object_set_new(j, "deadline_left",
				    sc->has_deadline && tt->now_known ? json_real(sc->left)
								      : json_null());
		json_object_set_new(j, "shield", json_boolean(sc->shield));
		json_object_set_new(j, "cancel_called", json_boolean(sc->cancel_called));
		json_object_set_new(j, "cancelled_caught", json_boolean(sc->cancelled_caught));
		json_object_set_new(j, "effectively_cancelled",
				    json_boolean(sc->effectively_cancelled));
		json_object_set_new(j, "cancel_source", src ? json_string(src) : json_null());
		json_object_set_new(j, "cancel_reason",
				    sc->cancel_reason ? json_string(sc->cancel_reason)
						      : json_null());
		json_array_append_new(scopes, j);
	}
	json_object_set_new(o, "cancel_scopes", scopes);
	if (tt->scopes_truncated)
		json_object_set_new(o, "cancel_scopes_truncated", json_true());
	json_object_set_new(o, "cancelled_by",
			    tt->cancelled_by >= 0 ? adbg_json_addr(tt->scopes[tt->cancelled_by].id)
						  : json_null());
	json_object_set_new(o, "shielded_by",
			    tt->shielded_by >= 0 ? adbg_json_addr(tt->scopes[tt->shielded_by].id)
						 : json_null());
	json_object_set_new(o, "lock_owner", adbg_json_addr(tt->lock_owner));
	json_object_set_new(o, "now", tt->now_known ? json_real(tt->now) : json_null());
	json_object_set_new(o, "now_source",
			    tt->now_known ? json_string(tt->now_source) : json_null());
	return o;
}

const char *adbg_trio_cancel_text(const struct adbg_trio_task *tt, char *buf, size_t len)
{
	const struct adbg_trio_scope *dl = effective_deadline(tt);

	if (tt->cancelled_by >= 0) {
		const char *src = cancel_source(tt, &tt->scopes[tt->cancelled_by]);

		snprintf(buf, len, "cancel(%s)", src ? src : "called");
	} else if (tt->shielded_by >= 0) {
		snprintf(buf, len, "shielded");
	} else if (dl && tt->now_known && dl->left <= 0) {
		snprintf(buf, len, "deadline passed");
	} else if (dl && tt->now_known) {
		snprintf(buf, len, "deadline %.1fs", dl->left);
	} else if (dl) {
		snprintf(buf, len, "deadline %.1f", dl->deadline);
	} else {
		snprintf(buf, len, "-");
	}
	return buf;
}

static void task_ref(struct adbg_cmd_ctx *c, const struct adbg_asyncio_snapshot *snap, uint64_t id)
{
	const struct adbg_task *t = adbg_asyncio_find(snap, id);

	if (t && t->name) {
		adbg_text_clean(c->out, t->name);
		fputc(' ', c->out);
	}
	fprintf(c->out, "%#" PRIx64, id);
}

void adbg_trio_text_detail(struct adbg_cmd_ctx *c, const struct adbg_asyncio_snapshot *snap,
			   const struct adbg_task *t)
{
	const struct adbg_trio_task *tt = t->trio;

	fprintf(c->out, "  runtime:    trio, run %#" PRIx64, tt->runner);
	if (tt->now_known)
		fprintf(c->out, ", clock %.3f (%s)", tt->now, tt->now_source);
	fputs("\n  nursery:    ", c->out);
	if (tt->parent_nursery) {
		fprintf(c->out, "%#" PRIx64 ", opened by ", tt->parent_nursery);
		task_ref(c, snap, tt->parent_task);
	} else {
		fputs("-", c->out);
	}
	fputs("\n  nurseries:  ", c->out);
	for (uint32_t k = 0; k < tt->nchild_nurseries; k++) {
		size_t n = 0;

		for (size_t i = 0; i < snap->ntasks; i++)
			n += snap->tasks[i].trio &&
			     snap->tasks[i].trio->parent_nursery == tt->child_nurseries[k];
		fprintf(c->out, "%s%#" PRIx64 " (%zu task%s)", k ? ", " : "",
			tt->child_nurseries[k], n, n == 1 ? "" : "s");
	}
	if (!tt->nchild_nurseries)
		fputs("-", c->out);
	if (tt->lock_owner) {
		fputs("\n  lock held by: ", c->out);
		task_ref(c, snap, tt->lock_owner);
	}
	fprintf(c->out, "\n  cancel scopes (innermost first)%s:\n", tt->nscopes ? "" : ": -");
	for (uint32_t k = 0; k < tt->nscopes; k++) {
		const struct adbg_trio_scope *sc = &tt->scopes[k];
		const char *src = sc->cancel_called ? cancel_source(tt, sc) : NULL;

		fprintf(c->out, "    %#" PRIx64, sc->id);
		if (sc->nursery)
			fprintf(c->out, " nursery %#" PRIx64, sc->nursery);
		if (sc->has_deadline && tt->now_known)
			fprintf(c->out, " deadline %.3f (%+.3fs)", sc->deadline, sc->left);
		else if (sc->has_deadline)
			fprintf(c->out, " deadline %.3f", sc->deadline);
		if (sc->shield)
			fputs(" shield", c->out);
		if (sc->cancel_called) {
			fprintf(c->out, " cancel_called%s%s%s", src ? "(" : "", src ? src : "",
				src ? ")" : "");
		}
		if (sc->cancel_reason) {
			fputs(" \"", c->out);
			adbg_text_clean(c->out, sc->cancel_reason);
			fputc('"', c->out);
		}
		if (sc->cancelled_caught)
			fputs(" cancelled_caught", c->out);
		if ((int)k == tt->cancelled_by)
			fputs("  <- the task's cancellation comes from here", c->out);
		if ((int)k == tt->shielded_by)
			fputs("  <- holds off an outer cancellation", c->out);
		fputc('\n', c->out);
	}
	if (tt->scopes_truncated)
		fputs("    … (chain cut)\n", c->out);
}
