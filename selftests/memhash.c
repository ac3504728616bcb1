// SPDX-License-Identifier: GPL-2.0
/*
 * memhash PID HVA:SIZE...
 * Hash ranges of another process's memory (read through /proc/PID/mem) the
 * way the test VMM hashes its guest memory (tvmm_hash: 64-bit FNV-1a over
 * the slots in order), so a stopped source VM can be compared with the
 * destination without running either.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	static unsigned char buf[1 << 16];
	char path[64];
	int fd, i;

	if (argc < 3) {
		fprintf(stderr, "usage: memhash PID HVA:SIZE...\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (i = 2; i < argc; i++) {
		uint64_t addr, size, off;
		char *colon;

		addr = strtoull(argv[i], &colon, 0);
		if (*colon != ':') {
			fprintf(stderr, "memhash: bad range '%s'\n", argv[i]);
			return 2;
		}
		size = strtoull(colon + 1, NULL, 0);
		for (off = 0; off < size; ) {
			size_t want = size - off < sizeof(buf) ? size - off : sizeof(buf);
			ssize_t n = pread(fd, buf, want, (off_t)(addr + off));
			ssize_t k;

			if (n <= 0) {
				perror("memhash: pread");
				return 1;
			}
			for (k = 0; k < n; k++) {
				h ^= buf[k];
				h *= 0x100000001b3ULL;
			}
			off += n;
		}
	}
	printf("%016" PRIx64 "\n", h);
	return 0;
}
