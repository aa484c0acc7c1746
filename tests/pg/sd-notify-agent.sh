#!/bin/sh
# sd-notify-agent.sh — one tenure-agent on a real PostgreSQL 15, started
# as systemd would start its Type=notify unit (NOTIFY_SOCKET read by
# tests/helpers/notify-listen, WATCHDOG_USEC).  Checks: STATUS= and READY=1 once
# the agent runs and its HTTP API answers, WATCHDOG=1 pings, SIGTERM sends
# STOPPING=1 before the clean stop (exit 0), and every datagram comes from
# the agent itself: Postgres (built with systemd support) and pg_ctl must
# not see NOTIFY_SOCKET, or systemd would log each of their messages as
# refused (NotifyAccess=main).  Needs root, postgresql-15, curl, jq.
me=sd-notify-agent
if ! [ -x "${PG_BIN:-/usr/lib/postgresql/15/bin}/postgres" ] ||
	! command -v curl >/dev/null || ! command -v jq >/dev/null ||
	! command -v setpriv >/dev/null; then
	echo "$me: skipped: needs postgresql-15, curl, jq and setpriv"
	exit 77
fi
PG_NODES=1
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"
listen_bin="$top/tests/helpers/notify-listen"
[ -x "$listen_bin" ] || fail "$listen_bin not built (make tests/helpers/notify-listen)"

pg_start_witnesses
"$listen_bin" "$dir/notify" 120 >"$dir/notify.out" 2>"$dir/notify.log" &
pids="$pids $!"
wait_for 5 test -S "$dir/notify" || fail "notify-listen did not start"

NOTIFY_SOCKET="$dir/notify" WATCHDOG_USEC=400000
export NOTIFY_SOCKET WATCHDOG_USEC
pg_start_agent 1
unset NOTIFY_SOCKET WATCHDOG_USEC
agent=$(pg_agent_pid 1)
[ -n "$agent" ] || fail "the agent did not start"
got() { grep -qx "$agent $1" "$dir/notify.out"; }

wait_for 20 got READY=1 || fail "the agent sent no READY=1 in 20 s"
grep -q "^$agent STATUS=agent pg1 of scope main, API on 127.0.0.1:" "$dir/notify.out" ||
	fail "the agent sent no STATUS= line"
[ "$(pg_http_code 1 /liveness)" = 200 ] ||
	fail "READY=1 sent but the agent's /liveness does not answer 200"
pg_wait_primary 60 >/dev/null || fail "pg1 did not become primary"
sleep 1
pings=$(grep -cx "$agent WATCHDOG=1" "$dir/notify.out")
[ "$pings" -ge 4 ] || fail "only $pings WATCHDOG=1 while the agent ran"

pg_agent_stop 1 30
[ "$rc" = 0 ] || fail "the agent exited with $rc after SIGTERM"
got STOPPING=1 || fail "the agent sent no STOPPING=1 on SIGTERM"
others=$(grep -vc "^$agent " "$dir/notify.out")
[ "$others" = 0 ] || fail "$others datagrams from other processes (Postgres?): $(grep -v "^$agent " "$dir/notify.out" | head -n 3)"
echo "$me: ok"
