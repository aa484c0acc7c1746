#!/bin/sh
# pg-optime.sh — the lag rule of an asynchronous failover survives agent
# restarts (real PostgreSQL 15, three agents, synchronous mode off).
#
# The primary's position is kept durably in SCOPE/optime (fencing/optime.h).
# Before it was, each agent only remembered it in memory, so an agent that
# restarted measured a candidate against position 0 and promoted a standby
# far behind: acknowledged commits lost.  Here:
#   1. both standbys are stopped (agents with SIGTERM, their Postgres too);
#   2. the primary commits a table of 150,000 rows (several MB of WAL,
#      beyond maximum_lag_on_failover, 1 MB by default);
#   3. SCOPE/optime reaches the primary's position; the primary crashes;
#   4. both standbys' agents start again (nothing in their memory): neither
#      may be promoted; they say why ("no eligible standby");
#   5. the old primary's node comes back: it holds every commit, so it is
#      promoted; the table is complete; the standbys follow it; the history
#      records an outage of at least the time nobody was primary.
me=pg-optime
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"

pg_start_agents
old=$(pg_wait_primary 90) || fail "bootstrap: no primary"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
	fail "bootstrap: the standbys did not come up"
standbys=$(pg_replicas)

# optime_lsn: the lsn in SCOPE/optime ("" when absent)
optime_lsn() {
	"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get main/optime -o json 2>/dev/null |
		jq -r '.value | fromjson | .lsn' 2>/dev/null
}

# ---- 1, 2: standbys down, a big commit on the primary -------------------------------
for s in $standbys; do
	pg_agent_stop "$s" 30
	[ "$rc" = 0 ] || fail "stopping $s's agent: exit $rc"
	[ -z "$(pg_postmaster_pid "$s")" ] || fail "$s's Postgres still runs after its agent stopped"
done
psql_as "$old" "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS pad FROM generate_series(1, 150000) g" ||
	fail "the big commit on $old failed"
end_lsn=$(psql_as "$old" "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
[ -n "$end_lsn" ] || fail "cannot read $old's position"

# ---- 3: the record reaches the position, then the crash ----------------------------
optime_reached() { _l=$(optime_lsn); [ -n "$_l" ] && [ "$_l" -ge "$end_lsn" ]; }
# (not a failure by itself: what matters is what the agents decide below)
wait_for 10 optime_reached ||
	echo "$me: main/optime is '$(optime_lsn)' 10 s after the commit, the primary is at $end_lsn"
echo "main/optime: '$(optime_lsn)' (the primary wrote up to $end_lsn)"
t_crash=$(now_ms)
pg_crash "$old"

# ---- 4: standbys back with empty memories: nobody may be promoted ------------------
# Only once the dead primary's lease and member record are gone from the
# witnesses: then nothing but the durable record tells where it had been.
gone() {
	"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get "main/members/$old" >/dev/null 2>&1 && return 1
	_h=$("$ctl_bin" --endpoints "$TENURE_ENDPOINTS" lease get main/primary -o json 2>/dev/null |
		jq -r '.holder // ""' 2>/dev/null)
	[ -z "$_h" ]
}
wait_for 30 gone || fail "the crashed $old's lease or member record did not expire in 30 s"
for s in $standbys; do pg_start_agent "$s"; done
no_eligible() {
	[ -z "$(pg_primaries)" ] || return 0 # promoted: reported below
	for _s in $standbys; do
		grep -q 'reason="no eligible standby"' "$dir/$_s-agent.log" || return 1
	done
}
wait_for 60 no_eligible ||
	fail "the standbys did not report 'no eligible standby' within 60 s"
# Several lease TTLs more: the decision must hold, not just be late.
sleep 8
p=$(pg_primaries)
[ -z "$p" ] || fail "$p was promoted although it stopped before the 150,000-row commit (the lag rule forgot the primary's position, $end_lsn)"
for s in $standbys; do
	grep -q 'action=acquire' "$dir/$s-agent.log" &&
		fail "$s tried to take the lease while far behind: $(grep 'action=acquire' "$dir/$s-agent.log")"
done
# ... and say so where an operator looks: cluster list and /metrics
ctl --endpoints "$TENURE_ENDPOINTS" cluster list --scope main
printf '%s\n' "$out" | grep -q "^No failover: .*no eligible standby" ||
	fail "cluster list does not say why nobody takes over: $out"
for s in $standbys; do
	pg_http "$s" /metrics | grep -q '^tenure_agent_failover_blocked{reason="no eligible standby"} 1$' ||
		fail "$s's /metrics does not say it is blocked: $(pg_http "$s" /metrics | grep failover_blocked)"
done
echo "no promotion of a lagging standby for $(( ($(now_ms) - t_crash) / 1000 )) s after the crash; cluster list:"
printf '%s\n' "$out" | sed 's/^/  /'

# An operator's failover to a lagging standby, without --force: refused
# (the agents do not promote it), the request withdrawn, and the command
# says why the candidate waits.
first=${standbys%% *}
ctl --endpoints "$TENURE_ENDPOINTS" cluster failover --yes --candidate "$first" --wait 4 --scope main
[ "$rc" = 2 ] || fail "failover to the lagging $first without --force: exit $rc, expected 2 ($out $err)"
printf '%s\n' "$err" | grep -q "waiting: no eligible standby" ||
	fail "failover without --force does not say why $first waits: $err"
printf '%s\n' "$err" | grep -q "request was withdrawn" ||
	fail "the failed failover request was not withdrawn: $err"
"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get main/switchover >/dev/null 2>&1 &&
	fail "main/switchover still holds the failed request"
[ -z "$(pg_primaries)" ] || fail "$(pg_primaries) was promoted by a failover without --force"
echo "failover to $first without --force: refused and withdrawn"

# ---- 5: the old primary returns, is promoted, nothing lost -------------------------
pg_start_agent "$old"
new=$(pg_wait_primary 90) || fail "no primary after $old returned"
[ "$new" = "$old" ] || fail "$new was promoted, expected the returning $old (it holds every commit)"
n=$(psql_as "$new" "SELECT count(*) FROM big") || fail "the table is gone on $new"
[ "$n" = 150000 ] || fail "the table has $n rows on $new, not 150000"
pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null || fail "the standbys did not follow $new"
ctl --endpoints "$TENURE_ENDPOINTS" cluster history --scope main -o json
[ "$rc" = 0 ] || fail "history: exit $rc: $err"
outage=$(field '.[-1].unavailable_ms')
down=$(( $(now_ms) - t_crash ))
[ -n "$outage" ] && [ "$outage" -ge 8000 ] ||
	fail "history records an outage of '$outage' ms; nobody was primary for more than 8 s ($(field '.[-1]'))"
echo "history: $(field '.[-1] | "\(.old) -> \(.new) \(.reason) \(.unavailable_ms) ms"')"

# ---- 6: an operator forces a lagging standby, knowing what is lost ------------------
old=$new
standbys=$(pg_replicas)
for s in $standbys; do
	pg_agent_stop "$s" 30
	[ "$rc" = 0 ] || fail "force: stopping $s's agent: exit $rc"
done
psql_as "$old" "CREATE TABLE lost AS SELECT g FROM generate_series(1, 150000) g" ||
	fail "force: the commit on $old failed"
end_lsn=$(psql_as "$old" "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
wait_for 10 optime_reached || echo "$me: main/optime is '$(optime_lsn)', the primary is at $end_lsn"
pg_crash "$old"
wait_for 30 gone || fail "force: $old's lease or member record did not expire"
for s in $standbys; do pg_start_agent "$s"; done
# (their logs hold the first round's lines: ask what they say now)
blocked() {
	"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" cluster list --scope main -o json 2>/dev/null |
		jq -e '[.[] | select(.waiting == "no eligible standby")] | length == 2' >/dev/null
}
wait_for 60 blocked || fail "force: the standbys did not report 'no eligible standby'"
want=${standbys%% *}
ctl --endpoints "$TENURE_ENDPOINTS" cluster failover --yes --candidate "$want" --force --wait 30 --scope main
[ "$rc" = 0 ] || fail "failover --force to $want: exit $rc ($out $err)"
printf '%s\n' "$err" | grep -q "warning: forcing $want: it is [1-9][0-9]* bytes behind" ||
	fail "failover --force did not say what $want lacks: $err"
warning=$(printf '%s\n' "$err" | grep warning)
[ "$(pg_wait_primary 10)" = "$want" ] || fail "force: $want is not the primary"
psql_as "$want" "SELECT 1 FROM lost LIMIT 1" >/dev/null 2>&1 &&
	fail "force: $want has the table it was forced without?"
grep -q "event=forced_failover node=$want" "$dir/$want-agent.log" ||
	fail "force: $want's agent did not log what it lacked"
ctl --endpoints "$TENURE_ENDPOINTS" cluster history --scope main -o json
[ "$(field '.[-1].reason')" = "forced failover" ] ||
	fail "force: history says '$(field '.[-1].reason')', expected 'forced failover'"
echo "forced: $want promoted without the last commit; $warning"
echo "ok: a restarted agent keeps the lag rule (durable primary position); no commit lost unless forced"
