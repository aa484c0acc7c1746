/*
 * lease_trace.c — the agent's record of its requests on SCOPE/primary
 * (contract in lease_trace.h).
 */
#include "fencing/lease_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int lease_trace_open(struct lease_trace *t, const char *path, char *err,
		     size_t errlen)
{
	t->fd = -1;
	t->pid = (long)getpid();
	t->seq = 0;
	if (!path || !path[0])
		return 0;
	t->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (t->fd < 0) {
		snprintf(err, errlen, "lease_trace_file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void lease_trace_close(struct lease_trace *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *op_name(uint32_t op)
{
	switch (op) {
	case CLIENT_OP_LEASE_ACQUIRE:
		return "acquire";
	case CLIENT_OP_LEASE_RENEW:
		return "renew";
	case CLIENT_OP_LEASE_RELEASE:
		return "release";
	case CLIENT_OP_LEASE_GET:
		return "get";
	}
	return "other";
}

/* A name as one word: "-" when empty. */
static int word_len(struct client_str s)
{
	return s.len ? (int)s.len : 1;
}

static const char *word(struct client_str s)
{
	return s.len ? s.p : "-";
}

void lease_trace_format_call(char *buf, size_t len, long pid, uint64_t seq,
			     const struct client_request *req, uint64_t t_ns)
{
	snprintf(buf, len, "call %ld %llu %s %.*s %.*s %llu %llu %llu\n", pid,
		 (unsigned long long)seq, op_name(req->op), word_len(req->name),
		 word(req->name), word_len(req->holder), word(req->holder),
		 (unsigned long long)req->ttl_ms,
		 (unsigned long long)req->lease_token,
		 (unsigned long long)t_ns);
}

/* One word: a status the table does not know is "OTHER". */
static const char *status_word(int status)
{
	const char *name = client_status_name(status);
	return strchr(name, ' ') ? "OTHER" : name;
}

void lease_trace_format_ret(char *buf, size_t len, long pid, uint64_t seq,
			    int status, const struct client_response *r,
			    bool maybe, unsigned lost, uint64_t t_ns)
{
	bool present = r && r->present;
	struct client_str holder = present ? r->lease.holder
					   : (struct client_str){ NULL, 0 };
	snprintf(buf, len, "ret %ld %llu %s %d %d %.*s %llu %llu %u\n", pid,
		 (unsigned long long)seq, status_word(status), maybe ? 1 : 0,
		 present ? 1 : 0, word_len(holder), word(holder),
		 (unsigned long long)(present ? r->lease.token : 0),
		 (unsigned long long)t_ns, lost);
}

/* One line, one write: O_APPEND keeps lines of concurrent writers (an
 * old and a new agent) whole. */
static void put(const struct lease_trace *t, const char *line)
{
	ssize_t n = write(t->fd, line, strlen(line));
	(void)n; /* a test aid: a lost line is not worth stopping for */
}

uint64_t lease_trace_call(struct lease_trace *t,
			  const struct client_request *req)
{
	if (t->fd < 0)
		return 0;
	char line[512];
	lease_trace_format_call(line, sizeof(line), t->pid, ++t->seq, req,
				mono_ns());
	put(t, line);
	return t->seq;
}

void lease_trace_ret(struct lease_trace *t, uint64_t seq, int status,
		     const struct client_response *r, bool maybe, unsigned lost)
{
	if (t->fd < 0 || !seq)
		return;
	char line[512];
	lease_trace_format_ret(line, sizeof(line), t->pid, seq, status, r,
			       maybe, lost, mono_ns());
	put(t, line);
}
