/*
 * auth_policy.c — see auth_policy.h.
 */
#include <string.h>

#include "server/auth_policy.h"

static bool read_op(uint32_t op)
{
	switch (op) {
	case CLIENT_OP_STATUS:
	case CLIENT_OP_HEALTH:
	case CLIENT_OP_VERSION:
	case CLIENT_OP_SUCCESSOR:
	case CLIENT_OP_SCOPES:
	case CLIENT_OP_MEMBER_LIST:
	case CLIENT_OP_GET:
	case CLIENT_OP_LIST:
	case CLIENT_OP_LIST_PAGE:
	case CLIENT_OP_LEASE_GET:
	case CLIENT_OP_LEASE_LIST:
	case CLIENT_OP_LEASE_LIST_PAGE:
	case CLIENT_OP_WATCH:
	case CLIENT_OP_CANCEL:
		return true;
	default:
		return false;
	}
}

/* s lies inside "scope/" (an empty s does not: it would mean everything). */
static bool in_scope(const char *scope, struct client_str s)
{
	size_t n = strlen(scope);
	return s.len > n && memcmp(s.p, scope, n) == 0 && s.p[n] == '/';
}

static const char *agent_check(const char *scope,
			       const struct client_request *q)
{
	static const char *const outside =
		"this agent credential is limited to its scope: the name is "
		"outside it";
	switch (q->op) {
	case CLIENT_OP_STATUS:
	case CLIENT_OP_HEALTH:
	case CLIENT_OP_VERSION:
	case CLIENT_OP_SUCCESSOR:
	case CLIENT_OP_MEMBER_LIST:
	case CLIENT_OP_CANCEL:
		return NULL;
	case CLIENT_OP_LEASE_ACQUIRE:
	case CLIENT_OP_LEASE_RENEW:
	case CLIENT_OP_LEASE_RELEASE:
	case CLIENT_OP_LEASE_GET:
		return in_scope(scope, q->name) ? NULL : outside;
	case CLIENT_OP_PUT:
	case CLIENT_OP_CAS:
		if (q->lease.len && !in_scope(scope, q->lease))
			return outside;
		return in_scope(scope, q->key) ? NULL : outside;
	case CLIENT_OP_GET:
	case CLIENT_OP_DELETE:
		return in_scope(scope, q->key) ? NULL : outside;
	case CLIENT_OP_LIST:
	case CLIENT_OP_LIST_PAGE:
	case CLIENT_OP_WATCH:
		return in_scope(scope, q->prefix) ? NULL : outside;
	default:
		return "an agent credential may not do this: it needs an "
		       "admin credential";
	}
}

const char *auth_policy_check(const struct credential *who,
			      const struct client_request *q)
{
	switch (who->role) {
	case AUTH_ROLE_ADMIN:
		return NULL;
	case AUTH_ROLE_READ_ONLY:
		return read_op(q->op) ? NULL
				      : "a read-only credential may not do "
					"this: it needs an admin or agent "
					"credential";
	case AUTH_ROLE_AGENT:
		return agent_check(who->scope, q);
	}
	return "unknown role";
}
