# proc-lib.sh — what the real-process shell tests share: a temp dir,
# processes cleaned up by PID, fail with log tails, polling, a block of
# ports of the test's own range taken under a lock directory, three
# tenured witnesses on loopback, and tenurectl with its output captured.
#
# The sourcing script sets `me` (its name, used in messages) and calls
#   proc_init TAG          $dir = /tmp/tenure-TAG.XXXXXX, traps set
#   proc_take_ports RANGE  $base, $lock: a locked block of RANGE (below)
#
# Ports: every test's ports come from one allocator, proc_alloc_ports
# RANGE, over the ranges of this table and nowhere else.  It takes one
# free block (nothing listens on it, checked with ss) of the range under
# the lock directory /tmp/tenure-LOCK.BASE, so that two runs at once (two
# build directories, two worktrees, make -j) never share a port; a lock
# left by a killed run (its pid gone) is taken over.  It sets $alloc_base
# and $alloc_lock; proc_take_ports keeps them as $base and $lock, which
# cleanup removes only after every process of $pids is reaped (a port is
# free again only once its process is gone).  A script with a lock of its
# own (pg-lib's $pglock, ...) releases it the same way: after the kill
# and the reaping of what listens there.  The ranges are disjoint and all
# below Linux's ephemeral ports (32768 up, which outgoing connections
# take: a test port there collides now and then with a client's):
#
#   RANGE          ports         block  LOCK                 used by
#   pg             4000-4999     40     pg-ports             pg-lib.sh: Postgres and agents
#   nemesis        5000-8999     20     nemesis-ports        nemesis.sh
#   local-cluster  9000-9959     60     local-cluster-ports  local-cluster.sh (deploy/local-cluster --base-port)
#   witness        10000-19199   20     wc-ports             witness-cluster.sh, ctl-cluster.sh,
#                                                            witness-ops.sh, bad-ops.sh,
#                                                            unknown-command.sh
#   fault0         19200-19399   20     fault-ports          fault-leader.sh  (fault-lib.sh slot 0)
#   fault1         19400-19599   20     fault-ports          fault-partition.sh (slot 1)
#   fault2         19600-19799   20     fault-ports          fault-disk.sh (slot 2)
#   fault3         19800-19999   20     fault-ports          pg-lib.sh's witnesses (slot 3)
#   (none)         20000-31999   -      -                    tests/unit/unit (test_tclient.c, ports from getpid())
#   pg-routing     32000-32099   10     routing-ports        pg-routing.sh: HAProxy, PgBouncer
#   pg-unit        32100-32199   1      pg-unit-port         pg-unit.sh
#   operator       32200-32379   60     operator-ports       operator-errors.sh
#   sd-notify      32400-32489   10     sdn-ports            sd-notify.sh
#   ctl-scope      32500-32599   10     scope-ports          ctl-scope.sh
#   advertise      32600-32699   20     advertise-ports      advertise-client.sh
#   peer-tls       2200-2399     20     peer-tls-ports       peer-tls.sh
#   tls            2400-2599     20     tls-ports            tls.sh
#   http-def       2600-2799     20     http-def-ports       http-defences.sh
#   scope-quota    2800-2999     20     scope-quota-ports    scope-quota.sh
#
# A new test adds its line here and to proc_port_range (the same table in
# code); an unknown RANGE fails.
#
# Witness N listens on base+N (peers), base+3+N (clients), base+6+N
# (HTTP); base+9+N is left for a proxy in front of it and base+13 ..
# base+19 for the script.  `start N [OPTIONS...]` starts it with
# $cluster (make_cluster; use_proxy=1 routes peers through the proxies),
# prefixed by the words of $launch if set (e.g. `env VAR=VALUE`), with
# the words of $witness_opts before OPTIONS (pg-lib's credentials).
#
# Variables: the functions here use i, n, p, s, l, np, limit, code and
# leader; a sourcing script keeps no values of its own in those across
# calls.  KEEP=1 keeps $dir when the test fails.

top="${top_builddir:-.}"
bin="$top/tenured"
ctl_bin="$top/tenurectl"
proxy_bin="$top/tests/helpers/tcp-proxy"

# proc_need_built FILE...: each is an executable, or exit 1
proc_need_built() {
	for b in "$@"; do
		[ -x "$b" ] || { echo "$me: $b not built (make check builds it)" >&2; exit 1; }
	done
}
# proc_need_root WHY: the test needs root (WHY: for what); as another
# user it is skipped (exit 77) with a message, never failed.  Every test
# that needs root checks with this, before it creates or starts anything.
proc_need_root() {
	[ "$(id -u)" = 0 ] && return 0
	echo "SKIP: $me: needs root ($1)"
	exit 77
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

# proc_skip_part WHAT WHY: a part of the test is skipped (the rest runs
# and the test may pass): says so, in the one form every test uses
proc_skip_part() { echo "SKIP: $me: $1 ($2)"; }

# ---- temp dir, cleanup, failure ------------------------------------------------

proc_init() { # proc_init TAG
	dir=$(mktemp -d "/tmp/tenure-$1.XXXXXX")
	pids=""
	lock=""
	failed=0
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP
}
# proc_alive PID: PID exists and is not a zombie (a zombie holds no port)
proc_alive() {
	_line=""
	read -r _line 2>/dev/null <"/proc/$1/stat" || return 1
	_s=${_line##*) }
	[ "${_s%% *}" != Z ]
}
# proc_reap PID...: waits until each is gone: wait for a child of this
# shell, polling for any other process (10 s, then it says which still run)
proc_reap() {
	for _p in "$@"; do wait "$_p" 2>/dev/null; done
	_i=0
	for _p in "$@"; do
		while proc_alive "$_p"; do
			[ $_i -lt 100 ] || { echo "$me: pid $_p still runs after kill -9" >&2; break; }
			sleep 0.1
			_i=$((_i + 1))
		done
	done
	return 0
}
cleanup() { # every process of $pids (killed and reaped), then the port
	# lock, $dir (unless KEEP=1)
	_reap=$pids
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	# shellcheck disable=SC2086
	proc_reap $_reap
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
	command -v ss >/dev/null || {
		[ -n "${_ss_said:-}" ] || proc_skip_part "the check that ports are free" "ss missing: apt-get install iproute2"
		_ss_said=1
		return 0
	}
	ss -Htln 2>/dev/null | awk -v a="$1" -v b="$2" '
		{ n = split($4, p, ":"); if (p[n] + 0 >= a && p[n] + 0 <= b) busy = 1 }
		END { exit busy }'
}
# proc_port_range RANGE: "START SIZE COUNT LOCK" of RANGE (the table at the
# top of this file), or nothing
proc_port_range() {
	case "$1" in
	pg) echo 4000 40 25 pg-ports ;;
	nemesis) echo 5000 20 200 nemesis-ports ;;
	local-cluster) echo 9000 60 16 local-cluster-ports ;;
	witness) echo 10000 20 460 wc-ports ;;
	fault[0-3]) echo $((19200 + ${1#fault} * 200)) 20 10 fault-ports ;;
	pg-routing) echo 32000 10 10 routing-ports ;;
	pg-unit) echo 32100 1 100 pg-unit-port ;;
	operator) echo 32200 60 3 operator-ports ;;
	sd-notify) echo 32400 10 9 sdn-ports ;;
	ctl-scope) echo 32500 10 10 scope-ports ;;
	advertise) echo 32600 20 5 advertise-ports ;;
	peer-tls) echo 2200 20 10 peer-tls-ports ;;
	tls) echo 2400 20 10 tls-ports ;;
	http-def) echo 2600 20 10 http-def-ports ;;
	scope-quota) echo 2800 20 10 scope-quota-ports ;;
	esac
}
# proc_alloc_ports RANGE: sets alloc_base and alloc_lock, a locked block
# of free ports of RANGE (proc_port_range), or fails
proc_alloc_ports() {
	_r=$(proc_port_range "$1")
	[ -n "$_r" ] || fail "proc_alloc_ports: no port range '$1' (tests/lib/proc-lib.sh lists them)"
	# shellcheck disable=SC2086
	set -- $_r
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
proc_take_ports() { # proc_take_ports RANGE: $base, $lock
	proc_alloc_ports "$1"
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
	# Through the proxies, the peers dial the proxy in front of wN: its
	# initial_cluster entry, which wN must be told (advertise_peer).
	if [ "$use_proxy" = 1 ]; then
		set -- --advertise-peer "127.0.0.1:$(proxy_port "$n")" "$@"
	fi
	# shellcheck disable=SC2086 # $launch is words on purpose
	${launch:-} "$bin" --name "w$n" --data-dir "$dir/w$n" \
		--listen-peer "127.0.0.1:$(peer_port "$n")" \
		--listen-client "$(ep "$n")" \
		--listen-http "127.0.0.1:$(http_port "$n")" \
		--initial-cluster "$cluster" \
		--election-timeout 300ms --heartbeat-interval 50ms \
		${witness_opts:-} "$@" >>"$dir/w$n.log" 2>&1 &
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
