#!/bin/sh
# pg-failover.sh — failover under host, agent and witness faults on real
# PostgreSQL 15, in synchronous mode: three witnesses, three agents
# (bootstrap: one initdb, two base backups), a write probe on every node
# all the time, then, one after the other:
#
#   1. host crash: kill -9 of the primary's agent, guard and Postgres;
#   2. host freeze: SIGSTOP of all of them for 6 s (more than twice the
#      2.5 s lease TTL), SIGCONT;
#   3. the agent alone killed (its guard must fence Postgres at once);
#   4. the agent alone frozen (the guard fences at the lease deadline);
#   5. the guard alone killed (the agent fences at its next renewal, and
#      stays out of the running until it is restarted with a new guard);
#   6. the witnesses' leader killed: no failover at all.
#
# The witnesses hold 1500 history entries of 1 KiB from the start (more
# than one LIST answer carries): the agents work all the same, and the
# history is pruned to its newest 1000 entries.
#
# After each: exactly one new primary, the old one back as a replica, and
# `pgprobe check --sync`: at no moment two nodes accepted writes, no
# acknowledged commit lost.  Seconds from fault to new primary are printed
# (figures, not assertions: tests/bench/failover measures them).
me=pg-failover
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/pg-lib.sh"

# wait_all_back: every node is the primary or a streaming replica again
wait_all_back() {
	pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
		fail "$1: the old primary did not come back as a replica"
}

# scenario NAME FAULT RECOVER: one fault on the primary, with the probe on
scenario() {
	name=$1
	old=$(pg_wait_primary 30) || fail "$name: no primary before the fault"
	pg_wait_sync "$old" 60 || fail "$name: no synchronous standby before the fault"
	probe_start
	sleep 1
	t0=$(now_ms)
	$2 "$old"
	new=$(wait_other_primary "$old" 60) ||
		fail "$name: no single new primary after the fault"
	t1=$(now_ms)
	echo "$name: $old -> $new, new primary after $((t1 - t0)) ms"
	$3 "$old"
	wait_all_back "$name"
	sleep 1
	probe_stop
	probe_check "$new" --sync >/dev/null ||
		fail "$name: the probe found a problem: $out"
	echo "$name: $(printf '%s\n' "$out" | grep -i 'acked\|lost\|gap' | tr '\n' ' ')"
}

crash() { pg_crash "$1"; }
restart_agent() { pg_reap_agent "$1"; pg_start_agent "$1"; }
freeze() { pg_freeze "$1"; }
# thaw_later: SIGCONT 6 s (more than twice the 2.5 s lease TTL) after the freeze began
thaw_later() {
	_left=$((t0 + 6000 - $(now_ms)))
	[ $_left -gt 0 ] && sleep "$((_left / 1000)).$(printf '%03d' $((_left % 1000)))"
	pg_thaw "$1"
}
agent_kill() { pg_agent_kill "$1"; }
# guard_kill: kill -9 the primary's fence guard alone; its agent must fence
# its own Postgres at the next renewal (nothing would if the agent hung)
guard_kill() {
	_g=$(pgrep -P "$(pg_agent_pid "$1")" -x tenure-guard)
	[ -n "$_g" ] || fail "guard kill: $1's agent has no tenure-guard child"
	kill -9 "$_g"
}
# restart_agent_clean: SIGTERM the agent (it runs without a guard) and start it again
restart_agent_clean() { pg_agent_stop "$1" 30; pg_start_agent "$1"; }
agent_freeze() { pg_agent_freeze "$1"; }

# A history longer than one answer may carry (1 MiB) before the cluster
# starts: the agents read their scope page by page and only the new
# history entries each tick, and each promotion prunes it to 1000 entries.
pg_start_witnesses
pad=$(head -c 900 /dev/zero | tr '\0' p)
"$top/tests/helpers/scope-fill" "$TENURE_ENDPOINTS" main/history/ 1 1500 \
	"{\"time_ms\":@N@,\"old\":\"\",\"reason\":\"filler\",\"token\":@N@,\"pad\":\"$pad\"}" ||
	fail "could not fill main/history/"
pg_start_agents
first=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "bootstrap: the standbys did not come up"
pg_probe_table "$first"
# synchronous mode: the primary lists its standbys before writes count
pg_wait_sync "$first" 30 2 || fail "bootstrap: S/sync never named both standbys"

scenario "host crash" crash restart_agent
scenario "host freeze" freeze thaw_later
scenario "agent killed" agent_kill restart_agent
scenario "agent frozen" agent_freeze pg_agent_thaw
scenario "guard killed" guard_kill restart_agent_clean

# ---- 5. the witnesses' leader dies: nobody fails over ------------------------
primary=$(pg_wait_primary 30) || fail "witness kill: no primary"
ctl --endpoints "$TENURE_ENDPOINTS" lease get main/primary -o json
token=$(field .token)
probe_start
wait_for 10 leader_among 1 2 3 || fail "witness kill: no witness leader"
kill9 "$leader"
sleep 8
probe_stop
[ "$(pg_primaries)" = "$primary" ] || fail "witness kill: the primary changed"
ctl --endpoints "$TENURE_ENDPOINTS" lease get main/primary -o json
[ "$(field .token)" = "$token" ] ||
	fail "witness kill: the lease was granted again (token $token -> $(field .token))"
probe_check "$primary" --sync >/dev/null ||
	fail "witness kill: the probe found a problem: $out"
echo "witness leader killed: $primary stayed primary with token $token"

# ---- the history: pruned to the newest 1000, every promotion in it -----------------
ctl --endpoints "$TENURE_ENDPOINTS" cluster history --scope main -o json
[ "$rc" = 0 ] || fail "history: exit $rc: $err"
[ "$(field length)" = 1000 ] || fail "history: $(field length) entries, want 1000 (pruned)"
[ "$(field '[.[] | select(.reason != "filler")] | length')" -ge 5 ] ||
	fail "history: the promotions are missing: $(field '[.[] | select(.reason != "filler")]')"
[ "$(field '[.[] | select(.reason == "filler") | .token] | min')" -gt 500 ] ||
	fail "history: not the oldest entries pruned: $(field '[.[].token] | .[0:3]')"
echo "history: 1500 old entries pruned to $(field '[.[] | select(.reason == "filler")] | length') plus $(field '[.[] | select(.reason != "filler")] | length') promotions"
echo "ok: crash, freeze, agent kill, agent freeze, guard kill, witness leader kill, history pruned"
