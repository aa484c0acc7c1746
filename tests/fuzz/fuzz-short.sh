#!/bin/sh
# fuzz-short.sh — run by `make check`: each libFuzzer target of tests/fuzz
# for a short while over a scratch copy of its checked-in seed corpus (the
# checked-in corpus is never modified).  A crash, leak, timeout or
# out-of-memory fails the test and the reproducer's path is printed.
#
#   FUZZ_SECONDS  seconds per target (default 15)
#   FUZZ_TARGETS  targets to run (default "frame peer client sm")
#
# Reproduce a finding with:  tests/fuzz/fuzz_<target> <reproducer file>
set -u
builddir="${top_builddir:-.}"
src="${srcdir:-.}"
seconds="${FUZZ_SECONDS:-15}"
targets="${FUZZ_TARGETS:-frame peer client sm}"
packages="clang libclang-rt-14-dev"

say() { printf 'fuzz-short.sh: %s\n' "$*" >&2; }

status=0
for t in $targets; do
	bin="$builddir/tests/fuzz/fuzz_$t"
	seeds="$src/tests/fuzz/corpus/$t"
	if [ ! -x "$bin" ]; then
		say "$bin was not built: configure found no clang with libFuzzer."
		say "Install it (apt-get install $packages), re-run configure, then make check."
		exit 1
	fi
	if [ ! -d "$seeds" ]; then
		say "seed corpus $seeds is missing"
		exit 1
	fi
	work=$(mktemp -d "${TMPDIR:-/tmp}/tenure-fuzz-$t.XXXXXX") || exit 1
	# Reproducers go next to the binary, where they outlive the run.
	found=$(mktemp -d "$builddir/tests/fuzz/found-$t.XXXXXX") || exit 1
	cp -R "$seeds" "$work/corpus"
	echo "== fuzz_$t: ${seconds}s over $(ls "$seeds" | wc -l) seeds"
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$found/" \
		"$work/corpus" >"$work/log" 2>&1
	rc=$?
	grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
		"$work/log"
	grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" | tail -n 1
	if [ $rc -ne 0 ] || [ -n "$(ls "$found")" ]; then
		tail -n 60 "$work/log"
		for f in "$found"/*; do
			[ -e "$f" ] || continue
			say "fuzz_$t FAILED: reproducer $f"
			say "replay it with: $bin $f"
		done
		[ -n "$(ls "$found")" ] || say "fuzz_$t exited with status $rc"
		status=1
	else
		rmdir "$found"
	fi
	rm -rf "$work"
done
exit $status
