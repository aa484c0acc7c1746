/*
 * witness_view.h — what an agent knows of its scope: the witnesses'
 * answer at its last successful read (fencing/agent_keys.c fills it), and
 * the pure functions that derive the failover facts from it.
 *
 * Contract
 * --------
 * No I/O, no clock, no global state: the agent and tests/sim/agent-sim use
 * the same code.  view_remember_primary() carries over, from one view to
 * the next, what only this agent's memory holds (the last primary it saw
 * and how far it had written); everything else in a view is what the
 * witnesses said.
 *
 * Errors: none (pure functions).
 */
#ifndef TENURE_FENCING_WITNESS_VIEW_H
#define TENURE_FENCING_WITNESS_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fencing/decide.h"
#include "fencing/member.h"
#include "fencing/optime.h"
#include "fencing/requests.h"

#define AGENT_MAX_MEMBERS 32
#define AGENT_MAX_HISTORY 64
#define AGENT_KEY_MAX 512
#define AGENT_CONFIG_MAX 16384

/* What the witnesses said at the last successful read. */
struct witness_view {
	uint64_t read_ms;                    /* when (0: never) */
	char holder[MEMBER_STR_MAX];         /* the holder's node name */
	char holder_id[MEMBER_STR_MAX + 24]; /* "NAME/INCARNATION" */
	uint64_t token;
	uint64_t last_token; /* token of the last holder ever seen */
	struct member members[AGENT_MAX_MEMBERS];
	size_t n_members;
	bool initialized, paused;
	char sync[512];
	bool sync_known;
	bool sync_present;             /* S/sync exists (even empty) */
	char config[AGENT_CONFIG_MAX]; /* S/config, the scope-wide settings */
	bool config_present;
	char switch_candidate[MEMBER_STR_MAX];
	char switch_from[MEMBER_STR_MAX];
	bool switch_is_failover;
	bool switch_force; /* a failover the operator forced */
	uint64_t switch_requested_ms;
	uint64_t switch_at_ms; /* a scheduled one: not before (wall ms) */
	/* The operator's requests (fencing/requests.h): S/restart, this
	 * node's S/reload/NAME and S/reinit/NAME, every S/results/NAME. */
	struct restart_request restart;
	bool restart_present;
	struct node_request reload, reinit;
	bool reload_present, reinit_present;
	struct named_result results[AGENT_MAX_MEMBERS];
	size_t n_results;
	char demoted[AGENT_KEY_MAX]; /* S/demoted: "NAME TOKEN" */
	/* S/unguarded: "NAME TOKEN", the primary whose agent stopped in
	 * maintenance mode and left it running (decide.h rule 1) */
	char unguarded[AGENT_KEY_MAX];
	/* S/moved: the endpoints of the trio this scope was moved to
	 * (tenurectl cluster move); "" when not moved */
	char moved[AGENT_KEY_MAX];
	char history[AGENT_MAX_HISTORY][512];
	size_t n_history;
	/* The last node that became primary, from the newest history entry
	 * (written at every promotion and at bootstrap) and its token: the
	 * one a candidate must know stopped, or fence. */
	char hist_primary[MEMBER_STR_MAX];
	uint64_t hist_token;
	/* The newest S/history/ key listed (the whole key, "" when none or too
	 * long): the next tick lists from it on (fencing/scope_keys.h). */
	char hist_key[AGENT_KEY_MAX + 1];
	/* S/drill: a rehearsal asks the primary with this token to behave
	 * as if its host had died (tenurectl cluster drill --kind failover) */
	char drill_target[MEMBER_STR_MAX];
	uint64_t drill_token;
	/* SCOPE/optime: the primary's last position, durable (optime.h) */
	struct optime optime;
	uint64_t last_primary_lsn; /* remembered in memory, this agent only */
	char last_primary[MEMBER_STR_MAX]; /* last holder seen as primary */
	uint64_t last_primary_seen_ms; /* wall clock it was last seen alive */
	/* wall clock of the holder's last renewal, as the witnesses' leader
	 * counts it (0: no holder) */
	uint64_t holder_renewed_ms;
};

/* Into next (a view just read): what prev remembered of the last primary
 * (who, token, position, when), updated from next's records. */
void view_remember_primary(struct witness_view *next,
			   const struct witness_view *prev);
/* The lag rule's bar: the durable record or what this agent saw. */
uint64_t optime_view_bar(const struct witness_view *v);
/* Wall clock at which the primary named old was last known writable (the
 * durable record's time when it is about old, else what this agent saw;
 * 0: unknown). */
uint64_t optime_last_seen_ms(const struct witness_view *v, const char *old);
/* The node S/unguarded names ("" when none) into buf. */
const char *unguarded_name(const struct witness_view *v, char *buf, size_t cap);
/* S/unguarded = "NAME TOKEN WHERE", WHERE the host and data directory of
 * the Postgres left running ("HOST:DATADIR"). */
void unguarded_format(char *buf, size_t cap, const char *name, uint64_t token,
		      const char *where);
/* The mark names this very Postgres (name and where), and it is observed
 * in state, stopped or a standby: the mark is false and is to be cleared
 * (a host crash in maintenance mode).  Never for a mark without WHERE,
 * nor from another place: a second agent given the same name elsewhere
 * must not clear the mark of a primary that still runs. */
bool unguarded_is_stale(const struct witness_view *v, const char *name,
			const char *where, enum pg_state state);

#endif
