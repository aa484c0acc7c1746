/*
 * fleet_host.h — the host under the simulated agents of
 * tests/helpers/fleet-agents: fencing/spawn.c (spawn_run,
 * spawn_format_argv) and fencing/fence_pg.c (fence_pg_kill) replaced at
 * link time by tests/helpers/fleet_host.c.
 *
 * Contract
 * --------
 * No process is ever started: a fork of a process holding hundreds of
 * agents costs milliseconds, and an agent whose Postgres is stopped runs
 * pg_controldata every tick, so hundreds of them would hold the shared
 * loop for longer than their renewals may wait.  The commands an agent
 * runs on a healthy host are answered in-process, from the loop (never
 * inside spawn_run), with what the real program would print for the
 * simulated data directory (fleet_pg.h):
 *   pg_ctl start -D DIR   writes DIR/postmaster.pid naming this process
 *                         (which calls itself postgres-fleet) and starts
 *                         the simulated server (fleet_pg_started);
 *   pg_ctl stop -D DIR    removes it and stops the server; other pg_ctl
 *                         actions succeed;
 *   pg_rewind             succeeds (the simulated WAL never diverges);
 *   pg_controldata -D DIR a clean shutdown (standby.signal: in recovery),
 *                         or "in production" while it runs, with the
 *                         system identifier of DIR/fleet_sysid;
 *   /bin/sh -c SCRIPT BIN DIR (agent_standby.c's check) pg_controldata's
 *                         text and the hot-standby settings.
 * Anything else exits 127 and is counted in fleet_spawn_unknown (its
 * argv[0] kept in fleet_spawn_unknown_cmd).  fence_pg_kill stops the
 * simulated server (removes postmaster.pid) and counts fleet_fences.
 *
 * Loop thread only; global counters.
 */
#ifndef TENURE_TESTS_FLEET_HOST_H
#define TENURE_TESTS_FLEET_HOST_H

#include <stdint.h>

extern uint64_t fleet_spawns, fleet_spawn_unknown, fleet_fences;
extern char fleet_spawn_unknown_cmd[200];

#endif
