#!/bin/sh
# fault-partition.sh — a partition that leaves the leader in a minority of
# one, with three real tenured processes on loopback (run by `make check`).
#
# Every peer link goes through a tests/helpers/tcp-proxy: --initial-cluster names,
# for each witness, the port of the proxy in front of it, and the proxy
# forwards to the port the witness listens on.  A witness sends only on
# the connections it dialled, so the proxy in front of wN carries all of
# wN's incoming peer traffic; it can cut all of it, or only what a named
# sender dialled.  Isolating wX is then: the proxy in front of wX cuts
# everything, the proxies in front of the two others cut sender wX.
#
# While cut off, the old leader must serve no linearizable read (neither
# the value it had nor, through itself, anything else), accept no write,
# grant no lease, and stop calling itself leader; the majority elects a
# leader and goes on.  After healing, the old leader catches up.
set -u
me=fault-partition
slot=1
. "$(dirname "$0")/../lib/fault-lib.sh"
[ -x "$proxy_bin" ] || { echo "$me: $proxy_bin not built (make check builds it)" >&2; exit 1; }

use_proxy=1
make_cluster
for n in 1 2 3; do start_proxy $n; done
for n in 1 2 3; do start $n; done
wait_for 10 leader_among 1 2 3 || fail "no leader within 10 s (through the proxies)"
x=$leader
maj=""
maj_ep=""
for n in 1 2 3; do
	[ $n = "$x" ] && continue
	maj="$maj $n"
	maj_ep="$maj_ep${maj_ep:+,}$(ep $n)"
done
xep=$(ep "$x")
echo "leader: w$x; the majority will be:$(printf ' w%s' $maj)"
ctl put p/k before
expect_rc 0 "put p/k before"
ctl lease acquire P --holder hp --ttl 60s -o json
expect_rc 0 "acquire P by hp"
tokp=$(field .token)

# ---- cut w$x off --------------------------------------------------------------
cut "$x" '*'
for n in $maj; do cut "$n" "w$x"; done
t_cut=$(now_ms)
echo "w$x cut off"
new_leader() {
	# shellcheck disable=SC2086
	leader_among $maj && [ "$leader" != "$x" ]
}
wait_for 10 new_leader || fail "the majority elected no leader within 10 s of the cut"
echo "majority leader: w$leader ($(($(now_ms) - t_cut)) ms after the cut)"
ctl --endpoints "$maj_ep" put p/k after
expect_rc 0 "put p/k after on the majority"
ctl --endpoints "$maj_ep" lease release P --holder hp --token "$tokp"
expect_rc 0 "release P on the majority"
ctl --endpoints "$maj_ep" lease acquire P --holder hq --ttl 60s -o json
expect_rc 0 "acquire P by hq on the majority"
tokq=$(field .token)

# The minority, asked directly: a read may fail or (through a redirect to
# the majority) be fresh, never stale; writes and grants fail.
redirected=0
judge_get() {
	case $rc in
	0) [ "$(field .value)" = after ] || fail "$1: the minority served a stale read: $out"
	   redirected=$((redirected + 1)) ;;
	1) fail "$1: the minority says p/k does not exist: $out $err" ;;
	esac
}
i=0
while [ $i -lt 2 ]; do
	ctl --endpoints "$xep" --timeout 1s get p/k -o json
	judge_get "get #$i at the minority"
	ctl --endpoints "$xep" --timeout 1s lease get P -o json
	if [ $rc = 0 ]; then
		[ "$(field .holder)" = hq ] && [ "$(field .token)" = "$tokq" ] ||
			fail "lease get #$i at the minority: stale P (hq holds it, token $tokq): $out"
		redirected=$((redirected + 1))
	fi
	[ $rc = 1 ] && fail "lease get #$i at the minority: P does not exist: $out"
	ctl --endpoints "$xep" --timeout 1s lease acquire P --holder hx --ttl 60s -o json
	[ $rc = 0 ] && fail "the minority granted P to hx (hq holds it, token $tokq): $out"
	ctl --endpoints "$xep" --timeout 1s lease acquire "N$i" --holder hx --ttl 60s -o json
	if [ $rc = 0 ]; then
		# Only a redirect to the majority could grant it: it must be there.
		ctl --endpoints "$maj_ep" lease get "N$i" -o json
		[ "$(field .holder)" = hx ] || fail "the minority granted N$i, the majority does not know it: $out"
		redirected=$((redirected + 1))
	fi
	i=$((i + 1))
done
echo "minority: no stale read, no grant ($redirected answers came from the majority)"
not_leader() { r=$(role_of "$x"); [ -n "$r" ] && [ "$r" != leader ]; }
wait_for 5 not_leader || fail "w$x still says it is the leader 5 s after the cut"
echo "w$x is $(role_of "$x") $(($(now_ms) - t_cut)) ms after the cut"
ctl --endpoints "$maj_ep" get p/k -o json
expect_rc 0 "get on the majority"
[ "$(field .value)" = after ] || fail "the majority lost p/k: $out"

# ---- heal ------------------------------------------------------------------------------
for n in 1 2 3; do cut $n; done
t_heal=$(now_ms)
caught_up() {
	ctl --endpoints "$xep" --consistency local get p/k -o json
	[ $rc = 0 ] && [ "$(field .value)" = after ]
}
wait_for 10 caught_up || fail "w$x did not catch up within 10 s of healing: $out $err"
wait_for 10 healthy 1 2 3 || fail "not all healthy after healing"
echo "w$x caught up $(($(now_ms) - t_heal)) ms after healing"
ctl --endpoints "$xep" lease get P -o json
expect_rc 0 "lease get P at w$x after healing"
[ "$(field .holder)" = hq ] && [ "$(field .token)" = "$tokq" ] || fail "P after healing: $out"
ctl put p/k healed
expect_rc 0 "put after healing"

echo "ok: an isolated leader serves no stale read and grants nothing, the majority goes on, healing catches it up"
