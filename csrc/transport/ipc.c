/*
 * ipc.c: ipc:///absolute/path, ipc://relative/path (unix:// is an alias).
 * Frames carry a type byte before the length.  A socket file left by a
 * listener that is gone (nobody answers on it) is removed before binding;
 * a listener removes its file when it closes.
 */
#include "stream.h"

static int
ipc_ep_init(pnc_endpoint *ep)
{
	pnc_stream_ep *se = ep->tdata;

	pnc_stream_ep_setup(ep, 9, 0);
	return pnc_net_ipc_addr(ep->url.addr, &se->sa);
}

static int
ipc_bind(pnc_endpoint *ep)
{
	int rv = pnc_net_ipc_clean_stale(ep->url.addr);

	return rv != 0 ? rv : pnc_stream_bind(ep);
}

static void
ipc_ep_close(pnc_endpoint *ep)
{
	pnc_stream_ep_close(ep);
	if (ep->listener && ep->bound)
		pnc_net_ipc_unlink(ep->url.addr);
}

const pnc_tran_ops pnc_tran_ipc = {
	.ep_size = sizeof(pnc_stream_ep),
	.ep_init = ipc_ep_init,
	.bind = ipc_bind,
	.connect = pnc_stream_connect,
	.addr = pnc_stream_ep_addr,
	.ep_close = ipc_ep_close,
};
