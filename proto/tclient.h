/*
 * tclient.h — the client library of tenured, used by tenurectl and
 * tenure-agent: one connection, requests with deadlines, retries with
 * backoff, leader following, a circuit breaker and watches.
 *
 * Contract
 * --------
 * Runs on a caller-provided libuv loop; every function is called from that
 * loop's thread.  Nothing here keeps global state: two clients on one loop
 * are independent.  Callbacks are never called from inside
 * tclient_request() or tclient_watch() (a caller may hold locks or be half
 * way through its own bookkeeping), only from the loop or from
 * tclient_close().
 *
 * Connection.  At most one TCP connection at a time, opened lazily when
 * there is something to send.  Endpoints are IP literals ("10.0.0.1:7100",
 * "[fd00::1]:7100"), tried in order: a failed connect or a lost connection
 * moves to the next one, and so does a server that answers "not the
 * leader" naming one we cannot reach (below) or, for connect_timeout_ms,
 * naming none; one that names none, or the leader just lost while its
 * address is passed over, is asked again meanwhile, every fifth of
 * connect_timeout_ms (no growing backoff: its answer changes the moment
 * it hears the new leader): it is most likely in an election, and
 * bouncing between followers would cost every client a handshake per
 * bounce.  A
 * CLIENT_ENOTLEADER answer that names the leader (leader_client) moves the
 * connection there instead, whether or not that address is one of the
 * endpoints (that is how a client finds a leader it was not told about).
 * A hint that cannot be reached (a failed connect, or a connection lost
 * before its end) sends the client on to the next endpoint, and that
 * hint is passed over, from every follower, for TCLIENT_HINT_SHUN_MS:
 * behind a NAT or a proxy the endpoints may be the only addresses that
 * work.  The address of an endpoint whose connection failed or was lost
 * is passed over, as a hint and as the next endpoint, for
 * TCLIENT_LOST_SHUN_MS: followers go on naming a leader that died until
 * they elect another one.  (A shunned address is skipped as an endpoint
 * for TCLIENT_LOST_SHUN_MS at most, so that a witness restarted there
 * is soon dialled again.)  After losing a server that had served it,
 * the client dials one of the other endpoints drawn at random, not the
 * next in list order: when a leader dies, a fleet of clients spreads over
 * the followers (which one wins is not known yet) instead of all waiting
 * at one and all moving again.  The first failure after an answer (a
 * server killed or gone) dials another endpoint at once; only a run of
 * failures backs off.  Moving is graceful: nothing new is sent on the
 * old connection and it is closed once its in-flight requests are answered
 * or expired, so a request already on its way is never made "unknown" by
 * our own redirect.  When a user and secret are configured, every
 * connection authenticates first (HELLO, AUTH_PROOF: client.h) and
 * nothing else is sent before the server has proven it holds the
 * credential's verifier; a refused authentication fails the waiting
 * requests with the server's status (a wrong secret does not get better
 * by retrying), and so does a server that asks for no proof — unless the
 * connection is TLS with a client certificate (tls has one): a witness
 * that verified it authenticated the client by it and has nothing more
 * to ask (server/clients.h).
 *
 * TLS.  With tls (the caller's context: its CA file, and optionally a
 * client certificate and key), every connection is TLS and the server's
 * certificate must verify against the CA and carry the endpoint's IP
 * address as a subject alternative name (IP SAN): endpoints and leader
 * hints are IP literals, so the certificates of the witnesses must name
 * the addresses clients dial (advertise_client included).  Each step of
 * a connection's set-up must be done within a time of the step before,
 * or the connect counts as failed: connect_timeout_ms for TCP (and TLS),
 * twice that for HELLO's and AUTH_PROOF's answers (the silence limit,
 * tclient_silence_ms): a server that answers is alive, and one busy with
 * a reconnect storm would otherwise see its work thrown away and asked
 * for again.  A request that expires while its connection has returned
 * nothing since it was sent, and nothing for the silence limit since the
 * oldest request still unanswered went out, takes the connection down
 * with it: a frozen server (SIGSTOP, a half-dead host) keeps TCP open and
 * would otherwise hold the client forever, while a live one slowed by a
 * storm past one request's deadline keeps its client (dropping it would
 * add a handshake to the storm: a retry loop that feeds itself).
 * Neither happens while the server's answer
 * waits unread in the kernel (a busy loop, not a dead server).  The keys
 * PBKDF2 derives from the secret are kept for the next connection
 * (common/scram.h).
 *
 * Requests.  tclient_request() copies the request (the caller's strings
 * may go away at once) and gives it a fresh request id per attempt.  Its
 * callback runs exactly once, with:
 *   - the server's status and the decoded response (valid only during the
 *     callback), for every answer except the three below;
 *   - CLIENT_ETIMEOUT (r NULL) when the deadline passes first;
 *   - CLIENT_EUNKNOWN (r NULL) when the connection was lost while a
 *     non-idempotent request (client_op_idempotent) was in flight: it may
 *     or may not have been executed, and it is never resent;
 *   - CLIENT_ECIRCUIT (r NULL) when the circuit breaker is open;
 *   - CLIENT_ESHUTDOWN (r NULL) from tclient_close();
 *   - CLIENT_EUNAUTHORIZED or the server's status (r NULL) when
 *     authentication failed.
 * Retried, within the deadline, with exponential backoff and jitter: any
 * request answered CLIENT_ENOTLEADER, CLIENT_ENOQUORUM or CLIENT_EBUSY
 * (the server did not execute it), and idempotent requests whose
 * connection was lost.  The first retry of a request that goes to
 * another server (the answer named the leader or none, or the connection
 * was lost) goes at once: that server knows what this one did not.  Any
 * other n-th retry waits a random time in
 * [d/2, d] with d = min(backoff_cap_ms, backoff_base_ms * 2^(n-1)):
 * "equal jitter" rather than full jitter, so that retries spread out over
 * time but are also guaranteed to be spaced (a full-jitter retry may come
 * after 0 ms, which is a retry storm in miniature).  Reconnecting after a
 * failure waits the same way.
 *
 * Circuit breaker.  Failures are failed connects, lost connections and
 * requests that expire in flight (one that expires still waiting to be
 * sent was kept waiting by failures already counted); any response
 * received resets the count.  After
 * breaker_threshold consecutive failures the breaker opens: waiting and
 * new requests fail with CLIENT_ECIRCUIT at once and no connection is
 * attempted.  After breaker_open_ms it is half-open: one trial request is
 * let through (others still fail fast) and a connection may be opened; a
 * response closes the breaker, a failure opens it again for another
 * breaker_open_ms.
 *
 * Watches.  tclient_watch() opens a watch that lives across connections.
 * Its callback gets TCLIENT_WATCH_READY when the server first accepts it,
 * then TCLIENT_WATCH_EVENT per event.  When the connection is lost or
 * moved, the watch is re-established on the next connection and the
 * callback gets TCLIENT_WATCH_RESYNC: events that happened in the gap are
 * NOT replayed, so the caller must re-read the state it watches (after
 * READY too, to start from a known state).  A watch the server refuses
 * for good (anything but the retried statuses above) gets
 * TCLIENT_WATCH_ENDED with that status; so does every watch at
 * tclient_close() (with CLIENT_ESHUTDOWN).  No callback follows ENDED, but
 * the handle stays allocated until tclient_watch_cancel(); tclient_close()
 * frees every handle (cancel from the ENDED callback is fine, after close
 * returns it is a use after free).
 *
 * Lifetime.  tclient_close() fails every request with CLIENT_ESHUTDOWN and
 * ends every watch (from inside the call), closes the client's handles and
 * calls on_closed once they are closed; then the memory is gone.  While
 * connected, the client keeps the loop alive: close it to let uv_run end.
 *
 * Errors: set-up and queueing calls return 0 or a negative libuv code (then
 * no callback runs); a request's outcome reaches its callback as a
 * client_status (CLIENT_OK or a positive CLIENT_* code).  tclient_call_sync
 * returns either (see there).  Lines go only to the log callback.
 */
#ifndef TENURE_PROTO_TCLIENT_H
#define TENURE_PROTO_TCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/tls.h"
#include "proto/client.h"

#define TCLIENT_TIMEOUT_DEFAULT_MS 5000
#define TCLIENT_CONNECT_TIMEOUT_DEFAULT_MS 2000
#define TCLIENT_BACKOFF_BASE_DEFAULT_MS 50
#define TCLIENT_BACKOFF_CAP_DEFAULT_MS 2000
#define TCLIENT_BREAKER_THRESHOLD_DEFAULT 5
#define TCLIENT_BREAKER_OPEN_DEFAULT_MS 5000
/* How long a leader hint that could not be reached is passed over: longer
 * than a round of the endpoints, so that every follower repeating it is
 * passed over, short enough that a leader back at that address is soon
 * used again. */
#define TCLIENT_HINT_SHUN_MS 5000
/* How long the address of a connection that failed or was lost is passed
 * over: about what the witnesses take to elect a new leader (an election
 * timeout is at most 400 ms by default), while followers still name the
 * one that died; short enough that a witness restarted there, which may
 * well win that election, is soon followed (the clients wait at the
 * followers meanwhile). */
#define TCLIENT_LOST_SHUN_MS 500

/* Zero (or NULL) fields take the defaults above. */
struct tclient_options {
	const char *const *endpoints; /* "host:port", at least one */
	size_t n_endpoints;
	const char *user;        /* NULL or "": no authentication */
	const char *secret;      /* the user's secret (never sent) */
	const char *client_name; /* sent in HELLO, for the server's log */
	/* NULL: plaintext.  The caller's (tls.h, a connecting context),
	 * kept until the client is closed. */
	struct tls_context *tls;
	uint64_t timeout_ms;         /* default deadline of a request */
	uint64_t connect_timeout_ms; /* per set-up step (above) */
	uint64_t backoff_base_ms;
	uint64_t backoff_cap_ms;
	/* The first reconnect after a lost connection waits a random
	 * [0, reconnect_spread_ms] (default 0: at once): when a witness
	 * leader dies, every client of a fleet loses it at the same instant,
	 * and the followers (then the new leader) take their handshakes
	 * spread out rather than in one burst that starves their heartbeats.
	 * Below the witnesses' election timeout it delays nothing: no leader
	 * can answer sooner. */
	uint64_t reconnect_spread_ms;
	/* Ask a server that served a write which witness would campaign
	 * first if it died (client.h SUCCESSOR: once per connection, a
	 * frame outside the requests), and when that connection is lost,
	 * dial that endpoint next: a fleet of agents then goes straight to
	 * where the next leader will be instead of half of it to a
	 * follower (a handshake, watches and reads there for nothing, then
	 * all again at the leader).  Only one of the endpoints is dialled
	 * so: a client given other addresses than the witnesses' own (a
	 * proxy, a NAT) keeps to them.  An answer naming none or another
	 * address, or an older witness's "unknown op", leaves the random
	 * choice.  For long-lived clients (the agent); a one-shot command
	 * has no use for it. */
	bool ask_successor;
	unsigned breaker_threshold; /* consecutive failures to open */
	uint64_t breaker_open_ms;   /* open time before half-open */
	size_t frame_limit;         /* largest response: FRAME_LIMIT_DEFAULT */
	/* One line per notable event: level is "info" or "warn".  NULL: quiet. */
	void (*log)(void *arg, const char *level, const char *msg);
	void *log_arg;
};

struct tclient;
struct tclient_watch;

/* Creates a client (no connection yet).  0, or UV_EINVAL (no endpoint, an
 * endpoint that is not an IP literal with a port, a user without a
 * secret, a user or name over the client.h limits) or UV_ENOMEM. */
int tclient_new(uv_loop_t *loop, const struct tclient_options *o,
		struct tclient **out);

/* status is a client_status; r is NULL unless a response arrived. */
typedef void (*tclient_cb)(void *arg, int status,
			   const struct client_response *r);

/* Queues a request; timeout_ms 0 takes the default.  req->id is ignored
 * (the library assigns ids).  0: cb will run exactly once.  Negative libuv
 * error: cb will never run (UV_EINVAL: an op the library manages itself —
 * HELLO, AUTH_PROOF, WATCH, CANCEL — or an unknown one; UV_ENOMEM; UV_ESHUTDOWN after
 * tclient_close). */
int tclient_request(struct tclient *c, const struct client_request *req,
		    uint64_t timeout_ms, tclient_cb cb, void *arg);

enum tclient_watch_kind {
	TCLIENT_WATCH_KEYS = 0,
	TCLIENT_WATCH_LEASES = 1,
};

enum tclient_watch_note {
	TCLIENT_WATCH_READY,  /* accepted: read the state now */
	TCLIENT_WATCH_EVENT,  /* e is the event */
	TCLIENT_WATCH_RESYNC, /* re-established after a gap: re-read */
	TCLIENT_WATCH_ENDED,  /* refused or closed: status says why */
};

/* e is non-NULL only for TCLIENT_WATCH_EVENT (valid during the call);
 * status is CLIENT_OK except for TCLIENT_WATCH_ENDED. */
typedef void (*tclient_watch_cb)(void *arg, enum tclient_watch_note note,
				 int status, const struct client_event *e);

/* Watches keys (or leases) whose name starts with prefix ("" or NULL: all).
 * 0 and *out, or UV_EINVAL (kind, prefix too long), UV_ENOMEM,
 * UV_ESHUTDOWN. */
int tclient_watch(struct tclient *c, enum tclient_watch_kind kind,
		  const char *prefix, tclient_watch_cb cb, void *arg,
		  struct tclient_watch **out);
/* Cancels and frees the watch (tells the server if it knows it).  No
 * callback runs for it afterwards; safe from inside its own callback. */
void tclient_watch_cancel(struct tclient_watch *w);

/* See "Lifetime".  on_closed may be NULL. */
void tclient_close(struct tclient *c, void (*on_closed)(void *arg), void *arg);

/* Inside a request's callback: true when no answer came (r is NULL) but
 * the request may have been executed all the same: an attempt of it was
 * sent and never answered (it expired in flight, it was in flight at
 * tclient_close(), or its connection was lost: CLIENT_EUNKNOWN, or an
 * idempotent request resent after such a loss).  False for a request
 * that never left the client or was only refused with a status that
 * says it did not run (the retried ones), and outside callbacks.  A
 * write that fails this way must be reported as "outcome unknown", not
 * as not done. */
bool tclient_outcome_unknown(const struct tclient *c);

/* Inside a request's callback: how many attempts of it were sent and went
 * down with their connection before the last one (each may have run, for
 * an idempotent request resent after the loss), whatever the answer; 0
 * outside callbacks.  A history checker records each as a possible extra
 * execution (tests/helpers/lincheck.h, "retry shadow"). */
unsigned tclient_lost_attempts(const struct tclient *c);

/* ---- one-shot convenience for the CLI ------------------------------------ */

/* The outcome of tclient_call_sync: status, and when has_response the
 * response, whose strings and arrays are owned by this struct (they
 * outlive the client and its loop) until tclient_result_free. */
struct tclient_result {
	int status;
	bool has_response;
	bool outcome_unknown; /* tclient_outcome_unknown() in the callback */
	struct client_response r;
	void *mem; /* private: the copied strings and arrays */
};

/* Runs a private loop with a private client until req is answered (or
 * fails as tclient_request says), then closes both.  Returns res->status,
 * or a negative libuv error when the client could not even be set up.
 * res is always initialised, so tclient_result_free is always safe. */
int tclient_call_sync(const struct tclient_options *o,
		      const struct client_request *req, uint64_t timeout_ms,
		      struct tclient_result *res);
void tclient_result_free(struct tclient_result *res);
/* A deep copy of r into res (what tclient_call_sync keeps): false when
 * out of memory. */
bool tclient_result_copy(struct tclient_result *res, int status,
			 const struct client_response *r);

#endif /* TENURE_PROTO_TCLIENT_H */
