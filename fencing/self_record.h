/*
 * self_record.h — the member record (member.h) an agent publishes about
 * its own node, built from what it observed and what it knows.
 *
 * Contract
 * --------
 * self_record_build() is pure: the agent (agent_observe.c) and the
 * simulator (tests/sim/agent-sim) build the record with the same code.  A
 * standby's frozen_token is set only once its frozen position has
 * settled, so a candidate never compares against a moving position.
 *
 * Errors: none (fills a record from what the agent holds).
 */
#ifndef TENURE_FENCING_SELF_RECORD_H
#define TENURE_FENCING_SELF_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "fencing/decide.h"
#include "fencing/witness_view.h"

struct self_facts {
	const char *name;
	const char *api;     /* host:port of its HTTP API */
	const char *pg_addr; /* host:port of its Postgres */
	const struct decide_pg *pg;
	bool start_failed; /* the last start did not come up */
	bool nofailover;   /* configured, or vetoed just now */
	int64_t priority;
	bool nosync, noloadbalance, clonefrom; /* tags */
	const char *replicatefrom;             /* "" or NULL: none */
	uint64_t lease_token;    /* the valid primary lease's token, 0 */
	const char *down_reason; /* why Postgres is down, "" or NULL */
	const char *waiting;     /* the last decision was to wait: why, or
				   NULL */
	uint64_t wall_ms;
};

void self_record_build(const struct self_facts *f, const struct witness_view *v,
		       struct member *m);

#endif
