/*
 * hook_cmd.h — the command line and environment of a hook or callback
 * (pre_promote, on_start, on_stop, on_restart, on_reload,
 * on_role_change): what Patroni's callbacks get, so scripts written for
 * Patroni work unchanged.
 *
 * Contract
 * --------
 * hook_cmd_build() fills h for `/bin/sh -c 'exec CMD "$@"' tenure-hook
 * ACTION ROLE SCOPE`: the operator's command gets ACTION ROLE SCOPE as its
 * last three arguments (Patroni: `CMD ACTION ROLE CLUSTER_NAME`), and the
 * environment gains TENURE_ACTION, TENURE_ROLE, TENURE_SCOPE, TENURE_NAME
 * and, from pg_listen ("HOST:PORT", no port: 5432), TENURE_PG_HOST and
 * TENURE_PG_PORT.  h->argv and h->env point into h itself: use them while
 * h lives, never copy h.  Values too long are cut (a 1 KiB command at
 * most).  Pure: no I/O, no allocation.
 */
#ifndef TENURE_FENCING_HOOK_CMD_H
#define TENURE_FENCING_HOOK_CMD_H

#include "fencing/agent.h"

struct hook_cmd {
	char script[1100];
	char v_action[64], v_role[64], v_scope[300], v_name[300];
	char v_host[300], v_port[40];
	char action[32], role[32];
	const char *argv[8]; /* NULL-terminated */
	const char *env[8];  /* NAME=VALUE, NULL-terminated */
};

void hook_cmd_build(struct hook_cmd *h, const struct agent_conf *conf,
		    const char *cmd, const char *action, const char *role);

#endif
