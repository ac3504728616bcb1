/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Storage move: copy a live device-mapper device to another block device
 * while it is in use, then redirect its I/O there (local storage
 * migration, as LVM's pvmove). Documentation/storage.rst.
 */
#ifndef _VMIG_STORAGE_H
#define _VMIG_STORAGE_H

#include <linux/types.h>

struct net;
struct netlink_ext_ack;
struct vmig_move;

#define VMIG_STORAGE_DEF_GRANULARITY	(64 * 1024)
#define VMIG_STORAGE_DEF_DOWNTIME_MS	500
#define VMIG_STORAGE_DEF_MAX_ITERATIONS	30

/**
 * struct vmig_storage_req - what storage-move-start asks for
 * @dev: path of the device-mapper device to move
 * @dest: path of the destination block device
 * @granularity: bytes per tracked region, a power of two >= 4096
 * @downtime_ms: longest acceptable I/O pause at switchover
 * @max_iterations: passes after which a move that has not converged fails
 * @flags: VMIG_STORAGE_FLAGS_*
 */
struct vmig_storage_req {
	const char *dev;
	const char *dest;
	u32 granularity;
	u32 downtime_ms;
	u32 max_iterations;
	u32 flags;
};

/* Which part of a request a refusal is about. */
enum vmig_storage_bad {
	VMIG_STORAGE_BAD_NONE,
	VMIG_STORAGE_BAD_DEV,
	VMIG_STORAGE_BAD_DEST,
};

struct vmig_move *vmig_storage_create(struct net *net,
				      const struct vmig_storage_req *req,
				      struct netlink_ext_ack *extack,
				      enum vmig_storage_bad *bad);
u32 vmig_storage_id(const struct vmig_move *m);
int vmig_storage_start(struct vmig_move *m);
void vmig_storage_discard(struct vmig_move *m);

#endif /* _VMIG_STORAGE_H */
