/*
 * store.c — the store's life cycle: open (with recovery), load, close,
 * and the error and log plumbing the other files share.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft/store_int.h"

const char store_corrupt_hint[] =
	"This node must not start from a log it cannot trust. Restore it "
	"from its peers: stop it, move the data directory aside (keep it for "
	"analysis), and start the node with an empty one so it receives the "
	"log from the leader";

void store_options_default(struct store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->segment_size = STORE_SEGMENT_SIZE_DEFAULT;
}

void store_set_error(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

static const char *level_name(int level)
{
	switch (level) {
	case STORE_LOG_INFO:
		return "INFO";
	case STORE_LOG_WARNING:
		return "WARNING";
	default:
		return "ERROR";
	}
}

void store_log(struct store *s, int level, const char *fmt, ...)
{
	char msg[STORE_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->opt.log != NULL)
		s->opt.log(s->opt.log_arg, level, msg);
	else
		fprintf(stderr, "tenure store: %s: %s\n", level_name(level),
			msg);
}

const char *store_last_error(const struct store *s)
{
	return s->err;
}

raft_index store_last_index(const struct store *s)
{
	return s->last;
}

void store_loaded_free(struct store *s)
{
	struct store_loaded *l = &s->loaded;

	for (unsigned i = 0; i < l->nbufs; i++)
		free(l->bufs[i]);
	free(l->bufs);
	free(l->entries);
	free(l->snap_data);
	memset(l, 0, sizeof(*l));
}

int store_begin_write(struct store *s)
{
	store_loaded_free(s);
	if (s->broken == 0)
		return 0;
	store_set_error(s,
			"data directory %s: refusing to write after an "
			"earlier I/O failure left its state unknown (%s); "
			"restart the node so that recovery checks the files",
			s->dir, strerror(-s->broken));
	return s->broken;
}

/* Best effort: a parent that fails to sync only risks the new directory's
 * name, and the next fsync of that parent makes it durable anyway. */
static void sync_parent(const char *path)
{
	char *copy = strdup(path);
	const char *parent = ".";
	char *slash;
	int fd;

	if (copy == NULL)
		return;
	slash = strrchr(copy, '/');
	if (slash == copy) {
		parent = "/";
	} else if (slash != NULL) {
		*slash = '\0';
		parent = copy;
	}
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* mkdir -p, syncing the parent of each directory it makes, so the data
 * directory cannot vanish in a crash after we wrote into it. */
static int mkdir_parents(struct store *s, const char *dir)
{
	char *path = strdup(dir);
	size_t len;
	int rc = 0;

	if (path == NULL)
		return -ENOMEM;
	len = strlen(path);
	for (size_t i = 1; i <= len && rc == 0; i++) {
		char c = path[i];

		if (c != '/' && c != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) == 0) {
			sync_parent(path);
		} else if (errno != EEXIST) {
			rc = -errno;
			store_set_error(s, "create directory %s: %s", path,
					strerror(errno));
		}
		path[i] = c;
	}
	free(path);
	return rc;
}

static int open_dir(struct store *s)
{
	int rc = mkdir_parents(s, s->dir);

	if (rc < 0)
		return rc;
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		rc = -errno;
		store_set_error(s, "open data directory %s: %s", s->dir,
				strerror(errno));
		return rc;
	}
	/* Two processes appending to one log would interleave batches; the
	 * lock goes away with the descriptor, also when a process dies. */
	if (flock(s->dirfd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		store_set_error(s,
				"data directory %s is in use by another "
				"process (%s); stop it first",
				s->dir, strerror(errno));
		return rc;
	}
	return 0;
}

static void remove_tmp(struct store *s, const struct dir_list *l)
{
	for (unsigned i = 0; i < l->n_tmp; i++) {
		if (io_unlink(s, l->tmp[i]) == 0)
			store_log(s, STORE_LOG_INFO,
				  "removed unfinished "
				  "file %s/%s",
				  s->dir, l->tmp[i]);
	}
}

static int recover(struct store *s)
{
	struct snap_read snap;
	struct dir_list l;
	int rc;

	memset(&snap, 0, sizeof(snap));
	rc = dir_list_read(s, &l);
	if (rc < 0)
		return rc;
	remove_tmp(s, &l);
	rc = meta_load(s);
	if (rc == 0)
		rc = snap_recover(s, &l, &snap, true);
	if (rc == 0)
		rc = recover_log(s, &l, &snap, true);
	else
		free(snap.data);
	dir_list_free(&l);
	return rc;
}

static void options_set(struct store *s, const struct store_options *o)
{
	if (o != NULL)
		s->opt = *o;
	else
		store_options_default(&s->opt);
	if (s->opt.segment_size == 0)
		s->opt.segment_size = STORE_SEGMENT_SIZE_DEFAULT;
	/* A segment must hold its header and a few batches. */
	if (s->opt.segment_size < 4096)
		s->opt.segment_size = 4096;
	s->opt.segment_size = (size_t)pad8(s->opt.segment_size);
	if (s->opt.snapshot_lz4_level < 0)
		s->opt.snapshot_lz4_level = 0;
}

int store_open(const char *dir, const struct store_options *o,
	       struct store **out, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	int rc = -ENOMEM;

	*out = NULL;
	if (s == NULL)
		goto fail_nomem;
	s->dirfd = -1;
	s->open.fd = -1;
	s->dir = strdup(dir);
	if (s->dir == NULL)
		goto fail_nomem;
	options_set(s, o);
	rc = open_dir(s);
	if (rc == 0)
		rc = recover(s);
	if (rc < 0)
		goto fail;
	*out = s;
	return 0;

fail_nomem:
	if (errlen > 0)
		snprintf(err, errlen, "open store %s: out of memory", dir);
	if (s != NULL)
		store_close(s);
	return rc;
fail:
	if (errlen > 0)
		snprintf(err, errlen, "%s", s->err);
	store_close(s);
	return rc;
}

/* A second load re-reads the files: the state may have changed since
 * open, and keeping every entry in memory while running would double the
 * server's footprint. */
static int reload(struct store *s)
{
	struct snap_read snap;
	struct dir_list l;
	int rc;

	memset(&snap, 0, sizeof(snap));
	rc = dir_list_read(s, &l);
	if (rc < 0)
		return rc;
	if (s->snap_index > 0)
		rc = snap_read(s, s->snap_name, &snap);
	if (rc == 0)
		rc = recover_log(s, &l, &snap, false);
	else
		free(snap.data);
	dir_list_free(&l);
	return rc;
}

int store_load(struct store *s, struct raft_durable *out)
{
	int rc;

	if (!s->loaded.valid) {
		store_loaded_free(s);
		rc = reload(s);
		if (rc < 0) {
			store_loaded_free(s);
			return rc;
		}
	}
	s->loaded.d.term = s->term;
	s->loaded.d.voted_for = s->vote;
	*out = s->loaded.d;
	/* Handed out once: a later load reads the files again. */
	s->loaded.valid = false;
	return 0;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_loaded_free(s);
	if (s->open.fd >= 0)
		close(s->open.fd);
	free(s->closed);
	free(s->wbuf);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->dir);
	free(s);
}
