/*
 * hook_cmd.c — a hook's command line and environment (hook_cmd.h).
 */
#include <stdio.h>
#include <string.h>

#include "fencing/hook_cmd.h"
#include "fencing/roster.h"

void hook_cmd_build(struct hook_cmd *h, const struct agent_conf *conf,
		    const char *cmd, const char *action, const char *role)
{
	char host[256], port[16];
	snprintf(h->script, sizeof(h->script), "exec %s \"$@\"", cmd);
	snprintf(h->action, sizeof(h->action), "%s", action);
	snprintf(h->role, sizeof(h->role), "%s", role);
	snprintf(h->v_action, sizeof(h->v_action), "TENURE_ACTION=%s", action);
	snprintf(h->v_role, sizeof(h->v_role), "TENURE_ROLE=%s", role);
	snprintf(h->v_scope, sizeof(h->v_scope), "TENURE_SCOPE=%s",
		 conf->scope);
	snprintf(h->v_name, sizeof(h->v_name), "TENURE_NAME=%s", conf->name);
	/* Where this node's Postgres listens (the address the standbys
	 * replicate from): what a hook repointing a router needs. */
	roster_split_pg(conf->pg_listen, host, sizeof(host), port,
			sizeof(port));
	snprintf(h->v_host, sizeof(h->v_host), "TENURE_PG_HOST=%s", host);
	snprintf(h->v_port, sizeof(h->v_port), "TENURE_PG_PORT=%s", port);
	const char *argv[] = { "/bin/sh", "-c",    h->script,   "tenure-hook",
			       h->action, h->role, conf->scope, NULL };
	const char *env[] = { h->v_action, h->v_role, h->v_scope, h->v_name,
			      h->v_host,   h->v_port, NULL };
	memcpy(h->argv, argv, sizeof(argv));
	memcpy(h->env, env, sizeof(env));
}
