// SPDX-License-Identifier: GPL-2.0
/*
 * vmig-track: a device-mapper target that passes I/O through to a device
 * and records, in a bitmap, which regions were written. storage.c loads it
 * live in front of a device in use (suspend, load, resume) and copies the
 * device to a destination while it runs.
 *
 * Table line (the only target of its table, so it starts at sector 0):
 *
 *   <start> <len> vmig-track <dev> <offset> <region sectors> [<dest>]
 *
 * <dev> <offset> are as for dm-linear. <region sectors> is the tracking
 * granularity, a power of two; bios are split so that none crosses a
 * region (dm_set_target_max_io_len), except discards, which may span
 * several and mark them all. <dest>, when given, is the device a move
 * copies to: the table holds it (device-mapper's exclusive claim), it
 * enters the table's queue limits, and once a move has switched over all
 * I/O goes there.
 *
 * Status: "<dirty regions> <regions> <mode>", mode one of record (writes
 * recorded), mirror (writes to copied regions also go to <dest>),
 * redirect (the move is done; I/O goes to <dest>). Message "clear" empties
 * the bitmap when no move is running.
 *
 * One tracker per device-mapper device: a reload with the same arguments
 * (a new table instance while the old one is still live) shares the
 * tracker, so no write is forgotten across suspend, reload and resume.
 *
 * The copier race. A region is copied by claiming it: new writes to it
 * are held, writes already in flight are waited for, its bit is cleared,
 * the copier reads and writes it, then the held writes go on (and set the
 * bit again). Writes in flight are counted per epoch (two counters, as
 * SRCU does): claiming flips the epoch and waits for the old counter to
 * drain, which bounds the wait by one device round trip whatever else is
 * written meanwhile. So a write either completed before the region was
 * read (and is in the copy) or sets the bit after it (and is copied
 * again); none is lost.
 */
#include <linux/bio.h>
#include <linux/bits.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "blktrack.h"

#define VMIG_TRACK_MIN_REGION	8		/* sectors: 4 KiB */
#define VMIG_TRACK_MAX_REGION	BIT(21)		/* sectors: 1 GiB */

enum vmig_track_mode {
	VMIG_TRACK_RECORD,	/* writes go to the source and are recorded */
	VMIG_TRACK_MIRROR,	/* and those to clean regions go to dest too */
	VMIG_TRACK_REDIRECT,	/* switched over: everything goes to dest */
};

static const char *const vmig_track_mode_names[] = {
	[VMIG_TRACK_RECORD] = "record",
	[VMIG_TRACK_MIRROR] = "mirror",
	[VMIG_TRACK_REDIRECT] = "redirect",
};

/**
 * struct vmig_track - the tracking state of one device-mapper device
 * @ref: lifetime: one reference per table instance, one per user of
 *	vmig_track_get()
 * @node: in vmig_tracks while @users > 0
 * @id: for the object log
 * @g: geometry, fixed
 * @users: table instances (constructed, not yet destroyed); under
 *	vmig_tracks_lock
 * @io_sem: read-held by the copier around its I/O on @src_bdev and
 *	@dst_bdev; the last instance's destructor write-takes it to set @dead
 *	before device-mapper closes the devices
 * @dead: no table instance is left; @src_bdev and @dst_bdev are invalid
 * @src_bdev: the source device, opened by the table
 * @dst_bdev: the destination device, opened by the table, or NULL
 * @lock: protects @mode, @attached, @claimed, @claim_first, @claim_end,
 *	@held, @epoch, @running, @quiesce_gen, and orders @dirty updates in
 *	the map path against claims (end-of-I/O only sets bits, atomically)
 * @dirty: one bit per region written since it was last copied (or since
 *	the tracker was created)
 * @mode: enum vmig_track_mode
 * @attached: a move is using this tracker
 * @claimed: the copier owns regions [@claim_first, @claim_end)
 * @claim_first: first claimed region
 * @claim_end: one past the last claimed region
 * @held: writes to claimed regions, issued when the claim ends
 * @epoch: index of @inflight new writes are counted in
 * @inflight: writes mapped and not yet completed, per epoch
 * @drain_wq: the copier waits here for an old epoch to drain
 * @running: table instances resumed and not suspended since
 * @quiesce_gen: counts suspends of a running instance
 * @quiesced_md: the device while vmig_track_quiesce() holds it suspended
 * @newly_dirty: regions that turned dirty, for the dirty rate
 * @mirror_errors: mirrored writes the destination failed
 * @bs: clones of mirrored writes
 */
struct vmig_track {
	struct kref ref;
	struct list_head node;
	u32 id;
	struct vmig_track_geom g;
	unsigned int users;

	struct rw_semaphore io_sem; /* protects dead, src_bdev, dst_bdev */
	bool dead;
	struct block_device *src_bdev;
	struct block_device *dst_bdev;

	spinlock_t lock; /* protects mode, claim, held, epoch, running */
	unsigned long *dirty;
	enum vmig_track_mode mode;
	bool attached;
	bool claimed;
	unsigned long claim_first;
	unsigned long claim_end;
	struct bio_list held;
	unsigned int epoch;
	atomic_t inflight[2];
	wait_queue_head_t drain_wq;
	unsigned int running;
	unsigned int quiesce_gen;
	struct mapped_device *quiesced_md;

	atomic64_t newly_dirty;
	atomic_t mirror_errors;
	struct bio_set bs;
};

/**
 * struct vmig_track_inst - one table's instance of the target
 * @t: the device's tracker (one reference)
 * @src: the source, opened through device-mapper
 * @dst: the destination, or NULL
 * @running: resumed and not suspended since; under @t->lock
 */
struct vmig_track_inst {
	struct vmig_track *t;
	struct dm_dev *src;
	struct dm_dev *dst;
	bool running;
};

/*
 * Per-bio data: which epoch a write was counted in and the regions it
 * covers (for a mirrored write whose destination half fails).
 */
struct vmig_track_io {
	struct vmig_track *t;
	unsigned long first;
	unsigned long last;
	unsigned int epoch;
	bool counted;
};

/* Trackers by device; the mutex also protects each tracker's users. */
static LIST_HEAD(vmig_tracks);
static DEFINE_MUTEX(vmig_tracks_lock);
static atomic_t vmig_track_next_id = ATOMIC_INIT(0);

static void vmig_track_release_ref(struct kref *ref)
{
	struct vmig_track *t = container_of(ref, struct vmig_track, ref);

	if (atomic_read(&t->mirror_errors))
		pr_debug("track %u: the destination failed %d mirrored writes\n",
			 t->id, atomic_read(&t->mirror_errors));
	pr_debug("track %u destroyed\n", t->id);
	bioset_exit(&t->bs);
	kvfree(t->dirty);
	kfree(t);
}

/**
 * vmig_track_put() - drop a reference
 * @t: tracker, may be NULL
 */
void vmig_track_put(struct vmig_track *t)
{
	if (t)
		kref_put(&t->ref, vmig_track_release_ref);
}

/**
 * vmig_track_get() - find the tracker of a device-mapper device
 * @md: the device-mapper device's number
 *
 * Return: the tracker, if a vmig-track table of @md is live (resumed),
 * with a reference the caller must put; else NULL.
 */
struct vmig_track *vmig_track_get(dev_t md)
{
	struct vmig_track *t, *found = NULL;

	mutex_lock(&vmig_tracks_lock);
	list_for_each_entry(t, &vmig_tracks, node) {
		if (t->g.md != md)
			continue;
		spin_lock_irq(&t->lock);
		if (t->running) {
			kref_get(&t->ref);
			found = t;
		}
		spin_unlock_irq(&t->lock);
		break;
	}
	mutex_unlock(&vmig_tracks_lock);
	return found;
}

/**
 * vmig_track_geom() - what a tracker tracks
 * @t: tracker (reference held)
 * @g: out: its geometry
 */
void vmig_track_geom(struct vmig_track *t, struct vmig_track_geom *g)
{
	*g = t->g;
}

static bool vmig_track_same(const struct vmig_track_geom *a,
			    const struct vmig_track_geom *b)
{
	return a->src == b->src && a->dst == b->dst &&
	       a->src_offset == b->src_offset && a->len == b->len &&
	       a->region_shift == b->region_shift;
}

/*
 * The tracker for a new table instance: the device's existing one when
 * the arguments match (a reload), else a new one. Called from the
 * constructor, with the instance's devices open.
 */
static struct vmig_track *vmig_track_bind(const struct vmig_track_geom *g,
					  struct vmig_track_inst *inst,
					  char **error)
{
	struct vmig_track *t;
	int ret;

	mutex_lock(&vmig_tracks_lock);
	list_for_each_entry(t, &vmig_tracks, node) {
		if (t->g.md != g->md)
			continue;
		if (!vmig_track_same(&t->g, g)) {
			*error = "This device has a vmig-track table with other arguments";
			t = ERR_PTR(-EBUSY);
		} else {
			kref_get(&t->ref);
			t->users++;
		}
		goto out_unlock;
	}

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t) {
		t = ERR_PTR(-ENOMEM);
		goto out_unlock;
	}
	t->dirty = kvcalloc(BITS_TO_LONGS(g->nr_regions), sizeof(long),
			    GFP_KERNEL);
	if (!t->dirty) {
		ret = -ENOMEM;
		goto err_free;
	}
	/* The rescuer: mirror clones are allocated inside submit_bio. */
	ret = bioset_init(&t->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_RESCUER);
	if (ret)
		goto err_free_dirty;
	kref_init(&t->ref);
	t->id = atomic_inc_return(&vmig_track_next_id);
	t->g = *g;
	t->users = 1;
	init_rwsem(&t->io_sem);
	t->src_bdev = inst->src->bdev;
	t->dst_bdev = inst->dst ? inst->dst->bdev : NULL;
	spin_lock_init(&t->lock);
	bio_list_init(&t->held);
	init_waitqueue_head(&t->drain_wq);
	list_add(&t->node, &vmig_tracks);
	pr_debug("track %u created\n", t->id);
	goto out_unlock;

err_free_dirty:
	kvfree(t->dirty);
err_free:
	kfree(t);
	t = ERR_PTR(ret);
	*error = "Cannot allocate the tracking bitmap";
out_unlock:
	mutex_unlock(&vmig_tracks_lock);
	return t;
}

static int vmig_track_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct vmig_track_inst *inst;
	struct vmig_track_geom g = { };
	unsigned long long offset;
	unsigned int region;
	char dummy;
	int ret;

	if (argc != 3 && argc != 4) {
		ti->error = "Expected <dev> <offset> <region sectors> [<dest>]";
		return -EINVAL;
	}
	if (sscanf(argv[1], "%llu%c", &offset, &dummy) != 1 ||
	    offset != (sector_t)offset) {
		ti->error = "Invalid device offset";
		return -EINVAL;
	}
	if (kstrtouint(argv[2], 10, &region) || !is_power_of_2(region) ||
	    region < VMIG_TRACK_MIN_REGION || region > VMIG_TRACK_MAX_REGION) {
		ti->error = "Region size must be a power of two from 8 to 2097152 sectors";
		return -EINVAL;
	}

	inst = kzalloc(sizeof(*inst), GFP_KERNEL);
	if (!inst) {
		ti->error = "Cannot allocate the target";
		return -ENOMEM;
	}
	ret = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &inst->src);
	if (ret) {
		ti->error = "Device lookup failed";
		goto err_free;
	}
	if (argc == 4) {
		ret = dm_get_device(ti, argv[3], dm_table_get_mode(ti->table),
				    &inst->dst);
		if (ret) {
			ti->error = "Destination lookup failed";
			goto err_put_src;
		}
		if (inst->dst->bdev->bd_dev == inst->src->bdev->bd_dev) {
			ti->error = "Destination is the device itself";
			ret = -EINVAL;
			goto err_put_dst;
		}
	}

	g.md = disk_devt(dm_disk(dm_table_get_md(ti->table)));
	g.src = inst->src->bdev->bd_dev;
	g.dst = inst->dst ? inst->dst->bdev->bd_dev : 0;
	g.src_offset = offset;
	g.len = ti->len;
	g.region_shift = ilog2(region);
	g.nr_regions = DIV_ROUND_UP_SECTOR_T(ti->len, region);

	ret = dm_set_target_max_io_len(ti, region);
	if (ret) {
		ti->error = "Cannot limit bios to one region";
		goto err_put_dst;
	}
	inst->t = vmig_track_bind(&g, inst, &ti->error);
	if (IS_ERR(inst->t)) {
		ret = PTR_ERR(inst->t);
		goto err_put_dst;
	}
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct vmig_track_io);
	ti->private = inst;
	return 0;

err_put_dst:
	if (inst->dst)
		dm_put_device(ti, inst->dst);
err_put_src:
	dm_put_device(ti, inst->src);
err_free:
	kfree(inst);
	return ret;
}

static void vmig_track_dtr(struct dm_target *ti)
{
	struct vmig_track_inst *inst = ti->private;
	struct vmig_track *t = inst->t;
	bool last;

	spin_lock_irq(&t->lock);
	if (inst->running) {
		inst->running = false;
		t->running--;
	}
	spin_unlock_irq(&t->lock);

	mutex_lock(&vmig_tracks_lock);
	last = !--t->users;
	if (last)
		list_del_init(&t->node);
	mutex_unlock(&vmig_tracks_lock);

	/* The copier's I/O ends before device-mapper closes the devices. */
	if (last) {
		down_write(&t->io_sem);
		t->dead = true;
		t->src_bdev = NULL;
		t->dst_bdev = NULL;
		up_write(&t->io_sem);
	}
	if (inst->dst)
		dm_put_device(ti, inst->dst);
	dm_put_device(ti, inst->src);
	kfree(inst);
	vmig_track_put(t);
}

/* Mark regions [first, last] dirty. Any context; bits are set atomically. */
static void vmig_track_mark(struct vmig_track *t, unsigned long first,
			    unsigned long last)
{
	unsigned long r;

	for (r = first; r <= last; r++)
		if (!test_and_set_bit(r, t->dirty))
			atomic64_inc(&t->newly_dirty);
}

static bool vmig_track_clean(struct vmig_track *t, unsigned long first,
			     unsigned long last)
{
	return find_next_bit(t->dirty, last + 1, first) > last;
}

/*
 * The destination half of a mirrored write ended. A failure marks the
 * regions dirty again (the copier then finds the destination broken and
 * fails the move); the guest's write completes with the source's status
 * alone.
 */
static void vmig_track_mirror_endio(struct bio *clone)
{
	struct bio *bio = clone->bi_private;
	struct vmig_track_io *io = dm_per_bio_data(bio, sizeof(*io));

	if (clone->bi_status) {
		vmig_track_mark(io->t, io->first, io->last);
		atomic_inc(&io->t->mirror_errors);
	}
	bio_put(clone);
	bio_endio(bio);
}

/*
 * Send a copy of a write, already remapped to the source, to the same
 * place on the destination. The original completes once both halves have
 * (bio_inc_remaining, as bio_chain does, but without passing the
 * destination's error on to the guest).
 */
static void vmig_track_mirror(struct vmig_track *t, struct bio *bio,
			      sector_t sector)
{
	struct bio *clone;

	clone = bio_alloc_clone(t->dst_bdev, bio, GFP_NOIO, &t->bs);
	if (!clone) {
		struct vmig_track_io *io = dm_per_bio_data(bio, sizeof(*io));

		vmig_track_mark(t, io->first, io->last);
		return;
	}
	clone->bi_iter.bi_sector = sector;
	clone->bi_private = bio;
	clone->bi_end_io = vmig_track_mirror_endio;
	bio_inc_remaining(bio);
	submit_bio_noacct(clone);
}

/*
 * A bio that changes data (write, discard, write zeroes), at its target
 * sector: hold it if it touches a claimed region, else count it in the
 * current epoch, record it (or mirror it) and remap it to the source.
 *
 * Context: the map path, or the copier issuing held bios.
 * Return: DM_MAPIO_SUBMITTED when held, else DM_MAPIO_REMAPPED.
 */
static int vmig_track_write(struct vmig_track *t, struct bio *bio)
{
	struct vmig_track_io *io = dm_per_bio_data(bio, sizeof(*io));
	sector_t sector = bio->bi_iter.bi_sector;
	unsigned long flags;
	bool mirror;

	io->first = sector >> t->g.region_shift;
	io->last = (sector + bio_sectors(bio) - 1) >> t->g.region_shift;

	spin_lock_irqsave(&t->lock, flags);
	if (t->claimed && io->first < t->claim_end && io->last >= t->claim_first) {
		bio_list_add(&t->held, bio);
		spin_unlock_irqrestore(&t->lock, flags);
		return DM_MAPIO_SUBMITTED;
	}
	io->epoch = t->epoch;
	io->counted = true;
	atomic_inc(&t->inflight[io->epoch]);
	/*
	 * A region still dirty is copied later anyway; mirroring only pays
	 * for regions already copied, which thereby stay clean.
	 */
	mirror = t->mode == VMIG_TRACK_MIRROR && bio_op(bio) == REQ_OP_WRITE &&
		 vmig_track_clean(t, io->first, io->last);
	if (!mirror)
		vmig_track_mark(t, io->first, io->last);
	spin_unlock_irqrestore(&t->lock, flags);

	bio_set_dev(bio, t->src_bdev);
	bio->bi_iter.bi_sector = t->g.src_offset + sector;
	if (mirror)
		vmig_track_mirror(t, bio, sector);
	return DM_MAPIO_REMAPPED;
}

static int vmig_track_map(struct dm_target *ti, struct bio *bio)
{
	struct vmig_track_inst *inst = ti->private;
	struct vmig_track *t = inst->t;
	struct vmig_track_io *io = dm_per_bio_data(bio, sizeof(*io));

	io->t = t;
	io->counted = false;
	/* Redirection starts only while the device is quiesced. */
	if (READ_ONCE(t->mode) == VMIG_TRACK_REDIRECT) {
		bio_set_dev(bio, t->dst_bdev);
		return DM_MAPIO_REMAPPED;
	}
	/*
	 * Reads and flushes pass through. A flush covers writes completed
	 * before it; held writes have not completed. The destination gets
	 * its flush once, at switchover, before any I/O is redirected there.
	 */
	if (!bio_sectors(bio) || !op_is_write(bio_op(bio))) {
		bio_set_dev(bio, t->src_bdev);
		if (bio_sectors(bio))
			bio->bi_iter.bi_sector += t->g.src_offset;
		return DM_MAPIO_REMAPPED;
	}
	return vmig_track_write(t, bio);
}

static int vmig_track_end_io(struct dm_target *ti, struct bio *bio,
			     blk_status_t *error)
{
	struct vmig_track_io *io = dm_per_bio_data(bio, sizeof(*io));
	struct vmig_track *t = io->t;

	/* Pairs with the barrier in wait_event() of vmig_track_claim(). */
	if (io->counted && atomic_dec_and_test(&t->inflight[io->epoch]) &&
	    wq_has_sleeper(&t->drain_wq))
		wake_up(&t->drain_wq);
	return DM_ENDIO_DONE;
}

static void vmig_track_postsuspend(struct dm_target *ti)
{
	struct vmig_track_inst *inst = ti->private;
	struct vmig_track *t = inst->t;

	spin_lock_irq(&t->lock);
	if (inst->running) {
		inst->running = false;
		t->running--;
		t->quiesce_gen++;
	}
	spin_unlock_irq(&t->lock);
}

static void vmig_track_resume(struct dm_target *ti)
{
	struct vmig_track_inst *inst = ti->private;
	struct vmig_track *t = inst->t;

	spin_lock_irq(&t->lock);
	if (!inst->running) {
		inst->running = true;
		t->running++;
	}
	spin_unlock_irq(&t->lock);
}

static void vmig_track_status(struct dm_target *ti, status_type_t type,
			      unsigned int status_flags, char *result,
			      unsigned int maxlen)
{
	struct vmig_track_inst *inst = ti->private;
	struct vmig_track *t = inst->t;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%lu %lu %s", vmig_track_dirty_count(t), t->g.nr_regions,
		       vmig_track_mode_names[READ_ONCE(t->mode)]);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu %u", inst->src->name,
		       (unsigned long long)t->g.src_offset, 1U << t->g.region_shift);
		if (inst->dst)
			DMEMIT(" %s", inst->dst->name);
		break;
	default:
		*result = '\0';
		break;
	}
}

static int vmig_track_message(struct dm_target *ti, unsigned int argc,
			      char **argv, char *result, unsigned int maxlen)
{
	struct vmig_track_inst *inst = ti->private;
	struct vmig_track *t = inst->t;
	int ret = 0;

	if (argc != 1 || strcasecmp(argv[0], "clear"))
		return -EINVAL;
	spin_lock_irq(&t->lock);
	if (t->attached || t->mode == VMIG_TRACK_REDIRECT)
		ret = -EBUSY;
	else
		bitmap_zero(t->dirty, t->g.nr_regions);
	spin_unlock_irq(&t->lock);
	return ret;
}

static int vmig_track_iterate_devices(struct dm_target *ti,
				      iterate_devices_callout_fn fn, void *data)
{
	struct vmig_track_inst *inst = ti->private;
	int ret;

	ret = fn(ti, inst->src, inst->t->g.src_offset, ti->len, data);
	if (!ret && inst->dst)
		ret = fn(ti, inst->dst, 0, ti->len, data);
	return ret;
}

static struct target_type vmig_track_target = {
	.name		 = "vmig-track",
	.version	 = {1, 0, 0},
	.features	 = DM_TARGET_SINGLETON,
	.module		 = THIS_MODULE,
	.ctr		 = vmig_track_ctr,
	.dtr		 = vmig_track_dtr,
	.map		 = vmig_track_map,
	.end_io		 = vmig_track_end_io,
	.postsuspend	 = vmig_track_postsuspend,
	.resume		 = vmig_track_resume,
	.status		 = vmig_track_status,
	.message	 = vmig_track_message,
	.iterate_devices = vmig_track_iterate_devices,
};

/**
 * vmig_track_attach() - start a move on a tracker
 * @t: tracker (reference held)
 * @use: what the move does
 *
 * Every region becomes dirty: the first pass copies the whole device.
 *
 * Return: 0; -EBUSY when another move uses @t; -EALREADY when @t has
 * switched over already; -ENODEV when a local move's table names no
 * destination, -EEXIST when a remote one's does.
 */
int vmig_track_attach(struct vmig_track *t, enum vmig_track_use use)
{
	bool remote = use == VMIG_TRACK_USE_REMOTE;
	int ret = 0;

	spin_lock_irq(&t->lock);
	if (t->attached)
		ret = -EBUSY;
	else if (t->mode == VMIG_TRACK_REDIRECT)
		ret = -EALREADY;
	else if (!remote && !t->g.dst)
		ret = -ENODEV;
	else if (remote && t->g.dst)
		ret = -EEXIST;
	if (!ret) {
		t->attached = true;
		t->mode = use == VMIG_TRACK_USE_LOCAL_MIRROR ?
			  VMIG_TRACK_MIRROR : VMIG_TRACK_RECORD;
		bitmap_fill(t->dirty, t->g.nr_regions);
	}
	spin_unlock_irq(&t->lock);
	return ret;
}

/**
 * vmig_track_detach() - end a move on a tracker
 * @t: tracker (reference held)
 *
 * Mirroring stops; recording goes on until the table is replaced. A
 * tracker that switched over keeps redirecting.
 */
void vmig_track_detach(struct vmig_track *t)
{
	spin_lock_irq(&t->lock);
	if (t->mode == VMIG_TRACK_MIRROR)
		t->mode = VMIG_TRACK_RECORD;
	t->attached = false;
	spin_unlock_irq(&t->lock);
}

/**
 * vmig_track_next_dirty() - find a run of dirty regions
 * @t: tracker
 * @from: first region to consider
 * @nr: out: length of the run, at most @max
 * @max: longest run wanted (>= 1)
 *
 * Return: the run's first region, or the number of regions if none is
 * dirty at or after @from.
 */
unsigned long vmig_track_next_dirty(struct vmig_track *t, unsigned long from,
				    unsigned long *nr, unsigned long max)
{
	unsigned long first, end;

	first = find_next_bit(t->dirty, t->g.nr_regions, from);
	if (first >= t->g.nr_regions) {
		*nr = 0;
		return t->g.nr_regions;
	}
	end = find_next_zero_bit(t->dirty, min(t->g.nr_regions, first + max),
				 first);
	*nr = end - first;
	return first;
}

/**
 * vmig_track_dirty_count() - regions dirty now
 * @t: tracker
 *
 * Return: the number of dirty regions.
 */
unsigned long vmig_track_dirty_count(struct vmig_track *t)
{
	return bitmap_weight(t->dirty, t->g.nr_regions);
}

/**
 * vmig_track_newly_dirty() - regions that turned dirty since creation
 * @t: tracker
 *
 * Return: a counter; the difference between two reads is how many clean
 * regions were written in between.
 */
u64 vmig_track_newly_dirty(struct vmig_track *t)
{
	return atomic64_read(&t->newly_dirty);
}

/**
 * vmig_track_mirror_failed() - did the destination fail a mirrored write?
 * @t: tracker
 *
 * Return: true once any has failed.
 */
bool vmig_track_mirror_failed(struct vmig_track *t)
{
	return atomic_read(&t->mirror_errors);
}

/**
 * vmig_track_claim_span() - how far a claim from a region would reach
 * @t: tracker
 * @first: first region
 * @nr: regions at most
 * @max_dirty: 0, or the claim ends right after this many dirty regions
 *
 * The one rule for where a claim ends, for vmig_track_claim() and for
 * estimates of the claims a pass will make. Unlocked, the answer is a
 * snapshot that writes may change at once.
 *
 * Return: the regions a claim would take, [@first, @first + return).
 */
unsigned long vmig_track_claim_span(struct vmig_track *t, unsigned long first,
				    unsigned long nr, unsigned long max_dirty)
{
	unsigned long r = first, taken = 0;

	if (!max_dirty)
		return nr;
	for (;;) {
		r = find_next_bit(t->dirty, first + nr, r);
		if (r >= first + nr)
			return nr;
		if (++taken == max_dirty)
			return r + 1 - first;
		r++;
	}
}

/**
 * vmig_track_claim() - take regions for copying
 * @t: tracker (attached)
 * @first: first region
 * @nr: regions at most
 * @max_dirty: 0, or the claim ends right after this many dirty regions
 *	(vmig_track_claim_span())
 * @was_dirty: NULL, or out: bit i set when region @first + i was dirty
 *	(@nr bits); the caller then copies those only
 *
 * From now on writes to the claimed regions are held; writes in flight
 * when the claim is made are waited for. Their bits are cleared: on return
 * the source holds every write to them the guest has seen complete or
 * that is in flight, and the caller may copy them. Only one claim at a
 * time (the move's worker). Which regions were dirty is read in the same
 * critical section that clears the bits, so a write that set one just
 * before is in @was_dirty.
 *
 * Context: process context, may sleep (one device round trip).
 * Return: the regions claimed, [@first, @first + return), at most @nr.
 */
unsigned long vmig_track_claim(struct vmig_track *t, unsigned long first,
			       unsigned long nr, unsigned long max_dirty,
			       unsigned long *was_dirty)
{
	unsigned long r, end;
	unsigned int old;

	spin_lock_irq(&t->lock);
	end = first + vmig_track_claim_span(t, first, nr, max_dirty);
	if (was_dirty)
		bitmap_zero(was_dirty, nr);
	for (r = find_next_bit(t->dirty, end, first); r < end;
	     r = find_next_bit(t->dirty, end, r + 1)) {
		clear_bit(r, t->dirty);
		if (was_dirty)
			__set_bit(r - first, was_dirty);
	}
	t->claimed = true;
	t->claim_first = first;
	t->claim_end = end;
	old = t->epoch;
	t->epoch = !old;
	spin_unlock_irq(&t->lock);
	/* Pairs with atomic_dec_and_test() in vmig_track_end_io(). */
	wait_event(t->drain_wq, !atomic_read(&t->inflight[old]));
	return end - first;
}

/**
 * vmig_track_release() - end a claim and issue the writes it held
 * @t: tracker
 * @copied: the regions reached the destination; if not, they are marked
 *	dirty again
 *
 * Context: process context (the claimer).
 */
void vmig_track_release(struct vmig_track *t, bool copied)
{
	struct bio_list held;
	struct bio *bio;

	spin_lock_irq(&t->lock);
	if (!copied)
		vmig_track_mark(t, t->claim_first, t->claim_end - 1);
	t->claimed = false;
	held = t->held;
	bio_list_init(&t->held);
	spin_unlock_irq(&t->lock);

	while ((bio = bio_list_pop(&held)))
		if (vmig_track_write(t, bio) == DM_MAPIO_REMAPPED)
			dm_submit_bio_remap(bio, NULL);
}

/**
 * vmig_track_io_begin() - keep the tracker's devices open for some I/O
 * @t: tracker
 * @src: out: the source device
 * @dst: out: the destination device, NULL when the table names none
 *
 * Return: 0 with the devices valid until vmig_track_io_end(), or -ENODEV
 * when the tracker's tables are gone (nothing to end then).
 */
int vmig_track_io_begin(struct vmig_track *t, struct block_device **src,
			struct block_device **dst)
{
	down_read(&t->io_sem);
	if (t->dead) {
		up_read(&t->io_sem);
		return -ENODEV;
	}
	*src = t->src_bdev;
	*dst = t->dst_bdev;
	return 0;
}

/**
 * vmig_track_io_end() - end what vmig_track_io_begin() started
 * @t: tracker
 */
void vmig_track_io_end(struct vmig_track *t)
{
	up_read(&t->io_sem);
}

/**
 * vmig_track_quiesce() - suspend the device's I/O for a switchover
 * @t: tracker, between vmig_track_io_begin() and vmig_track_io_end()
 *
 * Suspends the device-mapper device internally (noflush: in-flight I/O
 * completes, new I/O waits in device-mapper) and checks that it was this
 * tracker's table that got suspended, i.e. every write to the device went
 * through it and has completed. Userspace cannot resume the device until
 * vmig_track_unquiesce().
 *
 * Context: process context, may sleep.
 * Return: 0, the device quiesced; -EAGAIN when the tracker's table is not
 * the one running (someone else has the device suspended; try later);
 * -ENODEV when the device is going away.
 */
int vmig_track_quiesce(struct vmig_track *t)
{
	struct mapped_device *md;
	unsigned int gen;
	bool running;

	spin_lock_irq(&t->lock);
	running = t->running;
	gen = t->quiesce_gen;
	spin_unlock_irq(&t->lock);
	if (!running)
		return -EAGAIN;

	md = dm_get_md(t->g.md);
	if (!md)
		return -ENODEV;
	dm_internal_suspend_noflush(md);

	spin_lock_irq(&t->lock);
	running = t->running || t->quiesce_gen == gen;
	spin_unlock_irq(&t->lock);
	if (running) {
		dm_internal_resume(md);
		dm_put(md);
		return -EAGAIN;
	}
	t->quiesced_md = md;
	return 0;
}

/**
 * vmig_track_unquiesce() - resume the device after vmig_track_quiesce()
 * @t: tracker
 * @redirect: from now on send all I/O to the destination
 */
void vmig_track_unquiesce(struct vmig_track *t, bool redirect)
{
	struct mapped_device *md = t->quiesced_md;

	t->quiesced_md = NULL;
	if (redirect) {
		spin_lock_irq(&t->lock);
		t->mode = VMIG_TRACK_REDIRECT;
		spin_unlock_irq(&t->lock);
	}
	dm_internal_resume(md);
	dm_put(md);
}

/**
 * vmig_blktrack_init() - register the vmig-track target
 *
 * Return: 0 or a negative errno from dm_register_target().
 */
int vmig_blktrack_init(void)
{
	return dm_register_target(&vmig_track_target);
}

/**
 * vmig_blktrack_uninit() - unregister the target
 *
 * Context: module unload; device-mapper holds a module reference for
 * every table using the target, so none is left.
 */
void vmig_blktrack_uninit(void)
{
	dm_unregister_target(&vmig_track_target);
}
