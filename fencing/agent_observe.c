/*
 * agent_observe.c — what the local Postgres is doing, each tick: whether
 * its data directory exists, whether a postmaster runs, and, when it
 * answers, its role, positions, replication and synchronous settings.  A
 * stopped server is described by pg_controldata (was it a primary, was it
 * shut down cleanly).  Then the record this agent publishes is built.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/controldata.h"
#include "fencing/pgconf.h"
#include "fencing/self_record.h"
#include "fencing/spawn.h"

/* One round trip: role, positions (as byte numbers), timeline,
 * walreceiver, and the two settings the agent manages. */
static const char status_sql[] =
	"SELECT pg_is_in_recovery(),"
	" (CASE WHEN pg_is_in_recovery() THEN coalesce("
	"   pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"
	"  ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint,"
	" (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
	"  ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint,"
	" CASE WHEN pg_is_in_recovery()"
	"  THEN (SELECT timeline_id FROM pg_control_checkpoint())"
	"  ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))"
	"   ::bit(32)::int END,"
	" (SELECT status FROM pg_stat_wal_receiver),"
	" current_setting('primary_conninfo'),"
	" current_setting('synchronous_standby_names'),"
	" (SELECT received_tli FROM pg_stat_wal_receiver),"
	" (SELECT system_identifier FROM pg_control_system()),"
	/* a primary: how far each standby has flushed (decide.c, S/sync) */
	" (SELECT string_agg(application_name || '=' ||"
	"   (flush_lsn - '0/0'::pg_lsn)::bigint, ',')"
	"  FROM pg_stat_replication WHERE flush_lsn IS NOT NULL)";

struct observe {
	struct agent *a;
	void (*done)(struct agent *a);
};

static bool postmaster_alive(const char *datadir)
{
	pid_t pid = pgconf_postmaster_pid(datadir);
	if (pid <= 0 || kill(pid, 0) != 0)
		return false;
	char path[64], comm[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool ok = fgets(comm, sizeof(comm), f) &&
		  (strncmp(comm, "postgres", 8) == 0 ||
		   strncmp(comm, "postmaster", 10) == 0);
	fclose(f);
	return ok;
}

/* 'ANY 1 ("a","b")' (what act_set_sync writes) into "a,b". */
static void parse_sync_names(const char *setting, char *out, size_t cap)
{
	out[0] = '\0';
	const char *p = strchr(setting, '(');
	size_t len = 0;
	while (p && *p && *p != ')') {
		const char *q = strchr(p, '"');
		if (!q)
			break;
		const char *e = strchr(q + 1, '"');
		if (!e)
			break;
		int w = snprintf(out + len, cap - len, "%s%.*s", len ? "," : "",
				 (int)(e - q - 1), q + 1);
		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
		p = e + 1;
	}
}

/* Which member's conninfo primary_conninfo is: that is the upstream. */
static void find_upstream(struct agent *a, const char *conninfo)
{
	struct decide_pg *o = &a->pg_obs;
	o->upstream[0] = '\0';
	if (!conninfo[0])
		return;
	char main_cluster[2048];
	standby_cluster_conninfo(a, main_cluster, sizeof(main_cluster));
	if (main_cluster[0] && strcmp(main_cluster, conninfo) == 0) {
		snprintf(o->upstream, sizeof(o->upstream), "%s",
			 STANDBY_CLUSTER_UPSTREAM);
		return;
	}
	for (size_t i = 0; i < a->view.n_members; i++) {
		char want[1024];
		act_conninfo(a, &a->view.members[i], want, sizeof(want));
		if (strcmp(want, conninfo) == 0) {
			snprintf(o->upstream, sizeof(o->upstream), "%s",
				 a->view.members[i].name);
			return;
		}
	}
	snprintf(o->upstream, sizeof(o->upstream), "?");
}

static void take_row(struct agent *a, const struct pg_rows *rows)
{
	struct decide_pg *o = &a->pg_obs;
	const char *v;
	enum pg_state prev = o->state;
	bool recovery = (v = pg_rows_get(rows, 0, 0)) && v[0] == 't';
	o->state = recovery ? PG_REPLICA : PG_PRIMARY;
	o->received_lsn = (v = pg_rows_get(rows, 0, 1)) ? strtoull(v, NULL, 10)
							: 0;
	o->replayed_lsn = (v = pg_rows_get(rows, 0, 2)) ? strtoull(v, NULL, 10)
							: 0;
	/* A standby's timeline: the walreceiver's while it streams; else the
	 * last restartpoint's, which may lag behind what was seen before. */
	uint32_t tl = (v = pg_rows_get(rows, 0, 3)) ? (uint32_t)atoi(v) : 0;
	const char *rtl = pg_rows_get(rows, 0, 7);
	if (rtl)
		tl = (uint32_t)atoi(rtl);
	else if (recovery && prev == PG_REPLICA && o->timeline > tl)
		tl = o->timeline;
	o->timeline = tl;
	v = pg_rows_get(rows, 0, 4);
	bool receiver = v != NULL;
	o->streaming = v && strcmp(v, "streaming") == 0;
	const char *conninfo = pg_rows_get(rows, 0, 5);
	find_upstream(a, conninfo ? conninfo : "");
	standby_cluster_observed(a, conninfo ? conninfo : "");
	bool frozen = recovery && !receiver && (!conninfo || !conninfo[0]);
	/* Frozen counts once replay has stopped moving: a standby that was
	 * restarted still replays WAL it has on disk, and the position it
	 * publishes must be where it will end, not where it is. */
	bool settled = frozen && o->frozen &&
		       o->replayed_lsn == a->last_replayed &&
		       o->received_lsn == a->last_received;
	a->last_replayed = o->replayed_lsn;
	a->last_received = o->received_lsn;
	a->frozen_settling = frozen && !settled;
	o->frozen = frozen;
	o->frozen_settled = settled;
	v = pg_rows_get(rows, 0, 6);
	parse_sync_names(v ? v : "", o->sync_names, sizeof(o->sync_names));
	o->sync_count = v && strncmp(v, "ANY ", 4) == 0 ? atoi(v + 4) : 0;
	if ((v = pg_rows_get(rows, 0, 8)))
		a->pg_sysid = strtoull(v, NULL, 10);
	v = pg_rows_get(rows, 0, 9);
	snprintf(o->standby_flush, sizeof(o->standby_flush), "%s",
		 v && !recovery ? v : "");
	uint64_t now = clock_now_ms();
	if (o->streaming || !recovery || !a->not_streaming_since)
		a->not_streaming_since = now;
	o->not_streaming_ms = now - a->not_streaming_since;
	startfail_came_up(a);
}

static void on_status(void *arg, int status, const char *error,
		      const struct pg_rows *rows)
{
	struct observe *ob = arg;
	struct agent *a = ob->a;
	if (status == 0 && rows && rows->nrows == 1) {
		take_row(a, rows);
	} else {
		a->pg_obs.state = PG_STARTING;
		log_event(LOG_DEBUG, "pg_not_answering", "err=\"%s\"",
			  error ? error : "");
	}
	ob->done(a);
	free(ob);
}

static bool has_backup_label(const char *datadir)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/backup_label", datadir);
	return access(path, F_OK) == 0;
}

static void on_controldata(void *arg, const struct spawn_result *r)
{
	struct observe *ob = arg;
	struct agent *a = ob->a;
	struct controldata cd;
	char err[128];
	if (r->exit_status == 0 &&
	    controldata_parse(r->output, &cd, err, sizeof(err))) {
		/* A fresh base backup carries its source's "in production"
		 * but also a backup_label: it is no old primary. */
		a->pg_obs.was_primary = controldata_was_primary(&cd) &&
					!has_backup_label(a->conf->pg_data_dir);
		a->pg_obs.clean = controldata_clean(&cd);
		a->pg_obs.timeline = cd.timeline;
		a->pg_obs.controldata_ok = true;
		a->pg_obs.standby_data = adopt_standby_data(
			a->conf->pg_data_dir);
		a->pg_sysid = cd.system_identifier;
	} else {
		log_event(LOG_WARN, "pg_controldata_failed",
			  "output=\"%.200s\"", r->output);
		a->pg_obs.was_primary = true; /* assume the worst */
		a->pg_obs.clean = false;
		a->pg_obs.controldata_ok = false;
	}
	ob->done(a);
	free(ob);
}

static void observe_stopped(struct observe *ob)
{
	struct agent *a = ob->a;
	char bin[1024];
	snprintf(bin, sizeof(bin), "%s/pg_controldata", a->conf->pg_bin_dir);
	const char *argv[] = { bin, "-D", a->conf->pg_data_dir, NULL };
	const char *env[] = { "LC_ALL=C", "LANG=C", NULL };
	struct spawn_opts o = { .argv = argv,
				.env_extra = env,
				.timeout_ms = 10000 };
	if (spawn_run(a->loop, &o, on_controldata, ob) != 0) {
		a->pg_obs.was_primary = true;
		a->pg_obs.clean = false;
		a->pg_obs.controldata_ok = false;
		ob->done(a);
		free(ob);
	}
}

void observe_pg(struct agent *a, void (*done)(struct agent *a))
{
	struct observe *ob = calloc(1, sizeof(*ob));
	if (!ob) {
		done(a);
		return;
	}
	ob->a = a;
	ob->done = done;
	const char *dir = a->conf->pg_data_dir;
	a->pg_obs.rewound = a->rewound;
	startfail_fill(a, &a->pg_obs);
	if (!pgconf_is_initialized(dir)) {
		a->pg_obs.state = PG_ABSENT;
		done(a);
		free(ob);
		return;
	}
	if (!postmaster_alive(dir)) {
		startfail_observe(a); /* once per start that did not come up */
		startfail_fill(a, &a->pg_obs);
		a->not_streaming_since = 0;
		a->pg_obs.state = PG_STOPPED;
		pg_conn_reset(a->pg);
		observe_stopped(ob);
		return;
	}
	uint64_t timeout = (uint64_t)a->live.renew_interval * 2;
	if (pg_query(a->pg, status_sql, timeout, on_status, ob) != 0) {
		a->pg_obs.state = PG_STARTING;
		done(a);
		free(ob);
	}
}

void observe_build_self(struct agent *a)
{
	char why[MEMBER_STR_MAX];
	bool waiting = a->last_action.kind == ACT_NONE && a->status_reason;
	struct self_facts f = {
		.name = a->conf->name,
		.api = a->conf->listen_http,
		.pg_addr = a->conf->pg_listen,
		.pg = &a->pg_obs,
		.start_failed = a->start_failures > 0 && a->start_failed_ms,
		.nofailover = a->conf->nofailover ||
			      clock_now_ms() < a->veto_until,
		.priority = a->conf->failover_priority,
		.nosync = a->conf->nosync,
		.noloadbalance = a->conf->noloadbalance,
		.clonefrom = a->conf->clonefrom,
		.replicatefrom = a->conf->replicatefrom,
		.lease_token = lease_primary_valid(a) ? a->primary.token : 0,
		/* why it is down, as /health's problem says it */
		.down_reason = startfail_problem(a, why, sizeof(why)),
		.waiting = waiting ? a->status_reason : NULL,
		.wall_ms = clock_wall_ms(),
	};
	self_record_build(&f, &a->view, &a->self);
	a->self.slots = true; /* agent_slots.c */
	a->self.pending_restart = a->params.pending_restart;
	a->self.archived = a->archive.archived;
	a->self.archive_failed = a->archive.failed;
	snprintf(a->self.archive_last_wal, sizeof(a->self.archive_last_wal),
		 "%s", a->archive.last_wal);
	snprintf(a->self.hs_params, sizeof(a->self.hs_params), "%s",
		 a->params.hs_running);
}
