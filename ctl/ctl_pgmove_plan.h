/*
 * ctl_pgmove_plan.h — what `tenurectl cluster move` decides from what it
 * read (ctl/ctl_pgmove.c does the reading and the writing): whether a
 * scope may move from the old trio to the new one, and which keys go.
 *
 * Contract
 * --------
 * Pure functions over the two trios' listings of the scope (every key
 * under SCOPE/, linearizable) and S/primary's holder on each.  The rules
 * (docs/operations.md "Moving a cluster to another trio"):
 *
 *   old trio:  S/moved naming another trio refuses (finish that move);
 *              no S/pause refuses (the agents must be stopped while
 *              paused, so that their Postgres keeps running); an agent
 *              still running there (S/primary held, or a member record,
 *              which a lease holds) refuses.
 *   new trio:  nothing of the scope, or only keys the copy would write
 *              with the same values (an earlier run that failed
 *              half-way), is ready; otherwise, when the old trio's
 *              S/moved names it, the move was made and its agents have
 *              run there since: nothing to do; otherwise an agent there,
 *              or a key the copy would not give it, refuses.
 *   the copy:  every key of the old trio that no lease holds, but
 *              S/moved, and that the new trio does not have yet.
 *
 * detail (when given) names what the verdict is about: the other trio of
 * S/moved, the running agent (holder or member key), the differing key.
 *
 * Errors: none.
 */
#ifndef TENURE_CTL_PGMOVE_PLAN_H
#define TENURE_CTL_PGMOVE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/client.h"
#include "proto/limits.h"

/* The scope's keys the move reads or writes. */
struct move_keys {
	char prefix[SM_KEY_MAX + 1];  /* "S/" */
	char moved[SM_KEY_MAX + 1];   /* the tombstone, "S/moved" */
	char pause[SM_KEY_MAX + 1];   /* "S/pause" */
	char primary[SM_KEY_MAX + 1]; /* the primary lease, "S/primary" */
};

/* One trio's side, as listed. */
struct move_side {
	const struct client_kv *kvs;
	size_t n;
	const char *primary_holder; /* "" when S/primary is free or absent */
};

enum move_verdict {
	MOVE_READY = 0,       /* go on with the next step */
	MOVE_MOVED_ON,        /* new trio: moved already, agents ran there */
	MOVE_MOVED_ELSEWHERE, /* old trio: S/moved names another trio */
	MOVE_NOT_PAUSED,      /* old trio: no S/pause */
	MOVE_OLD_AGENT,       /* old trio: an agent runs there */
	MOVE_NEW_AGENT,       /* new trio: an agent runs there */
	MOVE_NEW_DIFFERS,     /* new trio: a key the copy would not give it */
};

void move_keys_init(struct move_keys *k, const char *scope);
/* The key named k in s, or NULL. */
const struct client_kv *move_find(const struct move_side *s, const char *k);
enum move_verdict move_check_old(const struct move_keys *k, const char *dst,
				 const struct move_side *old, char *detail,
				 size_t cap);
enum move_verdict move_check_new(const struct move_keys *k,
				 const struct move_side *old,
				 const struct move_side *new, char *detail,
				 size_t cap);
/* kv, a key of the old trio, is written to the new one by the copy. */
bool move_copies(const struct move_keys *k, const struct move_side *new,
		 const struct client_kv *kv);

#endif /* TENURE_CTL_PGMOVE_PLAN_H */
