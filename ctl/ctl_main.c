/*
 * ctl_main.c — tenurectl's argument parsing, command table, --help and
 * dispatch (see ctl.h for the exit codes).
 *
 * Global options may appear anywhere on the line, before or after the
 * command, as with etcdctl; every other "--name" belongs to the command and
 * takes a value ("--holder h1" or "--holder=h1").  "--" ends the options so
 * that a value may start with a dash.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/ctl_auth.h"
#include "ctl/ctl_cluster.h"
#include "ctl/ctl_drill.h"
#include "ctl/ctl_kv.h"
#include "ctl/ctl_pg.h"
#include "common/version.h"

/* ---- the command table -------------------------------------------------- */

static const char *const no_opts[] = { NULL };
static const char *const status_opts[] = { "scopes", NULL };
static const char *const acquire_opts[] = { "holder", "ttl", NULL };
static const char *const holder_token_opts[] = { "holder", "token", NULL };
static const char *const put_opts[] = { "lease", "token", "expect-revision",
					NULL };
static const char *const member_add_opts[] = { "peer-addr", NULL };
static const char *const auth_new_opts[] = { "write-secret", "iterations",
					     NULL };
static const char *const auth_hash_opts[] = { "iterations", NULL };
static const char *const transfer_opts[] = { "to", NULL };
static const char *const scope_opts[] = { "scope", NULL };
static const char *const move_opts[] = { "scope", "to", "yes", "force", NULL };
static const char *const list_opts[] = { "scope", "watch", NULL };
static const char *const dsn_opts[] = { "scope", "role", "dbname", "pg-user",
					NULL };
static const char *const edit_config_opts[] = { "scope",       "set",
						"pg-user",     "pg-database",
						"no-pg-check", NULL };
static const char *const handover_opts[] = { "scope",     "candidate", "wait",
					     "scheduled", "force",     "yes",
					     NULL };
static const char *const failover_opts[] = { "scope", "candidate", "wait",
					     "force", "yes",       NULL };
static const char *const restart_opts[] = {
	"scope", "pending",          "role", "scheduled", "force", "yes",
	"wait",  "switchover-first", NULL
};
static const char *const promote_opts[] = { "scope", "wait", "yes", "force",
					    NULL };
static const char *const reload_opts[] = { "scope", "wait", NULL };
static const char *const reinit_opts[] = { "scope", "from", "force",
					   "yes",   "wait", NULL };
static const char *const drill_opts[] = { "kind",  "candidate", "yes",
					  "scope", "pg-user",   "pg-database",
					  "wait",  NULL };
static const char *const bench_opts[] = { "workload", "clients",    "duration",
					  "key-size", "value-size", "leases",
					  "rate",     NULL };

static int cmd_version(struct ctl *c)
{
	version_print(stdout, CTL_PROG);
	return CTL_EXIT_OK;
}

static const struct ctl_cmd commands[] = {
	{ "version", "", 0, 0, no_opts, "print tenurectl's version",
	  "The package version, and the git commit it was built from when "
	  "the\n"
	  "build ran in a checkout.  The same as '" CTL_PROG " --version'.\n",
	  cmd_version },
	{ "status", "[--scopes]", 0, 0, status_opts,
	  "one row per witness: name, endpoint, role, term, commit, applied, "
	  "leader, health; --scopes: one row per scope",
	  "Asks every endpoint separately (not only the leader); a witness "
	  "that\n"
	  "does not answer is listed with role \"unreachable\".  HEALTH is "
	  "\"ok\"\n"
	  "or why the witness is unhealthy, as its GET /health says (e.g. "
	  "\"disk\n"
	  "write failed: No space left on device\"; \"?\": a witness too old "
	  "to\n"
	  "say).  -o json: healthy and health_reason per witness.  Exit 2 "
	  "only\n"
	  "when none answered.\n"
	  "--scopes: the leader's view of every scope (the part of a key or\n"
	  "lease name before its first '/'): SCOPE KEYS BYTES LEASES REQ/S\n"
	  "REFUSED, REQ/S the requests of the last second and REFUSED those\n"
	  "answered busy (over scope_max_requests_per_second) or over a key,\n"
	  "byte or lease quota, since the leader started; then the limits.\n"
	  "-o json: {\"scopes\": [...], \"limits\": {...}, \"more\": bool}.\n",
	  ctl_cmd_status },
	{ "lease acquire", "NAME --holder H --ttl MS", 1, 1, acquire_opts,
	  "acquire a lease (or renew it, when H already holds it)",
	  "Exit 0 when granted (JSON \"granted\": true, with the fencing "
	  "token),\n"
	  "1 when another holder has it (the output names that holder).\n"
	  "--ttl takes milliseconds or a unit: 500, 500ms, 10s.\n",
	  ctl_cmd_lease_acquire },
	{ "lease renew", "NAME --holder H --token T", 1, 1, holder_token_opts,
	  "renew a lease held by H with fencing token T",
	  "Exit 1 when H does not hold the lease with that token (anymore).\n",
	  ctl_cmd_lease_renew },
	{ "lease release", "NAME --holder H --token T", 1, 1, holder_token_opts,
	  "release a lease; keys attached to it are deleted with it",
	  "Exit 1 when H does not hold the lease with that token.\n",
	  ctl_cmd_lease_release },
	{ "lease get", "NAME", 1, 1, no_opts, "show one lease",
	  "Name, holder, fencing token, TTL and the milliseconds remaining.\n"
	  "Exit 1 when there is no lease of that name: a released or expired\n"
	  "lease is removed (its name's next grant still gets a higher "
	  "token).\n",
	  ctl_cmd_lease_get },
	{ "lease list", "", 0, 0, no_opts, "show every lease",
	  "One row (JSON: one object) per lease, in name order, asked of the\n"
	  "witnesses page by page.  Released and expired leases are removed,\n"
	  "so they are not listed.\n",
	  ctl_cmd_lease_list },
	{ "lease watch", "NAME", 1, 1, no_opts,
	  "print the lease's grants, renewals, releases and expiries",
	  "One line (JSON: one object) per event until interrupted (Ctrl-C\n"
	  "exits 0).\n",
	  ctl_cmd_lease_watch },
	{ "put", "KEY VALUE [--lease NAME --token T] [--expect-revision REV]",
	  2, 2, put_opts, "store a value",
	  "--lease attaches the key to a held lease (T is the lease's current\n"
	  "fencing token): the key is deleted when the lease is released or\n"
	  "expires.  --expect-revision makes it a compare-and-swap: written "
	  "only\n"
	  "when the key's mod revision is REV (0: only when the key does not\n"
	  "exist); exit 1 when the comparison fails.  Put -- before a VALUE\n"
	  "that starts with a dash.\n",
	  ctl_cmd_put },
	{ "get", "KEY", 1, 1, no_opts, "show one key",
	  "Exit 1 when the key does not exist.\n", ctl_cmd_get },
	{ "del", "KEY", 1, 1, no_opts, "delete a key",
	  "Exit 1 when the key does not exist.\n", ctl_cmd_del },
	{ "list", "[PREFIX]", 0, 1, no_opts,
	  "show the keys starting with PREFIX",
	  "Without PREFIX, every key.  One row (JSON: one object) per key "
	  "with\n"
	  "its value, lease and revisions, asked of the witnesses page by "
	  "page.\n"
	  "example:\n"
	  "  " CTL_PROG " list main/\n",
	  ctl_cmd_list },
	{ "watch", "[PREFIX]", 0, 1, no_opts,
	  "print every put and delete of keys starting with PREFIX",
	  "One line (JSON: one object) per event until interrupted (Ctrl-C\n"
	  "exits 0).\n",
	  ctl_cmd_watch },
	{ "auth new", "NAME ROLE --write-secret FILE [--iterations N]", 2, 2,
	  auth_new_opts, "make a credential: a secret and its verifier line",
	  "ROLE is admin (everything), read-only (status, get, list, watch)\n"
	  "or agent:SCOPE (the leases and keys of SCOPE/ only).  Writes a "
	  "fresh\n"
	  "random secret into FILE (created mode 0600, never overwritten) and\n"
	  "prints the line \"NAME ROLE VERIFIER\" for the witnesses'\n"
	  "credentials_file.  The verifier cannot be used to log in; the "
	  "secret\n"
	  "goes to the client (--secret-file, an agent's "
	  "witness_secret_file).\n"
	  "No witness is contacted.  --iterations: PBKDF2 rounds (default "
	  "4096).\n"
	  "example:\n"
	  "  " CTL_PROG " auth new pg-main-1 agent:main --write-secret "
	  "pg1.secret >> credentials\n",
	  ctl_cmd_auth_new },
	{ "auth hash", "[--iterations N] < SECRET", 0, 0, auth_hash_opts,
	  "print the verifier of a secret read from standard input",
	  "For a secret chosen elsewhere: reads its first line from standard\n"
	  "input and prints the verifier for a credentials_file line.\n",
	  ctl_cmd_auth_hash },
	{ "member list", "", 0, 0, no_opts,
	  "show the witnesses of the cluster configuration",
	  "Name, id, peer and client address, voter or learner, whether the\n"
	  "answering witness (the leader) is connected to it, and its match\n"
	  "index.\n",
	  ctl_cmd_member_list },
	{ "member add", "NAME --peer-addr HOST:PORT", 1, 1, member_add_opts,
	  "add a witness (as a learner, promoted once caught up)",
	  "Start the new tenured with the cluster's --initial-cluster as it\n"
	  "is, without the new witness (the list names the cluster: a longer\n"
	  "one is another cluster); not in it, it waits to be added.\n",
	  ctl_cmd_member_add },
	{ "member remove", "NAME", 1, 1, no_opts,
	  "remove a witness from the cluster",
	  "Exit 1 when there is no member NAME.  To rebuild a witness: remove\n"
	  "it, empty its data dir, 'member add' it, then start it.\n",
	  ctl_cmd_member_remove },
	{ "leader transfer", "[--to NAME]", 0, 0, transfer_opts,
	  "hand leadership to another witness (a switchover of the witnesses)",
	  "Without --to, any caught-up witness.  Waits (up to --timeout) "
	  "until\n"
	  "the new leader is in place.\n",
	  ctl_cmd_leader_transfer },
	{ "bench",
	  "--workload put|renew|acquire|get --clients N --duration S "
	  "[--key-size B --value-size B] [--leases L] [--rate R]",
	  0, 0, bench_opts, "measure throughput and latency",
	  "N clients, each with one request in flight, for S seconds (a bare\n"
	  "number is seconds; 500ms works too).  Prints ops/s, p50, p99, "
	  "p99.9\n"
	  "and max latency and the number of errors; a progress line goes to\n"
	  "stderr every second.  renew and acquire use one lease per client\n"
	  "(released at the end); get reads keys written beforehand.  "
	  "Defaults:\n"
	  "--workload put --clients 8 --duration 5 --key-size 16 --value-size "
	  "64.\n"
	  "\n"
	  "--leases L (renew, acquire): L leases shared out among the clients\n"
	  "instead of one each, every client going round its own.\n"
	  "--rate R: every lease (or key) gets R requests a second, evenly\n"
	  "spaced, instead of as many as the cluster answers; latency then\n"
	  "counts from when a request was due, so falling behind shows.  "
	  "10,000\n"
	  "leases renewed once a second:\n"
	  "  tenurectl bench --workload renew --clients 100 --leases 10000 "
	  "--rate 1\n",
	  ctl_cmd_bench },
	{ "cluster list", "[--watch SECONDS] [--scope S]", 0, 0, list_opts,
	  "show the PostgreSQL cluster: members, roles, lag (like patronictl "
	  "list)",
	  "Reads what the tenure-agents publish under S/ (S from --scope, env\n"
	  "TENURE_SCOPE, default \"main\").  Only the holder of the S/primary\n"
	  "lease is shown as primary; a record that still says primary "
	  "without\n"
	  "the lease is \"demoting\".  LAG_MB is rounded; the header names "
	  "the\n"
	  "leader, its fencing token and maintenance mode.  TAGS (when some\n"
	  "member has one): nofailover, priority=N (not 1), nosync,\n"
	  "noloadbalance, clonefrom, replicatefrom=NODE.  -o json: a list "
	  "of\n"
	  "{name, role, state, timeline, lag_bytes, sync, healthy, api, host,\n"
	  "upstream (a standby's), tags {the same, failover_priority for\n"
	  "priority}, lease_token (primary only)}.\n"
	  "--watch SECONDS (or a duration: 500ms) redraws the list every "
	  "SECONDS\n"
	  "until interrupted, as watch(1) would; with -o json one JSON "
	  "document\n"
	  "per line.  A read that fails is said on stderr and tried again.\n",
	  ctl_cmd_pg_list },
	{ "cluster topology", "[--scope S]", 0, 0, scope_opts,
	  "show who streams from whom, as a tree (like patronictl topology)",
	  "The members of 'cluster list' with the primary at the root and "
	  "each\n"
	  "standby under the member it streams from (its record's "
	  "\"upstream\":\n"
	  "a cascading standby under its replica).  A member whose upstream "
	  "is\n"
	  "no member is a root of its own.  -o json: a list of trees\n"
	  "{name, role, state, host, lag_bytes, replicas: [...]}.\n",
	  ctl_cmd_pg_topology },
	{ "cluster dsn",
	  "[NODE | --role primary|replica] [--dbname DB] [--pg-user U] "
	  "[--scope S]",
	  0, 1, dsn_opts,
	  "print a libpq connection string for a member (like patronictl "
	  "dsn)",
	  "host and port from the member's record (the address its agent "
	  "calls\n"
	  "pg_listen), then dbname and user when --dbname and --pg-user are\n"
	  "given, e.g. \"host=10.0.0.1 port=5432 dbname=app user=app\".  "
	  "Without\n"
	  "NODE: the primary (--role primary, the default) or the healthy\n"
	  "streaming replica with the least lag (--role replica).  It "
	  "never\n"
	  "holds a password: libpq takes it from ~/.pgpass or PGPASSWORD; nor "
	  "TLS\n"
	  "settings (sslmode): add them.  Exit 1 when no such member.  -o "
	  "json:\n"
	  "{name, dsn}.\n"
	  "example:\n"
	  "  psql \"$(" CTL_PROG " cluster dsn --role replica) "
	  "dbname=app\"\n",
	  ctl_cmd_pg_dsn },
	{ "cluster history", "[--scope S]", 0, 0, scope_opts,
	  "show the cluster's changes of primary, oldest first",
	  "One row per grant of S/primary to a new node: time (UTC), old and "
	  "new\n"
	  "primary, reason, fencing token, and how long no primary accepted\n"
	  "writes.  Then the drills ('cluster drill') kept under S/drills/, "
	  "one\n"
	  "row each: kind, old and new primary, RTO, seconds to the first "
	  "write\n"
	  "on the new primary, writes acknowledged and lost.  -o json: one "
	  "list,\n"
	  "oldest first; a drill is an entry with \"reason\": \"drill\" and "
	  "its\n"
	  "figures (kind, rto_s, time_to_new_primary_s, acked, lost, ok).\n"
	  "Only the newest 1000 changes of primary and 100 drills are kept: "
	  "the\n"
	  "agent that records a change, and 'cluster drill' after a drill,\n"
	  "delete the oldest.\n",
	  ctl_cmd_pg_history },
	{ "cluster pause", "[--scope S]", 0, 0, scope_opts,
	  "maintenance mode: the agents stop automatic failover",
	  "Writes S/pause.  The primary keeps its lease (and stays fenced if "
	  "it\n"
	  "loses it); no replica is promoted automatically until resume.  "
	  "Exit\n"
	  "1 when already paused.\n",
	  ctl_cmd_pg_pause },
	{ "cluster resume", "[--scope S]", 0, 0, scope_opts,
	  "leave maintenance mode",
	  "Deletes S/pause.  Exit 1 when not paused.\n", ctl_cmd_pg_resume },
	{ "cluster move", "--to ENDPOINTS [--scope S] [--yes]", 0, 0, move_opts,
	  "move the cluster's scope to another witness trio",
	  "Without a failover: pause, stop every agent (each leaves its\n"
	  "Postgres running), run this, set witnesses = ENDPOINTS in every\n"
	  "agent's file, start them, resume on the new trio.  Refuses unless\n"
	  "paused with no agent running, and unless the new trio has no\n"
	  "other copy of the scope.  Writes S/moved = ENDPOINTS here first\n"
	  "(an agent started against this trio then exits 2), floors the\n"
	  "new trio's S/primary so fencing tokens go on increasing, copies\n"
	  "every key no lease holds.  Run it again after a failure: it\n"
	  "finishes what is left.  Asks first unless --yes (or --force).\n",
	  ctl_cmd_pg_move },
	{ "cluster show-config", "[--scope S]", 0, 0, scope_opts,
	  "show the settings every agent of the cluster applies",
	  "Prints S/config (the scope-wide settings: synchronous_mode,\n"
	  "synchronous_node_count, synchronous_mode_strict,\n"
	  "maximum_lag_on_failover, lease_ttl, renew_interval) as\n"
	  "`key = value` lines; a key it does not set is\n"
	  "shown commented out: each agent's own config file decides it.  "
	  "Then\n"
	  "maintenance_mode (the key S/pause).  -o json: {scope, revision,\n"
	  "settings: {key: value}}.  Exit 2 when S/config holds text the "
	  "agents\n"
	  "refuse.\n",
	  ctl_cmd_pg_show_config },
	{ "cluster edit-config",
	  "[--set KEY=VALUE]... [--no-pg-check] [--pg-user U] [--pg-database "
	  "D] "
	  "[--scope S]",
	  0, 0, edit_config_opts, "change the settings every agent applies",
	  "Without --set: opens $EDITOR (default vi) on the text show-config\n"
	  "prints; with --set KEY=VALUE (repeatable; KEY= removes a key, so "
	  "each\n"
	  "agent's file decides it again): no editor.  The new settings are\n"
	  "checked as a whole (unknown key, bad value, out of range, a "
	  "lease_ttl\n"
	  "that leaves less than 3 renewals of validity with the default\n"
	  "fence_time 200ms and pause_margin 300ms): on an error nothing is\n"
	  "written, exit 2.  Written to S/config with a compare-and-swap on "
	  "the\n"
	  "revision read (exit 1 if it changed meanwhile: run it again);\n"
	  "maintenance_mode writes or deletes S/pause.  Every agent applies "
	  "the\n"
	  "change at its next tick, without a restart, in a safe order: "
	  "turning\n"
	  "synchronous_mode on keeps the asynchronous failover rule until the\n"
	  "primary has a synchronous standby; a new lease_ttl applies to the\n"
	  "next lease acquired.  Prints each change as \"key: old -> new\".\n"
	  "Postgres parameters: pg.NAME=VALUE (pg.NAME= removes one) and\n"
	  "pg_hba=LINE (appends a line; pg_hba= removes them all).  Before\n"
	  "writing, the primary's Postgres checks them (its pg_settings, and\n"
	  "set_config for session parameters): an unknown name, a bad unit or\n"
	  "a value out of range is refused with the server's message, exit 2.\n"
	  "tenurectl connects as --pg-user (PGUSER, else postgres) to\n"
	  "--pg-database (postgres), the password from PGPASSWORD or "
	  "~/.pgpass;\n"
	  "--no-pg-check skips this (each agent still checks and refuses).\n"
	  "Agents reload for reloadable parameters; postmaster ones show\n"
	  "pending_restart in cluster list until Postgres restarts.\n"
	  "examples:\n"
	  "  " CTL_PROG " cluster edit-config --set synchronous_mode=on\n"
	  "  " CTL_PROG " cluster edit-config --set synchronous_node_count=2 "
	  "--set synchronous_mode_strict=on\n"
	  "  " CTL_PROG " cluster edit-config --set lease_ttl=5s "
	  "--set renew_interval=1s\n"
	  "  " CTL_PROG " cluster edit-config --set pg.work_mem=8MB "
	  "--set 'pg_hba=host all all 10.0.0.0/8 scram-sha-256'\n",
	  ctl_cmd_pg_edit_config },
	{ "cluster promote", "[SCOPE] [--wait S] [--yes] [--scope S]", 0, 1,
	  promote_opts, "end a standby cluster: its standby leader promotes",
	  "For a standby cluster (standby_cluster_hosts or\n"
	  "standby_cluster_restore_command in its settings): removes the\n"
	  "standby_cluster keys from S/config in one write; the standby\n"
	  "leader then promotes as any new primary (fencing token, history,\n"
	  "a new timeline) and the other members follow it.  The main\n"
	  "cluster is not touched (with archive_via_pgbackrest off, a note\n"
	  "says the new primary archives no WAL yet).  SCOPE (or --scope)\n"
	  "names the standby cluster.  Waits until the lease holder runs\n"
	  "as the primary, for --wait (default 30 s).  Exit 1 when the\n"
	  "scope is not a standby cluster, 2 when the wait runs out.  Asks\n"
	  "first unless --yes (or --force).\n",
	  ctl_cmd_pg_promote },
	{ "cluster switchover",
	  "[--candidate NODE] [--scheduled TIME] [--force] [--wait S] "
	  "[--scope S]",
	  0, 0, handover_opts, "hand the primary role to a replica, in order",
	  "Asks the agents (key S/switchover) to move the primary to NODE: "
	  "the\n"
	  "current primary is demoted and releases the lease, then NODE is\n"
	  "promoted.  Without --candidate, the best replica: a synchronous\n"
	  "standby when there are any, then the least lag, then the highest\n"
	  "priority.  Waits until NODE holds S/primary and runs as primary,\n"
	  "polling every 100 ms, for --wait (default 30 s; 500ms, 2min work\n"
	  "too), then prints the time it took.  Exit 2 when there is no "
	  "primary\n"
	  "(use failover), NODE is not a running replica, a request younger\n"
	  "than 60 s is pending (an older one is replaced: the agents ignore\n"
	  "it), or the wait runs out: the request is then withdrawn and the\n"
	  "candidate's own account of why it waits is printed.\n"
	  "Asks for confirmation first, saying what will happen; --force (or\n"
	  "--yes) goes ahead without asking, and without a terminal one of\n"
	  "them is required (exit 2 otherwise).\n"
	  "--scheduled TIME: the agents carry it out at TIME (ISO 8601:\n"
	  "2026-12-07T10:00:00Z, 2026-12-07T11:00+01:00, or local time\n"
	  "without a zone), by their own wall clocks; tenurectl returns at\n"
	  "once.  The request is kept in S/switchover (with at_ms), survives\n"
	  "restarts of the agents, shows in 'cluster list', and is cancelled\n"
	  "with 'cluster flush switchover'.  The candidate is chosen now.\n"
	  "example:\n"
	  "  " CTL_PROG " cluster switchover --candidate pg2 --wait 60\n"
	  "  " CTL_PROG " cluster switchover --scheduled 2026-12-07T03:00Z "
	  "--force\n",
	  ctl_cmd_pg_switchover },
	{ "cluster failover",
	  "--candidate NODE [--force] [--yes] [--wait S] [--scope S]", 0, 0,
	  failover_opts, "promote a replica when there is no healthy primary",
	  "When S/primary is free (the old primary is dead or fenced): the\n"
	  "agents promote NODE once the old lease has ended, if NODE may be\n"
	  "promoted: in synchronous mode a synchronous standby, otherwise\n"
	  "within maximum_lag_on_failover of the last position the primary\n"
	  "published.  --force promotes NODE anyway once it has stopped\n"
	  "replicating, and first prints how far behind it is: commits beyond\n"
	  "its position are lost.  With a healthy primary this is a "
	  "switchover\n"
	  "to NODE (as patronictl does; --force then changes nothing).  Exit\n"
	  "codes as for switchover.  Asks for confirmation first; --yes goes\n"
	  "ahead without asking (not --force, which means the above), and\n"
	  "without a terminal --yes is required.\n"
	  "example:\n"
	  "  " CTL_PROG " cluster failover --candidate pg3 --force\n",
	  ctl_cmd_pg_failover },
	{ "cluster restart",
	  "[NODE...] [--pending] [--role primary|replica] [--scheduled TIME] "
	  "[--switchover-first] [--force] [--wait S] [--scope S]",
	  0, CTL_MAX_ARGS, restart_opts,
	  "restart Postgres on the members, rolling, through the agents",
	  "Without NODE, every member.  Written to S/restart; the agents\n"
	  "restart the replicas one at a time (the next once the last one\n"
	  "streams again), in name order, then the primary in place: it keeps\n"
	  "its lease (renewed all along, fenced as ever if it were lost) and\n"
	  "stays the primary; its write gap (stop to accepting writes) is\n"
	  "measured and printed.  --switchover-first hands the primary role "
	  "to\n"
	  "a replica first (then the old primary restarts as a replica).\n"
	  "--pending: only members whose Postgres has a setting waiting for a\n"
	  "restart (pending_restart).  --role: only the primary, or only the\n"
	  "replicas.  Each agent writes its result to S/results/NAME;\n"
	  "tenurectl prints them as they come, for --wait (default 10 min).\n"
	  "--scheduled TIME: as for switchover (ISO 8601; the agents' wall\n"
	  "clocks); cancelled with 'cluster flush restart'.  Asks for\n"
	  "confirmation (--force or --yes skips it; required without a\n"
	  "terminal).  Exit 0 when every node restarted, 2 on a failure, a\n"
	  "pending restart, or when --wait ran out (the agents go on).\n"
	  "examples:\n"
	  "  " CTL_PROG " cluster restart --force\n"
	  "  " CTL_PROG " cluster restart --pending --scheduled "
	  "2026-12-07T03:00:00Z --force\n",
	  ctl_cmd_pg_restart },
	{ "cluster reload", "[NODE...] [--wait S] [--scope S]", 0, CTL_MAX_ARGS,
	  reload_opts,
	  "reload Postgres' configuration on the members (pg_reload_conf)",
	  "Without NODE, every member.  Written to S/reload/NAME; each agent\n"
	  "runs pg_reload_conf(), writes its result to S/results/NAME and\n"
	  "deletes the request.  Waits --wait (default 30 s) for every "
	  "result.\n",
	  ctl_cmd_pg_reload },
	{ "cluster reinit",
	  "NODE [--from MEMBER] [--force] [--wait S] "
	  "[--scope S]",
	  1, 1, reinit_opts, "copy a replica's data afresh",
	  "Written to S/reinit/NODE; NODE's agent stops its Postgres, moves\n"
	  "the data directory aside (DATADIR.diverged-SECONDS; removed\n"
	  "instead when an earlier copy is kept beside it), copies it with\n"
	  "pg_basebackup from MEMBER (default: the primary) and starts it as\n"
	  "a replica.  Refused for the primary.  Asks for confirmation\n"
	  "(--force or --yes skips it; required without a terminal).  Waits\n"
	  "--wait (default 10 min) for the result.\n"
	  "example:\n"
	  "  " CTL_PROG " cluster reinit pg3 --force\n",
	  ctl_cmd_pg_reinit },
	{ "cluster flush", "[NODE] restart|switchover [--scope S]", 1, 2,
	  scope_opts, "cancel a scheduled restart or switchover",
	  "restart: deletes S/restart (a rolling restart under way stops\n"
	  "after the node restarting now); with NODE, only takes NODE out of\n"
	  "it.  switchover: deletes a scheduled S/switchover (one not\n"
	  "scheduled is left alone).  Exit 1 when there is none.\n",
	  ctl_cmd_pg_flush },
	{ "cluster drill",
	  "[--kind switchover|failover] [--candidate NODE] [--yes] [--wait S] "
	  "[--pg-user U] [--pg-database D] [--scope S]",
	  0, 0, drill_opts,
	  "rehearse a switchover or failover and measure RTO and RPO",
	  "Runs on the live cluster (after a confirmation; --yes skips it, "
	  "and\n"
	  "without a terminal it is required).  A probe writes a row every 20 "
	  "ms\n"
	  "into the table tenure_drill (created if missing; --pg-user and\n"
	  "--pg-database, default postgres, password from PGPASSWORD or\n"
	  "~/.pgpass) on whichever node holds S/primary, from 1 s before the\n"
	  "trigger to 1 s after the new primary's first acknowledged write.\n"
	  "--kind switchover (default): the request 'cluster switchover' "
	  "makes,\n"
	  "to --candidate or the best synchronous replica.  --kind failover: "
	  "the\n"
	  "primary's agent kills its Postgres and stops renewing (key "
	  "S/drill),\n"
	  "as if the host died; the agents pick the new primary.\n"
	  "Prints every change of the lease and of the member records as it\n"
	  "happens (seconds from the trigger), then RTO (longest time without "
	  "an\n"
	  "acknowledged write), the time from the trigger to the first write "
	  "on\n"
	  "the new primary, RPO (acknowledged writes missing on the new "
	  "primary)\n"
	  "and the agents' history entry.  Done when the new primary took "
	  "writes\n"
	  "and the old one is back as a replica, or after --wait (default 60 "
	  "s).\n"
	  "The result is kept in S/drills/ (the newest 100) and shown by\n"
	  "'cluster history'.\n"
	  "-o json: {kind, old, new, rto_s, time_to_new_primary_s, acked, "
	  "lost,\n"
	  "timeline, ...}.  Exit 0: a new primary and nothing lost; 1: writes\n"
	  "were lost, or cancelled at the prompt; 2: refused (no primary,\n"
	  "paused, no healthy replica, no --yes without a terminal), or not\n"
	  "complete within --wait (still reported).\n"
	  "example:\n"
	  "  " CTL_PROG " cluster drill --kind failover --yes\n",
	  ctl_cmd_pg_drill },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
	"Global options (anywhere on the line):\n"
	"  --endpoints HOST:PORT,...     client addresses of the witnesses\n"
	"                                (env TENURE_ENDPOINTS; "
	"default " CTL_DEFAULT_ENDPOINT ")\n"
	"  -o, --output table|json       output format (default table)\n"
	"  --user NAME                   authenticate as this credential (env\n"
	"                                TENURE_USER)\n"
	"  --secret-file FILE            its secret, on the first line (env\n"
	"                                TENURE_SECRET_FILE)\n"
	"  --cacert FILE                 speak TLS, trusting the witnesses'\n"
	"                                certificates signed by this CA (env\n"
	"                                TENURE_CACERT); they must carry the\n"
	"                                endpoints' IP addresses\n"
	"  --cert FILE, --key FILE       a client certificate and its key for\n"
	"                                TLS (env TENURE_CERT, TENURE_KEY):\n"
	"                                authenticates without --user when a\n"
	"                                witness has a `cert` credential of\n"
	"                                its name\n"
	"  --timeout DURATION            give up after this long (default 5s)\n"
	"  --consistency linearizable|local\n"
	"                                reads: confirmed by the leader "
	"(default)\n"
	"                                or whatever the answering witness "
	"has\n"
	"  -h, --help                    help (also after any command)\n"
	"  --version                     print the version (as 'version')\n"
	"\n"
	"Exit status: 0 success, 1 the answer is \"no\" (lease held by "
	"another,\n"
	"wrong token, not found, compare failed), 2 error (bad input,\n"
	"unreachable, no quorum, timeout), 4 outcome unknown: a write was "
	"sent\n"
	"but no answer came (within --timeout, or the connection was lost), "
	"so\n"
	"it may or may not have been applied: read before retrying.  The "
	"reason\n"
	"goes to stderr.\n";

/* The longest command path, so that every summary lines up. */
static size_t path_width(void)
{
	size_t w = 0;
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strlen(commands[i].path) > w)
			w = strlen(commands[i].path);
	return w;
}

static void print_command_list(FILE *f, const char *group)
{
	size_t glen = group ? strlen(group) : 0;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct ctl_cmd *k = &commands[i];
		if (group && (strncmp(k->path, group, glen) != 0 ||
			      k->path[glen] != ' '))
			continue;
		fprintf(f, "  %-*s  %s\n", (int)path_width(), k->path,
			k->summary);
	}
}

static void print_main_help(void)
{
	printf(CTL_PROG " — the operator's client of tenure witnesses.\n\n"
			"usage: " CTL_PROG " [global options] COMMAND [ARGS] "
			"[options]\n\nCommands:\n");
	print_command_list(stdout, NULL);
	printf("\n%s\nexample:\n  " CTL_PROG " --endpoints "
	       "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103 status\n"
	       "  " CTL_PROG " lease acquire primary --holder pg1 --ttl 10s "
	       "-o json\n",
	       global_help);
}

static void print_group_help(const char *group)
{
	printf("usage: " CTL_PROG " %s SUBCOMMAND ...\n\nSubcommands:\n",
	       group);
	print_command_list(stdout, group);
	printf("\nSee " CTL_PROG " %s SUBCOMMAND --help.\n", group);
}

static void print_command_help(const struct ctl_cmd *k)
{
	printf("usage: " CTL_PROG " %s %s\n\n%s.\n", k->path, k->synopsis,
	       k->summary);
	if (k->help[0])
		printf("\n%s", k->help);
	printf("\n%s", global_help);
}

/* ---- option access for the commands ------------------------------------- */

const char *ctl_opt(const struct ctl *c, const char *name)
{
	for (size_t i = 0; i < c->n_opts; i++)
		if (strcmp(c->opts[i].name, name) == 0)
			return c->opts[i].value;
	return NULL;
}

static void vusage(const char *path, const char *fmt, va_list ap)
{
	fprintf(stderr, CTL_PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry '" CTL_PROG "%s%s --help'.\n", path ? " " : "",
		path ? path : "");
}

int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vusage(c && c->cmd ? c->cmd->path : NULL, fmt, ap);
	va_end(ap);
	return CTL_EXIT_ERROR;
}

static bool parse_u64(const char *s, uint64_t *out, const char **rest)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return false;
	*out = v;
	*rest = end;
	return true;
}

int ctl_opt_u64(const struct ctl *c, const char *name, bool required,
		uint64_t def, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *v = ctl_opt(c, name);
	const char *rest;
	if (!v) {
		if (required)
			return ctl_usage_error(c, "--%s is required", name);
		*out = def;
		return 0;
	}
	if (!parse_u64(v, out, &rest) || *rest)
		return ctl_usage_error(c, "--%s wants a whole number, not '%s'",
				       name, v);
	if (*out < min || *out > max)
		return ctl_usage_error(c, "--%s %s is outside %llu..%llu", name,
				       v, (unsigned long long)min,
				       (unsigned long long)max);
	return 0;
}

int ctl_parse_duration(const char *text, uint64_t unit_ms, uint64_t *out)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "min", 60000 }, { "h", 3600000 }
	};
	const char *rest;
	uint64_t v;
	if (!parse_u64(text, &v, &rest))
		return -1;
	uint64_t mult = 0;
	if (!*rest)
		mult = unit_ms;
	for (size_t i = 0; !mult && i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(rest, units[i].name) == 0)
			mult = units[i].ms;
	if (!mult || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int ctl_opt_duration(const struct ctl *c, const char *name, bool required,
		     uint64_t def, uint64_t unit_ms, uint64_t *out)
{
	const char *v = ctl_opt(c, name);
	if (!v) {
		if (required)
			return ctl_usage_error(c, "--%s is required", name);
		*out = def;
		return 0;
	}
	if (ctl_parse_duration(v, unit_ms, out))
		return ctl_usage_error(c,
				       "--%s wants a duration like %s, not "
				       "'%s' "
				       "(units: ms, s, min, h)",
				       name,
				       unit_ms == 1 ? "500 (ms) or 2s"
						    : "5 (s) or 500ms",
				       v);
	return 0;
}

int ctl_opt_str(const struct ctl *c, const char *name, const char **out)
{
	*out = ctl_opt(c, name);
	if (!*out)
		return ctl_usage_error(c, "--%s is required", name);
	if (!**out)
		return ctl_usage_error(c, "--%s must not be empty", name);
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

/* What the command line said before we know which command it names. */
struct parsed {
	const char *words[CTL_MAX_ARGS + 2];
	size_t n_words;
	bool too_many_words;
	bool help;
	bool version; /* --version: print it, whatever else was said */
	const char *endpoints, *output, *user, *secret_file, *timeout,
		*consistency, *cacert, *cert, *key;
	struct ctl_opt opts[CTL_MAX_OPTS];
	size_t n_opts;
};

static const char **global_slot(struct parsed *p, const char *name)
{
	if (strcmp(name, "endpoints") == 0)
		return &p->endpoints;
	if (strcmp(name, "output") == 0 || strcmp(name, "o") == 0)
		return &p->output;
	if (strcmp(name, "user") == 0)
		return &p->user;
	if (strcmp(name, "secret-file") == 0)
		return &p->secret_file;
	if (strcmp(name, "timeout") == 0)
		return &p->timeout;
	if (strcmp(name, "consistency") == 0)
		return &p->consistency;
	if (strcmp(name, "cacert") == 0)
		return &p->cacert;
	if (strcmp(name, "cert") == 0)
		return &p->cert;
	if (strcmp(name, "key") == 0)
		return &p->key;
	return NULL;
}

static int store_option(struct parsed *p, const char *name, const char *value)
{
	const char **slot = global_slot(p, name);
	if (slot) {
		if (*slot)
			return ctl_usage_error(NULL, "--%s given twice", name);
		*slot = value;
		return 0;
	}
	/* --set (edit-config) is the one option that may repeat */
	for (size_t i = 0; i < p->n_opts && strcmp(name, "set") != 0; i++)
		if (strcmp(p->opts[i].name, name) == 0)
			return ctl_usage_error(NULL, "--%s given twice", name);
	if (p->n_opts == CTL_MAX_OPTS)
		return ctl_usage_error(NULL, "too many options");
	p->opts[p->n_opts].name = name;
	p->opts[p->n_opts++].value = value;
	return 0;
}

static void add_word(struct parsed *p, const char *w)
{
	if (p->n_words < sizeof(p->words) / sizeof(p->words[0]))
		p->words[p->n_words++] = w;
	else
		p->too_many_words = true;
}

/* Options that take no value (the command checks it is allowed). */
static bool is_flag(const char *name)
{
	return strcmp(name, "yes") == 0 || strcmp(name, "force") == 0 ||
	       strcmp(name, "scopes") == 0 ||
	       strcmp(name, "no-pg-check") == 0 ||
	       strcmp(name, "pending") == 0 ||
	       strcmp(name, "switchover-first") == 0;
}

static const struct ctl_cmd *find_command(const struct parsed *p, size_t *used);
static bool opt_allowed(const struct ctl_cmd *k, const char *name);

static bool is_global(const char *name)
{
	struct parsed scratch;
	return global_slot(&scratch, name) != NULL;
}

static bool any_command_has(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (opt_allowed(&commands[i], name))
			return true;
	return false;
}

/* An option no command takes must not swallow the next word as its
 * value ("--bogus status" would lose the command): refuse it here, for
 * the command when the words so far name one, else for any command. */
static int check_option_known(const struct parsed *p, const char *name)
{
	size_t used;
	const struct ctl_cmd *k = find_command(p, &used);
	if (is_global(name))
		return 0;
	if (k && !opt_allowed(k, name)) {
		struct ctl for_hint = { .cmd = k };
		return ctl_usage_error(&for_hint,
				       "unknown option --%s for '%s'", name,
				       k->path);
	}
	if (!k && !any_command_has(name))
		return ctl_usage_error(NULL, "unknown option --%s", name);
	return 0;
}

/* One option at argv[*i]; may consume the next argument as its value. */
static int parse_option(struct parsed *p, int argc, char **argv, int *i)
{
	char *arg = argv[*i];
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
		p->help = true;
		return 0;
	}
	if (strcmp(arg, "--version") == 0) {
		p->version = true;
		return 0;
	}
	char *name;
	if (strcmp(arg, "-o") == 0)
		name = "output";
	else if (arg[1] == '-')
		name = arg + 2;
	else
		return ctl_usage_error(NULL, "unknown option '%s'", arg);
	char *eq = strchr(name, '=');
	const char *value;
	if (eq)
		*eq = '\0'; /* argv is ours to cut */
	if (*name && check_option_known(p, name))
		return CTL_EXIT_ERROR;
	if (eq) {
		value = eq + 1;
	} else if (is_flag(name)) {
		value = "";
	} else if (*i + 1 < argc) {
		value = argv[++*i];
	} else {
		return ctl_usage_error(NULL, "option '%s' needs a value", arg);
	}
	if (!*name)
		return ctl_usage_error(NULL, "empty option name in '%s'", arg);
	return store_option(p, name, value);
}

static int parse_line(struct parsed *p, int argc, char **argv)
{
	bool options_end = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool is_option = !options_end && a[0] == '-' && a[1];
		if (is_option && strcmp(a, "--") == 0)
			options_end = true;
		else if (is_option && parse_option(p, argc, argv, &i))
			return CTL_EXIT_ERROR;
		else if (!is_option)
			add_word(p, a);
	}
	return 0;
}

/* The command whose path is the longest prefix of the words; how many
 * words it took goes to *used. */
static const struct ctl_cmd *find_command(const struct parsed *p, size_t *used)
{
	const struct ctl_cmd *best = NULL;
	*used = 0;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const char *path = commands[i].path;
		size_t k = 0;
		const char *s = path;
		while (k < p->n_words) {
			size_t len = strlen(p->words[k]);
			if (strncmp(s, p->words[k], len) != 0 ||
			    (s[len] != ' ' && s[len] != '\0'))
				break;
			k++;
			s += len;
			if (*s == '\0')
				break;
			s++;
		}
		if (*s == '\0' && k > *used) {
			best = &commands[i];
			*used = k;
		}
	}
	return best;
}

static bool is_group(const char *word)
{
	size_t len = strlen(word);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strncmp(commands[i].path, word, len) == 0 &&
		    commands[i].path[len] == ' ')
			return true;
	return false;
}

/* No command matched the words: help for a group, or a clear error. */
static int no_command(const struct parsed *p)
{
	if (p->n_words == 0) {
		if (p->help) {
			print_main_help();
			return CTL_EXIT_OK;
		}
		fprintf(stderr, CTL_PROG ": no command given; commands:\n");
		print_command_list(stderr, NULL);
		fprintf(stderr, "Try '" CTL_PROG " --help'.\n");
		return CTL_EXIT_ERROR;
	}
	const char *w = p->words[0];
	if (!is_group(w)) {
		fprintf(stderr, CTL_PROG ": unknown command '%s'; commands:\n",
			w);
		print_command_list(stderr, NULL);
		fprintf(stderr, "Try '" CTL_PROG " --help'.\n");
		return CTL_EXIT_ERROR;
	}
	if (p->help && p->n_words == 1) {
		print_group_help(w);
		return CTL_EXIT_OK;
	}
	if (p->n_words == 1)
		fprintf(stderr, CTL_PROG ": '%s' needs a subcommand:\n", w);
	else
		fprintf(stderr, CTL_PROG ": unknown %s subcommand '%s':\n", w,
			p->words[1]);
	print_command_list(stderr, w);
	fprintf(stderr, "Try '" CTL_PROG " %s --help'.\n", w);
	return CTL_EXIT_ERROR;
}

static bool opt_allowed(const struct ctl_cmd *k, const char *name)
{
	for (const char *const *o = k->opts; *o; o++)
		if (strcmp(*o, name) == 0)
			return true;
	return false;
}

/* The words and options left over fit the command. */
static int bind_command(struct ctl *c, const struct parsed *p, size_t used)
{
	const struct ctl_cmd *k = c->cmd;
	size_t n = p->n_words - used;
	for (size_t i = 0; i < p->n_opts; i++)
		if (!opt_allowed(k, p->opts[i].name))
			return ctl_usage_error(c,
					       "unknown option --%s for '%s'",
					       p->opts[i].name, k->path);
	if (p->too_many_words || n > k->max_args)
		return ctl_usage_error(c,
				       "too many arguments for '%s' "
				       "(usage: " CTL_PROG " %s %s)",
				       k->path, k->path, k->synopsis);
	if (n < k->min_args)
		return ctl_usage_error(c, "'%s' needs %s", k->path,
				       k->synopsis);
	for (size_t i = 0; i < n; i++)
		c->args[i] = p->words[used + i];
	c->n_args = n;
	memcpy(c->opts, p->opts, sizeof(p->opts));
	c->n_opts = p->n_opts;
	return 0;
}

/* An empty value (TENURE_CERT= in a script) counts as unset. */
static const char *option_or_env(const char *opt, const char *env)
{
	const char *v = opt ? opt : getenv(env);
	return v && *v ? v : NULL;
}

static int bind_globals(struct ctl *c, const struct parsed *p)
{
	const char *out = p->output ? p->output : "table";
	if (strcmp(out, "table") == 0)
		c->format = CTL_TABLE;
	else if (strcmp(out, "json") == 0)
		c->format = CTL_JSON;
	else
		return ctl_usage_error(c, "-o wants table or json, not '%s'",
				       out);
	const char *cons = p->consistency ? p->consistency : "linearizable";
	if (strcmp(cons, "linearizable") == 0)
		c->consistency = CLIENT_LINEARIZABLE;
	else if (strcmp(cons, "local") == 0)
		c->consistency = CLIENT_LOCAL;
	else
		return ctl_usage_error(c,
				       "--consistency wants linearizable or "
				       "local, not '%s'",
				       cons);
	c->timeout_ms = TCLIENT_TIMEOUT_DEFAULT_MS;
	if (p->timeout && (ctl_parse_duration(p->timeout, 1, &c->timeout_ms) ||
			   c->timeout_ms == 0))
		return ctl_usage_error(c,
				       "--timeout wants a duration like 5s "
				       "or 500ms, not '%s'",
				       p->timeout);
	const char *eps = p->endpoints ? p->endpoints
				       : getenv("TENURE_ENDPOINTS");
	if (ctl_set_endpoints(c, eps && *eps ? eps : CTL_DEFAULT_ENDPOINT))
		return CTL_EXIT_ERROR;
	const char *user = p->user ? p->user : getenv("TENURE_USER");
	const char *sf = p->secret_file ? p->secret_file
					: getenv("TENURE_SECRET_FILE");
	if (user && *user && ctl_set_credential(c, user, sf))
		return CTL_EXIT_ERROR;
	return ctl_set_tls(c, option_or_env(p->cacert, "TENURE_CACERT"),
			   option_or_env(p->cert, "TENURE_CERT"),
			   option_or_env(p->key, "TENURE_KEY"));
}

static int run(int argc, char **argv, struct ctl *c)
{
	struct parsed p;
	memset(&p, 0, sizeof(p));
	if (parse_line(&p, argc, argv))
		return CTL_EXIT_ERROR;
	if (p.version) {
		version_print(stdout, CTL_PROG);
		return CTL_EXIT_OK;
	}
	if (p.n_words > 0 && strcmp(p.words[0], "help") == 0) {
		/* "tenurectl help lease acquire" = "... lease acquire --help" */
		memmove(p.words, p.words + 1, --p.n_words * sizeof(p.words[0]));
		p.help = true;
	}
	size_t used;
	c->cmd = find_command(&p, &used);
	if (!c->cmd)
		return no_command(&p);
	if (p.help) {
		print_command_help(c->cmd);
		return CTL_EXIT_OK;
	}
	if (bind_command(c, &p, used) || bind_globals(c, &p))
		return CTL_EXIT_ERROR;
	return c->cmd->run(c);
}

int main(int argc, char **argv)
{
	struct ctl c;
	memset(&c, 0, sizeof(c));
	int rc = run(argc, argv, &c);
	ctl_free(&c);
	if (fflush(stdout) != 0 && rc == CTL_EXIT_OK) {
		/* A result nobody received is not a success. */
		perror(CTL_PROG ": writing the output");
		rc = CTL_EXIT_ERROR;
	}
	return rc;
}
