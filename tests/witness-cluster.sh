#!/bin/sh
# witness-cluster.sh — three real tenured processes on loopback (run by
# `make check`): they elect a leader, report health and status over HTTP,
# elect a new leader after `kill -9` of the old one, take the killed one
# back with its data dir, refuse a data dir of another cluster and a bad
# option with a clear message, and stop cleanly on SIGTERM.
set -u
bin="${top_builddir:-.}/tenured"
[ -x "$bin" ] || { echo "witness-cluster.sh: $bin not built" >&2; exit 1; }
for tool in curl jq; do
	command -v $tool >/dev/null || { echo "witness-cluster.sh: $tool missing (apt-get install $tool)" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/tenure-wc.XXXXXX)
# Ports 10000-19999: apart from the unit tests (20000+) and below the
# ephemeral range.
base=$((10000 + ($$ % 900) * 10))
cluster="w1=127.0.0.1:$((base + 1)),w2=127.0.0.1:$((base + 2)),w3=127.0.0.1:$((base + 3))"
pids=""
fail() {
	echo "FAIL: $*" >&2
	for n in 1 2 3; do
		[ -f "$dir/w$n.log" ] && { echo "--- w$n.log (tail)"; tail -n 15 "$dir/w$n.log"; }
	done
	cleanup
	exit 1
}
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup INT TERM

start() { # start N
	n=$1
	"$bin" --name "w$n" --data-dir "$dir/w$n" \
		--listen-peer "127.0.0.1:$((base + n))" \
		--listen-client "127.0.0.1:$((base + 100 + n))" \
		--listen-http "127.0.0.1:$((base + 200 + n))" \
		--initial-cluster "$cluster" \
		--election-timeout 300ms --heartbeat-interval 50ms \
		>>"$dir/w$n.log" 2>&1 &
	eval "pid$n=$!"
	pids="$pids $!"
}
http() { # http N PATH
	curl -s --max-time 1 "http://127.0.0.1:$((base + 200 + $1))$2"
}
leader_of() { # leader name as seen by node N
	http "$1" /status | jq -r '.leader // empty' 2>/dev/null
}
wait_for() { # wait_for SECONDS COMMAND...
	limit=$1
	shift
	i=0
	while [ $i -lt $((limit * 10)) ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
all_healthy() {
	for n in "$@"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
			"http://127.0.0.1:$((base + 200 + n))/health")
		[ "$code" = 200 ] || return 1
	done
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
wait_for 10 all_healthy 1 2 3 || fail "cluster not healthy within 10 s"
wait_for 5 agree_on_leader 1 2 3 || fail "nodes disagree on the leader"
echo "leader: $agreed"
metrics=$(http 1 /metrics)
for m in tenure_term tenure_is_leader tenure_commit_index tenure_leases_held \
	tenure_disk_sync_seconds_count 'tenure_peer_up{peer="w2"} 1' \
	'tenure_peer_rtt_seconds{peer="w3"}'; do
	echo "$metrics" | grep -qF "$m" || fail "/metrics lacks $m"
done
[ "$(http 1 /status | jq '.members | length')" = 3 ] || fail "/status does not list 3 members"

# --- kill -9 the leader: the other two elect a new one ----------------------
old=${agreed#w}
eval "kill -9 \$pid$old"
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
wait_for 10 all_healthy 1 2 3 || fail "w$old did not rejoin"

# --- another cluster's data dir is refused -----------------------------------
out=$("$bin" --name w1 --data-dir "$dir/w2" --listen-peer 127.0.0.1:$((base + 9)) \
	--listen-client 127.0.0.1:$((base + 109)) \
	--initial-cluster "w1=127.0.0.1:$((base + 9))" 2>&1) && fail "foreign data dir accepted"
echo "$out" | grep -qE "belongs to witness 'w2', not to 'w1'|created for another cluster" ||
	fail "unclear foreign data dir message: $out"

# --- SIGTERM: every witness exits 0 -------------------------------------------
for n in 1 2 3; do eval "kill -TERM \$pid$n"; done
for n in 1 2 3; do
	eval "p=\$pid$n"
	wait "$p"
	rc=$?
	[ $rc = 0 ] || fail "w$n exited $rc on SIGTERM"
done
pids=""
echo "ok: election, health, status, metrics, kill -9 failover, rejoin, identity check, clean stop"
cleanup
