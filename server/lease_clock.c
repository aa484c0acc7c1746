/*
 * lease_clock.c — see lease_clock.h.  A hash table keyed by lease name:
 * renewals (the hot path, thousands per second) are O(1); the expiry scan
 * walks the table, which at 10,000 leases is a few microseconds per tick.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/hash.h"
#include "server/lease_clock.h"

#define TOMBSTONE ((char *)1)

void lease_clock_init(struct lease_clock *c)
{
	memset(c, 0, sizeof(*c));
}

static bool live(const struct lease_clock_entry *e)
{
	return e->name && e->name != TOMBSTONE;
}

void lease_clock_clear(struct lease_clock *c)
{
	for (size_t i = 0; i < c->cap; i++)
		if (live(&c->slots[i]))
			free(c->slots[i].name);
	if (c->cap)
		memset(c->slots, 0, c->cap * sizeof(*c->slots));
	c->n = c->tombstones = 0;
}

void lease_clock_free(struct lease_clock *c)
{
	lease_clock_clear(c);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

static struct lease_clock_entry *find(const struct lease_clock *c,
				      const char *name, size_t len)
{
	if (!c->cap)
		return NULL;
	size_t mask = c->cap - 1;
	for (size_t i = hash_fnv1a(name, len) & mask;; i = (i + 1) & mask) {
		struct lease_clock_entry *e = &c->slots[i];
		if (!e->name)
			return NULL;
		if (live(e) && e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	}
}

static bool rehash(struct lease_clock *c, size_t cap)
{
	struct lease_clock_entry *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 0; i < c->cap; i++) {
		struct lease_clock_entry *e = &c->slots[i];
		if (!live(e))
			continue;
		size_t k = hash_fnv1a(e->name, e->len) & (cap - 1);
		while (slots[k].name)
			k = (k + 1) & (cap - 1);
		slots[k] = *e;
	}
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
	c->tombstones = 0;
	return true;
}

bool lease_clock_set(struct lease_clock *c, const char *name, size_t len,
		     uint64_t deadline_ms, uint64_t token,
		     uint64_t renew_revision)
{
	struct lease_clock_entry *e = find(c, name, len);
	if (!e) {
		/* Keep the table at most half full, tombstones included. */
		if ((c->n + c->tombstones + 1) * 2 > c->cap &&
		    !rehash(c, c->cap ? c->cap * 2 : 64))
			return false;
		char *copy = malloc(len ? len : 1);
		if (!copy)
			return false;
		memcpy(copy, name, len);
		size_t mask = c->cap - 1;
		size_t i = hash_fnv1a(name, len) & mask;
		while (live(&c->slots[i]))
			i = (i + 1) & mask;
		e = &c->slots[i];
		if (e->name == TOMBSTONE)
			c->tombstones--;
		e->name = copy;
		e->len = len;
		c->n++;
	}
	e->deadline_ms = deadline_ms;
	e->token = token;
	e->renew_revision = renew_revision;
	return true;
}

void lease_clock_remove(struct lease_clock *c, const char *name, size_t len)
{
	struct lease_clock_entry *e = find(c, name, len);
	if (!e)
		return;
	free(e->name);
	e->name = TOMBSTONE;
	c->n--;
	c->tombstones++;
}

const struct lease_clock_entry *lease_clock_get(const struct lease_clock *c,
						const char *name, size_t len)
{
	return find(c, name, len);
}

void lease_clock_due(const struct lease_clock *c, uint64_t now,
		     bool (*fn)(void *arg, const struct lease_clock_entry *e),
		     void *arg)
{
	for (size_t i = 0; i < c->cap; i++) {
		const struct lease_clock_entry *e = &c->slots[i];
		if (live(e) && e->deadline_ms <= now && !fn(arg, e))
			return;
	}
}
