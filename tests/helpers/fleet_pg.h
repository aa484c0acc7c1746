/*
 * fleet_pg.h — a simulated PostgreSQL for tests/helpers/fleet-agents: the
 * API of fencing/pg.h, linked in place of fencing/pg.c, answering the
 * SQL the agent sends (agent_observe.c, agent_params.c, agent_slots.c,
 * agent_act*.c) for servers that live in this process's memory.
 *
 * Contract
 * --------
 * A server is registered under the port of its pg_listen; a connection
 * whose conninfo names that port talks to it.  It runs from
 * fleet_pg_started to fleet_pg_stopped (fleet_host.c's pg_ctl and fence,
 * which also write and remove postmaster.pid naming this process, called
 * postgres-fleet: the agent's own postmaster check passes) unless its
 * host has crashed (down).  At a start it reads standby.signal and
 * postgresql.auto.conf.  Answers come from the loop (a zero timer), one query after the
 * other, never from inside pg_query().  What the agent writes into
 * postgresql.auto.conf (primary_conninfo, primary_slot_name,
 * synchronous_standby_names, max_slot_wal_keep_size) is read back at
 * "SELECT pg_reload_conf()",
 * as Postgres would; pg_promote() ends recovery on a new timeline.  A
 * statement the simulation does not know fails with PG_ERR_SQL and is
 * counted (fleet_pg_unknown), so a new query in the agent shows up in
 * the benchmark's output instead of passing silently.
 *
 * Loop thread only; global state (one registry per process).
 */
#ifndef TENURE_TESTS_FLEET_PG_H
#define TENURE_TESTS_FLEET_PG_H

#include <stdbool.h>
#include <stdint.h>

#define FLEET_PG_SLOTS 8
#define FLEET_PG_NAME 64

struct fleet_pg_server {
	char name[FLEET_PG_NAME]; /* the member's name (application_name) */
	char datadir[512];
	int port;
	bool down;     /* its host crashed: no answers, not streamed from */
	bool running;  /* started, not stopped since */
	bool recovery; /* a standby */
	uint32_t timeline;
	uint64_t lsn;
	uint64_t sysid;
	char conninfo[1024]; /* primary_conninfo */
	/* from conninfo at each reload (status queries ask for them per
	 * server of the process, twice a second per primary) */
	int upstream_port;            /* 0: none */
	char app_name[FLEET_PG_NAME]; /* application_name, "" when none */
	char slot_name[FLEET_PG_NAME];
	char sync_names[512];
	char keep_size[32]; /* max_slot_wal_keep_size, MB ("-1": none) */
	char slots[FLEET_PG_SLOTS][FLEET_PG_NAME];
	int n_slots;
	uint64_t promotions;
};

/* Make s answer connections to its port (kept, not copied).  0, or -1
 * when the port is out of the registry's range or taken. */
int fleet_pg_register(struct fleet_pg_server *s);
/* Re-read what the agent wrote into s's postgresql.auto.conf. */
void fleet_pg_reload(struct fleet_pg_server *s);
/* The server of datadir was started (pg_ctl start: it reads
 * standby.signal and its configuration) or stopped (pg_ctl stop, a
 * fence); nothing when no server has that directory. */
void fleet_pg_started(const char *datadir);
void fleet_pg_stopped(const char *datadir);

/* Ports the registry covers: FLEET_PG_PORT_BASE .. + FLEET_PG_PORTS-1
 * (never opened: they only name servers). */
#define FLEET_PG_PORT_BASE 40000
#define FLEET_PG_PORTS 20000

/* Statements answered, and those the simulation did not know. */
extern uint64_t fleet_pg_queries, fleet_pg_unknown;
/* The first unknown statement (its first 200 bytes), for the output. */
extern char fleet_pg_unknown_sql[200];

#endif
