/*
 * daemon_signals.h — the signals both daemons (tenured, tenure-agent)
 * treat alike, on their libuv loop.
 *
 * Contract
 * --------
 * SIGTERM and SIGINT ask for a clean stop: on_stop(arg, signum) is called
 * for each one that arrives (the daemon decides what a second one means).
 * SIGHUP calls on_reload(arg) when the daemon has one (what it re-reads
 * is its business); without one it is logged (event=signal_ignored) and
 * ignored.  Never does a SIGHUP stop the process: a stray one (a closed
 * terminal, a reload by habit) must not, which for the agent would fence
 * its Postgres.  Started only
 * once the daemon can stop cleanly; closed with the rest of its handles.
 *
 * Errors: none returned (libuv's signal calls fail only on bad arguments
 * and are not checked); the ignored SIGHUP is the one log line.
 */
#ifndef TENURE_COMMON_DAEMON_SIGNALS_H
#define TENURE_COMMON_DAEMON_SIGNALS_H

#include <uv.h>

struct daemon_signals {
	uv_signal_t term, intr, hup;
	void (*on_stop)(void *arg, int signum);
	void (*on_reload)(void *arg); /* NULL: SIGHUP ignored */
	void *arg;
};

void daemon_signals_start(uv_loop_t *loop, struct daemon_signals *s,
			  void (*on_stop)(void *arg, int signum),
			  void (*on_reload)(void *arg), void *arg);
void daemon_signals_close(struct daemon_signals *s);

#endif
