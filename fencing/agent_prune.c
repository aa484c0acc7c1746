/*
 * agent_prune.c — keeps a growing subtree of the scope bounded: after the
 * agent writes a history entry it deletes the oldest entries beyond the
 * newest SCOPE_HISTORY_KEEP (fencing/scope_keys.h).  Without it S/history/
 * grows by one entry per promotion forever, and every reader of the
 * whole subtree (tenurectl cluster history, an agent that starts) pays
 * for all of them.
 *
 * It lists the subtree page by page (only the key names are kept), then
 * deletes the oldest, one at a time, in the background: a prune is rare
 * (once per promotion) and usually deletes one key, and the first one
 * after an upgrade may delete many without flooding the witnesses.  Two
 * agents pruning at once only see NOT_FOUND for keys the other deleted.
 * Nothing waits for it; a failure is logged and the next prune catches up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/scope_keys.h"

struct prune {
	struct agent *a;
	char prefix[AGENT_KEY_MAX];
	size_t keep;
	char **keys; /* suffixes after "S/", oldest first */
	size_t n, cap;
	size_t next, end; /* deleting keys[next..end) */
	bool failed;      /* out of memory while listing */
};

static void prune_free(struct prune *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->keys[i]);
	free(p->keys);
	free(p);
}

static bool collect(void *arg, const struct client_kv *kv)
{
	struct prune *p = arg;
	size_t skip = strlen(p->a->conf->scope) + 1; /* "S/" */
	if (kv->key.len <= skip || memchr(kv->key.p, '\0', kv->key.len))
		return true; /* keys_delete takes a C string */
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		char **k = realloc(p->keys, cap * sizeof(*k));
		if (!k)
			goto oom;
		p->keys = k;
		p->cap = cap;
	}
	p->keys[p->n] = strndup(kv->key.p + skip, kv->key.len - skip);
	if (!p->keys[p->n])
		goto oom;
	p->n++;
	return true;
oom:
	p->failed = true;
	return false;
}

static void delete_next(struct prune *p);

static void deleted(struct agent *a, int status, void *arg)
{
	struct prune *p = arg;
	if (status != CLIENT_OK && status != CLIENT_NOT_FOUND) {
		log_event(LOG_WARN, "prune_stopped",
			  "prefix=%s deleted=%zu "
			  "left=%zu status=%s",
			  p->prefix, p->next - 1, p->end - p->next + 1,
			  client_status_name(status));
		prune_free(p);
		return;
	}
	delete_next(p);
}

static void delete_next(struct prune *p)
{
	if (p->next == p->end) {
		log_event(LOG_INFO, "pruned", "prefix=%s deleted=%zu kept=%zu",
			  p->prefix, p->end, p->n - p->end);
		prune_free(p);
		return;
	}
	keys_delete(p->a, p->keys[p->next++], deleted, p);
}

static void listed(void *arg, bool ok)
{
	struct prune *p = arg;
	if (!ok || p->failed) {
		log_event(LOG_WARN, "prune_failed", "prefix=%s why=\"%s\"",
			  p->prefix,
			  p->failed ? "out of memory" : "the listing failed");
		prune_free(p);
		return;
	}
	p->end = scope_prune_count(p->n, p->keep);
	if (p->end == 0) {
		prune_free(p);
		return;
	}
	delete_next(p);
}

void keys_prune(struct agent *a, const char *dir, size_t keep)
{
	struct prune *p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->a = a;
	p->keep = keep;
	snprintf(p->prefix, sizeof(p->prefix), "%s/%s", a->conf->scope, dir);
	/* A thousand small entries take a few pages: a few TTLs is plenty. */
	uint64_t timeout = (uint64_t)a->live.lease_ttl * 4;
	if (pages_walk(a, p->prefix, "", timeout, collect, listed, p) != 0) {
		log_event(LOG_WARN, "prune_failed",
			  "prefix=%s why=\"cannot "
			  "start the listing\"",
			  p->prefix);
		prune_free(p);
	}
}
