/*
 * ctl_standby.c — tenurectl cluster promote: a standby cluster
 * (fencing/standby_cluster.h) becomes a cluster of its own, as in a
 * disaster at the main cluster's site.  One write to S/config removes
 * the three standby_cluster keys; the standby leader's agent then
 * promotes it as any lease holder in recovery is promoted (decide.h rule
 * 4: fencing token, history, a new timeline) and the other members,
 * cascading from it, follow it onto that timeline.  The main cluster is
 * not touched: whatever it still does, the two have diverged from here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "ctl/ctl.h"
#include "ctl/ctl_confirm.h"
#include "ctl/ctl_pg.h"
#include "fencing/member.h"
#include "fencing/scope_conf.h"

struct ending {
	const char *scope;
	char borrowed[128]; /* the stanza it does not archive into, or "" */
};

static int end_standby(struct scope_conf *next, void *arg)
{
	struct ending *e = arg;
	const char *scope = e->scope;
	e->borrowed[0] = '\0'; /* called again after a lost compare-and-swap */
	if (next->replica.set[REPLICA_KEY_STANZA] &&
	    !replica_archives(&next->replica))
		snprintf(e->borrowed, sizeof(e->borrowed), "%s",
			 next->replica.stanza);
	if (!standby_cluster_active(&next->standby)) {
		fprintf(stderr,
			CTL_PROG ": cluster '%s' is not a standby cluster "
				 "(no standby_cluster_hosts or "
				 "standby_cluster_restore_command in its "
				 "settings); nothing written\n",
			scope);
		return CTL_EXIT_NO;
	}
	for (int k = 0; k < STANDBY_N_KEYS; k++)
		next->standby.set[k] = false;
	return 0;
}

/* The lease holder runs as a primary (its record says so). */
static int promoted(struct ctl *c, const char *scope, char *holder, size_t cap,
		    bool *done)
{
	struct member *m = NULL;
	size_t n = 0;
	*done = false;
	int code = ctl_pg_read_primary(c, scope, holder, cap);
	if (!code)
		code = ctl_pg_read_members(c, scope, &m, &n);
	for (size_t i = 0; !code && holder[0] && i < n; i++)
		if (strcmp(m[i].name, holder) == 0)
			*done = m[i].role == MEMBER_PRIMARY;
	free(m);
	return code;
}

int ctl_cmd_pg_promote(struct ctl *c)
{
	const char *scope;
	uint64_t wait_ms;
	int code = ctl_pg_scope(c, &scope);
	if (code)
		return code;
	if (c->n_args)
		scope = c->args[0];
	if (strchr(scope, '/') || !*scope)
		return ctl_usage_error(c, "SCOPE '%s' must not contain '/'",
				       scope);
	if ((code = ctl_opt_duration(c, "wait", false, 30000, 1000, &wait_ms)))
		return code;
	char what[512];
	snprintf(what, sizeof(what),
		 "Cluster '%s' stops following its main cluster: its standby "
		 "leader is promoted and accepts writes on a new timeline.  "
		 "The main cluster is not told; writing to both splits the "
		 "data for good.",
		 scope);
	if ((code = ctl_confirm(c, what,
				ctl_opt(c, "yes") || ctl_opt(c, "force"),
				"--yes")))
		return code;
	struct ending e = { .scope = scope };
	if ((code = ctl_scope_conf_edit(c, scope, end_standby, &e)))
		return code;
	char holder[256] = "";
	bool done = false;
	uint64_t start = clock_now_ms();
	while (!(code = promoted(c, scope, holder, sizeof(holder), &done)) &&
	       !done && clock_now_ms() - start < wait_ms)
		usleep(100000);
	if (code)
		return code;
	if (!done) {
		fprintf(stderr,
			CTL_PROG ": written, but no member of '%s' runs as "
				 "the primary after %llu ms (lease holder: "
				 "%s); see '" CTL_PROG
				 " cluster list --scope %s'\n",
			scope, (unsigned long long)wait_ms,
			holder[0] ? holder : "none", scope);
		return CTL_EXIT_ERROR;
	}
	printf("promoted: %s is the primary of '%s' (%llu ms)\n", holder, scope,
	       (unsigned long long)(clock_now_ms() - start));
	if (e.borrowed[0])
		printf("note: '%s' archives no WAL (archive_via_pgbackrest = "
		       "off: stanza '%s' is not its own): create a "
		       "stanza of its own, set pgbackrest_stanza to it and "
		       "archive_via_pgbackrest = on, then take a backup\n",
		       scope, e.borrowed);
	return CTL_EXIT_OK;
}
