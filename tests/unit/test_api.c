/* test_api.c — the agent's HTTP endpoints (fencing/api.c): every health
 * endpoint against every situation a node can be in, the ?lag filter,
 * the JSON and Prometheus documents, and the real server on loopback
 * (HEAD without a body, the same status for GET, HEAD and OPTIONS). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fencing/api.h"
#include "tests/unit/suites.h"

enum situation {
	P,
	PN,
	R,
	RL,
	S,
	N_SITUATIONS
};

struct fixture {
	struct member self;
	struct member others[3];
	struct api_view v;
};

static void base(struct fixture *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->self.name, sizeof(f->self.name), "%s", name);
	f->self.healthy = true;
	f->self.timeline = 3;
	snprintf(f->self.api, sizeof(f->self.api), "127.0.0.1:8008");
	snprintf(f->self.pg, sizeof(f->self.pg), "127.0.0.1:5432");
	f->v.scope = "main";
	f->v.self = &f->self;
	f->v.pg_running = true;
	f->v.agent_ready = true;
	f->v.leader = "pg1";
	f->v.ttl_ms = 10000;
	f->v.sync_standbys = "";
}

static void situation(struct fixture *f, enum situation s)
{
	base(f, s == P || s == PN ? "pg1" : "pg2");
	switch (s) {
	case P:
		f->self.role = MEMBER_PRIMARY;
		snprintf(f->self.state, sizeof(f->self.state), "running");
		f->self.received_lsn = 0x3000060;
		f->v.writable_primary = true;
		f->v.lease_valid_ms = 8000;
		f->v.lease_token = 42;
		break;
	case PN: /* Postgres still primary, the lease no longer valid */
		f->self.role = MEMBER_PRIMARY;
		snprintf(f->self.state, sizeof(f->self.state), "running");
		f->v.leader = "";
		break;
	case R:
	case RL:
		f->self.role = MEMBER_REPLICA;
		snprintf(f->self.state, sizeof(f->self.state), "streaming");
		f->self.lag_bytes = s == R ? 1000 : 100u << 20;
		break;
	case S:
		f->self.role = MEMBER_STOPPED;
		snprintf(f->self.state, sizeof(f->self.state), "stopped");
		f->self.healthy = false;
		f->v.pg_running = false;
		break;
	default:
		break;
	}
}

struct answer {
	int status;
	char body[16384];
	const char *type;
};

static void call(const struct api_view *v, const char *method, const char *path,
		 struct answer *a)
{
	struct http_response res = { .status = 404 };
	buf_init(&res.body);
	api_handle(v, method, path, &res);
	ck_assert(!res.body.failed);
	ck_assert_uint_lt(res.body.len, sizeof(a->body));
	memcpy(a->body, res.body.buf, res.body.len);
	a->body[res.body.len] = '\0';
	a->status = res.status;
	a->type = res.content_type;
	buf_free(&res.body);
}

static int status_of(const struct api_view *v, const char *path)
{
	struct answer a;
	call(v, "GET", path, &a);
	return a.status;
}

static const struct {
	const char *path;
	int want[N_SITUATIONS]; /* P, PN, R, RL, S */
} matrix[] = {
	{ "/", { 200, 503, 503, 503, 503 } },
	{ "/primary", { 200, 503, 503, 503, 503 } },
	{ "/master", { 200, 503, 503, 503, 503 } },
	{ "/leader", { 200, 503, 503, 503, 503 } },
	{ "/read-write", { 200, 503, 503, 503, 503 } },
	{ "/replica", { 503, 503, 200, 200, 503 } },
	{ "/read-only", { 200, 503, 200, 200, 503 } },
	{ "/health", { 200, 200, 200, 200, 503 } },
	{ "/liveness", { 200, 200, 200, 200, 200 } },
	{ "/readiness", { 200, 503, 200, 200, 503 } },
	{ "/replica?lag=1MB", { 503, 503, 200, 503, 503 } },
	{ "/replica?lag=104857600", { 503, 503, 200, 200, 503 } },
	{ "/replica?lag=104857599", { 503, 503, 200, 503, 503 } },
	{ "/read-only?lag=16kB", { 200, 503, 200, 503, 503 } },
	{ "/readiness?lag=1MB", { 200, 503, 200, 503, 503 } },
	{ "/replica?replication_state=streaming", { 503, 503, 200, 200, 503 } },
	{ "/replica?foo=bar&lag=1MB", { 503, 503, 200, 503, 503 } },
	{ "/primary?lag=1MB", { 200, 503, 503, 503, 503 } },
	/* S/sync is unset in every situation: a replica is asynchronous */
	{ "/sync", { 503, 503, 503, 503, 503 } },
	{ "/synchronous", { 503, 503, 503, 503, 503 } },
	{ "/async", { 503, 503, 200, 200, 503 } },
	{ "/asynchronous?lag=1MB", { 503, 503, 200, 503, 503 } },
	{ "/read-only-sync", { 200, 503, 503, 503, 503 } },
	{ "/standby-leader", { 503, 503, 503, 503, 503 } },
};

/* A replica S/sync names is synchronous: /sync and /read-only-sync say
 * 200, /async 503. */
START_TEST(test_sync_endpoints)
{
	struct fixture f;
	situation(&f, R);
	f.v.leader = "pg1";
	f.v.sync_standbys = f.self.name;
	ck_assert_int_eq(status_of(&f.v, "/sync"), 200);
	ck_assert_int_eq(status_of(&f.v, "/read-only-sync"), 200);
	ck_assert_int_eq(status_of(&f.v, "/async"), 503);
	f.self.lag_bytes = 2 << 20;
	ck_assert_int_eq(status_of(&f.v, "/sync?lag=1MB"), 503);
	f.self.healthy = false;
	ck_assert_int_eq(status_of(&f.v, "/sync"), 503);
}
END_TEST

/* /config: Patroni's names and units (seconds), and tenure's. */
START_TEST(test_config)
{
	struct fixture f;
	struct answer a;
	struct scope_conf c = { .synchronous_mode = 1,
				.synchronous_node_count = 2,
				.maximum_lag_on_failover = 1048576,
				.lease_ttl = 2500,
				.renew_interval = 1000 };
	situation(&f, P);
	call(&f.v, "GET", "/config", &a);
	ck_assert_int_eq(a.status, 503);
	f.v.conf = &c;
	f.v.paused = true;
	call(&f.v, "GET", "/config", &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(a.body,
			 "{\"ttl\":2.500,\"loop_wait\":1,\"synchronous_mode\":"
			 "true,\"synchronous_node_count\":2,\"maximum_lag_on_"
			 "failover\":1048576,\"pause\":true,\"lease_ttl\":"
			 "\"2500ms\",\"renew_interval\":\"1s\"}\n");
	/* the backup keys that are set, in tenure's names */
	char err[200];
	ck_assert_int_eq(scope_conf_assign(&c, "pgbackrest_stanza=b", err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c, "archive_via_pgbackrest=on", err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c, "bootstrap_target=name:p1", err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c, "bootstrap_command=/x --pw=s",
					   err, sizeof(err)),
			 0);
	f.v.paused = false;
	call(&f.v, "GET", "/config", &a);
	ck_assert_ptr_null(strstr(a.body, "--pw=s"));
	ck_assert_ptr_nonnull(strstr(a.body,
				     "\"renew_interval\":\"1s\","
				     "\"pgbackrest_stanza\":\"b\","
				     "\"archive_via_pgbackrest\":\"on\","
				     "\"bootstrap_target\":\"name:p1\"}"));
}
END_TEST

/* A standby cluster's lease holder, in recovery: its standby leader.
 * /standby-leader 200, /primary 503, role standby_leader everywhere;
 * /config says it is one. */
START_TEST(test_standby_leader)
{
	struct fixture f;
	struct answer a;
	struct scope_conf c = { .lease_ttl = 2500, .renew_interval = 500 };
	situation(&f, R);
	f.v.leader = f.self.name;
	ck_assert_int_eq(status_of(&f.v, "/standby-leader"), 503);
	f.v.standby_cluster = true;
	ck_assert_int_eq(status_of(&f.v, "/standby-leader"), 200);
	ck_assert_int_eq(status_of(&f.v, "/primary"), 503);
	ck_assert_int_eq(status_of(&f.v, "/replica"), 200);
	call(&f.v, "GET", "/health", &a);
	ck_assert_ptr_nonnull(strstr(a.body, "\"role\":\"standby_leader\""));
	call(&f.v, "GET", "/patroni", &a);
	ck_assert_ptr_nonnull(strstr(a.body, "\"role\":\"standby_leader\""));
	call(&f.v, "GET", "/cluster", &a);
	ck_assert_ptr_nonnull(strstr(a.body, "\"role\":\"standby_leader\""));
	f.v.pg_running = false;
	ck_assert_int_eq(status_of(&f.v, "/standby-leader"), 503);
	f.v.pg_running = true;
	f.v.leader = "pg1"; /* another member leads: a plain replica */
	ck_assert_int_eq(status_of(&f.v, "/standby-leader"), 503);
	f.v.conf = &c;
	ck_assert_int_eq(scope_conf_assign(&c, "standby_cluster_hosts=h1,h2:6",
					   NULL, 0),
			 0);
	call(&f.v, "GET", "/config", &a);
	ck_assert_ptr_nonnull(strstr(a.body, "\"standby_cluster\":{\"hosts\":"
					     "\"h1,h2:6\"}"));
}
END_TEST

START_TEST(test_endpoint_by_situation)
{
	struct fixture f;
	for (int s = 0; s < N_SITUATIONS; s++) {
		situation(&f, (enum situation)s);
		for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++)
			for (int m = 0; m < 3; m++) {
				static const char *const methods[] = {
					"GET", "HEAD", "OPTIONS"
				};
				struct answer a;
				call(&f.v, methods[m], matrix[i].path, &a);
				ck_assert_msg(a.status == matrix[i].want[s],
					      "%s %s in situation %d: %d, "
					      "want %d",
					      methods[m], matrix[i].path, s,
					      a.status, matrix[i].want[s]);
			}
	}
}
END_TEST

START_TEST(test_replica_conditions)
{
	struct fixture f;
	situation(&f, R);
	f.self.healthy = false;
	ck_assert_int_eq(status_of(&f.v, "/replica"), 503);
	ck_assert_int_eq(status_of(&f.v, "/read-only"), 503);
	ck_assert_int_eq(status_of(&f.v, "/readiness"), 503);
	situation(&f, R);
	/* running but not streaming (lost its upstream): still a replica,
	 * not ready */
	snprintf(f.self.state, sizeof(f.self.state), "running");
	ck_assert_int_eq(status_of(&f.v, "/replica"), 200);
	ck_assert_int_eq(status_of(&f.v, "/readiness"), 503);
	ck_assert_int_eq(status_of(&f.v,
				   "/replica?replication_state=streaming"),
			 503);
	/* noloadbalance: a healthy replica kept out of read traffic, still
	 * ready and healthy */
	situation(&f, R);
	f.self.noloadbalance = true;
	ck_assert_int_eq(status_of(&f.v, "/replica"), 503);
	ck_assert_int_eq(status_of(&f.v, "/read-only"), 503);
	ck_assert_int_eq(status_of(&f.v, "/readiness"), 200);
	ck_assert_int_eq(status_of(&f.v, "/health"), 200);
	situation(&f, R);
	f.v.pg_running = false;
	ck_assert_int_eq(status_of(&f.v, "/replica"), 503);
	situation(&f, R);
	f.v.agent_ready = false;
	ck_assert_int_eq(status_of(&f.v, "/liveness"), 503);
	/* no self at all: nothing passes but the agent's own liveness */
	situation(&f, R);
	f.v.self = NULL;
	ck_assert_int_eq(status_of(&f.v, "/replica"), 503);
	ck_assert_int_eq(status_of(&f.v, "/liveness"), 200);
}
END_TEST

START_TEST(test_lag_parse)
{
	static const struct {
		const char *text;
		uint64_t want;
	} good[] = {
		{ "0", 0 },
		{ "100", 100 },
		{ "1B", 1 },
		{ "1MB", 1048576 },
		{ "16kB", 16384 },
		{ "16kb", 16384 },
		{ "2 GB", 2147483648ull },
		{ "1TB", 1099511627776ull },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = { "",
					   "-1",
					   "1.5MB",
					   "MB",
					   "1XB",
					   "1 M",
					   "1e3",
					   " 1",
					   "0x10",
					   "18446744073709551616",
					   "99999999999999999999",
					   "17179869184GB",
					   "16777216TB" };
	uint64_t v;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(api_parse_lag(good[i].text, &v), "%s",
			      good[i].text);
		ck_assert_uint_eq(v, good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!api_parse_lag(bad[i], &v), "accepted %s",
			      bad[i]);
}
END_TEST

START_TEST(test_bad_lag_is_400)
{
	struct fixture f;
	struct answer a;
	situation(&f, R);
	call(&f.v, "GET", "/replica?lag=abc", &a);
	ck_assert_int_eq(a.status, 400);
	ck_assert_ptr_nonnull(strstr(a.body, "\"error\":\"lag wants a byte "
					     "count"));
	ck_assert_ptr_nonnull(strstr(a.body, "'abc'"));
	call(&f.v, "HEAD", "/read-only?lag=", &a);
	ck_assert_int_eq(a.status, 400);
	call(&f.v, "GET", "/readiness?lag=-5", &a);
	ck_assert_int_eq(a.status, 400);
	call(&f.v, "GET", "/replica?lag", &a);
	ck_assert_int_eq(a.status, 400);
}
END_TEST

START_TEST(test_not_found_and_methods)
{
	struct fixture f;
	struct answer a;
	situation(&f, P);
	call(&f.v, "GET", "/nope\"\x01", &a);
	ck_assert_int_eq(a.status, 404);
	ck_assert_str_eq(a.body, "{\"error\":\"no such endpoint\",\"path\":"
				 "\"/nope\\\"\\u0001\"}\n");
	ck_assert_str_eq(a.type, "application/json");
	ck_assert_int_eq(status_of(&f.v, "/primary/"), 404);
	ck_assert_int_eq(status_of(&f.v, "/PRIMARY"), 404);
	ck_assert_int_eq(status_of(&f.v, ""), 404);
	ck_assert_int_eq(status_of(&f.v, "/?x=1"), 200);
	call(&f.v, "POST", "/primary", &a);
	ck_assert_int_eq(a.status, 405);
	char longpath[2048];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	call(&f.v, "GET", longpath, &a);
	ck_assert_int_eq(a.status, 400);
}
END_TEST

START_TEST(test_status_body)
{
	struct fixture f;
	struct answer a;
	situation(&f, P);
	call(&f.v, "GET", "/primary", &a);
	ck_assert_str_eq(a.body,
			 "{\"name\":\"pg1\",\"scope\":\"main\",\"role\":"
			 "\"primary\","
			 "\"state\":\"running\",\"pg_running\":true,"
			 "\"writable\":true,"
			 "\"timeline\":3,\"lag_bytes\":0,\"received_lsn\":\"0/"
			 "3000060\","
			 "\"replayed_lsn\":\"0/0\",\"lease_valid_ms\":8000,"
			 "\"lease_token\":42,\"leader\":\"pg1\",\"paused\":"
			 "false}\n");
	/* A known problem is said last, as a sentence with its fix. */
	f.v.problem = "the witnesses do not answer: check \"tenured\"";
	call(&f.v, "GET", "/health", &a);
	ck_assert_ptr_nonnull(strstr(a.body,
				     ",\"problem\":\"the witnesses do "
				     "not answer: check \\\"tenured\\\"\"}\n"));
	f.v.problem = NULL;
	situation(&f, PN);
	call(&f.v, "GET", "/primary", &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert_ptr_nonnull(strstr(a.body, "\"role\":\"demoting\""));
	ck_assert_ptr_nonnull(strstr(a.body, "\"writable\":false"));
	ck_assert_ptr_nonnull(strstr(a.body, "\"leader\":null"));
	situation(&f, RL);
	f.v.paused = true;
	call(&f.v, "GET", "/replica", &a);
	ck_assert_ptr_nonnull(strstr(a.body, "\"role\":\"replica\""));
	ck_assert_ptr_nonnull(strstr(a.body, "\"lag_bytes\":104857600"));
	ck_assert_ptr_nonnull(strstr(a.body, "\"paused\":true"));
	situation(&f, S);
	f.self.state[0] = '\0';
	call(&f.v, "GET", "/health", &a);
	ck_assert_ptr_nonnull(strstr(a.body, "\"state\":\"stopped\""));
}
END_TEST

START_TEST(test_cluster)
{
	struct fixture f;
	struct answer a;
	situation(&f, R);
	/* pg2's stored record is stale: self replaces it */
	snprintf(f.others[0].name, MEMBER_STR_MAX, "pg2");
	f.others[0].role = MEMBER_STOPPED;
	snprintf(f.others[1].name, MEMBER_STR_MAX, "pg1");
	f.others[1].role = MEMBER_PRIMARY;
	f.others[1].lease_token = 42;
	f.others[1].timeline = 3;
	snprintf(f.others[1].pg, MEMBER_STR_MAX, "[::1]:5433");
	snprintf(f.others[1].state, MEMBER_STR_MAX, "running");
	snprintf(f.others[2].name, MEMBER_STR_MAX, "pg0");
	f.others[2].role = MEMBER_PRIMARY; /* stale primary, no lease */
	f.v.members = f.others;
	f.v.n_members = 3;
	f.v.sync_standbys = "pg2";
	call(&f.v, "GET", "/cluster", &a);
	ck_assert_int_eq(a.status, 200);
	static const char head[] = "{\"members\":[{\"name\":\"pg0\",\"role\":"
				   "\"replica\",\"state\":\"running\"";
	ck_assert_msg(strncmp(a.body, head, sizeof(head) - 1) == 0, "%s",
		      a.body);
	const char *pg1 = strstr(a.body, "{\"name\":\"pg1\"");
	const char *pg2 = strstr(a.body, "{\"name\":\"pg2\"");
	ck_assert_ptr_nonnull(pg1);
	ck_assert_ptr_nonnull(pg2);
	ck_assert_ptr_null(strstr(pg2 + 1, "{\"name\":\"pg2\""));
	ck_assert(pg1 < pg2);
	ck_assert_ptr_nonnull(strstr(pg1, "\"role\":\"leader\""));
	ck_assert_ptr_nonnull(strstr(pg1, "\"tenure_role\":\"primary\""));
	ck_assert(strstr(pg1, "\"lag\"") > pg2); /* Patroni: none */
	ck_assert_ptr_nonnull(strstr(a.body, "\"tenure_role\":\"demoting\""));
	ck_assert_ptr_nonnull(strstr(pg1, "\"host\":\"::1\",\"port\":5433"));
	ck_assert_ptr_nonnull(strstr(pg1, "\"lease_token\":42}"));
	ck_assert_ptr_nonnull(strstr(pg2, "\"role\":\"sync_standby\","
					  "\"state\":\"streaming\""));
	ck_assert_ptr_nonnull(strstr(pg2, "\"api_url\":\"http://127.0.0.1:"
					  "8008/patroni\""));
	ck_assert_ptr_nonnull(strstr(pg2, "\"lag\":1000"));
	ck_assert_ptr_nonnull(strstr(pg2, "\"sync\":true"));
	ck_assert_ptr_null(strstr(pg2, "lease_token"));
	ck_assert_str_eq(strstr(a.body, "],\"scope\""),
			 "],\"scope\":\"main\",\"leader\":\"pg1\","
			 "\"paused\":false}\n");
}
END_TEST

START_TEST(test_history)
{
	struct fixture f;
	struct answer a;
	static const char *const h[] = {
		"{\"time_ms\":1714564800250,\"old\":\"pg1\",\"new\":\"pg2\","
		"\"reason\":\"switchover\",\"token\":7,\"unavailable_ms\":900,"
		"\"timeline\":4,\"lsn\":50331856}",
		"{\"broken\":",
		"{\"time_ms\":2,\"old\":\"pg2\",\"new\":\"pg1\"}",
	};
	situation(&f, P);
	call(&f.v, "GET", "/history", &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(a.body, "[]\n");
	f.v.history = h;
	f.v.n_history = 3;
	call(&f.v, "GET", "/history", &a);
	ck_assert_str_eq(a.body,
			 "[[4,50331856,\"switchover\",\"2024-05-01T"
			 "12:00:00.250+00:00\",\"pg2\"],[0,0,\"\","
			 "\"1970-01-01T00:00:00.002+00:00\",\"pg1\"]]\n");
	call(&f.v, "GET", "/history?format=tenure", &a);
	ck_assert_str_eq(a.body,
			 "[{\"time_ms\":1714564800250,\"old\":\"pg1\",\"new\":"
			 "\"pg2\",\"reason\":\"switchover\",\"token\":"
			 "7,\"unavailable_ms\":900,\"timeline\":4,"
			 "\"lsn\":50331856},{\"time_ms\":2,"
			 "\"old\":\"pg2\",\"new\":\"pg1\"}]\n");
}
END_TEST

/* Every sample line's metric has # HELP and # TYPE before it. */
static void metrics_well_formed(const char *body)
{
	char name[128], head[160];
	for (const char *line = body; *line;) {
		const char *end = strchr(line, '\n');
		ck_assert_ptr_nonnull(end);
		if (line[0] != '#') {
			size_t n = strcspn(line, "{ ");
			ck_assert_uint_lt(n, sizeof(name));
			memcpy(name, line, n);
			name[n] = '\0';
			snprintf(head, sizeof(head), "# TYPE %s ", name);
			const char *t = strstr(body, head);
			ck_assert_msg(t && t < line, "no TYPE for %s", name);
			snprintf(head, sizeof(head), "# HELP %s ", name);
			ck_assert_msg(strstr(body, head), "no HELP for %s",
				      name);
		}
		line = end + 1;
	}
}

START_TEST(test_metrics)
{
	struct fixture f;
	struct answer a;
	situation(&f, P);
	f.v.failovers = 2;
	f.v.switchovers = 3;
	f.v.promotions = 4;
	f.v.demotions = 5;
	f.v.fence_actions = 6;
	f.v.renew_failures = 7;
	f.v.lease_valid_ms = 8250;
	call(&f.v, "GET", "/metrics", &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_ptr_nonnull(strstr(a.type, "text/plain"));
	static const char *const want[] = {
		"tenure_agent_role{role=\"primary\"} 1\n",
		"tenure_agent_role{role=\"replica\"} 0\n",
		"tenure_agent_role{role=\"stopped\"} 0\n",
		"tenure_agent_lease_valid_seconds 8.250\n",
		"tenure_agent_lease_token 42\n",
		"tenure_agent_replication_lag_bytes 0\n",
		"tenure_agent_timeline 3\n",
		"# TYPE tenure_agent_failovers_total counter\n",
		"tenure_agent_failovers_total 2\n",
		"tenure_agent_switchovers_total 3\n",
		"tenure_agent_promotions_total 4\n",
		"tenure_agent_demotions_total 5\n",
		"tenure_agent_fence_actions_total 6\n",
		"tenure_agent_renew_failures_total 7\n",
		"tenure_agent_pg_running 1\n",
		"tenure_agent_writable_primary 1\n",
		"# TYPE tenure_agent_lease_valid_seconds gauge\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(a.body, want[i]), "missing %s", want[i]);
	metrics_well_formed(a.body);
	situation(&f, RL);
	call(&f.v, "GET", "/metrics", &a);
	ck_assert_ptr_nonnull(strstr(a.body, "tenure_agent_role{role="
					     "\"replica\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(a.body, "tenure_agent_role{role="
					     "\"primary\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(a.body, "tenure_agent_replication_lag_"
					     "bytes 104857600\n"));
	ck_assert_ptr_nonnull(strstr(a.body, "tenure_agent_lease_valid_"
					     "seconds 0.000\n"));
	metrics_well_formed(a.body);
}
END_TEST

START_TEST(test_patroni)
{
	struct fixture f;
	struct answer a;
	situation(&f, P);
	call(&f.v, "GET", "/patroni", &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(a.body, "{\"state\":\"running\",\"role\":\"primary\","
				 "\"timeline\":3,\"xlog\":{\"location\":"
				 "50331744},\"cluster_unlocked\":false,"
				 "\"patroni\":{\"scope\":\"main\",\"name\":"
				 "\"pg1\"}}\n");
	situation(&f, R);
	f.self.received_lsn = 10;
	f.self.replayed_lsn = 9;
	f.v.paused = true;
	call(&f.v, "GET", "/patroni", &a);
	ck_assert_ptr_nonnull(strstr(a.body, "\"xlog\":{\"received_location\""
					     ":10,\"replayed_location\":9,"));
	ck_assert_ptr_nonnull(strstr(a.body, "\"replication_state\":"
					     "\"streaming\""));
	ck_assert_ptr_nonnull(strstr(a.body, "\"pause\":true"));
	situation(&f, S);
	ck_assert_int_eq(status_of(&f.v, "/patroni"), 503);
}
END_TEST

/* ---- the real server on loopback ---------------------------------------- */

struct served {
	struct fixture f;
	int fills;
	bool closed;
};

static void fill(void *arg, struct api_view *v)
{
	struct served *s = arg;
	s->fills++;
	*v = s->f.v;
}

static void on_closed(void *arg)
{
	((struct served *)arg)->closed = true;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* One request over a blocking socket; the loop runs in between (the
 * kernel completes the connect and buffers the request). */
static void fetch(uv_loop_t *loop, int port, const char *req, char *out,
		  size_t cap)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t n = 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	for (int i = 0; i < 50000; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		ssize_t k = recv(fd, out + n, cap - 1 - n, MSG_DONTWAIT);
		if (k == 0)
			break;
		if (k > 0)
			n += (size_t)k;
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		else
			usleep(100);
	}
	out[n] = '\0';
	close(fd);
}

static size_t content_length(const char *resp)
{
	const char *h = strstr(resp, "Content-Length: ");
	ck_assert_ptr_nonnull(h);
	return strtoul(h + 16, NULL, 10);
}

static const char *body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");
	ck_assert_ptr_nonnull(b);
	return b + 4;
}

START_TEST(test_server_head_get_options)
{
	uv_loop_t loop;
	struct served s;
	struct api_server *srv;
	char addr[64], err[256], resp[8192];
	int port = free_port();
	memset(&s, 0, sizeof(s));
	situation(&s.f, P);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ck_assert_msg(api_start(&loop, addr, NULL, 0, fill, &s, &srv, err,
				sizeof(err)) == 0,
		      "%s", err);

	fetch(&loop, port, "GET /primary HTTP/1.1\r\nHost: x\r\n\r\n", resp,
	      sizeof(resp));
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
	size_t get_len = content_length(resp);
	ck_assert_uint_gt(get_len, 0);
	ck_assert_uint_eq(strlen(body_of(resp)), get_len);

	fetch(&loop, port, "HEAD /primary HTTP/1.1\r\n\r\n", resp,
	      sizeof(resp));
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
	ck_assert_uint_eq(content_length(resp), get_len);
	ck_assert_str_eq(body_of(resp), "");

	fetch(&loop, port, "OPTIONS /replica HTTP/1.0\r\n\r\n", resp,
	      sizeof(resp));
	ck_assert_msg(strncmp(resp, "HTTP/1.1 503 ", 13) == 0, "%s", resp);

	fetch(&loop, port, "HEAD /replica?lag=x HTTP/1.1\r\n\r\n", resp,
	      sizeof(resp));
	ck_assert_msg(strncmp(resp, "HTTP/1.1 400 ", 13) == 0, "%s", resp);
	ck_assert_str_eq(body_of(resp), "");

	/* the view is asked for afresh on every request */
	s.f.v.writable_primary = false;
	fetch(&loop, port, "GET /primary HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	ck_assert_msg(strncmp(resp, "HTTP/1.1 503 ", 13) == 0, "%s", resp);
	ck_assert_int_eq(s.fills, 5);

	fetch(&loop, port, "GET /metrics HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	ck_assert_ptr_nonnull(strstr(resp, "Content-Type: text/plain"));

	api_close(srv, on_closed, &s);
	while (!s.closed && uv_run(&loop, UV_RUN_ONCE))
		;
	ck_assert(s.closed);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(test_server_bad_address)
{
	uv_loop_t loop;
	struct served s;
	struct api_server *srv = NULL;
	char err[256];
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_ne(api_start(&loop, "nohost", NULL, 0, fill, &s, &srv,
				   err, sizeof(err)),
			 0);
	ck_assert_ptr_nonnull(strstr(err, "nohost"));
	ck_assert_ptr_null(srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* Runs the loop for about ms milliseconds. */
static void pump(uv_loop_t *loop, int ms)
{
	for (int i = 0; i < ms * 10; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(100);
	}
}

static int dial_port(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Whether the server ended fd (EOF or reset) within about ms. */
static bool ended(uv_loop_t *loop, int fd, int ms)
{
	char c;
	for (int i = 0; i < ms * 10; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		ssize_t k = recv(fd, &c, 1, MSG_DONTWAIT);
		if (k == 0 ||
		    (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return true;
		usleep(100);
	}
	return false;
}

/* The API's connections are capped (the agent gives its share of the
 * open-files limit): one over the cap is closed at once, the others are
 * kept, and a place freed serves again. */
START_TEST(test_server_connection_cap)
{
	uv_loop_t loop;
	struct served s;
	struct api_server *srv;
	char addr[64], err[256], resp[8192];
	int port = free_port(), held[3];
	memset(&s, 0, sizeof(s));
	situation(&s.f, P);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ck_assert_msg(api_start(&loop, addr, NULL, 3, fill, &s, &srv, err,
				sizeof(err)) == 0,
		      "%s", err);
	for (int i = 0; i < 3; i++)
		held[i] = dial_port(port);
	pump(&loop, 50);
	int over = dial_port(port);
	ck_assert(ended(&loop, over, 500));
	for (int i = 0; i < 3; i++)
		ck_assert(!ended(&loop, held[i], 20));
	close(over);
	close(held[0]);
	pump(&loop, 50);
	fetch(&loop, port, "GET /primary HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
	close(held[1]);
	close(held[2]);
	api_close(srv, on_closed, &s);
	while (!s.closed && uv_run(&loop, UV_RUN_ONCE))
		;
	ck_assert(s.closed);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *t = tcase_create("handler");
	tcase_add_test(t, test_endpoint_by_situation);
	tcase_add_test(t, test_replica_conditions);
	tcase_add_test(t, test_lag_parse);
	tcase_add_test(t, test_bad_lag_is_400);
	tcase_add_test(t, test_not_found_and_methods);
	tcase_add_test(t, test_status_body);
	tcase_add_test(t, test_cluster);
	tcase_add_test(t, test_sync_endpoints);
	tcase_add_test(t, test_config);
	tcase_add_test(t, test_standby_leader);
	tcase_add_test(t, test_history);
	tcase_add_test(t, test_metrics);
	tcase_add_test(t, test_patroni);
	suite_add_tcase(s, t);
	t = tcase_create("server");
	tcase_add_test(t, test_server_head_get_options);
	tcase_add_test(t, test_server_bad_address);
	tcase_add_test(t, test_server_connection_cap);
	suite_add_tcase(s, t);
	return s;
}
