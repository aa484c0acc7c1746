/*
 * agent_tls.h — tenure-agent's TLS: to the witnesses (witness_ca_file,
 * and a client certificate with witness_cert_file, witness_key_file) and
 * on its own HTTP API (http_tls_cert_file, http_tls_key_file).
 *
 * Contract
 * --------
 * agent_tls_check() is pure: the options checked together before any
 * file is read (a certificate needs its key; the witness certificate
 * needs witness_ca_file, since the agent speaks TLS to the witnesses
 * only with it).  agent_tls_load() loads what is configured (a context
 * left NULL is plaintext), checking the files as tls.h does.  The
 * witnesses' certificates must carry the IP addresses of `witnesses`
 * (proto/tclient.h).
 *
 * Errors: 0, or -1 with a message naming the options in err.
 */
#ifndef TENURE_FENCING_AGENT_TLS_H
#define TENURE_FENCING_AGENT_TLS_H

#include <stddef.h>

#include "common/tls.h"
#include "fencing/agent.h"

struct agent_tls {
	struct tls_context *witness; /* NULL: plaintext to the witnesses */
	struct tls_context *http;    /* NULL: plain HTTP */
};

int agent_tls_check(const struct agent_conf *c, char *err, size_t errlen);
int agent_tls_load(const struct agent_conf *c, struct agent_tls *out, char *err,
		   size_t errlen);
void agent_tls_free(struct agent_tls *t);
/* SIGHUP: re-reads the files of each context in force (tls.h: new
 * connections use them, a file that does not load keeps the old one);
 * logs what happened.  Settings themselves are not re-read. */
void agent_tls_reload(struct agent_tls *t);

#endif
