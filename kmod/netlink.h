/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vmig generic netlink family: handlers and event notifications.
 */
#ifndef _VMIG_NETLINK_H
#define _VMIG_NETLINK_H

struct vmig_session;

void vmig_nl_session_notify(struct vmig_session *s);

int vmig_netlink_init(void);
void vmig_netlink_uninit(void);

#endif /* _VMIG_NETLINK_H */
