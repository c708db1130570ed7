/*
 * stream.h: what tcp, ipc and abstract share: the SP handshake, the
 * length-prefixed framing (ipc adds a type byte), batched writes and
 * chunked reads.
 */
#ifndef PNC_STREAM_H
#define PNC_STREAM_H

#include "../core/core.h"

/* What a stream endpoint connects over: the rest of stream.c is shared. */
typedef enum pnc_stream_kind {
	PNC_STREAM_TCP,      /* 8-byte length prefix, TCP options */
	PNC_STREAM_IPC,      /* type byte + length; addresses are the URL's path */
	PNC_STREAM_ABSTRACT, /* as ipc; addresses are the kernel's name */
} pnc_stream_kind;

typedef struct pnc_stream_ep {
	pnc_stream_kind kind;
	size_t prefix_len; /* 8 for tcp, 9 for ipc and abstract */
	pnc_sockaddr sa;
	pnc_fd fd;         /* listening socket, or a dialer's connect in flight */
	pnc_pollfd pfd;
	pnc_timer accept_timer; /* accepting paused when out of descriptors */
	/* A listener's connections still in their handshake (I/O thread only). */
	pnc_list handshaking;
	int nhandshaking;
} pnc_stream_ep;

void pnc_stream_ep_setup(pnc_endpoint *ep, pnc_stream_kind kind);
int pnc_stream_bind(pnc_endpoint *ep);
void pnc_stream_connect(pnc_endpoint *ep);
void pnc_stream_ep_close(pnc_endpoint *ep);
int pnc_stream_ep_addr(pnc_endpoint *ep, pnc_addr *a);
/* A listener's socket; PNC_ESTATE while a bind retries, PNC_ECLOSED after. */
int pnc_stream_ep_bound_fd(pnc_endpoint *ep, pnc_fd *fdp);

#endif
