/*
 * sm.c — the lease/key state machine: its entries, sm_apply() and the
 * lookups.  Snapshots are in sm_snap.c, the command codec in sm_cmd.c.
 *
 * Every apply first allocates whatever it needs (a new entry, a copy of a
 * holder or value) and only then changes the state, so running out of
 * memory returns -1 with nothing changed.  Freeing a lease allocates
 * nothing, so deleting its keys cannot fail half-way.
 */
#include <stdlib.h>
#include <string.h>

#include "server/sm_int.h"

static const struct sm_str empty_str = { "", 0 };

/* ---- entries ------------------------------------------------------------ */

struct sm_lease_ent *sm_lease_ent_new(const char *name, size_t len)
{
	struct sm_lease_ent *l = calloc(1, sizeof(*l) + len);

	if (!l)
		return NULL;
	memcpy(l->name, name, len);
	l->node.k = l->name;
	l->node.klen = len;
	l->pub.name = (struct sm_str){ l->name, len };
	l->pub.holder = empty_str;
	return l;
}

int sm_lease_ent_set_holder(struct sm_lease_ent *l, const char *holder,
			    size_t len)
{
	char *copy = NULL;

	if (len > 0) {
		copy = malloc(len);
		if (!copy)
			return -1;
		memcpy(copy, holder, len);
	}
	free(l->holder);
	l->holder = copy;
	l->pub.holder = copy ? (struct sm_str){ copy, len } : empty_str;
	return 0;
}

static void lease_ent_free(struct sm_lease_ent *l)
{
	free(l->holder);
	free(l);
}

struct sm_key_ent *sm_key_ent_new(const char *key, size_t len)
{
	struct sm_key_ent *k = calloc(1, sizeof(*k) + len);

	if (!k)
		return NULL;
	memcpy(k->key, key, len);
	k->node.k = k->by_lease.k = k->key;
	k->node.klen = k->by_lease.klen = len;
	k->pub.key = (struct sm_str){ k->key, len };
	k->pub.value = empty_str;
	k->pub.lease = empty_str;
	return k;
}

int sm_key_ent_set_value(struct sm_key_ent *k, const char *value, size_t len)
{
	char *copy = NULL;

	if (len > 0) {
		copy = malloc(len);
		if (!copy)
			return -1;
		memcpy(copy, value, len);
	}
	free(k->value);
	k->value = copy;
	k->pub.value = copy ? (struct sm_str){ copy, len } : empty_str;
	return 0;
}

void sm_key_ent_attach(struct sm_key_ent *k, struct sm_lease_ent *l)
{
	if (k->lease == l)
		return;
	if (k->lease)
		sm_map_remove(&k->lease->keys, &k->by_lease);
	k->lease = l;
	if (l) {
		sm_map_insert(&l->keys, &k->by_lease);
		k->pub.lease = l->pub.name;
	} else {
		k->pub.lease = empty_str;
	}
}

static void key_ent_free(struct sm_key_ent *k)
{
	free(k->value);
	free(k);
}

/* What a key counts against its scope's byte limit. */
static uint64_t key_bytes(const struct sm_key_ent *k)
{
	return k->pub.key.len + k->pub.value.len;
}

struct sm_lease_ent *sm_lease_ent_find(const struct sm *sm, const char *name,
				       size_t len)
{
	struct sm_node *n = sm_map_find(&sm->leases, name, len);

	return n ? SM_CONTAINER(n, struct sm_lease_ent, node) : NULL;
}

struct sm_key_ent *sm_key_ent_find(const struct sm *sm, const char *key,
				   size_t len)
{
	struct sm_node *n = sm_map_find(&sm->keys, key, len);

	return n ? SM_CONTAINER(n, struct sm_key_ent, node) : NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void free_key_node(void *arg, struct sm_node *n)
{
	(void)arg;
	key_ent_free(SM_CONTAINER(n, struct sm_key_ent, node));
}

static void free_lease_node(void *arg, struct sm_node *n)
{
	(void)arg;
	lease_ent_free(SM_CONTAINER(n, struct sm_lease_ent, node));
}

/* Keys go first: the per-lease maps only link keys, so they need no
 * unwinding once every key is gone. */
void sm_clear(struct sm *sm)
{
	sm_map_clear(&sm->keys, free_key_node, NULL);
	sm_map_clear(&sm->leases, free_lease_node, NULL);
	sm_scope_clear(sm);
}

struct sm *sm_new(void)
{
	return calloc(1, sizeof(struct sm));
}

void sm_free(struct sm *sm)
{
	if (!sm)
		return;
	sm_clear(sm);
	free(sm);
}

/* ---- apply -------------------------------------------------------------- */

struct apply_ctx {
	struct sm *sm;
	uint64_t index;
	const struct sm_cmd *cmd;
	struct sm_result *res;
	sm_event_fn on_event;
	void *arg;
};

static bool str_eq(struct sm_str a, struct sm_str b)
{
	return sm_bytes_cmp(a.p, a.len, b.p, b.len) == 0;
}

static void emit(struct apply_ctx *a, uint8_t type, const struct sm_lease *l,
		 const struct sm_key *k)
{
	struct sm_event ev = { type, a->index, l, k };

	if (a->on_event)
		a->on_event(a->arg, &ev);
}

/* Something changed: the store revision is the index of this entry. */
static void mark_changed(struct apply_ctx *a)
{
	a->sm->revision = a->index;
}

static void fail_lease(struct apply_ctx *a, int status,
		       const struct sm_lease_ent *l)
{
	a->res->status = status;
	if (l)
		a->res->lease = l->pub;
}

static void fail_key(struct apply_ctx *a, int status,
		     const struct sm_key_ent *k)
{
	a->res->status = status;
	if (k)
		a->res->key = k->pub;
}

/* A renewal: the holder proved it is alive at this index, which also makes
 * any expiry the leader decided on before it stale. */
static void renew_lease(struct apply_ctx *a, struct sm_lease_ent *l)
{
	l->pub.renew_revision = a->index;
	mark_changed(a);
	a->res->lease = l->pub;
	emit(a, SM_EV_RENEW, &l->pub, NULL);
}

static uint64_t token_after(uint64_t index, uint64_t last)
{
	return index > last ? index : last + 1;
}

static int grant_lease(struct apply_ctx *a, struct sm_lease_ent *l, bool is_new)
{
	const struct sm_cmd *c = a->cmd;

	if (sm_lease_ent_set_holder(l, c->holder.p, c->holder.len) != 0)
		return -1;
	if (is_new)
		sm_map_insert(&a->sm->leases, &l->node);
	/* A free lease in the table remembers its last token (or a floor):
	 * the grant goes above it even where this log's index is lower. */
	l->pub.token = is_new ? a->index : token_after(a->index, l->pub.token);
	l->pub.ttl_ms = c->ttl_ms;
	l->pub.renew_revision = a->index;
	mark_changed(a);
	a->res->lease = l->pub;
	emit(a, SM_EV_GRANT, &l->pub, NULL);
	return 0;
}

/* A lease name not in the table: one more lease in its scope. */
static int grant_new_lease(struct apply_ctx *a)
{
	const struct sm_cmd *c = a->cmd;
	bool oom;
	struct sm_scope_ent *sc = sm_scope_ent_for(a->sm, c->name.p,
						   c->name.len, &oom);
	struct sm_lease_ent *l;

	if (oom)
		return -1;
	l = sm_lease_ent_new(c->name.p, c->name.len);
	if (!l || grant_lease(a, l, true) != 0) {
		free(l);
		sm_scope_adjust(a->sm, sc, 0, 0, 0);
		return -1;
	}
	sm_scope_adjust(a->sm, sc, 0, 0, 1);
	return 0;
}

static int apply_acquire(struct apply_ctx *a)
{
	const struct sm_cmd *c = a->cmd;
	struct sm_lease_ent *l = sm_lease_ent_find(a->sm, c->name.p,
						   c->name.len);

	if (l && l->holder) {
		if (!str_eq(l->pub.holder, c->holder)) {
			fail_lease(a, SM_HELD, l);
			return 0;
		}
		l->pub.ttl_ms = c->ttl_ms;
		renew_lease(a, l);
		return 0;
	}
	if (l)
		return grant_lease(a, l, false);
	return grant_new_lease(a);
}

/* The event shows the key as it was, with an empty value and the
 * deleting index as its mod revision. */
static void delete_key(struct apply_ctx *a, struct sm_key_ent *k)
{
	struct sm_key gone = k->pub;

	gone.value = empty_str;
	gone.mod_revision = a->index;
	emit(a, SM_EV_DELETE, NULL, &gone);
	sm_key_ent_attach(k, NULL);
	sm_map_remove(&a->sm->keys, &k->node);
	sm_scope_adjust(a->sm, sm_scope_ent_find(a->sm, k->key, k->pub.key.len),
			-1, -(int64_t)key_bytes(k), 0);
	key_ent_free(k);
}

/* Release or expiry: the lease event (showing who lost which grant) comes
 * first, then one delete per attached key in key order, all at this index
 * so no reader ever sees the keys of a lease that is gone. */
static void free_lease(struct apply_ctx *a, struct sm_lease_ent *l,
		       uint8_t ev_type)
{
	struct sm_node *n;

	emit(a, ev_type, &l->pub, NULL);
	while ((n = sm_map_first(&l->keys)) != NULL)
		delete_key(a, SM_CONTAINER(n, struct sm_key_ent, by_lease));
	/* A free lease is removed: names are the clients' choice, and kept
	 * they would pile up forever.  Its token needs no memory of it: the
	 * next grant of the name gets the index of its own entry, above this
	 * one's.  Not so for a token at or above this index (granted above a
	 * floor): that lease stays, free, so the next grant goes above it.
	 * The result still shows it (free) until the next apply. */
	if (l->pub.token >= a->index) {
		sm_lease_ent_set_holder(l, NULL, 0); /* frees, cannot fail */
		mark_changed(a);
		a->res->lease = l->pub;
		return;
	}
	struct sm_lease gone = l->pub;
	memcpy(a->sm->freed_lease, l->pub.name.p, l->pub.name.len);
	gone.name = (struct sm_str){ a->sm->freed_lease, l->pub.name.len };
	gone.holder = empty_str;
	sm_map_remove(&a->sm->leases, &l->node);
	sm_scope_adjust(a->sm, sm_scope_ent_find(a->sm, l->name, gone.name.len),
			0, 0, -1);
	lease_ent_free(l);
	mark_changed(a);
	a->res->lease = gone;
}

/* Renew and release: only the current holder with the current grant. */
static struct sm_lease_ent *find_held_by_caller(struct apply_ctx *a)
{
	const struct sm_cmd *c = a->cmd;
	struct sm_lease_ent *l = sm_lease_ent_find(a->sm, c->name.p,
						   c->name.len);

	if (!l) {
		fail_lease(a, SM_NOT_FOUND, NULL);
		return NULL;
	}
	if (!l->holder || !str_eq(l->pub.holder, c->holder) ||
	    l->pub.token != c->token) {
		fail_lease(a, SM_NOT_HOLDER, l);
		return NULL;
	}
	return l;
}

static int apply_renew(struct apply_ctx *a)
{
	struct sm_lease_ent *l = find_held_by_caller(a);

	if (l)
		renew_lease(a, l);
	return 0;
}

static int apply_release(struct apply_ctx *a)
{
	struct sm_lease_ent *l = find_held_by_caller(a);

	if (l)
		free_lease(a, l, SM_EV_RELEASE);
	return 0;
}

/* The leader saw (token, renew_revision) run out on its clock; anything
 * that happened to the lease since then (a renewal, a release and a new
 * grant) makes that observation stale. */
static int apply_expire(struct apply_ctx *a)
{
	const struct sm_cmd *c = a->cmd;
	struct sm_lease_ent *l = sm_lease_ent_find(a->sm, c->name.p,
						   c->name.len);

	if (!l) {
		fail_lease(a, SM_NOT_FOUND, NULL);
		return 0;
	}
	if (!l->holder || l->pub.token != c->token ||
	    l->pub.renew_revision != c->revision) {
		fail_lease(a, SM_STALE, l);
		return 0;
	}
	free_lease(a, l, SM_EV_EXPIRE);
	return 0;
}

/* Put and cas may attach the key to a lease: only to the grant the writer
 * names by token, so a writer whose lease expired (and was granted to
 * someone else) cannot attach keys to its successor's grant. */
static bool find_attach_lease(struct apply_ctx *a, struct sm_lease_ent **out)
{
	const struct sm_cmd *c = a->cmd;
	struct sm_lease_ent *l;

	*out = NULL;
	if (c->name.len == 0)
		return true;
	l = sm_lease_ent_find(a->sm, c->name.p, c->name.len);
	if (!l || !l->holder || l->pub.token != c->token) {
		fail_lease(a, SM_NO_LEASE, l);
		return false;
	}
	*out = l;
	return true;
}

static int write_key(struct apply_ctx *a, struct sm_key_ent *k,
		     struct sm_lease_ent *l)
{
	const struct sm_cmd *c = a->cmd;
	bool is_new = k == NULL, oom;
	struct sm_scope_ent *sc = sm_scope_ent_for(a->sm, c->key.p, c->key.len,
						   &oom);
	int64_t before = is_new ? 0 : (int64_t)key_bytes(k);

	if (oom)
		return -1;
	if (is_new) {
		k = sm_key_ent_new(c->key.p, c->key.len);
		if (!k) {
			sm_scope_adjust(a->sm, sc, 0, 0, 0);
			return -1;
		}
	}
	if (sm_key_ent_set_value(k, c->value.p, c->value.len) != 0) {
		if (is_new)
			key_ent_free(k);
		sm_scope_adjust(a->sm, sc, 0, 0, 0);
		return -1;
	}
	if (is_new) {
		sm_map_insert(&a->sm->keys, &k->node);
		k->pub.create_revision = a->index;
	}
	sm_scope_adjust(a->sm, sc, is_new ? 1 : 0,
			(int64_t)key_bytes(k) - before, 0);
	k->pub.mod_revision = a->index;
	sm_key_ent_attach(k, l);
	mark_changed(a);
	a->res->key = k->pub;
	if (l)
		a->res->lease = l->pub;
	emit(a, SM_EV_PUT, NULL, &k->pub);
	return 0;
}

static int apply_put(struct apply_ctx *a)
{
	const struct sm_cmd *c = a->cmd;
	struct sm_key_ent *k = sm_key_ent_find(a->sm, c->key.p, c->key.len);
	struct sm_lease_ent *l;

	if (!find_attach_lease(a, &l)) {
		fail_key(a, SM_NO_LEASE, k);
		return 0;
	}
	return write_key(a, k, l);
}

/* The comparison comes first: a caller racing for a key learns that it
 * lost the race (and the current mod revision) before anything else. */
static int apply_cas(struct apply_ctx *a)
{
	const struct sm_cmd *c = a->cmd;
	struct sm_key_ent *k = sm_key_ent_find(a->sm, c->key.p, c->key.len);
	struct sm_lease_ent *l;
	bool match = c->revision == 0 ? k == NULL
				      : k && k->pub.mod_revision == c->revision;

	if (!match) {
		fail_key(a, SM_COMPARE_FAILED, k);
		return 0;
	}
	if (!find_attach_lease(a, &l)) {
		fail_key(a, SM_NO_LEASE, k);
		return 0;
	}
	return write_key(a, k, l);
}

static int apply_delete(struct apply_ctx *a)
{
	const struct sm_cmd *c = a->cmd;
	struct sm_key_ent *k = sm_key_ent_find(a->sm, c->key.p, c->key.len);

	if (!k) {
		fail_key(a, SM_NOT_FOUND, NULL);
		return 0;
	}
	/* The entry is about to go: the result names the key by a copy
	 * kept until the next apply. */
	SM_ASSERT(c->key.len <= sizeof(a->sm->deleted_key));
	memcpy(a->sm->deleted_key, k->key, c->key.len);
	a->res->key = k->pub;
	a->res->key.key = (struct sm_str){ a->sm->deleted_key, c->key.len };
	a->res->key.value = empty_str;
	a->res->key.mod_revision = a->index;
	delete_key(a, k);
	mark_changed(a);
	return 0;
}

/* A free lease made by a floor counts in its scope like any lease in the
 * table (a restore counts it, and its removal uncounts it). */
static struct sm_lease_ent *new_free_lease(struct apply_ctx *a)
{
	const struct sm_cmd *c = a->cmd;
	bool oom;
	struct sm_scope_ent *sc = sm_scope_ent_for(a->sm, c->name.p,
						   c->name.len, &oom);
	struct sm_lease_ent *l;

	if (oom)
		return NULL;
	l = sm_lease_ent_new(c->name.p, c->name.len);
	if (!l) {
		sm_scope_adjust(a->sm, sc, 0, 0, 0);
		return NULL;
	}
	sm_map_insert(&a->sm->leases, &l->node);
	sm_scope_adjust(a->sm, sc, 0, 0, 1);
	return l;
}

/* A floor: the free lease remembers floor as its last token, so its next
 * grant's token is above it (token_after).  A held lease is left alone:
 * its holder's token must not change under it. */
static int apply_floor(struct apply_ctx *a)
{
	const struct sm_cmd *c = a->cmd;
	struct sm_lease_ent *l = sm_lease_ent_find(a->sm, c->name.p,
						   c->name.len);

	if (l && l->holder) {
		fail_lease(a, SM_HELD, l);
		return 0;
	}
	if (!l) {
		l = new_free_lease(a);
		if (!l)
			return -1;
	}
	if (c->token > l->pub.token)
		l->pub.token = c->token;
	l->pub.renew_revision = a->index;
	mark_changed(a);
	a->res->lease = l->pub;
	return 0;
}

static int apply_cmd(struct apply_ctx *a)
{
	switch (a->cmd->type) {
	case SM_CMD_LEASE_ACQUIRE:
		return apply_acquire(a);
	case SM_CMD_LEASE_RENEW:
		return apply_renew(a);
	case SM_CMD_LEASE_RELEASE:
		return apply_release(a);
	case SM_CMD_LEASE_EXPIRE:
		return apply_expire(a);
	case SM_CMD_PUT:
		return apply_put(a);
	case SM_CMD_DELETE:
		return apply_delete(a);
	case SM_CMD_CAS:
		return apply_cas(a);
	case SM_CMD_LEASE_FLOOR:
		return apply_floor(a);
	}
	sm_fatal(__FILE__, __LINE__, "decoder accepted an unknown command");
}

int sm_apply(struct sm *sm, uint64_t index, const void *cmd, size_t len,
	     struct sm_result *res, sm_event_fn on_event, void *arg)
{
	struct sm_result scratch;
	struct sm_cmd c;
	const char *why;
	int rv;
	struct apply_ctx a = { sm,       index, &c, res ? res : &scratch,
			       on_event, arg };

	SM_ASSERT(index > sm->applied);
	memset(a.res, 0, sizeof(*a.res));
	a.res->status = SM_OK;
	rv = sm_cmd_decode(cmd, len, &c, &why);
	if (rv == SM_CMD_UNKNOWN)
		return SM_APPLY_UNKNOWN; /* nothing changed */
	if (rv != 0)
		a.res->status = SM_INVALID;
	else if (apply_cmd(&a) != 0)
		return -1; /* nothing changed, not even the applied index */
	sm->applied = index;
	a.res->revision = sm->revision;
	return 0;
}

void sm_skip(struct sm *sm, uint64_t index)
{
	SM_ASSERT(index > sm->applied);
	sm->applied = index;
}

uint64_t sm_applied_index(const struct sm *sm)
{
	return sm->applied;
}

uint64_t sm_revision(const struct sm *sm)
{
	return sm->revision;
}

/* ---- lookups ------------------------------------------------------------ */

bool sm_lease_get(const struct sm *sm, const char *name, size_t len,
		  struct sm_lease *out)
{
	struct sm_lease_ent *l = sm_lease_ent_find(sm, name, len);

	if (l && out)
		*out = l->pub;
	return l != NULL;
}

bool sm_key_get(const struct sm *sm, const char *key, size_t len,
		struct sm_key *out)
{
	struct sm_key_ent *k = sm_key_ent_find(sm, key, len);

	if (k && out)
		*out = k->pub;
	return k != NULL;
}

struct lease_visit {
	bool (*fn)(void *arg, const struct sm_lease *l);
	void *arg;
};

static bool visit_lease(void *arg, struct sm_node *n)
{
	struct lease_visit *v = arg;

	return v->fn(v->arg, &SM_CONTAINER(n, struct sm_lease_ent, node)->pub);
}

void sm_lease_each(const struct sm *sm,
		   bool (*fn)(void *arg, const struct sm_lease *l), void *arg)
{
	struct lease_visit v = { fn, arg };

	sm_map_walk_from(&sm->leases, NULL, 0, visit_lease, &v);
}

void sm_lease_each_from(const struct sm *sm, const char *from, size_t flen,
			bool (*fn)(void *arg, const struct sm_lease *l),
			void *arg)
{
	struct lease_visit v = { fn, arg };

	sm_map_walk_from(&sm->leases, from, flen, visit_lease, &v);
}

struct key_visit {
	const char *prefix;
	size_t len;
	bool (*fn)(void *arg, const struct sm_key *k);
	void *arg;
};

/* Keys with a prefix are contiguous in byte order and start at the prefix
 * itself: the walk starts there and stops at the first key without it. */
static bool visit_key(void *arg, struct sm_node *n)
{
	struct key_visit *v = arg;

	if (n->klen < v->len || (v->len && memcmp(n->k, v->prefix, v->len)))
		return false;
	return v->fn(v->arg, &SM_CONTAINER(n, struct sm_key_ent, node)->pub);
}

void sm_key_each(const struct sm *sm, const char *prefix, size_t len,
		 bool (*fn)(void *arg, const struct sm_key *k), void *arg)
{
	struct key_visit v = { prefix, len, fn, arg };

	sm_map_walk_from(&sm->keys, prefix, len, visit_key, &v);
}

void sm_key_each_from(const struct sm *sm, const char *prefix, size_t len,
		      const char *from, size_t flen,
		      bool (*fn)(void *arg, const struct sm_key *k), void *arg)
{
	struct key_visit v = { prefix, len, fn, arg };

	/* Start at the larger of the two: keys below the prefix are not
	 * ours, keys below from were on earlier pages. */
	if (sm_bytes_cmp(from, flen, prefix, len) > 0)
		sm_map_walk_from(&sm->keys, from, flen, visit_key, &v);
	else
		sm_map_walk_from(&sm->keys, prefix, len, visit_key, &v);
}

size_t sm_lease_count(const struct sm *sm)
{
	return sm->leases.count;
}

size_t sm_key_count(const struct sm *sm)
{
	return sm->keys.count;
}
