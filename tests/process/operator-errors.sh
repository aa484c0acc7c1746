#!/bin/sh
# operator-errors.sh — every mistake an operator can make with tenured,
# tenure-agent, tenurectl and deploy/local-cluster, made for real: each
# must exit non-zero (2 for a bad setting or bad input, 1 for a port in
# use), say what is wrong AND what to do (checked by grepping for both
# halves of the message), never crash (no sanitizer report), and leave data
# directories as they were.
#
# One tenured runs for the whole test: its ports are the "port in use"
# cases and its data dir the "another witness's data dir" case (which must
# be refused without a byte changed).  The agent runs as the user postgres
# (it refuses root); with its witnesses down it must stay up, warn, and say
# why on /health.  No Postgres server is started.
#
# Ports: a block of 60 in 32200-32379 (the range operator of
# tests/lib/proc-lib.sh, taken under a lock directory).  Needs root, setpriv, the user
# postgres, curl and PostgreSQL 15's binaries (PG_BIN); skipped (77)
# without them.  KEEP=1 keeps the temp dir of a failed run.
set -u
me=operator-errors
. "$(dirname "$0")/../lib/proc-lib.sh" # for proc_alloc_ports and proc_reap
top=$(cd "${top_builddir:-.}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

skip() { echo "SKIP: $me: $*" >&2; exit 77; }
proc_need_root "the agent runs as the user postgres, started with setpriv; chown"
command -v setpriv >/dev/null || skip "setpriv missing (apt-get install util-linux)"
command -v curl >/dev/null || skip "curl missing"
id postgres >/dev/null 2>&1 || skip "no user postgres (apt-get install postgresql-15)"
[ -x "$pg_bin/postgres" ] || skip "PostgreSQL 15 not installed (apt-get install postgresql-15)"
for b in tenured tenure-agent tenurectl; do
	[ -x "$top/$b" ] || { echo "FAIL: $me: $top/$b not built" >&2; exit 1; }
done

tmp=$(mktemp -d "/tmp/tenure-$me.XXXXXX")
chmod 755 "$tmp"
failed=0
pids=""
oplock=""

cleanup() { # the processes (killed and reaped), then the port lock, $tmp
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	# shellcheck disable=SC2086
	proc_reap $pids
	[ -n "$oplock" ] && rm -rf "$oplock"
	oplock=""
	if [ "$failed" = 1 ] && [ "${KEEP:-0}" = 1 ]; then
		echo "$me: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() { failed=1; echo "FAIL: $me: $*" >&2; exit 1; }

# check WHAT RC WHAT_RE DO_RE CMD...: CMD exits RC, its output says what is
# wrong (WHAT_RE) and what to do (DO_RE), both extended regexps
check() {
	_what=$1 _want=$2 _wre=$3 _dre=$4
	shift 4
	timeout 20 "$@" >"$tmp/out" 2>&1
	_rc=$?
	[ "$_rc" = "$_want" ] ||
		fail "$_what: exit $_rc, expected $_want: $(head -c 800 "$tmp/out")"
	grep -qE -- "$_wre" "$tmp/out" ||
		fail "$_what: does not say what is wrong (/$_wre/): $(head -c 800 "$tmp/out")"
	grep -qE -- "$_dre" "$tmp/out" ||
		fail "$_what: does not say what to do (/$_dre/): $(head -c 800 "$tmp/out")"
	! grep -qE "Sanitizer|runtime error|Segmentation|core dumped" "$tmp/out" ||
		fail "$_what: crashed: $(cat "$tmp/out")"
	echo "ok: $_what"
}

# ---- the witness every "in use" and "another data dir" case uses ---------------

# A locked block of 60 (P .. P+59) of the range operator (tests/lib/proc-lib.sh)
proc_alloc_ports operator
P=$alloc_base
oplock=$alloc_lock
peer=127.0.0.1:$((P + 1)) client=127.0.0.1:$((P + 11)) http=127.0.0.1:$((P + 21))
"$top/tenured" --name w1 --data-dir "$tmp/w1" --listen-peer "$peer" \
	--listen-client "$client" --listen-http "$http" \
	--initial-cluster "w1=$peer" >"$tmp/w1.log" 2>&1 &
wpid=$!
pids="$pids $wpid"
i=0
until curl -s --max-time 1 "http://$http/health" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the witness did not start: $(cat "$tmp/w1.log")"
	sleep 0.1
done
id_sum=$(cksum <"$tmp/w1/identity")

# Command lines as words (timeout runs programs, not functions; no path
# here has a space): as_pg, tenured with a free set of ports ($tw), the
# agent with its witnesses down ($ag).
as_pg="setpriv --reuid=postgres --regid=postgres --clear-groups --"
T="$top/tenured"
tw="$T --name w9 --data-dir $tmp/w9 --listen-peer 127.0.0.1:$((P + 2))
	--listen-client 127.0.0.1:$((P + 12)) --initial-cluster w9=127.0.0.1:$((P + 2))"

# ---- tenured: settings ----------------------------------------------------------------

check "tenured: typo'd flag" 2 'unrecognized option "--listen-clinet"' \
	'did you mean "--listen-client"' $tw --listen-clinet 127.0.0.1:1
printf "listen_clinet = '127.0.0.1:1'\n" >"$tmp/typo.conf"
check "tenured: typo'd key in --config" 2 'typo.conf:1: unrecognized configuration parameter "listen_clinet"' \
	'did you mean "listen_client"' $tw --config "$tmp/typo.conf"
check "tenured: bad duration" 2 'invalid value for parameter "election_timeout": "5x"' \
	'expected a duration like 1000ms' $tw --election-timeout 5x
check "tenured: duration out of range" 2 'value 5ms for parameter "election_timeout" is out of range' \
	'50ms \.\. 1min' $tw --election-timeout 5
check "tenured: bad address" 2 'listen_http "nonsense" is not host:port' \
	'e\.g\. 10\.0\.0\.11:7001' $tw --listen-http nonsense
[ ! -e "$tmp/w9" ] || fail "tenured created its data dir before refusing a bad address"
check "tenured: bad initial_cluster" 2 'bad address "127.0.0.1" for w9' \
	'expected host:port' $tw --initial-cluster w9=127.0.0.1
check "tenured: missing setting" 2 'parameter "data_dir" is required' \
	'pass --data-dir' "$T" --name w9
check "tenured: config file missing" 2 'could not open configuration file ".*nope.conf": No such file' \
	'No such file' $tw --config "$tmp/nope.conf"
check "tenured: config file is a directory" 2 'could not read configuration file' \
	'Is a directory' $tw --config "$tmp"
printf "name = 'w9'\n" >"$tmp/secret.conf"
chmod 600 "$tmp/secret.conf"
check "tenured: config file unreadable" 2 'could not open configuration file ".*secret.conf"' \
	'Permission denied' $as_pg "$T" --config "$tmp/secret.conf"
check "tenured: peer token file missing" 2 'cannot read the secret file' \
	'No such file' $tw --peer-token-file "$tmp/no-token"
check "tenured: credentials file missing" 2 'cannot read credentials_file' \
	'tenurectl auth hash' $tw --credentials-file "$tmp/no-creds"

# ---- tenured --check-config: settings that contradict each other -------------------------
# Each refused by --check-config (without touching anything) and at start.
check "tenured --check-config: peer token file missing" 2 "cannot read the secret file $tmp/no-token: No such file" \
	'peer_token_file must name a file readable by the user tenured runs as' \
	$tw --peer-token-file "$tmp/no-token" --check-config
printf 's3cret\n' >"$tmp/token"
chmod 600 "$tmp/token"
check "tenured --check-config: peer token file unreadable" 2 "cannot read the secret file $tmp/token: Permission denied" \
	'readable by the user tenured runs as' $as_pg $tw --peer-token-file "$tmp/token" --check-config
check "tenured --check-config: a peer token without peer TLS" 2 "peer_token_file would cross the network in clear" \
	'set peer mutual TLS' $tw --peer-token-file "$tmp/token" --check-config
printf 'admin root scram-sha-256$x\n' >"$tmp/creds"
check "tenured --check-config: a bad credentials line" 2 "$tmp/creds line 1: unknown role \"root\"" \
	'use admin, read-only or agent:SCOPE' $tw --credentials-file "$tmp/creds" --check-config
dup="w9=127.0.0.1:$((P + 2)),w8=127.0.0.1:$((P + 2))"
check "tenured --check-config: two witnesses on one peer address" 2 \
	"initial_cluster gives w9 and w8 the same peer address 127.0.0.1:$((P + 2))" \
	'each witness needs its own host:port' $tw --initial-cluster "$dup" --check-config
check "tenured: two witnesses on one peer address" 2 'the same peer address' \
	'each witness needs its own' $tw --initial-cluster "$dup"
check "tenured --check-config: listen_client = listen_peer" 2 \
	"listen_peer 127.0.0.1:$((P + 2)) and listen_client 127.0.0.1:$((P + 2)) are the same address" \
	'pick another listen_client' $tw --listen-client 127.0.0.1:$((P + 2)) --check-config
check "tenured: listen_client = listen_peer" 2 'are the same address' \
	'pick another listen_client' $tw --listen-client 127.0.0.1:$((P + 2))
check "tenured --check-config: listen_peer is not its initial_cluster entry" 2 \
	"listen_peer 127.0.0.1:$((P + 3)) is not w9's address in initial_cluster \(127.0.0.1:$((P + 2))\)" \
	"set listen_peer to 127.0.0.1:$((P + 2)) or fix w9's entry.*set advertise_peer" \
	$tw --listen-peer 127.0.0.1:$((P + 3)) --check-config
check "tenured: listen_peer is not its initial_cluster entry" 2 'is not w9.s address in initial_cluster' \
	'set listen_peer to' $tw --listen-peer 127.0.0.1:$((P + 3))
[ ! -e "$tmp/w9" ] || fail "tenured created its data dir before refusing contradicting settings"
timeout 20 $tw --listen-peer 127.0.0.1:$((P + 3)) --advertise-peer 127.0.0.1:$((P + 2)) \
	--check-config >"$tmp/out" 2>&1 ||
	fail "a listen_peer behind a proxy (advertise_peer = its entry) refused: $(cat "$tmp/out")"
echo "ok: tenured --check-config: listen_peer behind a proxy, declared with advertise_peer"

# ---- tenured: data dir ------------------------------------------------------------------

check "tenured: another witness's data dir" 2 "data_dir .*/w1 belongs to witness 'w1', not to 'w9'" \
	'start it with --name w1, or give w9 its own data_dir' $tw --data-dir "$tmp/w1"
check "tenured: another cluster's data dir" 2 'data_dir .*/w1 was created for another cluster' \
	'start with the initial_cluster it was created with' \
	"$T" --name w1 --data-dir "$tmp/w1" --listen-peer 127.0.0.1:$((P + 2)) \
	--listen-client 127.0.0.1:$((P + 12)) --initial-cluster "w1=127.0.0.1:$((P + 2)),w2=127.0.0.1:$((P + 3))"
[ "$(cksum <"$tmp/w1/identity")" = "$id_sum" ] || fail "a refused start changed w1's identity"
: >"$tmp/a-file"
check "tenured: data dir is a file" 2 'data_dir .*/a-file is not a directory' \
	'set data_dir to a directory' $tw --data-dir "$tmp/a-file"
mkdir "$tmp/ro"
chmod 755 "$tmp/ro"
check "tenured: data dir not writable" 2 'data_dir .*/ro is not writable by uid' \
	'chown it to the user tenured runs as' $as_pg "$T" --name w9 --data-dir "$tmp/ro" \
	--listen-peer 127.0.0.1:$((P + 2)) --listen-client 127.0.0.1:$((P + 12)) \
	--initial-cluster "w9=127.0.0.1:$((P + 2))"
check "tenured: data dir cannot be created" 2 'cannot create data_dir .*/ro/sub: Permission denied' \
	'set data_dir elsewhere' $as_pg "$T" --name w9 --data-dir "$tmp/ro/sub" \
	--listen-peer 127.0.0.1:$((P + 2)) --listen-client 127.0.0.1:$((P + 12)) \
	--initial-cluster "w9=127.0.0.1:$((P + 2))"

# ---- tenured: ports in use (by the running witness) -------------------------------------

check "tenured: peer port in use" 1 "peer address $peer is in use" \
	'pick another listen_peer' "$T" --name w9 --data-dir "$tmp/w9p" --listen-peer "$peer" \
	--listen-client 127.0.0.1:$((P + 12)) --initial-cluster "w9=$peer"
check "tenured: client port in use" 1 "cannot listen for clients on $client: address already in use" \
	'pick another --listen-client' $tw --data-dir "$tmp/w9c" --listen-client "$client"
check "tenured: HTTP port in use" 1 "cannot listen for HTTP on $http: address already in use" \
	'pick another listen_http' $tw --data-dir "$tmp/w9h" --listen-http "$http"
kill -0 "$wpid" 2>/dev/null || fail "the witness died during the refused starts"

# ---- tenurectl ------------------------------------------------------------------------------

C="$top/tenurectl"
check "tenurectl: witnesses unreachable" 2 'no witness reachable' \
	'check --endpoints and that tenured runs there' "$C" --endpoints 127.0.0.1:$((P + 51)),127.0.0.1:$((P + 52)) get k
check "tenurectl status: witnesses unreachable" 2 'no witness answered' \
	'check --endpoints' "$C" --endpoints 127.0.0.1:$((P + 51)) status
check "tenurectl: endpoint without a port" 2 "endpoint 'nonsense': no port" \
	'comma-separated list of host:port' "$C" --endpoints nonsense get k
check "tenurectl: bad duration" 2 "--timeout wants a duration like 5s or 500ms, not '5x'" \
	"Try 'tenurectl get --help'" "$C" --endpoints "$client" --timeout 5x get k
check "tenurectl: typo'd option" 2 "unknown option --endpionts for 'get'" \
	"Try 'tenurectl get --help'" "$C" get k --endpionts "$client"
check "tenurectl: typo'd option before the command" 2 'unknown option --endpionts$' \
	"Try 'tenurectl --help'" "$C" --endpionts "$client" get k
check "tenurectl: unknown option before the command" 2 'unknown option --bogus$' \
	"Try 'tenurectl --help'" "$C" --bogus status
check "tenurectl: a flag the command does not take" 2 "unknown option --force for 'cluster list'" \
	"Try 'tenurectl cluster list --help'" "$C" cluster list --force
check "tenurectl: unknown command" 2 "unknown command 'lese'" \
	"Try 'tenurectl --help'" "$C" --endpoints "$client" lese list
check "tenurectl: secret file missing" 2 'cannot read the secret file' \
	'No such file' "$C" --endpoints "$client" --user admin --secret-file "$tmp/no-token" get k
check "tenurectl: user without a secret" 2 'needs its secret' \
	'secret-file' "$C" --endpoints "$client" --user admin get k

# ---- tenure-agent: settings and host -----------------------------------------------------

A="$top/tenure-agent"
mkdir "$tmp/pg" "$tmp/pgdata"
chown postgres: "$tmp/pg" "$tmp/pgdata"
agent_http=127.0.0.1:$((P + 41))
ag="$as_pg $A --scope main --name n1 --witnesses 127.0.0.1:$((P + 51)),127.0.0.1:$((P + 52))
	--pg-listen 127.0.0.1:$((P + 31)) --listen-http $agent_http"
check "agent: typo'd flag" 2 'unrecognized option "--pg-data-dri"' \
	'did you mean "--pg-data-dir"' $ag --pg-data-dri "$tmp/pgdata"
printf "lease_tll = 5s\n" >"$tmp/agent-typo.conf"
check "agent: typo'd key in --config" 2 'unrecognized configuration parameter "lease_tll"' \
	'did you mean "lease_ttl"' $ag --config "$tmp/agent-typo.conf" --pg-data-dir "$tmp/pgdata"
check "agent: bad duration" 2 'invalid value for parameter "lease_ttl": "2 secs"' \
	'units: ms, s, min, h, d' $ag --pg-data-dir "$tmp/pgdata" --lease-ttl "2 secs"
check "agent: out of range" 2 'value 100ms for parameter "lease_ttl" is out of range' \
	'1s \.\. 10min' $ag --pg-data-dir "$tmp/pgdata" --lease-ttl 100ms
check "agent: timings that cannot work" 2 'must be at least 3 x renew_interval' \
	'Raise lease_ttl or lower renew_interval' $ag --pg-data-dir "$tmp/pgdata" --renew-interval 2s
check "agent: bad witnesses list" 2 "witnesses 'nowhere': expected a comma-separated list" \
	'IP:port client addresses' $as_pg "$A" --scope main --name n1 --witnesses nowhere \
	--pg-listen 127.0.0.1:$((P + 31)) --listen-http "$agent_http" --pg-data-dir "$tmp/pgdata"
check "agent: config file missing" 2 'could not open configuration file' \
	'No such file' $ag --config "$tmp/nope.conf"
check "agent: run as root" 2 'tenure-agent runs as the user that owns the data directory' \
	'sudo -u postgres' "$A" --scope main --name n1 --witnesses 127.0.0.1:$((P + 51)) \
	--pg-listen 127.0.0.1:$((P + 31)) --listen-http "$agent_http" --pg-data-dir "$tmp/pgdata"
check "agent: Postgres not installed" 2 "pg_bin_dir '$tmp/no-pg': No such file" \
	'apt-get install postgresql-15' $ag --pg-data-dir "$tmp/pgdata" --pg-bin-dir "$tmp/no-pg"
check "agent: pg_bin_dir without pg_ctl" 2 "pg_bin_dir '$tmp/pg' has no executable pg_ctl" \
	'set pg_bin_dir to the directory that holds pg_ctl' $ag --pg-data-dir "$tmp/pgdata" --pg-bin-dir "$tmp/pg"
mkdir "$tmp/notpg"
echo "my notes" >"$tmp/notpg/notes.txt"
chown -R postgres: "$tmp/notpg"
check "agent: data dir not a Postgres data dir" 2 "pg_data_dir '$tmp/notpg' is not empty and is not a PostgreSQL data directory" \
	'point pg_data_dir at this node' $ag --pg-data-dir "$tmp/notpg"
[ "$(ls "$tmp/notpg")" = notes.txt ] || fail "the agent touched a directory that is not a data dir"
mkdir "$tmp/pg14"
echo 14 >"$tmp/pg14/PG_VERSION"
chown -R postgres: "$tmp/pg14"
check "agent: data dir of another major version" 2 "holds a PostgreSQL 14 data directory, but pg_bin_dir '$pg_bin' has PostgreSQL 15" \
	'set pg_bin_dir to the PostgreSQL 14 binaries' $ag --pg-data-dir "$tmp/pg14"
mkdir "$tmp/rootdata"
check "agent: data dir owned by root" 2 "pg_data_dir '$tmp/rootdata' is owned by root" \
	"chown -R postgres '$tmp/rootdata'" $ag --pg-data-dir "$tmp/rootdata"
mkdir "$tmp/otherdata"
chown nobody "$tmp/otherdata"
check "agent: data dir owned by another user" 2 "pg_data_dir '$tmp/otherdata' is owned by nobody, but tenure-agent runs as postgres" \
	'run the agent as nobody' $ag --pg-data-dir "$tmp/otherdata"
check "agent: data dir is a file" 2 "pg_data_dir '$tmp/a-file' is not a directory" \
	'set pg_data_dir to the PostgreSQL data directory' $ag --pg-data-dir "$tmp/a-file"
check "agent: data dir cannot be created" 2 "pg_data_dir '$tmp/ro/x/data' does not exist and cannot be created" \
	'set it to a path under a directory that user may write' $ag --pg-data-dir "$tmp/ro/x/data"
check "agent: HTTP port in use" 2 "cannot listen for HTTP on $http: address already in use" \
	'pick another listen_http' $as_pg "$A" --scope main --name n1 --witnesses "$client" \
	--pg-listen 127.0.0.1:$((P + 31)) --listen-http "$http" --pg-data-dir "$tmp/pgdata"

# ---- tenure-agent: witnesses down -------------------------------------------------------

$ag --pg-data-dir "$tmp/pgdata" >"$tmp/agent.log" 2>&1 &
apid=$!
pids="$pids $apid"
i=0
body=""
until echo "$body" | grep -q '"problem":"the witnesses'; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "agent /health never said the witnesses are down: $body $(tail -n 5 "$tmp/agent.log")"
	sleep 0.1
	body=$(curl -s --max-time 1 "http://$agent_http/health")
done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$agent_http/health")
[ "$code" = 503 ] || fail "agent /health with the witnesses down: $code, expected 503"
echo "$body" | grep -q 'check that tenured runs there' || fail "agent /health says no fix: $body"
sleep 2
kill -0 "$apid" 2>/dev/null || fail "the agent exited with its witnesses down: $(tail -n 5 "$tmp/agent.log")"
grep -q 'event=witnesses_unreachable .*hint="check that tenured runs at these addresses' "$tmp/agent.log" ||
	fail "the agent log has no clear witnesses_unreachable warning: $(head -n 20 "$tmp/agent.log")"
[ "$(grep -c 'event=witnesses_unreachable' "$tmp/agent.log")" -le 2 ] ||
	fail "witnesses_unreachable is repeated too often: $(grep -c witnesses_unreachable "$tmp/agent.log") times in 3 s"
[ -z "$(ls -A "$tmp/pgdata")" ] || fail "the agent wrote its data dir without the witnesses: $(ls -A "$tmp/pgdata")"
kill -TERM "$apid"
wait "$apid"
rc=$?
[ $rc = 0 ] || fail "the agent exited $rc on SIGTERM: $(tail -n 5 "$tmp/agent.log")"
! grep -qE "Sanitizer|runtime error|command_failed" "$tmp/agent.log" ||
	fail "agent log: $(grep -E "Sanitizer|runtime error|command_failed" "$tmp/agent.log")"
echo "ok: agent with its witnesses down keeps retrying, warns once, /health says why"

# ---- deploy/local-cluster ----------------------------------------------------------------

L="$src/deploy/local-cluster"
export top_builddir="$top"
check "local-cluster: unknown option" 2 "unknown option '--bogus'" \
	'deploy/local-cluster up --help' "$L" up --dir "$tmp/lc" --bogus
check "local-cluster: bad base port" 2 "--base-port takes a number, not '12x'" \
	'base-port' "$L" up --dir "$tmp/lc" --base-port 12x
check "local-cluster: base port out of range" 2 '--base-port 80: choose one from 1024 to 65480' \
	'choose one' "$L" up --dir "$tmp/lc" --base-port 80
check "local-cluster: no cluster there" 2 "no cluster in $tmp/lc" \
	'start one with: deploy/local-cluster up' "$L" status --dir "$tmp/lc"
check "local-cluster: PostgreSQL 15 not installed" 1 'PostgreSQL 15 is not installed' \
	'apt-get install postgresql-15' env PG_BIN="$tmp/no-pg" "$L" up --dir "$tmp/lc" --base-port $P
check "local-cluster: base port in use" 1 "port $((P + 1)) \(peer port of witness w1\) is in use" \
	'choose another block of ports with --base-port' "$L" up --dir "$tmp/lc" --base-port $P
[ ! -e "$tmp/lc/settings" ] || fail "local-cluster left settings behind after refusing to start"

kill -TERM "$wpid"
wait "$wpid"
echo "ok: $me"
