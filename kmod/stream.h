/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A vmig connection: a TCP socket handed in by userspace, framed as in
 * wire.h, with pages sent by reference.
 */
#ifndef _VMIG_STREAM_H
#define _VMIG_STREAM_H

#include <linux/types.h>

#include "wire.h"

struct socket;
struct page;

/**
 * struct vmig_stream - one end of a migration connection
 * @id: for log messages only
 * @sock: the socket (reference from sockfd_lookup)
 * @tx_seq: next frame number to send
 * @rx_seq: next frame number expected
 * @tx_bytes: bytes sent, headers included
 * @rx_bytes: bytes received
 * @zerocopy: send pages by reference; cleared when the socket refuses
 *
 * Used by one worker thread; vmig_stream_shutdown() may be called from any
 * thread to make that worker's blocked send or receive fail.
 */
struct vmig_stream {
	u32 id;
	struct socket *sock;
	u32 tx_seq;
	u32 rx_seq;
	u64 tx_bytes;
	u64 rx_bytes;
	bool zerocopy;
	bool tls;
};

struct vmig_stream *vmig_stream_create(int fd, bool insecure, int *err);
void vmig_stream_destroy(struct vmig_stream *st);
void vmig_stream_shutdown(struct vmig_stream *st);
bool vmig_stream_peer_closed(struct vmig_stream *st);
void vmig_stream_set_timeout(struct vmig_stream *st, long jiffies);
int vmig_stream_send(struct vmig_stream *st, u16 type, const void *payload,
		     u32 len, u32 extra, bool more);
int vmig_stream_send_pages(struct vmig_stream *st, struct page **pages,
			   u32 n, bool more);
int vmig_stream_send_buf(struct vmig_stream *st, const void *buf, u32 len,
			 bool more);
int vmig_stream_recv_hdr(struct vmig_stream *st, u16 *type, u32 *len);
int vmig_stream_recv(struct vmig_stream *st, void *buf, u32 len);
int vmig_stream_recv_user(struct vmig_stream *st, void __user *buf, u32 len);
int vmig_stream_recv_pages(struct vmig_stream *st, struct page **pages, u32 n);

#endif /* _VMIG_STREAM_H */
