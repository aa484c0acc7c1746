#!/bin/sh
# pg-scope-config.sh — scope-wide settings on real PostgreSQL 15, the
# write probe on every node all the time:
#
#   1. the rolling change that once left no primary: an asynchronous
#      cluster, the replicas restarted with synchronous_mode = on in their
#      own files (S/config not written yet), then a switchover at once: a
#      primary must exist within a bound;
#   2. `cluster edit-config --set synchronous_mode=on` while running (the
#      first primary's file still says off: the scope wins, it warns),
#      then a switchover
#      at once to a replica: done, a primary within a bound, and Postgres
#      waits for a synchronous standby afterwards;
#   3. show-config shows it (text and json);
#   4. a bad value and an unknown key are refused (exit 2, a clear message,
#      nothing written); a bad text put around tenurectl is refused by
#      every agent (logged, the settings in force stay);
#   5. edit-config through $EDITOR (a script): the change is applied;
#   5b. a switchover whose candidate's agent freezes half-way: the old
#      primary takes the role back, and tenurectl reports why (exit 2);
#   6. synchronous_mode off again: synchronous_standby_names cleared, then
#      S/sync removed;
#   then no acknowledged write lost and never two writable nodes.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-scope-config: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
me=pg-scope-config
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }
kv_get() { ctl --endpoints "$TENURE_ENDPOINTS" get "$1"; }

# a replica other than $1
some_replica() {
	for _r in $(pg_replicas); do
		[ "$_r" != "$1" ] && { echo "$_r"; return 0; }
	done
	return 1
}

# switch_to_some_replica WHAT: switchover from the primary to a replica at
# once; a primary must exist within 20 s of the command's end
switch_to_some_replica() {
	old=$(pg_wait_primary 30) || fail "$1: no primary before the switchover"
	cand=$(some_replica "$old") || fail "$1: no replica"
	t0=$(now_ms)
	cl switchover --yes --candidate "$cand" --wait 20
	sw_rc=$rc sw_out=$out sw_err=$err
	new=$(pg_wait_primary 20) ||
		fail "$1: no primary 20 s after 'switchover --candidate $cand' (rc=$sw_rc: $sw_out $sw_err)"
	echo "$1: switchover $old -> $cand: rc=$sw_rc, primary $new after $(($(now_ms) - t0)) ms ($sw_out$sw_err)"
}

pg_start_agents
first=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "bootstrap: the standbys did not come up"
pg_probe_table "$first"
probe_start
sleep 1

# ---- 1. replicas restarted with synchronous mode on in their files ---------------
for r in $(pg_replicas); do
	pg_agent_stop "$r"
	pg_conf "$r" synchronous_mode on
	pg_start_agent "$r"
done
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "rolling restart: the replicas did not come back"
switch_to_some_replica "files disagree"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "files disagree: the old primary did not come back as a replica"

# ---- 2. synchronous mode on for the scope, switchover at once ----------------------
cl edit-config --set synchronous_mode=on
expect_rc 0 "edit-config --set synchronous_mode=on"
echo "edit-config: $out"
switch_to_some_replica "scope sync on"
[ "$sw_rc" = 0 ] && [ "$new" = "$cand" ] ||
	fail "scope sync on: the switchover to $cand did not happen (rc=$sw_rc, primary $new): $sw_err"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "scope sync on: the old primary did not come back as a replica"
wait_for 20 sh -c "[ -n \"\$(PGCONNECT_TIMEOUT=2 psql -X -A -t -q '$(pg_conninfo "$new")' -c 'SHOW synchronous_standby_names')\" ]" ||
	fail "scope sync on: $new never waited for a synchronous standby"
# the first primary was never restarted: its file still says off
grep -q 'event=scope_setting_overrides_file key=synchronous_mode' "$dir/$first-agent.log" ||
	fail "scope sync on: $first (off in its file) did not say that the scope wins"

# ---- 3. show-config -----------------------------------------------------------------------
cl show-config
expect_rc 0 "show-config"
printf '%s\n' "$out" | grep -qx 'synchronous_mode = on' ||
	fail "show-config does not show synchronous_mode = on: $out"
printf '%s\n' "$out" | grep -q '^maintenance_mode = off' ||
	fail "show-config does not show maintenance_mode: $out"
cl show-config -o json
[ "$(field .settings.synchronous_mode)" = on ] || fail "show-config -o json: $out"
rev=$(field .revision)

# ---- 4. bad values are refused ------------------------------------------------------------
cl edit-config --set synchronous_mode=maybe
expect_rc 2 "edit-config --set synchronous_mode=maybe"
printf '%s' "$err" | grep -q 'invalid value for parameter "synchronous_mode": "maybe" (expected one of: off, on); nothing written' ||
	fail "bad value: unclear message: $err"
echo "refused: $err"
cl edit-config --set lease_tll=5s
expect_rc 2 "edit-config --set lease_tll=5s"
printf '%s' "$err" | grep -q 'did you mean "lease_ttl"' || fail "unknown key: unclear message: $err"
cl edit-config --set lease_ttl=1s
expect_rc 2 "edit-config --set lease_ttl=1s"
printf '%s' "$err" | grep -q '3 x renew_interval' || fail "short TTL: unclear message: $err"
cl show-config -o json
[ "$(field .revision)" = "$rev" ] || fail "a refused edit wrote something: revision $rev -> $(field .revision)"

# a text the agents cannot use, written around tenurectl's checks: every
# agent logs it once and keeps the settings in force; show-config says so
good=$(printf 'synchronous_mode = on\n')
ctl --endpoints "$TENURE_ENDPOINTS" put main/config 'lease_ttl = 1s'
expect_rc 0 "put main/config 'lease_ttl = 1s'"
wait_for 10 grep -q 'event=scope_config_refused' "$dir/pg3-agent.log" ||
	fail "bad stored text: pg3 did not refuse it"
cl show-config
expect_rc 2 "show-config of a refused text"
printf '%s' "$err" | grep -q 'holds settings the agents refuse' || fail "show-config: $err"
ctl --endpoints "$TENURE_ENDPOINTS" put main/config "$good"
expect_rc 0 "put main/config back"
pg_wait_primary 5 >/dev/null || fail "bad stored text: no primary"
! grep -q 'event=scope_setting key=lease_ttl' "$dir"/pg*-agent.log ||
	fail "bad stored text: an agent applied lease_ttl = 1s"

# ---- 5. $EDITOR --------------------------------------------------------------------------------
cat >"$dir/editor" <<'EOS'
#!/bin/sh
sed -i 's/^#*maximum_lag_on_failover = [^#]*/maximum_lag_on_failover = 2MB /' "$1"
EOS
chmod 755 "$dir/editor"
export EDITOR="$dir/editor"
cl edit-config
unset EDITOR
expect_rc 0 "edit-config with EDITOR"
printf '%s' "$out" | grep -q 'maximum_lag_on_failover: (not set) -> 2MB' ||
	fail "EDITOR: the change is not reported: $out"
cl show-config
printf '%s\n' "$out" | grep -qx 'maximum_lag_on_failover = 2MB' || fail "EDITOR: not stored: $out"
wait_for 10 grep -q 'event=scope_setting key=maximum_lag_on_failover old=1MB new=2MB' "$dir/pg3-agent.log" ||
	fail "EDITOR: pg3 did not apply maximum_lag_on_failover"

# ---- 5b. a switchover whose candidate never takes over -----------------------------
# The candidate's agent is frozen once the primary has started to step
# down: in synchronous mode nobody else may be promoted while a listed
# standby is unaccounted for, so only the take-back gives the cluster a
# primary again; tenurectl says so at once, with the reason.
old=$(pg_wait_primary 10) || fail "take-back: no primary"
cand=$(some_replica "$old") || fail "take-back: no replica"
: >"$dir/sw.out"
"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" cluster switchover --yes --scope main \
	--candidate "$cand" --wait 60 >"$dir/sw.out" 2>"$dir/sw.err" &
swpid=$!
pids="$pids $swpid"
wait_for 15 grep -q "event=switchover_start candidate=$cand" "$dir/$old-agent.log" ||
	fail "take-back: $old never started the switchover"
pg_agent_freeze "$cand"
t0=$(now_ms)
wait "$swpid"
sw_rc=$?
forget "$swpid"
new=$(pg_wait_primary 5) || fail "take-back: no primary after the failed switchover ($(cat "$dir/sw.err"))"
pg_agent_thaw "$cand"
[ "$sw_rc" = 2 ] || fail "take-back: switchover exited $sw_rc, expected 2: $(cat "$dir/sw.out" "$dir/sw.err")"
[ "$new" = "$old" ] || fail "take-back: $new is primary, expected $old to take the role back"
grep -q "switchover to $cand failed: $old is the primary (switchover to $cand failed: it did not take the primary lease" "$dir/sw.err" ||
	fail "take-back: unclear report: $(cat "$dir/sw.err")"
echo "take-back: $old primary again $(($(now_ms) - t0)) ms after $cand froze: $(head -1 "$dir/sw.err")"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "take-back: $cand did not come back as a replica"

# ---- 6. synchronous mode off again ------------------------------------------------------------
cl edit-config --set synchronous_mode=off
expect_rc 0 "edit-config --set synchronous_mode=off"
primary=$(pg_wait_primary 10) || fail "sync off: no primary"
wait_for 20 sh -c "[ -z \"\$(PGCONNECT_TIMEOUT=2 psql -X -A -t -q '$(pg_conninfo "$primary")' -c 'SHOW synchronous_standby_names')\" ]" ||
	fail "sync off: $primary still waits for synchronous standbys"
wait_for 20 sh -c "! '$ctl_bin' --endpoints '$TENURE_ENDPOINTS' get main/sync >/dev/null 2>&1" ||
	fail "sync off: main/sync was not removed"
sleep 1

probe_stop
primary=$(pg_wait_primary 10) || fail "end: no primary"
probe_check "$primary" >/dev/null || fail "the probe found a problem: $out"
echo "probe: $(printf '%s\n' "$out" | grep 'longest gap')"
echo "ok: rolling sync change, edit-config and switchover at once, show-config, refusals, EDITOR, sync off"
