/*
 * http_auth.h — who may write through the agent's HTTP API (POST, PATCH):
 * HTTP Basic credentials checked against http_credentials_file, a file in
 * the witnesses' credentials format (proto/credentials.h: NAME ROLE
 * VERIFIER lines, verifiers from `tenurectl auth new` or `auth hash`).
 *
 * Contract
 * --------
 * A password is right when PBKDF2 of it with the verifier's salt and
 * iteration count gives the verifier's StoredKey (common/scram.h),
 * compared in constant time; the file holds no password.  Roles: admin
 * may write; read-only and agent:SCOPE lines authenticate but may not
 * (HTTP_AUTH_FORBIDDEN); `cert` lines never match a password.
 *
 * Cost: a PBKDF2 takes milliseconds on the agent's loop, so
 *   - a verified (name, password) is remembered for HTTP_AUTH_CACHE_MS:
 *     a keyed hash of it (the key random per process), never the
 *     password, in a few slots; a changed file (http_auth_load again)
 *     starts empty;
 *   - at most HTTP_AUTH_BUDGET checks that are not remembered run per
 *     second; beyond that the answer is HTTP_AUTH_BUSY at once (a guessing
 *     flood costs the loop a bounded share).
 * An unknown name costs the same PBKDF2 as a known one (a decoy
 * verifier), so timing does not tell which names exist.
 *
 * Errors: http_auth_load returns NULL with a message naming the file;
 * http_auth_check's verdict says what to answer; nothing is logged here.
 */
#ifndef TENURE_FENCING_HTTP_AUTH_H
#define TENURE_FENCING_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_AUTH_CACHE_MS 60000
#define HTTP_AUTH_CACHE_SLOTS 8
#define HTTP_AUTH_BUDGET 20 /* uncached checks per second */
#define HTTP_AUTH_NAME_MAX 64
#define HTTP_AUTH_PASSWORD_MAX 256

enum http_auth_verdict {
	HTTP_AUTH_OK,        /* an admin: may write */
	HTTP_AUTH_MISSING,   /* no Authorization, or not Basic: 401 */
	HTTP_AUTH_WRONG,     /* unknown name or wrong password: 401 */
	HTTP_AUTH_FORBIDDEN, /* right password, role may not write: 403 */
	HTTP_AUTH_BUSY,      /* over HTTP_AUTH_BUDGET: 503 */
};

/* "Basic BASE64(name:password)" (scheme in any case) into name and
 * password, NUL-terminated: false when it is not that, or a part does not
 * fit, or the name is empty. */
bool http_auth_parse_basic(const char *header, char *name, size_t name_cap,
			   char *password, size_t password_cap);

struct credential;

/* Whether password is the secret behind c's verifier (false for a
 * certificate-only credential). */
bool http_auth_password_ok(const struct credential *c, const char *password);

struct http_auth;

struct http_auth *http_auth_load(const char *path, char *err, size_t errlen);
/* The same from the file's text (tests). */
struct http_auth *http_auth_parse(const char *text, const char *origin,
				  char *err, size_t errlen);
void http_auth_free(struct http_auth *a);

/* authorization: the header's value or NULL; now_ms: a monotonic clock.
 * name gets the name tried ("" when none), for the log. */
enum http_auth_verdict http_auth_check(struct http_auth *a,
				       const char *authorization,
				       uint64_t now_ms, char *name,
				       size_t name_cap);

#endif
