#!/bin/sh
# witness-cluster.sh — three real tenured processes on loopback (run by
# `make check`): they elect a leader, report health and status over HTTP,
# elect a new leader after `kill -9` of the old one, take the killed one
# back with its data dir, refuse a data dir of another cluster and a bad
# option with a clear message, and stop cleanly on SIGTERM.
#
# Ports 10000-19199, shared with ctl-cluster.sh: apart from the fault
# tests (19200+) and the unit tests (20000+), below the ephemeral range;
# a block of 20 of them under a lock directory (tests/lib/proc-lib.sh).
# KEEP=1 keeps a failed run's logs.
set -u
me=witness-cluster.sh
. "$(dirname "$0")/../lib/proc-lib.sh"
proc_need_built "$bin" "$ctl_bin"
proc_need_tools 1 curl jq

proc_init wc
proc_take_ports witness # tests/lib/proc-lib.sh lists the ranges
make_cluster

leader_of() { # leader name as seen by node N
	http "$1" /status | jq -r '.leader // empty' 2>/dev/null
}
agree_on_leader() { # every listed node names the same, non-empty leader
	first=""
	for n in "$@"; do
		l=$(leader_of "$n")
		[ -n "$l" ] || return 1
		[ -z "$first" ] && first=$l
		[ "$l" = "$first" ] || return 1
	done
	agreed=$first
}

# --- a bad option is refused with a message naming it ---------------------
out=$("$bin" --name w1 --data-dri x 2>&1) && fail "unknown option accepted"
echo "$out" | grep -q 'data.dri' || fail "no clear message for an unknown option: $out"

# --- three witnesses elect one leader --------------------------------------
for n in 1 2 3; do start $n; done
wait_for 10 healthy 1 2 3 || fail "cluster not healthy within 10 s"
wait_for 5 agree_on_leader 1 2 3 || fail "nodes disagree on the leader"
echo "leader: $agreed"
metrics=$(http 1 /metrics)
for m in tenure_term tenure_is_leader tenure_commit_index tenure_leases_held \
	tenure_disk_sync_seconds_count 'tenure_peer_up{peer="w2"} 1' \
	'tenure_watch_events_total{kind="key"}' \
	'tenure_peer_rtt_seconds{peer="w3"}'; do
	echo "$metrics" | grep -qF "$m" || fail "/metrics lacks $m"
done
[ "$(http 1 /status | jq '.members | length')" = 3 ] || fail "/status does not list 3 members"
# Request durations by type: a put counted at the leader, its +Inf
# bucket equal to its count.
ctl put metrics/k v
expect_rc 0 "a put"
lm=$(http "${agreed#w}" /metrics)
put_count=$(echo "$lm" | awk '$1 == "tenure_request_duration_seconds_count{type=\"PUT\"}" { print $2 }')
put_inf=$(echo "$lm" | awk '$1 == "tenure_request_duration_seconds_bucket{type=\"PUT\",le=\"+Inf\"}" { print $2 }')
[ "${put_count:-0}" -ge 1 ] && [ "$put_inf" = "$put_count" ] ||
	fail "the leader's tenure_request_duration_seconds for PUT: count '$put_count', +Inf bucket '$put_inf': $(echo "$lm" | grep request_duration | head -n 5)"

# --- kill -9 the leader: the other two elect a new one ----------------------
old=${agreed#w}
p=$(pid_of "$old")
kill -9 "$p"
wait "$p" 2>/dev/null
forget "$p"
survivors=""
for n in 1 2 3; do [ "$n" != "$old" ] && survivors="$survivors $n"; done
new_leader() { # the survivors agree on a leader other than the dead one
	# shellcheck disable=SC2086
	agree_on_leader $survivors && [ "$agreed" != "w$old" ]
}
wait_for 10 new_leader || fail "no new leader after kill -9 of w$old"
echo "new leader after kill -9 of w$old: $agreed"

# --- the killed witness comes back with its data dir ------------------------
start "$old"
wait_for 10 healthy 1 2 3 || fail "w$old did not rejoin"

# --- another cluster's data dir is refused -----------------------------------
out=$("$bin" --name w1 --data-dir "$dir/w2" --listen-peer 127.0.0.1:$((base + 13)) \
	--listen-client 127.0.0.1:$((base + 14)) \
	--initial-cluster "w1=127.0.0.1:$((base + 13))" 2>&1) && fail "foreign data dir accepted"
echo "$out" | grep -qE "belongs to witness 'w2', not to 'w1'|created for another cluster" ||
	fail "unclear foreign data dir message: $out"

# --- SIGTERM: every witness exits 0 -------------------------------------------
stop_all
echo "ok: election, health, status, metrics, kill -9 failover, rejoin, identity check, clean stop"
