/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vmig wire format between the source and destination modules.
 * Documentation/wire-format.rst is its description; change both together.
 *
 * Every frame starts with struct vmig_wire_hdr. All integers are little
 * endian. The receiver checks magic, version, type, length and the header
 * checksum before it looks at a payload, and checks every slot, offset and
 * count against the destination VM before any byte lands in guest memory.
 */
#ifndef _VMIG_WIRE_H
#define _VMIG_WIRE_H

#include <linux/bits.h>
#include <linux/types.h>

#define VMIG_WIRE_MAGIC		0x564d4947	/* "VMIG" */
#define VMIG_WIRE_VERSION	1

/* Limits the receiver enforces. */
#define VMIG_WIRE_MAX_SLOTS	512
#define VMIG_WIRE_MAX_VCPUS	1024
#define VMIG_WIRE_MAX_RUN	64		/* pages in one PAGES frame */
#define VMIG_WIRE_MAX_STATE	(64 * 1024)	/* bytes of one STATE record */
#define VMIG_WIRE_MAX_BLOCKS	2048		/* sectors in one BLOCKS frame: 1 MiB */
#define VMIG_WIRE_MAX_DISK_NAME	255

enum vmig_wire_type {
	VMIG_WIRE_HELLO = 1,	/* source -> dest: layout; payload vmig_wire_hello */
	VMIG_WIRE_HELLO_ACK,	/* dest -> source: layout accepted; payload vmig_wire_status */
	VMIG_WIRE_PAGES,	/* vmig_wire_run, then count * PAGE_SIZE bytes */
	VMIG_WIRE_ZERO,		/* vmig_wire_run: count zero pages */
	VMIG_WIRE_STATE,	/* vmig_wire_state, then len bytes */
	VMIG_WIRE_END,		/* source -> dest: all state sent; no payload */
	VMIG_WIRE_ACK,		/* dest -> source: state applied; vmig_wire_status */
	VMIG_WIRE_DISK,		/* source -> dest: the disk; vmig_wire_disk, then the name */
	VMIG_WIRE_DISK_ACK,	/* dest -> source: disk accepted; vmig_wire_status */
	VMIG_WIRE_BLOCKS,	/* vmig_wire_blocks, then count * 512 bytes */
	__VMIG_WIRE_MAX,
};

struct vmig_wire_hdr {
	__le32 magic;
	__le16 version;
	__le16 type;
	__le32 len;		/* payload bytes following this header */
	__le32 seq;		/* frame number, from 0, per direction */
	__le32 csum;		/* crc32 of the bytes above */
} __packed;

struct vmig_wire_slot {
	__le32 id;
	__le32 flags;		/* KVM_MEM_* of the slot, without dirty logging */
	__le64 base_gfn;
	__le64 npages;
} __packed;

/*
 * HELLO flag beside the migrate-flags: the source sends a VMM's RAM backend
 * as slot 0 (frame 0 = the backend's first page) and no VM or vCPU state;
 * the destination must receive into a backend too.
 */
#define VMIG_WIRE_HELLO_RAM	BIT(31)

struct vmig_wire_hello {
	__le32 page_size;
	__le32 nr_vcpus;
	__le32 nr_slots;
	__le32 flags;		/* vmig migrate-flags, VMIG_WIRE_HELLO_RAM */
	struct vmig_wire_slot slots[];
} __packed;

struct vmig_wire_status {
	__le32 error;		/* 0, or a positive errno */
} __packed;

struct vmig_wire_run {
	__le32 slot;		/* slot id */
	__le32 count;		/* pages, 1..VMIG_WIRE_MAX_RUN */
	__le64 offset;		/* first page, relative to the slot's base_gfn */
} __packed;

struct vmig_wire_state {
	__le16 kind;		/* enum vmig_state_kind (state.h) */
	__le16 vcpu;		/* vCPU index; 0 for VM-wide state */
	__le32 len;
} __packed;

/*
 * The disk a migration carries, sent right after HELLO_ACK when there is
 * one. The destination checks the name against the one it was given and
 * that its device holds @sectors.
 */
struct vmig_wire_disk {
	__le64 sectors;		/* disk size, 512-byte sectors */
	__le32 region_sectors;	/* tracking granularity, a power of two */
	__le32 name_len;	/* 1..VMIG_WIRE_MAX_DISK_NAME bytes follow, no NUL */
} __packed;

struct vmig_wire_blocks {
	__le64 sector;		/* first sector */
	__le32 count;		/* sectors, 1..VMIG_WIRE_MAX_BLOCKS, inside the disk */
	__le32 flags;		/* none defined: must be 0 */
} __packed;

#endif /* _VMIG_WIRE_H */
