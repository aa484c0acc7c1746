/*
 * watch_index.c — see watch_index.h.
 */
#include <stdlib.h>
#include <string.h>

#include "server/watch_index.h"

/* FNV-1a: short keys, and a collision only costs a comparison. */
static size_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h % WATCH_INDEX_BUCKETS);
}

static size_t hash_session(const struct session *sess)
{
	uintptr_t v = (uintptr_t)sess;
	return (size_t)((v >> 4) * 2654435761u % WATCH_INDEX_BUCKETS);
}

/* The length of name's first segment with its '/', or 0 when it has
 * none. */
static size_t first_segment(const char *name, size_t len)
{
	const char *slash = len ? memchr(name, '/', len) : NULL;
	return slash ? (size_t)(slash - name) + 1 : 0;
}

static struct watch_entry **event_list(struct watch_index *x,
				       const char *prefix, size_t len)
{
	size_t seg = first_segment(prefix, len);
	return seg ? &x->by_segment[hash_bytes(prefix, seg)] : &x->wide;
}

void watch_index_init(struct watch_index *x)
{
	memset(x, 0, sizeof(*x));
}

struct watch_entry *watch_index_add(struct watch_index *x, struct session *sess,
				    uint64_t id, bool lease_kind,
				    const char *prefix, size_t len)
{
	struct watch_entry *w = calloc(1, sizeof(*w) + (len ? len : 1));
	if (!w)
		return NULL;
	w->sess = sess;
	w->id = id;
	w->lease_kind = lease_kind;
	w->len = len;
	if (len)
		memcpy(w->prefix, prefix, len);
	struct watch_entry **ev = event_list(x, prefix, len);
	w->ev_next = *ev;
	if (*ev)
		(*ev)->ev_prev = w;
	*ev = w;
	struct watch_entry **ss = &x->by_session[hash_session(sess)];
	w->ss_next = *ss;
	if (*ss)
		(*ss)->ss_prev = w;
	*ss = w;
	x->n++;
	return w;
}

void watch_index_remove(struct watch_index *x, struct watch_entry *w)
{
	if (w->ev_prev)
		w->ev_prev->ev_next = w->ev_next;
	else
		*event_list(x, w->prefix, w->len) = w->ev_next;
	if (w->ev_next)
		w->ev_next->ev_prev = w->ev_prev;
	if (w->ss_prev)
		w->ss_prev->ss_next = w->ss_next;
	else
		x->by_session[hash_session(w->sess)] = w->ss_next;
	if (w->ss_next)
		w->ss_next->ss_prev = w->ss_prev;
	x->n--;
	free(w);
}

struct watch_entry *watch_index_find(const struct watch_index *x,
				     const struct session *sess, uint64_t id)
{
	for (struct watch_entry *w = x->by_session[hash_session(sess)]; w;
	     w = w->ss_next)
		if (w->sess == sess && w->id == id)
			return w;
	return NULL;
}

struct watch_entry *watch_index_any_of(const struct watch_index *x,
				       const struct session *sess)
{
	for (struct watch_entry *w = x->by_session[hash_session(sess)]; w;
	     w = w->ss_next)
		if (w->sess == sess)
			return w;
	return NULL;
}

size_t watch_index_count_of(const struct watch_index *x,
			    const struct session *sess)
{
	size_t n = 0;
	for (struct watch_entry *w = x->by_session[hash_session(sess)]; w;
	     w = w->ss_next)
		n += w->sess == sess;
	return n;
}

static size_t match_list(struct watch_entry *w, bool lease_kind,
			 const char *name, size_t len, struct watch_ref *out,
			 size_t cap, size_t n)
{
	for (; w; w = w->ev_next) {
		if (w->lease_kind != lease_kind || len < w->len ||
		    memcmp(name, w->prefix, w->len) != 0)
			continue;
		if (n < cap) {
			out[n].sess = w->sess;
			out[n].id = w->id;
		}
		n++;
	}
	return n;
}

size_t watch_index_match(const struct watch_index *x, bool lease_kind,
			 const char *name, size_t len, struct watch_ref *out,
			 size_t cap)
{
	size_t n = match_list(x->wide, lease_kind, name, len, out, cap, 0);
	size_t seg = first_segment(name, len);
	if (seg)
		n = match_list(x->by_segment[hash_bytes(name, seg)], lease_kind,
			       name, len, out, cap, n);
	return n;
}

static void clear_list(struct watch_entry *w,
		       void (*removed)(void *ctx, struct session *sess),
		       void *ctx)
{
	while (w) {
		struct watch_entry *next = w->ev_next;
		removed(ctx, w->sess);
		free(w);
		w = next;
	}
}

void watch_index_clear(struct watch_index *x,
		       void (*removed)(void *ctx, struct session *sess),
		       void *ctx)
{
	clear_list(x->wide, removed, ctx);
	for (size_t i = 0; i < WATCH_INDEX_BUCKETS; i++)
		clear_list(x->by_segment[i], removed, ctx);
	watch_index_init(x);
}
