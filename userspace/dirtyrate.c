// SPDX-License-Identifier: GPL-2.0
/*
 * vmigctl dirty-rate: how fast a running VM dirties its memory, measured
 * by the kernel over a window, without migrating anything. Tells whether
 * a migration over a given link will converge without throttling.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"
#include "session.h"
#include "util.h"
#include "vmfind.h"
#include "vmigctl.h"
#include "uapi/linux/vmig.h"

#define DIRTY_RATE_MIN_MS	10	/* the spec's duration-ms range */
#define DIRTY_RATE_MAX_MS	30000

static void usage(void)
{
	fprintf(stderr, "usage: vmigctl dirty-rate --pid PID [--seconds S]\n");
}

static int reply_cb(const struct nlmsghdr *nlh, void *data)
{
	vmig_sess_parse(nlh, data);
	return MNL_CB_OK;
}

int dirty_rate_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char rate[32], ram[32];
	struct vmig_nl_error e;
	struct vmig_sess s;
	struct nlmsghdr *req;
	struct vmig_nl nl;
	struct vmfind vm;
	uint64_t ms = 1000;
	pid_t pid = 0;
	int c, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (vmig_parse_pid(optarg, &pid)) {
				fprintf(stderr, "vmigctl: dirty-rate: --pid wants a process id\n");
				return VMIGCTL_USAGE;
			}
			break;
		case 's':
			if (vmig_parse_ms(optarg, &ms) || ms < DIRTY_RATE_MIN_MS ||
			    ms > DIRTY_RATE_MAX_MS) {
				fprintf(stderr, "vmigctl: dirty-rate: --seconds wants 0.01 to 30\n");
				return VMIGCTL_USAGE;
			}
			break;
		default:
			usage();
			return VMIGCTL_USAGE;
		}
	}
	if (optind != argc || !pid) {
		usage();
		return VMIGCTL_USAGE;
	}
	if (vmfind_open(pid, &vm))
		return VMIGCTL_FAIL;
	ret = vmig_nl_open(&nl);
	if (ret) {
		fprintf(stderr, "vmigctl: vmig family: %s%s\n", strerror(ret),
			ret == ENOENT ? " (is vmig.ko loaded?)" : "");
		vmfind_close(&vm);
		return VMIGCTL_FAIL;
	}
	req = vmig_nl_msg(&nl, VMIG_CMD_DIRTY_RATE_GET, 0);
	mnl_attr_put_u32(req, VMIG_A_SESSION_VM_FD, (uint32_t)vm.vm_fd);
	mnl_attr_put_u32(req, VMIG_A_SESSION_DURATION_MS, (uint32_t)ms);
	memset(&s, 0, sizeof(s));
	ret = vmig_nl_talk(&nl, req, reply_cb, &s, &e);
	vmig_nl_close(&nl);
	vmfind_close(&vm);
	if (ret) {
		vmig_nl_perror("dirty-rate", &e);
		return VMIGCTL_FAIL;
	}
	if (vmigctl_json) {
		printf("{\"pid\":%d,\"ram_bytes\":%llu,\"dirty_pages\":%llu,\"dirty_rate\":%llu,\"elapsed_ms\":%llu}\n",
		       (int)pid, (unsigned long long)s.ram_bytes,
		       (unsigned long long)s.dirty_pages,
		       (unsigned long long)s.dirty_rate,
		       (unsigned long long)s.elapsed_ms);
	} else {
		vmig_fmt_iec(rate, sizeof(rate), (double)s.dirty_rate);
		vmig_fmt_iec(ram, sizeof(ram), (double)s.ram_bytes);
		printf("dirty rate %s/s (%llu pages in %llu ms) of %s\n", rate,
		       (unsigned long long)s.dirty_pages,
		       (unsigned long long)s.elapsed_ms, ram);
	}
	return VMIGCTL_OK;
}
