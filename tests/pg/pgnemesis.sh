#!/bin/sh
# pgnemesis.sh — the checked nemesis workload (tests/helpers/pgnemesis)
# on real PostgreSQL 15, loopback only: three witnesses, three agents in
# synchronous mode, bank transfers, reads and appends through every node
# while a seeded schedule crashes, freezes and restarts nodes through
# tests/lib/pg-fault; the primary lease is polled with tenurectl.  The run
# must end clean (exit 0: no lost commit, no two primaries, the money
# conserved, a sane lease history) and must have tested something (faults
# made, writes acknowledged).
#
# Partitions, delay, loss and skew need each node in its own network
# namespace: on loopback pg-fault answers 3 for them, so this run leaves
# them out (--faults crash,freeze,restart).
#
# Every agent traces its own requests on the primary lease
# (lease_trace_file); pgnemesis checks them with its lease reads for
# linearizability, and the summary must say so.
#
# Then the checker must catch a broken history, so that the run above
# cannot pass vacuously: the agents' traces with a grant to another holder
# just after a renewal was answered (two holders at once), the same
# history with one acknowledged append that the final primary lacks (a
# lost write), and with a write acked by another node inside the last
# term (two primaries at once).
#
# NEMESIS_SECONDS [60] and NEMESIS_SEED [20240614] replay another run.
# The sanitizer pass of deploy/dev test sets SKIP_LONG_PG=1: this test ran
# in the normal build already, and time in CI is bounded.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pgnemesis: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pgnemesis
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/pg-lib.sh"

nem_bin="$top/tests/helpers/pgnemesis"
fault_cmd="$(cd "$(dirname "$0")/../lib" && pwd)/pg-fault"
[ -x "$nem_bin" ] || fail "$nem_bin not built (make tests/helpers/pgnemesis)"
[ -x "$fault_cmd" ] || fail "$fault_cmd missing or not executable"
seconds=${NEMESIS_SECONDS:-60}
seed=${NEMESIS_SEED:-20240614}

# every agent traces its requests on the primary lease (lease_trace_file):
# pgnemesis checks them, with its own reads, for linearizability
traces=""
for _k in 1 2 3; do
	pg_conf "pg$_k" lease_trace_file "'$dir/pg$_k.lease-trace'"
	traces="$traces --lease-trace $dir/pg$_k.lease-trace"
done
pg_start_agents
primary=$(pg_wait_primary 60) || fail "no primary after bootstrap"
pg_wait_replicas 2 120 >/dev/null || fail "the replicas did not come up"
pg_wait_sync "$primary" 60 || fail "no synchronous standby"

# ---- 1. a seeded run under crash, freeze and restart ---------------------------------
pg_fault_init
hist="$dir/nemesis.history"
set -- --history "$hist" --duration "$seconds" --seed "$seed" \
	--fault-cmd "$fault_cmd" --faults crash,freeze,restart \
	--fault-gap-s 4:8 --fault-hold-s 1:5 --settle-s 90 --min-ok 200 \
	--lease-cmd "$ctl_bin --endpoints $TENURE_ENDPOINTS lease get ${PG_SCOPE:-main}/primary -o json"
for _k in 1 2 3; do set -- "$@" --node "pg$_k=$(pg_conninfo $_k)"; done
# shellcheck disable=SC2086 # one word per option and file
set -- "$@" $traces
( "$nem_bin" run "$@" >"$dir/nemesis.out" 2>"$dir/nemesis.err"
	echo "done $?" >"$PG_FAULT_DIR/req" ) &
pg_fault_serve
cat "$dir/nemesis.out"
[ "$rc" = 0 ] || {
	tail -20 "$dir/nemesis.err" >&2
	fail "pgnemesis run exited $rc (seed $seed)"
}
grep -q '^faults: .*crash\|^faults: .*freeze\|^faults: .*restart' "$dir/nemesis.out" ||
	fail "no fault was made"
grep -q "^seed: $seed\$" "$dir/nemesis.out" || fail "the summary does not name the seed"
grep -q '^lease linearizability: linearizable: [1-9][0-9]* agent ops from 3 traces' "$dir/nemesis.out" ||
	fail "no lease linearizability verdict over the agents' traces in the summary"
grep -q '^failovers: [1-9]' "$dir/nemesis.out" ||
	echo "$me: note: no failover in this run (seed $seed)"

# ---- 2. the checker catches a lost write and two primaries -----------------------------
# shellcheck disable=SC2086
"$nem_bin" check --history "$hist" $traces >"$dir/check.out" 2>&1
[ $? = 0 ] || fail "pgnemesis check of the run's own history failed: $(cat "$dir/check.out")"

# a grant to another holder 1 us after a renewal the witnesses answered OK
# (the renewed lease runs for a TTL more): the agents' traces must catch it
awk '$1 == "call" && $4 == "renew" { c[$2 " " $3] = $0 }
	$1 == "ret" && $4 == "OK" && ($2 " " $3) in c { last = c[$2 " " $3] }
	END { if (!last) exit 1; split(last, f, " ")
		printf "call 1 1 acquire %s intruder/0 2500 0 %.0f\n", f[5], f[9] + 1000
		printf "ret 1 1 OK 0 1 intruder/0 %d %.0f 0\n", f[8] + 1000, f[9] + 2000 }' \
	"$dir"/pg*.lease-trace >"$dir/intruder.lease-trace" ||
	fail "no renewal answered OK in the agents' traces"
# shellcheck disable=SC2086
"$nem_bin" check --history "$hist" $traces --lease-trace "$dir/intruder.lease-trace" \
	>"$dir/check.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "two grants at once: check exited $rc, expected 1: $(cat "$dir/check.out")"
grep -q '^VIOLATION lease-linearizable: ' "$dir/check.out" &&
	grep -q 'window .*NOT LINEARIZABLE' "$dir/check.out" &&
	grep -q 'intruder/0' "$dir/check.out" ||
	fail "two grants at once not named: $(cat "$dir/check.out")"

# an acknowledged append the final primary does not have
last=$(grep '^op append .* ok ' "$hist" | tail -1) || fail "no acked append in the history"
echo "$last" | awk '{ $NF = 1; print }' >"$dir/lost.tail"
cat "$hist" "$dir/lost.tail" >"$dir/lost.history"
"$nem_bin" check --history "$dir/lost.history" >"$dir/check.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "a lost write: check exited $rc, expected 1: $(cat "$dir/check.out")"
grep -q '^VIOLATION lost-append: append 1 ' "$dir/check.out" ||
	fail "the lost write not named: $(cat "$dir/check.out")"

# a write acked by a node that is not the last term's, in the last term
other=$(echo "$last" | awk '{ print $4 == "pg1" ? "pg2" : "pg1" }')
echo "$last" | awk -v o="$other" '{ $4 = o; print }' >"$dir/two.tail"
cat "$hist" "$dir/two.tail" >"$dir/two.history"
"$nem_bin" check --history "$dir/two.history" >"$dir/check.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "two primaries: check exited $rc, expected 1: $(cat "$dir/check.out")"
grep -q '^VIOLATION two-primaries: ' "$dir/check.out" ||
	fail "two primaries not named: $(cat "$dir/check.out")"
echo "broken histories caught"
echo "PASS: $me"
