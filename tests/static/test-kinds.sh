#!/bin/sh
# test-kinds.sh — run by `make check`: every test of TESTS belongs to
# exactly one kind (CHECK_UNIT, CHECK_SIM, CHECK_PROCESS, CHECK_PG, each
# filled by the blocks of tests/'s directories in Makefile.am), so that
# make check-unit / check-sim / check-process / check-pg together run
# everything: a test added to TESTS directly, or listed in two kinds,
# fails it.  ALL_TESTS and KIND_TESTS come from AM_TESTS_ENVIRONMENT.
set -u
me=test-kinds.sh
[ -n "${ALL_TESTS:-}" ] && [ -n "${KIND_TESTS:-}" ] ||
	{ echo "$me: ALL_TESTS and KIND_TESTS are not set (run it through make check)" >&2; exit 1; }
bad=0
for t in $ALL_TESTS; do
	n=$(printf '%s\n' $KIND_TESTS | grep -cx "$t")
	case "$n" in
	1) ;;
	0) echo "FAIL: $me: $t is in no kind: add it to one of CHECK_UNIT, CHECK_SIM, CHECK_PROCESS, CHECK_PG (Makefile.am)"; bad=1 ;;
	*) echo "FAIL: $me: $t is in $n kinds"; bad=1 ;;
	esac
done
[ "$bad" = 0 ] && echo "$me: ok ($(printf '%s\n' $ALL_TESTS | wc -l) tests, each in one kind)"
exit $bad
