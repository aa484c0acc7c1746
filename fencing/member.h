/*
 * member.h — the record every agent publishes about its node, under the
 * key SCOPE/members/NAME attached to the agent's own member lease (so a
 * dead agent's record disappears by itself), and read back by the other
 * agents (failover decisions) and by `tenurectl cluster list`.
 *
 * Contract
 * --------
 * The value is one flat JSON object (no nesting, no arrays) with the keys
 * below; unknown keys are ignored on decode so that a newer agent can add
 * fields; a missing key keeps its zero value.  LSNs are byte positions as
 * unsigned integers (pg_lsn "16/B374D848" is 0x16B374D848); member_lsn_format
 * prints PostgreSQL's X/X form for humans.  Strings are bounded by
 * MEMBER_STR_MAX; decode refuses longer ones, bad JSON, nesting and
 * trailing garbage with a reason in err.  Pure functions, no global state.
 *
 * Errors: decoders and parsers return false on malformed input,
 * member_encode 0 when the buffer is too small; nothing is logged.
 */
#ifndef TENURE_FENCING_MEMBER_H
#define TENURE_FENCING_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEMBER_STR_MAX 256

enum member_role {
	MEMBER_UNKNOWN = 0, /* "unknown": Postgres not reachable */
	MEMBER_PRIMARY,     /* "primary": running, not in recovery */
	MEMBER_REPLICA,     /* "replica": running in recovery */
	MEMBER_STOPPED,     /* "stopped": the agent knows it is down */
};

struct member {
	char name[MEMBER_STR_MAX];     /* "name" */
	enum member_role role;         /* "role" */
	char state[MEMBER_STR_MAX];    /* "state": running, streaming, frozen,
					  fenced, starting, stopped, ... */
	uint32_t timeline;             /* "timeline" */
	uint64_t received_lsn;         /* "received_lsn": flushed by the
					  walreceiver (standby), current
					  write position (primary) */
	uint64_t replayed_lsn;         /* "replayed_lsn" */
	uint64_t lag_bytes;            /* "lag_bytes": behind the primary */
	bool healthy;                  /* "healthy" */
	char api[MEMBER_STR_MAX];      /* "api": host:port of its HTTP API */
	char pg[MEMBER_STR_MAX];       /* "pg": host:port of its Postgres */
	char upstream[MEMBER_STR_MAX]; /* "upstream": node it streams from */
	bool nofailover;               /* "nofailover" */
	int64_t priority;              /* "priority": higher wins ties */
	uint64_t frozen_token;         /* "frozen_token": non-zero while its
					  replication is stopped for a
					  failover after the lease with
					  this token ended */
	uint64_t lease_token;          /* "lease_token": the primary's token */
	bool sync;                     /* "sync": listed as synchronous */
	uint64_t updated_ms;           /* "updated_ms": wall clock of the
					  write, display */
	char waiting[MEMBER_STR_MAX];  /* "waiting": while no node holds the
					  primary lease, why this one does
					  not take it ("" otherwise) */
	bool slots;                    /* "slots": its agent keeps a slot for
					  every member while primary, so a
					  standby may name its own */
	bool pending_restart;          /* "pending_restart": a parameter
					  changed that needs a restart */
	/* pg_stat_archiver, for display (cluster list, /metrics):
	 * "archived" and "archive_failed" counts, "archive_last_wal" the
	 * last WAL file archived ("" none) */
	uint64_t archived, archive_failed;
	char archive_last_wal[MEMBER_STR_MAX];
	char hs_params[MEMBER_STR_MAX]; /* "hs_params": the running
					  hot-standby-critical parameters
					  ("max_connections=100,..."), the
					  floor of its standbys */
	char reason[MEMBER_STR_MAX];    /* "reason": why Postgres is down
					  (a start that failed, a copy
					  refused), "" */
	/* Tags (the node's config file), besides nofailover and priority: */
	bool nosync;        /* "nosync": never a synchronous standby */
	bool noloadbalance; /* "noloadbalance": GET /replica answers 503 */
	bool clonefrom;     /* "clonefrom": preferred source of copies */
	char replicatefrom[MEMBER_STR_MAX]; /* "replicatefrom": the replica
					       it would rather stream from
					       (cascading), "" */
};

const char *member_role_name(enum member_role r);
/* The record named name among m[0..n), or NULL. */
const struct member *member_find(const struct member *m, size_t n,
				 const char *name);
/* "primary", "replica", "stopped", "unknown"; false otherwise. */
bool member_role_parse(const char *s, enum member_role *out);

/* Writes the JSON object into buf (NUL-terminated); returns its length, or
 * 0 when it does not fit. */
size_t member_encode(const struct member *m, char *buf, size_t cap);
/* Parses len bytes; false with a reason in err. */
bool member_decode(const char *json, size_t len, struct member *m, char *err,
		   size_t errlen);

/* When a record must be written again (member_write_reason). */
struct member_write_policy {
	uint64_t primary_ms;     /* a primary's position: at most this often;
				    a standby's moved position_bytes, too */
	uint64_t position_bytes; /* a streaming standby's positions: moved */
	uint64_t position_ms;    /* ... or changed and this old */
	uint64_t heartbeat_ms;   /* nothing changed: written again after */
};

/* Why next must be written now, last being the record written age_ms ago
 * (NULL: none, or it may be gone), or NULL when it need not be: a field
 * others decide on changed (its key is returned), a position changed as
 * the policy says (a streaming standby's may lag; any other at once, a
 * primary's once per primary_ms), or nothing changed for heartbeat_ms.
 * updated_ms is never compared. */
const char *member_write_reason(const struct member *last,
				const struct member *next, uint64_t age_ms,
				const struct member_write_policy *p);

/* Every tag that differs from its default, comma separated, in this
 * order: "nofailover,priority=5,nosync,noloadbalance,clonefrom,
 * replicatefrom=NODE" (priority's default is 1); "" when none.  Into buf,
 * cut short when it does not fit. */
const char *member_tags_format(const struct member *m, char *buf, size_t cap);
struct json;
/* The same tags as one JSON object ({} when none), as Patroni's members
 * carry them: nofailover, failover_priority, nosync, noloadbalance,
 * clonefrom, replicatefrom. */
void member_tags_json(const struct member *m, struct json *j);
/* The default of the priority tag (failover_priority). */
#define MEMBER_DEFAULT_PRIORITY 1

/* "16/B374D848" into buf (at least 24 bytes). */
const char *member_lsn_format(uint64_t lsn, char *buf, size_t cap);
/* PostgreSQL's pg_lsn text form; false when malformed. */
bool member_lsn_parse(const char *s, uint64_t *out);

#endif
