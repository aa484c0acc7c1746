#!/bin/sh
# pg-adopt.sh — adopting existing data on real PostgreSQL 15: agents
# started on a database that exists before its scope does (a cluster
# migrated in from Patroni) adopt it instead of creating a new one.
#
#   1. pg1 holds a primary's data (initdb, a table with rows, clean stop),
#      pg2 and pg3 are empty, and their agents start first: pg1 becomes
#      the primary with its rows, pg2 and pg3 copy it (no initdb: their
#      system identifier is pg1's) and stream; the history says "adopted
#      existing data" and S/initialize names pg1 and that identifier.
#   2. The Patroni shape, in scope "second": pg4 a primary's data, pg5 a
#      standby of it (pg_basebackup -R, streamed, stopped after pg4), pg6
#      empty: pg4 adopts, pg5 follows without a new copy (no pg_basebackup,
#      nothing moved aside), pg6 copies pg4.
# In both, the write probe runs on the three nodes from before their
# agents start until the adopted cluster is checked, then pgprobe check
# --sync: never two writable nodes, no acknowledged write lost.
set -u
me=pg-adopt
[ -x "${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb" ] || {
	echo "$me: PostgreSQL 15 not installed: skipped"
	exit 77
}
PG_NODES=6
. "$(dirname "$0")/../lib/pg-lib.sh"

# node_pg_start NODE: starts NODE's Postgres by hand (no agent), as the
# old cluster manager would have, on NODE's port
node_pg_start() {
	nn=$(pg_name "$1")
	pg_as_postgres "$pg_bin/pg_ctl" -D "$(pg_datadir "$nn")" \
		-l "$dir/$nn-postgres.log" -w -t 60 -o "-c listen_addresses=127.0.0.1 \
-c port=$(pg_port "$nn") -c unix_socket_directories=$dir/$nn -c fsync=off \
-c wal_level=replica -c max_wal_senders=10 -c hot_standby=on" start >/dev/null ||
		fail "pg_ctl start of $nn failed"
}
# node_pg_stop NODE: a clean (fast) stop
node_pg_stop() {
	pg_as_postgres "$pg_bin/pg_ctl" -D "$(pg_datadir "$1")" -m fast -w stop \
		>/dev/null || fail "pg_ctl stop of $(pg_name "$1") failed"
}
# existing_primary NODE: initdb, start, 1000 rows in table kept, clean stop
existing_primary() {
	nn=$(pg_name "$1")
	mkdir -p "$dir/$nn" && chown postgres:postgres "$dir/$nn"
	pg_as_postgres "$pg_bin/initdb" -D "$(pg_datadir "$nn")" -U postgres \
		--auth=trust -E UTF8 --locale=C --no-sync >"$dir/$nn-initdb.out" 2>&1 ||
		{ cat "$dir/$nn-initdb.out" >&2; fail "initdb of $nn failed"; }
	node_pg_start "$nn"
	psql_as "$nn" "CREATE TABLE kept (id int PRIMARY KEY, v text);
		INSERT INTO kept SELECT g, 'row ' || g FROM generate_series(1, 1000) g" ||
		fail "cannot fill $nn"
}
# count NODE: rows in kept on NODE (empty when it does not answer)
count() { psql_as "$1" "SELECT count(*) FROM kept" 2>/dev/null; }
sysid() { psql_as "$1" "SELECT system_identifier FROM pg_control_system()"; }
# wait_rows NODE N: NODE has N rows in kept within 60 s
wait_rows() {
	wi=0
	while [ "$(count "$1")" != "$2" ]; do
		[ $wi -lt 600 ] || fail "$(pg_name "$1") has $(count "$1") rows, want $2"
		sleep 0.1
		wi=$((wi + 1))
	done
}
# ran NODE PROGRAM: NODE's agent ran PROGRAM
ran() { grep -q "event=run .*cmd=\"[^\"]*/$2 " "$dir/$(pg_name "$1")-agent.log"; }
# check_cluster PRIMARY SCOPE REPLICA...: the adopted primary, its rows and
# history, replicas streaming from it with the same rows and identifier
check_cluster() {
	cp=$1
	cs=$2
	shift 2
	[ "$(count "$cp")" = 1000 ] || fail "$cp: $(count "$cp") rows after adoption, want 1000"
	grep -q 'event=adopted' "$dir/$cp-agent.log" || fail "$cp: no 'adopted' in its log"
	pg_http "$cp" /history | grep -q '"adopted existing data"' ||
		fail "$cp: no 'adopted existing data' in /history: $(pg_http "$cp" /history)"
	cid=$(sysid "$cp")
	ctl --endpoints "$TENURE_ENDPOINTS" get "$cs/initialize" -o json
	[ "$(field .value)" = "$cp $cid" ] ||
		fail "$cs/initialize is '$(field .value)', want '$cp $cid'"
	psql_as "$cp" "INSERT INTO kept VALUES (1001, 'after adoption')" ||
		fail "$cp: no write after adoption"
	for cr in "$@"; do
		ran "$cr" initdb && fail "$cr ran initdb"
		[ "$(sysid "$cr")" = "$cid" ] || fail "$cr: system identifier $(sysid "$cr"), not $cp's $cid"
		[ "$(psql_as "$cr" "SELECT pg_is_in_recovery()")" = t ] ||
			fail "$cr is not a standby"
		wait_rows "$cr" 1001
	done
}

pg_start_witnesses

# ---- 1. a primary's data and two empty nodes ---------------------------------------
existing_primary 1
pg_probe_table 1
node_pg_stop 1
# the write probe on the three nodes from before any agent starts until
# the cluster is checked: at no moment two writable nodes (a copy that
# came up as a primary beside pg1), no acknowledged write lost
probe_start pg1 pg2 pg3
# the empty nodes first: within their grace period they wait for pg1
pg_start_agent 2
pg_start_agent 3
sleep 1.5
ran 2 initdb && fail "pg2 ran initdb before pg1's agent started"
ran 3 initdb && fail "pg3 ran initdb before pg1's agent started"
pg_start_agent 1
p=$(pg_wait_primary 60) || fail "case 1: no primary"
[ "$p" = pg1 ] || fail "case 1: $p became the primary, not pg1 (the one with data)"
pg_wait_replicas 2 120 >/dev/null || fail "case 1: pg2 and pg3 did not become replicas"
check_cluster pg1 main pg2 pg3
sleep 1
probe_stop
probe_check pg1 --sync >/dev/null || fail "case 1: the probe found a problem: $out"
[ "$(probe_count ok)" -gt 0 ] || fail "case 1: no probe write succeeded: the check saw nothing"
echo "case 1: pg1 adopted its data (1000 rows), pg2 and pg3 copied it; probe: $(probe_count ok) writes acked"
for k in 3 2 1; do pg_agent_stop $k 70; done

# ---- 2. the Patroni shape: a primary, its standby, an empty node ---------------------
PG_SCOPE=second
export PG_SCOPE
existing_primary 4
pg_probe_table 4
mkdir -p "$dir/pg5" && chown postgres:postgres "$dir/pg5"
pg_as_postgres "$pg_bin/pg_basebackup" -D "$(pg_datadir 5)" -h 127.0.0.1 \
	-p "$(pg_port 4)" -U postgres -X stream -c fast -R >"$dir/pg5-basebackup.out" 2>&1 ||
	{ cat "$dir/pg5-basebackup.out" >&2; fail "pg_basebackup of pg5 failed"; }
node_pg_start 5
psql_as 4 "INSERT INTO kept SELECT g, 'late' FROM generate_series(1001, 1100) g;
	DELETE FROM kept WHERE id > 1000" || fail "cannot write on pg4"
wait_rows 5 1000
# stopped as Patroni stops them: the primary first (its standby receives
# the shutdown checkpoint), then the standby
node_pg_stop 4
node_pg_stop 5
probe_start pg4 pg5 pg6 # as in case 1
pg_start_agent 6
pg_start_agent 5
pg_start_agent 4
p=$(pg_wait_primary 60) || fail "case 2: no primary"
[ "$p" = pg4 ] || fail "case 2: $p became the primary, not pg4"
pg_wait_replicas 2 120 >/dev/null || fail "case 2: pg5 and pg6 did not become replicas"
check_cluster pg4 second pg5 pg6
ran 5 pg_basebackup && fail "pg5 was copied again instead of following"
ran 5 pg_rewind && fail "pg5 was rewound"
grep -q data_dir_moved_aside "$dir/pg5-agent.log" && fail "pg5's data was moved aside"
ran 6 pg_basebackup || fail "pg6 did not copy pg4"
sleep 1
probe_stop
probe_check pg4 --sync >/dev/null || fail "case 2: the probe found a problem: $out"
[ "$(probe_count ok)" -gt 0 ] || fail "case 2: no probe write succeeded: the check saw nothing"
echo "case 2: pg4 adopted, its standby pg5 followed without a copy, pg6 copied; probe: $(probe_count ok) writes acked"
echo "ok: existing data adopted, standbys followed, no second initdb"
