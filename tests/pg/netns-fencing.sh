#!/bin/sh
# netns-fencing.sh — fencing under real network faults: three witnesses,
# three Postgres hosts, HAProxy and a client, each in a network namespace
# of its own (tests/lib/netns-lib.sh), secured as in production (TLS,
# credentials, passwords).  pgprobe writes from the client host to every
# Postgres host directly and, in a second run, through HAProxy.  In turn:
#
#   cut        the primary's host cut from the three witnesses only
#              (nftables), while the client and HAProxy still reach it:
#              it must stop acknowledging writes before a new primary
#              acknowledges its first.  The margin (the new primary's
#              first acknowledged write sent minus the old one's last
#              acknowledgement) is printed and must be > 0.  Heal: the old
#              primary rejoins as a replica.
#   one-way    the primary hears nothing from the witnesses (its packets
#              still reach them): the same must hold.
#   leader     the witness leader isolated from every host: the other two
#              elect a leader, no two primaries, then heal.
#
# After each, `pgprobe check --sync` (no overlap of writable spans, no
# acknowledged commit lost) on the direct log and on HAProxy's.  Every
# namespace it made is gone at the end (checked with `ip netns list`).
# Needs root, nftables, iproute2, haproxy and what pg-lib.sh needs.
me=netns-fencing
. "$(dirname "$0")/../lib/netns-lib.sh"

netns_cluster_up
[ "$(ip netns list | grep -c "^tn$$-")" = 9 ] || fail "expected 9 namespaces: $(ip netns list | tr '\n' ' ')"
pg_start_agents
primary=$(pg_wait_primary 90) || fail "no primary within 90 s"
pg_wait_replicas 2 90 >/dev/null || fail "no two replicas"
pg_wait_sync "$primary" 60 || fail "no synchronous standby"
pg_probe_table "$primary"
netns_start_haproxy
wait_for 15 netns_in client env PGCONNECT_TIMEOUT=1 psql -X -q -t -c 'SELECT 1' \
	"$(netns_haproxy_conninfo)" >/dev/null 2>&1 || fail "HAProxy does not route to the primary"
echo "$me: cluster up: primary $primary, namespaces $(ip netns list | grep -c "^tn$$-")"

# probes_start: pgprobe on every node directly, and one through HAProxy
probes_start() {
	probe_start
	netns_probe2_out="$dir/haproxy-probe-$probe_runs.out"
	"$probe_bin" run --node "via-haproxy=$(netns_haproxy_conninfo)" --out "$netns_probe2_out" \
		--interval-ms 20 --timeout-ms 2500 >>"$dir/probe.log" 2>&1 &
	netns_probe2_pid=$!
	pids="$pids $!"
}
# probes_check FINAL: stops both probes, checks both against FINAL
probes_check() {
	probe_stop
	kill -TERM "$netns_probe2_pid"
	wait "$netns_probe2_pid" || fail "the HAProxy probe exited non-zero"
	_pg_forget "$netns_probe2_pid"
	netns_probe2_pid=""
	probe_check "$1" --sync >/dev/null || fail "pgprobe check (direct): $out"
	"$probe_bin" check --log "$netns_probe2_out" --final "$(pg_conninfo "$1")" --sync \
		>"$dir/check2.out" 2>&1 || fail "pgprobe check (HAProxy): $(cat "$dir/check2.out")"
	[ "$(probe_count ok)" -gt 20 ] || fail "the probe acknowledged too few writes ($(probe_count ok))"
}

# cut_primary KIND: the primary cut (KIND: partition-primary-from-witnesses
# or partition-one-way from the witnesses); waits for the new primary,
# checks the margin, heals and waits for the old primary to rejoin
cut_primary() {
	old=$(pg_wait_primary 30) || fail "no primary before the $1"
	pg_wait_sync "$old" 60 || fail "no synchronous standby before the $1"
	probes_start
	sleep 2
	t_cut=$(($(date +%s%6N)))
	case "$1" in
	cut) netns_fault partition-primary-from-witnesses "$old" || fail "partition failed" ;;
	# (through the fault command other programs use)
	one-way) "$pg_lib_dir/netns-fault" partition-one-way "$old" --from w1,w2,w3 ||
		fail "netns-fault partition-one-way failed" ;;
	esac
	new=$(wait_other_primary "$old" 30) || fail "$1: no new primary within 30 s"
	# the old primary, still reachable by clients, must take no write now
	sleep 3
	[ "$(pg_http_code "$old" /primary)" != 200 ] || fail "$1: $old still answers 200 on /primary"
	"$pg_lib_dir/netns-fault" heal all || fail "netns-fault heal failed"
	pg_wait_replicas 2 90 >/dev/null || fail "$1: $old did not rejoin as a replica"
	pg_wait_sync "$new" 60 || fail "$1: no synchronous standby after the heal"
	sleep 1
	probes_check "$new"
	margin=$(netns_margin "$probe_out" "$old" "$new")
	[ -n "$margin" ] || fail "$1: no acknowledged write of $old or $new in $probe_out"
	last_old=$(netns_last_ok "$probe_out" "$old")
	first_new=$(netns_first_ok "$probe_out" "$new" "$t_cut")
	old_ms=$(((last_old - t_cut) / 1000))
	failover_ms=$(((first_new - t_cut) / 1000))
	# through HAProxy, writes went on after the cut until the old primary
	# fenced: the cut was from the witnesses only
	h_after=$(awk -v t="$t_cut" -v l="$last_old" '!/^#/ && $5 == "ok" && $3 >= t && $4 <= l' \
		"$netns_probe2_out" | wc -l)
	echo "$me: $1: $old -> $new: margin ${margin} ms; the old primary's last write" \
		"${old_ms} ms after the cut, the new one's first ${failover_ms} ms after it;" \
		"through HAProxy ${h_after} writes acknowledged after the cut by the old primary"
	[ "$old_ms" -gt 0 ] && [ "$h_after" -gt 0 ] ||
		fail "$1: $old took no write after the cut: the clients were cut too?"
	awk -v m="$margin" 'BEGIN { exit !(m > 0) }' ||
		fail "$1: margin ${margin} ms: $new acknowledged a write before $old's last one"
}

cut_primary cut
cut_primary one-way

# the witness leader isolated from every host
primary=$(pg_wait_primary 30) || fail "no primary before the leader isolation"
probes_start
sleep 1
netns_fault isolate-witness-leader - || fail "isolate-witness-leader failed"
isolated=$(cat "$netns_state/isolated-leader")
others=""
for n in 1 2 3; do [ "w$n" = "$isolated" ] || others="$others $n"; done
# shellcheck disable=SC2086
wait_for 10 leader_among $others || fail "no leader among$others with $isolated isolated"
sleep 3
# (heal leader: the isolated witness, whose name the nemesis does not know)
"$pg_lib_dir/netns-fault" heal leader || fail "netns-fault heal leader failed"
wait_for 15 leader_among 1 2 3 || fail "$isolated did not rejoin"
final=$(pg_wait_primary 30) || fail "no primary after the leader isolation"
pg_wait_replicas 2 90 >/dev/null || fail "not every replica back after the leader isolation"
pg_wait_sync "$final" 60 || fail "no synchronous standby after the leader isolation"
probes_check "$final"
echo "$me: leader: $isolated isolated, w$leader led the others; primary $primary -> $final"

netns_cluster_down
ip netns list | grep -q "^tn$$-" && fail "namespaces left: $(ip netns list | grep "^tn$$-" | tr '\n' ' ')"
echo "$me: ok"
