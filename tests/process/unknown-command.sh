#!/bin/sh
# unknown-command.sh — a witness that meets a committed log command it does
# not know stops there, and the two others keep serving (docs/design.md
# "Log commands across versions", docs/operations.md).  The unit tests
# (tests/unit/test_sm.c) see sm_apply() return SM_APPLY_UNKNOWN; this is the
# whole path, with real tenured processes on loopback:
#
# Three witnesses take a few writes.  A follower is stopped, and
# tests/helpers/log-forge rewrites the last command of its log, at the same
# index and term, with the type byte of a command the next release would
# add (what a newer witness of the trio would have proposed).  Started
# again, the follower takes that entry as committed from the leader
# (their logs match by index and term), applies it and must stop: exit 3
# and one event=unknown_command naming the entry, its version and type,
# and saying to upgrade.  The leader and the other follower serve writes
# and reads all the while, and a second start stops at the same entry.
#
# Ports 10000-19199 (the witness range of tests/lib/proc-lib.sh, a block of
# 20 under a lock directory).  KEEP=1 keeps a failed run's logs.
set -u
me=unknown-command.sh
. "$(dirname "$0")/../lib/proc-lib.sh"
forge="$top/tests/helpers/log-forge"
proc_need_built "$bin" "$ctl_bin" "$forge"
proc_need_tools 77 jq curl

proc_init unknown-command
proc_take_ports witness # tests/lib/proc-lib.sh lists the ranges
make_cluster
for n in 1 2 3; do start $n; done
wait_for 10 leader_among 1 2 3 || fail "no leader within 10 s"

for v in one two three; do
	ctl --timeout 5s put uc/k "$v"
	expect_rc 0 "put uc/k $v"
done
f=$((leader % 3 + 1))             # a follower
other=$(((leader + 1) % 3 + 1))   # the follower that stays
# every witness has applied the last write before the follower stops
applied_all() {
	for n in 1 2 3; do
		ctl --endpoints "$(ep "$n")" --timeout 1s --consistency local get uc/k -o json
		[ "$(field .value)" = three ] || return 1
	done
}
wait_for 10 applied_all || fail "uc/k=three not seen on every witness"

p=$(pid_of "$f")
kill -TERM "$p"
wait "$p"
rc=$?
forget "$p"
[ "$rc" = 0 ] || fail "w$f exited $rc on SIGTERM"

"$forge" "$dir/w$f" >"$dir/forge.out" 2>"$dir/forge.err" || fail "log-forge: $(cat "$dir/forge.err")"
forged=$(cat "$dir/forge.out")
echo "w$f: forged $forged"
idx=$(printf '%s' "$forged" | sed -n 's/^index=\([0-9]*\) .*/\1/p')
type=$(printf '%s' "$forged" | sed -n 's/.* type=\([0-9]*\)$/\1/p')
[ -n "$idx" ] && [ -n "$type" ] || fail "log-forge said: $forged"

# start_and_stop N: wN is started and must exit 3 within 10 s
start_and_stop() {
	start "$1"
	p=$(pid_of "$1")
	wait_for 10 sh -c "! kill -0 $p 2>/dev/null || grep -q ' Z ' /proc/$p/stat 2>/dev/null" ||
		fail "w$1 still runs 10 s after start, past the unknown entry $idx"
	wait "$p"
	rc=$?
	forget "$p"
	[ "$rc" = 3 ] || fail "w$1 exited $rc at the unknown entry $idx, expected 3"
}

start_and_stop "$f"
line=$(grep 'unknown_command' "$dir/w$f.log")
echo "w$f: $line"
[ "$(printf '%s\n' "$line" | grep -c unknown_command)" = 1 ] ||
	fail "expected one unknown_command event, got: $line"
case "$line" in
*"event=unknown_command"*"index=$idx version=1 type=$type"*"log entry $idx holds a command this tenured does not know (version 1, type $type): upgrade this witness"*"nothing was applied from entry $idx on"*) ;;
*) fail "unknown_command event does not name entry $idx, version 1, type $type and say to upgrade: $line" ;;
esac

# The two others serve on: a write through either and a linearizable read.
wait_for 10 leader_among "$leader" "$other" || fail "w$leader and w$other lost their leader"
for n in "$leader" "$other"; do
	ctl --endpoints "$(ep "$n")" --timeout 5s put uc/after "w$n"
	expect_rc 0 "put through w$n after w$f stopped"
	ctl --endpoints "$(ep "$n")" --timeout 5s get uc/after -o json
	expect_rc 0 "get through w$n after w$f stopped"
	[ "$(field .value)" = "w$n" ] || fail "uc/after through w$n: $out"
done
healthy "$leader" "$other" || fail "w$leader or w$other is not healthy"

# Started again, it stops at the same entry (nothing past it applied).
start_and_stop "$f"
[ "$(grep -c "event=unknown_command.*index=$idx " "$dir/w$f.log")" = 2 ] ||
	fail "the second start did not stop at entry $idx: $(grep unknown_command "$dir/w$f.log")"

echo "ok: w$f stopped at the unknown command $idx (exit 3, twice); w$leader and w$other served on"
