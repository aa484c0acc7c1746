#!/bin/sh
# install.sh — `make install DESTDIR=...` as any user: the three binaries,
# the systemd units with the real bindir in ExecStart (checked with
# systemd-analyze verify when it can run here), the example configs, each
# of which the installed daemons accept with --check-config; then `make
# uninstall` leaves no file behind.
set -u
me=install.sh
top="${top_builddir:-.}"
[ -f "$top/Makefile" ] || { echo "$me: no Makefile in $top" >&2; exit 1; }
tmp=$(mktemp -d /tmp/tenure-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
fail() {
	echo "FAIL: $me: $*" >&2
	[ -f "$tmp/make.log" ] && tail -n 20 "$tmp/make.log" >&2
	exit 1
}
dest="$tmp/root"

make -C "$top" install DESTDIR="$dest" >"$tmp/make.log" 2>&1 ||
	fail "make install DESTDIR=$dest failed"

# Where bindir is, from where tenured landed.
found=$(find "$dest" -type f -name tenured)
[ -n "$found" ] || fail "tenured not installed"
bindir=${found%/tenured}
bindir=${bindir#"$dest"}
for b in tenured tenure-agent tenurectl; do
	[ -x "$dest$bindir/$b" ] || fail "$b not installed in $bindir"
done

# The examples, in $(docdir)/examples, accepted by the installed daemons.
ex=$(find "$dest" -type d -name examples -path '*/doc/*')
[ -n "$ex" ] || fail "no examples directory under doc/"
# They are secured as the walk-through in docs/operations.md says: the
# files they name are made here, with deploy/pki and tenurectl auth new,
# in a stand-in for /etc/tenure (the examples' paths rewritten to it).
etc="$tmp/etc-tenure"
pki="${srcdir:-.}/deploy/pki"
mkdir -p "$etc/ca"
"$pki" init "$etc/ca" >/dev/null || fail "deploy/pki init"
for n in 1 2 3; do
	"$pki" witness "$etc/ca" "w$n" "10.0.0.1$n" >/dev/null || fail "deploy/pki witness w$n"
	"$pki" server "$etc/ca" "pg$n" "10.0.0.2$n" >/dev/null || fail "deploy/pki server pg$n"
	cp "$etc/ca/w$n.crt" "$etc/ca/w$n.key" "$etc/ca/pg$n.crt" "$etc/ca/pg$n.key" "$etc/"
	"$dest$bindir/tenurectl" auth new "pg$n" agent:main --write-secret "$etc/pg$n.secret" \
		>>"$etc/credentials" || fail "tenurectl auth new pg$n"
done
cp "$etc/ca/ca.crt" "$etc/"
echo 0123456789abcdef >"$etc/pg-superuser.pass"
echo 0123456789abcdef >"$etc/replication.pass"
for n in 1 2 3; do
	[ -f "$ex/w$n.conf" ] && [ -f "$ex/pg$n.conf" ] || fail "example w$n.conf or pg$n.conf missing"
	sed "s|/etc/tenure/|$etc/|g" "$ex/w$n.conf" >"$tmp/w$n.conf"
	sed "s|/etc/tenure/|$etc/|g" "$ex/pg$n.conf" >"$tmp/pg$n.conf"
	out=$("$dest$bindir/tenured" --config "$tmp/w$n.conf" --check-config 2>&1) ||
		fail "tenured rejects w$n.conf: $out"
	[ "$out" = "configuration OK" ] || fail "tenured --check-config w$n.conf said: $out"
	out=$("$dest$bindir/tenure-agent" --config "$tmp/pg$n.conf" --check-config 2>&1) ||
		fail "tenure-agent rejects pg$n.conf: $out"
	[ "$out" = "configuration OK" ] || fail "tenure-agent --check-config pg$n.conf said: $out"
done
# Without their security settings the examples are refused (secure by
# default), naming --insecure.
grep -v '^\(credentials_file\|tls_\|peer_tls_\)' "$tmp/w1.conf" >"$tmp/w1-open.conf"
out=$("$dest$bindir/tenured" --config "$tmp/w1-open.conf" --check-config 2>&1)
[ $? = 2 ] && echo "$out" | grep -q -- '--insecure' ||
	fail "tenured accepted an example without its security settings: $out"
grep -v '^\(witness_ca_file\|http_tls_\)' "$tmp/pg1.conf" >"$tmp/pg1-open.conf"
out=$("$dest$bindir/tenure-agent" --config "$tmp/pg1-open.conf" --check-config 2>&1)
[ $? = 2 ] && echo "$out" | grep -q -- '--insecure' ||
	fail "tenure-agent accepted an example without its security settings: $out"
# ... and --check-config says what is wrong, with exit status 2.
out=$("$dest$bindir/tenured" --config "$tmp/w1.conf" --listen-peer nowhere --check-config 2>&1)
[ $? = 2 ] && echo "$out" | grep -q 'listen_peer "nowhere"' ||
	fail "tenured --check-config with a bad address: $out"
out=$("$dest$bindir/tenure-agent" --config "$tmp/pg1.conf" --lease-ttl 1s --check-config 2>&1)
[ $? = 2 ] && echo "$out" | grep -q 'lease_ttl' ||
	fail "tenure-agent --check-config with too short a lease: $out"

# The units, unless configured --with-systemdsystemunitdir=no.
if grep -q '^systemdsystemunitdir = no$' "$top/Makefile"; then
	echo "SKIP: $me: the systemd units (configured --with-systemdsystemunitdir=no)"
else
	for u in tenured tenure-agent; do
		f=$(find "$dest" -type f -name "$u.service")
		[ -n "$f" ] || fail "$u.service not installed"
		case "$f" in */lib/systemd/system/"$u".service) ;; *) fail "$u.service in $f" ;; esac
		grep -qx "ExecStart=$bindir/$u --config /etc/tenure/[a-z]*.conf" "$f" ||
			fail "$u.service: ExecStart does not run $bindir/$u: $(grep ExecStart "$f")"
		grep -q '@[a-z_]*@' "$f" && fail "$u.service has an unsubstituted @...@: $(grep '@[a-z_]*@' "$f")"
		grep -qx 'Type=notify' "$f" || fail "$u.service is not Type=notify"
	done
	# systemd-analyze verify (unknown keys, bad values, a missing binary)
	# on copies whose ExecStart points into DESTDIR; skipped when it cannot
	# run in this container.  It exits 0 on warnings: none is expected.
	mkdir -p "$tmp/verify"
	for u in tenured tenure-agent; do
		sed "s|^ExecStart=$bindir/|ExecStart=$dest$bindir/|" \
			"$(find "$dest" -type f -name "$u.service")" >"$tmp/verify/$u.service"
	done
	if ! command -v systemd-analyze >/dev/null; then
		echo "SKIP: $me: systemd-analyze verify of the units (systemd-analyze missing: apt-get install systemd)"
	elif ! systemd-analyze verify --man=no "$tmp/verify/tenured.service" >"$tmp/verify.log" 2>&1 &&
		grep -q -e 'Failed to' -e 'not found' -e 'System has not been booted' "$tmp/verify.log" &&
		! grep -q 'tenured.service:[0-9]' "$tmp/verify.log"; then
		echo "SKIP: $me: systemd-analyze verify of the units (it cannot run here: $(head -n 2 "$tmp/verify.log" | tr '\n' ' '))"
	else
		for u in tenured tenure-agent; do
			systemd-analyze verify --man=no "$tmp/verify/$u.service" >"$tmp/verify.log" 2>&1 ||
				fail "systemd-analyze verify $u.service: $(cat "$tmp/verify.log")"
			[ -s "$tmp/verify.log" ] &&
				fail "systemd-analyze verify $u.service warns: $(cat "$tmp/verify.log")"
		done
	fi
fi

make -C "$top" uninstall DESTDIR="$dest" >"$tmp/make.log" 2>&1 ||
	fail "make uninstall DESTDIR=$dest failed"
left=$(find "$dest" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "$me: ok"
