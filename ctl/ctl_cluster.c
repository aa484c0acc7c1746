/*
 * ctl_cluster.c — tenurectl status, member list|add|remove and leader
 * transfer.
 *
 * status asks every endpoint on its own, all at once on one loop, rather
 * than asking whichever witness the client library reaches first: the
 * point of the command is to see each witness's view (a partitioned or
 * lagging witness is exactly what an operator is looking for), and one
 * dead witness must not make the others wait behind its timeout.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_cluster.h"

/* ---- probing every endpoint --------------------------------------------- */

struct probe {
	struct tclient_result res;
	struct tclient_result health;  /* HEALTH, asked alongside STATUS */
	struct tclient_result version; /* VERSION, likewise */
	char warning[256];             /* why it is unreachable */
	bool done, health_done, version_done;
	size_t *pending;
};

static void probe_log(void *arg, const char *level, const char *msg)
{
	struct probe *p = arg;
	ctl_keep_warning(p->warning, sizeof(p->warning), level, msg);
}

static void on_probe(void *arg, int status, const struct client_response *r)
{
	struct probe *p = arg;
	if (p->done)
		return;
	if (!r || !tclient_result_copy(&p->res, status, r)) {
		p->res.status = r ? CLIENT_EINTERNAL : status;
		p->res.has_response = false;
	}
	p->done = true;
	(*p->pending)--;
}

static void on_health(void *arg, int status, const struct client_response *r)
{
	struct probe *p = arg;
	if (p->health_done)
		return;
	if (!r || !tclient_result_copy(&p->health, status, r)) {
		p->health.status = r ? CLIENT_EINTERNAL : status;
		p->health.has_response = false;
	}
	p->health_done = true;
	(*p->pending)--;
}

static void on_version(void *arg, int status, const struct client_response *r)
{
	struct probe *p = arg;
	if (p->version_done)
		return;
	if (!r || !tclient_result_copy(&p->version, status, r)) {
		p->version.status = r ? CLIENT_EINTERNAL : status;
		p->version.has_response = false;
	}
	p->version_done = true;
	(*p->pending)--;
}

/* Ask one more thing of a witness alongside STATUS: *done stays true
 * (nothing to wait for) when it cannot be asked. */
static void ask_too(struct tclient *cl, uint32_t op, struct ctl *c,
		    tclient_cb cb, struct probe *p, struct tclient_result *res,
		    bool *done)
{
	struct client_request q = { .op = op };
	res->status = CLIENT_EINTERNAL;
	*done = true;
	if (!cl)
		return;
	*done = false;
	if (tclient_request(cl, &q, c->timeout_ms, cb, p) == 0)
		(*p->pending)++;
	else
		*done = true;
}

static void on_probe_closed(void *arg)
{
	(void)arg;
}

/* STATUS (and HEALTH and VERSION, when with_health) from every endpoint;
 * p has c->n_endpoints entries.  Returns how many answered STATUS. */
static size_t probe_all(struct ctl *c, struct probe *p, bool with_health)
{
	uv_loop_t loop;
	struct tclient *cl[CTL_MAX_ENDPOINTS] = { 0 };
	struct client_request q = { .op = CLIENT_OP_STATUS };
	size_t pending = 0, answered = 0;
	if (uv_loop_init(&loop))
		return 0;
	for (size_t i = 0; i < c->n_endpoints; i++) {
		struct tclient_options o;
		memset(&p[i], 0, sizeof(p[i]));
		p[i].pending = &pending;
		ctl_client_options_one(c, i, &o);
		o.log = probe_log;
		o.log_arg = &p[i];
		if (tclient_new(&loop, &o, &cl[i]) == 0 &&
		    tclient_request(cl[i], &q, c->timeout_ms, on_probe,
				    &p[i]) == 0) {
			pending++;
		} else {
			p[i].res.status = CLIENT_EINTERNAL;
			p[i].done = true;
		}
		struct tclient *asked = with_health ? cl[i] : NULL;
		ask_too(asked, CLIENT_OP_HEALTH, c, on_health, &p[i],
			&p[i].health, &p[i].health_done);
		ask_too(asked, CLIENT_OP_VERSION, c, on_version, &p[i],
			&p[i].version, &p[i].version_done);
	}
	while (pending > 0 && uv_run(&loop, UV_RUN_ONCE))
		;
	for (size_t i = 0; i < c->n_endpoints; i++) {
		if (cl[i])
			tclient_close(cl[i], on_probe_closed, NULL);
		answered += p[i].res.status == CLIENT_OK;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return answered;
}

static void probes_free(struct ctl *c, struct probe *p)
{
	for (size_t i = 0; i < c->n_endpoints; i++) {
		tclient_result_free(&p[i].res);
		tclient_result_free(&p[i].health);
		tclient_result_free(&p[i].version);
	}
}

static bool probe_ok(const struct probe *p)
{
	return p->res.status == CLIENT_OK && p->res.has_response;
}

/* The HEALTH column: "ok", the reason, or "?" from a witness too old to
 * answer HEALTH (or that did not answer it); NULL when unreachable. */
static const char *health_of(const struct probe *p, bool *healthy)
{
	const struct client_health_body *b = &p->health.r.health_body;
	*healthy = false;
	if (!probe_ok(p))
		return NULL;
	if (p->health.status != CLIENT_OK || !p->health.has_response)
		return "?";
	*healthy = b->healthy;
	return b->healthy ? "ok" : b->reason.p;
}

/* The VERSION column: the release, or "?" from a witness too old to
 * answer VERSION (or that did not answer it); NULL when unreachable. */
static bool version_known(const struct probe *p)
{
	return probe_ok(p) && p->version.status == CLIENT_OK &&
	       p->version.has_response;
}

static struct client_str version_of(const struct probe *p)
{
	if (!probe_ok(p))
		return ctl_str("");
	if (!version_known(p))
		return ctl_str("?");
	return p->version.r.version_body.version;
}

/* What the role column says about a witness that did not answer. */
static struct client_str role_of(const struct probe *p)
{
	if (probe_ok(p))
		return p->res.r.status_body.role;
	/* it answered, but will not talk to us without the secret */
	if (p->res.status == CLIENT_EUNAUTHORIZED)
		return ctl_str("unauthorized");
	return ctl_str("unreachable");
}

/* ---- status ------------------------------------------------------------- */

static void status_json(struct ctl *c, const struct probe *p)
{
	struct json j;
	json_init_file(&j, stdout, 0);
	json_list(&j);
	for (size_t i = 0; i < c->n_endpoints; i++) {
		const struct client_status_body *b = &p[i].res.r.status_body;
		bool ok = probe_ok(&p[i]);
		json_object(&j);
		json_key(&j, "name");
		if (ok)
			ctl_json_cstr(&j, b->name);
		else
			json_null(&j);
		json_key(&j, "endpoint");
		ctl_json_cstr(&j, ctl_str(c->endpoint_names[i]));
		json_key(&j, "role");
		ctl_json_cstr(&j, role_of(&p[i]));
		const char *nums[] = { "term", "commit", "applied" };
		const uint64_t vals[] = { b->term, b->commit, b->applied };
		for (size_t k = 0; k < 3; k++) {
			json_key(&j, nums[k]);
			if (ok)
				json_u64(&j, vals[k]);
			else
				json_null(&j);
		}
		json_key(&j, "leader");
		ctl_json_cstr_or_null(&j, ok ? b->leader : ctl_str(""));
		bool healthy;
		const char *why = health_of(&p[i], &healthy);
		json_key(&j, "healthy");
		if (why && strcmp(why, "?") != 0)
			json_bool(&j, healthy);
		else
			json_null(&j);
		json_key(&j, "health_reason");
		if (why && !healthy && strcmp(why, "?") != 0)
			json_string(&j, why);
		else
			json_null(&j);
		struct client_str v = version_of(&p[i]);
		json_key(&j, "version"); /* null: unreachable or too old */
		if (version_known(&p[i]))
			ctl_json_cstr(&j, v);
		else
			json_null(&j);
		json_end(&j);
	}
	json_end(&j);
}

static void status_table(struct ctl *c, const struct probe *p)
{
	static const char *const head[] = { "NAME",   "ENDPOINT", "ROLE",
					    "TERM",   "COMMIT",   "APPLIED",
					    "LEADER", "HEALTH",   "VERSION" };
	struct ctl_table t;
	ctl_table_init(&t, 9, head);
	for (size_t i = 0; i < c->n_endpoints; i++) {
		const struct client_status_body *b = &p[i].res.r.status_body;
		bool ok = probe_ok(&p[i]);
		bool healthy;
		const char *why = health_of(&p[i], &healthy);
		char *cells[9] = {
			ok ? ctl_cell(b->name) : ctl_cell(ctl_str("")),
			ctl_cell(ctl_str(c->endpoint_names[i])),
			ctl_cell(role_of(&p[i])),
			ok ? ctl_cell_u64(b->term) : ctl_cell(ctl_str("")),
			ok ? ctl_cell_u64(b->commit) : ctl_cell(ctl_str("")),
			ok ? ctl_cell_u64(b->applied) : ctl_cell(ctl_str("")),
			ctl_cell(ok ? b->leader : ctl_str("")),
			ctl_cell(ctl_str(why)),
			ctl_cell(version_of(&p[i])),
		};
		ctl_table_row(&t, (const char *const *)cells);
		for (size_t k = 0; k < 9; k++)
			free(cells[k]);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}

/* ---- status --scopes ----------------------------------------------------- */

static void scopes_json(const struct client_response *r)
{
	static const char *const names[] = {
		"keys", "bytes", "leases", "requests", "req_per_s", "refused"
	};
	const struct client_scopes_body *b = &r->scopes_body;
	struct json j;
	json_init_file(&j, stdout, 0);
	json_object(&j);
	json_key(&j, "scopes");
	json_list(&j);
	for (uint32_t i = 0; i < r->n; i++) {
		const struct client_scope *s = &r->scopes[i];
		const uint64_t v[] = {
			s->keys,     s->bytes,       s->leases,
			s->requests, s->last_second, s->refused
		};
		json_object(&j);
		json_key(&j, "scope");
		ctl_json_cstr(&j, s->name);
		for (size_t k = 0; k < 6; k++) {
			json_key(&j, names[k]);
			json_u64(&j, v[k]);
		}
		json_end(&j);
	}
	json_end(&j);
	json_key(&j, "more");
	json_bool(&j, b->more);
	json_key(&j, "limits");
	json_object(&j);
	json_key(&j, "scope_max_keys");
	json_u64(&j, b->max_keys);
	json_key(&j, "scope_max_bytes");
	json_u64(&j, b->max_bytes);
	json_key(&j, "scope_max_leases");
	json_u64(&j, b->max_leases);
	json_key(&j, "scope_max_requests_per_second");
	json_u64(&j, b->max_requests_per_second);
	json_end(&j);
	json_end(&j);
}

static void scopes_table(const struct client_response *r)
{
	static const char *const head[] = { "SCOPE",  "KEYS",  "BYTES",
					    "LEASES", "REQ/S", "REFUSED" };
	const struct client_scopes_body *b = &r->scopes_body;
	struct ctl_table t;
	ctl_table_init(&t, 6, head);
	for (uint32_t i = 0; i < r->n; i++) {
		const struct client_scope *s = &r->scopes[i];
		char *cells[6] = {
			ctl_cell(s->name),
			ctl_cell_u64(s->keys),
			ctl_cell_u64(s->bytes),
			ctl_cell_u64(s->leases),
			ctl_cell_u64(s->last_second),
			ctl_cell_u64(s->refused),
		};
		ctl_table_row(&t, (const char *const *)cells);
		for (size_t k = 0; k < 6; k++)
			free(cells[k]);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
	if (b->more)
		printf("(more scopes than fit in one answer: see /metrics)\n");
	printf("limits per scope (0: none): scope_max_keys %llu, "
	       "scope_max_bytes %llu, scope_max_leases %llu, "
	       "scope_max_requests_per_second %llu\n",
	       (unsigned long long)b->max_keys,
	       (unsigned long long)b->max_bytes,
	       (unsigned long long)b->max_leases,
	       (unsigned long long)b->max_requests_per_second);
}

static int status_scopes(struct ctl *c)
{
	struct client_request q;
	struct tclient_result res;
	memset(&q, 0, sizeof(q));
	q.op = CLIENT_OP_SCOPES;
	int code = ctl_call(c, &q, "status --scopes", &res);
	if (code == CTL_EXIT_OK) {
		if (c->format == CTL_JSON)
			scopes_json(&res.r);
		else
			scopes_table(&res.r);
	}
	tclient_result_free(&res);
	return code;
}

int ctl_cmd_status(struct ctl *c)
{
	if (ctl_opt(c, "scopes"))
		return status_scopes(c);
	struct probe p[CTL_MAX_ENDPOINTS];
	size_t answered = probe_all(c, p, true);
	if (c->format == CTL_JSON)
		status_json(c, p);
	else
		status_table(c, p);
	bool unauthorized = false;
	for (size_t i = 0; i < c->n_endpoints; i++) {
		if (probe_ok(&p[i]))
			continue;
		struct client_str role = role_of(&p[i]);
		struct client_str why = p[i].res.has_response
						? p[i].res.r.message
						: ctl_str(p[i].warning);
		fprintf(stderr, CTL_PROG ": %s: %.*s (%s)%s%.*s\n",
			c->endpoint_names[i], (int)role.len, role.p,
			client_status_name(p[i].res.status),
			why.len ? ": " : "", (int)why.len, why.p);
		unauthorized |= p[i].res.status == CLIENT_EUNAUTHORIZED;
	}
	probes_free(c, p);
	if (answered > 0)
		return CTL_EXIT_OK;
	fprintf(stderr, CTL_PROG ": status: no witness answered\nHint: %s.\n",
		unauthorized ? "authenticate with --user and --secret-file"
			     : "check --endpoints (the --listen-client "
			       "addresses) and that tenured runs there");
	return CTL_EXIT_ERROR;
}

int ctl_check_commands(struct ctl *c, uint64_t need, const char *what)
{
	struct probe p[CTL_MAX_ENDPOINTS];
	int code = CTL_EXIT_OK;
	probe_all(c, p, true);
	for (size_t i = 0; i < c->n_endpoints && !code; i++) {
		struct client_str v = version_of(&p[i]);
		const char *e = c->endpoint_names[i];
		if (!probe_ok(&p[i])) {
			fprintf(stderr,
				CTL_PROG ": %s: cannot tell which version the "
					 "witness %s runs: it did not answer\n"
					 "Hint: every witness must answer, "
					 "each one applies the log: start it "
					 "(or remove it from the trio) and "
					 "run this again.\n",
				what, e);
			code = CTL_EXIT_ERROR;
		} else if (!version_known(&p[i]) ||
			   p[i].version.r.version_body.commands < need) {
			fprintf(stderr,
				CTL_PROG ": %s: the witness %s runs a version "
					 "(%.*s) that does not know this "
					 "command; it would stop at it\n"
					 "Hint: upgrade every witness of the "
					 "trio first (docs/operations.md "
					 "\"Upgrading the witnesses\").\n",
				what, e, (int)v.len, v.p);
			code = CTL_EXIT_ERROR;
		}
	}
	probes_free(c, p);
	return code;
}

/* The leader's name as the witnesses report it (the first one that names
 * a leader), and the endpoint of the witness that says it is the leader
 * (or SIZE_MAX when none of the endpoints is). */
static void find_leader(struct ctl *c, const struct probe *p, char *name,
			size_t len, size_t *leader_ep)
{
	name[0] = '\0';
	*leader_ep = SIZE_MAX;
	for (size_t i = 0; i < c->n_endpoints; i++) {
		const struct client_status_body *b = &p[i].res.r.status_body;
		if (!probe_ok(&p[i]))
			continue;
		if (b->role.len == 6 && memcmp(b->role.p, "leader", 6) == 0) {
			*leader_ep = i;
			snprintf(name, len, "%.*s", (int)b->name.len,
				 b->name.p);
			return;
		}
		if (!name[0] && b->leader.len)
			snprintf(name, len, "%.*s", (int)b->leader.len,
				 b->leader.p);
	}
}

/* After a timeout: why?  A quick status round tells "nothing runs
 * there" from "they run but have no leader" from "the leader is slow",
 * which the client library cannot tell apart (it retries all three). */
void ctl_diagnose(struct ctl *c)
{
	struct probe p[CTL_MAX_ENDPOINTS];
	char leader[CLIENT_NAME_MAX + 1];
	size_t ep;
	uint64_t saved = c->timeout_ms;
	c->timeout_ms = saved < 1000 ? saved : 1000;
	size_t answered = probe_all(c, p, false);
	c->timeout_ms = saved;
	find_leader(c, p, leader, sizeof(leader), &ep);
	probes_free(c, p);
	if (answered == 0)
		fprintf(stderr, "  diagnosis: no endpoint answers a status "
				"request\n");
	else if (!leader[0])
		fprintf(stderr,
			"  diagnosis: %zu of %zu endpoints answer, but "
			"none knows a leader: the witnesses have no quorum\n",
			answered, c->n_endpoints);
	else
		fprintf(stderr,
			"  diagnosis: the leader is %s; it did not "
			"answer in time (overloaded, or cut off)\n",
			leader);
}

/* ---- members ------------------------------------------------------------ */

static void id_hex(uint64_t id, char *buf, size_t len)
{
	/* Member ids are 64-bit hashes: as a JSON number they would lose
	 * digits in jq and JavaScript, so they travel as hex strings. */
	snprintf(buf, len, "%016llx", (unsigned long long)id);
}

static void members_json(const struct client_member *m, size_t n)
{
	struct json j;
	json_init_file(&j, stdout, 0);
	json_list(&j);
	for (size_t i = 0; i < n; i++) {
		char id[24];
		id_hex(m[i].id, id, sizeof(id));
		json_object(&j);
		json_key(&j, "name");
		ctl_json_cstr(&j, m[i].name);
		json_key(&j, "id");
		ctl_json_cstr(&j, ctl_str(id));
		json_key(&j, "peer_addr");
		ctl_json_cstr_or_null(&j, m[i].peer_addr);
		json_key(&j, "client_addr");
		ctl_json_cstr_or_null(&j, m[i].client_addr);
		json_key(&j, "voter");
		json_bool(&j, m[i].voter);
		json_key(&j, "connected");
		json_bool(&j, m[i].connected);
		json_key(&j, "match");
		json_u64(&j, m[i].match);
		json_end(&j);
	}
	json_end(&j);
}

static void members_table(const struct client_member *m, size_t n)
{
	static const char *const head[] = { "NAME",        "ID",   "PEER_ADDR",
					    "CLIENT_ADDR", "ROLE", "CONNECTED",
					    "MATCH" };
	struct ctl_table t;
	ctl_table_init(&t, 7, head);
	for (size_t i = 0; i < n; i++) {
		char id[24];
		id_hex(m[i].id, id, sizeof(id));
		char *cells[7] = {
			ctl_cell(m[i].name),
			ctl_cell(ctl_str(id)),
			ctl_cell(m[i].peer_addr),
			ctl_cell(m[i].client_addr),
			ctl_cell(ctl_str(m[i].voter ? "voter" : "learner")),
			ctl_cell(ctl_str(m[i].connected ? "yes" : "no")),
			ctl_cell_u64(m[i].match),
		};
		ctl_table_row(&t, (const char *const *)cells);
		for (size_t k = 0; k < 7; k++)
			free(cells[k]);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}

int ctl_cmd_member_list(struct ctl *c)
{
	/* The leader knows who is connected and how far each has caught
	 * up; ask it when one of our endpoints is the leader. */
	struct probe p[CTL_MAX_ENDPOINTS];
	char leader[CLIENT_NAME_MAX + 1];
	size_t ep;
	probe_all(c, p, false);
	find_leader(c, p, leader, sizeof(leader), &ep);
	probes_free(c, p);
	struct tclient_options o;
	if (ep == SIZE_MAX)
		ctl_client_options(c, &o);
	else
		ctl_client_options_one(c, ep, &o);
	struct client_request q = { .op = CLIENT_OP_MEMBER_LIST };
	struct tclient_result res;
	int code = ctl_call_with(c, &o, &q, "member list", &res);
	if (code == CTL_EXIT_OK && c->format == CTL_JSON)
		members_json(res.r.members, res.r.n);
	else if (code == CTL_EXIT_OK)
		members_table(res.r.members, res.r.n);
	tclient_result_free(&res);
	return code;
}

/* Add and remove print the same shape: {"name":..., "<flag>":true}. */
static void print_change(struct ctl *c, const char *name, const char *flag,
			 const char *text)
{
	if (c->format != CTL_JSON) {
		printf("%s\n", text);
		return;
	}
	struct json j;
	json_init_file(&j, stdout, 0);
	json_object(&j);
	json_key(&j, "name");
	ctl_json_cstr(&j, ctl_str(name));
	json_key(&j, flag);
	json_bool(&j, true);
	json_end(&j);
}

int ctl_cmd_member_add(struct ctl *c)
{
	const char *name = c->args[0], *addr;
	if (!*name)
		return ctl_usage_error(c, "the member NAME must not be empty");
	if (ctl_opt_str(c, "peer-addr", &addr))
		return CTL_EXIT_ERROR;
	struct client_request q = { .op = CLIENT_OP_MEMBER_ADD };
	q.name = ctl_str(name);
	q.peer_addr = ctl_str(addr);
	struct tclient_result res;
	int code = ctl_call(c, &q, "member add", &res);
	char text[CLIENT_NAME_MAX + CLIENT_ADDR_MAX + 128];
	snprintf(text, sizeof(text),
		 "added %s (peer %s) as a learner; it "
		 "becomes a voter once caught up",
		 name, addr);
	if (code == CTL_EXIT_OK)
		print_change(c, name, "added", text);
	else if (code == CTL_EXIT_NO)
		fprintf(stderr, CTL_PROG ": member add %s refused: %s\n", name,
			client_status_name(res.status));
	tclient_result_free(&res);
	return code;
}

int ctl_cmd_member_remove(struct ctl *c)
{
	const char *name = c->args[0];
	if (!*name)
		return ctl_usage_error(c, "the member NAME must not be empty");
	struct client_request q = { .op = CLIENT_OP_MEMBER_REMOVE };
	q.name = ctl_str(name);
	struct tclient_result res;
	int code = ctl_call(c, &q, "member remove", &res);
	char text[CLIENT_NAME_MAX + 32];
	snprintf(text, sizeof(text), "removed %s", name);
	if (code == CTL_EXIT_OK)
		print_change(c, name, "removed", text);
	else if (res.status == CLIENT_NOT_FOUND)
		fprintf(stderr,
			CTL_PROG ": there is no member '%s' (see " CTL_PROG
				 " member list)\n",
			name);
	tclient_result_free(&res);
	return code;
}

/* ---- leader transfer ---------------------------------------------------- */

static void print_transfer(struct ctl *c, const char *from, const char *to)
{
	if (c->format != CTL_JSON) {
		printf("leader: %s -> %s\n", from[0] ? from : "-", to);
		return;
	}
	struct json j;
	json_init_file(&j, stdout, 0);
	json_object(&j);
	json_key(&j, "from");
	ctl_json_cstr_or_null(&j, ctl_str(from));
	json_key(&j, "to");
	ctl_json_cstr(&j, ctl_str(to));
	json_key(&j, "transferred");
	json_bool(&j, true);
	json_end(&j);
}

/* The leader now, as the endpoints report it ("" when none is known). */
static void current_leader(struct ctl *c, char *name, size_t len)
{
	struct probe p[CTL_MAX_ENDPOINTS];
	size_t ep;
	probe_all(c, p, false);
	find_leader(c, p, name, len, &ep);
	probes_free(c, p);
}

/* Polls until the leader is `to` (or, without --to, anyone but `from`). */
static int wait_for_leader(struct ctl *c, const char *from, const char *to,
			   char *now, size_t len)
{
	uint64_t deadline = uv_hrtime() / 1000000 + c->timeout_ms;
	while (uv_hrtime() / 1000000 < deadline) {
		current_leader(c, now, len);
		if (now[0] && (to ? strcmp(now, to) == 0 : strcmp(now, from)))
			return 0;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	fprintf(stderr,
		CTL_PROG
		": leader transfer: started, but %s is not "
		"the leader after %llu ms (the leader is %s)\nHint: check "
		"that the target is connected and caught up (" CTL_PROG
		" member list).\n",
		to ? to : "a new witness", (unsigned long long)c->timeout_ms,
		now[0] ? now : "unknown");
	return CTL_EXIT_ERROR;
}

int ctl_cmd_leader_transfer(struct ctl *c)
{
	const char *to = ctl_opt(c, "to");
	char from[CLIENT_NAME_MAX + 1], now[CLIENT_NAME_MAX + 1];
	if (to && !*to)
		return ctl_usage_error(c, "--to must not be empty (leave it "
					  "out to let the leader choose)");
	current_leader(c, from, sizeof(from));
	if (to && strcmp(from, to) == 0) {
		print_transfer(c, from, to);
		fprintf(stderr, CTL_PROG ": %s is already the leader\n", to);
		return CTL_EXIT_OK;
	}
	struct client_request q = { .op = CLIENT_OP_TRANSFER };
	q.to_name = ctl_str(to);
	struct tclient_result res;
	int code = ctl_call(c, &q, "leader transfer", &res);
	if (res.status == CLIENT_NOT_FOUND)
		fprintf(stderr,
			CTL_PROG ": leader transfer: there is no "
				 "voter '%s' (see " CTL_PROG " member list)\n",
			to ? to : "");
	tclient_result_free(&res);
	if (code != CTL_EXIT_OK)
		return code;
	if (wait_for_leader(c, from, to, now, sizeof(now)))
		return CTL_EXIT_ERROR;
	print_transfer(c, from, now);
	return CTL_EXIT_OK;
}
