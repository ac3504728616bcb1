// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"
#include "vmigctl.h"
#include "uapi/linux/vmig.h"

struct version_reply {
	uint32_t api_version;
	uint32_t features;
	char release[64];
};

static int version_attr(const struct nlattr *a, void *data)
{
	struct version_reply *r = data;

	switch (mnl_attr_get_type(a)) {
	case VMIG_A_INFO_API_VERSION:
		r->api_version = mnl_attr_get_u32(a);
		break;
	case VMIG_A_INFO_FEATURES:
		r->features = mnl_attr_get_u32(a);
		break;
	case VMIG_A_INFO_RELEASE:
		snprintf(r->release, sizeof(r->release), "%s", mnl_attr_get_str(a));
		break;
	}
	return MNL_CB_OK;
}

static int version_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, GENL_HDRLEN, version_attr, data);
}

int version_main(int argc, char **argv)
{
	struct version_reply r = { 0 };
	struct vmig_nl_error e;
	struct nlmsghdr *req;
	struct vmig_nl nl;
	int ret;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: vmigctl version\n");
		return VMIGCTL_USAGE;
	}
	ret = vmig_nl_open(&nl);
	if (ret) {
		fprintf(stderr, "vmigctl: vmig family: %s%s\n", strerror(ret),
			ret == ENOENT ? " (is vmig.ko loaded?)" : "");
		return VMIGCTL_FAIL;
	}
	req = vmig_nl_msg(&nl, VMIG_CMD_INFO_GET, 0);
	mnl_attr_put_u32(req, VMIG_A_INFO_API_VERSION, VMIG_API_VERSION);
	ret = vmig_nl_talk(&nl, req, version_cb, &r, &e);
	vmig_nl_close(&nl);
	if (ret) {
		vmig_nl_perror("version", &e);
		return VMIGCTL_FAIL;
	}
	if (vmigctl_json) {
		printf("{\"release\":\"%s\",\"api_version\":%u,\"features\":[%s%s%s]}\n",
		       r.release, r.api_version,
		       r.features & VMIG_FEATURE_DIRTY_LOG ? "\"dirty-log\"" : "",
		       (r.features & VMIG_FEATURE_DIRTY_LOG) &&
		       (r.features & VMIG_FEATURE_ZEROCOPY) ? "," : "",
		       r.features & VMIG_FEATURE_ZEROCOPY ? "\"zerocopy\"" : "");
	} else {
		printf("vmig %s api %u features%s%s\n", r.release, r.api_version,
		       r.features & VMIG_FEATURE_DIRTY_LOG ? " dirty-log" : "",
		       r.features & VMIG_FEATURE_ZEROCOPY ? " zerocopy" : "");
	}
	return VMIGCTL_OK;
}
