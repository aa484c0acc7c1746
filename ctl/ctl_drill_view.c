/*
 * ctl_drill_view.c — cluster drill reads the cluster: the lease S/primary
 * and the member records, as one view per poll (ctl_drill_int.h).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_drill_int.h"
#include "fencing/roster.h"

/* ---- reading the cluster ------------------------------------------------- */

/* One request: loud (errors printed, exit code) before the drill starts,
 * quiet and bounded while the cluster changes hands. */
int drill_call(struct drill *d, const struct client_request *q,
	       const char *what, struct tclient_result *res, bool quiet)
{
	if (!quiet)
		return ctl_call(d->c, q, what, res);
	uint64_t t = d->c->timeout_ms < DRILL_CALL_MS ? d->c->timeout_ms
						      : DRILL_CALL_MS;
	int st = ctl_pg_quiet_call(d->c, q, t, res);
	return st < 0 ? CTL_EXIT_ERROR : ctl_exit_for(st);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name,
		      ((const struct member *)b)->name);
}

void drill_view_free(struct view *v)
{
	free(v->m);
	v->m = NULL;
	v->n = 0;
}

/* A paged list under S/rest: loud or quiet as drill_call() is. */
int drill_list_pages(struct drill *d, const char *rest, const char *start_after,
		     struct ctl_pages *p, bool quiet)
{
	char prefix[SM_KEY_MAX + 1];
	struct client_request q = { .op = CLIENT_OP_LIST_PAGE };
	drill_scoped(prefix, sizeof(prefix), d->scope, rest);
	q.prefix = ctl_str(prefix);
	q.start_after = ctl_str(start_after);
	q.consistency = d->c->consistency;
	if (!quiet)
		return ctl_call_pages(d->c, &q, "list", p);
	uint64_t t = d->c->timeout_ms < DRILL_CALL_MS ? d->c->timeout_ms
						      : DRILL_CALL_MS;
	return ctl_call_pages_quiet(d->c, &q, t, p);
}

static int view_members(struct drill *d, struct view *v, bool quiet)
{
	char err[160];
	struct ctl_pages res;
	int code = drill_list_pages(d, "members/", NULL, &res, quiet);
	if (code == CTL_EXIT_OK && res.count &&
	    !(v->m = calloc(res.count, sizeof(*v->m))))
		code = CTL_EXIT_ERROR;
	for (size_t i = 0; code == CTL_EXIT_OK && i < res.count; i++) {
		const struct client_kv *kv = &res.kvs[i];
		if (member_decode(kv->value.p, kv->value.len, &v->m[v->n], err,
				  sizeof(err)))
			v->n++;
		else if (!quiet)
			fprintf(stderr,
				CTL_PROG ": warning: ignoring %.*s: "
					 "%s\n",
				(int)kv->key.len, kv->key.p, err);
	}
	ctl_pages_free(&res);
	if (v->n)
		qsort(v->m, v->n, sizeof(*v->m), by_name);
	return code == CTL_EXIT_ERROR ? code : 0;
}

/* The lease S/primary and the member records; 0 or an exit code. */
int drill_view_read(struct drill *d, struct view *v, bool quiet)
{
	char name[SM_KEY_MAX + 1];
	struct client_request q = { .op = CLIENT_OP_LEASE_GET };
	struct tclient_result res;
	memset(v, 0, sizeof(*v));
	drill_scoped(name, sizeof(name), d->scope, "primary");
	q.name = ctl_str(name);
	q.consistency = d->c->consistency;
	int code = drill_call(d, &q, "lease get", &res, quiet);
	if (code == CTL_EXIT_OK && res.r.present && res.r.lease.holder.len) {
		roster_holder_name(res.r.lease.holder.p, res.r.lease.holder.len,
				   v->holder, sizeof(v->holder));
		v->token = res.r.lease.token;
	}
	tclient_result_free(&res);
	if (code == CTL_EXIT_ERROR)
		return code;
	code = view_members(d, v, quiet);
	if (code)
		drill_view_free(v);
	return code;
}

const struct member *drill_find(const struct view *v, const char *name)
{
	for (size_t i = 0; name[0] && i < v->n; i++)
		if (strcmp(v->m[i].name, name) == 0)
			return &v->m[i];
	return NULL;
}
