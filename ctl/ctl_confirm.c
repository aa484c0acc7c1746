/*
 * ctl_confirm.c — see ctl_confirm.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/ctl_confirm.h"

int ctl_confirm(struct ctl *c, const char *what, bool skip,
		const char *skip_option)
{
	char line[64];
	(void)c;
	if (skip)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr,
			CTL_PROG
			": %s\n" CTL_PROG
			": this asks for confirmation and stdin is not a "
			"terminal\nHint: add %s to go ahead without asking.\n",
			what, skip_option);
		return CTL_EXIT_ERROR;
	}
	fprintf(stderr, "%s [y/N] ", what);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "y") != 0 && strcmp(line, "Y") != 0 &&
	    strcmp(line, "yes") != 0) {
		fprintf(stderr, CTL_PROG ": cancelled, nothing was changed\n");
		return CTL_EXIT_NO;
	}
	return 0;
}
