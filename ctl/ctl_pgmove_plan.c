/*
 * ctl_pgmove_plan.c — what `tenurectl cluster move` decides
 * (ctl_pgmove_plan.h).
 */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl_pgmove_plan.h"

void move_keys_init(struct move_keys *k, const char *scope)
{
	snprintf(k->prefix, sizeof(k->prefix), "%s/", scope);
	snprintf(k->moved, sizeof(k->moved), "%s/moved", scope);
	snprintf(k->pause, sizeof(k->pause), "%s/pause", scope);
	snprintf(k->primary, sizeof(k->primary), "%s/primary", scope);
}

static bool str_eq(struct client_str a, struct client_str b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len));
}

static bool str_is(struct client_str a, const char *s)
{
	return a.len == strlen(s) && (a.len == 0 || !memcmp(a.p, s, a.len));
}

static void say(char *detail, size_t cap, struct client_str s)
{
	if (detail && cap)
		snprintf(detail, cap, "%.*s", (int)s.len, s.p);
}

const struct client_kv *move_find(const struct move_side *s, const char *k)
{
	for (size_t i = 0; i < s->n; i++)
		if (str_is(s->kvs[i].key, k))
			return &s->kvs[i];
	return NULL;
}

/* A key that goes along: not held by a lease (member records), not the
 * tombstone itself. */
static bool goes_along(const struct move_keys *k, const struct client_kv *kv)
{
	return kv->lease.len == 0 && !str_is(kv->key, k->moved);
}

/* An agent running against side s: S/primary held, or a member record
 * (lease-held); named into detail. */
static bool agent_running(const struct move_side *s, char *detail, size_t cap)
{
	if (s->primary_holder && s->primary_holder[0]) {
		if (detail && cap)
			snprintf(detail, cap, "%s", s->primary_holder);
		return true;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->kvs[i].lease.len) {
			say(detail, cap, s->kvs[i].key);
			return true;
		}
	return false;
}

/* The first key of the new trio that the copy would not give it. */
static const struct client_kv *first_difference(const struct move_keys *k,
						const struct move_side *old,
						const struct move_side *new)
{
	for (size_t i = 0; i < new->n; i++) {
		const struct client_kv *n = &new->kvs[i];
		const struct client_kv *o = NULL;
		for (size_t j = 0; j < old->n && !o; j++)
			if (str_eq(old->kvs[j].key, n->key))
				o = &old->kvs[j];
		if (!o || !goes_along(k, o) || !str_eq(o->value, n->value))
			return n;
	}
	return NULL;
}

enum move_verdict move_check_old(const struct move_keys *k, const char *dst,
				 const struct move_side *old, char *detail,
				 size_t cap)
{
	const struct client_kv *moved = move_find(old, k->moved);
	if (moved && !str_is(moved->value, dst)) {
		say(detail, cap, moved->value);
		return MOVE_MOVED_ELSEWHERE;
	}
	if (!move_find(old, k->pause))
		return MOVE_NOT_PAUSED;
	if (agent_running(old, detail, cap))
		return MOVE_OLD_AGENT;
	return MOVE_READY;
}

enum move_verdict move_check_new(const struct move_keys *k,
				 const struct move_side *old,
				 const struct move_side *new, char *detail,
				 size_t cap)
{
	char who[SM_KEY_MAX + 1];
	bool running = agent_running(new, who, sizeof(who));
	const struct client_kv *d = first_difference(k, old, new);
	if (!running && !d)
		return MOVE_READY;
	if (move_find(old, k->moved)) /* made: its agents run there now */
		return MOVE_MOVED_ON;
	if (running) {
		if (detail && cap)
			snprintf(detail, cap, "%s", who);
		return MOVE_NEW_AGENT;
	}
	say(detail, cap, d->key);
	return MOVE_NEW_DIFFERS;
}

bool move_copies(const struct move_keys *k, const struct move_side *new,
		 const struct client_kv *kv)
{
	if (!goes_along(k, kv))
		return false;
	for (size_t i = 0; i < new->n; i++)
		if (str_eq(new->kvs[i].key, kv->key))
			return false; /* first_difference: the same value */
	return true;
}
