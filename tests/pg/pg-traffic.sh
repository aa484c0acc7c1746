#!/bin/sh
# pg-traffic.sh — how much the agents ask of the witnesses, on real
# PostgreSQL 15: Raft entries per second (the leader's commit index) and
# client requests per second (tenure_requests_total of the three
# witnesses), per running agent, in these states:
#
#   lone-nofailover  one agent with nofailover = on, alone in a scope
#                    initialised once, with no primary to copy from
#   lone-waiting     one agent alone in a fresh scope, before it may
#                    bootstrap (it waits 2 x TTL for other members)
#   primary-alone    that agent once it runs the primary, alone: what the
#                    primary alone writes at rest
#   at-rest          three agents: a primary, two streaming standbys
#   no-primary       the primary crashed while the scope is paused: the
#                    lease runs out and nobody may be promoted
#   failover         the primary crashed, from the crash until the new
#                    primary serves and some seconds more
#
# The figures are printed; the test fails when a state's rate per agent
# is above 3 x the at-rest rate per agent, or 3 x a floor if that is more
# (a near-silent cluster must not make the test flaky): TRAFFIC_FLOOR
# (2/s) for entries, TRAFFIC_REQ_FLOOR (10/s) for requests, what an agent
# that reads its scope every tick asks (five reads per renew interval):
# at rest the agents read from their watches, so the at-rest rate says
# nothing of what a tick without a holder costs.  It fails too when at
# rest an agent makes more than one Raft entry per renew interval (the
# member lease's renewals and the primary's: docs/design.md §4) or more
# than AT_REST_REQ_MAX (5/s) requests, and when the primary alone makes
# more than one per renew interval: its renewals, its record riding its
# lease (fencing/record_lease.h), plus four per PRIMARY_WINDOW (30 s): its
# S/optime heartbeat (one per 30 s), a position that moved (its record and
# S/optime) and a renewal at the window's edge.  Before its record rode
# the primary lease, its member lease's renewals (one per 1.5 s) made it
# 1.33 per renew interval.
# Skipped by the sanitizer pass (SKIP_LONG_PG=1): rates under ASan say nothing about the agent's traffic.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-traffic: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-traffic
. "$(dirname "$0")/../lib/pg-lib.sh"

floor=${TRAFFIC_FLOOR:-2}
req_floor=${TRAFFIC_REQ_FLOOR:-10}
rest_req_max=${AT_REST_REQ_MAX:-5}
window=${TRAFFIC_WINDOW:-5}
primary_window=${PRIMARY_WINDOW:-30}
renew_ms=${PG_RENEW:-500ms}
renew_ms=${renew_ms%ms}

clk=$(getconf CLK_TCK)
# cpu_ticks: user + system clock ticks of the three witnesses so far
cpu_ticks() {
	_t=0
	for _i in 1 2 3; do
		_line=""
		read -r _line 2>/dev/null <"/proc/$(pid_of $_i)/stat" || continue
		set -- ${_line##*) }
		_t=$((_t + ${12} + ${13}))
	done
	echo $_t
}
# sample: "COMMIT REQUESTS PUTS CPU" now: the highest commit index of the
# witnesses that answer, the sums of their request counters, their CPU
sample() {
	_c=0
	_r=0
	_w=0
	for _i in 1 2 3; do
		_m=$(http $_i /metrics) || continue
		set -- $(printf '%s\n' "$_m" | awk '
			/^tenure_commit_index / { c = $2 }
			/^tenure_requests_total\{/ { r += $2 }
			/^tenure_requests_total\{type="PUT"/ { w += $2 }
			END { printf "%d %d %d\n", c, r, w }')
		[ "${1:-0}" -gt $_c ] && _c=$1
		_r=$((_r + ${2:-0}))
		_w=$((_w + ${3:-0}))
	done
	echo "$_c $_r $_w $(cpu_ticks)"
}

results=""
# measure STATE AGENTS SECONDS: samples now and SECONDS later; appends
# "STATE entries/s requests/s puts/s" per agent (x100, integers) to results
measure() {
	_s0=$(sample)
	_t0=$(now_ms)
	sleep "$3"
	_s1=$(sample)
	_t1=$(now_ms)
	record "$1" "$2" "$_s0" "$_s1" $((_t1 - _t0))
}
# record STATE AGENTS "SAMPLE0" "SAMPLE1" MS
record() {
	set -- "$1" "$2" $3 $4 "$5"
	# $3-$6: commit, requests, puts, cpu before; $7-${10} after; ${11} ms
	_e=$(( ($7 - $3) * 100000 / ${11} / $2 ))
	_q=$(( ($8 - $4) * 100000 / ${11} / $2 ))
	_p=$(( ($9 - $5) * 100000 / ${11} / $2 ))
	_u=$(( (${10} - $6) * 100000 * 100 / clk / ${11} ))
	printf '%-16s agents=%s %5d ms  per agent: %7s entries/s %8s requests/s %7s PUT/s  witnesses: %s%% CPU\n' \
		"$1" "$2" "${11}" "$(cents $_e)" "$(cents $_q)" "$(cents $_p)" "$(cents $_u)"
	results="$results$1 $_e $_q $_p
"
}
cents() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }

lease_holder() {
	ctl --endpoints "$TENURE_ENDPOINTS" lease get main/primary -o json
	field '.holder // empty'
}

pg_start_witnesses
sleep 1

# ---- a lone nofailover agent (its own scope) ------------------------------------
# The scope says it was initialised, so the agent, with no data and no
# primary to copy from, waits for one for ever.
ctl --endpoints "$TENURE_ENDPOINTS" put lone/initialize "gone 1"
[ "$rc" = 0 ] || fail "put lone/initialize: rc=$rc $err"
# its own scope, and a credential for it (agent:lone): with main's, the
# witnesses would refuse it and this would measure nothing
_scope=${PG_SCOPE:-main}
PG_SCOPE=lone
pg_write_config 4
PG_SCOPE=$_scope
pg_conf 4 nofailover on
pg_start_agent 4
sleep 2
measure lone-nofailover 1 "$window"
pg_agent_stop 4

# ---- a lone agent in a fresh scope, waiting for members (2 x TTL = 5 s) ---------
pg_start_agent 1
sleep 0.5
measure lone-waiting 1 3
first=$(pg_wait_primary 90) || fail "bootstrap: no primary"

# ---- the primary alone, at rest ---------------------------------------------------
sleep 5
measure primary-alone 1 "$primary_window"

# ---- at rest: a primary and two streaming standbys ------------------------------
pg_start_agent 2
pg_start_agent 3
pg_wait_replicas 2 120 >/dev/null || fail "bootstrap: the standbys did not come up"
sleep 3
measure at-rest 3 "$window"

# ---- no primary: paused, the primary crashed, its lease run out -----------------
ctl --endpoints "$TENURE_ENDPOINTS" cluster pause --scope main
[ "$rc" = 0 ] || fail "pause: rc=$rc $err"
sleep 1
pg_crash "$first"
k=0
while [ -n "$(lease_holder)" ] && [ $k -lt 150 ]; do sleep 0.1; k=$((k + 1)); done
[ -z "$(lease_holder)" ] || fail "no-primary: the lease of $first did not run out"
sleep 0.5
measure no-primary 2 "$window"
[ -z "$(pg_primaries)" ] || fail "no-primary: $(pg_primaries) was promoted while paused"
ctl --endpoints "$TENURE_ENDPOINTS" cluster resume --scope main
[ "$rc" = 0 ] || fail "resume: rc=$rc $err"
second=$(wait_other_primary "$first" 60) || fail "resume: no new primary"
pg_start_agent "$first"
pg_wait_replicas 2 120 >/dev/null || fail "resume: $first did not come back"
sleep 2

# ---- a failover: the primary crashed, from the crash on --------------------------
s0=$(sample)
t0=$(now_ms)
pg_crash "$second"
third=$(wait_other_primary "$second" 60) || fail "failover: no new primary"
t1=$(now_ms)
echo "failover: $second -> $third after $((t1 - t0)) ms"
sleep 2
record failover 2 "$s0" "$(sample)" $(($(now_ms) - t0))
# The outage the history records runs from the old primary's last sign of
# life (its last renewal: its record is no longer rewritten every tick).
ctl --endpoints "$TENURE_ENDPOINTS" cluster history --scope main -o json
gap=$(field '.[-1].unavailable_ms')
echo "failover: the history says unavailable for $gap ms"
[ "${gap:-0}" -ge 1000 ] && [ "$gap" -le $((t1 - t0 + 1000)) ] ||
	fail "failover: unavailable_ms $gap, want 1000..$((t1 - t0 + 1000))"
pg_start_agent "$second"
pg_wait_replicas 2 120 >/dev/null || fail "failover: $second did not come back"

# ---- the verdict ------------------------------------------------------------------
rest=$(printf '%s' "$results" | awk '$1 == "at-rest"')
set -- $rest
le=$2; lq=$3
# at rest: the renewals only (one entry per renew interval, 500 ms), and
# reads from the watches
[ $le -le 200 ] || fail "at rest: $(cents $le) entries/s per agent, more than one per renew interval"
[ $lq -le $((rest_req_max * 100)) ] || fail "at rest: $(cents $lq) requests/s per agent, more than $rest_req_max"
set -- $(printf '%s' "$results" | awk '$1 == "primary-alone"')
pe=$2
pmax=$((100000 / renew_ms + 400 / primary_window))
[ $pe -le $pmax ] || fail "primary alone: $(cents $pe) entries/s, more than one per renew interval ($(cents $pmax) with a heartbeat and a position)"
[ $le -ge $((floor * 100)) ] || le=$((floor * 100))
[ $lq -ge $((req_floor * 100)) ] || lq=$((req_floor * 100))
echo "limit per agent: 3 x $(cents $le) entries/s, 3 x $(cents $lq) requests/s"
bad=""
while read -r st e q p; do
	[ -n "$st" ] || continue
	[ $e -le $((3 * le)) ] || bad="$bad $st: $(cents $e) entries/s;"
	[ $q -le $((3 * lq)) ] || bad="$bad $st: $(cents $q) requests/s;"
done <<EOF
$results
EOF
[ -z "$bad" ] || fail "above 3 x the at-rest rate per agent:$bad"
echo "ok: no state above 3 x the at-rest rate per agent"
