/*
 * ctl_auth.h — tenurectl's credential commands (ctl_auth.c): they make
 * secrets and verifiers locally and never talk to a witness.
 *
 * Errors: each returns tenurectl's exit code (0, or CTL_EXIT_ERROR after
 * a message on stderr), as every command does.
 */
#ifndef TENURE_CTL_AUTH_H
#define TENURE_CTL_AUTH_H

#include "ctl/ctl.h"

/* auth new NAME ROLE --write-secret FILE: a fresh random secret into FILE
 * (created 0600, never overwritten) and the credentials line on stdout. */
int ctl_cmd_auth_new(struct ctl *c);
/* auth hash: the verifier of the secret on stdin's first line. */
int ctl_cmd_auth_hash(struct ctl *c);

#endif
