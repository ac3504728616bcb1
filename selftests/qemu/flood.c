// SPDX-License-Identifier: GPL-2.0
/*
 * flood - a steady TCP stream into the guest (guestd's discard port 7001),
 * so that virtio-net RX keeps writing guest RAM while it migrates.
 *
 *   flood HOST:PORT KIB_PER_SEC
 *
 * Sends 8 KiB writes paced every 10 ms to average KIB_PER_SEC, until
 * SIGTERM/SIGINT or until the connection breaks (a sender that blocks
 * because the guest is paused just falls behind; it never bursts to catch
 * up). Prints at the end:
 *   flood: bytes=N seconds=N.N connection=same|lost
 * Exit status 0 if the connection lasted until the signal.
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

static volatile sig_atomic_t want_stop;

static void on_signal(int sig)
{
	(void)sig;
	want_stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	static unsigned char buf[8192];
	uint64_t rate, sent = 0, t0, start, i;
	struct addrinfo *ai;
	char host[256], *port;
	int fd = -1, tries, lost = 0;

	if (argc != 3 || !(rate = strtoull(argv[2], NULL, 0) * 1024)) {
		fprintf(stderr, "usage: flood HOST:PORT KIB_PER_SEC\n");
		return 2;
	}
	snprintf(host, sizeof(host), "%s", argv[1]);
	port = strrchr(host, ':');
	if (!port || (*port++ = 0, getaddrinfo(host, port, &hints, &ai))) {
		fprintf(stderr, "flood: bad address %s\n", argv[1]);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (tries = 0; tries < 300 && !want_stop; tries++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && !connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
		usleep(100000);
	}
	if (fd < 0) {
		printf("flood: cannot connect to %s\n", argv[1]);
		return 1;
	}
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7) | 1;
	start = t0 = now_ns();
	while (!want_stop) {
		uint64_t due = (now_ns() - t0) / 1000 * rate / 1000000;

		while (sent < due && !want_stop) {
			size_t len = due - sent < sizeof(buf) ? due - sent : sizeof(buf);
			ssize_t n = send(fd, buf, len, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				lost = 1;
				goto out;
			}
			sent += n;
		}
		/* Behind by more than a second (guest paused): drop the debt. */
		if (due > sent + rate)
			t0 = now_ns() - sent * 1000000000ULL / rate;
		usleep(10000);
	}
out:
	printf("flood: bytes=%" PRIu64 " seconds=%.1f connection=%s\n", sent,
	       (now_ns() - start) / 1e9, lost ? "lost" : "same");
	return lost;
}
