/* fake_pg.c — see fake_pg.h. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/fake_pg.h"

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

char fake_pg_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static pid_t ppid_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	int ppid = 0;
	char st;
	if (!p || sscanf(p + 1, " %c %d", &st, &ppid) != 2)
		return 0;
	return ppid;
}

/* Fill f->kids with the live children of f->pid; how many found. */
static int find_kids(struct fake_pg *f)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)) != NULL) {
		pid_t p = (pid_t)atoi(e->d_name);
		if (p > 0 && ppid_of(p) == f->pid && n < FAKE_PG_KIDS)
			f->kids[n++] = p;
	}
	if (d)
		closedir(d);
	return n;
}

void fake_pg_write_pid(const struct fake_pg *f, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/postmaster.pid", f->dir);
	FILE *fp = fopen(path, "w");
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

int fake_pg_start(struct fake_pg *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/test-fakepg-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->pid = fork();
	if (f->pid < 0)
		return -1;
	if (f->pid == 0) {
		execl("/bin/sh", "postgres", "-c",
		      "sleep 1000 & sleep 1000 & sleep 1000 & wait", NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && find_kids(f) < FAKE_PG_KIDS; i++)
		nap_ms(10);
	if (find_kids(f) < FAKE_PG_KIDS)
		return -1;
	char text[128];
	snprintf(text, sizeof(text), "%d\n%s\n1700000000\n5432\n", (int)f->pid,
		 f->dir);
	fake_pg_write_pid(f, text);
	return 0;
}

bool fake_pg_wait_dead(struct fake_pg *f, int ms)
{
	for (int waited = 0; f->pid > 0; waited += 5) {
		if (waitpid(f->pid, &f->status, WNOHANG) == f->pid) {
			f->pid = 0;
			break;
		}
		if (waited >= ms)
			return false;
		nap_ms(5);
	}
	return true;
}

void fake_pg_cleanup(struct fake_pg *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, &f->status, 0);
		f->pid = 0;
	}
	for (int i = 0; i < FAKE_PG_KIDS; i++)
		if (f->kids[i] > 0 && fake_pg_state(f->kids[i]) != 0 &&
		    fake_pg_state(f->kids[i]) != 'Z')
			kill(f->kids[i], SIGKILL);
	char path[128];
	snprintf(path, sizeof(path), "%s/postmaster.pid", f->dir);
	unlink(path);
	if (f->dir[0])
		rmdir(f->dir);
}
