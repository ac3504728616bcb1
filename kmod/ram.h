/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A VMM's guest RAM as one shared file mapping (QEMU's
 * memory-backend-file,share=on): what a migration carries when the VMM
 * itself carries vCPU and device state, and how every writer of it is seen.
 */
#ifndef _VMIG_RAM_H
#define _VMIG_RAM_H

#include <linux/mmu_notifier.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "vm.h"

struct file;
struct mm_struct;
struct netlink_ext_ack;
struct page;
struct vmig_dirty;

/**
 * struct vmig_ram - the RAM backend of one VMM
 * @slot: the backend as the one region a migration addresses: id 0, guest
 *	frame 0 = first page of the backend, @slot.hva its start in the VMM
 * @file: the backing file (reference held); its page cache is where every
 *	writer's page-table entries are found (source only, else NULL)
 * @pgoff: file page index mapped at @slot.hva
 * @bitmap: set bit = page must be (re)sent (source only)
 * @harvest: bounce bitmap of one harvest (source only)
 * @mn: notifier on the VMM's mm (source only): its page-table entries of
 *	the backend that are zapped (swap-out, hole punch, munmap) take their
 *	dirty bits with them, so their pages count as written
 * @mm: the mm @mn is registered on, or NULL
 * @zap_lock: protects @zapped
 * @zapped: pages whose entries in @mm were zapped since the last harvest
 *
 * Owned by one session; used by its worker only, after creation, except
 * @zapped, which the notifier sets from any context.
 */
struct vmig_ram {
	struct vmig_slot slot;
	struct file *file;
	pgoff_t pgoff;
	unsigned long *bitmap;
	unsigned long *harvest;
	struct mmu_notifier mn;
	struct mm_struct *mm;
	spinlock_t zap_lock; /* protects zapped */
	unsigned long *zapped;
};

struct vmig_ram *vmig_ram_create(struct mm_struct *mm, u64 hva, u64 size,
				 bool source, struct netlink_ext_ack *extack);
void vmig_ram_destroy(struct vmig_ram *r);
s64 vmig_ram_harvest(struct vmig_ram *r, struct vmig_dirty *d, bool page_tables,
		     bool running);
u64 vmig_ram_pending(const struct vmig_ram *r);
int vmig_ram_get_pages(struct vmig_ram *r, u64 off, u32 n, struct page **pages,
		       bool holes);

#endif /* _VMIG_RAM_H */
