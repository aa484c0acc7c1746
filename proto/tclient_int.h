/*
 * tclient_int.h — what tclient.c (requests, timing, breaker, watches) and
 * tclient_conn.c (the TCP connection) share.  Not an API.
 *
 * Only the timer callback runs the "pump" (the step that expires,
 * connects, sends and re-arms): everything else that changes what should
 * happen next calls tclient_kick(), which makes the timer fire at the next
 * loop iteration.  That keeps the pump from ever being re-entered from a
 * user callback.
 *
 * Errors: as tclient.h: negative libuv codes from set-up
 * (tclient_parse_addr, tconn_start), client_status values for the outcome
 * of requests.
 */
#ifndef TENURE_PROTO_TCLIENT_INT_H
#define TENURE_PROTO_TCLIENT_INT_H

#include <sys/socket.h>

#include "common/scram.h"
#include "proto/frame.h"
#include "proto/tclient.h"

/* Intrusive circular doubly linked list. */
struct tlist {
	struct tlist *prev, *next;
};

static inline void tlist_init(struct tlist *l)
{
	l->prev = l->next = l;
}

static inline bool tlist_empty(const struct tlist *l)
{
	return l->next == l;
}

static inline void tlist_push(struct tlist *l, struct tlist *e)
{
	e->prev = l->prev;
	e->next = l;
	l->prev->next = e;
	l->prev = e;
}

static inline void tlist_remove(struct tlist *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

#define TLIST_ITEM(e, type) ((type *)(void *)(e))

/* A request; link is first so TLIST_ITEM works. */
struct treq {
	struct tlist link;
	struct client_request req; /* strings point into strings[] */
	uint64_t deadline;         /* uv_now() ms */
	uint64_t not_before;       /* next attempt, after a backoff */
	uint64_t rx_mark;          /* conn->rx_frames when sent */
	unsigned attempts;         /* retries so far */
	bool raced;                /* had its one retry without backoff */
	int verdict;               /* non-zero: fail with this when pumped */
	/* May the server have run it though no answer says so?  on_wire:
	 * this attempt was sent and not answered yet; lost: how many earlier
	 * ones went down with their connection (tclient_outcome_unknown,
	 * tclient_lost_attempts). */
	bool on_wire;
	unsigned lost;
	tclient_cb cb;
	void *arg;
	char strings[];
};

enum twatch_state {
	TWATCH_IDLE,   /* needs a WATCH on the next ready connection */
	TWATCH_ASKED,  /* WATCH sent, id is its request id */
	TWATCH_ACTIVE, /* accepted: events carry id */
	TWATCH_ENDED,  /* refused for good or closed */
};

struct tclient_watch {
	struct tlist link;
	struct tclient *c;
	enum tclient_watch_kind kind;
	enum twatch_state state;
	uint64_t id;
	bool was_ready; /* READY delivered: next time is RESYNC */
	uint64_t not_before;
	unsigned attempts;
	tclient_watch_cb cb;
	void *arg;
	size_t prefix_len;
	char prefix[];
};

enum tconn_state {
	TCONN_CONNECTING,
	TCONN_HELLO, /* HELLO sent, waiting for the challenge */
	TCONN_PROOF, /* AUTH_PROOF sent, waiting for the signature */
	TCONN_READY,
};

struct tconn {
	struct stream *stream;
	struct tclient *c;     /* NULL once detached (closing) */
	struct tclient *owner; /* for the handle count, even detached */
	long ep;               /* endpoint index, -1 for a leader hint */
	enum tconn_state state;
	bool draining; /* moving elsewhere: send nothing new */
	/* It answered "not the leader" naming none, first at
	 * leaderless_since (tclient_recv.c, wait_for_a_leader). */
	bool leaderless;
	uint64_t leaderless_since;
	/* Requests wait here for a leader (wait_for_a_leader): retried no
	 * faster than a fifth of the connect timeout. */
	bool waiting;
	/* The current handshake step (connect, HELLO's answer, AUTH_PROOF's)
	 * must be done by then. */
	uint64_t ready_deadline;
	uint64_t hello_id;     /* of HELLO, then of AUTH_PROOF */
	uint64_t successor_id; /* of SUCCESSOR, once asked (ask_successor) */
	uint8_t client_nonce[SCRAM_NONCE_LEN];
	uint8_t expected_signature[SCRAM_KEY_LEN];
	uint64_t rx_frames; /* frames received so far */
	/* uv_now() when the oldest request sent since the last frame
	 * received went out; 0 when none waits (tclient_silence_ms). */
	uint64_t awaiting_since;
	struct frame_decoder dec;
	struct wire_writer out; /* a frame being encoded */
	char addr[CLIENT_ADDR_MAX + 1];
};

enum tbreaker {
	TBREAKER_CLOSED,
	TBREAKER_OPEN,
	TBREAKER_HALF_OPEN,
};

struct tclient {
	uv_loop_t *loop;
	struct tclient_options o; /* with defaults; strings owned below */
	char **endpoints;
	size_t cur; /* endpoint to connect to next */
	char *user, *secret, *client_name;
	/* PBKDF2 of the secret, kept: a reconnect storm of many clients on
	 * one host must not cost each of them the derivation again. */
	struct scram_client_keys keys;
	char redirect[CLIENT_ADDR_MAX + 1]; /* leader hint to try first */
	/* The successor the leader at successor_of named (ask_successor):
	 * the redirect when that connection is lost. */
	char successor[CLIENT_ADDR_MAX + 1];
	char successor_of[CLIENT_ADDR_MAX + 1];
	char shunned[CLIENT_ADDR_MAX + 1]; /* a hint we could not reach */
	uint64_t shunned_until;            /* ...not followed before then */
	uint64_t skip_until; /* ...nor dialled as an endpoint before then */
	uv_timer_t timer;
	struct tconn *conn;
	struct tlist pending;  /* treq waiting to be sent */
	struct tlist inflight; /* treq sent on conn */
	struct tlist watches;
	uint64_t next_id;
	uint64_t reconnect_at;
	unsigned conn_failures; /* consecutive, for reconnect backoff */
	enum tbreaker breaker;
	unsigned failures; /* consecutive, for the breaker */
	uint64_t open_until;
	struct treq *trial;      /* the half-open breaker's trial */
	bool finishing_unknown;  /* tclient_outcome_unknown(), in a callback */
	unsigned finishing_lost; /* tclient_lost_attempts(), in a callback */
	struct client_scratch scratch;
	uint64_t rng;
	unsigned handles; /* open libuv handles (timer, conns) */
	bool closing;
	void (*on_closed)(void *arg);
	void *closed_arg;
};

/* tclient.c */
void tclient_kick(struct tclient *c);
/* Unlinks r, runs its callback (exactly once, here), frees it. */
void tclient_finish(struct tclient *c, struct treq *r, int status,
		    const struct client_response *resp);
/* Fails every request waiting to be sent. */
void tclient_fail_waiting(struct tclient *c, int status);
/* TCLIENT_WATCH_ENDED to every watch not ended yet. */
void tclient_end_watches(struct tclient *c, int status);
void tclient_breaker_tick(struct tclient *c, uint64_t now);
void tclient_log(struct tclient *c, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t tclient_backoff(struct tclient *c, unsigned attempt);
/* Pseudo-random, for jitter and spreading only (not for secrets). */
uint64_t tclient_random(struct tclient *c);
/* When to dial again after c->conn_failures consecutive failures. */
uint64_t tclient_reconnect_at(struct tclient *c, uint64_t now);
void tclient_breaker_failure(struct tclient *c);
void tclient_breaker_success(struct tclient *c);
/* A frame arrived on the ready connection (responses and events). */
void tclient_on_frame(struct tclient *c, const struct frame *f);
/* A leader hint could not be reached: not followed again for
 * TCLIENT_HINT_SHUN_MS, and the next endpoint is tried instead. */
void tclient_hint_failed(struct tclient *c, const char *addr, uint64_t now);
/* conn (just detached) went away: requeue or fail what was on it. */
void tclient_on_conn_gone(struct tclient *c, const struct tconn *conn,
			  bool failure);
void tclient_handle_closed(struct tclient *c);
uint64_t tclient_new_id(struct tclient *c);

/* tclient_pump.c */
void tclient_on_timer(uv_timer_t *t);

/* tclient_conn.c */
int tclient_parse_addr(const char *s, struct sockaddr_storage *out);
/* Dials addr (endpoint ep, -1 for a hint); c->conn is set on success.
 * 0 or a libuv error. */
int tconn_start(struct tclient *c, const char *addr, long ep);
/* Closes conn and detaches it from the client (no callbacks). */
void tconn_close(struct tconn *conn);
/* Closes the connection as failed or finished, then tells the client. */
void tconn_lost(struct tconn *conn, const char *why, bool failure);
void tconn_flush(struct tconn *conn);
/* Whether the server's bytes wait unread in the kernel. */
bool tconn_has_unread(struct tconn *conn);
/* The handshake moved on: the next step has the silence limit. */
void tconn_progress(struct tconn *conn);
/* How long a connection that returns nothing, while an answer is owed,
 * is still taken for a live server's (tclient.h): twice the connect
 * timeout. */
uint64_t tclient_silence_ms(const struct tclient *c);
/* The connection returned nothing for the silence limit while requests
 * waited on it, and nothing waits unread either. */
bool tconn_silent(struct tconn *conn, uint64_t now);
/* Queues SUCCESSOR on the ready connection for the pump to send (its
 * answer: tclient_recv.c). */
void tconn_ask_successor(struct tconn *conn);
/* Sends HELLO (state TCONN_HELLO). */
void tconn_send_hello(struct tconn *conn);
/* Answers the challenge with AUTH_PROOF (state TCONN_PROOF); false when
 * the proof cannot be computed (the connection is then lost). */
bool tconn_send_proof(struct tconn *conn, const struct client_auth_body *ch);

#endif /* TENURE_PROTO_TCLIENT_INT_H */
