# proc-lib.sh — what the real-process shell tests share: a temp dir,
# processes cleaned up by PID, fail with log tails, polling, a block of
# ports of the test's own range taken under a lock directory, three
# tenured witnesses on loopback, and tenurectl with its output captured.
#
# The sourcing script sets `me` (its name, used in messages) and calls
#   proc_init TAG          $dir = /tmp/tenure-TAG.XXXXXX, traps set
#   proc_alloc_ports START SIZE COUNT NAME
# The allocator takes one of COUNT blocks of SIZE ports from START, whose
# lock is /tmp/tenure-NAME.BASE, so that two runs at once (two build
# directories, make -j) never share a port: each script passes its own
# range, documented at its top.  It sets $alloc_base and $alloc_lock;
# proc_take_ports does the same and keeps them as $base and $lock (the
# lock cleanup removes).
#
# Witness N listens on base+N (peers), base+3+N (clients), base+6+N
# (HTTP); base+9+N is left for a proxy in front of it and base+13 ..
# base+19 for the script.  `start N [OPTIONS...]` starts it with
# $cluster (make_cluster; use_proxy=1 routes peers through the proxies),
# prefixed by the words of $launch if set (e.g. `env VAR=VALUE`).
#
# Variables: the functions here use i, n, p, s, l, np, limit, code and
# leader; a sourcing script keeps no values of its own in those across
# calls.  KEEP=1 keeps $dir when the test fails.

top="${top_builddir:-.}"
bin="$top/tenured"
ctl_bin="$top/tenurectl"
proxy_bin="$top/tests/tcp-proxy"

# proc_need_built FILE...: each is an executable, or exit 1
proc_need_built() {
	for b in "$@"; do
		[ -x "$b" ] || { echo "$me: $b not built (make check builds it)" >&2; exit 1; }
	done
}
# proc_need_tools STATUS TOOL...: each is on PATH, or exit STATUS (77: skip)
proc_need_tools() {
	_st=$1
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null && continue
		if [ "$_st" = 77 ]; then
			echo "$me: $tool missing (apt-get install $tool): SKIP" >&2
		else
			echo "$me: $tool missing (apt-get install $tool)" >&2
		fi
		exit "$_st"
	done
}

# ---- temp dir, cleanup, failure ------------------------------------------------

proc_init() { # proc_init TAG
	dir=$(mktemp -d "/tmp/tenure-$1.XXXXXX")
	pids=""
	lock=""
	failed=0
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP
}
cleanup() { # every process of $pids, the port lock, $dir (unless KEEP=1)
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
dump_logs() { # the tail of every log and .out file of $dir, on stderr
	for f in "$dir"/*.log "$dir"/*.out; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f") (tail)" >&2
		tail -n 20 "$f" >&2
	done
}
fail() { # fail MESSAGE: the test fails (exit 1)
	failed=1
	echo "FAIL: $me: $*" >&2
	dump_logs
	exit 1
}
forget() { # forget PID: it is dead, never signal that number again
	np=""
	for p in $pids; do [ "$p" = "$1" ] || np="$np $p"; done
	pids=$np
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

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

# ---- ports ------------------------------------------------------------------------

ports_free() { # ports_free FIRST LAST: nothing listens on any of them
	command -v ss >/dev/null || return 0
	ss -Htln 2>/dev/null | awk -v a="$1" -v b="$2" '
		{ n = split($4, p, ":"); if (p[n] + 0 >= a && p[n] + 0 <= b) busy = 1 }
		END { exit busy }'
}
# proc_alloc_ports START SIZE COUNT NAME: sets alloc_base and alloc_lock,
# a locked block of SIZE free ports among COUNT from START, or fails
proc_alloc_ports() {
	_i=0
	while [ $_i -lt "$3" ]; do
		alloc_base=$(($1 + (($$ + _i) % $3) * $2))
		alloc_lock="/tmp/tenure-$4.$alloc_base"
		if mkdir "$alloc_lock" 2>/dev/null; then
			echo $$ >"$alloc_lock/pid"
			ports_free $alloc_base $((alloc_base + $2 - 1)) && return 0
			rm -rf "$alloc_lock"
		elif [ -f "$alloc_lock/pid" ] && ! kill -0 "$(cat "$alloc_lock/pid" 2>/dev/null)" 2>/dev/null; then
			rm -rf "$alloc_lock" # left by a run that was killed: take it
			continue
		fi
		alloc_lock=""
		_i=$((_i + 1))
	done
	fail "no free block of $2 ports in $1-$(($1 + $2 * $3 - 1))"
}
proc_take_ports() { # proc_take_ports START SIZE COUNT NAME: $base, $lock
	proc_alloc_ports "$@"
	base=$alloc_base
	lock=$alloc_lock
}

peer_port() { echo $((base + $1)); }        # where witness N listens
client_port() { echo $((base + 3 + $1)); }
http_port() { echo $((base + 6 + $1)); }
proxy_port() { echo $((base + 9 + $1)); }   # a proxy in front of N
ep() { echo "127.0.0.1:$(client_port "$1")"; }

# ---- witnesses ---------------------------------------------------------------------

use_proxy=0
make_cluster() { # $cluster, the --initial-cluster every witness gets
	cluster=""
	for n in 1 2 3; do
		if [ "$use_proxy" = 1 ]; then p=$(proxy_port $n); else p=$(peer_port $n); fi
		cluster="$cluster${cluster:+,}w$n=127.0.0.1:$p"
	done
	TENURE_ENDPOINTS="$(ep 1),$(ep 2),$(ep 3)"
	export TENURE_ENDPOINTS
}
start() { # start N [EXTRA OPTIONS...]: tenured wN in the background
	n=$1
	shift
	# shellcheck disable=SC2086 # $launch is words on purpose
	${launch:-} "$bin" --name "w$n" --data-dir "$dir/w$n" \
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
stop_all() { # SIGTERM to the three witnesses, each must exit 0
	for n in 1 2 3; do kill -TERM "$(pid_of $n)"; done
	for n in 1 2 3; do
		p=$(pid_of $n)
		wait "$p"
		rc=$?
		forget "$p"
		[ "$rc" = 0 ] || fail "w$n exited $rc on SIGTERM"
	done
}

# ---- observing -----------------------------------------------------------------------

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
