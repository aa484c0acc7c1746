#!/bin/sh
# pg-requests.sh — operators' switchover and failover requests on real
# PostgreSQL 15 (three agents, synchronous mode), as patronictl users
# make them:
#   1. a stale request left in S/switchover (older than the agents' 60 s
#      rule) does not block a new one: tenurectl replaces it; a live one
#      does (exit 2, "already pending");
#   2. `switchover` without --candidate picks the best replica (a
#      synchronous standby);
#   3. `failover --candidate X` with a healthy primary is a switchover to
#      X, and says so.
# The write probe runs throughout: no two primaries, no lost commit.
# Skipped by the sanitizer pass (SKIP_LONG_PG=1): tenurectl paths; the agent runs under the sanitizers in pg-optime, pg-maintenance and pg-names.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-requests: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-requests
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }
sync_list() { "$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get main/sync -o json 2>/dev/null | jq -r .value; }

pg_start_agents
primary=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "bootstrap: the standbys did not come up"
pg_probe_table "$primary"
pg_wait_sync "$primary" 60 2 || fail "bootstrap: the standbys are not both synchronous"
probe_start

# ---- 1. a stale request is replaced, a live one refused ---------------------------------------
stale='{"kind":"switchover","from":"'$primary'","candidate":"nobody","requested_ms":1000}'
ctl --endpoints "$TENURE_ENDPOINTS" put main/switchover "$stale"
[ "$rc" = 0 ] || fail "put of a stale request: exit $rc $err"
# ---- 2. (with 1) switchover without --candidate ------------------------------------------------
cl switchover --yes --wait 30
[ "$rc" = 0 ] || fail "switchover over a stale request: exit $rc ($out $err)"
printf '%s\n' "$err" | grep -q "replacing a stale request" ||
	fail "switchover did not say it replaced the stale request: $err"
new=$(pg_wait_primary 10) || fail "switchover: no primary"
[ "$new" != "$primary" ] || fail "switchover without --candidate: $primary is still the primary"
echo "stale request replaced; switchover without --candidate: $primary -> $new ($out)"
pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null || fail "switchover: $primary did not come back"
pg_wait_sync "$new" 60 2 || fail "switchover: the standbys are not both synchronous again"

live='{"kind":"switchover","from":"'$new'","candidate":"nobody","requested_ms":'$(now_ms)'}'
ctl --endpoints "$TENURE_ENDPOINTS" put main/switchover "$live"
cl switchover --yes --wait 5
[ "$rc" = 2 ] || fail "switchover over a live request: exit $rc, expected 2 ($out $err)"
printf '%s\n' "$err" | grep -q "already pending" || fail "no 'already pending': $err"
ctl --endpoints "$TENURE_ENDPOINTS" del main/switchover
echo "a live request blocks a second one: $(printf '%s\n' "$err" | grep 'already pending')"

# ---- 3. failover with a healthy primary is a switchover --------------------------------------
cand=$(for r in $(pg_replicas); do echo "$r"; done | tail -n 1)
cl failover --yes --candidate "$cand" --wait 30
[ "$rc" = 0 ] || fail "failover to $cand with a healthy primary: exit $rc ($out $err)"
printf '%s\n' "$err" | grep -q "done as a switchover" || fail "failover did not say it switches over: $err"
[ "$(pg_wait_primary 10)" = "$cand" ] || fail "failover on a healthy cluster: $cand is not the primary"
pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null || fail "failover-as-switchover: $new did not come back"
ctl --endpoints "$TENURE_ENDPOINTS" cluster history --scope main -o json
[ "$(field '.[-1].reason')" = "switchover" ] ||
	fail "failover on a healthy cluster is recorded as '$(field '.[-1].reason')', not a switchover"
sleep 1
probe_stop
probe_check "$cand" --sync >/dev/null || fail "the probe found a problem: $out"
echo "failover --candidate $cand with a healthy primary: a switchover"
echo "ok: stale requests replaced, live ones refused, switchover picks, failover on a healthy cluster switches over"
