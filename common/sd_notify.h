/*
 * sd_notify.h — systemd's service notification protocol, for Type=notify
 * units, written from its documented semantics (no libsystemd).
 *
 * Contract
 * --------
 * The protocol: the service manager puts the address of a datagram socket
 * in NOTIFY_SOCKET, either a file system path ("/run/systemd/notify") or,
 * with a leading '@', a name in the abstract namespace.  A service sends
 * newline-separated "KEY=VALUE" assignments in one datagram each time its
 * state changes: READY=1 once it serves, STATUS=text for `systemctl
 * status`, STOPPING=1 when it begins to shut down, WATCHDOG=1 as a keep-
 * alive when the unit has WatchdogSec= (then WATCHDOG_USEC holds the
 * interval, and WATCHDOG_PID, when set, the one process it applies to).
 *
 * Two layers:
 *
 *   - sd_notify_send_to() / sd_notify_send() / sd_notify_watchdog_parse():
 *     plain functions, no state, no logging.  Sending to an unset or empty
 *     address is a no-op that returns 0 (not run by systemd); a failure
 *     returns -1 with one line for an operator in err.
 *
 *   - struct sd_notify: what a daemon keeps on its libuv loop.
 *     sd_notify_start() takes the three variables out of the environment
 *     (so that Postgres, pg_ctl and hooks started later do not talk to the
 *     service manager in the daemon's name: Debian's postgres is built
 *     with systemd support) and, when the watchdog is on, pings WATCHDOG=1
 *     at half the interval from an unreferenced timer (it never keeps the
 *     loop alive).  sd_notify_state() sends and logs a warning on failure:
 *     a daemon never stops because systemd could not be told something.
 *
 * Everything here is safe to call when the daemon is not run by systemd.
 *
 * Errors: 0 or -1 with one line in err, never an errno; sd_notify_state()
 * logs its failure (warn) as well.
 */
#ifndef TENURE_COMMON_SD_NOTIFY_H
#define TENURE_COMMON_SD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

/* One datagram holding state to the socket at addr ("/path" or "@name").
 * addr NULL or "": 0 and nothing sent. */
int sd_notify_send_to(const char *addr, const char *state, char *err,
		      size_t errlen);

/* The same to $NOTIFY_SOCKET. */
int sd_notify_send(const char *state, char *err, size_t errlen);

/* Whether the watchdog applies to process self, from the texts of
 * WATCHDOG_USEC and WATCHDOG_PID (either may be NULL = unset):
 *   1  on, *usec = the interval (> 0);
 *   0  off: WATCHDOG_USEC unset, or WATCHDOG_PID names another process;
 *  -1  a value is not a positive decimal number, message in err. */
int sd_notify_watchdog_parse(const char *usec_text, const char *pid_text,
			     pid_t self, uint64_t *usec, char *err,
			     size_t errlen);

struct sd_notify {
	char *addr;             /* NOTIFY_SOCKET's copy; NULL: not notified */
	uint64_t watchdog_usec; /* 0: no watchdog */
	uv_timer_t timer;
	bool timer_on;
};

/* Reads and unsets NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID; starts the
 * watchdog timer if it applies.  0, or -1 with err for a bad watchdog
 * value (then notifications still work, without the watchdog: tenure's
 * daemons log it and go on, as systemd itself never sets such values). */
int sd_notify_start(uv_loop_t *loop, struct sd_notify *n, char *err,
		    size_t errlen);

/* Send a state line built printf-style; a failure is logged (warn) and
 * returned as -1. */
int sd_notify_state(struct sd_notify *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Close the timer (its close completes on the loop) and free the copy. */
void sd_notify_stop(struct sd_notify *n);

#endif
