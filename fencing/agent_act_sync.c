/*
 * agent_act_sync.c — the synchronous standbys: S/sync and Postgres'
 * synchronous_standby_names changed in the order that keeps every
 * acknowledged commit on a node S/sync names.  The helpers and the
 * contract are in agent_act_int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fencing/agent_act_int.h"
#include "fencing/pgconf.h"
#include "fencing/roster.h"

/* ---- synchronous standbys ------------------------------------------------ */

void act_format_sync(const char *list, int count, bool strict, char *out,
		     size_t cap)
{
	list = decide_sync_names(strict, list);
	if (!list[0]) {
		out[0] = '\0';
		return;
	}
	size_t len = (size_t)snprintf(out, cap, "ANY %d (",
				      decide_sync_count(count, list));
	char name[MEMBER_STR_MAX];
	const char *sep = "";
	for (const char *p = list;
	     len < cap && (p = roster_list_next(p, name, sizeof(name)));
	     sep = ",")
		len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", sep,
					name);
	if (len < cap)
		snprintf(out + len, cap - len, ")");
}

static void union_lists(const char *a, const char *b, char *out, size_t cap)
{
	snprintf(out, cap, "%s", a);
	char name[MEMBER_STR_MAX];
	for (const char *p = b;
	     (p = roster_list_next(p, name, sizeof(name)));) {
		if (name[0] && !roster_in_list(out, name)) {
			size_t len = strlen(out);
			snprintf(out + len, cap - len, "%s%s", len ? "," : "",
				 name);
		}
	}
}

void act_sync_final(struct agent *a, int status, void *arg)
{
	struct act *x = arg;
	if (status == CLIENT_OK) {
		snprintf(a->view.sync, sizeof(a->view.sync), "%s",
			 x->what.target);
		a->view.sync_present = true;
	}
	act_finish(x);
}

static void sync_removed(struct agent *a, int status, void *arg)
{
	if (status == CLIENT_OK || status == CLIENT_NOT_FOUND) {
		a->view.sync[0] = '\0';
		a->view.sync_present = false;
		log_event(LOG_INFO, "sync_key_removed",
			  "why=\"asynchronous mode\"");
	}
	act_finish(arg);
}

/* Every commit acknowledged before Postgres waited for the new list is
 * at or below this position (decide.c sync_caught_up). */
static void sync_marked(struct act *x, int status, const char *error,
			const struct pg_rows *rows)
{
	const char *v = status == 0 ? pg_rows_get(rows, 0, 0) : NULL;
	if (!v) {
		act_fail(x, "sync_position_failed",
			 error ? error : "no answer");
		return;
	}
	x->a->sync_since_lsn = strtoull(v, NULL, 10);
	act_finish(x);
}

static void sync_reloaded(struct act *x, int status, const char *error,
			  const struct pg_rows *rows)
{
	if (status != 0) {
		act_fail(x, "reload_failed", error);
		return;
	}
	agent_callback(x->a, "on_reload", "primary");
	/* Postgres now waits for the new list (a reload is applied before
	 * the next commit starts waiting); only then may S/sync shrink,
	 * or, in asynchronous mode, go. */
	if (!x->a->live.synchronous_mode && x->a->view.sync_present)
		keys_delete(x->a, "sync", sync_removed, x);
	else if (!x->a->live.synchronous_mode || !x->what.target[0])
		act_finish(x);
	else /* S/sync names them later (ACT_SYNC_KEY), once caught up */
		act_query(x,
			  "SELECT (pg_current_wal_lsn() - "
			  "'0/0'::pg_lsn)::bigint",
			  5000, sync_marked);
}

static void sync_widened(struct agent *a, int status, void *arg)
{
	struct act *x = arg;
	if (status != CLIENT_OK) {
		act_fail(x, "sync_key_failed", client_status_name(status));
		return;
	}
	char setting[600], err[256];
	act_format_sync(x->what.target, (int)a->live.synchronous_node_count,
			a->live.synchronous_mode &&
				a->live.synchronous_mode_strict,
			setting, sizeof(setting));
	if (pgconf_auto_set(a->conf->pg_data_dir, "synchronous_standby_names",
			    setting, err, sizeof(err)) != 0) {
		act_fail(x, "pgconf_failed", err);
		return;
	}
	log_event(LOG_INFO, "sync_standbys", "names=\"%s\"", x->what.target);
	act_query(x, "SELECT pg_reload_conf()", 5000, sync_reloaded);
}

/* Synchronous mode keeps one invariant: every acknowledged commit is on
 * some node S/sync names (a failover waits for all of them to stop and
 * promotes the most advanced).  So:
 *   - Postgres to wait for nobody: S/sync emptied first (no failover may
 *     count on it), then Postgres changed;
 *   - Postgres to wait for others: S/sync, if it names anyone, widened
 *     to old and new first, then Postgres changed, and its position noted;
 *     S/sync narrows to the new list later (ACT_SYNC_KEY), once one of
 *     them has reached that position. */
void act_set_sync(struct act *x)
{
	struct agent *a = x->a;
	if (!a->live.synchronous_mode) {
		sync_widened(a, CLIENT_OK, x);
		return;
	}
	if (!x->what.target[0]) {
		if (a->view.sync[0])
			keys_put(a, "sync", "", sync_widened, x);
		else
			sync_widened(a, CLIENT_OK, x);
		return;
	}
	union_lists(a->view.sync, x->what.target, x->sync_union,
		    sizeof(x->sync_union));
	if (!a->view.sync[0] || strcmp(x->sync_union, a->view.sync) == 0)
		sync_widened(a, CLIENT_OK, x);
	else
		keys_put(a, "sync", x->sync_union, sync_widened, x);
}
