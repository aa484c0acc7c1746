#!/bin/sh
# pgprobe-selftest.sh — the write probe and its checker against real
# Postgres servers and no agent (run by `make check`), to show that the
# checker passes a healthy history and fails a split brain:
#
# 1. One server, probed for 3 s with a 500 ms deadline, SIGSTOPped (the
#    postmaster and every child) for 1.5 s in the middle: the probe
#    reports timeouts and goes on writing after SIGCONT; `pgprobe check`
#    finds no violation, no lost commit, and a gap of at least 1 s.
# 2. Two independent servers, both writable, probed at once (a fake split
#    brain): `pgprobe check` exits 1 and prints a VIOLATION.
set -u
me=pgprobe-selftest
. "$(dirname "$0")/../lib/pg-lib.sh"

now_us() { date +%s%6N; }

# ---- 1. one server, frozen for 1.5 s ---------------------------------------------
pg_plain_init solo
pg_plain_start solo
pg_probe_table solo
PROBE_TIMEOUT_MS=500 probe_start solo
sleep 0.5
pg_freeze solo
t_freeze=$(now_us)
sleep 1.5
t_thaw=$(now_us)
pg_thaw solo
sleep 1
probe_stop

timeouts=$(probe_count timeout solo)
[ "$timeouts" -ge 1 ] || fail "no timeout while the server was frozen"
ok_after=$(awk -v t="$t_thaw" '$1 == "solo" && $5 == "ok" && $3 > t { c++ }
	END { print c + 0 }' "$probe_out")
[ "$ok_after" -ge 5 ] || fail "the probe did not go on writing after SIGCONT ($ok_after ok)"
ok_during=$(awk -v a="$t_freeze" -v b="$t_thaw" '$1 == "solo" && $5 == "ok" &&
	$4 > a + 50000 && $4 < b { c++ } END { print c + 0 }' "$probe_out")
[ "$ok_during" = 0 ] || fail "$ok_during writes acknowledged by a frozen server"
echo "frozen server: $timeouts timeouts, $ok_after writes after SIGCONT"

probe_check solo || fail "pgprobe check exited $rc on a healthy history"
echo "$out" | grep -q 'violations=0 ' || fail "a violation in a single-server history"
echo "$out" | grep -q ' lost=0 ' || fail "lost commits on a single server"
gap=$(echo "$out" | sed -n 's/.*longest_gap_s=\([0-9.]*\).*/\1/p')
awk -v g="$gap" 'BEGIN { exit !(g >= 1.0 && g < 3.0) }' ||
	fail "longest gap $gap s, expected about 1.5 s (the freeze)"
probe_check solo --sync -o json >/dev/null || fail "pgprobe check --sync exited $rc"
[ "$(echo "$out" | jq -r '.lost, (.violations | length)' | tr '\n' ' ')" = "0 0 " ] ||
	fail "json output: $out"

# ---- 2. two writable servers at once: the checker must fail -----------------------
pg_plain_init a
pg_plain_init b
pg_plain_start a
pg_plain_start b
pg_probe_table a
pg_probe_table b
probe_start a b
sleep 1
probe_stop
probe_check a
[ "$rc" = 1 ] || fail "pgprobe check exited $rc on a split brain, expected 1"
echo "$out" | grep -q '^VIOLATION: ' || fail "no VIOLATION printed for a split brain"
echo "$out" | grep -q '^LOST: b seq ' || fail "b's writes missing from a not reported lost"
echo "split brain caught"

# usage and connection errors exit 2
"$probe_bin" check --log "$probe_out" >/dev/null 2>&1
[ $? = 2 ] || fail "pgprobe check without --final did not exit 2"
pg_plain_stop b
probe_check b
[ "$rc" = 2 ] || fail "pgprobe check against a stopped server exited $rc, expected 2"
echo "PASS: $me"
