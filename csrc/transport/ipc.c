/*
 * ipc.c: ipc:///absolute/path, ipc://relative/path (unix:// is an alias),
 * and abstract://name, a Linux abstract socket: the same connections, at
 * a name that is no file.  Frames carry a type byte before the length.  A
 * socket file left by a listener that is gone (nobody answers on it) is
 * removed before binding; a listener removes its file when it closes.
 */
#include "stream.h"

static int
ipc_ep_init(pnc_endpoint *ep)
{
	pnc_stream_ep *se = ep->tdata;

	pnc_stream_ep_setup(ep, PNC_STREAM_IPC);
	return pnc_net_ipc_addr(ep->url.addr, &se->sa);
}

/*
 * The name is percent-encoded in the URL (abstract://a%00b holds a NUL).
 * An empty one lets a listener's kernel pick a name (its address tells
 * which); a dialer needs one to go to.
 */
static int
abstract_ep_init(pnc_endpoint *ep)
{
	pnc_stream_ep *se = ep->tdata;
	uint8_t name[sizeof(ep->url.addr)];
	size_t len;
	int rv;

	pnc_stream_ep_setup(ep, PNC_STREAM_ABSTRACT);
	if ((rv = pnc_url_decode(ep->url.addr, name, sizeof(name), &len)) != 0)
		return rv;
	if (len == 0 && !ep->listener)
		return PNC_EADDRINVAL;
	return pnc_net_abstract_addr(name, len, &se->sa);
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

const pnc_tran_ops pnc_tran_abstract = {
	.ep_size = sizeof(pnc_stream_ep),
	.ep_init = abstract_ep_init,
	.bind = pnc_stream_bind, /* no file: nothing stale, nothing to remove */
	.connect = pnc_stream_connect,
	.addr = pnc_stream_ep_addr,
	.ep_close = pnc_stream_ep_close,
};

size_t
pnc_ipc_name_max(void)
{
	return pnc_net_unix_name_max();
}
