/*
 * stream.h: what tcp and ipc share: the SP handshake, the length-prefixed
 * framing (ipc adds a type byte), batched writes and chunked reads.
 */
#ifndef PNC_STREAM_H
#define PNC_STREAM_H

#include "../core/core.h"

typedef struct pnc_stream_ep {
	size_t prefix_len; /* 8 for tcp, 9 for ipc */
	int tcp;           /* set TCP_NODELAY on its connections */
	pnc_sockaddr sa;
	pnc_fd fd;         /* listening socket, or a dialer's connect in flight */
	pnc_pollfd pfd;
	pnc_timer accept_timer; /* accepting paused when out of descriptors */
	/* A listener's connections still in their handshake (I/O thread only). */
	pnc_list handshaking;
	int nhandshaking;
} pnc_stream_ep;

void pnc_stream_ep_setup(pnc_endpoint *ep, size_t prefix_len, int tcp);
int pnc_stream_bind(pnc_endpoint *ep);
void pnc_stream_connect(pnc_endpoint *ep);
void pnc_stream_ep_close(pnc_endpoint *ep);
int pnc_stream_ep_addr(pnc_endpoint *ep, pnc_addr *a);

#endif
