/*
 * clients.h — client sessions of tenured: the TCP listener for tenurectl
 * and the agents, one session per connection.
 *
 * Contract
 * --------
 * Loop thread only.  Each session decodes frames (frame.h, with the frame
 * limit) and requests (client.h); a bad frame closes that session with a
 * logged reason, a malformed request is answered CLIENT_EINVAL and the
 * session goes on.  With an auth token configured, a session must send a
 * HELLO carrying it first; otherwise it is answered CLIENT_EUNAUTHORIZED,
 * logged and closed.  Answers are queued and written in batches; a session
 * whose unsent output exceeds a bound (a client that stopped reading) is
 * closed rather than letting the witness run out of memory.
 *
 * Errors: clients_start returns 0 or a negative errno (libuv's or its own)
 * with a message in err; a session's trouble is logged or answered with a
 * CLIENT_* status, never returned.
 */
#ifndef TENURE_SERVER_CLIENTS_H
#define TENURE_SERVER_CLIENTS_H

#include <stddef.h>
#include <uv.h>

#include "server/service.h"

struct clients;

struct clients_options {
	const char *listen_addr;
	const char *auth_token; /* NULL: none */
	size_t frame_limit;
	size_t max_output; /* per session; 0: 64 MiB */
};

int clients_start(uv_loop_t *loop, const struct clients_options *o,
		  struct clients **out, char *err, size_t errlen);
/* The service is created with clients_session_ops() and then attached. */
void clients_attach(struct clients *c, struct service *svc);
const struct service_session_ops *clients_session_ops(void);
unsigned clients_count(const struct clients *c);
void clients_close(struct clients *c, void (*on_closed)(void *arg), void *arg);

#endif
