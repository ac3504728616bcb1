// SPDX-License-Identifier: GPL-2.0
/*
 * vmigctl: the control tool of vmig. It parses, asks the kernel, prints:
 * terse text by default, JSON with -j, the kernel's error text verbatim.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmigctl.h"
#include "uapi/linux/vmig.h"

bool vmigctl_json;

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *usage;
} vmigctl_cmds[] = {
	{ "version", version_main, "version                 module API version and features" },
	{ "show", show_main, "show [ID]               list migration sessions, or one" },
	{ "cancel", cancel_main, "cancel ID               cancel a migration; the VM stays on the source" },
	{ "migrate", migrate_main, "migrate --pid PID --to HOST:PORT [--downtime-ms MS] [--max-bandwidth RATE]\n"
	  "          [--max-iterations N] [--timeout S] [--no-zerocopy] [--no-zero-detect]\n"
	  "          [--keep-source] [--announce-mac MAC --announce-dev IF]\n"
	  "          [--disk /dev/mapper/NAME=DESTDEV [--disk-granularity SIZE]] [--stop-pid PID]...\n"
	  "                          move a running VM to the host listening at HOST:PORT" },
	{ "receive", receive_main, "receive --pid PID --listen [ADDR:]PORT [--timeout S]\n"
	  "          [--announce-mac MAC --announce-dev IF] [--disk DEV]\n"
	  "                          receive a VM into the stopped VMM PID" },
	{ "dirty-rate", dirty_rate_main, "dirty-rate --pid PID [--seconds S]\n"
	  "                          measure how fast the VM of PID dirties its memory" },
	{ "storage-move", storage_move_main, "storage-move --dev /dev/mapper/NAME --to /dev/NEWDEV [--downtime-ms MS]\n"
	  "          [--max-iterations N] [--timeout S] [--granularity SIZE] [--sync-writes]\n"
	  "                          move a live device-mapper device to another block device\n"
	  "  storage-move --tidy --dev /dev/mapper/NAME\n"
	  "                          put an interrupted move's table right" },
	{ "help", help_main, "help                    this text" },
};

static const char *const vmigctl_states[] = {
	[VMIG_STATE_NEW] = "new",
	[VMIG_STATE_PRECOPY] = "precopy",
	[VMIG_STATE_SWITCHOVER] = "switchover",
	[VMIG_STATE_READY] = "ready",
	[VMIG_STATE_DONE] = "done",
	[VMIG_STATE_FAILED] = "failed",
	[VMIG_STATE_CANCELLED] = "cancelled",
	[VMIG_STATE_UNKNOWN] = "unknown",
};

const char *vmigctl_state_name(unsigned int state)
{
	if (state < sizeof(vmigctl_states) / sizeof(vmigctl_states[0]))
		return vmigctl_states[state];
	return "unknown";
}

const char *vmigctl_role_name(unsigned int role)
{
	return role == VMIG_ROLE_SOURCE ? "source" :
	       role == VMIG_ROLE_DESTINATION ? "destination" :
	       role == VMIG_ROLE_STORAGE ? "storage" : "unknown";
}

int help_main(int argc, char **argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	printf("usage: vmigctl [-j] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(vmigctl_cmds) / sizeof(vmigctl_cmds[0]); i++)
		printf("  %s\n", vmigctl_cmds[i].usage);
	printf("\n-j  print JSON\n");
	return VMIGCTL_OK;
}

int main(int argc, char **argv)
{
	size_t i;

	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-j") || !strcmp(argv[1], "--json")) {
			vmigctl_json = true;
		} else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			help_main(0, NULL);
			return VMIGCTL_OK;
		} else {
			fprintf(stderr, "vmigctl: unknown option '%s'\n", argv[1]);
			return VMIGCTL_USAGE;
		}
		argc--;
		argv++;
	}
	if (argc < 2) {
		help_main(0, NULL);
		return VMIGCTL_USAGE;
	}
	for (i = 0; i < sizeof(vmigctl_cmds) / sizeof(vmigctl_cmds[0]); i++)
		if (!strcmp(argv[1], vmigctl_cmds[i].name))
			return vmigctl_cmds[i].main(argc - 1, argv + 1);
	fprintf(stderr, "vmigctl: unknown command '%s' (see 'vmigctl help')\n", argv[1]);
	return VMIGCTL_USAGE;
}
