/*
 * clients.h — client sessions of tenured: the TCP listener for tenurectl
 * and the agents, one session per connection.
 *
 * Contract
 * --------
 * Loop thread only.  Each session decodes frames (frame.h, with the frame
 * limit) and requests (client.h); a bad frame closes that session with a
 * logged reason, a malformed request is answered CLIENT_EINVAL and the
 * session goes on.  With credentials (credentials.h), a session must
 * authenticate first (HELLO, AUTH_PROOF: proto/client.h); anything else,
 * a wrong proof or an unknown name is answered CLIENT_EUNAUTHORIZED,
 * logged and closed.  Until then its frames are limited to
 * CLIENTS_PREAUTH_FRAME_LIMIT bytes, so an unauthenticated connection
 * pins almost no memory.  Authenticated, each request is judged by the
 * credential's role (auth_policy.h): a refused one is answered
 * CLIENT_EUNAUTHORIZED and the session goes on.  Without credentials
 * every session may do everything (loopback use).  New credentials
 * (a reload) close the sessions whose credential is gone or changed.
 *
 * TLS (tls set): every session is TLS (common/stream.h), and must
 * complete its handshake within auth_timeout_ms too.  When the context
 * asks for client certificates (tls.h ask_peer), a certificate not
 * signed by its CA fails the handshake; one that is, naming a `cert`
 * credential (credentials.h), authenticates the session at once with
 * that credential's role: no HELLO is needed, and one is answered with
 * an empty challenge (nothing to prove).  Without a certificate, or with
 * one that names no `cert` credential, a session authenticates by SCRAM
 * as above.
 *
 * Answers are encoded as they come and written at the end of the loop's
 * turn, one write per session for all of that turn's answers (to the
 * kernel at once when it takes them, common/stream.h): after a leader
 * change thousands of clients each get several answers in one turn, and
 * a write per answer was most of the witness's work.  A session whose unsent
 * output exceeds max_output (a client that stopped reading) is closed
 * rather than letting the witness run out of memory, and so is one that
 * holds much output while all sessions together hold more than
 * max_output_total.
 *
 * Bounds on a hostile or broken client, each enforced with a log line:
 * at most max_sessions connections (more are accepted and closed at
 * once, so that the listener's backlog cannot pin descriptors; the log
 * line is rate-limited), of which at most a quarter from one address
 * and at most half waiting to authenticate; authentication within
 * auth_timeout_ms of the connection (with credentials); and a session with nothing in flight and
 * no watch that sent nothing for idle_timeout_ms is closed (agents renew
 * every second or so; a watch may rightly wait for hours).
 *
 * Errors: clients_start returns 0 or a negative errno (libuv's or its own)
 * with a message in err; a session's trouble is logged or answered with a
 * CLIENT_* status, never returned.
 */
#ifndef TENURE_SERVER_CLIENTS_H
#define TENURE_SERVER_CLIENTS_H

#include <stddef.h>
#include <uv.h>

#include "common/tls.h"
#include "proto/credentials.h"
#include "server/service.h"

struct clients;

struct clients_options {
	const char *listen_addr;
	struct credentials *creds; /* NULL: none; owned once started */
	/* NULL: plaintext.  The caller's, kept until clients_close's
	 * callback; a tls_context_reload() applies to new sessions. */
	struct tls_context *tls;
	size_t frame_limit;
	size_t max_output;        /* per session; 0: 16 MiB */
	size_t max_output_total;  /* all sessions; 0: 128 MiB */
	unsigned max_sessions;    /* 0: 1000 */
	uint64_t auth_timeout_ms; /* 0: 5 s */
	uint64_t idle_timeout_ms; /* 0: 5 min */
};

int clients_start(uv_loop_t *loop, const struct clients_options *o,
		  struct clients **out, char *err, size_t errlen);
/* The service is created with clients_session_ops() and then attached. */
void clients_attach(struct clients *c, struct service *svc);
const struct service_session_ops *clients_session_ops(void);
unsigned clients_count(const struct clients *c);
/* Sessions and connections whose work was put off to a later turn of the
 * loop (turn_budget.h), since start. */
uint64_t clients_deferred(const struct clients *c);
/* Replaces the credentials (taking ownership of creds, which may be
 * NULL) and closes the sessions they no longer admit. */
void clients_set_credentials(struct clients *c, struct credentials *creds);
/* Largest frame before authentication: a HELLO or AUTH_PROOF fits. */
#define CLIENTS_PREAUTH_FRAME_LIMIT 1024
void clients_close(struct clients *c, void (*on_closed)(void *arg), void *arg);

#endif
