#!/bin/sh
# successor.sh — the successor a witness leader names to its clients
# (client op SUCCESSOR) is the one that takes over when it is killed:
# three real tenured on loopback, three rounds of
#   1. the leader answers SUCCESSOR with the client address of the voter
#      with the lowest id other than itself (tenurectl member list), a
#      follower answers ENOTLEADER;
#   2. kill -9 of the leader: the witness it named is the next leader,
#      after one election (the largest tenure_term goes up by one);
#   3. the killed witness restarts and the trio settles.
# The election timeout is 1 s here (heartbeat 100 ms): the named voter
# campaigns an eighth of it after the kill, the other's timer runs a
# whole one, so the order does not depend on how busy the machine is.
#
# Ports: the witness range of tests/lib/proc-lib.sh.  KEEP=1 keeps a
# failed run's logs.
set -u
me=successor.sh
. "$(dirname "$0")/../lib/proc-lib.sh"
raw="$top/tests/helpers/raw-client"
proc_need_built "$bin" "$raw"
proc_need_tools 1 curl jq

proc_init successor
proc_take_ports witness
make_cluster
timing="--election-timeout 1000ms --heartbeat-interval 100ms"
# shellcheck disable=SC2086 # $timing is words on purpose
for n in 1 2 3; do start $n $timing; done

max_term() { # the largest tenure_term of the live witnesses
	for _n in "$@"; do http "$_n" /metrics | awk '/^tenure_term / { print $2 }'; done |
		sort -n | tail -n 1
}
# named: the leader's SUCCESSOR answer (the address) in $named
named() {
	named=$("$raw" "$(ep "$leader")" successor 2>/dev/null |
		sed -n 's/.* status=OK .*successor="\([^"]*\)".*/\1/p')
	[ -n "$named" ]
}

for round in 1 2 3; do
	wait_for 20 healthy 1 2 3 || fail "round $round: the witnesses are not healthy"
	wait_for 20 leader_among 1 2 3 || fail "round $round: no leader"
	old=$leader
	wait_for 10 named || fail "round $round: w$old names no successor: $("$raw" "$(ep "$old")" successor 2>&1)"
	ctl member list -o json
	expect_rc 0 "member list"
	want=$(printf '%s' "$out" | jq -r --arg l "w$old" \
		'[.[] | select(.name != $l and .voter)] | sort_by(.id) | .[0].client_addr')
	[ "$named" = "$want" ] ||
		fail "round $round: w$old names $named, the lowest id other voter is at $want: $out"
	for n in 1 2 3; do
		[ "$n" = "$old" ] && continue
		"$raw" "$(ep "$n")" successor 2>&1 | grep -q "status=ENOTLEADER" ||
			fail "round $round: follower w$n answered SUCCESSOR: $("$raw" "$(ep "$n")" successor 2>&1)"
	done
	others=""
	for n in 1 2 3; do [ "$n" = "$old" ] || others="$others $n"; done
	# shellcheck disable=SC2086 # $others is words on purpose
	term0=$(max_term $others)
	p=$(pid_of "$old")
	kill -9 "$p"
	wait "$p" 2>/dev/null
	forget "$p"
	# shellcheck disable=SC2086
	wait_for 10 leader_among $others || fail "round $round: no leader after w$old was killed"
	[ "$(ep "$leader")" = "$named" ] ||
		fail "round $round: w$leader leads after w$old was killed, not the successor it named ($named)"
	# shellcheck disable=SC2086
	term1=$(max_term $others)
	[ "$term1" = $((term0 + 1)) ] ||
		fail "round $round: term $term0 -> $term1: more than one election"
	echo "round $round: w$old killed, its successor w$leader leads (term $term0 -> $term1)"
	# shellcheck disable=SC2086
	start "$old" $timing
done
# the last one restarted must be up (its signal handlers set) to stop
wait_for 20 healthy 1 2 3 || fail "the witnesses are not healthy after the last restart"
stop_all
echo "ok: the leader names its successor, and the successor takes over a killed leader in one election"
