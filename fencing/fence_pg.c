/*
 * fence_pg.c — see fence_pg.h.
 *
 * Processes are identified by (pid, start time) so that a pid reused while
 * we wait is not mistaken for a survivor.  Everything is read straight from
 * /proc with open/read: no stdio, no malloc, usable in a freshly forked
 * process.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "fencing/fence_pg.h"

#define FENCE_PG_MAX_KIDS 2048 /* tracked for the wait; all get killed */
#define FENCE_PG_POLL_MS 10
#define FENCE_PG_STOP_MS 200 /* how long we wait for SIGSTOP to land */

struct proc_info {
	pid_t pid;
	pid_t ppid;
	char state;               /* R S D T Z X ... */
	unsigned long long start; /* field 22: start time in ticks */
};

struct kids {
	struct proc_info p[FENCE_PG_MAX_KIDS];
	size_t n;      /* tracked */
	size_t killed; /* signalled, tracked or not */
};

/* Read a small /proc file into buf (NUL-terminated); bytes read or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t o = 0;
	while (o + 1 < cap) {
		ssize_t n = read(fd, buf + o, cap - 1 - o);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		o += (size_t)n;
	}
	close(fd);
	buf[o] = '\0';
	return (ssize_t)o;
}

static int proc_stat(pid_t pid, struct proc_info *pi)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	/* comm may hold spaces and parentheses: fields start after the last
	 * ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	int ppid;
	char state;
	if (sscanf(p + 1, " %c %d", &state, &ppid) != 2)
		return -EIO;
	/* skip to field 22: after ')' come fields 3..; starttime is the 20th */
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EIO;
	pi->pid = pid;
	pi->ppid = ppid;
	pi->state = state;
	pi->start = strtoull(p + 1, NULL, 10);
	return 0;
}

static bool state_dead(char s)
{
	return s == 'Z' || s == 'X' || s == 'x';
}

/* Is the process we saw still running code? */
static bool proc_alive(const struct proc_info *pi)
{
	struct proc_info now;
	if (proc_stat(pi->pid, &now) < 0)
		return false;
	return now.start == pi->start && !state_dead(now.state);
}

/* argv[0] up to the first space or ':' (a backend's title is
 * "postgres: 15/main: checkpointer"), basename of that, into name. */
static void proc_name(pid_t pid, char *name, size_t cap)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	name[0] = '\0';
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return;
	buf[strcspn(buf, " :")] = '\0';
	const char *base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	size_t n = strnlen(base, cap - 1);
	memcpy(name, base, n);
	name[n] = '\0';
}

static bool name_is_postgres(const char *name)
{
	return strncmp(name, "postgres", 8) == 0 ||
	       strncmp(name, "postmaster", 10) == 0;
}

/* 1 with *pid set, 0 when there is no pid file, <0 on failure. */
static int read_pid(const char *datadir, pid_t *pid, char *msg, size_t len)
{
	char path[4096], buf[64];
	snprintf(path, sizeof(path), "%s/postmaster.pid", datadir);
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n == -ENOENT) {
		snprintf(msg, len, "no %s: postgres is not running", path);
		return 0;
	}
	if (n < 0) {
		snprintf(msg, len, "cannot read %s: %s", path,
			 strerror((int)-n));
		return (int)n;
	}
	char *end;
	errno = 0;
	long v = strtol(buf, &end, 10);
	if (v < 0) /* a standalone backend (postgres --single) writes -pid */
		v = -v;
	if (errno || end == buf || (*end != '\n' && *end != '\0') || v <= 1 ||
	    v > 0x3fffffff) {
		snprintf(msg, len,
			 "cannot tell the postmaster's pid: the first "
			 "line of %s is not a process id",
			 path);
		return -EIO;
	}
	*pid = (pid_t)v;
	return 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long elapsed_ms(uint64_t t0)
{
	return (long)(clock_mono_ms() - t0);
}

/* SIGSTOP lands asynchronously; wait (briefly) until it has. */
static void wait_stopped(const struct proc_info *pm)
{
	uint64_t t0 = clock_mono_ms();
	while (elapsed_ms(t0) < FENCE_PG_STOP_MS) {
		struct proc_info now;
		if (proc_stat(pm->pid, &now) < 0 || now.state == 'T' ||
		    state_dead(now.state))
			return;
		sleep_ms(1);
	}
}

static bool kids_has(const struct kids *k, const struct proc_info *pi)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->p[i].pid == pi->pid && k->p[i].start == pi->start)
			return true;
	return false;
}

/* One pass over /proc: SIGKILL every live child of parent.  Returns how
 * many live children it found, or -errno if /proc cannot be read. */
static int kill_children_once(pid_t parent, struct kids *k)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	int found = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		struct proc_info pi;
		if (proc_stat((pid_t)atoi(e->d_name), &pi) < 0 ||
		    pi.ppid != parent || state_dead(pi.state))
			continue;
		found++;
		kill(pi.pid, SIGKILL);
		if (kids_has(k, &pi))
			continue;
		k->killed++;
		if (k->n < FENCE_PG_MAX_KIDS)
			k->p[k->n++] = pi;
	}
	closedir(d);
	return found;
}

/* The postmaster is stopped and cannot fork: rescan until a pass finds
 * no live child (a killed child may take a moment to become a zombie). */
static int kill_children(pid_t parent, struct kids *k)
{
	uint64_t t0 = clock_mono_ms();
	for (;;) {
		int found = kill_children_once(parent, k);
		if (found <= 0)
			return found;
		if (elapsed_ms(t0) > FENCE_PG_WAIT_MS)
			return 0; /* the final wait reports survivors */
		sleep_ms(1);
	}
}

static size_t count_alive(const struct proc_info *pm, const struct kids *k)
{
	size_t n = proc_alive(pm) ? 1 : 0;
	for (size_t i = 0; i < k->n; i++)
		if (proc_alive(&k->p[i]))
			n++;
	return n;
}

static int wait_gone(const struct proc_info *pm, const struct kids *k)
{
	uint64_t t0 = clock_mono_ms();
	while (count_alive(pm, k) > 0) {
		if (elapsed_ms(t0) >= FENCE_PG_WAIT_MS)
			return -ETIMEDOUT;
		sleep_ms(FENCE_PG_POLL_MS);
	}
	return 0;
}

/* 1: pid is a live postgres we should kill; 0: not running (msg says
 * why). */
static int check_postmaster(pid_t pid, const char *datadir,
			    struct proc_info *pm, char *msg, size_t len)
{
	char name[256];
	if (proc_stat(pid, pm) < 0 || state_dead(pm->state)) {
		snprintf(msg, len,
			 "%s/postmaster.pid names pid %d, which is "
			 "not running: nothing to kill",
			 datadir, (int)pid);
		return 0;
	}
	proc_name(pid, name, sizeof(name));
	if (!name_is_postgres(name)) {
		snprintf(msg, len,
			 "%s/postmaster.pid names pid %d, which is "
			 "\"%s\", not postgres: stale pid file, nothing killed",
			 datadir, (int)pid, name);
		return 0;
	}
	return 1;
}

int fence_pg_kill(const char *datadir, char *msg, size_t msglen)
{
	pid_t pid = 0;
	struct proc_info pm;
	struct kids k;
	k.n = k.killed = 0;

	int rc = read_pid(datadir, &pid, msg, msglen);
	if (rc <= 0)
		return rc;
	rc = check_postmaster(pid, datadir, &pm, msg, msglen);
	if (rc <= 0)
		return rc;
	if (kill(pid, SIGSTOP) < 0) {
		rc = -errno;
		if (rc == -ESRCH) {
			snprintf(msg, msglen, "postmaster %d exited by itself",
				 (int)pid);
			return 0;
		}
		snprintf(msg, msglen, "cannot stop postmaster %d: %s", (int)pid,
			 strerror(-rc));
		return rc;
	}
	wait_stopped(&pm);
	int kids_rc = kill_children(pid, &k);
	if (kill(pid, SIGKILL) < 0 && errno != ESRCH) {
		rc = -errno;
		kill(pid, SIGCONT); /* never leave it frozen */
		snprintf(msg, msglen, "cannot kill postmaster %d: %s", (int)pid,
			 strerror(-rc));
		return rc;
	}
	rc = wait_gone(&pm, &k);
	if (kids_rc < 0) {
		snprintf(msg, msglen,
			 "killed postmaster %d, but cannot list "
			 "its children in /proc: %s",
			 (int)pid, strerror(-kids_rc));
		return kids_rc;
	}
	if (rc < 0) {
		snprintf(msg, msglen,
			 "killed postmaster %d and %zu children, "
			 "but %zu still run %d ms later",
			 (int)pid, k.killed, count_alive(&pm, &k),
			 FENCE_PG_WAIT_MS);
		return rc;
	}
	snprintf(msg, msglen, "killed postmaster %d and %zu children", (int)pid,
		 k.killed);
	return 0;
}
