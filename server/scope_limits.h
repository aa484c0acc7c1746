/*
 * scope_limits.h — the per-scope limits as the service applies them:
 * which scope a client request names, and the words of a refusal.
 *
 * Contract
 * --------
 * Pure functions.  A request's scope is that of its key, lease name or
 * prefix (sm_scope_len: the part before the first '/'); requests naming
 * none (STATUS, a LIST of everything, names without '/') have none.
 * The refusal messages name the scope, the limit, the witness setting
 * and what to do, for tenurectl and the agents' logs to print as they
 * are (CONTRIBUTING.md "Errors").
 *
 * Errors: none.
 */
#ifndef TENURE_SERVER_SCOPE_LIMITS_H
#define TENURE_SERVER_SCOPE_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/client.h"

/* The scope a request names: its bytes in *scope, the length returned (0:
 * none). */
size_t scope_of_request(const struct client_request *q, const char **scope);
/* "scope main is at its quota of 10 keys (witness setting
 * scope_max_keys); delete keys or raise it"; kind is enum scope_quota_kind. */
void scope_quota_message(char *buf, size_t cap, const char *scope, size_t len,
			 int kind, uint64_t limit);
void scope_rate_message(char *buf, size_t cap, const char *scope, size_t len,
			uint64_t per_second);

#endif /* TENURE_SERVER_SCOPE_LIMITS_H */
