/*
 * watchdog.h — the optional Linux hardware/software watchdog
 * (/dev/watchdog, Documentation/watchdog/watchdog-api.rst): the last line
 * of defence when the agent, the guard and the whole userland stop
 * running.  If nobody feeds the device within its timeout, the kernel (or
 * the hardware) reboots the host, and a rebooted host's Postgres accepts
 * no writes.
 *
 * Contract
 * --------
 * How the agent uses it: it opens (arms) the device before it promotes,
 * with a timeout shorter than the lease TTL minus the time another node
 * needs to be granted the lease (so the reboot lands before anyone else
 * can be primary), and it feeds only after a CONFIRMED renewal, never on
 * a timer of its own: a host whose agent cannot renew is rebooted even if
 * the agent's loop still runs.  When it stops being primary cleanly it
 * disarms (the "magic close": write 'V', then close).  An agent that dies
 * while armed leaves the device armed, on purpose.
 *
 * watchdog_open() opens path for writing (this alone arms a real device)
 * and sets the timeout with WDIOC_SETTIMEOUT.  A path that is not a
 * watchdog (a FIFO or a file used as a test double) refuses the ioctl with
 * ENOTTY or EINVAL: that is noted in note and is not an error; feeds are
 * then plain writes.  Any other failure closes the device with the magic
 * close and returns a negative errno with the reason in note.  The
 * granted timeout is in w->timeout_s (drivers round it).
 *
 * watchdog_feed() is WDIOC_KEEPALIVE on a real device, a write of "1" on
 * a double.  watchdog_disarm() writes 'V' and closes (a driver built with
 * nowayout ignores the 'V' and the host reboots after the timeout: that
 * is the operator's choice).  No global state; not thread-safe per
 * device.
 *
 * Errors: 0 or a negative errno with the reason in note (above); nothing is
 * logged here.
 */
#ifndef TENURE_FENCING_WATCHDOG_H
#define TENURE_FENCING_WATCHDOG_H

#include <stdbool.h>
#include <stddef.h>

struct watchdog {
	int fd;        /* -1 when closed */
	bool ioctls;   /* a real watchdog device */
	int timeout_s; /* as granted by the driver (or as asked) */
};

int watchdog_open(const char *path, int timeout_s, struct watchdog *w,
		  char *note, size_t notelen);
/* 0 or a negative errno. */
int watchdog_feed(struct watchdog *w);
/* 0 or a negative errno (the device is closed either way). */
int watchdog_disarm(struct watchdog *w);

#endif
