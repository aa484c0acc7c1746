#!/bin/sh
# format.sh — run by `make check`: every C file of the project is laid out
# as .clang-format says (clang-format 14, Debian's clang-format package;
# other majors lay some constructs out differently, so they skip with a
# message).  On failure it names the files and shows the first lines of
# the change; `clang-format -i FILE` applies it.
set -u
me=format.sh
src="${srcdir:-.}"
cf=${CLANG_FORMAT:-clang-format}

if ! command -v "$cf" >/dev/null 2>&1; then
	echo "SKIP: $me: clang-format not found (apt-get install clang-format)"
	exit 77
fi
major=$("$cf" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n 1)
if [ "$major" != 14 ]; then
	echo "SKIP: $me: clang-format $major, the layout is checked with 14"
	exit 77
fi
[ -f "$src/.clang-format" ] || { echo "$me: $src/.clang-format missing" >&2; exit 1; }

bad=0
files=0
for f in $(cd "$src" && find raft proto server fencing common ctl tests \
	-name '*.[ch]' 2>/dev/null | sort); do
	files=$((files + 1))
	if ! "$cf" --style=file "$src/$f" | cmp -s - "$src/$f"; then
		echo "FAIL: $me: $f is not laid out as .clang-format says:"
		"$cf" --style=file "$src/$f" | diff "$src/$f" - | head -n 12
		bad=$((bad + 1))
	fi
done
[ "$files" -gt 0 ] || { echo "$me: no C files under $src" >&2; exit 1; }
if [ "$bad" -gt 0 ]; then
	echo "FAIL: $me: $bad of $files files; fix with: clang-format -i FILE"
	exit 1
fi
echo "$me: ok ($files files)"
