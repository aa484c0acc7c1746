#!/bin/sh
# pg-restart.sh — Postgres restarts, reloads and re-copies through the
# agents, and scheduled requests, on real PostgreSQL 15 (three agents,
# synchronous mode), as a patronictl user makes them:
#   1. without a terminal and without --force, restart and switchover
#      refuse (exit 2) and change nothing;
#   2. `cluster restart --force`: every node, rolling; the primary
#      restarts in place (same node, same lease token), its write gap is
#      printed; the write probe finds no acknowledged write lost;
#   3. `cluster restart --role replica`, `cluster reload`;
#   4. `cluster reinit NODE --force`: the data directory really copied
#      afresh (a marker in the old one is gone), same system identifier;
#      refused for the primary;
#   5. a switchover scheduled a few seconds ahead, carried out at its time
#      although the candidate's agent restarted in between;
#   6. `cluster flush restart` cancels a scheduled restart.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-restart: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-restart
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main </dev/null; }
token() {
	ctl --endpoints "$TENURE_ENDPOINTS" lease get main/primary -o json
	field .token
}
sysid() { psql_as "$1" "SELECT system_identifier FROM pg_control_system()"; }

pg_start_agents
primary=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "bootstrap: the standbys did not come up"
pg_probe_table "$primary"
pg_wait_sync "$primary" 60 2 || fail "bootstrap: the standbys are not both synchronous"
probe_start

# ---- 1. no terminal, no --force: refused ---------------------------------------------------
cl restart
[ "$rc" = 2 ] || fail "restart without --force and without a terminal: exit $rc ($out $err)"
printf '%s\n' "$err" | grep -q "not a terminal" || fail "restart: no word of the terminal: $err"
cand=$(pg_replicas | tr " " "\n" | head -n 1)
cl switchover --candidate "$cand"
[ "$rc" = 2 ] || fail "switchover without --force and without a terminal: exit $rc ($out $err)"
refusal=$(printf "%s\n" "$err" | grep "not a terminal")
ctl --endpoints "$TENURE_ENDPOINTS" get main/restart
[ "$rc" = 1 ] || fail "a refused restart left main/restart: $out"
echo "refused without a terminal: $refusal"

# ---- 2. rolling restart of every node ---------------------------------------------------------
t0=$(token)
cl restart --force --wait 150
[ "$rc" = 0 ] || fail "cluster restart: exit $rc ($out $err)"
echo "$out"
[ "$(printf '%s\n' "$out" | grep -c 'restart done')" = "$PG_NODES" ] ||
	fail "cluster restart: not $PG_NODES nodes reported: $out"
printf '%s\n' "$out" | tail -n 1 | grep -q "^$primary: restart done (primary, in place), write gap" ||
	fail "cluster restart: the primary $primary was not last, in place, with its write gap: $out"
[ "$(pg_wait_primary 10)" = "$primary" ] || fail "cluster restart: $primary is no longer the primary"
[ "$(token)" = "$t0" ] || fail "cluster restart: the lease token changed ($t0 -> $(token))"
grep -q 'event=restarted role=primary' "$dir/$primary-agent.log" || fail "no restart in $primary's log"
pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null || fail "cluster restart: the replicas are not back"
wait_for 20 sh -c "! '$ctl_bin' --endpoints '$TENURE_ENDPOINTS' get main/restart >/dev/null 2>&1" ||
	fail "main/restart was not deleted after the restart"

# ---- 3. replicas only; reload ----------------------------------------------------------------------
pg_wait_sync "$primary" 60 2 || fail "the standbys are not both synchronous again"
cl restart --role replica --force --wait 120
[ "$rc" = 0 ] || fail "cluster restart --role replica: exit $rc ($out $err)"
[ "$(printf '%s\n' "$out" | grep -c 'restart done (replica')" = $((PG_NODES - 1)) ] ||
	fail "restart --role replica: $out"
printf '%s\n' "$out" | grep -q "^$primary:" && fail "restart --role replica restarted the primary: $out"
echo "restart --role replica: $(printf '%s\n' "$out" | tr '\n' ';')"
cl reload
[ "$rc" = 0 ] || fail "cluster reload: exit $rc ($out $err)"
[ "$(printf '%s\n' "$out" | grep -c 'reload done')" = "$PG_NODES" ] || fail "cluster reload: $out"
echo "reload: $(printf '%s\n' "$out" | tr '\n' ';')"

# ---- 4. reinit of a replica ----------------------------------------------------------------------
pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null || fail "reinit: the replicas are not streaming"
victim=$(pg_replicas | tr " " "\n" | tail -n 1)
before=$(sysid "$victim")
su postgres -s /bin/sh -c "touch '$(pg_datadir "$victim")/tenure-marker'" || fail "cannot write the marker"
cl reinit "$primary" --force
[ "$rc" = 2 ] || fail "reinit of the primary: exit $rc ($out $err)"
cl reinit "$victim" --force --wait 120
[ "$rc" = 0 ] || fail "cluster reinit $victim: exit $rc ($out $err)"
echo "reinit: $out"
[ -e "$(pg_datadir "$victim")/tenure-marker" ] && fail "reinit: the marker is still in $victim's data directory"
pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null || fail "reinit: $victim is not streaming again"
[ "$(sysid "$victim")" = "$before" ] || fail "reinit: system identifier $before -> $(sysid "$victim")"

# ---- 5. scheduled switchover, an agent restart in between -----------------------------------------
pg_wait_sync "$primary" 60 2 || fail "the standbys are not both synchronous before the switchover"
cand=$(pg_replicas | tr " " "\n" | head -n 1)
at_s=$(($(date +%s) + 15))
cl switchover --candidate "$cand" --scheduled "$(date -u -d "@$at_s" +%Y-%m-%dT%H:%M:%SZ)" --force
[ "$rc" = 0 ] || fail "scheduled switchover: exit $rc ($out $err)"
echo "$out"
cl list
printf '%s\n' "$out" | grep -q "Switchover scheduled at" || fail "cluster list does not show the switchover: $out"
pg_agent_stop "$cand"
pg_start_agent "$cand"
new=$(wait_other_primary "$primary" 60) || fail "scheduled switchover: no new primary"
[ "$(date +%s)" -ge "$at_s" ] || fail "the switchover ran before its time"
[ "$new" = "$cand" ] || fail "scheduled switchover: $new took over, not $cand"
echo "scheduled switchover: $primary -> $new at $(date +%T)"
pg_wait_replicas $((PG_NODES - 1)) 90 >/dev/null || fail "switchover: $primary did not come back"

# ---- 6. flush cancels a scheduled restart ------------------------------------------------------------
cl restart --force --scheduled "$(date -d "@$(($(date +%s) + 300))" +%Y-%m-%dT%H:%M:%S)"
[ "$rc" = 0 ] || fail "scheduled restart: exit $rc ($out $err)"
cl list
printf '%s\n' "$out" | grep -q "Restart scheduled at" || fail "cluster list does not show the restart: $out"
cl flush restart
[ "$rc" = 0 ] || fail "flush restart: exit $rc ($out $err)"
ctl --endpoints "$TENURE_ENDPOINTS" get main/restart
[ "$rc" = 1 ] || fail "flush restart left main/restart: $out"
cl flush switchover
[ "$rc" = 1 ] || fail "flush switchover with none scheduled: exit $rc"

sleep 1
probe_stop
probe_check "$new" --sync >/dev/null || fail "the probe found a problem: $out"
echo "ok: rolling restart in place, replicas, reload, reinit, scheduled switchover, flush, refusal without a terminal"
