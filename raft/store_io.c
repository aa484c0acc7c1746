/*
 * store_io.c — every system call the store makes on its data directory.
 *
 * Each wrapper asks the fault hook first (so tests can fail any operation
 * deterministically), retries EINTR and short transfers, and on failure
 * leaves a message naming the operation, the file and the offset in
 * s->err.  They return 0 or a negative errno.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft/store_int.h"

static int fault(struct store *s, enum store_io op, const char *name)
{
	if (s->opt.fault == NULL)
		return 0;
	return s->opt.fault(s->opt.fault_arg, op, name);
}

static int fail(struct store *s, int err, const char *what, const char *name)
{
	store_set_error(s, "%s %s/%s: %s", what, s->dir, name, strerror(err));
	return -err;
}

static int fail_at(struct store *s, int err, const char *what, const char *name,
		   uint64_t off)
{
	store_set_error(s, "%s %s/%s at offset %llu: %s", what, s->dir, name,
			(unsigned long long)off, strerror(err));
	return -err;
}

int io_open(struct store *s, const char *name, int flags, int *fd)
{
	int err = fault(s, STORE_IO_OPEN, name);

	if (err != 0)
		return fail(s, err, "open", name);
	do
		*fd = openat(s->dirfd, name, flags | O_CLOEXEC, 0600);
	while (*fd < 0 && errno == EINTR);
	if (*fd < 0)
		return fail(s, errno, "open", name);
	return 0;
}

static int pwrite_all(int fd, const unsigned char *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int io_pwrite(struct store *s, int fd, const char *name, const void *buf,
	      size_t len, uint64_t off)
{
	int err = fault(s, STORE_IO_WRITE, name);
	int rc;

	if (err != 0) {
		/* Real failures often come after part of the data reached the
		 * file; make injected ones do the same so the cleanup paths
		 * are tested against it. */
		(void)pwrite_all(fd, buf, len / 2, off);
		return fail_at(s, err, "write", name, off);
	}
	rc = pwrite_all(fd, buf, len, off);
	if (rc < 0)
		return fail_at(s, -rc, "write", name, off);
	return 0;
}

int io_pread(struct store *s, int fd, const char *name, void *buf, size_t len,
	     uint64_t off)
{
	unsigned char *p = buf;
	int err = fault(s, STORE_IO_READ, name);

	if (err != 0)
		return fail_at(s, err, "read", name, off);
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail_at(s, errno, "read", name, off);
		if (n == 0)
			return fail_at(s, EIO, "unexpected end of file reading",
				       name, off);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int io_read_file(struct store *s, const char *name, unsigned char **buf,
		 uint64_t *size)
{
	struct stat st;
	unsigned char *p = NULL;
	int fd;
	int rc = io_open(s, name, O_RDONLY, &fd);

	if (rc < 0)
		return rc;
	if (fstat(fd, &st) < 0) {
		rc = fail(s, errno, "stat", name);
		goto out;
	}
	/* One extra byte so an empty file still gets a buffer. */
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL) {
		rc = fail(s, ENOMEM, "read", name);
		goto out;
	}
	rc = io_pread(s, fd, name, p, (size_t)st.st_size, 0);
	if (rc < 0) {
		free(p);
		p = NULL;
		goto out;
	}
	*size = (uint64_t)st.st_size;
out:
	close(fd);
	*buf = p;
	return rc;
}

int io_fdatasync(struct store *s, int fd, const char *name)
{
	int err = fault(s, STORE_IO_SYNC, name);

	if (err != 0)
		return fail(s, err, "fdatasync", name);
	if (fdatasync(fd) < 0)
		return fail(s, errno, "fdatasync", name);
	return 0;
}

int io_sync_dir(struct store *s)
{
	int err = fault(s, STORE_IO_SYNC, ".");

	if (err != 0)
		return fail(s, err, "fsync directory", ".");
	if (fsync(s->dirfd) < 0)
		return fail(s, errno, "fsync directory", ".");
	return 0;
}

int io_fallocate(struct store *s, int fd, const char *name, uint64_t size)
{
	int err = fault(s, STORE_IO_ALLOC, name);

	if (err == 0)
		err = posix_fallocate(fd, 0, (off_t)size);
	if (err != 0)
		return fail_at(s, err, "pre-allocate", name, size);
	return 0;
}

int io_ftruncate(struct store *s, int fd, const char *name, uint64_t size)
{
	int err = fault(s, STORE_IO_TRUNCATE, name);

	if (err != 0)
		return fail_at(s, err, "truncate", name, size);
	if (ftruncate(fd, (off_t)size) < 0)
		return fail_at(s, errno, "truncate", name, size);
	return 0;
}

int io_rename(struct store *s, const char *from, const char *to)
{
	int err = fault(s, STORE_IO_RENAME, from);

	if (err == 0 && renameat(s->dirfd, from, s->dirfd, to) < 0)
		err = errno;
	if (err != 0) {
		store_set_error(s, "rename %s/%s to %s: %s", s->dir, from, to,
				strerror(err));
		return -err;
	}
	return 0;
}

int io_unlink(struct store *s, const char *name)
{
	int err = fault(s, STORE_IO_UNLINK, name);

	if (err != 0)
		return fail(s, err, "remove", name);
	if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
		return fail(s, errno, "remove", name);
	return 0;
}

int io_random_u64(uint64_t *out)
{
	ssize_t n;

	do
		n = getrandom(out, sizeof(*out), 0);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*out) ? 0 : -EIO;
}

/* ---- directory listing ---------------------------------------------------- */

static bool all_digits(const char *p, size_t n)
{
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* Strict decimal: digits only, no sign, no overflow. */
static bool parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (!all_digits(p, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool name_parse_open(const char *name, uint64_t *counter)
{
	if (strncmp(name, "open-", 5) != 0)
		return false;
	return parse_u64(name + 5, strlen(name + 5), counter);
}

/* "A-B": two numbers around the first dash. */
static bool parse_pair(const char *p, uint64_t *a, uint64_t *b)
{
	const char *dash = strchr(p, '-');

	if (dash == NULL)
		return false;
	return parse_u64(p, (size_t)(dash - p), a) &&
	       parse_u64(dash + 1, strlen(dash + 1), b);
}

bool name_parse_closed(const char *name, raft_index *first, raft_index *last)
{
	return parse_pair(name, first, last) && *first >= 1 && *first <= *last;
}

bool name_parse_snapshot(const char *name, raft_term *term, raft_index *index)
{
	if (strncmp(name, "snapshot-", 9) != 0)
		return false;
	return parse_pair(name + 9, term, index);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s);
	size_t b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int list_push(char (**v)[STORE_NAME_MAX], unsigned *n, const char *name)
{
	char(*nv)[STORE_NAME_MAX] = realloc(*v, (*n + 1) * sizeof(**v));

	if (nv == NULL)
		return -ENOMEM;
	snprintf(nv[*n], STORE_NAME_MAX, "%s", name);
	*v = nv;
	(*n)++;
	return 0;
}

static int classify(struct dir_list *l, const char *name)
{
	uint64_t a, b;

	if (strlen(name) >= STORE_NAME_MAX)
		return 0;
	if (ends_with(name, ".tmp"))
		return list_push(&l->tmp, &l->n_tmp, name);
	if (name_parse_open(name, &a) || name_parse_closed(name, &a, &b))
		return list_push(&l->seg, &l->n_seg, name);
	if (name_parse_snapshot(name, &a, &b))
		return list_push(&l->snap, &l->n_snap, name);
	return 0; /* metadata files and anything else */
}

int dir_list_read(struct store *s, struct dir_list *l)
{
	struct dirent *de;
	DIR *d;
	int fd;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(s, errno, "list", ".");
	d = fdopendir(fd);
	if (d == NULL) {
		rc = fail(s, errno, "list", ".");
		close(fd);
		return rc;
	}
	/* A listing cut short by an error would hide segments: check it. */
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			rc = errno != 0 ? -errno : 0;
			break;
		}
		rc = classify(l, de->d_name);
		if (rc < 0)
			break;
	}
	closedir(d);
	if (rc < 0) {
		dir_list_free(l);
		return fail(s, -rc, "list", ".");
	}
	return 0;
}

void dir_list_free(struct dir_list *l)
{
	free(l->seg);
	free(l->snap);
	free(l->tmp);
	memset(l, 0, sizeof(*l));
}
