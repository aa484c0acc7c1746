#!/bin/sh
# netns-nemesis.sh — the checked nemesis workload (tests/helpers/pgnemesis)
# over network namespaces: three witnesses, three Postgres hosts in
# synchronous mode, HAProxy and a client host, each in a namespace of its
# own on one bridge (tests/lib/netns-lib.sh), secured as in production.
# pgnemesis runs on the client host against every Postgres host directly
# and through HAProxy, polls the primary lease, and makes every kind of
# fault (--every-kind: a shuffled deck, each kind once a round) through
# tests/lib/pg-fault; every agent traces its own requests on the primary
# lease (lease_trace_file), and pgnemesis checks them with its lease reads
# for linearizability (the verdict must be in the summary):
#   partition (symmetric), partition-one-way, partition-primary-from-
#   witnesses, isolate-witness-leader, partition-split (the bridge split
#   in two: the node with some of the other hosts against the rest),
#   delay 50 20 (tests/helpers/netdelay), loss 10, crash, freeze (then
#   thaw), restart, skew 30 (libfaketime, then 0)
#
# Who makes the faults: pg-fault hands each request through a FIFO to
# this shell (pg_fault_serve), which makes it with netns-lib's
# netns_fault: a restarted agent is then this shell's child, recorded in
# its books as any other (pg_start_agent), and a crashed one reaped and
# forgotten, so cleanup never signals a stale pid.  (tests/lib/netns-fault
# would work too, its restarted processes are found by the namespace-wide
# kill of netns_destroy, but outside pg-lib's books.)
#
# Exit 1 on a violation (pgnemesis's, each printed as VIOLATION), 2 when
# it tested too little: pgnemesis's own (too few acknowledged writes, no
# final state, no lease observed), or a kind of fault that was never made
# successfully.  The summary (faults by kind, operations ok / failed /
# unknown, terms and failovers with their durations, violations, seed)
# is printed, and copied to $NEMESIS_SUMMARY if set; the history to
# $NEMESIS_HISTORY if set (with .faults, the faults made, and .err,
# pgnemesis's messages).
#
# NEMESIS_SECONDS [120] and NEMESIS_SEED [20240614] replay another run
# (tests/bench/netns-nemesis runs it for an hour).  Skipped under
# SKIP_LONG_PG=1 (the sanitizer pass of deploy/dev test: it ran in the
# normal build).  Needs root, nftables, iproute2, iptables, haproxy,
# faketime and tests/helpers/netdelay.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "netns-nemesis: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=netns-nemesis
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/netns-lib.sh"

nem_bin="$top/tests/helpers/pgnemesis"
fault_cmd="$(cd "$pg_lib_dir" && pwd)/pg-fault"
seconds=${NEMESIS_SECONDS:-120}
seed=${NEMESIS_SEED:-20240614}
kinds="partition partition-one-way partition-primary-from-witnesses isolate-witness-leader"
kinds="$kinds partition-split delay loss crash freeze restart skew"
[ -x "$nem_bin" ] || fail "$nem_bin not built (make tests/helpers/pgnemesis)"
[ -x "$top/tests/helpers/netdelay" ] || fail "tests/helpers/netdelay not built: no delay, no loss"
[ -f "$netns_faketime_lib" ] || { echo "SKIP: $me: $netns_faketime_lib missing (apt-get install faketime)"; exit 77; }
command -v iptables >/dev/null || { echo "SKIP: $me: iptables missing"; exit 77; }

netns_cluster_up

# the kinds netns-lib gained for this test, checked before any process
# runs.  reaches FROM TO: TO's kernel answers FROM (a connection to a
# closed port refused, not timed out: nothing dropped between them)
reaches() {
	netns_in "$1" curl -s --max-time 1 "http://$(netns_ip "$2"):9/" >/dev/null 2>&1
	[ $? != 28 ]
}
"$pg_lib_dir/netns-fault" partition-split pg1 w1,client || fail "netns-fault partition-split failed"
reaches w1 pg1 && reaches w2 w3 && reaches haproxy pg2 ||
	fail "partition-split pg1 w1,client cut a side from itself"
if reaches w2 pg1 || reaches pg2 client || reaches haproxy w1; then
	fail "partition-split pg1 w1,client left the two sides connected"
fi
"$pg_lib_dir/netns-fault" heal nosuch 2>/dev/null && fail "heal of a host that is not one succeeded"
"$pg_lib_dir/netns-fault" heal all || fail "netns-fault heal all failed"
reaches w2 pg1 && reaches pg2 client || fail "heal all left the split"

# every agent traces its requests on the primary lease (lease_trace_file):
# pgnemesis checks them, with its own reads, for linearizability
traces=""
for _k in 1 2 3; do
	pg_conf "pg$_k" lease_trace_file "'$dir/pg$_k.lease-trace'"
	traces="$traces --lease-trace $dir/pg$_k.lease-trace"
done
pg_start_agents
primary=$(pg_wait_primary 90) || fail "no primary within 90 s"
pg_wait_replicas 2 90 >/dev/null || fail "no two replicas"
pg_wait_sync "$primary" 60 || fail "no synchronous standby"
netns_start_haproxy
wait_for 15 netns_in client env PGCONNECT_TIMEOUT=1 psql -X -q -t -c 'SELECT 1' \
	"$(netns_haproxy_conninfo)" >/dev/null 2>&1 || fail "HAProxy does not route to the primary"
echo "$me: cluster up: primary $primary; $seconds s, seed $seed"

# pg_fault_serve makes each request with this (pg-lib's is loopback's)
pg_fault() { netns_fault "$@"; }
pg_fault_init
hist="$dir/nemesis.history"
set -- --history "$hist" --duration "$seconds" --seed "$seed" \
	--fault-cmd "$fault_cmd" --faults "$(echo $kinds | tr ' ' ',')" --every-kind \
	--split-hosts "w1,w2,w3,pg1,pg2,pg3,haproxy,client" \
	--fault-gap-s 3:6 --fault-hold-s 1:4 --settle-s 90 --min-ok 200 \
	--lease-cmd "$netns_real_ctl --endpoints $TENURE_ENDPOINTS lease get ${PG_SCOPE:-main}/primary -o json"
# (the nodes first: pgnemesis wants --haproxy after them)
for _k in 1 2 3; do set -- "$@" --node "pg$_k=$(pg_conninfo $_k)"; done
# shellcheck disable=SC2086 # one word per option and file
set -- "$@" $traces
set -- "$@" --haproxy "$(netns_haproxy_conninfo)"
(
	netns_in client "$nem_bin" run "$@" >"$dir/nemesis.out" 2>"$dir/nemesis.err"
	echo "done $?" >"$PG_FAULT_DIR/req"
) &
pg_fault_serve
# nothing may be left cut, delayed or frozen before the checks below
netns_fault heal all >>"$dir/faults.log" 2>&1 || fail "the final heal failed"

summary() { grep -v '^pgnemesis: seed' "$dir/nemesis.out"; }
summary
[ -n "${NEMESIS_SUMMARY:-}" ] && summary >"$NEMESIS_SUMMARY"
# the history and the fault log outlive the temp dir (pgnemesis check
# --history re-checks it)
[ -n "${NEMESIS_HISTORY:-}" ] && cp "$hist" "$NEMESIS_HISTORY" &&
	cp "$dir/faults.log" "$NEMESIS_HISTORY.faults" && cp "$dir/nemesis.err" "$NEMESIS_HISTORY.err"
case "$rc" in
0) ;;
1)
	grep '^VIOLATION' "$dir/nemesis.out" >&2
	fail "violation (seed $seed; history $hist)"
	;;
*)
	tail -20 "$dir/nemesis.err" >&2
	echo "FAIL: $me: pgnemesis exited $rc: tested too little or could not run (seed $seed)" >&2
	exit 2
	;;
esac
grep -q "^seed: $seed\$" "$dir/nemesis.out" || fail "the summary does not name the seed"
# the agents' own requests on the lease were checked (a violation exits 1
# above): the verdict is in the summary
grep -q '^lease linearizability: linearizable: [1-9][0-9]* agent ops from 3 traces' "$dir/nemesis.out" ||
	fail "no lease linearizability verdict over the agents' traces in the summary"
# a skewed node must run skewed, not die (libfaketime under setpriv)
grep -l '^libfaketime: .*failed' "$dir"/*.log >/dev/null 2>&1 &&
	fail "libfaketime failed in: $(grep -l '^libfaketime: .*failed' "$dir"/*.log | tr '\n' ' ')"

# every kind made at least once with status 0 (a kind that always failed,
# netdelay or libfaketime missing say, was not tested)
missing=""
for k in $kinds; do
	awk -v k="$k" '$1 == "fault" && $2 == k && $NF == 0 { f = 1 } END { exit !f }' "$hist" ||
		missing="$missing $k"
done
if [ -n "$missing" ]; then
	echo "FAIL: $me: never made successfully:$missing (seed $seed; see $dir/faults.log)" >&2
	sed -n '/^fault /p' "$hist" >&2
	exit 2
fi
grep -q '^failovers: [1-9]' "$dir/nemesis.out" || {
	echo "FAIL: $me: no failover in $seconds s (seed $seed)" >&2
	exit 2
}
netns_cluster_down
echo "PASS: $me"
