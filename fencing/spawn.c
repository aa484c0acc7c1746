/*
 * spawn.c — see spawn.h.
 *
 * One heap-allocated job per run holds every handle.  The output pipe is
 * made here (not by uv_spawn) so that stdout and stderr can share it.
 * stdin is a socketpair written with send(MSG_NOSIGNAL): a child that
 * exits without reading must cost us an EPIPE, not a SIGPIPE, and we do
 * not own this process's signal dispositions.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fencing/spawn.h"

/* After the timeout's kill, how long we still wait for output EOF. */
#define SPAWN_DRAIN_MS 1000

extern char **environ;

struct spawn_job {
	spawn_cb cb; /* NULL: failed spawn, nobody to tell */
	void *arg;
	uv_process_t proc;
	uv_pipe_t out;     /* our end of the child's stdout+stderr */
	uv_poll_t in_poll; /* our end of the child's stdin */
	uv_timer_t timer;
	int in_fd; /* -1: no stdin pipe */
	char *in_buf;
	size_t in_len, in_off;
	bool in_open;
	int log_fd; /* -1: no log file */
	int open_handles;
	bool exited, out_eof, finishing, timed_out;
	int exit_status, term_signal;
	size_t out_len;
	char out_tail[SPAWN_OUTPUT_MAX + 1];
	char rbuf[4096];
};

static void job_close_cb(uv_handle_t *h)
{
	struct spawn_job *j = h->data;
	if (h == (uv_handle_t *)&j->in_poll)
		close(j->in_fd);
	if (--j->open_handles > 0)
		return;
	if (j->cb) {
		j->out_tail[j->out_len] = '\0';
		struct spawn_result r = {
			.exit_status = j->exit_status,
			.term_signal = j->term_signal,
			.timed_out = j->timed_out,
			.output = j->out_tail,
		};
		j->cb(j->arg, &r);
	}
	if (j->log_fd >= 0)
		close(j->log_fd);
	free(j->in_buf);
	free(j);
}

static void job_close(struct spawn_job *j, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, job_close_cb);
}

static void stdin_done(struct spawn_job *j)
{
	if (!j->in_open)
		return;
	j->in_open = false;
	uv_poll_stop(&j->in_poll);
	job_close(j, (uv_handle_t *)&j->in_poll); /* closing our end = EOF */
}

/* Every handle closes once the child exited and its output hit EOF; the
 * last close callback reports (job_close_cb). */
static void job_maybe_finish(struct spawn_job *j)
{
	if (!j->exited || !j->out_eof || j->finishing)
		return;
	j->finishing = true;
	stdin_done(j);
	uv_timer_stop(&j->timer);
	job_close(j, (uv_handle_t *)&j->timer);
	job_close(j, (uv_handle_t *)&j->out);
	job_close(j, (uv_handle_t *)&j->proc);
}

/* Keep the last SPAWN_OUTPUT_MAX bytes. */
static void tail_append(struct spawn_job *j, const char *p, size_t n)
{
	if (n >= SPAWN_OUTPUT_MAX) {
		memcpy(j->out_tail, p + n - SPAWN_OUTPUT_MAX, SPAWN_OUTPUT_MAX);
		j->out_len = SPAWN_OUTPUT_MAX;
		return;
	}
	if (j->out_len + n > SPAWN_OUTPUT_MAX) {
		size_t drop = j->out_len + n - SPAWN_OUTPUT_MAX;
		memmove(j->out_tail, j->out_tail + drop, j->out_len - drop);
		j->out_len -= drop;
	}
	memcpy(j->out_tail + j->out_len, p, n);
	j->out_len += n;
}

/* The log is best effort: a full disk must not stop a fencing action. */
static void log_append(int fd, const char *p, size_t n)
{
	while (fd >= 0 && n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void out_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct spawn_job *j = h->data;
	*buf = uv_buf_init(j->rbuf, sizeof(j->rbuf));
}

static void out_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct spawn_job *j = s->data;
	if (n > 0) {
		tail_append(j, buf->base, (size_t)n);
		log_append(j->log_fd, buf->base, (size_t)n);
		return;
	}
	if (n == 0)
		return; /* EAGAIN */
	uv_read_stop(s);
	j->out_eof = true;
	job_maybe_finish(j);
}

static void in_poll_cb(uv_poll_t *p, int status, int events)
{
	struct spawn_job *j = p->data;
	if (status < 0) {
		stdin_done(j);
		return;
	}
	while (j->in_off < j->in_len) {
		ssize_t w = send(j->in_fd, j->in_buf + j->in_off,
				 j->in_len - j->in_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* wait for the next writable event */
		if (w < 0)
			break; /* EPIPE: the child does not want it */
		j->in_off += (size_t)w;
	}
	stdin_done(j);
}

static void exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
	struct spawn_job *j = p->data;
	j->exited = true;
	j->exit_status = (int)status;
	j->term_signal = term_signal;
	job_maybe_finish(j);
}

/* First expiry: SIGKILL the whole group.  Later ones (every
 * SPAWN_DRAIN_MS): kill again if the child still lives, else stop waiting
 * for an EOF that something outside the group withholds. */
static void timer_cb(uv_timer_t *t)
{
	struct spawn_job *j = t->data;
	if (j->timed_out && j->exited) {
		uv_read_stop((uv_stream_t *)&j->out);
		j->out_eof = true;
		job_maybe_finish(j);
		return;
	}
	j->timed_out = true;
	/* The child's pid stays reserved as a group and session id while
	 * any member lives, so the group kill cannot hit a stranger. */
	kill(-j->proc.pid, SIGKILL);
	uv_timer_start(t, timer_cb, SPAWN_DRAIN_MS, 0);
}

/* environ plus extra, an extra NAME=... replacing an inherited NAME. */
static char **env_build(const char *const *extra)
{
	size_t n_env = 0, n_extra = 0;
	while (environ && environ[n_env])
		n_env++;
	while (extra && extra[n_extra])
		n_extra++;
	char **env = calloc(n_env + n_extra + 1, sizeof(*env));
	if (!env)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n_env; i++) {
		bool replaced = false;
		for (size_t k = 0; k < n_extra && !replaced; k++) {
			size_t len = strcspn(extra[k], "=");
			replaced = strncmp(environ[i], extra[k], len) == 0 &&
				   environ[i][len] == '=';
		}
		if (!replaced)
			env[o++] = environ[i];
	}
	for (size_t k = 0; k < n_extra; k++)
		env[o++] = (char *)extra[k];
	return env;
}

static bool env_valid(const char *const *extra)
{
	for (size_t k = 0; extra && extra[k]; k++)
		if (extra[k][0] == '=' || !strchr(extra[k], '='))
			return false;
	return true;
}

static struct spawn_job *job_new(const struct spawn_opts *o, spawn_cb cb,
				 void *arg)
{
	struct spawn_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->cb = cb;
	j->arg = arg;
	j->in_fd = -1;
	j->log_fd = -1;
	if (o->stdin_data) {
		j->in_len = o->stdin_len;
		j->in_buf = malloc(o->stdin_len ? o->stdin_len : 1);
		if (!j->in_buf) {
			free(j);
			return NULL;
		}
		memcpy(j->in_buf, o->stdin_data, o->stdin_len);
	}
	return j;
}

/* The fds the child gets: out[1] for stdout+stderr, in[1] for stdin.
 * Ours: out[0] (read), in[0] (write, non-blocking). */
static int make_fds(const struct spawn_opts *o, int out[2], int in[2])
{
	in[0] = in[1] = -1;
	int rc = uv_pipe(out, 0, 0);
	if (rc < 0)
		return rc;
	if (!o->stdin_data)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    fcntl(in[0], F_SETFL, O_NONBLOCK) < 0) {
		rc = uv_translate_sys_error(errno);
		if (in[0] >= 0) {
			close(in[0]);
			close(in[1]);
		}
		close(out[0]);
		close(out[1]);
		return rc;
	}
	return 0;
}

static int job_spawn(uv_loop_t *loop, struct spawn_job *j,
		     const struct spawn_opts *o, int out_w, int in_r)
{
	char **env = env_build(o->env_extra);
	if (!env)
		return UV_ENOMEM;
	uv_stdio_container_t stdio[3];
	stdio[0].flags = in_r >= 0 ? UV_INHERIT_FD : UV_IGNORE;
	stdio[0].data.fd = in_r;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = out_w;
	stdio[2] = stdio[1];
	uv_process_options_t po = {
		.exit_cb = exit_cb,
		.file = o->argv[0],
		.args = (char **)o->argv,
		.env = env,
		.cwd = o->cwd,
		.flags = UV_PROCESS_DETACHED,
		.stdio_count = 3,
		.stdio = stdio,
	};
	j->proc.data = j;
	j->open_handles++;
	int rc = uv_spawn(loop, &j->proc, &po);
	free(env);
	return rc;
}

int spawn_run(uv_loop_t *loop, const struct spawn_opts *o, spawn_cb cb,
	      void *arg)
{
	if (!o->argv || !o->argv[0] || !env_valid(o->env_extra))
		return UV_EINVAL;
	struct spawn_job *j = job_new(o, cb, arg);
	if (!j)
		return UV_ENOMEM;
	int rc, out[2], in[2];
	if (o->log_path) {
		j->log_fd = open(o->log_path,
				 O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				 0640);
		if (j->log_fd < 0) {
			rc = uv_translate_sys_error(errno);
			goto free_job;
		}
	}
	rc = make_fds(o, out, in);
	if (rc < 0)
		goto free_job;

	/* From here on the job is freed by its last close callback. */
	uv_pipe_init(loop, &j->out, 0);
	j->out.data = j;
	j->open_handles++;
	rc = uv_pipe_open(&j->out, out[0]);
	if (rc < 0)
		close(out[0]);
	uv_timer_init(loop, &j->timer);
	j->timer.data = j;
	j->open_handles++;
	if (in[0] >= 0) {
		j->in_fd = in[0];
		j->in_poll.data = j;
		int prc = uv_poll_init(loop, &j->in_poll, in[0]);
		if (prc == 0) {
			j->open_handles++;
			j->in_open = true;
		} else {
			close(in[0]);
			rc = rc < 0 ? rc : prc;
		}
	}
	if (rc == 0)
		rc = job_spawn(loop, j, o, out[1], in[1]);
	close(out[1]);
	if (in[1] >= 0)
		close(in[1]);
	if (rc < 0)
		goto close_job;

	uv_read_start((uv_stream_t *)&j->out, out_alloc_cb, out_read_cb);
	if (j->in_open)
		uv_poll_start(&j->in_poll, UV_WRITABLE, in_poll_cb);
	if (o->timeout_ms)
		uv_timer_start(&j->timer, timer_cb, o->timeout_ms, 0);
	return 0;

close_job:
	j->cb = NULL;
	if (j->in_open) {
		j->in_open = false;
		job_close(j, (uv_handle_t *)&j->in_poll);
	}
	job_close(j, (uv_handle_t *)&j->timer);
	job_close(j, (uv_handle_t *)&j->out);
	if (j->proc.data == j)
		job_close(j, (uv_handle_t *)&j->proc);
	return rc;
free_job:
	if (j->log_fd >= 0)
		close(j->log_fd);
	free(j->in_buf);
	free(j);
	return rc;
}

static bool arg_plain(const char *a)
{
	if (!*a)
		return false;
	for (; *a; a++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			    "YZ"
			    "0123456789_@%+=:,./-",
			    *a))
			return false;
	return true;
}

/* Append s to buf (capacity cap, current length *o), truncating. */
static void put(char *buf, size_t cap, size_t *o, const char *s, size_t n)
{
	while (n-- > 0 && *o + 1 < cap)
		buf[(*o)++] = *s++;
	buf[*o] = '\0';
}

const char *spawn_format_argv(const char *const *argv, char *buf, size_t cap)
{
	if (cap == 0)
		return buf;
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; argv && argv[i]; i++) {
		const char *a = argv[i];
		if (i > 0)
			put(buf, cap, &o, " ", 1);
		if (arg_plain(a)) {
			put(buf, cap, &o, a, strlen(a));
			continue;
		}
		put(buf, cap, &o, "'", 1);
		for (; *a; a++) {
			if (*a == '\'')
				put(buf, cap, &o, "'\\''", 4);
			else
				put(buf, cap, &o, a, 1);
		}
		put(buf, cap, &o, "'", 1);
	}
	return buf;
}
