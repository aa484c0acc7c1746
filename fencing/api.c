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
#include "fencing/api_int.h"
#include "fencing/flatjson.h"
#include "fencing/roster.h"

#define PATH_MAX_LEN 1024

/* What the query string asked for. */
struct query {
	bool has_lag;
	uint64_t lag;
	const char *replication_state; /* NULL: any */
	bool tenure_shape;             /* format=tenure */
};

/* ---- JSON into a response (common/json.h) ------------------------------- */

/* Records' strings are copied byte for byte, as the agents wrote them. */
void api_json_start(struct json *j, struct http_response *res)
{
	json_init_buf(j, &res->body, JSON_KEEP_BYTES);
}

void api_put_kstr(struct json *j, const char *key, const char *val)
{
	json_key(j, key);
	json_string(j, val);
}

void api_put_kstr_or_null(struct json *j, const char *key, const char *val)
{
	json_key(j, key);
	if (val && *val)
		json_string(j, val);
	else
		json_null(j);
}

void api_put_ku64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void api_put_kbool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void api_put_klsn(struct json *j, const char *key, uint64_t lsn)
{
	char buf[24];
	api_put_kstr(j, key, member_lsn_format(lsn, buf, sizeof(buf)));
}

void api_answer_error(struct http_response *res, int status, const char *msg,
		      const char *path)
{
	struct json j;
	res->status = status;
	res->content_type = "application/json";
	buf_reset(&res->body);
	api_json_start(&j, res);
	json_object(&j);
	api_put_kstr(&j, "error", msg);
	api_put_kstr(&j, "path", path);
	json_end(&j);
}

/* ---- the node as the view describes it ---------------------------------- */

const struct member *api_self(const struct api_view *v)
{
	static const struct member none; /* const: no mutable state */
	return v->self ? v->self : &none;
}

bool api_standby_leader(const struct api_view *v, const struct member *m)
{
	return v->standby_cluster && v->leader && v->leader[0] &&
	       strcmp(m->name, v->leader) == 0 && m->role == MEMBER_REPLICA;
}

static const char *self_role(const struct api_view *v)
{
	if (v->writable_primary)
		return "primary";
	if (api_standby_leader(v, api_self(v)))
		return "standby_leader";
	return roster_role(api_self(v), v->leader);
}

static const char *self_state(const struct api_view *v)
{
	const struct member *m = api_self(v);
	if (m->state[0])
		return m->state;
	return v->pg_running ? "running" : "stopped";
}

static bool replica_ok(const struct api_view *v, const struct query *q)
{
	const struct member *m = api_self(v);
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
	const struct member *m = api_self(v);
	struct json j;
	api_json_start(&j, res);
	json_object(&j);
	api_put_kstr(&j, "name", m->name);
	api_put_kstr(&j, "scope", v->scope ? v->scope : "");
	api_put_kstr(&j, "role", self_role(v));
	api_put_kstr(&j, "state", self_state(v));
	api_put_kbool(&j, "pg_running", v->pg_running);
	api_put_kbool(&j, "writable", v->writable_primary);
	api_put_ku64(&j, "timeline", m->timeline);
	api_put_ku64(&j, "lag_bytes", m->lag_bytes);
	api_put_klsn(&j, "received_lsn", m->received_lsn);
	api_put_klsn(&j, "replayed_lsn", m->replayed_lsn);
	api_put_ku64(&j, "lease_valid_ms", v->lease_valid_ms);
	api_put_ku64(&j, "lease_token", v->lease_token);
	api_put_kstr_or_null(&j, "leader", v->leader);
	api_put_kbool(&j, "paused", v->paused);
	if (v->problem)
		api_put_kstr(&j, "problem", v->problem);
	if (v->insecure && v->insecure[0])
		api_put_kstr(&j, "insecure", v->insecure);
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
	CHECK_SYNC,
	CHECK_ASYNC,
	CHECK_READ_ONLY_SYNC,
	CHECK_STANDBY_LEADER,
};

/* A running replica the primary waits for (S/sync names it). */
static bool sync_standby(const struct api_view *v, const struct query *q)
{
	return replica_ok(v, q) &&
	       roster_is_sync(api_self(v), v->leader, v->sync_standbys);
}

static bool check_passes(const struct api_view *v, enum check c,
			 const struct query *q)
{
	struct query streaming = *q;
	switch (c) {
	case CHECK_PRIMARY:
		return v->writable_primary;
	case CHECK_REPLICA: /* noloadbalance: no read traffic here */
		return !api_self(v)->noloadbalance && replica_ok(v, q);
	case CHECK_READ_ONLY:
		return v->writable_primary ||
		       (!api_self(v)->noloadbalance && replica_ok(v, q));
	case CHECK_HEALTH:
		return v->pg_running;
	case CHECK_LIVENESS:
		return v->agent_ready;
	case CHECK_READINESS:
		streaming.replication_state = "streaming";
		return v->writable_primary || replica_ok(v, &streaming);
	case CHECK_SYNC:
		return sync_standby(v, q);
	case CHECK_ASYNC:
		return replica_ok(v, q) && !sync_standby(v, q);
	case CHECK_READ_ONLY_SYNC:
		return v->writable_primary || sync_standby(v, q);
	case CHECK_STANDBY_LEADER:
		return v->pg_running && api_standby_leader(v, api_self(v));
	}
	return false;
}

static void health(const struct api_view *v, enum check c,
		   const struct query *q, struct http_response *res)
{
	res->status = check_passes(v, c, q) ? 200 : 503;
	status_body(v, res);
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
	static const char *const roles[] = { "primary", "demoting",
					     "replica", "stopped",
					     "unknown", "standby_leader" };
	const char *now = self_role(v);
	metric_head(res, "tenure_agent_role", "gauge",
		    "This node's role (1 for the current one): primary only "
		    "while it holds the lease.");
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		http_printf(res, "tenure_agent_role{role=\"%s\"} %d\n",
			    roles[i], strcmp(roles[i], now) == 0);
}

/* Slot names are [a-z0-9_]: label values that need no escaping. */
static void metrics_slots(const struct api_view *v, struct http_response *res)
{
	metric_head(res, "tenure_agent_replication_slot_retained_bytes",
		    "gauge",
		    "WAL a replication slot on this node holds back (bytes "
		    "behind the current position).");
	for (size_t i = 0; i < v->n_slots; i++)
		http_printf(res,
			    "tenure_agent_replication_slot_retained_bytes{"
			    "slot=\"%s\",type=\"%s\"} %" PRIu64 "\n",
			    v->slots[i].name,
			    v->slots[i].kind == SLOT_LOGICAL ? "logical"
							     : "physical",
			    v->slots[i].retained_bytes);
	metric_head(res, "tenure_agent_replication_slot_active", "gauge",
		    "1 while a replication slot on this node is in use.");
	for (size_t i = 0; i < v->n_slots; i++)
		http_printf(res,
			    "tenure_agent_replication_slot_active{slot=\"%s\"} "
			    "%d\n",
			    v->slots[i].name, v->slots[i].active);
}

/* pg_stat_archiver's counts (agent_archive.c); 0 while archiving is off. */
static void metrics_archive(const struct member *m, struct http_response *res)
{
	counter(res, "tenure_agent_archive_archived_total",
		"WAL files this node's Postgres archived (pg_stat_archiver, "
		"since its statistics were reset).",
		m ? m->archived : 0);
	counter(res, "tenure_agent_archive_failed_total",
		"Failed archive_command attempts on this node's Postgres "
		"(pg_stat_archiver).",
		m ? m->archive_failed : 0);
	/* WAL, history and backup file names are [0-9A-Za-z.]: label
	 * values that need no escaping (anything else is not shown) */
	const char *wal = m ? m->archive_last_wal : "";
	metric_head(res, "tenure_agent_archive_last_wal_info", "gauge",
		    "1, labelled with the last WAL file this node's Postgres "
		    "archived (pg_stat_archiver); absent before the first.");
	if (wal[0] && strspn(wal, "0123456789.ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz") == strlen(wal))
		http_printf(res,
			    "tenure_agent_archive_last_wal_info{wal=\"%s\"} "
			    "1\n",
			    wal);
}

static void metrics(const struct api_view *v, struct http_response *res)
{
	const struct member *m = api_self(v);
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
	metrics_slots(v, res);
	metrics_archive(m, res);
}

/* ---- /patroni ----------------------------------------------------------- */

static void patroni(const struct api_view *v, struct http_response *res)
{
	const struct member *m = api_self(v);
	bool primary = strcmp(self_role(v), "primary") == 0;
	res->status = v->pg_running ? 200 : 503;
	struct json j;
	api_json_start(&j, res);
	json_object(&j);
	api_put_kstr(&j, "state", v->pg_running ? "running" : "stopped");
	api_put_kstr(&j, "role", self_role(v));
	api_put_ku64(&j, "timeline", m->timeline);
	json_key(&j, "xlog");
	json_object(&j);
	if (primary) {
		api_put_ku64(&j, "location", m->received_lsn);
	} else {
		api_put_ku64(&j, "received_location", m->received_lsn);
		api_put_ku64(&j, "replayed_location", m->replayed_lsn);
		api_put_kbool(&j, "paused", false);
	}
	json_end(&j);
	if (m->role == MEMBER_REPLICA)
		api_put_kstr(&j, "replication_state", m->state);
	api_put_kbool(&j, "cluster_unlocked", !v->leader || !v->leader[0]);
	if (v->paused)
		api_put_kbool(&j, "pause", true);
	if (m->pending_restart) /* Patroni: present only when true */
		api_put_kbool(&j, "pending_restart", true);
	json_key(&j, "patroni");
	json_object(&j);
	api_put_kstr(&j, "scope", v->scope ? v->scope : "");
	api_put_kstr(&j, "name", m->name);
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
		} else if (strcmp(kv, "format") == 0) {
			out->tenure_shape = strcmp(val, "tenure") == 0;
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
	R_SYNC = CHECK_SYNC,
	R_ASYNC = CHECK_ASYNC,
	R_READ_ONLY_SYNC = CHECK_READ_ONLY_SYNC,
	R_STANDBY_LEADER = CHECK_STANDBY_LEADER,
	R_CLUSTER,
	R_CONFIG,
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
	{ "/sync", R_SYNC },
	{ "/synchronous", R_SYNC },
	{ "/async", R_ASYNC },
	{ "/asynchronous", R_ASYNC },
	{ "/read-only-sync", R_READ_ONLY_SYNC },
	{ "/standby-leader", R_STANDBY_LEADER },
	{ "/config", R_CONFIG },
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
		api_cluster(v, res);
		return;
	case R_HISTORY:
		api_history(v, q->tenure_shape, res);
		return;
	case R_CONFIG:
		api_config(v, res);
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
		api_answer_error(res, 405, "only GET, HEAD and OPTIONS", "");
		return;
	}
	if (strlen(path_with_query) >= sizeof(path)) {
		api_answer_error(res, 400, "request path too long", "");
		return;
	}
	strcpy(path, path_with_query);
	char *qs = strchr(path, '?');
	if (qs)
		*qs++ = '\0';
	if (!find_route(path, &r)) {
		api_answer_error(res, 404, "no such endpoint", path);
		return;
	}
	if (qs && !parse_query(qs, &q, why, sizeof(why))) {
		api_answer_error(res, 400, why, path);
		return;
	}
	if (!qs)
		memset(&q, 0, sizeof(q));
	dispatch(v, r, &q, res);
}

/* ---- the server ------------------------------------------------------- */

static bool is_read(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD") ||
	       !strcmp(method, "OPTIONS");
}

static void on_request(void *arg, const struct http_request *r,
		       struct http_response *res)
{
	struct api_server *s = arg;
	struct api_view v;
	if (!is_read(r->method)) {
		api_write(s, r, res);
		return;
	}
	memset(&v, 0, sizeof(v));
	s->fill(s->arg, &v);
	api_handle(&v, r->method, r->path, res);
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
	int rv = http_start_full(loop, &ho, on_request, s, &s->http, err,
				 errlen);
	if (rv) {
		free(s);
		return rv;
	}
	uv_timer_init(loop, &s->poll);
	s->poll.data = s;
	*out = s;
	return 0;
}

void api_set_writes(struct api_server *s, const struct api_writes *w)
{
	s->writes = *w;
	s->writes_set = true;
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

static void writes_closed(struct api_server *s)
{
	http_close(s->http, on_http_closed, s);
}

void api_close(struct api_server *s, void (*on_closed)(void *arg), void *arg)
{
	s->on_closed = on_closed;
	s->closed_arg = arg;
	api_write_close(s, writes_closed);
}
