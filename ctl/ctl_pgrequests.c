/*
 * ctl_pgrequests.c — tenurectl cluster restart|reload|reinit|flush: work
 * on Postgres itself, asked of the agents through the scope (the keys
 * and the rolling order are in fencing/requests.h).  tenurectl writes the
 * request and, unless it is scheduled, waits for each node's result in
 * S/results/NAME, printing it as it comes: the agents do the work, so an
 * interrupted tenurectl leaves a request that still completes.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/wall_time.h"
#include "ctl/ctl.h"
#include "ctl/ctl_pg.h"
#include "ctl/ctl_confirm.h"
#include "fencing/requests.h"
#include "fencing/roster.h"
#include "proto/limits.h"

#define POLL_MS 200

static void key_of(char *buf, size_t len, const char *scope, const char *rest)
{
	snprintf(buf, len, "%s/%s", scope, rest);
}

/* The NODE arguments, each a member, into list (comma-separated); none:
 * every member. */
static int nodes_arg(struct ctl *c, const char *scope, const struct member *m,
		     size_t n, char *list, size_t cap)
{
	list[0] = '\0';
	for (size_t i = 0; i < (c->n_args ? c->n_args : n); i++) {
		const char *name = c->n_args ? c->args[i] : m[i].name;
		if (!member_find(m, n, name)) {
			fprintf(stderr,
				CTL_PROG ": cluster '%s' has no member '%s'\n"
					 "Hint: see '" CTL_PROG
					 " cluster list --scope %s'.\n",
				scope, name, scope);
			return CTL_EXIT_ERROR;
		}
		size_t len = strlen(list);
		snprintf(list + len, cap - len, "%s%s", len ? "," : "", name);
	}
	return 0;
}

/* A key written only when absent: exit 2 (saying what is there) when it
 * is not. */
static int put_new(struct ctl *c, const char *key, const char *value,
		   const char *what)
{
	struct client_request q = { .op = CLIENT_OP_CAS };
	struct tclient_result res;
	q.key = ctl_str(key);
	q.value = ctl_str(value);
	q.expected_revision = 0;
	int code = ctl_call(c, &q, what, &res);
	if (code == CTL_EXIT_NO) {
		fprintf(stderr,
			CTL_PROG ": a request is pending in %s: %.*s\nHint: "
				 "wait for it, or cancel it with '" CTL_PROG
				 " cluster flush'.\n",
			key, res.r.present ? (int)res.r.kv.value.len : 0,
			res.r.present ? res.r.kv.value.p : "");
		code = CTL_EXIT_ERROR;
	}
	tclient_result_free(&res);
	return code;
}

static int del_key(struct ctl *c, const char *key)
{
	struct client_request q = { .op = CLIENT_OP_DELETE };
	struct tclient_result res;
	q.key = ctl_str(key);
	int code = ctl_call(c, &q, "del", &res);
	tclient_result_free(&res);
	return code;
}

/* S/results/NAME for action and id, quietly (the cluster may be busy). */
static bool read_result(struct ctl *c, const char *scope, const char *name,
			const char *action, uint64_t id, struct node_result *r)
{
	char key[SM_KEY_MAX + 1], err[160];
	struct client_request q = { .op = CLIENT_OP_GET };
	struct tclient_result res;
	snprintf(key, sizeof(key), "%s/results/%s", scope, name);
	q.key = ctl_str(key);
	q.consistency = c->consistency;
	bool ok = ctl_pg_quiet_call(c, &q, c->timeout_ms, &res) == CLIENT_OK &&
		  res.r.present &&
		  node_result_decode(res.r.kv.value.p, res.r.kv.value.len, r,
				     err, sizeof(err)) &&
		  strcmp(r->action, action) == 0 && r->id == id;
	tclient_result_free(&res);
	return ok;
}

static void print_result(const char *name, const struct node_result *r,
			 uint64_t since_ms)
{
	double secs = (double)(clock_wall_ms() - since_ms) / 1000.0;
	if (!r->ok)
		printf("%s: %s failed (%s)\n", name, r->action, r->detail);
	else if (r->gap_ms)
		printf("%s: %s done (%s, in place), write gap %.2f s\n", name,
		       r->action, r->role, (double)r->gap_ms / 1000.0);
	else
		printf("%s: %s done (%s%s%s) after %.1f s\n", name, r->action,
		       r->role, r->detail[0] ? ", " : "", r->detail, secs);
	fflush(stdout);
}

/* Waits for every node of list to report action id; 0 when all did and
 * succeeded, 2 on a failure or when wait_ms ran out. */
static int wait_results(struct ctl *c, const char *scope, const char *list,
			const char *action, uint64_t id, uint64_t wait_ms)
{
	char name[MEMBER_STR_MAX], left[REQUEST_NODES_MAX];
	uint64_t deadline = clock_now_ms() + wait_ms;
	snprintf(left, sizeof(left), "%s", list);
	int code = CTL_EXIT_OK;
	while (left[0]) {
		char still[REQUEST_NODES_MAX] = "";
		for (const char *p = left;
		     (p = roster_list_next(p, name, sizeof(name)));) {
			struct node_result r;
			if (read_result(c, scope, name, action, id, &r)) {
				print_result(name, &r, id);
				if (!r.ok)
					code = CTL_EXIT_ERROR;
				continue;
			}
			size_t len = strlen(still);
			snprintf(still + len, sizeof(still) - len, "%s%s",
				 len ? "," : "", name);
		}
		snprintf(left, sizeof(left), "%s", still);
		if (!left[0])
			break;
		if (clock_now_ms() >= deadline) {
			fprintf(stderr,
				CTL_PROG ": %s not reported within %.0f s by: "
					 "%s (the agents go on with it)\nHint: "
					 "see '" CTL_PROG
					 " cluster list --scope %s' "
					 "and those agents' logs.\n",
				action, (double)wait_ms / 1000.0, left, scope);
			return CTL_EXIT_ERROR;
		}
		usleep(POLL_MS * 1000);
	}
	return code;
}

/* ---- cluster restart -------------------------------------------------------- */

/* The primary's write gap at its last restart, for the question. */
static void last_gap(struct ctl *c, const char *scope, const char *holder,
		     char *buf, size_t cap)
{
	char key[SM_KEY_MAX + 1], value[1024], err[160];
	bool found;
	struct node_result r;
	snprintf(buf, cap, "a few seconds");
	snprintf(key, sizeof(key), "%s/results/%s", scope, holder);
	if (ctl_pg_read_key(c, key, value, sizeof(value), &found) == 0 &&
	    found &&
	    node_result_decode(value, strlen(value), &r, err, sizeof(err)) &&
	    r.ok && r.gap_ms)
		snprintf(buf, cap, "~%.1f s, as at its last restart",
			 (double)r.gap_ms / 1000.0);
}

static int restart_check_opts(struct ctl *c, struct restart_request *r,
			      const char **when)
{
	const char *role = ctl_opt(c, "role");
	char err[300];
	if (role && strcmp(role, "primary") != 0 &&
	    strcmp(role, "replica") != 0)
		return ctl_usage_error(c,
				       "--role is primary or replica, not "
				       "'%s'",
				       role);
	snprintf(r->role, sizeof(r->role), "%s", role ? role : "");
	r->pending = ctl_opt(c, "pending") != NULL;
	*when = ctl_opt(c, "scheduled");
	if (*when && wall_time_parse(*when, false, &r->at_ms, err, sizeof(err)))
		return ctl_usage_error(c, "--scheduled %s", err);
	if (*when && r->at_ms <= clock_wall_ms())
		return ctl_usage_error(c, "--scheduled %s is in the past",
				       *when);
	if (*when && ctl_opt(c, "switchover-first"))
		return ctl_usage_error(c, "--switchover-first is not for a "
					  "scheduled restart: schedule the "
					  "switchover itself");
	return 0;
}

static void describe_restart(char *what, size_t cap, const char *scope,
			     const char *order, const char *holder,
			     const char *gap, const char *when)
{
	bool primary_in = holder[0] && roster_in_list(order, holder);
	size_t len = (size_t)snprintf(what, cap,
				      "Restart members %s of cluster '%s'%s%s"
				      ", one at a time, each replica "
				      "streaming again before the next",
				      order, scope, when ? " at " : "",
				      when ? when : "");
	if (primary_in && len < cap)
		snprintf(what + len, cap - len,
			 "; the primary %s last, in place (it keeps the "
			 "lease; write gap expected %s)?",
			 holder, gap);
	else if (len < cap)
		snprintf(what + len, cap - len, "?");
}

int ctl_cmd_pg_restart(struct ctl *c)
{
	const char *scope, *when = NULL;
	char holder[SM_HOLDER_MAX + 1], key[SM_KEY_MAX + 1], value[2048];
	char order[REQUEST_NODES_MAX], gap[64], what[2048], at[40];
	struct restart_request r = { 0 };
	struct member *m = NULL;
	size_t n = 0;
	uint64_t wait_ms;
	int code;
	if (ctl_pg_scope(c, &scope) || restart_check_opts(c, &r, &when) ||
	    ctl_opt_duration(c, "wait", false, 600000, 1000, &wait_ms))
		return CTL_EXIT_ERROR;
	if ((code = ctl_pg_read_primary(c, scope, holder, sizeof(holder))) ||
	    (code = ctl_pg_read_members(c, scope, &m, &n)) ||
	    (code = nodes_arg(c, scope, m, n, r.nodes, sizeof(r.nodes))))
		goto out;
	restart_order(&r, m, n, holder, NULL, 0, order, sizeof(order));
	if (!order[0] && !r.at_ms) {
		printf("nothing to restart%s\n",
		       r.pending ? ": no member has a pending restart" : "");
		goto out;
	}
	last_gap(c, scope, holder, gap, sizeof(gap));
	describe_restart(what, sizeof(what), scope, order[0] ? order : r.nodes,
			 holder, gap,
			 when ? wall_time_local(r.at_ms, at, sizeof(at))
			      : NULL);
	if ((code = ctl_confirm(c, what,
				ctl_opt(c, "force") || ctl_opt(c, "yes"),
				"--force")))
		goto out;
	if (ctl_opt(c, "switchover-first") && holder[0] &&
	    roster_in_list(order, holder)) {
		/* The switchover's own question was this one. */
		if ((code = ctl_pg_switchover_asked(c)))
			goto out;
	}
	r.id = clock_wall_ms();
	snprintf(r.by, sizeof(r.by), "%s",
		 getenv("USER") ? getenv("USER") : "");
	key_of(key, sizeof(key), scope, "restart");
	if (!restart_request_encode(&r, value, sizeof(value))) {
		fprintf(stderr, CTL_PROG ": too many nodes\n");
		code = CTL_EXIT_ERROR;
		goto out;
	}
	if ((code = put_new(c, key, value, "cluster restart")))
		goto out;
	if (r.at_ms) {
		printf("restart of %s scheduled at %s (cancel it with "
		       "'" CTL_PROG " cluster flush restart --scope %s')\n",
		       r.nodes, at, scope);
		goto out;
	}
	/* the order again: a switchover made the old primary a replica */
	free(m);
	m = NULL;
	if ((code = ctl_pg_read_primary(c, scope, holder, sizeof(holder))) ||
	    (code = ctl_pg_read_members(c, scope, &m, &n)))
		goto out;
	restart_order(&r, m, n, holder, NULL, 0, order, sizeof(order));
	code = wait_results(c, scope, order, "restart", r.id, wait_ms);
	del_key(c, key); /* the primary does too; this is for no primary */
out:
	free(m);
	return code;
}

/* ---- cluster reload --------------------------------------------------------- */

int ctl_cmd_pg_reload(struct ctl *c)
{
	const char *scope;
	char list[REQUEST_NODES_MAX], key[SM_KEY_MAX + 1], value[256];
	char name[MEMBER_STR_MAX];
	struct member *m = NULL;
	size_t n = 0;
	uint64_t wait_ms;
	int code;
	if (ctl_pg_scope(c, &scope) ||
	    ctl_opt_duration(c, "wait", false, 30000, 1000, &wait_ms))
		return CTL_EXIT_ERROR;
	if ((code = ctl_pg_read_members(c, scope, &m, &n)) ||
	    (code = nodes_arg(c, scope, m, n, list, sizeof(list))))
		goto out;
	struct node_request r = { .id = clock_wall_ms() };
	node_request_encode(&r, value, sizeof(value));
	for (const char *p = list;
	     !code && (p = roster_list_next(p, name, sizeof(name)));) {
		snprintf(key, sizeof(key), "%s/reload/%s", scope, name);
		code = put_new(c, key, value, "cluster reload");
	}
	if (!code)
		code = wait_results(c, scope, list, "reload", r.id, wait_ms);
out:
	free(m);
	return code;
}

/* ---- cluster reinit ----------------------------------------------------------- */

static int reinit_check(struct ctl *c, const char *scope, const char *node,
			const char *from, const char *holder,
			const struct member *m, size_t n)
{
	if (!member_find(m, n, node) &&
	    !(holder[0] && strcmp(node, holder) == 0)) {
		fprintf(stderr, CTL_PROG ": cluster '%s' has no member '%s'\n",
			scope, node);
		return CTL_EXIT_ERROR;
	}
	if (strcmp(node, holder) == 0) {
		fprintf(stderr,
			CTL_PROG
			": %s is the primary: only a replica is "
			"re-copied\nHint: switch over first ('" CTL_PROG
			" cluster switchover --scope %s').\n",
			node, scope);
		return CTL_EXIT_ERROR;
	}
	if (!holder[0] && !from) {
		fprintf(stderr,
			CTL_PROG ": cluster '%s' has no primary to copy from: "
				 "name a source with --from MEMBER\n",
			scope);
		return CTL_EXIT_ERROR;
	}
	if (from && (strcmp(from, node) == 0 || !member_find(m, n, from))) {
		fprintf(stderr,
			CTL_PROG ": --from %s: not another member of cluster "
				 "'%s'\n",
			from, scope);
		return CTL_EXIT_ERROR;
	}
	return 0;
}

int ctl_cmd_pg_reinit(struct ctl *c)
{
	const char *scope, *node = c->args[0], *from = ctl_opt(c, "from");
	char holder[SM_HOLDER_MAX + 1], key[SM_KEY_MAX + 1], value[512];
	char what[1024];
	struct member *m = NULL;
	size_t n = 0;
	uint64_t wait_ms;
	int code;
	if (ctl_pg_scope(c, &scope) ||
	    ctl_opt_duration(c, "wait", false, 600000, 1000, &wait_ms))
		return CTL_EXIT_ERROR;
	if ((code = ctl_pg_read_primary(c, scope, holder, sizeof(holder))) ||
	    (code = ctl_pg_read_members(c, scope, &m, &n)) ||
	    (code = reinit_check(c, scope, node, from, holder, m, n)))
		goto out;
	snprintf(what, sizeof(what),
		 "Re-copy %s of cluster '%s' from %s: its Postgres is "
		 "stopped, its data directory moved aside (removed instead "
		 "when an earlier copy is kept beside it) and copied afresh "
		 "with pg_basebackup, then started as a replica?",
		 node, scope, from ? from : holder);
	if ((code = ctl_confirm(c, what,
				ctl_opt(c, "force") || ctl_opt(c, "yes"),
				"--force")))
		goto out;
	struct node_request r = { .id = clock_wall_ms() };
	snprintf(r.from, sizeof(r.from), "%s", from ? from : "");
	node_request_encode(&r, value, sizeof(value));
	snprintf(key, sizeof(key), "%s/reinit/%s", scope, node);
	if (!(code = put_new(c, key, value, "cluster reinit")))
		code = wait_results(c, scope, node, "reinit", r.id, wait_ms);
out:
	free(m);
	return code;
}

/* ---- cluster flush -------------------------------------------------------------- */

/* Without NODE the whole request goes; with it, NODE leaves its list. */
static int flush_restart(struct ctl *c, const char *scope, const char *node)
{
	char key[SM_KEY_MAX + 1], value[2048], err[160];
	char name[MEMBER_STR_MAX], rest[REQUEST_NODES_MAX] = "";
	bool found;
	struct restart_request r;
	key_of(key, sizeof(key), scope, "restart");
	int code = ctl_pg_read_key(c, key, value, sizeof(value), &found);
	if (code)
		return code;
	if (!found) {
		fprintf(stderr, CTL_PROG ": no restart is pending in %s\n",
			key);
		return CTL_EXIT_NO;
	}
	if (node && restart_request_decode(value, strlen(value), &r, err,
					   sizeof(err))) {
		for (const char *p = r.nodes;
		     (p = roster_list_next(p, name, sizeof(name)));) {
			size_t len = strlen(rest);
			if (strcmp(name, node) != 0)
				snprintf(rest + len, sizeof(rest) - len, "%s%s",
					 len ? "," : "", name);
		}
		if (rest[0]) {
			snprintf(r.nodes, sizeof(r.nodes), "%s", rest);
			restart_request_encode(&r, value, sizeof(value));
			struct client_request q = { .op = CLIENT_OP_PUT };
			struct tclient_result res;
			q.key = ctl_str(key);
			q.value = ctl_str(value);
			code = ctl_call(c, &q, "cluster flush", &res);
			tclient_result_free(&res);
			if (!code)
				printf("%s taken out of the restart; still "
				       "to restart: %s\n",
				       node, rest);
			return code;
		}
	}
	if (!(code = del_key(c, key)))
		printf("restart cancelled (%s deleted)\n", key);
	return code;
}

int ctl_cmd_pg_flush(struct ctl *c)
{
	const char *scope;
	const char *what = c->args[c->n_args - 1];
	const char *node = c->n_args == 2 ? c->args[0] : NULL;
	char key[SM_KEY_MAX + 1], value[1024];
	bool found;
	if (ctl_pg_scope(c, &scope))
		return CTL_EXIT_ERROR;
	if (strcmp(what, "restart") == 0)
		return flush_restart(c, scope, node);
	if (strcmp(what, "switchover") != 0)
		return ctl_usage_error(c,
				       "flush what: restart or switchover, "
				       "not '%s'",
				       what);
	if (node)
		return ctl_usage_error(c, "a switchover is not per node: "
					  "flush switchover takes no NODE");
	key_of(key, sizeof(key), scope, "switchover");
	int code = ctl_pg_read_key(c, key, value, sizeof(value), &found);
	if (code)
		return code;
	if (!found || !strstr(value, "\"at_ms\"")) {
		fprintf(stderr, CTL_PROG ": no scheduled switchover in %s\n",
			key);
		return CTL_EXIT_NO;
	}
	if (!(code = del_key(c, key)))
		printf("scheduled switchover cancelled (%s deleted)\n", key);
	return code;
}
