#!/bin/sh
# agent-sim-catches.sh — shows that tests/sim/agent-sim finds real bugs: each
# bug switch re-creates a known, fixed bug in the simulator's model of the
# agent (the real decide() is given what the buggy agent would have given
# it).  For each, this test PASSES only if the simulator reports the
# violation that bug causes within the seed budget, and the same seed
# passes without the switch (so it is the bug that was caught).  A seed
# that fails for another reason is skipped over.
#
#   forget-position  lag bar from memory only (before S/optime): a
#                    restarted agent lets a lagging standby in
#   pause-stop       a paused agent's stop stops its Postgres
#   same-name        two agents with one name both hold the lease
#   flood            every key event ticks, every tick writes its record
#   sync-rolling     synchronous mode per node, S/sync absent read as
#                    empty: a rolling turn-on leaves no primary
#   nofailover-bootstrap  a nofailover node bootstraps the cluster
#   stale-request    tenurectl refuses while a request the agents ignore
#                    is pending
#   reclone-loop     every failed start read as diverged data: a standby
#                    whose start fails for a bad setting or a busy
#                    resource is copied afresh
#   sync-quorum      with ANY 2 (--sync --sync-count 2), a failover
#                    waits for a quorum of S/sync (k-N+1 frozen) instead
#                    of all of it: commits acknowledged while the count was
#                    capped to the one standby streaming are lost
#   standby-ignored  with --standby-cluster, the agent does not pass the
#                    setting on: a member of the standby cluster
#                    bootstraps and runs as a primary beside the main one
#
#   AGENT_SIM_BUG_SEEDS  seed budget (default 800; sync-quorum, whose
#                        window is rare, 2.5 times it)
set -u
sim="${top_builddir:-.}/tests/sim/agent-sim"
budget="${AGENT_SIM_BUG_SEEDS:-800}"

if [ ! -x "$sim" ]; then
	echo "agent-sim-catches.sh: $sim not found" >&2
	exit 1
fi
out="${TMPDIR:-/tmp}/agent-sim-catches.$$"
trap 'rm -f "$out"' EXIT INT TERM

expect() {
	case "$1" in
	forget-position) echo 'lost beyond the async allowance' ;;
	pause-stop) echo 'primary lost during maintenance' ;;
	same-name) echo 'two writable primaries' ;;
	flood) echo 'requests to the store in one second' ;;
	sync-rolling) echo 'no primary for' ;;
	nofailover-bootstrap) echo 'nofailover node .* runs as the primary' ;;
	stale-request) echo 'neither carried out nor answered' ;;
	reclone-loop) echo 'copied afresh' ;;
	sync-quorum) echo 'acknowledged commit lost in sync mode' ;;
	standby-ignored) echo 'two writable primaries\|of the standby cluster runs as a primary' ;;
	esac
}

# the options a bug needs to show, in both runs (with and without it)
opts() {
	case "$1" in
	sync-quorum) echo '--sync --sync-count 2' ;;
	standby-ignored) echo '--standby-cluster' ;;
	esac
}

# the seeds a bug may take: sync-quorum needs a failover while the count
# was capped to the one standby streaming, about once in 500 seeds
budget_of() {
	case "$1" in
	sync-quorum) echo $((budget * 5 / 2)) ;;
	*) echo "$budget" ;;
	esac
}

status=0
for bug in forget-position pause-stop same-name flood sync-rolling \
	nofailover-bootstrap stale-request reclone-loop sync-quorum \
	standby-ignored; do
	want=$(expect "$bug")
	extra=$(opts "$bug")
	caught=
	first=1
	last=$(budget_of "$bug")
	# fifty seeds at a time, until caught or the budget is spent
	while [ -z "$caught" ] && [ "$first" -le "$last" ]; do
		end=$((first + 49))
		[ "$end" -gt "$last" ] && end=$last
		# shellcheck disable=SC2086 # $extra: several options
		"$sim" $extra --bug "$bug" --seeds "$first-$end" --keep-going \
			>"$out" 2>&1
		for seed in $(sed -n 's/^seed \([0-9][0-9]*\) FAILED: .*/\1/p' \
			"$out"); do
			grep -q "^seed $seed FAILED: .*$want" "$out" || continue
			# shellcheck disable=SC2086
			if "$sim" $extra --seed "$seed" >/dev/null 2>&1; then
				caught=$seed
				break
			fi
		done
		first=$((end + 1))
	done
	if [ -z "$caught" ]; then
		echo "FAIL: --bug $bug: no '$want' in seeds 1..$last" >&2
		status=1
		continue
	fi
	echo "ok: --bug $bug caught at seed $caught (passes without it):"
	grep "^seed $caught FAILED" "$out" | sed 's/^/  /'
	grep "^replay: .*--seed $caught " "$out" | sed 's/^/  /'
done
exit $status
