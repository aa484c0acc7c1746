/*
 * agent_standby_cluster.c — the standby leader of a standby cluster
 * (fencing/standby_cluster.h, decide.h rule 7) follows the main cluster:
 * primary_conninfo names every host of standby_cluster_hosts with
 * target_session_attrs=read-write, so that the walreceiver reconnects to
 * whichever is the main cluster's primary after its failover, and
 * PostgreSQL's default recovery_target_timeline 'latest' follows the new
 * timeline without a copy.  restore_command fetches WAL from the main
 * cluster's archive when streaming cannot give it.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/pgconf.h"
#include "fencing/stanza_borrow.h"

void standby_cluster_conninfo(struct agent *a, char *buf, size_t cap)
{
	char hosts[STANDBY_CLUSTER_HOSTS_MAX], ports[STANDBY_CLUSTER_HOSTS_MAX];
	buf[0] = '\0';
	if (!standby_cluster_host_lists(&a->live.standby, hosts, sizeof(hosts),
					ports, sizeof(ports)))
		return;
	pgconf_conninfo_append(buf, cap, "host", hosts);
	pgconf_conninfo_append(buf, cap, "port", ports);
	pgconf_conninfo_append(buf, cap, "user", a->conf->replication_user);
	if (a->replication_password)
		pgconf_conninfo_append(buf, cap, "password",
				       a->replication_password);
	pgconf_conninfo_append(buf, cap, "application_name", a->conf->name);
	/* the main cluster's primary, wherever its failover put it */
	pgconf_conninfo_append(buf, cap, "target_session_attrs", "read-write");
}

void act_target_conninfo(struct agent *a, const char *target, char *buf,
			 size_t cap)
{
	const struct member *m = NULL;
	buf[0] = '\0';
	if (strcmp(target, STANDBY_CLUSTER_UPSTREAM) == 0)
		standby_cluster_conninfo(a, buf, cap);
	else if (target[0] && (m = keys_find_member(a, target)))
		act_conninfo(a, m, buf, cap);
}

int standby_cluster_follow(struct agent *a, char *err, size_t errlen)
{
	const struct standby_cluster *c = &a->live.standby;
	const char *dir = a->conf->pg_data_dir;
	char conninfo[2048];
	standby_cluster_conninfo(a, conninfo, sizeof(conninfo));
	if (pgconf_auto_set(dir, "primary_conninfo", conninfo, err, errlen) ||
	    pgconf_auto_set(dir, "primary_slot_name",
			    c->set[STANDBY_KEY_SLOT] ? c->slot : "", err,
			    errlen))
		return -1;
	/* only when set: a pgBackRest copy wrote its own, which stays */
	if (c->set[STANDBY_KEY_RESTORE_COMMAND] &&
	    pgconf_auto_set(dir, "restore_command", c->restore_command, err,
			    errlen))
		return -1;
	return 0;
}

/* Once it is a primary of its own, nothing may lead it back to the main
 * cluster: as a standby of its own cluster later, the main cluster's
 * archive would offer history files of timelines that are not its own
 * (both clusters count timelines on from the same number).  A restore
 * command of the scope's pgBackRest replicas is written again, but only
 * for a stanza the cluster archives into: one it does not is the main
 * cluster's, which it was copied from (stanza_borrow.h). */
void standby_cluster_promoted(struct agent *a)
{
	const char *dir = a->conf->pg_data_dir;
	char err[256], cmd[1200];
	const char *restore = NULL;
	enum replica_method m[REPLICA_N_METHODS];
	size_t n = replica_methods(&a->live.replica, m);
	for (size_t i = 0; i < n; i++)
		if (m[i] == REPLICA_PGBACKREST &&
		    stanza_borrow_own(&a->live.replica) &&
		    replica_restore_command(&a->live.replica, dir, cmd,
					    sizeof(cmd)))
			restore = cmd;
	if (pgconf_auto_set(dir, "primary_conninfo", NULL, err, sizeof(err)) ||
	    pgconf_auto_set(dir, "primary_slot_name", NULL, err, sizeof(err)) ||
	    pgconf_auto_set(dir, "restore_command", restore, err, sizeof(err)))
		log_event(LOG_WARN, "pgconf_failed",
			  "after=standby_cluster_promoted err=\"%s\"", err);
}

void standby_cluster_observed(struct agent *a, const char *conninfo)
{
	struct decide_pg *o = &a->pg_obs;
	const struct standby_cluster *c = &a->live.standby;
	if (!conninfo[0] && o->state == PG_REPLICA &&
	    standby_cluster_active(c) && !c->set[STANDBY_KEY_HOSTS])
		snprintf(o->upstream, sizeof(o->upstream), "%s",
			 STANDBY_CLUSTER_UPSTREAM);
	bool main = strcmp(o->upstream, STANDBY_CLUSTER_UPSTREAM) == 0;
	if (standby_cluster_active(c))
		a->followed_main = main && o->state == PG_REPLICA;
	else if (o->upstream[0] && keys_find_member(a, o->upstream))
		a->followed_main = false; /* a member of its own cluster now */
}

void standby_cluster_log(const struct standby_cluster *c)
{
	char hosts[STANDBY_CLUSTER_HOSTS_MAX], slot[64];
	standby_cluster_value(c, STANDBY_KEY_HOSTS, hosts, sizeof(hosts));
	standby_cluster_value(c, STANDBY_KEY_SLOT, slot, sizeof(slot));
	log_event(LOG_INFO, "scope_setting",
		  "key=standby_cluster active=%d hosts=%s slot=%s "
		  "restore_command=%s",
		  standby_cluster_active(c), hosts[0] ? hosts : "-",
		  slot[0] ? slot : "-",
		  c->set[STANDBY_KEY_RESTORE_COMMAND] ? "set" : "-");
}
