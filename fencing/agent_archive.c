/*
 * agent_archive.c — WAL archiving's health on this node, from
 * pg_stat_archiver every POLL_MS: how many WAL files were archived, how
 * many attempts failed, the last one archived and when.  Shown in
 * /metrics and, through the member record, in `cluster list -o json`: a
 * replica created from backups (create_replica_methods = pgbackrest)
 * replays the archive, so an archive that stopped is a copy that cannot
 * catch up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"

#define POLL_MS 5000
#define QUERY_MS 5000

static const char archiver_sql[] =
	"SELECT archived_count, failed_count, coalesce(last_archived_wal, ''), "
	"coalesce((extract(epoch FROM last_archived_time) * 1000)::bigint, 0) "
	"FROM pg_stat_archiver";

static uint64_t u64_at(const struct pg_rows *rows, int col)
{
	const char *v = pg_rows_get(rows, 0, col);
	return v ? strtoull(v, NULL, 10) : 0;
}

static void archiver_read(void *arg, int status, const char *error,
			  const struct pg_rows *rows)
{
	struct agent *a = arg;
	struct archive_state *s = &a->archive;
	s->in_flight = false;
	if (status != 0 || !rows || rows->nrows < 1)
		return;
	uint64_t failed = u64_at(rows, 1);
	const char *wal = pg_rows_get(rows, 0, 2);
	if (failed > s->failed && s->checked_ms)
		log_event(LOG_WARN, "archive_failing",
			  "failed=%llu last_archived=%s hint=\"see "
			  "archive_command's output in the Postgres log\"",
			  (unsigned long long)failed,
			  wal && *wal ? wal : "none");
	s->archived = u64_at(rows, 0);
	s->failed = failed;
	snprintf(s->last_wal, sizeof(s->last_wal), "%s", wal ? wal : "");
	s->last_archived_ms = u64_at(rows, 3);
	s->checked_ms = clock_now_ms();
}

void archive_step(struct agent *a)
{
	struct archive_state *s = &a->archive;
	if (s->in_flight ||
	    (a->pg_obs.state != PG_PRIMARY && a->pg_obs.state != PG_REPLICA) ||
	    (s->checked_ms && clock_now_ms() - s->checked_ms < POLL_MS))
		return;
	s->in_flight = true;
	if (pg_query(a->pg, archiver_sql, QUERY_MS, archiver_read, a) != 0)
		s->in_flight = false;
}
