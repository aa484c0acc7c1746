/*
 * version.c — the version the binaries report (version.h).
 */
#include "common/version.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#ifndef TENURE_GIT_DESCRIBE
#define TENURE_GIT_DESCRIBE ""
#endif

const char *tenure_version(void)
{
	return PACKAGE_VERSION;
}

const char *tenure_git_describe(void)
{
	return TENURE_GIT_DESCRIBE;
}

void version_print(FILE *f, const char *prog)
{
	const char *git = tenure_git_describe();
	fprintf(f, "%s (tenure) %s%s%s\n", prog, tenure_version(),
		git[0] ? " git " : "", git);
}
