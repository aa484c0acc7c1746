/*
 * exposure.h — secure by default, the agent's side: what of this node
 * reaches the network without its protection.
 *
 * Contract
 * --------
 * Loopback (127.0.0.0/8, ::1) needs nothing.  Elsewhere:
 *   - the agent's API (listen_http) needs HTTPS (http_tls_cert_file);
 *   - witnesses dialled off loopback need TLS (witness_ca_file) and a
 *     credential (witness_user): without them the agent's traffic, and
 *     the scope it steers, are open to whoever sits on the network;
 *   - Postgres listening off loopback (pg_listen) needs passwords
 *     (pg_superuser_password_file, replication_password_file): bootstrap
 *     would otherwise trust every login.
 * tenure-agent refuses to start with an exposure unless told --insecure,
 * and then warns at start and in its health bodies ("insecure").  Pure
 * function over the configuration.
 *
 * Errors: none; the result is the number of exposures, described in out.
 */
#ifndef TENURE_FENCING_EXPOSURE_H
#define TENURE_FENCING_EXPOSURE_H

#include <stddef.h>

#include "fencing/agent.h"

/* The exposures, "; "-separated, into out (empty when none); how many. */
int agent_exposures(const struct agent_conf *c, char *out, size_t cap);

#endif
