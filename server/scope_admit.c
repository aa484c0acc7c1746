/*
 * scope_admit.c — see scope_admit.h.
 */
#include <stdlib.h>
#include <string.h>

#include "server/scope_admit.h"

struct scope_inflight {
	uint64_t index;
	char *scope;
	size_t len;
	struct scope_growth worst;
};

static size_t key_growth(const struct sm *sm, const struct sm_cmd *c,
			 const char **scope, struct scope_growth *now,
			 struct scope_growth *worst)
{
	size_t len = sm_scope_len(c->key.p, c->key.len);
	uint64_t bytes = c->key.len + c->value.len;
	struct sm_key k;

	if (len == 0)
		return 0;
	*scope = c->key.p;
	*worst = (struct scope_growth){ .keys = 1, .bytes = bytes };
	if (!sm_key_get(sm, c->key.p, c->key.len, &k)) {
		*now = *worst;
		return len;
	}
	if (bytes > k.key.len + k.value.len)
		now->bytes = bytes - (k.key.len + k.value.len);
	return len;
}

static size_t lease_growth(const struct sm *sm, const struct sm_cmd *c,
			   const char **scope, struct scope_growth *now,
			   struct scope_growth *worst)
{
	size_t len = sm_scope_len(c->name.p, c->name.len);

	if (len == 0)
		return 0;
	*scope = c->name.p;
	worst->leases = 1;
	/* A name in the table (held or kept free) is no new lease. */
	if (!sm_lease_get(sm, c->name.p, c->name.len, NULL))
		now->leases = 1;
	return len;
}

size_t scope_growth_of(const struct sm *sm, const struct sm_cmd *c,
		       const char **scope, struct scope_growth *now,
		       struct scope_growth *worst)
{
	memset(now, 0, sizeof(*now));
	memset(worst, 0, sizeof(*worst));
	*scope = NULL;
	switch (c->type) {
	case SM_CMD_PUT:
	case SM_CMD_CAS:
		return key_growth(sm, c, scope, now, worst);
	case SM_CMD_LEASE_ACQUIRE:
	case SM_CMD_LEASE_FLOOR:
		return lease_growth(sm, c, scope, now, worst);
	}
	return 0; /* the others only ever shrink a scope */
}

void scope_admit_init(struct scope_admit *a)
{
	memset(a, 0, sizeof(*a));
}

void scope_admit_reset(struct scope_admit *a)
{
	for (size_t i = a->head; i < a->n; i++)
		free(a->q[i].scope);
	a->head = a->n = 0;
}

void scope_admit_free(struct scope_admit *a)
{
	scope_admit_reset(a);
	free(a->q);
	scope_admit_init(a);
}

/* Room for one more at the end: the applied head is reused first. */
static int make_room(struct scope_admit *a)
{
	struct scope_inflight *q;
	size_t cap;

	if (a->head > 0 && a->n == a->cap) {
		memmove(a->q, a->q + a->head, (a->n - a->head) * sizeof(*a->q));
		a->n -= a->head;
		a->head = 0;
	}
	if (a->n < a->cap)
		return 0;
	cap = a->cap ? 2 * a->cap : 16;
	q = realloc(a->q, cap * sizeof(*q));
	if (!q)
		return -1;
	a->q = q;
	a->cap = cap;
	return 0;
}

int scope_admit_track(struct scope_admit *a, const struct sm *sm,
		      uint64_t index, const struct sm_cmd *c)
{
	struct scope_growth now, worst;
	const char *scope;
	size_t len = scope_growth_of(sm, c, &scope, &now, &worst);
	char *copy;

	if (len == 0)
		return 0;
	if (make_room(a) != 0 || !(copy = malloc(len)))
		return -1;
	memcpy(copy, scope, len);
	a->q[a->n++] = (struct scope_inflight){ index, copy, len, worst };
	return 0;
}

void scope_admit_applied(struct scope_admit *a, const struct sm *sm)
{
	uint64_t applied = sm_applied_index(sm);

	while (a->head < a->n && a->q[a->head].index <= applied)
		free(a->q[a->head++].scope);
	if (a->head == a->n)
		a->head = a->n = 0;
}

void scope_admit_pending(const struct scope_admit *a, const char *scope,
			 size_t len, struct scope_growth *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = a->head; i < a->n; i++) {
		const struct scope_inflight *e = &a->q[i];

		if (e->len != len || memcmp(e->scope, scope, len) != 0)
			continue;
		out->keys += e->worst.keys;
		out->bytes += e->worst.bytes;
		out->leases += e->worst.leases;
	}
}

/* Growing by `add` (0: not at all, always admitted), does the scope pass
 * `limit` (0: none)? */
static bool passes(uint64_t used, uint64_t pending, uint64_t add,
		   uint64_t limit)
{
	return limit && add && used + pending + add > limit;
}

int scope_admit_check(struct scope_admit *a, const struct sm *sm,
		      const struct sm_cmd *c, const struct scope_quota *lim,
		      uint64_t *limit)
{
	struct scope_growth now, worst, pending;
	struct sm_scope used;
	const char *scope;
	size_t len = scope_growth_of(sm, c, &scope, &now, &worst);

	if (len == 0)
		return 0;
	scope_admit_applied(a, sm);
	scope_admit_pending(a, scope, len, &pending);
	if (!sm_scope_get(sm, scope, len, &used))
		memset(&used, 0, sizeof(used));
	if (passes(used.keys, pending.keys, now.keys, lim->keys)) {
		*limit = lim->keys;
		return SCOPE_QUOTA_KEYS;
	}
	if (passes(used.bytes, pending.bytes, now.bytes, lim->bytes)) {
		*limit = lim->bytes;
		return SCOPE_QUOTA_BYTES;
	}
	if (passes(used.leases, pending.leases, now.leases, lim->leases)) {
		*limit = lim->leases;
		return SCOPE_QUOTA_LEASES;
	}
	return 0;
}
