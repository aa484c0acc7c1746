/*
 * agent_archiving.c — WAL archiving into the scope's pgBackRest
 * repository, set by the agent (archive_via_pgbackrest, replica_conf.h):
 * archive_mode = on and pgBackRest's archive-push as archive_command, on
 * every node (a replica archives once promoted), unless the scope's or
 * the node's own pg. lines set those parameters: an operator's explicit
 * line wins.
 *
 * archive_mode takes effect only at a start, so the two are written into
 * postgresql.auto.conf before every start too (archive_before_start), not
 * only by agent_params.c's reload once Postgres runs: a new primary
 * archives its very first WAL file.  In a standby cluster, whose members
 * are copies of the main cluster, with its postgresql.auto.conf, the two
 * are written as this scope wants them or removed (archive_settings_own):
 * the main cluster's command archives into the main cluster's stanza,
 * which the standby cluster would do once promoted.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/pgconf.h"

/* The archive parameters the agent adds to explicit (the pg. lines in
 * force): into out (zeroed first). */
static void derive(struct agent *a, const struct pg_params *explicit,
		   struct pg_params *out)
{
	char cmd[PG_PARAM_VALUE_MAX] = "", err[200];
	memset(out, 0, sizeof(*out));
	if (!replica_archives(&a->live.replica))
		return;
	bool own = !pg_params_get(explicit, "archive_command");
	bool ok = !own || replica_archive_command(&a->live.replica,
						  a->conf->pg_data_dir, cmd,
						  sizeof(cmd));
	bool said = a->archive.command_refused;
	a->archive.command_refused = !ok;
	if (!ok) {
		/* nothing, not archive_mode alone: without a command WAL
		 * would pile up in pg_wal until the disk is full */
		if (!said) /* once, not at every parameter poll */
			log_event(LOG_ERROR, "archive_command_refused",
				  "dir=%s why=\"too long, or the data "
				  "directory's path holds a quote, backslash, "
				  "$ or `\"",
				  a->conf->pg_data_dir);
		return;
	}
	if (!pg_params_get(explicit, "archive_mode"))
		(void)pg_params_set(out, "archive_mode", "on", err,
				    sizeof(err));
	if (own)
		(void)pg_params_set(out, "archive_command", cmd, err,
				    sizeof(err));
}

void archive_params_add(struct agent *a, struct pg_params *want)
{
	struct pg_params d;
	char err[200];
	derive(a, want, &d);
	for (size_t i = 0; i < d.n; i++)
		(void)pg_params_set(want, d.p[i].name, d.p[i].value, err,
				    sizeof(err));
}

int archive_settings_own(struct agent *a, char *err, size_t errlen)
{
	static const char *const names[] = { "archive_mode",
					     "archive_command" };
	struct pg_params want;
	pg_params_merge(&want, &a->live.pg, &a->params.node);
	archive_params_add(a, &want);
	for (size_t i = 0; i < 2; i++)
		if (pgconf_auto_set(a->conf->pg_data_dir, names[i],
				    pg_params_get(&want, names[i]), err,
				    errlen) != 0)
			return -1;
	return 0;
}

int archive_before_start(struct agent *a, char *err, size_t errlen)
{
	struct pg_params merged, d;
	if (standby_cluster_active(&a->live.standby))
		return archive_settings_own(a, err, errlen);
	pg_params_merge(&merged, &a->live.pg, &a->params.node);
	derive(a, &merged, &d);
	for (size_t i = 0; i < d.n; i++)
		if (pgconf_auto_set(a->conf->pg_data_dir, d.p[i].name,
				    d.p[i].value, err, errlen) != 0)
			return -1;
	return 0;
}
