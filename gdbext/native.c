// SPDX-License-Identifier: MIT
// `aio bt --native`: GDB's native frames merged with the Python frames of each thread.
#include "gdbext.h"

struct adbg_error *gdbext_bt_native(struct adbg_session *s, const char *line, bool json,
				    FILE *out)
{
	(void)s;
	(void)line;
	(void)json;
	(void)out;
	return adbg_error_create(ADBG_ERR_UNSUPPORTED, "bt --native: not yet");
}
