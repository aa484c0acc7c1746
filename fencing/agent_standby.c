/*
 * agent_standby.c — before a standby starts: its hot-standby settings
 * (standby_settings.h) raised to at least its primary's, as read from
 * pg_controldata of its own data directory, so that a standby whose
 * postgresql.conf says less than the primary's (max_connections = 100
 * against 150) starts instead of aborting recovery at every try.
 *
 * One shell run prints pg_controldata's output and, for each setting,
 * "local NAME: VALUE" from `postgres -C NAME` with the options the start
 * will use (the agent's own and pg_options: what the server would really
 * run with).  A run that fails leaves nothing raised: the start goes on
 * as before, and a start that fails says why (agent_startfail.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/controldata.h"
#include "fencing/spawn.h"
#include "fencing/standby_settings.h"

struct check {
	struct agent *a;
	standby_opts_cb done;
	void *arg;
};

static void checked(void *arg, const struct spawn_result *r)
{
	struct check *c = arg;
	struct agent *a = c->a;
	struct controldata cd;
	struct standby_settings s;
	char err[256], opts[512] = "", note[512] = "";
	if (r->exit_status == 0 && !r->timed_out &&
	    controldata_parse(r->output, &cd, err, sizeof(err))) {
		standby_settings_from_controldata(&cd, &s);
		standby_settings_parse_local(r->output, &s);
		if (standby_settings_raise(&s, opts, sizeof(opts), note,
					   sizeof(note)) > 0)
			log_event(LOG_WARN, "standby_settings_raised",
				  "settings=\"%s\" why=\"a hot standby needs "
				  "at "
				  "least its primary's values (pg_controldata "
				  "of %s); the agent starts it with them: "
				  "raise them in postgresql.conf to match\"",
				  note, a->conf->pg_data_dir);
	} else {
		log_event(LOG_WARN, "standby_settings_unknown",
			  "exit=%d output=\"%.200s\"", r->exit_status,
			  r->output);
	}
	c->done(c->arg, opts);
	free(c);
}

void standby_settings_check(struct agent *a, const char *base_opts,
			    standby_opts_cb done, void *arg)
{
	struct check *c = malloc(sizeof(*c));
	if (!c) {
		done(arg, "");
		return;
	}
	c->a = a;
	c->done = done;
	c->arg = arg;
	/* base_opts are shell words, as pg_ctl -o hands them to the shell */
	char script[4096];
	snprintf(script, sizeof(script),
		 "\"$0/pg_controldata\" -D \"$1\" || exit 1\n"
		 "for n in max_connections max_worker_processes "
		 "max_wal_senders max_prepared_transactions "
		 "max_locks_per_transaction; do\n"
		 "  v=$(\"$0/postgres\" -D \"$1\" -C \"$n\" %s 2>/dev/null) "
		 "|| v=unknown\n"
		 "  echo \"local $n: $v\"\n"
		 "done\n",
		 base_opts);
	const char *argv[] = { "/bin/sh",
			       "-c",
			       script,
			       a->conf->pg_bin_dir,
			       a->conf->pg_data_dir,
			       NULL };
	const char *env[] = { "LC_ALL=C", "LANG=C", NULL };
	struct spawn_opts o = { .argv = argv,
				.env_extra = env,
				.timeout_ms = 30000 };
	if (spawn_run(a->loop, &o, checked, c) != 0) {
		free(c);
		done(arg, "");
	}
}
