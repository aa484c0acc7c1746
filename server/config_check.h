/*
 * config_check.h — tenured's checks of its address settings against each
 * other, beyond what each one is alone (main.c parses those): mistakes a
 * witness would otherwise only show as a cluster that never forms.
 *
 * Contract
 * --------
 * Pure: no I/O, no resolver (every address is an IP literal, parsed with
 * transport_parse_addr; the caller has checked that each one parses).
 * Refused, each with a message naming the setting and what to do:
 *   - two initial_cluster entries with the same peer address;
 *   - two of listen_peer, listen_client, listen_http on one address (the
 *     same port on the same IP, or on a wildcard and any IP);
 *   - a witness named in initial_cluster whose entry is not where it
 *     listens: the entry must be advertise_peer when set (a NAT or a
 *     proxy forwards it to listen_peer), else listen_peer (a wildcard
 *     listen_peer matches an entry with its port).
 * A witness not in initial_cluster (one waiting to be added) has no
 * entry to compare.  Called by --check-config and on every start.
 */
#ifndef TENURE_SERVER_CONFIG_CHECK_H
#define TENURE_SERVER_CONFIG_CHECK_H

#include <stddef.h>

#include "raft/raft.h"

struct config_addrs {
	const char *name;
	const char *listen_peer, *listen_client, *listen_http; /* http: NULL */
	const char *advertise_peer;                            /* or NULL */
	const struct raft_config *initial; /* servers' addr: "name=host:port" */
};

/* 0, or -1 with the reason in err. */
int config_check_addrs(const struct config_addrs *a, char *err, size_t errlen);

#endif /* TENURE_SERVER_CONFIG_CHECK_H */
