#!/bin/sh
# security.sh — the client port's credentials and roles, with three real
# tenured processes on loopback (run by `make check-process`):
#
# 1. Credentials made by `tenurectl auth new` (admin, read-only, an agent
#    of scope "main", an agent of scope "other"), each witness with its
#    own copy of the credentials file.  Refused, each with the reason:
#    no credential, a wrong secret, an unknown name.  The read-only one
#    reads but cannot write or take a lease; the agent of "main" takes
#    main/primary and writes main/ keys but cannot write other/, list
#    everything, release other/primary (held by the other agent, and
#    still held afterwards) or change the membership; admin does all.
#    Every acknowledged write is read back at the end.
# 2. Rotation and revocation, one witness at a time (SIGHUP, no
#    restart): a new agent credential is added to each file in turn and
#    works on every witness; the old one is removed the same way, after
#    which it is refused, and a watch it held open is ended.  A file
#    broken by mistake and reloaded keeps the credentials in force.
# 3. The secret never crosses the wire: every byte between tenurectl and
#    a witness goes through a tests/tcp-proxy that records them, and the
#    secret is nowhere in the recording.
#
# KEEP=1 keeps the logs of a failed run.
set -u
me=security
port_range=witness
. "$(dirname "$0")/fault-lib.sh"
[ -x "$proxy_bin" ] || { echo "$me: $proxy_bin not built (make check builds it)" >&2; exit 1; }
unset TENURE_USER TENURE_SECRET_FILE

# ---- credentials -------------------------------------------------------------------
cred() { # cred NAME ROLE: $dir/NAME.secret, and its line in $dir/creds
	"$ctl_bin" auth new "$1" "$2" --write-secret "$dir/$1.secret" >>"$dir/creds" ||
		fail "tenurectl auth new $1 $2 failed"
}
cred admin admin
cred viewer read-only
cred pg-main agent:main
cred pg-other agent:other
for n in 1 2 3; do cp "$dir/creds" "$dir/creds.w$n"; done
grep -q "$(cat "$dir/admin.secret")" "$dir/creds" && fail "the credentials file holds a secret"

as() { # as NAME ARGS...: tenurectl authenticated as NAME
	_who=$1
	shift
	ctl --user "$_who" --secret-file "$dir/$_who.secret" "$@"
}
refused() { # refused WHAT WORDS: the last ctl exited 2 saying WORDS
	expect_rc 2 "$1"
	printf '%s' "$err" | grep -q "$2" || fail "$1: no \"$2\" in: $err"
}

for n in 1 2 3; do start $n --credentials-file "$dir/creds.w$n"; done
as_up() { as admin put probe/up v >/dev/null 2>&1 && [ "$rc" = 0 ]; }
wait_for 15 as_up || fail "admin cannot write: $err"

# ---- 1. roles ------------------------------------------------------------------------
ctl status
refused "no credential" "authentication required"
printf 'not-the-secret\n' >"$dir/wrong.secret"
ctl --user admin --secret-file "$dir/wrong.secret" get probe/up
refused "a wrong secret" "authentication failed"
ctl --user nobody --secret-file "$dir/admin.secret" get probe/up
refused "an unknown name" "authentication failed"
ctl --user admin get probe/up
refused "--user without a secret" "needs its secret"

as admin put main/config "synchronous_mode = off"
expect_rc 0 "admin put"
as viewer get main/config
expect_rc 0 "read-only get"
as viewer status
expect_rc 0 "read-only status"
as viewer put main/config x
refused "read-only put" "read-only"
as viewer lease acquire main/primary --holder v --ttl 5000
refused "read-only lease" "read-only"

as pg-other lease acquire other/primary --holder pg-other --ttl 60000
expect_rc 0 "agent of other takes other/primary"
other_token=$(printf '%s' "$out" | awk '/token/ {print $NF; exit}')
as pg-main lease acquire main/primary --holder pg1 --ttl 60000
expect_rc 0 "agent of main takes main/primary"
as pg-main put main/members/pg1 '{"role":"primary"}'
expect_rc 0 "agent of main writes its member key"
as pg-main list main/
expect_rc 0 "agent of main lists its scope"
as pg-main put other/members/pg1 x
refused "agent writes another scope" "limited to its scope"
as pg-main list ""
refused "agent lists everything" "limited to its scope"
as pg-main lease release other/primary --holder pg-other --token "${other_token:-1}"
refused "agent releases another scope's lease" "limited to its scope"
as admin lease get other/primary -o json
[ "$(field .holder)" = pg-other ] || fail "other/primary changed hands: $out"
as pg-main member remove w3
refused "agent changes the membership" "admin credential"
as admin member list
expect_rc 0 "admin member list"
grep -q 'event=client_refused' "$dir"/w*.log || fail "no refusal was logged"

# ---- 2. rotation and revocation, one witness at a time ---------------------------------
cred pg-main-2 agent:main
new_line=$(grep '^pg-main-2 ' "$dir/creds")
reloaded() { grep -c 'event=reloaded' "$dir/w$1.log"; }
sighup_and_wait() { # sighup_and_wait N: w$N re-read its file (or said why not)
	_before=$(grep -c 'event=reload' "$dir/w$1.log")
	sig HUP "$1"
	wait_for 5 sh -c "[ \$(grep -c 'event=reload' '$dir/w$1.log') -gt $_before ]" ||
		fail "w$1 did not reload on SIGHUP"
}
for n in 1 2 3; do
	printf '%s\n' "$new_line" >>"$dir/creds.w$n"
	sighup_and_wait $n
done
for n in 1 2 3; do
	as pg-main-2 --endpoints "$(ep $n)" --consistency local get main/config
	expect_rc 0 "the new credential on w$n"
done
# a watch held open by the old credential, through the leader
"$ctl_bin" --user pg-main --secret-file "$dir/pg-main.secret" watch main/ \
	>"$dir/watch.out" 2>"$dir/watch.err" &
watch_pid=$!
pids="$pids $watch_pid"
sleep 1
proc_alive "$watch_pid" || fail "the old credential's watch did not start: $(cat "$dir/watch.err")"
for n in 1 2 3; do
	grep -v '^pg-main ' "$dir/creds.w$n" >"$dir/tmp" && mv "$dir/tmp" "$dir/creds.w$n"
	sighup_and_wait $n
done
as pg-main get main/config
refused "the removed credential" "authentication failed"
as pg-main-2 put main/members/pg1 '{"role":"primary","rotated":true}'
expect_rc 0 "the new credential writes"
watch_gone() { ! proc_alive "$watch_pid"; }
wait_for 10 watch_gone || fail "the revoked credential's watch is still open"
forget "$watch_pid"
grep -q 'reason="credential revoked or changed"' "$dir"/w*.log ||
	fail "no witness logged closing the revoked session"
# a broken file keeps what is in force
cp "$dir/creds.w1" "$dir/creds.w1.good"
printf 'garbage line\n' >>"$dir/creds.w1"
sighup_and_wait 1
grep -q 'event=reload_failed' "$dir/w1.log" || fail "w1 did not report the broken file"
as admin --endpoints "$(ep 1)" --consistency local get main/config
expect_rc 0 "admin after a broken reload"
mv "$dir/creds.w1.good" "$dir/creds.w1"
sighup_and_wait 1

# ---- 3. the secret never crosses the wire ------------------------------------------------
leader_among 1 2 3 || fail "no leader"
TCP_PROXY_RECORD="$dir/wire" "$proxy_bin" $((base + 13)) "$(client_port "$leader")" \
	>>"$dir/proxy.log" 2>&1 &
pids="$pids $!"
proxy_up() { as admin --endpoints "127.0.0.1:$((base + 13))" status >/dev/null 2>&1 && [ "$rc" = 0 ]; }
wait_for 5 proxy_up || fail "no status through the recording proxy: $err"
as admin --endpoints "127.0.0.1:$((base + 13))" put probe/wire v
expect_rc 0 "put through the recording proxy"
[ -s "$dir/wire" ] || fail "the proxy recorded nothing"
grep -qF "$(cat "$dir/admin.secret")" "$dir/wire" && fail "the secret crossed the wire"
grep -qF "admin" "$dir/wire" || fail "the recording does not hold the exchange"

# ---- every acknowledged write is still there ------------------------------------------
as admin get main/members/pg1 -o json
[ "$(field .value)" = '{"role":"primary","rotated":true}' ] || fail "main/members/pg1 lost: $out"
as admin get probe/wire -o json
[ "$(field .value)" = v ] || fail "probe/wire lost: $out"
stop_all
echo "ok: $me: roles refused and allowed, rotation and revocation by SIGHUP, no secret on the wire"
