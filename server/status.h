/*
 * status.h — what tenured says over HTTP: GET /health (200 when this
 * witness can write its data directory, knows a leader and has applied
 * what it knows committed, else 503 with the reason: server/health.h), GET /status (JSON: name, role, term, leader, commit and
 * applied index, members with their peer address, client address — the
 * advertise_client they gave, null until known — and progress) and
 * GET /metrics (Prometheus
 * text format).
 *
 * Errors: none returned; the HTTP handler answers with a status code.
 */
#ifndef TENURE_SERVER_STATUS_H
#define TENURE_SERVER_STATUS_H

#include "common/http.h"
#include "server/clients.h"
#include "server/node.h"
#include "server/service.h"

/* The context lives as long as the process (one per daemon). */
void *status_context(struct node *n, struct service *s, const char *name);
/* What --insecure let through (server/exposure.h), shown by /health as
 * "insecure" (empty: nothing); the text must outlive the context. */
void status_set_insecure(void *ctx, const char *what);
/* The client listener, for its figures in /metrics. */
void status_set_clients(void *ctx, struct clients *clients);
/* One line for systemd's STATUS= (`systemctl status`): this witness's
 * role, term and leader, e.g. "witness w1: follower, term 7, leader w2". */
void status_line(struct node *n, const char *name, char *buf, size_t len);
void status_http_handler(void *arg, const char *method, const char *path,
			 struct http_response *res);

#endif
