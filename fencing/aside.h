/*
 * aside.h — the copies of a data directory kept beside it
 * (DATADIR.diverged-SECONDS) when it is copied afresh, and whether the
 * file system has room for a fresh copy.
 *
 * Contract
 * --------
 * At most one copy is kept: the first, which holds what the node had
 * when it left the primary's history (an old primary's last commits);
 * later copies only hold earlier copies of the primary and are removed
 * instead of kept.  aside_find() names the oldest DATADIR.diverged-*
 * beside DATADIR.  aside_free_bytes() is statvfs of DATADIR's parent
 * (what an unprivileged user may use).  aside_room() is pure: false with
 * a message for the operator (what is needed, what is free, what to do)
 * when free is below need plus a tenth (the WAL written during the
 * copy).  Blocking directory reads: a few entries, at most once per copy.
 *
 * Errors: aside_free_bytes returns 0 or a negative errno, aside_find 1 or
 * 0; nothing is logged here.
 */
#ifndef TENURE_FENCING_ASIDE_H
#define TENURE_FENCING_ASIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 1 with the oldest copy's path in out, 0 when there is none. */
int aside_find(const char *datadir, char *out, size_t cap);

/* 0 with the bytes free in DATADIR's parent, or -errno. */
int aside_free_bytes(const char *datadir, uint64_t *out);

bool aside_room(const char *datadir, uint64_t need, uint64_t free_bytes,
		char *msg, size_t cap);

#endif
