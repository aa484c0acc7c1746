/*
 * config.c — cluster membership.  The newest configuration entry in the log
 * is in force as soon as it is appended (single-server changes, Raft thesis
 * §4.1), so the configuration must be recomputed whenever the log tail is
 * truncated.  Only one change may be uncommitted at a time, none before the
 * leader has committed an entry of its term, and a learner is promoted only
 * once it has caught up, so a new voter never stalls commits.
 *
 * Encoding (little endian): u32 magic, u32 count, then per server u64 id,
 * u8 role, u8 address length, address bytes.
 */
#include <string.h>

#include "raft/raft_int.h"

#define CONFIG_MAGIC 0x74636667u /* "tcfg" */

static size_t put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	return 8;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

size_t raft_config_encode(const struct raft_config *c, void *buf, size_t cap)
{
	size_t need = 8;
	for (unsigned i = 0; i < c->n; i++)
		need += 8 + 1 + 1 +
			strnlen(c->servers[i].addr, RAFT_ADDR_MAX - 1);
	if (!buf || cap < need)
		return need;
	unsigned char *p = buf;
	size_t off = 0;
	off += put_u64(p, (uint64_t)CONFIG_MAGIC | ((uint64_t)c->n << 32));
	for (unsigned i = 0; i < c->n; i++) {
		const struct raft_server *s = &c->servers[i];
		size_t alen = strnlen(s->addr, RAFT_ADDR_MAX - 1);
		off += put_u64(p + off, s->id);
		p[off++] = s->role;
		p[off++] = (unsigned char)alen;
		memcpy(p + off, s->addr, alen);
		off += alen;
	}
	return off;
}

int raft_config_decode(const void *buf, size_t len, struct raft_config *c)
{
	const unsigned char *p = buf;
	memset(c, 0, sizeof(*c));
	if (len < 8)
		return RAFT_EINVAL;
	uint64_t head = get_u64(p);
	if ((uint32_t)head != CONFIG_MAGIC)
		return RAFT_EINVAL;
	uint64_t n = head >> 32;
	if (n > RAFT_MAX_SERVERS)
		return RAFT_EINVAL;
	size_t off = 8;
	for (unsigned i = 0; i < n; i++) {
		if (len - off < 10)
			return RAFT_EINVAL;
		struct raft_server *s = &c->servers[i];
		s->id = get_u64(p + off);
		s->role = p[off + 8];
		size_t alen = p[off + 9];
		off += 10;
		if (alen >= RAFT_ADDR_MAX || len - off < alen)
			return RAFT_EINVAL;
		if (s->id == 0 ||
		    (s->role != RAFT_VOTER && s->role != RAFT_LEARNER))
			return RAFT_EINVAL;
		if (raft_config_get(c, s->id))
			return RAFT_EINVAL; /* duplicate id */
		memcpy(s->addr, p + off, alen);
		s->addr[alen] = '\0';
		off += alen;
		c->n = i + 1;
	}
	return off == len ? RAFT_OK : RAFT_EINVAL;
}

const struct raft_server *raft_config_get(const struct raft_config *c,
					  raft_id id)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].id == id)
			return &c->servers[i];
	return NULL;
}

unsigned raft_config_voters(const struct raft_config *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->n; i++)
		n += c->servers[i].role == RAFT_VOTER;
	return n;
}

/* The configuration in force at `index`: the last config entry at or
 * before it, else the snapshot's.  False when index is below memory. */
bool config_at(const struct raft *r, raft_index index, struct raft_config *out)
{
	/* Nothing is known past the end of the log (raft_config_at too). */
	RAFT_ASSERT(index <= log_last_index(&r->log));
	for (raft_index i = index; i > r->log.offset; i--) {
		const struct raft_entry *e = log_get(&r->log, i);
		if (e->type == RAFT_ENTRY_CONFIG)
			return raft_config_decode(e->data.base, e->data.len,
						  out) == RAFT_OK;
	}
	if (index < r->snap_index)
		return false;
	*out = r->snap_config;
	return true;
}

/* After the log tail changed: the newest config entry is in force. */
void config_recompute(struct raft *r)
{
	raft_index last = log_last_index(&r->log);
	for (raft_index i = last; i > r->log.offset && i > r->snap_index; i--) {
		const struct raft_entry *e = log_get(&r->log, i);
		if (e->type != RAFT_ENTRY_CONFIG)
			continue;
		/* Decoded again even at the same index: a truncated entry
		 * may have been replaced by a different one there. */
		int rv = raft_config_decode(e->data.base, e->data.len,
					    &r->config);
		RAFT_ASSERT(rv == RAFT_OK); /* validated when received */
		r->config_index = i;
		config_sync_peers(r);
		return;
	}
	r->config = r->snap_config;
	r->config_index = r->snap_index;
	config_sync_peers(r);
}

/* Leader: one progress record per other member of the configuration. */
void config_sync_peers(struct raft *r)
{
	if (r->state != RAFT_LEADER)
		return;
	struct progress old[RAFT_MAX_SERVERS];
	unsigned n_old = r->n_peers;
	memcpy(old, r->peers, sizeof(old));
	r->n_peers = 0;
	for (unsigned i = 0; i < r->config.n; i++) {
		raft_id id = r->config.servers[i].id;
		if (id == r->id)
			continue;
		RAFT_ASSERT(r->n_peers < RAFT_MAX_SERVERS);
		struct progress *p = &r->peers[r->n_peers++];
		unsigned k;
		for (k = 0; k < n_old && old[k].id != id; k++)
			;
		if (k < n_old) {
			*p = old[k];
			continue;
		}
		memset(p, 0, sizeof(*p));
		p->id = id;
		p->mode = PROGRESS_PROBE;
		p->next = log_last_index(&r->log) + 1;
		p->last_contact = r->now;
		p->last_progress = r->now;
	}
}

static int config_propose(struct raft *r, const struct raft_config *c,
			  struct raft_update *up)
{
	unsigned char buf[8 + RAFT_MAX_SERVERS * (10 + RAFT_ADDR_MAX)];
	size_t len = raft_config_encode(c, buf, sizeof(buf));
	return replication_propose(r, RAFT_ENTRY_CONFIG, buf, len, up);
}

int config_change(struct raft *r, const struct raft_event *ev,
		  struct raft_update *up)
{
	if (r->state != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (r->config_index > r->commit || r->transfer_to)
		return RAFT_EBUSY;
	/* Not before an entry of this term has committed (thesis §4.1 as
	 * corrected in 2015): an earlier leader may have left an uncommitted
	 * change this log lacks, made from the same committed configuration;
	 * with ours on top, the two configurations could have disjoint
	 * quorums and elect two leaders, or lose committed entries.  Once our
	 * no-op commits, that other change can never commit nor win a vote. */
	if (r->commit < r->term_start_index)
		return RAFT_EBUSY;
	struct raft_config c = r->config;
	raft_id id = ev->change.id;
	struct raft_server *s = NULL;
	for (unsigned i = 0; i < c.n; i++)
		if (c.servers[i].id == id)
			s = &c.servers[i];
	switch (ev->change.op) {
	case RAFT_CHANGE_ADD_LEARNER:
		if (id == 0 || s)
			return RAFT_EINVAL;
		if (c.n == RAFT_MAX_SERVERS)
			return RAFT_EINVAL;
		s = &c.servers[c.n++];
		s->id = id;
		s->role = RAFT_LEARNER;
		memcpy(s->addr, ev->change.addr, RAFT_ADDR_MAX);
		s->addr[RAFT_ADDR_MAX - 1] = '\0';
		break;
	case RAFT_CHANGE_PROMOTE: {
		if (!s)
			return RAFT_ENOTFOUND;
		if (s->role != RAFT_LEARNER)
			return RAFT_EINVAL;
		struct progress *p = replication_peer(r, id);
		if (!p || p->match < r->commit)
			return RAFT_ENOTCAUGHTUP;
		s->role = RAFT_VOTER;
		break;
	}
	case RAFT_CHANGE_REMOVE:
		if (!s)
			return RAFT_ENOTFOUND;
		*s = c.servers[--c.n];
		if (raft_config_voters(&c) == 0)
			return RAFT_EINVAL;
		break;
	default:
		return RAFT_EINVAL;
	}
	return config_propose(r, &c, up);
}
