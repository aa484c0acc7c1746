#!/bin/sh
# pg-drill.sh — failover and switchover drills on real PostgreSQL 15 in
# synchronous mode: `tenurectl cluster drill` against three agents.
#
#   1. without --yes and without a terminal it refuses (nothing changes);
#   2. --kind failover --yes: a new primary, nothing lost, RTO measured,
#      the old primary back as a replica, the drill key gone;
#   3. --kind switchover --yes: the same;
#   4. `cluster history` lists both drills (json and table), and of the
#      105 older results put there before, only the newest 98 are left:
#      a drill keeps the newest 100.
# The sanitizer pass of deploy/dev test sets SKIP_LONG_PG=1: this test ran
# in the normal build already, and time in CI is bounded.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-drill: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-drill
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/pg-lib.sh"

drill() { ctl --endpoints "$TENURE_ENDPOINTS" cluster drill --scope main "$@"; }

pg_start_witnesses
"$top/tests/helpers/scope-fill" "$TENURE_ENDPOINTS" main/drills/ 1 105 \
	'{"kind":"old","time_ms":@N@,"old":"pg1","new":"pg2","ok":true,"lost":0,"acked":1}' ||
	fail "could not fill main/drills/"
pg_start_agents
first=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "bootstrap: the standbys did not come up"

# ---- 1. no confirmation, no terminal: refused ----------------------------------
drill --kind failover </dev/null
case "$rc" in 1 | 2) ;; *) fail "no --yes: exit $rc (stdout: $out; stderr: $err)" ;; esac
printf '%s' "$err" | grep -q -- "--yes" || fail "no --yes: no hint about --yes: $err"
[ "$(pg_wait_primary 5)" = "$first" ] || fail "no --yes: the primary changed"
echo "no --yes: refused (exit $rc): $(printf '%s' "$err" | head -n 1)"

# check_drill KIND: runs a drill of that kind and checks its result
check_drill() {
	_old=$(pg_wait_primary 30) || fail "$1: no primary before the drill"
	drill --kind "$1" --yes -o json
	[ "$rc" = 0 ] || fail "$1 drill: exit $rc (stdout: $out; stderr: $err)"
	[ "$(field .kind)" = "$1" ] || fail "$1 drill: kind $(field .kind)"
	[ "$(field .old)" = "$_old" ] || fail "$1 drill: old $(field .old), expected $_old"
	_new=$(field .new)
	[ -n "$_new" ] && [ "$_new" != null ] && [ "$_new" != "$_old" ] ||
		fail "$1 drill: new primary '$_new' (old $_old)"
	[ "$(field .lost)" = 0 ] || fail "$1 drill: lost $(field .lost)"
	[ "$(field '.acked > 0')" = true ] || fail "$1 drill: nothing acknowledged"
	[ "$(field '.rto_s > 0')" = true ] || fail "$1 drill: rto_s $(field .rto_s)"
	[ "$(field '.time_to_new_primary_s > 0')" = true ] ||
		fail "$1 drill: time_to_new_primary_s $(field .time_to_new_primary_s)"
	[ "$(field .old_rejoined)" = true ] || fail "$1 drill: old not back"
	[ "$(field '.timeline | length > 3')" = true ] || fail "$1 drill: short timeline"
	echo "$1 drill: $_old -> $_new, rto $(field .rto_s) s, first write on" \
		"$_new after $(field .time_to_new_primary_s) s, acked $(field .acked)," \
		"lost $(field .lost), $_old back after $(field .old_rejoined_s) s"
	[ "$(pg_wait_primary 10)" = "$_new" ] || fail "$1 drill: $_new is not the primary"
	pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null ||
		fail "$1 drill: not every node is back as a replica"
	ctl --endpoints "$TENURE_ENDPOINTS" get main/drill
	[ "$rc" = 1 ] || fail "$1 drill: main/drill left behind ($out)"
	ctl --endpoints "$TENURE_ENDPOINTS" get main/switchover
	[ "$rc" = 1 ] || fail "$1 drill: main/switchover left behind ($out)"
}

# ---- 2. and 3. ----------------------------------------------------------------------
check_drill failover
check_drill switchover

# ---- 4. the history ----------------------------------------------------------------
ctl --endpoints "$TENURE_ENDPOINTS" cluster history --scope main -o json
[ "$rc" = 0 ] || fail "history: exit $rc $err"
[ "$(field '[.[] | select(.reason == "drill")] | length')" = 100 ] ||
	fail "history: $(field '[.[] | select(.reason == "drill")] | length') drills, want 100 (pruned)"
[ "$(field '[.[] | select(.reason == "drill" and .kind == "old") | .time_ms] | min')" = 8 ] ||
	fail "history: not the oldest drills pruned: $out"
[ "$(field '[.[] | select(.reason == "drill" and .kind != "old") | .kind] | join(",")')" = failover,switchover ] ||
	fail "history: drill kinds: $out"
[ "$(field '[.[] | select(.reason == "drill" and .kind != "old" and .lost == 0 and .ok)] | length')" = 2 ] ||
	fail "history: drills not ok: $out"
[ "$(field '[.[] | select(.reason == "switchover")] | length')" = 1 ] ||
	fail "history: the switchover's own entry is missing: $out"
ctl --endpoints "$TENURE_ENDPOINTS" cluster history --scope main
[ "$rc" = 0 ] && printf '%s\n' "$out" | grep -q '^Drills:' ||
	fail "history table: no Drills table: $out"
printf '%s\n' "$out" | grep -v ' old ' # the 98 filler drills left out
echo "ok: drill refused without --yes, failover and switchover drills, history, pruned to 100"
