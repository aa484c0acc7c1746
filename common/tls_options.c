/*
 * tls_options.c — the TLS options of a program checked together, before
 * any file is read (see tls.h): a mistake is reported in the program's
 * own words (its option names), not as a file error later.
 */
#include <stdio.h>

#include "common/tls.h"

int tls_options_check(const struct tls_config *cfg,
		      const struct tls_option_names *names, char *err,
		      size_t errlen)
{
	if (!cfg->cert_file != !cfg->key_file) {
		snprintf(err, errlen, "%s is set without %s: give both",
			 cfg->cert_file ? names->cert : names->key,
			 cfg->cert_file ? names->key : names->cert);
		return -1;
	}
	if (cfg->server && cfg->ca_file && !cfg->cert_file) {
		snprintf(err, errlen,
			 "%s (the CA of the clients' certificates) needs %s "
			 "and %s: TLS needs the server's own certificate",
			 names->ca, names->cert, names->key);
		return -1;
	}
	if (!cfg->server && cfg->cert_file && !cfg->ca_file) {
		snprintf(err, errlen,
			 "%s needs %s: TLS is used only with the CA that "
			 "signs the servers' certificates",
			 names->cert, names->ca);
		return -1;
	}
	return 0;
}
