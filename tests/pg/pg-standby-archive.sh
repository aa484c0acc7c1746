#!/bin/sh
# pg-standby-archive.sh — a standby cluster that restores from the main
# cluster's archive only (standby_cluster_restore_command, no
# standby_cluster_hosts; fencing/standby_cluster.h, decide.h rule 7) on
# real PostgreSQL 15 and pgBackRest: one witness trio, a main cluster "a"
# (pg1, pg2) archiving into stanza "a" (archive_via_pgbackrest's default,
# agent_archiving.c) and a standby cluster "b" (pg3, pg4).
#
#   1. a's primary archives, a full backup is taken; b's settings are
#      refused while archive_via_pgbackrest is unset or on with stanza a
#      (standby_archive.h), taken with it off;
#   2. b's first member is restored from a's backup (create_replica_methods
#      pgbackrest: no pg_basebackup anywhere), holds b's lease as the
#      standby leader (role standby_leader in cluster list, no
#      primary_conninfo) and replays a's archive; b's other member is
#      restored too and cascades from it; rows written on a after
#      pg_switch_wal reach both b nodes;
#   3. `tenurectl cluster promote b`: b's leader is a primary that accepts
#      writes on a new timeline, says it archives nothing, keeps no
#      restore_command reading a's archive, b's other member follows it,
#      and a's stanza holds no WAL of b's timeline.
# pgbackrest must be installed (.ci/run installs it).
me=pg-standby-archive
PG_NODES=4
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"

command -v pgbackrest >/dev/null ||
	fail "pgbackrest missing (apt-get install pgbackrest)"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" </dev/null; }
br="$dir/pgbr"
conf="$br/pgbackrest.conf"
mkdir -p "$br/repo" "$br/log" "$br/lock"
printf '[global]\nrepo1-path=%s\nlog-path=%s\nlock-path=%s\nstart-fast=y\nlog-level-file=detail\n' \
	"$br/repo" "$br/log" "$br/lock" >"$conf"
chown -R postgres:postgres "$br"
brest() { # pgBackRest as postgres, aimed at pg1 (socket in $dir/pg1)
	pg_as_postgres pgbackrest --config="$conf" --stanza=a \
		--pg1-path="$(pg_datadir pg1)" --pg1-port="$(pg_port pg1)" \
		--pg1-socket-path="$dir/pg1" "$@"
}
logged() { grep -q "$2" "$dir/$1-agent.log"; }
streams_from() { # streams_from NODE UPSTREAM
	[ "$(psql_as "$2" "SELECT count(*) FROM pg_stat_replication \
		WHERE application_name = '$1' AND state = 'streaming'" 2>/dev/null)" = 1 ]
}
rows_on() { psql_as "$1" "SELECT count(*) FROM dr_rows" 2>/dev/null; }
rows_are() { [ "$(rows_on "$1")" = "$2" ]; }
code_is() { [ "$(pg_http_code "$1" "$2")" = "$3" ]; }
standby_leader() {
	for _sl in 3 4; do
		code_is $_sl /standby-leader 200 && { echo "pg$_sl"; return 0; }
	done
	return 1
}
other_of() { case "$1" in pg3) echo pg4 ;; pg4) echo pg3 ;; esac; }
setting() { psql_as "$1" "SELECT setting FROM pg_settings WHERE name = '$2'"; }
auto_conf() { grep -E "^$2 " "$(pg_datadir "$1")/postgresql.auto.conf"; }
in_recovery() { [ "$(psql_as "$1" "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ]; }
timeline_of() { psql_as "$1" "SELECT timeline_id FROM pg_control_checkpoint()" 2>/dev/null; }

for k in 1 2; do PG_SCOPE=a pg_write_config $k; done
for k in 3 4; do PG_SCOPE=b pg_write_config $k; done

# ---- 1. a archives into stanza a; a full backup; b's settings ---------------------
pg_start_witnesses
cl edit-config --scope a --set pgbackrest_stanza=a --set pgbackrest_config="$conf"
expect_rc 0 "edit-config --scope a"
pg_start_agent 1
t0=$(now_ms)
wait_for 60 code_is 1 /primary 200 || fail "1: pg1 did not bootstrap a"
brest stanza-create >"$dir/stanza.out" 2>&1 || fail "1: stanza-create: $(cat "$dir/stanza.out")"
brest --type=full backup >"$dir/backup.out" 2>&1 || fail "1: backup: $(cat "$dir/backup.out")"
pg_start_agent 2
wait_for 60 streams_from pg2 pg1 || fail "1: pg2 does not stream from pg1"
# after the backup: only a's archive brings these to b
psql_as pg1 "CREATE TABLE dr_rows AS SELECT g FROM generate_series(1, 100) g" || fail "1: rows on pg1"
psql_as pg1 "SELECT pg_switch_wal()" >/dev/null
echo "1: a archives into stanza a, full backup, 100 rows after it ($(($(now_ms) - t0)) ms)"

restore="pgbackrest --config=$conf --stanza=a --pg1-path=\"\$(pwd)\" archive-get %f \"%p\""
b_set() {
	cl edit-config --scope b --set "standby_cluster_restore_command=$restore" \
		--set pgbackrest_stanza=a --set pgbackrest_config="$conf" \
		--set create_replica_methods=pgbackrest "$@"
}
b_set
[ "$rc" = 2 ] && printf '%s\n' "$err" | grep -q 'must set archive_via_pgbackrest' ||
	fail "1: b's stanza a without archive_via_pgbackrest was not refused: rc=$rc $err"
b_set --set archive_via_pgbackrest=on
[ "$rc" = 2 ] && printf '%s\n' "$err" | grep -q "into stanza 'a'" ||
	fail "1: b archiving into stanza a was not refused: rc=$rc $err"
b_set --set archive_via_pgbackrest=off
expect_rc 0 "edit-config --scope b (archive-only standby cluster)"
echo "1: b archiving into a's stanza refused; taken with archive_via_pgbackrest = off"

# ---- 2. b: restored from a's backup, replays a's archive -----------------------------
pg_start_agent 3
pg_start_agent 4
wait_for 90 standby_leader >/dev/null || fail "2: b has no standby leader"
b1=$(standby_leader)
b2=$(other_of "$b1")
echo "2: $b1 is b's standby leader ($(($(now_ms) - t0)) ms)"
logged "$b1" 'event=replica_created method=pgbackrest' ||
	fail "2: $b1 was not restored by pgbackrest: $(grep -E 'replica_|command_failed' "$dir/$b1-agent.log" | tail -5)"
in_recovery "$b1" || fail "2: the standby leader $b1 is not in recovery"
code_is "$b1" /primary 503 || fail "2: the standby leader answers /primary with $(pg_http_code "$b1" /primary)"
wait_for 30 rows_are "$b1" 100 || fail "2: $b1 has $(rows_on "$b1") rows, not 100"
auto_conf "$b1" restore_command | grep -qF -- '--stanza=a --pg1-path="$(pwd)" archive-get' ||
	fail "2: $b1's restore_command: $(auto_conf "$b1" restore_command)"
[ -z "$(auto_conf "$b1" primary_conninfo | grep -v "= ''")" ] ||
	fail "2: $b1 has a primary_conninfo: $(auto_conf "$b1" primary_conninfo)"
listed_leader() {
	cl list --scope b -o json
	[ "$(printf '%s' "$out" | jq -r ".[] | select(.name == \"$b1\") | .role")" = standby_leader ]
}
wait_for 10 listed_leader || fail "2: cluster list does not name $b1 standby_leader: $out"
wait_for 90 streams_from "$b2" "$b1" || fail "2: $b2 does not cascade from $b1"
logged "$b2" 'event=replica_created method=pgbackrest' || fail "2: $b2 was not restored by pgbackrest"
for k in 3 4; do
	logged pg$k 'cmd="[^"]*pg_basebackup' && fail "2: pg$k ran pg_basebackup"
done
[ "$(setting "$b1" archive_mode)" = off ] || fail "2: $b1's archive_mode is $(setting "$b1" archive_mode)"
psql_as pg1 "INSERT INTO dr_rows SELECT generate_series(101, 150)" || fail "2: insert on pg1"
psql_as pg1 "SELECT pg_switch_wal()" >/dev/null
wait_for 60 rows_are "$b1" 150 || fail "2: $b1 has $(rows_on "$b1") rows, not 150"
wait_for 30 rows_are "$b2" 150 || fail "2: $b2 has $(rows_on "$b2") rows, not 150"
echo "2: $b1 replays a's archive, $b2 cascades from it, both have a's rows ($(($(now_ms) - t0)) ms)"

# ---- 3. tenurectl cluster promote b ---------------------------------------------------
tl_a=$(timeline_of pg1)
t2=$(now_ms)
cl promote b --yes --wait 60
expect_rc 0 "cluster promote b"
echo "3: $out"
printf '%s\n' "$out" | grep -q "note: 'b' archives no WAL" || fail "3: promote did not say b archives nothing: $out"
code_is "$b1" /primary 200 || fail "3: $b1 answers /primary with $(pg_http_code "$b1" /primary)"
in_recovery "$b1" && fail "3: $b1 is still in recovery"
psql_as "$b1" "INSERT INTO dr_rows SELECT generate_series(151, 200)" || fail "3: insert on $b1"
tl_b=$(timeline_of "$b1")
[ "$tl_b" -gt "$tl_a" ] || fail "3: $b1 is on timeline $tl_b, a on $tl_a"
wait_for 60 streams_from "$b2" "$b1" || fail "3: $b2 does not follow $b1"
wait_for 30 rows_are "$b2" 200 || fail "3: $b2 has $(rows_on "$b2") rows, not 200"
# both after the promotion, once the agent has seen it through
no_restore() { ! auto_conf "$b1" restore_command >/dev/null; }
wait_for 10 no_restore || fail "3: $b1 still restores from a's archive: $(auto_conf "$b1" restore_command)"
in_history() {
	cl history --scope b
	printf '%s\n' "$out" | grep -q 'standby cluster promoted'
}
wait_for 10 in_history || fail "3: b's history: $out"
rows_are pg1 150 || fail "3: a's primary has $(rows_on pg1) rows, not 150"
psql_as "$b1" "SELECT pg_switch_wal()" >/dev/null
sleep 2
b_tl=$(printf '%08X' "$tl_b")
found=$(find "$br/repo/archive/a" -name "${b_tl}*" | head -3)
[ -z "$found" ] || fail "3: b's timeline is in a's stanza: $found"
echo "3: $b1 promoted on timeline $tl_b ($(($(now_ms) - t2)) ms), $b2 follows, a's stanza untouched"
echo "$me: passed in $(($(now_ms) - t0)) ms"
