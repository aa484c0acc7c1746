/*
 * api.c — see api.h.
 *
 * Routers poll these endpoints every second or two on every node, so the
 * handler reads only the view it is given: no I/O, no locks, no waiting
 * on the witnesses.  The agent decides what is true; this file only
 * renders it in the shapes HAProxy and Prometheus expect.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "fencing/api.h"
#include "fencing/flatjson.h"
#include "fencing/roster.h"

#define PATH_MAX_LEN 1024

/* What the query string asked for. */
struct query {
	bool has_lag;
	uint64_t lag;
	const char *replication_state; /* NULL: any */
};

/* ---- JSON into a response (common/json.h) ------------------------------- */

/* Records' strings are copied byte for byte, as the agents wrote them. */
static void json_start(struct json *j, struct http_response *res)
{
	json_init_buf(j, &res->body, JSON_KEEP_BYTES);
}

static void put_kstr(struct json *j, const char *key, const char *val)
{
	json_key(j, key);
	json_string(j, val);
}

static void put_kstr_or_null(struct json *j, const char *key, const char *val)
{
	json_key(j, key);
	if (val && *val)
		json_string(j, val);
	else
		json_null(j);
}

static void put_ku64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

static void put_kbool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

static void put_klsn(struct json *j, const char *key, uint64_t lsn)
{
	char buf[24];
	put_kstr(j, key, member_lsn_format(lsn, buf, sizeof(buf)));
}

static void answer_error(struct http_response *res, int status, const char *msg,
			 const char *path)
{
	struct json j;
	res->status = status;
	res->content_type = "application/json";
	buf_reset(&res->body);
	json_start(&j, res);
	json_object(&j);
	put_kstr(&j, "error", msg);
	put_kstr(&j, "path", path);
	json_end(&j);
}

/* ---- the node as the view describes it ---------------------------------- */

static const struct member *self_of(const struct api_view *v)
{
	static const struct member none; /* const: no mutable state */
	return v->self ? v->self : &none;
}

static const char *self_role(const struct api_view *v)
{
	if (v->writable_primary)
		return "primary";
	return roster_role(self_of(v), v->leader);
}

static const char *self_state(const struct api_view *v)
{
	const struct member *m = self_of(v);
	if (m->state[0])
		return m->state;
	return v->pg_running ? "running" : "stopped";
}

static bool replica_ok(const struct api_view *v, const struct query *q)
{
	const struct member *m = self_of(v);
	if (!v->pg_running || m->role != MEMBER_REPLICA || !m->healthy)
		return false;
	if (q->has_lag && m->lag_bytes > q->lag)
		return false;
	if (q->replication_state && strcmp(q->replication_state, m->state) != 0)
		return false;
	return true;
}

static void status_body(const struct api_view *v, struct http_response *res)
{
	const struct member *m = self_of(v);
	struct json j;
	json_start(&j, res);
	json_object(&j);
	put_kstr(&j, "name", m->name);
	put_kstr(&j, "scope", v->scope ? v->scope : "");
	put_kstr(&j, "role", self_role(v));
	put_kstr(&j, "state", self_state(v));
	put_kbool(&j, "pg_running", v->pg_running);
	put_kbool(&j, "writable", v->writable_primary);
	put_ku64(&j, "timeline", m->timeline);
	put_ku64(&j, "lag_bytes", m->lag_bytes);
	put_klsn(&j, "received_lsn", m->received_lsn);
	put_klsn(&j, "replayed_lsn", m->replayed_lsn);
	put_ku64(&j, "lease_valid_ms", v->lease_valid_ms);
	put_ku64(&j, "lease_token", v->lease_token);
	put_kstr_or_null(&j, "leader", v->leader);
	put_kbool(&j, "paused", v->paused);
	if (v->problem)
		put_kstr(&j, "problem", v->problem);
	if (v->insecure && v->insecure[0])
		put_kstr(&j, "insecure", v->insecure);
	json_end(&j);
}

/* ---- health endpoints --------------------------------------------------- */

enum check {
	CHECK_PRIMARY,
	CHECK_REPLICA,
	CHECK_READ_ONLY,
	CHECK_HEALTH,
	CHECK_LIVENESS,
	CHECK_READINESS,
};

static bool check_passes(const struct api_view *v, enum check c,
			 const struct query *q)
{
	struct query streaming = *q;
	switch (c) {
	case CHECK_PRIMARY:
		return v->writable_primary;
	case CHECK_REPLICA: /* noloadbalance: no read traffic here */
		return !self_of(v)->noloadbalance && replica_ok(v, q);
	case CHECK_READ_ONLY:
		return v->writable_primary ||
		       (!self_of(v)->noloadbalance && replica_ok(v, q));
	case CHECK_HEALTH:
		return v->pg_running;
	case CHECK_LIVENESS:
		return v->agent_ready;
	case CHECK_READINESS:
		streaming.replication_state = "streaming";
		return v->writable_primary || replica_ok(v, &streaming);
	}
	return false;
}

static void health(const struct api_view *v, enum check c,
		   const struct query *q, struct http_response *res)
{
	res->status = check_passes(v, c, q) ? 200 : 503;
	status_body(v, res);
}

/* ---- /cluster ----------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
	const struct member *x = *(const struct member *const *)a;
	const struct member *y = *(const struct member *const *)b;
	return strcmp(x->name, y->name);
}

static void cluster_member(const struct api_view *v, const struct member *m,
			   struct json *j)
{
	char host[MEMBER_STR_MAX];
	unsigned port;
	roster_split_addr(m->pg, host, sizeof(host), &port);
	json_object(j);
	put_kstr(j, "name", m->name);
	put_kstr(j, "role", roster_role(m, v->leader));
	put_kstr(j, "state", m->state);
	put_kstr(j, "api", m->api);
	if (m->api[0]) {
		char url[MEMBER_STR_MAX + 32];
		snprintf(url, sizeof(url), "http://%s/patroni", m->api);
		put_kstr(j, "api_url", url);
	}
	put_kstr(j, "host", host);
	put_ku64(j, "port", port);
	put_ku64(j, "timeline", m->timeline);
	put_ku64(j, "lag", m->lag_bytes);
	put_klsn(j, "received_lsn", m->received_lsn);
	put_klsn(j, "replayed_lsn", m->replayed_lsn);
	put_kbool(j, "healthy", m->healthy);
	put_kbool(j, "sync", roster_is_sync(m, v->leader, v->sync_standbys));
	put_kbool(j, "nofailover", m->nofailover);
	if (m->waiting[0])
		put_kstr(j, "waiting", m->waiting);
	json_key(j, "priority");
	json_i64(j, m->priority);
	if (v->leader && strcmp(m->name, v->leader) == 0)
		put_ku64(j, "lease_token", m->lease_token);
	json_end(j);
}

/* The members with self's live record in place of its stored one. */
static const struct member **cluster_list(const struct api_view *v, size_t *n)
{
	const struct member *self = self_of(v);
	const struct member **list = calloc(v->n_members + 1, sizeof(*list));
	*n = 0;
	if (!list)
		return NULL;
	if (self->name[0])
		list[(*n)++] = self;
	for (size_t i = 0; i < v->n_members; i++)
		if (strcmp(v->members[i].name, self->name) != 0)
			list[(*n)++] = &v->members[i];
	qsort(list, *n, sizeof(*list), by_name);
	return list;
}

static void cluster(const struct api_view *v, struct http_response *res)
{
	size_t n;
	const struct member **list = cluster_list(v, &n);
	if (!list) {
		answer_error(res, 503, "out of memory", "/cluster");
		return;
	}
	res->status = 200;
	struct json j;
	json_start(&j, res);
	json_object(&j);
	put_kstr(&j, "scope", v->scope ? v->scope : "");
	put_kstr_or_null(&j, "leader", v->leader);
	put_kbool(&j, "paused", v->paused);
	json_key(&j, "members");
	json_list(&j);
	for (size_t i = 0; i < n; i++)
		cluster_member(v, list[i], &j);
	json_end(&j);
	json_end(&j);
	free(list);
}

/* ---- /history ----------------------------------------------------------- */

static void history(const struct api_view *v, struct http_response *res)
{
	char err[128];
	struct json j;
	res->status = 200;
	json_start(&j, res);
	json_list(&j);
	for (size_t i = 0; i < v->n_history; i++) {
		const char *h = v->history[i];
		/* one corrupt entry must not make the whole document invalid */
		if (!h ||
		    !flatjson_parse(h, strlen(h), NULL, NULL, err, sizeof(err)))
			continue;
		json_raw(&j, h, strlen(h));
	}
	json_end(&j);
}

/* ---- /metrics ----------------------------------------------------------- */

static void metric_head(struct http_response *res, const char *name,
			const char *type, const char *help)
{
	http_printf(res, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
		    type);
}

static void gauge(struct http_response *res, const char *name, const char *help,
		  uint64_t v)
{
	metric_head(res, name, "gauge", help);
	http_printf(res, "%s %" PRIu64 "\n", name, v);
}

static void counter(struct http_response *res, const char *name,
		    const char *help, uint64_t v)
{
	metric_head(res, name, "counter", help);
	http_printf(res, "%s %" PRIu64 "\n", name, v);
}

static void metrics_role(const struct api_view *v, struct http_response *res)
{
	static const char *const roles[] = { "primary", "demoting", "replica",
					     "stopped", "unknown" };
	const char *now = self_role(v);
	metric_head(res, "tenure_agent_role", "gauge",
		    "This node's role (1 for the current one): primary only "
		    "while it holds the lease.");
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		http_printf(res, "tenure_agent_role{role=\"%s\"} %d\n",
			    roles[i], strcmp(roles[i], now) == 0);
}

static void metrics(const struct api_view *v, struct http_response *res)
{
	const struct member *m = self_of(v);
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_role(v, res);
	metric_head(res, "tenure_agent_failover_blocked", "gauge",
		    "1 while no node holds the primary lease and this one does "
		    "not take it; reason says why.");
	if (m->waiting[0]) {
		char label[MEMBER_STR_MAX];
		size_t k = 0;
		for (const char *p = m->waiting; *p; p++)
			if (*p != '"' && *p != '\\' && *p != '\n')
				label[k++] = *p; /* a label value, unescaped */
		label[k] = '\0';
		http_printf(res,
			    "tenure_agent_failover_blocked{reason=\"%s\"} 1\n",
			    label);
	} else {
		http_printf(res, "tenure_agent_failover_blocked 0\n");
	}
	metric_head(res, "tenure_agent_lease_valid_seconds", "gauge",
		    "Validity left of this agent's primary lease (0 when "
		    "not the holder).");
	http_printf(res, "tenure_agent_lease_valid_seconds %.3f\n",
		    (double)v->lease_valid_ms / 1000.0);
	metric_head(res, "tenure_agent_lease_ttl_seconds", "gauge",
		    "TTL of the primary lease.");
	http_printf(res, "tenure_agent_lease_ttl_seconds %.3f\n",
		    (double)v->ttl_ms / 1000.0);
	gauge(res, "tenure_agent_lease_token",
	      "Fencing token of the lease this agent holds (0: none).",
	      v->lease_token);
	gauge(res, "tenure_agent_writable_primary",
	      "1 while Postgres runs as primary and the lease is valid.",
	      v->writable_primary);
	gauge(res, "tenure_agent_replication_lag_bytes",
	      "Bytes this node's Postgres is behind the primary.",
	      m->lag_bytes);
	gauge(res, "tenure_agent_timeline", "Postgres timeline.", m->timeline);
	gauge(res, "tenure_agent_pg_running", "1 while Postgres runs.",
	      v->pg_running);
	gauge(res, "tenure_agent_paused", "1 in maintenance mode.", v->paused);
	gauge(res, "tenure_agent_ready", "1 while the agent loop is alive.",
	      v->agent_ready);
	counter(res, "tenure_agent_failovers_total",
		"Failovers this agent took part in.", v->failovers);
	counter(res, "tenure_agent_switchovers_total",
		"Switchovers this agent took part in.", v->switchovers);
	counter(res, "tenure_agent_promotions_total",
		"Promotions of this node's Postgres.", v->promotions);
	counter(res, "tenure_agent_demotions_total",
		"Demotions of this node's Postgres.", v->demotions);
	counter(res, "tenure_agent_fence_actions_total",
		"Fencing actions taken (demote, stop, STONITH).",
		v->fence_actions);
	counter(res, "tenure_agent_renew_failures_total",
		"Lease renewals that failed or came too late.",
		v->renew_failures);
}

/* ---- /patroni ----------------------------------------------------------- */

static void patroni(const struct api_view *v, struct http_response *res)
{
	const struct member *m = self_of(v);
	bool primary = strcmp(self_role(v), "primary") == 0;
	res->status = v->pg_running ? 200 : 503;
	struct json j;
	json_start(&j, res);
	json_object(&j);
	put_kstr(&j, "state", v->pg_running ? "running" : "stopped");
	put_kstr(&j, "role", primary ? "primary" : roster_role(m, v->leader));
	put_ku64(&j, "timeline", m->timeline);
	json_key(&j, "xlog");
	json_object(&j);
	if (primary) {
		put_ku64(&j, "location", m->received_lsn);
	} else {
		put_ku64(&j, "received_location", m->received_lsn);
		put_ku64(&j, "replayed_location", m->replayed_lsn);
		put_kbool(&j, "paused", false);
	}
	json_end(&j);
	if (m->role == MEMBER_REPLICA)
		put_kstr(&j, "replication_state", m->state);
	put_kbool(&j, "cluster_unlocked", !v->leader || !v->leader[0]);
	if (v->paused)
		put_kbool(&j, "pause", true);
	json_key(&j, "patroni");
	json_object(&j);
	put_kstr(&j, "scope", v->scope ? v->scope : "");
	put_kstr(&j, "name", m->name);
	json_end(&j);
	json_end(&j);
}

/* ---- query string ------------------------------------------------------- */

bool api_parse_lag(const char *text, uint64_t *out)
{
	static const struct {
		const char *name;
		unsigned shift;
	} units[] = { { "", 0 },    { "b", 0 },   { "kb", 10 },
		      { "mb", 20 }, { "gb", 30 }, { "tb", 40 } };
	const char *p = text;
	uint64_t v = 0;
	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].name) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return false;
		*out = v << units[i].shift;
		return true;
	}
	return false;
}

/* q is a writable copy of what follows '?'; false with a reason. */
static bool parse_query(char *q, struct query *out, char *why, size_t len)
{
	char *save = NULL;
	memset(out, 0, sizeof(*out));
	for (char *kv = strtok_r(q, "&", &save); kv;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		const char *val = eq ? eq + 1 : "";
		if (eq)
			*eq = '\0';
		if (strcmp(kv, "lag") == 0) {
			out->has_lag = true;
			if (!api_parse_lag(val, &out->lag)) {
				snprintf(why, len,
					 "lag wants a byte count "
					 "like 1048576, 16kB or 1MB, not "
					 "'%.64s'",
					 val);
				return false;
			}
		} else if (strcmp(kv, "replication_state") == 0) {
			out->replication_state = val;
		}
	}
	return true;
}

/* ---- routing ------------------------------------------------------------ */

enum route {
	R_PRIMARY = CHECK_PRIMARY,
	R_REPLICA = CHECK_REPLICA,
	R_READ_ONLY = CHECK_READ_ONLY,
	R_HEALTH = CHECK_HEALTH,
	R_LIVENESS = CHECK_LIVENESS,
	R_READINESS = CHECK_READINESS,
	R_CLUSTER,
	R_HISTORY,
	R_METRICS,
	R_PATRONI,
};

static const struct {
	const char *path;
	enum route route;
} routes[] = {
	{ "/", R_PRIMARY },
	{ "/primary", R_PRIMARY },
	{ "/master", R_PRIMARY },
	{ "/leader", R_PRIMARY },
	{ "/read-write", R_PRIMARY },
	{ "/replica", R_REPLICA },
	{ "/read-only", R_READ_ONLY },
	{ "/health", R_HEALTH },
	{ "/liveness", R_LIVENESS },
	{ "/readiness", R_READINESS },
	{ "/cluster", R_CLUSTER },
	{ "/history", R_HISTORY },
	{ "/metrics", R_METRICS },
	{ "/patroni", R_PATRONI },
};

static bool find_route(const char *path, enum route *out)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, path) == 0) {
			*out = routes[i].route;
			return true;
		}
	return false;
}

static void dispatch(const struct api_view *v, enum route r,
		     const struct query *q, struct http_response *res)
{
	switch (r) {
	case R_CLUSTER:
		cluster(v, res);
		return;
	case R_HISTORY:
		history(v, res);
		return;
	case R_METRICS:
		metrics(v, res);
		return;
	case R_PATRONI:
		patroni(v, res);
		return;
	default:
		health(v, (enum check)r, q, res);
	}
}

void api_handle(const struct api_view *v, const char *method,
		const char *path_with_query, struct http_response *res)
{
	char path[PATH_MAX_LEN], why[160];
	struct query q;
	enum route r;
	res->content_type = "application/json";
	if (strcmp(method, "GET") && strcmp(method, "HEAD") &&
	    strcmp(method, "OPTIONS")) {
		answer_error(res, 405, "only GET, HEAD and OPTIONS", "");
		return;
	}
	if (strlen(path_with_query) >= sizeof(path)) {
		answer_error(res, 400, "request path too long", "");
		return;
	}
	strcpy(path, path_with_query);
	char *qs = strchr(path, '?');
	if (qs)
		*qs++ = '\0';
	if (!find_route(path, &r)) {
		answer_error(res, 404, "no such endpoint", path);
		return;
	}
	if (qs && !parse_query(qs, &q, why, sizeof(why))) {
		answer_error(res, 400, why, path);
		return;
	}
	if (!qs)
		memset(&q, 0, sizeof(q));
	dispatch(v, r, &q, res);
}

/* ---- the server --------------------------------------------------------- */

struct api_server {
	struct http_server *http;
	api_fill_fn fill;
	void *arg;
	void (*on_closed)(void *arg);
	void *closed_arg;
};

static void on_request(void *arg, const char *method, const char *path,
		       struct http_response *res)
{
	struct api_server *s = arg;
	struct api_view v;
	memset(&v, 0, sizeof(v));
	s->fill(s->arg, &v);
	api_handle(&v, method, path, res);
}

int api_start(uv_loop_t *loop, const char *listen, struct tls_context *tls,
	      unsigned max_connections, api_fill_fn fill, void *arg,
	      struct api_server **out, char *err, size_t errlen)
{
	struct http_options ho = {
		.listen_addr = listen,
		.tls = tls,
		.max_connections = max_connections,
	};
	struct api_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return UV_ENOMEM;
	}
	s->fill = fill;
	s->arg = arg;
	int rv = http_start(loop, &ho, on_request, s, &s->http, err, errlen);
	if (rv) {
		free(s);
		return rv;
	}
	*out = s;
	return 0;
}

static void on_http_closed(void *arg)
{
	struct api_server *s = arg;
	void (*cb)(void *) = s->on_closed;
	void *cb_arg = s->closed_arg;
	free(s);
	if (cb)
		cb(cb_arg);
}

void api_close(struct api_server *s, void (*on_closed)(void *arg), void *arg)
{
	s->on_closed = on_closed;
	s->closed_arg = arg;
	http_close(s->http, on_http_closed, s);
}
