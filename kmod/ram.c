// SPDX-License-Identifier: GPL-2.0
/*
 * A VMM's guest RAM backend: one shared file mapping in the VMM's address
 * space (QEMU: -object memory-backend-file,mem-path=...,share=on).
 *
 * Why a file mapping: KVM's dirty log sees only what vCPUs and KVM itself
 * write. A real VMM also writes guest RAM from userspace (QEMU's device
 * models: virtio-net RX buffers and used rings, virtio-blk reads) and from
 * the kernel on its behalf (vhost-net copies into the VMM's mm), and other
 * processes may map the same file (vhost-user). All of these write through
 * page-table entries that map the backend's page cache. folio_mkclean()
 * write-protects and cleans every such entry of a folio, in every process,
 * atomically per entry under its page-table lock, and reports whether any
 * was dirty or writable: a get-and-clear of "written since last time" for
 * all of them at once. A later write faults and makes the entry writable
 * and dirty again. The MMU notifier it raises makes KVM drop its own
 * mapping of the page, so a vCPU's next write faults through the host
 * page table too. Together with KVM's dirty log (which also covers KVM's
 * writes through its own kernel mappings, e.g. kvmclock pages), every
 * writer that goes through memory mappings is seen.
 *
 * A dirty entry that goes away before the harvest (swap-out, hole punch,
 * munmap) leaves nothing for folio_mkclean() to find: an MMU notifier on
 * the VMM's mm marks such pages written instead. In another process's mm
 * (a vhost-user backend) the same would go unseen: such a process must
 * keep the backend mapped until the migration ends.
 *
 * Not seen: device DMA into pages pinned before the harvest (O_DIRECT disk
 * I/O, VFIO, io_uring fixed buffers) and write(2) to the backend file.
 * vmigctl refuses VMMs configured that way (Documentation/design.rst).
 *
 * Cost per harvest: one page-cache walk of the backend and one rmap walk
 * plus one MMU-notifier invalidation per resident folio, i.e. proportional
 * to guest RAM; TLB flushes only for pages that were written.
 *
 * Pages are read from the backend's page cache, not through the VMM's
 * page tables: reading through them would map never-touched pages
 * writable (a shared tmpfs mapping maps writable even on a read fault),
 * and the next harvest would report every one of them as written.
 */
#include <linux/bitmap.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/rmap.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <net/netlink.h>

#include "dirty.h"
#include "ram.h"

/* The bitmap API counts bits in an unsigned int: 2^31 pages, 8 TiB. */
#define VMIG_RAM_MAX_PAGES	BIT_ULL(31)

/*
 * Check that [hva, hva + size) is one shared mapping of one file, possibly
 * split into several VMAs, at consecutive file offsets; take the file.
 */
static int vmig_ram_find(struct vmig_ram *r, struct mm_struct *mm, u64 hva,
			 u64 size, bool source, struct netlink_ext_ack *extack)
{
	struct vm_area_struct *vma;
	struct file *file = NULL;
	u64 addr = hva;
	int ret = 0;

	mmap_read_lock(mm);
	while (addr < hva + size) {
		pgoff_t want;

		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr) {
			NL_SET_ERR_MSG_MOD(extack, "ram-hva..ram-size is not mapped in the VMM");
			ret = -EFAULT;
			break;
		}
		if (!vma->vm_file || !(vma->vm_flags & VM_SHARED)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "guest RAM is not a shared file mapping (QEMU: memory-backend-file with share=on)");
			ret = -EINVAL;
			break;
		}
		if (is_vm_hugetlb_page(vma) || (vma->vm_flags & (VM_PFNMAP | VM_IO))) {
			NL_SET_ERR_MSG_MOD(extack,
					   "guest RAM on hugetlbfs or device memory is not supported");
			ret = -EOPNOTSUPP;
			break;
		}
		/*
		 * On a disk filesystem writeback cleans the page-table entries
		 * too (folio_clear_dirty_for_io()), taking the dirty bits the
		 * harvest reads; tmpfs has no writeback.
		 */
		if (file_inode(vma->vm_file)->i_sb->s_magic != TMPFS_MAGIC) {
			NL_SET_ERR_MSG_MOD(extack,
					   "guest RAM must be a file on tmpfs (e.g. /dev/shm): writeback of a disk file hides writes");
			ret = -EOPNOTSUPP;
			break;
		}
		if (!file) {
			file = vma->vm_file;
			r->pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
		}
		want = r->pgoff + ((addr - hva) >> PAGE_SHIFT);
		if (vma->vm_file->f_mapping != file->f_mapping ||
		    vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT) != want) {
			NL_SET_ERR_MSG_MOD(extack,
					   "ram-hva..ram-size spans more than one mapping of the backend file");
			ret = -EINVAL;
			break;
		}
		addr = vma->vm_end;
	}
	if (!ret && source)
		r->file = get_file(file);
	mmap_read_unlock(mm);
	return ret;
}

/*
 * An invalidation in the VMM's mm has ended. Changes of protection (our
 * own folio_mkclean(), NUMA hinting, soft-dirty) keep the entries and
 * their dirty bits; anything else may have dropped an entry, so its pages
 * count as written. At the end, not the start: until the entries are gone
 * a writer may still write through them, after a harvest in between.
 * Context: any, may not sleep.
 */
static void vmig_ram_mn_end(struct mmu_notifier *mn,
			    const struct mmu_notifier_range *range)
{
	struct vmig_ram *r = container_of(mn, struct vmig_ram, mn);
	u64 start = max_t(u64, range->start, r->slot.hva);
	u64 end = min_t(u64, range->end, r->slot.hva + (r->slot.npages << PAGE_SHIFT));

	switch (range->event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		return;
	default:
		break;
	}
	if (start >= end)
		return;
	spin_lock(&r->zap_lock);
	bitmap_set(r->zapped, (start - r->slot.hva) >> PAGE_SHIFT,
		   DIV_ROUND_UP(end - start, PAGE_SIZE));
	spin_unlock(&r->zap_lock);
}

static const struct mmu_notifier_ops vmig_ram_mn_ops = {
	.invalidate_range_end = vmig_ram_mn_end,
};

/* A bitmap of @n bits; large ones come from vmalloc. Free with kvfree(). */
static unsigned long *vmig_ram_bitmap(u64 n)
{
	return kvcalloc(BITS_TO_LONGS(n), sizeof(unsigned long), GFP_KERNEL);
}

/**
 * vmig_ram_create() - take hold of a VMM's RAM backend
 * @mm: the VMM's address space (a reference held by the caller)
 * @hva: start of the backend mapping in @mm, page aligned
 * @size: its length in bytes, page aligned
 * @source: the sending end, which tracks writes; every page starts dirty
 * @extack: where to say why the backend is refused
 *
 * Context: process context (takes @mm's mmap lock).
 * Return: the backend, owned by the caller (vmig_ram_destroy()), or an
 * ERR_PTR.
 */
struct vmig_ram *vmig_ram_create(struct mm_struct *mm, u64 hva, u64 size,
				 bool source, struct netlink_ext_ack *extack)
{
	struct vmig_ram *r;
	u64 npages = size >> PAGE_SHIFT;
	int ret;

	if (!size || !PAGE_ALIGNED(hva) || !PAGE_ALIGNED(size) ||
	    npages > VMIG_RAM_MAX_PAGES || hva + size < hva) {
		NL_SET_ERR_MSG_MOD(extack,
				   "ram-hva and ram-size must be page aligned, non-empty and at most 8 TiB");
		return ERR_PTR(-EINVAL);
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return ERR_PTR(-ENOMEM);
	r->slot.hva = hva;
	r->slot.npages = npages;
	ret = vmig_ram_find(r, mm, hva, size, source, extack);
	if (ret)
		goto err_free;
	if (source) {
		r->bitmap = vmig_ram_bitmap(npages);
		r->harvest = vmig_ram_bitmap(npages);
		r->zapped = vmig_ram_bitmap(npages);
		if (!r->bitmap || !r->harvest || !r->zapped) {
			ret = -ENOMEM;
			goto err_put_file;
		}
		bitmap_fill(r->bitmap, npages);
		spin_lock_init(&r->zap_lock);
		r->mn.ops = &vmig_ram_mn_ops;
		ret = mmu_notifier_register(&r->mn, mm);
		if (ret)
			goto err_put_file;
		r->mm = mm;
	}
	pr_debug("ram %llx created\n", hva);
	return r;

err_put_file:
	kvfree(r->zapped);
	kvfree(r->harvest);
	kvfree(r->bitmap);
	if (r->file)
		fput(r->file);
err_free:
	kfree(r);
	return ERR_PTR(ret);
}

/**
 * vmig_ram_destroy() - release what vmig_ram_create() took
 * @r: the backend; may be NULL
 *
 * Context: process context; sleeps (waits for notifier callbacks).
 */
void vmig_ram_destroy(struct vmig_ram *r)
{
	if (!r)
		return;
	pr_debug("ram %llx destroyed\n", r->slot.hva);
	/* Waits for running callbacks; holds the mm's mm_count itself. */
	if (r->mm)
		mmu_notifier_unregister(&r->mn, r->mm);
	kvfree(r->zapped);
	kvfree(r->harvest);
	kvfree(r->bitmap);
	if (r->file)
		fput(r->file);
	kfree(r);
}

/* Mark the backend pages of file pages [index, index + n) in r->harvest. */
static void vmig_ram_mark(struct vmig_ram *r, pgoff_t index, unsigned long n)
{
	pgoff_t first = max(index, r->pgoff);
	pgoff_t end = min_t(u64, index + n, r->pgoff + r->slot.npages);

	if (first < end)
		bitmap_set(r->harvest, first - r->pgoff, end - first);
}

/*
 * Folio batches cleaned between two pauses of the worker while the guest
 * runs. Each folio_mkclean() invalidates KVM's mapping and flushes its
 * TLBs, kicking the running vCPUs: the first clean of a 256 MiB backend
 * (every page writable) kept a nested guest from running for 3.0-3.2 s in
 * a row; with a one-jiffy pause every 64 batches (960 folios) its longest
 * stall was 1.1 s, for the same total cost (bench/qemu-in-vm.sh).
 */
#define VMIG_RAM_CLEAN_SLICE	64

/*
 * Write-protect and clean every page-table entry mapping the backend's
 * resident folios; mark the folios any entry of which was dirty or
 * writable, i.e. written (or writable) since the previous clean. With
 * @running (the guest runs: pre-copy) pause now and then, so the vCPUs are
 * not held off for the whole walk; never inside the downtime.
 * Context: the worker; sleeps (folio locks, rmap walks).
 */
static void vmig_ram_clean(struct vmig_ram *r, bool running)
{
	struct address_space *mapping = r->file->f_mapping;
	pgoff_t index = r->pgoff, end = r->pgoff + r->slot.npages - 1;
	struct folio_batch fbatch;
	unsigned int i, batches = 0;

	folio_batch_init(&fbatch);
	while (filemap_get_folios(mapping, &index, end, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];
			int cleaned = 0;

			folio_lock(folio);
			/* Truncated meanwhile: no longer the backend's page. */
			if (folio->mapping == mapping)
				cleaned = folio_mkclean(folio);
			/*
			 * The entries' dirty bits were the folio's only record
			 * of the write (a read-faulted shmem folio is clean):
			 * keep it, as every caller of folio_mkclean() does, or
			 * reclaim could drop the written page.
			 */
			if (cleaned)
				folio_mark_dirty(folio);
			folio_unlock(folio);
			if (cleaned)
				vmig_ram_mark(r, folio->index, folio_nr_pages(folio));
		}
		folio_batch_release(&fbatch);
		if (running && !(++batches % VMIG_RAM_CLEAN_SLICE))
			schedule_timeout_uninterruptible(1);
		else
			cond_resched();
	}
}

/* Move the pages KVM logged inside the backend to r->harvest. */
static void vmig_ram_fold_kvm(struct vmig_ram *r, struct vmig_dirty *d)
{
	u64 rstart = r->slot.hva, rend = rstart + (r->slot.npages << PAGE_SHIFT);
	u32 i;

	for (i = 0; i < d->layout.nr_slots; i++) {
		const struct vmig_slot *s = &d->layout.slots[i];
		u64 start = max(s->hva, rstart);
		u64 end = min(s->hva + (s->npages << PAGE_SHIFT), rend);
		unsigned long *bm = d->bitmaps[i];
		unsigned long bit, last;

		if (!bm)
			continue;
		if (start < end) {
			bit = (start - s->hva) >> PAGE_SHIFT;
			last = (end - s->hva) >> PAGE_SHIFT;
			for_each_set_bit_from(bit, bm, last)
				set_bit((s->hva + ((u64)bit << PAGE_SHIFT) - rstart) >> PAGE_SHIFT,
					r->harvest);
		}
		/* Slot memory outside the backend is the VMM's to migrate. */
		bitmap_zero(bm, s->npages);
	}
}

/**
 * vmig_ram_harvest() - collect the backend pages written since last time
 * @r: a source backend
 * @d: KVM's dirty log of the same VM, started by this worker
 * @page_tables: also harvest writes through page tables (false only under
 *	test fault injection, to show that the check relying on it fails)
 * @running: the guest runs (pre-copy), so the clean pauses now and then
 *
 * Harvests KVM's dirty log (re-arming it), folds the pages it reports that
 * lie in the backend into @r, then cleans the backend's page-table entries.
 * Both are harvested before any page is read for sending, so a write
 * racing with a send is reported by the next harvest.
 *
 * Context: the worker that owns @d, entered in the VMM's mm.
 * Return: pages reported written by this harvest, or a negative errno.
 */
s64 vmig_ram_harvest(struct vmig_ram *r, struct vmig_dirty *d, bool page_tables,
		     bool running)
{
	ktime_t t0 = ktime_get(), t1;
	s64 ret, kvm;

	bitmap_zero(r->harvest, r->slot.npages);
	ret = vmig_dirty_harvest(d);
	if (ret < 0)
		return ret;
	vmig_ram_fold_kvm(r, d);
	spin_lock(&r->zap_lock);
	bitmap_or(r->harvest, r->harvest, r->zapped, r->slot.npages);
	bitmap_zero(r->zapped, r->slot.npages);
	spin_unlock(&r->zap_lock);
	kvm = bitmap_weight(r->harvest, r->slot.npages);
	t1 = ktime_get();
	if (page_tables)
		vmig_ram_clean(r, running);
	ret = bitmap_weight(r->harvest, r->slot.npages);
	/* The cost of each tracker, for the benchmark (bench/qemu-in-vm.sh). */
	pr_debug("ram %llx harvest: %llu pages: kvm and zapped %lld in %lld us, page tables +%lld in %lld us\n",
		 r->slot.hva, r->slot.npages, kvm, ktime_us_delta(t1, t0), ret - kvm,
		 ktime_us_delta(ktime_get(), t1));
	bitmap_or(r->bitmap, r->bitmap, r->harvest, r->slot.npages);
	return ret;
}

/**
 * vmig_ram_pending() - backend pages marked for sending
 * @r: a source backend
 *
 * Return: the number of set bits.
 */
u64 vmig_ram_pending(const struct vmig_ram *r)
{
	return bitmap_weight(r->bitmap, r->slot.npages);
}

/**
 * vmig_ram_get_pages() - take the backend's pages to send
 * @r: a source backend
 * @off: first backend page
 * @n: pages
 * @pages: out: a referenced page each; for a tmpfs hole (never written:
 *	reads as zeros) NULL when @holes is true, else the zero page
 * @holes: the caller sends NULL entries as zero pages
 *
 * A page that is not in the page cache and not a tmpfs hole (swapped out,
 * or a file on disk) is read through the VMM's mapping, which brings it in.
 *
 * Context: the worker, entered in the VMM's mm.
 * Return: 0, or a negative errno with no reference held.
 */
int vmig_ram_get_pages(struct vmig_ram *r, u64 off, u32 n, struct page **pages,
		       bool holes)
{
	struct address_space *mapping = r->file->f_mapping;
	bool tmpfs = file_inode(r->file)->i_sb->s_magic == TMPFS_MAGIC;
	u32 i;
	int got;

	for (i = 0; i < n; i++) {
		pgoff_t index = r->pgoff + off + i;

		pages[i] = find_get_page(mapping, index);
		/* Allocated, never written (fallocate): its contents are not data. */
		if (pages[i] && tmpfs && !PageUptodate(pages[i])) {
			put_page(pages[i]);
			pages[i] = NULL;
			if (holes)
				continue;
			pages[i] = ZERO_PAGE(0);
			get_page(pages[i]);
			continue;
		}
		if (pages[i])
			continue;
		if (tmpfs && !xa_load(&mapping->i_pages, index)) {
			if (holes)
				continue;
			pages[i] = ZERO_PAGE(0);
			get_page(pages[i]);
			continue;
		}
		got = get_user_pages_fast(r->slot.hva + ((off + i) << PAGE_SHIFT), 1, 0,
					  &pages[i]);
		if (got != 1) {
			while (i--)
				if (pages[i])
					put_page(pages[i]);
			return got < 0 ? got : -EFAULT;
		}
	}
	return 0;
}
