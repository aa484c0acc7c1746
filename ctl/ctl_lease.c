/*
 * ctl_lease.c — tenurectl lease acquire|renew|release|get|list.
 *
 * A write always prints the lease as the witnesses answered it, also for
 * a "no": a refused acquire shows who holds the lease, which is what the
 * operator wants to know next.
 */
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/ctl_kv.h"
#include "proto/limits.h"

/* "held by h1 with token 5" or "free", for the messages on stderr. */
static void describe(const struct client_lease *l, char *buf, size_t len)
{
	if (!l->holder.len)
		snprintf(buf, len, "it is free");
	else
		snprintf(buf, len, "it is held by %.*s with token %llu",
			 (int)l->holder.len, l->holder.p,
			 (unsigned long long)l->token);
}

static int name_arg(struct ctl *c, const char **name)
{
	*name = c->args[0];
	if (!**name)
		return ctl_usage_error(c, "the lease NAME must not be empty");
	return 0;
}

/* The answer's lease, or the name asked about when there is none. */
static struct client_lease answered_lease(const struct tclient_result *res,
					  const char *name)
{
	struct client_lease l;
	if (res->r.present)
		return res->r.lease;
	memset(&l, 0, sizeof(l));
	l.name = ctl_str(name);
	return l;
}

/* Prints a lease write's outcome and the reason for a "no". */
static int lease_write(struct ctl *c, struct client_request *q,
		       const char *what, const char *flag)
{
	struct tclient_result res;
	int code = ctl_call(c, q, what, &res);
	if (ctl_answered(code)) {
		char buf[SM_HOLDER_MAX + 64];
		struct client_lease l = answered_lease(&res, q->name.p);
		ctl_print_lease_outcome(c, &l, flag, code == CTL_EXIT_OK);
		describe(&l, buf, sizeof(buf));
		if (res.status == CLIENT_HELD)
			fprintf(stderr,
				CTL_PROG ": lease '%s' not granted: "
					 "%s\n",
				q->name.p, buf);
		else if (res.status == CLIENT_NOT_FOUND)
			fprintf(stderr, CTL_PROG ": there is no lease '%s'\n",
				q->name.p);
		else if (res.status == CLIENT_NOT_HOLDER)
			fprintf(stderr,
				CTL_PROG ": %s does not hold lease "
					 "'%s' with token %llu: %s\n",
				q->holder.p, q->name.p,
				(unsigned long long)q->lease_token, buf);
		else if (code == CTL_EXIT_NO)
			fprintf(stderr, CTL_PROG ": %s refused: %s\n", what,
				client_status_name(res.status));
	}
	tclient_result_free(&res);
	return code;
}

int ctl_cmd_lease_acquire(struct ctl *c)
{
	struct client_request q;
	const char *name, *holder;
	memset(&q, 0, sizeof(q));
	if (name_arg(c, &name) || ctl_opt_str(c, "holder", &holder) ||
	    ctl_opt_duration(c, "ttl", true, 0, 1, &q.ttl_ms))
		return CTL_EXIT_ERROR;
	if (q.ttl_ms < SM_TTL_MIN_MS || q.ttl_ms > SM_TTL_MAX_MS)
		return ctl_usage_error(c, "--ttl must be between %u ms and 24h",
				       SM_TTL_MIN_MS);
	q.op = CLIENT_OP_LEASE_ACQUIRE;
	q.name = ctl_str(name);
	q.holder = ctl_str(holder);
	return lease_write(c, &q, "lease acquire", "granted");
}

/* Renew and release: the same holder and token checks. */
static int holder_token(struct ctl *c, uint32_t op, const char *what,
			const char *flag)
{
	struct client_request q;
	const char *name, *holder;
	memset(&q, 0, sizeof(q));
	if (name_arg(c, &name) || ctl_opt_str(c, "holder", &holder) ||
	    ctl_opt_u64(c, "token", true, 0, 1, UINT64_MAX, &q.lease_token))
		return CTL_EXIT_ERROR;
	q.op = op;
	q.name = ctl_str(name);
	q.holder = ctl_str(holder);
	return lease_write(c, &q, what, flag);
}

int ctl_cmd_lease_renew(struct ctl *c)
{
	return holder_token(c, CLIENT_OP_LEASE_RENEW, "lease renew", "renewed");
}

int ctl_cmd_lease_release(struct ctl *c)
{
	return holder_token(c, CLIENT_OP_LEASE_RELEASE, "lease release",
			    "released");
}

int ctl_cmd_lease_get(struct ctl *c)
{
	struct client_request q;
	const char *name;
	memset(&q, 0, sizeof(q));
	if (name_arg(c, &name))
		return CTL_EXIT_ERROR;
	q.op = CLIENT_OP_LEASE_GET;
	q.name = ctl_str(name);
	q.consistency = c->consistency;
	struct tclient_result res;
	int code = ctl_call(c, &q, "lease get", &res);
	if (code == CTL_EXIT_OK && res.r.present)
		ctl_print_lease_outcome(c, &res.r.lease, NULL, true);
	else if (code == CTL_EXIT_NO)
		fprintf(stderr, CTL_PROG ": there is no lease '%s'\n", name);
	tclient_result_free(&res);
	return code;
}

int ctl_cmd_lease_list(struct ctl *c)
{
	struct client_request q;
	memset(&q, 0, sizeof(q));
	q.op = CLIENT_OP_LEASE_LIST_PAGE;
	q.consistency = c->consistency;
	struct ctl_pages p;
	int code = ctl_call_pages(c, &q, "lease list", &p);
	if (code == CTL_EXIT_OK)
		ctl_print_leases(c, p.leases, p.count);
	ctl_pages_free(&p);
	return code;
}
