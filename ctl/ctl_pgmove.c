/*
 * ctl_pgmove.c — tenurectl cluster move --to ENDPOINTS: a scope goes from
 * this witness trio to another one without a failover (docs/design.md
 * "Past one trio", docs/operations.md "Moving a cluster to another
 * trio").  The agents are stopped while paused (their Postgres keeps
 * running, the primary's marked by S/unguarded), so nothing changes the
 * scope meanwhile; the command then:
 *   1. checks: paused, no member record live (every agent stopped) and
 *      S/primary not held on the old trio; on the new one, no agent and
 *      no key that differs from the old one's;
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

struct move {
	struct ctl *c;   /* the old trio (--endpoints) */
	struct ctl to;   /* the new trio (--to) */
	const char *dst; /* --to as given */
	const char *scope;
	char prefix[SM_KEY_MAX + 1];
	char moved_key[SM_KEY_MAX + 1];
	char primary[SM_KEY_MAX + 1];
	struct ctl_pages old, new;
	const struct client_kv *moved; /* S/moved on the old trio, or NULL */
};

static bool str_eq(struct client_str a, struct client_str b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len));
}

static bool str_is(struct client_str a, const char *s)
{
	return str_eq(a, ctl_str(s));
}

static const struct client_kv *find(const struct ctl_pages *p, const char *k)
{
	for (size_t i = 0; i < p->count; i++)
		if (str_is(p->kvs[i].key, k))
			return &p->kvs[i];
	return NULL;
}

/* A key that goes along: not held by a lease (member records), not the
 * tombstone itself. */
static bool copied(const struct move *m, const struct client_kv *kv)
{
	return kv->lease.len == 0 && !str_is(kv->key, m->moved_key);
}

static int list_scope(struct ctl *c, const char *prefix, struct ctl_pages *p,
		      const char *what)
{
	struct client_request q = { .op = CLIENT_OP_LIST_PAGE };
	q.prefix = ctl_str(prefix);
	q.consistency = CLIENT_LINEARIZABLE;
	return ctl_call_pages(c, &q, what, p);
}

/* S/primary's holder into holder ("" when free or absent), its token. */
static int lease_of(struct ctl *c, const char *name, char *holder, size_t cap,
		    uint64_t *token)
{
	struct client_request q = { .op = CLIENT_OP_LEASE_GET };
	struct tclient_result res;
	q.name = ctl_str(name);
	holder[0] = '\0';
	*token = 0;
	int code = ctl_call(c, &q, "lease get", &res);
	if (code == CTL_EXIT_OK && res.r.present) {
		snprintf(holder, cap, "%.*s", (int)res.r.lease.holder.len,
			 res.r.lease.holder.p);
		*token = res.r.lease.token;
	}
	tclient_result_free(&res);
	return code == CTL_EXIT_ERROR ? code : 0;
}

/* Agents running against c: a member record (lease-held) or S/primary
 * held.  Names the first into who. */
static int agents_running(struct move *m, struct ctl *c,
			  const struct ctl_pages *p, char *who, size_t cap)
{
	uint64_t token;
	int code = lease_of(c, m->primary, who, cap, &token);
	if (code || who[0])
		return code;
	for (size_t i = 0; i < p->count; i++)
		if (p->kvs[i].lease.len) {
			snprintf(who, cap, "%.*s", (int)p->kvs[i].key.len,
				 p->kvs[i].key.p);
			break;
		}
	return 0;
}

/* The first key of the new trio that the copy would not give it. */
static const struct client_kv *first_difference(const struct move *m)
{
	for (size_t i = 0; i < m->new.count; i++) {
		const struct client_kv *n = &m->new.kvs[i];
		char k[SM_KEY_MAX + 1];
		snprintf(k, sizeof(k), "%.*s", (int)n->key.len, n->key.p);
		const struct client_kv *o = find(&m->old, k);
		if (!o || !copied(m, o) || !str_eq(o->value, n->value))
			return n;
	}
	return NULL;
}

static int refuse(const char *fmt, const char *a, const char *b,
		  const char *hint)
{
	fprintf(stderr, CTL_PROG ": ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\nHint: %s\n", hint);
	return CTL_EXIT_ERROR;
}

/* Step 1 on the old trio. */
static int check_old(struct move *m)
{
	char who[SM_KEY_MAX + 1];
	m->moved = find(&m->old, m->moved_key);
	if (m->moved && !str_is(m->moved->value, m->dst)) {
		char to[SM_VALUE_MAX < 1024 ? SM_VALUE_MAX : 1024];
		snprintf(to, sizeof(to), "%.*s", (int)m->moved->value.len,
			 m->moved->value.p);
		return refuse("cluster '%s' was moved to another trio (%s)",
			      m->scope, to,
			      "run the move again with that --to to finish "
			      "it; delete SCOPE/moved on this trio only if "
			      "nothing was started there");
	}
	char pause[SM_KEY_MAX + 1];
	snprintf(pause, sizeof(pause), "%s/pause", m->scope);
	if (!find(&m->old, pause))
		return refuse("cluster '%s' is not paused%s", m->scope, "",
			      "tenurectl cluster pause, then stop every "
			      "agent (each leaves its Postgres running)");
	int code = agents_running(m, m->c, &m->old, who, sizeof(who));
	if (code)
		return code;
	if (who[0])
		return refuse("cluster '%s' still has an agent running on "
			      "this trio (%s)",
			      m->scope, who,
			      "stop every agent of the cluster first (while "
			      "paused each leaves its Postgres running)");
	return 0;
}

enum new_state {
	NEW_READY,
	NEW_MOVED_ON
};

/* Step 1 on the new trio: NEW_MOVED_ON when a finished move ran on. */
static int check_new(struct move *m, enum new_state *st)
{
	char who[SM_KEY_MAX + 1];
	*st = NEW_READY;
	int code = agents_running(m, &m->to, &m->new, who, sizeof(who));
	if (code)
		return code;
	const struct client_kv *d = first_difference(m);
	if (!who[0] && !d)
		return 0;
	if (m->moved) { /* this move was made: its agents run there now */
		*st = NEW_MOVED_ON;
		return 0;
	}
	if (who[0])
		return refuse("cluster '%s' has agents on the new trio (%s)",
			      m->scope, who,
			      "a scope moves to a trio that does not have it");
	char k[SM_KEY_MAX + 1];
	snprintf(k, sizeof(k), "%.*s", (int)d->key.len, d->key.p);
	return refuse("cluster '%s' already exists on the new trio with "
		      "other contents (%s)",
		      m->scope, k,
		      "pick a trio without this scope, or delete the scope's "
		      "keys there if they are left from an earlier try");
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
	struct client_kv kv = { .key = ctl_str(m->moved_key),
				.value = ctl_str(m->dst) };
	int code = put_key(m->c, &kv, true, "cluster move (S/moved)");
	if (code == CTL_EXIT_NO)
		fprintf(stderr,
			CTL_PROG ": %s was written meanwhile by someone "
				 "else: run the move again\n",
			m->moved_key);
	return code;
}

/* Step 3: the old trio's store revision, read after the tombstone. */
static int old_revision(struct move *m, uint64_t *rev)
{
	struct client_request q = { .op = CLIENT_OP_GET };
	struct tclient_result res;
	q.key = ctl_str(m->moved_key);
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
	q.name = ctl_str(m->primary);
	q.lease_token = floor;
	int code = ctl_call(&m->to, &q, "cluster move (token floor)", &res);
	tclient_result_free(&res);
	if (code == CTL_EXIT_NO)
		fprintf(stderr,
			CTL_PROG ": %s is held on the new trio: an agent was "
				 "started there before the move finished\n",
			m->primary);
	return code;
}

/* Step 5. */
static int copy_keys(struct move *m, size_t *n_copied)
{
	*n_copied = 0;
	for (size_t i = 0; i < m->old.count; i++) {
		const struct client_kv *kv = &m->old.kvs[i];
		char k[SM_KEY_MAX + 1];
		snprintf(k, sizeof(k), "%.*s", (int)kv->key.len, kv->key.p);
		if (!copied(m, kv) || find(&m->new, k))
			continue; /* first_difference: the same value */
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
	enum new_state st;
	uint64_t floor = 0;
	size_t n_copied = 0;
	if ((code = same_witness(m)) ||
	    (code = list_scope(m->c, m->prefix, &m->old, "list")) ||
	    (code = check_old(m)) ||
	    (code = list_scope(&m->to, m->prefix, &m->new, "list (--to)")) ||
	    (code = check_new(m, &st)))
		return code;
	/* A witness that does not know the floor would stop at it (an older
	 * one than that check: skip it and part from the others). */
	if (st == NEW_READY &&
	    (code = ctl_check_commands(&m->to, CLIENT_COMMANDS_FLOOR,
				       "cluster move (--to)")))
		return code;
	if (st == NEW_MOVED_ON) {
		print_done(m, 0, 0, true);
		return CTL_EXIT_OK;
	}
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
	if ((code = list_scope(m->c, m->prefix, &m->old, "list")))
		return code;
	m->moved = find(&m->old, m->moved_key);
	if ((code = check_old(m)))
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
	snprintf(m.prefix, sizeof(m.prefix), "%s/", m.scope);
	snprintf(m.moved_key, sizeof(m.moved_key), "%s/moved", m.scope);
	snprintf(m.primary, sizeof(m.primary), "%s/primary", m.scope);
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
