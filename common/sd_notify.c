/*
 * sd_notify.c — systemd's notification datagrams and the watchdog timer;
 * the contract is in sd_notify.h.
 */
#include "common/sd_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

/* ---- the datagram --------------------------------------------------------- */

/* "/path" or "@abstract" into a sockaddr_un and its length.  An abstract
 * name has no terminating NUL: its length is part of the name. */
static int make_addr(const char *addr, struct sockaddr_un *sa, socklen_t *len,
		     char *err, size_t errlen)
{
	size_t n = strlen(addr);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (addr[0] != '/' && addr[0] != '@') {
		snprintf(err, errlen,
			 "NOTIFY_SOCKET=\"%.200s\" is neither an "
			 "absolute path nor an abstract name (@...)",
			 addr);
		return -1;
	}
	if (n >= sizeof(sa->sun_path) || (addr[0] == '@' && n < 2)) {
		snprintf(err, errlen,
			 "NOTIFY_SOCKET: a socket address of 2 "
			 "to %zu bytes is expected, not \"%.120s\"",
			 sizeof(sa->sun_path) - 1, addr);
		return -1;
	}
	memcpy(sa->sun_path, addr, n);
	if (addr[0] == '@') {
		sa->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)sizeof(*sa);
	}
	return 0;
}

int sd_notify_send_to(const char *addr, const char *state, char *err,
		      size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t len;
	if (!addr || !addr[0])
		return 0;
	if (make_addr(addr, &sa, &len, err, errlen))
		return -1;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen,
			 "cannot create a socket to notify "
			 "systemd: %s",
			 strerror(errno));
		return -1;
	}
	size_t n = strlen(state);
	ssize_t sent;
	do
		sent = sendto(fd, state, n, MSG_NOSIGNAL,
			      (const struct sockaddr *)&sa, len);
	while (sent < 0 && errno == EINTR);
	int saved = errno;
	close(fd);
	if (sent == (ssize_t)n)
		return 0;
	snprintf(err, errlen, "cannot notify systemd at %.200s: %s", addr,
		 sent < 0 ? strerror(saved) : "short send");
	return -1;
}

int sd_notify_send(const char *state, char *err, size_t errlen)
{
	return sd_notify_send_to(getenv("NOTIFY_SOCKET"), state, err, errlen);
}

/* ---- the watchdog's variables ------------------------------------------------ */

/* A positive decimal number and nothing else ("+5", " 5", "5s" refused). */
static bool parse_positive(const char *s, uint64_t *out)
{
	if (!s || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return false;
	*out = (uint64_t)v;
	return true;
}

int sd_notify_watchdog_parse(const char *usec_text, const char *pid_text,
			     pid_t self, uint64_t *usec, char *err,
			     size_t errlen)
{
	uint64_t v, pid;
	*usec = 0;
	if (!usec_text)
		return 0;
	if (!parse_positive(usec_text, &v)) {
		snprintf(err, errlen,
			 "WATCHDOG_USEC=\"%.100s\" is not a "
			 "positive number of microseconds: check WatchdogSec= "
			 "in the unit",
			 usec_text);
		return -1;
	}
	if (pid_text) {
		if (!parse_positive(pid_text, &pid)) {
			snprintf(err, errlen,
				 "WATCHDOG_PID=\"%.100s\" is not a "
				 "process id",
				 pid_text);
			return -1;
		}
		/* Inherited from a parent the watchdog was meant for. */
		if (pid != (uint64_t)self)
			return 0;
	}
	*usec = v;
	return 1;
}

/* ---- on the daemon's loop ---------------------------------------------------- */

static void on_watchdog(uv_timer_t *t)
{
	sd_notify_state(t->data, "WATCHDOG=1");
}

/* Take a variable out of the environment: children must not see it. */
static char *take_env(const char *name)
{
	const char *v = getenv(name);
	char *copy = v ? strdup(v) : NULL;
	unsetenv(name);
	return copy;
}

int sd_notify_start(uv_loop_t *loop, struct sd_notify *n, char *err,
		    size_t errlen)
{
	memset(n, 0, sizeof(*n));
	n->addr = take_env("NOTIFY_SOCKET");
	char *usec = take_env("WATCHDOG_USEC"), *pid = take_env("WATCHDOG_PID");
	int on = sd_notify_watchdog_parse(usec, pid, getpid(),
					  &n->watchdog_usec, err, errlen);
	free(usec);
	free(pid);
	if (on < 0)
		return -1;
	if (on == 0 || !n->addr)
		return 0;
	/* Half the interval, as systemd advises: one late tick is not yet a
	 * missed deadline.  At least 1 ms for libuv. */
	uint64_t ms = n->watchdog_usec / 2000;
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	uv_timer_start(&n->timer, on_watchdog, ms ? ms : 1, ms ? ms : 1);
	uv_unref((uv_handle_t *)&n->timer);
	n->timer_on = true;
	return 0;
}

int sd_notify_state(struct sd_notify *n, const char *fmt, ...)
{
	char state[512], err[512];
	va_list ap;
	if (!n->addr)
		return 0;
	va_start(ap, fmt);
	vsnprintf(state, sizeof(state), fmt, ap);
	va_end(ap);
	if (sd_notify_send_to(n->addr, state, err, sizeof(err)) == 0)
		return 0;
	char q[600];
	log_event(LOG_WARN, "notify_failed", "reason=%s",
		  log_quote(err, q, sizeof(q)));
	return -1;
}

void sd_notify_stop(struct sd_notify *n)
{
	if (n->timer_on)
		uv_close((uv_handle_t *)&n->timer, NULL);
	n->timer_on = false;
	free(n->addr);
	n->addr = NULL;
}
