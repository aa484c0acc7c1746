/*
 * ctl_kv.c — tenurectl put|get|del|list.
 *
 * A put attached to a lease carries the lease's fencing token (sm.h): the
 * witnesses refuse it unless that grant is still the current one, so a
 * put from a holder that lost its lease cannot attach a key to the next
 * holder's grant.  tenurectl never looks the token up by itself, which
 * would defeat exactly that check: the caller names the grant it holds.
 */
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/ctl_kv.h"

static int key_arg(struct ctl *c, const char **key)
{
	*key = c->args[0];
	if (!**key)
		return ctl_usage_error(c, "the KEY must not be empty");
	return 0;
}

static void print_kv(const struct ctl *c, const struct client_kv *kv)
{
	if (c->format == CTL_JSON) {
		struct json j;
		json_init_file(&j, stdout, 0);
		ctl_json_kv(&j, kv);
	} else {
		ctl_print_kvs(c, kv, 1);
	}
}

/* --lease and --token come together or not at all; --expect-revision
 * turns the put into a compare-and-swap. */
static int put_options(struct ctl *c, struct client_request *q)
{
	const char *lease = ctl_opt(c, "lease");
	bool has_token = ctl_opt(c, "token") != NULL;
	if (lease && !*lease)
		return ctl_usage_error(c, "--lease must not be empty");
	if (lease && !has_token)
		return ctl_usage_error(c,
				       "--lease needs --token T, the fencing "
				       "token of the lease's current grant "
				       "(see '" CTL_PROG " lease get %s')",
				       lease);
	if (has_token && !lease)
		return ctl_usage_error(c, "--token needs --lease NAME");
	if (lease &&
	    ctl_opt_u64(c, "token", true, 0, 1, UINT64_MAX, &q->lease_token))
		return CTL_EXIT_ERROR;
	q->lease = ctl_str(lease);
	q->op = CLIENT_OP_PUT;
	if (ctl_opt(c, "expect-revision")) {
		q->op = CLIENT_OP_CAS;
		if (ctl_opt_u64(c, "expect-revision", true, 0, 0, UINT64_MAX,
				&q->expected_revision))
			return CTL_EXIT_ERROR;
	}
	return 0;
}

static void explain_put_no(const struct client_request *q,
			   const struct tclient_result *res)
{
	if (res->status == CLIENT_NO_LEASE)
		fprintf(stderr,
			CTL_PROG ": key '%s' not written: lease '%.*s' "
				 "is not held with token %llu\n",
			q->key.p, (int)q->lease.len, q->lease.p,
			(unsigned long long)q->lease_token);
	else if (res->status == CLIENT_COMPARE_FAILED && res->r.present)
		fprintf(stderr,
			CTL_PROG ": key '%s' not written: its mod "
				 "revision is %llu, not %llu\n",
			q->key.p, (unsigned long long)res->r.kv.mod_revision,
			(unsigned long long)q->expected_revision);
	else if (res->status == CLIENT_COMPARE_FAILED)
		fprintf(stderr,
			CTL_PROG ": key '%s' not written: it does not "
				 "exist (expected revision %llu)\n",
			q->key.p, (unsigned long long)q->expected_revision);
	else
		fprintf(stderr, CTL_PROG ": key '%s' not written: %s\n",
			q->key.p, client_status_name(res->status));
}

int ctl_cmd_put(struct ctl *c)
{
	struct client_request q;
	const char *key;
	memset(&q, 0, sizeof(q));
	if (key_arg(c, &key) || put_options(c, &q))
		return CTL_EXIT_ERROR;
	q.key = ctl_str(key);
	q.value = ctl_str(c->args[1]);
	struct tclient_result res;
	int code = ctl_call(c, &q, "put", &res);
	if (ctl_answered(code) && res.r.present)
		print_kv(c, &res.r.kv);
	if (code == CTL_EXIT_NO)
		explain_put_no(&q, &res);
	tclient_result_free(&res);
	return code;
}

int ctl_cmd_get(struct ctl *c)
{
	struct client_request q;
	const char *key;
	memset(&q, 0, sizeof(q));
	if (key_arg(c, &key))
		return CTL_EXIT_ERROR;
	q.op = CLIENT_OP_GET;
	q.key = ctl_str(key);
	q.consistency = c->consistency;
	struct tclient_result res;
	int code = ctl_call(c, &q, "get", &res);
	if (code == CTL_EXIT_OK && res.r.present)
		print_kv(c, &res.r.kv);
	else if (code == CTL_EXIT_NO)
		fprintf(stderr, CTL_PROG ": key '%s' not found\n", key);
	tclient_result_free(&res);
	return code;
}

int ctl_cmd_del(struct ctl *c)
{
	struct client_request q;
	const char *key;
	memset(&q, 0, sizeof(q));
	if (key_arg(c, &key))
		return CTL_EXIT_ERROR;
	q.op = CLIENT_OP_DELETE;
	q.key = ctl_str(key);
	struct tclient_result res;
	int code = ctl_call(c, &q, "del", &res);
	if (ctl_answered(code) && c->format == CTL_JSON) {
		struct json j;
		json_init_file(&j, stdout, 0);
		json_object(&j);
		json_key(&j, "key");
		ctl_json_cstr(&j, q.key);
		json_key(&j, "deleted");
		json_bool(&j, code == CTL_EXIT_OK);
		json_key(&j, "revision");
		json_u64(&j, res.r.revision);
		json_end(&j);
	} else if (code == CTL_EXIT_OK) {
		printf("deleted %s (revision %llu)\n", key,
		       (unsigned long long)res.r.revision);
	}
	if (code == CTL_EXIT_NO)
		fprintf(stderr, CTL_PROG ": key '%s' not found\n", key);
	tclient_result_free(&res);
	return code;
}

int ctl_cmd_list(struct ctl *c)
{
	struct client_request q;
	memset(&q, 0, sizeof(q));
	q.op = CLIENT_OP_LIST_PAGE;
	q.prefix = ctl_str(c->n_args ? c->args[0] : "");
	q.consistency = c->consistency;
	struct ctl_pages p;
	int code = ctl_call_pages(c, &q, "list", &p);
	if (code == CTL_EXIT_OK)
		ctl_print_kvs(c, p.kvs, p.count);
	ctl_pages_free(&p);
	return code;
}
