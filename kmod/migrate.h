/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The source end of a migration: pre-copy passes and switchover.
 */
#ifndef _VMIG_MIGRATE_H
#define _VMIG_MIGRATE_H

#include "session.h"

extern const struct vmig_session_ops vmig_migrate_ops;

#endif /* _VMIG_MIGRATE_H */
