/*
 * stanza_borrow.c — see stanza_borrow.h.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/stanza_borrow.h"

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n';
}

/* One shell word at p (quotes dropped, no escapes: a stanza name has
 * none) into buf; returns where it ends. */
static const char *word(const char *p, char *buf, size_t cap, bool *fits)
{
	size_t n = 0;
	char quote = 0;
	*fits = true;
	for (; *p && (quote || !blank(*p)); p++) {
		if (!quote && (*p == '\'' || *p == '"')) {
			quote = *p;
			continue;
		}
		if (quote && *p == quote) {
			quote = 0;
			continue;
		}
		if (n + 1 < cap)
			buf[n++] = *p;
		else
			*fits = false;
	}
	if (cap)
		buf[n] = '\0';
	return p;
}

bool stanza_borrow_named_in(const char *command, char *buf, size_t cap)
{
	static const char opt[] = "--stanza";
	const size_t olen = sizeof(opt) - 1;
	char w[256];
	bool found = false, fits, next_is_stanza = false;
	if (!cap)
		return false;
	buf[0] = '\0';
	for (const char *p = command; *p;) {
		while (blank(*p))
			p++;
		if (!*p)
			break;
		p = word(p, w, sizeof(w), &fits);
		const char *value = NULL;
		if (next_is_stanza)
			value = w;
		else if (strncmp(w, opt, olen) == 0 && w[olen] == '=')
			value = w + olen + 1;
		next_is_stanza = strcmp(w, opt) == 0;
		if (!value)
			continue;
		found = fits && *value && strlen(value) < cap;
		snprintf(buf, cap, "%s", found ? value : "");
	}
	return found;
}

static int standby_check(const struct standby_cluster *s,
			 const struct replica_conf *r, char *err, size_t errlen)
{
	char main_stanza[sizeof(r->stanza)];
	if (!standby_cluster_active(s))
		return 0;
	if (!r->set[REPLICA_KEY_ARCHIVE]) {
		snprintf(err, errlen,
			 "a standby cluster with pgbackrest_stanza '%s' must "
			 "set archive_via_pgbackrest: off when '%s' is the "
			 "main "
			 "cluster's stanza (where copies come from), on only "
			 "when it is this cluster's own; once promoted, the "
			 "cluster archives its new timeline there",
			 r->stanza, r->stanza);
		return -1;
	}
	if (r->archive && s->set[STANDBY_KEY_RESTORE_COMMAND] &&
	    stanza_borrow_named_in(s->restore_command, main_stanza,
				   sizeof(main_stanza)) &&
	    strcmp(main_stanza, r->stanza) == 0) {
		snprintf(err, errlen,
			 "archive_via_pgbackrest = on would archive this "
			 "cluster, once promoted, into stanza '%s', the main "
			 "cluster's archive that "
			 "standby_cluster_restore_command "
			 "reads: set archive_via_pgbackrest = off, or "
			 "pgbackrest_stanza to a stanza of this cluster's own",
			 r->stanza);
		return -1;
	}
	return 0;
}

int stanza_borrow_check(const struct standby_cluster *s,
			const struct bootstrap_conf *b,
			const struct replica_conf *r, char *err, size_t errlen)
{
	if (!r->set[REPLICA_KEY_STANZA])
		return 0;
	if (b->method == BOOTSTRAP_PGBACKREST && b->set[BOOTSTRAP_KEY_STANZA] &&
	    replica_archives(r) && strcmp(b->stanza, r->stanza) == 0) {
		snprintf(err, errlen,
			 "bootstrap_stanza '%s' is another cluster's backup: "
			 "this scope must not archive into it; set "
			 "pgbackrest_stanza to a stanza of its own, or "
			 "archive_via_pgbackrest = off (restoring this "
			 "cluster's own backup: leave bootstrap_stanza unset)",
			 b->stanza);
		return -1;
	}
	return standby_check(s, r, err, errlen);
}

bool stanza_borrow_own(const struct replica_conf *r)
{
	return replica_archives(r);
}
