/* watchdog.c — see watchdog.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fencing/watchdog.h"

static int write_byte(int fd, char c)
{
	for (;;) {
		ssize_t n = write(fd, &c, 1);
		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -errno : -EIO;
	}
}

int watchdog_open(const char *path, int timeout_s, struct watchdog *w,
		  char *note, size_t notelen)
{
	w->fd = -1;
	w->ioctls = false;
	w->timeout_s = timeout_s;
	note[0] = '\0';
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(note, notelen, "cannot open watchdog %s: %s", path,
			 strerror(e));
		return -e;
	}
	int t = timeout_s;
	if (ioctl(fd, WDIOC_SETTIMEOUT, &t) == 0) {
		w->ioctls = true;
		w->timeout_s = t;
		snprintf(note, notelen, "watchdog %s armed, timeout %d s", path,
			 t);
	} else if (errno == ENOTTY || errno == EINVAL) {
		snprintf(note, notelen,
			 "%s is not a watchdog device "
			 "(WDIOC_SETTIMEOUT: %s): feeding it by writes, its "
			 "timeout is not set",
			 path, strerror(errno));
	} else {
		int e = errno;
		snprintf(note, notelen,
			 "cannot set the timeout of watchdog "
			 "%s to %d s: %s",
			 path, timeout_s, strerror(e));
		write_byte(fd, 'V'); /* undo the arming of the open */
		close(fd);
		return -e;
	}
	w->fd = fd;
	return 0;
}

int watchdog_feed(struct watchdog *w)
{
	if (w->fd < 0)
		return -EBADF;
	if (w->ioctls) {
		int dummy = 0;
		return ioctl(w->fd, WDIOC_KEEPALIVE, &dummy) == 0 ? 0 : -errno;
	}
	return write_byte(w->fd, '1');
}

int watchdog_disarm(struct watchdog *w)
{
	if (w->fd < 0)
		return -EBADF;
	int rc = write_byte(w->fd, 'V');
	if (close(w->fd) < 0 && rc == 0)
		rc = -errno;
	w->fd = -1;
	return rc;
}
