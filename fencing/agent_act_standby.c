/*
 * agent_act_standby.c — the first member of a standby cluster, holding
 * its lease with no data yet (decide.h rule 7), copies the main cluster:
 * pg_basebackup from the hosts of standby_cluster_hosts (libpq tries them
 * in order; a copy works from the main cluster's primary or a standby of
 * it alike), or the scope's other create_replica_methods (pgbackrest,
 * custom: agent_act_replica.c tries them in order and lands here for
 * basebackup).  Then it starts in recovery, following the main cluster.
 * The helpers and the contract are in agent_act_int.h.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "fencing/agent_act_int.h"

static void copied(struct act *x, const struct spawn_result *r)
{
	if (act_replica_method_done(x, r, "pg_basebackup"))
		act_start_following(x, STANDBY_CLUSTER_UPSTREAM);
}

void act_standby_basebackup(struct act *x)
{
	struct agent *a = x->a;
	char conninfo[2048], prog[1024], pw[300];
	standby_cluster_conninfo(a, conninfo, sizeof(conninfo));
	if (!conninfo[0]) {
		act_fail(x, "basebackup_failed",
			 "standby_cluster_hosts is not set: nothing to copy "
			 "from (create_replica_methods pgbackrest or custom "
			 "can restore from the main cluster's backups)");
		return;
	}
	/* the password travels in the environment (ps shows command
	 * lines): the conninfo passed on the command line has none */
	char *pass = a->replication_password;
	a->replication_password = NULL;
	standby_cluster_conninfo(a, conninfo, sizeof(conninfo));
	a->replication_password = pass;
	log_event(LOG_INFO, "copy_source", "from=%s hosts=%s",
		  STANDBY_CLUSTER_UPSTREAM, a->live.standby.hosts);
	mkdir(a->conf->pg_data_dir, 0700);
	const char *argv[] = { act_bin(a, "pg_basebackup", prog, sizeof(prog)),
			       "-D",
			       a->conf->pg_data_dir,
			       "-d",
			       conninfo,
			       "-X",
			       "stream",
			       "-c",
			       "fast",
			       "-w",
			       NULL };
	snprintf(pw, sizeof(pw), "PGPASSWORD=%s", pass ? pass : "");
	const char *env[] = { "LC_ALL=C", "LANG=C", pass ? pw : NULL, NULL };
	act_spawn_env(x, argv, env, 3600000, copied);
	memset(pw, 0, sizeof(pw));
}
