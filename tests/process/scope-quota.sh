#!/bin/sh
# scope-quota.sh — one trio serving many clusters: per-scope limits (run
# by `make check`).  Three real tenured read low limits from their config
# file (scope_max_keys 40, scope_max_requests_per_second 100, snapshots
# every 100 entries).  A flood of scope "flood" is refused with the clear
# EQUOTA message once it holds 40 keys, and answered busy past 100
# requests/s, while scope "calm" goes on with normal latency and nothing
# refused; deletes and same-size overwrites work at the quota; /metrics
# and `tenurectl status --scopes` show it; a restarted witness (from its
# snapshot and log) counts the same and the quota still holds.  SIGHUP
# re-reads the file: a raised key quota lets more keys in, a lowered one
# and a lowered request rate hold at once, other changed settings are
# logged as ignored, and a bad file changes nothing.
set -u
me=scope-quota.sh
. "$(dirname "$0")/../lib/proc-lib.sh"
fill_bin="$top/tests/helpers/scope-fill"
proc_need_built "$bin" "$ctl_bin" "$fill_bin"
proc_need_tools 77 jq curl
unset TENURE_USER TENURE_SECRET_FILE TENURE_SCOPE

proc_init scope-quota
proc_take_ports scope-quota
make_cluster
cat >"$dir/limits.conf" <<CONF
# the per-scope limits under test (docs/configuration.md)
scope_max_keys = 40
scope_max_requests_per_second = 100
snapshot_every = 100
CONF
for n in 1 2 3; do start $n --config "$dir/limits.conf"; done
up() { "$ctl_bin" put calm/up 1 --timeout 1s >/dev/null 2>&1; }
wait_for 10 up || fail "the witnesses elected no leader in 10 s"
wait_for 5 leader_among 1 2 3 || fail "no leader agreed on"

# metric N NAME SCOPE: the value of NAME{scope="SCOPE"} on witness N (empty: none)
metric() {
	http "$1" /metrics | awk -v k="$2{scope=\"$3\"}" '$1 == k { print $2 }'
}

# --- the key quota: a flood refused with the clear error ---------------------------
"$fill_bin" "$TENURE_ENDPOINTS" flood/k 1 60 "v@N@" >"$dir/fill.out" 2>"$dir/fill.err" &&
	fail "60 keys in a scope limited to 40 all went in"
grep -q 'EQUOTA scope flood is at its quota of 40 keys (witness setting scope_max_keys); delete keys or raise it' "$dir/fill.err" ||
	fail "the flood was not refused with the quota message: $(head -n 3 "$dir/fill.err")"
ctl list flood/ -o json
[ "$(field 'length')" = 40 ] || fail "scope flood holds $(field 'length') keys, want exactly 40"
first=$(field '.[0].key')
ctl put flood/one-more x
expect_rc 2 "a put over the key quota"
printf '%s' "$err" | grep -q 'EQUOTA.*scope flood is at its quota of 40 keys (witness setting scope_max_keys)' ||
	fail "tenurectl did not print the quota refusal: $err"
printf '%s' "$err" | grep -q 'status --scopes' || fail "tenurectl gave no hint: $err"
# At the quota: a same-size overwrite and a delete work, and the delete makes room.
ctl put "$first" v0
expect_rc 0 "an overwrite that does not grow the scope, at its quota"
ctl del "$first"
expect_rc 0 "a delete at the quota"
ctl put flood/one-more x
expect_rc 0 "a put after a delete made room"
ctl put flood/two-more x
expect_rc 2 "the quota is full again"

# --- the request rate: a flood answered busy, the other scope unharmed -----------
# Overwrites of existing keys (the key quota lets them through), as fast as
# scope-fill goes (32 in flight), from several processes at once.
: >"$dir/flooding"
flood() {
	while [ -f "$dir/flooding" ]; do
		"$fill_bin" "$TENURE_ENDPOINTS" flood/k 1 20 "w@N@" >/dev/null 2>&1
	done
}
flood &
flood1=$!
flood &
flood2=$!
pids="$pids $flood1 $flood2"
sleep 1
worst=0
for i in $(seq 1 15); do
	t0=$(now_ms)
	ctl put "calm/k$i" "value $i"
	expect_rc 0 "calm put $i during the flood"
	t=$(($(now_ms) - t0))
	[ $t -gt $worst ] && worst=$t
done
rm -f "$dir/flooding"
wait "$flood1" "$flood2" # each ends after its current scope-fill
forget "$flood1"
forget "$flood2"
echo "calm puts during the flood: slowest $worst ms (a tenurectl process each)"
[ "$worst" -lt 1500 ] || fail "a calm put took $worst ms during the flood of another scope"
grep -q 'event=scope_quota_refused op=PUT scope=flood' "$dir"/w*.log ||
	fail "no witness logged the quota refusals"

# --- visibility: /metrics on the leader and tenurectl status --scopes -------------
wait_for 5 leader_among 1 2 3 || fail "no leader after the flood"
[ "$(metric "$leader" tenure_scope_keys flood)" = 40 ] ||
	fail "tenure_scope_keys{scope=flood} is $(metric "$leader" tenure_scope_keys flood), want 40"
[ "$(metric "$leader" tenure_scope_keys calm)" = 16 ] ||
	fail "tenure_scope_keys{scope=calm} is $(metric "$leader" tenure_scope_keys calm), want 16"
# 22 refusals by the quota (20 of the fill, 2 of tenurectl); the rest were
# answered busy (the flood runs at thousands a second against 100).
refused=$(metric "$leader" tenure_scope_refused_total flood)
[ "${refused:-0}" -gt 100 ] || fail "tenure_scope_refused_total{scope=flood} is '$refused': the flood was not answered busy"
[ "$(metric "$leader" tenure_scope_refused_total calm)" = 0 ] ||
	fail "scope calm had requests refused: $(metric "$leader" tenure_scope_refused_total calm)"
[ "$(metric "$leader" tenure_scope_requests_total calm)" -ge 16 ] ||
	fail "tenure_scope_requests_total{scope=calm}: $(metric "$leader" tenure_scope_requests_total calm)"
http "$leader" /metrics | grep -q '^tenure_scope_max_keys 40$' || fail "/metrics does not show scope_max_keys 40"
ctl status --scopes -o json
expect_rc 0 "status --scopes -o json"
[ "$(field '[.scopes[].scope] | join(",")')" = calm,flood ] || fail "status --scopes: the scopes: $out"
[ "$(field '.scopes[] | select(.scope == "flood") | .keys')" = 40 ] || fail "status --scopes: flood keys: $out"
[ "$(field '.scopes[] | select(.scope == "flood") | .refused')" -gt 20 ] || fail "status --scopes: flood refused: $out"
[ "$(field '.scopes[] | select(.scope == "calm") | .refused')" = 0 ] || fail "status --scopes: calm refused: $out"
[ "$(field '.limits.scope_max_keys')" = 40 ] || fail "status --scopes: limits: $out"
ctl status --scopes
expect_rc 0 "status --scopes"
printf '%s\n' "$out" | head -n 1 | grep -q '^SCOPE *KEYS *BYTES *LEASES *REQ/S *REFUSED$' ||
	fail "status --scopes: the table's head: $out"
printf '%s\n' "$out" | grep -q '^flood *40 ' || fail "status --scopes: no row for flood: $out"
echo "$out"

# --- a restart keeps the counts (rebuilt from the snapshot and the log) ------------
keys_before=$(metric "$leader" tenure_scope_keys flood)
bytes_before=$(metric "$leader" tenure_scope_bytes flood)
calm_before=$(metric "$leader" tenure_scope_bytes calm)
f=$((leader % 3 + 1)) # a follower
kill -TERM "$(pid_of $f)"
wait "$(pid_of $f)" || fail "w$f did not stop cleanly"
forget "$(pid_of $f)"
ls "$dir/w$f" | grep -q '^snapshot-' || fail "w$f wrote no snapshot to restart from"
start $f --config "$dir/limits.conf"
same_counts() {
	[ "$(metric $f tenure_scope_keys flood)" = "$keys_before" ] &&
		[ "$(metric $f tenure_scope_bytes flood)" = "$bytes_before" ] &&
		[ "$(metric $f tenure_scope_bytes calm)" = "$calm_before" ]
}
wait_for 10 same_counts ||
	fail "w$f counts flood $(metric $f tenure_scope_keys flood) keys / $(metric $f tenure_scope_bytes flood) bytes after its restart, the leader $keys_before / $bytes_before"
# Then the leader too: the new leader enforces the same quota on the counts
# it rebuilt.
kill -TERM "$(pid_of "$leader")"
wait "$(pid_of "$leader")" || fail "w$leader did not stop cleanly"
forget "$(pid_of "$leader")"
start "$leader" --config "$dir/limits.conf"
wait_for 10 leader_among 1 2 3 || fail "no leader after restarting the old one"
ctl put flood/after-restart x
expect_rc 2 "a put over the quota after the restarts"
ctl put calm/after-restart x
expect_rc 0 "a calm put after the restarts"

# --- SIGHUP: the limits are read again, on each witness -----------------------------
# hup_all: SIGHUP to the three, each logs its config_reloaded (or
# config_reload_failed) before hup_all returns
hup_all() {
	for n in 1 2 3; do
		eval "_seen$n=\$(grep -c 'event=config_reload' \"\$dir/w$n.log\")"
		kill -HUP "$(pid_of $n)"
	done
	for n in 1 2 3; do
		eval "_was=\$_seen$n"
		wait_for 5 sh -c "[ \$(grep -c 'event=config_reload' '$dir/w$n.log') -gt $_was ]" ||
			fail "w$n logged no config_reload event after SIGHUP"
	done
}
# limits_on N KEYS RPS: /metrics of witness N shows these limits
limits_on() {
	_m=$(http "$1" /metrics)
	printf '%s\n' "$_m" | grep -q "^tenure_scope_max_keys $2\$" &&
		printf '%s\n' "$_m" | grep -q "^tenure_scope_max_requests_per_second $3\$"
}
# set_limits KEYS RPS SNAPSHOT_EVERY: the file rewritten, SIGHUP to the
# three, and each shows the new limits in /metrics
set_limits() {
	printf 'scope_max_keys = %s\nscope_max_requests_per_second = %s\nsnapshot_every = %s\n' \
		"$1" "$2" "$3" >"$dir/limits.conf"
	hup_all
	for n in 1 2 3; do
		limits_on $n "$1" "$2" ||
			fail "w$n: /metrics does not show scope_max_keys $1, scope_max_requests_per_second $2 after SIGHUP"
	done
}
set_limits 45 100 200
for n in 1 2 3; do
	grep 'event=config_reloaded' "$dir/w$n.log" | tail -n 1 | grep -q 'changed=scope_max_keys scope_max_keys=45 ' ||
		fail "w$n: config_reloaded does not name scope_max_keys=45: $(grep config_reloaded "$dir/w$n.log" | tail -n 1)"
	grep 'event=config_reload_ignored' "$dir/w$n.log" | tail -n 1 | grep -q 'keys=snapshot_every ' ||
		fail "w$n: the change of snapshot_every (a restart's) was not logged as ignored"
done
# flood holds 40 keys (one deleted, one added above): room for five more
"$fill_bin" "$TENURE_ENDPOINTS" flood/raised 1 5 x >"$dir/fill.out" 2>"$dir/fill.err" ||
	fail "five more keys under the raised quota of 45: $(head -n 3 "$dir/fill.err")"
ctl put flood/raised-over x
expect_rc 2 "a put over the raised quota"
printf '%s' "$err" | grep -q 'quota of 45 keys' || fail "the refusal does not name the new quota: $err"
ctl status --scopes -o json
[ "$(field '.limits.scope_max_keys')" = 45 ] || fail "status --scopes: limits after SIGHUP: $out"

# Lowered: nothing is deleted, no key more goes in; the request rate too.
set_limits 30 5 100
ctl put flood/lowered x
expect_rc 2 "a put over the lowered quota"
printf '%s' "$err" | grep -q 'quota of 30 keys' || fail "the refusal does not name the lowered quota: $err"
ctl list flood/ -o json
[ "$(field 'length')" = 45 ] || fail "a lowered quota changed the scope's keys: $(field 'length')"
wait_for 5 leader_among 1 2 3 || fail "no leader after the lowered limits"
busy_before=$(metric "$leader" tenure_scope_refused_total calm)
"$fill_bin" "$TENURE_ENDPOINTS" calm/k 1 15 "slow @N@" >/dev/null 2>&1
busy_after=$(metric "$leader" tenure_scope_refused_total calm)
[ "${busy_after:-0}" -gt "${busy_before:-0}" ] ||
	fail "15 puts at once against 5 requests/s: none answered busy (refused $busy_before, then $busy_after)"

# A bad file changes nothing: the limits in force stay.
printf 'scope_max_keys = lots\n' >"$dir/limits.conf"
hup_all
for n in 1 2 3; do
	grep 'event=config_reload_failed' "$dir/w$n.log" | grep -q 'scope_max_keys' ||
		fail "w$n: no config_reload_failed naming the bad line"
	limits_on $n 30 5 || fail "w$n: a bad file changed the limits in force"
done
echo "ok: SIGHUP raised and lowered scope_max_keys and the request rate on every witness; a bad file changed nothing"
stop_all
echo "PASS: $me"
