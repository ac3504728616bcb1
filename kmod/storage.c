// SPDX-License-Identifier: GPL-2.0
/*
 * The storage move engine: one session per move, run by a worker kthread.
 *
 * storage-move-start checks the request (the device is a device-mapper
 * device, the destination an unused block device at least as large) and
 * creates a session of role "storage". The caller then loads a vmig-track
 * table naming the destination into the device (blktrack.c); the worker
 * waits for it, attaches to its tracker (every region dirty) and copies
 * dirty regions in passes, each region under a claim so that no write is
 * lost to the copier race. After each pass it publishes progress; once
 * the regions still dirty can be copied within the downtime target at the
 * copy rate measured so far, it suspends the device's I/O internally,
 * copies them, flushes the destination and switches the tracker to
 * redirect all I/O there before resuming: the session is then done, and
 * the caller replaces the table with a plain linear one over the
 * destination at leisure.
 *
 * A failure or cancel before that leaves the device running on its source
 * (the tracker keeps passing I/O through); the caller restores the
 * original table. Documentation/storage.rst has the whole protocol.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <net/netlink.h>

#include "blktrack.h"
#include "fault.h"
#include "netlink.h"
#include "session.h"
#include "storage.h"

/* How long the caller has to load the vmig-track table. */
#define VMIG_STORAGE_TABLE_WAIT		(30 * HZ)
/*
 * The copy buffer: what one batch of reads, then writes, carries, in
 * flight together. A claim takes as many dirty regions as it holds.
 */
#define VMIG_STORAGE_BUF		SZ_4M
#define VMIG_STORAGE_BUF_PAGES		(VMIG_STORAGE_BUF >> PAGE_SHIFT)
/* The widest claim: writes anywhere in it wait for the claim's copy. */
#define VMIG_STORAGE_SPAN		SZ_64M
#define VMIG_STORAGE_SPAN_BITS		(VMIG_STORAGE_SPAN >> PAGE_SHIFT)
/* Largest bio of the copy. */
#define VMIG_STORAGE_BIO_PAGES		BIO_MAX_VECS
/* Switchover attempts refused because someone else suspended the device. */
#define VMIG_STORAGE_QUIESCE_TRIES	50

/**
 * struct vmig_move - one storage move, owned by its worker
 * @s: the session, which owns the move (its priv, freed by its release)
 *	and so outlives it
 * @t: the device's tracker once its table is live (one reference)
 * @attached: @t is attached to this move
 * @g: @t's geometry
 * @md: the device-mapper device
 * @dst: the destination, as checked at the start
 * @sectors: the device's size at the start
 * @req: the request (paths are not kept)
 * @src_bdev: source while the device is quiesced
 * @dst_bdev: destination while the device is quiesced
 * @why: static text explaining a failure
 * @st: progress, published after each pass
 * @copied: bytes copied so far
 * @copy_ns: time spent copying them (claims included)
 * @claims: claims (spans) copied by the latest pass
 * @claims_ns: time they took
 * @quiesce_tries: switchovers refused so far
 * @span_dirty: which regions of the claim being copied were dirty
 * @nr_ext: extents in the batch being copied
 * @ext: the batch: runs of sectors, each at its place in @pages
 * @pages: the copy buffer
 */
struct vmig_move {
	struct vmig_session *s;
	struct vmig_track *t;
	bool attached;
	struct vmig_track_geom g;
	dev_t md;
	dev_t dst;
	sector_t sectors;
	struct vmig_storage_req req;
	struct block_device *src_bdev;
	struct block_device *dst_bdev;
	const char *why;
	struct vmig_stats st;
	u64 copied;
	u64 copy_ns;
	u64 claims;
	u64 claims_ns;
	unsigned int quiesce_tries;
	/* A region is at least a page. */
	DECLARE_BITMAP(span_dirty, VMIG_STORAGE_SPAN_BITS);
	unsigned int nr_ext;
	struct vmig_move_ext {
		sector_t pos;
		unsigned int sectors;
		unsigned int page;
	} ext[VMIG_STORAGE_BUF_PAGES];
	struct page *pages[VMIG_STORAGE_BUF_PAGES];
};

static const struct vmig_session_ops vmig_storage_ops;

static void vmig_move_free(struct vmig_move *m)
{
	unsigned int i;

	for (i = 0; i < VMIG_STORAGE_BUF_PAGES; i++)
		if (m->pages[i])
			__free_page(m->pages[i]);
	kvfree(m);
}

/*
 * The device to move: a device-mapper device with a table. Sets *md and
 * *sectors; on failure says why in extack.
 */
static int vmig_storage_check_dev(const char *path, dev_t *md,
				  sector_t *sectors,
				  struct netlink_ext_ack *extack)
{
	struct mapped_device *dm;
	int ret;

	ret = lookup_bdev(path, md);
	if (ret == -ENOENT) {
		NL_SET_ERR_MSG_MOD(extack, "device does not exist");
		return ret;
	}
	if (ret) {
		NL_SET_ERR_MSG_MOD(extack, "device is not a block device");
		return ret;
	}
	dm = dm_get_md(*md);
	if (!dm) {
		NL_SET_ERR_MSG_MOD(extack, "device is not a device-mapper device");
		return -EINVAL;
	}
	*sectors = get_capacity(dm_disk(dm));
	dm_put(dm);
	if (!*sectors) {
		NL_SET_ERR_MSG_MOD(extack, "device has no table (size 0)");
		return -ENXIO;
	}
	return 0;
}

/*
 * The destination: a block device other than the device, that nobody
 * holds (an exclusive open succeeds; it is closed again, the vmig-track
 * table claims it next) and at least as large as the device.
 */
static int vmig_storage_check_dest(const char *path, dev_t md,
				   sector_t sectors, dev_t *dst,
				   struct netlink_ext_ack *extack)
{
	struct file *f;
	sector_t size;
	int ret;

	ret = lookup_bdev(path, dst);
	if (ret == -ENOENT) {
		NL_SET_ERR_MSG_MOD(extack, "destination does not exist");
		return ret;
	}
	if (ret) {
		NL_SET_ERR_MSG_MOD(extack, "destination is not a block device");
		return ret;
	}
	if (*dst == md) {
		NL_SET_ERR_MSG_MOD(extack, "destination is the device itself");
		return -EINVAL;
	}
	f = filp_open(path, O_RDWR | O_EXCL | O_LARGEFILE, 0);
	if (IS_ERR(f)) {
		ret = PTR_ERR(f);
		if (ret == -EBUSY)
			NL_SET_ERR_MSG_MOD(extack,
					   "destination is in use (it cannot be opened exclusively)");
		else
			NL_SET_ERR_MSG_MOD(extack, "destination cannot be opened for writing");
		return ret;
	}
	size = i_size_read(f->f_mapping->host) >> SECTOR_SHIFT;
	filp_close(f, NULL);
	if (size < sectors) {
		NL_SET_ERR_MSG_MOD(extack, "destination is smaller than the device");
		return -ENOSPC;
	}
	return 0;
}

/**
 * vmig_storage_create() - check a storage-move-start request
 * @net: the caller's namespace
 * @req: the request
 * @extack: why a request is refused
 * @bad: out: which part of @req a refusal is about
 *
 * Nothing changes on any device. The session is listed but not started.
 *
 * Context: process context of the requester (the destination is opened
 * and closed in it).
 * Return: the move, to be started or discarded, or an ERR_PTR.
 */
struct vmig_move *vmig_storage_create(struct net *net,
				      const struct vmig_storage_req *req,
				      struct netlink_ext_ack *extack,
				      enum vmig_storage_bad *bad)
{
	struct vmig_move *m;
	unsigned int i;
	int ret;

	*bad = VMIG_STORAGE_BAD_NONE;
	m = kvzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	m->req = *req;
	m->req.dev = NULL;
	m->req.dest = NULL;

	ret = vmig_storage_check_dev(req->dev, &m->md, &m->sectors, extack);
	if (ret) {
		*bad = VMIG_STORAGE_BAD_DEV;
		goto err_free;
	}
	ret = vmig_storage_check_dest(req->dest, m->md, m->sectors, &m->dst,
				      extack);
	if (ret) {
		*bad = VMIG_STORAGE_BAD_DEST;
		goto err_free;
	}
	for (i = 0; i < VMIG_STORAGE_BUF_PAGES; i++) {
		m->pages[i] = alloc_page(GFP_KERNEL);
		if (!m->pages[i]) {
			ret = -ENOMEM;
			goto err_free;
		}
	}
	m->s = vmig_session_create(net, &vmig_storage_ops);
	if (IS_ERR(m->s)) {
		ret = PTR_ERR(m->s);
		goto err_free;
	}
	/* The session owns the move from here: its release frees it. */
	m->s->priv = m;
	pr_debug("move %u created\n", m->s->id);
	return m;

err_free:
	vmig_move_free(m);
	return ERR_PTR(ret);
}

/**
 * vmig_storage_id() - the session id of a move
 * @m: a move not yet started
 *
 * Return: the id.
 */
u32 vmig_storage_id(const struct vmig_move *m)
{
	return m->s->id;
}

/**
 * vmig_storage_discard() - drop a move that was never started
 * @m: the move; freed
 */
void vmig_storage_discard(struct vmig_move *m)
{
	struct vmig_session *s = m->s;

	vmig_session_discard(s);
	vmig_session_put(s);
}

/*
 * The I/O of one phase of a batch (all reads, then all writes), in flight
 * together: a device with latency then costs one round trip per batch,
 * not one per dirty run.
 */
struct vmig_move_io {
	atomic_t pending;
	blk_status_t status;
	struct completion done;
};

static void vmig_move_io_put(struct vmig_move_io *io)
{
	if (atomic_dec_and_test(&io->pending))
		complete(&io->done);
}

static void vmig_move_endio(struct bio *bio)
{
	struct vmig_move_io *io = bio->bi_private;

	if (bio->bi_status)
		cmpxchg(&io->status, BLK_STS_OK, bio->bi_status);
	bio_put(bio);
	vmig_move_io_put(io);
}

/* Read (or write) every extent of the batch at base + its sector; wait. */
static int vmig_move_batch_rw(struct vmig_move *m, struct block_device *bdev,
			      blk_opf_t opf, sector_t base)
{
	struct vmig_move_io io;
	struct blk_plug plug;
	unsigned int e, i, npages, bytes;
	struct bio *bio;

	atomic_set(&io.pending, 1);
	io.status = BLK_STS_OK;
	init_completion(&io.done);
	blk_start_plug(&plug);
	for (e = 0; e < m->nr_ext; e++) {
		bytes = m->ext[e].sectors << SECTOR_SHIFT;
		npages = DIV_ROUND_UP(bytes, PAGE_SIZE);
		bio = bio_alloc(bdev, npages, opf, GFP_KERNEL);
		bio->bi_iter.bi_sector = base + m->ext[e].pos;
		bio->bi_private = &io;
		bio->bi_end_io = vmig_move_endio;
		for (i = 0; i < npages; i++)
			__bio_add_page(bio, m->pages[m->ext[e].page + i],
				       min_t(unsigned int, PAGE_SIZE, bytes - i * PAGE_SIZE), 0);
		atomic_inc(&io.pending);
		submit_bio(bio);
	}
	blk_finish_plug(&plug);
	vmig_move_io_put(&io);
	wait_for_completion_io(&io.done);
	return blk_status_to_errno(io.status);
}

/*
 * Test only (fault_inject): whatever the batch holds of region 5 becomes
 * zeros in the buffer, as if the copier had lost the region's writes.
 */
static void vmig_move_lose_region(struct vmig_move *m)
{
	sector_t r5 = (sector_t)5 << m->g.region_shift;
	sector_t r5_end = r5 + (1U << m->g.region_shift);
	unsigned int e;
	sector_t s;

	for (e = 0; e < m->nr_ext; e++)
		for (s = max(m->ext[e].pos, r5);
		     s < min_t(sector_t, m->ext[e].pos + m->ext[e].sectors, r5_end);
		     s += PAGE_SIZE >> SECTOR_SHIFT)
			memzero_page(m->pages[m->ext[e].page +
				     ((s - m->ext[e].pos) >> (PAGE_SHIFT - SECTOR_SHIFT))],
				     0, PAGE_SIZE);
}

/* Copy the batch from source to destination, and empty it. */
static int vmig_move_batch_copy(struct vmig_move *m, struct block_device *src,
				struct block_device *dst)
{
	unsigned int e;
	int ret;

	if (!m->nr_ext)
		return 0;
	ret = vmig_move_batch_rw(m, src, REQ_OP_READ, m->g.src_offset);
	if (ret) {
		m->why = "reading the source failed";
		return ret;
	}
	if (vmig_fault(VMIG_FAULT_LOSE_MOVE_REGION))
		vmig_move_lose_region(m);
	ret = vmig_move_batch_rw(m, dst, REQ_OP_WRITE, 0);
	if (ret) {
		m->why = "writing the destination failed";
		return ret;
	}
	for (e = 0; e < m->nr_ext; e++)
		m->copied += (u64)m->ext[e].sectors << SECTOR_SHIFT;
	m->nr_ext = 0;
	return 0;
}

/*
 * Copy the claimed regions that were dirty (m->span_dirty, from region
 * first on, span regions), in batches of at most the buffer: many small
 * regions share one, a region larger than the buffer takes several.
 */
static int vmig_move_copy(struct vmig_move *m, struct block_device *src,
			  struct block_device *dst, unsigned long first,
			  unsigned long span)
{
	const unsigned int page_sectors = PAGE_SIZE >> SECTOR_SHIFT;
	unsigned int shift = m->g.region_shift, used = 0, n;
	unsigned long rs = 0, re;
	sector_t pos, end;
	int ret;

	m->nr_ext = 0;
	for (;;) {
		rs = find_next_bit(m->span_dirty, span, rs);
		if (rs >= span)
			break;
		re = find_next_zero_bit(m->span_dirty, span, rs);
		pos = (sector_t)(first + rs) << shift;
		end = min_t(sector_t, (sector_t)(first + re) << shift, m->g.len);
		while (pos < end) {
			n = min_t(sector_t, end - pos,
				  min(VMIG_STORAGE_BUF_PAGES - used,
				      VMIG_STORAGE_BIO_PAGES) * page_sectors);
			m->ext[m->nr_ext].pos = pos;
			m->ext[m->nr_ext].sectors = n;
			m->ext[m->nr_ext].page = used;
			m->nr_ext++;
			used += DIV_ROUND_UP(n, page_sectors);
			pos += n;
			if (used == VMIG_STORAGE_BUF_PAGES) {
				ret = vmig_move_batch_copy(m, src, dst);
				if (ret)
					return ret;
				used = 0;
			}
		}
		rs = re;
	}
	return vmig_move_batch_copy(m, src, dst);
}

/* Regions one claim may span, and dirty regions it may take. */
static unsigned long vmig_move_span_max(struct vmig_move *m)
{
	return max(1UL, (VMIG_STORAGE_SPAN >> SECTOR_SHIFT) >> m->g.region_shift);
}

static unsigned long vmig_move_claim_max(struct vmig_move *m)
{
	return max(1UL, (VMIG_STORAGE_BUF >> SECTOR_SHIFT) >> m->g.region_shift);
}

/* Regions a claim starting at @first may span. */
static unsigned long vmig_move_claim_nr(struct vmig_move *m, unsigned long first)
{
	return min(vmig_move_span_max(m), m->g.nr_regions - first);
}

/*
 * One pass: copy every region dirty when the sweep reaches it, claim by
 * claim. Writes behind the sweep are left for the next pass.
 * A quiesced pass (at switchover) uses the devices the switchover holds
 * and cannot be cancelled; otherwise the tracker's devices are held per
 * claim, so that a table reload is not kept waiting for a whole pass.
 */
static int vmig_move_pass(struct vmig_move *m, bool quiesced)
{
	unsigned long first, nr, span, from = 0;
	struct block_device *src, *dst;
	ktime_t t0;
	u64 ns;
	int ret;

	if (!quiesced) {
		m->claims = 0;
		m->claims_ns = 0;
	}
	for (;;) {
		first = vmig_track_next_dirty(m->t, from, &nr, 1);
		if (!nr)
			return 0;
		if (quiesced) {
			src = m->src_bdev;
			dst = m->dst_bdev;
		} else {
			if (vmig_session_cancelled(m->s))
				return -ECANCELED;
			ret = vmig_track_io_begin(m->t, &src, &dst);
			if (ret) {
				m->why = "the vmig-track table was replaced or removed";
				return ret;
			}
		}
		t0 = ktime_get();
		span = vmig_track_claim(m->t, first, vmig_move_claim_nr(m, first),
					vmig_move_claim_max(m), m->span_dirty);
		ret = vmig_move_copy(m, src, dst, first, span);
		vmig_track_release(m->t, !ret);
		ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
		m->copy_ns += ns;
		if (!quiesced) {
			m->claims++;
			m->claims_ns += ns;
		}
		if (!quiesced)
			vmig_track_io_end(m->t);
		if (ret)
			return ret;
		from = first + span;
		cond_resched();
	}
}

static u64 vmig_move_dirty_bytes(struct vmig_move *m)
{
	return (u64)vmig_track_dirty_count(m->t) <<
	       (m->g.region_shift + SECTOR_SHIFT);
}

/* Claims the next pass would make, if nothing is written meanwhile. */
static u64 vmig_move_dirty_runs(struct vmig_move *m)
{
	unsigned long first, nr, from = 0;
	u64 runs = 0;

	for (;;) {
		first = vmig_track_next_dirty(m->t, from, &nr, 1);
		if (!nr)
			return runs;
		runs++;
		from = first + vmig_track_claim_span(m->t, first,
				vmig_move_claim_nr(m, first), vmig_move_claim_max(m));
	}
}

/*
 * Can what is dirty now be copied within the downtime target? Two bounds,
 * the larger wins: bytes at the copy rate measured so far, and claims at
 * the time a claim took in the latest pass. The second matters on a device
 * with high latency: regions written at random are copied one short claim
 * each, far below the rate a first, sequential pass measures.
 */
static bool vmig_move_fits(struct vmig_move *m)
{
	u64 limit = (u64)m->req.downtime_ms * NSEC_PER_MSEC;
	u64 dirty = vmig_move_dirty_bytes(m);

	if (!dirty)
		return true;
	if (!m->copied || !m->claims)
		return false;
	/* At the copy rate measured so far, claims and all. */
	if (mul_u64_u64_div_u64(dirty, m->copy_ns, m->copied) > limit)
		return false;
	return mul_u64_u64_div_u64(vmig_move_dirty_runs(m), m->claims_ns,
				   m->claims) <= limit;
}

/*
 * Publish progress after a pass that started at t0, when newly_dirty
 * read dirty0 and copied was copied0.
 */
static void vmig_move_publish(struct vmig_move *m, ktime_t t0, u64 dirty0,
			      u64 copied0)
{
	u64 ns = max_t(u64, ktime_to_ns(ktime_sub(ktime_get(), t0)), 1);
	u64 region = 1ULL << (m->g.region_shift + SECTOR_SHIFT);
	u64 dirtied = (vmig_track_newly_dirty(m->t) - dirty0) * region;

	m->st.sent_bytes = m->copied;
	m->st.sent_pages = m->copied >> PAGE_SHIFT;
	m->st.dirty_pages = vmig_move_dirty_bytes(m) >> PAGE_SHIFT;
	m->st.dirty_rate = mul_u64_u64_div_u64(dirtied, NSEC_PER_SEC, ns);
	m->st.bandwidth = mul_u64_u64_div_u64(m->copied - copied0, NSEC_PER_SEC, ns);
	vmig_session_update(m->s, &m->st);
}

/*
 * Wait for the caller's vmig-track table to go live and attach to it.
 */
static int vmig_move_attach(struct vmig_move *m)
{
	unsigned long deadline = jiffies + VMIG_STORAGE_TABLE_WAIT;
	int ret;

	while (!(m->t = vmig_track_get(m->md))) {
		if (vmig_session_cancelled(m->s))
			return -ECANCELED;
		if (time_after(jiffies, deadline)) {
			m->why = "no vmig-track table went live in the device within 30 s";
			return -ETIMEDOUT;
		}
		wait_event_interruptible_timeout(m->s->wq, vmig_session_cancelled(m->s),
						 HZ / 20);
	}
	vmig_track_geom(m->t, &m->g);
	if (m->g.dst != m->dst || m->g.len != m->sectors ||
	    (1ULL << (m->g.region_shift + SECTOR_SHIFT)) != m->req.granularity) {
		m->why =
		"the vmig-track table does not match the move (destination, size or granularity)";
		return -EINVAL;
	}
	ret = vmig_track_attach(m->t, m->req.flags & VMIG_STORAGE_FLAGS_SYNC_WRITES ?
				VMIG_TRACK_USE_LOCAL_MIRROR : VMIG_TRACK_USE_LOCAL);
	if (ret == -EBUSY)
		m->why = "another move is using this device";
	else if (ret == -EALREADY)
		m->why = "the device was switched to its destination already";
	else if (ret)
		m->why = "the vmig-track table names no destination";
	m->attached = !ret;
	return ret;
}

/*
 * Quiesce the device, copy what is left, flush the destination and
 * redirect the device's I/O there. Any failure resumes the device on its
 * source. Return: 0, -EAGAIN to try again after another pass, or an error.
 */
static int vmig_move_switchover(struct vmig_move *m)
{
	ktime_t t0;
	int ret;

	ret = vmig_track_io_begin(m->t, &m->src_bdev, &m->dst_bdev);
	if (ret) {
		m->why = "the vmig-track table was replaced or removed";
		return ret;
	}
	vmig_session_set_state(m->s, VMIG_STATE_SWITCHOVER, 0, NULL);
	t0 = ktime_get();
	ret = vmig_track_quiesce(m->t);
	if (ret) {
		vmig_track_io_end(m->t);
		if (ret == -EAGAIN)
			vmig_session_set_state(m->s, VMIG_STATE_PRECOPY, 0, NULL);
		else
			m->why = "the device is going away";
		return ret;
	}
	ret = vmig_move_pass(m, true);
	/*
	 * The guest may have seen a flush complete on the source for writes
	 * that so far are only in the destination's volatile cache: they
	 * must be durable there before its next write can be.
	 */
	if (!ret && !vmig_fault(VMIG_FAULT_SKIP_MOVE_FLUSH)) {
		ret = blkdev_issue_flush(m->dst_bdev);
		if (ret)
			m->why = "flushing the destination failed";
	}
	if (!ret && vmig_track_mirror_failed(m->t)) {
		m->why = "writing the destination failed";
		ret = -EIO;
	}
	vmig_track_unquiesce(m->t, !ret);
	m->st.downtime_us = ktime_us_delta(ktime_get(), t0);
	vmig_track_io_end(m->t);
	return ret;
}

/* The move from attaching to the table to the end. */
static int vmig_move_run(struct vmig_move *m)
{
	u64 dirty0, copied0;
	ktime_t t0;
	int ret;

	ret = vmig_move_attach(m);
	if (ret)
		return ret;
	m->st.ram_bytes = (u64)m->g.len << SECTOR_SHIFT;
	vmig_session_set_state(m->s, VMIG_STATE_PRECOPY, 0, NULL);

	for (;;) {
		t0 = ktime_get();
		dirty0 = vmig_track_newly_dirty(m->t);
		copied0 = m->copied;
		ret = vmig_move_pass(m, false);
		if (ret)
			return ret;
		m->st.iteration++;
		if (vmig_track_mirror_failed(m->t)) {
			m->why = "writing the destination failed";
			return -EIO;
		}
		vmig_move_publish(m, t0, dirty0, copied0);

		if (vmig_move_fits(m)) {
			ret = vmig_move_switchover(m);
			if (ret != -EAGAIN)
				return ret;
			if (++m->quiesce_tries >= VMIG_STORAGE_QUIESCE_TRIES) {
				m->why = "the device stayed suspended by someone else";
				return -EBUSY;
			}
			/* Interruptible only so that the wait does not count as load. */
			wait_event_interruptible_timeout(m->s->wq,
							 vmig_session_cancelled(m->s),
							 HZ / 10);
			continue;
		}
		if (m->st.iteration >= m->req.max_iterations) {
			m->why = "the guest writes faster than the copy can converge";
			return -EAGAIN;
		}
	}
}

/* The move's job (struct vmig_session_ops.run). Context: the worker. */
static int vmig_storage_run(struct vmig_session *s, const char **why, bool *unknown)
{
	struct vmig_move *m = s->priv;
	int ret;

	ret = vmig_move_run(m);
	*why = m->why;
	return ret;
}

/*
 * Frees the move (struct vmig_session_ops.release): after its run, the
 * tracker is let go before the outcome is told, so a controller that reads
 * "done" may replace the table at once; or a move that never started.
 */
static void vmig_storage_release(struct vmig_session *s)
{
	struct vmig_move *m = s->priv;

	if (m->attached)
		vmig_track_detach(m->t);
	vmig_track_put(m->t);
	spin_lock(&s->lock);
	s->stats = m->st;
	spin_unlock(&s->lock);
	pr_debug("move %u destroyed\n", s->id);
	vmig_move_free(m);
}

static const struct vmig_session_ops vmig_storage_ops = {
	.role = VMIG_ROLE_STORAGE,
	.name = "disk",
	.run = vmig_storage_run,
	.release = vmig_storage_release,
	.outlives_controller = true,
};

/**
 * vmig_storage_start() - run a move
 * @m: a move from vmig_storage_create(); owned by its session, which the
 *	worker runs from now on, or discarded on failure
 *
 * Return: 0 or a negative errno.
 */
int vmig_storage_start(struct vmig_move *m)
{
	struct vmig_session *s = m->s;
	int ret;

	ret = vmig_session_start(s);
	if (ret) {
		vmig_storage_discard(m);
		return ret;
	}
	/* The worker holds its own reference; the table another. */
	vmig_session_put(s);
	return 0;
}
