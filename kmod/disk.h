/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A VM disk carried by a cross-host migration (shared-nothing vMotion):
 * the source reads it through its vmig-track table and sends it in BLOCKS
 * frames alongside guest memory; the destination writes it to its device.
 */
#ifndef _VMIG_DISK_H
#define _VMIG_DISK_H

#include <linux/types.h>

struct netlink_ext_ack;
struct vmig_disk;
struct vmig_stats;
struct vmig_stream;

/**
 * struct vmig_disk_stats - a disk's share of a session's statistics
 * @bytes: disk size
 * @sent: bytes sent (source) or written (destination)
 * @dirty: bytes still to send (source)
 * @dirtied: bytes that turned dirty since the disk was attached (source)
 */
struct vmig_disk_stats {
	u64 bytes;
	u64 sent;
	u64 dirty;
	u64 dirtied;
};

struct vmig_disk *vmig_disk_src_create(int fd, const char *name,
				       struct netlink_ext_ack *extack);
struct vmig_disk *vmig_disk_dst_create(int fd, const char *name,
				       struct netlink_ext_ack *extack);
void vmig_disk_destroy(struct vmig_disk *d);
void vmig_disk_stats(struct vmig_disk *d, struct vmig_disk_stats *st);
void vmig_disk_fold_stats(struct vmig_disk *d, struct vmig_stats *stats);

int vmig_disk_send_hello(struct vmig_disk *d, struct vmig_stream *st);
int vmig_disk_send(struct vmig_disk *d, struct vmig_stream *st, u64 budget,
		   bool lose, bool *more, const char **why);
int vmig_disk_quiesce(struct vmig_disk *d, const char **why);
int vmig_disk_send_final(struct vmig_disk *d, struct vmig_stream *st,
			 bool lose, const char **why);
void vmig_disk_unquiesce(struct vmig_disk *d);

int vmig_disk_recv_hello(struct vmig_disk *d, struct vmig_stream *st, u32 len,
			 const char **why);
int vmig_disk_recv_blocks(struct vmig_disk *d, struct vmig_stream *st, u32 len,
			  const char **why);
int vmig_disk_finish(struct vmig_disk *d, const char **why);

#endif /* _VMIG_DISK_H */
