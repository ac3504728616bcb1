/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A QEMU VMM as vmig sees it: where its guest RAM lives (the machine's
 * memory backend and that backend's mapping in the QEMU process), what
 * state it is in, and whether vmig can migrate it exactly. What QEMU says
 * over QMP; qemu_vm_exact() is the rule, separate so it can be tested on
 * its own.
 */
#ifndef VMIGCTL_QEMUVM_H
#define VMIGCTL_QEMUVM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qmp.h"

enum qemu_vm_role {
	QEMU_VM_SOURCE,		/* runs the VM now */
	QEMU_VM_DEST,		/* waits for it: -incoming defer */
};

struct qemu_vm {
	pid_t pid;			/* QEMU, from the QMP socket's peer */
	int major, minor;		/* QEMU version */
	char runstate[32];		/* query-status "status" */
	char migration[32];		/* query-migrate "status", "" none */

	char backend[256];		/* QOM path, "/objects/ram0" */
	char backend_type[64];		/* "memory-backend-file", "-memfd", "-ram" */
	char mem_path[PATH_MAX];	/* "" unless memory-backend-file */
	bool share;
	uint64_t size;			/* bytes; query-memdev agrees */

	uint64_t ram_hva;		/* the backend's mapping in QEMU, 0: none */
	uint64_t ram_size;

	char direct_io[64];		/* a block device with cache.direct=on, "" */
	char vfio[64];			/* a vfio device, "" */
};

int qemu_vm_probe(struct qmp *q, struct qemu_vm *vm, char *err,
		  size_t errlen);
bool qemu_vm_exact(const struct qemu_vm *vm, enum qemu_vm_role role,
		   char *why, size_t len);
int qemu_vm_find_mapping(pid_t pid, const char *file, uint64_t size,
			 uint64_t *start, char *err, size_t errlen);

#endif
