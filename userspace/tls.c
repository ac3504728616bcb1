// SPDX-License-Identifier: GPL-2.0
/*
 * TLS 1.3 with a pre-shared key, then kTLS (tls.h).
 *
 * GnuTLS does the handshake (the library Debian maintains; nothing of TLS
 * is written here). Its record keys and sequence numbers then go into the
 * socket with setsockopt(TLS_TX / TLS_RX), as ktls-utils' tlshd does for
 * in-kernel consumers. Two things keep the hand-over exact:
 *   - no session tickets (GNUTLS_NO_TICKETS): a ticket is a handshake
 *     record after the handshake, which the kernel's reader could not take;
 *   - GnuTLS reads one record at a time (tls_pull), so it never swallows
 *     application data the peer sent right after its last handshake
 *     message: that data belongs to the kernel's first read.
 * Only AEAD ciphers kTLS implements on 6.1 and 6.12 are offered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/tls.h>
#include <gnutls/gnutls.h>

#include "tls.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

static const char tls_priority_psk[] =
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
	"+CHACHA20-POLY1305:-KX-ALL:+ECDHE-PSK:+DHE-PSK";
/* TLS 1.3 certificates: (EC)DHE key shares, signatures from NORMAL. */
static const char tls_priority_x509[] =
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
	"+CHACHA20-POLY1305";

/**
 * vmig_tls_opt() - take one of VMIG_TLS_OPTIONS
 *
 * Return: true if @c was one of them.
 */
bool vmig_tls_opt(struct vmig_tls_args *a, int c, const char *arg)
{
	switch (c - VMIG_TLS_OPT_BASE) {
	case 0: a->psk_file = arg; return true;
	case 1: a->insecure = true; return true;
	case 2: a->cert = arg; return true;
	case 3: a->key = arg; return true;
	case 4: a->ca = arg; return true;
	case 5: a->peer = arg; return true;
	}
	return false;
}

/* Return: 0, or -1 with @err when @path cannot be read. */
static int tls_readable(const char *opt, const char *path, char *err, size_t len)
{
	if (!access(path, R_OK))
		return 0;
	snprintf(err, len, "%s %s: %s", opt, path, strerror(errno));
	return -1;
}

/**
 * vmig_tls_init() - check the credentials, or accept --insecure
 * @t: out
 * @a: the options
 * @default_peer: the name the server's certificate must carry when
 *	--tls-peer is not given (migrate: the --to host); NULL on the accepting
 *	end, which then checks only the client's chain unless --tls-peer names it
 *
 * Return: 0, or -1 with @err saying why (no credentials is an error: a
 * migration port accepts only an authenticated peer unless told not to).
 */
int vmig_tls_init(struct vmig_tls *t, const struct vmig_tls_args *a,
		  const char *default_peer, char *err, size_t len)
{
	char line[sizeof(t->identity) + sizeof(t->key_hex) + 2], *colon;
	bool x509 = a->cert || a->key || a->ca;
	const char *psk_file = a->psk_file;
	FILE *f;

	memset(t, 0, sizeof(*t));
	t->insecure = a->insecure;
	if (a->insecure + !!psk_file + x509 > 1) {
		snprintf(err, len, "--insecure, --psk-file and --tls-cert/--tls-key/--tls-ca exclude each other");
		return -1;
	}
	if (a->peer && !x509) {
		snprintf(err, len, "--tls-peer goes with --tls-cert/--tls-key/--tls-ca");
		return -1;
	}
	if (a->from && vmig_tls_set_from(t, a->from, err, len))
		return -1;
	if (a->insecure)
		return 0;
	if (x509) {
		if (!a->cert || !a->key || !a->ca) {
			snprintf(err, len, "X.509 needs all of --tls-cert, --tls-key and --tls-ca");
			return -1;
		}
		if (tls_readable("--tls-cert", a->cert, err, len) ||
		    tls_readable("--tls-key", a->key, err, len) ||
		    tls_readable("--tls-ca", a->ca, err, len))
			return -1;
		t->x509 = true;
		t->cert = a->cert;
		t->key = a->key;
		t->ca = a->ca;
		snprintf(t->peer, sizeof(t->peer), "%s", a->peer ? a->peer :
			 default_peer ? default_peer : "");
		return 0;
	}
	if (!psk_file) {
		snprintf(err, len, "a migration carries guest memory: give --psk-file or --tls-cert/--tls-key/--tls-ca (or --insecure on a link nobody else can reach)");
		return -1;
	}
	t->psk_file = psk_file;
	f = fopen(psk_file, "re");
	if (!f) {
		snprintf(err, len, "%s: %s", psk_file, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	colon = strchr(line, ':');
	if (!colon || colon == line || strlen(colon + 1) < 32 ||
	    strlen(colon + 1) % 2 || strspn(colon + 1, "0123456789abcdefABCDEF") !=
	    strlen(colon + 1) || (size_t)(colon - line) >= sizeof(t->identity) ||
	    strlen(colon + 1) >= sizeof(t->key_hex)) {
		snprintf(err, len, "%s: the first line must be IDENTITY:HEXKEY with a key of at least 16 bytes (psktool -u vmig -p FILE)",
			 psk_file);
		return -1;
	}
	*colon = '\0';
	snprintf(t->identity, sizeof(t->identity), "%s", line);
	snprintf(t->key_hex, sizeof(t->key_hex), "%s", colon + 1);
	return 0;
}

/* Hands GnuTLS at most the rest of the current record (see above). */
struct tls_pull {
	int fd;
	unsigned char hdr[5];
	size_t hdr_got;
	size_t body_left;
	gnutls_session_t s;
};

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t size)
{
	struct tls_pull *p = ptr;
	size_t want = p->body_left ? p->body_left : sizeof(p->hdr) - p->hdr_got;
	ssize_t n;

	n = recv(p->fd, buf, size < want ? size : want, 0);
	if (n < 0) {
		gnutls_transport_set_errno(p->s, errno == EAGAIN ? ETIMEDOUT : errno);
		return -1;
	}
	if (p->body_left) {
		p->body_left -= (size_t)n;
	} else {
		memcpy(p->hdr + p->hdr_got, buf, (size_t)n);
		p->hdr_got += (size_t)n;
		if (p->hdr_got == sizeof(p->hdr)) {
			p->body_left = (size_t)p->hdr[3] << 8 | p->hdr[4];
			p->hdr_got = 0;
		}
	}
	return n;
}

static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct tls_pull *p = ptr;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	return poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

/* One direction's keys from GnuTLS into the socket. */
static int tls_install(gnutls_session_t s, int fd, int dir, char *err, size_t len)
{
	union {
		struct tls_crypto_info info;
		struct tls12_crypto_info_aes_gcm_128 gcm128;
		struct tls12_crypto_info_aes_gcm_256 gcm256;
		struct tls12_crypto_info_chacha20_poly1305 chacha;
	} ci;
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
	socklen_t sz;
	int ret;

	ret = gnutls_record_get_state(s, dir == TLS_RX, &mac, &iv, &key, seq);
	if (ret < 0) {
		snprintf(err, len, "reading the record keys: %s", gnutls_strerror(ret));
		return -1;
	}
	memset(&ci, 0, sizeof(ci));
	ci.info.version = TLS_1_3_VERSION;
	switch (gnutls_cipher_get(s)) {
	case GNUTLS_CIPHER_AES_128_GCM:
		ci.info.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(ci.gcm128.key, key.data, sizeof(ci.gcm128.key));
		memcpy(ci.gcm128.salt, iv.data, sizeof(ci.gcm128.salt));
		memcpy(ci.gcm128.iv, iv.data + sizeof(ci.gcm128.salt), sizeof(ci.gcm128.iv));
		memcpy(ci.gcm128.rec_seq, seq, sizeof(ci.gcm128.rec_seq));
		sz = sizeof(ci.gcm128);
		break;
	case GNUTLS_CIPHER_AES_256_GCM:
		ci.info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(ci.gcm256.key, key.data, sizeof(ci.gcm256.key));
		memcpy(ci.gcm256.salt, iv.data, sizeof(ci.gcm256.salt));
		memcpy(ci.gcm256.iv, iv.data + sizeof(ci.gcm256.salt), sizeof(ci.gcm256.iv));
		memcpy(ci.gcm256.rec_seq, seq, sizeof(ci.gcm256.rec_seq));
		sz = sizeof(ci.gcm256);
		break;
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		ci.info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		memcpy(ci.chacha.key, key.data, sizeof(ci.chacha.key));
		memcpy(ci.chacha.iv, iv.data, sizeof(ci.chacha.iv));
		memcpy(ci.chacha.rec_seq, seq, sizeof(ci.chacha.rec_seq));
		sz = sizeof(ci.chacha);
		break;
	default:
		snprintf(err, len, "cipher %s has no kTLS", gnutls_cipher_get_name(gnutls_cipher_get(s)));
		return -1;
	}
	ret = setsockopt(fd, SOL_TLS, dir, &ci, sz);
	memset(&ci, 0, sizeof(ci));
	if (ret) {
		snprintf(err, len, "kTLS %s: %s", dir == TLS_TX ? "TLS_TX" : "TLS_RX",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * vmig_tls_set_from() - accept connections only from ADDR[/PREFIX]
 *
 * A plain address means that address alone (/32, /128). IPv4 peers that
 * reach a dual-stack listener as ::ffff:a.b.c.d are compared as IPv4.
 *
 * Return: 0, or -1 with @err.
 */
int vmig_tls_set_from(struct vmig_tls *t, const char *arg, char *err, size_t len)
{
	char addr[INET6_ADDRSTRLEN + sizeof("/128")], *slash, *end;
	unsigned long bits;

	if (strlen(arg) >= sizeof(t->from_text) ||
	    snprintf(addr, sizeof(addr), "%s", arg) >= (int)sizeof(addr))
		goto bad;
	slash = strchr(addr, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, addr, t->from_addr) == 1)
		t->from_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, t->from_addr) == 1)
		t->from_family = AF_INET6;
	else
		goto bad;
	t->from_bits = t->from_family == AF_INET ? 32 : 128;
	if (slash) {
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (errno || !slash[1] || *end || bits > t->from_bits)
			goto bad;
		t->from_bits = (unsigned int)bits;
	}
	snprintf(t->from_text, sizeof(t->from_text), "%s/%u", addr, t->from_bits);
	t->from_set = true;
	return 0;
bad:
	snprintf(err, len, "--from wants ADDR[/PREFIX], IPv4 or IPv6: '%s'", arg);
	return -1;
}

/* Is @fd's peer inside --from? (Always, without --from.) */
static bool tls_peer_allowed(const struct vmig_tls *t, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const unsigned char *a;
	unsigned int full, rest;

	if (!t->from_set)
		return true;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl))
		return false;
	if (ss.ss_family == AF_INET) {
		a = (const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr;
		if (t->from_family != AF_INET)
			return false;
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6) && t->from_family == AF_INET)
			a += 12;
		else if (t->from_family != AF_INET6)
			return false;
	} else {
		return false;
	}
	full = t->from_bits / 8;
	rest = t->from_bits % 8;
	if (memcmp(a, t->from_addr, full))
		return false;
	return !rest || !((a[full] ^ t->from_addr[full]) & (0xff00 >> rest));
}

/**
 * vmig_tls_secure() - authenticate the peer on @fd and put the socket under kTLS
 * @t: credentials from vmig_tls_init()
 * @fd: a connected TCP socket, nothing sent or received on it yet
 * @server: the accepting end
 *
 * With --insecure nothing happens. A peer without the key (or speaking
 * anything but TLS 1.3 with it) fails the handshake; so does one that does
 * not finish in time (VMIG_TLS_SERVER_MS, VMIG_TLS_CLIENT_MS).
 *
 * Return: 0, or -1 with @err saying why (the caller closes @fd).
 */
int vmig_tls_secure(const struct vmig_tls *t, int fd, bool server, char *err, size_t len)
{
	int ms = server ? VMIG_TLS_SERVER_MS : VMIG_TLS_CLIENT_MS;
	struct timeval tmo = { ms / 1000, 0 }, none = { 0, 0 };
	gnutls_psk_server_credentials_t scred = NULL;
	gnutls_psk_client_credentials_t ccred = NULL;
	gnutls_certificate_credentials_t xcred = NULL;
	struct tls_pull pull = { .fd = fd };
	gnutls_session_t s = NULL;
	gnutls_datum_t key;
	int ret;

	if (server && !tls_peer_allowed(t, fd)) {
		snprintf(err, len, "not from %s (--from)", t->from_text);
		return -1;
	}
	if (t->insecure)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	if (t->x509) {
		ret = gnutls_certificate_allocate_credentials(&xcred);
		if (!ret)
			ret = gnutls_certificate_set_x509_key_file(xcred, t->cert, t->key,
								   GNUTLS_X509_FMT_PEM);
		if (!ret) {
			ret = gnutls_certificate_set_x509_trust_file(xcred, t->ca,
								     GNUTLS_X509_FMT_PEM);
			ret = ret > 0 ? 0 : ret ? ret : GNUTLS_E_NO_CERTIFICATE_FOUND;
		}
	} else if (server) {
		ret = gnutls_psk_allocate_server_credentials(&scred);
		if (!ret)
			ret = gnutls_psk_set_server_credentials_file(scred, t->psk_file);
	} else {
		key.data = (unsigned char *)t->key_hex;
		key.size = (unsigned int)strlen(t->key_hex);
		ret = gnutls_psk_allocate_client_credentials(&ccred);
		if (!ret)
			ret = gnutls_psk_set_client_credentials(ccred, t->identity, &key,
								GNUTLS_PSK_KEY_HEX);
	}
	if (!ret)
		ret = gnutls_init(&s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_TICKETS);
	if (!ret)
		ret = gnutls_priority_set_direct(s, t->x509 ? tls_priority_x509 : tls_priority_psk,
						 NULL);
	if (!ret && t->x509) {
		ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, xcred);
		/* Both ends prove themselves: the client's certificate is required. */
		if (server) {
			gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
			/*
			 * Name no CA in the request: a client picks a certificate
			 * by that list and would send none at all, and the
			 * refusal would not say what is wrong with its own.
			 */
			gnutls_certificate_send_x509_rdn_sequence(s, 1);
		}
		/* Chain to --tls-ca, validity dates, and the name when there is one. */
		gnutls_session_set_verify_cert(s, t->peer[0] ? t->peer : NULL, 0);
	} else if (!ret) {
		ret = gnutls_credentials_set(s, GNUTLS_CRD_PSK,
					     server ? (void *)scred : (void *)ccred);
	}
	if (ret) {
		snprintf(err, len, "TLS setup: %s", gnutls_strerror(ret));
		goto out;
	}
	pull.s = s;
	gnutls_transport_set_int(s, fd);
	gnutls_transport_set_ptr2(s, &pull, (gnutls_transport_ptr_t)(long)fd);
	gnutls_transport_set_pull_function(s, tls_pull);
	gnutls_transport_set_pull_timeout_function(s, tls_pull_timeout);
	gnutls_handshake_set_timeout(s, (unsigned int)ms);
	do {
		ret = gnutls_handshake(s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t why = { NULL, 0 };

		gnutls_certificate_verification_status_print(gnutls_session_get_verify_cert_status(s),
							     GNUTLS_CRT_X509, &why, 0);
		snprintf(err, len, "TLS handshake: the peer's certificate: %s",
			 why.data ? (char *)why.data : "not trusted");
		gnutls_free(why.data);
		goto out;
	}
	if (ret < 0) {
		snprintf(err, len, "TLS handshake: %s", gnutls_strerror(ret));
		goto out;
	}
	if (gnutls_record_check_pending(s)) {
		snprintf(err, len, "TLS: data arrived inside the handshake");
		ret = -1;
		goto out;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"))) {
		snprintf(err, len, "kTLS (TCP_ULP tls): %s%s", strerror(errno),
			 errno == ENOENT ? " (is the tls module available?)" : "");
		ret = -1;
		goto out;
	}
	ret = tls_install(s, fd, TLS_TX, err, len);
	if (!ret)
		ret = tls_install(s, fd, TLS_RX, err, len);
out:
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
	if (s)
		gnutls_deinit(s);
	if (scred)
		gnutls_psk_free_server_credentials(scred);
	if (ccred)
		gnutls_psk_free_client_credentials(ccred);
	if (xcred)
		gnutls_certificate_free_credentials(xcred);
	return ret < 0 ? -1 : 0;
}
