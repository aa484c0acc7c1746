/*
 * gen_more.c — seeds of the client protocol and state machine fuzz
 * targets (fuzz_client, fuzz_sm), written by gen_corpus next to the
 * others: a valid request of every op, valid responses and events, a
 * command of every type, and snapshots of an empty and a populated state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/client.h"
#include "server/sm.h"
#include "tests/fuzz/gen_more.h"

static void put_file(const char *dir, const char *sub, const char *name,
		     unsigned char b0, unsigned char b1, const void *p,
		     size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0777) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(path, "wb");
	if (!f || fputc(b0, f) == EOF ||
	    (sub[0] == 'c' && fputc(b1, f) == EOF) || fwrite(p, 1, n, f) != n ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* The payload of the one frame in w. */
static void put_frame(const char *dir, const char *name, unsigned char kind,
		      uint32_t op, const struct wire_writer *w)
{
	put_file(dir, "client", name, kind,
		 (unsigned char)(op - CLIENT_OP_HELLO),
		 w->buf + FRAME_HEADER_SIZE, w->len - FRAME_HEADER_SIZE);
}

#define S(x)                     \
	{                        \
		x, sizeof(x) - 1 \
	}

static void client_seeds(const char *dir)
{
	struct client_request q[] = {
		{ .op = CLIENT_OP_HELLO,
		  .user = S("pg1"),
		  .nonce = S("0123456789abcdef01234567"),
		  .client_name = S("pg1") },
		{ .op = CLIENT_OP_AUTH_PROOF,
		  .proof = S("0123456789abcdef0123456789abcdef") },
		{ .op = CLIENT_OP_LEASE_ACQUIRE,
		  .name = S("primary"),
		  .holder = S("pg1"),
		  .ttl_ms = 10000 },
		{ .op = CLIENT_OP_LEASE_RENEW,
		  .name = S("primary"),
		  .holder = S("pg1"),
		  .lease_token = 42 },
		{ .op = CLIENT_OP_LEASE_RELEASE,
		  .name = S("primary"),
		  .holder = S("pg1"),
		  .lease_token = 42 },
		{ .op = CLIENT_OP_LEASE_GET, .name = S("primary") },
		{ .op = CLIENT_OP_LEASE_LIST, .consistency = 1 },
		{ .op = CLIENT_OP_PUT,
		  .key = S("/pg/leader"),
		  .value = S("pg1"),
		  .lease = S("primary"),
		  .lease_token = 42 },
		{ .op = CLIENT_OP_GET, .key = S("/pg/leader") },
		{ .op = CLIENT_OP_DELETE, .key = S("/pg/leader") },
		{ .op = CLIENT_OP_LIST, .prefix = S("/pg/") },
		{ .op = CLIENT_OP_CAS,
		  .key = S("/pg/x"),
		  .value = S("1"),
		  .expected_revision = 7 },
		{ .op = CLIENT_OP_WATCH, .prefix = S("/pg/"), .watch_kind = 1 },
		{ .op = CLIENT_OP_CANCEL, .watch_id = 3 },
		{ .op = CLIENT_OP_STATUS },
		{ .op = CLIENT_OP_MEMBER_LIST },
		{ .op = CLIENT_OP_MEMBER_ADD,
		  .name = S("w4"),
		  .peer_addr = S("127.0.0.1:7004") },
		{ .op = CLIENT_OP_MEMBER_REMOVE, .name = S("w4") },
		{ .op = CLIENT_OP_TRANSFER, .to_name = S("w2") },
	};
	struct wire_writer w;
	wire_writer_init(&w);
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		char name[32];
		q[i].id = 1 + i;
		wire_writer_reset(&w);
		if (!client_encode_request(&w, &q[i]))
			exit(1);
		snprintf(name, sizeof(name), "request-%s",
			 client_op_name(q[i].op));
		put_frame(dir, name, 0, q[i].op, &w);
	}
	struct client_lease l = { .name = S("primary"),
				  .holder = S("pg1"),
				  .token = 42,
				  .ttl_ms = 10000,
				  .remaining_ms = 9000 };
	struct client_response r = { .id = 2,
				     .op = CLIENT_OP_LEASE_ACQUIRE,
				     .present = true,
				     .lease = l,
				     .revision = 42 };
	wire_writer_reset(&w);
	client_encode_response(&w, &r);
	put_frame(dir, "response-lease", 1, r.op, &w);
	struct client_response held = r;
	held.status = CLIENT_HELD;
	wire_writer_reset(&w);
	client_encode_response(&w, &held);
	put_frame(dir, "response-held", 1, r.op, &w);
	struct client_event e = {
		.watch_id = 3, .type = 1, .revision = 42, .lease = l
	};
	wire_writer_reset(&w);
	client_encode_event(&w, &e, true);
	put_file(dir, "client", "event-lease", 2, 0, w.buf + FRAME_HEADER_SIZE,
		 w.len - FRAME_HEADER_SIZE);
	wire_writer_free(&w);
}

static void sm_seeds(const char *dir)
{
	struct sm_cmd c[] = {
		{ .type = SM_CMD_LEASE_ACQUIRE,
		  .name = S("L"),
		  .holder = S("h"),
		  .ttl_ms = 1000 },
		{ .type = SM_CMD_LEASE_RENEW,
		  .name = S("L"),
		  .holder = S("h"),
		  .token = 1 },
		{ .type = SM_CMD_LEASE_RELEASE,
		  .name = S("L"),
		  .holder = S("h"),
		  .token = 1 },
		{ .type = SM_CMD_LEASE_EXPIRE,
		  .name = S("L"),
		  .token = 1,
		  .revision = 1 },
		{ .type = SM_CMD_PUT,
		  .key = S("k"),
		  .value = S("v"),
		  .name = S("L"),
		  .token = 1 },
		{ .type = SM_CMD_DELETE, .key = S("k") },
		{ .type = SM_CMD_CAS,
		  .key = S("f"),
		  .value = S("y"),
		  .revision = 3 },
	};
	struct wire_writer w;
	wire_writer_init(&w);
	struct sm *sm = sm_new();
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char name[32];
		wire_writer_reset(&w);
		if (!sm_cmd_encode(&w, &c[i]))
			exit(1);
		snprintf(name, sizeof(name), "command-%zu", i + 1);
		put_file(dir, "sm", name, 0, 0, w.buf, w.len);
		struct sm_result res;
		if (sm_apply(sm, i + 1, w.buf, w.len, &res, NULL, NULL))
			exit(1);
	}
	wire_writer_reset(&w);
	struct sm *empty = sm_new();
	sm_snapshot(empty, &w);
	put_file(dir, "sm", "snapshot-empty", 1, 0, w.buf, w.len);
	wire_writer_reset(&w);
	sm_snapshot(sm, &w);
	put_file(dir, "sm", "snapshot-after-commands", 1, 0, w.buf, w.len);
	sm_free(empty);
	sm_free(sm);
	wire_writer_free(&w);
}

void gen_more_seeds(const char *dir)
{
	client_seeds(dir);
	sm_seeds(dir);
}
