/*
 * ctl_pgcluster.c — tenurectl cluster list|history|pause|resume|
 * switchover|failover: the PostgreSQL cluster that the tenure-agents keep
 * in the witnesses' key space (what patronictl is to Patroni).
 *
 * Key protocol (scope S; the agents write, tenurectl mostly reads):
 *   lease S/primary          holder = node name of the primary, token =
 *                            its fencing token
 *   lease S/members/NAME     each agent's liveness; the key S/members/NAME
 *                            (member JSON, fencing/member.h) is attached
 *                            to it, so a dead agent's record goes away
 *                            (a running primary's to S/primary instead:
 *                            fencing/record_lease.h)
 *   key   S/sync             comma-separated names that may acknowledge
 *                            synchronous commits
 *   key   S/pause            present = maintenance mode
 *                            ({"by":..,"time_ms":..})
 *   key   S/switchover       {"kind":"switchover"|"failover","from":NAME
 *                            or "","candidate":NAME,"requested_ms":ms};
 *                            the agents delete it when done
 *   keys  S/history/%020llu  (the fencing token) {"time_ms","old","new",
 *                            "reason","token","unavailable_ms"}; the
 *                            agent that adds one deletes the oldest beyond
 *                            the newest 1000 (fencing/scope_keys.h)
 *   key   S/drill            {"kind":"failover","target":NAME,"token":T,
 *                            "requested_ms":ms}: `cluster drill` asks the
 *                            primary holding token T to play dead
 *   keys  S/drills/%020llu   (wall-clock ms) a drill's result
 *                            (ctl_drill_report.c); the newest 100 are kept
 *
 * tenurectl never moves the lease itself: it asks (S/switchover) and
 * watches the agents do it, because only the agents can fence and
 * promote in the right order.
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/wall_time.h"
#include "ctl/ctl.h"
#include "ctl/ctl_drill.h"
#include "ctl/ctl_pg.h"
#include "ctl/ctl_confirm.h"
#include "fencing/flatjson.h"
#include "fencing/optime.h"
#include "fencing/requests.h"
#include "fencing/roster.h"
#include "fencing/scope_keys.h"
#include "proto/limits.h"

#define POLL_MS 100
#define SYNC_LIST_MAX 4096

/* ---- scope and keys ------------------------------------------------------ */

static int scope_of(struct ctl *c, const char **out)
{
	const char *s = ctl_opt(c, "scope");
	if (!s)
		s = getenv("TENURE_SCOPE");
	if (!s || !*s)
		s = "main";
	if (strchr(s, '/') || strlen(s) > 128)
		return ctl_usage_error(c,
				       "--scope '%s' must not contain '/' "
				       "and must be at most 128 bytes",
				       s);
	*out = s;
	return 0;
}

static void key_of(char *buf, size_t len, const char *scope, const char *rest)
{
	snprintf(buf, len, "%s/%s", scope, rest);
}

/* ---- reads --------------------------------------------------------------- */

struct primary {
	char holder[SM_HOLDER_MAX + 1];
	uint64_t token;
};

/* S/primary's holder ("" when free or never created).  0, or the exit
 * code after an error was printed. */
static int read_primary(struct ctl *c, const char *scope, struct primary *p)
{
	char name[SM_KEY_MAX + 1];
	struct client_request q = { .op = CLIENT_OP_LEASE_GET };
	struct tclient_result res;
	key_of(name, sizeof(name), scope, "primary");
	q.name = ctl_str(name);
	q.consistency = c->consistency;
	memset(p, 0, sizeof(*p));
	int code = ctl_call(c, &q, "lease get", &res);
	if (code == CTL_EXIT_OK && res.r.present && res.r.lease.holder.len) {
		/* the node's name, without its agent's incarnation */
		roster_holder_name(res.r.lease.holder.p, res.r.lease.holder.len,
				   p->holder, sizeof(p->holder));
		p->token = res.r.lease.token;
	}
	tclient_result_free(&res);
	return code == CTL_EXIT_ERROR ? code : 0;
}

/* A key's value into buf (NUL-terminated, cut at len).  *found false when
 * it does not exist.  0 or the exit code after an error was printed. */
static int read_key(struct ctl *c, const char *key, char *buf, size_t len,
		    bool *found)
{
	struct client_request q = { .op = CLIENT_OP_GET };
	struct tclient_result res;
	q.key = ctl_str(key);
	q.consistency = c->consistency;
	*found = false;
	buf[0] = '\0';
	int code = ctl_call(c, &q, "get", &res);
	if (code == CTL_EXIT_OK && res.r.present) {
		*found = true;
		snprintf(buf, len, "%.*s", (int)res.r.kv.value.len,
			 res.r.kv.value.p);
	}
	tclient_result_free(&res);
	return code == CTL_EXIT_ERROR ? code : 0;
}

/* Every key under prefix, page by page: S/history/ alone may be more than
 * one answer can hold.  Free p with ctl_pages_free. */
static int list_prefix(struct ctl *c, const char *prefix, struct ctl_pages *p)
{
	struct client_request q = { .op = CLIENT_OP_LIST_PAGE };
	q.prefix = ctl_str(prefix);
	q.consistency = c->consistency;
	return ctl_call_pages(c, &q, "list", p);
}

/* The member records under S/members/ (malformed ones skipped with a
 * warning).  *out is malloc'ed. */
static int read_members(struct ctl *c, const char *scope, struct member **out,
			size_t *n)
{
	char prefix[SM_KEY_MAX + 1], err[160];
	struct ctl_pages res;
	key_of(prefix, sizeof(prefix), scope, "members/");
	*out = NULL;
	*n = 0;
	int code = list_prefix(c, prefix, &res);
	if (code == CTL_EXIT_OK && res.count) {
		*out = calloc(res.count, sizeof(**out));
		if (!*out) {
			fprintf(stderr, CTL_PROG ": out of memory\n");
			code = CTL_EXIT_ERROR;
		}
	}
	for (size_t i = 0; *out && i < res.count; i++) {
		const struct client_kv *kv = &res.kvs[i];
		if (member_decode(kv->value.p, kv->value.len, &(*out)[*n], err,
				  sizeof(err)))
			(*n)++;
		else
			fprintf(stderr,
				CTL_PROG ": warning: ignoring %.*s: "
					 "%s\n",
				(int)kv->key.len, kv->key.p, err);
	}
	ctl_pages_free(&res);
	return code == CTL_EXIT_ERROR ? code : 0;
}

/* ---- cluster list -------------------------------------------------------- */

static int print_requests(struct ctl *c, const char *scope);

int ctl_pg_snapshot_read(struct ctl *c, struct ctl_pg_snapshot *s)
{
	const char *scope;
	char key[SM_KEY_MAX + 1], pause_value[16];
	struct primary p;
	bool paused, has_sync;
	memset(s, 0, sizeof(*s));
	if (!(s->sync = malloc(SYNC_LIST_MAX))) {
		fprintf(stderr, CTL_PROG ": out of memory\n");
		return CTL_EXIT_ERROR;
	}
	s->sync[0] = '\0';
	if (scope_of(c, &scope) || read_primary(c, scope, &p) ||
	    read_members(c, scope, &s->members, &s->list.n))
		return CTL_EXIT_ERROR;
	key_of(key, sizeof(key), scope, "sync");
	if (read_key(c, key, s->sync, SYNC_LIST_MAX, &has_sync))
		return CTL_EXIT_ERROR;
	key_of(key, sizeof(key), scope, "pause");
	if (read_key(c, key, pause_value, sizeof(pause_value), &paused))
		return CTL_EXIT_ERROR;
	snprintf(s->leader, sizeof(s->leader), "%s", p.holder);
	s->list.scope = scope;
	s->list.leader = s->leader;
	s->list.token = p.token;
	s->list.paused = paused;
	s->list.sync = s->sync;
	s->list.members = s->members;
	return CTL_EXIT_OK;
}

void ctl_pg_snapshot_free(struct ctl_pg_snapshot *s)
{
	free(s->members);
	free(s->sync);
	memset(s, 0, sizeof(*s));
}

static int list_once(struct ctl *c)
{
	struct ctl_pg_snapshot s;
	int code = ctl_pg_snapshot_read(c, &s);
	if (code == CTL_EXIT_OK) {
		ctl_pg_print_list(stdout, c->format, &s.list);
		if (c->format == CTL_TABLE)
			code = print_requests(c, s.list.scope);
	}
	ctl_pg_snapshot_free(&s);
	return code;
}

/* --watch: the list again every period until interrupted, as watch(1)
 * would run it; a read that fails is said and the next one tried. */
static int list_watch(struct ctl *c, uint64_t period_ms)
{
	bool tty = isatty(STDOUT_FILENO);
	for (;;) {
		if (c->format == CTL_TABLE) {
			char when[32];
			if (tty) /* home and clear: redraw in place */
				fputs("\033[H\033[2J", stdout);
			printf("Every %gs: %s\n\n", (double)period_ms / 1000,
			       ctl_pg_iso_time(clock_wall_ms(), when,
					       sizeof(when)));
		}
		list_once(c);
		if (c->format == CTL_TABLE && !tty)
			putchar('\n');
		if (fflush(stdout) != 0)
			return CTL_EXIT_ERROR; /* nobody reads any more */
		struct timespec ts = { (time_t)(period_ms / 1000),
				       (long)(period_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0)
			;
	}
}

int ctl_cmd_pg_list(struct ctl *c)
{
	const char *watch = ctl_opt(c, "watch");
	uint64_t period_ms;
	if (!watch)
		return list_once(c);
	if (ctl_parse_duration(watch, 1000, &period_ms) || period_ms == 0)
		return ctl_usage_error(c,
				       "--watch wants seconds (2) or a "
				       "duration (500ms), "
				       "not '%s'",
				       watch);
	return list_watch(c, period_ms);
}

/* ---- cluster topology, cluster dsn -------------------------------------------------------- */

int ctl_cmd_pg_topology(struct ctl *c)
{
	struct ctl_pg_snapshot s;
	int code = ctl_pg_snapshot_read(c, &s);
	if (code == CTL_EXIT_OK)
		ctl_pg_print_topology(stdout, c->format, &s.list);
	ctl_pg_snapshot_free(&s);
	return code;
}

int ctl_cmd_pg_dsn(struct ctl *c)
{
	const char *node = c->n_args ? c->args[0] : NULL;
	const char *role = ctl_opt(c, "role");
	if (node && role)
		return ctl_usage_error(c, "give a NODE or --role, not both");
	if (!role)
		role = "primary";
	if (strcmp(role, "primary") != 0 && strcmp(role, "replica") != 0)
		return ctl_usage_error(c,
				       "--role wants primary or replica, not "
				       "'%s'",
				       role);
	struct ctl_pg_snapshot s;
	int code = ctl_pg_snapshot_read(c, &s);
	if (code != CTL_EXIT_OK) {
		ctl_pg_snapshot_free(&s);
		return code;
	}
	const struct member *m = ctl_pg_dsn_member(&s.list, node, role);
	if (!m || !m->pg[0]) {
		fprintf(stderr, CTL_PROG ": %s%s%s\n",
			node ? "no member named " : "no ", node ? node : role,
			node ? " (see 'cluster list')"
			     : (strcmp(role, "primary") == 0
					? " now: no member holds the lease"
					: " streaming and healthy now"));
		ctl_pg_snapshot_free(&s);
		return CTL_EXIT_NO;
	}
	char dsn[1024];
	ctl_pg_dsn_format(m, ctl_opt(c, "dbname"), ctl_opt(c, "pg-user"), dsn,
			  sizeof(dsn));
	if (c->format == CTL_JSON) {
		struct json j;
		json_init_file(&j, stdout, 0);
		json_object(&j);
		json_key(&j, "name");
		json_str(&j, m->name, strlen(m->name));
		json_key(&j, "dsn");
		json_str(&j, dsn, strlen(dsn));
		json_end(&j);
	} else {
		printf("%s\n", dsn);
	}
	ctl_pg_snapshot_free(&s);
	return CTL_EXIT_OK;
}

/* ---- cluster history ----------------------------------------------------- */

static int by_token(const void *a, const void *b)
{
	const struct ctl_pg_event *x = a, *y = b;
	return x->token < y->token ? -1 : x->token > y->token;
}

int ctl_cmd_pg_history(struct ctl *c)
{
	const char *scope;
	char prefix[SM_KEY_MAX + 1], err[160];
	struct ctl_pages res;
	struct ctl_pg_event *e = NULL;
	size_t n = 0;
	if (scope_of(c, &scope))
		return CTL_EXIT_ERROR;
	key_of(prefix, sizeof(prefix), scope, "history/");
	int code = list_prefix(c, prefix, &res);
	if (code == CTL_EXIT_OK && res.count &&
	    !(e = calloc(res.count, sizeof(*e)))) {
		fprintf(stderr, CTL_PROG ": out of memory\n");
		code = CTL_EXIT_ERROR;
	}
	for (size_t i = 0; e && i < res.count; i++) {
		const struct client_kv *kv = &res.kvs[i];
		if (ctl_pg_event_decode(kv->value.p, kv->value.len, &e[n], err,
					sizeof(err)))
			n++;
		else
			fprintf(stderr,
				CTL_PROG ": warning: ignoring %.*s: "
					 "%s\n",
				(int)kv->key.len, kv->key.p, err);
	}
	if (code == CTL_EXIT_OK) {
		if (n)
			qsort(e, n, sizeof(*e), by_token);
		code = ctl_drill_print_history(c, scope, e, n);
	}
	free(e);
	ctl_pages_free(&res);
	return code;
}

/* ---- pause / resume ------------------------------------------------------ */

/* Who asked: $USER, or the name of the uid (cron and systemd set no USER),
 * or the uid itself. */
static const char *user_name(void)
{
	static char buf[32];
	const char *user = getenv("USER");
	if (user && *user)
		return user;
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name && *pw->pw_name)
		return pw->pw_name;
	snprintf(buf, sizeof(buf), "uid %u", (unsigned)getuid());
	return buf;
}

static void print_paused(const struct ctl *c, const char *scope, bool paused,
			 const char *text)
{
	if (c->format == CTL_JSON) {
		struct json j;
		json_init_file(&j, stdout, 0);
		json_object(&j);
		json_key(&j, "scope");
		json_str(&j, scope, strlen(scope));
		json_key(&j, "paused");
		json_bool(&j, paused);
		json_end(&j);
	} else {
		printf("%s\n", text);
	}
}

int ctl_cmd_pg_pause(struct ctl *c)
{
	const char *scope;
	char key[SM_KEY_MAX + 1], value[512], host[128] = "?", text[256];
	struct client_request q = { .op = CLIENT_OP_CAS };
	struct tclient_result res;
	struct flatjson_writer w;
	if (scope_of(c, &scope))
		return CTL_EXIT_ERROR;
	gethostname(host, sizeof(host) - 1);
	char by[300];
	snprintf(by, sizeof(by), "%s@%s", user_name(), host);
	flatjson_begin(&w, value, sizeof(value));
	flatjson_put_str(&w, "by", by);
	flatjson_put_u64(&w, "time_ms", clock_wall_ms());
	flatjson_end(&w);
	key_of(key, sizeof(key), scope, "pause");
	q.key = ctl_str(key);
	q.value = ctl_str(value);
	q.expected_revision = 0; /* only when not paused already */
	int code = ctl_call(c, &q, "cluster pause", &res);
	tclient_result_free(&res);
	if (code == CTL_EXIT_NO) {
		fprintf(stderr, CTL_PROG ": cluster '%s' is already paused\n",
			scope);
		return code;
	}
	if (code != CTL_EXIT_OK)
		return code;
	snprintf(text, sizeof(text),
		 "cluster '%s' paused: no automatic "
		 "failover until '" CTL_PROG " cluster resume'",
		 scope);
	print_paused(c, scope, true, text);
	return code;
}

int ctl_cmd_pg_resume(struct ctl *c)
{
	const char *scope;
	char key[SM_KEY_MAX + 1], text[256];
	struct client_request q = { .op = CLIENT_OP_DELETE };
	struct tclient_result res;
	if (scope_of(c, &scope))
		return CTL_EXIT_ERROR;
	key_of(key, sizeof(key), scope, "pause");
	q.key = ctl_str(key);
	int code = ctl_call(c, &q, "cluster resume", &res);
	tclient_result_free(&res);
	if (code == CTL_EXIT_NO) {
		fprintf(stderr, CTL_PROG ": cluster '%s' is not paused\n",
			scope);
		return code;
	}
	if (code != CTL_EXIT_OK)
		return code;
	snprintf(text, sizeof(text),
		 "cluster '%s' resumed: automatic "
		 "failover is on again",
		 scope);
	print_paused(c, scope, false, text);
	return code;
}

/* ---- switchover / failover ----------------------------------------------- */

/* The candidate's record, or an exit code after saying why it cannot be
 * one. */
static int check_candidate(struct ctl *c, const char *scope, const char *name,
			   const struct primary *p)
{
	struct member *m;
	size_t n;
	const struct member *cand = NULL;
	int code = read_members(c, scope, &m, &n);
	if (code)
		return code;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			cand = &m[i];
	code = CTL_EXIT_ERROR;
	if (strcmp(name, p->holder) == 0) {
		fprintf(stderr,
			CTL_PROG ": %s is already the primary of "
				 "cluster '%s'\n",
			name, scope);
	} else if (!cand) {
		fprintf(stderr,
			CTL_PROG ": cluster '%s' has no member '%s' "
				 "(no record under %s/members/); members:",
			scope, name, scope);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s", m[i].name);
		fprintf(stderr,
			"%s\nHint: see '" CTL_PROG " cluster list "
			"--scope %s'.\n",
			n ? "" : " none", scope);
	} else if (cand->role != MEMBER_REPLICA) {
		fprintf(stderr,
			CTL_PROG ": %s cannot take over: it is not a "
				 "running replica (role %s, state %s)\n",
			name, member_role_name(cand->role),
			cand->state[0] ? cand->state : "-");
	} else if (cand->nofailover) {
		fprintf(stderr,
			CTL_PROG ": %s is tagged nofailover and will "
				 "not be promoted\n",
			name);
	} else {
		code = 0;
	}
	free(m);
	return code;
}

/* Writes S/switchover unless a live request is pending already (a stale
 * one is replaced); what was written goes to sent (cap 1024) when not
 * NULL. */
static int request_handover(struct ctl *c, const char *scope, const char *kind,
			    const char *from, const char *candidate, bool force,
			    uint64_t at_ms, char *sent)
{
	char key[SM_KEY_MAX + 1], value[1024];
	struct client_request q = { .op = CLIENT_OP_CAS };
	struct tclient_result res;
	struct flatjson_writer w;
	flatjson_begin(&w, value, sizeof(value));
	flatjson_put_str(&w, "kind", kind);
	flatjson_put_str(&w, "from", from);
	flatjson_put_str(&w, "candidate", candidate);
	flatjson_put_u64(&w, "requested_ms", clock_wall_ms());
	if (force)
		flatjson_put_bool(&w, "force", true);
	if (at_ms)
		flatjson_put_u64(&w, "at_ms", at_ms);
	if (!flatjson_end(&w)) {
		fprintf(stderr, CTL_PROG ": names too long\n");
		return CTL_EXIT_ERROR;
	}
	key_of(key, sizeof(key), scope, "switchover");
	q.key = ctl_str(key);
	q.value = ctl_str(value);
	q.expected_revision = 0;
	int code = ctl_call(c, &q, kind, &res);
	if (code == CTL_EXIT_NO && res.r.present &&
	    scope_request_stale(res.r.kv.value.p, res.r.kv.value.len,
				clock_wall_ms())) {
		fprintf(stderr,
			CTL_PROG
			": replacing a stale request in %s "
			"(the agents ignore requests older than %d s): %.*s\n",
			key, SCOPE_REQUEST_MAX_AGE_MS / 1000,
			(int)res.r.kv.value.len, res.r.kv.value.p);
		q.expected_revision = res.r.kv.mod_revision;
		tclient_result_free(&res);
		code = ctl_call(c, &q, kind, &res);
	}
	if (code == CTL_EXIT_OK && sent)
		snprintf(sent, 1024, "%s", value);
	if (code == CTL_EXIT_NO) {
		fprintf(stderr,
			CTL_PROG
			": a request is already pending in %s"
			"%s%.*s\nHint: wait for the agents to finish it, or "
			"cancel it with '" CTL_PROG " del %s'.\n",
			key, res.r.present ? ": " : "",
			res.r.present ? (int)res.r.kv.value.len : 0,
			res.r.present ? res.r.kv.value.p : "", key);
		code = CTL_EXIT_ERROR;
	}
	tclient_result_free(&res);
	return code;
}

/* A read that may fail while the cluster changes hands: quiet, bounded. */
static int quiet_call(struct ctl *c, const struct client_request *q,
		      uint64_t timeout_ms, struct tclient_result *res)
{
	struct tclient_options o;
	ctl_client_options(c, &o);
	o.log = NULL;
	o.timeout_ms = timeout_ms;
	int rv = tclient_call_sync(&o, q, timeout_ms, res);
	return rv < 0 ? rv : res->status;
}

/* The lease is held by name and name's record says primary. */
static bool handover_done(struct ctl *c, const char *scope, const char *name,
			  uint64_t timeout_ms, char *holder, size_t hlen,
			  uint64_t *token)
{
	char key[SM_KEY_MAX + 1], err[160];
	struct client_request q = { .op = CLIENT_OP_LEASE_GET };
	struct tclient_result res;
	struct member m;
	bool held = false, primary = false;
	key_of(key, sizeof(key), scope, "primary");
	q.name = ctl_str(key);
	q.consistency = c->consistency;
	if (quiet_call(c, &q, timeout_ms, &res) == CLIENT_OK && res.r.present) {
		roster_holder_name(res.r.lease.holder.p, res.r.lease.holder.len,
				   holder, hlen);
		*token = res.r.lease.token;
		held = strcmp(holder, name) == 0;
	}
	tclient_result_free(&res);
	if (!held)
		return false;
	memset(&q, 0, sizeof(q));
	q.op = CLIENT_OP_GET;
	key_of(key, sizeof(key), scope, "members/");
	strncat(key, name, sizeof(key) - strlen(key) - 1);
	q.key = ctl_str(key);
	q.consistency = c->consistency;
	if (quiet_call(c, &q, timeout_ms, &res) == CLIENT_OK && res.r.present &&
	    member_decode(res.r.kv.value.p, res.r.kv.value.len, &m, err,
			  sizeof(err)))
		primary = m.role == MEMBER_PRIMARY;
	tclient_result_free(&res);
	return primary;
}

static void print_done(const struct ctl *c, const char *kind,
		       const char *candidate, const char *old, double secs)
{
	if (c->format == CTL_JSON) {
		struct json j;
		json_init_file(&j, stdout, 0);
		json_object(&j);
		json_key(&j, "candidate");
		json_str(&j, candidate, strlen(candidate));
		json_key(&j, "old");
		struct client_str o = { old, strlen(old) };
		ctl_json_cstr_or_null(&j, o);
		json_key(&j, "seconds");
		json_double(&j, secs);
		json_end(&j);
	} else {
		printf("%s to %s done in %.2f s\n", kind, candidate, secs);
	}
}

/* Another node got a new grant of the lease instead of the candidate
 * (the old primary took the role back): the request is over, and the
 * history entry of that grant says why. */
static int handover_failed(struct ctl *c, const char *scope, const char *kind,
			   const char *candidate, const char *holder,
			   uint64_t token)
{
	char key[SM_KEY_MAX + 1], value[2048], err[160];
	struct ctl_pg_event e;
	bool found = false;
	snprintf(key, sizeof(key), "%s/history/%020llu", scope,
		 (unsigned long long)token);
	memset(&e, 0, sizeof(e));
	for (int i = 0; i < 20 && !found; i++) { /* written after promoting */
		read_key(c, key, value, sizeof(value), &found);
		if (!found)
			usleep(POLL_MS * 1000);
	}
	if (!found ||
	    !ctl_pg_event_decode(value, strlen(value), &e, err, sizeof(err)))
		snprintf(e.reason, sizeof(e.reason), "no reason recorded");
	fprintf(stderr,
		CTL_PROG
		": %s to %s failed: %s is the primary (%s)"
		"\nHint: see why %s was not promoted in its agent's log and in "
		"'" CTL_PROG " cluster list --scope %s'; then try again.\n",
		kind, candidate, holder, e.reason, candidate, scope);
	return CTL_EXIT_ERROR;
}

/* A request that did not happen is taken back, so that it blocks no later
 * one: only if S/switchover still holds exactly what this command wrote
 * (there is no conditional delete; an agent or another operator may have
 * replaced it in the instant between the read and the delete, which the
 * agents survive: a request deleted early is simply not carried out). */
static void withdraw_request(struct ctl *c, const char *scope, const char *sent)
{
	char key[SM_KEY_MAX + 1], value[1024];
	bool found;
	key_of(key, sizeof(key), scope, "switchover");
	if (read_key(c, key, value, sizeof(value), &found) || !found ||
	    strcmp(value, sent) != 0)
		return;
	struct client_request q = { .op = CLIENT_OP_DELETE };
	struct tclient_result res;
	q.key = ctl_str(key);
	if (ctl_call(c, &q, "del", &res) == CTL_EXIT_OK)
		fprintf(stderr,
			CTL_PROG ": the request was withdrawn (%s "
				 "deleted)\n",
			key);
	tclient_result_free(&res);
}

/* What the candidate says about itself while nobody holds the lease. */
static void print_candidate_state(struct ctl *c, const char *scope,
				  const char *candidate)
{
	struct member *m;
	size_t n;
	if (read_members(c, scope, &m, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, candidate) == 0)
			fprintf(stderr, "%s: %s %s%s%s\n", candidate,
				member_role_name(m[i].role), m[i].state,
				m[i].waiting[0] ? ", waiting: " : "",
				m[i].waiting);
	free(m);
}

static int wait_handover(struct ctl *c, const char *scope, const char *kind,
			 const char *candidate, const struct primary *p,
			 uint64_t wait_ms, const char *sent)
{
	char holder[SM_HOLDER_MAX + 1] = "";
	const char *old = p->holder;
	uint64_t start = clock_now_ms(), deadline = start + wait_ms;
	for (;;) {
		uint64_t now = clock_now_ms(), token = 0;
		if (now >= deadline)
			break;
		uint64_t left = deadline - now;
		if (left > c->timeout_ms)
			left = c->timeout_ms;
		holder[0] = '\0';
		if (handover_done(c, scope, candidate, left, holder,
				  sizeof(holder), &token)) {
			print_done(c, kind, candidate, old,
				   (double)(clock_now_ms() - start) / 1000.0);
			return CTL_EXIT_OK;
		}
		if (holder[0] && strcmp(holder, candidate) != 0 &&
		    token != p->token)
			return handover_failed(c, scope, kind, candidate,
					       holder, token);
		usleep(POLL_MS * 1000);
	}
	fprintf(stderr,
		CTL_PROG ": %s to %s not done within %.1f s: the "
			 "primary is %s\n",
		kind, candidate, (double)wait_ms / 1000.0,
		holder[0] ? holder : "nobody (the lease is free)");
	print_candidate_state(c, scope, candidate);
	withdraw_request(c, scope, sent);
	fprintf(stderr,
		"Hint: see '" CTL_PROG " cluster list --scope %s' "
		"and %s's agent log; a candidate that lags or is not a "
		"synchronous standby is promoted only with 'failover --force'."
		"\n",
		scope, candidate);
	return CTL_EXIT_ERROR;
}

/* No --candidate for a switchover: the best replica (a synchronous one
 * when there is a sync list), into buf. */
static int pick_candidate(struct ctl *c, const char *scope, char *buf,
			  size_t cap)
{
	char key[SM_KEY_MAX + 1], sync[SYNC_LIST_MAX];
	struct member *m;
	size_t n;
	bool found;
	key_of(key, sizeof(key), scope, "sync");
	int code = read_key(c, key, sync, sizeof(sync), &found);
	if (code || (code = read_members(c, scope, &m, &n)))
		return code;
	const struct member *best = roster_best_candidate(m, n, sync);
	if (best)
		snprintf(buf, cap, "%s", best->name);
	else
		fprintf(stderr,
			CTL_PROG
			": no replica of cluster '%s' may take "
			"over (none is healthy%s)\nHint: see '" CTL_PROG
			" cluster list --scope %s'.\n",
			scope, sync[0] ? " and a synchronous standby" : "",
			scope);
	free(m);
	return best ? 0 : CTL_EXIT_ERROR;
}

/* failover --force: say what the candidate lacks of the last position
 * the primary published (S/optime), before anything is asked. */
static int warn_forced(struct ctl *c, const char *scope, const char *name)
{
	char key[SM_KEY_MAX + 1], value[1024], err[160];
	struct member *m;
	size_t n;
	bool found;
	struct optime o = { 0 };
	key_of(key, sizeof(key), scope, "optime");
	int code = read_key(c, key, value, sizeof(value), &found);
	if (code || (code = read_members(c, scope, &m, &n)))
		return code;
	if (found)
		optime_decode(value, strlen(value), &o, err, sizeof(err));
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m[i].name, name) != 0)
			continue;
		uint64_t behind = o.lsn > m[i].received_lsn
					  ? o.lsn - m[i].received_lsn
					  : 0;
		fprintf(stderr,
			CTL_PROG
			": warning: forcing %s: it is %llu "
			"bytes behind the last position %s published; commits "
			"beyond its position are lost, and it is promoted even "
			"if it is not a synchronous standby\n",
			name, (unsigned long long)behind,
			o.name[0] ? o.name : "the primary");
	}
	free(m);
	return 0;
}

static int handover(struct ctl *c, const char *kind, bool asked)
{
	const char *scope, *candidate = ctl_opt(c, "candidate");
	char picked[MEMBER_STR_MAX], sent[1024] = "";
	uint64_t wait_ms;
	struct primary p;
	bool switchover = strcmp(kind, "switchover") == 0;
	bool force = ctl_opt(c, "force") != NULL;
	/* No question: --yes, or --force of a switchover (as patronictl);
	 * a failover's --force means "promote it although it lags", too
	 * much to also mean "do not ask". */
	bool skip = asked || ctl_opt(c, "yes") || (switchover && force);
	uint64_t at_ms = 0;
	char err[300];
	const char *when = ctl_opt(c, "scheduled");
	if (when && wall_time_parse(when, false, &at_ms, err, sizeof(err)))
		return ctl_usage_error(c, "--scheduled %s", err);
	if (when && at_ms <= clock_wall_ms())
		return ctl_usage_error(c, "--scheduled %s is in the past",
				       when);
	if (scope_of(c, &scope) ||
	    ctl_opt_duration(c, "wait", false, 30000, 1000, &wait_ms))
		return CTL_EXIT_ERROR;
	if (wait_ms == 0)
		return ctl_usage_error(c, "--wait must be more than 0");
	if (!switchover && !candidate)
		return ctl_usage_error(c, "failover needs --candidate NODE");
	int code = read_primary(c, scope, &p);
	if (code)
		return code;
	if (switchover && !p.holder[0]) {
		fprintf(stderr,
			CTL_PROG
			": cluster '%s' has no primary (%s/"
			"primary is free), so there is nothing to switch over "
			"from\nHint: use '" CTL_PROG " cluster failover "
			"--candidate NODE'.\n",
			scope, scope);
		return CTL_EXIT_ERROR;
	}
	if (!switchover && p.holder[0]) {
		/* as patronictl: a healthy primary hands over in order */
		fprintf(stderr,
			CTL_PROG ": cluster '%s' has a primary (%s): "
				 "failing over to %s is done as a switchover\n",
			scope, p.holder, candidate);
		kind = "switchover";
		switchover = true;
		force = false;
	}
	if (!candidate) {
		if ((code = pick_candidate(c, scope, picked, sizeof(picked))))
			return code;
		candidate = picked;
	}
	code = check_candidate(c, scope, candidate, &p);
	if (!code && force)
		code = warn_forced(c, scope, candidate);
	if (code)
		return code;
	char what[1024], at_text[40];
	if (p.holder[0])
		snprintf(what, sizeof(what),
			 "%s of cluster '%s' %s%s: %s is stopped and releases "
			 "the lease, %s is promoted, %s follows it; clients "
			 "of the primary see errors for a few seconds.  Go "
			 "ahead?",
			 kind, scope, when ? "at " : "now",
			 when ? wall_time_local(at_ms, at_text, sizeof(at_text))
			      : "",
			 p.holder, candidate, p.holder);
	else
		snprintf(what, sizeof(what),
			 "failover of cluster '%s' to %s (no primary holds "
			 "the lease)%s.  Go ahead?",
			 scope, candidate,
			 force ? ", forced: commits beyond its position are "
				 "lost"
			       : "");
	if ((code = ctl_confirm(c, what, skip,
				switchover ? "--force (or --yes)" : "--yes")))
		return code;
	code = request_handover(c, scope, kind, p.holder, candidate, force,
				at_ms, sent);
	if (code)
		return code;
	if (at_ms) {
		printf("%s to %s scheduled at %s (cancel it with '" CTL_PROG
		       " cluster flush switchover --scope %s')\n",
		       kind, candidate,
		       wall_time_local(at_ms, at_text, sizeof(at_text)), scope);
		return CTL_EXIT_OK;
	}
	return wait_handover(c, scope, kind, candidate, &p, wait_ms, sent);
}

int ctl_cmd_pg_switchover(struct ctl *c)
{
	return handover(c, "switchover", false);
}

int ctl_pg_switchover_asked(struct ctl *c)
{
	return handover(c, "switchover", true);
}

int ctl_cmd_pg_failover(struct ctl *c)
{
	return handover(c, "failover", false);
}

/* Below the table: a restart or a switchover asked for and not done yet
 * (scheduled ones with their time). */
static int print_requests(struct ctl *c, const char *scope)
{
	char key[SM_KEY_MAX + 1], value[2048], when[40], err[160];
	bool found;
	struct restart_request r;
	key_of(key, sizeof(key), scope, "restart");
	if (read_key(c, key, value, sizeof(value), &found))
		return CTL_EXIT_ERROR;
	if (found &&
	    restart_request_decode(value, strlen(value), &r, err, sizeof(err)))
		printf("Restart %s: %s%s%s%s\n",
		       r.at_ms ? "scheduled at" : "in progress, asked at",
		       wall_time_local(r.at_ms ? r.at_ms : r.id, when,
				       sizeof(when)),
		       r.nodes[0] ? " nodes " : "", r.nodes,
		       r.pending   ? " (pending restart only)"
		       : r.role[0] ? (strcmp(r.role, "primary") == 0
					      ? " (primary only)"
					      : " (replicas only)")
				   : "");
	key_of(key, sizeof(key), scope, "switchover");
	if (read_key(c, key, value, sizeof(value), &found))
		return CTL_EXIT_ERROR;
	uint64_t requested_ms, at_ms;
	if (found &&
	    scope_request_times(value, strlen(value), &requested_ms, &at_ms))
		printf("Switchover %s: %s\n",
		       at_ms ? "scheduled at" : "requested at",
		       wall_time_local(at_ms ? at_ms : requested_ms, when,
				       sizeof(when)));
	return CTL_EXIT_OK;
}

/* ---- shared with cluster drill (ctl_drill*.c) --------------------------- */

int ctl_pg_scope(struct ctl *c, const char **out)
{
	return scope_of(c, out);
}

int ctl_pg_read_primary(struct ctl *c, const char *scope, char *holder,
			size_t cap)
{
	struct primary p;
	int code = read_primary(c, scope, &p);
	snprintf(holder, cap, "%s", p.holder);
	return code;
}

int ctl_pg_read_members(struct ctl *c, const char *scope, struct member **out,
			size_t *n)
{
	return read_members(c, scope, out, n);
}

int ctl_pg_list_prefix(struct ctl *c, const char *prefix, struct ctl_pages *p)
{
	return list_prefix(c, prefix, p);
}

int ctl_pg_read_key(struct ctl *c, const char *key, char *buf, size_t len,
		    bool *found)
{
	return read_key(c, key, buf, len, found);
}

int ctl_pg_request_handover(struct ctl *c, const char *scope, const char *kind,
			    const char *from, const char *candidate)
{
	return request_handover(c, scope, kind, from, candidate, false, 0,
				NULL);
}

int ctl_pg_quiet_call(struct ctl *c, const struct client_request *q,
		      uint64_t timeout_ms, struct tclient_result *res)
{
	return quiet_call(c, q, timeout_ms, res);
}

int ctl_pg_primary_member(struct ctl *c, const char *scope, struct member *out,
			  bool *found)
{
	struct primary p;
	struct member *ms;
	size_t n;
	*found = false;
	int code = read_primary(c, scope, &p);
	if (!code && p.holder[0])
		code = read_members(c, scope, &ms, &n);
	if (code || !p.holder[0])
		return code;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ms[i].name, p.holder) == 0) {
			*out = ms[i];
			*found = true;
		}
	free(ms);
	return 0;
}
