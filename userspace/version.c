// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"
#include "util.h"
#include "vmigctl.h"
#include "uapi/linux/vmig.h"

/* Names as in the spec's "feature" enum; vmigctl.8 lists them. */
static const struct {
	uint32_t bit;
	const char *name;
} version_features[] = {
	{ VMIG_FEATURE_DIRTY_LOG, "dirty-log" },
	{ VMIG_FEATURE_ZEROCOPY, "zerocopy" },
	{ VMIG_FEATURE_STORAGE_MOVE, "storage-move" },
	{ VMIG_FEATURE_DISK_MIGRATE, "disk-migrate" },
};

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
	unsigned int n;
	size_t i;
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
	if (vmigctl_json)
		printf("{\"release\":\"%s\",\"api_version\":%u,\"features\":[",
		       r.release, r.api_version);
	else
		printf("vmig %s api %u features", r.release, r.api_version);
	for (i = 0, n = 0; i < ARRAY_SIZE(version_features); i++) {
		if (!(r.features & version_features[i].bit))
			continue;
		if (vmigctl_json)
			printf("%s\"%s\"", n ? "," : "", version_features[i].name);
		else
			printf(" %s", version_features[i].name);
		n++;
	}
	printf(vmigctl_json ? "]}\n" : "\n");
	return VMIGCTL_OK;
}
