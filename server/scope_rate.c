/*
 * scope_rate.c — see scope_rate.h.  Tokens are kept in thousandths so the
 * bucket is integer arithmetic: a request costs 1000, a millisecond adds
 * per_second.
 */
#include <stdlib.h>
#include <string.h>

#include "server/scope_rate.h"

struct scope_rate_ent {
	struct sm_node node;
	uint64_t milli_tokens;
	uint64_t refilled_ms;
	uint64_t seen;         /* r->seq when last used */
	uint64_t window;       /* the second (now_ms / 1000) being counted */
	uint64_t window_count; /* requests in it */
	uint64_t prev_count;   /* requests in the second before it */
	struct scope_rate_stats st;
	char name[];
};

void scope_rate_init(struct scope_rate *r, uint64_t per_second)
{
	memset(r, 0, sizeof(*r));
	r->per_second = per_second;
}

void scope_rate_set_limit(struct scope_rate *r, uint64_t per_second)
{
	r->per_second = per_second;
}

static void free_node(void *arg, struct sm_node *n)
{
	(void)arg;
	free(SM_CONTAINER(n, struct scope_rate_ent, node));
}

void scope_rate_free(struct scope_rate *r)
{
	sm_map_clear(&r->by_name, free_node, NULL);
}

static bool find_idlest(void *arg, struct sm_node *n)
{
	struct scope_rate_ent **idlest = arg;
	struct scope_rate_ent *e = SM_CONTAINER(n, struct scope_rate_ent, node);

	if (!*idlest || e->seen < (*idlest)->seen)
		*idlest = e;
	return true;
}

/* The entry of scope, made (replacing the idlest when full) if missing;
 * NULL when out of memory. */
static struct scope_rate_ent *entry(struct scope_rate *r, const char *scope,
				    size_t len, uint64_t now_ms)
{
	struct sm_node *n = sm_map_find(&r->by_name, scope, len);
	struct scope_rate_ent *e;

	if (n) {
		e = SM_CONTAINER(n, struct scope_rate_ent, node);
		e->seen = ++r->seq;
		return e;
	}
	if (r->by_name.count >= SCOPE_RATE_MAX) {
		struct scope_rate_ent *idlest = NULL;
		sm_map_walk_from(&r->by_name, NULL, 0, find_idlest, &idlest);
		sm_map_remove(&r->by_name, &idlest->node);
		free(idlest);
	}
	e = calloc(1, sizeof(*e) + len);
	if (!e)
		return NULL;
	memcpy(e->name, scope, len);
	e->node.k = e->name;
	e->node.klen = len;
	e->milli_tokens = r->per_second * 1000;
	e->refilled_ms = now_ms;
	e->window = now_ms / 1000;
	e->seen = ++r->seq;
	sm_map_insert(&r->by_name, &e->node);
	return e;
}

static void count_request(struct scope_rate_ent *e, uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000;

	if (sec != e->window) {
		e->prev_count = sec == e->window + 1 ? e->window_count : 0;
		e->window = sec;
		e->window_count = 0;
	}
	e->window_count++;
	e->st.requests++;
}

static bool take_token(struct scope_rate *r, struct scope_rate_ent *e,
		       uint64_t now_ms)
{
	uint64_t cap = r->per_second * 1000;

	/* filled under a higher limit: the lower one's burst is the most */
	if (e->milli_tokens > cap)
		e->milli_tokens = cap;
	if (now_ms > e->refilled_ms) {
		uint64_t add = (now_ms - e->refilled_ms) * r->per_second;
		e->milli_tokens = cap - e->milli_tokens < add
					  ? cap
					  : e->milli_tokens + add;
		e->refilled_ms = now_ms;
	}
	if (e->milli_tokens < 1000)
		return false;
	e->milli_tokens -= 1000;
	return true;
}

bool scope_rate_admit(struct scope_rate *r, const char *scope, size_t len,
		      uint64_t now_ms, bool exempt)
{
	struct scope_rate_ent *e = entry(r, scope, len, now_ms);

	if (!e)
		return true;
	count_request(e, now_ms);
	if (exempt || r->per_second == 0 || take_token(r, e, now_ms))
		return true;
	e->st.refused_rate++;
	return false;
}

void scope_rate_refused(struct scope_rate *r, const char *scope, size_t len,
			uint64_t now_ms)
{
	struct scope_rate_ent *e = entry(r, scope, len, now_ms);

	if (e)
		e->st.refused_quota++;
}

bool scope_rate_get(const struct scope_rate *r, const char *scope, size_t len,
		    uint64_t now_ms, struct scope_rate_stats *out)
{
	struct sm_node *n = sm_map_find(&r->by_name, scope, len);
	const struct scope_rate_ent *e;
	uint64_t sec = now_ms / 1000;

	memset(out, 0, sizeof(*out));
	if (!n)
		return false;
	e = SM_CONTAINER(n, struct scope_rate_ent, node);
	*out = e->st;
	if (sec == e->window)
		out->last_second = e->prev_count;
	else if (sec == e->window + 1)
		out->last_second = e->window_count;
	return true;
}
