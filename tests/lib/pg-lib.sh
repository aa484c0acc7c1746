# pg-lib.sh — shared by the real-Postgres tests (tests/pg/*.sh,
# tests/pg/pgprobe-selftest.sh): three tenured witnesses, N tenure-agents
# each running a PostgreSQL 15 (as the user postgres), Postgres servers
# without an agent, the pgprobe write probe, and crash / freeze of a whole
# node or of its agent alone; everything started, signalled and cleaned up
# by PID.
#
# The sourcing script sets `me` (its name) first, then
#   . "$(dirname "$0")/../lib/pg-lib.sh"
# This sources tests/lib/fault-lib.sh with slot=3 for what it has: the temp
# dir $dir, fail, wait_for, now_ms, the witnesses (start N, kill9 N,
# sig SIG N, stop N, leader_among, healthy, $TENURE_ENDPOINTS on ports
# 19800-19999, the range fault3) and tenurectl (ctl, field, expect_rc).
# Postgres and the agents take a block of 40 ports of the range pg
# (4000-4999; tests/lib/proc-lib.sh lists every test's ranges):
#   pg_port N = BASE+N, agent HTTP = BASE+10+N (N = 1..9),
#   BASE+20.. BASE+39: servers without an agent, then free for the script
#   (pg_spare_port K, K = 0..19, counting down from BASE+39).
#
# A NODE is named "pgN" or just N for an agent's node, or by the name a
# server without an agent got from pg_plain_init (lower-case letters and
# digits, not starting with "pg" followed by a digit).  Data lives in
# $dir/NODE/data, the agent's config in $dir/NODE.conf, logs in
# $dir/NODE-agent.log and $dir/NODE-postgres.log.
#
# Settings read from the environment (defaults in brackets):
#   PG_NODES [3]  PG_SCOPE [main]  PG_LEASE_TTL [the agent's]  PG_RENEW [500ms]
#   PG_SYNC [on] (synchronous_mode)  PG_FENCING [off]  PG_STONITH []
#   PG_WATCHDOG []  PG_LOG_LEVEL [info]  PG_AGENT_EXTRA [] (lines added
#   to every agent config)  PG_BIN [/usr/lib/postgresql/15/bin]
#   TENURE_AGENT [$top_builddir/tenure-agent]
#   PG_AUTH [1]: the witnesses require credentials (credentials_file):
#   tenurectl and the helpers authenticate as admin (TENURE_USER and
#   TENURE_SECRET_FILE are exported), each agent as NAME-SCOPE of role
#   agent:SCOPE, made when its config is written (the running witnesses
#   re-read the file).  0: no credentials.
#   PG_PASSWORDS [1]: Postgres logins need passwords (scram-sha-256): the
#   agents get pg_superuser_password_file and replication_password_file
#   (random, made here), and PGPASSWORD is exported for the test's own
#   connections as postgres.  0: trust, as initdb -A trust.
#   PROBE_INTERVAL_MS [20]  PROBE_TIMEOUT_MS [2500]
# KEEP=1 keeps $dir when the test fails.
#
# Functions that print a result (pg_wait_primary, pg_node_pids, ...) may
# run in $(...): they report problems on stderr and return non-zero, and
# never call fail (which would only end the subshell).
#
# Variables: this file's functions keep theirs in names starting with '_'
# and set only the outputs they document ($rc, $out, $probe_out, ...);
# fault-lib's functions (start, wait_for, leader_among, ctl, ...), which
# pg_start_witnesses and pg_cluster_list call, use i, n, p, s, l, np,
# limit and leader: do not keep values of your own in those across calls.

slot=3
# pg_lib_dir: where pg-lib.sh and fault-lib.sh live (tests/lib/); a
# sourcing script elsewhere may set it first; default: ../lib from the
# script's directory (every test is one level below tests/)
. "${pg_lib_dir:-$(dirname "$0")/../lib}/proc-lib.sh"
# Root first, before a temp dir or a port is taken: not root, skipped
proc_need_root "Postgres runs as the user postgres, started with setpriv"
. "${pg_lib_dir:-$(dirname "$0")/../lib}/fault-lib.sh"
# descendants PID..., postmaster_pid DATA_DIR (shared with
# deploy/local-cluster)
# shellcheck source=deploy/lib/proc.sh
. "${pg_lib_dir:-$(dirname "$0")/../lib}/../../deploy/lib/proc.sh"

pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# ---- credentials ----------------------------------------------------------------------
pg_auth=${PG_AUTH:-1}
if [ "$pg_auth" = 1 ]; then
	"$ctl_bin" auth new admin admin --write-secret "$dir/admin.secret" \
		>"$dir/credentials" || fail "tenurectl auth new admin failed"
	TENURE_USER=admin
	TENURE_SECRET_FILE="$dir/admin.secret"
	export TENURE_USER TENURE_SECRET_FILE
	witness_opts="--credentials-file $dir/credentials"
fi
pg_passwords=${PG_PASSWORDS:-1}
if [ "$pg_passwords" = 1 ]; then
	for _pwf in pg-superuser replication; do
		od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$dir/$_pwf.pass"
		echo >>"$dir/$_pwf.pass"
		chown postgres "$dir/$_pwf.pass"
		chmod 600 "$dir/$_pwf.pass"
	done
	PGPASSWORD=$(cat "$dir/pg-superuser.pass")
	export PGPASSWORD
fi
# pg_auth_agent NAME SCOPE: the credential NAME-SCOPE (role agent:SCOPE),
# made once; the witnesses that run (and are not stopped) re-read the file
pg_auth_agent() {
	[ "$pg_auth" = 1 ] || return 0
	_cred="$1-$2"
	grep -q "^$_cred " "$dir/credentials" && return 0
	"$ctl_bin" auth new "$_cred" "agent:$2" --write-secret "$dir/$_cred.secret" \
		>>"$dir/credentials" || fail "tenurectl auth new $_cred failed"
	chown postgres "$dir/$_cred.secret"
	for _w in 1 2 3; do
		eval "_wp=\${pid$_w:-}"
		[ -n "$_wp" ] && kill -0 "$_wp" 2>/dev/null || continue
		case "$(ps -o stat= -p "$_wp" 2>/dev/null)" in T*) continue ;; esac
		_seen=$(grep -c 'event=reloaded' "$dir/w$_w.log")
		kill -HUP "$_wp"
		wait_for 5 sh -c "[ \$(grep -c 'event=reloaded' '$dir/w$_w.log') -gt $_seen ]" ||
			fail "w$_w did not re-read its credentials within 5 s"
	done
}
agent_bin="${TENURE_AGENT:-$top/tenure-agent}"
probe_bin="$top/tests/helpers/pgprobe"
PG_NODES="${PG_NODES:-3}"
probe_pid=""
probe_out=""
probe_runs=0
pglock=""
pg_plain_count=0

# ---- set-up checks -----------------------------------------------------------------

for _b in initdb pg_ctl postgres pg_basebackup; do
	[ -x "$pg_bin/$_b" ] || fail "$pg_bin/$_b missing: PostgreSQL 15 is needed (apt-get install postgresql-15)"
done
command -v psql >/dev/null || fail "psql missing (apt-get install postgresql-client-15)"
command -v setpriv >/dev/null || fail "setpriv missing (apt-get install util-linux)"
id postgres >/dev/null 2>&1 || fail "no user postgres (apt-get install postgresql-15 creates it)"
[ -x "$probe_bin" ] || fail "$probe_bin not built (make tests/helpers/pgprobe)"
chown postgres:postgres "$dir" || fail "cannot chown $dir to postgres"

# pg_as_postgres CMD...: runs CMD as the user postgres, in $dir (in the
# foreground: `&` after it would leave a shell's pid in $!, see
# pg_start_agent for how to start a daemon)
pg_as_postgres() {
	(cd "$dir" && exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@")
}

# ---- ports ----------------------------------------------------------------------------

# pg_alloc_ports: sets pgbase, a locked block of 40 free ports in 4000-4999
pg_alloc_ports() {
	proc_alloc_ports pg # tests/lib/proc-lib.sh lists the ranges
	pgbase=$alloc_base
	pglock=$alloc_lock
}
pg_alloc_ports

# pg_name NODE: the node's name ("2" -> "pg2")
pg_name() {
	case "$1" in
	[1-9]) echo "pg$1" ;;
	*) echo "$1" ;;
	esac
}
# pg_num NODE: the agent node's number ("pg2" -> 2); empty for other servers
pg_num() {
	case "$(pg_name "$1")" in
	pg[1-9]) _n=$(pg_name "$1"); echo "${_n#pg}" ;;
	esac
}
# pg_spare_port K: a port of the block free for the script (K = 0..19)
pg_spare_port() { echo $((pgbase + 39 - $1)); }
# pg_http_port NODE: where NODE's agent serves its HTTP API
pg_http_port() { echo $((pgbase + 10 + $(pg_num "$1"))); }
# pg_port NODE: where NODE's Postgres listens
pg_port() {
	_k=$(pg_num "$1")
	if [ -n "$_k" ]; then
		echo $((pgbase + _k))
	else
		cat "$dir/$(pg_name "$1").port" 2>/dev/null
	fi
}
# pg_datadir NODE: NODE's Postgres data directory
pg_datadir() { echo "$dir/$(pg_name "$1")/data"; }
# pg_conninfo NODE: a libpq conninfo for NODE's Postgres, as postgres over TCP
pg_conninfo() {
	echo "host=127.0.0.1 port=$(pg_port "$1") user=postgres dbname=postgres connect_timeout=2"
}
# psql_as NODE SQL: runs SQL on NODE with psql (as root, over TCP);
# unaligned tuples only on stdout, exit status non-zero on any error
psql_as() {
	PGCONNECT_TIMEOUT=2 psql -X -A -t -q -v ON_ERROR_STOP=1 \
		"$(pg_conninfo "$1")" -c "$2"
}

# ---- processes -----------------------------------------------------------------------

# pg_alive PID: PID exists and is not a zombie (read from /proc: no fork,
# these run while a node is frozen and time counts)
pg_alive() {
	_line=""
	read -r _line 2>/dev/null <"/proc/$1/stat" || return 1
	_s=${_line##*) }
	[ "${_s%% *}" != Z ]
}
# _pg_parse NODE: sets _n (the node's name) and _k (its agent number, or
# empty for a server without an agent), without a subshell
_pg_parse() {
	case "$1" in
	[1-9]) _n="pg$1" ;;
	*) _n=$1 ;;
	esac
	case "$_n" in
	pg[1-9]) _k=${_n#pg} ;;
	*) _k="" ;;
	esac
}
# pg_agent_pid NODE: the pid of NODE's agent if it runs (else nothing)
pg_agent_pid() {
	_pg_parse "$1"
	eval "_p=\${pg_agent_$_k:-}"
	[ -n "$_p" ] && pg_alive "$_p" && echo "$_p"
	return 0
}
# pg_postmaster_pid NODE: the pid in NODE's postmaster.pid if it is a
# running postgres (else nothing; the status is 0 either way)
pg_postmaster_pid() {
	_pg_parse "$1"
	postmaster_pid "$dir/$_n/data"
	return 0
}
# pg_node_pids NODE: NODE's agent, its descendants (the guard), any process
# of NODE seen before that still runs (a guard outliving its agent), the
# postmaster and all its children; one pid a line.  What it finds is kept
# with each start time (so that a pid reused by another process is never
# taken for it) in $dir/NODE.seen for the next call.
pg_node_pids() {
	_pg_parse "$1"
	_roots=""
	[ -n "$_k" ] && eval "_roots=\${pg_agent_$_k:-}"
	_pm=""
	[ -f "$dir/$_n/data/postmaster.pid" ] &&
		read -r _pm 2>/dev/null <"$dir/$_n/data/postmaster.pid"
	_seen=""
	if [ -f "$dir/$_n.seen" ]; then
		while read -r _p _t; do _seen="$_seen $_p:$_t"; done <"$dir/$_n.seen"
	fi
	# the postmaster.pid of a crashed server names a pid that may have
	# been reused since: it counts only if that process is a postgres
	ps -eo pid=,ppid= | awk -v roots="$_roots" -v pm="$_pm" -v seen="$_seen" '
		function stat(p,   line, file) {
			file = "/proc/" p "/stat"
			line = ""
			if ((getline line < file) <= 0) line = ""
			close(file)
			return line
		}
		function start(p,   line, f) { # "" for a zombie or a gone pid
			line = stat(p)
			sub(/.*\) /, "", line)
			split(line, f, " ")
			return f[1] == "Z" || f[1] == "" ? "" : f[20]
		}
		{ par[$1] = $2; pid[NR] = $1 }
		END {
			n = split(roots, r, " ")
			for (i = 1; i <= n; i++) if (r[i] in par) set[r[i]] = 1
			if ((pm in par) && index(stat(pm), " (postgres) ")) set[pm] = 1
			n = split(seen, s, " ")
			for (i = 1; i <= n; i++) {
				split(s[i], kv, ":")
				if ((kv[1] in par) && start(kv[1]) == kv[2]) set[kv[1]] = 1
			}
			do {
				more = 0
				for (i = 1; i <= NR; i++)
					if (!(pid[i] in set) && (par[pid[i]] in set)) {
						set[pid[i]] = 1; more = 1
					}
			} while (more)
			for (p in set) if ((t = start(p)) != "") print p, t
		}' >"$dir/$_n.seen"
	while read -r _p _t; do echo "$_p"; done <"$dir/$_n.seen"
}
# _pg_forget PID: PID is dead, cleanup must never signal that number
# (fault-lib's forget, without its global p)
_pg_forget() {
	_np=""
	for _q in $pids; do [ "$_q" = "$1" ] || _np="$_np $_q"; done
	pids=$_np
}
# pg_reap_agent NODE: after NODE's agent was sent SIGKILL (or exited),
# waits for it and forgets its pid
pg_reap_agent() {
	_k=$(pg_num "$1")
	[ -n "$_k" ] || return 0
	eval "_p=\${pg_agent_$_k:-}"
	[ -n "$_p" ] || return 0
	wait "$_p" 2>/dev/null
	_pg_forget "$_p"
	eval "pg_agent_$_k="
}
# pg_crash NODE: kill -9 everything of NODE (agent, guard, postmaster and
# its children) at once
pg_crash() {
	_ps=$(pg_node_pids "$1")
	[ -n "$_ps" ] || fail "pg_crash $1: nothing of $(pg_name "$1") runs"
	kill -9 $_ps 2>/dev/null
	pg_reap_agent "$1"
}
# pg_freeze NODE: SIGSTOP everything of NODE (the pids in $dir/NODE.frozen)
pg_freeze() {
	_pg_parse "$1"
	_f="$dir/$_n.frozen"
	pg_node_pids "$_n" >"$_f"
	[ -s "$_f" ] || fail "pg_freeze $1: nothing of $_n runs"
	_ps=""
	while read -r _p; do _ps="$_ps $_p"; done <"$_f"
	kill -STOP $_ps 2>/dev/null
}
# pg_thaw NODE: SIGCONT what pg_freeze stopped (then whatever NODE runs now)
pg_thaw() {
	_pg_parse "$1"
	_f="$dir/$_n.frozen"
	_ps=""
	if [ -f "$_f" ]; then
		while read -r _p; do _ps="$_ps $_p"; done <"$_f"
		rm -f "$_f"
	fi
	[ -n "$_ps" ] && kill -CONT $_ps 2>/dev/null
	_ps=$(pg_node_pids "$1")
	[ -n "$_ps" ] && kill -CONT $_ps 2>/dev/null
	return 0
}
# pg_agent_kill NODE: kill -9 the agent alone (its guard must fence Postgres)
pg_agent_kill() {
	pg_node_pids "$1" >/dev/null # remember the guard: cleanup kills it
	_p=$(pg_agent_pid "$1")
	[ -n "$_p" ] || fail "pg_agent_kill $1: its agent does not run"
	kill -9 "$_p"
	pg_reap_agent "$1"
}
# pg_agent_freeze NODE / pg_agent_thaw NODE: SIGSTOP / SIGCONT the agent alone
pg_agent_freeze() {
	_p=$(pg_agent_pid "$1")
	[ -n "$_p" ] || fail "pg_agent_freeze $1: its agent does not run"
	kill -STOP "$_p"
}
pg_agent_thaw() {
	_p=$(pg_agent_pid "$1")
	[ -n "$_p" ] && kill -CONT "$_p"
	return 0
}
# pg_agent_stop NODE [SECONDS]: SIGTERM the agent and wait for it (10 s,
# then kill -9 and fail); its exit status in $rc
pg_agent_stop() {
	_p=$(pg_agent_pid "$1")
	[ -n "$_p" ] || fail "pg_agent_stop $1: its agent does not run"
	kill -TERM "$_p"
	_i=0
	while pg_alive "$_p"; do
		[ $_i -lt $((${2:-10} * 10)) ] || {
			kill -9 "$_p"
			fail "the agent of $(pg_name "$1") ignored SIGTERM for ${2:-10} s"
		}
		sleep 0.1
		_i=$((_i + 1))
	done
	wait "$_p"
	rc=$?
	pg_reap_agent "$1"
}

# ---- agents -------------------------------------------------------------------------

# pg_start_witnesses: the three tenured witnesses, waited for until one leads
pg_start_witnesses() {
	for _n in 1 2 3; do start $_n; done
	wait_for 15 leader_among 1 2 3 || fail "the witnesses elected no leader in 15 s"
}
# pg_config_file NODE: NODE's agent config
pg_config_file() { echo "$dir/$(pg_name "$1").conf"; }
# pg_write_config NODE: writes NODE's agent config from the PG_* settings
pg_write_config() {
	_n=$(pg_name "$1")
	[ -n "$(pg_num "$_n")" ] || fail "pg_write_config $1: not an agent node (pg1..pg9)"
	pg_auth_agent "$_n" "${PG_SCOPE:-main}"
	{
		echo "# $_n, written by tests/lib/pg-lib.sh for $me"
		echo "scope = '${PG_SCOPE:-main}'"
		echo "name = '$_n'"
		echo "witnesses = '$TENURE_ENDPOINTS'"
		if [ "$pg_auth" = 1 ]; then
			echo "witness_user = '$_n-${PG_SCOPE:-main}'"
			echo "witness_secret_file = '$dir/$_n-${PG_SCOPE:-main}.secret'"
		fi
		[ -n "${PG_LEASE_TTL:-}" ] && echo "lease_ttl = $PG_LEASE_TTL"
		echo "renew_interval = ${PG_RENEW:-500ms}"
		echo "pg_bin_dir = '$pg_bin'"
		echo "pg_data_dir = '$(pg_datadir "$_n")'"
		echo "pg_listen = '127.0.0.1:$(pg_port "$_n")'"
		echo "pg_superuser = 'postgres'"
		echo "replication_user = 'replicator'"
		if [ "$pg_passwords" = 1 ]; then
			echo "pg_superuser_password_file = '$dir/pg-superuser.pass'"
			echo "replication_password_file = '$dir/replication.pass'"
		fi
		echo "pg_log_file = '$dir/$_n-postgres.log'"
		# its socket in $dir, not in /var/run/postgresql, where a server
		# killed by another run leaves a lock file for the same port
		echo "pg_options = '-c unix_socket_directories=$dir/$_n'"
		echo "listen_http = '127.0.0.1:$(pg_http_port "$_n")'"
		echo "synchronous_mode = ${PG_SYNC:-on}"
		echo "fencing = ${PG_FENCING:-off}"
		[ -n "${PG_STONITH:-}" ] && echo "stonith_command = '$PG_STONITH'"
		[ -n "${PG_WATCHDOG:-}" ] && echo "watchdog_device = '$PG_WATCHDOG'"
		echo "log_level = ${PG_LOG_LEVEL:-info}"
		[ -n "${PG_AGENT_EXTRA:-}" ] && printf '%s\n' "$PG_AGENT_EXTRA"
	} >"$dir/$_n.conf"
	chmod 644 "$dir/$_n.conf"
}
# pg_lease_ttl_ms: the agents' lease TTL in ms: PG_LEASE_TTL ("2500ms",
# "2.5s", "1min") if set, else the default `tenure-agent --help` states
# (2500ms: fencing/main.c); fails (returns 1) if it cannot tell
pg_lease_ttl_ms() {
	_ttl=${PG_LEASE_TTL:-$("$agent_bin" --help 2>/dev/null |
		sed -n 's/^ *--lease-ttl .*(default \([^)]*\)).*/\1/p')}
	printf '%s\n' "$_ttl" | awk '
		/^[0-9.]+(ms|s|min)$/ {
			v = $0 + 0; u = $0; sub(/^[0-9.]+/, "", u)
			printf "%d\n", v * (u == "ms" ? 1 : u == "min" ? 60000 : 1000); ok = 1 }
		END { exit !ok }'
}
# pg_conf NODE KEY VALUE: sets KEY in NODE's config (appended: a key given
# twice takes its last value); VALUE as written in the file ('quoted')
pg_conf() {
	[ -f "$(pg_config_file "$1")" ] || pg_write_config "$1"
	echo "$2 = $3" >>"$(pg_config_file "$1")"
}
# pg_agent_bin: the agent binary the user postgres can run: $agent_bin, or
# a copy in $dir/bin (with the tenure-* binaries beside it) when the build
# directory is closed to postgres (a checkout under /root)
pg_agent_bin() {
	[ -x "$agent_bin" ] || fail "$agent_bin not built (make tenure-agent)"
	if ! pg_as_postgres test -x "$agent_bin"; then
		if [ ! -d "$dir/bin" ]; then
			mkdir -p "$dir/bin"
			cp "$(dirname "$agent_bin")"/tenure-* "$dir/bin/" 2>/dev/null
			cp "$agent_bin" "$dir/bin/"
			chmod -R a+rX "$dir/bin"
		fi
		agent_bin="$dir/bin/$(basename "$agent_bin")"
	fi
	pg_as_postgres test -x "$agent_bin" || fail "the user postgres cannot run $agent_bin"
}
# pg_start_agent NODE: starts NODE's agent as postgres (config written if
# missing; data dir missing the first time, so the agent bootstraps it);
# its pid (the agent's own: setpriv and the subshell exec it) in $pg_agent_N
pg_start_agent() {
	_n=$(pg_name "$1")
	_k=$(pg_num "$_n")
	[ -n "$_k" ] || fail "pg_start_agent $1: not an agent node (pg1..pg9)"
	[ -n "$(pg_agent_pid "$_n")" ] && fail "pg_start_agent $_n: already running"
	pg_agent_bin
	[ -f "$dir/$_n.conf" ] || pg_write_config "$_n"
	mkdir -p "$dir/$_n" && chown postgres:postgres "$dir/$_n"
	echo "=== $(date '+%T.%N') start $_n" >>"$dir/$_n-agent.log"
	(cd "$dir" && exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$agent_bin" --config "$dir/$_n.conf") >>"$dir/$_n-agent.log" 2>&1 &
	eval "pg_agent_$_k=$!"
	pids="$pids $!"
}
# pg_start_agents [STARTER]: the witnesses if not yet started, then every
# agent, each with STARTER N (default pg_start_agent)
pg_start_agents() {
	[ -n "${pid1:-}" ] || pg_start_witnesses
	_j=1
	while [ $_j -le "$PG_NODES" ]; do
		"${1:-pg_start_agent}" $_j
		_j=$((_j + 1))
	done
}
# pg_http NODE PATH: GET from NODE's agent; the body on stdout
pg_http() { curl -s --max-time 1 "http://127.0.0.1:$(pg_http_port "$1")$2"; }
# pg_http_code NODE PATH: the HTTP status of GET PATH on NODE's agent (000:
# no answer)
pg_http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
		"http://127.0.0.1:$(pg_http_port "$1")$2"
}
# pg_primaries: the nodes whose /primary answers 200, space-separated
pg_primaries() {
	_k=1
	_l=""
	while [ $_k -le "$PG_NODES" ]; do
		[ "$(pg_http_code $_k /primary)" = 200 ] && _l="$_l${_l:+ }pg$_k"
		_k=$((_k + 1))
	done
	echo "$_l"
}
# pg_wait_primary [SECONDS]: waits (30 s) until exactly one node's /primary
# is 200 and prints it (pgN); returns 1 if none came, 2 at once if two
# nodes answer 200 at the same time (a split brain as the API tells it)
pg_wait_primary() { wait_other_primary "" "${1:-30}"; }
# wait_other_primary OLD [SECONDS]: waits (30 s) for the one primary that is not
# OLD and prints it; returns 2 at once if two answer, 1 on timeout
wait_other_primary() {
	_end=$(($(now_ms) + ${2:-30} * 1000))
	while [ "$(now_ms)" -lt $_end ]; do
		_p=$(pg_primaries)
		case "$_p" in
		*" "*) echo "$me: two primaries at once: $_p" >&2; return 2 ;;
		"$1" | "") ;;
		*) echo "$_p"; return 0 ;;
		esac
		sleep 0.05
	done
	echo "$me: no ${1:+new }primary within ${2:-30} s" >&2
	return 1
}
# pg_replicas: the nodes whose /replica answers 200, space-separated
pg_replicas() {
	_k=1
	_l=""
	while [ $_k -le "$PG_NODES" ]; do
		[ "$(pg_http_code $_k /replica)" = 200 ] && _l="$_l${_l:+ }pg$_k"
		_k=$((_k + 1))
	done
	echo "$_l"
}
# pg_wait_replicas N [SECONDS]: waits (60 s) until at least N nodes answer
# 200 on /replica; prints them; returns 1 on timeout
pg_wait_replicas() {
	_end=$(($(date +%s) + ${2:-60}))
	while [ "$(date +%s)" -lt $_end ]; do
		_l=$(pg_replicas)
		set -- "$1" "${2:-60}" $_l
		if [ $(($# - 2)) -ge "$1" ]; then
			echo "$_l"
			return 0
		fi
		sleep 0.1
	done
	echo "$me: fewer than $1 replicas within ${2:-60} s (have: $_l)" >&2
	return 1
}
# pg_wait_sync PRIMARY [SECONDS [MIN]]: in synchronous mode (PG_SYNC on;
# returns 0 at once otherwise) waits (60 s) until S/sync names at least MIN
# (1) standbys and PRIMARY's Postgres counts one of them as synchronous:
# only then can a crash of PRIMARY be failed over, so every sync-mode test
# waits for this before it crashes or freezes a primary.  Returns 1 on
# timeout, saying what it saw.
pg_wait_sync() {
	[ "${PG_SYNC:-on}" = on ] || return 0
	_end=$(($(now_ms) + ${2:-60} * 1000))
	_key=""
	_pgs=""
	while [ "$(now_ms)" -lt $_end ]; do
		_key=$("$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get \
			"${PG_SCOPE:-main}/sync" -o json 2>/dev/null | jq -r .value 2>/dev/null)
		_pgs=$(psql_as "$1" "SELECT string_agg(application_name, ' ') FROM \
			pg_stat_replication WHERE sync_state IN ('sync', 'quorum')" 2>/dev/null)
		# (a key that still names the primary itself has not narrowed
		# since its promotion: a failover would wait for it)
		case ",$_key," in *",$1,"*) _key_ok=0 ;; *) _key_ok=1 ;; esac
		if [ "$_key_ok" = 1 ] &&
			[ "$(printf '%s' "$_key" | tr ',' '\n' | grep -c .)" -ge "${3:-1}" ]; then
			for _s in $_pgs; do
				case ",$_key," in *",$_s,"*) return 0 ;; esac
			done
		fi
		sleep 0.1
	done
	echo "$me: $1 has no synchronous standby after ${2:-60} s (S/sync '$_key'; synchronous in Postgres: '$_pgs')" >&2
	return 1
}
# pg_cluster_list: `tenurectl cluster list -o json` against the witnesses;
# as ctl: stdout in $out, stderr in $err, exit status in $rc
pg_cluster_list() { ctl --endpoints "$TENURE_ENDPOINTS" cluster list -o json; }

# ---- Postgres without an agent ------------------------------------------------------------

# pg_plain_init NAME: initdb (as postgres) of a server no agent runs, in
# $dir/NAME/data, trusting local TCP connections; it gets the next port
# from the top of the block (pgbase+20 up)
pg_plain_init() {
	case "$1" in
	pg[0-9]* | *[!a-z0-9]* | '') fail "pg_plain_init $1: a name of a-z0-9, not pgN" ;;
	esac
	mkdir -p "$dir/$1" && chown postgres:postgres "$dir/$1"
	pg_as_postgres "$pg_bin/initdb" -D "$dir/$1/data" -U postgres \
		--auth=trust -E UTF8 --locale=C --no-sync >"$dir/$1-initdb.out" 2>&1 ||
		{ cat "$dir/$1-initdb.out" >&2; fail "initdb of $1 failed"; }
	echo $((pgbase + 20 + pg_plain_count)) >"$dir/$1.port"
	pg_plain_count=$((pg_plain_count + 1))
}
# pg_plain_start NAME: starts NAME's server with pg_ctl (waits until it
# accepts connections); its log in $dir/NAME-postgres.log
pg_plain_start() {
	pg_as_postgres "$pg_bin/pg_ctl" -D "$dir/$1/data" -l "$dir/$1-postgres.log" \
		-w -t 30 -o "-c listen_addresses=127.0.0.1 -c port=$(pg_port "$1") \
-c unix_socket_directories=$dir/$1 -c fsync=off" start >/dev/null ||
		fail "pg_ctl start of $1 failed"
}
# pg_plain_stop NAME: stops NAME's server (fast shutdown)
pg_plain_stop() {
	pg_as_postgres "$pg_bin/pg_ctl" -D "$dir/$1/data" -m fast -w stop >/dev/null ||
		fail "pg_ctl stop of $1 failed"
}

# ---- the write probe ---------------------------------------------------------------------

# pg_probe_table NODE: creates the probe's table on NODE (a primary)
pg_probe_table() {
	psql_as "$1" "CREATE TABLE IF NOT EXISTS tenure_probe (node text NOT NULL, seq bigint NOT NULL)" ||
		fail "cannot create tenure_probe on $(pg_name "$1")"
}
# probe_start [NODE...]: pgprobe run against those nodes (default: every
# agent node) in the background; the table must exist on the primary
# (pg_probe_table).  Its log in $probe_out, its messages in $dir/probe.log
probe_start() {
	[ -z "$probe_pid" ] || fail "probe_start: a probe already runs"
	[ $# -gt 0 ] || {
		_k=1
		while [ $_k -le "$PG_NODES" ]; do set -- "$@" "pg$_k"; _k=$((_k + 1)); done
	}
	probe_runs=$((probe_runs + 1))
	probe_out="$dir/probe-$probe_runs.out"
	_args=""
	for _n in "$@"; do
		_n=$(pg_name "$_n")
		_args="$_args --node '$_n=$(pg_conninfo "$_n")'"
	done
	eval "set -- $_args"
	echo "=== $(date '+%T.%N') probe run $probe_runs" >>"$dir/probe.log"
	"$probe_bin" run "$@" --out "$probe_out" \
		--interval-ms "${PROBE_INTERVAL_MS:-20}" \
		--timeout-ms "${PROBE_TIMEOUT_MS:-2500}" >>"$dir/probe.log" 2>&1 &
	probe_pid=$!
	pids="$pids $!"
}
# probe_stop: SIGTERM the probe and wait for it (it exits 0)
probe_stop() {
	[ -n "$probe_pid" ] || fail "probe_stop: no probe runs"
	kill -TERM "$probe_pid"
	wait "$probe_pid"
	_prc=$?
	_pg_forget "$probe_pid"
	probe_pid=""
	[ "$_prc" = 0 ] || fail "pgprobe run exited $_prc"
}
# probe_check FINAL_NODE [--sync] [-o json]: pgprobe check of the last
# probe run against FINAL_NODE (the final primary); its output on stdout
# and in $out, its exit status in $rc (also returned: 0 fine, 1 violation
# or a lost synchronous commit, 2 error)
probe_check() {
	_final=$1
	shift
	"$probe_bin" check --log "$probe_out" --final "$(pg_conninfo "$_final")" "$@" \
		>"$dir/check.out" 2>&1
	rc=$?
	out=$(cat "$dir/check.out")
	printf '%s\n' "$out"
	return $rc
}
# probe_count RESULT [NODE]: how many attempts of the last run had RESULT
# (ok, err, timeout), of NODE or of all
probe_count() {
	awk -v r="$1" -v n="${2:-}" '!/^#/ && $5 == r && (n == "" || $1 == n) { c++ }
		END { print c + 0 }' "$probe_out"
}

# ---- faults on request (tests/lib/pg-fault) ---------------------------------------------

# pg_fault_init: the FIFOs tests/lib/pg-fault talks through; exports
# PG_FAULT_DIR for it
pg_fault_init() {
	PG_FAULT_DIR="$dir/fault"
	export PG_FAULT_DIR
	mkdir -p "$PG_FAULT_DIR"
	mkfifo "$PG_FAULT_DIR/req" "$PG_FAULT_DIR/rep" || fail "mkfifo failed"
}
# pg_fault KIND NODE [ARGS]: one fault on loopback; 0 done, 3 a kind that
# needs network namespaces (partitions, delay, loss, skew: see
# docs/nemesis.md), 1 it could not be made.  heal has nothing to undo here.
pg_fault() {
	_fk=$1
	_fn=$2
	case "$_fk" in
	crash | freeze | restart) [ -n "$(pg_node_pids "$_fn")" ] || {
		[ "$_fk" = restart ] || return 1
	} ;;
	esac
	case "$_fk" in
	crash) pg_crash "$_fn" ;;
	freeze) pg_freeze "$_fn" ;;
	thaw) pg_thaw "$_fn" ;;
	restart)
		pg_thaw "$_fn"
		[ -z "$(pg_node_pids "$_fn")" ] || pg_crash "$_fn"
		pg_start_agent "$_fn"
		;;
	heal) return 0 ;;
	*) return 3 ;;
	esac
}
# pg_fault_serve: answers tests/lib/pg-fault's requests, one at a time, in
# this shell (which knows every pid), until a request "done RC" comes (the
# caller sends it when its fault-making program ends): RC in $rc
pg_fault_serve() {
	while read -r _fk _fn _fa <"$PG_FAULT_DIR/req"; do
		if [ "$_fk" = done ]; then
			rc=$_fn
			return 0
		fi
		echo "=== $(date '+%T.%N') fault $_fk $_fn $_fa" >>"$dir/faults.log"
		pg_fault "$_fk" "$_fn" $_fa >>"$dir/faults.log" 2>&1
		echo $? >"$PG_FAULT_DIR/rep"
	done
	rc=2
}

# ---- STONITH -------------------------------------------------------------------------------

# pg_write_fence_agent: $dir/fence-agent, a Pacemaker-style fence agent run
# as postgres.  action=off kills -9 the node's agent (pid in
# $dir/NODE.agentpid), its postmaster (data/postmaster.pid) and all
# their descendants, and waits until none of them runs; action=status
# exits 2 if none runs, 0 if some do.  Every call is logged in
# $dir/stonith.log; while $dir/fence-broken exists every call fails (1).
pg_write_fence_agent() {
	cat >"$dir/fence-agent" <<EOF
#!/bin/sh
# fence agent double of $me (Pacemaker fence-agent protocol on stdin)
d='$dir'
action= port= nodename=
while IFS= read -r line; do
	case "\$line" in
	action=*) action=\${line#action=} ;;
	port=*) port=\${line#port=} ;;
	nodename=*) nodename=\${line#nodename=} ;;
	esac
done
echo "\$(date '+%T.%N') action=\$action port=\$port nodename=\$nodename" >>"\$d/stonith.log"
if [ -e "\$d/fence-broken" ]; then
	echo "fence device unreachable (\$d/fence-broken exists)"
	exit 1
fi
case "\$port" in
pg[1-9]) ;;
*) echo "unknown node '\$port'"; exit 1 ;;
esac
# the node's processes that run (zombies count as dead): its agent and
# its postmaster, if they are what their pid files say, and descendants
node_pids() {
	ap=\$(cat "\$d/\$port.agentpid" 2>/dev/null)
	pm=\$(head -n 1 "\$d/\$port/data/postmaster.pid" 2>/dev/null)
	ps -eo pid=,ppid=,stat=,comm= | awk -v ap="\$ap" -v pm="\$pm" '
		{ par[\$1] = \$2; st[\$1] = \$3; cm[\$1] = \$4; pid[NR] = \$1 }
		END {
			if (ap != "" && (ap in par) && cm[ap] ~ /^tenure-agent/) set[ap] = 1
			if (pm != "" && (pm in par) && cm[pm] == "postgres") set[pm] = 1
			do {
				more = 0
				for (i = 1; i <= NR; i++)
					if (!(pid[i] in set) && (par[pid[i]] in set)) {
						set[pid[i]] = 1; more = 1
					}
			} while (more)
			for (p in set) if (st[p] !~ /^Z/) print p
		}'
}
case "\$action" in
off)
	ps=\$(node_pids)
	[ -n "\$ps" ] && kill -9 \$ps
	i=0
	while [ -n "\$(node_pids)" ]; do
		[ \$i -lt 50 ] || { echo "\$port still runs: \$(node_pids | tr '\n' ' ')"; exit 1; }
		sleep 0.1
		i=\$((i + 1))
	done
	echo "\$port is off (killed:" \$ps ")"
	exit 0
	;;
status | monitor)
	if [ -n "\$(node_pids)" ]; then echo "\$port is on"; exit 0; fi
	echo "\$port is off"
	exit 2
	;;
*)
	echo "action \$action not supported"
	exit 1
	;;
esac
EOF
	chmod 755 "$dir/fence-agent"
	: >"$dir/stonith.log"
	chown postgres:postgres "$dir/stonith.log"
	pg_as_postgres test -x "$dir/fence-agent" ||
		fail "the user postgres cannot run $dir/fence-agent"
}

# ---- failure and cleanup ---------------------------------------------------------------------

# pg_dump_logs: the tail of every log of $dir on stderr
pg_dump_logs() {
	for _f in "$dir"/*.log "$dir/check.out"; do
		[ -f "$_f" ] || continue
		echo "--- $(basename "$_f") (tail)" >&2
		tail -n 30 "$_f" >&2
	done
}
# fail MESSAGE: the test fails (fault-lib's, with longer tails)
fail() {
	failed=1
	echo "FAIL: $me: $*" >&2
	pg_dump_logs
	exit 1
}
# pg_kill_all: everything this test started except the witnesses: the
# probe, agents and guards (kill -9), then every postmaster of $dir
# (woken up, asked for an immediate shutdown, then kill -9 with all its
# children, and its shared memory segment removed)
pg_kill_all() {
	[ -n "$probe_pid" ] && kill -9 "$probe_pid" 2>/dev/null
	_pms=""
	for _f in "$dir"/*/data/postmaster.pid; do
		[ -f "$_f" ] || continue
		_n=$(basename "$(dirname "$(dirname "$_f")")")
		_p=$(pg_postmaster_pid "$_n")
		[ -n "$_p" ] && _pms="$_pms $_p"
	done
	# agents, what they forked, what was seen of them, and any process whose
	# command line names $dir (an agent's forks), the postmasters aside
	_others=""
	_k=1
	while [ $_k -le 9 ]; do
		_others="$_others $(pg_agent_pid $_k)"
		[ -f "$dir/pg$_k.seen" ] && _others="$_others $(pg_node_pids $_k)"
		_k=$((_k + 1))
	done
	for _c in $(grep -alF "$dir/" /proc/[0-9]*/cmdline 2>/dev/null); do
		_p=${_c#/proc/}
		[ "${_p%/cmdline}" = "$$" ] || _others="$_others ${_p%/cmdline}"
	done
	set -- $_others
	_all_pm=$(descendants $_pms)
	_killed=""
	for _p in $(descendants "$@"); do
		case " $(echo $_all_pm) " in *" $_p "*) ;; *) kill -9 "$_p" 2>/dev/null; _killed="$_killed $_p" ;; esac
	done
	proc_reap $_killed # gone, their ports free, before the lock goes
	[ -n "$_all_pm" ] || return 0
	kill -CONT $_all_pm 2>/dev/null
	kill -QUIT $_pms 2>/dev/null
	_i=0
	while [ $_i -lt 50 ]; do
		_alive=""
		for _p in $_pms; do pg_alive "$_p" && _alive=1; done
		[ -z "$_alive" ] && break
		sleep 0.1
		_i=$((_i + 1))
	done
	_killed=$(descendants $_all_pm)
	kill -9 $_killed 2>/dev/null
	proc_reap $_killed
	for _f in "$dir"/*/data/postmaster.pid; do # a segment left by kill -9
		[ -f "$_f" ] || continue
		_id=$(sed -n 7p "$_f" | awk '{ print $2 }')
		[ -n "$_id" ] && ipcs -m | awk -v id="$_id" '$2 == id && $6 == 0 { f = 1 }
			END { exit !f }' && ipcrm -m "$_id" 2>/dev/null
	done
	return 0
}
pg_cleanup() {
	_st=$?
	if [ "$_st" != 0 ] && [ "$failed" = 0 ]; then
		failed=1
		echo "FAIL: $me: exit status $_st" >&2
		pg_dump_logs
	fi
	pg_kill_all # killed and reaped: the ports of $pglock are free
	[ -n "$pglock" ] && rm -rf "$pglock"
	pglock=""
	cleanup # proc-lib's: the witnesses (reaped), its port lock, $dir (KEEP=1)
}
trap pg_cleanup EXIT
