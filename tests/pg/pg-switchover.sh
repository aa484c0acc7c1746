#!/bin/sh
# pg-switchover.sh — planned operations on real PostgreSQL 15, in
# synchronous mode, with the write probe on every node all the time:
#
#   1. `tenurectl cluster switchover` to a replica and back: a new primary
#      each time, the old one a streaming replica again, nothing lost, no
#      two writable nodes; the history records both with their times;
#   2. `cluster pause`, then a host crash: nobody is promoted while paused;
#      `cluster resume`: a failover follows;
#   3. `cluster failover --candidate` while the primary is down: the named
#      node (not just any) becomes primary;
#   4. SIGTERM of the primary's agent: Postgres stopped cleanly, the lease
#      released (a failover without waiting for the TTL), exit status 0;
#   5. hooks: on_role_change is called with the new role on every node that
#      changes role, and a pre_promote hook that exits 1 vetoes promotion.
# The write probe runs through every section: each ends with `pgprobe
# check --sync` against the primary then (no two writable nodes at once,
# no acknowledged commit lost).
# The sanitizer pass of deploy/dev test sets SKIP_LONG_PG=1: this test ran
# in the normal build already, and time in CI is bounded.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-switchover: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-switchover
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }

# hooks: every call appends "NODE ACTION ROLE" to $dir/hooks.log; the
# pre_promote hook vetoes while $dir/veto exists
cat >"$dir/hook" <<EOF
#!/bin/sh
echo "\$TENURE_NAME \$1 \$2" >>"$dir/hooks.log"
[ "\$1" = pre_promote ] && [ -e "$dir/veto" ] && exit 1
exit 0
EOF
chmod 755 "$dir/hook"
: >"$dir/hooks.log"
chmod 666 "$dir/hooks.log"
k=1
while [ $k -le "$PG_NODES" ]; do
	pg_conf $k on_role_change "'$dir/hook'"
	pg_conf $k pre_promote "'$dir/hook'"
	k=$((k + 1))
done

pg_start_agents
first=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "bootstrap: the standbys did not come up"
pg_probe_table "$first"

# probe_end WHAT: stops the probe and checks its run against the primary
# now (pgprobe check --sync); prints the longest gap
probe_end() {
	sleep 1
	probe_stop
	_pr=$(pg_wait_primary 30) || fail "$1: no primary to check the probe against"
	probe_check "$_pr" --sync >/dev/null || fail "$1: the probe found a problem: $out"
	[ "$(probe_count ok)" -gt 0 ] || fail "$1: no probe write succeeded: the check saw nothing"
	echo "$1: probe: $(printf '%s\n' "$out" | grep 'longest gap')"
}

# a replica other than $1
some_replica() {
	for _r in $(pg_replicas); do
		[ "$_r" != "$1" ] && { echo "$_r"; return 0; }
	done
	return 1
}

# ---- 1. switchover and back -------------------------------------------------------
probe_start
sleep 1
for step in there back; do
	old=$(pg_wait_primary 30) || fail "switchover $step: no primary"
	cand=$(some_replica "$old") || fail "switchover $step: no replica"
	cl switchover --yes --candidate "$cand" --wait 30
	[ "$rc" = 0 ] || fail "switchover $step to $cand: rc=$rc $out $err"
	echo "switchover $step: $out"
	[ "$(pg_wait_primary 10)" = "$cand" ] || fail "switchover $step: $cand is not the primary"
	pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null ||
		fail "switchover $step: $old did not come back as a replica"
done
sleep 1
probe_stop
primary=$(pg_wait_primary 10)
probe_check "$primary" --sync >/dev/null || fail "switchover: the probe found a problem: $out"
echo "switchover: $(printf '%s\n' "$out" | grep 'longest gap')"
cl history -o json
[ "$(field '[.[] | select(.reason == "switchover")] | length')" = 2 ] ||
	fail "switchover: history does not hold both: $out"

# ---- 2. pause: no failover ------------------------------------------------------------
old=$(pg_wait_primary 10)
pg_wait_sync "$old" 60 || fail "pause: no synchronous standby"
probe_start
sleep 1
cl pause
[ "$rc" = 0 ] || fail "pause: rc=$rc $err"
pg_crash "$old"
sleep 8
[ -z "$(pg_primaries)" ] || fail "pause: $(pg_primaries) was promoted while paused"
cl list -o json
cl resume
[ "$rc" = 0 ] || fail "resume: rc=$rc $err"
new=$(pg_wait_primary 30) || fail "resume: no failover after resume"
echo "pause: nobody promoted for 8 s; after resume $new"
pg_reap_agent "$old"
pg_start_agent "$old"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "pause: $old did not rejoin"
probe_end pause

# ---- 3. failover to a named candidate ------------------------------------------------
old=$(pg_wait_primary 10)
pg_wait_sync "$old" 60 2 || fail "failover: the standbys are not both synchronous"
probe_start
sleep 1
cl pause # so that the crash alone does not pick a node
[ "$rc" = 0 ] || fail "failover: pause: rc=$rc $err"
pg_crash "$old"
sleep 1
want=""
for r in $(pg_replicas); do want=$r; done # the last one, not the default pick
[ -n "$want" ] || fail "failover: no replica left"
# requested while still paused (a paused cluster carries out an operator's
# request, to the named candidate only), resumed after: resuming first
# would let an automatic failover race the request
cl failover --yes --candidate "$want" --wait 30
[ "$rc" = 0 ] || fail "failover --candidate $want: rc=$rc $out $err"
fout=$out
cl resume
[ "$rc" = 0 ] || fail "failover: resume: rc=$rc $err"
out=$fout
[ "$(pg_wait_primary 10)" = "$want" ] || fail "failover: $want is not the primary"
echo "failover --candidate: $out"
pg_reap_agent "$old"
pg_start_agent "$old"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "failover: $old did not rejoin"
probe_end "failover --candidate"

# ---- 4. SIGTERM of the primary's agent -----------------------------------------------
old=$(pg_wait_primary 10)
pg_wait_sync "$old" 60 || fail "SIGTERM: no synchronous standby"
probe_start
sleep 1
t0=$(now_ms)
pg_agent_stop "$old" 20
[ "$rc" = 0 ] || fail "SIGTERM: the agent exited $rc"
[ -z "$(pg_postmaster_pid "$old")" ] || fail "SIGTERM: Postgres of $old still runs"
new=$(pg_wait_primary 30) || fail "SIGTERM: no new primary"
echo "SIGTERM of $old's agent: $new primary after $(($(now_ms) - t0)) ms"
pg_start_agent "$old"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "SIGTERM: $old did not rejoin"
probe_end SIGTERM

# ---- 5. hooks ---------------------------------------------------------------------------
grep -q "$new on_role_change primary" "$dir/hooks.log" ||
	fail "hooks: on_role_change was not called with primary on $new"
grep -q "pre_promote" "$dir/hooks.log" || fail "hooks: pre_promote never ran"
touch "$dir/veto"
chmod 644 "$dir/veto"
old=$(pg_wait_primary 10)
pg_wait_sync "$old" 60 || fail "veto: no synchronous standby"
probe_start
sleep 1
pg_crash "$old"
sleep 9
[ -z "$(pg_primaries)" ] || fail "veto: $(pg_primaries) was promoted against pre_promote"
grep -q "promotion_refused" "$dir"/pg*-agent.log || fail "veto: no promotion_refused logged"
rm -f "$dir/veto"
new=$(pg_wait_primary 60) || fail "veto lifted: no primary"
echo "pre_promote veto held for 9 s; then $new"
probe_end veto
# Postgres logins need the passwords pg-lib made (scram-sha-256, no
# trust line): one without is refused, the standbys stream with theirs,
# and the replication role holds a SCRAM verifier, not the password.
if [ "${PG_PASSWORDS:-1}" = 1 ]; then
	if PGPASSWORD= psql_as "$new" "SELECT 1" >/dev/null 2>"$dir/nopw.err"; then
		fail "$new let postgres in without a password"
	fi
	grep -q "password" "$dir/nopw.err" || fail "unexpected refusal: $(cat "$dir/nopw.err")"
	[ "$(psql_as "$new" "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'")" = 0 ] ||
		fail "$new has trust lines in pg_hba.conf"
	verifier=$(psql_as "$new" "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'replicator'")
	[ "$verifier" = 'SCRAM-SHA-256$' ] || fail "replicator's password is not a SCRAM verifier: $verifier"
	pg_wait_sync "$new" 60 || fail "no standby streams with the replication password"
fi
echo "ok: switchover and back, pause, failover --candidate, SIGTERM, hooks, passwords"
