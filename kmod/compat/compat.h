/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only place in vmig that knows kernel versions. Everything here gives
 * 6.1 what 6.12 has, under the 6.12 name, so the rest of the module is
 * written against one API.
 */
#ifndef _VMIG_COMPAT_H
#define _VMIG_COMPAT_H

#include <linux/version.h>
#include <net/genetlink.h>
#include <net/netlink.h>

/*
 * 6.1 stores only a pointer to a static string in the extack, so a
 * formatted message cannot be kept; fall back to the format text, which
 * still names the problem.
 */
#ifndef NL_SET_ERR_MSG_FMT_MOD
#define NL_SET_ERR_MSG_FMT_MOD(extack, fmt, args...) \
	NL_SET_ERR_MSG_MOD(extack, fmt)
#endif

/*
 * Set an extack message that is not a string literal (a static string
 * chosen at run time, such as a worker's reason for refusing). The
 * NL_SET_ERR_MSG macros copy their argument into a static array, which
 * only works for literals.
 */
static inline void vmig_compat_extack_msg(struct netlink_ext_ack *extack,
					  const char *msg)
{
	if (extack && msg)
		extack->_msg = msg;
}

/*
 * kvm_run's immediate_exit is spelled immediate_exit__unsafe inside the
 * kernel since 6.10 (KVM reads it once per KVM_RUN); same byte, same uapi.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define vmig_compat_run_immediate_exit(run) (&(run)->immediate_exit__unsafe)
#else
#define vmig_compat_run_immediate_exit(run) (&(run)->immediate_exit)
#endif

/*
 * KVM address spaces with memory slots (x86: 2, the second for SMM).
 * 6.8 turned the constant into a per-VM count (none for private-memory VMs).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define vmig_compat_kvm_nr_as(kvm) kvm_arch_nr_memslot_as_ids(kvm)
#else
#define vmig_compat_kvm_nr_as(kvm) ((void)(kvm), KVM_ADDRESS_SPACE_NUM)
#endif

/*
 * Zap user pages of part of one VMA, as MADV_DONTNEED does; mmap_lock held
 * for read. 6.3 replaced zap_page_range() with zap_page_range_single().
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
#define vmig_compat_zap_range(vma, addr, len) zap_page_range(vma, addr, len)
#else
#define vmig_compat_zap_range(vma, addr, len) zap_page_range_single(vma, addr, len, NULL)
#endif

#include <linux/net.h>
#include <linux/uio.h>
#include <linux/socket.h>
#include <net/sock.h>

/*
 * Zero-copy send of the pages @bvec describes (every one sendpage_ok()):
 * the socket takes its own references and reads the pages when it
 * transmits (and again on retransmit). 6.5 replaced sendpage with
 * MSG_SPLICE_PAGES, which takes the whole vector in one call; 6.1 sends
 * page by page. 6.1.192 defines MSG_SPLICE_PAGES but its TCP ignores it,
 * so the choice is by version. Returns the bytes sent (possibly fewer
 * than @len) or a negative errno when none were.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
static inline int vmig_compat_send_pages(struct socket *sock, const struct bio_vec *bvec,
					 unsigned int nr, size_t len, int flags)
{
	size_t done = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < nr && done < len; i++) {
		int f = flags;

		if ((flags & MSG_MORE) || i + 1 < nr)
			f |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
		ret = kernel_sendpage(sock, bvec[i].bv_page, bvec[i].bv_offset,
				      bvec[i].bv_len, f);
		if (ret <= 0)
			return done ? done : ret;
		done += ret;
		if (ret < bvec[i].bv_len)
			break;
	}
	return done;
}
#else
static inline int vmig_compat_send_pages(struct socket *sock, const struct bio_vec *bvec,
					 unsigned int nr, size_t len, int flags)
{
	struct msghdr msg = { .msg_flags = MSG_SPLICE_PAGES | flags };

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bvec, nr, len);
	return sock_sendmsg(sock, &msg);
}
#endif

/*
 * Point an iov_iter at user memory to receive into (renamed in 6.5).
 *
 * 6.1's import_single_range() makes the iter point at the iovec it is
 * given: that iovec must live as long as the iter, so it is the caller's
 * (struct vmig_compat_ubuf, next to the iter). 6.12's ITER_UBUF keeps the
 * address in the iter itself and needs no storage.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
struct vmig_compat_ubuf {
	struct iovec iov;
};

static inline int vmig_compat_import_ubuf(void __user *buf, size_t len,
					  struct iov_iter *iter,
					  struct vmig_compat_ubuf *store)
{
	return import_single_range(ITER_DEST, buf, len, &store->iov, iter);
}
#else
struct vmig_compat_ubuf {
};

static inline int vmig_compat_import_ubuf(void __user *buf, size_t len,
					  struct iov_iter *iter,
					  struct vmig_compat_ubuf *store)
{
	return import_ubuf(ITER_DEST, buf, len, iter);
}
#endif

#endif /* _VMIG_COMPAT_H */
