#!/bin/sh
# local-cluster.sh — deploy/local-cluster, the README's main command, end to
# end with the built binaries ($top_builddir): `up` refuses a directory the
# user postgres cannot reach, then starts three witnesses and three agents
# (synchronous mode) in a temp dir; DIR/env is checked; one primary and two
# replicas; a write through PG_<primary> (and through HAProxy's read-write
# port when haproxy is installed); `up` again only says it runs; freeze and
# thaw of a replica; `crash` of the primary gives a new primary within
# 30 s that has the write; `restart` brings the old one back as a replica
# (the write probe, tests/helpers/pgprobe, on the three servers from before the
# crash until then: pgprobe check --sync);
# `down` leaves no process of the cluster (checked by pid).
#
# Ports: a block of 60 in 9000-9959, the range local-cluster of
# tests/lib/proc-lib.sh (taken under a lock directory), so that it never
# shares a port with another test.  Needs
# root, PostgreSQL 15, curl, jq, psql, setpriv; skipped (77) without them.
# KEEP=1 keeps the directory of a failed run.
# The sanitizer pass of deploy/dev test sets SKIP_LONG_PG=1: this test ran
# in the normal build already, and time in CI is bounded.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "local-cluster: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=local-cluster
. "$(dirname "$0")/../lib/proc-lib.sh" # proc_alloc_ports, proc_reap (cleanup and fail are ours)
top=$(cd "${top_builddir:-.}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
lc="$src/deploy/local-cluster"
# descendants (the walk deploy/local-cluster itself uses)
# shellcheck source=deploy/lib/proc.sh
. "$src/deploy/lib/proc.sh"
ctl="$top/tenurectl"
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
export top_builddir="$top"

skip() { echo "SKIP: $me: $*" >&2; exit 77; }
proc_need_root "Postgres runs as the user postgres"
[ -x "$pg_bin/postgres" ] || skip "PostgreSQL 15 not installed (apt-get install postgresql-15)"
for t in curl jq psql setpriv; do
	command -v $t >/dev/null || skip "$t missing"
done
for b in tenured tenurectl tenure-agent; do
	[ -x "$top/$b" ] || { echo "FAIL: $me: $top/$b not built" >&2; exit 1; }
done

tmp=$(mktemp -d "/tmp/tenure-$me.XXXXXX")
cdir=$tmp/local-cluster # the default --dir, relative to where `up` runs
alt=""                  # where `up` put it, the checkout being closed
failed=0
locks=""
seen_pids=""
probe_pid=""

# ---- cleanup ------------------------------------------------------------------

cleanup() {
	st=$?
	[ "$st" = 0 ] || [ "$failed" = 1 ] || { failed=1; echo "FAIL: $me: exit status $st" >&2; }
	if [ -n "$probe_pid" ]; then
		kill -9 "$probe_pid" 2>/dev/null
		proc_reap "$probe_pid"
	fi
	if [ -f "$cdir/settings" ]; then
		"$lc" down --dir "$cdir" >/dev/null 2>&1
		collect_pids
		# shellcheck disable=SC2086
		[ -n "$seen_pids" ] && kill -9 $seen_pids 2>/dev/null
		# shellcheck disable=SC2086
		proc_reap $seen_pids # gone, their ports free, before the lock goes
	fi
	for l in $locks; do rm -rf "$l"; done
	if [ "$failed" = 1 ] && [ "${KEEP:-0}" = 1 ]; then
		echo "$me: kept $tmp" >&2
	else
		rm -rf "$tmp"
		[ -n "$alt" ] && rm -rf "$alt"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	failed=1
	echo "FAIL: $me: $*" >&2
	for f in "$cdir"/pg*/agent.log "$cdir"/w1/log "$cdir"/haproxy/log; do
		[ -f "$f" ] || continue
		echo "--- $f (tail)" >&2
		tail -n 25 "$f" >&2
	done
	exit 1
}

# ---- ports ----------------------------------------------------------------------

# base+1 .. base+51 (deploy/local-cluster --base-port base) in a locked
# block of 60 of the range local-cluster (tests/lib/proc-lib.sh)
proc_alloc_ports local-cluster
base=$((alloc_base - 1))
locks=$alloc_lock

# ---- helpers --------------------------------------------------------------------

alive() {
	line=""
	read -r line 2>/dev/null <"/proc/$1/stat" || return 1
	s=${line##*) }
	[ "${s%% *}" != Z ]
}
# collect_pids: adds to seen_pids every process of the cluster that runs now
# (the pid files, the postmasters, everything below them)
collect_pids() {
	roots=""
	for f in "$cdir"/*/pid "$cdir"/*/data/postmaster.pid; do
		[ -f "$f" ] || continue
		read -r p <"$f" 2>/dev/null || continue
		case "$p" in '' | *[!0-9]*) continue ;; esac
		alive "$p" || continue
		# a stale postmaster.pid may name an unrelated process
		case "$f" in
		*/postmaster.pid) [ "$(readlink "/proc/$p/cwd")" = "$(dirname "$f")" ] || continue ;;
		esac
		roots="$roots $p"
	done
	# shellcheck disable=SC2086
	new=$(descendants $roots)
	for p in $new; do
		case " $seen_pids " in *" $p "*) ;; *) seen_pids="$seen_pids $p" ;; esac
	done
}

json() { "$ctl" --endpoints "$TENURE_ENDPOINTS" -o json cluster list --scope local 2>/dev/null; }
primary() { json | jq -r '[.[] | select(.role == "primary")] | if length == 1 then .[0].name else empty end'; }
count_role() { # count_role ROLE [STATE]
	json | jq --arg r "$1" --arg s "${2:-}" \
		'[.[] | select(.role == $r and ($s == "" or .state == $s))] | length'
}
# sql CONNINFO SQL: one result, unaligned
sql() { PGCONNECT_TIMEOUT=2 psql -X -A -t -q -v ON_ERROR_STOP=1 "$1" -c "$2"; }
# conninfo_of NODE: PG_<NODE> from the env file
conninfo_of() {
	v="PG_$(echo "$1" | tr '[:lower:]' '[:upper:]')"
	eval "echo \"\${$v:-}\""
}
# wait_until SECONDS CMD...: CMD succeeds within SECONDS
wait_until() {
	end=$(($(date +%s) + $1))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
new_primary_other_than() { p=$(primary); [ -n "$p" ] && [ "$p" != "$1" ]; }
healthy_again() { [ "$(count_role primary)" = 1 ] && [ "$(count_role replica streaming)" = 2 ]; }
# has_sync: a replica is a synchronous standby (S/sync): a crash of the
# primary can be failed over (the cluster runs in synchronous mode)
has_sync() { json | jq -e 'any(.[]; .role == "replica" and .sync)' >/dev/null; }
role_is() { [ "$(json | jq -r --arg n "$1" '.[] | select(.name == $n) | .role + "/" + .state')" = "$2" ]; }
rw_insert() { sql "$PG_PRIMARY_RW" "INSERT INTO t VALUES ($1)" >/dev/null 2>&1; }

# The write probe (tests/helpers/pgprobe) on the three servers, through their
# PG_PGn conninfos: probe_start PRIMARY (its table made there), then
# probe_stop_check FINAL_NODE runs
# pgprobe check --sync (no two writable nodes, no acked commit lost)
probe_bin="$top/tests/helpers/pgprobe"
probe_start() {
	sql "$(conninfo_of "$1")" \
		"CREATE TABLE IF NOT EXISTS tenure_probe (node text NOT NULL, seq bigint NOT NULL)" ||
		fail "cannot create the probe's table on the primary"
	set --
	for n in pg1 pg2 pg3; do set -- "$@" --node "$n=$(conninfo_of "$n") connect_timeout=2"; done
	"$probe_bin" run "$@" --out "$tmp/probe.out" --interval-ms 20 --timeout-ms 2500 \
		>>"$tmp/probe.log" 2>&1 &
	probe_pid=$!
}
probe_stop_check() {
	kill -TERM "$probe_pid"
	wait "$probe_pid"
	prc=$?
	probe_pid=""
	[ "$prc" = 0 ] || fail "pgprobe run exited $prc: $(tail -n 5 "$tmp/probe.log")"
	"$probe_bin" check --log "$tmp/probe.out" --final "$(conninfo_of "$1") connect_timeout=2" --sync \
		>"$tmp/check.out" 2>&1 || fail "the probe found a problem: $(cat "$tmp/check.out")"
	acked=$(awk '!/^#/ && $5 == "ok" { c++ } END { print c + 0 }' "$tmp/probe.out")
	[ "$acked" -gt 0 ] || fail "no probe write succeeded: the check saw nothing"
	echo "$me: probe: $acked writes acked; $(grep 'longest gap' "$tmp/check.out")"
}

haproxy=0
if command -v haproxy >/dev/null; then
	haproxy=1
else
	echo "SKIP: $me: writes and reads through HAProxy (haproxy missing: apt-get install haproxy)"
fi

# ---- 1. a directory the user postgres cannot reach ------------------------------

chmod 700 "$tmp"
out=$("$lc" up --dir "$tmp/closed" --base-port "$base" 2>&1) && fail "up in a dir closed to postgres succeeded"
echo "$out" | grep -q "cannot enter $tmp" || fail "up in a closed dir: no message naming $tmp: $out"
echo "$out" | grep -q "hint:" || fail "up in a closed dir: no hint: $out"
chmod 755 "$tmp"
echo "$me: a closed directory is refused: ok"

# ---- 2. up ----------------------------------------------------------------------------

# As a first user runs it: in a checkout the user postgres cannot enter
# (a clone under /root), with no --dir: the cluster goes where postgres can
# reach it, ./local-cluster links there, and every command still finds it.
t0=$(date +%s)
chmod 700 "$tmp"
(cd "$tmp" && exec "$lc" up --base-port "$base") >"$tmp/up.out" 2>&1 || {
	cat "$tmp/up.out" >&2
	fail "up failed"
}
[ -L "$cdir" ] && alt=$(readlink "$cdir")
case "$alt" in
/var/tmp/tenure-local-cluster-*) ;;
*) fail "up in a closed checkout did not put the cluster elsewhere: $cdir -> '$alt'" ;;
esac
grep -q "the user postgres cannot enter $tmp: the cluster lives in $alt" "$tmp/up.out" ||
	fail "up in a closed checkout did not say where the cluster is: $(head -n 3 "$tmp/up.out")"
echo "$me: up in $(($(date +%s) - t0)) s (base port $base)"
grep -q "primary" "$tmp/up.out" || fail "up did not print the cluster list"
[ "$(grep -cE '^w[123] +127\.0\.0\.1:[0-9]+ +(leader|follower) ' "$tmp/up.out")" = 3 ] ||
	fail "up did not print tenurectl status (three witnesses): $(cat "$tmp/up.out")"
grep -q "host=127.0.0.1 port=$((base + 31)) user=postgres dbname=postgres" "$tmp/up.out" ||
	fail "up did not print pg1's connection string"

env="$cdir/env"
[ -f "$env" ] || fail "no $env"
grep -qx "TENURE_ENDPOINTS=127.0.0.1:$((base + 11)),127.0.0.1:$((base + 12)),127.0.0.1:$((base + 13))" "$env" ||
	fail "env: TENURE_ENDPOINTS wrong: $(cat "$env")"
grep -qx "TENURE_SCOPE=local" "$env" || fail "env: no TENURE_SCOPE=local"
for k in 1 2 3; do
	grep -qx "PG_PG$k='host=127.0.0.1 port=$((base + 30 + k)) user=postgres dbname=postgres'" "$env" ||
		fail "env: PG_PG$k wrong or missing: $(cat "$env")"
done
grep -q "^PG_PG4=" "$env" && fail "env: a fourth node"
if [ "$haproxy" = 1 ]; then
	grep -qx "PG_PRIMARY_RW='host=127.0.0.1 port=$((base + 50)) user=postgres dbname=postgres'" "$env" ||
		fail "env: PG_PRIMARY_RW wrong or missing"
	grep -qx "PG_RO='host=127.0.0.1 port=$((base + 51)) user=postgres dbname=postgres'" "$env" ||
		fail "env: PG_RO wrong or missing"
else
	grep -q "^PG_PRIMARY_RW=" "$env" && fail "env: PG_PRIMARY_RW without haproxy"
fi
unset TENURE_ENDPOINTS TENURE_SCOPE TENURE_USER TENURE_SECRET_FILE PGPASSFILE
# shellcheck disable=SC1090
. "$env"
[ "$TENURE_SCOPE" = local ] || fail "sourcing env did not set TENURE_SCOPE"
# secured: credentials and Postgres passwords made at the first up,
# readable by their users only, and used
[ "$TENURE_USER" = admin ] && [ -f "$TENURE_SECRET_FILE" ] && [ -f "$PGPASSFILE" ] ||
	fail "env: no TENURE_USER, TENURE_SECRET_FILE or PGPASSFILE: $(cat "$env")"
for f in credentials admin.secret pg1.secret pg-superuser.pass replication.pass pgpass; do
	[ "$(stat -c %a "$cdir/secrets/$f")" = 600 ] ||
		fail "secrets/$f has mode $(stat -c %a "$cdir/secrets/$f"), not 600"
done
[ "$(stat -c %U "$cdir/secrets/pg1.secret")" = postgres ] || fail "pg1.secret is not postgres's"
"$ctl" --endpoints "$TENURE_ENDPOINTS" --user "" status >/dev/null 2>&1 &&
	fail "the witnesses answered tenurectl without a credential"
grep -q "witness_user = 'pg1'" "$cdir/pg1/agent.conf" || fail "pg1's agent has no witness credential"
# TLS: the witnesses' HTTP (and client port) speak only TLS, with
# certificates of the cluster's own CA; the agents dial them with it
[ -f "$TENURE_CACERT" ] || fail "env: no TENURE_CACERT"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$TENURE_CACERT" \
	"https://127.0.0.1:$((base + 21))/health")
[ "$code" = 200 ] || fail "https /health of w1 answered $code"
curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$((base + 21))/health" &&
	fail "w1's HTTP port answered plain HTTP"
grep -q "^witness_ca_file = '.*/secrets/pki/ca.crt'" "$cdir/pg1/agent.conf" ||
	fail "pg1's agent does not dial the witnesses with TLS"
grep -q 'peer-tls-cert-file' /proc/"$(cat "$cdir/w1/pid")"/cmdline ||
	fail "w1 runs without peer TLS"
# SIGHUP to an agent re-reads its TLS files and nothing stops
kill -HUP "$(cat "$cdir/pg1/pid")"
hup_seen() { grep -q 'event=reloaded what=witness-tls' "$cdir/pg1/agent.log"; }
_t=0
until hup_seen; do
	_t=$((_t + 1))
	[ $_t -le 50 ] || fail "pg1's agent did not re-read its TLS files on SIGHUP"
	sleep 0.1
done
alive "$(cat "$cdir/pg1/pid")" || fail "pg1's agent died of SIGHUP"
if PGPASSFILE=/dev/null PGPASSWORD= sql "$PG_PG1" "SELECT 1" >/dev/null 2>&1; then
	fail "Postgres let postgres in without a password"
fi
for n in w1 w2 w3 pg1 pg2 pg3; do
	[ -f "$cdir/$n/pid" ] || fail "no pid file $cdir/$n/pid"
	alive "$(cat "$cdir/$n/pid")" || fail "$n's pid file names no running process"
done
owner=$(stat -c %U "$cdir/pg1/data")
[ "$owner" = postgres ] || fail "pg1's data belongs to $owner, not postgres"
agent_user=$(ps -o user= -p "$(cat "$cdir/pg1/pid")")
[ "$agent_user" = postgres ] || fail "pg1's agent runs as $agent_user, not postgres"

[ "$(count_role primary)" = 1 ] || fail "not one primary: $(json)"
[ "$(count_role replica streaming)" = 2 ] || fail "not two streaming replicas: $(json)"
old=$(primary)
[ -n "$old" ] || fail "no primary name"
cold=$(conninfo_of "$old")
sql "$cold" "CREATE TABLE t (x int); INSERT INTO t VALUES (1)" || fail "write to $old ($cold) failed"
echo "$me: one primary ($old), two replicas, a write through PG_$(echo "$old" | tr '[:lower:]' '[:upper:]'): ok"
if [ "$haproxy" = 1 ]; then
	wait_until 10 rw_insert 2 || fail "no write through HAProxy (PG_PRIMARY_RW) within 10 s"
	[ "$(sql "$PG_RO" "SELECT pg_is_in_recovery()")" = t ] || fail "PG_RO did not reach a replica"
	echo "$me: a write through HAProxy's read-write port, a read on the read-only one: ok"
fi
collect_pids

# ---- 3. up again, status ----------------------------------------------------------------

"$lc" up --dir "$cdir" >"$tmp/up2.out" 2>&1 || { cat "$tmp/up2.out" >&2; fail "a second up failed"; }
grep -q "already runs" "$tmp/up2.out" || fail "a second up did not say the cluster runs: $(cat "$tmp/up2.out")"
"$lc" status --dir "$cdir" >"$tmp/status.out" 2>&1 || { cat "$tmp/status.out" >&2; fail "status failed"; }
[ "$(grep -c ' running ' "$tmp/status.out")" -ge 9 ] || fail "status: not everything running: $(cat "$tmp/status.out")"
grep -qE '^w[123] +127\.0\.0\.1:[0-9]+ +leader ' "$tmp/status.out" ||
	fail "status: no witness table with a leader: $(cat "$tmp/status.out")"
echo "$me: up again and status: ok"

# ---- 4. freeze and thaw a replica ------------------------------------------------------------

rep=$(json | jq -r '[.[] | select(.role == "replica")][0].name')
"$lc" freeze "$rep" --dir "$cdir" >/dev/null || fail "freeze $rep failed"
"$lc" status --dir "$cdir" | grep -q "^$rep .* frozen " || fail "status does not show $rep frozen"
"$lc" thaw "$rep" --dir "$cdir" >/dev/null || fail "thaw $rep failed"
wait_until 30 role_is "$rep" replica/streaming || fail "$rep not streaming again after thaw: $(json)"
echo "$me: freeze and thaw of $rep: ok"

# ---- 5. crash of the primary, restart ----------------------------------------------------------

collect_pids
wait_until 30 has_sync || fail "no synchronous standby before the crash: $(json)"
[ -x "$probe_bin" ] || fail "$probe_bin not built (make tests/helpers/pgprobe)"
probe_start "$old"
sleep 1
t0=$(date +%s)
"$lc" crash "$old" --dir "$cdir" >/dev/null || fail "crash $old failed"
agent_pid=$(cat "$cdir/$old/pid")
alive "$agent_pid" && fail "$old's agent still runs after crash"
wait_until 30 new_primary_other_than "$old" || fail "no new primary within 30 s of the crash: $(json)"
new=$(primary)
echo "$me: crash of $old: $new primary after $(($(date +%s) - t0)) s"
[ "$(sql "$(conninfo_of "$new")" "SELECT count(*) FROM t WHERE x = 1")" = 1 ] ||
	fail "the write made on $old is not on $new"
if [ "$haproxy" = 1 ]; then
	[ "$(sql "$(conninfo_of "$new")" "SELECT count(*) FROM t WHERE x = 2")" = 1 ] ||
		fail "the write made through HAProxy is not on $new"
fi
sql "$(conninfo_of "$new")" "INSERT INTO t VALUES (3)" || fail "write to the new primary $new failed"
if [ "$haproxy" = 1 ]; then
	wait_until 30 rw_insert 4 || fail "no write through HAProxy within 30 s of the failover"
	echo "$me: a write through HAProxy after the failover: ok"
fi

"$lc" restart "$old" --dir "$cdir" >/dev/null || fail "restart $old failed"
wait_until 90 role_is "$old" replica/streaming || fail "$old did not rejoin as a replica: $(json)"
wait_until 30 healthy_again || fail "not one primary and two replicas after the restart: $(json)"
echo "$me: restart of $old: back as a streaming replica"
sleep 1
final=$(primary)
[ -n "$final" ] || fail "no primary to check the probe against: $(json)"
probe_stop_check "$final"
collect_pids

# ---- 6. down ----------------------------------------------------------------------------------

"$lc" down --dir "$cdir" >"$tmp/down.out" 2>&1 || { cat "$tmp/down.out" >&2; fail "down failed"; }
grep -q "rm -rf $alt $cdir" "$tmp/down.out" || fail "down did not say how to remove the data (and the link): $(cat "$tmp/down.out")"
left=""
for p in $seen_pids; do
	alive "$p" || continue
	# a pid reused by another program is not ours
	case "$(cat "/proc/$p/comm" 2>/dev/null)" in
	tenured | tenure-agent | tenure-guard | postgres | haproxy) left="$left $p" ;;
	esac
done
[ -z "$left" ] || fail "processes left after down: $(ps -o pid=,comm=,args= -p "$(echo "$left" | sed 's/^ //' | tr ' ' ',')")"
[ -d "$cdir/pg1/data" ] || fail "down removed the data"
"$lc" status --dir "$cdir" >/dev/null 2>&1 && fail "status exits 0 on a stopped cluster"
echo "$me: down: nothing left running (checked $(echo "$seen_pids" | wc -w) pids)"
echo "$me: ok"
