// SPDX-License-Identifier: GPL-2.0
/*
 * The fault_inject module parameter (fault.h). It lives apart from the
 * parts it breaks so that each of them reads one flag, not a parameter of
 * another file.
 */
#include <linux/moduleparam.h>

#include "fault.h"

unsigned int vmig_fault_inject;
module_param_named(fault_inject, vmig_fault_inject, uint, 0644);
MODULE_PARM_DESC(fault_inject,
		 "test only: 1 lose every page dirtied after the first pass, 2 never send one page, 4 never send the disk's first regions, 8 a storage move skips its destination flush, 16 a storage move writes zeros for region 5, 32 vCPU 0's captured sregs are impossible, 64 writes to a RAM backend through page tables (device models, vhost) go unseen, 128 a commit's ACK is lost, 256 a memory slot is deleted just before vmig turns its dirty logging on");
