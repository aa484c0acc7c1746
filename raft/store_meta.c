/*
 * store_meta.c — term and vote, in two files written alternately.
 *
 * Version n goes to metadata1 when n is odd and to metadata2 when it is
 * even, so a write never touches the file holding the newest durable
 * value: if the machine stops half-way, the other file still has it.
 * Load takes the valid file with the higher version.
 *
 *   0 u32 magic "TMET"  4 u16 version  6 u16 zero  8 u64 sequence
 *  16 u64 term         24 u64 voted_for           32 u32 zero
 *  36 u32 crc of bytes [0, 36)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "raft/store_int.h"

static const char *const meta_name[2] = { "metadata1", "metadata2" };

enum meta_state {
	META_ABSENT,
	META_EMPTY, /* zero bytes or zeros */
	META_BAD,
	META_NEWER, /* intact, unknown format version */
	META_OK,
};

struct meta {
	uint64_t seq;
	raft_term term;
	raft_id vote;
};

static int meta_slot(uint64_t seq)
{
	return (seq & 1) != 0 ? 0 : 1;
}

static void meta_encode(unsigned char *p, const struct meta *m)
{
	memset(p, 0, META_SIZE);
	put_u32(p, META_MAGIC);
	put_u16(p + 4, META_VERSION);
	put_u64(p + 8, m->seq);
	put_u64(p + 16, m->term);
	put_u64(p + 24, m->vote);
	put_u32(p + 36, crc32c(0, p, 36));
}

static int meta_decode(const unsigned char *p, uint64_t size, int slot,
		       struct meta *m)
{
	if (size == 0 || all_zero(p, size))
		return META_EMPTY;
	if (size < META_SIZE || get_u32(p) != META_MAGIC ||
	    get_u32(p + 36) != crc32c(0, p, 36))
		return META_BAD;
	if (get_u16(p + 4) != META_VERSION)
		return META_NEWER;
	m->seq = get_u64(p + 8);
	m->term = get_u64(p + 16);
	m->vote = get_u64(p + 24);
	/* A version in the wrong file was not written by us. */
	if (m->seq == 0 || meta_slot(m->seq) != slot)
		return META_BAD;
	return META_OK;
}

static int meta_read(struct store *s, int slot, struct meta *m, int *state)
{
	unsigned char *buf;
	uint64_t size;
	int rc = io_read_file(s, meta_name[slot], &buf, &size);

	if (rc == -ENOENT) {
		*state = META_ABSENT;
		return 0;
	}
	if (rc < 0)
		return rc;
	*state = meta_decode(buf, size, slot, m);
	free(buf);
	return 0;
}

/* *best: the valid file with the higher version, or -1 if there is none
 * (a node that never voted). */
static int meta_pick(struct store *s, const int st[2], const struct meta m[2],
		     int *best)
{
	*best = -1;
	for (int i = 0; i < 2; i++) {
		if (st[i] == META_NEWER) {
			store_set_error(s,
					"%s/%s was written by a newer "
					"version of tenure; run that version",
					s->dir, meta_name[i]);
			return -EUCLEAN;
		}
		if (st[i] == META_OK && (*best < 0 || m[i].seq > m[*best].seq))
			*best = i;
	}
	if (*best < 0 && (st[0] != META_ABSENT || st[1] != META_ABSENT)) {
		store_set_error(s,
				"%s/%s and %s are damaged at offset 0 "
				"(checksum mismatch): term and vote are lost. "
				"%s",
				s->dir, meta_name[0], meta_name[1],
				store_corrupt_hint);
		return -EUCLEAN;
	}
	return 0;
}

int meta_load(struct store *s)
{
	struct meta m[2];
	int st[2];
	int best;
	int rc;

	memset(m, 0, sizeof(m));
	for (int i = 0; i < 2; i++) {
		rc = meta_read(s, i, &m[i], &st[i]);
		if (rc < 0)
			return rc;
		s->meta_exists[i] = st[i] != META_ABSENT;
	}
	rc = meta_pick(s, st, m, &best);
	if (rc < 0)
		return rc;
	for (int i = 0; i < 2; i++) {
		if (i == best || st[i] == META_ABSENT || st[i] == META_OK)
			continue;
		/* Only the file being overwritten when the node stopped can
		 * be bad, and that write was never acknowledged. */
		store_log(s, STORE_LOG_WARNING,
			  "%s/%s is %s (an interrupted "
			  "write); using %s",
			  s->dir, meta_name[i],
			  st[i] == META_EMPTY ? "empty" : "damaged",
			  meta_name[best]);
	}
	if (best >= 0) {
		s->meta_seq = m[best].seq;
		s->term = m[best].term;
		s->vote = m[best].vote;
	}
	return 0;
}

/* The first version of a file is created whole (temporary name, sync,
 * rename), so a file that exists was complete once: a damaged one is
 * either an interrupted overwrite, and the other file holds the previous
 * version, or real damage. */
static int meta_create(struct store *s, int slot, const unsigned char *buf)
{
	char tmp[STORE_NAME_MAX];
	int fd;
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.tmp", meta_name[slot]);
	rc = io_open(s, tmp, O_WRONLY | O_CREAT | O_TRUNC, &fd);
	if (rc < 0)
		return rc;
	rc = io_pwrite(s, fd, tmp, buf, META_SIZE, 0);
	if (rc == 0)
		rc = io_fdatasync(s, fd, tmp);
	close(fd);
	if (rc == 0)
		rc = io_rename(s, tmp, meta_name[slot]);
	if (rc == 0)
		rc = io_sync_dir(s);
	if (rc == 0)
		s->meta_exists[slot] = true;
	else
		unlinkat(s->dirfd, tmp, 0); /* else removed at next open */
	return rc;
}

static int meta_write(struct store *s, int slot, const unsigned char *buf)
{
	const char *name = meta_name[slot];
	int fd;
	int rc;

	if (!s->meta_exists[slot])
		return meta_create(s, slot, buf);
	rc = io_open(s, name, O_WRONLY, &fd);
	if (rc < 0)
		return rc;
	rc = io_pwrite(s, fd, name, buf, META_SIZE, 0);
	if (rc == 0)
		rc = io_fdatasync(s, fd, name);
	close(fd);
	return rc;
}

/* Term never goes back, and a vote once cast stands for its term: a
 * caller asking otherwise has a bug that could elect two leaders. */
static int meta_check(struct store *s, raft_term term, raft_id vote)
{
	if (term < s->term ||
	    (term == s->term && s->vote != 0 && vote != s->vote)) {
		store_set_error(s,
				"refusing to store term %llu vote %llu "
				"over term %llu vote %llu",
				(unsigned long long)term,
				(unsigned long long)vote,
				(unsigned long long)s->term,
				(unsigned long long)s->vote);
		return -EINVAL;
	}
	return 0;
}

int store_set_hard_state(struct store *s, raft_term term, raft_id voted_for)
{
	unsigned char buf[META_SIZE];
	struct meta m;
	int rc = store_begin_write(s);

	if (rc == 0)
		rc = meta_check(s, term, voted_for);
	if (rc < 0)
		return rc;
	m.seq = s->meta_seq + 1;
	m.term = term;
	m.vote = voted_for;
	meta_encode(buf, &m);
	/* On failure the sequence stays put, so the retry goes to the same
	 * (possibly garbled) file and never to the one still valid. */
	rc = meta_write(s, meta_slot(m.seq), buf);
	if (rc < 0)
		return rc;
	s->meta_seq = m.seq;
	s->term = term;
	s->vote = voted_for;
	return 0;
}
