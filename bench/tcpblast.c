// SPDX-License-Identifier: GPL-2.0
/*
 * tcpblast - raw TCP throughput, the ceiling a migration stream can reach
 * on the same link.
 *
 *   tcpblast recv [ADDR:]PORT
 *	Accept one connection, read and discard until EOF, close.
 *   tcpblast send HOST:PORT MIB [CHUNK_KIB]
 *	Send MIB MiB of non-zero data in CHUNK_KIB writes (default 256),
 *	shut down the write side and wait for the peer to close, so the
 *	time covers delivery, not just queueing into the socket buffer.
 *
 * Each side prints one line:
 *   tcpblast: <send|recv> bytes=N ms=N bytes_per_sec=N
 * The receiver prints "listening" on stderr once it accepts connections.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netutil.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: tcpblast recv [ADDR:]PORT\n"
		"       tcpblast send HOST:PORT MIB [CHUNK_KIB]\n");
	exit(2);
}

static int do_recv(const char *where)
{
	size_t bufsz = 256 << 10;
	uint64_t bytes = 0, t0;
	char *buf = malloc(bufsz);
	int fd, lfd;
	ssize_t n;

	if (!buf)
		return 1;
	lfd = nu_listen(where);
	if (lfd < 0)
		return 1;
	fprintf(stderr, "listening on %s\n", where);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		perror("tcpblast: accept");
		return 1;
	}
	close(lfd);
	t0 = nu_now_ns();
	while ((n = read(fd, buf, bufsz)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("tcpblast: read");
			return 1;
		}
		bytes += n;
	}
	close(fd);
	nu_print_result("tcpblast", "recv", bytes, nu_now_ns() - t0);
	free(buf);
	return 0;
}

static int do_send(const char *where, uint64_t mib, uint64_t chunk_kib)
{
	size_t chunk = chunk_kib << 10;
	uint64_t left = mib << 20, total = left, t0;
	unsigned char *buf = malloc(chunk);
	size_t i;
	int fd;

	if (!buf)
		return 1;
	/* Non-zero, not trivially compressible; nothing here compresses. */
	for (i = 0; i < chunk; i++)
		buf[i] = (unsigned char)(i * 131 + 7) | 1;
	fd = nu_connect(where, 10000);
	if (fd < 0)
		return 1;
	t0 = nu_now_ns();
	while (left) {
		size_t len = left < chunk ? left : chunk;

		if (nu_write_all(fd, buf, len))
			return 1;
		left -= len;
	}
	if (nu_wait_peer_close(fd))
		return 1;
	nu_print_result("tcpblast", "send", total, nu_now_ns() - t0);
	close(fd);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t mib, chunk = 256;

	if (argc == 3 && !strcmp(argv[1], "recv"))
		return do_recv(argv[2]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "send")) {
		if (nu_parse_u64(argv[3], &mib) || !mib)
			usage();
		if (argc == 5 && (nu_parse_u64(argv[4], &chunk) || !chunk ||
				  chunk > (64 << 10)))
			usage();
		return do_send(argv[2], mib, chunk);
	}
	usage();
	return 2;
}
