/*
 * preflight.c — see preflight.h.  Each check is one function that either
 * passes or writes the operator's sentence; preflight_check() runs them
 * in the order a mistake is most likely found.
 */
#include "fencing/preflight.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every program the agent runs from pg_bin_dir, sooner or later: a
 * missing pg_rewind would only show at the first failover. */
static const char *const programs[] = {
	"pg_ctl",         "postgres",      "initdb",
	"pg_controldata", "pg_basebackup", "pg_rewind",
};

static const char install_hint[] =
	"install PostgreSQL (apt-get install postgresql-15) or set pg_bin_dir "
	"to the directory that holds pg_ctl (`pg_config --bindir` prints it)";

int preflight_major(const char *text)
{
	char *end;
	long v;
	if (!text || text[0] < '0' || text[0] > '9')
		return 0;
	v = strtol(text, &end, 10);
	if (v <= 0 || v > 1000 || (*end && *end != '.' && *end != '\n'))
		return 0;
	return (int)v;
}

int preflight_version_major(const char *out)
{
	/* The last word before the version, whatever the packaging adds
	 * after it: "postgres (PostgreSQL) 15.4 (Debian ...)". */
	const char *p = out ? strstr(out, "(PostgreSQL) ") : NULL;
	return p ? preflight_major(p + strlen("(PostgreSQL) ")) : 0;
}

static void user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
}

static int check_programs(const char *bin, char *err, size_t errlen)
{
	struct stat st;
	char path[PATH_MAX];
	if (stat(bin, &st) != 0) {
		snprintf(err, errlen, "pg_bin_dir '%s': %s: %s", bin,
			 strerror(errno), install_hint);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "pg_bin_dir '%s' is not a directory: %s",
			 bin, install_hint);
		return -1;
	}
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", bin, programs[i]);
		if (access(path, X_OK) != 0) {
			snprintf(err, errlen,
				 "pg_bin_dir '%s' has no executable "
				 "%s (%s): %s",
				 bin, programs[i], strerror(errno),
				 install_hint);
			return -1;
		}
	}
	return 0;
}

/* `postgres -V`, run directly (no shell: pg_bin_dir may hold spaces). */
static int binary_major(const char *bin)
{
	char path[PATH_MAX], out[256] = "";
	int fds[2], status = 0;
	size_t used = 0;
	ssize_t n;
	snprintf(path, sizeof(path), "%s/postgres", bin);
	if (pipe(fds) != 0)
		return 0;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(path, path, "-V", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (used < sizeof(out) - 1 &&
	       (n = read(fds[0], out + used, sizeof(out) - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return preflight_version_major(out);
}

/* A data dir that does not exist yet: the agent creates it, and initdb
 * and pg_basebackup create missing parents too, so the nearest ancestor
 * that exists must be writable. */
static int check_missing(const char *dir, char *err, size_t errlen)
{
	char up[PATH_MAX];
	struct stat st;
	snprintf(up, sizeof(up), "%s", dir);
	for (;;) {
		char *slash = strrchr(up, '/');
		if (slash == up)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		else
			snprintf(up, sizeof(up), ".");
		if (stat(up, &st) == 0 || !slash || strcmp(up, "/") == 0)
			break;
	}
	if (access(up, W_OK | X_OK) == 0)
		return 0;
	snprintf(err, errlen,
		 "pg_data_dir '%s' does not exist and cannot be "
		 "created: '%s' is not writable by the agent's user. Create "
		 "pg_data_dir (owned by that user, mode 0700) or set it to a "
		 "path under a directory that user may write",
		 dir, up);
	return -1;
}

/* True when dir has an entry besides "." and "..". */
static bool has_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool any = false;
	if (!d)
		return false;
	while (!any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any;
}

static int data_major(const char *dir)
{
	char path[PATH_MAX], text[32] = "";
	snprintf(path, sizeof(path), "%s/PG_VERSION", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	return preflight_major(text);
}

static int check_existing(const char *bin, const char *dir,
			  const struct stat *st, char *err, size_t errlen)
{
	char owner[64], me[64];
	if (!S_ISDIR(st->st_mode)) {
		snprintf(err, errlen,
			 "pg_data_dir '%s' is not a directory: "
			 "set pg_data_dir to the PostgreSQL data directory (or "
			 "to a path that does not exist yet, to have the agent "
			 "create it)",
			 dir);
		return -1;
	}
	if (st->st_uid != geteuid()) {
		user_name(st->st_uid, owner, sizeof(owner));
		user_name(geteuid(), me, sizeof(me));
		if (st->st_uid == 0) {
			snprintf(err, errlen,
				 "pg_data_dir '%s' is owned by "
				 "root, and PostgreSQL never runs as root: "
				 "chown -R %s '%s' (the user the agent runs "
				 "as)",
				 dir, me, dir);
			return -1;
		}
		snprintf(err, errlen,
			 "pg_data_dir '%s' is owned by %s, but "
			 "tenure-agent runs as %s (PostgreSQL only runs as its "
			 "data directory's owner): run the agent as %s (sudo "
			 "-u "
			 "%s tenure-agent ...), or chown -R %s '%s' if it is "
			 "meant to be this user's",
			 dir, owner, me, owner, owner, me, dir);
		return -1;
	}
	int have = data_major(dir);
	if (have < 0) {
		if (!has_entries(dir))
			return 0; /* empty: initdb or pg_basebackup fills it */
		snprintf(err, errlen,
			 "pg_data_dir '%s' is not empty and is not "
			 "a PostgreSQL data directory (no PG_VERSION); nothing "
			 "in it was touched: point pg_data_dir at this node's "
			 "data directory, or at an empty or missing one for "
			 "the "
			 "agent to initialise or copy from the primary",
			 dir);
		return -1;
	}
	if (have == 0) {
		snprintf(err, errlen,
			 "pg_data_dir '%s' has a PG_VERSION that "
			 "names no version: it is damaged or not a PostgreSQL "
			 "data directory; nothing in it was touched: check it, "
			 "or point pg_data_dir elsewhere",
			 dir);
		return -1;
	}
	int want = binary_major(bin);
	if (want && have != want) {
		snprintf(err, errlen,
			 "pg_data_dir '%s' holds a PostgreSQL %d "
			 "data directory, but pg_bin_dir '%s' has PostgreSQL "
			 "%d: "
			 "set pg_bin_dir to the PostgreSQL %d binaries, or "
			 "upgrade the data directory with pg_upgrade first",
			 dir, have, bin, want, have);
		return -1;
	}
	return 0;
}

int preflight_check(const char *bin, const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (check_programs(bin, err, errlen) != 0)
		return -1;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return check_missing(dir, err, errlen);
		snprintf(err, errlen,
			 "cannot look at pg_data_dir '%s': %s: "
			 "check the path and that the agent's user may reach "
			 "it",
			 dir, strerror(errno));
		return -1;
	}
	return check_existing(bin, dir, &st, err, errlen);
}
