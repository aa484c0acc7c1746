#!/bin/sh
# pki.sh — deploy/pki makes what TLS in tenure needs (run by `make
# check-unit`): a CA; witness certificates whose names (CN and DNS SAN)
# are the member name and whose IP SANs are the addresses given, good for
# both serving and dialling; server (agent API) and client certificates
# good for their use only; keys mode 0600; renew issues a new key and
# serial with the same names and keeps the old files; every certificate
# verifies against the CA and nothing else; bad input is refused.
set -u
me=pki.sh
pki="${srcdir:-.}/deploy/pki"
command -v openssl >/dev/null || { echo "SKIP: $me: openssl not installed (apt-get install openssl)"; exit 77; }
tmp=$(mktemp -d /tmp/tenure-pki.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $me: $*" >&2; exit 1; }
ca=$tmp/ca

"$pki" init "$ca" >/dev/null || fail "init"
"$pki" witness "$ca" w1 127.0.0.1,10.0.0.11 >/dev/null || fail "witness"
"$pki" server "$ca" pg1 127.0.0.1 >/dev/null || fail "server"
"$pki" client "$ca" admin >/dev/null || fail "client"
for n in w1 pg1 admin; do
	openssl verify -CAfile "$ca/ca.crt" "$ca/$n.crt" >/dev/null 2>&1 || fail "$n does not verify against the CA"
	[ "$(stat -c %a "$ca/$n.key")" = 600 ] || fail "$n.key has mode $(stat -c %a "$ca/$n.key")"
done
[ "$(stat -c %a "$ca/ca.key")" = 600 ] || fail "ca.key is not 0600"
text=$(openssl x509 -in "$ca/w1.crt" -noout -text)
printf '%s' "$text" | grep -q "Subject: CN = w1" || fail "w1: subject"
printf '%s' "$text" | grep -q "DNS:w1, IP Address:127.0.0.1, IP Address:10.0.0.11" || fail "w1: SANs: $text"
# purposes: a witness serves and dials; the agent API serves; a client dials
p() { openssl verify -CAfile "$ca/ca.crt" -purpose "$1" "$ca/$2.crt" >/dev/null 2>&1; }
p sslserver w1 && p sslclient w1 || fail "w1 is not good for both ends"
p sslserver pg1 || fail "pg1 cannot serve"
p sslclient pg1 && fail "pg1 (server) is good for a client"
p sslclient admin || fail "admin cannot be a client"
p sslserver admin && fail "admin (client) is good for a server"
# another CA does not vouch for them
"$pki" init "$tmp/other" >/dev/null || fail "init other"
openssl verify -CAfile "$tmp/other/ca.crt" "$ca/w1.crt" >/dev/null 2>&1 && fail "w1 verifies against another CA"
# renew: new key and serial, same names, old kept
s1=$(openssl x509 -in "$ca/w1.crt" -noout -serial)
k1=$(openssl pkey -in "$ca/w1.key" -pubout)
"$pki" renew "$ca" w1 >/dev/null || fail "renew"
[ "$(openssl x509 -in "$ca/w1.crt" -noout -serial)" != "$s1" ] || fail "renew kept the serial"
[ "$(openssl pkey -in "$ca/w1.key" -pubout)" != "$k1" ] || fail "renew kept the key"
openssl x509 -in "$ca/w1.crt" -noout -text | grep -q "DNS:w1, IP Address:127.0.0.1, IP Address:10.0.0.11" ||
	fail "renew changed the names"
[ "$(openssl x509 -in "$ca/w1.crt.old" -noout -serial)" = "$s1" ] || fail "renew did not keep the old certificate"
# refusals
"$pki" init "$ca" >/dev/null 2>&1 && fail "a second init over a CA"
"$pki" client "$ca" "bad name" >/dev/null 2>&1 && fail "a bad name accepted"
"$pki" witness "$tmp/none" w2 127.0.0.1 >/dev/null 2>&1 && fail "a certificate without a CA"
"$pki" client "$ca" x --bogus >/dev/null 2>&1 && fail "an unknown option accepted"
echo "$me: ok"
