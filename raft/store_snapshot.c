/*
 * store_snapshot.c — snapshot files: a small checksummed header with the
 * index, term and configuration, then the data as one lz4 frame with its
 * content checksum (so a flipped bit anywhere in the data is caught).
 *
 *   0 u32 magic "TSNP"   4 u16 version   6 u16 zero
 *   8 u64 index         16 u64 term     24 u64 log epoch
 *  32 u64 data length   40 u32 config length           44..59 zero
 *  60 u32 crc of bytes [0, 60) followed by the config bytes
 *  64 config (raft_config_encode), then the lz4 frame up to end of file
 *
 * A snapshot is written to <name>.tmp, synced, renamed to
 * snapshot-<term>-<index> and the directory synced: the rename is the
 * moment it exists.  The log epoch makes an install atomic: segments
 * created before the install have a lower counter and are ignored (then
 * removed) by recovery, so a crash half-way through deleting the old log
 * never brings stale entries back.
 */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "raft/store_int.h"

#define SNAP_CHUNK ((size_t)64 << 10)

struct snap_out {
	struct store *s;
	int fd;
	const char *name;
	uint64_t off;
};

static int out_write(struct snap_out *o, const void *p, size_t len)
{
	int rc;

	if (len == 0)
		return 0;
	rc = io_pwrite(o->s, o->fd, o->name, p, len, o->off);
	o->off += len;
	return rc;
}

static int lz4_fail(struct snap_out *o, size_t code)
{
	store_set_error(o->s, "compress snapshot %s/%s: %s", o->s->dir, o->name,
			LZ4F_getErrorName(code));
	return -EIO;
}

/* Streams the data through lz4 in chunks, so a large snapshot needs only
 * a small output buffer. */
static int write_frame(struct snap_out *o, const void *data, size_t len)
{
	LZ4F_preferences_t prefs;
	LZ4F_cctx *cctx = NULL;
	unsigned char *buf = NULL;
	size_t cap, n;
	int rc = -ENOMEM;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
	prefs.frameInfo.contentSize = len;
	prefs.compressionLevel = -o->s->opt.snapshot_lz4_level;
	cap = LZ4F_compressBound(SNAP_CHUNK, &prefs) + LZ4F_HEADER_SIZE_MAX;
	buf = malloc(cap);
	if (buf == NULL ||
	    LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)))
		goto out;
	n = LZ4F_compressBegin(cctx, buf, cap, &prefs);
	if (LZ4F_isError(n))
		goto lz4;
	rc = out_write(o, buf, n);
	for (size_t off = 0; rc == 0 && off < len; off += SNAP_CHUNK) {
		size_t chunk = len - off < SNAP_CHUNK ? len - off : SNAP_CHUNK;

		n = LZ4F_compressUpdate(cctx, buf, cap,
					(const char *)data + off, chunk, NULL);
		if (LZ4F_isError(n))
			goto lz4;
		rc = out_write(o, buf, n);
	}
	if (rc == 0) {
		n = LZ4F_compressEnd(cctx, buf, cap, NULL);
		if (LZ4F_isError(n))
			goto lz4;
		rc = out_write(o, buf, n);
	}
	goto out;
lz4:
	rc = lz4_fail(o, n);
out:
	LZ4F_freeCompressionContext(cctx);
	free(buf);
	return rc;
}

static uint32_t header_crc(const unsigned char *hdr, const void *cfg,
			   size_t cfg_len)
{
	return crc32c(crc32c(0, hdr, 60), cfg, cfg_len);
}

static void header_encode(unsigned char *p, const struct snap_read *h,
			  const void *cfg, size_t cfg_len)
{
	memset(p, 0, SNAP_HDR);
	put_u32(p, SNAP_MAGIC);
	put_u16(p + 4, SNAP_VERSION);
	put_u64(p + 8, h->index);
	put_u64(p + 16, h->term);
	put_u64(p + 24, h->epoch);
	put_u64(p + 32, h->len);
	put_u32(p + 40, (uint32_t)cfg_len);
	put_u32(p + 60, header_crc(p, cfg, cfg_len));
}

/* Header and config in one buffer, written with one call. */
static int write_header(struct snap_out *o, const struct snap_read *h)
{
	size_t cfg_len = raft_config_encode(&h->config, NULL, 0);
	unsigned char *buf;
	int rc;

	if (cfg_len == 0 || cfg_len > SNAP_MAX_CONFIG) {
		store_set_error(o->s,
				"snapshot configuration does not "
				"encode (%zu bytes)",
				cfg_len);
		return -EINVAL;
	}
	buf = malloc(SNAP_HDR + cfg_len);
	if (buf == NULL)
		return -ENOMEM;
	raft_config_encode(&h->config, buf + SNAP_HDR, cfg_len);
	header_encode(buf, h, buf + SNAP_HDR, cfg_len);
	rc = out_write(o, buf, SNAP_HDR + cfg_len);
	free(buf);
	return rc;
}

static void snap_name(char *name, raft_term term, raft_index index)
{
	snprintf(name, STORE_NAME_MAX, "snapshot-%llu-%llu",
		 (unsigned long long)term, (unsigned long long)index);
}

/* Writes the snapshot durably under its final name (in `name`). */
static int snap_write(struct store *s, const struct snap_read *h, char *name)
{
	char tmp[STORE_NAME_MAX + 8];
	struct snap_out o = { .s = s, .name = tmp, .off = 0 };
	int rc;

	snap_name(name, h->term, h->index);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	rc = io_open(s, tmp, O_WRONLY | O_CREAT | O_TRUNC, &o.fd);
	if (rc < 0)
		return rc;
	rc = write_header(&o, h);
	if (rc == 0)
		rc = write_frame(&o, h->data, h->len);
	if (rc == 0)
		rc = io_fdatasync(s, o.fd, tmp);
	close(o.fd);
	if (rc == 0)
		rc = io_rename(s, tmp, name);
	if (rc == 0)
		return io_sync_dir(s);
	/* Keep the first error's message; recovery removes *.tmp anyway. */
	if (unlinkat(s->dirfd, tmp, 0) < 0 && errno != ENOENT)
		store_log(s, STORE_LOG_WARNING, "cannot remove %s/%s: %s",
			  s->dir, tmp, strerror(errno));
	return rc;
}

/* ---- reading ---------------------------------------------------------------- */

static int corrupt(struct store *s, const char *name, uint64_t off,
		   const char *why)
{
	store_set_error(s, "snapshot %s/%s is damaged at offset %llu: %s. %s",
			s->dir, name, (unsigned long long)off, why,
			store_corrupt_hint);
	return -EUCLEAN;
}

static int header_decode(struct store *s, const char *name,
			 const unsigned char *p, uint64_t size,
			 struct snap_read *out)
{
	uint32_t cfg_len;

	if (size < SNAP_HDR || get_u32(p) != SNAP_MAGIC)
		return corrupt(s, name, 0, "no snapshot header");
	cfg_len = get_u32(p + 40);
	if (cfg_len > SNAP_MAX_CONFIG || cfg_len > size - SNAP_HDR ||
	    get_u32(p + 60) != header_crc(p, p + SNAP_HDR, cfg_len))
		return corrupt(s, name, 0, "header checksum mismatch");
	if (get_u16(p + 4) != SNAP_VERSION) {
		store_set_error(s,
				"snapshot %s/%s was written by a newer "
				"version of tenure; run that version",
				s->dir, name);
		return -EUCLEAN;
	}
	out->index = get_u64(p + 8);
	out->term = get_u64(p + 16);
	out->epoch = get_u64(p + 24);
	out->len = get_u64(p + 32);
	if (raft_config_decode(p + SNAP_HDR, cfg_len, &out->config) != 0)
		return corrupt(s, name, SNAP_HDR, "configuration malformed");
	return 0;
}

/* Decodes the frame at p[off, size) into exactly out->len bytes; lz4
 * checks the block and content checksums on the way. */
static int read_frame(struct store *s, const char *name, const unsigned char *p,
		      uint64_t off, uint64_t size, struct snap_read *out)
{
	LZ4F_dctx *dctx = NULL;
	size_t done = 0;
	size_t r = 1;
	int rc = 0;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return -ENOMEM;
	while (r != 0 && rc == 0) {
		size_t src = (size_t)(size - off);
		size_t dst = out->len - done;

		r = LZ4F_decompress(dctx, (char *)out->data + done, &dst,
				    p + off, &src, NULL);
		if (LZ4F_isError(r))
			rc = corrupt(s, name, off, LZ4F_getErrorName(r));
		else if (r != 0 && src == 0 && dst == 0)
			rc = corrupt(s, name, off,
				     "data ends early or is "
				     "longer than its header says");
		off += src;
		done += dst;
	}
	if (rc == 0 && (done != out->len || off != size))
		rc = corrupt(s, name, off, "data length does not match");
	LZ4F_freeDecompressionContext(dctx);
	return rc;
}

int snap_read(struct store *s, const char *name, struct snap_read *out)
{
	unsigned char *p;
	uint64_t size;
	raft_term term;
	raft_index index;
	int rc = io_read_file(s, name, &p, &size);

	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = header_decode(s, name, p, size, out);
	if (rc == 0 && name_parse_snapshot(name, &term, &index) &&
	    (term != out->term || index != out->index))
		rc = corrupt(s, name, 0, "header does not match file name");
	if (rc == 0) {
		out->data = malloc(out->len > 0 ? out->len : 1);
		rc = out->data == NULL ? -ENOMEM : 0;
	}
	if (rc == 0)
		rc = read_frame(s, name, p, SNAP_HDR + get_u32(p + 40), size,
				out);
	free(p);
	if (rc < 0) {
		free(out->data);
		out->data = NULL;
	}
	return rc;
}

/* ---- recovery -------------------------------------------------------------- */

static int newest(const struct dir_list *l)
{
	raft_term bt = 0, t;
	raft_index bi = 0, i;
	int best = -1;

	for (unsigned k = 0; k < l->n_snap; k++) {
		if (!name_parse_snapshot(l->snap[k], &t, &i))
			continue;
		if (best < 0 || i > bi || (i == bi && t > bt)) {
			best = (int)k;
			bi = i;
			bt = t;
		}
	}
	return best;
}

/* Removes every snapshot file but `keep`: older ones whose removal a
 * crash interrupted. */
static void remove_others(struct store *s, const struct dir_list *l,
			  const char *keep)
{
	for (unsigned k = 0; k < l->n_snap; k++) {
		if (strcmp(l->snap[k], keep) == 0)
			continue;
		if (io_unlink(s, l->snap[k]) == 0)
			store_log(s, STORE_LOG_INFO,
				  "removed older snapshot "
				  "%s/%s",
				  s->dir, l->snap[k]);
	}
}

int snap_recover(struct store *s, const struct dir_list *l,
		 struct snap_read *out, bool repair)
{
	int best = newest(l);
	int rc;

	memset(out, 0, sizeof(*out));
	if (best < 0)
		return 0;
	rc = snap_read(s, l->snap[best], out);
	if (rc < 0)
		return rc;
	s->snap_index = out->index;
	s->snap_term = out->term;
	s->epoch = out->epoch;
	snprintf(s->snap_name, sizeof(s->snap_name), "%s", l->snap[best]);
	if (repair)
		remove_others(s, l, s->snap_name);
	return 0;
}

/* ---- the two ways a snapshot arrives ------------------------------------- */

static int snap_args(struct store *s, raft_index index, raft_term term,
		     const struct raft_config *c, const void *data, size_t len)
{
	if (index == 0 || term == 0 || c == NULL || (data == NULL && len > 0) ||
	    index < s->snap_index) {
		store_set_error(s,
				"invalid snapshot (index %llu, term %llu; "
				"current snapshot index %llu)",
				(unsigned long long)index,
				(unsigned long long)term,
				(unsigned long long)s->snap_index);
		return -EINVAL;
	}
	return 0;
}

/* Makes `name` the current snapshot and removes the previous file. */
static void snap_switch(struct store *s, const struct snap_read *h,
			const char *name)
{
	char old[STORE_NAME_MAX];

	snprintf(old, sizeof(old), "%s", s->snap_name);
	s->snap_index = h->index;
	s->snap_term = h->term;
	s->epoch = h->epoch;
	snprintf(s->snap_name, sizeof(s->snap_name), "%s", name);
	if (old[0] == '\0' || strcmp(old, name) == 0)
		return;
	/* The new snapshot is durable; a leftover old one is harmless and
	 * removed at the next open. */
	if (io_unlink(s, old) < 0)
		store_log(s, STORE_LOG_WARNING, "%s", s->err);
}

static void snap_header_fill(struct snap_read *h, raft_index index,
			     raft_term term, const struct raft_config *c,
			     const void *data, size_t len, uint64_t epoch)
{
	memset(h, 0, sizeof(*h));
	h->index = index;
	h->term = term;
	h->epoch = epoch;
	h->config = *c;
	h->data = (void *)data;
	h->len = len;
}

int store_snapshot_put(struct store *s, raft_index index, raft_term term,
		       const struct raft_config *c, const void *data,
		       size_t len, raft_index trailing)
{
	char name[STORE_NAME_MAX];
	struct snap_read h;
	int rc = store_begin_write(s);

	if (rc == 0)
		rc = snap_args(s, index, term, c, data, len);
	if (rc == 0 && index > s->last) {
		store_set_error(s,
				"snapshot index %llu is past the last log "
				"index %llu",
				(unsigned long long)index,
				(unsigned long long)s->last);
		rc = -EINVAL;
	}
	if (rc < 0)
		return rc;
	snap_header_fill(&h, index, term, c, data, len, s->epoch);
	rc = snap_write(s, &h, name);
	if (rc < 0)
		return rc;
	snap_switch(s, &h, name);
	if (index > trailing)
		seg_compact(s, index - trailing);
	return 0;
}

int store_snapshot_install(struct store *s, raft_index index, raft_term term,
			   const struct raft_config *c, const void *data,
			   size_t len)
{
	char name[STORE_NAME_MAX];
	struct snap_read h;
	int rc = store_begin_write(s);

	if (rc == 0)
		rc = snap_args(s, index, term, c, data, len);
	if (rc < 0)
		return rc;
	/* Every existing segment has a lower counter than this epoch. */
	snap_header_fill(&h, index, term, c, data, len, s->next_counter);
	rc = snap_write(s, &h, name);
	if (rc < 0)
		return rc;
	snap_switch(s, &h, name);
	seg_drop_all(s);
	s->last = index;
	return 0;
}
