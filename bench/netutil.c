// SPDX-License-Identifier: GPL-2.0
/* Socket and timing helpers shared by the benchmark programs. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netutil.h"

uint64_t nu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int nu_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -1 : 0;
}

/* Split "[HOST:]PORT"; a missing host means any address. */
static int parse_addr(const char *where, struct sockaddr_in *sa)
{
	const char *colon = strrchr(where, ':');
	char host[64] = "0.0.0.0";
	uint64_t port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (colon) {
		size_t len = colon - where;

		if (len >= sizeof(host))
			return -1;
		memcpy(host, where, len);
		host[len] = 0;
		where = colon + 1;
	}
	if (nu_parse_u64(where, &port) || port > 65535 ||
	    inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		fprintf(stderr, "bad address %s\n", where);
		return -1;
	}
	sa->sin_port = htons(port);
	return 0;
}

int nu_listen(const char *where)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	if (parse_addr(where, &sa))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		perror("listen");
		return -1;
	}
	return fd;
}

int nu_connect(const char *where, unsigned int wait_ms)
{
	uint64_t deadline = nu_now_ns() + wait_ms * 1000000ULL;
	struct sockaddr_in sa;
	int fd;

	if (parse_addr(where, &sa))
		return -1;
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			perror("socket");
			return -1;
		}
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		/* The receiver may still be starting up. */
		if (errno != ECONNREFUSED || nu_now_ns() > deadline) {
			perror("connect");
			return -1;
		}
		usleep(20000);
	}
}

int nu_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("write");
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Returns 0, 1 on EOF before the first byte, -1 on error or short data. */
int nu_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("read");
			return -1;
		}
		if (!n) {
			if (got)
				fprintf(stderr, "short read: %zu of %zu\n",
					got, len);
			return got ? -1 : 1;
		}
		got += n;
	}
	return 0;
}

int nu_wait_peer_close(int fd)
{
	char c;
	ssize_t n;

	if (shutdown(fd, SHUT_WR)) {
		perror("shutdown");
		return -1;
	}
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n) {
		fprintf(stderr, "peer did not close cleanly\n");
		return -1;
	}
	return 0;
}

void nu_print_result(const char *prog, const char *role, uint64_t bytes,
		     uint64_t ns)
{
	uint64_t ms = ns / 1000000;

	printf("%s: %s bytes=%llu ms=%llu bytes_per_sec=%llu\n", prog, role,
	       (unsigned long long)bytes, (unsigned long long)ms,
	       (unsigned long long)(ns ? bytes * 1000000000ULL / ns : 0));
	fflush(stdout);
}
