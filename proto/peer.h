/*
 * peer.h — the peer protocol between witnesses: Raft messages in frames.
 *
 * Contract
 * --------
 * A Raft message is one frame whose type is the raft_msg_type and whose
 * request id is 0.  peer_encode() appends the frame to a writer.
 * peer_decode() checks everything a malicious or broken peer could get
 * wrong (lengths, booleans, entry types and indices, configuration
 * encoding) and returns PEER_OK or PEER_EBADMSG with a reason; it never
 * trusts a count before the bytes to back it are present.  A decoded
 * message points into the frame's payload (entry data, snapshot chunk) and
 * into the scratch (the entries array); both must outlive its use.
 *
 * Payload layout, after the common part (u64 from, u64 to, u64 term):
 *   append          u64 prev_index, u64 prev_term, u64 commit, u32 n,
 *                   n x (u64 term, u64 index, u8 type, blob data)
 *   append_resp     u8 success, u64 match, u64 hint_index, u64 hint_term
 *   heartbeat       u64 commit, u64 read_seq
 *   heartbeat_resp  u64 read_seq
 *   vote            u64 last_index, u64 last_term, u8 prevote, u8 transfer
 *   vote_resp       u8 granted, u8 prevote
 *   snapshot        u64 index, u64 term, blob config, u64 offset,
 *                   u64 total, blob chunk, u8 done
 *   snapshot_resp   u64 index, u64 received, u8 done
 *   timeout_now     (nothing)
 * (blob = u32 length + bytes)
 *
 * Errors: peer_decode returns PEER_OK or a negative enum peer_status
 * (PEER_EBADMSG with the reason in the scratch, PEER_ENOMEM); peer_encode
 * false only when out of memory.  Nothing is logged.
 */
#ifndef TENURE_PROTO_PEER_H
#define TENURE_PROTO_PEER_H

#include "proto/frame.h"
#include "raft/raft.h"

enum peer_status {
	PEER_OK = 0,
	PEER_EBADMSG = -1,
	PEER_ENOMEM = -2,
};

struct peer_scratch {
	struct raft_entry *entries;
	unsigned cap;
	char error[96];
};

void peer_scratch_free(struct peer_scratch *s);

/* Append one frame carrying m; false only when out of memory. */
bool peer_encode(struct wire_writer *w, const struct raft_message *m);

int peer_decode(const struct frame *f, struct raft_message *m,
		struct peer_scratch *s);

#endif /* TENURE_PROTO_PEER_H */
