/*
 * api_cancel.c — DELETE /switchover and DELETE /restart: cancel what
 * was scheduled, as Patroni does and as `tenurectl cluster flush
 * switchover|restart` does.
 *
 *   /switchover  S/switchover goes when it has a time (at_ms): 200
 *                "scheduled switchover deleted"; a switchover asked for
 *                now is not cancelled (404 "no switchover is scheduled").
 *   /restart     this node leaves a scheduled S/restart (the key goes
 *                when it was the only one): 200 "scheduled restart
 *                deleted", else 404 "no restarts are scheduled".
 * The key is read, then deleted (or rewritten with a compare-and-swap);
 * a request that changed meanwhile is 409.
 */
#include <stdlib.h>
#include <string.h>

#include "fencing/api_int.h"
#include "fencing/flatjson.h"
#include "fencing/roster.h"

static void not_found(struct api_pending *p, bool restart)
{
	api_pending_answer(p, 404, "text/plain",
			   restart ? "no restarts are scheduled\n"
				   : "no switchover is scheduled\n");
}

static void changed(struct api_pending *p, int status,
		    const struct client_response *r)
{
	char msg[300];
	(void)r;
	if (status == CLIENT_OK) {
		api_pending_answer(p, 200, "text/plain", p->value);
		return;
	}
	snprintf(msg, sizeof(msg), "%s: %s",
		 status == CLIENT_COMPARE_FAILED ? "it changed meanwhile"
						 : "the witnesses refused",
		 client_status_name(status));
	api_pending_error(p, status == CLIENT_COMPARE_FAILED ? 409 : 503, msg,
			  p->key);
}

static void delete_key(struct api_pending *p, const char *said)
{
	struct client_request q = { .op = CLIENT_OP_DELETE };
	q.key = (struct client_str){ p->key, strlen(p->key) };
	snprintf(p->value, sizeof(p->value), "%s", said);
	api_witness_call(p, &q, changed);
}

/* ---- DELETE /switchover ---------------------------------------------------- */

static bool at_field(void *arg, const char *key, const struct flatjson_value *v,
		     char *err, size_t errlen)
{
	if (strcmp(key, "at_ms") == 0)
		return flatjson_u64(key, v, arg, err, errlen);
	return true;
}

static void switchover_read(struct api_pending *p, int status,
			    const struct client_response *r)
{
	uint64_t at = 0;
	char err[160];
	if (status != CLIENT_OK && status != CLIENT_NOT_FOUND) {
		changed(p, status, r);
		return;
	}
	if (status != CLIENT_OK || !r->present ||
	    !flatjson_parse(r->kv.value.p, r->kv.value.len, at_field, &at, err,
			    sizeof(err)) ||
	    !at) {
		not_found(p, false);
		return;
	}
	delete_key(p, "scheduled switchover deleted\n");
}

/* ---- DELETE /restart ---------------------------------------------------------- */

/* list without name into out. */
static void without(const char *list, const char *name, char *out, size_t cap)
{
	char n[MEMBER_STR_MAX];
	out[0] = '\0';
	for (const char *p = list; (p = roster_list_next(p, n, sizeof(n)));) {
		size_t len = strlen(out);
		if (strcmp(n, name) != 0)
			snprintf(out + len, cap - len, "%s%s", len ? "," : "",
				 n);
	}
}

static void restart_read(struct api_pending *p, int status,
			 const struct client_response *r)
{
	struct restart_request q;
	char err[160], rest[REQUEST_NODES_MAX];
	if (status != CLIENT_OK && status != CLIENT_NOT_FOUND) {
		changed(p, status, r);
		return;
	}
	if (status != CLIENT_OK || !r->present ||
	    !restart_request_decode(r->kv.value.p, r->kv.value.len, &q, err,
				    sizeof(err)) ||
	    !q.at_ms || !roster_in_list(q.nodes, p->node)) {
		not_found(p, true);
		return;
	}
	without(q.nodes, p->node, rest, sizeof(rest));
	if (!rest[0]) {
		delete_key(p, "scheduled restart deleted\n");
		return;
	}
	/* other nodes stay scheduled: only this one leaves */
	char value[sizeof(p->value)];
	snprintf(q.nodes, sizeof(q.nodes), "%s", rest);
	restart_request_encode(&q, value, sizeof(value));
	struct client_request w = { .op = CLIENT_OP_CAS };
	w.key = (struct client_str){ p->key, strlen(p->key) };
	w.value = (struct client_str){ value, strlen(value) };
	w.expected_revision = r->kv.mod_revision;
	snprintf(p->value, sizeof(p->value), "scheduled restart deleted\n");
	api_witness_call(p, &w, changed);
}

void api_cancel(struct api_server *s, const struct http_request *r,
		const char *path, struct http_response *res)
{
	bool restart = strcmp(path, "/restart") == 0;
	struct api_view v;
	memset(&v, 0, sizeof(v));
	s->fill(s->arg, &v);
	struct api_pending *p = api_pending_new(s, r, res);
	if (!p)
		return;
	snprintf(p->node, sizeof(p->node), "%s", api_self(&v)->name);
	api_pending_key(p, restart ? "restart" : "switchover");
	struct client_request q = { .op = CLIENT_OP_GET };
	q.key = (struct client_str){ p->key, strlen(p->key) };
	api_witness_call(p, &q, restart ? restart_read : switchover_read);
}
