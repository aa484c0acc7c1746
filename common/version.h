/*
 * version.h — what `--version` (tenured, tenure-agent, tenurectl) and
 * `tenurectl version` print: the package version configure was given
 * (AC_INIT), and the checkout's `git describe` when configure ran in one.
 */
#ifndef TENURE_COMMON_VERSION_H
#define TENURE_COMMON_VERSION_H

#include <stdio.h>

/* "0.1.0" */
const char *tenure_version(void);
/* `git describe --always --dirty` at configure time, or "" (a release
 * tarball, or no git). */
const char *tenure_git_describe(void);
/* "PROG (tenure) 0.1.0" and, when known, " git v0.1.0-12-gabcdef", then
 * a newline. */
void version_print(FILE *f, const char *prog);

#endif
