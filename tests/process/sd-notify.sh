#!/bin/sh
# sd-notify.sh — three real tenured witnesses started as systemd would
# start a Type=notify unit: NOTIFY_SOCKET (each its own, read by
# tests/helpers/notify-listen) and WATCHDOG_USEC.  Checks: STATUS= then READY=1
# arrive once the witness serves, WATCHDOG=1 pings at about half the
# interval, every datagram comes from the daemon's own PID (what
# NotifyAccess=main accepts), WATCHDOG_PID naming another process turns
# the pings off, an unreachable socket only logs a warning, and SIGTERM
# sends STOPPING=1 before a clean exit.  Ports 32400-32489.
set -u
me=sd-notify.sh
. "$(dirname "$0")/../lib/proc-lib.sh"
listen_bin="$top/tests/helpers/notify-listen"
proc_need_built "$bin" "$listen_bin"

proc_init sdn
proc_take_ports sd-notify # a block of 10 of 32400-32489
make_cluster

listen() { # listen N: notify-listen on $dir/notifyN, output in notifyN.out
	"$listen_bin" "$dir/notify$1" 120 >"$dir/notify$1.out" 2>&1 &
	pids="$pids $!"
	wait_for 5 test -S "$dir/notify$1" || fail "notify-listen $1 did not start"
}
start_unit() { # start_unit N [own-pid] [VAR=VALUE...]: witness N with
	# that environment; own-pid: WATCHDOG_PID = the witness's PID, as
	# systemd sets it (the shell's exec keeps its PID)
	_n=$1
	shift
	launch="env $*"
	[ "${1:-}" = own-pid ] && { shift; launch="sh $dir/own-pid env $*"; }
	start "$_n"
	launch=""
}
printf '%s\n' 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"' >"$dir/own-pid"
got() { # got N TEXT: witness N's own PID sent exactly TEXT
	grep -qx "$(pid_of "$1") $2" "$dir/notify$1.out"
}
count() { # count N TEXT: how many times
	grep -cx "$(pid_of "$1") $2" "$dir/notify$1.out"
}
line_of() { # line_of N PATTERN: line number of the first match
	grep -n "$2" "$dir/notify$1.out" | head -n 1 | cut -d: -f1
}
stop() { # stop N: SIGTERM, wait; STOPPING=1 must have come first
	kill -TERM "$(pid_of "$1")"
	wait "$(pid_of "$1")"
	rc=$?
	[ "$rc" = 0 ] || fail "w$1 exited with $rc after SIGTERM"
	got "$1" STOPPING=1 || fail "w$1 sent no STOPPING=1 on SIGTERM"
}

for n in 1 2 3; do listen $n; done
start_unit 1 NOTIFY_SOCKET="$dir/notify1" WATCHDOG_USEC=200000
start_unit 2 NOTIFY_SOCKET="$dir/notify2" WATCHDOG_USEC=200000 WATCHDOG_PID=$$
start_unit 3 own-pid NOTIFY_SOCKET="$dir/notify3" WATCHDOG_USEC=200000
for n in 1 2 3; do
	wait_for 10 got $n READY=1 || fail "w$n sent no READY=1 in 10 s"
	got $n "STATUS=witness w$n: peers on 127.0.0.1:$(peer_port $n), clients on $(ep $n)" ||
		fail "w$n sent no STATUS= line"
	[ "$(line_of $n STATUS=)" -lt "$(line_of $n READY=1)" ] ||
		fail "w$n: STATUS= should come before READY=1"
done

# Then the role as `systemctl status` shows it, once a leader is known:
# one leader, two followers naming it.
role_status() { # role_status N: witness N's latest role line
	grep "^$(pid_of "$1") STATUS=witness w$1: [a-z]*, term" "$dir/notify$1.out" |
		tail -n 1 | sed 's/^[0-9]* STATUS=//'
}
has_leader_status() {
	for n in 1 2 3; do
		case "$(role_status $n)" in *", leader w"[123]) ;; *) return 1 ;; esac
	done
}
wait_for 10 has_leader_status ||
	fail "no role STATUS= lines naming a leader: $(for n in 1 2 3; do role_status $n; done)"
leaders=$(for n in 1 2 3; do role_status $n; done | grep -c ": leader, term")
[ "$leaders" = 1 ] ||
	fail "expected one leader in the STATUS= lines: $(for n in 1 2 3; do role_status $n; done)"

# READY=1 means serving: the HTTP endpoint answers at once.
if command -v curl >/dev/null; then
	curl -s --max-time 2 "http://127.0.0.1:$(http_port 1)/status" >/dev/null ||
		fail "w1 sent READY=1 but its HTTP endpoint does not answer"
else
	proc_skip_part "HTTP answers at READY=1" "curl missing: apt-get install curl"
fi

# Watchdog: 200 ms interval, a ping every 100 ms; none for w2, whose
# WATCHDOG_PID names another process (this shell).  Counted within a
# measured window only: the pings sent while the witness waited for READY
# and elected a leader (any number, with a slow disk) are not in it.
for n in 1 3; do eval "before$n=\$(count $n WATCHDOG=1)"; done
w0=$(now_ms)
sleep 2
for n in 1 3; do eval "after$n=\$(count $n WATCHDOG=1)"; done
window=$(($(now_ms) - w0))
for n in 1 3; do
	eval "pings=\$((after$n - before$n))"
	want=$((window / 100))
	[ "$pings" -ge $((want / 2)) ] && [ "$pings" -le $((want * 2 + 2)) ] ||
		fail "w$n sent $pings WATCHDOG=1 in $window ms (expected about $want, one per 100 ms)"
done
[ "$(count 2 WATCHDOG=1)" = 0 ] || fail "w2 pinged a watchdog meant for PID $$"

# Every datagram from the daemon itself (NotifyAccess=main).
for n in 1 2 3; do
	others=$(grep -vc "^$(pid_of $n) " "$dir/notify$n.out")
	[ "$others" = 0 ] || fail "notify$n got $others datagrams from other PIDs"
done

# SIGHUP: a reload (of the credentials; none here), logged; it must
# neither stop the witness nor say STOPPING (it used to kill).
kill -HUP "$(pid_of 1)"
wait_for 5 grep -q "event=reloaded" "$dir/w1.log" ||
	fail "w1 logged nothing about SIGHUP"
kill -0 "$(pid_of 1)" 2>/dev/null || fail "w1 died of SIGHUP"
[ "$(count 1 STOPPING=1)" = 0 ] || fail "w1 sent STOPPING=1 on SIGHUP"

# SIGTERM: STOPPING=1, then a clean exit.
stop 1
[ "$(line_of 1 STOPPING=1)" -gt "$(line_of 1 READY=1)" ] ||
	fail "w1: STOPPING=1 before READY=1"

# A socket nobody listens on: a warning, and the witness serves anyway.
start_unit 1 NOTIFY_SOCKET="$dir/nobody-listens"
wait_for 10 grep -q "event=notify_failed" "$dir/w1.log" ||
	fail "w1 logged nothing about the unreachable NOTIFY_SOCKET"
sleep 0.5
kill -0 "$pid1" 2>/dev/null || fail "w1 stopped because NOTIFY_SOCKET was unreachable"
kill -TERM "$pid1"
wait "$pid1" || fail "w1 (unreachable socket) did not stop cleanly"

stop 2
stop 3
echo "$me: ok"
