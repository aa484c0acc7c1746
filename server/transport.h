/*
 * transport.h — the peer transport of tenured: Raft messages over TCP.
 *
 * Contract
 * --------
 * Runs on one libuv loop; every function is called from that loop's
 * thread.  Each node listens on its peer address and dials every other
 * member: a node SENDS on the connection it dialled and RECEIVES on the
 * connections it accepted, so each direction has exactly one owner and
 * there is no dial race to resolve.
 *
 * Dialled connections: reconnect with exponential backoff (50 ms doubling
 * to 2 s, with jitter) forever while the peer is a member; TCP_NODELAY and
 * keepalive on.  The first frame on a connection is a hello (cluster id,
 * sender id, receiver id, and the auth token, empty when none is
 * configured; see transport_hello.h); an accepting node that finds the
 * hello wrong (other cluster, wrong receiver, token mismatch, not a hello)
 * logs why and closes that connection.  The token travels as is: it keeps
 * strangers and misconfigured nodes out, not an eavesdropper, so the peer
 * network must be private (or tunnelled).
 *
 * Sending never blocks and never fails: transport_send() encodes the
 * message into the peer's output buffer; buffers are flushed once per loop
 * iteration, many messages per write (one uv_write of the whole buffer).
 * When the peer is unreachable, or its buffer is over a bound (the peer is
 * too slow), messages are dropped and counted: Raft tolerates loss and
 * resends what matters.
 *
 * Receiving: every complete frame is checked (frame.h limits and checksum,
 * peer.h decoding); a bad frame closes that connection with a logged reason
 * and nothing else is affected.  A decoded message is handed to the
 * on_message callback; its pointers are valid only during the callback.
 * A message whose from/to differ from the ids of the hello is refused the
 * same way (a peer may not speak for another node).
 *
 * Peer addresses are IP literals ("127.0.0.1:7001", "[::1]:7001"); a
 * member whose address does not parse is logged and never dialled.
 * Removing a peer closes the connection this node dialled to it; what it
 * dialled to us is its own business (it stops when it learns the new
 * configuration).
 *
 * TLS (options.tls set; docs/design.md §2 rule 11): every connection is
 * mutual TLS on that one context (it must verify peers: verify_peer,
 * ca_file, no server_name).  Dialling, this node presents its
 * certificate and requires the acceptor's to carry the peer's member name
 * (the part of its configuration address before '=', else its IP
 * address).  Accepting, the handshake requires a certificate of the CA,
 * and the hello is then judged by transport_cert_check(): one of the
 * certificate's names must be the claimed sender's, and the sender a
 * member of members() (a joining node passes the initial configuration).
 * Without TLS, hellos are not checked against membership, and the sender
 * is whoever the hello says (the auth token only keeps strangers out).
 * Either way a hello's client address (the leader hint) is learned only
 * once every check passed.
 *
 * Errors: transport_start returns 0 or a negative libuv code with a message
 * in err; after that, trouble is logged and closes the connection
 * concerned, never returned.  transport_listen_port is -1 when nothing is
 * bound.
 */
#ifndef TENURE_SERVER_TRANSPORT_H
#define TENURE_SERVER_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/tls.h"
#include "raft/raft.h"

struct transport;

/* Frame type of the hello: outside the Raft message types, so a peer that
 * skips the hello is refused with "not a hello". */
#define TRANSPORT_HELLO_TYPE 0x100u
/* Longest auth token, in bytes. */
#define TRANSPORT_TOKEN_MAX 256
/* Longest client address a node advertises in its hello. */
#define TRANSPORT_CLIENT_ADDR_MAX 128

struct transport_options {
	raft_id self;
	const char *listen_addr; /* "host:port" */
	uint64_t cluster_id;     /* hash of the initial cluster */
	const char *auth_token;  /* NULL: no authentication */
	/* This node's client address, told to every peer in the hello so
	 * that a follower can send clients to the leader.  NULL: none. */
	const char *advertise_client;
	size_t frame_limit;  /* 0: FRAME_LIMIT_DEFAULT */
	size_t max_buffered; /* per peer output bound; 0: 64 MiB */
	/* Peer TLS for accepting and dialling (the caller keeps it alive
	 * and may reload it: new connections use what is in force).  NULL:
	 * plaintext. */
	struct tls_context *tls;
	/* With TLS: the configuration whose members (voters and learners)
	 * may connect.  NULL function: anyone the certificate names. */
	const struct raft_config *(*members)(void *arg);
	void (*on_message)(void *arg, const struct raft_message *m);
	/* A peer's connection to us (after its hello) ended from its side:
	 * what the kernel does when that process dies.  NULL: not told. */
	void (*on_peer_down)(void *arg, raft_id id);
	/* One line per event: level is "info", "warn" or "error". */
	void (*log)(void *arg, const char *level, const char *msg);
	void *arg;
};

struct transport_peer_stats {
	raft_id id;
	bool connected;
	uint64_t sent_msgs;    /* handed to the connection */
	uint64_t dropped_msgs; /* not connected, over a bound, or lost
				  * with a failed connection */
	uint64_t sent_bytes;
	uint64_t received_msgs; /* on connections it dialled to us */
	uint64_t reconnects;    /* dials after a failure or a lost link */
	uint32_t rtt_us;        /* kernel's smoothed RTT; 0 if not connected */
};

/* Starts listening.  0 or a negative libuv error; err says what to fix
 * (e.g. "peer address 127.0.0.1:7001 is in use").  On failure *out is
 * NULL and any handle already opened is closed: run the loop once more,
 * as for any libuv handle, to release it. */
int transport_start(uv_loop_t *loop, const struct transport_options *o,
		    struct transport **out, char *err, size_t errlen);
/* Set the peers to dial (all members but self).  Peers no longer listed
 * are disconnected; new ones dialled. */
void transport_set_peers(struct transport *t, const struct raft_config *c);
void transport_send(struct transport *t, const struct raft_message *m);
bool transport_peer_stats(const struct transport *t, raft_id id,
			  struct transport_peer_stats *out);
/* The client address peer `id` advertised in its last hello, or NULL
 * when it never said hello to us (or advertised none). */
const char *transport_peer_client_addr(const struct transport *t, raft_id id);
/* Whether messages from peer `from` wait unread in the kernel (on a
 * connection it dialled, where its messages arrive). */
bool transport_input_waiting(const struct transport *t, raft_id from);
/* Close every handle; on_closed runs once all are closed. */
void transport_close(struct transport *t, void (*on_closed)(void *arg),
		     void *arg);

/* The port the listener is bound to (useful with port 0 in listen_addr,
 * e.g. in tests). */
int transport_listen_port(const struct transport *t);

/* A member's configuration address is "name=host:port" (tenured) or just
 * "host:port"; this is the part to dial. */
const char *transport_dial_addr(const char *config_addr);

/* Parse "host:port" (IPv4 or IPv6 literal) into a sockaddr. */
int transport_parse_addr(const char *s, struct sockaddr_storage *out);

#endif /* TENURE_SERVER_TRANSPORT_H */
