/*
 * api_int.h — what the files of the agent's HTTP API share (api.h):
 *   api.c          routing, the health endpoints, /metrics, /patroni, the
 *                  server
 *   api_patroni.c  /cluster, /history and /config in Patroni's shapes
 *   api_write.c    POST and PATCH: credentials, routing, the writes
 *                  waiting for the witnesses (struct api_pending)
 *   api_handover.c POST /switchover and /failover
 *   api_requests.c POST /restart, /reload, /reinitialize
 *   api_cancel.c   DELETE /switchover and /restart
 *   api_body.h     the bodies' keys (pure)
 *   api_patch.c    PATCH /config
 * Loop thread only.
 */
#ifndef TENURE_FENCING_API_INT_H
#define TENURE_FENCING_API_INT_H

#include "common/json.h"
#include "common/log_throttle.h"
#include "fencing/api.h"

struct api_pending;
struct api_view;
/* Whether what p waits for happened (p answered then), or too late. */
typedef void (*api_watch_fn)(struct api_pending *p, const struct api_view *v,
			     uint64_t now);

/* A write whose answer waits: for the witnesses, then (a handover, a
 * restart) for what the agents do. */
struct api_pending {
	struct api_server *s; /* NULL: the server closed, a witness call is
				 still out (its callback frees this) */
	struct http_conn *conn;
	bool in_flight; /* a witness call is out */
	bool watching;  /* written: watch() on each poll */
	api_watch_fn watch;
	uint64_t deadline_ms; /* uv_now() */
	char key[256];
	char value[2048];
	char candidate[MEMBER_STR_MAX];
	char kind[16];  /* switchover or failover */
	bool retried;   /* a stale request was replaced once */
	uint64_t at_ms; /* a scheduled switchover's or restart's time */
	uint64_t id;    /* a restart's: its result's id */
	int status;     /* the answer's, decided before a last call */
	char node[MEMBER_STR_MAX]; /* DELETE /restart: this node */
	/* PATCH /config: the JSON's assignments ("key=value") */
	char sets[16][300];
	int n_sets;
	struct scope_conf merged; /* the settings written */
	int pause;                /* -1 unchanged, 0 resume, 1 pause */
	struct api_pending *next;
};

struct api_server {
	struct http_server *http;
	api_fill_fn fill;
	void *arg;
	struct api_writes writes;
	bool writes_set;
	struct api_pending *pending; /* writes waiting for an answer */
	uv_timer_t poll;             /* checks the pending handovers */
	bool poll_on;
	struct log_throttle auth_refusals;               /* their log lines */
	void (*closed_write_done)(struct api_server *s); /* api_close */
	void (*on_closed)(void *arg);
	void *closed_arg;
};

/* api.c: JSON into a response (records' bytes kept as written). */
void api_json_start(struct json *j, struct http_response *res);
/* One "key": value each (the string ones copy val as it is; _or_null
 * writes null for NULL or ""; lsn as PostgreSQL's X/X text). */
void api_put_kstr(struct json *j, const char *key, const char *val);
void api_put_kstr_or_null(struct json *j, const char *key, const char *val);
void api_put_ku64(struct json *j, const char *key, uint64_t v);
void api_put_kbool(struct json *j, const char *key, bool v);
void api_put_klsn(struct json *j, const char *key, uint64_t lsn);
void api_answer_error(struct http_response *res, int status, const char *msg,
		      const char *path);
/* This node's record (an empty one when the view has none). */
const struct member *api_self(const struct api_view *v);
/* m is the lease holder of a standby cluster, in recovery: its
 * standby_leader (Patroni's role name). */
bool api_standby_leader(const struct api_view *v, const struct member *m);

/* api_patroni.c.  tenure_shape: /history's objects as stored
 * (?format=tenure). */
void api_cluster(const struct api_view *v, struct http_response *res);
void api_history(const struct api_view *v, bool tenure_shape,
		 struct http_response *res);
void api_config(const struct api_view *v, struct http_response *res);
/* The settings in *c as the JSON object api_config answers with. */
void api_config_json(const struct scope_conf *c, bool paused, struct json *j);

/* b's contents as a C string: NUL-terminated in place (common/buf.h
 * leaves them unterminated), for api_pending_answer's body. */
const char *api_body_text(struct buf *b);
/* api_write.c: a POST, PATCH, PUT or DELETE. */
/* A pending write for r (deferred), or NULL (out of memory, answered
 * 503 in res). */
struct api_pending *api_pending_new(struct api_server *s,
				    const struct http_request *r,
				    struct http_response *res);
/* Answers and frees p (or leaves it to its witness callback). */
void api_pending_answer(struct api_pending *p, int status,
			const char *content_type, const char *body);
void api_pending_error(struct api_pending *p, int status, const char *msg,
		       const char *path);
/* One request to the witnesses for p: cb(p, status, r) unless the
 * server closed meanwhile.  False (p answered 503) when it cannot go. */
typedef void (*api_witness_cb)(struct api_pending *p, int status,
			       const struct client_response *r);
bool api_witness_call(struct api_pending *p, const struct client_request *q,
		      api_witness_cb cb);
/* SCOPE/suffix into p->key. */
void api_pending_key(struct api_pending *p, const char *suffix);
/* Starts the poll timer (each watching p's watch() every 100 ms). */
void api_poll_start(struct api_server *s);

/* api_handover.c */
void api_handover(struct api_server *s, const struct http_request *r,
		  bool failover, struct http_response *res);
/* Whether p's new primary is in place (answered then), or too late. */
void api_handover_poll(struct api_pending *p, const struct api_view *v,
		       uint64_t now);

/* api_requests.c: path is "/restart", "/reload" or "/reinitialize". */
void api_pg_request(struct api_server *s, const struct http_request *r,
		    const char *path, struct http_response *res);

/* api_cancel.c: path is "/switchover" or "/restart". */
void api_cancel(struct api_server *s, const struct http_request *r,
		const char *path, struct http_response *res);

/* api_patch.c */
void api_patch_config(struct api_server *s, const struct http_request *r,
		      struct http_response *res);

void api_write(struct api_server *s, const struct http_request *r,
	       struct http_response *res);
/* api_close: every pending write answered 503, the timer closed; then
 * done(s). */
void api_write_close(struct api_server *s, void (*done)(struct api_server *s));

#endif
