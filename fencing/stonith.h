/*
 * stonith.h — "shoot the other node in the head" through a fence agent
 * that speaks the Pacemaker / Red Hat fence-agent API (fence_ipmilan,
 * fence_virsh, fence_aws, ... or a script of the operator's), so that an
 * old primary we cannot reach is powered off before its Postgres could
 * accept another write.
 *
 * Contract
 * --------
 * The configured command runs as `/bin/sh -c CMD` (spawn.h: own process
 * group, killed with it on timeout).  Arguments go on stdin, one
 * "key=value" line each, as the API prescribes:
 *     action=off
 *     port=NODE
 *     nodename=NODE
 *     <each extra line>
 * The agent's answer for action=off: exit 0 = done, anything else =
 * failed.  The API asks agents to verify an "off", but a timeout or an
 * unverified agent is an assumption, not a guarantee, so we then ask
 * ourselves, with action=status, whose exit codes are 0 = reachable and
 * ON, 1 = device unreachable, 2 = reachable and OFF.  Only "off exited 0
 * and status exited 2" is success.  Everything else (off failed, status
 * says on or cannot reach the device, a signal, the timeout, the command
 * cannot be started) is failure with a message saying which step, the
 * exit code and the agent's last output line.
 *
 * timeout_ms bounds the whole operation (both runs); 0 means none, which
 * only makes sense in tests: an agent that hangs is a failure, not a
 * success (the API says so too).
 *
 * The callback runs exactly once, from the loop, never from inside
 * stonith_fence(); message is valid during the callback only.  A
 * negative return (invalid node or extra line, spawn failure) means the
 * callback will not run.  Loop thread only; no global state.
 *
 * Errors: 0 or a negative libuv code (see above); the fence's own outcome
 * arrives in the callback with its message.
 */
#ifndef TENURE_FENCING_STONITH_H
#define TENURE_FENCING_STONITH_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef void (*stonith_cb)(void *arg, bool ok, const char *message);

struct stonith_req {
	const char *cmd;          /* shell command line */
	const char *node;         /* the node to power off */
	const char *const *extra; /* "key=value", NULL-terminated */
	uint64_t timeout_ms;
	const char *log_path; /* agent output too; or NULL */
};

/* 0, or a negative libuv error (UV_EINVAL: node or an extra line empty or
 * holding a newline, an extra line without '='). */
int stonith_fence_req(uv_loop_t *loop, const struct stonith_req *req,
		      stonith_cb cb, void *arg);
/* The same without extra lines or a log. */
int stonith_fence(uv_loop_t *loop, const char *cmd, const char *node,
		  uint64_t timeout_ms, stonith_cb cb, void *arg);

#endif
