# fault-lib.sh — shared by the fault tests (tests/fault-*.sh): three real
# tenured processes on loopback, optionally with every peer link through
# a tests/tcp-proxy, started, signalled and cleaned up by PID.
#
# The sourcing script sets `me` (its name) and `slot` (0, 1 or 2: which
# port range it takes) first.  Ports: 19200-19799, above the range of
# witness-cluster.sh and ctl-cluster.sh (10000-19199) and below the
# unit tests (20000+); each script has 200 of them, in ten blocks of 20,
# and takes a free block under a lock directory so that two runs at
# once (two build directories, make -j) never share a port.
#
# Set KEEP=1 to keep the data and logs of a failed run.

top="${top_builddir:-.}"
bin="$top/tenured"
ctl_bin="$top/tenurectl"
proxy_bin="$top/tests/tcp-proxy"
for b in "$bin" "$ctl_bin"; do
	[ -x "$b" ] || { echo "$me: $b not built" >&2; exit 1; }
done
for tool in curl jq; do
	command -v $tool >/dev/null ||
		{ echo "$me: $tool missing (apt-get install $tool)" >&2; exit 1; }
done
unset TENURE_AUTH_TOKEN_FILE

dir=$(mktemp -d "/tmp/tenure-$me.XXXXXX")
pids=""
lock=""
use_proxy=0
failed=0

cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	pids=""
	[ -n "$lock" ] && rm -rf "$lock"
	lock=""
	if [ "$failed" = 1 ] && [ "${KEEP:-0}" = 1 ]; then
		echo "$me: kept $dir" >&2
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	failed=1
	echo "FAIL: $me: $*" >&2
	for f in "$dir"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f") (tail)" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- ports --------------------------------------------------------------------

ports_free() { # ports_free FIRST LAST: nothing listens on any of them
	command -v ss >/dev/null || return 0
	ss -Htln 2>/dev/null | awk -v a="$1" -v b="$2" '
		{ n = split($4, p, ":"); if (p[n] + 0 >= a && p[n] + 0 <= b) busy = 1 }
		END { exit busy }'
}
alloc_ports() { # sets base: a locked block of 20 free ports of this slot
	i=0
	while [ $i -lt 10 ]; do
		base=$((19200 + slot * 200 + (($$ + i) % 10) * 20))
		lock="/tmp/tenure-fault-ports.$base"
		if mkdir "$lock" 2>/dev/null; then
			echo $$ >"$lock/pid"
			ports_free $base $((base + 19)) && return 0
			rm -rf "$lock"
		elif [ -f "$lock/pid" ] && ! kill -0 "$(cat "$lock/pid")" 2>/dev/null; then
			rm -rf "$lock" # left by a run that was killed: take it
			continue
		fi
		lock=""
		i=$((i + 1))
	done
	fail "no free block of 20 ports in $((19200 + slot * 200))-$((19399 + slot * 200))"
}
alloc_ports

peer_port() { echo $((base + $1)); }        # where witness N listens
client_port() { echo $((base + 3 + $1)); }
http_port() { echo $((base + 6 + $1)); }
proxy_port() { echo $((base + 9 + $1)); }   # the proxy in front of N
ep() { echo "127.0.0.1:$(client_port "$1")"; }

# ---- witnesses and proxies ----------------------------------------------------------

make_cluster() { # the --initial-cluster every witness gets
	cluster=""
	for n in 1 2 3; do
		if [ "$use_proxy" = 1 ]; then p=$(proxy_port $n); else p=$(peer_port $n); fi
		cluster="$cluster${cluster:+,}w$n=127.0.0.1:$p"
	done
	TENURE_ENDPOINTS="$(ep 1),$(ep 2),$(ep 3)"
	export TENURE_ENDPOINTS
}
make_cluster

forget() { # forget PID: it is dead, never signal that number again
	np=""
	for p in $pids; do [ "$p" = "$1" ] || np="$np $p"; done
	pids=$np
}

start() { # start N [EXTRA OPTIONS...]: tenured wN in the background
	n=$1
	shift
	"$bin" --name "w$n" --data-dir "$dir/w$n" \
		--listen-peer "127.0.0.1:$(peer_port "$n")" \
		--listen-client "$(ep "$n")" \
		--listen-http "127.0.0.1:$(http_port "$n")" \
		--initial-cluster "$cluster" \
		--election-timeout 300ms --heartbeat-interval 50ms "$@" \
		>>"$dir/w$n.log" 2>&1 &
	eval "pid$n=$!"
	pids="$pids $!"
}
pid_of() { eval "echo \$pid$1"; }
sig() { # sig SIGNAL N
	kill -"$1" "$(pid_of "$2")" || fail "cannot send SIG$1 to w$2"
}
kill9() { # kill9 N: kill -9 witness N and reap it
	p=$(pid_of "$1")
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	forget "$p"
}
stop() { # stop N: SIGTERM, wait for the exit; its status in $rc
	p=$(pid_of "$1")
	kill -TERM "$p" 2>/dev/null
	wait "$p"
	rc=$?
	forget "$p"
}

start_proxy() { # start_proxy N: the proxy in front of witness N
	: >"$dir/cut.$1"
	"$proxy_bin" "$(proxy_port "$1")" "$(peer_port "$1")" "$dir/cut.$1" \
		>>"$dir/proxy$1.log" 2>&1 &
	eval "ppid$1=$!"
	pids="$pids $!"
}
cut() { # cut N SENDERS...: the proxy in front of N drops those ("*": all)
	n=$1
	shift
	echo "$*" >"$dir/cut.$n"
	eval "kill -HUP \$ppid$n" || fail "proxy $n is gone"
}

# ---- observing -----------------------------------------------------------------------

wait_for() { # wait_for SECONDS COMMAND...: poll every 0.1 s
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
http() { curl -s --max-time 1 "http://127.0.0.1:$(http_port "$1")$2"; }
role_of() { http "$1" /status | jq -r '.role // empty' 2>/dev/null; }
healthy() { # healthy N...: /health is 200 on each
	for n in "$@"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
			"http://127.0.0.1:$(http_port "$n")/health")
		[ "$code" = 200 ] || return 1
	done
}
leader_among() { # leader_among N...: exactly one of them says it leads, and
	# every one of them names it; its number in $leader
	leader=""
	for n in "$@"; do
		s=$(http "$n" /status) || return 1
		l=$(printf '%s' "$s" | jq -r '.leader // empty' 2>/dev/null)
		[ -n "$l" ] || return 1
		[ -z "$leader" ] && leader=${l#w}
		[ "w$leader" = "$l" ] || return 1
	done
	[ "$(role_of "$leader")" = leader ]
}

# ctl ARGS...: tenurectl; stdout in $out, stderr in $err, exit in $rc.
ctl() {
	"$ctl_bin" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	out=$(cat "$dir/out")
	err=$(cat "$dir/err")
}
field() { printf '%s' "$out" | jq -r "$1" 2>/dev/null; }
expect_rc() { # expect_rc CODE WHAT
	[ "$rc" = "$1" ] || fail "$2: exit $rc, expected $1 (stdout: $out; stderr: $err)"
}
