/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMIGCTL_H
#define VMIGCTL_H

#include <stdbool.h>

/* Exit codes: documented in vmigctl.8. */
#define VMIGCTL_OK	0
#define VMIGCTL_FAIL	1
#define VMIGCTL_USAGE	2
#define VMIGCTL_UNKNOWN	3	/* the outcome cannot be known: the VM is left stopped */

extern bool vmigctl_json;

int version_main(int argc, char **argv);
int show_main(int argc, char **argv);
int cancel_main(int argc, char **argv);
int migrate_main(int argc, char **argv);
int receive_main(int argc, char **argv);
int dirty_rate_main(int argc, char **argv);
int storage_move_main(int argc, char **argv);
int help_main(int argc, char **argv);

const char *vmigctl_state_name(unsigned int state);
const char *vmigctl_role_name(unsigned int role);

#endif
