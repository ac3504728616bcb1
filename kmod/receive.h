/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The destination end of a migration.
 */
#ifndef _VMIG_RECEIVE_H
#define _VMIG_RECEIVE_H

#include "session.h"

extern const struct vmig_session_ops vmig_receive_ops;

#endif /* _VMIG_RECEIVE_H */
