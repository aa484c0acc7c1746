#!/bin/sh
# ctl-version.sh — every binary says its version: `tenured --version`,
# `tenure-agent --version`, `tenurectl --version` (anywhere on the line,
# even after a command) and `tenurectl version` print "PROG (tenure)
# VERSION", the version configure was given, and exit 0 without touching
# anything (no settings needed, no witness asked).  No ports, no root.
set -u
me=ctl-version
top=$(cd "${top_builddir:-.}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
failures=0
fail() {
	echo "FAIL: $me: $*" >&2
	failures=$((failures + 1))
}
for b in tenured tenure-agent tenurectl; do
	[ -x "$top/$b" ] || { echo "FAIL: $me: $top/$b not built" >&2; exit 1; }
done
# the version AC_INIT names, from the source: what every binary must say
want=$(sed -n 's/^AC_INIT(\[tenure\], \[\([^]]*\)\].*/\1/p' "$src/configure.ac")
[ -n "$want" ] || { echo "FAIL: $me: no version in configure.ac" >&2; exit 1; }

# check LABEL PROG -- COMMAND...: exit 0 and the one line "PROG (tenure)
# VERSION[ git ...]"
check() {
	_label=$1 _prog=$2
	shift 3
	_out=$("$@" 2>&1)
	_rc=$?
	[ "$_rc" -eq 0 ] || { fail "$_label exits $_rc: $_out"; return; }
	[ "$(printf '%s\n' "$_out" | wc -l)" -eq 1 ] ||
		fail "$_label prints more than one line: $_out"
	case "$_out" in
	"$_prog (tenure) $want" | "$_prog (tenure) $want git "?*) ;;
	*) fail "$_label prints '$_out', not '$_prog (tenure) $want'" ;;
	esac
}

check "tenured --version" tenured -- "$top/tenured" --version
check "tenure-agent --version" tenure-agent -- "$top/tenure-agent" --version
check "tenurectl --version" tenurectl -- "$top/tenurectl" --version
check "tenurectl version" tenurectl -- "$top/tenurectl" version
# a global option: after a command, and with an endpoint that answers
# nothing (it must not be asked)
check "tenurectl cluster list --version" tenurectl -- \
	"$top/tenurectl" --endpoints 127.0.0.1:1 cluster list --version
# the daemons before their required settings are checked: none given
check "tenure-agent --version with other options" tenure-agent -- \
	"$top/tenure-agent" --log-level debug --version
# the command is listed, and has its own help
"$top/tenurectl" --help | grep -q '^  version  *print tenurectl' ||
	fail "tenurectl --help does not list 'version'"
"$top/tenurectl" version --help | grep -q '^usage: tenurectl version' ||
	fail "tenurectl version --help prints no usage"
# it takes no arguments
"$top/tenurectl" version extra >/dev/null 2>&1 &&
	fail "tenurectl version extra was accepted"

if [ "$failures" -ne 0 ]; then
	echo "$me: $failures failure(s)" >&2
	exit 1
fi
echo "$me: the three binaries print version $want"
