/*
 * gen_corpus.c — writes the seed corpora of the fuzz targets:
 *
 *   gen_corpus DIR   writes DIR/peer/<name> and DIR/frame/<name>
 *
 * peer seeds are one byte of frame type and a payload, as fuzz_peer reads
 * them: a valid encoding of every message type and its interesting shapes,
 * and regress-* inputs that once got through (the decoder must refuse).
 * frame seeds are one control byte and a byte stream, as fuzz_frame reads
 * them: those messages framed, alone and back to back, cut different ways,
 * plus a few streams with a damaged frame.  The output is deterministic;
 * the files are checked in (`make fuzz-corpus` regenerates them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/peer.h"
#include "tests/fuzz/gen_more.h"

struct seed {
	const char *name;
	struct raft_message m;
};

static unsigned char data[4][64];
static struct raft_entry entries[8];

static void die(const char *what, const char *path)
{
	fprintf(stderr, "gen_corpus: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void write_file(const char *dir, const char *sub, const char *name,
		       const void *p, size_t n)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		die("cannot create", path);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die("cannot write", path);
}

static void common(struct raft_message *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = 1;
	m->to = 2;
	m->term = 7;
}

static void set_config(struct raft_config *c, unsigned n)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	for (unsigned i = 0; i < n; i++) {
		c->servers[i].id = i + 1;
		c->servers[i].role = i < 3 ? RAFT_VOTER : RAFT_LEARNER;
		snprintf(c->servers[i].addr, RAFT_ADDR_MAX, "10.0.0.%u:7000",
			 i + 1);
	}
}

/* The messages, in a fixed order. */
static unsigned make_seeds(struct seed *s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 4; i++)
		for (unsigned k = 0; k < sizeof(data[i]); k++)
			data[i][k] = (unsigned char)(i * 64 + k);
	for (unsigned i = 0; i < 6; i++) {
		entries[i].term = 6 + i / 3;
		entries[i].index = 101 + i;
		entries[i].type = (uint8_t)(RAFT_ENTRY_NORMAL + i % 3);
		entries[i].data.base = data[i % 4];
		entries[i].data.len = (size_t[]){ 0, 1, 17, 64 }[i % 4];
	}
	entries[6] = entries[0];
	entries[6].index = UINT64_MAX;
	entries[7] = entries[0];
	entries[7].index = 0;
	/* A real config entry: the data is an encoded configuration. */
	static unsigned char conf[256];
	struct raft_config c;
	set_config(&c, 3);
	entries[2].data.base = conf;
	entries[2].data.len = raft_config_encode(&c, conf, sizeof(conf));

	s[n].name = "append-empty";
	common(&s[n].m, RAFT_MSG_APPEND);
	s[n].m.append.prev_index = 100;
	s[n].m.append.prev_term = 6;
	s[n++].m.append.commit = 99;

	s[n] = s[n - 1];
	s[n].name = "append-one";
	s[n].m.append.n_entries = 1;
	s[n++].m.append.entries = entries;

	s[n] = s[n - 1];
	s[n].name = "append-six";
	s[n++].m.append.n_entries = 6;

	/* The last index there is: one more would wrap to 0. */
	s[n] = s[n - 1];
	s[n].name = "append-index-end";
	s[n].m.append.n_entries = 1;
	s[n].m.append.prev_index = UINT64_MAX - 1;
	s[n++].m.append.entries = &entries[6];

	/* Regression: indices that wrap from 2^64 - 1 to 0 (refused since
	 * the decoder was fixed; a seed keeps the fuzzer near the edge). */
	s[n] = s[n - 1];
	s[n].name = "regress-append-index-wrap";
	s[n].m.append.prev_index = UINT64_MAX;
	s[n++].m.append.entries = &entries[7];

	s[n].name = "append-resp-ok";
	common(&s[n].m, RAFT_MSG_APPEND_RESP);
	s[n].m.append_resp.success = true;
	s[n++].m.append_resp.match = 106;

	s[n].name = "append-resp-reject";
	common(&s[n].m, RAFT_MSG_APPEND_RESP);
	s[n].m.append_resp.hint_index = 50;
	s[n++].m.append_resp.hint_term = 5;

	s[n].name = "heartbeat";
	common(&s[n].m, RAFT_MSG_HEARTBEAT);
	s[n].m.heartbeat.commit = 106;
	s[n++].m.heartbeat.read_seq = 12;

	s[n].name = "heartbeat-resp";
	common(&s[n].m, RAFT_MSG_HEARTBEAT_RESP);
	s[n++].m.heartbeat_resp.read_seq = 12;

	s[n].name = "vote";
	common(&s[n].m, RAFT_MSG_VOTE);
	s[n].m.vote.last_index = 106;
	s[n++].m.vote.last_term = 7;

	s[n] = s[n - 1];
	s[n].name = "vote-prevote";
	s[n++].m.vote.prevote = true;

	s[n] = s[n - 2];
	s[n].name = "vote-transfer";
	s[n++].m.vote.transfer = true;

	s[n].name = "vote-resp";
	common(&s[n].m, RAFT_MSG_VOTE_RESP);
	s[n++].m.vote_resp.granted = true;

	s[n] = s[n - 1];
	s[n].name = "vote-resp-prevote";
	s[n++].m.vote_resp.prevote = true;

	s[n].name = "snapshot-first";
	common(&s[n].m, RAFT_MSG_SNAPSHOT);
	s[n].m.snapshot.index = 100;
	s[n].m.snapshot.term = 6;
	set_config(&s[n].m.snapshot.config, 5);
	s[n].m.snapshot.total = 100;
	s[n].m.snapshot.chunk.base = data[1];
	s[n++].m.snapshot.chunk.len = 64;

	s[n] = s[n - 1];
	s[n].name = "snapshot-last";
	s[n].m.snapshot.offset = 64;
	s[n].m.snapshot.chunk.len = 36;
	s[n++].m.snapshot.done = true;

	s[n] = s[n - 1];
	s[n].name = "snapshot-empty";
	set_config(&s[n].m.snapshot.config, 1);
	s[n].m.snapshot.offset = 0;
	s[n].m.snapshot.total = 0;
	s[n++].m.snapshot.chunk.len = 0;

	s[n].name = "snapshot-resp";
	common(&s[n].m, RAFT_MSG_SNAPSHOT_RESP);
	s[n].m.snapshot_resp.index = 100;
	s[n++].m.snapshot_resp.received = 64;

	s[n] = s[n - 1];
	s[n].name = "snapshot-resp-done";
	s[n].m.snapshot_resp.received = 100;
	s[n++].m.snapshot_resp.done = true;

	s[n].name = "timeout-now";
	common(&s[n].m, RAFT_MSG_TIMEOUT_NOW);
	n++;
	return n;
}

/* Control bytes of fuzz_frame: low nibble picks the limit, bits 4-5 the
 * piece sizes, bit 6 mixes in space/commit. */
#define CTL_DEFAULT_WHOLE 0x30
#define CTL_BYTES 0x40
#define CTL_HEADER_PIECES 0x51
#define CTL_LIMIT_100 0x63

static void write_frame_seed(const char *dir, const char *name, unsigned ctl,
			     const struct wire_writer *stream)
{
	unsigned char *p = malloc(stream->len + 1);

	if (!p)
		die("out of memory for", name);
	p[0] = (unsigned char)ctl;
	memcpy(p + 1, stream->buf, stream->len);
	write_file(dir, "frame", name, p, stream->len + 1);
	free(p);
}

int main(int argc, char **argv)
{
	struct seed seeds[32];
	struct wire_writer w, all;
	char name[128];

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	unsigned n = make_seeds(seeds);
	wire_writer_init(&w);
	wire_writer_init(&all);
	for (unsigned i = 0; i < n; i++) {
		wire_writer_reset(&w);
		if (!peer_encode(&w, &seeds[i].m) ||
		    !peer_encode(&all, &seeds[i].m))
			die("cannot encode", seeds[i].name);
		/* peer seed: type byte, then the payload */
		w.buf[FRAME_HEADER_SIZE - 1] = seeds[i].m.type;
		write_file(argv[1], "peer", seeds[i].name,
			   w.buf + FRAME_HEADER_SIZE - 1,
			   w.len - FRAME_HEADER_SIZE + 1);
		/* frame seed: the message framed, alone */
		wire_writer_reset(&w);
		peer_encode(&w, &seeds[i].m);
		snprintf(name, sizeof(name), "%s", seeds[i].name);
		write_frame_seed(argv[1], name,
				 i % 2 ? CTL_DEFAULT_WHOLE : CTL_HEADER_PIECES,
				 &w);
	}
	write_frame_seed(argv[1], "stream-whole", CTL_DEFAULT_WHOLE, &all);
	write_frame_seed(argv[1], "stream-bytes", CTL_BYTES, &all);
	write_frame_seed(argv[1], "stream-limit-100", CTL_LIMIT_100, &all);

	/* Client-style frames: request ids, an empty payload. */
	wire_writer_reset(&w);
	size_t start = frame_begin(&w, 0x101, 42);
	frame_end(&w, start);
	start = frame_begin(&w, 0x102, UINT64_MAX);
	wire_put_bytes(&w, "key=value", 9);
	frame_end(&w, start);
	write_frame_seed(argv[1], "client-frames", CTL_HEADER_PIECES, &w);

	/* Damaged streams: checksum, magic, version, length over the limit. */
	wire_writer_reset(&w);
	peer_encode(&w, &seeds[0].m);
	w.buf[FRAME_HEADER_SIZE + 3] ^= 1;
	write_frame_seed(argv[1], "bad-checksum", CTL_DEFAULT_WHOLE, &w);
	w.buf[FRAME_HEADER_SIZE + 3] ^= 1;
	w.buf[0] ^= 0x20;
	write_frame_seed(argv[1], "bad-magic", CTL_DEFAULT_WHOLE, &w);
	w.buf[0] ^= 0x20;
	w.buf[2] = FRAME_VERSION + 1;
	write_frame_seed(argv[1], "bad-version", CTL_DEFAULT_WHOLE, &w);
	wire_writer_reset(&w);
	peer_encode(&w, &seeds[2].m); /* append-six: over 100 bytes */
	write_frame_seed(argv[1], "over-limit-100", CTL_LIMIT_100, &w);

	wire_writer_free(&w);
	wire_writer_free(&all);
	gen_more_seeds(argv[1]);
	return 0;
}
