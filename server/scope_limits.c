/*
 * scope_limits.c — see scope_limits.h.
 */
#include <stdio.h>

#include "server/scope_limits.h"
#include "server/scope_admit.h"

static size_t scope_in(struct client_str s, const char **scope)
{
	*scope = s.p;
	return s.p ? sm_scope_len(s.p, s.len) : 0;
}

size_t scope_of_request(const struct client_request *q, const char **scope)
{
	*scope = NULL;
	switch (q->op) {
	case CLIENT_OP_LEASE_ACQUIRE:
	case CLIENT_OP_LEASE_RENEW:
	case CLIENT_OP_LEASE_RELEASE:
	case CLIENT_OP_LEASE_GET:
		return scope_in(q->name, scope);
	case CLIENT_OP_PUT:
	case CLIENT_OP_CAS:
	case CLIENT_OP_GET:
	case CLIENT_OP_DELETE:
		return scope_in(q->key, scope);
	case CLIENT_OP_LIST:
	case CLIENT_OP_LIST_PAGE:
	case CLIENT_OP_WATCH:
		return scope_in(q->prefix, scope);
	}
	return 0;
}

void scope_quota_message(char *buf, size_t cap, const char *scope, size_t len,
			 int kind, uint64_t limit)
{
	const char *what = "keys", *setting = "scope_max_keys",
		   *fix = "delete keys";

	if (kind == SCOPE_QUOTA_BYTES) {
		what = "bytes of keys and values";
		setting = "scope_max_bytes";
	} else if (kind == SCOPE_QUOTA_LEASES) {
		what = "leases";
		setting = "scope_max_leases";
		fix = "release leases";
	}
	snprintf(buf, cap,
		 "scope %.*s is at its quota of %llu %s (witness setting "
		 "%s); %s or raise it",
		 (int)len, scope, (unsigned long long)limit, what, setting,
		 fix);
}

void scope_rate_message(char *buf, size_t cap, const char *scope, size_t len,
			uint64_t per_second)
{
	snprintf(buf, cap,
		 "scope %.*s is over its rate of %llu requests/s (witness "
		 "setting scope_max_requests_per_second); busy, retry",
		 (int)len, scope, (unsigned long long)per_second);
}
