// SPDX-License-Identifier: GPL-2.0
/*
 * A VM disk carried by a cross-host migration (shared-nothing vMotion).
 *
 * Source: vmigctl loads a vmig-track table without a destination into the
 * device-mapper device the VM uses and passes that device as disk-fd. The
 * disk attaches to its tracker (every region dirty) and, interleaved with
 * the memory passes, sends dirty regions in BLOCKS frames. Each region is
 * read under a claim (blktrack.c: writes to it are held, writes in flight
 * drained, its bit cleared) into freshly allocated pages, the claim is
 * released and the pages are sent by reference: TCP keeps its own page
 * references, so the buffer is never reused while a send may still read
 * it, and guest writes never wait for the network. At switchover, with the
 * VMM stopped, the device is quiesced (I/O in flight completes, new I/O
 * waits in device-mapper) and the regions still dirty are sent with the
 * last pages; the device resumes when the session ends, whatever the
 * outcome: the source VM's disk holds every write it made, and on success
 * it is the operator's rollback copy.
 *
 * Destination: vmigctl opens the device exclusively and passes it as
 * disk-fd. BLOCKS frames are checked against the size the source announced
 * (itself checked against the device) and written synchronously; the
 * device is flushed before the END is acknowledged, so an acknowledged
 * migration has the whole disk on stable storage.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/device-mapper.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/netlink.h>

#include "blktrack.h"
#include "disk.h"
#include "session.h"
#include "stream.h"
#include "wire.h"

/* Bytes per BLOCKS frame, and the largest claim. */
#define VMIG_DISK_CHUNK		(VMIG_WIRE_MAX_BLOCKS << SECTOR_SHIFT)
#define VMIG_DISK_CHUNK_PAGES	(VMIG_DISK_CHUNK >> PAGE_SHIFT)
/* Quiesce attempts while someone else holds the device suspended. */
#define VMIG_DISK_QUIESCE_TRIES	50

/**
 * struct vmig_disk - one end's disk; owned by its session
 * @id: for the object log
 * @name: source: the destination's name to announce; destination: the
 *	name a source must announce
 * @t: source: the tracker (one reference)
 * @g: source: its geometry
 * @attached: source: @t is attached to this disk
 * @quiesced: source: between vmig_disk_quiesce() and vmig_disk_unquiesce()
 * @src: source: the source device while quiesced
 * @cursor: source: where the current sweep goes on
 * @dirtied0: source: the tracker's newly-dirty count at attach
 * @file: destination: the device, as opened by vmigctl (one reference)
 * @bdev: destination: its block device
 * @sectors: destination: the size the source announced, 0 before DISK
 * @sent: bytes sent or written
 * @run: source: the pages of the run being sent (always dropped after)
 * @buf: destination: receive buffer, one chunk
 */
struct vmig_disk {
	u32 id;
	char name[VMIG_WIRE_MAX_DISK_NAME + 1];

	struct vmig_track *t;
	struct vmig_track_geom g;
	bool attached;
	bool quiesced;
	struct block_device *src;
	unsigned long cursor;
	u64 dirtied0;

	struct file *file;
	struct block_device *bdev;
	sector_t sectors;

	u64 sent;
	struct page *run[VMIG_DISK_CHUNK_PAGES];
	struct page *buf[VMIG_DISK_CHUNK_PAGES];
};

static atomic_t vmig_disk_ids = ATOMIC_INIT(0);

static struct vmig_disk *vmig_disk_alloc(const char *name)
{
	struct vmig_disk *d;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return NULL;
	d->id = atomic_inc_return(&vmig_disk_ids);
	strscpy(d->name, name, sizeof(d->name));
	pr_debug("disk %u created\n", d->id);
	return d;
}

/**
 * vmig_disk_destroy() - release a disk
 * @d: the disk, may be NULL; must not be quiesced
 */
void vmig_disk_destroy(struct vmig_disk *d)
{
	unsigned int i;

	if (!d)
		return;
	if (d->attached)
		vmig_track_detach(d->t);
	vmig_track_put(d->t);
	if (d->file)
		fput(d->file);
	for (i = 0; i < VMIG_DISK_CHUNK_PAGES; i++)
		if (d->buf[i])
			__free_page(d->buf[i]);
	pr_debug("disk %u destroyed\n", d->id);
	kfree(d);
}

/*
 * The block device behind a disk-fd, with a reference the caller drops
 * (fput), after the checks both ends share.
 */
static struct file *vmig_disk_fget(int fd, const char *name,
				   struct netlink_ext_ack *extack)
{
	struct file *f;

	if (!*name) {
		NL_SET_ERR_MSG_MOD(extack, "disk-name is empty");
		return ERR_PTR(-EINVAL);
	}
	f = fget(fd);
	if (!f) {
		NL_SET_ERR_MSG_MOD(extack, "disk-fd is not an open file");
		return ERR_PTR(-EBADF);
	}
	if (!S_ISBLK(file_inode(f)->i_mode)) {
		NL_SET_ERR_MSG_MOD(extack, "disk-fd is not a block device");
		fput(f);
		return ERR_PTR(-ENOTBLK);
	}
	/* The fd grants what it was opened for: reading (here), writing (dst). */
	if (!(f->f_mode & FMODE_READ)) {
		NL_SET_ERR_MSG_MOD(extack, "disk-fd is not open for reading");
		fput(f);
		return ERR_PTR(-EBADF);
	}
	return f;
}

/**
 * vmig_disk_src_create() - the disk of a source session
 * @fd: the device-mapper device the VM uses, in the caller's fd table
 * @name: the destination device's name, announced to the destination
 * @extack: why a disk is refused
 *
 * The device must have a live vmig-track table naming no destination;
 * the disk attaches to its tracker at once, so that every region counts
 * as dirty from the start.
 *
 * Context: process context (netlink request).
 * Return: the disk, or an ERR_PTR with extack set.
 */
struct vmig_disk *vmig_disk_src_create(int fd, const char *name,
				       struct netlink_ext_ack *extack)
{
	struct vmig_disk *d;
	struct file *f;
	dev_t dev;
	int ret;

	f = vmig_disk_fget(fd, name, extack);
	if (IS_ERR(f))
		return ERR_CAST(f);
	dev = file_inode(f)->i_rdev;
	fput(f);

	d = vmig_disk_alloc(name);
	if (!d)
		return ERR_PTR(-ENOMEM);
	d->t = vmig_track_get(dev);
	if (!d->t) {
		NL_SET_ERR_MSG_MOD(extack,
				   "disk-fd has no live vmig-track table (load one first)");
		ret = -ENXIO;
		goto err_destroy;
	}
	vmig_track_geom(d->t, &d->g);
	if (d->g.dst) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the disk's vmig-track table names a local destination; a migrated disk needs one without");
		ret = -EINVAL;
		goto err_destroy;
	}
	if (d->g.len & (PAGE_SIZE / SECTOR_SIZE - 1)) {
		NL_SET_ERR_MSG_MOD(extack, "the disk's size is not a multiple of the page size");
		ret = -EINVAL;
		goto err_destroy;
	}
	ret = vmig_track_attach(d->t, VMIG_TRACK_USE_REMOTE);
	if (ret) {
		if (ret == -EBUSY)
			NL_SET_ERR_MSG_MOD(extack, "another move or migration is using the disk");
		else
			NL_SET_ERR_MSG_MOD(extack, "the disk was moved to another device already");
		goto err_destroy;
	}
	d->attached = true;
	d->dirtied0 = vmig_track_newly_dirty(d->t);
	return d;

err_destroy:
	vmig_disk_destroy(d);
	return ERR_PTR(ret);
}

/**
 * vmig_disk_dst_create() - the disk of a destination session
 * @fd: the device to write, in the caller's fd table, open for writing
 * @name: the name a source must announce
 * @extack: why a disk is refused
 *
 * Context: process context (netlink request).
 * Return: the disk, or an ERR_PTR with extack set.
 */
struct vmig_disk *vmig_disk_dst_create(int fd, const char *name,
				       struct netlink_ext_ack *extack)
{
	struct vmig_disk *d;
	struct file *f;
	unsigned int i;

	f = vmig_disk_fget(fd, name, extack);
	if (IS_ERR(f))
		return ERR_CAST(f);
	if (!(f->f_mode & FMODE_WRITE)) {
		NL_SET_ERR_MSG_MOD(extack, "disk-fd is not open for writing");
		fput(f);
		return ERR_PTR(-EBADF);
	}
	d = vmig_disk_alloc(name);
	if (!d) {
		fput(f);
		return ERR_PTR(-ENOMEM);
	}
	d->file = f;
	d->bdev = I_BDEV(f->f_mapping->host);
	for (i = 0; i < VMIG_DISK_CHUNK_PAGES; i++) {
		d->buf[i] = alloc_page(GFP_KERNEL);
		if (!d->buf[i]) {
			vmig_disk_destroy(d);
			return ERR_PTR(-ENOMEM);
		}
	}
	/*
	 * Blocks land beneath the device's page cache: write back what it
	 * holds now, or writeback would later overwrite them, and drop it.
	 */
	sync_blockdev(d->bdev);
	invalidate_bdev(d->bdev);
	return d;
}

/**
 * vmig_disk_stats() - a disk's share of its session's statistics
 * @d: the disk
 * @st: out
 */
void vmig_disk_stats(struct vmig_disk *d, struct vmig_disk_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->sent = d->sent;
	if (!d->t) {
		st->bytes = (u64)d->sectors << SECTOR_SHIFT;
		return;
	}
	st->bytes = (u64)d->g.len << SECTOR_SHIFT;
	st->dirty = min_t(u64, st->bytes, (u64)vmig_track_dirty_count(d->t) <<
			  (d->g.region_shift + SECTOR_SHIFT));
	st->dirtied = (vmig_track_newly_dirty(d->t) - d->dirtied0) <<
		      (d->g.region_shift + SECTOR_SHIFT);
}

/**
 * vmig_disk_fold_stats() - put a session's disk in its statistics
 * @d: the session's disk, or NULL
 * @stats: the session's statistics
 *
 * A source's dirty disk bytes count as dirty pages too, so that one
 * convergence rule covers memory and disk.
 */
void vmig_disk_fold_stats(struct vmig_disk *d, struct vmig_stats *stats)
{
	struct vmig_disk_stats ds;

	if (!d)
		return;
	vmig_disk_stats(d, &ds);
	stats->disk_bytes = ds.bytes;
	stats->disk_sent_bytes = ds.sent;
	stats->disk_dirty_bytes = ds.dirty;
	stats->dirty_pages += ds.dirty >> PAGE_SHIFT;
}

/**
 * vmig_disk_send_hello() - announce the disk (DISK frame)
 * @d: a source disk
 * @st: the stream; the caller reads the DISK_ACK
 *
 * Return: 0 or a negative errno.
 */
int vmig_disk_send_hello(struct vmig_disk *d, struct vmig_stream *st)
{
	u32 n = strlen(d->name);
	struct vmig_wire_disk h = {
		.sectors = cpu_to_le64(d->g.len),
		.region_sectors = cpu_to_le32(1U << d->g.region_shift),
		.name_len = cpu_to_le32(n),
	};
	int ret;

	ret = vmig_stream_send(st, VMIG_WIRE_DISK, &h, sizeof(h), n, true);
	if (!ret)
		ret = vmig_stream_send_buf(st, d->name, n, false);
	return ret;
}

static void vmig_disk_put_pages(struct page **pages, unsigned int n)
{
	while (n--)
		put_page(pages[n]);
}

/* Read @bytes at @sector of @bdev into new pages. */
static int vmig_disk_read(struct block_device *bdev, sector_t sector,
			  u32 bytes, struct page **pages)
{
	unsigned int i, n = bytes >> PAGE_SHIFT;
	struct bio *bio;
	int ret;

	for (i = 0; i < n; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i]) {
			vmig_disk_put_pages(pages, i);
			return -ENOMEM;
		}
	}
	bio = bio_alloc(bdev, n, REQ_OP_READ, GFP_KERNEL);
	bio->bi_iter.bi_sector = sector;
	for (i = 0; i < n; i++)
		__bio_add_page(bio, pages[i], PAGE_SIZE, 0);
	ret = submit_bio_wait(bio);
	bio_put(bio);
	if (ret)
		vmig_disk_put_pages(pages, n);
	return ret;
}

/* Send @bytes at @sector read into @pages, then drop the pages. */
static int vmig_disk_send_pages(struct vmig_disk *d, struct vmig_stream *st,
				sector_t sector, u32 bytes, struct page **pages)
{
	struct vmig_wire_blocks b = {
		.sector = cpu_to_le64(sector),
		.count = cpu_to_le32(bytes >> SECTOR_SHIFT),
	};
	int ret;

	ret = vmig_stream_send(st, VMIG_WIRE_BLOCKS, &b, sizeof(b), bytes, true);
	if (!ret)
		ret = vmig_stream_send_pages(st, pages, bytes >> PAGE_SHIFT, true);
	vmig_disk_put_pages(pages, bytes >> PAGE_SHIFT);
	if (!ret)
		d->sent += bytes;
	return ret;
}

/*
 * Read one chunk (at most a frame) of the run at [first, first + nr)
 * under a claim of the run. The first chunk's claim clears the run's bits.
 * A later chunk's claim (only a region larger than a frame has several)
 * must not lose a write that landed, since the first claim, in a chunk
 * already sent: such a write marked the region again, and that mark is
 * put back at release, so the region is sent again by the next sweep.
 */
static int vmig_disk_read_claimed(struct vmig_disk *d, unsigned long first,
				  unsigned long nr, sector_t pos, u32 bytes,
				  bool later, const char **why)
{
	struct block_device *src, *dst;
	unsigned long redirtied = 0;
	int ret;

	ret = vmig_track_io_begin(d->t, &src, &dst);
	if (ret) {
		*why = "the disk's vmig-track table was replaced or removed";
		return ret;
	}
	vmig_track_claim(d->t, first, nr, 0, later ? &redirtied : NULL);
	ret = vmig_disk_read(src, d->g.src_offset + pos, bytes, d->run);
	vmig_track_release(d->t, !ret && !redirtied);
	vmig_track_io_end(d->t);
	if (ret)
		*why = "reading the disk failed";
	return ret;
}

/*
 * Read and send the run of dirty regions at [first, first + nr), one frame
 * at a time: a run is one frame at most unless it is a single region
 * larger than a frame. Unless @quiesced, each frame is read under a claim,
 * so that a write racing the read is either in the copy or marks the
 * region dirty again; the claim never spans a send, so guest writes wait
 * for the source device, never for the network.
 */
static int vmig_disk_send_run(struct vmig_disk *d, struct vmig_stream *st,
			      unsigned long first, unsigned long nr,
			      bool quiesced, const char **why)
{
	sector_t start = (sector_t)first << d->g.region_shift;
	sector_t end = min_t(sector_t, (sector_t)(first + nr) << d->g.region_shift,
			     d->g.len);
	sector_t pos;
	u32 bytes;
	int ret;

	for (pos = start; pos < end; pos += bytes >> SECTOR_SHIFT) {
		bytes = min_t(sector_t, end - pos, VMIG_WIRE_MAX_BLOCKS) << SECTOR_SHIFT;
		if (quiesced) {
			/* vmig_disk_quiesce() holds the devices open. */
			ret = vmig_disk_read(d->src, d->g.src_offset + pos, bytes,
					     d->run);
			if (ret)
				*why = "reading the disk failed";
		} else {
			ret = vmig_disk_read_claimed(d, first, nr, pos, bytes,
						     pos != start, why);
		}
		if (ret)
			return ret;
		ret = vmig_disk_send_pages(d, st, pos, bytes, d->run);
		if (ret) {
			*why = "sending the disk failed";
			return ret;
		}
	}
	return 0;
}

/*
 * Test only (fault_inject): mark regions sent without sending them, so
 * that the destination lacks them and its verification must fail.
 */
static void vmig_disk_forget(struct vmig_disk *d, unsigned long first,
			     unsigned long nr)
{
	vmig_track_claim(d->t, first, nr, 0, NULL);
	vmig_track_release(d->t, true);
}

/* Regions per run: one BLOCKS frame at most. */
static unsigned long vmig_disk_max_run(struct vmig_disk *d)
{
	return max(1UL, (unsigned long)VMIG_WIRE_MAX_BLOCKS >> d->g.region_shift);
}

/**
 * vmig_disk_send() - send dirty regions during pre-copy
 * @d: a source disk
 * @st: the stream
 * @budget: bytes to send at most before returning (at least one run)
 * @lose: test only (fault_inject): never send the run at the disk's start
 * @more: out: the sweep has not reached the end of the disk
 * @why: out: static text on failure
 *
 * A sweep goes from the start of the disk to its end over several calls;
 * regions written behind it wait for the next sweep.
 *
 * Context: the session's worker.
 * Return: 0 or a negative errno.
 */
int vmig_disk_send(struct vmig_disk *d, struct vmig_stream *st, u64 budget,
		   bool lose, bool *more, const char **why)
{
	unsigned long first, nr;
	u64 sent0 = d->sent;
	int ret = 0;

	*more = true;
	do {
		first = vmig_track_next_dirty(d->t, d->cursor, &nr,
					      vmig_disk_max_run(d));
		if (!nr) {
			d->cursor = 0;
			*more = false;
			return 0;
		}
		if (lose && !first)
			vmig_disk_forget(d, first, nr);
		else
			ret = vmig_disk_send_run(d, st, first, nr, false, why);
		if (ret)
			return ret;
		d->cursor = first + nr;
		cond_resched();
	} while (d->sent - sent0 < budget);
	return 0;
}

/*
 * Write back the device's page cache and wait for it. A VMM writing
 * through it (QEMU's default cache=writeback) has seen writes complete
 * that are dirty pages there: they reach vmig-track, and become dirty
 * regions, only when written back. Before the quiesce, never after it:
 * writeback into a suspended device would wait for the resume.
 */
static int vmig_disk_writeback(struct vmig_disk *d, const char **why)
{
	struct mapped_device *md;
	int ret;

	md = dm_get_md(d->g.md);
	if (!md) {
		*why = "the disk is going away";
		return -ENODEV;
	}
	ret = sync_blockdev(dm_disk(md)->part0);
	dm_put(md);
	if (ret)
		*why = "writing back the disk's page cache failed";
	return ret;
}

/**
 * vmig_disk_quiesce() - hold the disk's I/O for the switchover
 * @d: a source disk; the VMM and every other writer of the disk are
 *	stopped
 * @why: out: static text on failure
 *
 * The device's page cache is written back first, then I/O in flight
 * completes and new I/O waits in device-mapper until vmig_disk_unquiesce():
 * the tracker has seen every write the stopped writers saw complete,
 * buffered or not. A writer that is not stopped may dirty the cache again
 * after the writeback; its writes are not carried.
 *
 * Context: the session's worker, may sleep.
 * Return: 0 or a negative errno.
 */
int vmig_disk_quiesce(struct vmig_disk *d, const char **why)
{
	struct block_device *dst;
	unsigned int tries = 0;
	int ret;

	ret = vmig_disk_writeback(d, why);
	if (ret)
		return ret;
	ret = vmig_track_io_begin(d->t, &d->src, &dst);
	if (ret) {
		*why = "the disk's vmig-track table was replaced or removed";
		return ret;
	}
	while ((ret = vmig_track_quiesce(d->t)) == -EAGAIN &&
	       ++tries < VMIG_DISK_QUIESCE_TRIES)
		msleep(20);
	if (ret) {
		vmig_track_io_end(d->t);
		*why = ret == -EAGAIN ? "the disk stayed suspended by someone else" :
		       "the disk is going away";
		return ret;
	}
	d->quiesced = true;
	return 0;
}

/**
 * vmig_disk_send_final() - send every region still dirty
 * @d: a quiesced source disk
 * @st: the stream
 * @lose: test only (fault_inject): never send the run at the disk's start
 * @why: out: static text on failure
 *
 * Context: the session's worker.
 * Return: 0 or a negative errno.
 */
int vmig_disk_send_final(struct vmig_disk *d, struct vmig_stream *st,
			 bool lose, const char **why)
{
	unsigned long first, nr, from = 0;
	int ret;

	for (;;) {
		first = vmig_track_next_dirty(d->t, from, &nr, vmig_disk_max_run(d));
		if (!nr)
			return 0;
		if (lose && !first) {
			vmig_disk_forget(d, first, nr);
			ret = 0;
		} else {
			ret = vmig_disk_send_run(d, st, first, nr, true, why);
		}
		if (ret)
			return ret;
		from = first + nr;
	}
}

/**
 * vmig_disk_unquiesce() - let the disk's I/O go on
 * @d: a source disk, quiesced or not
 */
void vmig_disk_unquiesce(struct vmig_disk *d)
{
	if (!d || !d->quiesced)
		return;
	vmig_track_unquiesce(d->t, false);
	vmig_track_io_end(d->t);
	d->quiesced = false;
}

/**
 * vmig_disk_recv_hello() - check a DISK frame and answer it
 * @d: the destination's disk, or NULL when it was given none
 * @st: the stream, positioned after the frame header
 * @len: the frame's payload length
 * @why: out: static text on failure
 *
 * Context: the session's worker.
 * Return: 0 when the disk is accepted (DISK_ACK sent), else a negative
 * errno (a refusal is sent when the stream still works).
 */
int vmig_disk_recv_hello(struct vmig_disk *d, struct vmig_stream *st, u32 len,
			 const char **why)
{
	char name[VMIG_WIRE_MAX_DISK_NAME + 1];
	struct vmig_wire_status ack = { };
	struct vmig_wire_disk h;
	u64 sectors;
	u32 n, region;
	int ret;

	if (len < sizeof(h) || len > sizeof(h) + VMIG_WIRE_MAX_DISK_NAME) {
		*why = "DISK frame has an impossible length";
		return -EBADMSG;
	}
	ret = vmig_stream_recv(st, &h, sizeof(h));
	if (ret)
		return ret;
	n = le32_to_cpu(h.name_len);
	if (!n || n != len - sizeof(h)) {
		*why = "DISK name length does not match the frame";
		return -EBADMSG;
	}
	ret = vmig_stream_recv(st, name, n);
	if (ret)
		return ret;
	name[n] = '\0';
	sectors = le64_to_cpu(h.sectors);
	region = le32_to_cpu(h.region_sectors);

	if (!d) {
		*why = "the source sends a disk, but this end was given none (receive --disk)";
		ret = -ENODEV;
	} else if (d->sectors) {
		*why = "second DISK frame";
		ret = -EBADMSG;
	} else if (!sectors || sectors & (PAGE_SIZE / SECTOR_SIZE - 1) ||
		   !is_power_of_2(region)) {
		*why = "DISK frame announces an impossible disk";
		ret = -EBADMSG;
	} else if (strcmp(name, d->name)) {
		*why = "the source sends another disk than this end receives (disk names differ)";
		ret = -EINVAL;
	} else if (sectors > bdev_nr_sectors(d->bdev)) {
		*why = "the destination disk is smaller than the source's";
		ret = -ENOSPC;
	}
	if (!ret)
		d->sectors = sectors;
	ack.error = cpu_to_le32(-ret);
	if (vmig_stream_send(st, VMIG_WIRE_DISK_ACK, &ack, sizeof(ack), 0, false) &&
	    !ret) {
		*why = "cannot answer the source";
		ret = -EPIPE;
	}
	return ret;
}

/* Write @bytes from the receive buffer at @sector. */
static int vmig_disk_write(struct vmig_disk *d, sector_t sector, u32 bytes)
{
	unsigned int i, n = DIV_ROUND_UP(bytes, PAGE_SIZE);
	struct bio *bio;
	int ret;

	bio = bio_alloc(d->bdev, n, REQ_OP_WRITE, GFP_KERNEL);
	bio->bi_iter.bi_sector = sector;
	for (i = 0; i < n; i++)
		__bio_add_page(bio, d->buf[i], min_t(u32, bytes - i * PAGE_SIZE, PAGE_SIZE), 0);
	ret = submit_bio_wait(bio);
	bio_put(bio);
	return ret;
}

/**
 * vmig_disk_recv_blocks() - check a BLOCKS frame and write it
 * @d: the destination's disk, or NULL when it was given none
 * @st: the stream, positioned after the frame header
 * @len: the frame's payload length
 * @why: out: static text on failure
 *
 * Nothing is written unless the whole frame is inside the announced disk.
 *
 * Context: the session's worker.
 * Return: 0 or a negative errno.
 */
int vmig_disk_recv_blocks(struct vmig_disk *d, struct vmig_stream *st, u32 len,
			  const char **why)
{
	struct vmig_wire_blocks b;
	u32 count, bytes, i, n;
	u64 sector;
	int ret;

	if (!d || !d->sectors) {
		*why = "BLOCKS frame before the disk was announced";
		return -EBADMSG;
	}
	if (len < sizeof(b)) {
		*why = "BLOCKS frame too short";
		return -EBADMSG;
	}
	ret = vmig_stream_recv(st, &b, sizeof(b));
	if (ret)
		return ret;
	sector = le64_to_cpu(b.sector);
	count = le32_to_cpu(b.count);
	if (b.flags) {
		*why = "BLOCKS frame has unknown flags";
		return -EBADMSG;
	}
	if (!count || count > VMIG_WIRE_MAX_BLOCKS) {
		*why = "BLOCKS frame has an impossible sector count";
		return -EBADMSG;
	}
	if (sector >= d->sectors || count > d->sectors - sector) {
		*why = "BLOCKS frame lies outside the announced disk";
		return -EBADMSG;
	}
	bytes = count << SECTOR_SHIFT;
	if (len - sizeof(b) != bytes) {
		*why = "BLOCKS frame length does not match its sector count";
		return -EBADMSG;
	}
	for (i = 0; i < bytes; i += n) {
		void *p = kmap_local_page(d->buf[i >> PAGE_SHIFT]);

		n = min_t(u32, bytes - i, PAGE_SIZE);
		ret = vmig_stream_recv(st, p, n);
		kunmap_local(p);
		if (ret)
			return ret;
	}
	ret = vmig_disk_write(d, sector, bytes);
	if (ret) {
		*why = "writing the destination disk failed";
		return ret;
	}
	d->sent += bytes;
	return 0;
}

/**
 * vmig_disk_finish() - make the received disk durable before the ACK
 * @d: the destination's disk, or NULL
 * @why: out: static text on failure
 *
 * Return: 0, or a negative errno when the source announced no disk
 * although this end expected one, or the flush failed.
 */
int vmig_disk_finish(struct vmig_disk *d, const char **why)
{
	int ret;

	if (!d)
		return 0;
	if (!d->sectors) {
		*why = "the source sent no disk, but this end expected one";
		return -ENODEV;
	}
	ret = blkdev_issue_flush(d->bdev);
	if (ret)
		*why = "flushing the destination disk failed";
	/*
	 * A VMM that opened the device already (QEMU in -incoming, cache=
	 * writeback) reads through its page cache: nothing there may predate
	 * the blocks written beneath it.
	 */
	invalidate_bdev(d->bdev);
	return ret;
}
