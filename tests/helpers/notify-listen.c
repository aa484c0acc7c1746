/*
 * notify-listen.c — stands in for systemd's notification socket in the
 * process tests (tests/process/sd-notify.sh, tests/pg/sd-notify-agent.sh).
 *
 *   notify-listen SOCKET SECONDS
 *
 * Binds a datagram socket at the path SOCKET (mode 0666, so that a daemon
 * running as another user can send to it, as with systemd's), and prints
 * each datagram received as one line "PID TEXT", PID being the sender's
 * as the kernel vouches for it (SO_PASSCRED: what NotifyAccess=main
 * checks), newlines in TEXT shown as '|'.  Lines are flushed one by one.
 * Exits 0 after SECONDS, removing the socket; 1 on a set-up error.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "notify-listen: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0666) ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one))) {
		fprintf(stderr, "notify-listen: %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* One datagram as "PID TEXT"; the PID from its SCM_CREDENTIALS. */
static void print_one(int fd)
{
	char text[4096];
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = text, .iov_len = sizeof(text) - 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return;
	text[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (text[i] == '\n')
			text[i] = '|';
	long pid = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
	     c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cred;
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			pid = (long)cred.pid;
		}
	printf("%ld %s\n", pid, text);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: notify-listen SOCKET SECONDS\n");
		return 1;
	}
	int fd = open_socket(argv[1]);
	if (fd < 0)
		return 1;
	long end = now_ms() + 1000L * atoi(argv[2]);
	long left;
	while ((left = end - now_ms()) > 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)left) > 0)
			print_one(fd);
	}
	close(fd);
	unlink(argv[1]);
	return 0;
}
