# netns-lib.sh — a multi-host cluster on one machine for the real-Postgres
# tests: every witness, every Postgres host (Postgres, tenure-agent and its
# guard), HAProxy and a client host in a network namespace of its own on
# one bridge (deploy/lib/netns.sh builds them and makes the faults), with
# private addresses that exist only inside the namespaces this run made:
#
#   w1..w3     10.77.0.11-13   tenured: peer 2380, client 2379, HTTPS 8080
#   pg1..pgN   10.77.0.21-..   Postgres 5432, the agent's HTTPS API 8008
#   haproxy    10.77.0.30      5000 read-write (/primary), 5001 read-only
#   client     10.77.0.40      tenurectl, pgprobe, psql of the test
#
# Secured as a real deployment is (the daemons refuse to listen off
# loopback otherwise): a CA and certificates from deploy/pki (mutual TLS
# between witnesses, TLS to their client and HTTP ports, HTTPS on the
# agents' API, checked by HAProxy with check-ssl), the witnesses'
# credentials and the Postgres passwords of tests/lib/pg-lib.sh, and a
# pg_hba.conf per host that asks every TCP login for scram-sha-256.
#
# The sourcing script sets `me`, then
#   . "$(dirname "$0")/../lib/netns-lib.sh"
# which sources tests/lib/pg-lib.sh (root, the temp dir $dir, credentials,
# passwords, the probe, cleanup) and replaces its loopback functions
# (start, http, pg_conninfo, psql_as, pg_http, pg_start_agent, ...) with
# ones that reach the hosts in their namespaces; pg-lib's waiting
# functions (pg_wait_primary, pg_wait_sync, leader_among, ...) work
# unchanged.  tenurectl and pgprobe run in the client's namespace
# ($ctl_bin and $probe_bin are wrappers).  Then
#   netns_cluster_up        hosts, bridge, certificates (no process yet)
#   pg_start_witnesses, pg_start_agents, netns_start_haproxy
#   netns_fault KIND NODE [ARGS]   (deploy/lib/netns.sh lists the kinds)
#   netns_cluster_down      everything stopped, every namespace removed
#                           (also done on exit, after a failure too)
# The fault command tests/lib/netns-fault works on the same cluster from
# another program: NETNS_STATE_DIR is exported.
# Settings besides pg-lib's: NETNS_ELECTION [300ms], NETNS_HEARTBEAT [50ms]
# (the witnesses'), NETDELAY [$top_builddir/tests/helpers/netdelay].

pg_lib_dir=${pg_lib_dir:-$(dirname "$0")/../lib}
# shellcheck source=tests/lib/pg-lib.sh
. "$pg_lib_dir/pg-lib.sh"
# shellcheck source=deploy/lib/netns.sh
. "$pg_lib_dir/../../deploy/lib/netns.sh"

netns_need_tools || exit 77
for _t in haproxy openssl; do
	command -v $_t >/dev/null || { echo "SKIP: $me: $_t missing (apt-get install $_t)"; exit 77; }
done

netns_pki="$dir/pki"
# absolute: the hosts' processes start in $dir
netns_abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
bin=$(netns_abs "$bin")
agent_bin=$(netns_abs "$agent_bin")
netns_real_ctl=$(netns_abs "$ctl_bin")
netns_real_probe=$(netns_abs "$probe_bin")

# ---- addresses and ports -------------------------------------------------------------

netns_host_num() { # the last byte of NODE's address
	case "$1" in
	w[1-9]) echo $((10 + ${1#w})) ;;
	pg[1-9]) echo $((20 + ${1#pg})) ;;
	haproxy) echo 30 ;;
	client) echo 40 ;;
	esac
}
netns_ip() { echo "$netns_net.$(netns_host_num "$1")"; }

# ---- cleanup ---------------------------------------------------------------------------

# netns_cleanup: pg-lib's cleanup (Postgres asked to stop and its shared
# memory removed, agents and witnesses killed), with every namespace of
# this run removed before the temp dir goes
netns_cleanup() {
	_st=$?
	if [ "$_st" != 0 ] && [ "$failed" = 0 ]; then
		failed=1
		echo "FAIL: $me: exit status $_st" >&2
		pg_dump_logs
	fi
	[ -n "${netns_probe2_pid:-}" ] && kill -9 "$netns_probe2_pid" 2>/dev/null
	pg_kill_all
	netns_destroy
	[ -n "$pglock" ] && rm -rf "$pglock"
	pglock=""
	cleanup
}
trap netns_cleanup EXIT

# ---- the hosts --------------------------------------------------------------------------

# netns_wrapper NAME PROGRAM: $dir/nsbin/NAME runs PROGRAM in the client's
# namespace
netns_wrapper() {
	mkdir -p "$dir/nsbin"
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$(netns_name client)" "$2" >"$dir/nsbin/$1"
	chmod 755 "$dir/nsbin/$1"
	echo "$dir/nsbin/$1"
}

# netns_cluster_up: the namespaces (prefix tn<pid>), the bridge, the hosts,
# the certificates and the settings every later function uses
netns_cluster_up() {
	netns_create "$dir/netns" "tn$$" ||
		{ echo "SKIP: $me: cannot create network namespaces here"; exit 77; }
	for _h in w1 w2 w3 $(pg_all_nodes) haproxy client; do
		netns_add_host "$_h" "$(netns_host_num "$_h")" || fail "cannot create host $_h"
	done
	"$pg_lib_dir/../../deploy/pki" init "$netns_pki" >/dev/null || fail "deploy/pki init failed"
	for _h in w1 w2 w3; do
		"$pg_lib_dir/../../deploy/pki" witness "$netns_pki" "$_h" "$(netns_ip "$_h")" >/dev/null ||
			fail "deploy/pki witness $_h failed"
	done
	for _h in $(pg_all_nodes); do
		"$pg_lib_dir/../../deploy/pki" server "$netns_pki" "$_h" "$(netns_ip "$_h")" >/dev/null ||
			fail "deploy/pki server $_h failed"
		chown postgres "$netns_pki/$_h.key"
	done
	chmod 755 "$netns_pki"
	echo "$netns_pki/ca.crt" >"$netns_state/ca"
	_nd=${NETDELAY:-$top/tests/helpers/netdelay}
	[ -x "$_nd" ] && echo "$_nd" >"$netns_state/netdelay"
	TENURE_ENDPOINTS="$(netns_ip w1):2379,$(netns_ip w2):2379,$(netns_ip w3):2379"
	TENURE_CACERT="$netns_pki/ca.crt"
	export TENURE_ENDPOINTS TENURE_CACERT
	ctl_bin=$(netns_wrapper tenurectl "$netns_real_ctl")
	probe_bin=$(netns_wrapper pgprobe "$netns_real_probe")
	cluster="w1=$(netns_ip w1):2380,w2=$(netns_ip w2):2380,w3=$(netns_ip w3):2380"
}
pg_all_nodes() {
	_j=1
	while [ $_j -le "$PG_NODES" ]; do printf 'pg%s ' $_j; _j=$((_j + 1)); done
}
# netns_cluster_down: every process stopped, every namespace gone; fails
# if one of this run's namespaces is left
netns_cluster_down() {
	[ -n "${netns_probe2_pid:-}" ] && kill -9 "$netns_probe2_pid" 2>/dev/null
	pg_kill_all
	netns_destroy
	if ip netns list | grep -q "^tn$$-"; then
		fail "namespaces left after netns_cluster_down: $(ip netns list | grep "^tn$$-" | tr '\n' ' ')"
	fi
}

# ---- witnesses ----------------------------------------------------------------------------

# start N: witness wN in its namespace (pg-lib's start, off loopback)
start() {
	n=$1
	shift
	_a=$(netns_ip "w$n")
	_p=$netns_pki
	netns_write_start "w$n" "$dir" "$dir/w$n.log" "$bin" --name "w$n" --data-dir "$dir/w$n" \
		--listen-peer "$_a:2380" --listen-client "$_a:2379" --listen-http "$_a:8080" \
		--initial-cluster "$cluster" \
		--election-timeout "${NETNS_ELECTION:-300ms}" \
		--heartbeat-interval "${NETNS_HEARTBEAT:-50ms}" \
		--credentials-file "$dir/credentials" \
		--tls-cert-file "$_p/w$n.crt" --tls-key-file "$_p/w$n.key" --tls-ca-file "$_p/ca.crt" \
		--peer-tls-cert-file "$_p/w$n.crt" --peer-tls-key-file "$_p/w$n.key" \
		--peer-tls-ca-file "$_p/ca.crt" "$@"
	netns_restart "w$n" || fail "cannot start w$n"
	eval "pid$n=$netns_started"
	pids="$pids $netns_started"
}
# http N PATH: GET PATH of witness N, from its own namespace
http() {
	netns_in "w$1" curl -s --max-time 1 --cacert "$netns_pki/ca.crt" \
		"https://$(netns_ip "w$1"):8080$2"
}
healthy() {
	for n in "$@"; do
		[ "$(netns_https "w$n" 8080 /health)" = 200 ] || return 1
	done
}

# ---- Postgres hosts ---------------------------------------------------------------------------

pg_port() { echo 5432; }
pg_conninfo() {
	echo "host=$(netns_ip "$(pg_name "$1")") port=5432 user=postgres dbname=postgres connect_timeout=2"
}
# psql_as NODE SQL: psql in NODE's own namespace (reachable whatever the
# partitions)
psql_as() {
	netns_in "$(pg_name "$1")" env PGCONNECT_TIMEOUT=2 psql -X -A -t -q -v ON_ERROR_STOP=1 \
		"$(pg_conninfo "$1")" -c "$2"
}
pg_http() {
	netns_in "$(pg_name "$1")" curl -s --max-time 1 --cacert "$netns_pki/ca.crt" \
		"https://$(netns_ip "$(pg_name "$1")"):8008$2"
}
pg_http_code() { netns_https "$(pg_name "$1")" 8008 "$2"; }

# pg_write_config NODE: NODE's agent config, off loopback and secured
pg_write_config() {
	_n=$(pg_name "$1")
	_a=$(netns_ip "$_n")
	pg_auth_agent "$_n" "${PG_SCOPE:-main}"
	mkdir -p "$dir/$_n" && chown postgres:postgres "$dir/$_n"
	# every TCP login with a password; replication from the hosts' net
	cat >"$dir/$_n/pg_hba.conf" <<EOF
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all $netns_net.0/24 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
host replication all $netns_net.0/24 scram-sha-256
EOF
	chown postgres "$dir/$_n/pg_hba.conf"
	{
		echo "# $_n, written by tests/lib/netns-lib.sh for $me"
		echo "scope = '${PG_SCOPE:-main}'"
		echo "name = '$_n'"
		echo "witnesses = '$TENURE_ENDPOINTS'"
		echo "witness_user = '$_n-${PG_SCOPE:-main}'"
		echo "witness_secret_file = '$dir/$_n-${PG_SCOPE:-main}.secret'"
		echo "witness_ca_file = '$netns_pki/ca.crt'"
		[ -n "${PG_LEASE_TTL:-}" ] && echo "lease_ttl = $PG_LEASE_TTL"
		echo "renew_interval = ${PG_RENEW:-500ms}"
		echo "pg_bin_dir = '$pg_bin'"
		echo "pg_data_dir = '$(pg_datadir "$_n")'"
		echo "pg_listen = '$_a:5432'"
		echo "pg_superuser = 'postgres'"
		echo "replication_user = 'replicator'"
		echo "pg_superuser_password_file = '$dir/pg-superuser.pass'"
		echo "replication_password_file = '$dir/replication.pass'"
		echo "pg_log_file = '$dir/$_n-postgres.log'"
		echo "pg_options = '-c unix_socket_directories=$dir/$_n -c hba_file=$dir/$_n/pg_hba.conf'"
		echo "listen_http = '$_a:8008'"
		echo "http_tls_cert_file = '$netns_pki/$_n.crt'"
		echo "http_tls_key_file = '$netns_pki/$_n.key'"
		echo "synchronous_mode = ${PG_SYNC:-on}"
		echo "fencing = ${PG_FENCING:-off}"
		echo "log_level = ${PG_LOG_LEVEL:-info}"
		[ -n "${PG_AGENT_EXTRA:-}" ] && printf '%s\n' "$PG_AGENT_EXTRA"
	} >"$dir/$_n.conf"
	chmod 644 "$dir/$_n.conf"
}
# pg_start_agent NODE: NODE's agent (as postgres) in NODE's namespace
pg_start_agent() {
	_n=$(pg_name "$1")
	_k=$(pg_num "$_n")
	[ -n "$(pg_agent_pid "$_n")" ] && fail "pg_start_agent $_n: already running"
	pg_agent_bin
	[ -f "$dir/$_n.conf" ] || pg_write_config "$_n"
	echo "=== $(date '+%T.%N') start $_n" >>"$dir/$_n-agent.log"
	netns_write_start "$_n" "$dir" "$dir/$_n-agent.log" \
		setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$agent_bin" --config "$dir/$_n.conf"
	netns_restart "$_n" || fail "cannot start $_n"
	eval "pg_agent_$_k=$netns_started"
	pids="$pids $netns_started"
}

# ---- HAProxy ------------------------------------------------------------------------------------

# netns_start_haproxy: HAProxy on the host haproxy, checking the agents'
# /primary and /replica over HTTPS (their certificates from the CA)
netns_start_haproxy() {
	{
		printf 'global\n    maxconn 200\n'
		printf 'defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30m\n'
		printf '    timeout server 30m\n    timeout check 1s\n'
		for _l in "primary 5000 /primary" "replicas 5001 /replica?lag=16MB"; do
			# shellcheck disable=SC2086
			set -- $_l
			printf 'listen %s\n    bind %s:%s\n' "$1" "$(netns_ip haproxy)" "$2"
			printf '    option httpchk\n    http-check send meth OPTIONS uri %s\n' "$3"
			printf '    http-check expect status 200\n'
			printf '    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions'
			printf ' check-ssl verify required ca-file %s\n' "$netns_pki/ca.crt"
			for _h in $(pg_all_nodes); do
				printf '    server %s %s:5432 check port 8008\n' "$_h" "$(netns_ip "$_h")"
			done
		done
	} >"$dir/haproxy.cfg"
	haproxy -c -q -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 || fail "HAProxy rejects $dir/haproxy.cfg"
	netns_write_start haproxy "$dir" "$dir/haproxy.log" haproxy -db -f "$dir/haproxy.cfg"
	netns_restart haproxy || fail "cannot start HAProxy"
	pids="$pids $netns_started"
}
# netns_haproxy_conninfo: read-write through HAProxy
netns_haproxy_conninfo() {
	echo "host=$(netns_ip haproxy) port=5000 user=postgres dbname=postgres connect_timeout=2"
}

# ---- faults, with pg-lib's books kept ---------------------------------------------------------

# netns_start_node NODE: NODE's processes started again
netns_start_node() {
	case "$1" in
	w[1-9]) start "${1#w}" ;;
	pg[1-9]) pg_start_agent "$1" ;;
	*) netns_restart "$1" && pids="$pids $netns_started" ;;
	esac
}
# netns_fault KIND NODE [ARGS]: deploy/lib/netns.sh's, with the pids of
# what a crash ended forgotten and what a restart started recorded; a
# restart of a node that runs crashes it first (the nemesis's restart)
netns_fault() {
	case "$1" in
	crash)
		netns_fault_core crash "$2" || return 1
		case "$2" in
		pg[1-9]) pg_reap_agent "$2" ;;
		w[1-9]) eval "wait \$pid${2#w} 2>/dev/null; _pg_forget \$pid${2#w}" ;;
		esac
		;;
	restart) # a running node is crashed first (thawed if frozen)
		netns_fault_core thaw "$2"
		[ -z "$(netns_pids "$2")" ] || netns_fault crash "$2" || return 1
		netns_start_node "$2"
		;;
	skew)
		case "${3:-}" in [0-9]*) set -- "$1" "$2" "+$3" ;; esac
		echo "${3:-0}" >"$netns_state/$2.skew"
		[ -z "$(netns_pids "$2")" ] || netns_fault crash "$2" || return 1
		netns_start_node "$2"
		;;
	*) netns_fault_core "$@" ;;
	esac
}

# netns_margin LOG OLD NEW: the fencing margin in ms, from a pgprobe log:
# NEW's first acknowledged write (the time it was sent) minus OLD's last
# acknowledged write (the time its acknowledgement came); positive: the
# two primaries' writes are ordered in real time.  Empty if either has none.
netns_margin() {
	awk -v o="$2" -v n="$3" '!/^#/ && $5 == "ok" {
			if ($1 == o && $4 > last) last = $4
			if ($1 == n && (first == "" || $3 < first)) first = $3
		}
		END { if (last != "" && first != "") printf "%.1f\n", (first - last) / 1000 }' "$1"
}
# netns_first_ok LOG NODE [AFTER_US]: NODE's first acknowledged write after
# AFTER_US: its acknowledgement time (µs)
netns_first_ok() {
	awk -v n="$2" -v t="${3:-0}" '!/^#/ && $5 == "ok" && $1 == n && $3 >= t {
			if (f == "" || $4 < f) f = $4 } END { print f }' "$1"
}
# netns_last_ok LOG NODE: NODE's last acknowledged write's acknowledgement (µs)
netns_last_ok() {
	awk -v n="$2" '!/^#/ && $5 == "ok" && $1 == n && $4 > l { l = $4 } END { print l }' "$1"
}
