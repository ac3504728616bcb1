// SPDX-License-Identifier: GPL-2.0
/*
 * seqsink - the client end of guestd's 1 ms stream (TCP :7000): what a
 * user of the migrating guest would have seen.
 *
 *   seqsink HOST:PORT
 *
 * Connects (retrying for up to 30 s), then reads "seq monotonic_ns
 * verified_pages failures" lines and GUESTD-*-FAIL lines. One connection
 * only: if it breaks, that is the result (connection=lost), not something
 * to repair.
 *
 * Prints one summary line on SIGUSR1 (and keeps going), on SIGTERM/SIGINT
 * (then exits) and when the connection ends:
 *   seqsink: lines=N last_seq=N seq_gaps=N max_gap_ms=N max_gap_at_ms=N
 *            guest_max_gap_ms=N verified=N verify_fail=N connection=same|lost
 * max_gap_ms is the longest time between two arrivals here (what the
 * migration's downtime looks like from outside, including the time the
 * network needs to find the guest again); guest_max_gap_ms is the longest
 * step of the guest's own clock between two lines. max_gap_at_ms says when
 * (ms since the first line). SIGUSR2 restarts both maxima, so that a test
 * measures the migration and not the boot. verify_fail counts failure lines
 * plus the guest's failure counter as last reported.
 * Exit status: 0 if the connection lasted until SIGTERM, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t want_report, want_stop, want_reset;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_report = 1;
	else if (sig == SIGUSR2)
		want_reset = 1;
	else
		want_stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int dial(const char *where)
{
	char host[256], *port;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	int fd, tries;

	snprintf(host, sizeof(host), "%s", where);
	port = strrchr(host, ':');
	if (!port)
		return -1;
	*port++ = 0;
	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	for (tries = 0; tries < 300 && !want_stop; tries++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && !connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			freeaddrinfo(ai);
			return fd;
		}
		if (fd >= 0)
			close(fd);
		usleep(100000);
	}
	freeaddrinfo(ai);
	return -1;
}

static struct {
	uint64_t lines, last_seq, seq_gaps, max_gap, max_gap_at, guest_max_gap;
	uint64_t verified, fail_lines, guest_failures;
	uint64_t t0, last_arrival, last_guest_ns;
	int lost;
} st;

static void report(void)
{
	printf("seqsink: lines=%" PRIu64 " last_seq=%" PRIu64 " seq_gaps=%" PRIu64
	       " max_gap_ms=%" PRIu64 " max_gap_at_ms=%" PRIu64
	       " guest_max_gap_ms=%" PRIu64 " verified=%" PRIu64
	       " verify_fail=%" PRIu64 " connection=%s\n",
	       st.lines, st.last_seq, st.seq_gaps, st.max_gap, st.max_gap_at,
	       st.guest_max_gap / 1000000, st.verified,
	       st.fail_lines + st.guest_failures, st.lost ? "lost" : "same");
	fflush(stdout);
}

static void line(char *l, uint64_t t)
{
	uint64_t seq, ns, ver, fails;

	if (!strncmp(l, "GUESTD-", 7)) {
		/* Failure text from the guest: keep it in our log verbatim. */
		st.fail_lines++;
		printf("seqsink: guest said: %s\n", l);
		fflush(stdout);
		return;
	}
	if (sscanf(l, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
		   &seq, &ns, &ver, &fails) != 4) {
		printf("seqsink: unparsable line: %s\n", l);
		st.fail_lines++;
		return;
	}
	if (!st.lines)
		st.t0 = t;
	else if (seq != st.last_seq + 1)
		st.seq_gaps++;
	if (st.lines && t - st.last_arrival > st.max_gap) {
		st.max_gap = t - st.last_arrival;
		st.max_gap_at = st.last_arrival - st.t0;
	}
	if (st.lines && ns - st.last_guest_ns > st.guest_max_gap)
		st.guest_max_gap = ns - st.last_guest_ns;
	st.lines++;
	st.last_seq = seq;
	st.last_arrival = t;
	st.last_guest_ns = ns;
	st.verified = ver;
	st.guest_failures = fails;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	static char buf[1 << 16];
	size_t have = 0;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: seqsink HOST:PORT\n");
		return 2;
	}
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = dial(argv[1]);
	if (fd < 0) {
		printf("seqsink: cannot connect to %s\n", argv[1]);
		st.lost = 1;
		report();
		return 1;
	}
	printf("seqsink: connected to %s\n", argv[1]);
	fflush(stdout);
	while (!want_stop) {
		ssize_t n;
		char *nl, *p;

		if (want_reset) {
			want_reset = 0;
			st.max_gap = st.max_gap_at = st.guest_max_gap = 0;
		}
		if (want_report) {
			want_report = 0;
			report();
		}
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			st.lost = 1;
			printf("seqsink: connection ended: %s\n",
			       n ? strerror(errno) : "EOF");
			break;
		}
		have += n;
		buf[have] = 0;
		p = buf;
		while ((nl = strchr(p, '\n'))) {
			*nl = 0;
			line(p, now_ms());
			p = nl + 1;
		}
		have -= p - buf;
		memmove(buf, p, have);
		if (have == sizeof(buf) - 1)
			have = 0;	/* a line longer than the buffer: garbage */
	}
	report();
	return st.lost ? 1 : 0;
}
