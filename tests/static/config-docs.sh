#!/bin/sh
# config-docs.sh — keeps docs/configuration.md and the binaries in step
# (run by `make check`), as tests/static/man-pages.sh does for the man pages:
#   - every option that `tenured --help` and `tenure-agent --help` print
#     (their option lines, and the bare flags of the usage line such as
#     [--check-config]) is named in docs/configuration.md;
#   - every global option that `tenurectl --help` prints (the lines of its
#     "Global options" section) is named there too;
# so an option added without documenting it fails here.  A name counts
# only as a whole word: --name does not match --name-prefix.
set -u
top="${top_builddir:-.}"
doc="${srcdir:-.}/docs/configuration.md"
me=config-docs.sh

for b in tenured tenure-agent tenurectl; do
	[ -x "$top/$b" ] || { echo "$me: $top/$b not built" >&2; exit 1; }
done
[ -f "$doc" ] || { echo "$me: $doc missing" >&2; exit 1; }

dir=$(mktemp -d /tmp/tenure-config-docs.XXXXXX)
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# The --option names in a text, one per line.
options_in() {
	grep -o -e '--[a-z][a-z0-9_-]*' "$1" | sed 's/[-_]*$//' | sort -u
}

# has_word FILE WORD: WORD occurs in FILE, not as part of a longer name.
has_word() {
	grep -q -e "\(^\|[^A-Za-z0-9_-]\)$2\([^A-Za-z0-9_-]\|\$\)" "$1"
}

# check_options OPTION_TEXT WHAT: each option of the text is in the doc.
check_options() {
	n=0
	for o in $(options_in "$1"); do
		n=$((n + 1))
		has_word "$doc" "$o" ||
			fail "$2 prints $o, but docs/configuration.md does not document it"
	done
	[ "$n" -ge 5 ] || fail "$2 names too few options ($n): $(cat "$1")"
}

# ---- the daemons: option lines and the usage line's bare flags -----------------

for bin in tenured tenure-agent; do
	"$top/$bin" --help >"$dir/$bin.help" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || fail "$bin --help exits $rc"
	{
		grep -e '^[[:space:]][[:space:]]*-' "$dir/$bin.help"
		grep -i '^usage:' "$dir/$bin.help" |
			grep -o -e '\[--[a-z][a-z0-9-]*\]'
	} >"$dir/$bin.options"
	check_options "$dir/$bin.options" "$bin --help"
done

# ---- tenurectl: the global options -----------------------------------------------

"$top/tenurectl" --help >"$dir/ctl.help" 2>&1 || fail "tenurectl --help exits $?"
sed -n '/^Global options/,/^$/p' "$dir/ctl.help" |
	grep -e '^[[:space:]][[:space:]]*-' >"$dir/ctl.options"
check_options "$dir/ctl.options" "tenurectl --help (global options)"

if [ "$failures" -ne 0 ]; then
	echo "$me: $failures problem(s); document them in docs/configuration.md" >&2
	exit 1
fi
echo "$me: docs/configuration.md names every option of tenured, tenure-agent and tenurectl's global options"
exit 0
