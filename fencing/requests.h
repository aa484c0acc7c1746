/*
 * requests.h — an operator's requests to the agents for work on Postgres
 * itself (restart, reload, re-copy), kept in the scope so that they
 * survive a restart of tenurectl or of any agent, and the result each
 * agent writes back.  Written by `tenurectl cluster restart|reload|reinit`,
 * read by the agents (fencing/agent_requests.c) and by `cluster list`.
 *
 * Keys (scope S), each one flat JSON object:
 *   S/restart        {"id":ms,"at_ms":ms,"nodes":"a,b,c","pending":bool,
 *                    "role":"primary"|"replica"|"","by":"user@host"}
 *                    one rolling restart: replicas one at a time, each
 *                    streaming again before the next, the primary last
 *                    (restart_turn); at_ms 0 is "now", else the wall
 *                    clock at which it begins.  The lease holder deletes
 *                    it once every node is done.
 *   S/reload/NAME    {"id":ms}                pg_reload_conf() on NAME
 *   S/reinit/NAME    {"id":ms,"from":MEMBER}  re-copy NAME's data
 *                    directory (from MEMBER, "" for the primary)
 *   S/results/NAME   {"action":"restart"|"reload"|"reinit","id":ms,
 *                    "ok":bool,"role":ROLE,"gap_ms":ms,"time_ms":ms,
 *                    "detail":TEXT}: NAME's last request carried out;
 *                    gap_ms is a primary's write gap (stop to accepting
 *                    writes again), 0 otherwise.
 * An agent deletes S/reload/NAME and S/reinit/NAME after writing its
 * result; id (the wall clock of the request) ties a result to its
 * request, so a request is never carried out twice.
 *
 * Contract
 * --------
 * Pure functions, no I/O, no clock: codecs (decode refuses malformed JSON
 * with a reason in err; unknown keys are ignored) and the rolling order.
 *
 * Errors: decoders return false on malformed input, encoders 0 when the
 * buffer is too small; nothing is logged.
 */
#ifndef TENURE_FENCING_REQUESTS_H
#define TENURE_FENCING_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fencing/member.h"

#define REQUEST_NODES_MAX 1024

struct restart_request {
	uint64_t id;    /* wall clock ms of the request */
	uint64_t at_ms; /* wall clock ms it begins (0: at once) */
	char nodes[REQUEST_NODES_MAX];
	bool pending;  /* only members whose pending_restart is true */
	char role[16]; /* "primary", "replica" or "" for both */
	char by[MEMBER_STR_MAX];
};

/* S/reload/NAME and S/reinit/NAME. */
struct node_request {
	uint64_t id;
	char from[MEMBER_STR_MAX]; /* reinit: the copy's source, "" */
};

struct node_result {
	char action[16]; /* "restart", "reload", "reinit" */
	uint64_t id;
	bool ok;
	char role[16]; /* the role it had when it began */
	uint64_t gap_ms;
	uint64_t time_ms;
	char detail[MEMBER_STR_MAX];
};

size_t restart_request_encode(const struct restart_request *r, char *buf,
			      size_t cap);
bool restart_request_decode(const char *json, size_t len,
			    struct restart_request *r, char *err,
			    size_t errlen);
size_t node_request_encode(const struct node_request *r, char *buf, size_t cap);
bool node_request_decode(const char *json, size_t len, struct node_request *r,
			 char *err, size_t errlen);
size_t node_result_encode(const struct node_result *r, char *buf, size_t cap);
bool node_result_decode(const char *json, size_t len, struct node_result *r,
			char *err, size_t errlen);

/* A result of NAME, for restart_turn. */
struct named_result {
	char name[MEMBER_STR_MAX];
	struct node_result res;
};

enum restart_step {
	RESTART_NOT_MINE, /* this node is not (or no longer) in it */
	RESTART_WAIT,     /* another node's turn, or one not back yet */
	RESTART_MINE,     /* this node restarts now */
	RESTART_DONE,     /* every node is done */
};

/* The rolling order of req for members (holder: the primary lease's
 * holder, "" when free) into out, comma-separated: the listed nodes that
 * have a record and match role and pending (a node already done for this
 * request stays, so its place is kept), replicas in name order first,
 * the primary last. */
void restart_order(const struct restart_request *req,
		   const struct member *members, size_t n, const char *holder,
		   const struct named_result *results, size_t n_results,
		   char *out, size_t cap);

/* What node me does about req, given what the witnesses hold: in the
 * rolling order, a node is done when its result for req.id is in, and a
 * replica only once its record says it streams again.  The first node
 * not done has the turn.  wall_ms before req.at_ms: RESTART_WAIT. */
enum restart_step restart_turn(const struct restart_request *req,
			       const struct member *members, size_t n,
			       const char *holder,
			       const struct named_result *results,
			       size_t n_results, const char *me,
			       uint64_t wall_ms);

/* The result of name for action and id, or NULL. */
const struct node_result *named_result_find(const struct named_result *results,
					    size_t n, const char *name,
					    const char *action, uint64_t id);

#endif
