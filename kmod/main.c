// SPDX-License-Identifier: GPL-2.0
/*
 * vmig: live migration of KVM virtual machines and their disks.
 *
 * This file is the table of contents: each part of the module has an
 * init/uninit pair, started here in dependency order and stopped in
 * reverse. Documentation/design.rst describes the parts.
 */
#include <linux/init.h>
#include <linux/module.h>

#include "blktrack.h"
#include "netlink.h"
#include "session.h"
#include "version.h"

static int __init vmig_init(void)
{
	int ret;

	ret = vmig_session_init();
	if (ret)
		return ret;
	ret = vmig_blktrack_init();
	if (ret)
		goto err_uninit_session;
	ret = vmig_netlink_init();
	if (ret)
		goto err_uninit_blktrack;

	pr_info("vmig " VMIG_RELEASE " loaded\n");
	return 0;

err_uninit_blktrack:
	vmig_blktrack_uninit();
err_uninit_session:
	vmig_session_uninit();
	return ret;
}

static void __exit vmig_exit(void)
{
	vmig_netlink_uninit();
	vmig_blktrack_uninit();
	vmig_session_uninit();
	pr_info("vmig " VMIG_RELEASE " unloaded\n");
}

module_init(vmig_init);
module_exit(vmig_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Live migration of KVM virtual machines and their disks");
MODULE_VERSION(VMIG_RELEASE);
