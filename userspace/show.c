// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl.h"
#include "session.h"
#include "util.h"
#include "vmigctl.h"
#include "uapi/linux/vmig.h"

struct show_state {
	unsigned int count;
};

static int show_cb(const struct nlmsghdr *nlh, void *data)
{
	struct show_state *st = data;
	char size[16], sent[16], dirty[16];
	struct vmig_sess s;

	vmig_sess_parse(nlh, &s);
	if (vmigctl_json) {
		printf("%s{\"id\":%u,\"role\":\"%s\",\"state\":\"%s\",\"vmm_pid\":%u,\"error\":%d",
		       st->count ? "," : "", s.id, vmigctl_role_name(s.role),
		       vmigctl_state_name(s.state), s.vmm_pid, s.error);
		if (s.disk_bytes)
			printf(",\"disk_bytes\":%llu,\"disk_sent_bytes\":%llu,\"disk_dirty_bytes\":%llu",
			       (unsigned long long)s.disk_bytes,
			       (unsigned long long)s.disk_sent_bytes,
			       (unsigned long long)s.disk_dirty_bytes);
		if (VMIG_SESS_HAS(&s, VMIG_A_SESSION_CONTROLLER_GONE))
			printf(",\"controller_gone\":true");
		printf("}");
	} else {
		printf("session %u: %s %s pid %u", s.id, vmigctl_role_name(s.role),
		       vmigctl_state_name(s.state), s.vmm_pid);
		if (s.disk_bytes)
			printf(" disk %s sent %s dirty %s",
			       vmig_fmt_short(size, sizeof(size), s.disk_bytes),
			       vmig_fmt_short(sent, sizeof(sent), s.disk_sent_bytes),
			       vmig_fmt_short(dirty, sizeof(dirty), s.disk_dirty_bytes));
		if (s.error)
			printf(" error %s", strerror(-s.error));
		if (VMIG_SESS_HAS(&s, VMIG_A_SESSION_CONTROLLER_GONE))
			printf(" (controller gone)");
		printf("\n");
	}
	st->count++;
	return MNL_CB_OK;
}

static int parse_id(const char *arg, uint32_t *id)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || *end || !*arg || v > UINT32_MAX) {
		fprintf(stderr, "vmigctl: '%s' is not a session id\n", arg);
		return -1;
	}
	*id = (uint32_t)v;
	return 0;
}

int show_main(int argc, char **argv)
{
	struct show_state st = { 0 };
	struct vmig_nl_error e;
	struct nlmsghdr *req;
	struct vmig_nl nl;
	uint32_t id = 0;
	int ret;

	if (argc > 2 || (argc == 2 && parse_id(argv[1], &id))) {
		fprintf(stderr, "usage: vmigctl show [ID]\n");
		return VMIGCTL_USAGE;
	}
	ret = vmig_nl_open(&nl);
	if (ret) {
		fprintf(stderr, "vmigctl: vmig family: %s\n", strerror(ret));
		return VMIGCTL_FAIL;
	}
	req = vmig_nl_msg(&nl, VMIG_CMD_SESSION_GET, argc == 2 ? 0 : NLM_F_DUMP);
	if (argc == 2)
		mnl_attr_put_u32(req, VMIG_A_SESSION_ID, id);
	if (vmigctl_json)
		printf("[");
	ret = vmig_nl_talk(&nl, req, show_cb, &st, &e);
	vmig_nl_close(&nl);
	if (vmigctl_json)
		printf("]\n");
	if (ret) {
		vmig_nl_perror("show", &e);
		return VMIGCTL_FAIL;
	}
	return VMIGCTL_OK;
}

int cancel_main(int argc, char **argv)
{
	struct vmig_nl_error e;
	struct nlmsghdr *req;
	struct vmig_nl nl;
	uint32_t id;
	int ret;

	if (argc != 2 || parse_id(argv[1], &id)) {
		fprintf(stderr, "usage: vmigctl cancel ID\n");
		return VMIGCTL_USAGE;
	}
	ret = vmig_nl_open(&nl);
	if (ret) {
		fprintf(stderr, "vmigctl: vmig family: %s\n", strerror(ret));
		return VMIGCTL_FAIL;
	}
	req = vmig_nl_msg(&nl, VMIG_CMD_SESSION_DEL, 0);
	mnl_attr_put_u32(req, VMIG_A_SESSION_ID, id);
	ret = vmig_nl_talk(&nl, req, NULL, NULL, &e);
	vmig_nl_close(&nl);
	if (ret) {
		vmig_nl_perror("cancel", &e);
		return VMIGCTL_FAIL;
	}
	return VMIGCTL_OK;
}
