/*
 * transport_cert.c — see transport_cert.h.
 */
#include <stdio.h>
#include <string.h>

#include "server/service.h"
#include "server/transport_cert.h"

/* "\"w2\", \"w2.example\"": the names, quoted, for a log line. */
static void list_names(const struct tls_peer_names *names, char *out, size_t n)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < names->count && used < n; i++) {
		/* a CN repeated as a SAN (the usual certificate) once */
		if (i > 0 && strcmp(names->name[i], names->name[0]) == 0)
			continue;
		int w = snprintf(out + used, n - used, "%s\"%.64s\"",
				 used ? ", " : "", names->name[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (names->count == 0)
		snprintf(out, n, "no name (neither a CN nor a DNS SAN)");
}

/* The certificate's name whose member id is id, or NULL. */
static const char *name_of(const struct tls_peer_names *names, raft_id id)
{
	for (unsigned i = 0; i < names->count; i++)
		if (service_member_id(names->name[i], strlen(names->name[i])) ==
		    id)
			return names->name[i];
	return NULL;
}

/* The claimed sender by name when the configuration (or the certificate)
 * gives one: "w1 (node 123)", else "node 123". */
static void name_claimed(raft_id claimed, const struct raft_config *members,
			 const char *cert_name, char *out, size_t n)
{
	const struct raft_server *s = members ? raft_config_get(members,
								claimed)
					      : NULL;
	const char *eq = s ? strchr(s->addr, '=') : NULL;

	if (eq)
		snprintf(out, n, "%.*s (node %llu)", (int)(eq - s->addr),
			 s->addr, (unsigned long long)claimed);
	else if (cert_name)
		snprintf(out, n, "%.64s (node %llu)", cert_name,
			 (unsigned long long)claimed);
	else
		snprintf(out, n, "node %llu", (unsigned long long)claimed);
}

const char *transport_cert_check(const struct tls_peer_names *names,
				 raft_id claimed,
				 const struct raft_config *members, char *why,
				 size_t n)
{
	char list[400], who[160];

	const char *cert_name = name_of(names, claimed);

	list_names(names, list, sizeof(list));
	name_claimed(claimed, members, cert_name, who, sizeof(who));
	if (!cert_name) {
		snprintf(why, n,
			 "its certificate names %s, but its hello claims to "
			 "be %s: a certificate speaks only for the member "
			 "it names",
			 list, who);
		return why;
	}
	if (!members || !raft_config_get(members, claimed)) {
		snprintf(why, n,
			 "its certificate names %s and its hello claims to "
			 "be %s, which is not a member of this cluster",
			 list, who);
		return why;
	}
	return NULL;
}
