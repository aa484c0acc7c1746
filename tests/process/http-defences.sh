#!/bin/sh
# http-defences.sh — the witness's HTTP port against hostile clients
# (common/http.c), three real tenured processes on loopback and
# tests/helpers/hostile-client (run by `make check-process`):
#
# 1. Slow headers: 12 connections that never end their header block are
#    all closed, none before the 5 s header timeout, with one log line.
# 2. A NUL byte in a request is answered 400 and the connection closed.
# 3. The caps (64 connections, 16 from one address): 40 idle connections
#    from 127.0.0.2 are cut to 16 at once, logged once; 80 from five
#    addresses are cut to 64.  Meanwhile the client port takes writes,
#    and /health answers 200 whenever the cap leaves room.
# 4. Under `ulimit -n 64`, a single witness gives HTTP 4 connections out
#    of its descriptors: 60 idle HTTP connections are refused (logged)
#    but for those (closed at the header timeout), and the client port
#    neither refuses nor resets a connection; a tenurectl put through it
#    works.
# /health answers 200 on every witness after each part.
#
# KEEP=1 keeps the logs of a failed run.
set -u
me=http-defences
. "$(dirname "$0")/../lib/proc-lib.sh"
hostile_bin="$top/tests/helpers/hostile-client"
proc_need_built "$bin" "$ctl_bin" "$hostile_bin"
proc_need_tools 1 curl jq
unset TENURE_USER TENURE_SECRET_FILE TENURE_CACERT TENURE_CERT TENURE_KEY

proc_init http-def
proc_take_ports http-def
make_cluster
for n in 1 2 3; do start $n; done
put_ok() { ctl put "probe/$1" v && [ "$rc" = 0 ]; }
wait_for 15 put_ok up || fail "the cluster does not take writes: $err"
wait_for 5 healthy 1 2 3 || fail "a witness is not healthy at start"

hport="127.0.0.1:$(http_port 1)"
hostile() { # hostile MODE N SECONDS [ADDR]: tests/helpers/hostile-client's line in $hc
	hc=$("$hostile_bin" "$1" "${4:-$hport}" "$2" "$3") || fail "hostile-client $1 failed"
	echo "  $1 x$2: $hc"
}
hostile_bg() { # hostile_bg NAME MODE N SECONDS [ADDR]: in the background, $dir/NAME.hc
	_name=$1
	shift
	"$hostile_bin" "$1" "${4:-$hport}" "$2" "$3" >"$dir/$_name.hc" 2>&1 &
	eval "hpid_$_name=$!"
	pids="$pids $!"
}
hostile_wait() { # hostile_wait NAME: its line in $hc
	_p=$(eval "echo \$hpid_$1")
	wait "$_p"
	forget "$_p"
	hc=$(cat "$dir/$1.hc")
	echo "  $1: $hc"
}
hc_field() { printf '%s' "$hc" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
logged() { grep -c "event=$1" "$2"; }

# ---- 1. slow headers ---------------------------------------------------------------------
HOSTILE_SOURCE=127.0.0.3 hostile_bg slow slow-http 12 8
sleep 1
healthy 1 || fail "/health is not 200 while slow headers are held"
hostile_wait slow
[ "$(hc_field closed)" = 12 ] || fail "slow-header connections stayed open: $hc"
[ "$(hc_field first_close_ms)" -ge 5000 ] || fail "slow-header connections closed before the header timeout: $hc"
[ "$(hc_field answered)" = 0 ] || fail "slow-header connections got an answer: $hc"
[ "$(logged http_timed_out "$dir/w1.log")" = 1 ] ||
	fail "the header timeouts were logged $(logged http_timed_out "$dir/w1.log") times (expected once: rate-limited)"
grep 'event=http_timed_out' "$dir/w1.log" | grep -q 'total=1 .*reason="request not complete in time"' ||
	fail "the timeout line has no total or reason: $(grep 'event=http_timed_out' "$dir/w1.log")"
healthy 1 2 3 || fail "a witness is unhealthy after slow headers"

# ---- 2. a NUL byte ---------------------------------------------------------------------------
hostile nul-http 1 3
[ "$(hc_field answered)" = 1 ] && [ "$(hc_field closed)" = 1 ] ||
	fail "a request with a NUL byte was not answered and closed: $hc"
[ "$(hc_field last_close_ms)" -lt 2000 ] || fail "a request with a NUL byte was answered late: $hc"
healthy 1 || fail "/health is not 200 after a NUL byte"

# ---- 3. the caps ------------------------------------------------------------------------------
# one address: a quarter of 64
HOSTILE_SOURCE=127.0.0.2 hostile_bg share idle 40 4
sleep 1
healthy 1 || fail "/health is not 200 while one address holds its share"
put_ok during-share || fail "a write while w1's HTTP port is flooded from one address: $err"
hostile_wait share
[ "$(hc_field closed)" = 24 ] && [ "$(hc_field open)" = 16 ] ||
	fail "one address kept more or less than its share of 16: $hc"
[ "$(hc_field first_close_ms)" -lt 2000 ] || fail "connections over the share were not closed at once: $hc"
[ "$(logged http_refused_connection "$dir/w1.log")" = 1 ] ||
	fail "the refusals were logged $(logged http_refused_connection "$dir/w1.log") times (expected once: rate-limited)"
# five addresses of 16 each: 64 kept, 16 refused
for a in 4 5 6 7 8; do HOSTILE_SOURCE=127.0.0.$a hostile_bg "cap$a" idle 16 4; done
sleep 1
put_ok during-cap || fail "a write while w1's HTTP port is full: $err"
closed=0
open=0
for a in 4 5 6 7 8; do
	hostile_wait "cap$a"
	closed=$((closed + $(hc_field closed)))
	open=$((open + $(hc_field open)))
done
[ "$closed" = 16 ] && [ "$open" = 64 ] ||
	fail "80 connections against a cap of 64: $closed closed and $open kept"
n=$(logged http_refused_connection "$dir/w1.log")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "the refusals were logged $n times (expected once or twice: rate-limited)"
wait_for 5 healthy 1 2 3 || fail "a witness is unhealthy after the caps"
for k in up during-share during-cap; do
	ctl get "probe/$k" -o json
	[ "$(field .value)" = v ] || fail "probe/$k lost: $out"
done
stop_all

# ---- 4. HTTP within the descriptors of ulimit -n 64 ---------------------------------------------
solo_peer="127.0.0.1:$((base + 16))"
solo_client="127.0.0.1:$((base + 17))"
solo_http="127.0.0.1:$((base + 18))"
(
	ulimit -n 64 || exit 1
	exec "$bin" --name s1 --data-dir "$dir/s1" --listen-peer "$solo_peer" \
		--listen-client "$solo_client" --listen-http "$solo_http" \
		--initial-cluster "s1=$solo_peer" \
		--election-timeout 300ms --heartbeat-interval 50ms
) >>"$dir/s1.log" 2>&1 &
solo_pid=$!
pids="$pids $solo_pid"
solo_put() { ctl --endpoints "$solo_client" put "solo/$1" v && [ "$rc" = 0 ]; }
wait_for 10 solo_put up || fail "the witness under ulimit -n 64 does not take writes: $err"
grep -q "^Max open files *64 " "/proc/$solo_pid/limits" || fail "the solo witness does not run under ulimit -n 64"
solo_healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$solo_http/health")" = 200 ]; }
solo_healthy || fail "/health of the witness under ulimit -n 64 is not 200"
hostile_bg flood idle 60 8 "$solo_http"
sleep 1
hostile idle 3 2 "$solo_client"
[ "$(hc_field refused)" = 0 ] && [ "$(hc_field closed)" = 0 ] ||
	fail "the client port refused or reset connections while HTTP was flooded: $hc"
solo_put during-flood || fail "a write through the client port while HTTP was flooded: $err"
hostile_wait flood
[ "$(hc_field refused)" = 0 ] || fail "HTTP connections were refused by the kernel (backlog, descriptors): $hc"
[ "$(hc_field closed)" = 60 ] || fail "idle HTTP connections stayed open: $hc"
# over the cap at once; the few it kept at the header timeout
[ "$(hc_field first_close_ms)" -lt 2000 ] || fail "HTTP connections over the cap were not closed at once: $hc"
[ "$(hc_field last_close_ms)" -ge 5000 ] || fail "HTTP kept no connection under ulimit -n 64: $hc"
[ "$(logged http_refused_connection "$dir/s1.log")" = 1 ] ||
	fail "the refusals under ulimit -n 64 were logged $(logged http_refused_connection "$dir/s1.log") times (expected once)"
wait_for 7 solo_healthy || fail "/health of the witness under ulimit -n 64 is not 200 after the flood"
ctl --endpoints "$solo_client" get solo/during-flood -o json
[ "$(field .value)" = v ] || fail "solo/during-flood lost: $out"
kill -TERM "$solo_pid"
wait "$solo_pid"
rc=$?
forget "$solo_pid"
[ "$rc" = 0 ] || fail "the solo witness exited $rc on SIGTERM"
echo "ok: $me: slow headers timed out, NUL answered 400, HTTP capped per listener and address and within the descriptors, the client port unharmed"
