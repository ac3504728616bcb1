// SPDX-License-Identifier: GPL-2.0
/*
 * uvmcopy - the userspace baseline for moving guest memory: what a VMM
 * or a helper process does without vmig, in 64 KiB chunks.
 *
 *   uvmcopy send PID HOST:PORT HVA:SIZE...
 *	process_vm_readv() each range of PID in 64 KiB chunks and write()
 *	the chunk to the TCP connection; ranges are sent back to back.
 *   uvmcopy recv PID [ADDR:]PORT HVA:SIZE...
 *	Accept one connection, read() 64 KiB chunks and process_vm_writev()
 *	them into the ranges of PID (the destination VMM; its ranges must
 *	have the same sizes, in the same order, as the sender's).
 *
 * Either side prints "uvmcopy: <send|recv> bytes=N ms=N bytes_per_sec=N".
 * No dirty tracking and no framing: a single pass over a quiescent VM,
 * the cheapest honest copy a userspace tool can make with two copies per
 * side (kernel socket buffers in, process memory out).
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "netutil.h"

#define CHUNK		(64 << 10)
#define MAX_RANGES	16

struct range {
	uint64_t hva;
	uint64_t size;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: uvmcopy send PID HOST:PORT HVA:SIZE...\n"
		"       uvmcopy recv PID [ADDR:]PORT HVA:SIZE...\n");
	exit(2);
}

/* "0x7f..:0x4000000" as vmm.sh's ${NAME}_ranges holds them. */
static int parse_ranges(int n, char **argv, struct range *r)
{
	int i;

	if (n < 1 || n > MAX_RANGES)
		return -1;
	for (i = 0; i < n; i++) {
		char *colon = strchr(argv[i], ':');

		if (!colon)
			return -1;
		*colon = 0;
		if (nu_parse_u64(argv[i], &r[i].hva) ||
		    nu_parse_u64(colon + 1, &r[i].size) ||
		    r[i].size % CHUNK)
			return -1;
	}
	return 0;
}

/* Move one chunk between our buffer and the VMM; short transfers fail. */
static int vm_xfer(pid_t pid, bool out, void *buf, uint64_t hva)
{
	struct iovec local = { .iov_base = buf, .iov_len = CHUNK };
	struct iovec remote = { .iov_base = (void *)hva, .iov_len = CHUNK };
	ssize_t n;

	if (out)
		n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
	else
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n != CHUNK) {
		fprintf(stderr, "uvmcopy: process_vm_%sv at 0x%" PRIx64 ": %s\n",
			out ? "write" : "read", hva,
			n < 0 ? strerror(errno) : "short transfer");
		return -1;
	}
	return 0;
}

static int do_send(pid_t pid, const char *where, struct range *r, int n)
{
	uint64_t bytes = 0, t0, off;
	char *buf = malloc(CHUNK);
	int fd, i;

	if (!buf)
		return 1;
	fd = nu_connect(where, 10000);
	if (fd < 0)
		return 1;
	t0 = nu_now_ns();
	for (i = 0; i < n; i++) {
		for (off = 0; off < r[i].size; off += CHUNK) {
			if (vm_xfer(pid, false, buf, r[i].hva + off) ||
			    nu_write_all(fd, buf, CHUNK))
				return 1;
			bytes += CHUNK;
		}
	}
	/* Count the time until the receiver has landed everything. */
	if (nu_wait_peer_close(fd))
		return 1;
	nu_print_result("uvmcopy", "send", bytes, nu_now_ns() - t0);
	close(fd);
	free(buf);
	return 0;
}

static int do_recv(pid_t pid, const char *where, struct range *r, int n)
{
	uint64_t bytes = 0, t0, off;
	char *buf = malloc(CHUNK);
	int fd, lfd, i, ret;

	if (!buf)
		return 1;
	lfd = nu_listen(where);
	if (lfd < 0)
		return 1;
	fprintf(stderr, "listening on %s\n", where);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		perror("uvmcopy: accept");
		return 1;
	}
	close(lfd);
	t0 = nu_now_ns();
	for (i = 0; i < n; i++) {
		for (off = 0; off < r[i].size; off += CHUNK) {
			ret = nu_read_full(fd, buf, CHUNK);
			if (ret) {
				fprintf(stderr, "uvmcopy: stream ended after %" PRIu64 " bytes\n",
					bytes);
				return 1;
			}
			if (vm_xfer(pid, true, buf, r[i].hva + off))
				return 1;
			bytes += CHUNK;
		}
	}
	close(fd);
	nu_print_result("uvmcopy", "recv", bytes, nu_now_ns() - t0);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct range r[MAX_RANGES];
	uint64_t pid;

	if (argc < 5 || nu_parse_u64(argv[2], &pid) || !pid ||
	    parse_ranges(argc - 4, argv + 4, r))
		usage();
	if (!strcmp(argv[1], "send"))
		return do_send(pid, argv[3], r, argc - 4);
	if (!strcmp(argv[1], "recv"))
		return do_recv(pid, argv[3], r, argc - 4);
	usage();
	return 2;
}
