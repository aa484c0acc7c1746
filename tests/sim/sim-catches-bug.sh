#!/bin/sh
# sim-catches-bug.sh — shows that the simulator finds a real Raft bug.
# tests/sim/raft-sim-broken is the same simulator linked with a core built with
# -DRAFT_BROKEN_COMMIT_OLD_TERM: leaders commit entries of older terms by
# counting replicas (the bug of Figure 8 in the Raft paper).  This test
# PASSES only if the simulator reports a safety violation within the seed
# budget.  Violations of other kinds (e.g. an unrelated core bug that
# tests/sim/sim-seeds.sh also reports) are skipped over.
#
#   SIM_BUG_SEEDS  seed budget (default 2000); SIM_JOBS (default 2)
set -u
sim="${top_builddir:-.}/tests/sim/raft-sim-broken"
budget="${SIM_BUG_SEEDS:-2000}"
jobs="${SIM_JOBS:-2}"
safety='VIOLATION: (leader completeness|state machine safety|log matching|election safety|read linearizability)'

if [ ! -x "$sim" ]; then
	echo "sim-catches-bug.sh: $sim not found" >&2
	exit 1
fi
out="${TMPDIR:-/tmp}/sim-catches-bug.$$"
trap 'rm -f "$out"' EXIT INT TERM
for nodes in 3 5; do
	seed=1
	end=$((1 + budget))
	caught=no
	while [ "$seed" -lt "$end" ]; do
		"$sim" --seed "$seed" --seeds $((end - seed)) --nodes "$nodes" \
			--jobs "$jobs" >"$out" 2>/dev/null
		rc=$?
		if [ "$rc" -eq 0 ]; then
			break
		fi
		if [ "$rc" -eq 1 ] && grep -Eq "$safety" "$out"; then
			caught=yes
			break
		fi
		# Something else failed first: go on after that seed.
		failed=$(sed -n 's/.*first failing seed \([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
		if [ -z "$failed" ]; then
			cat "$out"
			echo "sim-catches-bug.sh: raft-sim-broken failed without naming a seed" >&2
			exit 1
		fi
		grep -E '^seed [0-9]+ .*VIOLATION' "$out" | sed 's/^/  (skipped) /'
		seed=$((failed + 1))
	done
	if [ "$caught" != yes ]; then
		echo "FAIL: $nodes nodes: no safety violation found in seeds 1..$budget" \
			"with the Figure 8 bug compiled in" >&2
		exit 1
	fi
	echo "ok: $nodes nodes: the broken core was caught:"
	grep -E "^seed [0-9]+ .*$safety" "$out" | head -n 1 | sed 's/^/  /'
	grep -A1 -E "^seed [0-9]+ .*$safety" "$out" | sed -n 2p
	grep '^replay:' "$out" | head -n 1 | sed 's/^/  /'
done
exit 0
