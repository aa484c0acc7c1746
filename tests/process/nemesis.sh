#!/bin/sh
# nemesis.sh — clients against three real tenured processes while a nemesis
# kills (-9), pauses (SIGSTOP) and partitions them (every peer link through
# a tests/helpers/tcp-proxy; one node or the leader cut off, then healed); the
# history must be linearizable, and must hold at least 50 operations that
# answered OK with at least one of each kind issued (tests/helpers/nemesis.c
# --min-ok): a run where every request failed proves nothing
# (run by `make check`).  Short in CI: NEMESIS_SECONDS (default 10) sets the
# duration, NEMESIS_CLIENTS (default 8) the clients, NEMESIS_SEED the seed;
# NEMESIS_SECONDS=600 is the long run.
set -u
me=nemesis.sh
. "$(dirname "$0")/../lib/proc-lib.sh" # ports, proc_need_built
nem="$top/tests/helpers/nemesis"
proc_need_built "$bin" "$nem" "$proxy_bin"

# Ports: a locked block of 20 of the range nemesis (5000-8999,
# tests/lib/proc-lib.sh): peers BASE+1..+3, their proxies +4..+6, clients
# +11..+13.  The nemesis runs as a child, so that the lock is removed
# only once it has reaped every witness and proxy it started.
proc_init nemesis
proc_take_ports nemesis

set -- --tenured "$bin" --port-base "$base" --proxy "$proxy_bin" \
	--duration "${NEMESIS_SECONDS:-10}" --clients "${NEMESIS_CLIENTS:-8}"
[ -n "${NEMESIS_SEED:-}" ] && set -- "$@" --seed "$NEMESIS_SEED"
"$nem" "$@"
rc=$?
[ $rc = 0 ] || failed=1
# It reaps what it started; should a witness outlive it (the nemesis
# killed), the block stays locked until nothing listens there any more.
wait_for 10 ports_free "$base" $((base + 19)) ||
	echo "$me: ports $base-$((base + 19)) still in use after the nemesis exited" >&2
exit $rc
