/*
 * transport_int.h — what the files of the peer transport share: the
 * transport, the peers it dials (transport_out.c) and the connections it
 * accepts (transport_in.c).  Not a public interface.
 *
 * Handle lifetime: every libuv handle and every stream counts in
 * t->handles from its init to its close callback, and in its owner's
 * count too.  A peer or an accepted connection is freed only when its own
 * handles are all closed (after stream_close() the only callback a
 * stream makes is the one it was given); the transport is freed when
 * t->handles reaches zero after transport_close().
 *
 * Errors: as transport.h: failures are logged (transport_log) and close the
 * connection concerned; no error codes (peer_create is NULL when out of
 * memory).
 */
#ifndef TENURE_SERVER_TRANSPORT_INT_H
#define TENURE_SERVER_TRANSPORT_INT_H

#include <stdarg.h>

#include "common/log_throttle.h"
#include "common/stream.h"
#include "proto/frame.h"
#include "proto/peer.h"
#include "proto/wire.h"
#include "server/transport.h"

#define TRANSPORT_BACKOFF_MIN_MS 50
#define TRANSPORT_BACKOFF_MAX_MS 2000
#define TRANSPORT_MAX_BUFFERED_DEFAULT ((size_t)64 << 20)
#define TRANSPORT_MAX_BUFFERED_LIMIT ((size_t)1 << 30)
/* Output buffers bigger than this are freed once drained, so that one
 * burst (a snapshot) does not pin its memory forever. */
#define TRANSPORT_KEEP_BUFFER ((size_t)1 << 20)
#define TRANSPORT_NAME_MAX 64 /* "[v6 literal]:port" */

enum peer_state {
	PEER_IDLE,       /* no connection; the reconnect timer may run */
	PEER_CONNECTING, /* connecting, or the TLS handshake runs */
	PEER_CONNECTED,  /* hello queued; messages are accepted */
	PEER_CLOSING,    /* stream_close called, waiting for its callback */
};

/* A member this node dials and sends to. */
struct peer {
	struct transport *t;
	struct peer *next;
	raft_id id;
	char addr[RAFT_ADDR_MAX];
	/* With TLS, what the peer's certificate must name: its member
	 * name, or the IP address of a nameless configuration address. */
	char tls_name[RAFT_ADDR_MAX];
	struct sockaddr_storage sa;
	bool addr_ok;
	bool removed;      /* left the configuration; freed once closed */
	bool said_down;    /* "unreachable" already logged */
	bool said_too_big; /* "over the frame limit" already logged */
	enum peer_state state;
	unsigned handles;  /* of timer and stream, still open */
	unsigned attempts; /* consecutive failed or short-lived dials */
	uint64_t connected_at;
	uv_timer_t timer;
	struct stream *s;
	/* Messages accumulate here and go to the stream once per loop
	 * iteration, as one write (the stream hands it to the kernel from
	 * this buffer when it can, and copies only what waits). */
	struct wire_writer pending;
	uint64_t pending_msgs;
	char read_buf[64]; /* the acceptor never writes; see on_out_read */
	struct transport_peer_stats stats;
};

/* A connection some peer dialled to us: we only read from it. */
struct inbound {
	struct transport *t;
	struct inbound *next;
	struct stream *s;
	bool closing;
	/* TLS: the names of the peer's certificate, once the handshake is
	 * done (they live as long as the stream). */
	const struct tls_peer_names *cert;
	raft_id from; /* 0 until a valid hello */
	char remote[TRANSPORT_NAME_MAX];
	struct frame_decoder dec;
	struct peer_scratch scratch;
};

struct transport {
	uv_loop_t *loop;
	struct transport_options o;
	char listen_addr[RAFT_ADDR_MAX];
	char *auth_token; /* copy of o.auth_token, or NULL */
	uv_tcp_t listener;
	/* Active only while some output buffer waits to be flushed: an
	 * active idle handle also keeps uv_run from sleeping in poll. */
	uv_idle_t flush;
	struct peer *peers;
	struct inbound *inbound;
	unsigned handles;
	bool closing;
	void (*on_closed)(void *arg);
	void *closed_arg;
	uint64_t prng;
	/* Refusals of connections that never authenticated: each kind (the
	 * reason's first words) is logged at most every 10 s, with a count
	 * of the rest; kinds beyond the table share its last slot.  A
	 * stranger must not be able to flood the log. */
	struct {
		char kind[40];
		struct log_throttle log;
	} refusals[8];
	/* Client addresses peers advertised in their hellos. */
	struct {
		raft_id id;
		char addr[TRANSPORT_CLIENT_ADDR_MAX + 1];
	} known[2 * RAFT_MAX_SERVERS];
	unsigned n_known;
};

/* transport.c: remember what a peer advertised. */
void transport_learn_client_addr(struct transport *t, raft_id id,
				 const void *addr, size_t len);

/* transport.c */
void transport_log(struct transport *t, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void transport_handle_closed(struct transport *t);
/* Flush every peer's pending output in this loop iteration. */
void transport_schedule_flush(struct transport *t);
struct peer *transport_find_peer(const struct transport *t, raft_id id);
int transport_sockaddr_port(const struct sockaddr_storage *sa);

/* transport_out.c */
struct peer *peer_create(struct transport *t, const struct raft_server *s);
void peer_remove(struct peer *p);
void peer_flush(struct peer *p);
void peer_send(struct peer *p, const struct raft_message *m);

/* transport_in.c */
void inbound_on_connection(uv_stream_t *listener, int status);
void inbound_close(struct inbound *c);

#endif /* TENURE_SERVER_TRANSPORT_INT_H */
