/*
 * election.c — choosing a leader.
 *
 * PreVote (thesis §9.6) is always on: a node first asks whether it could
 * win before it bumps its term, so a node that was cut off cannot disrupt a
 * healthy cluster when it comes back.  CheckQuorum is always on: a leader
 * that has not heard from a quorum within an election timeout steps down,
 * and a node that heard from a leader within the timeout ignores votes
 * (unless the vote comes from a leadership transfer).  Both are needed for
 * the leases built on top: an isolated leader must stop believing it leads.
 */
#include "raft/raft_int.h"

bool election_in_lease(const struct raft *r)
{
	if (r->state == RAFT_LEADER)
		return true; /* CheckQuorum demotes it when it is not */
	return r->state == RAFT_FOLLOWER && r->leader != 0 && !r->leader_down &&
	       r->now < r->last_leader_contact + r->opt.election_timeout;
}

/* The voter with the lowest id other than `gone`: the one follower that
 * campaigns at once when `gone`, the leader, dies. */
static raft_id first_voter_but(const struct raft *r, raft_id gone)
{
	raft_id first = 0;
	for (unsigned i = 0; i < r->config.n; i++) {
		const struct raft_server *s = &r->config.servers[i];
		if (s->role == RAFT_VOTER && s->id != gone &&
		    (first == 0 || s->id < first))
			first = s->id;
	}
	return first;
}

raft_id raft_successor(const struct raft *r)
{
	return first_voter_but(r, r->id);
}

/* The connection to our leader ended: its process most likely died (a
 * dead host ends nothing, and the election timeout still finds that).
 * Waiting out a whole election timeout would only add to the time every
 * client of the trio spends without a leader.  Every follower told so
 * stops counting that leader as heard (it grants PreVotes at once), but
 * only one campaigns soon, the voter with the lowest id: the followers
 * hear the end of the connection at the same moment, and if all of them
 * campaigned then, they would split the vote.  The others keep their
 * timers: if that one cannot win (its log is behind, it is cut off, it
 * died too), an election timeout later they campaign as before. */
void election_peer_down(struct raft *r, raft_id id)
{
	if (r->state != RAFT_FOLLOWER || id == 0 || r->leader != id)
		return;
	r->leader_down = true;
	/* An eighth of the timeout: the other followers hear the end in the
	 * same moment, but each on its own loop; asked before, one would
	 * still count the leader as heard and refuse the PreVote. */
	uint64_t soon = r->now + r->opt.election_timeout / 8;
	if (first_voter_but(r, id) != r->id)
		return;
	if (soon < r->election_deadline)
		r->election_deadline = soon;
	r->early_until = r->now + r->opt.election_timeout;
}

/* While campaigning early after a PEER_DOWN, a PreVote round that is
 * not won is asked again an eighth of a timeout later, not a whole one
 * later: most likely the other follower's loop had not yet seen the end
 * of the leader's connection and, still counting the leader as heard,
 * ignored the request.  Waiting a whole timeout, the other follower would
 * campaign too, and the clients that came to us (the successor the leader
 * named) would have to move.  Bounded: for one election timeout after
 * the PEER_DOWN, at most eight rounds. */
static void prevote_again_soon(struct raft *r)
{
	uint64_t soon = r->now + r->opt.election_timeout / 8;
	if (r->now < r->early_until && soon < r->election_deadline)
		r->election_deadline = soon;
}

static bool log_up_to_date(const struct raft *r, const struct raft_message *m)
{
	raft_term lt = log_last_term(&r->log);
	if (m->vote.last_term != lt)
		return m->vote.last_term > lt;
	return m->vote.last_index >= log_last_index(&r->log);
}

static void send_vote_requests(struct raft *r, bool prevote)
{
	for (unsigned i = 0; i < r->config.n; i++) {
		const struct raft_server *s = &r->config.servers[i];
		if (s->id == r->id || s->role != RAFT_VOTER)
			continue;
		struct raft_message *m = raft_msg_new(r, RAFT_MSG_VOTE, s->id);
		if (!m)
			return;
		m->term = prevote ? r->term + 1 : r->term;
		m->vote.last_index = log_last_index(&r->log);
		m->vote.last_term = log_last_term(&r->log);
		m->vote.prevote = prevote;
		m->vote.transfer = !prevote && r->campaign_transfer;
	}
}

static void maybe_win(struct raft *r)
{
	RAFT_ASSERT(r->state == RAFT_PRECANDIDATE ||
		    r->state == RAFT_CANDIDATE);
	if (r->n_votes_for < raft_quorum(r))
		return;
	if (r->state == RAFT_PRECANDIDATE) {
		raft_become_candidate(r, false);
		send_vote_requests(r, false);
		if (r->n_votes_for >= raft_quorum(r))
			raft_become_leader(r);
	} else if (r->state == RAFT_CANDIDATE) {
		raft_become_leader(r);
	}
}

static void campaign(struct raft *r)
{
	raft_become_precandidate(r);
	prevote_again_soon(r);
	send_vote_requests(r, true);
	maybe_win(r); /* a single voter wins at once */
}

void election_tick(struct raft *r)
{
	if (r->state == RAFT_LEADER) {
		election_check_quorum(r);
		if (r->state == RAFT_LEADER && r->transfer_to &&
		    r->now >= r->transfer_deadline)
			r->transfer_to = 0; /* gave up; accept writes again */
		return;
	}
	if (r->now < r->election_deadline)
		return;
	/* A learner, a removed node or a node whose disk just failed must
	 * not campaign: it could not serve as leader. */
	if (!raft_may_campaign(r) || r->disk_failed || r->snap_installing) {
		raft_reset_election_timer(r);
		return;
	}
	campaign(r);
}

void election_check_quorum(struct raft *r)
{
	if (r->now < r->quorum_check_at)
		return;
	r->quorum_check_at = r->now + r->opt.election_timeout;
	unsigned active = raft_is_voter(r, r->id) ? 1 : 0;
	for (unsigned i = 0; i < r->n_peers; i++) {
		const struct progress *p = &r->peers[i];
		if (raft_is_voter(r, p->id) &&
		    p->last_contact + r->opt.election_timeout > r->now)
			active++;
	}
	if (active < raft_quorum(r))
		raft_become_follower(r, r->term, 0);
}

void election_recv_vote(struct raft *r, const struct raft_message *m)
{
	struct raft_message *resp;
	bool grant;
	if (m->vote.prevote) {
		/* m->term is the term the candidate would take. */
		grant = m->term > r->term && log_up_to_date(r, m) &&
			(m->vote.transfer || !election_in_lease(r));
	} else {
		/* check_term moved us to a newer term or dropped the vote, so
		 * voted_for below is this term's vote. */
		RAFT_ASSERT(m->term == r->term);
		grant = (r->voted_for == 0 || r->voted_for == m->from) &&
			log_up_to_date(r, m);
		if (grant && r->voted_for != m->from) {
			r->voted_for = m->from;
			r->hs_dirty = true; /* durable before the reply */
		}
		if (grant)
			raft_reset_election_timer(r);
	}
	resp = raft_msg_new(r, RAFT_MSG_VOTE_RESP, m->from);
	if (!resp)
		return;
	resp->term = grant && m->vote.prevote ? m->term : r->term;
	resp->vote_resp.granted = grant;
	resp->vote_resp.prevote = m->vote.prevote;
}

static bool already_counted(const raft_id *ids, unsigned n, raft_id id)
{
	for (unsigned i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

void election_recv_vote_resp(struct raft *r, const struct raft_message *m)
{
	bool pre = m->vote_resp.prevote;
	/* Drop answers to an older round: a granted PreVote carries the
	 * term we would take, everything else our current term. */
	raft_term want = pre && m->vote_resp.granted ? r->term + 1 : r->term;
	int round = pre ? RAFT_PRECANDIDATE : RAFT_CANDIDATE;
	if (r->state != round || m->term != want)
		return;
	if (!raft_is_voter(r, m->from))
		return;
	if (already_counted(r->votes_for_me, r->n_votes_for, m->from) ||
	    already_counted(r->votes_against, r->n_votes_against, m->from))
		return;
	/* Each voter of the configuration is counted at most once. */
	RAFT_ASSERT(r->n_votes_for + r->n_votes_against < RAFT_MAX_SERVERS);
	if (m->vote_resp.granted) {
		r->votes_for_me[r->n_votes_for++] = m->from;
		maybe_win(r);
		return;
	}
	r->votes_against[r->n_votes_against++] = m->from;
	if (r->n_votes_against >= raft_quorum(r))
		raft_become_follower(r, r->term, 0);
}

void election_recv_timeout_now(struct raft *r, const struct raft_message *m)
{
	if (r->state == RAFT_LEADER || !raft_may_campaign(r) ||
	    r->disk_failed || r->snap_installing)
		return;
	RAFT_ASSERT(m->term == r->term); /* check_term caught us up */
	raft_become_candidate(r, true);
	send_vote_requests(r, false);
	if (r->n_votes_for >= raft_quorum(r))
		raft_become_leader(r);
}

/* ---- leadership transfer (thesis §3.10) --------------------------------- */

static raft_id most_caught_up_voter(struct raft *r)
{
	struct progress *best = NULL;
	for (unsigned i = 0; i < r->n_peers; i++) {
		struct progress *p = &r->peers[i];
		if (raft_is_voter(r, p->id) &&
		    (!best || p->match > best->match))
			best = p;
	}
	return best ? best->id : 0;
}

int election_transfer(struct raft *r, raft_id to)
{
	if (r->state != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (to == 0)
		to = most_caught_up_voter(r);
	if (to == r->id)
		return RAFT_OK;
	if (to == 0 || !raft_is_voter(r, to))
		return RAFT_ENOTFOUND;
	struct progress *p = replication_peer(r, to);
	if (!p)
		return RAFT_ENOTFOUND;
	r->transfer_to = to;
	r->transfer_deadline = r->now + r->opt.election_timeout;
	election_transfer_progress(r, p);
	if (r->transfer_to && p->match < log_last_index(&r->log))
		replication_send_append(r, p);
	return RAFT_OK;
}

/* Once the target holds the whole log, tell it to campaign right away. */
void election_transfer_progress(struct raft *r, struct progress *p)
{
	RAFT_ASSERT(r->state == RAFT_LEADER);
	if (r->transfer_to != p->id || p->match < log_last_index(&r->log))
		return;
	raft_msg_new(r, RAFT_MSG_TIMEOUT_NOW, p->id);
}
