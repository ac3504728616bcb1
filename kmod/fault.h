/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test-only fault injection (module parameter fault_inject), so that the
 * selftests can show each verifier catches the loss it exists for: a page,
 * a disk region, a flush, a broken vCPU state. Only test builds have it
 * (Kbuild, VMIG_TEST_BUILD=y); in a production build vmig_fault() is a
 * constant false and the compiler drops every injection site.
 */
#ifndef _VMIG_FAULT_H
#define _VMIG_FAULT_H

#include <linux/bits.h>
#include <linux/compiler.h>

#define VMIG_FAULT_LOSE_REDIRTIED	BIT(0)	/* pages dirtied after the first pass are lost */
#define VMIG_FAULT_DROP_PAGE		BIT(1)	/* one page is never sent */
#define VMIG_FAULT_LOSE_DISK		BIT(2)	/* the disk's first regions are never sent */
#define VMIG_FAULT_SKIP_MOVE_FLUSH	BIT(3)	/* a storage move does not flush its destination */
#define VMIG_FAULT_LOSE_MOVE_REGION	BIT(4)	/* a storage move's copies of region 5 are zeros */
#define VMIG_FAULT_IMPOSSIBLE_SREGS	BIT(5)	/* vCPU 0's sregs: 64-bit CS, no long mode */
#define VMIG_FAULT_NO_PAGE_TABLES	BIT(6)	/* RAM backend: page-table writers unseen */
#define VMIG_FAULT_LOSE_ACK		BIT(7)	/* a commit's ACK never reaches the source */
#define VMIG_FAULT_SLOT_RACE		BIT(8)	/* a slot is deleted as vmig arms its log */
/* A test-only pause point: a source holds, the whole VM sent, before END. */
#define VMIG_FAULT_HOLD_BEFORE_END	BIT(10)	/* until the bit is cleared */
/* A planted decoder bug, which the frame fuzzer must find. */
#define VMIG_FAULT_RUN_OVERHANG		BIT(9)	/* a page run may overhang its slot by a page */

#ifdef VMIG_FAULT_INJECT
extern unsigned int vmig_fault_inject;

/* Is fault @bit injected? Read anew on every call: tests flip it live. */
static inline bool vmig_fault(unsigned int bit)
{
	return READ_ONCE(vmig_fault_inject) & bit;
}
#else
static inline bool vmig_fault(unsigned int bit)
{
	return false;
}
#endif

#endif /* _VMIG_FAULT_H */
