#!/bin/sh
# pg-callbacks.sh — the agents' callbacks on real PostgreSQL 15, two
# nodes, and the CLI views of the same cluster:
#
#   1. on_start, on_role_change and on_reload fire with Patroni's
#      arguments (ACTION ROLE SCOPE) and the same TENURE_* environment,
#      from the bootstrap, the standby's start and the primary's sync
#      change; on_stop when an agent stops its Postgres;
#   2. `cluster topology` (the standby under the primary), `cluster dsn`
#      (a connection string psql can use, primary and replica) and
#      `cluster list --watch` (one JSON document per line, redrawn);
#   3. callbacks that hang (callback_timeout 20s): the first one on each
#      node once a switchover begins (the old primary's on_stop, the new
#      primary's on_reload as it stops following).  The switchover completes and the old primary streams
#      again within 15 s (the agent does not wait for its callback), the new
#      primary keeps its lease while its callback hangs (no fence, no new
#      primary), and both callbacks are killed at the timeout and logged.
me=pg-callbacks
PG_NODES=2
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { "$ctl_bin" --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }

# every call appends "NODE ARGS | ENV" to $dir/cb.log; while
# $dir/hang-NODE says 1, the next call on NODE sets it to 0, notes its pid
# and hangs (the callbacks run as postgres: files, not the directory, are
# theirs to write)
cat >"$dir/cb" <<EOF
#!/bin/sh
echo "\$TENURE_NAME \$1 \$2 \$3 | \$TENURE_ACTION \$TENURE_ROLE \$TENURE_SCOPE \$TENURE_PG_HOST:\$TENURE_PG_PORT" >>"$dir/cb.log"
if [ "\$(cat "$dir/hang-\$TENURE_NAME" 2>/dev/null)" = 1 ]; then
	echo 0 >"$dir/hang-\$TENURE_NAME"
	echo "\$TENURE_NAME hang \$1 \$\$" >>"$dir/cb.log"
	exec sleep 1000
fi
exit 0
EOF
chmod 755 "$dir/cb"
: >"$dir/cb.log"
chmod 666 "$dir/cb.log"
for k in 1 2; do
	for cb in on_start on_stop on_restart on_reload on_role_change; do
		pg_conf $k $cb "'$dir/cb'"
	done
	pg_conf $k callback_timeout 20s
done

# logged NODE ACTION ROLE [SECONDS]: the callback ran with these arguments
# and the matching environment (within SECONDS, default 15)
logged() {
	_line="$1 $2 $3 main | $2 $3 main 127.0.0.1:$(pg_port "$1")"
	wait_for "${4:-15}" grep -qxF "$_line" "$dir/cb.log" ||
		fail "no callback '$_line'; the log: $(cat "$dir/cb.log")"
}
# lease_token: S/primary's fencing token now
lease_token() {
	"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" lease get main/primary -o json |
		sed -n 's/.*"token":\([0-9]*\).*/\1/p'
}

# ---- 1. callbacks of a bootstrap -------------------------------------------------
pg_start_agents
prim=$(pg_wait_primary 90) || fail "bootstrap: no primary"
repl=$(pg_wait_replicas 1 120) || fail "bootstrap: the standby did not come up"
logged "$prim" on_start primary
logged "$prim" on_role_change primary
logged "$repl" on_start replica
pg_wait_sync "$prim" 60 || fail "bootstrap: $repl never became synchronous"
logged "$prim" on_reload primary
# the order on the primary: started, then the role
[ "$(grep "^$prim on_" "$dir/cb.log" | head -2 | awk '{ print $2 }' | tr '\n' ' ')" = \
	"on_start on_role_change " ] ||
	fail "bootstrap: $prim's first callbacks out of order: $(grep "^$prim" "$dir/cb.log")"
echo "callbacks: $(wc -l <"$dir/cb.log") calls, arguments and environment as Patroni's"

# ---- 2. topology, dsn, list --watch --------------------------------------------
out=$(cl topology) || fail "topology failed: $out"
printf '%s\n' "$out" | sed -n 3p | grep -q "^$prim " ||
	fail "topology: $prim is not the root: $out"
printf '%s\n' "$out" | sed -n 4p | grep -q "^+ $repl " ||
	fail "topology: $repl is not under $prim: $out"
out=$(cl topology -o json) || fail "topology -o json failed"
printf '%s\n' "$out" | grep -q "^\[{\"name\":\"$prim\",\"role\":\"primary\".*\"replicas\":\[{\"name\":\"$repl\"" ||
	fail "topology -o json: not $repl under $prim: $out"

dsn=$(cl dsn) || fail "dsn failed"
[ "$dsn" = "host=127.0.0.1 port=$(pg_port "$prim")" ] || fail "dsn: '$dsn'"
dsn=$(cl dsn --role replica --dbname postgres --pg-user postgres) ||
	fail "dsn --role replica failed"
[ "$dsn" = "host=127.0.0.1 port=$(pg_port "$repl") dbname=postgres user=postgres" ] ||
	fail "dsn --role replica: '$dsn'"
[ "$(PGCONNECT_TIMEOUT=5 psql -X -A -t -q "$dsn" -c 'SELECT pg_is_in_recovery()')" = t ] ||
	fail "dsn: psql '$dsn' did not reach the replica"
dsn=$(cl dsn "$prim" --dbname postgres --pg-user postgres) || fail "dsn $prim failed"
[ "$(PGCONNECT_TIMEOUT=5 psql -X -A -t -q "$dsn" -c 'SELECT pg_is_in_recovery()')" = f ] ||
	fail "dsn: psql '$dsn' did not reach the primary"
cl dsn pg7 >/dev/null 2>&1
[ $? = 1 ] || fail "dsn of no member: not exit 1"

"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" cluster list --scope main --watch 1 -o json \
	>"$dir/watch.out" 2>"$dir/watch.err" &
wpid=$!
sleep 3.5
kill "$wpid"
wait "$wpid" 2>/dev/null
docs=$(wc -l <"$dir/watch.out")
[ "$docs" -ge 3 ] && [ "$docs" -le 5 ] ||
	fail "list --watch 1: $docs documents in 3.5 s: $(cat "$dir/watch.out" "$dir/watch.err")"
[ "$(grep -c '^\[{"name":"pg1".*}\]$' "$dir/watch.out")" = "$docs" ] ||
	fail "list --watch -o json: not one document per line: $(cat "$dir/watch.out")"
echo "cli: topology, dsn (psql connects), list --watch ($docs documents in 3.5 s)"

# ---- 3. hanging callbacks -------------------------------------------------------
echo 1 >"$dir/hang-$prim"
echo 1 >"$dir/hang-$repl"
chmod 666 "$dir/hang-$prim" "$dir/hang-$repl"
t0=$(now_ms)
cl switchover --candidate "$repl" --wait 30 --yes >"$dir/sw.out" 2>&1 ||
	fail "switchover failed: $(cat "$dir/sw.out")"
new=$(pg_wait_primary 10) || fail "switchover: no primary"
[ "$new" = "$repl" ] || fail "switchover: $new is primary, not $repl"
pg_wait_replicas 1 15 >/dev/null || fail "switchover: $prim did not stream again within 15 s"
took=$(($(now_ms) - t0))
[ "$took" -lt 15000 ] || fail "switchover: $prim streaming only after $took ms"
wait_for 5 grep -q "^$prim hang " "$dir/cb.log" ||
	fail "no callback hung on $prim: the test proved nothing: $(cat "$dir/cb.log")"
wait_for 5 grep -q "^$repl hang " "$dir/cb.log" ||
	fail "no callback hung on $repl: the test proved nothing: $(cat "$dir/cb.log")"
echo "hang: switchover done and $prim streaming after $took ms, callbacks hanging on both"
logged "$prim" on_stop primary 1

# the new primary holds on while its callback hangs; both are killed at
# the timeout
hang_p=$(sed -n "s/^$prim hang [a-z_]* //p" "$dir/cb.log")
hang_r=$(sed -n "s/^$repl hang [a-z_]* //p" "$dir/cb.log")
token=$(lease_token)
[ -n "$token" ] || fail "hang: no token of main/primary"
wait_for 30 sh -c "grep -q 'callback_failed.*timed_out=1' '$dir/$repl-agent.log' &&
	grep -q 'callback_failed.*timed_out=1' '$dir/$prim-agent.log'" ||
	fail "hang: no callback_failed with timed_out=1 in the agents' logs"
for pid in $hang_p $hang_r; do
	kill -0 "$pid" 2>/dev/null && fail "hang: the callback $pid still runs after its timeout"
done
[ "$(pg_wait_primary 5)" = "$repl" ] || fail "hang: $repl lost the primary role while its callback hung"
[ "$(lease_token)" = "$token" ] ||
	fail "hang: the lease changed hands while the callback hung ($token, now $(lease_token))"
grep -q 'fenced' "$dir/$repl-agent.log" &&
	fail "hang: $repl was fenced: $(grep fenced "$dir/$repl-agent.log")"
# what waited behind the killed callbacks ran after them, in order
logged "$prim" on_start replica 10
logged "$repl" on_role_change primary 10
echo "hang: both killed after 20 s; $repl kept lease token $token throughout"

# ---- on_stop when an agent stops its Postgres ----------------------------------
pg_agent_stop "$prim" 30
[ "$rc" = 0 ] || fail "the agent of $prim exited $rc on SIGTERM"
logged "$prim" on_stop replica 1
echo "ok: callbacks with Patroni's arguments, in the background, killed at the timeout; topology, dsn, list --watch"
