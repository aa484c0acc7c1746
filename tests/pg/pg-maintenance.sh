#!/bin/sh
# pg-maintenance.sh — maintenance mode survives agent restarts (real
# PostgreSQL 15, three agents, synchronous mode), and a clean stop outside
# it is a planned handover.  The pgprobe write probe runs through sections
# 1-3 and checks that no two nodes accepted writes at once and no
# acknowledged commit was lost.
#
#   1. paused, the primary's agent stopped (SIGTERM, as for an upgrade):
#      its Postgres keeps running as the primary, the same postmaster, and
#      accepts writes; S/unguarded names it; nobody else is promoted.  A
#      replica's agent stopped the same way leaves its Postgres streaming.
#   2. the agents start again: the primary's takes the lease back for the
#      running server (never stopped or demoted), the replica's adopts its
#      running standby; S/unguarded is cleared.
#   3. paused, the primary's agent stopped again, an operator's failover to
#      a replica: without a stonith_command the candidate refuses (the old
#      primary is still running) and says why; the primary's agent back
#      takes its lease again.
#   4. not paused: a SIGTERM of the primary's agent stops its Postgres, a
#      standby takes over, the history says "primary stopped" (not "lease
#      expired") and the stopped node leaves `cluster list` at once.
me=pg-maintenance
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }
key() { "$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get "main/$1" -o json 2>/dev/null | jq -r .value; }
holder() {
	"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" lease get main/primary -o json 2>/dev/null |
		jq -r '.holder // ""'
}
sees_pause() { [ "$(pg_http "$1" /patroni | jq -r '.pause // false')" = true ]; }
in_recovery() { psql_as "$1" "SELECT pg_is_in_recovery()"; }
other_replica() { # a replica other than $1
	for _r in $(pg_replicas); do [ "$_r" != "$1" ] && { echo "$_r"; return 0; }; done
	return 1
}

pg_start_agents
primary=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "bootstrap: the standbys did not come up"
pg_probe_table "$primary"
pg_wait_sync "$primary" 60 || fail "bootstrap: no synchronous standby"
replica=$(other_replica "$primary") || fail "bootstrap: no replica"

# ---- 1. paused: agents stopped, their Postgres keeps running -------------------------------
probe_start
# as cron or a systemd unit would run it: no USER in the environment
env -u USER "$ctl_bin" --endpoints "$TENURE_ENDPOINTS" cluster pause --scope main >"$dir/pause.out" 2>&1 ||
	fail "pause: $(cat "$dir/pause.out")"
case "$(key pause | jq -r .by)" in
"$(id -un)@"*) ;;
*) fail "pause: S/pause says it was by '$(key pause | jq -r .by)', expected $(id -un)@HOST" ;;
esac
for n in "$primary" "$replica"; do
	wait_for 10 sees_pause "$n" || fail "pause: $n's agent does not see maintenance mode"
done
pm=$(pg_postmaster_pid "$primary")
rpm=$(pg_postmaster_pid "$replica")
pg_agent_stop "$primary" 30
[ "$rc" = 0 ] || fail "paused stop of $primary's agent: exit $rc"
pg_agent_stop "$replica" 30
[ "$rc" = 0 ] || fail "paused stop of $replica's agent: exit $rc"
[ "$(pg_postmaster_pid "$primary")" = "$pm" ] ||
	fail "paused: stopping $primary's agent stopped its Postgres (postmaster $pm, now '$(pg_postmaster_pid "$primary")')"
[ "$(pg_postmaster_pid "$replica")" = "$rpm" ] ||
	fail "paused: stopping $replica's agent stopped its Postgres"
[ "$(in_recovery "$primary")" = f ] || fail "paused: $primary is no longer a primary"
psql_as "$primary" "INSERT INTO tenure_probe VALUES ('maintenance', 1)" ||
	fail "paused: $primary's Postgres does not accept writes with its agent stopped"
case "$(key unguarded)" in
"$primary "[0-9]*) ;;
*) fail "paused: S/unguarded is '$(key unguarded)', expected '$primary TOKEN'" ;;
esac
sleep 6 # more than twice the lease TTL: the lease ran out meanwhile
[ -z "$(holder)" ] || fail "paused: $(holder) holds the primary lease"
[ -z "$(pg_primaries)" ] || fail "paused: $(pg_primaries) was promoted"
[ "$(in_recovery "$replica")" = t ] || fail "paused: $replica left recovery"
echo "paused: the agents of $primary and $replica stopped; both Postgres kept running, nobody promoted"

# ---- 2. the agents back: the running primary gets its lease again --------------------------
pg_start_agent "$primary"
pg_start_agent "$replica"
[ "$(pg_wait_primary 30)" = "$primary" ] || fail "restart: $primary did not take its lease back"
[ "$(pg_postmaster_pid "$primary")" = "$pm" ] || fail "restart: $primary's Postgres was restarted"
grep -q "event=reclaimed" "$dir/$primary-agent.log" || fail "restart: no event=reclaimed in $primary's log"
wait_for 10 sh -c "! '$ctl_bin' --endpoints $TENURE_ENDPOINTS get main/unguarded >/dev/null 2>&1" ||
	fail "restart: S/unguarded was not cleared: $(key unguarded)"
pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null || fail "restart: the replicas are not both back"
[ "$(pg_postmaster_pid "$replica")" = "$rpm" ] || fail "restart: $replica's Postgres was restarted"
grep -q 'event=fenced' "$dir/$primary-agent.log" && fail "restart: $primary was fenced: $(grep event=fenced "$dir/$primary-agent.log")"
echo "restart: $primary is primary again (same postmaster), $replica a replica (same postmaster)"

# An operator's failover while the primary runs without its agent: a
# request for a node that does not exist makes the standbys stop
# replicating (the unguarded primary goes on taking the probe's writes, so
# they stop at different places) without promoting any; then the failover
# is asked of the one that went furthest, the only one the synchronous
# rule allows ($cand).
# (by the positions the standbys published, as the rules compare them:
# lag_bytes is each node's own view of the primary's position)
frozen_best() ( # a subshell: pg-lib.sh's variables stay as they are
	for fb_node in pg1 pg2 pg3; do
		"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get "main/members/$fb_node" -o json 2>/dev/null |
			jq -r '.value | fromjson | select(.role == "replica" and .state == "frozen") |
				"\(.received_lsn) \(.name)"' 2>/dev/null
	done | sort -k1,1nr -k2,2 | awk 'NR == 1 { print $2 }' # (cut is fault-lib.sh's)
)
freeze_standbys() { # freeze_standbys WHAT
	"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" put main/switchover \
		'{"kind":"failover","from":"","candidate":"nobody","requested_ms":'"$(now_ms)"'}' >/dev/null ||
		fail "$1: cannot write the request"
	wait_for 20 sh -c "[ -n \"\$(\"$ctl_bin\" --endpoints $TENURE_ENDPOINTS cluster list --scope main -o json 2>/dev/null |
		jq -r '[.[] | select(.role == \"replica\" and .state == \"frozen\")] | if length == 2 then \"y\" else \"\" end')\" ]" ||
		fail "$1: the standbys did not both stop replicating: $(pg_cluster_list; echo "$out")"
	"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" del main/switchover >/dev/null 2>&1
	cand=$(frozen_best)
	[ -n "$cand" ] || fail "$1: no frozen standby to ask"
}

# ---- 3. a failover while the primary runs without its agent: refused ------------------------
# (both standbys synchronous first: the refusal must be for the right reason)
pg_wait_sync "$primary" 60 2 || fail "failover: the standbys are not both synchronous"
pg_agent_stop "$primary" 30
[ "$rc" = 0 ] || fail "second paused stop: exit $rc"
freeze_standbys failover
cl failover --yes --candidate "$cand" --wait 10
[ "$rc" != 0 ] || fail "failover to $cand succeeded while $primary still runs unguarded: $out"
[ "$(in_recovery "$cand")" = t ] || fail "failover: $cand was promoted while $primary still runs"
[ "$(in_recovery "$primary")" = f ] || fail "failover: $primary stopped being primary"
grep -q 'event=promotion_refused.*left running without its agent' "$dir/$cand-agent.log" ||
	fail "failover: $cand did not say why it refused: $(grep 'promotion_refused\|event=decision' "$dir/$cand-agent.log" | tail -n 5)"
ctl --endpoints "$TENURE_ENDPOINTS" del main/switchover
pg_start_agent "$primary"
[ "$(pg_wait_primary 30)" = "$primary" ] || fail "failover refused: $primary did not take its lease back"
echo "failover while unguarded: refused ($(grep -c 'event=promotion_refused' "$dir/$cand-agent.log") refusals by $cand); $primary primary again"

# ---- 3b. the same with a stonith_command: the old primary is switched off first -----------
pg_write_fence_agent
for n in $(pg_replicas); do
	pg_conf "$n" stonith_command "'$dir/fence-agent'"
	npm=$(pg_postmaster_pid "$n")
	pg_agent_stop "$n" 30 # paused: its Postgres keeps running meanwhile
	pg_start_agent "$n"
	wait_for 30 sh -c "curl -s --max-time 1 http://127.0.0.1:$(pg_http_port "$n")/replica | grep -q ." ||
		fail "stonith: $n's agent did not come back"
	[ "$(pg_postmaster_pid "$n")" = "$npm" ] || fail "stonith: restarting $n's agent (paused) restarted its Postgres"
done
pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null || fail "stonith: the replicas are not both back"
pg_wait_sync "$primary" 60 2 || fail "stonith: the standbys are not both synchronous"
pg_agent_stop "$primary" 30
[ "$rc" = 0 ] || fail "stonith: paused stop of $primary's agent: exit $rc"
[ -n "$(pg_postmaster_pid "$primary")" ] || fail "stonith: $primary's Postgres stopped with its agent"
freeze_standbys stonith
cl failover --yes --candidate "$cand" --wait 30
[ "$rc" = 0 ] || fail "stonith: failover to $cand: exit $rc ($out $err)"
[ "$(pg_wait_primary 10)" = "$cand" ] || fail "stonith: $cand is not the primary"
grep -q " action=off port=$primary " "$dir/stonith.log" ||
	fail "stonith: $primary was not switched off before $cand was promoted: $(cat "$dir/stonith.log")"
[ -z "$(pg_postmaster_pid "$primary")" ] || fail "stonith: $primary's Postgres still runs"
wait_for 10 sh -c "! '$ctl_bin' --endpoints $TENURE_ENDPOINTS get main/unguarded >/dev/null 2>&1" ||
	fail "stonith: S/unguarded was not cleared after the failover: $(key unguarded)"
sleep 1
probe_stop
probe_check "$cand" --sync >/dev/null || fail "maintenance: the probe found a problem: $out"
echo "failover while unguarded, with stonith_command: $primary switched off, $cand promoted"
cl resume
[ "$rc" = 0 ] || fail "resume: exit $rc: $err"
pg_start_agent "$primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "stonith: $primary did not rejoin as a replica"
primary=$cand

# ---- 4. not paused: a clean stop is a planned handover -------------------------------------
pg_wait_replicas $((PG_NODES - 1)) 60 >/dev/null || fail "handover: the replicas are not both back"
pg_wait_sync "$primary" 60 || fail "handover: no synchronous standby"
for n in $(pg_replicas); do
	wait_for 10 sh -c "[ \"\$(curl -s --max-time 1 http://127.0.0.1:$(pg_http_port "$n")/patroni | jq -r '.pause // false')\" = false ]" ||
		fail "resume: $n still sees maintenance mode"
done
pg_agent_stop "$primary" 30
[ "$rc" = 0 ] || fail "handover: exit $rc"
"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get "main/members/$primary" >/dev/null 2>&1 &&
	fail "handover: $primary's member record outlived its clean stop"
[ -z "$(pg_postmaster_pid "$primary")" ] || fail "handover: $primary's Postgres still runs"
new=$(wait_other_primary "$primary" 30) || fail "handover: no new primary"
ctl --endpoints "$TENURE_ENDPOINTS" cluster history --scope main -o json
[ "$(field '.[-1].reason')" = "primary stopped" ] ||
	fail "handover: the history says '$(field '.[-1].reason')', expected 'primary stopped' ($(field '.[-1]'))"
echo "handover: $primary stopped cleanly, $new primary; history: $(field '.[-1] | "\(.old) -> \(.new) \(.reason) \(.unavailable_ms) ms"')"
pg_start_agent "$primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "handover: $primary did not rejoin"

# ---- 5. the unguarded primary's host crashes before its agent returns -------------------
# The mark S/unguarded must not outlive the Postgres it names: else every
# candidate would refuse to be promoted for ever (found by tests/sim/agent-sim).
cur=$(pg_wait_primary 30) || fail "crash: no primary"
pg_wait_sync "$cur" 60 || fail "crash: no synchronous standby"
cl pause
[ "$rc" = 0 ] || fail "crash: pause: exit $rc $err"
wait_for 10 sees_pause "$cur" || fail "crash: $cur's agent does not see maintenance mode"
pg_agent_stop "$cur" 30
[ -n "$(key unguarded)" ] || fail "crash: no S/unguarded after the paused stop of $cur's agent"
pg_crash "$cur" # its Postgres (the agent is gone already)
pg_start_agent "$cur"
wait_for 30 sh -c "! '$ctl_bin' --endpoints $TENURE_ENDPOINTS get main/unguarded >/dev/null 2>&1" ||
	fail "crash: S/unguarded outlived $cur's Postgres: $(key unguarded)"
grep -q "event=unguarded_cleared" "$dir/$cur-agent.log" || fail "crash: $cur's agent did not say it cleared the mark"
cl resume
[ "$rc" = 0 ] || fail "crash: resume: exit $rc $err"
after=$(pg_wait_primary 60) || fail "crash: no primary after resume"
echo "crash while unguarded: the mark was cleared by $cur's agent; $after primary after resume"
echo "ok: maintenance mode survives agent restarts; a clean stop is a planned handover"
