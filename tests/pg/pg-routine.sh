#!/bin/sh
# pg-routine.sh — a Patroni user's routine, walked on three real
# PostgreSQL 15 nodes (synchronous mode) while the write probe writes,
# with tenurectl alone:
#   1. a reloadable parameter changed cluster-wide (edit-config): every
#      node's SHOW says it; a pg_hba line in every node's hba_file (a
#      trust line for the network refused);
#   2. a postmaster parameter: pending_restart on every node, then
#      `cluster restart --pending`: rolling, the primary last and in place
#      (same lease token), its write gap measured and printed;
#   3. `cluster reinit` of a replica: copied afresh, streaming again;
#   4. a replica crashed while the primary writes and switches WAL
#      segments past wal_keep_size (0 here): its slot keeps the WAL, and it
#      catches up when started again, without a copy;
#   5. a switchover scheduled a few seconds ahead happens then, not before;
#   6. synchronous_node_count = 2: ANY 2 on the primary;
#   7. tags set in the agents' files and applied by SIGHUP: shown in
#      cluster list, noloadbalance (/replica 503), replicatefrom
#      (cascading), nosync (never listed), clonefrom (the source of a
#      re-copy);
# and no acknowledged write lost through all of it.
# Each feature has its own deeper test (pg-params, pg-restart, pg-slots,
# pg-tags); this one checks that they work together, in a day's order.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-routine: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-routine
PG_SYNC=on
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main </dev/null; }
token() {
	ctl --endpoints "$TENURE_ENDPOINTS" lease get main/primary -o json
	field .token
}
all_show() { # all_show PARAM VALUE: every node's SHOW says VALUE
	for _k in 1 2 3; do
		[ "$(psql_as "$_k" "SHOW $1" 2>/dev/null)" = "$2" ] || return 1
	done
}
pending_is() { # pending_is N: N members say pending_restart
	pg_cluster_list
	[ "$(printf '%s' "$out" | jq '[.[] | select(.pending_restart == true)] | length')" = "$1" ]
}
streams_from() { # streams_from NODE UPSTREAM
	[ "$(psql_as "$2" "SELECT count(*) FROM pg_stat_replication \
		WHERE application_name = '$1' AND state = 'streaming'" 2>/dev/null)" = 1 ]
}
tags_of() { # tags_of NODE: its tags object from cluster list -o json
	pg_cluster_list
	printf '%s' "$out" | jq -c ".[] | select(.name == \"$1\") | .tags"
}
tags_are() { [ "$(tags_of "$1")" = "$2" ]; }
rows_are() { [ "$(psql_as "$1" "SELECT count(*) FROM $2" 2>/dev/null)" = "$3" ]; }
any2() { psql_as "$1" "SHOW synchronous_standby_names" 2>/dev/null | grep -q '^ANY 2 '; }
other_replica() { # other_replica NODE: the replica that is not NODE
	pg_replicas | tr ' ' '\n' | grep -v "^$1\$" | head -n 1
}
hup() { kill -HUP "$(pg_agent_pid "$1")" || fail "SIGHUP to $1's agent"; }

# wal_keep_size = 0 and small WAL files: only a slot keeps what a stopped
# standby needs (step 4)
for k in 1 2 3; do
	pg_conf $k pg_options "'-c unix_socket_directories=$dir/pg$k -c wal_keep_size=0 -c max_wal_size=64MB -c min_wal_size=32MB'"
done
pg_start_agents
primary=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas 2 120 >/dev/null || fail "bootstrap: the standbys did not come up"
pg_probe_table "$primary"
pg_wait_sync "$primary" 60 2 || fail "bootstrap: the standbys are not both synchronous"
probe_start

# ---- 1. a reloadable parameter, cluster-wide -------------------------------------------------
cl edit-config --set pg.work_mem=12MB
expect_rc 0 "edit-config --set pg.work_mem=12MB"
wait_for 30 all_show work_mem 12MB || fail "work_mem is not 12MB on every node"
cl edit-config --set "pg_hba=host all all 127.0.0.2/32 scram-sha-256"
expect_rc 0 "edit-config --set pg_hba=..."
cl edit-config --set "pg_hba=host all all 10.9.0.0/16 trust"
expect_rc 2 "edit-config: a trust line for the network"
hba_everywhere() {
	for _k in 1 2 3; do
		[ "$(psql_as "$_k" "SELECT count(*) FROM pg_hba_file_rules \
			WHERE address = '127.0.0.2'" 2>/dev/null)" = 1 ] || return 1
	done
}
wait_for 30 hba_everywhere || fail "the scope's pg_hba line is not in every node's hba_file"
echo "1. work_mem = 12MB on every node, no restart; a pg_hba line everywhere, trust refused"

# ---- 2. a postmaster parameter and a rolling restart of the pending nodes --------------------
cl edit-config --set pg.max_connections=130
expect_rc 0 "edit-config --set pg.max_connections=130"
wait_for 30 pending_is 3 || fail "pending_restart is not on every node: $out"
t0=$(token)
cl restart --pending --force --wait 150
expect_rc 0 "cluster restart --pending"
printf '%s\n' "$out"
[ "$(printf '%s\n' "$out" | grep -c 'restart done')" = 3 ] || fail "restart --pending: not 3 nodes: $out"
gap=$(printf '%s\n' "$out" | tail -n 1 | grep "^$primary: restart done (primary, in place), write gap") ||
	fail "restart --pending: the primary $primary was not last, in place, with its write gap: $out"
[ "$(pg_wait_primary 10)" = "$primary" ] || fail "the primary changed in a restart in place"
[ "$(token)" = "$t0" ] || fail "the lease token changed in a restart in place ($t0 -> $(token))"
wait_for 30 all_show max_connections 130 || fail "max_connections is not 130 everywhere"
wait_for 30 pending_is 0 || fail "pending_restart still on after the restart: $out"
echo "2. max_connections = 130 after a rolling restart; $gap"

# ---- 3. reinit of a replica -----------------------------------------------------------------
pg_wait_replicas 2 60 >/dev/null || fail "the replicas are not back after the restart"
victim=$(other_replica none)
touch "$(pg_datadir "$victim")/routine-marker"
cl reinit "$victim" --force --wait 120
expect_rc 0 "cluster reinit $victim"
[ -e "$(pg_datadir "$victim")/routine-marker" ] && fail "reinit: $victim's data directory was not copied afresh"
wait_for 60 streams_from "$victim" "$primary" || fail "reinit: $victim does not stream again"
echo "3. $victim copied afresh and streaming"

# ---- 4. a crashed replica catches up from its slot ------------------------------------------
stopped=$(other_replica "$victim")
slot_of() { # slot_of NODE: the slot NODE streams through on the primary
	psql_as "$primary" "SELECT slot_name FROM pg_replication_slots \
		WHERE slot_type = 'physical' AND active_pid = (SELECT pid FROM pg_stat_replication \
		WHERE application_name = '$1')" 2>/dev/null
}
has_slot() { [ -n "$(slot_of "$1")" ]; }
wait_for 20 has_slot "$stopped" || fail "$stopped streams without a slot on $primary"
slot=$(slot_of "$stopped")
pg_crash "$stopped"
psql_as "$primary" "CREATE TABLE routine_wal (i int, pad text)" >/dev/null
for i in 1 2 3 4 5 6; do
	psql_as "$primary" "INSERT INTO routine_wal SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
		SELECT pg_switch_wal()" >/dev/null || fail "WAL on $primary"
done
psql_as "$primary" "CHECKPOINT" >/dev/null
held=$(psql_as "$primary" "SELECT pg_size_pretty(pg_current_wal_lsn() - restart_lsn) \
	FROM pg_replication_slots WHERE slot_name = '$slot'")
mark=$(wc -l <"$dir/$stopped-agent.log")
pg_start_agent "$stopped"
wait_for 60 streams_from "$stopped" "$primary" || fail "$stopped does not stream again after its crash"
tail -n +"$mark" "$dir/$stopped-agent.log" | grep -q 'event=copy_source\|pg_basebackup' &&
	fail "$stopped was copied again instead of catching up from its slot"
wait_for 30 rows_are "$stopped" routine_wal 120000 ||
	fail "$stopped did not replay the rows written while it was down"
echo "4. $stopped caught up from slot $slot (it held $held), no copy"

# ---- 5. a scheduled switchover ----------------------------------------------------------------
pg_wait_sync "$primary" 60 2 || fail "the standbys are not both synchronous before the switchover"
cand=$stopped
at_s=$(($(date +%s) + 8))
cl switchover --candidate "$cand" --scheduled "$(date -u -d "@$at_s" +%Y-%m-%dT%H:%M:%SZ)" --force
expect_rc 0 "switchover --scheduled"
sleep 3
[ "$(pg_wait_primary 5)" = "$primary" ] || fail "the scheduled switchover happened before its time"
wait_other_primary "$primary" 40 >/dev/null || fail "the scheduled switchover did not happen"
[ "$(date +%s)" -ge "$at_s" ] || fail "the switchover came before its time"
old=$primary
primary=$(pg_wait_primary 10)
[ "$primary" = "$cand" ] || fail "the scheduled switchover went to $primary, not $cand"
echo "5. scheduled switchover $old -> $primary at its time"

# ---- 6. two synchronous standbys ---------------------------------------------------------------
pg_wait_replicas 2 60 >/dev/null || fail "the old primary did not come back as a replica"
cl edit-config --set synchronous_node_count=2
expect_rc 0 "edit-config --set synchronous_node_count=2"
wait_for 30 any2 "$primary" ||
	fail "synchronous_standby_names is not ANY 2: $(psql_as "$primary" 'SHOW synchronous_standby_names')"
echo "6. $(psql_as "$primary" 'SHOW synchronous_standby_names')"

# ---- 7. tags, applied by SIGHUP -------------------------------------------------------------------
up=$(other_replica none)
down=$(other_replica "$up")
pg_conf "$up" noloadbalance on
pg_conf "$up" clonefrom on
pg_conf "$down" nosync on
pg_conf "$down" replicatefrom "'$up'"
hup "$up"
hup "$down"
wait_for 20 tags_are "$up" '{"noloadbalance":true,"clonefrom":true}' ||
	fail "$up's tags: $(tags_of "$up")"
wait_for 20 tags_are "$down" "{\"nosync\":true,\"replicatefrom\":\"$up\"}" ||
	fail "$down's tags: $(tags_of "$down")"
[ "$(pg_http_code "$up" /replica)" = 503 ] || fail "noloadbalance: $up's /replica is not 503"
[ "$(pg_http_code "$down" /replica)" = 200 ] || fail "$down's /replica is not 200"
wait_for 60 streams_from "$down" "$up" || fail "replicatefrom: $down does not stream from $up"
names=$(psql_as "$primary" "SHOW synchronous_standby_names")
printf '%s\n' "$names" | grep -q "$down" && fail "nosync: $down is listed: $names"
ctl --endpoints "$TENURE_ENDPOINTS" cluster list --scope main
printf '%s\n' "$out" | grep -q 'TAGS' || fail "cluster list shows no TAGS column: $out"
printf '%s\n' "$out"
mark=$(wc -l <"$dir/$down-agent.log")
cl reinit "$down" --force --wait 120
expect_rc 0 "cluster reinit $down"
tail -n +"$mark" "$dir/$down-agent.log" | grep -q "event=copy_source from=$up " ||
	fail "clonefrom: $down was not copied from $up: $(tail -n +"$mark" "$dir/$down-agent.log" | grep copy_source)"
wait_for 60 streams_from "$down" "$up" || fail "$down does not stream from $up after its re-copy"
echo "7. tags shown and applied: $up noloadbalance+clonefrom, $down nosync+replicatefrom=$up"

probe_stop
probe_check "$primary" --sync >/dev/null || fail "the write probe found a problem: $out"
echo "$out"
echo "$me: ok"
