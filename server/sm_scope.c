/*
 * sm_scope.c — the state machine's per-scope counters (keys, bytes,
 * leases), kept up to date by every apply and rebuilt by a restore, so
 * that limits and metrics never scan the keys (docs/design.md rule 10).
 *
 * An entry lives exactly as long as its scope has a key or a lease: the
 * names are the clients' choice, and entries kept after they emptied
 * would let the table (and the metrics' label set) grow without bound.
 */
#include <stdlib.h>
#include <string.h>

#include "server/sm_int.h"

size_t sm_scope_len(const char *name, size_t len)
{
	const char *slash = len ? memchr(name, '/', len) : NULL;

	return slash ? (size_t)(slash - name) : 0;
}

struct sm_scope_ent *sm_scope_ent_find(const struct sm *sm, const char *name,
				       size_t len)
{
	size_t slen = sm_scope_len(name, len);
	struct sm_node *n;

	if (slen == 0)
		return NULL;
	n = sm_map_find(&sm->scopes, name, slen);
	return n ? SM_CONTAINER(n, struct sm_scope_ent, node) : NULL;
}

struct sm_scope_ent *sm_scope_ent_for(struct sm *sm, const char *name,
				      size_t len, bool *oom)
{
	size_t slen = sm_scope_len(name, len);
	struct sm_scope_ent *sc = sm_scope_ent_find(sm, name, len);

	*oom = false;
	if (sc || slen == 0)
		return sc;
	sc = calloc(1, sizeof(*sc) + slen);
	if (!sc) {
		*oom = true;
		return NULL;
	}
	memcpy(sc->name, name, slen);
	sc->node.k = sc->name;
	sc->node.klen = slen;
	sc->pub.name = (struct sm_str){ sc->name, slen };
	sm_map_insert(&sm->scopes, &sc->node);
	return sc;
}

/* A count below zero means an apply forgot to count something: the
 * limits would then be wrong on this witness only, so stop. */
static uint64_t add(uint64_t v, int64_t d)
{
	SM_ASSERT(d >= 0 || (uint64_t)-d <= v);
	return v + (uint64_t)d;
}

void sm_scope_adjust(struct sm *sm, struct sm_scope_ent *sc, int64_t keys,
		     int64_t bytes, int64_t leases)
{
	if (!sc)
		return;
	sc->pub.keys = add(sc->pub.keys, keys);
	sc->pub.bytes = add(sc->pub.bytes, bytes);
	sc->pub.leases = add(sc->pub.leases, leases);
	if (sc->pub.keys || sc->pub.leases)
		return;
	SM_ASSERT(sc->pub.bytes == 0);
	sm_map_remove(&sm->scopes, &sc->node);
	free(sc);
}

static void free_scope_node(void *arg, struct sm_node *n)
{
	(void)arg;
	free(SM_CONTAINER(n, struct sm_scope_ent, node));
}

void sm_scope_clear(struct sm *sm)
{
	sm_map_clear(&sm->scopes, free_scope_node, NULL);
}

/* ---- lookups ------------------------------------------------------------ */

struct scope_visit {
	bool (*fn)(void *arg, const struct sm_scope *sc);
	void *arg;
};

static bool visit_scope(void *arg, struct sm_node *n)
{
	struct scope_visit *v = arg;

	return v->fn(v->arg, &SM_CONTAINER(n, struct sm_scope_ent, node)->pub);
}

void sm_scope_each(const struct sm *sm,
		   bool (*fn)(void *arg, const struct sm_scope *sc), void *arg)
{
	struct scope_visit v = { fn, arg };

	sm_map_walk_from(&sm->scopes, NULL, 0, visit_scope, &v);
}

bool sm_scope_get(const struct sm *sm, const char *name, size_t len,
		  struct sm_scope *out)
{
	struct sm_node *n = sm_map_find(&sm->scopes, name, len);

	if (n && out)
		*out = SM_CONTAINER(n, struct sm_scope_ent, node)->pub;
	return n != NULL;
}

size_t sm_scope_count(const struct sm *sm)
{
	return sm->scopes.count;
}
