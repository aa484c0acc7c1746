/*
 * watch_index.h — the watches of every client session, found by the key
 * or lease an event is about, and by the session that holds them.
 *
 * A fleet's leader holds thousands of watches (each agent watches its
 * scope's keys and its primary lease) and applies thousands of entries a
 * second.  A list scanned per event, per new watch and per closed session
 * makes every one of those cost as much as the whole fleet; after a leader
 * change, when every agent watches anew, that is quadratic.  Here a watch
 * is found in time independent of how many others there are:
 *   - by event: a watch whose prefix holds a '/' can only match names
 *     that begin with the same first segment (up to and including that
 *     '/'), so it lives in that segment's bucket; one with no '/' (a
 *     bare scope name, or "" for everything) is "wide", checked for every
 *     event;
 *   - by session: a second bucket chain keyed by the session.
 * Buckets are hashed; a collision only costs a prefix comparison.
 */
#ifndef TENURE_SERVER_WATCH_INDEX_H
#define TENURE_SERVER_WATCH_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WATCH_INDEX_BUCKETS 4096

struct session;

struct watch_entry {
	struct session *sess;
	uint64_t id;
	bool lease_kind;
	size_t len;
	/* by event: in a segment's bucket, or in the wide list */
	struct watch_entry *ev_prev, *ev_next;
	/* by session */
	struct watch_entry *ss_prev, *ss_next;
	char prefix[]; /* len bytes */
};

/* A watch an event goes to, copied out of the index: delivering an event
 * may close a session, and its watches with it. */
struct watch_ref {
	struct session *sess;
	uint64_t id;
};

struct watch_index {
	struct watch_entry *by_segment[WATCH_INDEX_BUCKETS];
	struct watch_entry *wide;
	struct watch_entry *by_session[WATCH_INDEX_BUCKETS];
	size_t n;
};

void watch_index_init(struct watch_index *x);
/* Adds a watch; NULL when out of memory. */
struct watch_entry *watch_index_add(struct watch_index *x, struct session *sess,
				    uint64_t id, bool lease_kind,
				    const char *prefix, size_t len);
/* Takes w out and frees it. */
void watch_index_remove(struct watch_index *x, struct watch_entry *w);
/* sess's watch with that id, or NULL. */
struct watch_entry *watch_index_find(const struct watch_index *x,
				     const struct session *sess, uint64_t id);
/* One of sess's watches, or NULL when it has none. */
struct watch_entry *watch_index_any_of(const struct watch_index *x,
				       const struct session *sess);
size_t watch_index_count_of(const struct watch_index *x,
			    const struct session *sess);
/* Every watch of that kind whose prefix begins name: copied to out (up
 * to cap); returns how many there are (more than cap: call again with
 * room for all). */
size_t watch_index_match(const struct watch_index *x, bool lease_kind,
			 const char *name, size_t len, struct watch_ref *out,
			 size_t cap);
/* Empties the index, calling removed(ctx, w->sess) for every watch
 * before it is freed; each bucket is walked once. */
void watch_index_clear(struct watch_index *x,
		       void (*removed)(void *ctx, struct session *sess),
		       void *ctx);

#endif
