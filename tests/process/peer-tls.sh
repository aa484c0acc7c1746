#!/bin/sh
# peer-tls.sh — peer mutual TLS between three real witnesses on loopback
# (run by `make check`; docs/design.md §2 rule 11):
#
#   1. --check-config refuses a partial set of peer_tls_* files, a key
#      that is not the certificate's, a certificate of another CA and one
#      that does not name the witness;
#   2. three witnesses with peer mTLS elect a leader and take writes;
#   3. forged peers (tests/helpers/peer-forge: a hello claiming to be a member,
#      then TIMEOUT_NOW at the current term every 50 ms) are refused,
#      each with a log line on the witness they dial, and no term moves:
#      (a) plaintext, (b) TLS with a certificate of another CA, (c) a
#      certificate of the CA for "w9" (not a member), (d) a certificate
#      for "w2" whose hello claims to be w1; the forged leader hint is
#      never learned;
#   4. a lease whose holder stops renewing expires on time while the
#      forgers keep at it (the attack this stops kept it held for ever);
#   5. a witness restarted with a renewed certificate rejoins; SIGHUP
#      with a broken certificate file keeps the old one (logged), and
#      with a good one loads it;
#   6. the control: the same forger against the same witnesses without
#      peer TLS does force elections (so step 3 can fail).
#
# Certificates come from the openssl command line tool.  Ports
# 2200-2399 (tests/lib/proc-lib.sh).  KEEP=1 keeps a failed run's logs.
set -u
me=peer-tls.sh
. "$(dirname "$0")/../lib/proc-lib.sh"
forge_bin="$top/tests/helpers/peer-forge"
proc_need_built "$bin" "$ctl_bin" "$forge_bin"
proc_need_tools 1 curl jq
proc_need_tools 77 openssl
unset TENURE_USER TENURE_SECRET_FILE

proc_init peer-tls
proc_take_ports peer-tls # tests/lib/proc-lib.sh lists the ranges
make_cluster
pki="$dir/pki"
mkdir "$pki"

# ---- certificates ---------------------------------------------------------------

make_ca() { # make_ca NAME: a self-signed CA, $pki/NAME.pem and .key
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$pki/$1.key" -out "$pki/$1.pem" -days 2 -subj "/CN=$1" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>>"$dir/openssl.out" ||
		fail "openssl cannot make a CA"
}
make_cert() { # make_cert NAME CA FILE: CN=NAME, SAN DNS:NAME, signed by CA
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$pki/$3.key" -out "$pki/$3.csr" -subj "/CN=$1" \
		2>>"$dir/openssl.out" || fail "openssl cannot make a key for $1"
	printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n' "$1" >"$pki/$3.ext"
	openssl x509 -req -in "$pki/$3.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" \
		-CAcreateserial -out "$pki/$3.pem" -days 1 -extfile "$pki/$3.ext" \
		2>>"$dir/openssl.out" || fail "openssl cannot sign $1's certificate"
}
make_ca ca
make_ca other-ca
for n in w1 w2 w3 w9; do make_cert $n ca $n; done
make_cert w1 other-ca w1-other
# the forger trusts both, so that it gets as far as presenting w1-other
cat "$pki/ca.pem" "$pki/other-ca.pem" >"$pki/both.pem"

tls_opts() { # tls_opts FILE: the three options, FILE.pem and FILE.key
	echo "--peer-tls-cert-file $pki/$1.pem --peer-tls-key-file $pki/$1.key" \
		"--peer-tls-ca-file $pki/ca.pem"
}

# ---- 1. --check-config ----------------------------------------------------------

check_refuses() { # check_refuses WHAT PATTERN OPTIONS...
	_what=$1
	_pat=$2
	shift 2
	_out=$("$bin" --name w1 --data-dir "$dir/w1" \
		--listen-peer "127.0.0.1:$(peer_port 1)" --listen-client "$(ep 1)" \
		--initial-cluster "$cluster" "$@" --check-config 2>&1)
	_rc=$?
	[ "$_rc" = 2 ] || fail "--check-config with $_what: exit $_rc, expected 2 ($_out)"
	printf '%s' "$_out" | grep -q "$_pat" ||
		fail "--check-config with $_what does not say '$_pat': $_out"
	echo "ok: --check-config refuses $_what: $_out"
}
# shellcheck disable=SC2046 # the options are words on purpose
{
	check_refuses "no CA file" "peer_tls_ca_file is not set" \
		--peer-tls-cert-file "$pki/w1.pem" --peer-tls-key-file "$pki/w1.key"
	check_refuses "another certificate's key" "not the private key" \
		--peer-tls-cert-file "$pki/w1.pem" --peer-tls-key-file "$pki/w2.key" \
		--peer-tls-ca-file "$pki/ca.pem"
	check_refuses "a certificate of another CA" "does not verify against" \
		$(tls_opts w1-other)
	check_refuses "w2's certificate for w1" 'does not name this witness "w1" (it names "w2")' \
		$(tls_opts w2)
	"$bin" --name w1 --data-dir "$dir/w1" --listen-peer "127.0.0.1:$(peer_port 1)" \
		--listen-client "$(ep 1)" --initial-cluster "$cluster" \
		$(tls_opts w1) --check-config >"$dir/check.out" 2>&1 ||
		fail "--check-config refuses w1's own files: $(cat "$dir/check.out")"
}

# ---- 2. a cluster with peer mTLS -------------------------------------------------

start_tls() { # start_tls N [FILE]: witness N with FILE (default wN) as its cert
	# shellcheck disable=SC2046
	start "$1" $(tls_opts "${2:-w$1}")
}
for n in 1 2 3; do start_tls $n; done
wait_for 15 healthy 1 2 3 || fail "the TLS cluster is not healthy within 15 s"
wait_for 10 leader_among 1 2 3 || fail "no leader all three agree on"
ctl put peer-tls/k v1
expect_rc 0 "put over a TLS cluster"
ctl get peer-tls/k -o json
expect_rc 0 "get over a TLS cluster"
[ "$(field .value)" = v1 ] || fail "get returned '$out', not v1"
for n in 1 2 3; do
	grep -q 'connected to peer .* (TLS)' "$dir/w$n.log" || fail "w$n did not dial over TLS"
done
echo "ok: leader w$leader over peer mTLS; put and get work"

# ---- 3. forged peers ---------------------------------------------------------------

terms() { # the term of each witness, "T1 T2 T3"
	for n in 1 2 3; do http "$n" /status | jq -r '.term // "?"'; done | tr '\n' ' '
}
refusals() { # refusals N PATTERN: lines of wN's log refusing with PATTERN
	grep -c "closing peer connection from 127.0.0.1:[0-9]*: .*$2" "$dir/w$1.log"
}
# forge N FROM SECONDS [FILE CA]: a forger claiming FROM at witness N
forge() {
	_tgt=$1
	_from=$2
	_secs=$3
	shift 3
	_term=$(http "$_tgt" /status | jq -r .term)
	if [ $# = 2 ]; then
		set -- "$pki/$1.pem" "$pki/$1.key" "$pki/$2.pem"
	fi
	"$forge_bin" "127.0.0.1:$(peer_port "$_tgt")" "$cluster" "$_from" "w$_tgt" \
		"$_term" "$_secs" "$@"
}
# the victim, a follower: TIMEOUT_NOW makes a follower stand for election
# at once; (a)-(c) pose as the leader; (d) presents w2's certificate as
# w1, or as w3 when w1 is the victim
victim=1
[ "$leader" = 1 ] && victim=2
claim_d=1
[ "$victim" = 1 ] && claim_d=3
before=$(terms)
t0=$(now_ms)
fa=$(forge $victim w$leader 2) || fail "the forger could not run: $fa"
fb=$(forge $victim w$leader 2 w1-other both) || fail "the forger could not run: $fb"
fc=$(forge $victim w9 2 w9 ca) || fail "the forger could not run: $fc"
fd=$(forge $victim w$claim_d 2 w2 ca) || fail "the forger could not run: $fd"
after=$(terms)
echo "forgers: (a) $fa"
echo "         (b) $fb"
echo "         (c) $fc"
echo "         (d) $fd"
[ "$before" = "$after" ] ||
	fail "terms moved during $(($(now_ms) - t0)) ms of forged TIMEOUT_NOW: $before -> $after"
for f in "$fa" "$fb" "$fc" "$fd"; do
	case "$f" in
	*"refused=0 "* | *"connections=0 "*) fail "a forger was not refused: $f" ;;
	esac
done
[ "$(refusals $victim 'TLS handshake failed: wrong version number')" -gt 0 ] ||
	fail "(a) plaintext: no refusal line on w$victim"
[ "$(refusals $victim "TLS handshake failed: the client's certificate")" -gt 0 ] ||
	fail "(b) another CA: no refusal line on w$victim"
[ "$(refusals $victim 'certificate names "w9" and its hello claims to be w9 .*not a member')" -gt 0 ] ||
	fail "(c) w9: no refusal line on w$victim"
[ "$(refusals $victim "certificate names \"w2\", but its hello claims to be w$claim_d ")" -gt 0 ] ||
	fail "(d) w2 as another: no refusal line on w$victim"
for n in 1 2 3; do
	http "$n" /status | grep -q '127\.0\.0\.1:1"' &&
		fail "w$n learned the forged leader hint 127.0.0.1:1"
done
echo "ok: the four forgers are refused with a log line each; terms stay at $after"

# ---- 4. a lease of a dead holder expires on time under attack --------------------

attack() { # attack SECONDS: every forger at every witness, in the background
	attackers=""
	for n in 1 2 3; do
		forge $n w$((n % 3 + 1)) "$1" >"$dir/forge$n-a.out" 2>&1 &
		attackers="$attackers $!"
		forge $n w$((n % 3 + 1)) "$1" w$(((n + 1) % 3 + 1)) ca \
			>"$dir/forge$n-d.out" 2>&1 &
		attackers="$attackers $!"
		forge $n w9 "$1" w9 ca >"$dir/forge$n-c.out" 2>&1 &
		attackers="$attackers $!"
	done
	pids="$pids $attackers"
}
attack_done() {
	for p in $attackers; do
		wait "$p"
		forget "$p"
	done
}
before=$(terms)
attack 7
sleep 0.5
t0=$(now_ms)
ctl lease acquire peer-tls/lease --holder X --ttl 2s
expect_rc 0 "acquiring a lease under attack"
freed() { ! "$ctl_bin" lease get peer-tls/lease >/dev/null 2>&1; }
wait_for 8 freed || fail "the lease of a holder that stopped renewing is still held after 8 s"
expired_ms=$(($(now_ms) - t0))
attack_done
after=$(terms)
[ "$before" = "$after" ] || fail "terms moved under attack: $before -> $after"
[ "$expired_ms" -le 4000 ] ||
	fail "the 2 s lease took $expired_ms ms to expire under attack (at most 4000)"
echo "ok: a 2 s lease expired $expired_ms ms after its grant under attack; terms $after"

# ---- 5. a renewed certificate, SIGHUP ----------------------------------------------

# w3 restarts with a new key and certificate of the same CA
kill -TERM "$pid3"
wait "$pid3"
forget "$pid3"
make_cert w3 ca w3-renewed
start_tls 3 w3-renewed
wait_for 15 healthy 1 2 3 || fail "w3 with a renewed certificate is not healthy"
wait_for 10 leader_among 1 2 3 || fail "no leader after w3's restart"
ctl put peer-tls/k v2
expect_rc 0 "put after w3's restart"
echo "ok: w3 rejoined with a renewed certificate"

# SIGHUP with a broken certificate: the old one stays, logged
cp "$pki/w2.pem" "$pki/w2.pem.good"
echo "not a certificate" >"$pki/w2.pem"
kill -HUP "$pid2"
wait_for 5 grep -q 'event=reload_failed what=peer_tls' "$dir/w2.log" ||
	fail "no reload_failed line for a broken peer certificate"
grep 'event=reload_failed what=peer_tls' "$dir/w2.log" | tail -n 1
# a new connection to w2 still gets the old certificate: restart w1
kill -TERM "$pid1"
wait "$pid1"
forget "$pid1"
start_tls 1
wait_for 15 healthy 1 2 3 || fail "not healthy after a bad SIGHUP on w2 and w1's restart"
wait_for 10 leader_among 1 2 3 || fail "no leader after a bad SIGHUP on w2"
ctl put peer-tls/k v3
expect_rc 0 "put after a bad SIGHUP on w2"
# and a good one loads
cp "$pki/w2.pem.good" "$pki/w2.pem"
kill -HUP "$pid2"
wait_for 5 grep -q 'event=reloaded what=peer_tls' "$dir/w2.log" ||
	fail "no reloaded line once w2's certificate is good again"
echo "ok: SIGHUP with a broken certificate keeps the old one; a good one reloads"

# ---- 6. the control: without TLS the same forger forces elections ----------------

stop_all
for n in 1 2 3; do start $n; done
wait_for 15 healthy 1 2 3 || fail "the plaintext cluster is not healthy"
wait_for 10 leader_among 1 2 3 || fail "no leader without TLS"
victim=1
[ "$leader" = 1 ] && victim=2
before=$(terms)
fx=$(forge $victim w$leader 2)
after=$(terms)
echo "control without TLS: $fx; terms $before -> $after"
[ "$before" != "$after" ] ||
	fail "the forger moved no term without TLS: the TLS checks above prove nothing"
stop_all
echo "ok: peer mTLS: check-config, cluster, four forgers refused, lease expiry under attack, renewal, SIGHUP"
