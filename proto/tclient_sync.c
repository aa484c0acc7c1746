/*
 * tclient_sync.c — the one-shot call for the CLI (see tclient.h): a
 * private loop and client for one request, and a response that owns its
 * memory so it outlives both.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proto/tclient.h"

/* ---- deep copy of a response ----------------------------------------------- */

/* Two passes over the same walk: the first (base NULL) only measures, the
 * second copies into one allocation of exactly that size. */
struct arena {
	char *base;
	size_t used;
};

static void *take(struct arena *a, size_t n, size_t align)
{
	void *p;

	a->used = (a->used + align - 1) / align * align;
	p = a->base ? a->base + a->used : NULL;
	a->used += n;
	return p;
}

/* Copies are NUL-terminated too, which the CLI finds handy for printing. */
static void copy_str(struct arena *a, struct client_str *s)
{
	char *p = take(a, s->len + 1, 1);

	if (!p)
		return;
	if (s->len)
		memcpy(p, s->p, s->len);
	p[s->len] = '\0';
	s->p = p;
}

static void copy_lease(struct arena *a, struct client_lease *l)
{
	copy_str(a, &l->name);
	copy_str(a, &l->holder);
}

static void copy_kv(struct arena *a, struct client_kv *kv)
{
	copy_str(a, &kv->key);
	copy_str(a, &kv->value);
	copy_str(a, &kv->lease);
}

static void copy_member(struct arena *a, struct client_member *m)
{
	copy_str(a, &m->name);
	copy_str(a, &m->peer_addr);
	copy_str(a, &m->client_addr);
	copy_str(a, &m->http_addr);
}

/* Copies an array of n elements of size bytes and returns where they now
 * are (the source itself while measuring; NULL for no array). */
static void *copy_array(struct arena *a, void *items, size_t n, size_t size)
{
	void *p;

	if (!items || !n)
		return NULL;
	p = take(a, n * size, _Alignof(max_align_t));
	if (!p)
		return items;
	memcpy(p, items, n * size);
	return p;
}

static void copy_arrays(struct arena *a, struct client_response *r)
{
	r->leases = copy_array(a, r->leases, r->n, sizeof(*r->leases));
	r->kvs = copy_array(a, r->kvs, r->n, sizeof(*r->kvs));
	r->members = copy_array(a, r->members, r->n, sizeof(*r->members));
	r->scopes = copy_array(a, r->scopes, r->n, sizeof(*r->scopes));
	for (uint32_t i = 0; r->scopes && i < r->n; i++)
		copy_str(a, &r->scopes[i].name);
	for (uint32_t i = 0; r->leases && i < r->n; i++)
		copy_lease(a, &r->leases[i]);
	for (uint32_t i = 0; r->kvs && i < r->n; i++)
		copy_kv(a, &r->kvs[i]);
	for (uint32_t i = 0; r->members && i < r->n; i++)
		copy_member(a, &r->members[i]);
}

static void copy_response(struct arena *a, struct client_response *r)
{
	copy_arrays(a, r);
	copy_str(a, &r->message);
	copy_str(a, &r->leader_client);
	copy_lease(a, &r->lease);
	copy_kv(a, &r->kv);
	copy_str(a, &r->status_body.name);
	copy_str(a, &r->status_body.role);
	copy_str(a, &r->status_body.leader);
	copy_str(a, &r->health_body.reason);
	copy_str(a, &r->version_body.version);
}

bool tclient_result_copy(struct tclient_result *res, int status,
			 const struct client_response *r)
{
	struct client_response measure = *r;
	struct arena a = { NULL, 0 };

	tclient_result_free(res);
	res->status = status;
	copy_response(&a, &measure);
	if (!(a.base = malloc(a.used ? a.used : 1)))
		return false;
	a.used = 0;
	res->r = *r;
	copy_response(&a, &res->r);
	res->mem = a.base;
	res->has_response = true;
	return true;
}

void tclient_result_free(struct tclient_result *res)
{
	free(res->mem);
	memset(res, 0, sizeof(*res));
}

/* ---- the call ------------------------------------------------------------------ */

struct sync_call {
	struct tclient_result *res;
	struct tclient *client;
	bool done;
};

static void on_answer(void *arg, int status, const struct client_response *r)
{
	struct sync_call *s = arg;

	s->done = true;
	s->res->status = status;
	if (r && !tclient_result_copy(s->res, status, r))
		s->res->status = CLIENT_EINTERNAL;
	s->res->outcome_unknown = tclient_outcome_unknown(s->client);
}

static void run_until_done(uv_loop_t *loop, const struct sync_call *s)
{
	/* The request's deadline keeps a timer armed until it is answered;
	 * a loop with nothing left to run would mean a bug, not a wait. */
	while (!s->done)
		if (!uv_run(loop, UV_RUN_ONCE) && !s->done)
			break;
}

static int call(uv_loop_t *loop, const struct tclient_options *o,
		const struct client_request *req, uint64_t timeout_ms,
		struct sync_call *s)
{
	struct tclient *c;
	int rv = tclient_new(loop, o, &c);

	if (rv)
		return rv;
	s->client = c;
	rv = tclient_request(c, req, timeout_ms, on_answer, s);
	if (!rv)
		run_until_done(loop, s);
	tclient_close(c, NULL, NULL);
	uv_run(loop, UV_RUN_DEFAULT); /* until the client's handles close */
	return rv;
}

int tclient_call_sync(const struct tclient_options *o,
		      const struct client_request *req, uint64_t timeout_ms,
		      struct tclient_result *res)
{
	struct sync_call s = { res, NULL, false };
	uv_loop_t loop;
	int rv;

	memset(res, 0, sizeof(*res));
	res->status = CLIENT_EINTERNAL;
	if ((rv = uv_loop_init(&loop)))
		return rv;
	rv = call(&loop, o, req, timeout_ms, &s);
	uv_loop_close(&loop);
	return rv ? rv : res->status;
}
