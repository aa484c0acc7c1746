/*
 * transport_cert.h — whom a peer's TLS certificate lets it speak for.
 *
 * Contract
 * --------
 * With peer TLS, a witness's certificate names it: its CN or a DNS SAN
 * is its member name ("w1"), and a member's id is the member id of its
 * name (service_member_id()).  An accepted peer may speak as node
 * `claimed` (its hello's sender) only when one of the certificate's names
 * has that id AND that id is a member (voter or learner) of `members`,
 * the configuration the accepting witness knows.  So a certificate of
 * the cluster's CA for "w2" cannot speak as w1, and one for "w9" cannot
 * speak at all while w9 is not a member.
 *
 * Errors: a pure function; NULL when the peer may speak as claimed,
 * otherwise a reason for the log (in why), which names the certificate's
 * names and the claimed sender.
 */
#ifndef TENURE_SERVER_TRANSPORT_CERT_H
#define TENURE_SERVER_TRANSPORT_CERT_H

#include <stddef.h>

#include "common/tls.h"
#include "raft/raft.h"

const char *transport_cert_check(const struct tls_peer_names *names,
				 raft_id claimed,
				 const struct raft_config *members, char *why,
				 size_t n);

#endif /* TENURE_SERVER_TRANSPORT_CERT_H */
