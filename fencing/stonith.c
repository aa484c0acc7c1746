/*
 * stonith.c — see stonith.h.  Two spawn_run() steps chained through their
 * callbacks: action=off, then action=status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/spawn.h"
#include "fencing/stonith.h"

/* Exit codes of action=status in the fence-agent API. */
#define STATUS_ON 0
#define STATUS_UNREACHABLE 1
#define STATUS_OFF 2

struct stonith_job {
	uv_loop_t *loop;
	stonith_cb cb;
	void *arg;
	char *cmd;
	char *node;
	char *args; /* the stdin lines after "action=..." */
	char *log_path;
	uint64_t timeout_ms; /* 0: none */
	uint64_t deadline;   /* uv_now() ms */
};

static void job_free(struct stonith_job *j)
{
	free(j->cmd);
	free(j->node);
	free(j->args);
	free(j->log_path);
	free(j);
}

static void job_finish(struct stonith_job *j, bool ok, const char *msg)
{
	j->cb(j->arg, ok, msg);
	job_free(j);
}

/* The last non-empty line of the agent's output, for messages. */
static const char *last_line(const char *out, char *buf, size_t cap)
{
	size_t end = strlen(out);
	while (end > 0 && (out[end - 1] == '\n' || out[end - 1] == '\r' ||
			   out[end - 1] == ' '))
		end--;
	size_t start = end;
	while (start > 0 && out[start - 1] != '\n')
		start--;
	size_t n = end - start;
	if (n == 0) {
		snprintf(buf, cap, "(no output)");
		return buf;
	}
	if (n > 200)
		n = 200;
	snprintf(buf, cap, "\"%.*s\"", (int)n, out + start);
	return buf;
}

/* Shared wording for "the step did not finish normally"; false if it
 * did. */
static bool step_failed(struct stonith_job *j, const char *action,
			const struct spawn_result *r)
{
	char msg[512], line[256];
	if (r->timed_out) {
		snprintf(msg, sizeof(msg),
			 "fence agent for node %s timed out "
			 "on action=%s (%llu ms in all): node NOT confirmed "
			 "off; output: %s",
			 j->node, action, (unsigned long long)j->timeout_ms,
			 last_line(r->output, line, sizeof(line)));
	} else if (r->term_signal) {
		snprintf(msg, sizeof(msg),
			 "fence agent for node %s was killed "
			 "by signal %d on action=%s: node NOT confirmed off; "
			 "output: %s",
			 j->node, r->term_signal, action,
			 last_line(r->output, line, sizeof(line)));
	} else {
		return false;
	}
	job_finish(j, false, msg);
	return true;
}

static int step_run(struct stonith_job *j, const char *action, spawn_cb cb);

static void status_cb(void *arg, const struct spawn_result *r)
{
	struct stonith_job *j = arg;
	char msg[512], line[256];
	if (step_failed(j, "status", r))
		return;
	last_line(r->output, line, sizeof(line));
	switch (r->exit_status) {
	case STATUS_OFF:
		snprintf(msg, sizeof(msg),
			 "node %s is off (fence agent: "
			 "action=off succeeded, action=status reports off)",
			 j->node);
		job_finish(j, true, msg);
		return;
	case STATUS_ON:
		snprintf(msg, sizeof(msg),
			 "fence agent reports node %s still "
			 "ON after action=off succeeded (action=status exit "
			 "0): "
			 "node NOT fenced; output: %s",
			 j->node, line);
		break;
	case STATUS_UNREACHABLE:
		snprintf(msg, sizeof(msg),
			 "fence agent cannot reach the fence "
			 "device to confirm node %s is off (action=status exit "
			 "1): node NOT confirmed off; output: %s",
			 j->node, line);
		break;
	default:
		snprintf(msg, sizeof(msg),
			 "fence agent gave an unexpected "
			 "exit status %d to action=status for node %s (0 on, "
			 "1 unreachable, 2 off): node NOT confirmed off; "
			 "output: %s",
			 r->exit_status, j->node, line);
	}
	job_finish(j, false, msg);
}

static void off_cb(void *arg, const struct spawn_result *r)
{
	struct stonith_job *j = arg;
	char msg[512], line[256];
	if (step_failed(j, "off", r))
		return;
	if (r->exit_status != 0) {
		snprintf(msg, sizeof(msg),
			 "fence agent failed to power off "
			 "node %s (action=off exit %d): %s",
			 j->node, r->exit_status,
			 last_line(r->output, line, sizeof(line)));
		job_finish(j, false, msg);
		return;
	}
	int rc = step_run(j, "status", status_cb);
	if (rc < 0) {
		snprintf(msg, sizeof(msg),
			 "cannot run the fence agent for "
			 "action=status on node %s: %s",
			 j->node, uv_strerror(rc));
		job_finish(j, false, msg);
	}
}

static int step_run(struct stonith_job *j, const char *action, spawn_cb cb)
{
	uint64_t timeout = 0;
	if (j->timeout_ms) {
		uint64_t now = uv_now(j->loop);
		/* an exhausted budget still gets a moment: the child's kill
		 * and the message then come from the usual timeout path */
		timeout = j->deadline > now ? j->deadline - now : 1;
	}
	size_t len = strlen("action=\n") + strlen(action) + strlen(j->args);
	char *in = malloc(len + 1);
	if (!in)
		return UV_ENOMEM;
	snprintf(in, len + 1, "action=%s\n%s", action, j->args);
	const char *argv[] = { "/bin/sh", "-c", j->cmd, NULL };
	struct spawn_opts o = {
		.argv = argv,
		.stdin_data = in,
		.stdin_len = len,
		.log_path = j->log_path,
		.timeout_ms = timeout,
	};
	int rc = spawn_run(j->loop, &o, cb, j);
	free(in);
	return rc;
}

static bool line_ok(const char *s, bool need_eq)
{
	return s && *s && !strpbrk(s, "\n\r") && (!need_eq || strchr(s, '='));
}

/* "port=NODE\nnodename=NODE\n" + every extra line. */
static char *args_build(const struct stonith_req *req)
{
	size_t len = 2 * strlen(req->node) + sizeof("port=\nnodename=\n");
	for (size_t i = 0; req->extra && req->extra[i]; i++)
		len += strlen(req->extra[i]) + 1;
	char *s = malloc(len);
	if (!s)
		return NULL;
	size_t o = (size_t)snprintf(s, len, "port=%s\nnodename=%s\n", req->node,
				    req->node);
	for (size_t i = 0; req->extra && req->extra[i]; i++)
		o += (size_t)snprintf(s + o, len - o, "%s\n", req->extra[i]);
	return s;
}

int stonith_fence_req(uv_loop_t *loop, const struct stonith_req *req,
		      stonith_cb cb, void *arg)
{
	if (!req->cmd || !*req->cmd || !line_ok(req->node, false))
		return UV_EINVAL;
	for (size_t i = 0; req->extra && req->extra[i]; i++)
		if (!line_ok(req->extra[i], true))
			return UV_EINVAL;
	struct stonith_job *j = calloc(1, sizeof(*j));
	if (!j)
		return UV_ENOMEM;
	j->loop = loop;
	j->cb = cb;
	j->arg = arg;
	j->cmd = strdup(req->cmd);
	j->node = strdup(req->node);
	j->args = args_build(req);
	j->log_path = req->log_path ? strdup(req->log_path) : NULL;
	j->timeout_ms = req->timeout_ms;
	j->deadline = uv_now(loop) + req->timeout_ms;
	int rc = UV_ENOMEM;
	if (j->cmd && j->node && j->args && (j->log_path || !req->log_path))
		rc = step_run(j, "off", off_cb);
	if (rc < 0)
		job_free(j);
	return rc;
}

int stonith_fence(uv_loop_t *loop, const char *cmd, const char *node,
		  uint64_t timeout_ms, stonith_cb cb, void *arg)
{
	struct stonith_req req = {
		.cmd = cmd,
		.node = node,
		.timeout_ms = timeout_ms,
	};
	return stonith_fence_req(loop, &req, cb, arg);
}
