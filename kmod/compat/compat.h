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

#endif /* _VMIG_COMPAT_H */
