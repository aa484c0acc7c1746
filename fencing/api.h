/*
 * api.h — tenure-agent's HTTP endpoints, compatible with the ones HAProxy
 * and monitoring already use with Patroni.
 *
 * Contract
 * --------
 * api_handle is a pure function of a view (what the agent knows right
 * now) and a request: it sets the status and the body, nothing else.  The
 * server wrapper (api_start) asks the agent for a fresh view on every
 * request through fill(), on the loop thread, and answers with
 * api_handle; so an answer is never older than the request.
 *
 * Status codes are what routers act on; GET, HEAD and OPTIONS get the same
 * one (HEAD without the body).  The body of a health endpoint is the
 * node's status as JSON (name, role, state, timeline, lease_valid_ms,
 * leader, ..., and "problem": a sentence on what is wrong and what to do,
 * present only when the agent knows of one).
 *   /, /primary, /master, /leader, /read-write
 *                     200 only while writable_primary (Postgres runs as
 *                     primary AND this agent's lease is valid now), else
 *                     503.  The lease, not Postgres, decides.
 *   /replica          200 for a running, healthy replica (role replica);
 *                     ?lag=N: and lag_bytes <= N (N in bytes or with a
 *                     unit: B, kB, MB, GB, TB, 1024-based as in
 *                     PostgreSQL); ?replication_state=S: and state == S.
 *   /read-only        200 when writable_primary or /replica would be 200
 *                     (the lag and state filters apply to replicas only).
 *   /health           200 while Postgres runs, any role.
 *   /liveness         200 while the agent's loop is alive (agent_ready).
 *   /readiness        200 when writable_primary, or a healthy replica in
 *                     state "streaming" (within ?lag when given).
 *   /sync, /synchronous
 *                     200 for a healthy replica that S/sync names (a
 *                     synchronous standby); ?lag and ?replication_state
 *                     as /replica.
 *   /async, /asynchronous
 *                     200 for a healthy replica S/sync does not name.
 *   /read-only-sync   200 when writable_primary or /sync would be 200.
 *   /standby-leader   always 503: tenure has no standby clusters.
 *   /cluster          Patroni's shape (api_patroni.c): members with role
 *                     leader, sync_standby or replica, state, api_url,
 *                     host, port, timeline, lag ...; scope, pause; and
 *                     tenure's fields beside them (tenure_role, healthy,
 *                     sync, priority, leader, paused ...).
 *   /history          Patroni's rows [timeline, lsn, reason, timestamp,
 *                     new_leader]; ?format=tenure: the stored objects.
 *                     Malformed entries are left out.
 *   /config           the scope settings in force, Patroni's names
 *                     (ttl, loop_wait in seconds ...) and tenure's.
 *   /metrics          Prometheus text format.
 *   /patroni          Patroni's status document, small.
 * Writes (api_write.c; credentials required, http_auth.h): POST
 * /switchover (scheduled_at too), /failover, /restart, /reload,
 * /reinitialize; DELETE /switchover and /restart (a scheduled one);
 * PATCH /config.  docs/rest-api.md has the details.
 * A bad query value is 400 with the reason; an unknown path 404; both
 * JSON {"error": ...}.  Unknown query parameters are ignored (Patroni
 * does the same).
 *
 * Errors: api_start returns 0 or a negative libuv code with a message in
 * err; a bad request is answered with an HTTP status and JSON, never
 * returned.
 */
#ifndef TENURE_FENCING_API_H
#define TENURE_FENCING_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/http.h"
#include "fencing/http_auth.h"
#include "fencing/member.h"
#include "fencing/requests.h"
#include "fencing/scope_conf.h"
#include "proto/tclient.h"
#include "fencing/slots.h"

struct api_view {
	const char *scope;
	const struct member *self;    /* this node's current record */
	const struct member *members; /* every record read from the
					 witnesses; self's own entry (same
					 name), if any, is replaced by self */
	size_t n_members;
	const char *leader;      /* holder of SCOPE/primary, "" none */
	bool writable_primary;   /* Postgres primary AND lease valid */
	uint64_t lease_valid_ms; /* validity left, 0 when not holder */
	uint64_t lease_token;
	bool paused;
	bool standby_cluster; /* the scope is one: its leader, in recovery,
				 is the "standby_leader" */
	bool pg_running;
	bool agent_ready;
	const char *const *history; /* JSON objects, oldest first */
	size_t n_history;
	uint64_t failovers, switchovers, promotions, demotions;
	uint64_t fence_actions, renew_failures;
	uint64_t ttl_ms;
	const char *sync_standbys;     /* comma-separated names, or "" */
	const struct scope_conf *conf; /* the settings in force, or NULL */
	const char *insecure; /* what --insecure let through, or NULL */
	const struct slot_actual *slots; /* this node's replication slots,
					    as last read (fencing/slots.h) */
	size_t n_slots;
	const char *problem;              /* why this node is not healthy and
					 what to do, or NULL: the health
					 bodies carry it as "problem" */
	const struct node_result *result; /* this node's S/results/NAME as
					     last read (fencing/requests.h),
					     or NULL: POST /restart waits
					     for it */
};

/* Fills res (status, content type, body) for one request.  path may
 * carry a query string ("/replica?lag=1MB"). */
void api_handle(const struct api_view *v, const char *method,
		const char *path_with_query, struct http_response *res);

/* Parses a ?lag value: bytes, or a number with B, kB, MB, GB or TB.
 * False on anything else (negative, empty, overflow, unknown unit). */
bool api_parse_lag(const char *text, uint64_t *out);

/* The agent fills v; strings and arrays must stay valid until the call
 * after this one returns (api_handle runs right after fill). */
typedef void (*api_fill_fn)(void *arg, struct api_view *v);

struct api_server;

/* Listens on "host:port", over HTTPS with tls (NULL: plain HTTP; the
 * caller's, kept until api_close's callback), with at most
 * max_connections at once (0: common/http.h's default; the bounds there
 * apply).  0 and *out, or a negative libuv error with a message in err. */
int api_start(uv_loop_t *loop, const char *listen, struct tls_context *tls,
	      unsigned max_connections, api_fill_fn fill, void *arg,
	      struct api_server **out, char *err, size_t errlen);
/* What the writes need; without it (or with auth NULL) every write is
 * refused with 401. */
struct api_writes {
	struct tclient *tc;     /* the agent's client of the witnesses */
	const char *scope;      /* kept by the caller */
	struct http_auth *auth; /* http_credentials_file; kept by the caller */
	/* this node's file's: PATCH /config checks a TTL with them */
	int64_t fence_time, pause_margin;
	uint64_t handover_wait_ms; /* POST /switchover waits this long at
				      most for the new primary (0: 30 s) */
};
void api_set_writes(struct api_server *s, const struct api_writes *w);

/* Closes the listener and every connection; on_closed (may be NULL) runs
 * once they are closed and the server is freed. */
void api_close(struct api_server *s, void (*on_closed)(void *arg), void *arg);

#endif
