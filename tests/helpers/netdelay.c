/*
 * netdelay — delay, jitter and loss for the packets an NFQUEUE rule hands
 * to user space (`iptables -A INPUT ... -j NFQUEUE --queue-num N`, or
 * nft's `queue num N` where the kernel has nft_queue), for tests that
 * need a slow or lossy network on a kernel without tc netem
 * (docs/testing-faults.md, "Delay and loss without netem", says why and
 * where to put the rule).
 *
 *   netdelay --queue N --delay-ms D [--jitter-ms J] [--loss-pct P]
 *            [--seed S] [--cap C]
 *
 * It binds NFQUEUE queue N (in the network namespace it runs in), and
 * gives each packet its verdict: drop with probability P %, otherwise
 * accept after D ms ± J ms (uniform).  Only the packet's metadata is
 * copied to user space (the verdict is given by id), and at most C
 * packets are held (beyond that they are dropped and counted), so memory
 * stays bounded whatever the traffic.  One thread: poll() on the queue's
 * socket and a signalfd, with the timeout of the first release.
 *
 * On SIGTERM or SIGINT it accepts every packet still held (so stopping it
 * loses nothing), prints one summary line on stdout and exits 0.  Once
 * bound it says so on stderr ("netdelay: queue N bound"): a test waits
 * for that line before it sends traffic.
 *
 * Exit: 0 after a signal, 2 on a usage or set-up error (with a hint).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "tests/helpers/netdelay_sched.h"

/* Large enough that bursts of metadata-only messages (about 100 bytes
 * each) do not overrun the socket while packets are held. */
#define RCVBUF_BYTES (8u << 20)
/* The longest delay or jitter accepted: an hour is already absurd. */
#define MAX_MS 3600000ul

struct netdelay {
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	struct netdelay_sched sched;
	unsigned queue;
	uint64_t flushed;  /* accepted early, at exit */
	uint64_t overruns; /* socket overruns: the kernel lost notifications */
	uint64_t verdict_errors;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: netdelay --queue N --delay-ms D [--jitter-ms J] "
		"[--loss-pct P] [--seed S] [--cap C]\n"
		"\n"
		"Delays and drops the packets of NFQUEUE queue N, which a "
		"rule in the same\n"
		"network namespace sends here: iptables -A INPUT ... -j "
		"NFQUEUE --queue-num N\n"
		"(on the way in: see docs/testing-faults.md).\n"
		"\n"
		"  --queue N       the queue number (0-65535)\n"
		"  --delay-ms D    hold each packet D ms (0-%lu)\n"
		"  --jitter-ms J   plus or minus up to J ms, uniform "
		"(default 0)\n"
		"  --loss-pct P    drop P %% of packets (0-100, decimals "
		"allowed; default 0)\n"
		"  --seed S        the PRNG seed for loss and jitter "
		"(default: from the time;\n"
		"                  the summary prints it)\n"
		"  --cap C         hold at most C packets, drop beyond "
		"(default %d)\n"
		"  --help          this text\n"
		"\n"
		"Runs until SIGTERM or SIGINT, then accepts what it still "
		"holds, prints\n"
		"one summary line (packets, delayed, dropped, max held) and "
		"exits 0.\n"
		"Needs CAP_NET_ADMIN in its network namespace.\n",
		MAX_MS, NETDELAY_DEFAULT_CAP);
}

static int bad_usage(const char *what, const char *value)
{
	fprintf(stderr, "netdelay: bad %s '%s'\nHint: netdelay --help\n", what,
		value);
	return -1;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct netdelay_params *p,
		      unsigned *queue)
{
	static const struct option opts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "jitter-ms", required_argument, NULL, 'j' },
		{ "loss-pct", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 's' },
		{ "cap", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v, have_queue = 0, have_delay = 0;
	char *end;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			if (parse_u64(optarg, 65535, &v))
				return bad_usage("--queue", optarg);
			*queue = (unsigned)v;
			have_queue = 1;
			break;
		case 'd':
			if (parse_u64(optarg, MAX_MS, &v))
				return bad_usage("--delay-ms", optarg);
			p->delay_ns = v * 1000000ull;
			have_delay = 1;
			break;
		case 'j':
			if (parse_u64(optarg, MAX_MS, &v))
				return bad_usage("--jitter-ms", optarg);
			p->jitter_ns = v * 1000000ull;
			break;
		case 'l':
			p->loss_pct = strtod(optarg, &end);
			if (end == optarg || *end || !(p->loss_pct >= 0.0) ||
			    p->loss_pct > 100.0)
				return bad_usage("--loss-pct", optarg);
			break;
		case 's':
			if (parse_u64(optarg, UINT64_MAX, &p->seed))
				return bad_usage("--seed", optarg);
			break;
		case 'c':
			if (parse_u64(optarg, 1u << 24, &v) || v == 0)
				return bad_usage("--cap", optarg);
			p->cap = (size_t)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "Hint: netdelay --help\n");
			return -1;
		}
	}
	if (optind < argc)
		return bad_usage("argument", argv[optind]);
	if (!have_queue || !have_delay) {
		fprintf(stderr, "netdelay: --queue and --delay-ms are "
				"required\nHint: netdelay --help\n");
		return -1;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void verdict(struct netdelay *nd, uint32_t id, uint32_t v)
{
	if (nfq_set_verdict(nd->qh, id, v, 0, NULL) < 0)
		nd->verdict_errors++;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg,
		     struct nfq_data *nfa, void *data)
{
	struct netdelay *nd = data;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	if (!ph)
		return 0;
	uint32_t id = ntohl(ph->packet_id);
	if (netdelay_sched_admit(&nd->sched, now_ns(), id) != NETDELAY_HELD)
		verdict(nd, id, NF_DROP);
	return 0;
}

static void release_due(struct netdelay *nd)
{
	struct netdelay_held h;
	uint64_t now = now_ns();
	while (netdelay_sched_pop_due(&nd->sched, now, &h))
		verdict(nd, h.id, NF_ACCEPT);
}

/* Reads every queued message without blocking.  An overrun (ENOBUFS)
 * means the kernel dropped notifications: those packets wait in the
 * kernel queue until the queue is unbound at exit; counted, not fatal. */
static int drain_socket(struct netdelay *nd, int fd)
{
	static char buf[65536] __attribute__((aligned));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			nfq_handle_packet(nd->h, buf, (int)n);
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			nd->overruns++;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		fprintf(stderr, "netdelay: reading queue %u: %s\n", nd->queue,
			n == 0 ? "socket closed" : strerror(errno));
		return -1;
	}
}

static int bind_queue(struct netdelay *nd)
{
	const char *step = "nfq_open";
	nd->h = nfq_open();
	if (!nd->h)
		goto fail;
	/* nfq_bind_pf is a no-op on kernels >= 3.8 but harmless before. */
	nfq_bind_pf(nd->h, AF_INET);
	nfq_bind_pf(nd->h, AF_INET6);
	step = "binding the queue";
	nd->qh = nfq_create_queue(nd->h, (uint16_t)nd->queue, on_packet, nd);
	if (!nd->qh)
		goto fail;
	step = "setting copy mode META";
	if (nfq_set_mode(nd->qh, NFQNL_COPY_META, 0) < 0)
		goto fail;
	/* Leave the kernel room beyond our own cap, so that what is dropped
	 * for lack of room is dropped (and counted) here, not silently. */
	nfq_set_queue_maxlen(nd->qh, (uint32_t)(nd->sched.p.cap + 4096));
	/* GSO packets whole: metadata only, so segmenting them buys nothing */
	nfq_set_queue_flags(nd->qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
	nfnl_rcvbufsiz(nfq_nfnlh(nd->h), RCVBUF_BYTES);
	return 0;
fail:
	fprintf(stderr,
		"netdelay: %s for queue %u failed: %s\n"
		"Hint: it needs CAP_NET_ADMIN (root) in its network namespace "
		"and the\nnfnetlink_queue module; only one process can bind "
		"a queue number.\n",
		step, nd->queue, strerror(errno));
	return -1;
}

static int signal_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int run(struct netdelay *nd, int sfd)
{
	int qfd = nfq_fd(nd->h);
	struct pollfd fds[2] = { { .fd = qfd, .events = POLLIN },
				 { .fd = sfd, .events = POLLIN } };
	for (;;) {
		int wait = netdelay_sched_wait_ms(&nd->sched, now_ns());
		if (poll(fds, 2, wait) < 0 && errno != EINTR) {
			perror("netdelay: poll");
			return -1;
		}
		if (fds[1].revents)
			return 0;
		if (fds[0].revents && drain_socket(nd, qfd) < 0)
			return -1;
		release_due(nd);
	}
}

static void flush_and_report(struct netdelay *nd)
{
	struct netdelay_held h;
	while (netdelay_sched_pop_any(&nd->sched, &h)) {
		verdict(nd, h.id, NF_ACCEPT);
		nd->flushed++;
	}
	const struct netdelay_counts *c = netdelay_sched_counts(&nd->sched);
	printf("netdelay: queue=%u packets=%" PRIu64 " delayed=%" PRIu64
	       " dropped=%" PRIu64 " dropped_loss=%" PRIu64
	       " dropped_cap=%" PRIu64 " max_held=%zu flushed=%" PRIu64
	       " overruns=%" PRIu64 " verdict_errors=%" PRIu64 " seed=%" PRIu64
	       "\n",
	       nd->queue, c->packets, c->released - nd->flushed,
	       c->dropped_loss + c->dropped_cap, c->dropped_loss,
	       c->dropped_cap, c->max_held, nd->flushed, nd->overruns,
	       nd->verdict_errors, nd->sched.p.seed);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct netdelay nd = { 0 };
	struct netdelay_params p = {
		.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32),
		.cap = NETDELAY_DEFAULT_CAP,
	};
	if (parse_args(argc, argv, &p, &nd.queue) < 0)
		return 2;
	if (netdelay_sched_init(&nd.sched, &p) < 0) {
		fprintf(stderr, "netdelay: out of memory for %zu packets\n",
			p.cap);
		return 2;
	}
	int sfd = signal_fd();
	if (sfd < 0) {
		perror("netdelay: signalfd");
		return 2;
	}
	if (bind_queue(&nd) < 0)
		return 2;
	fprintf(stderr, "netdelay: queue %u bound\n", nd.queue);
	int rc = run(&nd, sfd);
	flush_and_report(&nd);
	nfq_destroy_queue(nd.qh);
	nfq_close(nd.h);
	netdelay_sched_free(&nd.sched);
	return rc < 0 ? 2 : 0;
}
