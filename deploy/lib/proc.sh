# deploy/lib/proc.sh — process helpers shared by deploy/local-cluster
# (which sources it from beside itself) and the real-Postgres tests
# (tests/lib/pg-lib.sh, from the source directory): the processes below given
# pids, and the postmaster a data directory names.  POSIX sh; its functions
# keep their variables in names starting with _proc_.

# descendants PID...: those pids and every process below them, one a line
# (a pid that does not run is left out)
descendants() {
	[ $# -gt 0 ] || return 0
	ps -eo pid=,ppid= | awk -v roots="$*" '
		{ par[$1] = $2; pid[NR] = $1 }
		END {
			n = split(roots, r, " ")
			for (i = 1; i <= n; i++) if (r[i] in par) set[r[i]] = 1
			do {
				more = 0
				for (i = 1; i <= NR; i++)
					if (!(pid[i] in set) && (par[pid[i]] in set)) {
						set[pid[i]] = 1; more = 1
					}
			} while (more)
			for (p in set) print p
		}'
}

# postmaster_pid DATA_DIR: the pid in DATA_DIR/postmaster.pid, printed if
# that process runs, is not a zombie and is a postgres (after a crash the
# file may name a pid since reused by another process); else nothing is
# printed and the status is 1
postmaster_pid() {
	_proc_p=""
	[ -f "$1/postmaster.pid" ] &&
		read -r _proc_p 2>/dev/null <"$1/postmaster.pid"
	case "$_proc_p" in '' | *[!0-9]*) return 1 ;; esac
	_proc_line=""
	read -r _proc_line 2>/dev/null <"/proc/$_proc_p/stat" || return 1
	case "$_proc_line" in
	"$_proc_p (postgres) "[!Z]*) echo "$_proc_p" ;;
	*) return 1 ;;
	esac
}
