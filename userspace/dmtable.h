/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device-mapper tables through dmsetup, for the commands that put a
 * vmig-track table in front of a device and take it away again
 * (storage-move, migrate --disk). Tables are one line of text; there is
 * no libdevmapper dependency, and every step can be repeated by hand from
 * the commands the callers print when something goes wrong.
 */
#ifndef VMIGCTL_DMTABLE_H
#define VMIGCTL_DMTABLE_H

#include <stddef.h>
#include <stdint.h>

/**
 * struct vmig_dm_linear - a device-mapper device whose table is one linear
 *	target from sector 0
 * @name: its device-mapper name
 * @table: its table line as dmsetup prints it, "0 LEN linear MAJ:MIN OFF"
 * @len: its size in sectors
 * @src: the linear target's device, "MAJ:MIN"
 * @src_off: the linear target's offset, sectors
 */
struct vmig_dm_linear {
	char name[128];
	char table[512];
	unsigned long long len;
	char src[64];
	unsigned long long src_off;
};

/**
 * struct vmig_dm_track - a device whose table is one vmig-track target
 * @name: its device-mapper name
 * @table: its table line as dmsetup prints it (whatever it is)
 * @len: its size in sectors
 * @src: the target's source device, "MAJ:MIN"
 * @src_off: the source offset, sectors
 * @region: the tracking granularity, sectors
 * @dest: the destination of a local move, "MAJ:MIN"; "" for a migration's
 * @mode: the tracker's mode from its status: record, mirror or redirect
 */
struct vmig_dm_track {
	char name[128];
	char table[512];
	unsigned long long len;
	char src[64];
	unsigned long long src_off;
	unsigned long long region;
	char dest[64];
	char mode[16];
};

int vmig_dmsetup(char *out, size_t outsz, char *err, size_t errsz, ...)
	__attribute__((sentinel));
int vmig_dm_read_linear(const char *dev, struct vmig_dm_linear *l, char *err,
			size_t errsz);
int vmig_dm_read_track(const char *dev, struct vmig_dm_track *t, char *err,
		       size_t errsz);
int vmig_dm_check_owner(const char *dev, char *err, size_t errsz);
int vmig_dm_swap_table(const char *name, const char *table, char *err,
		       size_t errsz);
void vmig_dm_track_table(char *buf, size_t sz, const struct vmig_dm_linear *l,
			 uint64_t region_bytes, const char *dest);
int vmig_dm_parse_region(const char *arg, uint64_t *bytes);

#endif
