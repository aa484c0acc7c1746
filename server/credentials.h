/*
 * credentials.h — who may talk to a witness's client port, and as what:
 * the credentials file (credentials_file), one credential per line:
 *
 *   # NAME      ROLE          VERIFIER
 *   admin       admin         scram-sha-256$4096:...   (tenurectl auth hash)
 *   pg-main-1   agent:main    scram-sha-256$4096:...
 *   grafana     read-only     scram-sha-256$4096:...
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
 * Errors: credentials_load returns NULL with a message naming the file,
 * the line and what to do; nothing is logged here.
 */
#ifndef TENURE_SERVER_CREDENTIALS_H
#define TENURE_SERVER_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/scram.h"
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
/* Whether a and b grant the same thing to the same secret (a session
 * authenticated by a survives a reload that yields b). */
bool credential_same(const struct credential *a, const struct credential *b);
/* "admin", "read-only" or "agent:SCOPE" into out. */
void credential_role_text(const struct credential *c, char *out, size_t cap);

#endif
