/*
 * guard.c — see guard.h.  The agent's side (start, arm, disarm, stop) is
 * at the bottom; the guard process's loop is above it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/fence_pg.h"
#include "fencing/guard.h"

#define GUARD_STOP_WAIT_MS 2000
#define GUARD_CHANNEL_FD 3

/* The guard process's whole state. */
struct guard_loop {
	const char *datadir;
	int fd;  /* channel */
	int tfd; /* CLOCK_BOOTTIME timerfd, or -1 */
	bool armed;
	uint64_t deadline_ms;
	bool retry; /* the last fence failed: try again */
	uint64_t retry_ms;
	bool eof;
	int status; /* exit status: 1 after a failed fence */
};

static void guard_fence(struct guard_loop *l, const char *reason)
{
	uint64_t now = clock_now_ms();
	char msg[512], qmsg[600], qdir[600];
	int rc = fence_pg_kill(l->datadir, msg, sizeof(msg));
	log_event(rc < 0 ? LOG_ERROR : LOG_WARN, "guard_fence",
		  "reason=%s datadir=%s deadline_ms=%llu late_ms=%lld "
		  "result=%s",
		  reason, log_quote(l->datadir, qdir, sizeof(qdir)),
		  (unsigned long long)l->deadline_ms,
		  (long long)(now - l->deadline_ms),
		  log_quote(msg, qmsg, sizeof(qmsg)));
	l->armed = false;
	l->retry = rc < 0;
	l->retry_ms = clock_now_ms() + GUARD_RETRY_MS;
	l->status = rc < 0 ? 1 : 0;
}

/* Point the timerfd at the deadline (absolute, CLOCK_BOOTTIME), or
 * disarm it.  A deadline already past fires at once. */
static void timer_set(struct guard_loop *l)
{
	if (l->tfd < 0)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (l->armed) {
		uint64_t d = l->deadline_ms ? l->deadline_ms : 1;
		its.it_value.tv_sec = (time_t)(d / 1000);
		its.it_value.tv_nsec = (long)(d % 1000) * 1000000L;
	}
	timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void guard_apply(struct guard_loop *l, const struct guard_msg *m)
{
	/* The agent pushed this only after the deadline had passed: it did
	 * not prove the lease in time, whatever it says now. */
	if (l->armed && m->sent_ms >= l->deadline_ms)
		guard_fence(l, "late_arm");
	if (m->op == GUARD_OP_ARM) {
		l->armed = true;
		l->deadline_ms = m->deadline_ms;
		l->retry = false;
	} else if (m->op == GUARD_OP_DISARM) {
		l->armed = false;
		l->retry = false;
	} else {
		log_event(LOG_ERROR, "guard_bad_record", "op=%u", m->op);
	}
}

/* Read every waiting record; notes EOF (the agent is gone). */
static void guard_drain(struct guard_loop *l)
{
	for (;;) {
		struct guard_msg m;
		ssize_t n = recv(l->fd, &m, sizeof(m), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) { /* EOF, or an error that means the same */
			l->eof = true;
			return;
		}
		if (n != (ssize_t)sizeof(m)) {
			log_event(LOG_ERROR, "guard_bad_record", "size=%zd", n);
			continue;
		}
		guard_apply(l, &m);
	}
}

/* poll() timeout: the timerfd does the exact wake-up; this is the
 * fallback without one (it runs on CLOCK_MONOTONIC, late after a
 * suspend) and the retry clock. */
static int poll_timeout(const struct guard_loop *l)
{
	uint64_t now = clock_now_ms(), at = UINT64_MAX;
	if (l->armed)
		at = l->deadline_ms;
	if (l->retry && l->retry_ms < at)
		at = l->retry_ms;
	if (at == UINT64_MAX)
		return -1;
	if (at <= now)
		return 0;
	return at - now > 60000 ? 60000 : (int)(at - now);
}

static void guard_wait(struct guard_loop *l)
{
	struct pollfd p[2] = {
		{ .fd = l->fd, .events = POLLIN },
		{ .fd = l->tfd, .events = POLLIN },
	};
	int n = poll(p, l->tfd >= 0 ? 2 : 1, poll_timeout(l));
	if (n > 0 && l->tfd >= 0 && (p[1].revents & POLLIN)) {
		uint64_t ticks;
		if (read(l->tfd, &ticks, sizeof(ticks)) < 0)
			ticks = 0; /* nothing to clear */
	}
}

/* The guard process's loop; returns its exit status. */
static int guard_run(const char *datadir, int fd)
{
	struct guard_loop l = {
		.datadir = datadir,
		.fd = fd,
		.tfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC),
	};
	if (l.tfd < 0)
		log_event(LOG_WARN, "guard_no_timerfd",
			  "error=\"%s\" note=\"deadlines may fire late after "
			  "a suspend\"",
			  strerror(errno));
	while (!l.eof) {
		guard_wait(&l);
		guard_drain(&l);
		uint64_t now = clock_now_ms();
		if (l.armed && now >= l.deadline_ms)
			guard_fence(&l, "deadline");
		else if (l.retry && now >= l.retry_ms && !l.eof)
			guard_fence(&l, "retry");
		timer_set(&l);
	}
	/* Nobody will renew any more. */
	if (l.armed || l.retry)
		guard_fence(&l, "agent_exit");
	if (l.tfd >= 0)
		close(l.tfd);
	return l.status;
}

/* In the forked child: keep stderr and the channel (moved to fd 3), make
 * stdin/stdout /dev/null, close everything else. */
static int child_fds(int fd)
{
	int ch = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	if (ch < 0)
		return -1;
	close(fd);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		if (null > 2)
			close(null);
	}
	if (dup2(ch, GUARD_CHANNEL_FD) < 0)
		return -1;
	close(ch);
	if (close_range(GUARD_CHANNEL_FD + 1, ~0u, 0) < 0) {
		long max = sysconf(_SC_OPEN_MAX);
		for (long i = GUARD_CHANNEL_FD + 1; i < max && i < 65536; i++)
			close((int)i);
	}
	return GUARD_CHANNEL_FD;
}

static void child_main(const char *datadir, int fd)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "tenure-guard", 0, 0, 0);
	int ch = child_fds(fd);
	if (ch < 0) {
		log_event(LOG_ERROR, "guard_start_failed", "error=\"%s\"",
			  strerror(errno));
		_exit(2);
	}
	_exit(guard_run(datadir, ch));
}

int guard_start(const char *datadir, struct guard *g, char *err, size_t errlen)
{
	int sv[2];
	g->fd = -1;
	g->pid = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "cannot create the guard's channel: %s",
			 strerror(errno));
		return -1;
	}
	fflush(NULL); /* or the child would repeat buffered output */
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork the fence guard: %s",
			 strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(datadir, sv[1]);
	}
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		snprintf(err, errlen, "cannot set up the guard's channel: %s",
			 strerror(errno));
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	g->fd = sv[0];
	g->pid = pid;
	return 0;
}

static int guard_send(struct guard *g, uint32_t op, uint64_t deadline_ms)
{
	if (g->fd < 0)
		return -EBADF;
	struct guard_msg m = {
		.op = op,
		.deadline_ms = deadline_ms,
		.sent_ms = clock_now_ms(),
	};
	for (;;) {
		ssize_t n = send(g->fd, &m, sizeof(m),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == (ssize_t)sizeof(m))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -errno : -EIO;
	}
}

int guard_arm(struct guard *g, uint64_t deadline_ms)
{
	return guard_send(g, GUARD_OP_ARM, deadline_ms);
}

int guard_disarm(struct guard *g)
{
	return guard_send(g, GUARD_OP_DISARM, 0);
}

void guard_stop(struct guard *g)
{
	if (g->fd >= 0) {
		guard_disarm(g);
		close(g->fd);
		g->fd = -1;
	}
	if (g->pid <= 0)
		return;
	for (int waited = 0; waited < GUARD_STOP_WAIT_MS; waited += 10) {
		pid_t r = waitpid(g->pid, NULL, WNOHANG);
		if (r == g->pid || (r < 0 && errno != EINTR)) {
			g->pid = 0;
			return;
		}
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
	kill(g->pid, SIGKILL);
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	g->pid = 0;
}
