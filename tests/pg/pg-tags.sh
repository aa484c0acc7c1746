#!/bin/sh
# pg-tags.sh — tags and synchronous replication on real PostgreSQL 15,
# three nodes in synchronous mode (pg1 the primary: it starts first):
#
#   1. tags: pg1 failover_priority 5; pg2 clonefrom and noloadbalance;
#      pg3 nosync and replicatefrom pg2 (started once pg2 streams).
#      `cluster list` shows them (TAGS column, "tags" in -o json);
#      pg2's /replica answers 503 (pg3's 200); pg3 streams from pg2
#      (pg_stat_wal_receiver on pg3, pg_stat_replication on pg2, the
#      member's "upstream");
#   2. clonefrom: pg3's data removed, its agent started again: the copy
#      comes from pg2 (the agent's copy_source line);
#   3. replicatefrom: pg2 stopped, pg3 re-points to pg1, and back to pg2
#      when pg2 returns; all along, pg3 (nosync) is never in pg1's
#      synchronous_standby_names, even while it streams from pg1;
#   4. synchronous_node_count = 2 (pg3 without tags now): ANY 2
#      ("pg2","pg3"), and a commit waits for both (pg3's walreceiver
#      stopped: the commit does not return; resumed: it does);
#   5. strict mode: both standbys stopped; off, writes go on (the
#      documented default); synchronous_mode_strict = on, a write does not
#      return until a standby streams again.
# The sanitizer pass of deploy/dev test sets SKIP_LONG_PG=1: this test ran
# in the normal build already, and time in CI is bounded.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-tags: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-tags
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }
sync_names() { psql_as pg1 "SHOW synchronous_standby_names"; }
# streams_from NODE UPSTREAM: UPSTREAM sends NODE its WAL, and NODE's
# walreceiver is connected to UPSTREAM's port
streams_from() {
	[ "$(psql_as "$2" "SELECT count(*) FROM pg_stat_replication \
		WHERE application_name = '$1' AND state = 'streaming'" 2>/dev/null)" = 1 ] &&
		[ "$(psql_as "$1" "SELECT sender_port FROM pg_stat_wal_receiver \
			WHERE status = 'streaming'" 2>/dev/null)" = "$(pg_port "$2")" ]
}
names_are() { [ "$(sync_names 2>/dev/null)" = "$1" ]; }
# timed_psql SECONDS NODE SQL: psql_as, killed after SECONDS (exit 124)
timed_psql() {
	PGCONNECT_TIMEOUT=2 timeout "$1" psql -X -A -t -q -v ON_ERROR_STOP=1 \
		"$(pg_conninfo "$2")" -c "$3"
}
# write TAG: one INSERT on pg1 that must return within 10 s
write() {
	timed_psql 10 pg1 "INSERT INTO tags_probe VALUES ('$1')" >/dev/null ||
		fail "write $1 did not return (synchronous_standby_names: $(sync_names))"
}
# a write in the background; its psql exit status in $dir/bg.rc when done
write_bg() {
	rm -f "$dir/bg.rc"
	(psql_as pg1 "INSERT INTO tags_probe VALUES ('$1')" >/dev/null 2>&1
	echo $? >"$dir/bg.rc") &
	bg_pid=$!
}
bg_done() { [ -s "$dir/bg.rc" ]; }
# member_is NODE STATE: `cluster list` shows NODE in STATE
member_is() {
	"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" cluster list --scope main -o json 2>/dev/null |
		jq -e ".[] | select(.name == \"$1\" and .state == \"$2\")" >/dev/null
}
# watch_sync: samples pg1's synchronous_standby_names every 0.2 s into
# $dir/sync-names until stopped (pg3 must never be in it while nosync)
watch_sync() {
	while :; do
		sync_names 2>/dev/null >>"$dir/sync-names"
		sleep 0.2
	done &
	watch_pid=$!
	pids="$pids $watch_pid"
}

pg_conf 1 failover_priority 5
pg_conf 2 clonefrom on
pg_conf 2 noloadbalance on
pg_conf 3 nosync on
pg_conf 3 replicatefrom "'pg2'"

# ---- 1. tags ------------------------------------------------------------------
pg_start_witnesses
pg_start_agent 1
[ "$(pg_wait_primary 60)" = pg1 ] || fail "bootstrap: pg1 is not the primary"
psql_as pg1 "CREATE TABLE tags_probe (tag text)" || fail "bootstrap: no table"
pg_start_agent 2
wait_for 60 streams_from pg2 pg1 || fail "bootstrap: pg2 does not stream from pg1"
# a copy source must say it streams (its record), not only do it
wait_for 15 member_is pg2 streaming || fail "bootstrap: pg2's record does not say streaming"
watch_sync
pg_start_agent 3
wait_for 60 streams_from pg3 pg2 ||
	fail "replicatefrom: pg3 does not stream from pg2 (pg1 sends to: $(psql_as pg1 \
		"SELECT string_agg(application_name, ',') FROM pg_stat_replication"))"
grep -q 'event=copy_source from=pg2 primary=pg1 clonefrom=true' "$dir/pg3-agent.log" ||
	fail "clonefrom: pg3's first copy did not come from pg2: $(grep copy_source "$dir/pg3-agent.log")"
echo "replicatefrom: pg3 streams from pg2 (and was copied from it)"

wait_for 15 sh -c "'$ctl_bin' --endpoints '$TENURE_ENDPOINTS' cluster list --scope main -o json |
	jq -e '.[] | select(.name == \"pg3\" and .upstream == \"pg2\")' >/dev/null" ||
	fail "cluster list: pg3's upstream is not pg2"
pg_cluster_list
expect_rc 0 "cluster list -o json"
[ "$(field '.[] | select(.name == "pg1") | .tags | tojson')" = '{"failover_priority":5}' ] ||
	fail "cluster list: pg1's tags: $(field '.[] | select(.name == "pg1") | .tags')"
[ "$(field '.[] | select(.name == "pg2") | .tags | tojson')" = '{"noloadbalance":true,"clonefrom":true}' ] ||
	fail "cluster list: pg2's tags: $(field '.[] | select(.name == "pg2") | .tags')"
[ "$(field '.[] | select(.name == "pg3") | .tags | tojson')" = '{"nosync":true,"replicatefrom":"pg2"}' ] ||
	fail "cluster list: pg3's tags: $(field '.[] | select(.name == "pg3") | .tags')"
cl list
expect_rc 0 "cluster list"
printf '%s\n' "$out" | grep -q 'TAGS' || fail "cluster list: no TAGS column: $out"
printf '%s\n' "$out" | grep -q '^pg3 .* nosync,replicatefrom=pg2$' ||
	fail "cluster list: pg3's tags not shown: $out"
printf '%s\n' "$out" | grep -q '^pg1 .* priority=5$' ||
	fail "cluster list: pg1's priority not shown: $out"
echo "$out"

[ "$(pg_http_code pg2 /replica)" = 503 ] || fail "noloadbalance: pg2's /replica is $(pg_http_code pg2 /replica)"
[ "$(pg_http_code pg2 /read-only)" = 503 ] || fail "noloadbalance: pg2's /read-only is not 503"
[ "$(pg_http_code pg2 /health)" = 200 ] || fail "noloadbalance: pg2's /health is not 200"
wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
	http://127.0.0.1:$(pg_http_port pg3)/replica)\" = 200 ]" ||
	fail "noloadbalance: pg3's /replica is $(pg_http_code pg3 /replica), want 200"
echo "noloadbalance: pg2's /replica 503, /health 200; pg3's /replica 200"

# ---- 2. clonefrom: a re-copy comes from pg2 -------------------------------------------
wait_for 15 member_is pg2 streaming || fail "clonefrom: pg2's record does not say streaming"
pg_agent_stop pg3 30
rm -rf "$(pg_datadir pg3)"
before=$(grep -c 'event=copy_source' "$dir/pg3-agent.log")
pg_start_agent 3
wait_for 60 streams_from pg3 pg2 || fail "clonefrom: pg3 did not come back after its re-copy"
[ "$(grep -c 'event=copy_source from=pg2 primary=pg1 clonefrom=true' "$dir/pg3-agent.log")" -gt "$before" ] ||
	fail "clonefrom: the re-copy did not come from pg2: $(grep copy_source "$dir/pg3-agent.log")"
echo "clonefrom: pg3 copied afresh from pg2, not the primary"

# ---- 3. replicatefrom: re-pointed to the primary and back ------------------------------
pg_agent_stop pg2 30
wait_for 30 streams_from pg3 pg1 || fail "replicatefrom: pg3 did not re-point to pg1 with pg2 down"
grep -q 'event=repoint upstream=pg1 primary=pg1' "$dir/pg3-agent.log" ||
	fail "replicatefrom: no repoint line in pg3's log"
write while-pg2-down # pg3 streams from pg1 but is nosync: nobody to wait for
sleep 3              # pg3 streams from pg1 a while: still not listed
pg_start_agent 2
wait_for 60 streams_from pg3 pg2 || fail "replicatefrom: pg3 did not return to pg2"
echo "replicatefrom: pg3 re-pointed to pg1 while pg2 was down, and back to pg2"
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
grep -q pg3 "$dir/sync-names" &&
	fail "nosync: pg3 was in synchronous_standby_names: $(grep pg3 "$dir/sync-names" | head -1)"
grep -q pg2 "$dir/sync-names" || fail "nosync: pg2 was never listed either: the watch saw nothing"
echo "nosync: pg3 never in synchronous_standby_names ($(sort -u "$dir/sync-names" | tr '\n' ' '))"

# ---- 4. synchronous_node_count = 2 ----------------------------------------------------
pg_agent_stop pg3 30
pg_conf 3 nosync off
pg_conf 3 replicatefrom "''"
pg_start_agent 3
wait_for 60 streams_from pg3 pg1 || fail "sync count: pg3 does not stream from pg1"
cl edit-config --set synchronous_node_count=2
expect_rc 0 "edit-config synchronous_node_count=2"
wait_for 30 names_are 'ANY 2 ("pg2","pg3")' ||
	fail "sync count: synchronous_standby_names is '$(sync_names)', want ANY 2 (\"pg2\",\"pg3\")"
echo "synchronous_node_count = 2: $(sync_names)"
write both-up
# pg3's walreceiver stopped (its agent and Postgres still answer: it stays
# listed): with ANY 2 the commit must wait for it
wr=$(psql_as pg3 "SELECT pid FROM pg_stat_wal_receiver")
[ -n "$wr" ] || fail "sync count: pg3 has no walreceiver"
kill -STOP "$wr"
write_bg one-standby-stalled
sleep 3
bg_done && {
	kill -CONT "$wr"
	fail "sync count: a commit returned with one of ANY 2 stalled (rc $(cat "$dir/bg.rc"))"
}
kill -CONT "$wr"
wait_for 15 bg_done || fail "sync count: the commit did not return once pg3 resumed"
[ "$(cat "$dir/bg.rc")" = 0 ] || fail "sync count: the commit failed"
wait "$bg_pid" 2>/dev/null
echo "synchronous_node_count = 2: the commit waited for the second standby"

# ---- 5. strict mode ----------------------------------------------------------------------
cl edit-config --set synchronous_node_count=1
expect_rc 0 "edit-config synchronous_node_count=1"
pg_agent_stop pg3 30
pg_agent_stop pg2 30
wait_for 30 names_are '' || fail "not strict: synchronous_standby_names stays '$(sync_names)'"
write no-standby-not-strict
echo "not strict: with no standby, writes go on (synchronous_standby_names '')"
cl edit-config --set synchronous_mode_strict=on
expect_rc 0 "edit-config synchronous_mode_strict=on"
wait_for 30 names_are 'ANY 1 ("tenure/nobody")' ||
	fail "strict: synchronous_standby_names is '$(sync_names)'"
write_bg strict-no-standby
sleep 3
bg_done && fail "strict: a write returned with no standby (rc $(cat "$dir/bg.rc"))"
# statement_timeout does not cut the wait (Postgres stops its timer before
# the commit): the write does not return
timed_psql 3 pg1 "SET statement_timeout = '1s'; INSERT INTO tags_probe VALUES ('timeout')" \
	>/dev/null 2>&1
rc=$?
[ "$rc" = 124 ] || fail "strict: a write with statement_timeout 1s returned (rc $rc)"
pg_start_agent 2
wait_for 60 bg_done || fail "strict: the write did not return once pg2 was back"
[ "$(cat "$dir/bg.rc")" = 0 ] || fail "strict: the write failed"
wait "$bg_pid" 2>/dev/null
names_are 'ANY 1 ("pg2")' || fail "strict: synchronous_standby_names is '$(sync_names)' with pg2 back"
write strict-pg2-back
echo "strict: no write returned while no standby streamed; they did once pg2 was back"
[ "$(psql_as pg1 "SELECT count(*) FROM tags_probe WHERE tag LIKE 'strict%'")" = 2 ] ||
	fail "strict: the writes are not all there"
echo "ok: tags shown, noloadbalance, clonefrom, replicatefrom and back, nosync, ANY 2, strict mode"
