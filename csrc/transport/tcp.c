/*
 * tcp.c: tcp://host:port, and tcp4:// and tcp6://, which resolve the host
 * to IPv4 or IPv6 addresses only, as nng.  A listener's host may be "*" or
 * empty (every IPv4 address; every IPv6 one for tcp6) and its port 0 (the
 * kernel picks; "tcp-bound-port" tells).  Names are resolved when the
 * endpoint is made, so a bad host fails there.
 *
 * tls+tcp://, tls+tcp4:// and tls+tcp6:// are the same inside TLS (the
 * engine: csrc/tls/tls.h): a listener needs a server config with its
 * certificate, a dialer takes a client config (or the defaults), as its
 * start checks (endpoint.c).
 */
#include "stream.h"
#include "../tls/tls.h"

static int
tcp_family(const char *scheme)
{
	if (strncmp(scheme, "tls+", 4) == 0)
		scheme += 4;
	if (strcmp(scheme, "tcp4") == 0)
		return PNC_AF_INET;
	return strcmp(scheme, "tcp6") == 0 ? PNC_AF_INET6 : PNC_AF_UNSPEC;
}

static int
tcp_ep_init(pnc_endpoint *ep)
{
	pnc_stream_ep *se = ep->tdata;
	int rv;

	pnc_stream_ep_setup(ep, PNC_STREAM_TCP);
	if ((rv = pnc_url_hostport(&ep->url, ep->listener)) != 0)
		return rv;
	return pnc_net_resolve(ep->url.host, ep->url.port, ep->listener,
	    tcp_family(ep->url.scheme), &se->sa);
}

static int
tcp_get_int(pnc_endpoint *ep, const char *name, int64_t *vp)
{
	pnc_fd fd;
	int port, rv;

	if (strcmp(name, "tcp-bound-port") != 0 || !ep->listener)
		return PNC_ENOTSUP;
	if ((rv = pnc_stream_ep_bound_fd(ep, &fd)) != 0 ||
	    (rv = pnc_net_local_port(fd, &port)) != 0)
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

/* Its config is checked at its start (pnc_tls_config_fits), once set. */
static int
tls_ep_init(pnc_endpoint *ep)
{
	if (pnc_tls_engine() == NULL)
		return PNC_ENOTSUP; /* the build found no OpenSSL */
	ep->uses_tls = 1;
	return tcp_ep_init(ep);
}

const pnc_tran_ops pnc_tran_tls = {
	.ep_size = sizeof(pnc_stream_ep),
	.ep_init = tls_ep_init,
	.bind = pnc_stream_bind,
	.connect = pnc_stream_connect,
	.addr = pnc_stream_ep_addr,
	.ep_close = pnc_stream_ep_close,
	.get_int = tcp_get_int,
};
