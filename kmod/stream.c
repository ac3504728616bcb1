// SPDX-License-Identifier: GPL-2.0
/*
 * Framed send and receive on a kernel TCP socket that userspace connected
 * (and may have authenticated or put under kTLS) and handed in as an fd,
 * as nbd and ovpn take theirs.
 *
 * Pages go out by reference: TCP holds its own page reference until the
 * data is acknowledged and reads the page again on retransmit, so a guest
 * write after the send may reach the wire. That is harmless because the
 * page's dirty bit was harvested before it was sent: the write is logged
 * and the page is sent again, and the final pass runs with vCPUs stopped.
 */
#include <linux/bvec.h>
#include <linux/crc32.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "compat/compat.h"
#include "stream.h"

static atomic_t vmig_stream_ids = ATOMIC_INIT(0);

/*
 * Is the socket under kTLS in both directions? The controller did the TLS
 * handshake and handed the record keys to the socket; from then on every
 * byte vmig sends or receives is encrypted and authenticated by the TLS
 * ULP underneath, sendpage / MSG_SPLICE_PAGES included.
 */
static bool vmig_stream_is_ktls(struct sock *sk)
{
	const struct tcp_ulp_ops *ulp;
	struct tls_context *ctx;
	bool ret = false;

	lock_sock(sk);
	ulp = inet_csk(sk)->icsk_ulp_ops;
	if (ulp && !strcmp(ulp->name, "tls")) {
		ctx = tls_get_ctx(sk);
		ret = ctx && ctx->tx_conf != TLS_BASE && ctx->rx_conf != TLS_BASE;
	}
	release_sock(sk);
	return ret;
}

/**
 * vmig_stream_create() - take a connected TCP socket from an fd
 * @fd: the fd in the caller's table
 * @insecure: accept a socket that is not under kTLS
 * @err: out: negative errno on failure (-EPROTOTYPE: not TCP, -ENOTCONN: not
 *	connected (the peer already closed it), -EKEYREJECTED: not under kTLS)
 *
 * Context: the netlink caller's process context.
 * Return: the stream or NULL.
 */
struct vmig_stream *vmig_stream_create(int fd, bool insecure, int *err)
{
	struct vmig_stream *st;
	struct socket *sock;
	bool tls;

	sock = sockfd_lookup(fd, err);
	if (!sock)
		return NULL;
	if (sock->type != SOCK_STREAM || sock->sk->sk_protocol != IPPROTO_TCP) {
		*err = -EPROTOTYPE;
		goto err_put_sock;
	}
	/* Racy by nature: the peer may go at any time; this only names the usual case. */
	if (sock->sk->sk_state != TCP_ESTABLISHED) {
		*err = -ENOTCONN;
		goto err_put_sock;
	}
	tls = vmig_stream_is_ktls(sock->sk);
	if (!insecure && !tls) {
		*err = -EKEYREJECTED;
		goto err_put_sock;
	}
	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st) {
		*err = -ENOMEM;
		goto err_put_sock;
	}
	st->tls = tls;
	st->sock = sock;
	st->zerocopy = true;
	st->id = atomic_inc_return(&vmig_stream_ids);
	pr_debug("stream %u created\n", st->id);
	return st;

err_put_sock:
	sockfd_put(sock);
	return NULL;
}

/**
 * vmig_stream_destroy() - release the socket
 * @st: the stream, may be NULL
 */
void vmig_stream_destroy(struct vmig_stream *st)
{
	if (!st)
		return;
	pr_debug("stream %u destroyed\n", st->id);
	sockfd_put(st->sock);
	kfree(st);
}

/**
 * vmig_stream_shutdown() - make blocked and future I/O on @st fail
 * @st: the stream
 *
 * Context: any process context.
 */
void vmig_stream_shutdown(struct vmig_stream *st)
{
	kernel_sock_shutdown(st->sock, SHUT_RDWR);
}

/**
 * vmig_stream_peer_closed() - has the peer closed or reset its end?
 * @st: the stream
 *
 * Return: true once a FIN or RST from the peer was seen (or the socket
 * failed); false says nothing about what is still in flight.
 */
bool vmig_stream_peer_closed(struct vmig_stream *st)
{
	struct sock *sk = st->sock->sk;

	return READ_ONCE(sk->sk_err) || (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN);
}

/**
 * vmig_stream_set_timeout() - bound how long a receive may block
 * @st: the stream
 * @jiffies: the limit; MAX_SCHEDULE_TIMEOUT for none
 */
void vmig_stream_set_timeout(struct vmig_stream *st, long jiffies)
{
	WRITE_ONCE(st->sock->sk->sk_rcvtimeo, jiffies);
	WRITE_ONCE(st->sock->sk->sk_sndtimeo, jiffies);
}

static int vmig_stream_sendv(struct vmig_stream *st, struct kvec *vec,
			     size_t nr, size_t len, bool more)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0) };
	int ret;

	while (len) {
		ret = kernel_sendmsg(st->sock, &msg, vec, nr, len);
		if (ret <= 0)
			return ret ?: -EPIPE;
		st->tx_bytes += ret;
		len -= ret;
		/* Partial send: skip what went out. */
		while (ret && nr) {
			if (ret >= vec->iov_len) {
				ret -= vec->iov_len;
				vec++;
				nr--;
			} else {
				vec->iov_base += ret;
				vec->iov_len -= ret;
				ret = 0;
			}
		}
	}
	return 0;
}

/**
 * vmig_stream_send() - send one frame header and its fixed payload
 * @st: the stream
 * @type: enum vmig_wire_type
 * @payload: the payload part sent from here (may be NULL if @len is 0)
 * @len: its size
 * @extra: payload bytes the caller sends next (page data)
 * @more: more data follows soon (MSG_MORE)
 *
 * Return: 0 or a negative errno.
 */
int vmig_stream_send(struct vmig_stream *st, u16 type, const void *payload,
		     u32 len, u32 extra, bool more)
{
	struct vmig_wire_hdr h = {
		.magic = cpu_to_le32(VMIG_WIRE_MAGIC),
		.version = cpu_to_le16(VMIG_WIRE_VERSION),
		.type = cpu_to_le16(type),
		.len = cpu_to_le32(len + extra),
		.seq = cpu_to_le32(st->tx_seq++),
	};
	struct kvec vec[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};

	h.csum = cpu_to_le32(crc32_le(~0, (const u8 *)&h, offsetof(struct vmig_wire_hdr, csum)));
	return vmig_stream_sendv(st, vec, len ? 2 : 1, sizeof(h) + len,
				 more || extra);
}

static int vmig_stream_copy_page(struct vmig_stream *st, struct page *page,
				 bool more)
{
	struct kvec vec;
	void *p = kmap_local_page(page);
	int ret;

	vec.iov_base = p;
	vec.iov_len = PAGE_SIZE;
	ret = vmig_stream_sendv(st, &vec, 1, PAGE_SIZE, more);
	kunmap_local(p);
	return ret;
}

static int vmig_stream_copy_pages(struct vmig_stream *st, struct page **pages,
				  u32 n, bool more)
{
	u32 i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = vmig_stream_copy_page(st, pages[i], more || i + 1 < n);
		if (ret)
			return ret;
	}
	return 0;
}

/* Pages in one zero-copy send call: a bvec array that fits the stack. */
#define VMIG_STREAM_BATCH	64

/* Send up to VMIG_STREAM_BATCH pages, the socket holding them by reference. */
static int vmig_stream_splice_pages(struct vmig_stream *st, struct page **pages,
				    u32 n, bool more)
{
	struct bio_vec bvec[VMIG_STREAM_BATCH];
	int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
	size_t sent = 0, len = (size_t)n << PAGE_SHIFT;
	u32 i;
	int ret;

	for (i = 0; i < n; i++)
		bvec_set_page(&bvec[i], pages[i], PAGE_SIZE, 0);
	/* One call for the whole batch; a partial send resumes where it stopped. */
	while (sent < len) {
		u32 first = sent >> PAGE_SHIFT;

		bvec[first].bv_offset = sent & ~PAGE_MASK;
		bvec[first].bv_len = PAGE_SIZE - bvec[first].bv_offset;
		ret = vmig_compat_send_pages(st->sock, bvec + first, n - first,
					     len - sent, flags);
		if (ret == -EOPNOTSUPP && !sent)
			return ret;
		if (ret <= 0)
			return ret ?: -EPIPE;
		st->tx_bytes += ret;
		sent += ret;
	}
	return 0;
}

/**
 * vmig_stream_send_pages() - send whole pages after a PAGES header
 * @st: the stream
 * @pages: the pages (references held by the caller until this returns;
 *	TCP takes its own for zero-copy)
 * @n: how many
 * @more: more frames follow soon
 *
 * Return: 0 or a negative errno.
 */
int vmig_stream_send_pages(struct vmig_stream *st, struct page **pages,
			   u32 n, bool more)
{
	u32 i, k;
	int ret;

	for (i = 0; i < n; i += k) {
		bool m = more || i + VMIG_STREAM_BATCH < n;

		k = min_t(u32, n - i, VMIG_STREAM_BATCH);
		if (st->zerocopy) {
			u32 j;

			for (j = 0; j < k && sendpage_ok(pages[i + j]); j++)
				;
			/* A page the socket may not hold a reference to goes by copy. */
			ret = j < k ? -EOPNOTSUPP :
				vmig_stream_splice_pages(st, pages + i, k, m);
			if (ret != -EOPNOTSUPP) {
				if (ret)
					return ret;
				continue;
			}
			if (j == k)	/* the socket refuses: copy from now on */
				st->zerocopy = false;
		}
		ret = vmig_stream_copy_pages(st, pages + i, k, m);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * vmig_stream_send_buf() - send payload bytes from a kernel buffer
 * @st: the stream
 * @buf: the bytes (copied into the socket)
 * @len: how many
 * @more: more frames follow soon
 *
 * Return: 0 or a negative errno.
 */
int vmig_stream_send_buf(struct vmig_stream *st, const void *buf, u32 len,
			 bool more)
{
	struct kvec vec = { .iov_base = (void *)buf, .iov_len = len };

	return len ? vmig_stream_sendv(st, &vec, 1, len, more) : 0;
}

static int vmig_stream_recv_iter(struct vmig_stream *st, struct msghdr *msg,
				 u32 len)
{
	int ret;

	while (msg_data_left(msg)) {
		ret = sock_recvmsg(st->sock, msg, MSG_WAITALL | MSG_NOSIGNAL);
		if (ret == 0)
			return -ECONNRESET;
		/* kTLS: a record whose tag does not verify was altered in flight. */
		if (ret == -EBADMSG && st->tls)
			return -EKEYREJECTED;
		if (ret < 0)
			return ret;
		st->rx_bytes += ret;
	}
	return 0;
}

/**
 * vmig_stream_recv() - receive exactly @len bytes into a kernel buffer
 * @st: the stream
 * @buf: destination
 * @len: bytes
 *
 * Return: 0, -ECONNRESET on end of stream, -EAGAIN on timeout, or another
 * negative errno.
 */
int vmig_stream_recv(struct vmig_stream *st, void *buf, u32 len)
{
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { };

	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &vec, 1, len);
	return vmig_stream_recv_iter(st, &msg, len);
}

/**
 * vmig_stream_recv_user() - receive straight into user memory of current->mm
 * @st: the stream
 * @buf: destination (guest memory, in the VMM's address space)
 * @len: bytes
 *
 * The only copy of the data on the receiving side.
 * Return: 0 or a negative errno.
 */
int vmig_stream_recv_user(struct vmig_stream *st, void __user *buf, u32 len)
{
	struct vmig_compat_ubuf store;	/* lives as long as msg_iter */
	struct msghdr msg = { };
	int ret;

	ret = vmig_compat_import_ubuf(buf, len, &msg.msg_iter, &store);
	if (ret)
		return ret;
	return vmig_stream_recv_iter(st, &msg, len);
}

/**
 * vmig_stream_recv_pages() - receive whole pages straight into @pages
 * @st: the stream
 * @pages: destination pages (pinned by the caller)
 * @n: how many; at most VMIG_WIRE_MAX_RUN
 *
 * The only copy of the data on the receiving side, kernel to kernel: no
 * fault can happen in it, and it is one receive call for the whole run.
 * Return: 0 or a negative errno.
 */
int vmig_stream_recv_pages(struct vmig_stream *st, struct page **pages, u32 n)
{
	struct bio_vec bvec[VMIG_WIRE_MAX_RUN];
	struct msghdr msg = { };
	u32 i;

	if (WARN_ON_ONCE(n > VMIG_WIRE_MAX_RUN))
		return -EINVAL;
	for (i = 0; i < n; i++)
		bvec_set_page(&bvec[i], pages[i], PAGE_SIZE, 0);
	iov_iter_bvec(&msg.msg_iter, ITER_DEST, bvec, n, (size_t)n << PAGE_SHIFT);
	return vmig_stream_recv_iter(st, &msg, n << PAGE_SHIFT);
}

/**
 * vmig_stream_recv_hdr() - receive and check one frame header
 * @st: the stream
 * @type: out: frame type, known to this version
 * @len: out: payload length announced
 *
 * Return: 0, -EBADMSG for a corrupt or unexpected header, or a receive
 * error.
 */
int vmig_stream_recv_hdr(struct vmig_stream *st, u16 *type, u32 *len)
{
	struct vmig_wire_hdr h;
	int ret;

	ret = vmig_stream_recv(st, &h, sizeof(h));
	if (ret)
		return ret;
	if (le32_to_cpu(h.csum) !=
	    crc32_le(~0, (const u8 *)&h, offsetof(struct vmig_wire_hdr, csum))) {
		pr_warn_ratelimited("frame %u: header checksum mismatch\n", st->rx_seq);
		return -EBADMSG;
	}
	if (le32_to_cpu(h.magic) != VMIG_WIRE_MAGIC ||
	    le16_to_cpu(h.version) != VMIG_WIRE_VERSION ||
	    le32_to_cpu(h.seq) != st->rx_seq) {
		pr_warn_ratelimited("frame %u: bad magic, version or sequence\n", st->rx_seq);
		return -EBADMSG;
	}
	*type = le16_to_cpu(h.type);
	*len = le32_to_cpu(h.len);
	if (!*type || *type >= __VMIG_WIRE_MAX) {
		pr_warn_ratelimited("frame %u: unknown type %u\n", st->rx_seq, *type);
		return -EBADMSG;
	}
	st->rx_seq++;
	return 0;
}
