/*
 * decide.h — what the agent should do next, as a pure function of what it
 * observed: no I/O, no clock, no randomness, so every rule of failover and
 * fencing is a unit test (tests/unit/test_decide.c).
 *
 * Contract
 * --------
 * decide() looks at one snapshot (struct decide_input) and returns one
 * action.  The agent runs it, observes again, and asks again: actions are
 * small steps and decide() is idempotent over them.  The rules, in order:
 *
 *  1. docs/design.md rule 7 first: Postgres running as a primary without
 *     a valid lease held by this agent is fenced at once.  One exception,
 *     maintenance mode: a primary whose agent was stopped while the
 *     cluster was paused keeps running (S/unguarded names it); its agent,
 *     started again, takes the lease back instead (ACT_RECLAIM) if the
 *     lease is free or still its own and the cluster is still paused.
 *  2. Without a fresh view of the witnesses nothing else is decided.
 *  3. An empty data directory is bootstrapped (initdb, only with the lease
 *     free and the cluster not yet initialised) or copied from the primary.
 *     It waits instead while another member reports data of its own (it is
 *     about to be adopted) or while the agent is in its first
 *     bootstrap_grace (members with data may not have registered yet).
 *  3b. Existing data in a scope never initialised (a cluster migrated in,
 *     e.g. from Patroni), lease free, not paused: the data of a former
 *     primary (it ran or stopped as one, no standby.signal or
 *     recovery.signal) is adopted: lease, start as the primary, write
 *     S/initialize.  A standby's data never is: it waits for a primary,
 *     then follows it as in 5.  Nobody fails over in such a scope.  A
 *     primary whose S/initialize is missing writes it.
 *  4. The lease holder keeps (or makes) its Postgres the primary: start as
 *     a standby, then promote; then keeps S/sync and
 *     synchronous_standby_names in step (sync mode: every healthy standby
 *     streaming from it, except nofailover and nosync ones; cascading
 *     standbys do not stream from it, so they are never listed) and
 *     honours a switchover request.  Strict mode lists DECIDE_SYNC_NOBODY
 *     when nobody else is left, so that commits wait.
 *  5. With another holder, Postgres follows it: an old primary is made
 *     clean (crash recovery), rewound, and started as a standby; a standby
 *     is re-pointed; frozen replication is resumed.  A standby tagged
 *     replicatefrom streams from that replica instead while it is a
 *     healthy replica streaming from the primary (decide_upstream), and
 *     from the primary otherwise.  A standby that fails
 *     to start is started again after a back-off (start_wait_ms); only
 *     one whose data diverged or is damaged (startfail.h), after
 *     DECIDE_START_FAILURES starts in a row, is copied afresh, and a
 *     copy after a copy that never came up waits too (copy_wait_ms).
 *     Any other cause is the operator's to fix: a copy would fail alike.
 *  6. With the lease free (and the cluster not paused) every standby first
 *     freezes (stops replicating from the old primary and publishes where
 *     it stopped); then the most advanced eligible standby takes the lease.
 *     In synchronous mode every node of S/sync must have frozen first and
 *     the candidate must be one of them: then it holds every acknowledged
 *     commit and the old primary can get no more acknowledgements.  Until
 *     the primary first wrote S/sync (synchronous mode just turned on)
 *     the asynchronous rule applies: nothing was acknowledged
 *     synchronously yet, and refusing every candidate would leave the
 *     cluster without a primary.  A switchover whose candidate did not
 *     take the lease in time lets the last primary take it back.
 *  4b. Asynchronous mode: the primary clears synchronous_standby_names,
 *     then deletes S/sync (so that turning synchronous mode on again
 *     starts from "not yet in force").
 *  7. A standby cluster (standby_cluster, fencing/standby_cluster.h),
 *     after rule 2: the lease holder is the standby leader.  It starts
 *     and stays in recovery, following the main cluster (target
 *     STANDBY_CLUSTER_UPSTREAM: ACT_START, ACT_REPOINT), and is never
 *     promoted; the first member with no data takes the free lease
 *     (unless another member has data or bootstrap_grace lasts) and
 *     copies the main cluster (ACT_BASEBACKUP of
 *     STANDBY_CLUSTER_UPSTREAM), later ones copy the standby leader.
 *     With the lease free nobody freezes: the most advanced healthy
 *     member takes it (the others hold nothing it lacks that the main
 *     cluster cannot send it).  The other members follow the holder
 *     by rule 5 (they cascade from it).  Nothing bootstraps or adopts.
 *     The setting removed (`tenurectl cluster promote`), the holder's
 *     next decision is rule 4: it promotes.
 *
 * Errors: none (pure functions of their input).
 */
#ifndef TENURE_FENCING_DECIDE_H
#define TENURE_FENCING_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fencing/member.h"
#include "fencing/optime.h"
#include "fencing/startfail.h"

enum pg_state {
	PG_ABSENT = 0, /* data directory not initialised */
	PG_STOPPED,    /* initialised, no postmaster */
	PG_STARTING,   /* postmaster up, not answering queries yet */
	PG_PRIMARY,    /* answering, not in recovery */
	PG_REPLICA,    /* answering, in recovery */
};

struct decide_pg {
	enum pg_state state;
	bool was_primary; /* stopped: pg_controldata says it ran as a
				   primary (needs rewind before following) */
	bool clean;       /* stopped: shut down cleanly */
	bool rewound;     /* this agent made it a standby since */
	uint32_t timeline;
	uint64_t received_lsn, replayed_lsn;
	bool streaming;                /* a walreceiver is streaming */
	char upstream[MEMBER_STR_MAX]; /* node named in primary_conninfo, "" */
	bool frozen;               /* not replicating: primary_conninfo empty,
				   no walreceiver */
	bool frozen_settled;       /* ... and replay no longer moves */
	uint64_t not_streaming_ms; /* replica: time without streaming */
	int start_failures;        /* starts in a row that never came up */
	enum startfail_cause start_cause; /* why the last one failed */
	uint64_t start_wait_ms;   /* back-off left before the next start */
	uint64_t copy_wait_ms;    /* back-off left before another fresh copy
				   (copies in a row that never came up) */
	bool controldata_ok;      /* stopped: pg_controldata could be read */
	bool standby_data;        /* stopped: standby.signal or recovery.signal
				   (a standby's data: never adopted) */
	char sync_names[512];     /* primary: synchronous_standby_names */
	char standby_flush[1024]; /* primary: "NAME=LSN,..." of
				   pg_stat_replication, flushed positions */
	int sync_count;           /* ... and its ANY N (0 when empty) */
};

struct decide_lease {
	bool known;                  /* the witnesses answered recently */
	char holder[MEMBER_STR_MAX]; /* "" when free */
	bool mine_valid;             /* held by this agent, validity not over */
	bool other_incarnation;      /* holder has this node's name but is
				   another process (an earlier run of this
				   agent, or a second agent so named) */
};

struct decide_input {
	const char *name;
	bool sync_mode;
	uint64_t max_lag;
	struct decide_pg pg;
	struct decide_lease lease;
	const struct member *members; /* every record read, self included */
	size_t n_members;
	bool initialized;     /* S/initialize exists */
	bool paused;          /* S/pause exists */
	bool nofailover;      /* this node never becomes primary: it never
				   bootstraps, adopts or takes the lease */
	bool bootstrap_grace; /* the agent started less than 2 x lease_ttl
				   ago: an empty node does not initdb yet */
	const char *sync_key; /* S/sync: comma list, "" */
	bool sync_key_known;
	/* S/sync does not exist: no standby was ever synchronous since
	 * synchronous mode was turned on, so every commit so far was
	 * acknowledged asynchronously and the asynchronous rule still
	 * applies to promotions (rule 6). */
	bool sync_key_absent;
	int sync_count; /* standbys a commit waits for (0: 1) */
	/* synchronous_mode_strict: with no standby to wait for, the primary
	 * still waits (for DECIDE_SYNC_NOBODY): writes block instead of
	 * being acknowledged by the primary alone. */
	bool sync_strict;
	/* A switchover asked for another node, the lease has been free for
	 * longer than the candidate needs (2 x lease_ttl): the last primary,
	 * which stopped with every commit, may take the role back. */
	bool switch_overdue;
	const char *switch_candidate; /* S/switchover candidate, "" */
	bool switch_is_failover;
	bool switch_force;   /* failover --force: the candidate is promoted
				   once frozen, lag and sync rules aside (the
				   operator accepted what it lacks) */
	bool switch_from_me; /* a switchover away from this node */
	uint64_t last_primary_lsn; /* last position the primary published */
	const struct optime *last_optime; /* its durable record (NULL: none):
				   a candidate on an older timeline holds
				   nothing past that timeline's fork */
	const char *last_primary;         /* its name, "" */
	uint64_t sync_since_lsn; /* primary: its position when Postgres last
				   changed whom it waits for (every commit
				   acknowledged before is at or below it) */
	const char *unguarded;   /* S/unguarded: the primary left running
				   without its agent in maintenance mode
				   (name), "" */
	bool standby_cluster;    /* the scope is a standby cluster (rule 7) */
	bool standby_streams;    /* ... whose leader streams from the main
				   cluster (standby_cluster_hosts set; else
				   it restores from its archive only) */
};

enum decide_kind {
	ACT_NONE = 0,   /* nothing to do (reason says why) */
	ACT_FENCE,      /* kill Postgres now */
	ACT_BOOTSTRAP,  /* take the lease, initdb, start, become primary */
	ACT_BASEBACKUP, /* copy the data directory from target */
	ACT_START,      /* start Postgres as a standby of target ("" none) */
	ACT_RECOVER,    /* unclean old primary: single-user crash recovery */
	ACT_REWIND,     /* old primary: pg_rewind from target, then standby */
	ACT_REPOINT,    /* set primary_conninfo to target, reload */
	ACT_FREEZE,     /* clear primary_conninfo, reload, wait */
	ACT_ACQUIRE,    /* take the primary lease (failover candidate) */
	ACT_PROMOTE,    /* pg_promote() */
	ACT_SET_SYNC,   /* target: desired sync list (primary, sync mode) */
	ACT_SWITCHOVER, /* stop cleanly and hand the lease over */
	ACT_RESTART_STANDBY, /* stop, rewind from target, start as standby */
	ACT_RECLONE,         /* keep the data directory aside, copy it afresh */
	ACT_ADOPT,     /* take the lease, start existing data as primary */
	ACT_MARK_INIT, /* primary: write the missing S/initialize */
	ACT_SYNC_KEY,  /* target: write S/sync (Postgres waits for target
			     already, and one of them has every commit
			     acknowledged before it did) */
	ACT_RECLAIM,   /* maintenance mode: take the lease back for the
			     primary left running while this agent was down */
	/* An operator's requests (fencing/requests.h), never returned by
	 * decide(): the agent runs them when decide() has nothing to do
	 * (fencing/agent_requests.c). */
	ACT_PG_RESTART, /* stop and start Postgres in its role */
	ACT_PG_RELOAD,  /* pg_reload_conf() */
	ACT_REINIT,     /* replica: stop, move the data aside, copy it from
			     target, start */
};

struct decide_action {
	enum decide_kind kind;
	char target[512];
	const char *reason; /* static text, for logs and /health */
};

/* Starts in a row that never came up before a standby is copied afresh. */
#define DECIDE_START_FAILURES 3

void decide(const struct decide_input *in, struct decide_action *out);
const char *decide_kind_name(enum decide_kind k);

/* Exposed for tests: the candidate that should take a free lease, or NULL
 * with why in *reason. */
const struct member *decide_winner(const struct decide_input *in,
				   const char **reason);
/* Exposed for tests: the sync list a primary wants (sorted names of the
 * other members that may be promoted and stream from it), into buf. */
void decide_sync_wanted(const struct decide_input *in, char *buf, size_t cap);

/* How many of list's nodes a commit waits for (ANY N): count (at least
 * 1), but never more than are listed: Postgres would wait for ever. */
int decide_sync_count(int count, const char *list);

/* Strict synchronous mode with nobody to wait for: the one name
 * synchronous_standby_names lists.  No node can carry it (a node's name
 * has no '/'), so no standby ever acknowledges a commit for it, not even
 * a nosync or nofailover one (as '*' would let them). */
#define DECIDE_SYNC_NOBODY "tenure/nobody"

/* The names synchronous_standby_names should list for the wanted list:
 * wanted itself, or DECIDE_SYNC_NOBODY when it is empty in strict mode. */
const char *decide_sync_names(bool strict, const char *wanted);

/* Whom a standby should stream from while the lease has a holder: the
 * replica its own replicatefrom tag names while that one is a healthy
 * replica streaming from the primary, else the primary (the holder). */
const char *decide_upstream(const struct decide_input *in);

/* Rule 7 (fencing/decide_standby.c): true when it decided *out. */
bool decide_standby_cluster(const struct decide_input *in,
			    struct decide_action *out);

#endif
