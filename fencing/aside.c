/*
 * aside.c — see aside.h.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fencing/aside.h"

/* DATADIR's parent directory and its last component. */
static void split(const char *datadir, char *parent, size_t pcap,
		  const char **base)
{
	const char *slash = strrchr(datadir, '/');
	if (!slash) {
		snprintf(parent, pcap, ".");
		*base = datadir;
	} else {
		snprintf(parent, pcap, "%.*s",
			 (int)(slash == datadir ? 1 : slash - datadir),
			 datadir);
		*base = slash + 1;
	}
}

int aside_find(const char *datadir, char *out, size_t cap)
{
	char parent[1024], prefix[512], oldest[512] = "";
	const char *base;
	split(datadir, parent, sizeof(parent), &base);
	snprintf(prefix, sizeof(prefix), "%s.diverged-", base);
	DIR *d = opendir(parent);
	if (!d)
		return 0;
	size_t plen = strlen(prefix);
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, prefix, plen) != 0)
			continue;
		/* the suffix is seconds: the shorter, then the smaller, first */
		size_t n = strlen(e->d_name), o = strlen(oldest);
		if (!oldest[0] || n < o ||
		    (n == o && strcmp(e->d_name, oldest) < 0))
			snprintf(oldest, sizeof(oldest), "%s", e->d_name);
	}
	closedir(d);
	if (!oldest[0])
		return 0;
	snprintf(out, cap, "%s/%s", parent, oldest);
	return 1;
}

int aside_free_bytes(const char *datadir, uint64_t *out)
{
	char parent[1024];
	const char *base;
	struct statvfs st;
	split(datadir, parent, sizeof(parent), &base);
	if (statvfs(parent, &st) != 0)
		return -errno;
	*out = (uint64_t)st.f_bavail * st.f_frsize;
	return 0;
}

bool aside_room(const char *datadir, uint64_t need, uint64_t free_bytes,
		char *msg, size_t cap)
{
	uint64_t want = need + need / 10;
	if (free_bytes >= want) {
		msg[0] = '\0';
		return true;
	}
	snprintf(msg, cap,
		 "not copying the data directory afresh: the copy needs about "
		 "%llu MB and only %llu MB are free beside %s (missing %llu "
		 "MB); free space there (an old %s.diverged-* copy may go)",
		 (unsigned long long)(want >> 20),
		 (unsigned long long)(free_bytes >> 20), datadir,
		 (unsigned long long)((want - free_bytes + (1u << 20) - 1) >>
				      20),
		 datadir);
	return false;
}
