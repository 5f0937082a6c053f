// SPDX-License-Identifier: MIT
// The private channel between the debugger and its agent inside a live target.
//
// The debugger creates a directory inside the target's own root
// (/tmp/aiodbg-XXXXXX, or under /var/tmp, /dev/shm, resolved inside that root with
// openat2(RESOLVE_IN_ROOT) so no link leads out of it), owned by the debugger's euid and
// open to the target's group for entering only (0710), and listens on a unix socket in it;
// the agent (shared/agent/agent.py) is written there too, readable but not writable by the
// target. The agent connects to the socket by the path it sees in its mount namespace and
// checks its peer (SO_PEERCRED: the debugger's pid and uid, adbg_channel_peer_ids). A
// filesystem unix socket reached through /proc/PID/root works across mount and network
// namespaces (containers, chroots); on accept the peer's pid (SO_PEERCRED) must be the
// target's and its first message must carry a random token that only the agent file
// holds. Once connected, a keepalive thread sends an empty line every second, so the
// agent can tell a live debugger from a stopped or dead one (channel.c explains the
// lease). Directories left by a killed debugger are removed by the next channel into the
// same root. Never a TCP port. Messages are newline-delimited JSON objects. This module
// knows nothing of CPython or of what the messages mean; it does not inject anything
// (inject.c does).
#ifndef AIODBG_CHANNEL_H
#define AIODBG_CHANNEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct adbg_channel;

/**
 * Create the private directory in the root of process pid and listen in it.
 * *ret is freed with adbg_channel_destroy.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_channel_create(int pid, struct adbg_channel **ret);

/**
 * Free: stop the keepalive, close the connection and the listener, remove the directory.
 * NULL is a no-op.
 */
void adbg_channel_destroy(struct adbg_channel *ch);

/** The socket's path as the target sees it ("/tmp/aiodbg-XXXXXX/s"). */
const char *adbg_channel_socket_path(const struct adbg_channel *ch);

/** The random token the agent must present in its hello. */
const char *adbg_channel_token(const struct adbg_channel *ch);

/**
 * Our pid and euid as the target's pid and user namespaces show them: what the agent's
 * SO_PEERCRED on its end of the socket must read (pid 0: we are outside its pid namespace).
 */
void adbg_channel_peer_ids(const struct adbg_channel *ch, long *pid, long *uid);

/**
 * Write a file (ours, mode 0640, group the target's: it can read, not change it) into the
 * private directory.
 * *path_ret (optional, malloc'd) is its path as the target sees it.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_channel_write_file(struct adbg_channel *ch,
							   const char *name, const void *data,
							   size_t len, char **path_ret);

/**
 * Wait up to timeout_ms for the agent to connect. On a connection, check SO_PEERCRED
 * (pid must be the target's) and the hello message (token). ADBG_ERR_TIMEOUT when nobody
 * came in time (call again to keep waiting), ADBG_ERR_INTERRUPTED when *interrupted was
 * set, ADBG_ERR_PERMISSION for an impostor (its connection is dropped; call again to keep
 * waiting for the agent). On success the keepalive thread starts. *hello_ret
 * (optional) is the hello object, a new reference.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_channel_accept(struct adbg_channel *ch, int timeout_ms,
						       volatile int *interrupted,
						       json_t **hello_ret);

/** Remove the directory and what is in it (the connection, once made, stays). */
void adbg_channel_remove_dir(struct adbg_channel *ch);

/**
 * Whether directory dir (a path as the target sees it) exists in the target's root
 * (resolved inside it); true when that cannot be told.
 */
bool adbg_channel_dir_exists(const struct adbg_channel *ch, const char *dir);

/** True once an agent is connected and the connection has not failed. */
int adbg_channel_connected(const struct adbg_channel *ch);

/** Send one message (a JSON object; not consumed). ADBG_ERR_GONE when the agent is gone. */
ADBG_MUST_CHECK struct adbg_error *adbg_channel_send(struct adbg_channel *ch, json_t *msg);

/**
 * Receive one message, waiting up to timeout_ms (< 0: forever). ADBG_ERR_TIMEOUT,
 * ADBG_ERR_INTERRUPTED (when *interrupted is set; the message stays to be read later),
 * ADBG_ERR_GONE (the agent closed the channel), ADBG_ERR_BAD_DATA (not JSON).
 * *ret is a new reference.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_channel_recv(struct adbg_channel *ch, int timeout_ms,
						     volatile int *interrupted, json_t **ret);

#endif
