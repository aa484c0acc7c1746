/*
 * ctl_auth.c — see ctl_auth.h.  A secret is 32 random bytes written as 64
 * hex digits: long enough that the verifier in a credentials file cannot
 * be guessed back into it, and safe in any config or shell.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/scram.h"
#include "ctl/ctl_auth.h"

#define SECRET_BYTES 32

static int print_line(struct ctl *c, const char *name, const char *role,
		      const char *secret)
{
	struct scram_verifier v;
	char text[SCRAM_VERIFIER_TEXT_MAX];
	uint64_t iterations;

	if (ctl_opt_u64(c, "iterations", false, SCRAM_ITERATIONS_DEFAULT,
			SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX,
			&iterations))
		return CTL_EXIT_ERROR;
	if (scram_verifier_make(secret, strlen(secret), (uint32_t)iterations,
				&v) ||
	    scram_verifier_format(&v, text, sizeof(text))) {
		fprintf(stderr, CTL_PROG ": cannot derive the verifier\n");
		return CTL_EXIT_ERROR;
	}
	if (name)
		printf("%s %s %s\n", name, role, text);
	else
		printf("%s\n", text);
	return 0;
}

static bool role_ok(const char *role)
{
	if (strcmp(role, "admin") == 0 || strcmp(role, "read-only") == 0)
		return true;
	return strncmp(role, "agent:", 6) == 0 && role[6] &&
	       !strchr(role + 6, '/');
}

static int write_secret(const char *path, const char *secret)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		fprintf(stderr, CTL_PROG ": cannot create %s: %s%s\n", path,
			strerror(errno),
			errno == EEXIST ? " (never overwritten: remove it or "
					  "pick another file)"
					: "");
		return CTL_EXIT_ERROR;
	}
	size_t n = strlen(secret);
	bool ok = write(fd, secret, n) == (ssize_t)n &&
		  write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, CTL_PROG ": cannot write %s: %s\n", path,
			strerror(errno));
		unlink(path);
		return CTL_EXIT_ERROR;
	}
	return 0;
}

int ctl_cmd_auth_new(struct ctl *c)
{
	const char *name = c->args[0], *role = c->args[1], *path;
	unsigned char raw[SECRET_BYTES];
	char secret[2 * SECRET_BYTES + 1];

	if (ctl_opt_str(c, "write-secret", &path))
		return CTL_EXIT_ERROR;
	if (!role_ok(role))
		return ctl_usage_error(c,
				       "unknown role '%s': use admin, "
				       "read-only or agent:SCOPE",
				       role);
	if (scram_random(raw, sizeof(raw))) {
		fprintf(stderr, CTL_PROG ": no random numbers\n");
		return CTL_EXIT_ERROR;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(secret + 2 * i, 3, "%02x", raw[i]);
	int rv = write_secret(path, secret);
	if (rv == 0)
		rv = print_line(c, name, role, secret);
	memset(secret, 0, sizeof(secret));
	return rv;
}

int ctl_cmd_auth_hash(struct ctl *c)
{
	char secret[1024];

	if (!fgets(secret, sizeof(secret), stdin)) {
		fprintf(stderr, CTL_PROG ": auth hash reads the secret from "
					 "its standard input: none came\n");
		return CTL_EXIT_ERROR;
	}
	secret[strcspn(secret, "\r\n")] = '\0';
	if (!secret[0]) {
		fprintf(stderr, CTL_PROG ": the secret is empty\n");
		return CTL_EXIT_ERROR;
	}
	int rv = print_line(c, NULL, NULL, secret);
	memset(secret, 0, sizeof(secret));
	return rv;
}
