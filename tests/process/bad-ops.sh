#!/bin/sh
# bad-ops.sh — a client frame whose op tenured does not know (0x999,
# CLIENT_OP_END, the response type 0x300) is answered, at once, with
# EINVAL naming the op, and the session goes on: the next request on the
# same connection is served.  Before, such a frame got no answer at all
# and the client waited until its own timeout.  The frames are built by
# tests/helpers/raw-client (the client library never sends an unknown op).
#
# Ports 10000-19199 (the witness range of tests/lib/proc-lib.sh, a block of
# 20 under a lock directory).  KEEP=1 keeps a failed run's logs.
set -u
me=bad-ops.sh
. "$(dirname "$0")/../lib/proc-lib.sh"
raw="$top/tests/helpers/raw-client"
proc_need_built "$bin" "$raw"

proc_init bad-ops
proc_take_ports witness # tests/lib/proc-lib.sh lists the ranges
cluster="w1=127.0.0.1:$(peer_port 1)"
start 1
answers() { "$raw" "$(ep 1)" status >/dev/null 2>&1; }
wait_for 10 answers || fail "w1 does not answer a STATUS"

t0=$(now_ms)
"$raw" "$(ep 1)" 0x999 end 0x300 status >"$dir/raw.out" 2>&1
rrc=$?
took=$(($(now_ms) - t0))
cat "$dir/raw.out"
[ "$rrc" = 0 ] || fail "unknown ops not all answered (exit $rrc): $(cat "$dir/raw.out")"
# the second frame is CLIENT_OP_END (the first op past the last known one)
end=$(sed -n 2p "$dir/raw.out" | sed 's/.*op=\(0x[0-9a-f]*\) .*/\1/')
for op in 0x999 "$end" 0x300; do
	grep -q "op=$op status=EINVAL message=\"invalid request: unknown op $op\"" "$dir/raw.out" ||
		fail "op $op: no EINVAL naming the op: $(cat "$dir/raw.out")"
done
grep -q "id=4 op=0x20d status=OK" "$dir/raw.out" ||
	fail "the session did not go on after the unknown ops: $(cat "$dir/raw.out")"
[ "$took" -lt 2500 ] || fail "the answers took $took ms: they should come at once"
grep -q 'client_closed' "$dir/w1.log" &&
	fail "the witness closed a session over an unknown op: $(grep client_closed "$dir/w1.log")"

echo "ok: unknown ops answered with EINVAL naming the op, session kept"
