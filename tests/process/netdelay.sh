#!/bin/sh
# netdelay.sh — tests/helpers/netdelay on a real kernel path (run by
# `make check-process`; root).  Two network namespaces joined by a veth
# pair (10.77.0.1 and 10.77.0.2, addresses that exist only inside them;
# names carry this run's pid), A pinging B, and a rule in B's input chain
# sending what comes from A to NFQUEUE queue 7 (iptables' NFQUEUE target:
# nft's own `queue` is not in this kernel), read by netdelay running in B
# (docs/testing-faults.md, "Delay and loss without netem"):
#
# 1. Delay: ping's median round trip with `--delay-ms 50 --jitter-ms 10`
#    is 40 to 200 ms above the median without it (wide bounds: this shows
#    the packets go through the helper, not how precise the machine's
#    timers are), and netdelay's summary counts the pings as delayed.
# 2. Loss: with `--loss-pct 100` no ping is answered and the summary
#    counts them dropped; stopped and started again with `--loss-pct 0`,
#    every ping is answered again.
# 3. Nothing is left: the rule deleted, no queue rule is in the ruleset
#    and pings go straight through; the namespaces are gone after the
#    test (also after a failure: trap).
#
# Skipped (exit 77, saying why) without root, ip, nft, iptables or ping, when the
# helper was not built (no libnetfilter-queue-dev at configure time), or
# where network namespaces cannot be created.  KEEP=1 keeps the logs of a
# failed run.
set -u
me=netdelay.sh
. "$(dirname "$0")/../lib/proc-lib.sh"

netdelay_bin="$top/tests/helpers/netdelay"
ns_a="tn$$-nda"
ns_b="tn$$-ndb"
queue=7

proc_need_root "network namespaces and nftables"
proc_need_tools 77 ip nft iptables ping
if [ "${HAVE_NFQUEUE:-yes}" = no ]; then
	echo "SKIP: $me: tests/helpers/netdelay not built: libnetfilter_queue was missing at configure time (apt-get install libnetfilter-queue-dev, then configure again)"
	exit 77
fi
proc_need_built "$netdelay_bin"

proc_init netdelay
# The namespaces go with everything else, whichever way the test ends;
# netdelay first (a SIGTERM, so it accepts what it holds), then them.
netns_teardown() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	ip netns del "$ns_a" 2>/dev/null
	ip netns del "$ns_b" 2>/dev/null
	cleanup
}
trap netns_teardown EXIT

# ---- the two hosts ---------------------------------------------------------

if ! ip netns add "$ns_a" 2>"$dir/netns.err"; then
	echo "SKIP: $me: cannot create a network namespace: $(cat "$dir/netns.err")"
	exit 77
fi
ip netns add "$ns_b" || fail "ip netns add $ns_b"
ip -n "$ns_a" link add veth0 type veth peer name veth0 netns "$ns_b" ||
	fail "cannot create the veth pair"
ip -n "$ns_a" addr add 10.77.0.1/24 dev veth0
ip -n "$ns_b" addr add 10.77.0.2/24 dev veth0
for ns in "$ns_a" "$ns_b"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set veth0 up || fail "cannot bring veth0 up in $ns"
done

# pings N: ping 10.77.0.2 from A N times; prints one round trip (ms) a line
pings() {
	ip netns exec "$ns_a" ping -n -c "$1" -i 0.1 -W 2 10.77.0.2 2>&1 |
		sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p'
}
# median: of the numbers on stdin (one a line), as an integer (ms)
median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print -1; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%d\n", m + 0.5 }'
}

wait_for 5 ip netns exec "$ns_a" ping -n -c 1 -W 1 10.77.0.2 >/dev/null ||
	fail "10.77.0.2 does not answer over the veth pair (no netdelay yet)"

# The queue rule, in B's input chain, for packets from A.  On the way in,
# not out: a packet held on its sender's output path still counts against
# its TCP socket (TCP small queues), which then sends about two packets
# per delay, a crawl; arriving packets belong to no socket yet.  iptables,
# not nft's own `queue` statement: this kernel has no nft_queue expression
# (CONFIG_NFT_QUEUE), but iptables-nft's NFQUEUE target runs through
# nft_compat and xt_NFQUEUE into the same queue (docs/testing-faults.md).
queue_rule() { # queue_rule -A|-D
	ip netns exec "$ns_b" iptables "$1" INPUT -s 10.77.0.1 \
		-j NFQUEUE --queue-num $queue
}

# netdelay_start NAME ARGS...: netdelay in B, once it says it is bound
netdelay_start() {
	_name=$1
	shift
	ip netns exec "$ns_b" "$netdelay_bin" --queue $queue "$@" \
		>"$dir/$_name.out" 2>"$dir/$_name.log" &
	nd_pid=$!
	pids="$pids $nd_pid"
	wait_for 5 grep -qs "queue $queue bound" "$dir/$_name.log" ||
		fail "netdelay $* did not bind queue $queue"
}
# netdelay_stop NAME: SIGTERM, exit 0, and its summary line on stdout
netdelay_stop() {
	kill -TERM "$nd_pid"
	wait "$nd_pid"
	_rc=$?
	forget "$nd_pid"
	[ "$_rc" = 0 ] || fail "netdelay exited $_rc after SIGTERM"
	summary=$(grep '^netdelay: queue=' "$dir/$1.out") ||
		fail "netdelay printed no summary line"
	echo "$me: $summary"
}
# field NAME: a number of the last summary line
field() { printf '%s\n' "$summary" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }

# ---- 1. delay --------------------------------------------------------------

base=$(pings 20 | median)
[ "$base" -ge 0 ] || fail "no reply without netdelay"
queue_rule -A || fail "cannot add the NFQUEUE rule in $ns_b"
netdelay_start delay --delay-ms 50 --jitter-ms 10 --seed 1
delayed=$(pings 20 | median)
netdelay_stop delay
echo "$me: median round trip ${base} ms without netdelay, ${delayed} ms with 50 ± 10 ms"
[ "$delayed" -ge $((base + 40)) ] && [ "$delayed" -le $((base + 200)) ] ||
	fail "median round trip ${delayed} ms with a 50 ms delay, ${base} ms without: expected 40 to 200 ms more"
[ "$(field packets)" -ge 20 ] && [ "$(field delayed)" -ge 20 ] &&
	[ "$(field dropped)" = 0 ] ||
	fail "summary should count the 20 pings delayed and none dropped: $summary"

# ---- 2. loss ---------------------------------------------------------------

netdelay_start loss100 --delay-ms 0 --loss-pct 100 --seed 2
answered=$(pings 5 | wc -l)
netdelay_stop loss100
[ "$answered" = 0 ] || fail "$answered of 5 pings answered at 100 % loss"
[ "$(field dropped_loss)" -ge 5 ] && [ "$(field delayed)" = 0 ] ||
	fail "summary should count 5 or more dropped, none delayed: $summary"

netdelay_start loss0 --delay-ms 0 --loss-pct 0 --seed 3
answered=$(pings 5 | wc -l)
netdelay_stop loss0
[ "$answered" = 5 ] || fail "$answered of 5 pings answered at 0 % loss"
[ "$(field delayed)" -ge 5 ] ||
	fail "summary should count the 5 pings through the queue: $summary"

# ---- 3. nothing left -------------------------------------------------------

queue_rule -D || fail "iptables -D of the NFQUEUE rule"
! ip netns exec "$ns_b" nft list ruleset | grep -q queue ||
	fail "a queue rule is left in $ns_b: $(ip netns exec "$ns_b" nft list ruleset)"
[ "$(pings 3 | wc -l)" = 3 ] || fail "no reply once the rule is gone"
ip netns del "$ns_a" && ip netns del "$ns_b" || fail "ip netns del"
! ip netns list | grep -q "^tn$$-" || fail "namespaces left: $(ip netns list)"
echo "$me: ok"
