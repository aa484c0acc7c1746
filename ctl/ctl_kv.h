/*
 * ctl_kv.h — tenurectl's commands on the witnesses' leases and keys
 * (ctl_lease.c, ctl_kv.c, ctl_watch.c) and their printers (ctl_output.c).
 * What every command shares is in ctl.h.
 *
 * Errors: as ctl.h, commands return an exit code (enum ctl_exit) after
 * saying why on stderr.
 */
#ifndef TENURE_CTL_KV_H
#define TENURE_CTL_KV_H

#include <stdbool.h>
#include <stddef.h>

#include "common/json.h"
#include "ctl/ctl.h"
#include "proto/client.h"

/* ---- ctl_output.c: leases and keys ------------------------------------ */

/* Leases and keys, one printer each for both formats. */
void ctl_json_lease(struct json *j, const struct client_lease *l);
void ctl_json_kv(struct json *j, const struct client_kv *kv);
void ctl_print_leases(const struct ctl *c, const struct client_lease *l,
		      size_t n);
void ctl_print_kvs(const struct ctl *c, const struct client_kv *kv, size_t n);
/* A lease and the outcome of a lease write: JSON adds `flag` (granted,
 * renewed, released) when non-NULL. */
void ctl_print_lease_outcome(const struct ctl *c, const struct client_lease *l,
			     const char *flag, bool ok);

/* ---- the commands ------------------------------------------------------- */

int ctl_cmd_lease_acquire(struct ctl *c);
int ctl_cmd_lease_renew(struct ctl *c);
int ctl_cmd_lease_release(struct ctl *c);
int ctl_cmd_lease_get(struct ctl *c);
int ctl_cmd_lease_list(struct ctl *c);
int ctl_cmd_lease_watch(struct ctl *c);
int ctl_cmd_put(struct ctl *c);
int ctl_cmd_get(struct ctl *c);
int ctl_cmd_del(struct ctl *c);
int ctl_cmd_list(struct ctl *c);
int ctl_cmd_watch(struct ctl *c);

#endif /* TENURE_CTL_KV_H */
