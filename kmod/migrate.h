/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The source end of a migration: pre-copy passes and switchover.
 */
#ifndef _VMIG_MIGRATE_H
#define _VMIG_MIGRATE_H

struct vmig_session;
struct netlink_ext_ack;

void vmig_migrate_run(struct vmig_session *s);
int vmig_migrate_switchover(struct vmig_session *s, struct netlink_ext_ack *extack);

#endif /* _VMIG_MIGRATE_H */
