#!/bin/sh
# pg-fencing.sh — STONITH, watchdog and partition tests on real
# PostgreSQL 15, in synchronous mode: three witnesses, three agents, a
# write probe on every node all the time and `pgprobe check --sync` after
# each scenario (at no moment two writable nodes, no acknowledged commit
# lost).  Each scenario runs on a cluster of its own (its own temp dir,
# ports, witnesses), as a child run of this script:
#
#   stonith    fencing = required with a fence agent (written into the
#              temp dir) that really kills the named node's agent, guard
#              and Postgres.  The primary's agent is frozen, so it never
#              writes SCOPE/demoted: the candidate must call the fence
#              agent (action=off, then action=status) before promoting.
#              Then again with a fence agent that fails: nobody may be
#              promoted (event=promotion_refused) until it works again.
#   watchdog   watchdog_device = a FIFO per node, read by a recorder:
#              only the primary's device is fed; after a host crash the
#              new primary's is; a clean SIGTERM of the primary's agent
#              ends its device with the magic close 'V'.
#   partition  every agent reaches the witnesses through tcp-proxies of
#              its own; the primary's three are cut: it must fence its
#              Postgres when its lease validity runs out (event=fenced),
#              a new primary appears, and after the heal the old primary
#              rejoins as a replica.
#
# `pg-fencing.sh` runs all three; `pg-fencing.sh SCENARIO...` only those.
# Needs what tests/lib/pg-lib.sh needs (root, postgresql-15, setpriv, curl,
# jq) and tests/helpers/tcp-proxy.
# The sanitizer pass of deploy/dev test sets SKIP_LONG_PG=1: this test ran
# in the normal build already, and time in CI is bounded.
if [ "${SKIP_LONG_PG:-0}" = 1 ]; then
	echo "pg-fencing: skipped (SKIP_LONG_PG=1)"
	exit 77
fi
# run_each SCENARIO...: each as a child run; 77 (skipped) only if every
# one was skipped, 1 if any failed
run_each() {
	st=77
	for s in "$@"; do
		sh "$0" "$s"
		case $? in
		0) [ $st = 77 ] && st=0 ;;
		77) ;;
		*) st=1 ;;
		esac
	done
	exit $st
}
case "${1:-}" in
'')
	run_each stonith watchdog partition
	;;
stonith | watchdog | partition)
	[ $# -gt 1 ] && run_each "$@"
	;;
*)
	echo "usage: $0 [stonith|watchdog|partition]..." >&2
	exit 2
	;;
esac
scenario=$1
me=pg-fencing-$scenario
PG_SYNC=${PG_SYNC:-on}
case $scenario in
stonith)
	PG_FENCING=required
	# the fence agent is written below, once $dir exists
	;;
esac
. "$(dirname "$0")/../lib/pg-lib.sh"

ttl_ms=$(pg_lease_ttl_ms) || fail "cannot tell the lease TTL (PG_LEASE_TTL '${PG_LEASE_TTL:-}', tenure-agent --help)"

# ---- helpers --------------------------------------------------------------------------

# msleep MS
msleep() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }

# wait_all_back WHAT: every node is the primary or a streaming replica
wait_all_back() {
	pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
		fail "$1: the old primary did not come back as a replica"
}

# start_agent NODE: pg_start_agent, and the agent's pid in $dir/NODE.agentpid
# for the fence agent
start_agent() {
	pg_start_agent "$1"
	pg_agent_pid "$1" >"$dir/$(pg_name "$1").agentpid"
}

# bootstrap: witnesses, agents, one primary and streaming replicas, the
# probe's table, and (synchronous mode) S/sync naming both standbys;
# the primary in $primary
bootstrap() {
	pg_start_agents start_agent
	primary=$(pg_wait_primary 90) || fail "bootstrap: no primary"
	pg_wait_replicas $((PG_NODES - 1)) 120 >/dev/null ||
		fail "bootstrap: the standbys did not come up"
	pg_probe_table "$primary"
	wait_sync_both bootstrap
}

# wait_sync_both WHAT: (synchronous mode) until S/sync names both standbys
# of the current primary and Postgres has one of them synchronous
wait_sync_both() {
	[ "${PG_SYNC:-on}" = on ] || return 0
	_p=$(pg_wait_primary 30) || fail "$1: no primary"
	pg_wait_sync "$_p" 30 2 || fail "$1: S/sync never named both standbys"
}

# events NODE EVENT: how many lines of NODE's agent log have event=EVENT
events() { grep -c "event=$2\( \|$\)" "$dir/$(pg_name "$1")-agent.log" 2>/dev/null || true; }
# events_all EVENT: the same over every agent
events_all() { cat "$dir"/pg*-agent.log 2>/dev/null | grep -c "event=$1\( \|$\)" || true; }

# check_probe WHAT FINAL: stop the probe, pgprobe check --sync against FINAL
check_probe() {
	probe_stop
	probe_check "$2" --sync >/dev/null ||
		fail "$1: the probe found a problem: $out"
	echo "$1: $(printf '%s\n' "$out" | grep -i 'acked\|lost\|gap\|overlap' | tr '\n' ' ')"
}

# bugs: what went wrong without stopping the scenario (the rest still
# runs and is checked); the scenario fails at its end
bugs=""
bug() {
	echo "BUG: $me: $*" >&2
	bugs="$bugs
  $*"
}
finish() {
	if [ -n "$bugs" ]; then
		fail "$scenario:$bugs"
	fi
	echo "ok: $scenario"
}

# ---- 1. STONITH --------------------------------------------------------------------------

# stonith_calls ACTION NODE: how many calls of the fence agent had them
stonith_calls() { grep -c " action=$1 port=$2 " "$dir/stonith.log" || true; }

run_stonith() {
	pg_write_fence_agent
	PG_STONITH="$dir/fence-agent"
	bootstrap
	old=$primary

	# -- 1a: the old primary's agent frozen: STONITH, then promotion
	probe_start
	sleep 1
	t0=$(now_ms)
	pg_agent_freeze "$old"
	new=$(wait_other_primary "$old" 60) ||
		fail "stonith: no single new primary after the agent of $old froze"
	t1=$(now_ms)
	echo "stonith: $old -> $new, new primary after $((t1 - t0)) ms"
	[ "$(stonith_calls off "$old")" -ge 1 ] ||
		fail "stonith: $new was promoted but the fence agent was never asked to switch $old off"
	[ "$(stonith_calls status "$old")" -ge 1 ] ||
		fail "stonith: $new was promoted without action=status confirming $old is off"
	# every call was about the old primary, and the promotion came after
	grep -v " port=$old " "$dir/stonith.log" | grep -q . &&
		fail "stonith: the fence agent was called for another node: $(cat "$dir/stonith.log")"
	grep -q "event=stonith .*target=$old ok=1" "$dir/$new-agent.log" ||
		fail "stonith: $new's log has no successful event=stonith for $old"
	awk '/event=stonith .*ok=1/ { s = NR } /event=promoted/ { if (s) p = NR }
		END { exit !(s && p > s) }' "$dir/$new-agent.log" ||
		fail "stonith: $new did not promote after the successful STONITH"
	# the fence agent really stopped the old node: agent, guard, Postgres
	[ -z "$(pg_agent_pid "$old")" ] || fail "stonith: the agent of $old still runs"
	[ -z "$(pg_postmaster_pid "$old")" ] || fail "stonith: the Postgres of $old still runs"
	pg_reap_agent "$old"
	start_agent "$old"
	wait_all_back "stonith"
	sleep 1
	check_probe "stonith" "$new"

	# -- 1b: the fence agent fails: nobody is promoted
	old=$new
	wait_sync_both "stonith broken"
	touch "$dir/fence-broken"
	calls0=$(wc -l <"$dir/stonith.log")
	refused0=$(events_all promotion_refused)
	probe_start
	sleep 1
	t0=$(now_ms)
	pg_agent_freeze "$old"
	wait_for 40 sh -c "[ \$(cat '$dir'/pg*-agent.log | grep -c 'event=promotion_refused') -gt $refused0 ]" ||
		fail "stonith broken: no event=promotion_refused within 40 s of the freeze"
	t1=$(now_ms)
	echo "stonith broken: first refusal $((t1 - t0)) ms after the freeze"
	[ "$(wc -l <"$dir/stonith.log")" -gt "$calls0" ] ||
		fail "stonith broken: promotion refused without a call of the fence agent"
	# no primary for more than twice the TTL after the first refusal
	end=$(($(now_ms) + 2 * ttl_ms + 1000))
	while [ "$(now_ms)" -lt $end ]; do
		l=$(pg_primaries)
		[ -z "$l" ] || fail "stonith broken: $l became primary although STONITH of $old failed"
		sleep 0.2
	done
	for n in $(seq 1 "$PG_NODES"); do
		[ "pg$n" = "$old" ] && continue
		if [ -n "$(pg_postmaster_pid $n)" ] &&
			[ "$(psql_as $n 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
			fail "stonith broken: the Postgres of pg$n runs as a primary"
		fi
	done
	grep -h "event=promotion_refused" "$dir"/pg*-agent.log | tail -n 2 | sed 's/^/  /'
	echo "stonith broken: no primary for $(( ($(now_ms) - t1) / 1000 )) s after the refusal"
	# the fence agent works again: a primary appears (after the veto)
	rm -f "$dir/fence-broken"
	t2=$(now_ms)
	new=$(wait_other_primary "$old" 90) ||
		fail "stonith repaired: no primary within 90 s of repairing the fence agent"
	echo "stonith repaired: $old -> $new, primary $(( $(now_ms) - t2 )) ms after the repair"
	# every fence call since the freeze was for the frozen old primary, and
	# it was switched off: anything else is reported, then repaired so that
	# the rest is still checked
	sed -n "$((calls0 + 1)),\$p" "$dir/stonith.log" | grep -v " port=$old " >"$dir/wrong-fence" &&
		bug "stonith repaired: fence agent calls for nodes other than the old primary $old: $(tr '\n' ';' <"$dir/wrong-fence")"
	[ "$(stonith_calls off "$old")" -gt 0 ] && [ -z "$(pg_agent_pid "$old")" ] ||
		bug "stonith repaired: $new was promoted but $old (its agent frozen) was never switched off; its agent still runs"
	grep -h "event=stonith\|event=promotion_refused\|event=promoted" "$dir"/pg*-agent.log |
		sort | sed 's/^/  /'
	for n in $(seq 1 "$PG_NODES"); do
		[ "pg$n" = "$new" ] && continue
		[ -n "$(pg_agent_pid $n)" ] && [ "pg$n" != "$old" ] && continue
		[ -n "$(pg_node_pids $n)" ] && pg_crash $n
		pg_reap_agent $n
		start_agent $n
	done
	wait_all_back "stonith repaired"
	sleep 1
	check_probe "stonith broken+repaired" "$new"
	finish
}

# ---- 2. watchdog -------------------------------------------------------------------------

# wd_start NODE: a FIFO as NODE's watchdog device and a recorder of what
# is written to it in $dir/NODE-wd.rec.  The recorder opens the FIFO
# read-write, so it never sees an end of file and the agent's open never
# blocks while the recorder runs.
wd_start() {
	_n=$(pg_name "$1")
	mkfifo "$dir/$_n-wd" && chown postgres:postgres "$dir/$_n-wd" ||
		fail "cannot make the FIFO $dir/$_n-wd"
	: >"$dir/$_n-wd.rec"
	cat 0<>"$dir/$_n-wd" >>"$dir/$_n-wd.rec" &
	pids="$pids $!"
	pg_conf "$_n" watchdog_device "'$dir/$_n-wd'"
}
# wd_rec NODE: what NODE's watchdog got so far
wd_rec() { cat "$dir/$(pg_name "$1")-wd.rec"; }
# wd_feeds NODE: how many feeds ('1') NODE's watchdog got
wd_feeds() { tr -cd 1 <"$dir/$(pg_name "$1")-wd.rec" | wc -c; }
# wd_fed NODE: NODE's watchdog is being fed (more feeds within 2 s)
wd_fed() {
	_f0=$(wd_feeds "$1")
	_i=0
	while [ $_i -lt 20 ]; do
		sleep 0.1
		[ "$(wd_feeds "$1")" -gt "$_f0" ] && return 0
		_i=$((_i + 1))
	done
	return 1
}

run_watchdog() {
	for n in $(seq 1 "$PG_NODES"); do wd_start $n; done
	bootstrap
	old=$primary
	sleep 2
	if ! wd_fed "$old"; then
		bug "watchdog: the bootstrap primary $old's watchdog is not fed (its device got '$(wd_rec "$old")'; watchdog_armed events: $(events "$old" watchdog_armed))"
	fi
	for n in $(seq 1 "$PG_NODES"); do
		[ "pg$n" = "$old" ] && continue
		[ -z "$(wd_rec $n)" ] ||
			fail "watchdog: the replica pg$n's watchdog got '$(wd_rec $n)'"
	done
	echo "watchdog: bootstrap primary $old fed $(wd_feeds "$old") times, replicas got nothing"

	# -- host crash: the new primary arms and feeds its watchdog
	probe_start
	sleep 1
	t0=$(now_ms)
	pg_crash "$old"
	new=$(wait_other_primary "$old" 60) ||
		fail "watchdog: no single new primary after the crash of $old"
	echo "watchdog: crash $old -> $new, new primary after $(( $(now_ms) - t0 )) ms"
	[ "$(events "$new" watchdog_armed)" -ge 1 ] ||
		fail "watchdog: $new was promoted without event=watchdog_armed"
	wd_fed "$new" || fail "watchdog: the new primary $new's watchdog is not fed ('$(wd_rec "$new")')"
	case "$(wd_rec "$new")" in
	*V*) fail "watchdog: $new's watchdog was disarmed while primary ('$(wd_rec "$new")')" ;;
	esac
	for n in $(seq 1 "$PG_NODES"); do
		[ "pg$n" = "$old" ] || [ "pg$n" = "$new" ] && continue
		[ -z "$(wd_rec $n)" ] ||
			fail "watchdog: the replica pg$n's watchdog got '$(wd_rec $n)'"
	done
	feeds_crashed=$(wd_feeds "$old")
	start_agent "$old"
	wait_all_back "watchdog crash"
	# the crashed node, now a replica, does not feed
	[ "$(wd_feeds "$old")" = "$feeds_crashed" ] ||
		fail "watchdog: $old feeds its watchdog as a replica"
	echo "watchdog: $new fed $(wd_feeds "$new") times"

	# -- clean SIGTERM of the primary's agent: the magic close 'V'
	old=$new
	t0=$(now_ms)
	pg_agent_stop "$old" 30
	[ "$rc" = 0 ] || bug "watchdog: the agent of $old exited $rc on SIGTERM"
	sleep 0.5
	case "$(wd_rec "$old")" in
	*V) ;;
	*) fail "watchdog: after a clean stop $old's watchdog ends with '$(wd_rec "$old" | tail -c 20)', not the magic close 'V'" ;;
	esac
	fed=$(wd_feeds "$old")
	new=$(wait_other_primary "$old" 60) ||
		fail "watchdog: no single new primary after $old's agent stopped"
	echo "watchdog: stop $old -> $new after $(( $(now_ms) - t0 )) ms; $old's device: $fed feeds then 'V'"
	wd_fed "$new" || fail "watchdog: the new primary $new's watchdog is not fed ('$(wd_rec "$new")')"
	start_agent "$old"
	wait_all_back "watchdog stop"
	case "$(wd_rec "$old")" in
	*V) ;;
	*) fail "watchdog: $old's device was written to as a replica after the 'V'" ;;
	esac

	# -- standbys whose watchdog cannot be armed: none becomes primary,
	#    and none sits on the lease (it is released after each failed
	#    arming), so the standby whose device comes back takes over even
	#    if the other one got the lease first
	cur=$new
	wait_sync_both "watchdog" # both standbys may be promoted
	for n in $(seq 1 "$PG_NODES"); do
		[ "pg$n" = "$cur" ] || rm -f "$dir/pg$n-wd"
	done
	pg_crash "$cur"
	sleep 6
	[ -z "$(pg_primaries)" ] ||
		fail "watchdog: $(pg_primaries) became primary without a working watchdog"
	[ "$(events_all watchdog_failed)" -ge 1 ] ||
		fail "watchdog: no standby logged watchdog_failed"
	# the device comes back on the standby that failed least (with the
	# old behaviour, the other one held the lease for good)
	back="" blocker="" least=""
	for n in $(seq 1 "$PG_NODES"); do
		[ "pg$n" = "$cur" ] && continue
		c=$(events $n watchdog_failed)
		if [ -z "$least" ] || [ "$c" -lt "$least" ]; then
			[ -n "$back" ] && blocker=$back
			back=pg$n least=$c
		else
			blocker=pg$n
		fi
	done
	wd_restore "$back"
	t0=$(now_ms)
	new=$(wait_other_primary "$cur" 60) ||
		fail "watchdog: $back did not take over once its watchdog was back ($blocker failed $(events "$blocker" watchdog_failed) times)"
	[ "$new" = "$back" ] || fail "watchdog: $new became primary, not $back (the one with a watchdog)"
	wd_fed "$new" || fail "watchdog: the new primary $new's watchdog is not fed"
	echo "watchdog: no device on the standbys -> no primary; $back's device back -> primary after $(( $(now_ms) - t0 )) ms ($blocker released the lease after $(events "$blocker" watchdog_failed) failed armings)"
	sleep 1
	check_probe "watchdog" "$new"
	finish
}

# wd_restore NODE: NODE's watchdog FIFO and recorder again (same path)
wd_restore() {
	_n=$(pg_name "$1")
	mkfifo "$dir/$_n-wd" && chown postgres:postgres "$dir/$_n-wd" ||
		fail "cannot make the FIFO $dir/$_n-wd"
	cat 0<>"$dir/$_n-wd" >>"$dir/$_n-wd.rec" &
	pids="$pids $!"
}

# ---- 3. partition ------------------------------------------------------------------------

# px_start NODE FIRST: three tcp-proxies in front of the witnesses' client
# ports for NODE's agent alone (spare ports 3(k-1) .. 3(k-1)+2), cut files
# $dir/cut.NODE.wN; NODE's config names them as its witnesses, the one in
# front of witness FIRST first
px_start() {
	_n=$(pg_name "$1")
	_k=$(pg_num "$_n")
	_eps=""
	for _w in $2 $(echo 1 2 3 | tr ' ' '\n' | grep -vx "$2"); do
		_pp=$(pg_spare_port $((3 * (_k - 1) + _w - 1)))
		: >"$dir/cut.$_n.w$_w"
		"$proxy_bin" "$_pp" "$(client_port $_w)" "$dir/cut.$_n.w$_w" \
			>>"$dir/proxy-$_n-w$_w.log" 2>&1 &
		eval "px_${_k}_$_w=$!"
		pids="$pids $!"
		_eps="$_eps${_eps:+,}127.0.0.1:$_pp"
	done
	pg_conf "$_n" witnesses "'$_eps'"
}
# px_cut NODE CUT: CUT ("*" or "") in NODE's three cut files, SIGHUP
px_cut() {
	_k=$(pg_num "$1")
	for _w in 1 2 3; do
		echo "$2" >"$dir/cut.pg$_k.w$_w"
		eval "kill -HUP \$px_${_k}_$_w" || fail "the proxy pg$_k.w$_w is gone"
	done
}

# direct_conns NODE: NODE's agent's connections to a witness's own client
# port, bypassing its proxies (one line each)
direct_conns() {
	_p=$(pg_agent_pid "$1")
	ss -Htnp state established 2>/dev/null | awk -v pid="pid=$_p," \
		-v a="$(client_port 1)" -v b="$(client_port 2)" -v c="$(client_port 3)" '
		index($0, pid) { n = split($4, d, ":"); p = d[n]
			if (p == a || p == b || p == c) print $3 " -> " $4 }'
}

run_partition() {
	[ -x "$proxy_bin" ] || fail "$proxy_bin not built (make tests/helpers/tcp-proxy)"
	command -v ss >/dev/null || fail "ss missing (apt-get install iproute2)"
	# The witnesses answer "not the leader" with the leader's own client
	# address, and the client library follows it, past any proxy: each
	# agent's first endpoint is therefore its proxy in front of the
	# leader, so that it never needs that hint (checked before the cut).
	# advertise_client cannot replace this: the proxies are per agent (each
	# agent is cut alone), and a witness advertises one address to all.
	pg_start_witnesses
	first_w=$leader
	for n in $(seq 1 "$PG_NODES"); do px_start $n "$first_w"; done
	bootstrap
	old=$primary
	wait_for 10 leader_among 1 2 3 || fail "partition: no witness leader"
	[ "$leader" = "$first_w" ] ||
		fail "partition: the witness leader moved from w$first_w to w$leader during the bootstrap"
	d=$(direct_conns "$old")
	[ -z "$d" ] ||
		fail "partition: $old's agent bypasses its proxies (followed a leader hint to the witness's own address): $d"
	lines0=$(wc -l <"$dir/$old-agent.log")
	probe_start
	sleep 1
	t0=$(now_ms)
	px_cut "$old" "*"
	new=$(wait_other_primary "$old" 60) ||
		fail "partition: no single new primary after $old was cut off"
	echo "partition: $old -> $new, new primary after $(( $(now_ms) - t0 )) ms"
	# what the cut agent logged since the cut
	since_cut() { tail -n +$((lines0 + 1)) "$dir/$old-agent.log"; }
	# the fence at the deadline: the agent's own, or, when the loaded
	# agent's tick comes late, its guard's (same deadline; the agent then
	# finds the postmaster gone and logs another reason)
	wait_for 5 sh -c "tail -n +$((lines0 + 1)) '$dir/$old-agent.log' |
		grep -q 'event=fenced.*lease validity ran out\|event=guard_fence reason=deadline'" ||
		fail "partition: $old's agent has no event=fenced \"lease validity ran out\" nor event=guard_fence reason=deadline since the cut"
	{
		since_cut | grep "event=lease_renew_failed lease=[^ ]*/primary\|event=fenced\|event=guard_fence" |
			head -n 5
		grep -h "event=promoted" "$dir/$new-agent.log" | tail -n 1
	} | sed 's/^/  /'
	# the cut agent's Postgres no longer accepts writes
	if [ "$(psql_as "$old" 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
		fail "partition: the Postgres of $old still runs as a primary"
	fi
	sleep 2
	px_cut "$old" ""
	t1=$(now_ms)
	wait_all_back "partition"
	echo "partition: healed, $old back as a replica after $(( $(now_ms) - t1 )) ms"
	[ "$(pg_primaries)" = "$new" ] || fail "partition: after the heal the primary is '$(pg_primaries)', not $new"
	sleep 1
	check_probe "partition" "$new"
	finish
}

run_$scenario
