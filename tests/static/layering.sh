#!/bin/sh
# layering.sh — the one-way layering of docs/design.md §1 (run by `make
# check`):
#   (a) every #include "dir/file.h" in common/, raft/, proto/, server/,
#       fencing/ and ctl/ names a module its own may depend on:
#         common          -> nothing of ours
#         raft            -> common
#         proto           -> raft, common
#         server          -> proto, raft, common
#         fencing records -> common (the pure codecs of libfencingrecords.a,
#                            listed in Makefile.am; nor <uv.h>, <libpq-fe.h>)
#         fencing         -> fencing records, proto, common
#         ctl             -> fencing records, proto, common
#       a violation is printed as file:line and the rule it breaks;
#   (b) tenure-agent and tenurectl contain no Raft (raft_*) and no
#       witness transport (transport_*) code (nm).
set -u
src="${srcdir:-.}"
top="${top_builddir:-.}"
me=layering.sh
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

[ -f "$src/Makefile.am" ] || { echo "$me: $src/Makefile.am missing" >&2; exit 1; }

# The records: the .h/.c base names of libfencingrecords_a_SOURCES.
records=$(awk '
	/^libfencingrecords_a_SOURCES[[:space:]]*=/ { on = 1; sub(/^[^=]*=/, "") }
	on { line = $0; more = sub(/\\[[:space:]]*$/, "", line)
	     n = split(line, w, /[ \t]+/)
	     for (i = 1; i <= n; i++)
		if (w[i] ~ /^fencing\/.*\.[ch]$/) {
			b = w[i]; sub(/^fencing\//, "", b); sub(/\.[ch]$/, "", b)
			print b
		}
	     if (!more) on = 0 }' "$src/Makefile.am" | sort -u | tr '\n' ' ')
[ -n "$records" ] ||
	{ echo "$me: no libfencingrecords_a_SOURCES in Makefile.am" >&2; exit 1; }

# module PATH: common raft proto server records fencing ctl (or "" when
# the path is none of ours)
module() {
	case "$1" in
	common/*|raft/*|proto/*|server/*|ctl/*) echo "${1%%/*}" ;;
	fencing/*)
		b=${1#fencing/}
		b=${b%.[ch]}
		case " $records " in
		*" $b "*) echo records ;;
		*) echo fencing ;;
		esac ;;
	*) echo "" ;;
	esac
}

allowed() {
	case "$1" in
	common) echo "common" ;;
	raft) echo "raft common" ;;
	proto) echo "proto raft common" ;;
	server) echo "server proto raft common" ;;
	records) echo "records common" ;;
	fencing) echo "fencing records proto common" ;;
	ctl) echo "ctl records proto common" ;;
	esac
}

name() {
	[ "$1" = records ] && echo "fencing's records" || echo "$1/"
}

# ---- (a) includes ---------------------------------------------------------

checked=0
for dir in common raft proto server fencing ctl; do
	for f in "$src/$dir"/*.c "$src/$dir"/*.h; do
		[ -f "$f" ] || continue
		rel=${f#"$src"/}
		from=$(module "$rel")
		ok=$(allowed "$from")
		checked=$((checked + 1))
		# "N:dir/file.h" for each include; bare names are relative to
		# the including file's directory
		for inc in $(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
			     sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1:\2/'); do
			line=${inc%%:*}
			path=${inc#*:}
			case "$path" in
			*/*) ;;
			*) path="$dir/$path" ;;
			esac
			to=$(module "$path")
			[ -n "$to" ] || continue
			case " $ok " in
			*" $to "*) ;;
			*) fail "$rel:$line: includes \"$path\": $(name "$from") may use only: $(for m in $ok; do printf '%s ' "$(name "$m")"; done)(docs/design.md §1)" ;;
			esac
		done
		[ "$from" = records ] || continue
		for hit in $(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*<\(uv\|libpq-fe\)\.h>' "$f" |
			     sed 's/^\([0-9]*\):.*<\([^>]*\)>.*/\1:\2/'); do
			fail "$rel:${hit%%:*}: includes <${hit#*:}>: fencing's records are pure codecs, no libuv, no libpq (docs/design.md §1)"
		done
	done
done
[ "$checked" -gt 0 ] || fail "no sources found under $src"

# ---- (b) what the agent and the CLI link ------------------------------------

command -v nm >/dev/null 2>&1 || { echo "$me: nm not found (binutils)" >&2; exit 1; }
for b in tenure-agent tenurectl; do
	if [ ! -x "$top/$b" ]; then
		fail "$top/$b not built"
		continue
	fi
	for prefix in raft_ transport_; do
		n=$(nm "$top/$b" | grep -c " [Tt] $prefix")
		[ "$n" -eq 0 ] ||
			fail "$b contains $n $prefix* functions (e.g. $(nm "$top/$b" | grep " [Tt] $prefix" | head -3 | awk '{printf "%s ", $3}')): it must link neither libtenured.a nor the Raft libraries (docs/design.md §1)"
	done
done

if [ "$failures" -gt 0 ]; then
	echo "$me: $failures layering violation(s)" >&2
	exit 1
fi
echo "$me: $checked files follow docs/design.md §1; tenure-agent and tenurectl have no raft_ or transport_ code"
exit 0
