/*
 * node.h — one witness's Raft node, driven on a libuv loop: it owns the
 * core (raft/raft.h), the durable store (through the disk worker), the peer
 * transport and the state machine (sm.h), and carries out every update the
 * core hands back in the order raft.h demands.
 *
 * Contract
 * --------
 * Everything runs on the loop thread except the disk worker.  Term and vote
 * reach the disk before any message that depends on them leaves (messages
 * are held while a hard-state write is in flight); entries are acknowledged
 * by the core only after the disk worker reports them durable; committed
 * entries are applied to the state machine in order; snapshots are taken
 * every `snapshot_every` applied entries, written, then the core compacts.
 *
 * Client work enters through node_propose() (a command for the state
 * machine: answered once applied, or failed when another entry took its
 * place) and node_read() (a ReadIndex round: answered when the node may
 * serve a linearizable read).
 *
 * Errors: node_start returns 0 or a negative errno (libuv's, the store's or
 * its own) with a message in err; node_propose, node_read, node_transfer
 * and node_change return RAFT_OK or a positive RAFT_E* code (raft.h), which
 * the service maps to client statuses.
 */
#ifndef TENURE_SERVER_NODE_H
#define TENURE_SERVER_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/tls.h"
#include "raft/raft.h"
#include "server/disk_health.h"
#include "server/duration_hist.h"
#include "server/sm.h"

struct node;

struct node_options {
	raft_id id;
	const char *name;
	const char *data_dir;
	const char *listen_peer;
	struct raft_config initial; /* used when the data dir is new */
	uint64_t cluster_id;
	const char *auth_token;       /* NULL: none */
	const char *advertise_client; /* our client address, for hints */
	/* Peer mutual TLS (transport.h); NULL: plaintext.  The caller
	 * keeps it until the node is stopped. */
	struct tls_context *peer_tls;
	unsigned election_timeout_ms;
	unsigned heartbeat_ms;
	unsigned tick_ms;
	uint64_t snapshot_every; /* applied entries between snapshots */
	size_t frame_limit;
};

/* Proposal outcome: status 0 with the state machine's result, or a
 * RAFT_E* code (RAFT_ENOTLEADER: leader lost; the entry did not commit or
 * its fate is unknown to this node). */
typedef void (*node_propose_cb)(void *arg, int status,
				const struct sm_result *res, uint64_t index);
/* Read outcome: status 0 means the state machine may be read now. */
typedef void (*node_read_cb)(void *arg, int status);
/* Called on every state machine event (watches, lease bookkeeping). */
typedef void (*node_event_cb)(void *arg, const struct sm_event *ev);
/* Called when the role, term or leader changes. */
typedef void (*node_role_cb)(void *arg, int state, raft_term term,
			     raft_id leader);

int node_start(uv_loop_t *loop, const struct node_options *o, struct node **out,
	       char *err, size_t errlen);
void node_set_callbacks(struct node *n, node_event_cb on_event,
			node_role_cb on_role, void *arg);
int node_propose(struct node *n, const void *cmd, size_t len,
		 node_propose_cb cb, void *arg);
int node_read(struct node *n, node_read_cb cb, void *arg);
int node_transfer(struct node *n, raft_id to);
int node_change(struct node *n, int op, raft_id id, const char *addr,
		node_propose_cb cb, void *arg);

struct raft *node_raft(struct node *n);
struct sm *node_sm(struct node *n);
/* Whether the peer link to id is up right now (true for self). */
bool node_peer_connected(const struct node *n, raft_id id);
struct transport_peer_stats;
/* The transport's counters for the link to peer `id` (false: no link). */
bool node_peer_stats(const struct node *n, raft_id id,
		     struct transport_peer_stats *out);
/* Where clients reach member `id` (ours for self), or NULL if unknown. */
const char *node_client_addr(const struct node *n, raft_id id);
uint64_t node_now_ms(void);
/* Mean and count of fsync latencies since start (for metrics). */
/* Whether this witness can write its data directory (disk_health.h). */
const struct disk_health *node_disk_health(const struct node *n);
/* Raft ticks a follower skipped because the leader's messages waited
 * unread, or in the grace after a late loop of its own (node.c,
 * on_tick). */
uint64_t node_ticks_deferred(const struct node *n);
/* Ticks that came LATE_TICK_MS (100 ms) or more after the one before:
 * how many, and the longest gap. */
void node_late_ticks(const struct node *n, uint64_t *count, uint64_t *max_ms);
/* Every durable write's time, fsync included (buckets from 64 us). */
#define NODE_SYNC_HIST_BASE_NS 64000ull
const struct duration_hist *node_disk_syncs(const struct node *n);

/* Hand leadership to a caught-up voter if leader, let in-flight writes
 * finish, close everything; on_stopped runs when all is closed. */
void node_stop(struct node *n, void (*on_stopped)(void *arg), void *arg);

#endif /* TENURE_SERVER_NODE_H */
