#!/bin/sh
# pg-standby-cluster.sh — a standby cluster (standby_cluster_hosts,
# fencing/standby_cluster.h; decide.h rule 7) on real PostgreSQL 15: one
# witness trio, a main cluster "a" (pg1, pg2) and a standby cluster "b"
# (pg3, pg4) whose settings name both of a's Postgres hosts and a slot
# on a (a permanent slot of a's settings, standby_cluster_slot in b's).
#
#   1. b's first member copies a (pg_basebackup from a's hosts), holds b's
#      lease as the standby leader (/standby-leader 200, /primary 503,
#      role standby_leader) and streams from a's primary; b's other member
#      copies the standby leader and cascades from it; rows written on a
#      reach both b nodes; a's primary keeps the standby leader's slot;
#   1b. b's standby leader crashes (agent and postmaster): its lease runs
#      out, b's other member takes it and streams from a's primary; the
#      crashed one, started again, cascades from the new standby leader,
#      without a copy;
#   2. a's primary crashes (agent and postmaster, kill -9): a fails over,
#      and b's standby leader streams from a's new primary on its new
#      timeline with the same data directories, no pg_basebackup again;
#      rows written on a after the failover reach both b nodes, and the
#      slot on a's new primary is the one in use;
#   3. `tenurectl cluster promote b`: b's standby leader promotes (a new
#      timeline, it accepts writes), b's other member follows it, and a
#      is untouched (still its primary, without b's writes).
me=pg-standby-cluster
PG_NODES=4
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" </dev/null; }
# streams_from NODE UPSTREAM: UPSTREAM's Postgres sends NODE WAL
streams_from() {
	[ "$(psql_as "$2" "SELECT count(*) FROM pg_stat_replication \
		WHERE application_name = '$1' AND state = 'streaming'" 2>/dev/null)" = 1 ]
}
rows_on() { psql_as "$1" "SELECT count(*) FROM dr_rows" 2>/dev/null; }
rows_are() { [ "$(rows_on "$1")" = "$2" ]; }
copies() { # copies NODE: pg_basebackup runs in NODE's agent log
	grep -c 'event=run .*pg_basebackup' "$dir/$(pg_name "$1")-agent.log"
}
code_is() { [ "$(pg_http_code "$1" "$2")" = "$3" ]; }
standby_leader() { # the b node whose /standby-leader is 200
	for _sl in 3 4; do
		code_is $_sl /standby-leader 200 && { echo "pg$_sl"; return 0; }
	done
	return 1
}
a_primary() { # the a node whose /primary is 200
	for _ap in 1 2; do
		code_is $_ap /primary 200 && { echo "pg$_ap"; return 0; }
	done
	return 1
}
other_of() { # other_of NODE: the other node of its scope
	case "$1" in pg1) echo pg2 ;; pg2) echo pg1 ;; pg3) echo pg4 ;; pg4) echo pg3 ;; esac
}
timeline_of() {
	psql_as "$1" "SELECT timeline_id FROM pg_control_checkpoint()" 2>/dev/null
}
receiver_tli() { # the timeline NODE's walreceiver streams
	psql_as "$1" "SELECT received_tli FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null
}
slot_active() { # slot_active NODE: the standby cluster's slot is in use there
	[ "$(psql_as "$1" "SELECT active FROM pg_replication_slots \
		WHERE slot_name = 'dr_site'" 2>/dev/null)" = t ]
}
in_recovery() { [ "$(psql_as "$1" "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ]; }
writable() { psql_as "$1" "CREATE TABLE IF NOT EXISTS b_only (x int)" >/dev/null 2>&1; }

for k in 1 2; do PG_SCOPE=a pg_write_config $k; done
for k in 3 4; do PG_SCOPE=b pg_write_config $k; done
pg_start_witnesses
# the main cluster's slot for the standby cluster exists from its start
cl edit-config --scope a --set slot.dr_site=physical
expect_rc 0 "edit-config --scope a --set slot.dr_site=physical"
pg_start_agent 1
pg_start_agent 2
t0=$(now_ms)
wait_for 60 a_primary >/dev/null || fail "a: no primary"
a1=$(a_primary)
wait_for 60 streams_from "$(other_of "$a1")" "$a1" || fail "a: the standby does not stream"
echo "a: $a1 is the primary, $(other_of "$a1") streams ($(($(now_ms) - t0)) ms)"
psql_as "$a1" "CREATE TABLE dr_rows (x int)" || fail "cannot create dr_rows on $a1"
psql_as "$a1" "INSERT INTO dr_rows SELECT generate_series(1, 100)" || fail "insert on $a1"

# ---- 1. b: the standby leader streams from a, the other cascades -------------------
cl edit-config --scope b \
	--set "standby_cluster_hosts=127.0.0.1:$(pg_port 1),127.0.0.1:$(pg_port 2)" \
	--set standby_cluster_slot=dr_site
expect_rc 0 "edit-config --scope b --set standby_cluster_hosts=..."
cl show-config --scope b
printf '%s\n' "$out" | grep -q "^standby_cluster_hosts = '127.0.0.1:$(pg_port 1),127.0.0.1:$(pg_port 2)'" ||
	fail "show-config does not show the hosts: $out"
pg_start_agent 3
pg_start_agent 4
wait_for 90 standby_leader >/dev/null || fail "1: b has no standby leader"
b1=$(standby_leader)
b2=$(other_of "$b1")
echo "1: $b1 is b's standby leader ($(($(now_ms) - t0)) ms)"
code_is "$b1" /primary 503 || fail "1: the standby leader $b1 answers /primary with $(pg_http_code "$b1" /primary)"
code_is "$b1" /replica 200 || fail "1: the standby leader $b1 answers /replica with $(pg_http_code "$b1" /replica)"
[ "$(pg_http "$b1" /health | jq -r .role)" = standby_leader ] ||
	fail "1: $b1's /health role: $(pg_http "$b1" /health)"
[ "$(pg_http "$b1" /patroni | jq -r .role)" = standby_leader ] ||
	fail "1: $b1's /patroni role: $(pg_http "$b1" /patroni)"
[ "$(pg_http "$b1" /cluster | jq -r ".members[] | select(.name == \"$b1\") | .role")" = standby_leader ] ||
	fail "1: /cluster does not name $b1 standby_leader: $(pg_http "$b1" /cluster)"
in_recovery "$b1" || fail "1: the standby leader $b1 is not in recovery"
cl list --scope b -o json
[ "$(printf '%s' "$out" | jq -r ".[] | select(.name == \"$b1\") | .role")" = standby_leader ] ||
	fail "1: cluster list does not name $b1 standby_leader: $out"
wait_for 30 streams_from "$b1" "$a1" || fail "1: $b1 does not stream from a's primary $a1"
wait_for 30 slot_active "$a1" || fail "1: the slot dr_site on $a1 is not in use"
wait_for 90 streams_from "$b2" "$b1" || fail "1: $b2 does not cascade from $b1"
streams_from "$b2" "$a1" && fail "1: $b2 streams from a's primary"
wait_for 30 rows_are "$b1" 100 || fail "1: $b1 has $(rows_on "$b1") rows, not 100"
wait_for 30 rows_are "$b2" 100 || fail "1: $b2 has $(rows_on "$b2") rows, not 100"
for k in 1 2; do
	code_is $k /standby-leader 503 || fail "1: a's pg$k answers /standby-leader with $(pg_http_code $k /standby-leader)"
done
echo "1: $b1 is b's standby leader streaming from $a1, $b2 cascades from it ($(($(now_ms) - t0)) ms)"
[ "$(copies "$b1")" -ge 1 ] || fail "1: $b1's agent never ran pg_basebackup"

# ---- 1b. b's standby leader crashes: the other takes over ----------------------------
copies3=$(copies 3)
copies4=$(copies 4)
pg_crash "$b1"
t1=$(now_ms)
wait_for 30 code_is "$b2" /standby-leader 200 || fail "1b: $b2 did not become the standby leader"
wait_for 30 streams_from "$b2" "$a1" || fail "1b: the new standby leader $b2 does not stream from $a1"
in_recovery "$b2" || fail "1b: the new standby leader $b2 is not in recovery"
echo "1b: $b1 crashed, $b2 is the standby leader streaming from $a1 ($(($(now_ms) - t1)) ms)"
pg_start_agent "$b1"
wait_for 60 streams_from "$b1" "$b2" || fail "1b: $b1 does not cascade from the new standby leader $b2"
psql_as "$a1" "INSERT INTO dr_rows SELECT generate_series(101, 150)" || fail "insert on $a1"
wait_for 30 rows_are "$b1" 150 || fail "1b: $b1 has $(rows_on "$b1") rows, not 150"
[ "$(copies 3)" = "$copies3" ] && [ "$(copies 4)" = "$copies4" ] ||
	fail "1b: pg_basebackup ran again (pg3 $copies3 -> $(copies 3), pg4 $copies4 -> $(copies 4))"
b=$b1
b1=$b2
b2=$b
echo "1b: the old standby leader $b2 cascades from $b1 without a copy"
id_b1=$(stat -c %i "$(pg_datadir "$b1")")
id_b2=$(stat -c %i "$(pg_datadir "$b2")")

# ---- 2. a fails over: b follows a's new primary, no copy ------------------------------
a2=$(other_of "$a1")
psql_as "$a1" "INSERT INTO dr_rows SELECT generate_series(151, 200)" || fail "insert on $a1"
# at rest: a's standby has everything a's primary wrote (nothing the
# standby cluster has that a's new timeline forks before)
at_rest() {
	[ "$(psql_as "$a1" "SELECT pg_current_wal_lsn() = replay_lsn FROM pg_stat_replication \
		WHERE application_name = '$a2'" 2>/dev/null)" = t ]
}
wait_for 30 at_rest || fail "2: $a2 did not catch up with $a1"
wait_for 30 rows_are "$b2" 200 || fail "2: $b2 has $(rows_on "$b2") rows before the failover, not 200"
tl_before=$(timeline_of "$a2")
pg_crash "$a1"
t1=$(now_ms)
wait_for 60 code_is "$a2" /primary 200 || fail "2: a did not fail over to $a2"
echo "2: a failed over to $a2 in $(($(now_ms) - t1)) ms"
psql_as "$a2" "INSERT INTO dr_rows SELECT generate_series(201, 300)" || fail "insert on $a2"
wait_for 60 streams_from "$b1" "$a2" || fail "2: $b1 does not stream from a's new primary $a2"
wait_for 30 slot_active "$a2" || fail "2: the slot dr_site on $a2 is not in use"
wait_for 30 rows_are "$b1" 300 || fail "2: $b1 has $(rows_on "$b1") rows, not 300"
wait_for 30 rows_are "$b2" 300 || fail "2: $b2 has $(rows_on "$b2") rows, not 300"
tl_a=$(timeline_of "$a2")
[ "$tl_a" -gt "$tl_before" ] || fail "2: a's new primary is on timeline $tl_a (was $tl_before)"
[ "$(receiver_tli "$b1")" = "$tl_a" ] || fail "2: $b1 streams timeline $(receiver_tli "$b1"), a's is $tl_a"
[ "$(copies 3)" = "$copies3" ] && [ "$(copies 4)" = "$copies4" ] ||
	fail "2: pg_basebackup ran again (pg3 $copies3 -> $(copies 3), pg4 $copies4 -> $(copies 4))"
[ "$(stat -c %i "$(pg_datadir "$b1")")" = "$id_b1" ] && [ "$(stat -c %i "$(pg_datadir "$b2")")" = "$id_b2" ] ||
	fail "2: a b data directory was replaced"
[ "$(standby_leader)" = "$b1" ] || fail "2: b's standby leader changed"
echo "2: b follows $a2 on timeline $tl_a without a copy ($(($(now_ms) - t1)) ms after the crash)"

# ---- 3. tenurectl cluster promote b -------------------------------------------------
cl promote a --yes
[ "$rc" = 1 ] || fail "3: promote of a (not a standby cluster) exited $rc: $err"
t2=$(now_ms)
cl promote b --yes --wait 60
expect_rc 0 "cluster promote b"
echo "3: $out"
code_is "$b1" /primary 200 || fail "3: $b1 answers /primary with $(pg_http_code "$b1" /primary)"
in_recovery "$b1" && fail "3: $b1 is still in recovery"
writable "$b1" || fail "3: $b1 does not accept writes"
psql_as "$b1" "INSERT INTO dr_rows SELECT generate_series(301, 350)" || fail "3: insert on $b1"
tl_b=$(timeline_of "$b1")
[ "$tl_b" -gt "$tl_a" ] || fail "3: $b1 is on timeline $tl_b, not past a's $tl_a"
wait_for 60 streams_from "$b2" "$b1" || fail "3: $b2 does not follow $b1"
wait_for 30 rows_are "$b2" 350 || fail "3: $b2 has $(rows_on "$b2") rows, not 350"
[ "$(receiver_tli "$b2")" = "$tl_b" ] || fail "3: $b2 streams timeline $(receiver_tli "$b2"), $b1's is $tl_b"
code_is "$b1" /standby-leader 503 || fail "3: $b1 still answers /standby-leader 200"
code_is "$a2" /primary 200 || fail "3: a's primary $a2 answers /primary with $(pg_http_code "$a2" /primary)"
in_recovery "$a2" && fail "3: a's primary $a2 is in recovery"
rows_are "$a2" 300 || fail "3: a's primary $a2 has $(rows_on "$a2") rows, not 300"
[ "$(psql_as "$a2" "SELECT to_regclass('b_only') IS NULL")" = t ] || fail "3: b's table is on a"
streams_from "$b1" "$a2" && fail "3: $b1 still streams from a"
[ "$(copies 3)" = "$copies3" ] && [ "$(copies 4)" = "$copies4" ] || fail "3: pg_basebackup ran again"
grep -E "^(primary_conninfo|primary_slot_name|restore_command)" "$(pg_datadir "$b1")/postgresql.auto.conf" &&
	fail "3: $b1's postgresql.auto.conf still points at the main cluster"
cl history --scope b
printf '%s\n' "$out" | grep -q 'standby cluster promoted' || fail "3: b's history: $out"
cl show-config --scope b
printf '%s\n' "$out" | grep -q '^standby_cluster_hosts' && fail "3: standby_cluster_hosts still set: $out"
echo "3: $b1 promoted on timeline $tl_b ($(($(now_ms) - t2)) ms), $b2 follows it, a untouched"
echo "$me: passed in $(($(now_ms) - t0)) ms"
