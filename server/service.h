/*
 * service.h — what tenured does with client requests: leases and keys
 * through the Raft node, linearizable reads, watches, membership, and the
 * leader's lease countdowns that end in expiries (docs/design.md rules 3
 * and 4).
 *
 * Contract
 * --------
 * Loop thread only.  A request comes in decoded (proto/client.h) together
 * with the session it arrived on; the answer goes out through the session
 * callbacks, exactly once per request (also when the session closed in the
 * meantime: then it is dropped), within the request timeout.
 *
 * Writes are proposed only on the leader (others answer CLIENT_ENOTLEADER
 * with the leader's client address when known).  Reads are linearizable
 * (a ReadIndex round) unless the request asked for CLIENT_LOCAL.
 *
 * Expiry: every tick the leader looks for leases whose countdown ran out;
 * it confirms its leadership with a quorum round started after the
 * deadline passed, then proposes SM_CMD_LEASE_EXPIRE with the token and
 * renewal revision it saw.  A renewal that commits first makes the expiry
 * a no-op in the state machine.
 *
 * Errors: service_start returns 0 or -1 (out of memory); a request's
 * failure is answered with a CLIENT_* status (logged where an operator
 * needs it), never returned.
 */
#ifndef TENURE_SERVER_SERVICE_H
#define TENURE_SERVER_SERVICE_H

#include <stdint.h>
#include <uv.h>

#include "proto/client.h"
#include "server/duration_hist.h"
#include "server/node.h"
#include "server/scope_admit.h"
#include "server/scope_rate.h"
#include "server/sm.h"

struct service;
struct session; /* owned by clients.c */

struct service_session_ops {
	/* Queue a response / event on the session (copied). */
	void (*respond)(struct session *s, const struct client_response *r);
	void (*event)(struct session *s, const struct client_event *e,
		      bool lease_kind);
	/* Reference counting keeps a session alive while requests of it are
	 * pending. */
	void (*ref)(struct session *s);
	void (*unref)(struct session *s);
	bool (*is_open)(struct session *s);
};

struct service_options {
	const char *name;
	unsigned request_timeout_ms;
	/* Per-scope limits (0: unlimited): key/byte/lease limits are
	 * checked by this witness when leader, before it proposes a write
	 * (scope_admit.h), answered CLIENT_EQUOTA; the request rate is this
	 * witness's own (scope_rate.h), answered CLIENT_EBUSY before
	 * anything is proposed or read. */
	struct scope_quota quota;
	uint64_t scope_max_requests_per_second;
	const char *(*peer_client_addr)(void *arg, uint64_t id);
	void *peer_arg;
};

int service_start(uv_loop_t *loop, struct node *node,
		  const struct service_options *o,
		  const struct service_session_ops *ops, struct service **out);
void service_handle(struct service *s, struct session *sess,
		    const struct client_request *req);
/* The session closed: forget its watches (pending answers are dropped
 * when they complete). */
void service_session_closed(struct service *s, struct session *sess);
void service_stop(struct service *s);

/* Raft id of a member, derived from its name so that every witness
 * computes the same id for "w4" without coordination (never 0). */
uint64_t service_member_id(const char *name, size_t len);
/* The name in a member's configuration address "name=host:port". */
void service_member_name(const char *addr, char *out, size_t len);

struct service_stats {
	uint64_t requests[CLIENT_OP_END - CLIENT_OP_HELLO];
	uint64_t errors[CLIENT_OP_END - CLIENT_OP_HELLO];
	uint64_t expiries_proposed;
	uint64_t leases_tracked;
	/* events sent to watchers, by kind: what a watch costs instead of
	 * a read */
	uint64_t watch_events_keys, watch_events_leases;
	/* by type, taken up -> answered (buckets from 125 us) */
	struct duration_hist durations[CLIENT_OP_END - CLIENT_OP_HELLO];
};
#define SERVICE_HIST_BASE_NS 125000ull
void service_stats(const struct service *s, struct service_stats *out);
/* This witness's request counts of one scope, now (for /metrics). */
void service_scope_stats(const struct service *s, struct sm_str scope,
			 struct scope_rate_stats *out);
const struct service_options *service_options(const struct service *s);
/* New per-scope limits (SIGHUP): the next request is judged by them;
 * writes already proposed and the counts so far stay. */
void service_set_scope_limits(struct service *s, const struct scope_quota *q,
			      uint64_t requests_per_second);

#endif
