#!/bin/sh
# witness-ops.sh — operations on running witnesses that only the simulator
# (tests/sim/raft-sim.c) covered, here with real tenured processes, real TCP
# and real disks on loopback (run by `make check-process`):
#
# 1. Membership: three witnesses, `tenurectl member add w4` and w4 started
#    with the same --initial-cluster (it is not in it: it waits to be
#    added).  w4 catches up (tenurectl status shows it with the leader's
#    commit index), is promoted to voter, writes go on.  Then `member
#    remove` of a follower (stopped once removed): a key written before
#    is read back linearizably, writes go on, and the removed witness no
#    longer counts: the three members left survive one more kill -9 (with
#    it still counted, two of four could not commit).  Then `member
#    remove` of the leader: the two left elect a leader among themselves
#    and serve; the removed one does not lead again.
# 2. Leader transfer under faults (every peer link through a
#    tests/helpers/tcp-proxy, as in fault-partition.sh): `tenurectl leader
#    transfer --to wT` while wT is cut off, then while wT is SIGSTOP'd.
#    Each attempt either fails cleanly (exit 2, the old leader or another
#    one leads) or completes; tenurectl status of all three, sampled
#    throughout, never shows two leaders in one term; a lease held across
#    the attempts keeps its token and grants after them get larger ones.
#    Healed, a transfer to wT completes.
# 3. A disk that fills up while the witness runs (root only: a small
#    tmpfs mounted as the leader's data dir, filled up with a file; as
#    another user, or where mount is refused, this part is skipped).  The
#    leader's next segment cannot be allocated: it logs
#    event=disk_write_failed with ENOSPC and the file, steps down and does
#    not lead again while the disk is full; the two others elect a leader
#    and take writes.  Meanwhile w1 is unhealthy and says why: /health
#    503 "disk write failed: No space left on device", the counter
#    tenure_disk_write_errors_total > 0, tenurectl status showing it, and
#    the failure line rate-limited (at most one per 5 s).  With the file
#    removed it catches up by itself (every key, /health 200 again) and a
#    leader transfer to it completes.
#    tests/process/fault-disk.sh covers damaged logs found at start (torn tail,
#    corrupted batch, emptied data dir); nothing there fails while
#    running, so this is not a duplicate of it.
#
# PARTS="1 3" runs only those parts (all by default).  KEEP=1 keeps the
# logs of a failed run.  Timings are printed, never asserted.
set -u
me=witness-ops
port_range=witness
. "$(dirname "$0")/../lib/fault-lib.sh"
[ -x "$proxy_bin" ] || { echo "$me: $proxy_bin not built (make check builds it)" >&2; exit 1; }
PARTS=${PARTS:-1 2 3}
t_start=$(now_ms)

# Witnesses 4 and 5 (joiners) take the script's ports: base+13.. (peer,
# client, HTTP), so every helper of proc-lib.sh works for them too.
peer_port() { if [ "$1" -le 3 ]; then echo $((base + $1)); else echo $((base + 13 + 3 * ($1 - 4))); fi; }
client_port() { if [ "$1" -le 3 ]; then echo $((base + 3 + $1)); else echo $((base + 14 + 3 * ($1 - 4))); fi; }
http_port() { if [ "$1" -le 3 ]; then echo $((base + 6 + $1)); else echo $((base + 15 + 3 * ($1 - 4))); fi; }
eps() { # eps N...: their client endpoints, comma separated
	_e=""
	for n in "$@"; do _e="$_e${_e:+,}$(ep "$n")"; done
	echo "$_e"
}
part_on() { case " $PARTS " in *" $1 "*) ;; *) false ;; esac; }
elapsed() { echo "$((($(now_ms) - $1) / 1000)).$(((($(now_ms) - $1) % 1000) / 100)) s"; }

# status_all N...: tenurectl status -o json of those witnesses, one line
# "name role term commit leader" each (unreachable ones too)
status_all() {
	ctl --endpoints "$(eps "$@")" --timeout 2s status -o json
	field '.[] | "\(.name) \(.role) \(.term) \(.commit) \(.leader)"'
}
commit_of() { # commit_of N: witness N's commit index (tenurectl status), else nothing
	ctl --endpoints "$(ep "$1")" --timeout 2s status -o json
	field '.[0].commit // empty'
}
# members: "name voter" of every member, sorted, as the leader lists them
members() {
	ctl --endpoints "$(eps $live)" member list -o json
	field '[.[] | "\(.name):\(if .voter then "voter" else "learner" end)"] | sort | join(" ")'
}
# end_part NAME: every witness and proxy killed and reaped, the part's
# data and logs moved to $dir/NAME (the next part starts afresh)
end_part() {
	_all=$pids
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	# shellcheck disable=SC2086
	proc_reap $_all
	pids=""
	mkdir "$dir/$1"
	for f in "$dir"/w[0-9]* "$dir"/proxy*.log "$dir"/cut.*; do
		[ -e "$f" ] && mv "$f" "$dir/$1/"
	done
	return 0
}
# put_ok KEY VALUE [CTL OPTIONS...]: the write must succeed
put_ok() {
	_k=$1 _v=$2
	shift 2
	ctl "$@" put "$_k" "$_v"
	expect_rc 0 "put $_k $_v"
}
# get_is KEY VALUE [CTL OPTIONS...]: a linearizable read returns VALUE
get_is() {
	_k=$1 _v=$2
	shift 2
	ctl "$@" get "$_k" -o json
	expect_rc 0 "get $_k"
	[ "$(field .value)" = "$_v" ] || fail "get $_k: expected $_v, got $out"
}

# ---- 1. member add and member remove --------------------------------------------------
part1() {
	t0=$(now_ms)
	for n in 1 2 3; do start $n; done
	wait_for 10 leader_among 1 2 3 || fail "no leader within 10 s"
	live="1 2 3"
	echo "part 1: leader w$leader"
	put_ok m/before b0
	ctl member add w4 --peer-addr "127.0.0.1:$(peer_port 4)" -o json
	expect_rc 0 "member add w4"
	echo "member add w4: $out"
	start 4
	live="1 2 3 4"
	four_voters() { [ "$(members)" = "w1:voter w2:voter w3:voter w4:voter" ]; }
	wait_for 20 four_voters || fail "w4 was not promoted to voter within 20 s: member list: $(members); status: $(status_all 1 2 3 4)"
	grep -q "event=joining" "$dir/w4.log" || fail "w4 did not log that it joins"
	i=1
	while [ $i -le 20 ]; do put_ok "m/k$i" "v$i"; i=$((i + 1)); done
	# Caught up: w4's commit index is the leader's (no writes meanwhile).
	w4_caught_up() {
		wait_for 5 leader_among 1 2 3 4 || return 1
		lc=$(commit_of "$leader")
		c4=$(commit_of 4)
		[ -n "$lc" ] && [ "$c4" = "$lc" ]
	}
	wait_for 15 w4_caught_up || fail "w4 did not catch up: commit $c4, the leader w$leader's $lc; status: $(status_all 1 2 3 4)"
	get_is m/k20 v20 --endpoints "$(ep 4)" --consistency local
	echo "w4 caught up: commit $c4 = leader w$leader's; $(elapsed "$t0") into part 1"
	status_all 1 2 3 4 | sed 's/^/  status: /'
	put_ok m/after4 a4
	get_is m/before b0

	# -- remove a follower (not w4), stop it; then one more kill --
	f=""
	for n in 1 2 3; do [ "$n" != "$leader" ] && [ -z "$f" ] && f=$n; done
	ctl member remove "w$f" -o json
	expect_rc 0 "member remove w$f (a follower)"
	echo "removed follower w$f: $out"
	kill9 "$f"
	live=""
	for n in 1 2 3 4; do [ "$n" != "$f" ] && live="$live $n"; done
	ctl --endpoints "$(eps $live)" member list -o json
	[ "$(field '[.[].name] | map(select(. == "w'"$f"'")) | length')" = 0 ] || fail "w$f is still a member: $out"
	# shellcheck disable=SC2086
	wait_for 10 leader_among $live || fail "no leader among$live after removing w$f"
	get_is m/before b0 --endpoints "$(eps $live)"
	put_ok m/after-rm1 r1 --endpoints "$(eps $live)"
	# One more kill -9, of a follower: two of the three members left are a
	# majority; if the removed w$f still counted, two of four would not be.
	k=""
	for n in $live; do [ "$n" != "$leader" ] && [ -z "$k" ] && k=$n; done
	kill9 "$k"
	two=""
	for n in $live; do [ "$n" != "$k" ] && two="$two $n"; done
	echo "killed w$k too (w$f removed and stopped): the rest is$(printf ' w%s' $two)"
	# shellcheck disable=SC2086
	wait_for 10 leader_among $two || fail "no leader among$two after the kill"
	put_ok m/two t2 --endpoints "$(eps $two)" --timeout 10s
	get_is m/after-rm1 r1 --endpoints "$(eps $two)"
	echo "two of three members commit and read back with w$f removed and w$k killed"
	start "$k"
	# shellcheck disable=SC2086
	wait_for 15 healthy $live || fail "w$k did not rejoin after kill -9"

	# -- remove the leader --
	# shellcheck disable=SC2086
	wait_for 10 leader_among $live || fail "no leader among$live before removing it"
	x=$leader
	ctl --endpoints "$(eps $live)" member remove "w$x" -o json
	expect_rc 0 "member remove w$x (the leader)"
	echo "removed the leader w$x: $out"
	rest=""
	for n in $live; do [ "$n" != "$x" ] && rest="$rest $n"; done
	new_leader_rest() {
		# shellcheck disable=SC2086
		leader_among $rest && [ "$leader" != "$x" ]
	}
	wait_for 10 new_leader_rest || fail "no leader among$rest after removing the leader w$x: $(status_all $live)"
	echo "leader after removing w$x: w$leader ($(status_all $rest | tr '\n' ';'))"
	get_is m/before b0 --endpoints "$(eps $rest)"
	get_is m/two t2 --endpoints "$(eps $rest)"
	put_ok m/after-rm2 r2 --endpoints "$(eps $rest)"
	get_is m/after-rm2 r2 --endpoints "$(eps $rest)"
	ctl --endpoints "$(eps $rest)" member list -o json
	[ "$(field '[.[].name] | sort | join(" ")')" = "$(printf 'w%s\n' $rest | sort | tr '\n' ' ' | sed 's/ $//')" ] ||
		fail "member list after removing w$x: $out"
	# The removed leader, still running, must not lead again (sampled 1 s).
	i=0
	while [ $i -lt 10 ]; do
		[ "$(role_of "$x")" = leader ] && fail "removed w$x says it leads: $(http "$x" /status)"
		sleep 0.1
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	leader_among $rest || fail "the members left lost their leader while w$x ran on"
	echo "removed w$x runs on as $(role_of "$x"), leads nothing"
	echo "part 1 ok ($(elapsed "$t0"))"
	end_part part1
}

# ---- 2. leader transfer under faults -----------------------------------------------------
# The sampler: tenurectl status of all three every 0.1 s, one line "term
# name" per witness that says it leads, until $dir/sampler.stop exists.
start_sampler() {
	rm -f "$dir/sampler.stop"
	(
		while [ ! -e "$dir/sampler.stop" ]; do
			"$ctl_bin" --endpoints "$(eps 1 2 3)" --timeout 1s status -o json 2>/dev/null |
				jq -r '.[] | select(.role == "leader") | "\(.term) \(.name)"' 2>/dev/null \
				>>"$dir/leaders.samples"
			sleep 0.1
		done
	) &
	sampler=$!
	pids="$pids $sampler"
}
stop_sampler() {
	: >"$dir/sampler.stop"
	wait "$sampler"
	forget "$sampler"
}
# one_leader_per_term: neither the samples nor the witnesses' own logs
# (role_change role=leader) show two leaders in one term
one_leader_per_term() {
	two=$(awk '{ if (($1 in l) && l[$1] != $2) print "term " $1 ": " l[$1] " and " $2; l[$1] = $2 }' \
		"$dir/leaders.samples" | sort -u)
	[ -z "$two" ] || fail "tenurectl status showed two leaders in one term: $two"
	cat "$dir"/w[123].log | sed -n 's/.*event=role_change name=\([^ ]*\) role=leader term=\([0-9]*\).*/\2 \1/p' \
		>"$dir/leaders.logged"
	two=$(awk '{ if (($1 in l) && l[$1] != $2) print "term " $1 ": " l[$1] " and " $2; l[$1] = $2 }' \
		"$dir/leaders.logged" | sort -u)
	[ -z "$two" ] || fail "the logs show two leaders in one term: $two"
}
# transfer_to T WHAT: tenurectl leader transfer --to wT (3 s); its exit in
# $trc.  It must complete (exit 0, wT leads) or fail cleanly (exit 2
# with a reason, and some witness other than wT leads within 10 s of
# the fault ending: checked by the caller).
transfer_to() { # transfer_to T WHAT [CTL OPTIONS...]
	_t=$1 _w=$2
	shift 2
	t_tr=$(now_ms)
	ctl --timeout 3s "$@" leader transfer --to "w$_t" -o json
	trc=$rc
	case $trc in
	0) [ "$(field .to)" = "w$_t" ] || fail "$_w: transfer says it completed, to $(field .to): $out" ;;
	2) [ -n "$err" ] || fail "$_w: transfer failed with no reason on stderr" ;;
	*) fail "$_w: leader transfer exit $trc (stdout: $out; stderr: $err)" ;;
	esac
	echo "$_w: leader transfer --to w$_t: exit $trc after $(elapsed "$t_tr"): ${out:-$err}" | tr '\n' ' '
	echo
}
# lease_same: T is still ht's with token $tokt (renewed)
lease_same() { # lease_same WHAT [CTL OPTIONS...]
	_w=$1
	shift
	ctl "$@" lease renew T --holder ht --token "$tokt" --timeout 10s
	expect_rc 0 "renew T by ht with token $tokt ($_w)"
}
# grant_larger WHAT: a new lease's token is larger than every one before
grant_larger() {
	g=$((g + 1))
	ctl lease acquire "G$g" --holder hg --ttl 60s --timeout 10s -o json
	expect_rc 0 "acquire G$g ($1)"
	tg=$(field .token)
	[ "$tg" -gt "$tokmax" ] 2>/dev/null || fail "$1: G$g got token $tg, not above $tokmax"
	tokmax=$tg
}
part2() {
	t0=$(now_ms)
	use_proxy=1
	make_cluster
	for n in 1 2 3; do start_proxy $n; done
	for n in 1 2 3; do start $n; done
	wait_for 10 leader_among 1 2 3 || fail "no leader within 10 s (through the proxies)"
	echo "part 2: leader w$leader"
	: >"$dir/leaders.samples"
	start_sampler
	ctl lease acquire T --holder ht --ttl 60s -o json
	expect_rc 0 "acquire T"
	tokt=$(field .token)
	tokmax=$tokt
	g=0
	put_ok x/k 0

	# -- a: the target cut off --
	l=$leader
	t=""
	for n in 1 2 3; do [ "$n" != "$l" ] && [ -z "$t" ] && t=$n; done
	cut "$t" '*'
	for n in 1 2 3; do [ "$n" != "$t" ] && cut "$n" "w$t"; done
	echo "w$t cut off (leader w$l)"
	transfer_to "$t" "a (w$t cut off)"
	if [ "$trc" = 0 ]; then
		fail "a: transfer to w$t completed although w$t is cut off: $(status_all 1 2 3 | tr '\n' ';')"
	fi
	not_t() { leader_among "$l" "$n2" && [ "$leader" != "$t" ]; }
	n2=""
	for n in 1 2 3; do [ "$n" != "$t" ] && [ "$n" != "$l" ] && n2=$n; done
	wait_for 10 not_t || fail "a: no leader among w$l w$n2 after the failed transfer: $(status_all 1 2 3 | tr '\n' ';')"
	echo "a: leader w$leader after the failed transfer"
	put_ok x/k a --timeout 10s
	lease_same "a, w$t cut off"
	grant_larger "a, w$t cut off"
	for n in 1 2 3; do cut $n; done
	wait_for 15 healthy 1 2 3 || fail "a: not all healthy after healing"

	# -- b: the target stopped (SIGSTOP) --
	wait_for 10 leader_among 1 2 3 || fail "b: no agreed leader before"
	l=$leader
	t=""
	for n in 1 2 3; do [ "$n" != "$l" ] && [ -z "$t" ] && t=$n; done
	sig STOP "$t"
	# A stopped witness accepts connections and never answers: a client
	# would wait out its deadline there, so ask only the two others.
	oth=""
	for n in 1 2 3; do [ "$n" != "$t" ] && oth="$oth $n"; done
	echo "SIGSTOP w$t (leader w$l)"
	transfer_to "$t" "b (w$t stopped)" --endpoints "$(eps $oth)"
	[ "$trc" = 0 ] && fail "b: transfer to w$t completed although w$t is stopped: $(status_all 1 2 3 | tr '\n' ';')"
	put_ok x/k b --timeout 10s --endpoints "$(eps $oth)"
	lease_same "b, w$t stopped" --endpoints "$(eps $oth)"
	sig CONT "$t"
	# The timeout-now the leader sent may make w$t campaign once it runs:
	# it may lead after all; either way, one agreed leader.
	wait_for 15 healthy 1 2 3 || fail "b: not all healthy after SIGCONT"
	wait_for 10 leader_among 1 2 3 || fail "b: no agreed leader after SIGCONT: $(status_all 1 2 3 | tr '\n' ';')"
	echo "b: after SIGCONT w$t, leader w$leader"
	get_is x/k b
	lease_same "b, after SIGCONT"
	grant_larger "b, after SIGCONT"

	# -- c: healed, a transfer completes --
	wait_for 10 leader_among 1 2 3 || fail "c: no agreed leader"
	t=""
	for n in 1 2 3; do [ "$n" != "$leader" ] && [ -z "$t" ] && t=$n; done
	ctl --timeout 10s leader transfer --to "w$t" -o json
	expect_rc 0 "c: leader transfer --to w$t (no fault)"
	is_t() { leader_among 1 2 3 && [ "$leader" = "$t" ]; }
	wait_for 10 is_t || fail "c: w$t does not lead after the transfer: $(status_all 1 2 3 | tr '\n' ';')"
	get_is x/k b
	lease_same "c, after the transfer to w$t"
	grant_larger "c, after the transfer to w$t"
	stop_sampler
	one_leader_per_term
	echo "part 2: $(wc -l <"$dir/leaders.samples") leader samples, terms $(awk '{ print $1 }' "$dir/leaders.logged" | sort -un | tr '\n' ' ')with one leader each; lease T token $tokt kept, grants up to $tokmax"
	echo "part 2 ok ($(elapsed "$t0"))"
	end_part part2
	use_proxy=0
	make_cluster
}

# ---- 3. a disk that fills up while the witness runs ----------------------------------------
# w1's data dir is on a tmpfs of its own ($mnt, 64 MiB), filled up with
# $mnt/filler once w1 leads; 60 KB values then fill w1's 8 MiB open
# segment, and the next cannot be allocated.  Every entry w1 could not
# write is written in one batch once there is room: what the filler
# leaves is enough for that (a few MB of 60 KB values written after the
# failure, by the bench run under way; a 24 MiB tmpfs was too small).
mnt=""
ops_cleanup() { # the tmpfs is unmounted once nothing runs on it, then cleanup
	if [ -n "$mnt" ]; then
		_all=$pids
		for p in $pids; do kill -9 "$p" 2>/dev/null; done
		# shellcheck disable=SC2086
		proc_reap $_all
		pids=""
		if [ "$failed" = 1 ] && [ "${KEEP:-0}" = 1 ]; then
			cp -a "$mnt/w1" "$dir/w1.on-tmpfs" 2>/dev/null
			rm -f "$dir/w1.on-tmpfs/filler"
		fi
		umount "$mnt" 2>/dev/null || umount -l "$mnt" ||
			echo "$me: cannot unmount $mnt (umount it by hand)" >&2
		mnt=""
	fi
	cleanup
}
trap ops_cleanup EXIT
avail_kb() { df -Pk "$mnt" | awk 'NR == 2 { print $4 }'; }
part3() {
	if [ "$(id -u)" != 0 ]; then
		proc_skip_part "part 3, a disk that fills up" "needs root to mount a tmpfs"
		return 0
	fi
	t0=$(now_ms)
	mkdir "$dir/disk"
	if ! mount -t tmpfs -o size=64m tenure-witness-ops "$dir/disk" 2>"$dir/mount.err"; then
		proc_skip_part "part 3, a disk that fills up" "mount -t tmpfs refused: $(cat "$dir/mount.err")"
		rmdir "$dir/disk"
		return 0
	fi
	mnt="$dir/disk"
	mkdir "$mnt/w1"
	ln -s disk/w1 "$dir/w1"
	for n in 1 2 3; do start $n; done
	wait_for 10 leader_among 1 2 3 || fail "no leader within 10 s"
	if [ "$leader" != 1 ]; then
		ctl --timeout 10s leader transfer --to w1
		expect_rc 0 "leader transfer --to w1 before filling its disk"
	fi
	w1_leads() { leader_among 1 2 3 && [ "$leader" = 1 ]; }
	wait_for 10 w1_leads || fail "w1 does not lead: $(status_all 1 2 3 | tr '\n' ';')"
	put_ok d/before b
	dd if=/dev/zero of="$mnt/filler" bs=64k 2>/dev/null
	[ "$(avail_kb)" -lt 64 ] || fail "the tmpfs is not full after filling it: $(df -Pk "$mnt")"
	echo "part 3: w1 leads, its disk ($mnt, tmpfs) full: $(ls -l "$mnt/w1" | awk 'NR > 1 { printf "%s %s; ", $9, $5 }')"
	t_full=$(now_ms)
	failed_line() { grep "event=disk_write_failed" "$dir/w1.log" | head -n 1; }
	i=0
	while [ -z "$(failed_line)" ]; do
		[ $i -lt 60 ] || fail "w1 logged no disk_write_failed after $i bench runs of 60 KB values on its full disk"
		"$ctl_bin" --timeout 10s bench --workload put --clients 1 --duration 500ms --value-size 60000 \
			>"$dir/bench.out" 2>&1
		i=$((i + 1))
	done
	line=$(failed_line)
	t_first=$(now_ms)
	echo "w1 after $i bench runs ($(elapsed "$t_full")): $line"
	printf '%s' "$line" | grep -q "errno=28 " || fail "the disk error is not ENOSPC (errno 28): $line"
	printf '%s' "$line" | grep -q 'error="[^"]*open-[0-9]' || fail "the disk error names no segment file: $line"
	others_lead() { leader_among 2 3 && [ "$leader" != 1 ]; }
	wait_for 10 others_lead || fail "w2 and w3 elected no leader after w1's disk filled up: $(status_all 1 2 3 | tr '\n' ';')"
	echo "leader w$leader, $(elapsed "$t_full") after w1's disk filled up"
	put_ok d/during x --endpoints "$(eps 2 3)" --timeout 10s
	get_is d/before b --endpoints "$(eps 2 3)"
	# While its disk is full, w1 never leads again (2 s, every 0.1 s).
	i=0
	while [ $i -lt 20 ]; do
		r=$(role_of 1)
		[ "$r" = leader ] && fail "w1 leads again on a full disk: $(http 1 /status)"
		sleep 0.1
		i=$((i + 1))
	done
	put_ok d/during2 y --endpoints "$(eps 2 3)" --timeout 10s
	# w1 says it is unhealthy, and why: /health, /metrics, tenurectl status.
	code=$(curl -s -o "$dir/health.json" -w '%{http_code}' --max-time 1 "http://127.0.0.1:$(http_port 1)/health")
	[ "$code" = 503 ] || fail "w1's /health on a full disk: $code, expected 503: $(cat "$dir/health.json")"
	jq -e '.healthy == false and .reason == "disk write failed: No space left on device"' "$dir/health.json" >/dev/null ||
		fail "w1's /health on a full disk gives no disk reason: $(cat "$dir/health.json")"
	nerr=$(http 1 /metrics | awk '$1 == "tenure_disk_write_errors_total" { print $2 }')
	[ "${nerr:-0}" -gt 0 ] 2>/dev/null || fail "tenure_disk_write_errors_total on a full disk: '$nerr'"
	ctl --endpoints "$(eps 1 2 3)" --timeout 2s status -o json
	expect_rc 0 "status with w1's disk full"
	[ "$(field '.[] | select(.name == "w1") | .health_reason')" = "disk write failed: No space left on device" ] ||
		fail "tenurectl status does not show w1's disk error: $out"
	[ "$(field '[.[] | select(.name != "w1") | .healthy] | all')" = true ] ||
		fail "tenurectl status: w2 and w3 not healthy: $out"
	ctl --endpoints "$(eps 1 2 3)" --timeout 2s status
	printf '%s\n' "$out" | grep "^w1 " | grep -q "disk write failed: No space left on device" ||
		fail "the status table does not show w1's disk error: $out"
	# The failure line is rate-limited: at most one per 5 s after the
	# first (the disk failed tens of times a second before).
	sleep 3
	nlines=$(grep -cE "event=(disk_write_failed|hard_state_write_failed)" "$dir/w1.log")
	window=$(($(now_ms) - t_first))
	[ "$nlines" -le $((window / 5000 + 2)) ] ||
		fail "$nlines disk failure lines in $window ms: not rate-limited"
	echo "w1 on a full disk: /health 503 ($(jq -r .reason "$dir/health.json")), $nerr disk write errors, $nlines failure lines in $window ms"
	# A write sent to w1 alone: w1 leads no more, so it can only pass it
	# on (the client follows its leader hint) or fail; if it succeeds,
	# the majority has it.
	ctl --endpoints "$(ep 1)" --timeout 5s put d/via-w1 v1
	if [ $rc = 0 ]; then
		get_is d/via-w1 v1 --endpoints "$(eps 2 3)"
		echo "a write sent to w1 alone was committed by the majority (leader hint)"
	else
		echo "a write sent to w1 alone failed (exit $rc): $(printf '%s' "$err" | head -n 1)"
	fi
	echo "w1 on a full disk: role $r, /health $(curl -s --max-time 1 "http://127.0.0.1:$(http_port 1)/health"); $(grep -c "event=disk_write_failed" "$dir/w1.log") disk_write_failed lines"

	rm -f "$mnt/filler"
	t_free=$(now_ms)
	echo "filler removed: $(avail_kb) KB free"
	w1_has() {
		ctl --endpoints "$(ep 1)" --consistency local get d/during2 -o json
		[ $rc = 0 ] && [ "$(field .value)" = y ]
	}
	wait_for 30 w1_has || fail "w1 did not catch up within 30 s of its disk having room again: $out $err; $(status_all 1 2 3 | tr '\n' ';')"
	# Its writes succeed again: healthy (200) once one does.
	wait_for 30 healthy 1 || fail "w1's /health is not 200 30 s after its disk had room: $(http 1 /health)"
	grep -q "event=disk_write_recovered" "$dir/w1.log" || fail "w1 logged no disk_write_recovered"
	wait_for 15 healthy 1 2 3 || fail "not all healthy after w1's disk has room again"
	echo "w1 caught up $(elapsed "$t_free") after its disk had room again"
	ctl --timeout 10s leader transfer --to w1 -o json
	expect_rc 0 "leader transfer --to w1 once its disk has room"
	wait_for 10 w1_leads || fail "w1 does not lead after the transfer: $(status_all 1 2 3 | tr '\n' ';')"
	put_ok d/after z
	get_is d/during x
	get_is d/after z --endpoints "$(ep 1)" --consistency local
	echo "part 3 ok ($(elapsed "$t0")): w1 leads again and writes"
	end_part part3
	umount "$mnt" || fail "cannot unmount $mnt after part 3"
	rmdir "$mnt"
	mnt=""
}

part_on 1 && part1
part_on 2 && part2
part_on 3 && part3
echo "ok: $me: parts $PARTS in $(elapsed "$t_start")"
