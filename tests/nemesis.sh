#!/bin/sh
# nemesis.sh — clients against three real tenured processes while a nemesis
# kills (-9), pauses (SIGSTOP) and partitions them (every peer link through
# a tests/tcp-proxy; one node or the leader cut off, then healed); the
# history must be linearizable
# (run by `make check`).  Short in CI: NEMESIS_SECONDS (default 10) sets the
# duration, NEMESIS_CLIENTS (default 8) the clients, NEMESIS_SEED the seed;
# NEMESIS_SECONDS=600 is the long run.
set -u
me=nemesis.sh
. "$(dirname "$0")/proc-lib.sh" # for ports_free and proc_need_built
nem="$top/tests/nemesis"
proc_need_built "$bin" "$nem" "$proxy_bin"

# Ports 5000-9899: the shell tests use 10000-19799 and the unit tests
# 20000+ (all below the ephemeral range); a random base, and every port we
# need checked free with ss (iproute2) first: peers BASE+1..+3, their
# proxies +4..+6, clients +11..+13.
command -v ss >/dev/null || { echo "nemesis.sh: ss missing (apt-get install iproute2)" >&2; exit 1; }
try=0
while :; do
	base=$((5000 + ($(od -An -N2 -tu2 /dev/urandom) % 490) * 10))
	ports_free $((base + 1)) $((base + 13)) && break
	try=$((try + 1))
	[ $try -lt 50 ] || { echo "nemesis.sh: no free ports found in 5000-9899" >&2; exit 1; }
done

set -- --tenured "$bin" --port-base "$base" --proxy "$proxy_bin" \
	--duration "${NEMESIS_SECONDS:-10}" --clients "${NEMESIS_CLIENTS:-8}"
[ -n "${NEMESIS_SEED:-}" ] && set -- "$@" --seed "$NEMESIS_SEED"
exec "$nem" "$@"
