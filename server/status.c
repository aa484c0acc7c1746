/*
 * status.c — see status.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "server/health.h"
#include "server/status.h"
#include "server/transport.h"

struct status_ctx {
	struct node *node;
	struct service *svc;
	const char *name;
	const char *insecure;    /* "" or what --insecure let through */
	struct clients *clients; /* NULL until status_set_clients */
};

void *status_context(struct node *n, struct service *s, const char *name)
{
	struct status_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->node = n;
	c->svc = s;
	c->name = name;
	c->insecure = "";
	return c;
}

void status_set_clients(void *ctx, struct clients *clients)
{
	struct status_ctx *c = ctx;
	c->clients = clients;
}

void status_set_insecure(void *ctx, const char *what)
{
	((struct status_ctx *)ctx)->insecure = what ? what : "";
}

static void leader_name(struct raft *r, char *out, size_t len)
{
	const struct raft_server *sv = raft_config_get(raft_config_current(r),
						       raft_leader(r));
	out[0] = '\0';
	if (sv)
		service_member_name(sv->addr, out, len);
}

void status_line(struct node *n, const char *name, char *buf, size_t len)
{
	struct raft *r = node_raft(n);
	char leader[64];
	leader_name(r, leader, sizeof(leader));
	snprintf(buf, len, "witness %s: %s, term %llu, leader %s", name,
		 raft_state_name(raft_state(r)),
		 (unsigned long long)raft_term_current(r),
		 leader[0] ? leader : "none");
}

/* ---- /health --------------------------------------------------------------- */

static void health(struct status_ctx *c, struct http_response *res)
{
	struct raft *r = node_raft(c->node);
	raft_index commit = raft_leader_commit(r);
	raft_index applied = sm_applied_index(node_sm(c->node));
	const char *why = health_problem(c->node);
	res->status = why ? 503 : 200;
	char leader[RAFT_ADDR_MAX];
	leader_name(r, leader, sizeof(leader));
	struct json j;
	json_init_buf(&j, &res->body, JSON_KEEP_BYTES);
	json_object(&j);
	json_key(&j, "health");
	json_string(&j, why ? "unhealthy" : "healthy");
	json_key(&j, "healthy");
	json_bool(&j, why == NULL);
	json_key(&j, "reason");
	json_string(&j, why ? why : "");
	json_key(&j, "role");
	json_string(&j, raft_state_name(raft_state(r)));
	json_key(&j, "leader");
	json_string(&j, leader);
	json_key(&j, "commit");
	json_u64(&j, raft_commit_index(r));
	json_key(&j, "applied");
	json_u64(&j, applied);
	json_key(&j, "leader_commit");
	json_u64(&j, commit);
	json_key(&j, "disk_write_errors");
	json_u64(&j, node_disk_health(c->node)->errors);
	json_key(&j, "insecure");
	json_string(&j, c->insecure);
	json_end(&j);
}

/* ---- /status --------------------------------------------------------------- */

/* A member's client address as a JSON value: null while unknown (a peer
 * that has not said hello yet).  Peers send it, so anything but the
 * characters of host:port is shown as null rather than trusted into the
 * document. */
static void client_addr_json(struct json *j, const char *addr)
{
	if (!addr || !addr[0] ||
	    strspn(addr, "0123456789abcdefABCDEF.:[]%_-") != strlen(addr) ||
	    strlen(addr) > TRANSPORT_CLIENT_ADDR_MAX)
		json_null(j);
	else
		json_string(j, addr);
}

static void status(struct status_ctx *c, struct http_response *res)
{
	struct raft *r = node_raft(c->node);
	char leader[RAFT_ADDR_MAX], id[24];
	leader_name(r, leader, sizeof(leader));
	res->status = 200;
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)raft_self(r));
	struct json j;
	json_init_buf(&j, &res->body, JSON_KEEP_BYTES);
	json_object(&j);
	json_key(&j, "name");
	json_string(&j, c->name);
	json_key(&j, "id");
	json_string(&j, id);
	json_key(&j, "role");
	json_string(&j, raft_state_name(raft_state(r)));
	json_key(&j, "term");
	json_u64(&j, raft_term_current(r));
	json_key(&j, "leader");
	json_string(&j, leader);
	json_key(&j, "commit");
	json_u64(&j, raft_commit_index(r));
	json_key(&j, "applied");
	json_u64(&j, sm_applied_index(node_sm(c->node)));
	json_key(&j, "last_index");
	json_u64(&j, raft_last_index(r));
	json_key(&j, "leases");
	json_u64(&j, sm_lease_count(node_sm(c->node)));
	json_key(&j, "keys");
	json_u64(&j, sm_key_count(node_sm(c->node)));
	json_key(&j, "members");
	json_list(&j);
	const struct raft_config *conf = raft_config_current(r);
	for (unsigned i = 0; i < conf->n; i++) {
		const struct raft_server *sv = &conf->servers[i];
		char name[RAFT_ADDR_MAX];
		service_member_name(sv->addr, name, sizeof(name));
		json_object(&j);
		json_key(&j, "name");
		json_string(&j, name);
		json_key(&j, "peer");
		json_string(&j, transport_dial_addr(sv->addr));
		json_key(&j, "client");
		client_addr_json(&j, node_client_addr(c->node, sv->id));
		json_key(&j, "voter");
		json_bool(&j, sv->role == RAFT_VOTER);
		json_key(&j, "match");
		json_u64(&j, raft_peer_match(r, sv->id));
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
}

/* ---- /metrics -------------------------------------------------------------- */

static void metric(struct http_response *res, const char *name,
		   const char *type, const char *help, unsigned long long v)
{
	http_printf(res, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help,
		    name, type, name, v);
}

/* One histogram's lines; labels: "" or "type=\"GET\"". */
static void histogram_lines(struct http_response *res, const char *name,
			    const char *labels, const struct duration_hist *h,
			    uint64_t base_ns)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t cum = 0;
	for (unsigned k = 0; k < DURATION_HIST_BUCKETS; k++) {
		cum += h->buckets[k];
		if (k < DURATION_HIST_BUCKETS - 1)
			http_printf(res, "%s_bucket{%s%sle=\"%.6f\"} %llu\n",
				    name, labels, sep,
				    duration_hist_bound(base_ns, k),
				    (unsigned long long)cum);
	}
	char braced[80] = "";
	if (labels[0])
		snprintf(braced, sizeof(braced), "{%s}", labels);
	http_printf(res,
		    "%s_bucket{%s%sle=\"+Inf\"} %llu\n%s_sum%s %.6f\n"
		    "%s_count%s %llu\n",
		    name, labels, sep, (unsigned long long)h->count, name,
		    braced, (double)h->sum_ns / 1e9, name, braced,
		    (unsigned long long)h->count);
}

static void fsync_histogram(struct status_ctx *c, struct http_response *res)
{
	const char *n = "tenure_disk_sync_seconds";
	http_printf(res,
		    "# HELP %s Time of each durable write (fsync "
		    "included).\n# TYPE %s histogram\n",
		    n, n);
	histogram_lines(res, n, "", node_disk_syncs(c->node),
			NODE_SYNC_HIST_BASE_NS);
}

/* Per request type seen: from the witness taking the request up to its
 * answer (a read's ReadIndex round, a write's commit and apply). */
static void request_histograms(const struct service_stats *st,
			       struct http_response *res)
{
	const char *n = "tenure_request_duration_seconds";
	http_printf(res,
		    "# HELP %s Client requests by type, from the witness "
		    "taking one up to its answer.\n# TYPE %s histogram\n",
		    n, n);
	for (uint32_t op = CLIENT_OP_HELLO; op < CLIENT_OP_END; op++) {
		const struct duration_hist *h =
			&st->durations[op - CLIENT_OP_HELLO];
		char labels[64];
		if (!h->count)
			continue;
		snprintf(labels, sizeof(labels), "type=\"%s\"",
			 client_op_name(op));
		histogram_lines(res, n, labels, h, SERVICE_HIST_BASE_NS);
	}
}

static bool count_held(void *arg, const struct sm_lease *l)
{
	if (l->holder.len)
		(*(unsigned long long *)arg)++;
	return true;
}

/* One series per other member: link up, kernel RTT, messages dropped. */
static void peer_metrics(struct status_ctx *c, struct http_response *res)
{
	struct raft *r = node_raft(c->node);
	const struct raft_config *conf = raft_config_current(r);
	http_printf(res,
		    "# HELP tenure_peer_up 1 while the link to the peer "
		    "is connected.\n# TYPE tenure_peer_up gauge\n"
		    "# HELP tenure_peer_rtt_seconds Kernel-measured "
		    "round trip to the peer.\n# TYPE tenure_peer_rtt_seconds "
		    "gauge\n# HELP tenure_peer_dropped_messages_total Raft "
		    "messages dropped (peer down or too slow).\n"
		    "# TYPE tenure_peer_dropped_messages_total counter\n");
	for (unsigned i = 0; i < conf->n; i++) {
		const struct raft_server *sv = &conf->servers[i];
		struct transport_peer_stats st;
		if (sv->id == raft_self(r) ||
		    !node_peer_stats(c->node, sv->id, &st))
			continue;
		char name[RAFT_ADDR_MAX];
		service_member_name(sv->addr, name, sizeof(name));
		http_printf(res,
			    "tenure_peer_up{peer=\"%s\"} %d\n"
			    "tenure_peer_rtt_seconds{peer=\"%s\"} %.6f\n"
			    "tenure_peer_dropped_messages_total{peer=\"%s\"} "
			    "%llu\n",
			    name, st.connected ? 1 : 0, name,
			    (double)st.rtt_us / 1e6, name,
			    (unsigned long long)st.dropped_msgs);
	}
}

/* Prometheus label values escape backslash, quote and newline. */
static void label_value(struct http_response *res, struct sm_str v)
{
	for (size_t i = 0; i < v.len; i++) {
		char ch = v.p[i];
		if (ch == '\\' || ch == '"')
			http_printf(res, "\\%c", ch);
		else if (ch == '\n')
			http_printf(res, "\\n");
		else
			http_printf(res, "%c", ch);
	}
}

struct scope_metrics {
	struct http_response *res;
	const struct service *svc;
	const char *name; /* the metric being written */
	int which;
};

static bool scope_series(void *arg, const struct sm_scope *sc)
{
	struct scope_metrics *m = arg;
	struct scope_rate_stats st;
	uint64_t v[] = { sc->keys, sc->bytes, sc->leases, 0, 0 };
	service_scope_stats(m->svc, sc->name, &st);
	v[3] = st.requests;
	v[4] = st.refused_rate + st.refused_quota;
	http_printf(m->res, "%s{scope=\"", m->name);
	label_value(m->res, sc->name);
	http_printf(m->res, "\"} %llu\n", (unsigned long long)v[m->which]);
	return true;
}

/* One series per scope that has a key or a lease (sm.h): the label set
 * is bounded by what the state machine holds, never by what clients
 * asked for. */
static void scope_metrics(struct status_ctx *c, struct http_response *res)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
		{ "tenure_scope_keys", "gauge", "Keys in the scope." },
		{ "tenure_scope_bytes", "gauge",
		  "Bytes of the scope's keys and values." },
		{ "tenure_scope_leases", "gauge", "Leases in the scope." },
		{ "tenure_scope_requests_total", "counter",
		  "Client requests naming the scope that this witness "
		  "received." },
		{ "tenure_scope_refused_total", "counter",
		  "Requests of the scope this witness refused: over its "
		  "requests/s (busy) or over a key, byte or lease quota." },
	};
	struct scope_metrics sm = { res, c->svc, NULL, 0 };
	for (int i = 0; i < 5; i++) {
		http_printf(res, "# HELP %s %s\n# TYPE %s %s\n", m[i].name,
			    m[i].help, m[i].name, m[i].type);
		sm.name = m[i].name;
		sm.which = i;
		sm_scope_each(node_sm(c->node), scope_series, &sm);
	}
	const struct service_options *o = service_options(c->svc);
	metric(res, "tenure_scope_max_keys", "gauge",
	       "Witness setting scope_max_keys (0: unlimited).", o->quota.keys);
	metric(res, "tenure_scope_max_bytes", "gauge",
	       "Witness setting scope_max_bytes (0: unlimited).",
	       o->quota.bytes);
	metric(res, "tenure_scope_max_leases", "gauge",
	       "Witness setting scope_max_leases (0: unlimited).",
	       o->quota.leases);
	metric(res, "tenure_scope_max_requests_per_second", "gauge",
	       "Witness setting scope_max_requests_per_second (0: "
	       "unlimited).",
	       o->scope_max_requests_per_second);
}

static void metrics(struct status_ctx *c, struct http_response *res)
{
	struct raft *r = node_raft(c->node);
	struct service_stats st;
	service_stats(c->svc, &st);
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4";
	metric(res, "tenure_is_leader", "gauge",
	       "1 when this witness is the Raft leader.",
	       raft_state(r) == RAFT_LEADER);
	metric(res, "tenure_term", "gauge", "Current Raft term.",
	       raft_term_current(r));
	metric(res, "tenure_raft_ticks_deferred_total", "counter",
	       "Raft ticks this follower put off after its loop ran late "
	       "(to hear the leader before judging it silent).",
	       node_ticks_deferred(c->node));
	uint64_t late = 0, late_max = 0;
	node_late_ticks(c->node, &late, &late_max);
	metric(res, "tenure_loop_late_total", "counter",
	       "Times this witness's loop ran 100 ms or more late.", late);
	metric(res, "tenure_loop_late_max_ms", "gauge",
	       "The longest the loop ran late since start, in ms.", late_max);
	if (c->clients)
		metric(res, "tenure_client_work_deferred_total", "counter",
		       "Client sessions and connections put off to a later "
		       "turn of the loop (over the turn's budget, so the "
		       "Raft ticks keep time).",
		       clients_deferred(c->clients));
	metric(res, "tenure_commit_index", "gauge", "Raft commit index.",
	       raft_commit_index(r));
	metric(res, "tenure_applied_index", "gauge",
	       "Last entry applied to the state machine.",
	       sm_applied_index(node_sm(c->node)));
	metric(res, "tenure_leases", "gauge", "Leases in the state machine.",
	       sm_lease_count(node_sm(c->node)));
	metric(res, "tenure_keys", "gauge", "Keys in the state machine.",
	       sm_key_count(node_sm(c->node)));
	unsigned long long held = 0;
	sm_lease_each(node_sm(c->node), count_held, &held);
	metric(res, "tenure_leases_held", "gauge", "Leases that have a holder.",
	       held);
	metric(res, "tenure_lease_expiries_proposed_total", "counter",
	       "Expiries this witness proposed as leader.",
	       st.expiries_proposed);
	http_printf(res, "# HELP tenure_requests_total Client requests by "
			 "type and result.\n# TYPE tenure_requests_total "
			 "counter\n");
	for (uint32_t op = CLIENT_OP_HELLO; op < CLIENT_OP_END; op++) {
		uint64_t all = st.requests[op - CLIENT_OP_HELLO];
		uint64_t bad = st.errors[op - CLIENT_OP_HELLO];
		if (!all)
			continue;
		http_printf(res,
			    "tenure_requests_total{type=\"%s\",result=\"ok\"} "
			    "%llu\ntenure_requests_total{type=\"%s\","
			    "result=\"error\"} %llu\n",
			    client_op_name(op), (unsigned long long)(all - bad),
			    client_op_name(op), (unsigned long long)bad);
	}
	request_histograms(&st, res);
	http_printf(res,
		    "# HELP tenure_watch_events_total Events sent to "
		    "watchers, by kind.\n# TYPE tenure_watch_events_total "
		    "counter\ntenure_watch_events_total{kind=\"key\"} %llu\n"
		    "tenure_watch_events_total{kind=\"lease\"} %llu\n",
		    (unsigned long long)st.watch_events_keys,
		    (unsigned long long)st.watch_events_leases);
	metric(res, "tenure_disk_write_errors_total", "counter",
	       "Durable writes that failed (ENOSPC, EIO, ...); while the last "
	       "one of a kind failed, /health is 503.",
	       node_disk_health(c->node)->errors);
	metric(res, "tenure_disk_healthy", "gauge",
	       "1 while this witness can write its data directory.",
	       disk_health_ok(node_disk_health(c->node)));
	fsync_histogram(c, res);
	peer_metrics(c, res);
	scope_metrics(c, res);
}

void status_http_handler(void *arg, const char *method, const char *path,
			 struct http_response *res)
{
	struct status_ctx *c = arg;
	(void)method;
	if (strcmp(path, "/health") == 0)
		health(c, res);
	else if (strcmp(path, "/status") == 0)
		status(c, res);
	else if (strcmp(path, "/metrics") == 0)
		metrics(c, res);
	else {
		struct json j;
		res->status = 404;
		json_init_buf(&j, &res->body, JSON_KEEP_BYTES);
		json_object(&j);
		json_key(&j, "error");
		json_string(&j, "no such endpoint: try /health, /status or "
				"/metrics");
		json_end(&j);
	}
}
