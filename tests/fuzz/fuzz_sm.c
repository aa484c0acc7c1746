/*
 * fuzz_sm.c — libFuzzer target for the state machine's decoders
 * (server/sm_cmd.c and server/sm_snap.c): a log entry's command and a
 * snapshot are both bytes that come from disk or from a peer.
 *
 * Input: byte 0 picks the decoder.
 *   0: the rest is one command: decoded, then applied to a state machine
 *      holding a lease and keys; an accepted command re-encodes to the
 *      same bytes, a malformed one is applied as a no-op (SM_INVALID),
 *      one of a version or type this binary does not know is not applied
 *      at all (SM_APPLY_UNKNOWN: the applied index stays).
 *   1: the rest is a snapshot: restored into a state machine that already
 *      holds state; a refusal must leave that state untouched, an
 *      accepted snapshot must snapshot again to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/sm.h"

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

static void apply_text(struct sm *sm, uint64_t index, const struct sm_cmd *c)
{
	struct wire_writer w;
	struct sm_result res;
	wire_writer_init(&w);
	CHECK(sm_cmd_encode(&w, c));
	CHECK(sm_apply(sm, index, w.buf, w.len, &res, NULL, NULL) == 0);
	wire_writer_free(&w);
}

/* A lease "L" held by "h" with a key attached, and a free key. */
static struct sm *populated(void)
{
	struct sm *sm = sm_new();
	CHECK(sm != NULL);
	struct sm_cmd c = { .type = SM_CMD_LEASE_ACQUIRE,
			    .name = { "L", 1 },
			    .holder = { "h", 1 },
			    .ttl_ms = 1000 };
	apply_text(sm, 1, &c);
	struct sm_cmd put = { .type = SM_CMD_PUT,
			      .key = { "k", 1 },
			      .value = { "v", 1 },
			      .name = { "L", 1 },
			      .token = 1 };
	apply_text(sm, 2, &put);
	struct sm_cmd free_key = { .type = SM_CMD_PUT,
				   .key = { "f", 1 },
				   .value = { "x", 1 } };
	apply_text(sm, 3, &free_key);
	return sm;
}

static void snapshot_of(const struct sm *sm, struct wire_writer *w)
{
	wire_writer_init(w);
	CHECK(sm_snapshot(sm, w));
}

static void fuzz_command(const uint8_t *p, size_t n)
{
	struct sm_cmd c;
	const char *why = NULL;
	int rv = sm_cmd_decode(p, n, &c, &why);
	if (rv == 0) {
		struct wire_writer w;
		wire_writer_init(&w);
		CHECK(sm_cmd_encode(&w, &c));
		CHECK(w.len == n && memcmp(w.buf, p, n) == 0);
		wire_writer_free(&w);
	} else {
		CHECK(why != NULL);
	}
	struct sm *sm = populated();
	struct sm_result res;
	if (rv == SM_CMD_UNKNOWN) {
		CHECK(sm_apply(sm, 4, p, n, &res, NULL, NULL) ==
		      SM_APPLY_UNKNOWN);
		CHECK(sm_applied_index(sm) == 3);
	} else {
		CHECK(sm_apply(sm, 4, p, n, &res, NULL, NULL) == 0);
		CHECK(sm_applied_index(sm) == 4);
	}
	sm_free(sm);
}

static void fuzz_snapshot(const uint8_t *p, size_t n)
{
	struct sm *sm = populated();
	struct wire_writer before, after;
	snapshot_of(sm, &before);
	const char *why = NULL;
	if (sm_restore(sm, p, n, &why)) {
		snapshot_of(sm, &after); /* refused: nothing changed */
		CHECK(after.len == before.len &&
		      memcmp(after.buf, before.buf, before.len) == 0);
	} else {
		snapshot_of(sm, &after); /* accepted: canonical */
		CHECK(after.len == n && memcmp(after.buf, p, n) == 0);
	}
	wire_writer_free(&before);
	wire_writer_free(&after);
	sm_free(sm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_command(data + 1, size - 1);
	else
		fuzz_snapshot(data + 1, size - 1);
	return 0;
}
