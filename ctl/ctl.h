/*
 * ctl.h — tenurectl, the operator's command line client of tenured (what
 * etcdctl and patronictl are to etcd and Patroni): what every command
 * shares.
 *
 * Contract
 * --------
 * One process runs one command (`tenurectl lease acquire NAME ...`) and
 * exits with:
 *   0  success;
 *   1  a decided "no" (client_status_is_no: the lease is held by another,
 *      wrong holder or token, not found, compare failed, lease not held);
 *   2  an error: bad input, no witness reachable, no quorum, timeout;
 *   4  outcome unknown: a write (lease acquire/renew/release, put, del,
 *      a compare-and-swap, member add/remove, leader transfer, and the
 *      cluster commands that write) was sent but no answer came (within
 *      --timeout, or the connection was lost): it may or may not have
 *      been applied, so the caller must read before it retries.  A
 *      write that never left tenurectl (no witness reachable) is 2.
 * The reason for 1, 2 and 4 goes to stderr; stdout carries only results, a
 * table (default) or, with `-o json`, exactly one JSON document (watches:
 * one JSON object per line), so scripts can pipe it into jq.
 *
 * Files, one idea each:
 *   ctl_main.c     argument parsing, the command table, --help, dispatch
 *   ctl_call.c     talking to witnesses: endpoints, auth token, one-shot
 *                  calls, status -> exit code and error messages
 *   ctl_output.c   table and JSON printing (with JSON string escaping)
 *   ctl_lease.c    lease acquire/renew/release/get/list
 *   ctl_kv.c       put/get/del/list
 *   ctl_watch.c    lease watch and key watch (until SIGINT)
 *   ctl_cluster.c  status, member list/add/remove, leader transfer
 *   ctl_bench.c    the load generator
 *   ctl_pgcluster.c  cluster list/history/pause/resume/switchover/failover:
 *                  the Postgres cluster the agents keep under SCOPE/
 *   ctl_pgoutput.c its tables and JSON (pure, unit-tested)
 *   ctl_scopeconf.c  cluster show-config/edit-config: S/config
 *   ctl_pgmove.c   cluster move: the scope to another witness trio
 *   ctl_drill*.c   cluster drill: a rehearsed switchover or failover with
 *                  measured RTO/RPO, kept under S/drills/ for history
 *                  (ctl_drill_int.h lists its files)
 *   ctl_drillprobe.c  its write probe (libpq, one thread)
 * Headers: this one for what every command uses; one per family of
 * commands for the rest:
 *   ctl_kv.h       the witnesses' leases and keys (ctl_lease.c, ctl_kv.c,
 *                  ctl_watch.c, their printers in ctl_output.c)
 *   ctl_cluster.h  the witness cluster (ctl_cluster.c, ctl_bench.c)
 *   ctl_pg.h       the Postgres cluster (ctl_pgcluster.c, ctl_pgoutput.c,
 *                  ctl_scopeconf.c)
 *   ctl_drill.h    cluster drill and its probe
 *
 * Errors: command functions return an exit code (enum ctl_exit, above)
 * after printing why on stderr; helpers return 0 or such an exit code;
 * ctl_parse_duration 0 or -1.
 */
#ifndef TENURE_CTL_H
#define TENURE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/json.h"
#include "proto/client.h"
#include "proto/tclient.h"

#define CTL_PROG "tenurectl"
#define CTL_DEFAULT_ENDPOINT "127.0.0.1:7101"
#define CTL_MAX_ENDPOINTS 16
#define CTL_MAX_ARGS 16
#define CTL_MAX_OPTS 16

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_NO = 1,
	CTL_EXIT_ERROR = 2,
	CTL_EXIT_UNKNOWN = 4, /* a write's outcome is unknown */
};

enum ctl_format {
	CTL_TABLE,
	CTL_JSON,
};

struct ctl;

struct ctl_cmd {
	const char *path;     /* "lease acquire" */
	const char *synopsis; /* "NAME --holder H --ttl MS" */
	unsigned min_args, max_args;
	const char *const *opts; /* the command's own options, no "--" */
	const char *summary;     /* one line for the command list */
	const char *help;        /* the rest of its --help */
	int (*run)(struct ctl *c);
};

struct ctl_opt {
	const char *name; /* without "--" */
	const char *value;
};

struct ctl {
	const struct ctl_cmd *cmd;
	/* global options */
	char *endpoints_copy;                          /* of the list */
	const char *endpoint_names[CTL_MAX_ENDPOINTS]; /* as given, in it */
	char *endpoints[CTL_MAX_ENDPOINTS];            /* IP literals */
	size_t n_endpoints;
	char *user, *secret;     /* --user, and its secret */
	struct tls_context *tls; /* --cacert (--cert, --key); NULL: none */
	uint64_t timeout_ms;
	uint8_t consistency;
	enum ctl_format format;
	/* the command's words after its path, and its own options */
	const char *args[CTL_MAX_ARGS];
	size_t n_args;
	struct ctl_opt opts[CTL_MAX_OPTS];
	size_t n_opts;
	/* the client library's last warning: why a witness was unreachable */
	char last_warning[256];
};

/* ---- ctl_main.c: options of the running command ---------------------- */

/* The value of --name, or NULL when not given. */
const char *ctl_opt(const struct ctl *c, const char *name);
/* Bad input: prints "tenurectl: <msg>" and a hint naming the command's
 * --help on stderr; returns CTL_EXIT_ERROR. */
int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Integer options.  0 with *out set (def when absent and not required),
 * or CTL_EXIT_ERROR after a usage error naming the option. */
int ctl_opt_u64(const struct ctl *c, const char *name, bool required,
		uint64_t def, uint64_t min, uint64_t max, uint64_t *out);
/* Durations: an integer with an optional unit (ms, s, min, h); a bare
 * number counts in unit_ms. */
int ctl_opt_duration(const struct ctl *c, const char *name, bool required,
		     uint64_t def, uint64_t unit_ms, uint64_t *out);
int ctl_parse_duration(const char *text, uint64_t unit_ms, uint64_t *out);
/* A mandatory string option (non-empty). */
int ctl_opt_str(const struct ctl *c, const char *name, const char **out);

/* ---- ctl_call.c: talking to the witnesses ----------------------------- */

/* Resolves "host:port" names into IP literals; 0 or CTL_EXIT_ERROR with a
 * message. */
int ctl_set_endpoints(struct ctl *c, const char *list);
/* --user NAME with the secret from path: 0 or CTL_EXIT_ERROR with a
 * message. */
int ctl_set_credential(struct ctl *c, const char *user, const char *path);
/* --cacert, --cert, --key (each may be NULL): TLS with cacert; 0 or
 * CTL_EXIT_ERROR with a message. */
int ctl_set_tls(struct ctl *c, const char *cacert, const char *cert,
		const char *key);
void ctl_free(struct ctl *c);
/* Options for a client of all endpoints (or of endpoint i alone). */
void ctl_client_options(struct ctl *c, struct tclient_options *o);
void ctl_client_options_one(struct ctl *c, size_t i, struct tclient_options *o);
/* A client library log line into buf when it explains a failure best. */
void ctl_keep_warning(char *buf, size_t len, const char *level,
		      const char *msg);
/* A string as the protocol wants it. */
struct client_str ctl_str(const char *s);
/* One request to the cluster (the library follows the leader).  Returns
 * the exit code for res->status; on an error it has printed why, naming
 * what was asked (e.g. "lease acquire"); on 0 and 1 res holds the answer
 * and the caller prints it (and the reason for a "no"). */
int ctl_call(struct ctl *c, const struct client_request *q, const char *what,
	     struct tclient_result *res);
/* The same with the caller's options (one endpoint, say). */
int ctl_call_with(struct ctl *c, const struct tclient_options *o,
		  const struct client_request *q, const char *what,
		  struct tclient_result *res);
/* A paged list (q->op LIST_PAGE or LEASE_LIST_PAGE): asks page after page,
 * each starting after the last item of the one before, until an answer
 * says there is no more.  Returns like ctl_call; on 0 the items of every
 * page are in leases or kvs (count of them), in order.  Always free p with
 * ctl_pages_free. */
struct ctl_pages {
	struct tclient_result *pages;
	size_t n, cap_pages;
	struct client_lease *leases;
	struct client_kv *kvs;
	size_t count, cap;
};
int ctl_call_pages(struct ctl *c, const struct client_request *q,
		   const char *what, struct ctl_pages *p);
/* The same without a word on stderr, each page bounded by timeout_ms: an
 * exit code (ctl_exit_for), for polls while the cluster changes hands. */
int ctl_call_pages_quiet(struct ctl *c, const struct client_request *q,
			 uint64_t timeout_ms, struct ctl_pages *p);
void ctl_pages_free(struct ctl_pages *p);
int ctl_exit_for(int status);
/* An exit code that carries an answer (0 or 1): res holds it. */
bool ctl_answered(int code);
/* Prints why a request failed (status is not OK and not a "no"). */
void ctl_report_error(struct ctl *c, const char *what, int status,
		      const char *message, size_t message_len);

/* ---- ctl_cluster.c: after a timeout, say why on stderr ----------------- */

void ctl_diagnose(struct ctl *c);

/* ---- ctl_output.c ------------------------------------------------------ */

/* JSON goes through common/json.h (json_init_file(&j, stdout, 0)); these
 * write the client library's strings. */
void ctl_json_cstr(struct json *j, struct client_str s);
/* An empty string as null (a free lease's holder, a key with no lease). */
void ctl_json_cstr_or_null(struct json *j, struct client_str s);

/* A table printed with aligned columns and an upper-case header. */
struct ctl_table {
	size_t cols, rows, cap;
	char **cells; /* rows x cols, row 0 is the header */
};
void ctl_table_init(struct ctl_table *t, size_t cols, const char *const *head);
/* Appends a row of cols cells (printf-free: each cell a string). */
void ctl_table_row(struct ctl_table *t, const char *const *cells);
void ctl_table_print(struct ctl_table *t, FILE *f);
void ctl_table_free(struct ctl_table *t);
/* A protocol string as a NUL-terminated cell ("-" when empty). */
char *ctl_cell(struct client_str s);
/* A value in a table of several keys: over 60 bytes, its start and "..." */
char *ctl_cell_value(struct client_str v, bool shorten);
char *ctl_cell_u64(uint64_t v);

#endif /* TENURE_CTL_H */
