#!/bin/sh
# pg-standby-start.sh — a standby that cannot start must not be copied
# again and again (each copy a full pg_basebackup, each old directory
# kept aside: a full disk).  Real PostgreSQL 15, two agents, no
# synchronous mode, the write probe on all the time:
#
#   1. the primary (pg1) runs with max_connections = 150, the standby's
#      own configuration says 100: the agent raises the standby's
#      settings to the primary's (read from pg_controldata) and says so;
#      pg2 streams after its first copy, with no second one;
#   2. the same with max_connections = 100 written into pg2's
#      postgresql.auto.conf, as a local operator would, and pg2's
#      Postgres restarted: it streams again, no copy, no directory moved
#      aside;
#   3. shared_buffers = 'nonsense' in pg2's postgresql.auto.conf (a
#      setting the agent does not manage): Postgres cannot start; the
#      agent neither copies nor moves anything, retries with back-off
#      (few starts in 15 s), and the reason (the bad setting) is in
#      pg2's /health problem and in `tenurectl cluster list -o json`;
#      once the line is removed pg2 streams again.
#
# At the end `pgprobe check`: no acknowledged commit lost.
me=pg-standby-start
PG_NODES=2
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"

alog="$dir/pg2-agent.log"
data2=$(pg_datadir 2)

# since_mark PATTERN: lines of pg2's agent log after the last mark that
# match PATTERN (extended regular expression)
mark() { mark_at=$(wc -l <"$alog"); }
since_mark() { tail -n +$((mark_at + 1)) "$alog" | grep -E "$1"; }
count_since_mark() { since_mark "$1" | wc -l; }
no_copy_since_mark() {
	n=$(count_since_mark 'pg_basebackup')
	[ "$n" = 0 ] || fail "$1: pg_basebackup ran $n time(s): $(since_mark pg_basebackup | head -3)"
	ls -d "$data2".diverged-* 2>/dev/null &&
		fail "$1: a data directory was moved aside"
	return 0
}
streaming2() {
	[ "$(pg_http_code 2 /replica)" = 200 ] &&
		[ "$(psql_as 1 "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg2' AND state = 'streaming'")" = 1 ]
}
append_auto() { # append_auto LINE: into pg2's postgresql.auto.conf, as postgres
	pg_as_postgres sh -c "echo \"\$1\" >>\"\$2\"" sh "$1" "$data2/postgresql.auto.conf" ||
		fail "cannot write pg2's postgresql.auto.conf"
}
stop_pg2() { # what an operator's restart looks like to the agent
	pg_as_postgres "$pg_bin/pg_ctl" -D "$data2" -m fast -w stop >/dev/null ||
		fail "pg_ctl stop of pg2 failed"
}

# pg1 alone first, so that it is the primary, with more connections than
# the standby's postgresql.conf (initdb's 100) will allow
pg_start_witnesses
pg_write_config 1
pg_conf 1 pg_options "'-c unix_socket_directories=$dir/pg1 -c max_connections=150'"
pg_start_agent 1
[ "$(pg_wait_primary 90)" = pg1 ] || fail "pg1 did not become the primary"
[ "$(psql_as 1 'SHOW max_connections')" = 150 ] || fail "pg1 does not run with max_connections = 150"
pg_probe_table 1
probe_start 1 2

# 1. the first copy: the standby's settings are raised, one copy only
: >"$alog"
mark
pg_start_agent 2
wait_for 90 streaming2 || fail "1: pg2 did not come up as a streaming replica"
n=$(count_since_mark 'pg_basebackup')
[ "$n" = 1 ] || fail "1: pg_basebackup ran $n times, expected once"
ls -d "$data2".diverged-* 2>/dev/null && fail "1: a data directory was moved aside"
since_mark 'standby_settings_raised.*max_connections' >/dev/null ||
	fail "1: the agent's log does not say that it raised max_connections"
[ "$(psql_as 2 'SHOW max_connections')" -ge 150 ] || fail "1: pg2 runs with fewer connections than pg1"
echo "1: first copy: $(since_mark standby_settings_raised | head -1 | sed 's/.*standby_settings_raised//')"

# 2. lower max_connections locally, restart: no copy
mark
append_auto "max_connections = 100"
stop_pg2
wait_for 60 streaming2 || fail "2: pg2 did not come back as a streaming replica"
no_copy_since_mark 2
since_mark 'standby_settings_raised.*max_connections' >/dev/null ||
	fail "2: the agent's log does not say that it raised max_connections"
echo "2: restart with max_connections = 100: streaming again, no copy"

# 3. a setting that keeps Postgres from starting: back-off, no copy
mark
append_auto "shared_buffers = 'nonsense'"
stop_pg2
sleep 15
no_copy_since_mark 3
starts=$(count_since_mark 'event=run .*pg_ctl.* start ')
echo "3: $starts starts in 15 s"
[ "$starts" -ge 1 ] || fail "3: the agent never tried to start pg2"
[ "$starts" -le 6 ] || fail "3: $starts starts of pg2 in 15 s: no back-off"
health=$(pg_http 2 /health)
case "$health" in
*shared_buffers*) ;;
*) fail "3: pg2's /health does not name the bad setting: $health" ;;
esac
pg_cluster_list
[ "$rc" = 0 ] || fail "3: tenurectl cluster list failed: $err"
printf '%s\n' "$out" | grep -q 'shared_buffers' ||
	fail "3: tenurectl cluster list -o json does not say why pg2 is down: $out"
echo "3: reason shown: $(printf '%s\n' "$out" | tr ',' '\n' | grep '"reason"' | head -1)"

# the operator removes the line: pg2 comes back, still without a copy
pg_as_postgres sed -i '/nonsense/d' "$data2/postgresql.auto.conf" ||
	fail "cannot edit pg2's postgresql.auto.conf"
wait_for 90 streaming2 || fail "3: pg2 did not come back once the setting was removed"
no_copy_since_mark 3

sleep 1
probe_stop
probe_check pg1 >/dev/null || fail "the probe found a problem: $out"
echo "probe: $(printf '%s\n' "$out" | grep -i 'acked\|lost\|gap' | tr '\n' ' ')"
echo "$me: passed"
