/*
 * tcp.c: tcp://host:port.  A listener's host may be "*" or empty (every
 * IPv4 address) and its port 0 (the kernel picks; "tcp-bound-port" tells).
 * Names are resolved when the endpoint is made, so a bad host fails there.
 */
#include "stream.h"

static int
tcp_ep_init(pnc_endpoint *ep)
{
	pnc_stream_ep *se = ep->tdata;
	int rv;

	pnc_stream_ep_setup(ep, 8, 1);
	if ((rv = pnc_url_hostport(&ep->url, ep->listener)) != 0)
		return rv;
	return pnc_net_resolve(ep->url.host, ep->url.port, ep->listener, &se->sa);
}

static int
tcp_get_int(pnc_endpoint *ep, const char *name, int64_t *vp)
{
	pnc_stream_ep *se = ep->tdata;
	int port, rv;

	if (strcmp(name, "tcp-bound-port") != 0 || !ep->listener)
		return PNC_ENOTSUP;
	if (se->fd == PNC_FD_NONE)
		return PNC_ESTATE; /* not bound (yet) */
	if ((rv = pnc_net_local_port(se->fd, &port)) != 0)
		return rv;
	*vp = port;
	return 0;
}

const pnc_tran_ops pnc_tran_tcp = {
	.ep_size = sizeof(pnc_stream_ep),
	.ep_init = tcp_ep_init,
	.bind = pnc_stream_bind,
	.connect = pnc_stream_connect,
	.addr = pnc_stream_ep_addr,
	.ep_close = pnc_stream_ep_close,
	.get_int = tcp_get_int,
};
