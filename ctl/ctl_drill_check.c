/*
 * ctl_drill_check.c — cluster drill before anything changes: its
 * options, the checks that refuse a drill that cannot work (no primary,
 * paused, a request pending, no replica that may take over), and the
 * confirmation (ctl_drill_int.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl_drill_int.h"
#include "fencing/roster.h"

/* ---- options and checks --------------------------------------------------- */

int drill_parse_options(struct drill *d)
{
	struct ctl *c = d->c;
	const char *yes = ctl_opt(c, "yes"), *cand = ctl_opt(c, "candidate");
	d->kind = ctl_opt(c, "kind");
	if (!d->kind)
		d->kind = "switchover";
	if (strcmp(d->kind, "switchover") != 0 &&
	    strcmp(d->kind, "failover") != 0)
		return ctl_usage_error(c,
				       "--kind wants switchover or failover, "
				       "not '%s'",
				       d->kind);
	d->failover = strcmp(d->kind, "failover") == 0;
	if (yes && *yes && strcmp(yes, "true") != 0)
		return ctl_usage_error(c, "--yes takes no value");
	if (cand && d->failover)
		return ctl_usage_error(c,
				       "--candidate goes with --kind "
				       "switchover only: in a failover drill "
				       "the agents pick the new primary, as "
				       "they would after a real crash");
	if (cand && !*cand)
		return ctl_usage_error(c, "--candidate must not be empty");
	snprintf(d->cand, sizeof(d->cand), "%s", cand ? cand : "");
	d->pconf.user = ctl_opt(c, "pg-user");
	d->pconf.database = ctl_opt(c, "pg-database");
	if (!d->pconf.user || !*d->pconf.user)
		d->pconf.user = "postgres";
	if (!d->pconf.database || !*d->pconf.database)
		d->pconf.database = "postgres";
	d->pconf.interval_ms = DRILL_INTERVAL_MS;
	d->pconf.deadline_ms = DRILL_DEADLINE_MS;
	d->pconf.old = d->old;
	if (ctl_pg_scope(c, &d->scope) ||
	    ctl_opt_duration(c, "wait", false, DRILL_WAIT_DEFAULT_MS, 1000,
			     &d->wait_ms))
		return CTL_EXIT_ERROR;
	if (d->wait_ms == 0)
		return ctl_usage_error(c, "--wait must be more than 0");
	return 0;
}

static int refuse(struct drill *d, const char *why, const char *hint)
{
	fprintf(stderr,
		CTL_PROG ": cannot run a %s drill on cluster '%s': "
			 "%s\n",
		d->kind, d->scope, why);
	if (hint)
		fprintf(stderr, "Hint: %s\n", hint);
	return CTL_EXIT_ERROR;
}

/* A key of the scope that must not exist (a pending request). */
static int check_absent(struct drill *d, const char *rest, const char *what)
{
	char key[SM_KEY_MAX + 1], value[512], why[1024], hint[600];
	bool found;
	drill_scoped(key, sizeof(key), d->scope, rest);
	int code = ctl_pg_read_key(d->c, key, value, sizeof(value), &found);
	if (code || !found)
		return code;
	snprintf(why, sizeof(why), "%s is pending in %.300s: %.300s", what, key,
		 value);
	snprintf(hint, sizeof(hint),
		 "wait for it to finish, or delete it with "
		 "'" CTL_PROG " del %s' if nothing runs it any more.",
		 key);
	return refuse(d, why, hint);
}

static int check_candidate(struct drill *d, const struct view *v,
			   const char *sync)
{
	char why[1024];
	const struct member *m = drill_find(v, d->cand);
	if (!d->cand[0]) {
		m = roster_best_candidate(v->m, v->n, sync);
		if (!m)
			return refuse(d,
				      "no healthy replica is a synchronous "
				      "standby, so none can take over without "
				      "losing writes",
				      NULL);
		snprintf(d->cand, sizeof(d->cand), "%s", m->name);
		return 0;
	}
	if (!m || !roster_can_take_over(m)) {
		snprintf(why, sizeof(why),
			 "--candidate %s is not a healthy "
			 "replica that may take over (%s%s%s); those are: %s",
			 d->cand, m ? member_role_name(m->role) : "no record",
			 m && m->nofailover ? ", nofailover" : "",
			 m && !m->healthy ? ", unhealthy" : "", d->takers);
		return refuse(d, why, NULL);
	}
	if (sync[0] && !roster_in_list(sync, d->cand)) {
		snprintf(why, sizeof(why),
			 "%s is not a synchronous standby "
			 "(S/sync lists %s): the primary would not hand over "
			 "to it",
			 d->cand, sync);
		return refuse(d, why,
			      "name a synchronous standby, or leave "
			      "--candidate out to let the drill pick one.");
	}
	return 0;
}

/* Who is primary and who may take over; refuses what cannot work. */
int drill_check_cluster(struct drill *d, const struct view *v)
{
	char key[SM_KEY_MAX + 1], hint[256], *sync;
	bool paused, has_sync;
	const struct member *p = drill_find(v, v->holder);
	if (!v->holder[0] || !p || p->role != MEMBER_PRIMARY) {
		snprintf(hint, sizeof(hint),
			 "see '" CTL_PROG " cluster list "
			 "--scope %s'.",
			 d->scope);
		return refuse(d,
			      v->holder[0] ? "the lease holder does not run "
					     "as primary yet"
					   : "it has no primary (S/primary "
					     "is free)",
			      hint);
	}
	snprintf(d->old, sizeof(d->old), "%s", p->name);
	snprintf(d->old_addr, sizeof(d->old_addr), "%s", p->pg);
	d->old_token = v->token;
	drill_scoped(key, sizeof(key), d->scope, "pause");
	char pause[256];
	int code = ctl_pg_read_key(d->c, key, pause, sizeof(pause), &paused);
	if (code)
		return code;
	if (paused) {
		snprintf(hint, sizeof(hint),
			 "'" CTL_PROG " cluster resume "
			 "--scope %s' first.",
			 d->scope);
		return refuse(d, "it is paused (maintenance mode)", hint);
	}
	if ((code = check_absent(d, "switchover", "a switchover")) ||
	    (code = check_absent(d, "drill", "a drill")))
		return code;
	for (size_t i = 0; i < v->n; i++)
		if (roster_can_take_over(&v->m[i]))
			snprintf(d->takers + strlen(d->takers),
				 sizeof(d->takers) - strlen(d->takers), "%s%s",
				 d->takers[0] ? ", " : "", v->m[i].name);
	if (!d->takers[0])
		return refuse(d, "no healthy replica could take over",
			      "see '" CTL_PROG
			      " cluster list': a replica must be "
			      "running, healthy and not tagged nofailover.");
	if (!p->pg[0])
		return refuse(d,
			      "the primary's record has no Postgres address "
			      "(\"pg\")",
			      NULL);
	if (d->failover)
		return 0;
	if (!(sync = malloc(DRILL_SYNC_MAX)))
		return refuse(d, "out of memory", NULL);
	drill_scoped(key, sizeof(key), d->scope, "sync");
	code = ctl_pg_read_key(d->c, key, sync, DRILL_SYNC_MAX, &has_sync);
	if (!code)
		code = check_candidate(d, v, sync);
	free(sync);
	return code;
}

/* ---- confirmation --------------------------------------------------------- */

static void describe(const struct drill *d, FILE *f)
{
	if (d->failover)
		fprintf(f,
			"drill: failover of the primary %s of cluster '%s' "
			"(token %llu): its Postgres is killed and its agent "
			"stops renewing the lease, as if the host died.  When "
			"the lease expires at the witnesses a replica (%s) "
			"takes over, and %s rejoins as a replica by itself.\n",
			d->old, d->scope, (unsigned long long)d->old_token,
			d->takers, d->old);
	else
		fprintf(f,
			"drill: switchover of cluster '%s' from the primary "
			"%s to %s: the agents demote %s, then promote %s; %s "
			"then follows it as a replica.\n",
			d->scope, d->old, d->cand, d->old, d->cand, d->old);
	fprintf(f,
		"A probe writes a row every %d ms into tenure_drill "
		"(database %s, user %s) on whichever node is primary, to "
		"measure RTO and RPO.  Clients of the primary see errors for "
		"a few seconds.\n",
		DRILL_INTERVAL_MS, d->pconf.database, d->pconf.user);
}

int drill_confirm(struct drill *d)
{
	char line[64];
	if (ctl_opt(d->c, "yes")) {
		if (d->c->format == CTL_TABLE)
			describe(d, stdout);
		return 0;
	}
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, CTL_PROG
			": cluster drill asks for confirmation "
			"and stdin is not a terminal\nHint: add --yes to run "
			"the drill without asking.\n");
		return CTL_EXIT_ERROR;
	}
	describe(d, stderr);
	fprintf(stderr, "Type 'yes' to continue: ");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "yes") != 0) {
		fprintf(stderr, CTL_PROG ": drill cancelled\n");
		return CTL_EXIT_NO;
	}
	return 0;
}
