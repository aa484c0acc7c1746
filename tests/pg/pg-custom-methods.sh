#!/bin/sh
# pg-custom-methods.sh — the operator's own commands on real PostgreSQL 15:
# bootstrap_method = custom (fencing/bootstrap_conf.h,
# agent_act_bootstrap.c) and create_replica_methods = custom
# (replica_conf.h, agent_act_replica.c), two nodes, asynchronous:
#
#   1. pg1 bootstraps with bootstrap_command, a script that runs initdb
#      itself and leaves a marker file: the agent logs bootstrap_restored
#      method=custom, runs no initdb of its own, and pg1 is the primary;
#      the script got DATADIR SCOPE NAME and TENURE_BOOTSTRAP_TARGET;
#   2. pg2 is created by create_replica_command alone (no basebackup in
#      the list), a script running pg_basebackup with
#      TENURE_PRIMARY_CONNINFO (the replication password in it, never on a
#      command line): replica_created method=custom, the marker copied,
#      pg2 streams and has rows written on pg1.
me=pg-custom-methods
PG_SYNC=off
PG_NODES=2
. "$(dirname "$0")/../lib/pg-lib.sh"

cl() { ctl --endpoints "$TENURE_ENDPOINTS" cluster "$@" --scope main; }
logged() { grep -q "$2" "$dir/$1-agent.log"; }
is_primary() { [ "$(pg_http_code "$1" /primary)" = 200 ]; }
streams() {
	[ "$(psql_as "$1" "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ]
}

pwopts="-A trust"
[ "$pg_passwords" = 1 ] && pwopts="-A scram-sha-256 --pwfile=$dir/pg-superuser.pass"
cat >"$dir/boot.sh" <<EOF
#!/bin/sh
# bootstrap_command: DATADIR SCOPE NAME
set -e
echo "args=\$* target=\$TENURE_BOOTSTRAP_TARGET dir=\$TENURE_DATA_DIR" >"$dir/boot.out"
"$pg_bin/initdb" -D "\$1" -U postgres $pwopts -k -E UTF8 >>"$dir/boot.out" 2>&1
echo custom >"\$1/bootstrapped_by"
EOF
cat >"$dir/clone.sh" <<EOF
#!/bin/sh
# create_replica_command: DATADIR SCOPE NAME
set -e
echo "args=\$*" >"$dir/clone.out"
case "\$TENURE_PRIMARY_CONNINFO" in *host=*) ;; *) echo "no conninfo" >&2; exit 1 ;; esac
exec "$pg_bin/pg_basebackup" -d "\$TENURE_PRIMARY_CONNINFO" -D "\$1" -X stream -c fast
EOF
chmod 755 "$dir/boot.sh" "$dir/clone.sh"

pg_start_witnesses
cl edit-config --set bootstrap_method=custom --set bootstrap_command="$dir/boot.sh" \
	--set create_replica_methods=custom --set create_replica_command="$dir/clone.sh"
[ "$rc" = 0 ] || fail "edit-config: rc=$rc $out $err"

# ---- 1. the custom bootstrap ------------------------------------------------------
pg_start_agent pg1
wait_for 60 is_primary pg1 ||
	fail "1: pg1 is not the primary: $(grep -E 'bootstrap|command_failed' "$dir/pg1-agent.log" | tail -5)"
logged pg1 'event=bootstrap_restored method=custom' || fail "1: no bootstrap_restored method=custom"
logged pg1 'cmd="[^"]*/initdb ' && fail "1: the agent ran initdb itself"
[ "$(cat "$(pg_datadir pg1)/bootstrapped_by")" = custom ] || fail "1: no marker: the script did not make pg1's data"
grep -q "^args=$(pg_datadir pg1) main pg1 target= dir=$(pg_datadir pg1)\$" "$dir/boot.out" ||
	fail "1: the script got: $(head -1 "$dir/boot.out")"
psql_as pg1 "CREATE TABLE t AS SELECT g FROM generate_series(1, 500) g" || fail "1: writes"
echo "1: pg1 bootstrapped by the custom command"

# ---- 2. the custom replica ----------------------------------------------------------
pg_start_agent pg2
wait_for 60 logged pg2 'event=replica_created method=custom' ||
	fail "2: pg2 was not created by the command: $(grep -E 'replica_|command_failed' "$dir/pg2-agent.log" | tail -5)"
grep -q "^args=$(pg_datadir pg2) main pg2\$" "$dir/clone.out" || fail "2: the script got: $(cat "$dir/clone.out")"
[ "$(cat "$(pg_datadir pg2)/bootstrapped_by")" = custom ] || fail "2: pg2 is not a copy of pg1"
wait_for 60 streams pg2 || fail "2: pg2 does not stream"
rows() { [ "$(psql_as pg2 "SELECT count(*) FROM t" 2>/dev/null)" = 500 ]; }
wait_for 30 rows || fail "2: pg2 lacks pg1's rows"
if [ "$pg_passwords" = 1 ]; then
	grep -q "$(cat "$dir/replication.pass")" "$dir/pg2-agent.log" &&
		fail "2: the replication password is in pg2's agent log"
fi
echo "2: pg2 created by the custom command, streams"
echo "$me: ok"
