/*
 * agent_unguarded.c — maintenance mode and a stopped agent.  Upgrading the
 * agent is what maintenance mode is for, so an agent stopped while the
 * cluster is paused leaves its Postgres running in its current role.  A
 * primary's Postgres then runs without the lease and without the guard;
 * before the lease goes, S/unguarded = "NAME TOKEN HOST:DATADIR" says so,
 * durably:
 *   - the agent started again takes the lease back for it (decide.h rule
 *     1, ACT_RECLAIM) and clears the key;
 *   - a candidate of an operator's failover must switch it off first
 *     (stonith_command) or refuse to promote (agent_act_promote.c), and
 *     clears the key once promoted.
 * While paused nobody is promoted automatically, so nothing else can make
 * a second primary meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "fencing/agent_int.h"

static void cleared(struct agent *a, int status, void *arg)
{
	(void)arg;
	a->unguarded_clearing = false;
	if (status == CLIENT_OK || status == CLIENT_NOT_FOUND)
		log_event(LOG_INFO, "unguarded_cleared",
			  "note=\"this node's Postgres does not run as a "
			  "primary any more: nothing is left to switch off\"");
}

/* This Postgres: "HOST:DATADIR". */
static void unguarded_where(const struct agent *a, char *buf, size_t cap)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	snprintf(buf, cap, "%s:%s", host, a->conf->pg_data_dir);
}

void unguarded_clear_if_stale(struct agent *a)
{
	char where[AGENT_KEY_MAX];
	unguarded_where(a, where, sizeof(where));
	if (a->unguarded_clearing ||
	    !unguarded_is_stale(&a->view, a->conf->name, where,
				a->pg_obs.state))
		return;
	a->unguarded_clearing = true;
	keys_delete(a, "unguarded", cleared, NULL);
}

struct leave {
	struct agent *a;
	void (*stop_pg)(struct agent *a);
	lease_done_cb done;
};

static void marked(struct agent *a, int status, void *arg)
{
	struct leave *l = arg;
	if (status != CLIENT_OK) {
		log_event(LOG_WARN, "unguarded_mark_failed",
			  "status=%s note=\"stopping Postgres instead\"",
			  client_status_name(status));
		l->stop_pg(a);
	} else {
		log_event(LOG_WARN, "left_running",
			  "role=primary token=%llu note=\"maintenance mode: "
			  "Postgres keeps running without its agent; start the "
			  "agent again to give it back its lease\"",
			  (unsigned long long)a->primary.token);
		/* disarms the guard and the watchdog: nothing kills
		 * Postgres when this process exits */
		lease_release_primary(a, l->done, NULL);
	}
	free(l);
}

void unguarded_leave_running(struct agent *a, void (*stop_pg)(struct agent *a),
			     lease_done_cb done)
{
	if (!a->primary.held) {
		log_event(LOG_INFO, "left_running",
			  "role=replica note=\"maintenance mode: Postgres "
			  "keeps "
			  "running\"");
		done(a, true, CLIENT_OK, NULL);
		return;
	}
	struct leave *l = calloc(1, sizeof(*l));
	if (!l) {
		stop_pg(a);
		return;
	}
	*l = (struct leave){ .a = a, .stop_pg = stop_pg, .done = done };
	char value[AGENT_KEY_MAX], where[AGENT_KEY_MAX];
	unguarded_where(a, where, sizeof(where));
	unguarded_format(value, sizeof(value), a->conf->name, a->primary.token,
			 where);
	keys_put(a, "unguarded", value, marked, l);
}
