#!/bin/sh
# pg-slots.sh — replication slots on real PostgreSQL 15 (fencing/slots.h,
# fencing/agent_slots.c), three nodes, asynchronous, wal_keep_size = 0 so
# that only the slots keep WAL:
#
#   1. the primary has a physical slot per member, the permanent physical
#      and logical slots of the scope settings (slot.NAME lines), and each
#      standby streams through its own (primary_slot_name);
#   2. a crashed standby whose WAL would have been recycled (WAL switches
#      and CHECKPOINTs on the primary meanwhile) catches up after its
#      restart without a new copy;
#   3. after a switchover the new primary has a slot for each other member
#      and the permanent slots; the old primary dropped its member slots;
#   4. a member gone (its node crashed, its key expired) loses its slot
#      once member_slots_ttl has passed, not before.
# The sanitizer pass of deploy/dev test sets SKIP_LONG_PG=1: this test ran
# in the normal build already, and time in CI is bounded.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-slots: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-slots
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }

# slots NODE: "name:type:active" of NODE's slots, one line each, sorted
slots() { psql_as "$1" "SELECT slot_name || ':' || slot_type || ':' || active FROM pg_replication_slots ORDER BY 1" 2>/dev/null; }
has_slot() { slots "$1" | grep -q "^$2:$3:"; }
no_slot() { ! slots "$1" | grep -q "^$2:"; }
# slots_for_others NODE: NODE has a physical slot for every other node
slots_for_others() {
	for _o in 1 2 3; do
		[ "pg$_o" = "$1" ] && continue
		has_slot "$1" "pg$_o" physical || return 1
	done
}
permanent_slots() { has_slot "$1" keep_phys physical && has_slot "$1" cdc logical; }
streams_via_slot() {
	[ "$(psql_as "$1" "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming' AND slot_name = '$1'")" = 1 ]
}

k=1
while [ $k -le "$PG_NODES" ]; do
	# logical slots need wal_level = logical; no WAL kept beyond the slots
	pg_conf $k pg_options "'-c unix_socket_directories=$dir/pg$k -c wal_level=logical -c wal_keep_size=0 -c max_wal_size=64MB -c min_wal_size=32MB'"
	k=$((k + 1))
done
pg_start_agents
first=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "bootstrap: the standbys did not come up"
cl edit-config --set member_slots_ttl=10min --set slot.keep_phys=physical \
	--set slot.cdc=logical:postgres:test_decoding
[ "$rc" = 0 ] || fail "edit-config: rc=$rc $out $err"
cl show-config
printf '%s\n' "$out" | grep -q '^slot.cdc = logical:postgres:test_decoding$' ||
	fail "show-config does not show the permanent slot: $out"
cl edit-config --set slot.bad=logical:postgres
[ "$rc" = 2 ] && printf '%s\n' "$err" | grep -q 'logical:DATABASE:PLUGIN' ||
	fail "a bad slot line was not refused: rc=$rc $err"

# ---- 1. slots on the primary, standbys through theirs -----------------------
wait_for 30 slots_for_others "$first" || fail "1: $first has no slot per member: $(slots "$first")"
wait_for 30 permanent_slots "$first" || fail "1: $first lacks the permanent slots: $(slots "$first")"
for r in $(pg_replicas); do
	wait_for 30 streams_via_slot "$r" || fail "1: $r does not stream through its slot"
	has_slot "$first" "$r" physical || fail "1: no slot for $r"
done
metrics_show_slot() { pg_http "$first" /metrics | grep -q "tenure_agent_replication_slot_retained_bytes{slot=\"keep_phys\",type=\"physical\"} [0-9]"; }
wait_for 15 metrics_show_slot || fail "1: /metrics shows no slot: $(pg_http "$first" /metrics | grep slot)"
echo "1: $first: $(slots "$first" | tr '\n' ' ')"

# ---- 2. a crashed standby catches up without a copy ---------------------------
set -- $(pg_replicas)
down=$1
pg_crash "$down"
psql_as "$first" "CREATE TABLE filler (x text)" || fail "2: create table"
for i in 1 2 3 4 5 6 7 8; do
	psql_as "$first" "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 8000); SELECT pg_switch_wal(); CHECKPOINT" >/dev/null ||
		fail "2: writes on $first"
done
held=$(psql_as "$first" "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = '$down'")
# more than max_wal_size: without the slot these segments were gone
[ "${held:-0}" -gt $((96 * 1024 * 1024)) ] || fail "2: the slot of $down holds only ${held:-nothing} bytes"
oldest=$(psql_as "$first" "SELECT min(name) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}\$'")
want=$(psql_as "$first" "SELECT pg_walfile_name(restart_lsn) FROM pg_replication_slots WHERE slot_name = '$down'")
[ "$oldest" \< "$want" ] || [ "$oldest" = "$want" ] || fail "2: $want is gone from $first (oldest $oldest)"
mark=$(wc -l <"$dir/$down-agent.log")
pg_start_agent "$down"
caught_up() {
	[ "$(psql_as "$first" "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$down' AND replay_lsn >= pg_current_wal_lsn()")" = 1 ]
}
wait_for 60 caught_up || fail "2: $down did not catch up"
tail -n +"$mark" "$dir/$down-agent.log" | grep -q pg_basebackup && fail "2: $down was copied again"
echo "2: $down was down while $held bytes of WAL went by; it caught up without a copy"

# ---- 3. switchover: the new primary's slots ---------------------------------------
cand=""
for r in $(pg_replicas); do [ "$r" != "$down" ] && cand=$r; done
[ -n "$cand" ] || cand=$down
cl switchover --candidate "$cand" --wait 30 --yes
[ "$rc" = 0 ] || fail "3: switchover to $cand: rc=$rc $out $err"
new=$(pg_wait_primary 30) || fail "3: no primary after the switchover"
[ "$new" = "$cand" ] || fail "3: $new is primary, not $cand"
wait_for 30 slots_for_others "$new" || fail "3: $new has no slot per member: $(slots "$new")"
wait_for 30 permanent_slots "$new" || fail "3: $new lacks the permanent slots: $(slots "$new")"
wait_for 60 streams_via_slot "$first" || fail "3: the old primary $first does not stream through its slot"
old_member_slots_gone() { no_slot "$first" "$new" && no_slot "$first" cdc; }
wait_for 30 old_member_slots_gone || fail "3: $first kept its slots as a standby: $(slots "$first")"
echo "3: $new: $(slots "$new" | tr '\n' ' ')"

# ---- 4. a member gone loses its slot after member_slots_ttl ----------------------
gone=$down
[ "$gone" = "$new" ] && gone=$first
cl edit-config --set member_slots_ttl=8s
[ "$rc" = 0 ] || fail "4: edit-config: rc=$rc $err"
t0=$(now_ms)
pg_crash "$gone"
sleep 5
has_slot "$new" "$gone" physical || fail "4: the slot of $gone went before member_slots_ttl"
slot_gone() { no_slot "$new" "$gone"; }
wait_for 40 slot_gone || fail "4: the slot of $gone is still there: $(slots "$new")"
echo "4: the slot of $gone dropped $(($(now_ms) - t0)) ms after its node crashed"
grep -q "event=slot_drop slot=$gone" "$dir/$new-agent.log" || fail "4: no slot_drop in the log"
echo "$me: ok"
