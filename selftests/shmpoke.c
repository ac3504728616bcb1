// SPDX-License-Identifier: GPL-2.0
/*
 * shmpoke FILE FIRST_MIB LAST_MIB: a writer of guest RAM that is not a
 * vCPU. It maps a VM's RAM backend file shared, as a vhost-user backend or
 * any helper process would, and stores a growing counter into the first
 * bytes of every page of [FIRST_MIB, LAST_MIB) over and over until
 * SIGTERM. KVM's dirty log never sees these writes; vmig must catch them
 * through the page tables (kmod/ram.c). Prints "ready" after its first
 * sweep, so a test knows every page was written at least once. On SIGTERM
 * it stops writing, prints "stopped" and keeps the mapping until killed:
 * a writer outside the VMM must stay mapped until the migration ends
 * (its dirty page-table entries are what vmig reads).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	uint64_t first, last, off, gen = 0;
	long page = sysconf(_SC_PAGESIZE);
	char *mem;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: shmpoke FILE FIRST_MIB LAST_MIB\n");
		return 2;
	}
	first = strtoull(argv[2], NULL, 0) << 20;
	last = strtoull(argv[3], NULL, 0) << 20;
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || last <= first) {
		perror(argv[1]);
		return 1;
	}
	mem = mmap(NULL, last, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	while (!stop) {
		gen++;
		for (off = first; off < last && !stop; off += page)
			*(volatile uint64_t *)(mem + off) = gen << 32 | off / page;
		if (gen == 1) {
			printf("ready\n");
			fflush(stdout);
		}
		usleep(1000);
	}
	printf("stopped after %llu sweeps\n", (unsigned long long)gen);
	fflush(stdout);
	for (;;)
		pause();
}
