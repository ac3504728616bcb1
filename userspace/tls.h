/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every connection of a migration carries guest memory (or QEMU's device
 * state), so each is mutually authenticated and encrypted before anything
 * else goes over it: a TLS 1.3 handshake with a pre-shared key or X.509
 * certificates on both ends (GnuTLS),
 * whose record keys are then handed to the socket (kTLS, TLS_TX/TLS_RX).
 * From then on the socket encrypts and decrypts by itself, so it can be
 * given to vmig.ko (or to QEMU) and the data path stays in the kernel.
 */
#ifndef VMIGCTL_TLS_H
#define VMIGCTL_TLS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A client that does not finish is dropped by the accepting end sooner
 * than the real source gives up waiting behind it in the listen backlog.
 */
#define VMIG_TLS_SERVER_MS	5000
#define VMIG_TLS_CLIENT_MS	30000

/*
 * The command-line options every connecting or accepting command takes,
 * parsed by vmig_tls_opt(); option codes from VMIG_TLS_OPT_BASE on.
 */
struct vmig_tls_args {
	const char *psk_file;
	const char *cert, *key, *ca;	/* X.509: our chain, our key, the CA */
	const char *peer;		/* --tls-peer: the name the peer's certificate must carry */
	const char *from;		/* receive --from */
	bool insecure;
};

#define VMIG_TLS_OPT_BASE	0x1000
#define VMIG_TLS_OPTIONS \
	{ "psk-file", required_argument, NULL, VMIG_TLS_OPT_BASE + 0 }, \
	{ "insecure", no_argument, NULL, VMIG_TLS_OPT_BASE + 1 }, \
	{ "tls-cert", required_argument, NULL, VMIG_TLS_OPT_BASE + 2 }, \
	{ "tls-key", required_argument, NULL, VMIG_TLS_OPT_BASE + 3 }, \
	{ "tls-ca", required_argument, NULL, VMIG_TLS_OPT_BASE + 4 }, \
	{ "tls-peer", required_argument, NULL, VMIG_TLS_OPT_BASE + 5 }

struct vmig_tls {
	bool insecure;		/* --insecure: plain TCP, no handshake */
	bool x509;		/* certificates, not a pre-shared key */
	const char *cert, *key, *ca;
	char peer[256];		/* the name checked in the peer's certificate ("": chain only) */
	const char *psk_file;	/* "identity:hexkey" lines (psktool's format) */
	char identity[128];	/* the client's: the file's first line */
	char key_hex[256];
	/* receive --from: the only peers accepted, checked before any TLS */
	bool from_set;
	int from_family;		/* AF_INET or AF_INET6 */
	unsigned char from_addr[16];
	unsigned int from_bits;
	char from_text[64];
};

bool vmig_tls_opt(struct vmig_tls_args *a, int c, const char *arg);
int vmig_tls_init(struct vmig_tls *t, const struct vmig_tls_args *a,
		  const char *default_peer, char *err, size_t len);
int vmig_tls_set_from(struct vmig_tls *t, const char *arg, char *err, size_t len);
int vmig_tls_secure(const struct vmig_tls *t, int fd, bool server,
		    char *err, size_t len);

#endif
