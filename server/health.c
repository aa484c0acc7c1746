/*
 * health.c — see health.h.
 */
#include "server/health.h"

const char *health_problem(struct node *n)
{
	struct raft *r = node_raft(n);
	const struct disk_health *dh = node_disk_health(n);
	/* Compared with the LEADER's commit, not our own: a witness that
	 * lost its log has no commit of its own to be behind. */
	raft_index commit = raft_leader_commit(r);
	raft_index applied = sm_applied_index(node_sm(n));
	if (!disk_health_ok(dh))
		return dh->reason;
	if (raft_leader(r) == 0)
		return "no leader known: this witness cannot reach a quorum";
	if (applied + HEALTH_MAX_LAG < commit)
		return "catching up: behind the leader's commit index";
	return NULL;
}
