#!/bin/sh
# man-pages.sh — keeps the man pages in deploy/man/ and the binaries in
# step (run by `make check`):
#   - every page renders without a warning (groff -ww, and man --warnings
#     when man-db is installed);
#   - every --option that `tenured --help`, `tenure-agent --help` and
#     `tenurectl [COMMAND] --help` print is named in that binary's page, so
#     an option added without documenting it fails here;
#   - the exit codes `tenurectl --help` names are those of tenurectl(1)'s
#     EXIT STATUS section;
#   - every tenurectl command (and command group) answers --help with exit
#     0 and a usage text, has an entry in tenurectl(1) (a line after .TP
#     starting \fBtenurectl PATH\fP) that names the options of its usage
#     line, and every such entry is a real command.
# Needs groff (groff-base); skipped (77) without it.
set -u
top="${top_builddir:-.}"
pages="${srcdir:-.}/deploy/man"
me=man-pages.sh

command -v groff >/dev/null 2>&1 ||
	{ echo "$me: groff not found (apt-get install groff-base); skipped" >&2; exit 77; }
for b in tenured tenure-agent tenurectl; do
	[ -x "$top/$b" ] || { echo "$me: $top/$b not built" >&2; exit 1; }
done
for p in tenured.8 tenure-agent.8 tenurectl.1; do
	[ -f "$pages/$p" ] || { echo "$me: $pages/$p missing" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/tenure-man.XXXXXX)
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# ---- every page renders without a warning ------------------------------------

for p in tenured.8 tenure-agent.8 tenurectl.1; do
	groff -man -ww -z "$pages/$p" >"$dir/warn" 2>&1
	[ -s "$dir/warn" ] && fail "groff warns about $p: $(cat "$dir/warn")"
	if ! command -v man >/dev/null 2>&1; then
		[ "$p" = tenured.8 ] && echo "SKIP: $me: man --warnings on the pages (man missing: apt-get install man-db)"
	else
		# C as well as UTF-8: without preconv a stray non-ASCII byte warns
		for loc in C.UTF-8 C; do
			LC_ALL=$loc MANWIDTH=80 man --warnings -l "$pages/$p" \
				>/dev/null 2>"$dir/warn"
			[ -s "$dir/warn" ] &&
				fail "man --warnings ($loc) on $p: $(cat "$dir/warn")"
		done
	fi
	# The text the option checks search: plain ASCII (\- is '-'), no
	# hyphenation, lines too wide to break an option name.
	groff -man -Tascii -P-cbou -rLL=250n -rHY=0 "$pages/$p" \
		>"$dir/$p.txt" 2>/dev/null || fail "groff cannot render $p"
done

# ---- options printed by --help are in the page ---------------------------------

# The --option names in a text, one per line (upper-case placeholders such
# as --KEY are not options).
options_in() {
	grep -o -e '--[a-z][a-z0-9_-]*' "$1" | sed 's/[-_]*$//' | sort -u
}

# has_word FILE WORD: WORD occurs in FILE, not as part of a longer name.
has_word() {
	grep -q -e "\(^\|[^A-Za-z0-9_-]\)$2\([^A-Za-z0-9_-]\|\$\)" "$1"
}

check_options() { # check_options HELP_FILE PAGE WHAT
	for o in $(options_in "$1"); do
		has_word "$dir/$2.txt" "$o" ||
			fail "$3 prints $o, but $2 does not document it"
	done
}

for b in tenured:tenured.8 tenure-agent:tenure-agent.8; do
	bin=${b%%:*}
	page=${b#*:}
	"$top/$bin" --help >"$dir/$bin.help" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || fail "$bin --help exits $rc"
	[ "$(options_in "$dir/$bin.help" | wc -l)" -ge 5 ] ||
		fail "$bin --help names too few options: $(cat "$dir/$bin.help")"
	check_options "$dir/$bin.help" "$page" "$bin --help"
done

# ---- tenurectl: every command ---------------------------------------------------

ctl="$top/tenurectl"
"$ctl" --help >"$dir/ctl.help" 2>&1 || fail "tenurectl --help exits $?"
check_options "$dir/ctl.help" tenurectl.1 "tenurectl --help"
# The command list: "  PATH  summary" lines between "Commands:" and a blank
# line; the path and the summary are two or more spaces apart.
sed -n '/^Commands:/,/^$/p' "$dir/ctl.help" | sed '1d;/^$/d' |
	awk -F '  +' '{ print $2 }' >"$dir/commands"
[ "$(wc -l <"$dir/commands")" -ge 20 ] ||
	fail "tenurectl --help lists too few commands: $(cat "$dir/commands")"

# The entries of tenurectl(1): the paths, and each entry's source text.
awk '
	/^\.(TP|SS|SH)/ { entry = ""; tp = ($0 == ".TP"); next }
	tp && /^\\fBtenurectl / {
		line = $0
		sub(/^\\fBtenurectl /, "", line)
		sub(/\\fP.*/, "", line)
		entry = line
		print entry >"'"$dir"'/entries"
	}
	{ tp = 0 }
	entry != "" {
		f = entry
		gsub(/ /, "_", f)
		print >"'"$dir"'/entry." f
	}
' "$pages/tenurectl.1"
[ -s "$dir/entries" ] || fail "tenurectl.1 has no command entries"

while IFS= read -r path; do
	[ -n "$path" ] || continue
	# shellcheck disable=SC2086 # the path is words on purpose
	"$ctl" $path --help >"$dir/cmd.help" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || fail "tenurectl $path --help exits $rc"
	head -n 1 "$dir/cmd.help" | grep -q "^usage: tenurectl $path" ||
		fail "tenurectl $path --help prints no usage: $(head -n 3 "$dir/cmd.help")"
	# shellcheck disable=SC2086
	"$ctl" help $path >/dev/null 2>&1 || fail "tenurectl help $path exits $?"
	check_options "$dir/cmd.help" tenurectl.1 "tenurectl $path --help"
	grep -qxF "$path" "$dir/entries" 2>/dev/null ||
		{ fail "tenurectl.1 has no entry for 'tenurectl $path'"; continue; }
	# The options of its usage line are in its own entry.
	f="$dir/entry.$(printf '%s' "$path" | tr ' ' _)"
	sed 's/\\f[BIRP]//g; s/\\-/-/g' "$f" >"$f.plain"
	head -n 1 "$dir/cmd.help" >"$dir/cmd.usage"
	for o in $(options_in "$dir/cmd.usage"); do
		has_word "$f.plain" "$o" ||
			fail "tenurectl.1: the entry of '$path' does not name $o"
	done
done <"$dir/commands"

# The exit codes --help names ("Exit status: 0 success, 1 ..., 4 ...") are
# the ones the page's EXIT STATUS section lists, no more and no fewer.
sed -n '/^Exit status:/,/^$/p' "$dir/ctl.help" | tr '\n' ' ' |
	grep -oE '(status:|,) [0-9] ' | grep -oE '[0-9]' | sort -u >"$dir/help.codes"
awk '/^\.SH EXIT STATUS/ { on = 1; next } /^\.SH/ { on = 0 }
	on && /^\.B [0-9]$/ { print $2 }' "$pages/tenurectl.1" | sort -u >"$dir/page.codes"
[ "$(wc -l <"$dir/help.codes")" -ge 3 ] ||
	fail "tenurectl --help names too few exit codes: $(cat "$dir/help.codes")"
cmp -s "$dir/help.codes" "$dir/page.codes" ||
	fail "exit codes: tenurectl --help names $(tr '\n' ' ' <"$dir/help.codes"), tenurectl.1 lists $(tr '\n' ' ' <"$dir/page.codes")"

# Every entry is a command, and every group answers --help.
while IFS= read -r path; do
	grep -qxF "$path" "$dir/commands" ||
		fail "tenurectl.1 documents 'tenurectl $path', which tenurectl --help does not list"
done <"$dir/entries"
for group in $(awk 'NF == 2 { print $1 }' "$dir/commands" | sort -u); do
	"$ctl" "$group" --help >"$dir/group.help" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || fail "tenurectl $group --help exits $rc"
	grep -q "^Subcommands:" "$dir/group.help" ||
		fail "tenurectl $group --help lists no subcommands"
done

if [ "$failures" -ne 0 ]; then
	echo "$me: $failures problem(s); the pages are in deploy/man/" >&2
	exit 1
fi
echo "$me: 3 pages render cleanly and document every option and command"
exit 0
