#!/bin/sh
# pg-params.sh — Postgres parameters in the scope settings on real
# PostgreSQL 15, three nodes:
#
#   1. a reloadable parameter (work_mem) set cluster-wide: SHOW on every
#      node within seconds;
#   2. bad values refused by edit-config with the server's message (an
#      unknown name, a bad unit, out of range), nothing written;
#   3. a postmaster parameter raised (max_connections 100 -> 150):
#      pending_restart true on every node (cluster list table and JSON,
#      /patroni), the value unchanged until each node restarts;
#   4. a per-node override in one agent's file and SIGHUP: that node only;
#      a restart-only key is logged as ignored; a bad file keeps the old
#      settings;
#   5. the nodes restarted (agents stopped and started, the primary last):
#      150 everywhere, no pending restart;
#   6. lowered again (150 -> 120): the primary takes it (pending), the
#      standbys keep the primary's running 150 (a hot standby needs it).
me=pg-params
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }
all_show() { # all_show PARAM VALUE: every node's SHOW says VALUE
	for _k in 1 2 3; do
		[ "$(psql_as "$_k" "SHOW $1")" = "$2" ] || return 1
	done
}
pending_on_all() { # pending_on_all true|false
	pg_cluster_list
	printf '%s' "$out" >"$dir/list.json"
	[ "$(jq -r "[.[] | select(.pending_restart == $1)] | length" \
		"$dir/list.json")" = 3 ]
}
auto_conf() { # auto_conf NODE PARAM: the value in postgresql.auto.conf
	sed -n "s/^$2 = '\(.*\)'/\1/p" "$(pg_datadir "$1")/postgresql.auto.conf" |
		tail -1
}

pg_start_agents
first=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas 2 120 >/dev/null || fail "bootstrap: the standbys did not come up"

# ---- 1. reloadable, cluster-wide ---------------------------------------------------
cl edit-config --set pg.work_mem=8MB
expect_rc 0 "edit-config --set pg.work_mem=8MB"
wait_for 20 all_show work_mem 8MB || fail "work_mem: not 8MB on every node"
echo "1: work_mem 8MB on every node"

# ---- 2. refused with the server's message --------------------------------------------
cl edit-config --set pg.work_mem=8XB
expect_rc 2 "pg.work_mem=8XB"
case "$err" in *'invalid value for parameter "work_mem": "8XB"'*'Valid units'*) ;;
*) fail "8XB: $err" ;; esac
cl edit-config --set pg.wrok_mem=1MB
expect_rc 2 "pg.wrok_mem"
case "$err" in *'unrecognized configuration parameter "wrok_mem"'*) ;;
*) fail "wrok_mem: $err" ;; esac
cl edit-config --set pg.max_connections=0
expect_rc 2 "pg.max_connections=0"
refusal=$err
case "$err" in *'0 is outside the valid range for parameter "max_connections" (1 .. 262143)'*) ;;
*) fail "max_connections=0: $err" ;; esac
cl show-config
case "$out" in *8XB* | *wrok_mem* | *max_connections*) fail "a refused value was written: $out" ;; esac
echo "2: refused: $refusal"

# ---- 3. postmaster parameter: pending restart ------------------------------------------
cl edit-config --set pg.max_connections=150
expect_rc 0 "pg.max_connections=150"
wait_for 20 pending_on_all true || fail "pending_restart not true on every node: $(cat "$dir/list.json")"
all_show max_connections 100 || fail "max_connections changed before a restart"
cl list
case "$out" in *PENDING_RESTART*'*'*) ;; *) fail "cluster list shows no pending restart: $out" ;; esac
[ "$(pg_http 1 /patroni | jq -r .pending_restart)" = true ] ||
	fail "/patroni: no pending_restart: $(pg_http 1 /patroni)"
echo "3: pending_restart on every node, max_connections still 100"

# ---- 4. per-node override, SIGHUP -----------------------------------------------------
pg_conf pg2 pg.work_mem 16MB
pg_conf pg2 fence_time 150ms
kill -HUP "$(pg_agent_pid pg2)"
wait_for 10 grep -q 'event=config_reloaded changed=pg\.' "$dir/pg2-agent.log" ||
	fail "SIGHUP: no config_reloaded on pg2"
grep -q 'event=config_reload_ignored keys=fence_time' "$dir/pg2-agent.log" ||
	fail "SIGHUP: fence_time not logged as ignored"
wait_for 10 sh -c "[ \"\$(PGCONNECT_TIMEOUT=2 psql -X -A -t -q '$(pg_conninfo 2)' -c 'SHOW work_mem')\" = 16MB ]" ||
	fail "the override did not reach pg2"
[ "$(psql_as 1 'SHOW work_mem')" = 8MB ] || fail "the override reached pg1"
echo "bogus_key = 1" >>"$(pg_config_file pg2)"
kill -HUP "$(pg_agent_pid pg2)"
wait_for 10 grep -q 'event=config_reload_failed' "$dir/pg2-agent.log" ||
	fail "a bad file was not refused"
sed -i '/^bogus_key/d' "$(pg_config_file pg2)"
[ "$(psql_as 2 'SHOW work_mem')" = 16MB ] || fail "a bad file changed the settings"
echo "4: per-node override and SIGHUP re-read"

# ---- 5. restart every node, the primary last ----------------------------------------------
primary=$(pg_wait_primary 10) || fail "no primary"
for r in $(pg_replicas) "$primary"; do
	pg_agent_stop "$r"
	pg_start_agent "$r"
	pg_wait_primary 60 >/dev/null || fail "no primary after restarting $r"
	pg_wait_replicas 2 90 >/dev/null || fail "$r did not come back"
done
wait_for 20 all_show max_connections 150 || fail "max_connections not 150 after restarts"
wait_for 20 pending_on_all false || fail "still pending after restarts: $(cat "$dir/list.json")"
echo "5: restarted: max_connections 150, no pending restart"

# ---- 6. lowering: the standbys keep the primary's running value ----------------------------
primary=$(pg_wait_primary 10) || fail "no primary"
cl edit-config --set pg.max_connections=120
expect_rc 0 "pg.max_connections=120"
wait_for 20 sh -c "grep -q \"^max_connections = '120'\" '$(pg_datadir "$primary")/postgresql.auto.conf'" ||
	fail "the primary did not take 120"
for r in $(pg_replicas); do
	wait_for 10 grep -q 'event=pg_params_standby_floor kept=max_connections=150' "$dir/$r-agent.log" ||
		fail "$r: no standby floor logged"
	[ "$(auto_conf "$r" max_connections)" = 150 ] ||
		fail "$r: a standby took a value below its primary's: $(auto_conf "$r" max_connections)"
done
echo "6: lowering: primary 120 pending, standbys kept 150"
echo "pg-params: OK"
