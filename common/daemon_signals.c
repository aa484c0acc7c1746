/*
 * daemon_signals.c — see daemon_signals.h.
 */
#include <signal.h>

#include "common/daemon_signals.h"
#include "common/log.h"

static void on_stop_signal(uv_signal_t *h, int signum)
{
	struct daemon_signals *s = h->data;
	s->on_stop(s->arg, signum);
}

static void on_sighup(uv_signal_t *h, int signum)
{
	struct daemon_signals *s = h->data;
	if (s->on_reload) {
		log_event(LOG_INFO, "reloading", "signal=%d", signum);
		s->on_reload(s->arg);
		return;
	}
	log_event(LOG_WARN, "signal_ignored",
		  "signal=%d reason=\"no reload: restart the service to apply "
		  "a changed configuration\"",
		  signum);
}

void daemon_signals_start(uv_loop_t *loop, struct daemon_signals *s,
			  void (*on_stop)(void *arg, int signum),
			  void (*on_reload)(void *arg), void *arg)
{
	s->on_stop = on_stop;
	s->on_reload = on_reload;
	s->arg = arg;
	uv_signal_init(loop, &s->term);
	uv_signal_init(loop, &s->intr);
	uv_signal_init(loop, &s->hup);
	s->term.data = s->intr.data = s->hup.data = s;
	uv_signal_start(&s->term, on_stop_signal, SIGTERM);
	uv_signal_start(&s->intr, on_stop_signal, SIGINT);
	uv_signal_start(&s->hup, on_sighup, SIGHUP);
}

void daemon_signals_close(struct daemon_signals *s)
{
	uv_close((uv_handle_t *)&s->term, NULL);
	uv_close((uv_handle_t *)&s->intr, NULL);
	uv_close((uv_handle_t *)&s->hup, NULL);
}
