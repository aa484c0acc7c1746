/*
 * fence_pg.h — make a local PostgreSQL stop accepting writes NOW, by
 * killing it.  Used by the agent (when it cannot demote in time) and by
 * the guard process (when the agent stopped proving it holds the lease).
 *
 * Contract
 * --------
 * fence_pg_kill(datadir) reads the postmaster's pid from the first line
 * of DATADIR/postmaster.pid and checks that the process exists and is a
 * postgres (its argv[0], as in /proc/PID/cmdline, has a basename starting
 * with "postgres" or "postmaster"); anything else is a stale pid file and
 * nothing is killed.  Then, in this order:
 *   1. SIGSTOP the postmaster, so that it can neither fork new backends
 *      nor notice its children dying and run crash recovery;
 *   2. SIGKILL every process whose parent is the postmaster (found in
 *      /proc/PID/stat), rescanning until a scan finds no live one;
 *   3. SIGKILL the postmaster (a SIGKILL ends a stopped process too);
 *   4. poll every 10 ms, for at most FENCE_PG_WAIT_MS, until all of them
 *      are gone (a zombie counts as gone: it runs no code).
 * It never leaves a process stopped: if step 3 cannot be done, the
 * postmaster gets SIGCONT.
 *
 * Returns 0 when nothing is left running: killed, or not running in the
 * first place (no pid file, a stale pid, a non-postgres pid).  Returns a
 * negative errno on failure (pid file unreadable or garbled: -EIO/-EACCES;
 * a signal refused: -EPERM; processes still alive after the wait:
 * -ETIMEDOUT).  msg always says what was found and done, e.g. "killed
 * postmaster 1234 and 7 children".
 *
 * No libuv, no heap allocation of its own, no global state: the guard
 * calls it from a plain forked process.  Blocks for up to about
 * FENCE_PG_WAIT_MS.
 *
 * Errors: 0 or a negative errno with the reason in msg (above); nothing is
 * logged here.
 */
#ifndef TENURE_FENCING_FENCE_PG_H
#define TENURE_FENCING_FENCE_PG_H

#include <stddef.h>

#define FENCE_PG_WAIT_MS 2000

int fence_pg_kill(const char *datadir, char *msg, size_t msglen);

#endif
