# failover-lib.sh — the fault scenarios of tests/bench/failover and
# tests/bench/vs-patroni, run against any three-node PostgreSQL cluster
# that a driver describes, with the pgprobe write probe on all the time.
#
# The sourcing script sets `me`, sources tests/lib/pg-lib.sh (for $dir, the
# probe, now_ms, pg_crash/pg_freeze...), then this file, and defines:
#   bk_nodes            the nodes the probe writes to (pg-lib NODE names)
#   bk_primaries        the nodes whose health API answers 200 on /primary
#   bk_replicas         the nodes whose health API answers 200 on /replica
#   bk_crash NODE       kill -9 everything of NODE at once
#   bk_restart NODE     start NODE's manager again after bk_crash
#   bk_freeze NODE      SIGSTOP everything of NODE
#   bk_thaw NODE        SIGCONT it
#   bk_switchover OLD NEW   planned switchover; non-zero on failure, with
#                       the reason in $bk_why
# and the numbers bk_freeze_ms (how long a freeze lasts), bk_failover_s
# (how long to wait for a new primary) and bk_rejoin_s (for the old
# primary to run as a replica again).  PROBE_TIMEOUT_MS defaults to the
# freeze plus 3 s: a write in flight when the primary froze is answered.
#
# bench_scenario NAME RUNS (NAME: crash, freeze or switchover) runs it
# RUNS times, one JSON object a run appended to $dir/runs.jsonl:
#   scenario, run, ok (a new primary acknowledged a write and the run
#   went as planned: otherwise note says what did not), t0_us (the
#   fault, CLOCK_REALTIME like the probe log), old, new,
#   first_write_s (fault -> first acknowledged write of another node than
#   the old primary, from the probe log), gap_s (pgprobe check's longest
#   time with no writable node), lost (acknowledged writes missing on the
#   final primary), violations (two nodes writable at once), old_acks_after_new
#   (writes the old primary acknowledged after the new one's first ack),
#   acked, note.
# bench_summary META_JSON prints META_JSON + {runs, scenarios: {NAME:
# {runs, ok_runs, first_write_s, gap_s: {median, min, max, n}, lost_total,
# violations_total, old_acks_after_new_max, notes}}} (median and range
# over every run that has the figure, ok or not).  bench_rss_kb PID
# prints a process's VmRSS in kB, bench_max_rss the largest of several.
# bench_side_by_side KEY... reads {KEY: summary, ...} and prints a table
# with one column per KEY (tenure_async, tenure_sync, patroni_defaults,
# patroni_aggressive, patroni); this alone works without pg-lib.
# Figures are only printed, never judged.
#
# Variables: this file's functions use names starting with "b_" (pg-lib
# and fault-lib use "_" and i, n, p, s, l, np, limit, leader).

bk_freeze_ms=${bk_freeze_ms:-6000}
bk_failover_s=${bk_failover_s:-60}
bk_rejoin_s=${bk_rejoin_s:-120}
# The probe's client deadline outlasts a freeze (unless the caller chose
# one): a client that gave up during the freeze would hide a commit the
# frozen primary acknowledges when it resumes (old_acks_after_new).
PROBE_TIMEOUT_MS=${PROBE_TIMEOUT_MS:-$((bk_freeze_ms + 3000))}
# (sourced without pg-lib, for bench_side_by_side alone: no $dir)
if [ -n "${dir:-}" ]; then
	bench_runs="$dir/runs.jsonl"
	: >"$bench_runs"
fi

# bench_say MESSAGE: progress, on stderr
bench_say() { printf '%s: %s\n' "$me" "$*" >&2; }

# now_us: CLOCK_REALTIME in µs, the probe log's clock
now_us() { date +%s%6N; }

# bench_rss_kb PID [FIELD]: its VmRSS (or FIELD of /proc/PID/status, e.g.
# RssAnon) in kB; nothing if it is gone
bench_rss_kb() { awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }

# bench_max_rss [-f FIELD] PID...: the largest VmRSS (or FIELD) in kB of
# those, or null
bench_max_rss() {
	b_f=VmRSS
	[ "$1" = -f ] && { b_f=$2; shift 2; }
	b_m=""
	for b_p in "$@"; do
		b_r=$(bench_rss_kb "$b_p" "$b_f")
		[ -n "$b_r" ] && { [ -z "$b_m" ] || [ "$b_r" -gt "$b_m" ]; } && b_m=$b_r
	done
	echo "${b_m:-null}"
}

# bench_single: the one primary now (nothing if none, or two)
bench_single() {
	b_l=$(bk_primaries)
	case "$b_l" in *" "* | "") return 1 ;; esac
	echo "$b_l"
}

# bench_wait_other OLD SECONDS: waits until exactly one node other than OLD
# is primary and prints it (two at once, as the APIs tell it, is waited
# through: the probe is the judge)
bench_wait_other() {
	b_end=$(($(now_ms) + $2 * 1000))
	while [ "$(now_ms)" -lt $b_end ]; do
		b_l=$(bk_primaries)
		case "$b_l" in
		*" "* | "" | "$1") ;;
		*) echo "$b_l"; return 0 ;;
		esac
		sleep 0.05
	done
	return 1
}

# bench_wait_back SECONDS: one primary and every other node a replica
bench_wait_back() {
	b_end=$(($(now_ms) + $1 * 1000))
	set -- $(bk_nodes)
	b_want=$(($# - 1))
	while [ "$(now_ms)" -lt $b_end ]; do
		if bench_single >/dev/null; then
			set -- $(bk_replicas)
			[ $# -ge $b_want ] && return 0
		fi
		sleep 0.2
	done
	return 1
}

# bench_figures T0_US OLD: from the probe log, "NEW FIRST_S OLD_AFTER": the
# first node other than OLD to acknowledge a write at or after T0, seconds
# from T0 to that ack, and how many writes OLD acknowledged after it
# ("- null 0" when no other node acknowledged one)
bench_figures() {
	awk -v t0="$1" -v old="$2" '
		/^#/ { next }
		$5 == "ok" { n++; node[n] = $1; ack[n] = $4 + 0 }
		END {
			best = -1
			for (i = 1; i <= n; i++)
				if (node[i] != old && ack[i] >= t0 && (best < 0 || ack[i] < best)) {
					best = ack[i]; first = node[i]
				}
			if (best < 0) { print "- null 0"; exit }
			c = 0
			for (i = 1; i <= n; i++) if (node[i] == old && ack[i] > best) c++
			printf "%s %.3f %d\n", first, (best - t0) / 1e6, c
		}' "$probe_out"
}

# bench_sleep_until T_MS: sleeps until now_ms reaches T_MS
bench_sleep_until() {
	b_left=$(($1 - $(now_ms)))
	[ $b_left -gt 0 ] && sleep "$((b_left / 1000)).$(printf '%03d' $((b_left % 1000)))"
	return 0
}

# bench_record NAME RUN OLD FINAL NOTE: the figures of the run just ended
# (probe stopped; FINAL: the primary the API showed last, may be empty)
# appended to $bench_runs
bench_record() {
	b_s=$1 b_n=$2 b_o=$3 b_fin=$4 b_nt=$5
	set -- $(bench_figures "$b_t0" "$b_o")
	b_lognew=$1 b_first=$2 b_after=$3
	[ -n "$b_fin" ] || b_fin=$(bench_single) || b_fin=""
	b_check=null
	if [ -n "$b_fin" ]; then
		probe_check "$b_fin" -o json >/dev/null
		case "$rc" in
		0 | 1) b_check=$out ;;
		*) b_nt="$b_nt${b_nt:+; }pgprobe check failed: $(printf '%s' "$out" | head -n 1)" ;;
		esac
	else
		b_nt="$b_nt${b_nt:+; }no primary to check the writes on"
	fi
	b_ok=false
	[ "$b_first" != null ] && [ -z "$b_nt" ] && b_ok=true
	jq -cn --arg s "$b_s" --argjson run "$b_n" --arg old "$b_o" --arg new "$b_lognew" \
		--argjson first "$b_first" --argjson after "$b_after" --argjson ok "$b_ok" \
		--argjson c "$b_check" --arg note "$b_nt" --argjson t0 "$b_t0" '
		{scenario: $s, run: $run, ok: $ok, t0_us: $t0, old: $old,
		 new: (if $new == "-" then null else $new end),
		 first_write_s: $first,
		 gap_s: (if $c then $c.longest_gap_s else null end),
		 lost: (if $c then $c.lost else null end),
		 violations: (if $c then ($c.violations | length) else null end),
		 old_acks_after_new: $after,
		 acked: (if $c then $c.acked else null end), note: $note}' >>"$bench_runs"
	bench_say "$b_s run $b_n: $(tail -n 1 "$bench_runs")"
}

# bench_no_new OLD: the note for "no single new primary came"
bench_no_new() {
	b_l=$(bk_primaries)
	case "$b_l" in
	"$1") echo "no new primary: the old one ($1) is primary again" ;;
	"") echo "no primary at the end" ;;
	*" "*) echo "no single new primary: $b_l answer as primaries" ;;
	*) echo "no new primary" ;;
	esac
}

# bench_one NAME RUN: one fault on the current primary, the probe on
bench_one() {
	b_note=""
	bench_wait_back "$bk_rejoin_s" || b_note="the cluster was not whole before the fault"
	b_old=$(bench_single) || {
		b_t0=$(now_us)
		probe_start $(bk_nodes)
		probe_stop
		bench_record "$1" "$2" "" "" "no single primary before the fault"
		return 1
	}
	probe_start $(bk_nodes)
	sleep 2
	b_new=""
	b_t0=$(now_us)
	case "$1" in
	crash)
		bk_crash "$b_old"
		b_new=$(bench_wait_other "$b_old" "$bk_failover_s") || b_note=$(bench_no_new "$b_old")
		bk_restart "$b_old"
		;;
	freeze)
		bk_freeze "$b_old"
		bench_sleep_until $((b_t0 / 1000 + bk_freeze_ms))
		bk_thaw "$b_old"
		b_new=$(bench_wait_other "$b_old" "$bk_failover_s") || b_note=$(bench_no_new "$b_old")
		;;
	switchover)
		b_cand=""
		for b_r in $(bk_replicas); do
			[ "$b_r" != "$b_old" ] && { b_cand=$b_r; break; }
		done
		if [ -z "$b_cand" ]; then
			b_note="no replica to switch over to"
		elif ! bk_switchover "$b_old" "$b_cand"; then
			b_note="switchover to $b_cand failed: $bk_why"
		fi
		b_new=$(bench_wait_other "$b_old" 10) || b_note=${b_note:-$(bench_no_new "$b_old")}
		;;
	esac
	bench_wait_back "$bk_rejoin_s" ||
		b_note="$b_note${b_note:+; }the old primary did not rejoin in $bk_rejoin_s s"
	sleep 1
	probe_stop
	bench_record "$1" "$2" "$b_old" "$b_new" "$b_note"
}

# bench_scenario NAME RUNS
bench_scenario() {
	b_run=1
	while [ $b_run -le "$2" ]; do
		bench_one "$1" "$b_run"
		b_run=$((b_run + 1))
	done
}

# bench_summary META_JSON: the summary of $bench_runs (see the top)
bench_summary() {
	jq -s --argjson meta "$1" '
		def stats: map(select(. != null)) | sort |
			if length == 0 then null else
			{median: (if length % 2 == 1 then .[length / 2 | floor]
			          else (.[length / 2 - 1] + .[length / 2]) / 2 end),
			 min: .[0], max: .[-1], n: length} end;
		. as $runs |
		$meta + {runs: $runs, scenarios: (reduce ("crash", "freeze", "switchover") as $s ({};
			. + {($s): ($runs | map(select(.scenario == $s)) |
				if length == 0 then null else
				{runs: length, ok_runs: (map(select(.ok)) | length),
				 first_write_s: (map(.first_write_s) | stats),
				 gap_s: (map(.gap_s) | stats),
				 lost_total: (map(.lost // 0) | add),
				 violations_total: (map(.violations // 0) | add),
				 old_acks_after_new_max: (map(.old_acks_after_new // 0) | max),
				 notes: (map(select(.note != "") | "\($s) run \(.run): \(.note)"))} end)}))}' \
		"$bench_runs"
}

# bench_jq_defs: jq functions for the tables: f (a number, 2 decimals),
# r ({median,min,max} as "median (min..max)"), mb (kB as MB); null: n/a
bench_jq_defs='
	def f: if . == null then "n/a" else (. * 100 | round / 100 | tostring) end;
	def r: if . == null then "n/a" else "\(.median | f) (\(.min | f)..\(.max | f))" end;
	def mb: if . == null then "n/a" else (. / 1024 * 10 | round / 10 | tostring) + " MB" end;'

# bench_side_by_side KEY...: stdin {KEY: bench_summary output or null};
# one column per KEY, one row per figure
bench_side_by_side() {
	b_all=$(cat)
	b_rows='
	def cell($s; f): if $s == null then "n/a" else ($s | f) end;
	def sc($s; $n; f): cell($s; .scenarios[$n] | if . == null then "n/a" else f end);
	def title($k): {tenure_async: "tenure async", tenure_sync: "tenure sync",
		patroni_defaults: "Patroni defaults", patroni_aggressive: "Patroni aggressive",
		patroni: "Patroni"}[$k] // $k;
	. as $all | $keys as $ks |
	def row($name; f): ([$name] + [$ks[] | . as $k | $all[$k] | f]) | join("\t");
	([""] + [$ks[] | title(.)] | join("\t")),
	row("host crash: first write (s)"; . as $s | sc($s; "crash"; .first_write_s | r)),
	row("  no writable node (s)"; . as $s | sc($s; "crash"; .gap_s | r)),
	row("  lost acknowledged writes"; . as $s | sc($s; "crash"; .lost_total | tostring)),
	row("  two writable at once"; . as $s | sc($s; "crash"; .violations_total | tostring)),
	row("host freeze: first write (s)"; . as $s | sc($s; "freeze"; .first_write_s | r)),
	row("  no writable node (s)"; . as $s | sc($s; "freeze"; .gap_s | r)),
	row("  old acks after new (max)"; . as $s | sc($s; "freeze"; .old_acks_after_new_max | tostring)),
	row("  lost acknowledged writes"; . as $s | sc($s; "freeze"; .lost_total | tostring)),
	row("  two writable at once"; . as $s | sc($s; "freeze"; .violations_total | tostring)),
	row("switchover: first write (s)"; . as $s | sc($s; "switchover"; .first_write_s | r)),
	row("  no writable node (s)"; . as $s | sc($s; "switchover"; .gap_s | r)),
	row("  lost acknowledged writes"; . as $s | sc($s; "switchover"; .lost_total | tostring)),
	row("runs ok (crash/freeze/switch)"; . as $s | cell($s; [.scenarios.crash, .scenarios.freeze, .scenarios.switchover] | map(if . == null then "-" else "\(.ok_runs)/\(.runs)" end) | join(" "))),
	row("RSS: agent / patroni"; . as $s | cell($s; .memory_kb |
		if .agent_max then "\(.agent_max | mb) (anon \(.agent_anon_max | mb))" else .patroni_max | mb end)),
	row("RSS: guard"; . as $s | cell($s; .memory_kb.guard_max | mb)),
	row("RSS: tenured / etcd"; . as $s | cell($s; .memory_kb.witness_max // .memory_kb.etcd_max | mb)),
	"",
	($ks[] | . as $k | $all[$k] | select(. != null) | "\(title($k)): \(.settings), \(.runs_each) run(s) each"),
	($ks[] | . as $k | $all[$k] | select(. != null) | .scenarios[] | select(. != null) | .notes[] | "note (\(title($k))): \(.)")'
	printf '%s\n' "$b_all" | jq -r --argjson keys "$(printf '%s\n' "$@" | jq -R . | jq -s -c .)" \
		"$bench_jq_defs $b_rows" |
		awk -F'\t' '{
			if (NF <= 1) { print; next }
			printf "%-30s", $1
			for (i = 2; i <= NF; i++) printf " %-21s", $i
			printf "\n"
		}'
	echo "seconds: median (min..max) from the fault to the first write a new primary acknowledged; no writable node: pgprobe's longest gap; RSS at rest, max per process"
}
