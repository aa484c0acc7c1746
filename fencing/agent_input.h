/*
 * agent_input.h — the snapshot decide() looks at, built from what one
 * agent knows: its settings, its clock, its view of the witnesses, what
 * it observed of its Postgres and the record it just built of itself.
 *
 * Contract
 * --------
 * agent_build_input() is pure (no I/O, no clock of its own: times come in
 * agent_facts), so the agent (fencing/agent.c step()) and the simulator
 * (tests/sim/agent-sim) build decide()'s input with the same code.  The input
 * points into *bufs and *view: they must outlive it.
 *
 * Errors: none (builds the decision input from what the agent holds).
 */
#ifndef TENURE_FENCING_AGENT_INPUT_H
#define TENURE_FENCING_AGENT_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "fencing/decide.h"
#include "fencing/witness_view.h"

struct agent_facts {
	const char *name;
	const char *holder_id; /* "NAME/INCARNATION" of this process */
	/* the settings in force (scope-wide, else the node's file) */
	bool sync_mode;
	uint64_t max_lag;
	int sync_count;
	bool sync_strict; /* synchronous_mode_strict */
	uint64_t lease_ttl;
	bool nofailover;      /* the node's own setting */
	bool standby_cluster; /* decide.h rule 7 */
	bool standby_streams;
	uint64_t now_ms;           /* the agent's monotonic clock */
	uint64_t wall_ms;          /* its wall clock */
	uint64_t started_ms;       /* now_ms when the agent started */
	uint64_t veto_until;       /* a reclaim vetoed: not before this */
	uint64_t lease_free_since; /* now_ms since no holder is seen, 0 */
	uint64_t switch_done_ms;   /* requested_ms of the request this node's
				    last promotion ended */
	bool view_ok;              /* every read of this tick succeeded */
	bool lease_valid;          /* it holds the primary lease, still valid */
	uint64_t sync_since_lsn;   /* decide.h */
	const struct decide_pg *pg;
	const struct member *self; /* the record just built */
};

struct agent_input_bufs {
	struct member members[AGENT_MAX_MEMBERS + 1];
	char unguarded[MEMBER_STR_MAX];
};

void agent_build_input(const struct agent_facts *f,
		       const struct witness_view *v,
		       struct agent_input_bufs *bufs, struct decide_input *in);

#endif
