/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The destination end of a migration.
 */
#ifndef _VMIG_RECEIVE_H
#define _VMIG_RECEIVE_H

struct netlink_ext_ack;
struct vmig_session;

void vmig_receive_run(struct vmig_session *s);
int vmig_receive_commit(struct vmig_session *s, struct netlink_ext_ack *extack);

#endif /* _VMIG_RECEIVE_H */
