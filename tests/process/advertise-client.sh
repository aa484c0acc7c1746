#!/bin/sh
# advertise-client.sh — tenured's advertise_client, with three real
# witnesses on loopback (run by `make check`).
#
# Each witness listens for clients on 127.0.0.1:X, and a tests/helpers/tcp-proxy
# on 127.0.0.1:Y forwards to it: Y plays the address clients reach the
# witness at (a NAT, a load balancer, a proxy).  A follower answers "not
# the leader" with the leader's advertised client address, and the client
# library follows it:
#
#   - without advertise_client the hint is the leader's X: a put sent to
#     a follower's proxy reaches the leader past its proxy (it still
#     succeeds with the leader's proxy cut off);
#   - with advertise_client = Y the hint is the leader's Y: the same put
#     goes through the leader's proxy (it fails while that proxy is cut,
#     succeeds once healed);
#   - a hint that cannot be reached (the leader's proxy gone) sends the
#     client back to its configured endpoints at once;
#   - /status and `tenurectl member list` show each member's client
#     address;
#   - a wildcard listen_client without advertise_client is refused with
#     exit 2 and a message saying what to set, and an unusable
#     advertise_client too (checked with --check-config only: the tests
#     listen on loopback alone).
#
# Ports 32600-32699, in five blocks of 20 taken under a lock directory so
# that two runs at once never share one.  KEEP=1 keeps a failed run's
# logs.
set -u
me=advertise-client
. "$(dirname "$0")/../lib/proc-lib.sh"
proc_need_built "$bin" "$ctl_bin" "$proxy_bin"
proc_need_tools 77 curl jq
unset TENURE_USER TENURE_SECRET_FILE TENURE_ENDPOINTS

proc_init "$me"
proc_take_ports advertise # tests/lib/proc-lib.sh lists the ranges
# X, where witness N listens for clients, is client_port N; Y, the proxy
# in front of X, is proxy_port N
spare=$((base + 13)) # never listened on
x() { ep "$1"; }
y() { echo "127.0.0.1:$(proxy_port "$1")"; }
make_cluster
unset TENURE_ENDPOINTS

# ---- processes ------------------------------------------------------------------------

start_proxy() { # start_proxy N: Y(N) -> X(N)
	"$proxy_bin" "$(proxy_port "$1")" "$(client_port "$1")" \
		>>"$dir/proxy$1.log" 2>&1 &
	eval "ppid$1=$!"
	pids="$pids $!"
}
proxy_sig() { # proxy_sig SIGNAL N: USR1 cuts everything, USR2 heals
	eval "kill -$1 \$ppid$2" || fail "the proxy in front of w$2 is gone"
}
stop_proxy() {
	eval "p=\$ppid$1"
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	forget "$p"
}

# ---- observing --------------------------------------------------------------------------

leader_and_followers() { # leader_among 1 2 3, and the two others in $f1, $f2
	leader_among 1 2 3 || return 1
	f1="" f2=""
	for n in 1 2 3; do
		[ "$n" = "$leader" ] && continue
		if [ -z "$f1" ]; then f1=$n; else f2=$n; fi
	done
}
client_seen_by() { # client_seen_by N M: member wM's client address in
	# wN's /status
	http "$1" /status |
		jq -r --arg m "w$2" '.members[] | select(.name == $m) | .client // "null"' 2>/dev/null
}
status_shows() { # status_shows WANT_FN: every witness reports, for every
	# member M, the client address `WANT_FN M`
	for n in 1 2 3; do
		for m in 1 2 3; do
			[ "$(client_seen_by "$n" "$m")" = "$($1 "$m")" ] || return 1
		done
	done
}

# ---- 1. a wildcard listen_client needs advertise_client (--check-config) -----------------

# (--insecure: a wildcard listen_client reaches the network, which wants
# TLS and credentials; tests/process/security.sh checks that refusal)
check() { # check ARGS...: tenured --check-config, output in $out, exit in $rc
	"$bin" --name w1 --data-dir "$dir/never" \
		--listen-peer "127.0.0.1:$(peer_port 1)" \
		--initial-cluster "w1=127.0.0.1:$(peer_port 1)" \
		--check-config --insecure "$@" >"$dir/out" 2>&1
	rc=$?
	out=$(cat "$dir/out")
}
for w in "0.0.0.0:$spare" "[::]:$spare"; do
	check --listen-client "$w"
	[ "$rc" = 2 ] || fail "listen_client $w without advertise_client: exit $rc, expected 2: $out"
	printf '%s' "$out" | grep -qF "listen_client \"$w\" is a wildcard address" ||
		fail "listen_client $w: the message does not say what is wrong: $out"
	printf '%s' "$out" | grep -q "set advertise_client" ||
		fail "listen_client $w: the message does not say what to do: $out"
done
check --listen-client "0.0.0.0:$spare" --advertise-client "127.0.0.1:$spare"
[ "$rc" = 0 ] && [ "$out" = "configuration OK" ] ||
	fail "listen_client 0.0.0.0 with advertise_client refused (exit $rc): $out"
printf "advertise_client = '127.0.0.1:%s'\n" "$spare" >"$dir/w.conf"
check --listen-client "[::]:$spare" --config "$dir/w.conf"
[ "$rc" = 0 ] || fail "advertise_client from the config file not taken (exit $rc): $out"
for bad in "0.0.0.0:$spare" "127.0.0.1:0" "witness1:7101" "127.0.0.1"; do
	check --listen-client "127.0.0.1:$spare" --advertise-client "$bad"
	[ "$rc" = 2 ] || fail "advertise_client $bad accepted (exit $rc): $out"
	printf '%s' "$out" | grep -qF "advertise_client \"$bad\"" ||
		fail "advertise_client $bad: the message does not name it: $out"
done
[ ! -e "$dir/never" ] || fail "--check-config created the data dir"
"$bin" --help | grep -q -- "--advertise-client ADDR" || fail "--help lacks --advertise-client"
echo "ok: wildcard listen_client refused without advertise_client, bad advertise_client refused"

# ---- 2. without advertise_client: the hint is the leader's own listen_client --------------

for n in 1 2 3; do start_proxy $n; done
for n in 1 2 3; do start $n; done
wait_for 10 leader_and_followers || fail "no leader within 10 s"
echo "leader: w$leader; followers w$f1, w$f2"
wait_for 5 status_shows x ||
	fail "/status does not show listen_client as the client address: $(http "$f1" /status)"
ctl --endpoints "$(y "$f1")" member list -o json
expect_rc 0 "member list"
[ "$(printf '%s' "$out" | jq -r --arg m "w$leader" '.[] | select(.name == $m) | .client_addr')" = "$(x "$leader")" ] ||
	fail "member list: the leader's client address is not $(x "$leader"): $out"
ctl --endpoints "$(y "$f1")" put adv/k one
expect_rc 0 "put through w$f1's proxy"
# The leader's proxy cut off: a client that went through it would hang.
proxy_sig USR1 "$leader"
ctl --endpoints "$(y "$f1")" --timeout 3s put adv/k two
expect_rc 0 "put through w$f1's proxy with the leader's proxy cut (the hint is $(x "$leader"))"
proxy_sig USR2 "$leader"
echo "ok: without advertise_client the hint is $(x "$leader"): the redirect bypasses the leader's proxy"

# ---- 3. advertise_client = the proxy: redirects go through the leader's proxy -------------

stop_all
for n in 1 2 3; do start $n --advertise-client "$(y "$n")"; done
wait_for 10 leader_and_followers || fail "no leader within 10 s of the restart"
echo "leader: w$leader; followers w$f1, w$f2"
wait_for 5 status_shows y ||
	fail "/status does not show advertise_client as the client address: $(http "$f1" /status)"
grep -q "event=started.*advertise_client=$(y 1)" "$dir/w1.log" ||
	fail "the started line of w1 does not show its advertise_client"
ctl --endpoints "$(y "$f1")" member list -o json
expect_rc 0 "member list"
[ "$(printf '%s' "$out" | jq -r '[.[].client_addr] | sort | join(",")')" = "$(y 1),$(y 2),$(y 3)" ] ||
	fail "member list does not show the advertised addresses: $out"
ctl --endpoints "$(y "$f1")" put adv/k three
expect_rc 0 "put through w$f1's proxy, redirected to $(y "$leader")"
proxy_sig USR1 "$leader"
ctl --endpoints "$(y "$f1")" --timeout 1500ms put adv/k four
[ "$rc" != 0 ] ||
	fail "put through w$f1's proxy succeeded with the leader's proxy cut: the redirect did not go to $(y "$leader")"
proxy_sig USR2 "$leader"
ctl --endpoints "$(y "$f2")" --timeout 3s put adv/k five
expect_rc 0 "put through w$f2's proxy after the heal"
ctl --endpoints "$(y "$leader")" get adv/k -o json
expect_rc 0 "get through the leader's proxy"
[ "$(printf '%s' "$out" | jq -r .value)" = five ] || fail "adv/k is not 'five': $out"
echo "ok: with advertise_client the hint is $(y "$leader"): the redirect goes through the leader's proxy"

# ---- 4. a hint that cannot be reached: back to the configured endpoints --------------------

stop_proxy "$leader"
# The refused hint must send the client back to its endpoints at once, not
# after its request timeout (10 s): half of it is a generous bound that
# still tells the two apart (a behaviour check, not a speed target).
t0=$(now_ms)
ctl --endpoints "$(y "$f1"),$(y "$f2"),$(x "$leader")" --timeout 10s put adv/k six
expect_rc 0 "put with the leader's advertised address gone (endpoints: two followers' proxies, then the leader directly)"
took=$(($(now_ms) - t0))
[ "$took" -lt 5000 ] || fail "falling back from a dead hint took $took ms: the client waited for its 10 s timeout instead of falling back"
echo "ok: the leader's advertised address refused: the client fell back to its endpoints in $took ms"

stop_all
echo "ok: $me"
