// SPDX-License-Identifier: MIT
// Finding a task of an asyncio snapshot by the id or the name a user typed (see asyncio.h).
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"

struct adbg_error *adbg_asyncio_lookup(const struct adbg_asyncio_snapshot *snap, const char *spec,
				       struct adbg_task **ret)
{
	struct adbg_task *found = NULL;
	size_t matches = 0;

	if (spec[0] == '0' && (spec[1] == 'x' || spec[1] == 'X')) {
		char *end;
		uint64_t id = strtoull(spec, &end, 16);

		if (*end)
			return adbg_error_create(ADBG_ERR_INVALID_ARG, "'%s' is not a task id",
						 spec);
		found = adbg_asyncio_find(snap, id);
		if (!found)
			return adbg_error_create(ADBG_ERR_NOT_FOUND, "no task %s", spec);
		*ret = found;
		return NULL;
	}
	for (size_t i = 0; i < snap->ntasks; i++) {
		if (snap->tasks[i].name && strcmp(snap->tasks[i].name, spec) == 0) {
			if (!found)
				found = &snap->tasks[i];
			matches++;
		}
	}
	if (!found)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "no task named '%s'", spec);
	if (matches > 1)
		return adbg_error_create(ADBG_ERR_INVALID_ARG,
					 "%zu tasks are named '%s'; use the id, e.g. %#" PRIx64,
					 matches, spec, found->id);
	*ret = found;
	return NULL;
}
