/*
 * sm_snap.c — snapshot and restore of the whole state machine.
 *
 * Layout, little-endian (wire.h); "str" is a u32 length then the bytes:
 *
 *    0 u32 magic "TSMS"     4 u16 version (1)     6 u16 flags (zero)
 *    8 u64 applied index   16 u64 revision
 *   24 u64 lease count     32 u64 key count
 *   40 leases in name order: str name, str holder (empty: free),
 *      u64 token, u64 ttl_ms, u64 renew_revision
 *      keys in key order: str key, str value, str lease (empty: none),
 *      u64 create_revision, u64 mod_revision
 *  end u32 CRC-32C of every byte before it
 *
 * Entries are written in byte order of their names, so two equal states
 * give the same bytes whatever order things happened in.  Restore trusts
 * nothing: the checksum, every limit, the counts against the bytes, the
 * order (which also rules out duplicates), the revisions against each
 * other, and that every attached key's lease exists and is held.  It
 * builds the new state aside and swaps it in only when all of it is good.
 * The per-scope counters are not in the snapshot: they are counted again
 * as the entries are read, so a snapshot cannot carry wrong ones.
 */
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "server/sm_int.h"

#define SNAP_MAGIC 0x534d5354u /* "TSMS" as bytes */
#define SNAP_VERSION 1
#define SNAP_HEADER 40
/* The smallest records, for checking counts against the bytes. */
#define SNAP_LEASE_MIN (4 + 1 + 4 + 3 * 8)
#define SNAP_KEY_MIN (4 + 1 + 4 + 4 + 2 * 8)

static void put_str(struct wire_writer *w, struct sm_str s)
{
	wire_put_blob(w, s.p, s.len);
}

static bool write_lease(void *arg, struct sm_node *n)
{
	struct wire_writer *w = arg;
	const struct sm_lease *l =
		&SM_CONTAINER(n, struct sm_lease_ent, node)->pub;

	put_str(w, l->name);
	put_str(w, l->holder);
	wire_put_u64(w, l->token);
	wire_put_u64(w, l->ttl_ms);
	wire_put_u64(w, l->renew_revision);
	return !w->failed;
}

static bool write_key(void *arg, struct sm_node *n)
{
	struct wire_writer *w = arg;
	const struct sm_key *k = &SM_CONTAINER(n, struct sm_key_ent, node)->pub;

	put_str(w, k->key);
	put_str(w, k->value);
	put_str(w, k->lease);
	wire_put_u64(w, k->create_revision);
	wire_put_u64(w, k->mod_revision);
	return !w->failed;
}

bool sm_snapshot(const struct sm *sm, struct wire_writer *w)
{
	size_t start = w->len;

	wire_put_u32(w, SNAP_MAGIC);
	wire_put_u16(w, SNAP_VERSION);
	wire_put_u16(w, 0);
	wire_put_u64(w, sm->applied);
	wire_put_u64(w, sm->revision);
	wire_put_u64(w, sm->leases.count);
	wire_put_u64(w, sm->keys.count);
	sm_map_walk_from(&sm->leases, NULL, 0, write_lease, w);
	sm_map_walk_from(&sm->keys, NULL, 0, write_key, w);
	if (w->failed)
		return false;
	wire_put_u32(w, crc32c(0, w->buf + start, w->len - start));
	return !w->failed;
}

/* ---- restore ------------------------------------------------------------ */

struct snap_reader {
	struct wire_reader r;
	struct sm *fresh; /* being built */
	const char *prev; /* name of the previous record, for order */
	size_t prev_len;
	bool have_prev;
};

static struct sm_str get_str(struct wire_reader *r, size_t max)
{
	struct sm_str s;

	s.p = wire_get_blob(r, &s.len, max);
	return s;
}

/* Strictly ascending names: sorted and without duplicates. */
static bool in_order(struct snap_reader *s, struct sm_str name)
{
	bool ok = !s->have_prev ||
		  sm_bytes_cmp(s->prev, s->prev_len, name.p, name.len) < 0;

	s->prev = name.p;
	s->prev_len = name.len;
	s->have_prev = true;
	return ok;
}

/* One more key (of `bytes`) or lease in the scope of name. */
static const char *count_in_scope(struct snap_reader *s, struct sm_str name,
				  uint64_t bytes, int leases)
{
	bool oom;
	struct sm_scope_ent *sc = sm_scope_ent_for(s->fresh, name.p, name.len,
						   &oom);

	if (oom)
		return "out of memory";
	sm_scope_adjust(s->fresh, sc, leases ? 0 : 1, (int64_t)bytes, leases);
	return NULL;
}

static const char *check_lease(struct snap_reader *s, const struct sm_lease *l)
{
	if (l->name.len == 0)
		return "lease with an empty name";
	if (!in_order(s, l->name))
		return "leases out of order or duplicated";
	/* A floor (sm.h) is a free lease that was never granted: no TTL. */
	if (!sm_ttl_valid(l->ttl_ms) && (l->holder.len || l->ttl_ms != 0))
		return "lease ttl out of range";
	/* Renewed (or floored) at renew_revision, a change.  The token may
	 * lie above every index of this log: a floor carries another
	 * trio's tokens on (sm.h), and the grant after it is above that. */
	if (l->token == 0 || l->renew_revision == 0 ||
	    l->renew_revision > s->fresh->revision)
		return "lease token or renew revision out of range";
	return NULL;
}

static const char *read_lease(struct snap_reader *s)
{
	struct sm_lease l;
	struct sm_lease_ent *e;
	const char *err;

	memset(&l, 0, sizeof(l));
	l.name = get_str(&s->r, SM_KEY_MAX);
	l.holder = get_str(&s->r, SM_HOLDER_MAX);
	l.token = wire_get_u64(&s->r);
	l.ttl_ms = wire_get_u64(&s->r);
	l.renew_revision = wire_get_u64(&s->r);
	if (s->r.failed)
		return "truncated lease or field over its limit";
	err = check_lease(s, &l);
	if (err)
		return err;
	e = sm_lease_ent_new(l.name.p, l.name.len);
	if (!e)
		return "out of memory";
	if (sm_lease_ent_set_holder(e, l.holder.p, l.holder.len) != 0) {
		free(e);
		return "out of memory";
	}
	e->pub.token = l.token;
	e->pub.ttl_ms = l.ttl_ms;
	e->pub.renew_revision = l.renew_revision;
	sm_map_insert(&s->fresh->leases, &e->node);
	return count_in_scope(s, l.name, 0, 1);
}

static const char *check_key(struct snap_reader *s, const struct sm_key *k,
			     struct sm_lease_ent **lease)
{
	*lease = NULL;
	if (k->key.len == 0)
		return "key with an empty name";
	if (!in_order(s, k->key))
		return "keys out of order or duplicated";
	if (k->create_revision == 0 || k->create_revision > k->mod_revision ||
	    k->mod_revision > s->fresh->revision)
		return "key revisions out of range";
	if (k->lease.len == 0)
		return NULL;
	*lease = sm_lease_ent_find(s->fresh, k->lease.p, k->lease.len);
	if (!*lease || !(*lease)->holder)
		return "key attached to a lease that is not held";
	return NULL;
}

static const char *read_key(struct snap_reader *s)
{
	struct sm_key k;
	struct sm_key_ent *e;
	struct sm_lease_ent *lease;
	const char *err;

	memset(&k, 0, sizeof(k));
	k.key = get_str(&s->r, SM_KEY_MAX);
	k.value = get_str(&s->r, SM_VALUE_MAX);
	k.lease = get_str(&s->r, SM_KEY_MAX);
	k.create_revision = wire_get_u64(&s->r);
	k.mod_revision = wire_get_u64(&s->r);
	if (s->r.failed)
		return "truncated key or field over its limit";
	err = check_key(s, &k, &lease);
	if (err)
		return err;
	e = sm_key_ent_new(k.key.p, k.key.len);
	if (!e)
		return "out of memory";
	if (sm_key_ent_set_value(e, k.value.p, k.value.len) != 0) {
		free(e);
		return "out of memory";
	}
	e->pub.create_revision = k.create_revision;
	e->pub.mod_revision = k.mod_revision;
	sm_map_insert(&s->fresh->keys, &e->node);
	sm_key_ent_attach(e, lease);
	return count_in_scope(s, k.key, k.key.len + k.value.len, 0);
}

/* Checksum, magic, version and header; the counts are checked against the
 * bytes before anything is allocated. */
static const char *read_header(struct snap_reader *s, const void *buf,
			       size_t len, uint64_t *nleases, uint64_t *nkeys)
{
	size_t body;

	if (len < SNAP_HEADER + 4)
		return "snapshot too short";
	body = len - 4;
	if (crc32c(0, buf, body) !=
	    wire_load_u32((const unsigned char *)buf + body))
		return "snapshot checksum mismatch";
	wire_reader_init(&s->r, buf, body);
	if (wire_get_u32(&s->r) != SNAP_MAGIC)
		return "not a state machine snapshot (bad magic)";
	if (wire_get_u16(&s->r) != SNAP_VERSION)
		return "unknown snapshot version";
	if (wire_get_u16(&s->r) != 0)
		return "unknown snapshot flags";
	s->fresh->applied = wire_get_u64(&s->r);
	s->fresh->revision = wire_get_u64(&s->r);
	*nleases = wire_get_u64(&s->r);
	*nkeys = wire_get_u64(&s->r);
	if (s->fresh->revision > s->fresh->applied)
		return "revision beyond the applied index";
	body -= SNAP_HEADER;
	if (*nleases > body / SNAP_LEASE_MIN ||
	    *nkeys > (body - *nleases * SNAP_LEASE_MIN) / SNAP_KEY_MIN)
		return "counts larger than the snapshot";
	return NULL;
}

static const char *read_all(struct snap_reader *s, const void *buf, size_t len)
{
	uint64_t nleases, nkeys, i;
	const char *err = read_header(s, buf, len, &nleases, &nkeys);

	for (i = 0; !err && i < nleases; i++)
		err = read_lease(s);
	s->have_prev = false;
	for (i = 0; !err && i < nkeys; i++)
		err = read_key(s);
	if (!err && !wire_reader_done(&s->r))
		err = "trailing bytes after the last key";
	return err;
}

int sm_restore(struct sm *sm, const void *buf, size_t len, const char **why)
{
	struct sm fresh;
	struct snap_reader s;
	const char *err;

	memset(&fresh, 0, sizeof(fresh));
	memset(&s, 0, sizeof(s));
	s.fresh = &fresh;
	err = read_all(&s, buf, len);
	if (why)
		*why = err;
	if (err) {
		sm_clear(&fresh);
		return -1;
	}
	sm_clear(sm);
	*sm = fresh;
	return 0;
}
