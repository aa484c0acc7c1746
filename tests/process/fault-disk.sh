#!/bin/sh
# fault-disk.sh — a damaged log on restart, with three real tenured
# processes on loopback (run by `make check`; docs/design.md rule 6):
#
# 1. A torn last write: a follower is stopped and its newest segment is
#    cut short inside its last batch.  On restart it warns, naming the
#    file and the offset of the partial batch, cuts it off, starts, and
#    rejoins with every key.
# 2. A corrupted batch before the tail: one byte flipped in the middle of
#    an earlier batch.  The witness refuses to start (exit status not 0)
#    with a message naming the file and the batch's offset and saying
#    what to do; started again with an empty data dir, it rejoins from
#    its peers and has every key and lease.  Until it has caught up its
#    /health is 503 ("catching up"): the test holds it back by cutting
#    everything it sends (every peer link goes through a tests/helpers/tcp-proxy,
#    see fault-partition.sh), so the leader never hears that it lost its
#    log and sends it heartbeats only (and it can start no election);
#    healed, it catches up and /health turns 200.
# 3. Rejoin by snapshot: all three restarted with --snapshot-every 100,
#    enough writes that the leader keeps only a suffix of its log in
#    memory, then a follower's data dir emptied: it must install a
#    snapshot (its log says snapshot_installed) and have every key.
# 4. A start that fails after the data dir was opened (client or HTTP
#    address in use): exit 1 with the reason, and, in a sanitizer build,
#    no leak or error report (everything started is closed and freed).
#
# The segment layout read here is the one documented in raft/store_int.h:
# a 32-byte segment header, then batches, each starting with the magic
# "TBAT" and its whole length as a u64 at byte 16.
set -u
me=fault-disk
slot=2
. "$(dirname "$0")/../lib/fault-lib.sh"
[ -x "$proxy_bin" ] || { echo "$me: $proxy_bin not built (make check builds it)" >&2; exit 1; }

batches() { # batches FILE: "offset length" of each batch, in order
	# One od streamed through awk (two od per batch took seconds for a
	# hundred batches on a busy machine); awk stops at the first place
	# that is not a batch, which ends od too.
	od -An -v -tu1 -w16 -j 32 "$1" | awk '
	BEGIN { off = 32; pos = 32 }
	{
		for (i = 1; i <= NF; i++) b[pos++] = $i
		while (pos >= off + 48) {
			# 1413562964 is "TBAT" read as a little-endian u32
			m = b[off] + 256 * (b[off + 1] + 256 * (b[off + 2] + 256 * b[off + 3]))
			if (m != 1413562964) exit
			len = 0
			for (k = 7; k >= 0; k--) len = len * 256 + b[off + 16 + k]
			if (len < 48) exit
			print off, len
			for (k = off; k < off + len && k < pos; k++) delete b[k]
			off += len
		}
	}'
}
newest_segment() { # newest_segment DIR: the open segment with batches and the highest counter
	for f in $(ls "$1" | grep '^open-[0-9]*$' | sort -t- -k2 -rn); do
		[ -n "$(batches "$1/$f")" ] && { echo "$1/$f"; return 0; }
	done
	return 1
}
flip_byte() { # flip_byte FILE OFFSET
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059
	printf "\\$(printf %o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
keys() { # keys [OPTIONS]: key=value lines under d/ (in a subshell: $(keys))
	ctl "$@" list d/ -o json
	[ $rc = 0 ] && field '.[] | "\(.key)=\(.value)"'
}
# same_keys N: witness N's own state (a local read) has every key the
# cluster has
same_keys() { # sets $want (the cluster's) and $have (witness N's)
	want=$(keys)
	have=$(keys --endpoints "$(ep "$1")" --consistency local)
	[ -n "$want" ] && [ "$have" = "$want" ]
}
put_keys() { # put_keys FROM TO
	i=$1
	while [ $i -le "$2" ]; do
		ctl put "d/k$i" "v$i"
		expect_rc 0 "put d/k$i"
		i=$((i + 1))
	done
}

use_proxy=1
make_cluster
for n in 1 2 3; do start_proxy $n; done
for n in 1 2 3; do start $n; done
wait_for 10 leader_among 1 2 3 || fail "no leader within 10 s"
v=1
[ "$leader" = 1 ] && v=2
vdir="$dir/w$v"
echo "leader: w$leader; the damaged one will be w$v"
ctl lease acquire D --holder hd --ttl 300s -o json
expect_rc 0 "acquire D"
tokd=$(field .token)
put_keys 1 10
wait_for 5 same_keys "$v" || fail "w$v does not have the keys before the test: want $(echo $want); have $(echo $have)"

# ---- 1. a torn last write -----------------------------------------------------------
stop "$v"
[ $rc = 0 ] || fail "w$v exited $rc on SIGTERM"
seg=$(newest_segment "$vdir") || fail "no segment with batches in $vdir: $(ls "$vdir")"
read -r off len <<EOF
$(batches "$seg" | tail -n 1)
EOF
truncate -s $((off + len - 5)) "$seg" || fail "cannot cut $seg"
echo "cut $seg inside its last batch (offset $off, $len bytes) to $((off + len - 5)) bytes"
start "$v"
wait_for 10 healthy "$v" || fail "w$v not healthy after restarting on a torn tail"
grep "torn write" "$vdir.log" | grep -F "$seg" | grep -q "offset $off " ||
	fail "no warning naming $seg and offset $off: $(grep -i torn "$vdir.log")"
echo "warned: $(grep -o 'torn write[^"]*' "$vdir.log" | tail -n 1)"
put_keys 11 20
wait_for 10 same_keys "$v" || fail "w$v does not have every key after the torn-tail restart: want $(echo $want); have $(echo $have)"

# ---- 2. a corrupted batch before the tail -----------------------------------------------
# More than /health's allowed lag (64 entries), all acknowledged by w$v:
# the leader's match for it, hence the commit its heartbeats carry, is
# then far above anything an emptied w$v has.
# Bench runs until 100 entries more are committed (however long a slow
# disk makes that: each run must commit something, 60 runs at most).
put_keys 21 30
commit_of() { # commit_of N: witness N's commit index (5 tries), else nothing
	for _t in 1 2 3 4 5; do
		_c=$(http "$1" /status | jq -r '.commit // empty' 2>/dev/null)
		[ -n "$_c" ] && { echo "$_c"; return 0; }
		sleep 0.2
	done
}
c0=$(commit_of "$leader")
c=$c0
i=0
while [ $((c - c0)) -lt 100 ]; do
	[ $i -lt 60 ] || fail "only $((c - c0)) entries committed after $i bench runs"
	"$ctl_bin" bench --workload put --clients 4 --duration 1 >"$dir/bench.out" 2>&1 ||
		fail "bench: $(cat "$dir/bench.out")"
	i=$((i + 1))
	cprev=$c
	c=$(commit_of "$leader")
	[ "${c:-0}" -gt "$cprev" ] || fail "bench run $i committed nothing (commit $cprev -> $c)"
done
wait_for 10 same_keys "$v" || fail "w$v does not have every key before case 2: want $(echo $want); have $(echo $have)"
stop "$v"
[ $rc = 0 ] || fail "w$v exited $rc on SIGTERM"
seg=$(newest_segment "$vdir") || fail "no segment with batches in $vdir"
nb=$(batches "$seg" | wc -l)
[ "$nb" -ge 3 ] || fail "$seg has only $nb batches"
# The middle batch with entries: valid batches follow it.
read -r off len <<EOF
$(batches "$seg" | head -n $((nb - 1)) | awk '$2 > 48' | tail -n 1)
EOF
[ -n "$off" ] || fail "no batch with entries before the tail of $seg"
flip_byte "$seg" $((off + 48 + (len - 48) / 2))
echo "flipped a byte in the batch at offset $off of $seg ($nb batches)"
timeout 20 "$bin" --name "w$v" --data-dir "$vdir" \
	--listen-peer "127.0.0.1:$(peer_port "$v")" --listen-client "$(ep "$v")" \
	--listen-http "127.0.0.1:$(http_port "$v")" --initial-cluster "$cluster" \
	--advertise-peer "127.0.0.1:$(proxy_port "$v")" \
	--election-timeout 300ms --heartbeat-interval 50ms >"$dir/refused.out" 2>&1
rc=$?
msg=$(grep -v '^[0-9-]*T.* level=' "$dir/refused.out")
[ $rc = 124 ] && fail "w$v started from a corrupted log (still running after 20 s): $(tail -n 5 "$dir/refused.out")"
[ $rc != 0 ] || fail "w$v exited 0 on a corrupted log"
printf '%s' "$msg" | grep -qF "$seg" || fail "the refusal does not name $seg: $msg"
printf '%s' "$msg" | grep -q "offset $off[^0-9]" || fail "the refusal does not name offset $off: $msg"
printf '%s' "$msg" | grep -q "empty" || fail "the refusal does not say what to do: $msg"
echo "refused (exit $rc): $msg"

rm -rf "$vdir"
others=""
for n in 1 2 3; do [ $n = "$v" ] || others="$others $n"; done
# shellcheck disable=SC2086
wait_for 10 leader_among $others || fail "no leader among$others"
for n in $others; do cut "$n" "w$v"; done
echo "w$v emptied; what it sends to the others ($(printf 'w%s ' $others)) is cut; leader w$leader"
start "$v"
health_of() { # health_of N: "CODE REASON" of witness N's /health
	curl -s -o "$dir/health" -w '%{http_code}' --max-time 1 \
		"http://127.0.0.1:$(http_port "$1")/health"
	printf ' %s' "$(jq -r .reason "$dir/health" 2>/dev/null)"
}
catching_up() { h=$(health_of "$v"); case $h in "503 catching up"*) ;; *) false ;; esac; }
wait_for 10 catching_up || fail "emptied w$v does not say it is catching up: /health $h: $(cat "$dir/health")"
i=0
while [ $i -lt 10 ]; do # it must stay so: it cannot catch up
	h=$(health_of "$v")
	[ "${h%% *}" = 503 ] || fail "emptied w$v, not caught up, answers /health $h: $(cat "$dir/health")"
	sleep 0.1
	i=$((i + 1))
done
echo "held back: /health $h: $(cat "$dir/health")"
same_keys "$v" && fail "w$v has every key although it is held back"
for n in $others; do cut "$n"; done
wait_for 15 healthy "$v" || fail "w$v with an empty data dir did not rejoin: /health $(health_of "$v")"
wait_for 10 same_keys "$v" || fail "w$v rejoined without every key: want $(echo $want); have $(echo $have)"
ctl --endpoints "$(ep "$v")" --consistency local lease get D -o json
expect_rc 0 "lease get D at w$v"
[ "$(field .holder)" = hd ] && [ "$(field .token)" = "$tokd" ] || fail "D at w$v after rejoining: $out"
ctl put d/k31 v31
expect_rc 0 "put after the rejoin"
wait_for 5 same_keys "$v" || fail "w$v does not follow after rejoining: want $(echo $want); have $(echo $have)"

# ---- 3. rejoin by snapshot ---------------------------------------------------------------
for n in 1 2 3; do
	stop $n
	[ $rc = 0 ] || fail "w$n exited $rc on SIGTERM"
done
for n in 1 2 3; do start $n --snapshot-every 100; done
wait_for 10 leader_among 1 2 3 || fail "no leader after restarting all three with --snapshot-every 100"
c0=$(commit_of "$leader")
# The leader keeps 4096 entries behind its newest snapshot in memory
# (server/node.c SNAPSHOT_TRAILING): write well past that, so that the
# beginning of the log exists only in the snapshot.  How fast the disk is
# does not matter here: each one-second bench run must commit something
# (progress), and the runs go on until 6000 entries are in, for at most
# 300 runs (a liveness bound, not a speed target; tests/bench measures
# throughput).
i=0
c=$c0
while [ $((c - c0)) -lt 6000 ]; do
	[ $i -lt 300 ] || fail "only $((c - c0)) of 6000 entries committed after $i bench runs"
	"$ctl_bin" bench --workload put --clients 8 --duration 1 >"$dir/bench.out" 2>&1 ||
		fail "bench: $(cat "$dir/bench.out")"
	i=$((i + 1))
	cprev=$c
	c=$(commit_of "$leader")
	[ "${c:-0}" -gt "$cprev" ] || fail "bench run $i committed nothing (commit $cprev -> $c): $(tail -n 3 "$dir/bench.out")"
done
lc=$(commit_of "$leader")
echo "committed $((lc - c0)) entries in $i one-second bench runs ($(((lc - c0) / i)) per run; a figure, not a check)"
grep -q "event=snapshot_taken" "$dir/w$leader.log" || fail "the leader w$leader took no snapshot with --snapshot-every 100"
v=1
[ "$leader" = 1 ] && v=2
vdir="$dir/w$v"
stop "$v"
rm -rf "$vdir"
before=$(grep -c "event=snapshot_installed" "$vdir.log")
start "$v" --snapshot-every 100
echo "w$v emptied and restarted; the leader w$leader has committed $lc ($((lc - c0)) in this case)"
installed() { [ "$(grep -c "event=snapshot_installed" "$vdir.log")" -gt "$before" ]; }
wait_for 20 installed || fail "emptied w$v installed no snapshot: $(grep -i snapshot "$vdir.log" | tail -n 3)"
echo "w$v: $(grep "event=snapshot_installed" "$vdir.log" | tail -n 1 | sed 's/.*event=//')"
wait_for 15 healthy "$v" || fail "w$v did not become healthy after the snapshot"
wait_for 10 same_keys "$v" || fail "w$v lacks keys after the snapshot: want $(echo $want); have $(echo $have)"
nkeys() { http "$1" /status | jq -r '.keys' 2>/dev/null; }
same_count() { [ "$(nkeys "$v")" = "$(nkeys "$leader")" ]; }
wait_for 10 same_count || fail "w$v has $(nkeys "$v") keys, the leader w$leader $(nkeys "$leader")"
ctl --endpoints "$(ep "$v")" --consistency local lease get D -o json
expect_rc 0 "lease get D at w$v after the snapshot"
[ "$(field .holder)" = hd ] && [ "$(field .token)" = "$tokd" ] || fail "D at w$v after the snapshot: $out"
echo "w$v has all $(nkeys "$v") keys and lease D"

# ---- 4. a start that fails half way ------------------------------------------------------
stop "$v"
[ $rc = 0 ] || fail "w$v exited $rc on SIGTERM"
refused_start() { # refused_start WHAT CLIENT_ADDR HTTP_ADDR: must exit 1 saying WHAT
	timeout 20 "$bin" --name "w$v" --data-dir "$vdir" \
		--listen-peer "127.0.0.1:$(peer_port "$v")" --listen-client "$2" \
		--listen-http "$3" --initial-cluster "$cluster" --snapshot-every 100 \
		--advertise-peer "127.0.0.1:$(proxy_port "$v")" \
		--election-timeout 300ms --heartbeat-interval 50ms >"$dir/refused.out" 2>&1
	rc=$?
	[ $rc = 1 ] || fail "w$v with $1 in use exited $rc, expected 1: $(tail -n 5 "$dir/refused.out")"
	grep -q "^tenured: cannot listen for $1 on" "$dir/refused.out" ||
		fail "w$v with $1 in use does not say so: $(cat "$dir/refused.out")"
	! grep -qE "Sanitizer|runtime error" "$dir/refused.out" ||
		fail "w$v refused to start ($1 in use) with a sanitizer report: $(cat "$dir/refused.out")"
}
# The leader's own addresses are in use, by the leader.
refused_start clients "$(ep "$leader")" "127.0.0.1:$(http_port "$v")"
refused_start HTTP "$(ep "$v")" "127.0.0.1:$(http_port "$leader")"
echo "a start that failed half way exits 1 with the reason (and nothing leaked)"

echo "ok: a torn tail is cut with a warning, a corrupted batch stops the witness with file and offset, an emptied witness is unhealthy until it has caught up, then rejoins (also by snapshot)"
