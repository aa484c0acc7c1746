/*
 * exposure.h — secure by default: which of a witness's listeners reach
 * the network without the protection they need.
 *
 * Contract
 * --------
 * A listener on loopback (127.0.0.0/8, ::1) needs nothing.  Elsewhere
 * (a routable address or a wildcard):
 *   - the client port needs TLS and credentials (anyone who reaches it
 *     could otherwise steer failover);
 *   - the peer port needs mutual TLS (anyone could pose as a witness);
 *   - the HTTP port is read-only (health, status, metrics) and needs
 *     nothing; it speaks TLS whenever the client port does.
 * tenured refuses to start with an exposure unless told --insecure, and
 * then warns at start and in /health (status.h).  Pure function: the
 * caller says what is configured.
 *
 * Errors: none; the result is the number of exposures, described in out.
 */
#ifndef TENURE_SERVER_EXPOSURE_H
#define TENURE_SERVER_EXPOSURE_H

#include <stdbool.h>
#include <stddef.h>

struct witness_guards {
	const char *listen_client, *listen_peer;
	bool client_tls;  /* tls_cert_file */
	bool credentials; /* credentials_file */
	bool peer_tls;    /* peer_tls_cert_file (mutual) */
};

/* The exposures, "; "-separated, into out (empty when none); how many. */
int witness_exposures(const struct witness_guards *g, char *out, size_t cap);

#endif
