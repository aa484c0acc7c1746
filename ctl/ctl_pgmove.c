/*
 * ctl_pgmove.c — tenurectl cluster move --to ENDPOINTS: a scope goes from
 * this witness trio to another one without a failover (docs/design.md
 * "Past one trio", docs/operations.md "Moving a cluster to another
 * trio").  The agents are stopped while paused (their Postgres keeps
 * running, the primary's marked by S/unguarded), so nothing changes the
 * scope meanwhile; the command then:
 *   1. checks: paused, no member record live (every agent stopped) and
 *      S/primary not held on the old trio; on the new one, no agent and
 *      no key that differs from the old one's (the rules, and which keys
 *      step 5 copies, are ctl_pgmove_plan.c's: pure, unit-tested);
 *   2. writes the tombstone S/moved = NEW on the old trio FIRST: from then
 *      on an agent started against the old trio exits (fencing/agent.c
 *      agent_moved) instead of taking a lease there, so the checks of 1
 *      cannot go stale before the copy (they are made again after it);
 *   3. reads the old trio's store revision R (a linearizable read after
 *      the tombstone): every fencing token it ever granted is at most R;
 *   4. floors S/primary on the new trio at R (server/sm.h floor), before
 *      any key is there, so no agent can ever be granted a token at or
 *      below R on it, even one started too early;
 *   5. copies every key of the scope that no lease holds (S/moved aside),
 *      skipping the ones already there with the same value.
 * Each step is idempotent: a run that failed half-way is run again.  A
 * run that finds S/moved naming this trio and the new scope moved on
 * (agents ran there) says so and changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_cluster.h"
#include "ctl/ctl_confirm.h"
#include "ctl/ctl_pg.h"
#include "ctl/ctl_pgmove_plan.h"

struct move {
	struct ctl *c;   /* the old trio (--endpoints) */
	struct ctl to;   /* the new trio (--to) */
	const char *dst; /* --to as given */
	const char *scope;
	struct move_keys k;
	struct ctl_pages old, new;
	char old_holder[SM_KEY_MAX + 1], new_holder[SM_KEY_MAX + 1];
	bool moved; /* S/moved on the old trio (naming dst) */
};

static struct move_side side(const struct ctl_pages *p, const char *holder)
{
	return (struct move_side){ .kvs = p->kvs,
				   .n = p->count,
				   .primary_holder = holder };
}

static int list_scope(struct ctl *c, const char *prefix, struct ctl_pages *p,
		      const char *what)
{
	struct client_request q = { .op = CLIENT_OP_LIST_PAGE };
	q.prefix = ctl_str(prefix);
	q.consistency = CLIENT_LINEARIZABLE;
	return ctl_call_pages(c, &q, what, p);
}

/* S/primary's holder into holder ("" when free or absent). */
static int lease_holder(struct ctl *c, const char *name, char *holder,
			size_t cap)
{
	struct client_request q = { .op = CLIENT_OP_LEASE_GET };
	struct tclient_result res;
	q.name = ctl_str(name);
	holder[0] = '\0';
	int code = ctl_call(c, &q, "lease get", &res);
	if (code == CTL_EXIT_OK && res.r.present)
		snprintf(holder, cap, "%.*s", (int)res.r.lease.holder.len,
			 res.r.lease.holder.p);
	tclient_result_free(&res);
	return code == CTL_EXIT_ERROR ? code : 0;
}

/* One trio's listing of the scope and its S/primary holder. */
static int read_side(struct move *m, struct ctl *c, struct ctl_pages *p,
		     char *holder, const char *what)
{
	int code = list_scope(c, m->k.prefix, p, what);
	return code ? code
		    : lease_holder(c, m->k.primary, holder, SM_KEY_MAX + 1);
}

static int refuse(const char *fmt, const char *a, const char *b,
		  const char *hint)
{
	fprintf(stderr, CTL_PROG ": ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\nHint: %s\n", hint);
	return CTL_EXIT_ERROR;
}

/* Step 1 on the old trio (ctl_pgmove_plan.h says the rules). */
static int check_old(struct move *m)
{
	char detail[1024];
	struct move_side old = side(&m->old, m->old_holder);
	enum move_verdict v = move_check_old(&m->k, m->dst, &old, detail,
					     sizeof(detail));
	m->moved = move_find(&old, m->k.moved) != NULL;
	switch (v) {
	case MOVE_MOVED_ELSEWHERE:
		return refuse("cluster '%s' was moved to another trio (%s)",
			      m->scope, detail,
			      "run the move again with that --to to finish "
			      "it; delete SCOPE/moved on this trio only if "
			      "nothing was started there");
	case MOVE_NOT_PAUSED:
		return refuse("cluster '%s' is not paused%s", m->scope, "",
			      "tenurectl cluster pause, then stop every "
			      "agent (each leaves its Postgres running)");
	case MOVE_OLD_AGENT:
		return refuse("cluster '%s' still has an agent running on "
			      "this trio (%s)",
			      m->scope, detail,
			      "stop every agent of the cluster first (while "
			      "paused each leaves its Postgres running)");
	default:
		return 0;
	}
}

/* Step 1 on the new trio: *moved_on when a finished move ran on. */
static int check_new(struct move *m, bool *moved_on)
{
	char detail[SM_KEY_MAX + 1];
	struct move_side old = side(&m->old, m->old_holder);
	struct move_side new = side(&m->new, m->new_holder);
	enum move_verdict v = move_check_new(&m->k, &old, &new, detail,
					     sizeof(detail));
	*moved_on = v == MOVE_MOVED_ON;
	if (v == MOVE_NEW_AGENT)
		return refuse("cluster '%s' has agents on the new trio (%s)",
			      m->scope, detail,
			      "a scope moves to a trio that does not have it");
	if (v == MOVE_NEW_DIFFERS)
		return refuse("cluster '%s' already exists on the new trio "
			      "with other contents (%s)",
			      m->scope, detail,
			      "pick a trio without this scope, or delete the "
			      "scope's keys there if they are left from an "
			      "earlier try");
	return 0;
}

static int put_key(struct ctl *c, const struct client_kv *kv, bool create,
		   const char *what)
{
	struct client_request q = { .op = CLIENT_OP_CAS };
	struct tclient_result res;
	q.key = kv->key;
	q.value = kv->value;
	q.expected_revision = 0; /* create only: never overwrite */
	if (!create)
		q.op = CLIENT_OP_PUT;
	int code = ctl_call(c, &q, what, &res);
	tclient_result_free(&res);
	return code;
}

/* Step 2: S/moved = NEW on the old trio, unless there already. */
static int write_tombstone(struct move *m)
{
	if (m->moved)
		return 0;
	struct client_kv kv = { .key = ctl_str(m->k.moved),
				.value = ctl_str(m->dst) };
	int code = put_key(m->c, &kv, true, "cluster move (S/moved)");
	if (code == CTL_EXIT_NO)
		fprintf(stderr,
			CTL_PROG ": %s was written meanwhile by someone "
				 "else: run the move again\n",
			m->k.moved);
	return code;
}

/* Step 3: the old trio's store revision, read after the tombstone. */
static int old_revision(struct move *m, uint64_t *rev)
{
	struct client_request q = { .op = CLIENT_OP_GET };
	struct tclient_result res;
	q.key = ctl_str(m->k.moved);
	q.consistency = CLIENT_LINEARIZABLE;
	int code = ctl_call(m->c, &q, "get", &res);
	*rev = code == CTL_EXIT_OK ? res.r.revision : 0;
	tclient_result_free(&res);
	if (code == CTL_EXIT_OK && *rev == 0)
		code = CTL_EXIT_ERROR;
	return code == CTL_EXIT_NO ? CTL_EXIT_ERROR : code;
}

/* Step 4: the new trio's S/primary grants above floor. */
static int floor_primary(struct move *m, uint64_t floor)
{
	struct client_request q = { .op = CLIENT_OP_LEASE_FLOOR };
	struct tclient_result res;
	q.name = ctl_str(m->k.primary);
	q.lease_token = floor;
	int code = ctl_call(&m->to, &q, "cluster move (token floor)", &res);
	tclient_result_free(&res);
	if (code == CTL_EXIT_NO)
		fprintf(stderr,
			CTL_PROG ": %s is held on the new trio: an agent was "
				 "started there before the move finished\n",
			m->k.primary);
	return code;
}

/* Step 5. */
static int copy_keys(struct move *m, size_t *n_copied)
{
	*n_copied = 0;
	struct move_side new = side(&m->new, m->new_holder);
	for (size_t i = 0; i < m->old.count; i++) {
		const struct client_kv *kv = &m->old.kvs[i];
		if (!move_copies(&m->k, &new, kv))
			continue;
		int code = put_key(&m->to, kv, true, "cluster move (copy)");
		if (code)
			return code == CTL_EXIT_NO ? CTL_EXIT_ERROR : code;
		(*n_copied)++;
	}
	return 0;
}

static void print_done(struct move *m, size_t n_copied, uint64_t floor,
		       bool moved_on)
{
	if (m->c->format == CTL_JSON) {
		struct json j;
		json_init_file(&j, stdout, 0);
		json_object(&j);
		json_key(&j, "scope");
		json_string(&j, m->scope);
		json_key(&j, "to");
		json_string(&j, m->dst);
		json_key(&j, "copied");
		json_u64(&j, n_copied);
		json_key(&j, "token_floor");
		json_u64(&j, floor);
		json_key(&j, "already_running");
		json_bool(&j, moved_on);
		json_end(&j);
		return;
	}
	if (moved_on) {
		printf("cluster '%s' was moved to %s already, and its agents "
		       "have run there since: nothing to do\n",
		       m->scope, m->dst);
		return;
	}
	printf("cluster '%s' moved to %s: %zu keys copied, fencing tokens "
	       "there go on above %llu\n"
	       "next: set witnesses = %s in every agent's file and start "
	       "the agents,\nthen '" CTL_PROG
	       " --endpoints %s cluster resume --scope %s'\n",
	       m->scope, m->dst, n_copied, (unsigned long long)floor, m->dst,
	       m->dst, m->scope);
}

static int same_witness(const struct move *m)
{
	for (size_t i = 0; i < m->c->n_endpoints; i++)
		for (size_t k = 0; k < m->to.n_endpoints; k++)
			if (!strcmp(m->c->endpoints[i], m->to.endpoints[k]))
				return ctl_usage_error(m->c,
						       "--to names %s, a "
						       "witness of "
						       "--endpoints: a scope "
						       "moves to "
						       "another trio",
						       m->to.endpoint_names[k]);
	return 0;
}

static int run(struct move *m)
{
	int code;
	bool moved_on;
	uint64_t floor = 0;
	size_t n_copied = 0;
	if ((code = same_witness(m)) ||
	    (code = read_side(m, m->c, &m->old, m->old_holder, "list")) ||
	    (code = check_old(m)) ||
	    (code = read_side(m, &m->to, &m->new, m->new_holder,
			      "list (--to)")) ||
	    (code = check_new(m, &moved_on)))
		return code;
	if (moved_on) {
		print_done(m, 0, 0, true);
		return CTL_EXIT_OK;
	}
	/* A witness that does not know the floor would stop at it (an older
	 * one than that check: skip it and part from the others). */
	if ((code = ctl_check_commands(&m->to, CLIENT_COMMANDS_FLOOR,
				       "cluster move (--to)")))
		return code;
	char what[1024];
	snprintf(what, sizeof(what),
		 "move cluster '%s' to the witnesses %s: agents started "
		 "against these witnesses will refuse to run from now on.  Go "
		 "ahead?",
		 m->scope, m->dst);
	bool skip = ctl_opt(m->c, "yes") || ctl_opt(m->c, "force");
	if ((code = ctl_confirm(m->c, what, skip, "--yes")) ||
	    (code = write_tombstone(m)))
		return code;
	/* An agent started between the checks and the tombstone: it stops
	 * when it reads S/moved (agent_moved); the copy waits for that. */
	ctl_pages_free(&m->old);
	if ((code = read_side(m, m->c, &m->old, m->old_holder, "list")) ||
	    (code = check_old(m)))
		return code;
	if ((code = old_revision(m, &floor)) ||
	    (code = floor_primary(m, floor)) ||
	    (code = copy_keys(m, &n_copied)))
		return code;
	print_done(m, n_copied, floor, false);
	return CTL_EXIT_OK;
}

int ctl_cmd_pg_move(struct ctl *c)
{
	struct move m = { .c = c, .dst = ctl_opt(c, "to") };
	if (ctl_pg_scope(c, &m.scope))
		return CTL_EXIT_ERROR;
	if (!m.dst || !*m.dst)
		return ctl_usage_error(c, "cluster move needs --to ENDPOINTS "
					  "(the new trio's host:port list)");
	move_keys_init(&m.k, m.scope);
	/* The new trio with this one's credentials and TLS (not owned). */
	m.to = *c;
	m.to.endpoints_copy = NULL;
	m.to.n_endpoints = 0;
	int code = ctl_set_endpoints(&m.to, m.dst);
	if (!code)
		code = run(&m);
	ctl_pages_free(&m.old);
	ctl_pages_free(&m.new);
	for (size_t i = 0; i < m.to.n_endpoints; i++)
		free(m.to.endpoints[i]);
	free(m.to.endpoints_copy);
	return code;
}
