/*
 * agentsim_store.c — the witnesses as one linearizable lease and key store
 * (agentsim.h), with the semantics of server/sm.c that the agent relies
 * on: an acquire by the current holder (the same holder name) renews the
 * lease and keeps its token; a grant's token is the store's index, so
 * tokens strictly increase; a lease counts a full TTL from its grant or
 * renewal on the store's clock (true time: the Raft leader's
 * CLOCK_BOOTTIME) and expires after it; keys attached to a lease go with
 * it.  Every call is one request, counted for the agent that made it, and
 * changes wake the watchers (agent_kick) as watches would.
 */
#include <stdio.h>
#include <string.h>

#include "tests/sim/agentsim.h"

/* Requests in one window of the rate check, per agent slot. */
/* who: an agent's slot, -1 the operator, -2 the checker (not a request) */
static void count(struct sim *s, int who)
{
	if (who >= 0)
		s->agents[who].req_window++;
}

static void notify(struct sim *s, int writer, const char *key)
{
	bool member = key && strstr(key, "/members/") != NULL;
	for (int i = 0; i < SIM_MAX_HOSTS; i++)
		agent_kick(s, i, writer, member);
}

/* A renewal changes nothing but proves the holder alive: watchers get a
 * renewal event (server/sm.c SM_EV_RENEW). */
static void notify_renewal(struct sim *s, const struct store_lease *l)
{
	for (int i = 0; i < SIM_MAX_HOSTS; i++)
		agent_renewal_event(s, i, l->name, l->holder, l->token);
}

static struct store_lease *find_lease(struct store *st, const char *name)
{
	for (int i = 0; i < STORE_LEASES; i++)
		if (st->leases[i].held && strcmp(st->leases[i].name, name) == 0)
			return &st->leases[i];
	return NULL;
}

static struct store_key *find_key(struct store *st, const char *key)
{
	for (int i = 0; i < SIM_MAX_KEYS; i++)
		if (st->keys[i].used && strcmp(st->keys[i].key, key) == 0)
			return &st->keys[i];
	return NULL;
}

static void free_lease(struct sim *s, struct store_lease *l)
{
	int idx = (int)(l - s->store.leases);
	l->held = false;
	for (int i = 0; i < SIM_MAX_KEYS; i++)
		if (s->store.keys[i].used && s->store.keys[i].lease == idx)
			s->store.keys[i].used = false;
	s->store.index++;
	notify(s, -1, l->name);
}

uint64_t store_acquire(struct sim *s, int who, const char *lease,
		       const char *holder, uint64_t ttl)
{
	count(s, who);
	struct store *st = &s->store;
	struct store_lease *l = find_lease(st, lease);
	if (l) {
		if (strcmp(l->holder, holder) != 0)
			return 0;
		l->deadline = s->now + l->ttl; /* a renewal */
		notify_renewal(s, l);
		return l->token;
	}
	for (int i = 0; i < STORE_LEASES; i++) {
		l = &st->leases[i];
		if (l->held)
			continue;
		*l = (struct store_lease){ .held = true,
					   .token = ++st->index,
					   .ttl = ttl,
					   .deadline = s->now + ttl };
		snprintf(l->name, sizeof(l->name), "%s", lease);
		snprintf(l->holder, sizeof(l->holder), "%s", holder);
		notify(s, who, lease);
		return l->token;
	}
	return 0;
}

bool store_renew(struct sim *s, int who, const char *lease, const char *holder,
		 uint64_t token)
{
	count(s, who);
	struct store_lease *l = find_lease(&s->store, lease);
	if (!l || l->token != token || strcmp(l->holder, holder) != 0)
		return false;
	l->deadline = s->now + l->ttl;
	notify_renewal(s, l);
	return true;
}

void store_release(struct sim *s, int who, const char *lease,
		   const char *holder, uint64_t token)
{
	count(s, who);
	struct store_lease *l = find_lease(&s->store, lease);
	if (l && l->token == token && strcmp(l->holder, holder) == 0)
		free_lease(s, l);
}

const struct store_lease *store_lease_get(struct sim *s, int who,
					  const char *lease)
{
	count(s, who);
	return find_lease(&s->store, lease);
}

const char *store_get(struct sim *s, int who, const char *key)
{
	count(s, who);
	struct store_key *k = find_key(&s->store, key);
	return k ? k->value : NULL;
}

bool store_put(struct sim *s, int who, const char *key, const char *value,
	       const char *lease, uint64_t token)
{
	count(s, who);
	struct store *st = &s->store;
	int li = -1;
	if (lease) {
		struct store_lease *l = find_lease(st, lease);
		if (!l || l->token != token)
			return false;
		li = (int)(l - st->leases);
	}
	struct store_key *k = find_key(st, key);
	for (int i = 0; !k && i < SIM_MAX_KEYS; i++)
		if (!st->keys[i].used)
			k = &st->keys[i];
	if (!k)
		return false;
	k->used = true;
	k->lease = li;
	k->writer = who;
	snprintf(k->key, sizeof(k->key), "%s", key);
	snprintf(k->value, sizeof(k->value), "%s", value);
	st->index++;
	notify(s, who, key);
	return true;
}

void store_delete(struct sim *s, int who, const char *key)
{
	count(s, who);
	struct store_key *k = find_key(&s->store, key);
	if (!k)
		return;
	k->used = false;
	s->store.index++;
	notify(s, who, key);
}

bool store_cas(struct sim *s, int who, const char *key, const char *expect,
	       const char *value)
{
	count(s, who);
	struct store_key *k = find_key(&s->store, key);
	const char *cur = k ? k->value : NULL;
	if ((expect == NULL) != (cur == NULL) ||
	    (cur && strcmp(cur, expect) != 0))
		return false;
	return store_put(s, -1, key, value, NULL, 0);
}

void store_expire(struct sim *s)
{
	for (int i = 0; i < STORE_LEASES; i++) {
		struct store_lease *l = &s->store.leases[i];
		if (l->held && s->now >= l->deadline)
			free_lease(s, l);
	}
}
