/*
 * agent_startfail.c — a start of Postgres that did not come up: why
 * (the log it wrote since the start, startfail.h), when to try again
 * (exponential back-off, capped), and what /health and the member record
 * say about it.  A standby is copied afresh only for diverged or damaged
 * data (decide.c), and a copy after a copy waits too.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"

/* Starts: 1 s, 2 s, 4 s ... 60 s apart.  Copies: 1 min ... 30 min. */
#define START_BACKOFF_MS 1000
#define START_BACKOFF_CAP_MS 60000
#define COPY_BACKOFF_MS 60000
#define COPY_BACKOFF_CAP_MS (30 * 60000)
/* How much of the log since the start is read: its end. */
#define LOG_TAIL_MAX 65536

static uint64_t log_size(const struct agent *a)
{
	struct stat st;
	if (!a->conf->pg_log_file || stat(a->conf->pg_log_file, &st) != 0)
		return 0;
	return (uint64_t)st.st_size;
}

/* The newest mtime of the configuration files in the data directory:
 * an operator who edits one is answered with a start at once. */
static int64_t conf_mtime(const struct agent *a)
{
	static const char *const files[] = { "postgresql.conf",
					     "postgresql.auto.conf" };
	int64_t newest = 0;
	for (size_t i = 0; i < 2; i++) {
		char path[1200];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", a->conf->pg_data_dir,
			 files[i]);
		if (stat(path, &st) == 0 &&
		    (int64_t)st.st_mtim.tv_sec * 1000000000 +
				    st.st_mtim.tv_nsec >
			    newest)
			newest = (int64_t)st.st_mtim.tv_sec * 1000000000 +
				 st.st_mtim.tv_nsec;
	}
	return newest;
}

/* What Postgres wrote to its log since the start (its last
 * LOG_TAIL_MAX bytes; all of the end when the file was rotated). */
static char *log_since_start(const struct agent *a)
{
	if (!a->conf->pg_log_file)
		return NULL;
	int fd = open(a->conf->pg_log_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	uint64_t size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	uint64_t from = a->start_log_offset <= size ? a->start_log_offset : 0;
	if (size - from > LOG_TAIL_MAX)
		from = size - LOG_TAIL_MAX;
	char *buf = malloc((size_t)(size - from) + 1);
	ssize_t n = buf ? pread(fd, buf, (size_t)(size - from), (off_t)from)
			: -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

void startfail_begin(struct agent *a)
{
	a->start_failures++; /* reset when it is seen running */
	a->start_log_offset = log_size(a);
	a->start_failed_ms = 0;
}

bool startfail_log_fatal(const struct agent *a)
{
	if (log_size(a) <= a->start_log_offset)
		return false;
	/* a known cause, not any FATAL: clients refused while it starts
	 * ("the database system is starting up") log FATAL too */
	struct startfail f;
	char *text = log_since_start(a);
	startfail_classify(text, &f);
	free(text);
	return f.cause != SF_UNKNOWN;
}

void startfail_observe(struct agent *a)
{
	if (a->start_failures <= 0 || a->start_failed_ms)
		return;
	char *text = log_since_start(a);
	startfail_classify(text, &a->start_fail);
	free(text);
	a->start_failed_ms = clock_now_ms();
	a->start_conf_mtime = conf_mtime(a);
	char q[600];
	uint64_t wait = startfail_backoff_ms(a->start_failures,
					     START_BACKOFF_MS,
					     START_BACKOFF_CAP_MS);
	log_event(LOG_ERROR, "start_failed",
		  "attempt=%d cause=%s copy=%s retry_in_ms=%llu log=%s "
		  "postgres_log=%s",
		  a->start_failures, startfail_cause_name(a->start_fail.cause),
		  startfail_needs_copy(a->start_fail.cause) ? "yes" : "no",
		  (unsigned long long)wait,
		  log_quote(a->start_fail.line[0] ? a->start_fail.line
						  : "(nothing recognised)",
			    q, sizeof(q)),
		  a->conf->pg_log_file ? a->conf->pg_log_file : "-");
}

void startfail_came_up(struct agent *a)
{
	a->start_failures = 0;
	a->start_failed_ms = 0;
	a->copies = 0;
	a->copy_problem[0] = '\0';
	memset(&a->start_fail, 0, sizeof(a->start_fail));
}

static uint64_t left(uint64_t since, uint64_t wait, uint64_t now)
{
	return since + wait > now ? since + wait - now : 0;
}

void startfail_fill(struct agent *a, struct decide_pg *o)
{
	uint64_t now = clock_now_ms();
	o->start_failures = a->start_failures;
	o->start_cause = a->start_fail.cause;
	o->start_wait_ms = 0;
	if (a->start_failures > 0 && a->start_failed_ms &&
	    conf_mtime(a) == a->start_conf_mtime)
		o->start_wait_ms =
			left(a->start_failed_ms,
			     startfail_backoff_ms(a->start_failures,
						  START_BACKOFF_MS,
						  START_BACKOFF_CAP_MS),
			     now);
	o->copy_wait_ms =
		a->copies
			? left(a->copied_ms,
			       startfail_backoff_ms(a->copies, COPY_BACKOFF_MS,
						    COPY_BACKOFF_CAP_MS),
			       now)
			: 0;
}

const char *startfail_problem(const struct agent *a, char *buf, size_t cap)
{
	if (a->copy_problem[0]) {
		snprintf(buf, cap, "%s", a->copy_problem);
		return buf;
	}
	if (a->start_failures <= 0 || !a->start_failed_ms)
		return NULL;
	snprintf(buf, cap, "start %d failed (%s): %s", a->start_failures,
		 startfail_cause_name(a->start_fail.cause),
		 a->start_fail.line[0] ? a->start_fail.line
				       : "nothing recognised in the log");
	return buf;
}
