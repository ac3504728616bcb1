/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Measuring how fast a VM dirties memory, without migrating it.
 */
#ifndef _VMIG_DIRTYRATE_H
#define _VMIG_DIRTYRATE_H

#include <linux/types.h>

struct vmig_vm;

/**
 * struct vmig_dirtyrate - result of one measurement
 * @ram_bytes: guest memory in all slots
 * @dirty_pages: distinct pages written during the window
 * @elapsed_us: the window actually measured
 * @why: static text explaining a failure
 */
struct vmig_dirtyrate {
	u64 ram_bytes;
	u64 dirty_pages;
	u64 elapsed_us;
	const char *why;
};

int vmig_dirtyrate_measure(struct vmig_vm *vm, u32 duration_ms,
			   struct vmig_dirtyrate *res);

#endif /* _VMIG_DIRTYRATE_H */
