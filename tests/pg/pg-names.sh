#!/bin/sh
# pg-names.sh — what an operator can get wrong about node names and tags,
# on real PostgreSQL 15 (three agents, synchronous mode):
#   1. an agent configured with nofailover, started alone in a new scope,
#      never runs initdb (it used to bootstrap and become the primary,
#      although nofailover means "never promote"); it says why, and once
#      other agents bootstrap the cluster it copies from their primary;
#   2. a second agent started with a name already in use (another host,
#      another data directory) is refused: it exits with status 2 and says
#      why, and the first one's node is untouched (the same postmaster,
#      the same role, the same lease token);
#   3. the same with the primary's name: its member lease is free (its
#      record rides the primary lease, fencing/record_lease.h), so the
#      second agent counts the primary lease held under its name by
#      another process as the name taken: it never writes over the
#      primary's record and is refused, exit 2.
me=pg-names
PG_SYNC=${PG_SYNC:-on}
. "$(dirname "$0")/../lib/pg-lib.sh"

lease_token() {
	"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" lease get main/primary -o json 2>/dev/null |
		jq -r '.token // 0'
}

# ---- 1. nofailover alone never bootstraps -------------------------------------------------
pg_conf 1 nofailover on
pg_start_witnesses
pg_start_agent 1
wait_for 20 grep -q 'nofailover: never bootstraps' "$dir/pg1-agent.log" ||
	fail "nofailover: pg1 did not say why it waits: $(grep event=decision "$dir/pg1-agent.log" | tail -n 3)"
sleep 6 # beyond the bootstrap grace of two lease TTLs
grep -q 'initdb' "$dir/pg1-agent.log" && fail "nofailover: pg1 ran initdb: $(grep initdb "$dir/pg1-agent.log")"
[ -z "$(pg_primaries)" ] || fail "nofailover: $(pg_primaries) is primary"
echo "nofailover: pg1 alone did not bootstrap for 20 s"
pg_start_agent 2
pg_start_agent 3
primary=$(pg_wait_primary 90) || fail "bootstrap: no primary"
[ "$primary" != pg1 ] || fail "nofailover: pg1 became the primary"
pg_wait_replicas 2 120 >/dev/null || fail "bootstrap: the standbys (pg1 among them) did not come up"
echo "nofailover: $primary bootstrapped, pg1 copied from it"

# ---- 2. a second agent with a name in use is refused --------------------------------------
victim=$(for r in $(pg_replicas); do [ "$r" != pg1 ] && echo "$r"; done | head -n 1)
[ -n "$victim" ] || fail "same name: no replica but pg1"
pm=$(pg_postmaster_pid "$victim")
token=$(lease_token)
# pg4's ports and data directory, pg4's config, the name of $victim
pg_write_config 4
sed -i "s/^name = 'pg4'/name = '$victim'/" "$dir/pg4.conf"
t0=$(now_ms)
pg_start_agent 4
wait_for 30 sh -c "! kill -0 $pg_agent_4 2>/dev/null" ||
	fail "same name: the second agent named $victim still runs after 30 s"
wait "$pg_agent_4"
src=$?
_pg_forget "$pg_agent_4"
pg_agent_4=""
[ "$src" = 2 ] || fail "same name: the second agent exited $src, expected 2"
grep -q "event=name_conflict name=$victim" "$dir/pg4-agent.log" ||
	fail "same name: no name_conflict in its log: $(tail -n 5 "$dir/pg4-agent.log")"
grep -q 'initdb\|pg_basebackup\|pg_ctl' "$dir/pg4-agent.log" &&
	fail "same name: the refused agent touched Postgres: $(grep 'initdb\|pg_basebackup\|pg_ctl' "$dir/pg4-agent.log")"
[ "$(pg_postmaster_pid "$victim")" = "$pm" ] || fail "same name: $victim's Postgres was restarted"
[ "$(lease_token)" = "$token" ] || fail "same name: the primary lease changed hands (token $token -> $(lease_token))"
[ "$(pg_primaries)" = "$primary" ] || fail "same name: the primary is now '$(pg_primaries)'"
pg_wait_replicas 2 30 >/dev/null || fail "same name: the replicas are not both up"
echo "same name: a second agent named $victim was refused after $(( ($(now_ms) - t0) / 1000 )) s (exit 2); $victim untouched"

# ---- 3. a second agent with the primary's name is refused ---------------------------------
pm=$(pg_postmaster_pid "$primary")
token=$(lease_token)
# record_of NAME: "ROLE LEASE" of S/members/NAME
record_of() {
	ctl --endpoints "$TENURE_ENDPOINTS" get "main/members/$1" -o json
	printf '%s %s' "$(field '.value' | jq -r '.role' 2>/dev/null)" "$(field '.lease')"
}
r=$(record_of "$primary")
[ "$r" = "primary main/primary" ] ||
	fail "primary's name: $primary's record does not ride the primary lease: '$r'"
pg_write_config 4
sed -i "s/^name = 'pg4'/name = '$primary'/" "$dir/pg4.conf"
t0=$(now_ms)
pg_start_agent 4
# the primary's record is the primary's all along (pg4 would write its own
# over it if it took the member lease of that name)
while kill -0 "$pg_agent_4" 2>/dev/null && [ $(($(now_ms) - t0)) -lt 30000 ]; do
	r=$(record_of "$primary")
	[ "$r" = "primary main/primary" ] ||
		fail "primary's name: its record changed while the second agent ran: '$r'"
	sleep 0.3
done
kill -0 "$pg_agent_4" 2>/dev/null &&
	fail "primary's name: the second agent named $primary still runs after 30 s"
wait "$pg_agent_4"
src=$?
_pg_forget "$pg_agent_4"
pg_agent_4=""
[ "$src" = 2 ] || fail "primary's name: the second agent exited $src, expected 2"
grep -q "event=name_conflict name=$primary" "$dir/pg4-agent.log" ||
	fail "primary's name: no name_conflict in its log: $(tail -n 5 "$dir/pg4-agent.log")"
grep -q 'initdb\|pg_basebackup\|pg_ctl' "$dir/pg4-agent.log" &&
	fail "primary's name: the refused agent touched Postgres: $(grep 'initdb\|pg_basebackup\|pg_ctl' "$dir/pg4-agent.log")"
[ "$(pg_postmaster_pid "$primary")" = "$pm" ] || fail "primary's name: $primary's Postgres was restarted"
[ "$(lease_token)" = "$token" ] || fail "primary's name: the primary lease changed hands (token $token -> $(lease_token))"
[ "$(pg_primaries)" = "$primary" ] || fail "primary's name: the primary is now '$(pg_primaries)'"
echo "primary's name: a second agent named $primary was refused after $(( ($(now_ms) - t0) / 1000 )) s (exit 2); its record untouched"
echo "ok: nofailover never bootstraps; a second agent with a name in use, the primary's too, is refused"
