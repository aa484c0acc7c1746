#!/bin/sh
# pg-move-trio.sh — a cluster's scope moves from one witness trio to
# another without a failover (real PostgreSQL 15, three agents,
# synchronous mode, the pgprobe write probe throughout):
#
#   1. two trios of tenured (six on loopback); the cluster bootstraps on
#      the first;
#   2. `cluster move` refuses while the agents run, and when a witness of
#      the new trio does not say it knows the floor; paused and with every
#      agent stopped (each leaves its Postgres running, the primary's
#      writes S/unguarded), it asks for confirmation without a terminal
#      (exit 2), then moves with --yes, and a second run finds nothing
#      left to do;
#   3. an agent started against the old trio exits 2 saying where the
#      scope went, and touches nothing;
#   4. the agents pointed at the new trio: the primary takes its lease back
#      for the same postmaster (event=reclaimed), with a fencing token above
#      every token of the old trio; the history goes on; resume;
#   5. the probe lost no acknowledged write and saw no two primaries;
#   6. a failover on the new trio works: the primary crashes, a standby is
#      promoted, with a token above the last.
me=pg-move-trio
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/pg-lib.sh"

# ---- the second trio: a block of the witness range, its own ports -------------------
proc_alloc_ports witness
base2=$alloc_base
lock2=$alloc_lock
trap 'st=$?; rm -rf "$lock2"; (exit $st); pg_cleanup' EXIT
ep2() { echo "127.0.0.1:$((base2 + 3 + $1))"; }
start2() { # start2 N: witness v(N) of the second trio
	# shellcheck disable=SC2086 # $witness_opts is words on purpose
	"$bin" --name "v$1" --data-dir "$dir/v$1" \
		--listen-peer "127.0.0.1:$((base2 + $1))" \
		--listen-client "$(ep2 "$1")" \
		--listen-http "127.0.0.1:$((base2 + 6 + $1))" \
		--initial-cluster "v1=127.0.0.1:$((base2 + 1)),v2=127.0.0.1:$((base2 + 2)),v3=127.0.0.1:$((base2 + 3))" \
		--election-timeout 300ms --heartbeat-interval 50ms \
		${witness_opts:-} >>"$dir/v$1.log" 2>&1 &
	pids="$pids $!"
}
OLD=$TENURE_ENDPOINTS
NEW="$(ep2 1),$(ep2 2),$(ep2 3)"
on() { # on OLD|NEW ARGS...: tenurectl against that trio ($out, $err, $rc)
	_trio=$1
	shift
	ctl --endpoints "$_trio" "$@"
}
token_on() { # token_on TRIO: S/primary's token there ("" when free)
	"$ctl_bin" --endpoints "$1" lease get main/primary -o json 2>/dev/null |
		jq -r 'select(.holder != null and .holder != "") | .token'
}
sees_pause() { [ "$(pg_http "$1" /patroni | jq -r '.pause // false')" = true ]; }
in_recovery() { psql_as "$1" "SELECT pg_is_in_recovery()"; }

# ---- 1. two trios, the cluster on the first -----------------------------------------------
pg_start_agents
for n in 1 2 3; do start2 $n; done
wait_for 15 sh -c "'$ctl_bin' --endpoints '$NEW' status -o json 2>/dev/null | jq -e 'map(select(.role == \"leader\")) | length == 1' >/dev/null" ||
	fail "the second trio elected no leader in 15 s"
primary=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "bootstrap: the standbys did not come up"
pg_probe_table "$primary"
pg_wait_sync "$primary" 60 || fail "bootstrap: no synchronous standby"
echo "bootstrap: $primary primary on the first trio ($OLD)"

# ---- 2. the move ------------------------------------------------------------------------------
probe_start
on "$OLD" cluster pause --scope main
expect_rc 0 "pause"
for n in pg1 pg2 pg3; do
	wait_for 10 sees_pause "$n" || fail "pause: $n's agent does not see maintenance mode"
done
on "$OLD" cluster move --to "$NEW" --scope main --yes
expect_rc 2 "move while the agents run"
case "$err" in *"agent running"*) ;; *) fail "move while the agents run: no reason given: $err" ;; esac
pm=$(pg_postmaster_pid "$primary")
[ -n "$pm" ] || fail "no postmaster for $primary"
old_token=$(token_on "$OLD")
[ -n "$old_token" ] || fail "no token on the first trio"
n_hist_old=$("$ctl_bin" --endpoints "$OLD" cluster history --scope main -o json | jq length)
for n in pg1 pg2 pg3; do
	pg_agent_stop "$n" 30
	[ "$rc" = 0 ] || fail "paused stop of $n's agent: exit $rc"
done
[ "$(pg_postmaster_pid "$primary")" = "$pm" ] || fail "stopping $primary's agent stopped its Postgres"
on "$OLD" get main/unguarded -o json
case "$(field .value)" in "$primary $old_token "*) ;; *) fail "S/unguarded is '$(field .value)', expected '$primary $old_token ...'" ;; esac
# Every witness of the new trio must say it knows the floor: one that
# does not answer (here an endpoint where nothing runs) is refused before
# anything is written.
on "$OLD" cluster move --to "$NEW,127.0.0.1:$base2" --scope main --yes
expect_rc 2 "move to a trio with a witness that does not answer"
case "$err" in *"cannot tell which version the witness 127.0.0.1:$base2 runs"*) ;; *) fail "move with a silent witness: no reason given: $err" ;; esac
on "$OLD" get main/moved
expect_rc 1 "S/moved after a move refused for a silent witness"
on "$OLD" cluster move --to "$NEW" --scope main </dev/null
expect_rc 2 "move without --yes and without a terminal"
on "$OLD" get main/moved
expect_rc 1 "S/moved after a move that was not confirmed"
on "$OLD" cluster move --to "$NEW" --scope main --yes -o json
expect_rc 0 "move"
floor=$(field .token_floor)
[ "$floor" -ge "$old_token" ] || fail "move: token floor $floor below the old trio's token $old_token"
[ "$(field .copied)" -gt 5 ] || fail "move: only $(field .copied) keys copied: $out"
on "$OLD" get main/moved -o json
[ "$(field .value)" = "$NEW" ] || fail "move: S/moved on the old trio is '$(field .value)'"
on "$NEW" get main/unguarded -o json
case "$(field .value)" in "$primary $old_token "*) ;; *) fail "move: S/unguarded on the new trio is '$(field .value)'" ;; esac
on "$NEW" get main/moved
expect_rc 1 "S/moved copied to the new trio"
on "$OLD" cluster move --to "$NEW" --scope main --yes -o json
expect_rc 0 "the move run again"
again=$(field .copied)
[ "$again" = 0 ] || fail "the move run again copied $again keys"
on "$OLD" cluster move --to "127.0.0.1:1" --scope main --yes
expect_rc 2 "a move to a third trio after the first"
echo "move: $again keys copied the second time; S/moved = $NEW on the old trio; floor $floor (old token $old_token)"

# ---- 3. an agent still pointed at the old trio refuses ----------------------------------------
forgotten=$(pg_name 2)
[ "$forgotten" = "$primary" ] && forgotten=$(pg_name 3)
fpm=$(pg_postmaster_pid "$forgotten")
pg_start_agent "$forgotten"
eval "_fp=\$pg_agent_$(pg_num "$forgotten")"
wait_for 20 sh -c "! kill -0 $_fp 2>/dev/null" || fail "$forgotten's agent against the old trio did not exit"
wait "$_fp"
frc=$?
pg_reap_agent "$forgotten"
[ "$frc" = 2 ] || fail "$forgotten's agent against the old trio exited $frc, expected 2"
grep -q "event=scope_moved.*scope main moved to trio $NEW: point \`witnesses\` there" "$dir/$forgotten-agent.log" ||
	fail "$forgotten's agent did not say where the scope went: $(tail -n 5 "$dir/$forgotten-agent.log")"
[ "$(pg_postmaster_pid "$forgotten")" = "$fpm" ] || fail "$forgotten's agent against the old trio touched its Postgres"
on "$OLD" lease get main/members/"$forgotten"
[ "$rc" = 1 ] || fail "$forgotten's agent took its member lease on the old trio (exit $rc: $out)"
[ -z "$(token_on "$OLD")" ] || fail "someone holds main/primary on the old trio"
echo "forgotten agent: $forgotten exited 2 and said where the scope went; its Postgres untouched"

# ---- 4. the agents on the new trio --------------------------------------------------------
TENURE_ENDPOINTS=$NEW
export TENURE_ENDPOINTS
for n in pg1 pg2 pg3; do
	pg_conf "$n" witnesses "'$NEW'"
	pg_start_agent "$n"
done
[ "$(pg_wait_primary 30)" = "$primary" ] || fail "new trio: $primary did not take its lease back"
[ "$(pg_postmaster_pid "$primary")" = "$pm" ] || fail "new trio: $primary's Postgres was restarted (postmaster $pm, now $(pg_postmaster_pid "$primary"))"
grep -q "event=reclaimed" "$dir/$primary-agent.log" || fail "new trio: no event=reclaimed in $primary's log"
grep -q 'event=fenced' "$dir/$primary-agent.log" && fail "new trio: $primary was fenced: $(grep event=fenced "$dir/$primary-agent.log")"
new_token=$(token_on "$NEW")
[ -n "$new_token" ] && [ "$new_token" -gt "$floor" ] && [ "$new_token" -gt "$old_token" ] ||
	fail "new trio: token '$new_token' not above the old trio's $old_token (floor $floor)"
pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null || fail "new trio: the replicas are not both back"
wait_for 10 sh -c "! '$ctl_bin' --endpoints '$NEW' get main/unguarded >/dev/null 2>&1" ||
	fail "new trio: S/unguarded was not cleared"
on "$NEW" cluster history --scope main -o json
[ "$(field length)" -gt "$n_hist_old" ] || fail "new trio: the history did not go on ($n_hist_old entries before, now $(field length))"
[ "$(field '.[-1].token')" = "$new_token" ] || fail "new trio: the newest history entry has token $(field '.[-1].token'), expected $new_token"
[ "$(field '[sort_by(.time_ms)[].token] | . == sort')" = true ] ||
	fail "new trio: history tokens do not grow with time: $(field '[sort_by(.time_ms)[] | [.time_ms, .token]]')"
on "$NEW" cluster resume --scope main
expect_rc 0 "resume on the new trio"
echo "new trio: $primary primary again, same postmaster $pm, token $new_token > $old_token"

# ---- 5. the probe -------------------------------------------------------------------------
pg_wait_sync "$primary" 60 || fail "new trio: no synchronous standby"
sleep 1
probe_stop
probe_check "$primary" --sync >/dev/null || fail "the probe found a problem: $out"
echo "probe: $(probe_count ok) writes acknowledged, none lost"

# ---- 6. a failover on the new trio ----------------------------------------------------------
pg_crash "$primary"
new=$(wait_other_primary "$primary" 60) || fail "failover on the new trio: no standby promoted"
ft=$(token_on "$NEW")
[ -n "$ft" ] && [ "$ft" -gt "$new_token" ] || fail "failover: token '$ft' not above $new_token"
wait_for 10 sh -c "[ \"\$('$ctl_bin' --endpoints '$NEW' cluster history --scope main -o json | jq -r '.[-1].token')\" = '$ft' ]" ||
	fail "failover: no history entry with token $ft"
echo "failover on the new trio: $primary crashed, $new promoted with token $ft"
echo "ok: the scope moved to another trio without a failover; the old trio turns its agents away"
