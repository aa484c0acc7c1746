#!/bin/sh
# pg-unit.sh — runs tests/unit/unit-pg (the Check suite of fencing/pg.c) against
# a real PostgreSQL 15 of its own (run by `make check`): initdb -A trust in
# a temp dir, postgres on 127.0.0.1 at a free port of 32100-32199 (the
# range pg-unit of tests/lib/proc-lib.sh, taken under a lock directory, so
# two runs at once never share one), then
# tests/unit/unit-pg with PGTEST_CONNINFO and PGTEST_PID (the postmaster, which
# a test SIGSTOPs and continues).  The server is stopped by PID and the
# dir removed on exit.  PostgreSQL refuses to run as root: as root, the
# server runs as user postgres (PG_USER).  PG_BINDIR overrides
# /usr/lib/postgresql/15/bin.  KEEP=1 keeps the dir of a failed run.
set -u
me=pg-unit.sh
. "$(dirname "$0")/../lib/proc-lib.sh"
bin="$top/tests/unit/unit-pg"
pgbin="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
pguser="${PG_USER:-postgres}"

proc_need_built "$bin"
for b in initdb postgres pg_ctl; do
	[ -x "$pgbin/$b" ] || {
		echo "$me: $pgbin/$b not found: this test needs PostgreSQL 15" \
			"(apt-get install postgresql-15, or set PG_BINDIR)" >&2
		exit 1
	}
done
if [ "$(id -u)" = 0 ]; then
	id "$pguser" >/dev/null 2>&1 || {
		echo "$me: running as root, and user $pguser (who runs the" \
			"server) does not exist: apt-get install postgresql-15" \
			"creates it, or set PG_USER" >&2
		exit 1
	}
	command -v runuser >/dev/null ||
		{ echo "$me: runuser missing (apt-get install util-linux)" >&2; exit 1; }
	as_pg() { runuser -u "$pguser" -- "$@"; }
else
	as_pg() { "$@"; }
fi

proc_init pg-unit
pm=""

stop_server() {
	[ -n "$pm" ] || return 0
	# A failed test may have left it stopped: continue it and its
	# children, or it would never see the shutdown signal.
	for p in $pm $(ps -o pid= --ppid "$pm" 2>/dev/null); do
		kill -CONT "$p" 2>/dev/null
	done
	kill -QUIT "$pm" 2>/dev/null # immediate: the data is thrown away
	i=0
	while kill -0 "$pm" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$pm" 2>/dev/null && kill -9 "$pm" 2>/dev/null
	proc_reap "$pm" # gone before cleanup frees its port
	pm=""
}
trap 'stop_server; cleanup' EXIT # proc-lib's cleanup: the lock and $dir
proc_take_ports pg-unit
port=$base

[ "$(id -u)" = 0 ] && chown "$pguser" "$dir"
as_pg "$pgbin/initdb" -D "$dir/data" -A trust -U postgres --no-sync \
	>"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; fail "initdb failed"; }
as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
	-o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off" \
	start >/dev/null 2>&1 || fail "postgres did not start on port $port"
pm=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
[ -n "$pm" ] && kill -0 "$pm" 2>/dev/null || fail "no postmaster PID"

PGTEST_CONNINFO="host=127.0.0.1 port=$port user=postgres dbname=postgres"
PGTEST_PID=$pm
export PGTEST_CONNINFO PGTEST_PID
"$bin" || fail "tests/unit/unit-pg failed"
exit 0
