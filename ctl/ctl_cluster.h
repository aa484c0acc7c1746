/*
 * ctl_cluster.h — tenurectl's commands on the witness cluster: status,
 * members, leader transfer (ctl_cluster.c) and the load generator
 * (ctl_bench.c).  What every command shares is in ctl.h (ctl_diagnose()
 * too, which ctl_call.c uses after a timeout).
 *
 * Errors: as ctl.h, commands return an exit code (enum ctl_exit) after
 * saying why on stderr.
 */
#ifndef TENURE_CTL_CLUSTER_H
#define TENURE_CTL_CLUSTER_H

#include "ctl/ctl.h"

int ctl_cmd_status(struct ctl *c);
int ctl_cmd_member_list(struct ctl *c);
int ctl_cmd_member_add(struct ctl *c);
int ctl_cmd_member_remove(struct ctl *c);
int ctl_cmd_leader_transfer(struct ctl *c);
int ctl_cmd_bench(struct ctl *c);
/* Does every witness of c apply log commands up to type `need`
 * (VERSION's commands)?  0, or CTL_EXIT_ERROR after saying which witness
 * does not or did not answer; `what` names the command that needs it. */
int ctl_check_commands(struct ctl *c, uint64_t need, const char *what);

#endif /* TENURE_CTL_CLUSTER_H */
