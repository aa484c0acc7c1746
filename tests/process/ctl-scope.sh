#!/bin/sh
# ctl-scope.sh — a cluster scope bigger than one answer (run by `make
# check`): three real tenured on loopback, a scope "big" holding 1500
# history entries of 1 KiB and 20 drill results of 60 KiB (each subtree
# over the 1 MiB a single LIST answer may carry), and `tenurectl cluster
# list` / `cluster history` still answer in full, page by page.
set -u
me=ctl-scope.sh
. "$(dirname "$0")/../lib/proc-lib.sh"
fill_bin="$top/tests/helpers/scope-fill"
proc_need_built "$bin" "$ctl_bin" "$fill_bin"
proc_need_tools 77 jq
unset TENURE_USER TENURE_SECRET_FILE TENURE_SCOPE

proc_init scope
# 32500-32599 (this test's own range, below the ephemeral ports): two runs
# at once (two build directories) take different blocks of 10.
proc_take_ports ctl-scope
make_cluster
for n in 1 2 3; do start $n; done
up() { "$ctl_bin" put big/sync pg2 --timeout 1s >/dev/null 2>&1; }
wait_for 10 up || fail "the witnesses elected no leader in 10 s"

# fill PREFIX FIRST LAST TEMPLATE: puts PREFIX%020d for every number from
# FIRST to LAST, "@N@" in TEMPLATE replaced by the number (tests/helpers/scope-fill)
fill() {
	"$fill_bin" "$TENURE_ENDPOINTS" "$@" 2>"$dir/fill.err" ||
		fail "fill $1: $(cat "$dir/fill.err")"
}

pad=$(head -c 900 /dev/zero | tr '\0' p)
hist=$(printf '{"time_ms":@N@000,"old":"pg1","new":"pg2","reason":"switchover","token":@N@,"unavailable_ms":1,"pad":"%s"}' "$pad")
big=$(head -c 61000 /dev/zero | tr '\0' t)
drill=$(printf '{"kind":"switchover","time_ms":@N@,"old":"pg1","new":"pg2","ok":true,"lost":0,"acked":5,"timeline":[{"pad":"%s"}]}' "$big")
t0=$(date +%s)
fill big/history/ 1 1500 "$hist"
fill big/drills/ 1 20 "$drill"
echo "filled 1500 history entries (1 KiB) and 20 drills (60 KiB) in $(( $(date +%s) - t0 )) s"
ctl put big/members/pg1 '{"name":"pg1","role":"primary","state":"running","timeline":2,"healthy":true}'
[ "$rc" = 0 ] || fail "put a member record: $err"
ctl put big/members/pg2 '{"name":"pg2","role":"replica","state":"streaming","timeline":2,"healthy":true}'
ctl lease acquire big/primary --holder pg1 --ttl 60s
[ "$rc" = 0 ] || fail "acquire big/primary: $err"

ctl cluster list --scope big -o json
[ "$rc" = 0 ] || fail "cluster list: exit $rc: $err"
[ "$(field '[.[].name] | join(",")')" = pg1,pg2 ] || fail "cluster list: $out"
[ "$(field '[.[] | select(.role == "primary") | .name] | join(",")')" = pg1 ] ||
	fail "cluster list: the primary: $out"

ctl cluster history --scope big -o json
[ "$rc" = 0 ] || fail "cluster history: exit $rc: $err"
[ "$(field '[.[] | select(.reason == "switchover")] | length')" = 1500 ] ||
	fail "cluster history: $(field '[.[] | select(.reason == "switchover")] | length') changes, want 1500"
[ "$(field '[.[] | select(.reason == "switchover") | .token] | .[0], .[1499]' | tr '\n' ,)" = 1,1500, ] ||
	fail "cluster history: not oldest first: $(field '[.[].token] | .[0:3]')"
[ "$(field '[.[] | select(.reason == "drill")] | length')" = 20 ] ||
	fail "cluster history: $(field '[.[] | select(.reason == "drill")] | length') drills, want 20"
ctl cluster history --scope big
[ "$rc" = 0 ] || fail "cluster history (table): exit $rc: $err"
[ "$(printf '%s\n' "$out" | grep -c ' switchover ')" -ge 1500 ] ||
	fail "cluster history (table): $(printf '%s\n' "$out" | head -n 3)"
printf '%s\n' "$out" | grep -q '^Drills:' || fail "cluster history (table): no drills"
echo "ok: cluster list and history of a scope with 1.5 MB of history and 1.2 MB of drills"
