/*
 * credentials.h — who may talk to a witness's client port, and as what:
 * the credentials file (credentials_file), one credential per line:
 *
 *   # NAME      ROLE          VERIFIER
 *   admin       admin         scram-sha-256$4096:...   (tenurectl auth hash)
 *   pg-main-1   agent:main    scram-sha-256$4096:...
 *   grafana     read-only     scram-sha-256$4096:...
 *   pg-main-2   agent:main    cert
 *
 * Contract
 * --------
 * Roles: "admin" (everything), "read-only" (status, get, list, watch),
 * "agent:SCOPE" (the leases and keys of SCOPE/ only; auth_policy.h says
 * exactly what).  The file holds verifiers, never secrets (common/
 * scram.h): reading it does not let anyone log in, though a weak secret
 * can be guessed from it offline, so keep it mode 0600.  Names are unique;
 * rotating a secret means adding a second credential with a new name and
 * the same role, moving the client to it, then removing the old line —
 * each witness re-reads the file on SIGHUP, and sessions of a credential
 * that is gone or changed are closed (that is revocation).
 *
 * The verifier `cert` makes a certificate-only credential: a client
 * whose TLS certificate (signed by the witness's tls_ca_file) carries
 * NAME as its subject CN or one of its DNS names is authenticated by the
 * handshake alone, with ROLE.  The two kinds do not mix: a `cert`
 * credential never answers a SCRAM HELLO (its name proves nothing
 * without the certificate), and a SCRAM credential is never granted to a
 * certificate (a certificate bearing its name must still prove the
 * secret).  One client may have both, under two names.
 *
 * Errors: credentials_load returns NULL with a message naming the file,
 * the line and what to do; nothing is logged here.
 */
#ifndef TENURE_PROTO_CREDENTIALS_H
#define TENURE_PROTO_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/scram.h"
#include "common/tls.h"
#include "proto/client.h"
#include "proto/limits.h"

enum auth_role {
	AUTH_ROLE_ADMIN,
	AUTH_ROLE_READ_ONLY,
	AUTH_ROLE_AGENT,
};

struct credential {
	char name[CLIENT_NAME_MAX + 1];
	enum auth_role role;
	char scope[SM_KEY_MAX + 1]; /* AUTH_ROLE_AGENT */
	bool cert;                  /* certificate-only: no verifier */
	struct scram_verifier verifier;
};

struct credentials {
	struct credential *items;
	size_t n;
};

struct credentials *credentials_load(const char *path, char *err,
				     size_t errlen);
/* Parses the text of a credentials file (what credentials_load reads);
 * origin names it in errors. */
struct credentials *credentials_parse(const char *text, const char *origin,
				      char *err, size_t errlen);
void credentials_free(struct credentials *c);
const struct credential *credentials_find(const struct credentials *c,
					  const char *name, size_t len);
/* credentials_find, for SCRAM: NULL for a certificate-only credential. */
const struct credential *credentials_find_scram(const struct credentials *c,
						const char *name, size_t len);
/* The certificate-only credential of the first of a certificate's names
 * (tls.h: its CN, then its DNS names) that has one, or NULL. */
const struct credential *credentials_match_cert(
	const struct credentials *c, const struct tls_peer_names *names);
/* Whether a and b grant the same thing to the same secret (a session
 * authenticated by a survives a reload that yields b). */
bool credential_same(const struct credential *a, const struct credential *b);
/* "admin", "read-only" or "agent:SCOPE" into out. */
void credential_role_text(const struct credential *c, char *out, size_t cap);

#endif
