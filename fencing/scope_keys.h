/*
 * scope_keys.h — how a cluster's scope S/ is read and kept bounded, where
 * it has two subtrees that grow with the cluster's life: S/history/
 * (one entry per promotion, written by the agents) and S/drills/ (one
 * result of several KB per `tenurectl cluster drill`).  Pure functions
 * on key strings, shared by tenure-agent and tenurectl.
 *
 * Contract
 * --------
 * Keys compare as byte strings (memcmp, then the shorter first), which is
 * the order LIST and LIST_PAGE answer in.  History keys are
 * S/history/%020llu of the new primary's fencing token and drill keys
 * S/drills/%020llu of a wall-clock ms, so the oldest come first.
 *
 * Bounded growth: the agent that writes a history entry deletes the
 * oldest ones beyond SCOPE_HISTORY_KEEP, `tenurectl cluster drill`
 * deletes the oldest results beyond SCOPE_DRILLS_KEEP;
 * scope_prune_count() says how many of n go.
 *
 * The agent's tick reads its scope with LIST_PAGE starting inside
 * S/history/ rather than listing everything (the subtree alone could pass
 * the 1 MiB answer limit).  It remembers the newest history key K it has
 * seen and asks for the keys after scope_key_before(K): every key from K
 * on, so K itself confirms in the same linearizable read that nothing
 * older than what it knows became the newest.  scope_walk_step() sorts
 * each listed key:
 *   SCOPE_TAKE     new to this walk: process it;
 *   SCOPE_AGAIN    K itself: already known, its value read afresh;
 *   SCOPE_SKIP     older than K (a key between start_after and K, which
 *                  history keys never are): already known;
 *   SCOPE_RESTART  K is gone (a key after it came first): what the agent
 *                  remembers may be stale, so the walk starts again from
 *                  the whole subtree with nothing remembered;
 * and scope_walk_end() the same when the listing ended before K.  A walk
 * with an empty K takes everything and never restarts.
 *
 * Errors: none (pure functions).
 */
#ifndef TENURE_FENCING_SCOPE_KEYS_H
#define TENURE_FENCING_SCOPE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCOPE_HISTORY_KEEP 1000 /* newest S/history/ entries kept */
#define SCOPE_DRILLS_KEEP 100   /* newest S/drills/ results kept */
/* An operator's request (S/switchover) older than this is stale: the
 * agents ignore it and tenurectl replaces it (one rule for both). */
#define SCOPE_REQUEST_MAX_AGE_MS 60000

/* A pending S/switchover value (json, len bytes) the agents ignore
 * already at wall clock now_ms: unreadable, without "requested_ms", or
 * older than SCOPE_REQUEST_MAX_AGE_MS, a scheduled one ("at_ms") counted
 * from its time.  tenurectl and the REST API replace such a request. */
/* A request's "requested_ms" and "at_ms" (0 when absent); false, both
 * 0, when the JSON does not parse. */
bool scope_request_times(const char *json, size_t len, uint64_t *requested_ms,
			 uint64_t *at_ms);
bool scope_request_stale(const char *json, size_t len, uint64_t now_ms);

/* The greatest string below key that a LIST_PAGE start_after needs: key
 * with its last byte decremented (S/history/...0123 -> ...0122, exactly
 * the key of the token before) or, for a last byte 0, key without it.
 * False when it does not fit in cap (with its NUL) or key is empty. */
bool scope_key_before(const char *key, size_t len, char *out, size_t cap);

enum scope_step {
	SCOPE_TAKE,
	SCOPE_AGAIN,
	SCOPE_SKIP,
	SCOPE_RESTART,
};

/* One walk over the keys from scope_key_before(known) on; known "" (or
 * NULL): a full walk. */
struct scope_walk {
	const char *known; /* K, NUL-terminated, owned by the caller */
	bool seen;         /* K was listed */
};
void scope_walk_init(struct scope_walk *w, const char *known);
enum scope_step scope_walk_step(struct scope_walk *w, const char *key,
				size_t len);
/* SCOPE_RESTART when K was never listed, else SCOPE_TAKE. */
enum scope_step scope_walk_end(const struct scope_walk *w);

/* How many of n entries (oldest first) to delete to keep the newest keep. */
size_t scope_prune_count(size_t n, size_t keep);

#endif /* TENURE_FENCING_SCOPE_KEYS_H */
