#!/bin/sh
# pg-replica-backup.sh — replicas created from a pgBackRest repository
# (create_replica_methods, fencing/replica_conf.h, agent_act_replica.c) on
# real PostgreSQL 15, three nodes, asynchronous:
#
#   1. pgbackrest_stanza and pgbackrest_config are set before any agent
#      runs; pg1 bootstraps and archives into a repository on local disk
#      (in $dir, owned by postgres) with the archive_mode and
#      archive_command its agent set (archive_via_pgbackrest unset: on;
#      agent_archiving.c), nothing set by the test; a full backup is taken,
#      then rows are written that the backup does not hold; /metrics and
#      cluster list show WAL archived and no failure (agent_archive.c);
#   2. with create_replica_methods = pgbackrest,basebackup, pg2 starts with
#      no data directory: its agent restores it with pgBackRest (logged
#      method=pgbackrest, no pg_basebackup run), writes its restore_command,
#      and pg2 streams from pg1 with the rows written after the backup;
#   3. with pgbackrest_config naming a repository that holds no stanza, pg3
#      falls back to pg_basebackup (method=basebackup logged after the
#      pgbackrest failure) and streams with the rows too;
#   4. an explicit pg.archive_command wins over the agent's; removed, the
#      agent's is back; archive_via_pgbackrest = off takes archive_mode
#      off at the next restart (pending_restart meanwhile).
# pgbackrest must be installed (.ci/run installs it); the test installs
# nothing.
me=pg-replica-backup
PG_SYNC=off
. "$(dirname "$0")/../lib/pg-lib.sh"

command -v pgbackrest >/dev/null ||
	fail "pgbackrest missing (apt-get install pgbackrest)"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }

br="$dir/pgbr"
mkdir -p "$br/repo" "$br/empty" "$br/log" "$br/lock"
for _c in good broken; do
	_repo="$br/repo"
	[ "$_c" = broken ] && _repo="$br/empty"
	printf '[global]\nrepo1-path=%s\nlog-path=%s\nlock-path=%s\nstart-fast=y\nlog-level-file=detail\n' \
		"$_repo" "$br/log" "$br/lock" >"$br/$_c.conf"
done
chown -R postgres:postgres "$br"

d1=$(pg_datadir pg1)
# pgBackRest as postgres, aimed at pg1 (socket in $dir/pg1)
brest() {
	pg_as_postgres pgbackrest --config="$br/good.conf" --stanza=main \
		--pg1-path="$d1" --pg1-port="$(pg_port pg1)" \
		--pg1-socket-path="$dir/pg1" "$@"
}
logged() { grep -q "$2" "$dir/$1-agent.log"; }
streams() {
	[ "$(psql_as "$1" "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ]
}
rows() { psql_as "$1" "SELECT count(*) FROM after_backup" 2>/dev/null; }
has_rows() { [ "$(rows "$1")" = 1000 ]; }

setting() { psql_as "$1" "SELECT setting FROM pg_settings WHERE name = '$2'"; }

# ---- 1. pg1 archives (set by its agent); a full backup; rows after it -------
pg_start_witnesses
cl edit-config --set pgbackrest_stanza=main --set pgbackrest_config="$br/good.conf"
[ "$rc" = 0 ] || fail "1: edit-config: rc=$rc $out $err"
pg_start_agent pg1
first=$(pg_wait_primary 60) || fail "1: pg1 did not bootstrap"
[ "$first" = pg1 ] || fail "1: $first is primary, not pg1"
[ "$(setting pg1 archive_mode)" = on ] ||
	fail "1: pg1's archive_mode is $(setting pg1 archive_mode), not on"
want_cmd="pgbackrest --stanza=main --config=$br/good.conf --pg1-path=\"$d1\" archive-push \"%p\""
[ "$(setting pg1 archive_command)" = "$want_cmd" ] ||
	fail "1: pg1's archive_command is [$(setting pg1 archive_command)], not [$want_cmd]"
brest stanza-create >"$dir/stanza.out" 2>&1 ||
	fail "1: stanza-create: $(cat "$dir/stanza.out")"
brest --type=full backup >"$dir/backup.out" 2>&1 ||
	fail "1: backup: $(cat "$dir/backup.out")"
psql_as pg1 "CREATE TABLE after_backup AS SELECT g FROM generate_series(1, 1000) g" ||
	fail "1: rows after the backup"
psql_as pg1 "SELECT pg_switch_wal()" >/dev/null
echo "1: full backup of pg1, then 1000 rows"
# archiving's health: /metrics and the member record (cluster list)
archived() {
	pg_http pg1 /metrics | grep -q '^tenure_agent_archive_archived_total [1-9]' &&
		pg_http pg1 /metrics | grep -q '^tenure_agent_archive_failed_total 0$' &&
		pg_http pg1 /metrics | grep -Eq '^tenure_agent_archive_last_wal_info\{wal="[0-9A-F]{24}"\} 1$'
}
wait_for 20 archived || fail "1: /metrics: $(pg_http pg1 /metrics | grep archive)"
listed() {
	pg_cluster_list >/dev/null
	printf '%s\n' "$out" | jq -e '.[] | select(.name == "pg1") | .archive | .archived > 0 and .failed == 0 and (.last_wal | length == 24)' >/dev/null
}
wait_for 40 listed || fail "1: cluster list shows no archive: $out"

cl edit-config --set create_replica_methods=pgbackrest,basebackup
[ "$rc" = 0 ] || fail "edit-config: rc=$rc $out $err"
cl edit-config --set create_replica_methods=pgbackrest,rsync
[ "$rc" = 2 ] && printf '%s\n' "$err" | grep -q 'unknown method "rsync"' ||
	fail "an unknown method was not refused: rc=$rc $err"

# ---- 2. pg2 from the repository ---------------------------------------------------
pg_start_agent pg2
wait_for 60 logged pg2 'event=replica_created method=pgbackrest' ||
	fail "2: pg2 was not created by pgbackrest: $(grep -E 'replica_|command_failed' "$dir/pg2-agent.log" | tail -5)"
wait_for 60 streams pg2 || fail "2: pg2 does not stream"
wait_for 30 has_rows pg2 || fail "2: pg2 has $(rows pg2) rows written after the backup, not 1000"
logged pg2 'cmd="[^"]*pg_basebackup' && fail "2: pg2 ran pg_basebackup"
grep -q "^restore_command = 'pgbackrest --stanza=main --config=$br/good.conf --pg1-path=\"$(pg_datadir pg2)\" archive-get" \
	"$(pg_datadir pg2)/postgresql.auto.conf" ||
	fail "2: pg2's restore_command: $(grep restore_command "$(pg_datadir pg2)/postgresql.auto.conf")"
echo "2: pg2 restored from the backup, streams, has the rows"

# ---- 3. a broken repository: pg_basebackup --------------------------------------------
cl edit-config --set pgbackrest_config="$br/broken.conf"
[ "$rc" = 0 ] || fail "3: edit-config: rc=$rc $out $err"
wait_for 10 logged pg1 "key=create_replica_methods new=pgbackrest,basebackup stanza=main config=$br/broken.conf" ||
	fail "3: pg1 did not log the new settings"
pg_start_agent pg3
wait_for 60 logged pg3 'event=replica_created method=basebackup' ||
	fail "3: pg3 did not fall back to basebackup: $(grep -E 'replica_|command_failed' "$dir/pg3-agent.log" | tail -5)"
logged pg3 'event=replica_method_failed method=pgbackrest next=basebackup' ||
	fail "3: pg3 did not try pgbackrest first"
wait_for 60 streams pg3 || fail "3: pg3 does not stream"
wait_for 30 has_rows pg3 || fail "3: pg3 has $(rows pg3) rows, not 1000"
echo "3: pg3 fell back to pg_basebackup, streams, has the rows"

# ---- 4. an explicit pg.archive_command wins; archive_via_pgbackrest = off -------
cmd_is() { [ "$(setting pg1 archive_command)" = "$1" ]; }
cl edit-config --set pg.archive_command=/bin/true
[ "$rc" = 0 ] || fail "4: edit-config: rc=$rc $out $err"
wait_for 20 cmd_is /bin/true || fail "4: pg.archive_command did not win: [$(setting pg1 archive_command)]"
cl edit-config --set pg.archive_command= --set pgbackrest_config="$br/good.conf"
[ "$rc" = 0 ] || fail "4: edit-config: rc=$rc $out $err"
wait_for 20 cmd_is "$want_cmd" || fail "4: the agent's archive_command is not back: [$(setting pg1 archive_command)]"
cl edit-config --set archive_via_pgbackrest=off
[ "$rc" = 0 ] || fail "4: edit-config: rc=$rc $out $err"
wait_for 20 cmd_is "" || fail "4: archive_via_pgbackrest=off left [$(setting pg1 archive_command)]"
pending() { [ "$(psql_as pg1 "SELECT pending_restart FROM pg_settings WHERE name = 'archive_mode'")" = t ]; }
wait_for 20 pending || fail "4: archive_mode off is not pending a restart"
echo "4: pg.archive_command wins; archive_via_pgbackrest=off takes the agent's settings away"
echo "$me: ok"
