/*
 * peer_tls.c — see peer_tls.h.
 */
#include <stdio.h>
#include <string.h>

#include "server/peer_tls.h"

static unsigned count_set(const struct peer_tls_files *f)
{
	return (f->cert_file != NULL) + (f->key_file != NULL) +
	       (f->ca_file != NULL);
}

static int check_complete(const struct peer_tls_files *f, char *err,
			  size_t errlen)
{
	if (count_set(f) == 3)
		return 0;
	snprintf(err, errlen,
		 "peer TLS needs all three of peer_tls_cert_file, "
		 "peer_tls_key_file and peer_tls_ca_file (%s is not set): "
		 "set them all, or none for plaintext",
		 !f->cert_file  ? "peer_tls_cert_file"
		 : !f->key_file ? "peer_tls_key_file"
				: "peer_tls_ca_file");
	return -1;
}

/* The other witnesses dial this one expecting its name in the
 * certificate: a certificate without it would fail at each of them. */
static int check_names_self(const struct tls_context *ctx,
			    const struct peer_tls_files *f, const char *name,
			    char *err, size_t errlen)
{
	struct tls_peer_names has;
	char list[300] = "";
	size_t used = 0;

	if (tls_context_cert_carries(ctx, name))
		return 0;
	tls_context_cert_names(ctx, &has);
	for (unsigned i = 0; i < has.count && used < sizeof(list); i++) {
		if (i > 0 && strcmp(has.name[i], has.name[0]) == 0)
			continue; /* the CN, again as a SAN */
		int w = snprintf(list + used, sizeof(list) - used,
				 "%s\"%.64s\"", used ? ", " : "", has.name[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	snprintf(err, errlen,
		 "peer_tls_cert_file \"%.300s\" does not name this witness "
		 "\"%s\" (it names %s): the other witnesses require its name "
		 "as a DNS subject alternative name (or, in a certificate "
		 "without any, as its CN)",
		 f->cert_file, name, has.count ? list : "nothing");
	return -1;
}

int peer_tls_load(const struct peer_tls_files *f, const char *name,
		  struct tls_context **out, char *err, size_t errlen)
{
	struct tls_config cfg = {
		.cert_file = f->cert_file,
		.key_file = f->key_file,
		.ca_file = f->ca_file,
		.verify_peer = true,
		.server = true,
	};
	char why[900];

	*out = NULL;
	if (count_set(f) == 0)
		return 0;
	if (check_complete(f, err, errlen))
		return -1;
	struct tls_context *ctx = tls_context_load(&cfg, why, sizeof(why));
	if (!ctx) {
		snprintf(err, errlen, "peer TLS: %s", why);
		return -1;
	}
	if (check_names_self(ctx, f, name, err, errlen)) {
		tls_context_free(ctx);
		return -1;
	}
	*out = ctx;
	return 0;
}

int peer_tls_reload(struct tls_context *ctx, const struct peer_tls_files *f,
		    const char *name, char *err, size_t errlen)
{
	struct tls_context *probe;
	char why[900];

	/* Everything is checked on a copy first: reloading swaps in new
	 * files as soon as they load, before the name could be checked. */
	if (peer_tls_load(f, name, &probe, err, errlen))
		return -1;
	tls_context_free(probe);
	if (tls_context_reload(ctx, NULL, why, sizeof(why))) {
		snprintf(err, errlen, "peer TLS: %s", why);
		return -1;
	}
	return 0;
}
