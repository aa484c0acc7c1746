/*
 * turn_budget.h — how much client work one turn of the event loop may do.
 *
 * libuv runs every ready callback of a poll before it runs the timers
 * again.  When a witness leader dies, thousands of clients reconnect to
 * its successor at once: a turn that handles all of them holds the Raft
 * tick (and so the heartbeats) back past the followers' election timeout,
 * and they elect again, and the clients reconnect again.  So client work
 * over the budget waits for the next turn, after the timers
 * (server/clients.c pauses such a session, or leaves a connection in the
 * accept queue).
 *
 * A turn's clock starts at its first piece of work, not at the poll: a
 * poll that waited 40 ms for the first event has spent nothing.
 */
#ifndef TENURE_SERVER_TURN_BUDGET_H
#define TENURE_SERVER_TURN_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

/* Client work per turn: a fraction of the heartbeat interval. */
#define TURN_BUDGET_DEFAULT_NS (10ull * 1000 * 1000)

struct turn_budget {
	uint64_t budget_ns;
	uint64_t start_ns; /* the turn's first work */
	bool open;         /* started, not ended */
};

void turn_budget_init(struct turn_budget *t, uint64_t budget_ns);
/* Whether this turn has used its budget by now_ns (starting the turn's
 * clock if this is its first work). */
bool turn_budget_spent(struct turn_budget *t, uint64_t now_ns);
/* The turn is over (before the loop polls again). */
void turn_budget_end(struct turn_budget *t);

#endif
