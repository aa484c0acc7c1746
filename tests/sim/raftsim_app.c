/*
 * raftsim_app.c — the application state machine each node applies
 * committed entries to, and its snapshots (data whose every byte is
 * checked when restored).
 */
#include <inttypes.h>
#include <string.h>

#include "tests/sim/raftsim.h"

/* ---- application state machine and snapshots ------------------------------ */

struct snap_header {
	uint64_t magic;
	uint64_t index;
	uint64_t state;
	uint64_t pad;
};

void app_apply(struct sim *s, struct sim_node *n, const struct raft_entry *e)
{
	struct app *a = &n->app;
	if (e->index != a->applied + 1) {
		violation(s, "state machine safety",
			  "n%" PRIu64 " asked to apply %" PRIu64
			  " after applying %" PRIu64,
			  n->id, e->index, a->applied);
		return;
	}
	if (e->index > raft_commit_index(n->raft))
		violation(s, "state machine safety",
			  "n%" PRIu64 " asked to apply %" PRIu64
			  " beyond its commit index %" PRIu64,
			  n->id, e->index, raft_commit_index(n->raft));
	a->state = state_after(a->state, e);
	a->applied = e->index;
	struct checker *c = &s->chk;
	grow_zeroed((void **)&c->state_hash, &c->state_cap, e->index,
		    sizeof(*c->state_hash));
	if (!c->state_hash[e->index])
		c->state_hash[e->index] = a->state;
	else if (c->state_hash[e->index] != a->state)
		violation(s, "state machine safety",
			  "n%" PRIu64 " applied entry %" PRIu64
			  " (term %" PRIu64
			  ") and reached a state no other node had there",
			  n->id, e->index, e->term);
	if (e->type == RAFT_ENTRY_CONFIG) {
		struct raft_config cfg;
		if (raft_config_decode(e->data.base, e->data.len, &cfg) != 0) {
			violation(s, "api",
				  "n%" PRIu64 " config entry %" PRIu64
				  " does not decode",
				  n->id, e->index);
			return;
		}
		a->config = cfg;
		cluster_config_applied(s, e->index, &cfg);
	}
}

/* Restore the state machine from snapshot data: it must be the state every
 * node reached at that index. */
void app_restore(struct sim *s, struct sim_node *n, raft_index idx,
		 const struct raft_buf *data, const struct raft_config *cfg)
{
	struct snap_header h;
	if (data->len < sizeof(h)) {
		violation(s, "state machine safety",
			  "n%" PRIu64 " snapshot %" PRIu64
			  " has %zu bytes, too short",
			  n->id, idx, data->len);
		return;
	}
	memcpy(&h, data->base, sizeof(h));
	if (h.magic != SNAP_MAGIC || h.index != idx ||
	    sizeof(h) + h.pad != data->len) {
		violation(s, "state machine safety",
			  "n%" PRIu64 " snapshot %" PRIu64
			  " data is garbled (says index %" PRIu64 ")",
			  n->id, idx, h.index);
		return;
	}
	const unsigned char *pad = (const unsigned char *)data->base +
				   sizeof(h);
	for (uint64_t i = 0; i < h.pad; i++)
		if (pad[i] != (unsigned char)(h.state + i)) {
			violation(s, "state machine safety",
				  "n%" PRIu64 " snapshot %" PRIu64
				  " data corrupted at byte %" PRIu64,
				  n->id, idx, sizeof(h) + i);
			return;
		}
	uint64_t known = idx < s->chk.state_cap ? s->chk.state_hash[idx] : 0;
	if (known && known != h.state)
		violation(s, "state machine safety",
			  "n%" PRIu64 " restored a snapshot at %" PRIu64
			  " whose state differs from the state applied there",
			  n->id, idx);
	n->app.applied = idx;
	n->app.state = h.state;
	n->app.config = *cfg;
	n->app.snapshot_due = idx + rng_between(&s->rng, 50, 200);
}

struct raft_buf app_snapshot_data(struct sim *s, const struct app *a)
{
	struct snap_header h = { .magic = SNAP_MAGIC,
				 .index = a->applied,
				 .state = a->state,
				 .pad = rng_between(&s->rng, 512, 6144) };
	struct raft_buf b = { .len = sizeof(h) + h.pad };
	b.base = xrealloc(NULL, b.len);
	memcpy(b.base, &h, sizeof(h));
	unsigned char *pad = (unsigned char *)b.base + sizeof(h);
	/* A pattern derived from the state, so a chunk put back at the wrong
	 * offset is noticed at restore. */
	for (uint64_t i = 0; i < h.pad; i++)
		pad[i] = (unsigned char)(h.state + i);
	return b;
}
