/*
 * tls.h — TLS for every listener and client of tenure, over OpenSSL 3:
 * contexts loaded from PEM files (and reloaded on SIGHUP), and a
 * per-connection engine that never touches a socket.
 *
 * Contract
 * --------
 * A context (struct tls_context) holds the certificate, key and trusted
 * CAs of one listener or client.  tls_context_load() checks the files the
 * way an operator needs: each error names the option's file and says
 * what is wrong (missing, unreadable, not PEM, key does not match the
 * certificate, certificate not signed by the CA, expired).  With both
 * cert_file and ca_file, the certificate must verify against ca_file:
 * one CA signs a whole cluster, and a certificate it did not sign would
 * only fail later, at every peer.
 * tls_context_reload() loads into a new OpenSSL context and swaps it in
 * only when everything loaded; on any error the old one stays in force.
 * Connections keep the OpenSSL context they were created with (OpenSSL
 * counts its references) until they are freed, so a reload never affects
 * a connection in progress.
 *
 * TLS 1.2 is the minimum; 1.3 is negotiated whenever both sides have it.
 * A client always verifies the server's certificate: against ca_file (or
 * the system's CAs without one) and against a name: server_name when the
 * configuration sets one, else the name passed to tls_conn_new() (a host
 * name or an IP address).  A server requires a client certificate signed
 * by ca_file only with verify_peer; with ask_peer it asks for one and
 * refuses one ca_file did not sign, but accepts a client that sends none
 * (the client port: a certificate authenticates its holder, anyone else
 * proves a secret).
 *
 * The engine (struct tls_conn) works on memory buffers: the caller feeds
 * it the ciphertext it read (tls_conn_feed), takes the ciphertext to send
 * (tls_conn_output / tls_conn_output_done) after every call, and moves
 * plaintext with tls_conn_read / tls_conn_write; the handshake advances
 * inside those calls.  Memory is bounded: at most TLS_INPUT_MAX bytes of
 * unread ciphertext are accepted, and one tls_conn_write encrypts at most
 * TLS_WRITE_CHUNK bytes, so the output the caller must take is bounded
 * too.  Plaintext is never buffered here.
 *
 * Loop thread only (no locking); OpenSSL's error queue is per thread and
 * cleared before each call, so one connection's errors never show up on
 * another.  common/stream.h is the usual user.
 */
#ifndef TENURE_COMMON_TLS_H
#define TENURE_COMMON_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tls_config {
	const char
		*cert_file;   /* PEM certificate (then its chain); NULL: none */
	const char *key_file; /* PEM private key of cert_file */
	const char *ca_file;  /* PEM CAs that sign the peers' certificates */
	/* Accepting side: refuse a client without a certificate signed by
	 * ca_file (the peer port's mutual TLS). */
	bool verify_peer;
	/* Accepting side: ask for a client certificate, refuse one not
	 * signed by ca_file, accept a client without one. */
	bool ask_peer;
	/* Connecting side: the name the server's certificate must carry
	 * (DNS SAN, or CN without DNS SANs, or an IP SAN); NULL: the name
	 * given to tls_conn_new(). */
	const char *server_name;
	/* The context accepts connections: cert_file and key_file are
	 * required. */
	bool server;
};

struct tls_context;

/* A context from cfg (the strings are copied), or NULL with the reason in
 * err. */
struct tls_context *tls_context_load(const struct tls_config *cfg, char *err,
				     size_t errlen);
/* Loads cfg (NULL: the files of the last successful load, re-read) into a
 * new OpenSSL context.  0: new connections use it; -1: err says why and
 * the context in force is unchanged. */
int tls_context_reload(struct tls_context *ctx, const struct tls_config *cfg,
		       char *err, size_t errlen);
/* Connections already made keep working until they are freed. */
void tls_context_free(struct tls_context *ctx);
/* Whether the context presents a certificate of its own (cert_file). */
bool tls_context_has_cert(const struct tls_context *ctx);

/* A program's names for the three files, for its messages
 * ("tls_cert_file", "--cert", ...). */
struct tls_option_names {
	const char *cert, *key, *ca;
};
/* The options of cfg checked together, before any file is read (pure):
 * a certificate and its key come together; a listener (cfg->server)
 * with a CA file needs its own certificate; a client's certificate
 * needs a CA file (the client speaks TLS only with one).  0, or -1 with
 * err naming the options by names. */
int tls_options_check(const struct tls_config *cfg,
		      const struct tls_option_names *names, char *err,
		      size_t errlen);

/* The names in a peer's certificate: its subject CN first (when it has
 * one), then its DNS subject alternative names, in order; names that do
 * not fit (over TLS_PEER_NAMES_MAX, TLS_NAME_MAX - 1 bytes or holding a
 * NUL) are left out. */
#define TLS_PEER_NAMES_MAX 8
#define TLS_NAME_MAX 256
struct tls_peer_names {
	unsigned count;
	char name[TLS_PEER_NAMES_MAX][TLS_NAME_MAX];
};
bool tls_peer_names_include(const struct tls_peer_names *p, const char *name);
/* The names of ctx's own certificate (none without one). */
void tls_context_cert_names(const struct tls_context *ctx,
			    struct tls_peer_names *out);
/* Whether a connecting side that expects name accepts ctx's own
 * certificate: a DNS SAN equal to name, or, only when the certificate has
 * no DNS SAN, its CN (what OpenSSL checks during the handshake). */
bool tls_context_cert_carries(const struct tls_context *ctx, const char *name);

/* The engine's bounds (see the contract). */
#define TLS_INPUT_MAX (256 * 1024)
#define TLS_WRITE_CHUNK (16 * 1024)

/* Results of tls_conn_handshake and tls_conn_read (besides a byte count). */
#define TLS_AGAIN 0   /* needs more ciphertext from the peer */
#define TLS_CLOSED -1 /* the peer sent close_notify: no more data */
#define TLS_ERROR -2  /* failed for good: tls_conn_error() says why */

struct tls_conn;

/* A connection on ctx's OpenSSL context in force: accepting (server) or
 * connecting; peer_name is what the server must be (see the contract),
 * ignored when accepting.  NULL when out of memory or when peer_name
 * cannot be set, with err. */
struct tls_conn *tls_conn_new(struct tls_context *ctx, bool server,
			      const char *peer_name, char *err, size_t errlen);
void tls_conn_free(struct tls_conn *c);

/* Ciphertext from the network.  0, or TLS_ERROR over TLS_INPUT_MAX. */
int tls_conn_feed(struct tls_conn *c, const void *data, size_t len);
/* Advances the handshake: 1 done, TLS_AGAIN, or TLS_ERROR.  A connecting
 * side calls it once first, to produce its hello. */
int tls_conn_handshake(struct tls_conn *c);
bool tls_conn_handshake_done(const struct tls_conn *c);
/* Plaintext received: a byte count > 0, TLS_AGAIN, TLS_CLOSED or
 * TLS_ERROR.  Call until it returns no bytes. */
ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t cap);
/* Encrypts up to TLS_WRITE_CHUNK bytes of data (handshake done): the
 * count taken, or TLS_ERROR. */
ssize_t tls_conn_write(struct tls_conn *c, const void *data, size_t len);
/* Queues close_notify (handshake done; otherwise nothing). */
void tls_conn_close_notify(struct tls_conn *c);
/* The ciphertext waiting to be sent: its length, *data pointing at it
 * (valid until the next call on c).  tls_conn_output_done() says the
 * caller took all of it. */
size_t tls_conn_output(struct tls_conn *c, const char **data);
void tls_conn_output_done(struct tls_conn *c);

/* After the handshake: the names of the peer's certificate (none when it
 * sent none). */
const struct tls_peer_names *tls_conn_peer_names(const struct tls_conn *c);
/* Why the last TLS_ERROR happened ("" before any). */
const char *tls_conn_error(const struct tls_conn *c);

#endif
