/*
 * ctl_watch.c — tenurectl lease watch NAME and tenurectl watch [PREFIX]:
 * one line per event (with -o json one object per line) until SIGINT or
 * SIGTERM, which exit 0.
 *
 * The watch survives reconnects (tclient.h); events that happened while
 * it was re-established are not replayed, so we say so on stderr rather
 * than let a gap pass silently.  A watch that no witness accepts within
 * --timeout is an error (exit 2), as is one a witness ends.
 */
#include <signal.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/ctl_kv.h"
#include "proto/limits.h"

struct watch_run {
	struct ctl *c;
	uv_loop_t loop;
	struct tclient *client;
	struct tclient_watch *watch;
	uv_signal_t sigint, sigterm;
	uv_timer_t timer; /* the first acceptance's deadline, then stopping */
	bool lease_kind;
	const char *name; /* lease watch: only this exact name */
	bool ready;
	bool stopping;
	int code;
};

static const char *event_name(uint8_t type)
{
	switch (type) {
	case SM_EV_GRANT:
		return "grant";
	case SM_EV_RENEW:
		return "renew";
	case SM_EV_RELEASE:
		return "release";
	case SM_EV_EXPIRE:
		return "expire";
	case SM_EV_PUT:
		return "put";
	case SM_EV_DELETE:
		return "delete";
	}
	return "unknown";
}

static void print_json_event(const struct watch_run *w,
			     const struct client_event *e)
{
	struct json j;
	json_init_file(&j, stdout, 0);
	json_object(&j);
	json_key(&j, "type");
	json_str(&j, event_name(e->type), strlen(event_name(e->type)));
	json_key(&j, "revision");
	json_u64(&j, e->revision);
	const struct client_lease *l = &e->lease;
	const struct client_kv *kv = &e->kv;
	if (w->lease_kind) {
		json_key(&j, "name");
		ctl_json_cstr(&j, l->name);
		json_key(&j, "holder");
		ctl_json_cstr_or_null(&j, l->holder);
		json_key(&j, "token");
		json_u64(&j, l->token);
		json_key(&j, "ttl_ms");
		json_u64(&j, l->ttl_ms);
		json_key(&j, "remaining_ms");
		json_u64(&j, l->remaining_ms);
	} else {
		json_key(&j, "key");
		ctl_json_cstr(&j, kv->key);
		json_key(&j, "value");
		ctl_json_cstr(&j, kv->value);
		json_key(&j, "lease");
		ctl_json_cstr_or_null(&j, kv->lease);
		json_key(&j, "mod_revision");
		json_u64(&j, kv->mod_revision);
	}
	json_end(&j);
}

static void print_text_event(const struct watch_run *w,
			     const struct client_event *e)
{
	const struct client_lease *l = &e->lease;
	const struct client_kv *kv = &e->kv;
	if (w->lease_kind)
		printf("%s %.*s holder=%.*s token=%llu ttl_ms=%llu "
		       "revision=%llu\n",
		       event_name(e->type), (int)l->name.len, l->name.p,
		       l->holder.len ? (int)l->holder.len : 1,
		       l->holder.len ? l->holder.p : "-",
		       (unsigned long long)l->token,
		       (unsigned long long)l->ttl_ms,
		       (unsigned long long)e->revision);
	else if (e->type == SM_EV_PUT)
		printf("put %.*s %.*s revision=%llu\n", (int)kv->key.len,
		       kv->key.p, (int)kv->value.len, kv->value.p,
		       (unsigned long long)e->revision);
	else
		printf("delete %.*s revision=%llu\n", (int)kv->key.len,
		       kv->key.p, (unsigned long long)e->revision);
}

static void on_closed(void *arg)
{
	(void)arg;
}

/* Runs from the loop, never from inside a client callback. */
static void stop_now(uv_timer_t *t)
{
	struct watch_run *w = t->data;
	tclient_close(w->client, on_closed, w);
	uv_close((uv_handle_t *)&w->sigint, NULL);
	uv_close((uv_handle_t *)&w->sigterm, NULL);
	uv_close((uv_handle_t *)&w->timer, NULL);
}

static void stop(struct watch_run *w, int code)
{
	if (w->stopping)
		return;
	w->stopping = true;
	w->code = code;
	uv_timer_start(&w->timer, stop_now, 0, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	stop(s->data, CTL_EXIT_OK);
}

static void on_not_ready(uv_timer_t *t)
{
	struct watch_run *w = t->data;
	ctl_report_error(w->c, "watch", CLIENT_ETIMEOUT, NULL, 0);
	stop(w, CTL_EXIT_ERROR);
}

static void on_watch(void *arg, enum tclient_watch_note note, int status,
		     const struct client_event *e)
{
	struct watch_run *w = arg;
	switch (note) {
	case TCLIENT_WATCH_READY:
		w->ready = true;
		uv_timer_stop(&w->timer);
		break;
	case TCLIENT_WATCH_RESYNC:
		fprintf(stderr, CTL_PROG
			": watch re-established after a lost "
			"connection; events in between were not seen\n");
		break;
	case TCLIENT_WATCH_EVENT:
		if (w->name &&
		    (e->lease.name.len != strlen(w->name) ||
		     memcmp(e->lease.name.p, w->name, e->lease.name.len) != 0))
			break; /* a longer name with ours as prefix */
		if (w->c->format == CTL_JSON)
			print_json_event(w, e);
		else
			print_text_event(w, e);
		fflush(stdout); /* a pipe must see each event as it comes */
		break;
	case TCLIENT_WATCH_ENDED:
		if (!w->stopping) {
			ctl_report_error(w->c, "watch", status, NULL, 0);
			stop(w, CTL_EXIT_ERROR);
		}
		break;
	}
}

static int start(struct watch_run *w, const char *prefix)
{
	struct tclient_options o;
	ctl_client_options(w->c, &o);
	int rv = tclient_new(&w->loop, &o, &w->client);
	if (rv == 0)
		rv = tclient_watch(w->client,
				   w->lease_kind ? TCLIENT_WATCH_LEASES
						 : TCLIENT_WATCH_KEYS,
				   prefix, on_watch, w, &w->watch);
	if (rv) {
		fprintf(stderr, CTL_PROG ": cannot start the watch: %s\n",
			uv_strerror(rv));
		return CTL_EXIT_ERROR;
	}
	uv_signal_init(&w->loop, &w->sigint);
	uv_signal_init(&w->loop, &w->sigterm);
	uv_timer_init(&w->loop, &w->timer);
	w->sigint.data = w->sigterm.data = w->timer.data = w;
	uv_signal_start(&w->sigint, on_signal, SIGINT);
	uv_signal_start(&w->sigterm, on_signal, SIGTERM);
	uv_timer_start(&w->timer, on_not_ready, w->c->timeout_ms, 0);
	return 0;
}

static int watch_main(struct ctl *c, bool lease_kind, const char *prefix)
{
	struct watch_run w;
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.lease_kind = lease_kind;
	w.name = lease_kind ? prefix : NULL;
	if (uv_loop_init(&w.loop)) {
		fprintf(stderr, CTL_PROG ": cannot start an event loop\n");
		return CTL_EXIT_ERROR;
	}
	int code = start(&w, prefix);
	if (code == 0) {
		uv_run(&w.loop, UV_RUN_DEFAULT);
		code = w.code;
	} else if (w.client) {
		tclient_close(w.client, on_closed, &w);
		uv_run(&w.loop, UV_RUN_DEFAULT);
	}
	uv_loop_close(&w.loop);
	return code;
}

int ctl_cmd_lease_watch(struct ctl *c)
{
	if (!c->args[0][0])
		return ctl_usage_error(c, "the lease NAME must not be empty");
	return watch_main(c, true, c->args[0]);
}

int ctl_cmd_watch(struct ctl *c)
{
	return watch_main(c, false, c->n_args ? c->args[0] : "");
}
