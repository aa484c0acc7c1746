/*
 * peer_tls.h — tenured's peer TLS settings: the three files of
 * peer_tls_cert_file, peer_tls_key_file and peer_tls_ca_file, loaded into
 * the one context the peer transport accepts and dials with.
 *
 * Contract
 * --------
 * All three files or none.  Loading checks what tls_context_load() does
 * (readable, PEM, the key is the certificate's, the certificate verifies
 * against the CA and has not expired) and one thing more: the
 * certificate names this witness the way the other witnesses check it
 * when they dial it (a DNS SAN equal to its name, or, without DNS SANs,
 * its CN).  Reloading (SIGHUP) checks the same before anything changes:
 * on any error the context in force stays.
 *
 * Errors: 0, or -1 with what to fix in err (naming the option).
 */
#ifndef TENURE_SERVER_PEER_TLS_H
#define TENURE_SERVER_PEER_TLS_H

#include <stddef.h>

#include "common/tls.h"

struct peer_tls_files {
	const char *cert_file;
	const char *key_file;
	const char *ca_file;
};

/* *out: the context, or NULL when none of the files is set. */
int peer_tls_load(const struct peer_tls_files *f, const char *name,
		  struct tls_context **out, char *err, size_t errlen);
/* Re-reads the files ctx was loaded from. */
int peer_tls_reload(struct tls_context *ctx, const struct peer_tls_files *f,
		    const char *name, char *err, size_t errlen);

#endif /* TENURE_SERVER_PEER_TLS_H */
