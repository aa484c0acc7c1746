#!/bin/sh
# tls.sh — TLS on the client port and HTTP, with three real tenured
# processes on loopback (run by `make check-process`).  Certificates are
# made here with the openssl tool: a CA, the witnesses' (IP SAN
# 127.0.0.1), clients' and a second CA's.  The witnesses run with
# tls_cert_file, tls_key_file, tls_ca_file and credentials (a SCRAM one,
# and `cert` ones: admin and read-only).  Checked:
#
# 1. tenurectl --cacert with --user/--secret-file (SCRAM inside TLS)
#    writes; with a client certificate of a `cert` credential it needs no
#    secret, and the credential's role holds (read-only may read, not
#    write; the DNS name of a certificate counts as well as its CN); a
#    certificate with --user and a secret is answered with an empty
#    challenge, which the client accepts only because it presented one;
#    a certificate of the CA naming no `cert` credential falls back to
#    SCRAM; the environment (TENURE_CACERT, TENURE_CERT, TENURE_KEY)
#    works as the options do, for tenurectl and tests/scope-fill (200
#    pipelined puts).
# 2. Refused, each with a message that says why: plaintext to a TLS port
#    (no --cacert), a client certificate of another CA, a witness whose
#    certificate is from another CA, --cert without --cacert.  Four
#    connections that never start their handshake are closed after the
#    authentication timeout (5 s), saying so.
# 3. HTTPS: curl --cacert reads /health; plain HTTP gets no answer.
# 4. SIGHUP re-reads the certificate: a renewed one (new serial, same
#    key; then a new key) is what new connections get (openssl s_client);
#    a broken file is logged and the certificate in force stays (and
#    still serves); a certificate without the IP address is refused by
#    tenurectl ("not for 127.0.0.1").
# Every acknowledged write is read back at the end.
# 5. --check-config of tenured and tenure-agent accepts the TLS options
#    that fit together and refuses, naming the option, those that do not
#    (a certificate without its key, a CA without a certificate, a client
#    certificate without a CA, a key of another certificate, a file that
#    is missing, a certificate the CA did not sign).
#
# KEEP=1 keeps the logs of a failed run.
set -u
me=tls
. "$(dirname "$0")/../lib/proc-lib.sh"
agent_bin="$top/tenure-agent"
fill_bin="$top/tests/helpers/scope-fill"
hostile_bin="$top/tests/helpers/hostile-client"
proc_need_built "$bin" "$ctl_bin" "$agent_bin" "$fill_bin" "$hostile_bin"
proc_need_tools 1 curl jq openssl
unset TENURE_USER TENURE_SECRET_FILE TENURE_CACERT TENURE_CERT TENURE_KEY

proc_init tls
proc_take_ports tls
make_cluster
pki="$dir/pki"
mkdir "$pki"

# ---- certificates -----------------------------------------------------------------
ossl() { # ossl ARGS...: openssl, its output in $dir/openssl.out
	openssl "$@" >>"$dir/openssl.out" 2>&1 || fail "openssl $*"
}
new_key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$1.key"; }
new_ca() { # new_ca NAME
	new_key "$1"
	ossl req -x509 -new -key "$pki/$1.key" -out "$pki/$1.pem" -days 2 \
		-subj "/CN=$1" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
}
# cert NAME CA SERIAL SAN: NAME.pem for the key NAME.key (made when
# missing), signed by CA; SAN "" for none
cert() {
	[ -f "$pki/$1.key" ] || new_key "$1"
	ossl req -new -key "$pki/$1.key" -subj "/CN=$1" -out "$pki/$1.csr"
	: >"$pki/$1.ext"
	[ -n "$4" ] && printf 'subjectAltName=%s\n' "$4" >"$pki/$1.ext"
	ossl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" \
		-set_serial "$3" -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.pem"
}
new_ca ca
new_ca other-ca
cat "$pki/ca.pem" "$pki/other-ca.pem" >"$pki/both-ca.pem"
cert witness ca 0x1001 "IP:127.0.0.1,DNS:localhost"
cert ops-admin ca 0x2001 "DNS:ops-admin.example"
cert dashboard ca 0x2002 "DNS:reader"
cert stranger ca 0x2003 ""
cert ops-admin-elsewhere other-ca 0x3001 ""
# the same name as a trusted client, from the other CA
cp "$pki/ops-admin-elsewhere.key" "$pki/forged.key"
cert forged other-ca 0x3002 "DNS:ops-admin"
cert other-witness other-ca 0x3003 "IP:127.0.0.1"
cert no-ip ca 0x1009 "DNS:localhost"

# ---- credentials and witnesses -----------------------------------------------------
"$ctl_bin" auth new admin admin --write-secret "$dir/admin.secret" >"$dir/creds" ||
	fail "tenurectl auth new admin"
{
	echo "ops-admin admin cert"
	echo "reader read-only cert"
} >>"$dir/creds"
for n in 1 2 3; do
	cp "$pki/witness.pem" "$dir/w$n.pem"
	cp "$pki/witness.key" "$dir/w$n.key"
done
tls_of() { # tls_of N: the TLS options of witness N
	echo "--tls-cert-file $dir/w$1.pem --tls-key-file $dir/w$1.key --tls-ca-file $pki/ca.pem"
}
# shellcheck disable=SC2046 # the options are words
for n in 1 2 3; do start $n --credentials-file "$dir/creds" $(tls_of $n); done

# HTTPS in place of proc-lib's plain HTTP (leader_among uses it)
http() { curl -s --max-time 1 --cacert "$pki/ca.pem" "https://127.0.0.1:$(http_port "$1")$2"; }
wait_for 20 leader_among 1 2 3 || fail "no leader over HTTPS"

tls_ctl() { # tls_ctl ARGS...: tenurectl trusting the CA
	ctl --cacert "$pki/ca.pem" "$@"
}
as_admin() { tls_ctl --user admin --secret-file "$dir/admin.secret" "$@"; }
as_cert() { # as_cert NAME ARGS...: with the client certificate NAME
	_c=$1
	shift
	tls_ctl --cert "$pki/$_c.pem" --key "$pki/$_c.key" "$@"
}
refused() { # refused WHAT WORDS: the last ctl exited 2 saying WORDS
	expect_rc 2 "$1"
	printf '%s' "$err" | grep -q -e "$2" || fail "$1: no \"$2\" in: $err"
}
written=""
put() { # put HOW KEY VALUE: a write through HOW (as_admin, as_cert NAME)
	_k=$2
	_v=$3
	case "$1" in
	as_admin) as_admin put "$_k" "$_v" ;;
	*) as_cert "${1#as_cert:}" put "$_k" "$_v" ;;
	esac
	expect_rc 0 "put $_k through $1"
	written="$written $_k=$_v"
}
admin_up() { as_admin put probe/up v >/dev/null 2>&1 && [ "$rc" = 0 ]; }
wait_for 15 admin_up || fail "admin cannot write over TLS: $err"
written="probe/up=v"

# ---- 1. SCRAM and certificates inside TLS -----------------------------------------
put as_admin k/scram one
put as_cert:ops-admin k/cert two
as_cert dashboard get k/cert -o json
expect_rc 0 "read-only certificate (its DNS name) reads"
[ "$(field .value)" = two ] || fail "read-only certificate read: $out"
as_cert dashboard put k/cert three
refused "read-only certificate writes" "read-only"
grep -q 'event=client_authenticated .*name=reader role=read-only by=certificate' "$dir"/w*.log ||
	fail "no certificate authentication was logged"
# a certificate and a secret: the witness has nothing to ask (empty
# challenge) and the client accepts that because it sent a certificate
as_cert ops-admin --user admin --secret-file "$dir/admin.secret" put k/both four
expect_rc 0 "certificate with --user"
written="$written k/both=four"
# a certificate of the CA that names no cert credential: SCRAM still
as_cert stranger get k/scram
refused "an unknown certificate without a secret" "authentication required"
as_cert stranger --user admin --secret-file "$dir/admin.secret" get k/scram
expect_rc 0 "an unknown certificate with a secret"
# the environment instead of the options
TENURE_CACERT="$pki/ca.pem" TENURE_CERT="$pki/ops-admin.pem" TENURE_KEY="$pki/ops-admin.key" \
	ctl put k/env five
expect_rc 0 "TENURE_CACERT, TENURE_CERT, TENURE_KEY"
written="$written k/env=five"
TENURE_CACERT="$pki/ca.pem" TENURE_CERT="$pki/ops-admin.pem" TENURE_KEY="$pki/ops-admin.key" \
	"$fill_bin" "$TENURE_ENDPOINTS" fill/ 1 200 'v@N@' >"$dir/fill.out" 2>&1 ||
	fail "scope-fill over TLS: $(cat "$dir/fill.out")"
as_admin list fill/ -o json
[ "$(printf '%s' "$out" | jq 'length')" = 200 ] || fail "scope-fill wrote $(printf '%s' "$out" | jq 'length') keys, not 200"
"$fill_bin" "$TENURE_ENDPOINTS" fill/ 201 201 'v' >"$dir/fill.out" 2>&1 &&
	fail "scope-fill in plaintext to TLS witnesses succeeded"

# ---- 2. refusals ----------------------------------------------------------------
ctl --user admin --secret-file "$dir/admin.secret" --timeout 2s get k/scram
refused "plaintext to a TLS port" "speaks TLS.*--cacert"
ctl --cacert "$pki/both-ca.pem" --cert "$pki/forged.pem" --key "$pki/forged.key" \
	--timeout 2s get k/scram
refused "a client certificate of another CA" "refused the connection.*unknown ca"
grep -q "the client's certificate" "$dir"/w*.log ||
	fail "the witnesses did not log why they refused the certificate"
ctl --cacert "$pki/other-ca.pem" --user admin --secret-file "$dir/admin.secret" \
	--timeout 2s get k/scram
refused "witnesses of another CA" "the server's certificate"
ctl --cert "$pki/ops-admin.pem" --key "$pki/ops-admin.key" get k/scram
refused "--cert without --cacert" "\-\-cert needs --cacert"
ctl --cacert "$pki/ca.pem" --cert "$pki/ops-admin.pem" get k/scram
refused "--cert without --key" "\-\-cert is set without --key"

hc=$("$hostile_bin" idle "$(ep 1)" 4 9) || fail "hostile-client idle failed"
case "$hc" in
*" closed=4 "*) ;;
*) fail "connections without a handshake were not closed in 9 s: $hc" ;;
esac
first=$(printf '%s' "$hc" | sed 's/.*first_close_ms=\([0-9]*\).*/\1/')
[ "$first" -ge 4000 ] || fail "silent connections closed before the 5 s timeout: $hc"
grep -q 'did not complete the TLS handshake in time' "$dir/w1.log" ||
	fail "the handshake timeout was not logged"

# ---- 3. HTTPS -----------------------------------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$pki/ca.pem" \
	"https://127.0.0.1:$(http_port 1)/health")
[ "$code" = 200 ] || fail "https /health: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
	"http://127.0.0.1:$(http_port 1)/health")
[ "$code" = 000 ] || fail "plain http /health answered $code on a TLS listener"

# ---- 4. SIGHUP: renewed, broken and wrong certificates ----------------------------------
serial_of() { # serial_of PORT: the serial of the certificate served there
	timeout 5 openssl s_client -connect "127.0.0.1:$1" -CAfile "$pki/ca.pem" \
		</dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null
}
reload_w1() { # reload_w1: SIGHUP to w1, which logs both contexts
	_before=$(grep -c 'event=reload' "$dir/w1.log")
	kill -HUP "$(pid_of 1)" || fail "cannot signal w1"
	wait_for 5 sh -c "[ \$(grep -c 'event=reload' '$dir/w1.log') -ge $((_before + 2)) ]" ||
		fail "w1 did not reload on SIGHUP"
}
[ "$(serial_of "$(client_port 1)")" = serial=1001 ] ||
	fail "w1 serves $(serial_of "$(client_port 1)"), not serial 1001"
cert witness ca 0x1002 "IP:127.0.0.1,DNS:localhost"
cp "$pki/witness.pem" "$dir/w1.pem"
reload_w1
for port in "$(client_port 1)" "$(http_port 1)"; do
	[ "$(serial_of "$port")" = serial=1002 ] ||
		fail "after SIGHUP port $port serves $(serial_of "$port"), not the renewed 1002"
done
rm "$pki/witness.key"
cert witness ca 0x1003 "IP:127.0.0.1,DNS:localhost"
cp "$pki/witness.key" "$dir/w1.key"
cp "$pki/witness.pem" "$dir/w1.pem"
reload_w1
[ "$(serial_of "$(client_port 1)")" = serial=1003 ] ||
	fail "a renewed certificate with a new key is not served: $(serial_of "$(client_port 1)")"
put as_admin k/renewed six

echo "not a certificate" >"$dir/w1.pem"
reload_w1
grep 'event=reload_failed' "$dir/w1.log" | grep -q 'what=client-tls.*w1.pem' ||
	fail "the broken certificate file was not logged"
[ "$(serial_of "$(client_port 1)")" = serial=1003 ] ||
	fail "a broken file replaced the certificate in force"
# A local read: w1 may be a follower that has not applied the put yet.
renewed_at_w1() {
	as_admin --endpoints "$(ep 1)" --consistency local get k/renewed
	[ "$rc" = 0 ]
}
wait_for 5 renewed_at_w1
expect_rc 0 "w1 serves TLS with the certificate in force"

cp "$pki/no-ip.pem" "$dir/w1.pem"
cp "$pki/no-ip.key" "$dir/w1.key"
reload_w1
as_admin --endpoints "$(ep 1)" --timeout 2s --consistency local get k/renewed
refused "a witness certificate without the IP address" 'is not for "127.0.0.1"'
# the good one back: w1 may be the leader, which every write goes to
cp "$pki/witness.pem" "$dir/w1.pem"
cp "$pki/witness.key" "$dir/w1.key"
reload_w1
as_admin --endpoints "$(ep 1)" --consistency local get k/renewed
expect_rc 0 "w1 with its certificate back"

# ---- 5. --check-config --------------------------------------------------------------------
checked() { # checked WHAT [WORDS]: the last check exited 0, or 2 saying WORDS
	if [ $# = 1 ]; then
		[ "$rc" = 0 ] || fail "$1: exit $rc: $err"
		return
	fi
	[ "$rc" = 2 ] || fail "$1: exit $rc, expected 2 ($out $err)"
	printf '%s' "$err" | grep -q -e "$2" || fail "$1: no \"$2\" in: $err"
}
witness_check() { # witness_check OPTIONS...: tenured --check-config
	"$bin" --check-config --name w1 --data-dir "$dir/nowhere" \
		--listen-peer "127.0.0.1:$(peer_port 1)" --listen-client "$(ep 1)" \
		--initial-cluster "$cluster" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	out=$(cat "$dir/out")
	err=$(cat "$dir/err")
}
agent_check() { # agent_check OPTIONS...: tenure-agent --check-config
	"$agent_bin" --check-config --scope main --name pg1 \
		--witnesses "$(ep 1),$(ep 2),$(ep 3)" --pg-data-dir "$dir/pgdata" \
		--pg-listen 127.0.0.1:5432 --listen-http 127.0.0.1:8008 "$@" \
		>"$dir/out" 2>"$dir/err"
	rc=$?
	out=$(cat "$dir/out")
	err=$(cat "$dir/err")
}
p=$pki
witness_check --tls-cert-file "$p/witness.pem" --tls-key-file "$p/witness.key" --tls-ca-file "$p/ca.pem"
checked "tenured with TLS"
witness_check --tls-cert-file "$p/witness.pem"
checked "tenured: a certificate without its key" "tls_cert_file is set without tls_key_file"
witness_check --tls-ca-file "$p/ca.pem"
checked "tenured: a CA without a certificate" "tls_ca_file (the CA of the clients' certificates) needs tls_cert_file"
witness_check --tls-cert-file "$p/witness.pem" --tls-key-file "$p/ops-admin.key"
checked "tenured: another certificate's key" "is not the private key"
witness_check --tls-cert-file "$p/other-witness.pem" --tls-key-file "$p/other-witness.key" --tls-ca-file "$p/ca.pem"
checked "tenured: a certificate the CA did not sign" "does not verify against"
agent_check --witness-ca-file "$p/ca.pem" --witness-cert-file "$p/ops-admin.pem" \
	--witness-key-file "$p/ops-admin.key" --http-tls-cert-file "$p/witness.pem" \
	--http-tls-key-file "$p/witness.key"
checked "the agent with TLS"
agent_check --witness-ca-file "$p/ca.pem"
checked "the agent with a CA alone"
agent_check --witness-cert-file "$p/ops-admin.pem" --witness-key-file "$p/ops-admin.key"
checked "the agent: a certificate without a CA" "witness_cert_file needs witness_ca_file"
agent_check --witness-ca-file "$p/ca.pem" --witness-cert-file "$p/ops-admin.pem"
checked "the agent: a certificate without its key" "witness_cert_file is set without witness_key_file"
agent_check --http-tls-key-file "$p/witness.key"
checked "the agent: an HTTP key without a certificate" "http_tls_key_file is set without http_tls_cert_file"
agent_check --witness-ca-file "$dir/missing.pem"
checked "the agent: a missing CA file" "witness_ca_file.*cannot read ca_file"
agent_check --http-tls-cert-file "$p/witness.pem" --http-tls-key-file "$p/ops-admin.key"
checked "the agent: another certificate's key for HTTP" "http_tls_cert_file.*is not the private key"
agent_check --witness-ca-file "$p/other-ca.pem" --witness-cert-file "$p/ops-admin.pem" \
	--witness-key-file "$p/ops-admin.key"
checked "the agent: a certificate its CA did not sign" "does not verify against"

# ---- every acknowledged write ----------------------------------------------------------
for kv in $written; do
	as_admin get "${kv%%=*}" -o json
	expect_rc 0 "read back ${kv%%=*}"
	[ "$(field .value)" = "${kv#*=}" ] || fail "${kv%%=*}: $out, expected ${kv#*=}"
done
echo "$me: ok"
