/*
 * sm.h — the replicated state machine of tenured: leases and keys.
 *
 * Contract
 * --------
 * A pure, deterministic module: no clock, no I/O, no randomness.  Every
 * witness applies the same commands (Raft log entries) in the same order and
 * ends in the same state; sm_apply() is a function of (state, index, command).
 * Time never enters the state machine: when a lease has expired is decided
 * by the leader on its monotonic clock (docs/design.md rule 3) and enters
 * the log as an explicit SM_CMD_LEASE_EXPIRE command (docs/design.md
 * rule 4).
 *
 * Leases.  A lease has a name, a holder (free when empty), a fencing token,
 * a TTL and a renewal revision:
 *   - acquire(name, holder, ttl) grants when the lease is free or already
 *     held by the same holder.  A new grant's token is the Raft index of the
 *     acquire entry, or one more than the lease's last token when a free
 *     lease in the table carries a higher one (a floor, below):
 *     max(index, last + 1).  So tokens of one name strictly increase, across
 *     leader changes too, and every witness computes the same one.
 *     Re-acquiring by the current holder keeps its token (it is a renewal
 *     that may also change the TTL).
 *   - floor(name, token): a free lease remembers token as its last one
 *     (the greater of the two when it already has one), so its next grant
 *     is above it.  A scope moved from another witness trio carries its
 *     tokens on this way (docs/design.md "Past one trio"): this log's
 *     indexes may be far below the other's.  A held lease: SM_HELD,
 *     nothing changes.  No event (nothing was granted or freed).
 *   - renew(name, holder, token) succeeds only for the current holder with
 *     the current token; it sets the renewal revision to the entry's index.
 *   - release(name, holder, token) frees it (same check).
 *   - expire(name, token, renew_revision) frees it only if the token AND the
 *     renewal revision still match: a renewal applied after the leader
 *     decided the lease had run out makes the expiry a no-op, so an expiry
 *     can never cut a lease that was renewed in time.
 *   When a lease is freed (release or expire), every key attached to it is
 *   deleted in the same apply, atomically.
 *
 * Keys.  put(key, value, lease) stores a value (attached to a held lease,
 * or to none); a put naming a lease that is not held fails.  delete(key);
 * cas(key, expected_mod_revision, value, lease): put only if the key's
 * mod revision equals the expected one (0: the key must not exist).  Every
 * change sets the key's mod revision to the entry index; create revision is
 * kept across updates.  The store-wide revision is the index of the last
 * entry that changed anything.
 *
 * Events.  Every change produces an sm_event (grant, renew, release, expire,
 * put, delete) through the callback given to sm_apply(), for watches and
 * logs.
 *
 * Precise rules (decided while implementing; the safe reading wherever the
 * above left room):
 *   - A put or cas that names a lease must also carry the token of the
 *     lease's current grant (cmd.token); otherwise SM_NO_LEASE.  Without
 *     this, a late put from a holder whose lease expired and was granted
 *     to someone else would attach the old holder's key to the new grant.
 *     Token without lease (or lease without token) is malformed.
 *   - Status per case: renew/release/expire of an unknown lease (a
 *     released or expired one is unknown, see below): SM_NOT_FOUND;
 *     renew/release by another holder or with another token:
 *     SM_NOT_HOLDER; expire with a token/renew revision that no longer
 *     matches: SM_STALE.  Renew does
 *     not change the TTL (only a re-acquire does).  cas checks the
 *     comparison before the lease (SM_COMPARE_FAILED wins).
 *   - A re-acquire by the holder is a renewal in every respect: SM_EV_RENEW,
 *     renew_revision = its index (so an expiry decided earlier is stale).
 *     Renewals are changes: they move the store revision.
 *   - A freed lease (release or expire) is removed from the table: names
 *     are chosen by clients, and free leases kept would grow the state
 *     forever.  Tokens stay strictly increasing per name without any
 *     memory of it: a later grant's token is the index of its own entry,
 *     above every earlier entry's.  The exception: a lease whose token is
 *     at or above the index that frees it (granted above a floor) stays
 *     in the table, free, so the next grant goes above it.  Free leases in
 *     the table are floors, those, or what a snapshot of an older version
 *     brought (whose tokens are below every later index, so max(index,
 *     last + 1) is the index, as before).  A floor has no TTL (0) and its
 *     renew revision is the floor's index; a token may exceed every index
 *     of the log.
 *   - Freeing a lease emits SM_EV_RELEASE/SM_EV_EXPIRE first, showing the
 *     lease as it was (holder and token that lost it), then one
 *     SM_EV_DELETE per attached key in key byte order; all carry the
 *     entry's index.  The sm_result shows the lease after (free, its
 *     token the one it lost), though it is gone from the table.
 *   - Results: on success, the lease/key after the apply (a delete gives
 *     the key's name, empty value and the deleting index as mod revision);
 *     on failure, the current state of the named lease/key when it exists
 *     (so SM_HELD tells who holds it, SM_COMPARE_FAILED the current mod
 *     revision), zeroes otherwise.
 *   - Event callbacks must not call sm_apply/sm_skip/sm_restore/sm_free;
 *     lookups made from a callback see the apply half-done.
 *   - A command with token 0 (renew, release, expire, floor) or renew
 *     revision 0
 *     (expire) is malformed: no grant has index 0.  Fields a type does not
 *     carry must be zero/empty; sm_cmd_encode() refuses (returns false for)
 *     any command sm_cmd_decode() would reject.
 *   - An index that does not increase is a caller bug: the state machine
 *     stops the process (assertion) rather than apply it.
 *
 * Scopes.  A scope is the part of a key or lease name
 * before its first '/', when that is not empty ("main/primary" is in
 * scope "main"): what an agent credential is limited to
 * (server/auth_policy.c).  Names without one belong to no scope and are
 * neither counted nor limited (only an admin credential can write them).
 * Each scope's keys, bytes (key plus value lengths) and leases are
 * counted as they change, and rebuilt by sm_restore(); a scope exists
 * while it has a key or a lease.  These counters are all the state machine
 * knows of limits: the entries carry none and it refuses nothing for a
 * limit, so witnesses of different versions or settings apply the same
 * log alike.  The limits are an admission check of the leader before it
 * proposes (server/scope_admit.h).
 *
 * Limits (checked when a command is decoded and again on apply):
 * names and keys 1..SM_KEY_MAX bytes, holders 1..SM_HOLDER_MAX, values up to
 * SM_VALUE_MAX, TTL in [SM_TTL_MIN_MS, SM_TTL_MAX_MS] (proto/limits.h).
 *
 * Errors: sm_cmd_decode, sm_apply and sm_restore return 0 or -1 (with why
 * for the decoders); a command's outcome is an enum sm_status in the
 * result, not a return value.  Nothing is logged.
 */
#ifndef TENURE_SERVER_SM_H
#define TENURE_SERVER_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"
#include "proto/wire.h"

enum sm_cmd_type {
	SM_CMD_LEASE_ACQUIRE = 1,
	SM_CMD_LEASE_RENEW,
	SM_CMD_LEASE_RELEASE,
	SM_CMD_LEASE_EXPIRE,
	SM_CMD_PUT,
	SM_CMD_DELETE,
	SM_CMD_CAS,
	SM_CMD_LEASE_FLOOR, /* 8: see floor() above */
	SM_CMD_LAST = SM_CMD_LEASE_FLOOR,
};

/* Byte strings point into the encoded command (or the caller's memory when
 * encoding); they are not NUL-terminated. */
struct sm_str {
	const char *p;
	size_t len;
};

struct sm_cmd {
	uint8_t type;
	struct sm_str name; /* lease name (lease commands, put/cas lease) */
	struct sm_str holder;
	struct sm_str key;
	struct sm_str value;
	uint64_t token;    /* renew/release/expire/floor; put/cas: with name */
	uint64_t ttl_ms;   /* acquire */
	uint64_t revision; /* expire: renew revision; cas: expected */
};

/* Command codec (the log entry payload), versioned by its first byte. */
bool sm_cmd_encode(struct wire_writer *w, const struct sm_cmd *c);
/* 0, or -1 (malformed) or SM_CMD_UNKNOWN (a version or type this binary
 * does not know: a newer witness's command) with a reason in why (for
 * logs): never trusts the input. */
#define SM_CMD_UNKNOWN (-2)
int sm_cmd_decode(const void *buf, size_t len, struct sm_cmd *c,
		  const char **why);

enum sm_status {
	SM_OK = 0,
	SM_HELD = 1,       /* acquire: held by another holder */
	SM_NOT_HOLDER = 2, /* renew/release: not the holder or stale token */
	SM_NOT_FOUND = 3,  /* delete of a missing key; unknown lease */
	SM_COMPARE_FAILED = 4,
	SM_NO_LEASE = 5, /* put attached to a lease that is not held */
	SM_STALE = 6,    /* expire no longer applies (renewed meanwhile) */
	SM_INVALID = 7,  /* malformed command */
};
const char *sm_status_name(int status);

struct sm_lease {
	struct sm_str name;
	struct sm_str holder; /* len 0: free */
	uint64_t token;       /* of the current or last grant */
	uint64_t ttl_ms;
	uint64_t renew_revision; /* index of the grant or last renewal */
};

struct sm_key {
	struct sm_str key;
	struct sm_str value;
	struct sm_str lease; /* len 0: not attached */
	uint64_t create_revision;
	uint64_t mod_revision;
};

struct sm_result {
	int status;
	struct sm_lease lease; /* lease commands: state after apply */
	struct sm_key key;     /* key commands: state after apply */
	uint64_t revision;     /* store revision after apply */
};

/* A scope's usage (see "Scopes" above). */
struct sm_scope {
	struct sm_str name;
	uint64_t keys;
	uint64_t bytes; /* key and value lengths */
	uint64_t leases;
};

/* Length of the scope of a key or lease name (0: none). */
size_t sm_scope_len(const char *name, size_t len);

/* enum sm_event_type: proto/limits.h (watch events carry it). */

struct sm_event {
	uint8_t type;
	uint64_t revision;
	const struct sm_lease *lease; /* lease events */
	const struct sm_key *key;     /* key events (value empty on delete) */
};

typedef void (*sm_event_fn)(void *arg, const struct sm_event *ev);

struct sm;

struct sm *sm_new(void);
void sm_free(struct sm *sm);

/* Apply the command of log entry `index` (index strictly increasing).
 * A malformed command of a known version and type (which the encoder
 * never writes: only damage the checksums missed) is applied as a no-op
 * with SM_INVALID, on every witness alike.  Returns 0; or -1 when out of
 * memory, or SM_APPLY_UNKNOWN when the command's version or type is one
 * this binary does not know: then nothing changed, not even the applied
 * index, and the caller must stop.  Skipping the command would be the
 * worst answer: the witnesses that know it apply it, and this one's
 * state would silently part from theirs (a stopped witness is a crashed
 * one, which Raft tolerates).  res and on_event may be NULL.  Cost: O(log n) per
 * command, plus O(k log n) for the k keys of a lease it frees. */
#define SM_APPLY_UNKNOWN (-2)
int sm_apply(struct sm *sm, uint64_t index, const void *cmd, size_t len,
	     struct sm_result *res, sm_event_fn on_event, void *arg);

/* Entries that carry no command (Raft no-ops, configuration changes) still
 * advance the applied index. */
void sm_skip(struct sm *sm, uint64_t index);
uint64_t sm_applied_index(const struct sm *sm);
uint64_t sm_revision(const struct sm *sm);

/* Lookups: results point into the state machine and stay valid until the
 * next sm_apply/sm_restore/sm_free. */
bool sm_lease_get(const struct sm *sm, const char *name, size_t len,
		  struct sm_lease *out);
bool sm_key_get(const struct sm *sm, const char *key, size_t len,
		struct sm_key *out);
/* Visit leases (all, free ones too) or keys with a prefix (len 0: all),
 * in byte order of name/key; stop early when fn returns false.  Costs
 * O(log n + visited). */
void sm_lease_each(const struct sm *sm,
		   bool (*fn)(void *arg, const struct sm_lease *l), void *arg);
void sm_key_each(const struct sm *sm, const char *prefix, size_t len,
		 bool (*fn)(void *arg, const struct sm_key *k), void *arg);
/* The same, starting at the first name/key >= from (paged lists: O(log n)
 * to find where a page starts, whatever page it is). */
void sm_lease_each_from(const struct sm *sm, const char *from, size_t flen,
			bool (*fn)(void *arg, const struct sm_lease *l),
			void *arg);
void sm_key_each_from(const struct sm *sm, const char *prefix, size_t len,
		      const char *from, size_t flen,
		      bool (*fn)(void *arg, const struct sm_key *k), void *arg);
size_t sm_lease_count(const struct sm *sm);
/* Scopes in name order; one by name (false when it does not exist). */
void sm_scope_each(const struct sm *sm,
		   bool (*fn)(void *arg, const struct sm_scope *sc), void *arg);
bool sm_scope_get(const struct sm *sm, const char *name, size_t len,
		  struct sm_scope *out);
size_t sm_scope_count(const struct sm *sm);
size_t sm_key_count(const struct sm *sm);

/* Snapshot: a self-describing, versioned, checksummed encoding of the whole
 * state (the store compresses it), appended to w; false if w failed.  Equal
 * states give identical bytes (layout in sm_snap.c).  Restore replaces the
 * state, applied index included; on a malformed snapshot (or out of
 * memory) it returns -1, leaves the old state, and sets why (may be
 * NULL). */
bool sm_snapshot(const struct sm *sm, struct wire_writer *w);
int sm_restore(struct sm *sm, const void *buf, size_t len, const char **why);

#endif /* TENURE_SERVER_SM_H */
