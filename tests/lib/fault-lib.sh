# fault-lib.sh — shared by the fault tests (tests/process/fault-*.sh):
# three real tenured processes on loopback, optionally with every peer
# link through a tests/helpers/tcp-proxy, started, signalled and cleaned
# up by PID.
#
# The sourcing script sets `me` (its name) and `slot` (0, 1 or 2: which
# port range it takes) first, or instead of `slot` `port_range` (a RANGE
# of tests/lib/proc-lib.sh's table, e.g. witness-ops.sh's "witness").
# Ports: 19200-19799, above the range of witness-cluster.sh and
# ctl-cluster.sh (10000-19199) and below the unit tests (20000+); each
# script has 200 of them, in ten blocks of 20, and takes a free block
# under a lock directory so that two runs at once (two build
# directories, make -j) never share a port.
#
# The temp dir, cleanup, fail, wait_for, the witnesses (start N, pid_of,
# leader_among, healthy, role_of, ...) and tenurectl (ctl, field,
# expect_rc) come from tests/lib/proc-lib.sh ($proc_lib_dir, else
# $pg_lib_dir, else ../lib from the script's directory); this adds
# signals, stop and the fault-injecting proxies.
#
# Set KEEP=1 to keep the data and logs of a failed run.

proc_lib_dir=${proc_lib_dir:-${pg_lib_dir:-$(dirname "$0")/../lib}}
. "$proc_lib_dir/proc-lib.sh"
proc_need_built "$bin" "$ctl_bin"
proc_need_tools 1 curl jq
unset TENURE_USER TENURE_SECRET_FILE

proc_init "$me"
proc_take_ports "${port_range:-fault$slot}"
make_cluster

# ---- witnesses and proxies ----------------------------------------------------------

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
