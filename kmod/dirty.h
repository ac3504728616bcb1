/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracking which guest pages the VM writes, through KVM's dirty log.
 */
#ifndef _VMIG_DIRTY_H
#define _VMIG_DIRTY_H

#include <linux/types.h>

#include "vm.h"

/* Why a session fails on -ESTALE from vmig_dirty_start() or _harvest(). */
#define VMIG_DIRTY_SLOTS_RACED \
	"the VMM changed memory slots while vmig turned on their dirty logging"

/**
 * struct vmig_dirty - pages still to send, per memory slot
 * @vm: the VM (entered by the worker that owns this tracker)
 * @layout: the slot layout the bitmaps refer to
 * @bitmaps: per slot of @layout: set bit = page must be (re)sent
 * @logging: per slot: vmig turned dirty logging on and must turn it off
 * @kbuf: bounce buffer for one slot's harvested bitmap
 * @kbuf_size: its size in bytes
 * @manual_protect: the VMM enabled manual dirty-log protection
 * @relayouts: times the VMM changed the slot layout under us
 *
 * Used by one worker thread only; no locking.
 */
struct vmig_dirty {
	struct vmig_vm *vm;
	struct vmig_layout layout;
	unsigned long **bitmaps;
	bool *logging;
	unsigned long *kbuf;
	size_t kbuf_size;
	bool manual_protect;
	u32 relayouts;
};

int vmig_dirty_start(struct vmig_dirty *d, struct vmig_vm *vm,
		     const char **why);
s64 vmig_dirty_harvest(struct vmig_dirty *d);
u64 vmig_dirty_pending(const struct vmig_dirty *d);
void vmig_dirty_stop(struct vmig_dirty *d);
size_t vmig_dirty_scratch_size(struct vmig_vm *vm);

#endif /* _VMIG_DIRTY_H */
