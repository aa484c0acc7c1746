#!/bin/sh
# fault-disk.sh — a damaged log on restart, with three real tenured
# processes on loopback (run by `make check`; issue 3, GUIDE rule 6):
#
# 1. A torn last write: a follower is stopped and its newest segment is
#    cut short inside its last batch.  On restart it warns, naming the
#    file and the offset of the partial batch, cuts it off, starts, and
#    rejoins with every key.
# 2. A corrupted batch before the tail: one byte flipped in the middle of
#    an earlier batch.  The witness refuses to start (exit status not 0)
#    with a message naming the file and the batch's offset and saying
#    what to do; started again with an empty data dir, it rejoins from
#    its peers and has every key and lease.
#
# The segment layout read here is the one documented in raft/store_int.h:
# a 32-byte segment header, then batches, each starting with the magic
# "TBAT" and its whole length as a u64 at byte 16.
set -u
me=fault-disk
slot=2
. "$(dirname "$0")/fault-lib.sh"

u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
u64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
batches() { # batches FILE: "offset length" of each batch, in order
	off=32
	size=$(stat -c %s "$1")
	# 1413562964 is "TBAT" read as a little-endian u32
	while [ $((off + 48)) -le "$size" ] && [ "$(u32 "$1" $off)" = 1413562964 ]; do
		len=$(u64 "$1" $((off + 16)))
		echo "$off $len"
		off=$((off + len))
	done
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

for n in 1 2 3; do start $n; done
wait_for 10 leader_among 1 2 3 || fail "no leader within 10 s"
v=1
[ "$leader" = 1 ] && v=2
vdir="$dir/w$v"
echo "leader: w$leader; the damaged one will be w$v"
ctl lease acquire D --holder hd --ttl 60s -o json
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
start "$v"
wait_for 15 healthy "$v" || fail "w$v with an empty data dir did not rejoin"
wait_for 10 same_keys "$v" || fail "w$v rejoined without every key: want $(echo $want); have $(echo $have)"
ctl --endpoints "$(ep "$v")" --consistency local lease get D -o json
expect_rc 0 "lease get D at w$v"
[ "$(field .holder)" = hd ] && [ "$(field .token)" = "$tokd" ] || fail "D at w$v after rejoining: $out"
ctl put d/k21 v21
expect_rc 0 "put after the rejoin"
wait_for 5 same_keys "$v" || fail "w$v does not follow after rejoining: want $(echo $want); have $(echo $have)"

echo "ok: a torn tail is cut with a warning, a corrupted batch stops the witness with file and offset, an emptied witness rejoins"
