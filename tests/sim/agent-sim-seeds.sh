#!/bin/sh
# agent-sim-seeds.sh — run by `make check`: the fencing-layer simulator
# (tests/sim/agent-sim, docs/agent-sim.md) over a fixed set of seeds, each one
# simulated minute with faults and operator actions, half of them in
# synchronous mode.  Any violation fails the test; the output names the
# seed and the line that replays it.
#
#   AGENT_SIM_SEEDS  last seed (default 500; --sync runs half as many)
#   AGENT_SIM_STEPS  steps of 5 simulated ms per seed (default 12000)
set -u
sim="${top_builddir:-.}/tests/sim/agent-sim"
last="${AGENT_SIM_SEEDS:-500}"
steps="${AGENT_SIM_STEPS:-12000}"

if [ ! -x "$sim" ]; then
	echo "agent-sim-seeds.sh: $sim not found; build it with" \
		"'make tests/sim/agent-sim'" >&2
	exit 1
fi
echo "== agent-sim: seeds 1..$last, $steps steps each"
"$sim" --seeds "1-$last" --steps "$steps" || exit 1
# and the same faults with synchronous mode on from the start
echo "== agent-sim --sync: seeds 1..$((last / 2)), $steps steps each"
"$sim" --sync --seeds "1-$((last / 2))" --steps "$steps" || exit 1
# and with a stale operator's request left in S/switchover from the start
echo "== agent-sim --sync --sync-count 2 (ANY 2): seeds 1..$((last / 2))"
"$sim" --sync --sync-count 2 --seeds "1-$((last / 2))" --steps "$steps" ||
	exit 1
# and as a standby cluster of a main cluster, promoted once it is lost
echo "== agent-sim --standby-cluster: seeds 1..$((last / 2))"
"$sim" --standby-cluster --seeds "1-$((last / 2))" --steps "$steps" || exit 1
echo "== agent-sim --leftover-request --sync: seeds 1..$((last / 5))"
exec "$sim" --leftover-request --sync --seeds "1-$((last / 5))" --steps "$steps"
