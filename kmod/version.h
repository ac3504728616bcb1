/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMIG_VERSION_H
#define _VMIG_VERSION_H

#define VMIG_RELEASE "0.1.0"

#endif /* _VMIG_VERSION_H */
