/*
 * guard.h — the fence guard: a small process, forked by tenure-agent
 * before it creates its libuv loop, that kills the local Postgres when the
 * agent can no longer prove it holds the primary lease.  The agent's own
 * timers cannot do this when the agent itself is the problem: SIGSTOPped,
 * hung in a system call, swapping, or dead.  (docs/design.md rule 7.)
 *
 * Contract
 * --------
 * Arming.  guard_arm(g, deadline) says "if I do not push a later deadline
 * before this instant, kill Postgres".  The agent arms while it runs a
 * primary, with its lease's local validity end (docs/design.md rule 3:
 * already short of the witnesses' expiry by the fencing time S), and
 * re-arms after every confirmed renewal.  guard_disarm() when Postgres no
 * longer accepts writes (demoted, stopped, fenced).  Deadlines are
 * CLOCK_BOOTTIME milliseconds (clock.h), the clock both processes share;
 * a suspended host's deadline passes during the suspend.
 *
 * The guard process.  It polls the channel and a CLOCK_BOOTTIME timerfd
 * set to the deadline.  At or after the deadline while armed it calls
 * fence_pg_kill(datadir), logs one line on stderr
 *   ... level=warn event=guard_fence reason=deadline deadline_ms=...
 *       late_ms=... result="killed postmaster 1234 and 7 children"
 * and stays disarmed until the next arm (a failed kill is logged at
 * level=error and retried every GUARD_RETRY_MS until it succeeds or the
 * agent arms or disarms again).  An arm that was sent after the deadline
 * it replaces had already passed (the record carries its send time) does
 * not save Postgres: the guard fences first, then takes the new deadline.
 * A guard that was itself stopped past the deadline therefore fences at
 * once when it resumes.  When the channel reaches EOF (the agent exited or
 * was killed) an armed guard fences at once, since nobody will renew any
 * more, then exits; a disarmed guard just exits.  Its exit status is 0, or
 * 1 when its last fence failed.
 *
 * The guard sets its name to "tenure-guard" (ps, top), keeps only its
 * channel and stderr (stdin and stdout become /dev/null, every other
 * inherited fd is closed), and ignores SIGINT, SIGTERM, SIGHUP and
 * SIGPIPE: a Ctrl-C or a `kill` meant for the agent's group must not
 * remove the guard while Postgres depends on it.  SIGKILL still works.
 *
 * The channel.  An AF_UNIX SOCK_SEQPACKET socketpair, so that each record
 * arrives whole, the guard sees EOF when the agent's end closes, and a
 * write to a dead guard fails with EPIPE instead of raising SIGPIPE.  The
 * agent's end is CLOEXEC and non-blocking: guard_arm() never blocks the
 * agent's loop; it fails with -EAGAIN when the guard has not read
 * hundreds of records (it is stopped or hung) and -EPIPE when it died.
 * The agent must treat either as "the guard cannot protect me" and fence
 * itself.  Records are struct guard_msg, native byte order (same host).
 *
 * Threading: guard_* are called from one thread of the agent; no global
 * state.
 *
 * Errors: guard_start returns 0 or -1 with a message in err,
 * guard_arm/disarm 0 or a negative errno; the guard process logs its own
 * lines on stderr.
 */
#ifndef TENURE_FENCING_GUARD_H
#define TENURE_FENCING_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GUARD_RETRY_MS 1000

enum guard_op {
	GUARD_OP_ARM = 1,
	GUARD_OP_DISARM = 2,
};

/* One record on the channel. */
struct guard_msg {
	uint32_t op;          /* enum guard_op */
	uint32_t reserved;    /* 0 */
	uint64_t deadline_ms; /* ARM: CLOCK_BOOTTIME ms */
	uint64_t sent_ms;     /* CLOCK_BOOTTIME ms when written */
};

struct guard {
	int fd;    /* the agent's end of the channel; -1 */
	pid_t pid; /* the guard process; 0 once reaped */
};

/* Fork the guard for datadir.  0, or -1 with a message in err (g is left
 * with fd -1 and pid 0). */
int guard_start(const char *datadir, struct guard *g, char *err, size_t errlen);
/* 0, or a negative errno: -EAGAIN (guard not reading), -EPIPE (guard
 * gone), -EBADF (stopped). */
int guard_arm(struct guard *g, uint64_t deadline_ms);
int guard_disarm(struct guard *g);
/* Disarm, close the channel and reap the guard (waits up to 2 s for it to
 * exit, then SIGKILLs it).  g is left with fd -1 and pid 0; a second call
 * does nothing. */
void guard_stop(struct guard *g);

#endif
