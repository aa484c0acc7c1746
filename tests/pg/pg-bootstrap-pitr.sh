#!/bin/sh
# pg-bootstrap-pitr.sh — new scopes bootstrapped from another cluster's
# pgBackRest backup to a point in time (bootstrap_method = pgbackrest,
# bootstrap_target; fencing/bootstrap_conf.h, agent_act_bootstrap.c) on
# real PostgreSQL 15, on the same witnesses, in other data directories:
#
#   1. cluster A (scope main, pg1) archives into stanza "a" (set by its
#      agent: pgbackrest_stanza); a full backup; rows of set 1; a named
#      restore point "p1"; rows of set 2; an LSN noted; rows of set 3; the
#      WAL archived;
#   2. edit-config refuses a target without a zone, a bad LSN, a target
#      with initdb, with the reason;
#   3. scope b (pg4, pg5) with bootstrap_stanza = a and bootstrap_target =
#      'name:p1', archiving into a stanza of its own ("b"): pg4 restores,
#      recovers to p1 and becomes b's primary with set 1 and without set 2;
#      no recovery setting is left in its postgresql.auto.conf; pg5 clones
#      from it and streams; b takes writes; once stanza "b" exists, b
#      archives into it and never into "a" (no timeline 2 history there);
#   4. scope c (pg6), target 'lsn:...', no archiving of its own: sets 1
#      and 2, not 3; no archive_command left from A; writable;
#   4b. scope e (pg8), target 'time:...' (noted between sets 2 and 3):
#      set 2, not set 3;
#   5. scope d (pg7), a restore point that does not exist: bootstrap_failed
#      with Postgres' reason, the data directory emptied, no primary;
#   6. scope f (pg9) whose SCOPE/config the agent refuses (written with
#      `tenurectl put`): no initdb, no restore, bootstrap_failed says why.
# pgbackrest must be installed (.ci/run installs it); the test installs
# nothing.
me=pg-bootstrap-pitr
PG_SYNC=off
PG_NODES=1
. "$(dirname "$0")/../lib/pg-lib.sh"

command -v pgbackrest >/dev/null ||
	fail "pgbackrest missing (apt-get install pgbackrest)"

clx() {
	_s=$1
	shift
	ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope "$_s"
}

br="$dir/pgbr"
mkdir -p "$br/repo" "$br/log" "$br/lock"
printf '[global]\nrepo1-path=%s\nlog-path=%s\nlock-path=%s\nstart-fast=y\nlog-level-file=detail\n' \
	"$br/repo" "$br/log" "$br/lock" >"$br/br.conf"
chown -R postgres:postgres "$br"

# brest NODE STANZA ARGS...: pgBackRest as postgres, aimed at NODE
brest() {
	_n=$1
	_st=$2
	shift 2
	pg_as_postgres pgbackrest --config="$br/br.conf" --stanza="$_st" \
		--pg1-path="$(pg_datadir "$_n")" --pg1-port="$(pg_port "$_n")" \
		--pg1-socket-path="$dir/$(pg_name "$_n")" "$@"
}
logged() { grep -q "$2" "$dir/$1-agent.log"; }
is_primary() { [ "$(pg_http_code "$1" /primary)" = 200 ]; }
streams() {
	[ "$(psql_as "$1" "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ]
}
count() { psql_as "$1" "SELECT count(*) FROM t WHERE phase = $2" 2>/dev/null; }
setting() { psql_as "$1" "SELECT setting FROM pg_settings WHERE name = '$2'"; }
# start_scope SCOPE NODE...: agent configs for SCOPE, then the agents
start_scope() {
	_scope=$1
	shift
	for _n in "$@"; do
		PG_SCOPE=$_scope pg_write_config "$_n"
		pg_start_agent "$_n"
	done
}

# ---- 1. cluster A: archiving, a backup, three sets of rows, two points ---------
pg_start_witnesses
clx main edit-config --set pgbackrest_stanza=a --set pgbackrest_config="$br/br.conf"
[ "$rc" = 0 ] || fail "1: edit-config: rc=$rc $out $err"
pg_start_agent pg1
wait_for 60 is_primary pg1 || fail "1: pg1 did not bootstrap"
brest pg1 a stanza-create >"$dir/stanza.out" 2>&1 ||
	fail "1: stanza-create: $(cat "$dir/stanza.out")"
brest pg1 a --type=full backup >"$dir/backup.out" 2>&1 ||
	fail "1: backup: $(cat "$dir/backup.out")"
# pgBackRest picks, for a time target, a backup that stopped before it, in
# whole seconds
sleep 2
psql_as pg1 "CREATE TABLE t (i int, phase int)" || fail "1: table"
psql_as pg1 "INSERT INTO t SELECT g, 1 FROM generate_series(1, 100) g" || fail "1: set 1"
psql_as pg1 "SELECT pg_create_restore_point('p1')" >/dev/null || fail "1: restore point"
psql_as pg1 "INSERT INTO t SELECT g, 2 FROM generate_series(1, 200) g" || fail "1: set 2"
lsn=$(psql_as pg1 "SELECT pg_current_wal_insert_lsn()") || fail "1: lsn"
when=$(psql_as pg1 "SET TimeZone = 'UTC'; SELECT clock_timestamp()" | tail -1) || fail "1: time"
sleep 1
psql_as pg1 "INSERT INTO t SELECT g, 3 FROM generate_series(1, 300) g" || fail "1: set 3"
seg=$(psql_as pg1 "SELECT pg_walfile_name(pg_switch_wal())") || fail "1: switch"
archived() { [ "$(psql_as pg1 "SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")" = t ]; }
wait_for 30 archived || fail "1: $seg not archived: $(psql_as pg1 "SELECT * FROM pg_stat_archiver")"
echo "1: A archived into stanza a; set 1, point p1, set 2, lsn $lsn, time $when, set 3"

# ---- 2. edit-config refuses bad targets ----------------------------------------------
refused() { # KEY=VALUE TEXT
	clx d edit-config --set bootstrap_method=pgbackrest --set bootstrap_stanza=a --set "$1"
	[ "$rc" = 2 ] && printf '%s\n' "$err" | grep -q "$2" ||
		fail "2: --set $1 was not refused with \"$2\": rc=$rc $err"
}
refused 'bootstrap_target=time:2026-12-07 12:00:00' 'with a zone'
refused 'bootstrap_target=lsn:3000000' 'hex/hex'
refused 'bootstrap_target=p1' 'expected time:..., lsn:..., name:...'
clx d edit-config --set bootstrap_target=name:p1
[ "$rc" = 2 ] && printf '%s\n' "$err" | grep -q 'bootstrap_target: needs bootstrap_method' ||
	fail "2: a target with initdb was not refused: rc=$rc $err"
echo "2: edit-config refuses bad targets"

# ---- 3. scope b to the restore point p1 ----------------------------------------------
clx b edit-config --set bootstrap_method=pgbackrest --set bootstrap_stanza=a \
	--set bootstrap_target=name:p1 --set pgbackrest_stanza=b \
	--set pgbackrest_config="$br/br.conf"
[ "$rc" = 0 ] || fail "3: edit-config: rc=$rc $out $err"
start_scope b pg4
wait_for 90 is_primary pg4 ||
	fail "3: pg4 is not b's primary: $(grep -E 'bootstrap|command_failed' "$dir/pg4-agent.log" | tail -5)"
logged pg4 'event=bootstrap_restored method=pgbackrest type=name' ||
	fail "3: pg4 logged no bootstrap_restored"
logged pg4 'cmd="[^"]*initdb' && fail "3: pg4 ran initdb"
[ "$(count pg4 1)" = 100 ] || fail "3: set 1 has $(count pg4 1) rows on pg4, not 100"
[ "$(count pg4 2)" = 0 ] || fail "3: set 2 has $(count pg4 2) rows on pg4: recovery went past p1"
[ "$(psql_as pg4 "SELECT pg_is_in_recovery()")" = f ] || fail "3: pg4 is in recovery"
grep -Eq '^(restore_command|recovery_target)' "$(pg_datadir pg4)/postgresql.auto.conf" &&
	fail "3: recovery settings left: $(grep -E '^(restore_command|recovery_target)' "$(pg_datadir pg4)/postgresql.auto.conf")"
[ "$(setting pg4 archive_command)" = "pgbackrest --stanza=b --config=$br/br.conf --pg1-path=\"$(pg_datadir pg4)\" archive-push \"%p\"" ] ||
	fail "3: pg4 archives with [$(setting pg4 archive_command)]"
start_scope b pg5
wait_for 60 streams pg5 || fail "3: pg5 does not stream from pg4"
psql_as pg4 "INSERT INTO t SELECT g, 4 FROM generate_series(1, 10) g" || fail "3: b refuses writes"
has_b_rows() { [ "$(count pg5 4)" = 10 ]; }
wait_for 20 has_b_rows || fail "3: pg5 has $(count pg5 4) of b's new rows, not 10"
brest pg4 b stanza-create >"$dir/stanza-b.out" 2>&1 ||
	fail "3: stanza-create b: $(cat "$dir/stanza-b.out")"
seg=$(psql_as pg4 "SELECT pg_walfile_name(pg_switch_wal())") || fail "3: switch"
b_archived() { [ "$(psql_as pg4 "SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")" = t ]; }
wait_for 60 b_archived || fail "3: b did not archive $seg: $(psql_as pg4 "SELECT * FROM pg_stat_archiver")"
ls "$br/repo/archive/b/"*/00000002.history >/dev/null 2>&1 ||
	fail "3: no timeline 2 history in stanza b: $(ls -R "$br/repo/archive/b" | head)"
ls "$br/repo/archive/a/"*/00000002.history >/dev/null 2>&1 &&
	fail "3: b archived its timeline into stanza a"
echo "3: b restored to p1 (set 1, not set 2), pg5 streams, writable, archives into b only"

# ---- 4. scope c to an LSN, no archiving of its own ---------------------------------
clx c edit-config --set bootstrap_method=pgbackrest --set bootstrap_stanza=a \
	--set bootstrap_target="lsn:$lsn" --set pgbackrest_config="$br/br.conf"
[ "$rc" = 0 ] || fail "4: edit-config: rc=$rc $out $err"
start_scope c pg6
wait_for 90 is_primary pg6 ||
	fail "4: pg6 is not c's primary: $(grep -E 'bootstrap|command_failed' "$dir/pg6-agent.log" | tail -5)"
[ "$(count pg6 1)" = 100 ] && [ "$(count pg6 2)" = 200 ] ||
	fail "4: pg6 has $(count pg6 1) and $(count pg6 2) rows of sets 1 and 2, not 100 and 200"
[ "$(count pg6 3)" = 0 ] || fail "4: set 3 has $(count pg6 3) rows on pg6: recovery went past $lsn"
[ "$(setting pg6 archive_mode)" = off ] ||
	fail "4: pg6's archive_mode is $(setting pg6 archive_mode), not off"
grep -q '^archive_command' "$(pg_datadir pg6)/postgresql.auto.conf" &&
	fail "4: pg6 kept A's archive_command: $(grep '^archive_command' "$(pg_datadir pg6)/postgresql.auto.conf")"
psql_as pg6 "INSERT INTO t VALUES (1, 5)" || fail "4: c refuses writes"
echo "4: c restored to $lsn (sets 1 and 2, not 3), no archiving, writable"

# ---- 4b. scope e to a time ------------------------------------------------------------
clx e edit-config --set bootstrap_method=pgbackrest --set bootstrap_stanza=a \
	--set "bootstrap_target=time:$when" --set pgbackrest_config="$br/br.conf"
[ "$rc" = 0 ] || fail "4b: edit-config: rc=$rc $out $err"
start_scope e pg8
wait_for 90 is_primary pg8 ||
	fail "4b: pg8 is not e's primary: $(grep -E 'bootstrap|command_failed' "$dir/pg8-agent.log" | tail -5)"
logged pg8 'event=bootstrap_restored method=pgbackrest type=time' ||
	fail "4b: pg8 logged no bootstrap_restored type=time"
[ "$(count pg8 2)" = 200 ] && [ "$(count pg8 3)" = 0 ] ||
	fail "4b: pg8 has $(count pg8 2) and $(count pg8 3) rows of sets 2 and 3, not 200 and 0"
echo "4b: e restored to $when (set 2, not set 3)"

# ---- 5. scope d: a restore point that does not exist --------------------------------
clx d edit-config --set bootstrap_method=pgbackrest --set bootstrap_stanza=a \
	--set bootstrap_target=name:no_such_point --set pgbackrest_config="$br/br.conf"
[ "$rc" = 0 ] || fail "5: edit-config: rc=$rc $out $err"
start_scope d pg7
wait_for 90 logged pg7 'event=bootstrap_failed' ||
	fail "5: pg7 logged no bootstrap_failed: $(tail -5 "$dir/pg7-agent.log")"
logged pg7 'event=bootstrap_failed.*recovery ended before configured recovery target was reached' ||
	fail "5: bootstrap_failed without Postgres' reason: $(grep bootstrap_failed "$dir/pg7-agent.log")"
released() { logged pg7 'event=lease_released'; }
wait_for 20 released || fail "5: pg7 kept the lease"
[ -z "$(ls -A "$(pg_datadir pg7)")" ] || fail "5: pg7's data directory is not empty: $(ls "$(pg_datadir pg7)" | head)"
is_primary pg7 && fail "5: pg7 answers as a primary"
echo "5: a missing restore point: bootstrap_failed, nothing left: $(grep -m1 event=bootstrap_failed "$dir/pg7-agent.log")"

# ---- 6. scope f: SCOPE/config the agent refuses: no initdb either ---------------------
ctl --endpoints "$TENURE_ENDPOINTS" put f/config "bootstrap_method = rsync" >/dev/null ||
	fail "6: put f/config"
start_scope f pg9
wait_for 60 logged pg9 'event=bootstrap_failed.*SCOPE/config is refused' ||
	fail "6: pg9 did not refuse to bootstrap: $(grep -E 'bootstrap|scope_config' "$dir/pg9-agent.log" | tail -3)"
[ -z "$(ls -A "$(pg_datadir pg9)")" ] || fail "6: pg9's data directory is not empty"
logged pg9 'cmd="[^"]*/initdb ' && fail "6: pg9 ran initdb under a refused SCOPE/config"
echo "6: a refused SCOPE/config: no bootstrap at all"
echo "$me: ok"
