/*
 * agent_adopt.c — taking over a database that exists before the scope
 * does (a cluster migrated in, e.g. from Patroni): what tells a former
 * primary's data from a standby's, and the record written once this node
 * has adopted it.  The rules (who adopts, who waits) are in decide.c; the
 * steps (lease, start as the primary, role, history, hook) in
 * agent_act_copy.c, shared with bootstrap.
 *
 * S/initialize holds "NAME SYSID": the node that created or adopted the
 * database and its system identifier (pg_controldata's "Database system
 * identifier"), so that an operator (or a later check) can tell which
 * database the scope is about.  Readers only test that it exists.
 */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "common/log.h"
#include "fencing/agent_int.h"

static bool has_file(const char *datadir, const char *name)
{
	char path[1024];
	int n = snprintf(path, sizeof(path), "%s/%s", datadir, name);
	return n > 0 && (size_t)n < sizeof(path) && access(path, F_OK) == 0;
}

bool adopt_standby_data(const char *datadir)
{
	/* Either file makes Postgres start in recovery: whoever left it
	 * (Patroni, pg_basebackup -R, this agent) meant a standby. */
	return has_file(datadir, "standby.signal") ||
	       has_file(datadir, "recovery.signal");
}

void adopt_mark_initialized(struct agent *a, keys_done_cb cb, void *arg)
{
	char value[MEMBER_STR_MAX + 32];
	if (a->pg_sysid)
		snprintf(value, sizeof(value), "%s %" PRIu64, a->conf->name,
			 a->pg_sysid);
	else
		snprintf(value, sizeof(value), "%s", a->conf->name);
	log_event(LOG_INFO, "scope_initialized", "value=\"%s\"", value);
	keys_put(a, "initialize", value, cb, arg);
}

void adopt_log(const struct agent *a)
{
	log_event(LOG_INFO, "adopted",
		  "node=%s data_dir=%s system_identifier=%" PRIu64
		  " token=%llu",
		  a->conf->name, a->conf->pg_data_dir, a->pg_sysid,
		  (unsigned long long)a->primary.token);
}
