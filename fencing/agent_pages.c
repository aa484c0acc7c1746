/*
 * agent_pages.c — a paged LIST on the agent's client: LIST_PAGE after
 * LIST_PAGE, each starting after the last key of the one before, until a
 * page says there is no more (proto/client.h, "Paging").  One answer of a
 * plain LIST must fit in a 1 MiB frame, which a scope that kept every
 * history entry and drill result would outgrow.
 *
 * Every page is a linearizable read started after the walk was, so what a
 * walk returns is at least as fresh as the moment it began; pages may
 * come from different revisions (a key written during the walk may or
 * may not be seen), as two separate reads of one tick always could.
 */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "fencing/agent_int.h"
#include "proto/limits.h"

struct pages {
	struct tclient *tc;
	char prefix[SM_KEY_MAX + 1];
	char after[SM_KEY_MAX];
	size_t after_len;
	uint64_t deadline; /* clock_now_ms(): the whole walk's */
	pages_kv_cb on_kv;
	pages_done_cb done;
	void *arg;
};

static void on_page(void *arg, int status, const struct client_response *r);

static int ask(struct pages *p)
{
	uint64_t now = clock_now_ms();
	if (now >= p->deadline)
		return -1;
	struct client_request q = {
		.op = CLIENT_OP_LIST_PAGE,
		.prefix = { p->prefix, strlen(p->prefix) },
		.start_after = { p->after, p->after_len },
		.consistency = CLIENT_LINEARIZABLE,
	};
	return tclient_request(p->tc, &q, p->deadline - now, on_page, p);
}

static void finish(struct pages *p, bool ok)
{
	p->done(p->arg, ok);
	free(p);
}

static void on_page(void *arg, int status, const struct client_response *r)
{
	struct pages *p = arg;
	if (status != CLIENT_OK || !r) {
		finish(p, false);
		return;
	}
	for (uint32_t i = 0; i < r->n; i++)
		if (!p->on_kv(p->arg, &r->kvs[i])) {
			finish(p, true);
			return;
		}
	/* A page that says "more" holds at least one key (client.h): an
	 * empty one would make us ask the same question forever. */
	if (!r->more || !r->n) {
		finish(p, !r->more);
		return;
	}
	const struct client_str *last = &r->kvs[r->n - 1].key;
	if (last->len > sizeof(p->after)) {
		finish(p, false);
		return;
	}
	memcpy(p->after, last->p, last->len);
	p->after_len = last->len;
	if (ask(p) != 0)
		finish(p, false);
}

int pages_walk(struct agent *a, const char *prefix, const char *start_after,
	       uint64_t timeout_ms, pages_kv_cb on_kv, pages_done_cb done,
	       void *arg)
{
	size_t alen = start_after ? strlen(start_after) : 0;
	if (strlen(prefix) >= sizeof(((struct pages *)0)->prefix) ||
	    alen > sizeof(((struct pages *)0)->after))
		return -1;
	struct pages *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->tc = a->tc;
	strcpy(p->prefix, prefix);
	if (alen)
		memcpy(p->after, start_after, alen);
	p->after_len = alen;
	p->deadline = clock_now_ms() + timeout_ms;
	p->on_kv = on_kv;
	p->done = done;
	p->arg = arg;
	if (ask(p) != 0) {
		free(p);
		return -1;
	}
	return 0;
}
