#!/bin/sh
# pg-routing.sh — the routing (HAProxy and PgBouncer) on real PostgreSQL 15
# (three agents, synchronous mode), with the shipped files themselves:
#
#   - a real HAProxy run from deploy/haproxy.cfg, rendered with sed to this
#     test's addresses and ports (nothing else changes: the template's
#     checks, timings and listeners are the ones tested);
#   - a real PgBouncer (as postgres, its config in the test dir) whose
#     [databases] deploy/hooks/pgbouncer-repoint rewrites, configured as
#     every agent's on_role_change.
#
# Before: a write through HAProxy's read-write port and one through
# PgBouncer reach the primary; the read-only port reaches a replica.  Then
# the primary crashes (pg_crash: agent and Postgres, kill -9) and it
# measures, from the crash, the seconds until a NEW connection through
# HAProxy (and, separately, through PgBouncer) commits a write on the new
# primary: printed, and a failure beyond 20 s (a generous bound, not a
# speed target).  After: HAProxy shows exactly the new primary up, the
# read-only port reaches the replica left.  The write probe runs on every
# node from before the crash to the end: pgprobe check --sync (no two
# writable nodes, no acknowledged commit lost).
#
# Ports: Postgres and agents from pg-lib.sh's block; HAProxy and PgBouncer
# take a locked block of 10 of the range pg-routing (32000-32099,
# tests/lib/proc-lib.sh).  Skipped (77) without haproxy,
# pgbouncer or PostgreSQL 15; and by the sanitizer pass (SKIP_LONG_PG=1:
# it tests configs and a shell hook, the agent under the sanitizers is
# pg-failover's job).
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-routing: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-routing
PG_SYNC=${PG_SYNC:-on}
src=$(cd "$(dirname "$0")/../.." && pwd)

# ---- what it needs (before pg-lib.sh, which fails rather than skips) --------------
PATH=$PATH:/usr/sbin:/sbin
skip() { echo "$me: skipped: $*"; exit 77; }
command -v haproxy >/dev/null || skip "haproxy missing (apt-get install haproxy)"
command -v pgbouncer >/dev/null || skip "pgbouncer missing (apt-get install pgbouncer)"
[ -x "${PG_BIN:-/usr/lib/postgresql/15/bin}/postgres" ] ||
	skip "PostgreSQL 15 missing (apt-get install postgresql-15)"
command -v psql >/dev/null || skip "psql missing (apt-get install postgresql-client-15)"
command -v timeout >/dev/null || skip "timeout missing (coreutils)"
. "$(dirname "$0")/../lib/proc-lib.sh"
proc_need_root "Postgres and PgBouncer run as the user postgres"

. "$(dirname "$0")/../lib/pg-lib.sh"

# ---- ports: a locked block of 10 of the range pg-routing (tests/lib/proc-lib.sh) --------
proc_alloc_ports pg-routing
rbase=$alloc_base
rlock=$alloc_lock
routing_cleanup() {
	_st=$?
	(exit $_st)
	pg_cleanup # everything by pid (HAProxy and PgBouncer are in $pids), reaped
	[ -n "$rlock" ] && rm -rf "$rlock"
	rlock=""
}
trap routing_cleanup EXIT
rw_port=$rbase
ro_port=$((rbase + 1))
stats_port=$((rbase + 2))
pgb_port=$((rbase + 3))

# ---- HAProxy from deploy/haproxy.cfg ---------------------------------------------------
tmpl="$src/deploy/haproxy.cfg"
[ -f "$tmpl" ] || fail "$tmpl missing"
# the template says what the docs promise (a rendering cannot hide it)
for want in 'option httpchk GET /primary' 'option httpchk GET /replica?lag=16MB' \
	'http-check expect status 200' \
	'default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions' \
	'bind \*:5000' 'bind \*:5001' 'bind \*:7000'; do
	grep -q "^ *$want\$" "$tmpl" || fail "deploy/haproxy.cfg lacks '$want'"
done
# render: host names and ports to this test's; logs to stdout (its log
# file here); what needs a system install (the haproxy user, daemon mode,
# the admin socket) out
{
	printf '%s\n' 's/^\( *log \)\/dev\/log /\1stdout format raw /'
	echo '/^ *user /d'
	echo '/^ *group /d'
	echo '/^ *daemon$/d'
	echo '/^ *stats socket /d'
	printf '%s\n' "s/^\\( *bind \\)\\*:5000\$/\\1127.0.0.1:$rw_port/"
	printf '%s\n' "s/^\\( *bind \\)\\*:5001\$/\\1127.0.0.1:$ro_port/"
	printf '%s\n' "s/^\\( *bind \\)\\*:7000\$/\\1127.0.0.1:$stats_port/"
	for k in 1 2 3; do
		printf '%s\n' "s/^\\( *server pg$k \\)pg$k:5432\\(.*\\) port 8008\$/\\1127.0.0.1:$(pg_port $k)\\2 port $(pg_http_port $k)/"
	done
} >"$dir/haproxy.sed"
sed -f "$dir/haproxy.sed" "$tmpl" >"$dir/haproxy.cfg" || fail "cannot render $tmpl"
n=$(grep -c '^ *\(bind\|server\) 127\.0\.0\.1:\|^ *server pg[1-3] 127\.0\.0\.1:' "$dir/haproxy.cfg")
[ "$n" = 9 ] || fail "rendering deploy/haproxy.cfg changed $n of its 9 bind/server lines (see $dir/haproxy.sed)"
haproxy -c -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 ||
	fail "haproxy -c rejects the rendered deploy/haproxy.cfg: $(cat "$dir/haproxy.log")"
grep -q WARNING "$dir/haproxy.log" &&
	fail "haproxy -c warns about the rendered deploy/haproxy.cfg: $(grep WARNING "$dir/haproxy.log")"
haproxy -db -f "$dir/haproxy.cfg" </dev/null >>"$dir/haproxy.log" 2>&1 &
haproxy_pid=$!
pids="$pids $haproxy_pid"

# ---- PgBouncer, and the hook on every agent -------------------------------------------
mkdir -p "$dir/pgbouncer"
# PgBouncer logs in to Postgres with the superuser's password (empty
# when pg-lib runs Postgres with trust)
echo "\"postgres\" \"${PGPASSWORD:-}\"" >"$dir/pgbouncer/userlist.txt"
printf '[databases]\n' >"$dir/pgbouncer/databases.ini" # the hook fills it
cat >"$dir/pgbouncer/pgbouncer.ini" <<EOF
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgb_port
unix_socket_dir =
auth_type = trust
auth_file = $dir/pgbouncer/userlist.txt
admin_users = postgres
pool_mode = transaction
server_login_retry = 1
server_connect_timeout = 2
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer/pgbouncer.pid
%include $dir/pgbouncer/databases.ini
EOF
cat >"$dir/repoint.conf" <<EOF
# the hook's settings for $me
pgbouncer_admin = 'host=127.0.0.1 port=$pgb_port dbname=pgbouncer user=postgres connect_timeout=2'
databases_file = '$dir/pgbouncer/databases.ini'
databases = postgres
EOF
# a copy the user postgres can run (the checkout may be closed to it)
cp "$src/deploy/hooks/pgbouncer-repoint" "$dir/pgbouncer-repoint" || fail "no deploy/hooks/pgbouncer-repoint"
chmod 755 "$dir/pgbouncer-repoint"
chown -R postgres:postgres "$dir/pgbouncer" "$dir/repoint.conf"
(cd "$dir" && exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
	pgbouncer "$dir/pgbouncer/pgbouncer.ini") >>"$dir/pgbouncer.out" 2>&1 &
pgb_pid=$!
pids="$pids $pgb_pid"
k=1
while [ $k -le "$PG_NODES" ]; do
	pg_conf $k on_role_change "'$dir/pgbouncer-repoint --config $dir/repoint.conf'"
	k=$((k + 1))
done

# ---- the cluster ----------------------------------------------------------------------------
pg_start_agents
first=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "bootstrap: the standbys did not come up"
pg_alive "$haproxy_pid" || fail "HAProxy exited"
pg_alive "$pgb_pid" || fail "PgBouncer exited: $(cat "$dir/pgbouncer.out")"
psql_as "$first" "CREATE TABLE routing (node text NOT NULL, via text NOT NULL, at timestamptz DEFAULT now())" ||
	fail "cannot create the table on $first"

# write_via PORT VIA: one new connection through PORT commits a row; prints
# the node (cluster_name) that took it; non-zero on any error (3 s at most)
write_via() {
	timeout 3 psql -X -A -t -q -v ON_ERROR_STOP=1 \
		"host=127.0.0.1 port=$1 user=postgres dbname=postgres connect_timeout=2" \
		-c "INSERT INTO routing (node, via) VALUES (current_setting('cluster_name'), '$2') RETURNING node" \
		2>>"$dir/psql-errors.log"
}
# read_via PORT: "NODE|IN_RECOVERY" of the server a new connection reaches
read_via() {
	timeout 3 psql -X -A -t -q -v ON_ERROR_STOP=1 \
		"host=127.0.0.1 port=$1 user=postgres dbname=postgres connect_timeout=2" \
		-c "SELECT current_setting('cluster_name'), pg_is_in_recovery()" \
		2>>"$dir/psql-errors.log"
}
# until_write PORT VIA WANT SECONDS: retries write_via until WANT took it
until_write() {
	_end=$(($(now_ms) + $4 * 1000))
	while [ "$(now_ms)" -lt $_end ]; do
		[ "$(write_via "$1" "$2")" = "$3" ] && return 0
		sleep 0.2
	done
	return 1
}
# until_replica PORT NOT... : waits (30 s) until PORT reaches a server in
# recovery that is none of NOT; prints it
until_replica() {
	_port=$1
	shift
	_end=$(($(now_ms) + 30000))
	while [ "$(now_ms)" -lt $_end ]; do
		_r=$(read_via "$_port")
		case "$_r" in
		pg[1-9]"|t")
			case " $* " in *" ${_r%|t} "*) ;; *) echo "${_r%|t}"; return 0 ;; esac ;;
		esac
		sleep 0.2
	done
	return 1
}
# haproxy_up LISTENER: the servers HAProxy has up there (its stats CSV)
haproxy_up() {
	curl -s --max-time 2 "http://127.0.0.1:$stats_port/;csv" |
		awk -F, -v l="$1" '$1 == l && $2 ~ /^pg/ && $18 == "UP" { printf "%s%s", s, $2; s = " " }'
}

# ---- before ---------------------------------------------------------------------------------
until_write "$rw_port" haproxy "$first" 15 ||
	fail "before: no write through HAProxy ($rw_port) reached $first in 15 s (HAProxy up: $(haproxy_up primary))"
until_write "$pgb_port" pgbouncer "$first" 15 ||
	fail "before: no write through PgBouncer reached $first in 15 s (databases.ini: $(cat "$dir/pgbouncer/databases.ini"))"
ro=$(until_replica "$ro_port" "$first") || fail "before: the read-only port reached no replica"
[ "$(haproxy_up primary)" = "$first" ] || fail "before: HAProxy has '$(haproxy_up primary)' up for writes, not $first"
echo "before: writes through HAProxy and PgBouncer on $first, reads on $ro"

# ---- crash the primary -----------------------------------------------------------------------
# poll_new PORT VIA OLD OUT: from t0 on, a new connection through PORT
# every 0.1 s until a write commits on another node than OLD; writes
# "MS NODE" (or "timeout", or "old MS" if OLD took one) to OUT
poll_new() {
	_end=$((t0 + 25000))
	while [ "$(now_ms)" -lt $_end ]; do
		_w=$(write_via "$1" "$2")
		case "$_w" in
		"$3") echo "old $(($(now_ms) - t0))" >"$4"; return 0 ;;
		pg[1-9]) echo "$(($(now_ms) - t0)) $_w" >"$4"; return 0 ;;
		esac
		sleep 0.1
	done
	echo timeout >"$4"
}
old=$first
# synchronous mode: a crash before a standby is synchronous leaves no node
# that may be promoted (and the test waiting in vain)
pg_wait_sync "$old" 60 || fail "before: no synchronous standby to fail over to"
# the write probe on every node from before the crash to the end: no two
# writable nodes, no acknowledged commit lost (pgprobe check --sync)
pg_probe_table "$old"
probe_start
sleep 1
t0=$(now_ms)
pg_crash "$old"
poll_new "$rw_port" haproxy "$old" "$dir/via-haproxy" &
poll_a=$!
poll_new "$pgb_port" pgbouncer "$old" "$dir/via-pgbouncer" &
poll_b=$!
pids="$pids $poll_a $poll_b"
new=$(wait_other_primary "$old" 25) || fail "crash of $old: no new primary in 25 s"
api_ms=$(($(now_ms) - t0))
wait "$poll_a" "$poll_b"
_pg_forget "$poll_a"
_pg_forget "$poll_b"

# secs MS: milliseconds as seconds with one decimal
secs() { echo "$(($1 / 1000)).$(($1 % 1000 / 100))"; }
for via in haproxy pgbouncer; do
	r=$(cat "$dir/via-$via" 2>/dev/null)
	case "$r" in
	timeout | '') fail "crash of $old: no write through $via reached a new primary in 25 s" ;;
	old*) fail "crash of $old: a write through $via committed on the crashed $old" ;;
	esac
	ms=${r%% *}
	node=${r#* }
	[ "$node" = "$new" ] || fail "crash of $old: the write through $via went to $node, the API says $new is primary"
	echo "failover: a new connection through $via wrote on $new $(secs "$ms") s after the crash of $old (API: $(secs "$api_ms") s)"
	[ "$ms" -le 20000 ] || fail "crash of $old: through $via it took $(secs "$ms") s, more than 20 s"
done

# ---- after -----------------------------------------------------------------------------------
[ "$(haproxy_up primary)" = "$new" ] || fail "after: HAProxy has '$(haproxy_up primary)' up for writes, not $new"
grep -q "port=$(pg_port "$new") " "$dir/pgbouncer/databases.ini" ||
	fail "after: databases.ini does not point to $new: $(cat "$dir/pgbouncer/databases.ini")"
ro=$(until_replica "$ro_port" "$new" "$old") || fail "after: the read-only port reached no replica"
grep -q hook_failed "$dir"/pg*-agent.log && fail "after: a hook failed: $(grep -h hook_failed "$dir"/pg*-agent.log)"
echo "after: HAProxy routes writes to $new only, reads to $ro; PgBouncer's databases.ini points to $new"
probe_stop
probe_check "$new" --sync >/dev/null || fail "crash of $old: the probe found a problem: $out"
[ "$(probe_count ok)" -gt 0 ] || fail "crash of $old: no probe write succeeded: the check saw nothing"
echo "probe: $(printf '%s\n' "$out" | grep 'longest gap')"
echo "ok: routing through HAProxy (deploy/haproxy.cfg) and PgBouncer (deploy/hooks/pgbouncer-repoint) follows a failover"
