/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmig-track: the device-mapper target that records which regions of a
 * device are written, and the interface the storage move (storage.c) uses
 * to copy those regions without losing a write to the copier race.
 */
#ifndef _VMIG_BLKTRACK_H
#define _VMIG_BLKTRACK_H

#include <linux/blk_types.h>
#include <linux/types.h>

struct vmig_track;

/**
 * struct vmig_track_geom - what a tracker tracks, fixed at its creation
 * @md: the device-mapper device whose table holds the target
 * @src: the device I/O passes through to
 * @dst: the destination named in the table, 0 if none
 * @src_offset: first sector of the data on @src
 * @len: sectors tracked (the target's length; it starts at sector 0)
 * @region_shift: a region is 1 << @region_shift sectors
 * @nr_regions: regions, the last one possibly partial
 */
struct vmig_track_geom {
	dev_t md;
	dev_t src;
	dev_t dst;
	sector_t src_offset;
	sector_t len;
	unsigned int region_shift;
	unsigned long nr_regions;
};

struct vmig_track *vmig_track_get(dev_t md);
void vmig_track_put(struct vmig_track *t);
void vmig_track_geom(struct vmig_track *t, struct vmig_track_geom *g);

/**
 * enum vmig_track_use - what a move attaching to a tracker does
 * @VMIG_TRACK_USE_LOCAL: copies to the table's destination
 * @VMIG_TRACK_USE_LOCAL_MIRROR: and mirrors writes to copied regions there
 * @VMIG_TRACK_USE_REMOTE: sends the device elsewhere (a migration); the
 *	table names no destination
 */
enum vmig_track_use {
	VMIG_TRACK_USE_LOCAL,
	VMIG_TRACK_USE_LOCAL_MIRROR,
	VMIG_TRACK_USE_REMOTE,
};

int vmig_track_attach(struct vmig_track *t, enum vmig_track_use use);
void vmig_track_detach(struct vmig_track *t);

unsigned long vmig_track_next_dirty(struct vmig_track *t, unsigned long from,
				    unsigned long *nr, unsigned long max);
unsigned long vmig_track_dirty_count(struct vmig_track *t);
u64 vmig_track_newly_dirty(struct vmig_track *t);
bool vmig_track_mirror_failed(struct vmig_track *t);
unsigned long vmig_track_claim_span(struct vmig_track *t, unsigned long first,
				    unsigned long nr, unsigned long max_dirty);
unsigned long vmig_track_claim(struct vmig_track *t, unsigned long first,
			       unsigned long nr, unsigned long max_dirty,
			       unsigned long *was_dirty);
void vmig_track_release(struct vmig_track *t, bool copied);

int vmig_track_io_begin(struct vmig_track *t, struct block_device **src,
			struct block_device **dst);
void vmig_track_io_end(struct vmig_track *t);

int vmig_track_quiesce(struct vmig_track *t);
void vmig_track_unquiesce(struct vmig_track *t, bool redirect);

/*
 * Exported by dm-mod (6.1 and 6.12 alike) but declared only in its private
 * drivers/md/dm.h; dm-thin uses them to quiesce thin devices.
 */
struct mapped_device;
void dm_internal_suspend_noflush(struct mapped_device *md);
void dm_internal_resume(struct mapped_device *md);

int vmig_blktrack_init(void);
void vmig_blktrack_uninit(void);

#endif /* _VMIG_BLKTRACK_H */
