#!/bin/sh
# pg-freeze-waiting.sh — a standby whose walreceiver is "waiting" is still
# frozen, so the failover goes on (real PostgreSQL 15, three agents,
# synchronous mode off).
#
# A walreceiver that finished streaming a timeline waits for the startup
# process to say where to go on (pg_stat_wal_receiver.status 'waiting').
# Clearing primary_conninfo does not end it: the freeze (fencing/
# agent_act_follow.c) polled for it until freeze_failed, again and again,
# and since nobody is chosen before every running standby has frozen the
# cluster stayed without a primary (netns-nemesis, seed 20240614, about
# one run in two).  The agent now sends it SIGTERM once the cleared
# primary_conninfo had 1 s to take effect (event=walreceiver_stopped).
# This test makes that state on purpose and every time:
#   1. pg1 the primary, pg2 (nofailover: it freezes but is never the
#      candidate) and pg3 stream from it;
#   2. "fork", a server without an agent copied from pg1, stops
#      streaming, pg1 writes more (pg3 replays it), fork is promoted: its
#      timeline 2 starts before pg3's replay point, in the same WAL
#      segment;
#   3. pg3's agent is killed (a standby's guard is disarmed: its Postgres
#      runs on); pg3 is pointed at fork by hand: its walreceiver streams
#      timeline 1 up to the fork and then waits, again every 5 s
#      ("forked off ... before current recovery point");
#   4. pg1 crashes; once pg2 has frozen (the lease is free), pg3's agent
#      starts: it must freeze pg3 (walreceiver_stopped status=waiting,
#      frozen) and be promoted, the only candidate, within 30 s (before
#      the fix: never); every row pg1 committed is there, pg2 follows.
me=pg-freeze-waiting
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"

fork_port=$(pg_spare_port 0)
# the replication user's password (none with PG_PASSWORDS=0)
repl_auth=""
[ -s "$dir/replication.pass" ] && repl_auth="password=$(cat "$dir/replication.pass")"
# wal_receiver NODE: NODE's pg_stat_wal_receiver, one line (or "none")
wal_receiver() {
	_r=$(psql_as "$1" "SELECT pid, status, received_tli, sender_port,
		flushed_lsn FROM pg_stat_wal_receiver" 2>&1)
	echo "${_r:-none}"
}
# receiver_is NODE STATUS: NODE's walreceiver is there in STATUS
receiver_is() {
	[ "$(psql_as "$1" "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null)" = "$2" ]
}
# replayed NODE TAG: NODE has the row TAG
replayed() {
	[ "$(psql_as "$1" "SELECT count(*) FROM wf WHERE tag = '$2'" 2>/dev/null)" = 1 ]
}
fork_sql() {
	PGCONNECT_TIMEOUT=2 psql -X -A -t -q -v ON_ERROR_STOP=1 \
		"host=127.0.0.1 port=$fork_port user=postgres dbname=postgres" -c "$1"
}
# fork_answers SQL VALUE: fork answers SQL with VALUE
fork_answers() { [ "$(fork_sql "$1" 2>/dev/null)" = "$2" ]; }
# streams_from NODE UPSTREAM: NODE's walreceiver streams from UPSTREAM
streams_from() {
	[ "$(psql_as "$1" "SELECT sender_port FROM pg_stat_wal_receiver
		WHERE status = 'streaming'" 2>/dev/null)" = "$(pg_port "$2")" ]
}
# diagnose: what a failure needs to be understood from the log alone
diagnose() {
	echo "--- pg3's walreceiver: $(wal_receiver pg3)" >&2
	echo "--- pg2's walreceiver: $(wal_receiver pg2)" >&2
	echo "--- pg3's agent, freeze events:" >&2
	grep -E 'event=(decision|walreceiver_stopped|frozen|freeze_failed|lease_acquired|promot)' \
		"$dir/pg3-agent.log" | tail -n 20 >&2
}

# ---- 1. pg1 the primary, pg2 and pg3 stream from it --------------------------------
pg_conf 2 nofailover on
pg_start_witnesses
pg_start_agent 1
[ "$(pg_wait_primary 60)" = pg1 ] || fail "bootstrap: pg1 is not the primary"
pg_start_agent 2
pg_start_agent 3
wait_for 60 streams_from pg2 pg1 || fail "bootstrap: pg2 does not stream from pg1"
wait_for 60 streams_from pg3 pg1 || fail "bootstrap: pg3 does not stream from pg1"
psql_as pg1 "CREATE TABLE wf (tag text)" || fail "bootstrap: no table"

# ---- 2. fork: a copy of pg1 that leaves timeline 1 before pg3 does -----------------
mkdir -p "$dir/fork" && chown postgres:postgres "$dir/fork"
echo "$fork_port" >"$dir/fork.port"
pg_as_postgres "$pg_bin/pg_basebackup" -D "$dir/fork/data" -X stream -R -c fast \
	-d "host=127.0.0.1 port=$(pg_port pg1) user=replicator $repl_auth \
application_name=fork" >"$dir/fork-basebackup.out" 2>&1 ||
	fail "pg_basebackup of fork failed: $(cat "$dir/fork-basebackup.out")"
# pg1's settings came along: fork is nobody's synchronous standby, keeps
# no slot and waits for no standby of its own
cat >>"$dir/fork/data/postgresql.auto.conf" <<EOF
primary_slot_name = ''
synchronous_standby_names = ''
EOF
pg_plain_start fork
# a fresh segment: the fork point and pg3's replay point share it (a
# walreceiver asks for the segment's start; were the fork before it, the
# request would be refused instead of ending in 'waiting')
psql_as pg1 "SELECT pg_switch_wal()" >/dev/null || fail "pg_switch_wal on pg1 failed"
psql_as pg1 "INSERT INTO wf VALUES ('before-fork')" || fail "write before-fork failed"
wait_for 30 fork_answers "SELECT count(*) FROM wf WHERE tag = 'before-fork'" 1 ||
	fail "fork did not replay before-fork"
{ fork_sql "ALTER SYSTEM SET primary_conninfo = ''" >/dev/null &&
	fork_sql "SELECT pg_reload_conf()" >/dev/null; } || fail "cannot cut fork off"
wait_for 15 fork_answers "SELECT count(*) FROM pg_stat_wal_receiver" 0 ||
	fail "fork's walreceiver did not stop"
for i in 1 2 3; do
	psql_as pg1 "INSERT INTO wf VALUES ('after-fork-$i')" || fail "write after-fork-$i failed"
done
wait_for 30 replayed pg3 after-fork-3 || fail "pg3 did not replay after-fork-3"
wait_for 30 replayed pg2 after-fork-3 || fail "pg2 did not replay after-fork-3"
pg_as_postgres "$pg_bin/pg_ctl" -D "$dir/fork/data" -w -t 30 promote >/dev/null ||
	fail "promoting fork failed"
fork_lsn=$(fork_sql "SELECT pg_current_wal_lsn()")
pg3_lsn=$(psql_as pg3 "SELECT pg_last_wal_replay_lsn()")
echo "fork promoted at $fork_lsn (timeline 2); pg3 replayed timeline 1 to $pg3_lsn"

# ---- 3. pg3, without its agent, pointed at fork: its walreceiver waits ------------
pg_agent_kill pg3
[ -n "$(pg_postmaster_pid pg3)" ] || fail "pg3's Postgres stopped with its agent"
{ psql_as pg3 "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=$fork_port \
user=replicator $repl_auth application_name=pg3'" >/dev/null &&
	psql_as pg3 "ALTER SYSTEM SET primary_slot_name = ''" >/dev/null &&
	psql_as pg3 "SELECT pg_reload_conf()" >/dev/null; } || fail "cannot point pg3 at fork"
wait_for 20 receiver_is pg3 waiting ||
	fail "pg3's walreceiver is not waiting: $(wal_receiver pg3)"
grep -q 'forked off current database system timeline 1 before current recovery point' \
	"$dir/pg3-postgres.log" || fail "pg3's log does not say why it waits"
# it stays so (nudged every 5 s, it streams up to the fork and waits again)
sleep 6
receiver_is pg3 waiting || fail "pg3's walreceiver did not stay waiting: $(wal_receiver pg3)"
echo "pg3's walreceiver waits: $(wal_receiver pg3)"

# ---- 4. the primary crashes; pg3's agent must freeze pg3 and promote it -------------
frozen_before=$(grep -c 'event=frozen' "$dir/pg2-agent.log")
pg_crash pg1
wait_for 30 sh -c "[ \$(grep -c 'event=frozen' '$dir/pg2-agent.log') -gt $frozen_before ]" ||
	fail "pg2 did not freeze after pg1's crash"
receiver_is pg3 waiting || fail "pg3's walreceiver no longer waits: $(wal_receiver pg3)"
t_start=$(now_ms)
pg_start_agent 3
new=$(pg_wait_primary 30) || {
	diagnose
	fail "no primary 30 s after pg3's agent started (its walreceiver was waiting)"
}
took=$(($(now_ms) - t_start))
[ "$new" = pg3 ] || fail "the new primary is $new, not pg3"
grep -q 'event=walreceiver_stopped .*status=waiting' "$dir/pg3-agent.log" || {
	diagnose
	fail "pg3's agent did not log walreceiver_stopped status=waiting"
}
grep -q 'event=frozen node=pg3' "$dir/pg3-agent.log" || {
	diagnose
	fail "pg3's agent did not log frozen"
}
echo "pg3 frozen ($(grep -o 'event=walreceiver_stopped.*' "$dir/pg3-agent.log" | head -1)) and promoted $took ms after its agent started"

# every row pg1 committed is on the new primary, which takes writes
rows=$(psql_as pg3 "SELECT string_agg(tag, ',' ORDER BY tag) FROM wf")
[ "$rows" = "after-fork-1,after-fork-2,after-fork-3,before-fork" ] ||
	fail "pg3 lacks rows pg1 committed: '$rows'"
psql_as pg3 "INSERT INTO wf VALUES ('on-pg3')" || fail "no write on pg3"
wait_for 30 streams_from pg2 pg3 || fail "pg2 does not stream from pg3: $(wal_receiver pg2)"
wait_for 15 replayed pg2 on-pg3 || fail "pg2 did not replay on-pg3"
pg_plain_stop fork
echo "ok: a waiting walreceiver was stopped by the freeze; pg3 promoted in $took ms, no row lost"
