/*
 * spawn.h — run a program asynchronously on a libuv loop, feed it stdin,
 * capture the tail of its output, and kill its whole process group when
 * it overstays its timeout.  Used for pg_ctl, hook scripts and STONITH
 * agents.
 *
 * Contract
 * --------
 * Loop thread only; no global state (any number of runs on one loop).
 * spawn_run() copies what it needs from opts: the caller's strings may go
 * away as soon as it returns.
 *
 * The child runs in a new session (UV_PROCESS_DETACHED, i.e. setsid), so
 * its process group id is its pid and a timeout's SIGKILL to the group
 * reaches every grandchild that did not leave the group itself.  The
 * environment is the current one with env_extra ("NAME=VALUE") added; an
 * extra entry replaces a variable of the same name.  stdin receives
 * stdin_data and then EOF (no stdin_data: /dev/null); a child that exits
 * without reading it is fine (no SIGPIPE reaches this process).  stdout
 * and stderr share one pipe, so their lines interleave as written; every
 * byte is also appended to log_path when given.
 *
 * The callback runs exactly once, from the loop, never from inside
 * spawn_run(), and only after the child exited AND its output pipe
 * reached EOF, so all output is in r->output (the last SPAWN_OUTPUT_MAX
 * bytes, NUL-terminated).  A background grandchild that keeps the pipe
 * open therefore delays the callback until it exits; with a timeout it is
 * killed with the group.  If something outside the group still holds the
 * pipe one second after the timeout's kill, the run ends without waiting
 * for it.  r and its output are valid only during the callback.
 *
 * Result: exit_status is the exit code (0..255) when the child exited,
 * term_signal the signal that killed it (then exit_status is 0).
 * timed_out says the timeout fired and the group was killed (the child's
 * term_signal is then normally SIGKILL).
 *
 * Errors: spawn_run returns 0 or a negative libuv code (then cb never
 * runs); the program's own failure (exit status, signal, timeout) is in its
 * result.
 */
#ifndef TENURE_FENCING_SPAWN_H
#define TENURE_FENCING_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define SPAWN_OUTPUT_MAX 8192

struct spawn_opts {
	const char *const *argv;      /* argv[0] is looked up in PATH */
	const char *const *env_extra; /* NAME=VALUE, NULL-terminated; or NULL */
	const char *cwd;              /* NULL: the current directory */
	const char *stdin_data;       /* NULL: stdin is /dev/null */
	size_t stdin_len;
	const char *log_path; /* append stdout+stderr; NULL: don't */
	uint64_t timeout_ms;  /* 0: none */
};

struct spawn_result {
	int exit_status;
	int term_signal;
	bool timed_out;
	const char *output; /* last SPAWN_OUTPUT_MAX bytes */
};

typedef void (*spawn_cb)(void *arg, const struct spawn_result *r);

/* 0: cb will run exactly once, later.  <0: a libuv error (UV_ENOENT for a
 * missing program, UV_EACCES, UV_ENOMEM, or the error opening log_path),
 * and cb never runs. */
int spawn_run(uv_loop_t *loop, const struct spawn_opts *opts, spawn_cb cb,
	      void *arg);

/* argv as one line for logs: arguments joined by spaces, those with
 * spaces, quotes or shell metacharacters in single quotes.  Truncated to
 * cap (always NUL-terminated when cap > 0).  Returns buf. */
const char *spawn_format_argv(const char *const *argv, char *buf, size_t cap);

#endif
