/*
 * win_wake.c: the wake-up descriptor, a connected loopback tcp pair.
 *
 * Windows has no pipe or eventfd that a socket poller can watch; the read
 * end goes to WSAPoll, and to Python's select (asyncio's selector loop)
 * through pnc_aioq_fd.  A signal is one byte; drain reads them all.
 */
#include <string.h>

#include "../platform.h"

/* The accepted end must be our own connection, not a stranger's. */
static int
same_endpoint(SOCKET local, SOCKET remote)
{
	struct sockaddr_in a, b;
	int la = sizeof(a), lb = sizeof(b);

	if (getsockname(local, (struct sockaddr *) &a, &la) != 0 ||
	    getpeername(remote, (struct sockaddr *) &b, &lb) != 0)
		return 0;
	return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
}

/* Listens on 127.0.0.1, an ephemeral port, for one connection. */
static int
loopback_listener(pnc_sockaddr *sa, pnc_fd *lp)
{
	struct sockaddr_in *in = (struct sockaddr_in *) &sa->ss;
	pnc_addr a;
	int rv;

	memset(sa, 0, sizeof(*sa));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->len = sizeof(*in);
	if ((rv = pnc_net_listen(sa, lp)) != 0)
		return rv;
	if ((rv = pnc_net_addr(*lp, 0, &a)) != 0) {
		pnc_net_close(*lp);
		return rv;
	}
	in->sin_port = htons(a.port);
	return 0;
}

/* Waits (bounded) for a non-blocking connect and its accept to finish. */
static int
pair_up(pnc_fd l, pnc_fd w, pnc_fd *rp)
{
	for (int tries = 0; tries < 100; tries++) {
		int rv = pnc_net_accept(l, rp);
		if (rv == 0) {
			if (same_endpoint(w, *rp))
				return 0;
			pnc_net_close(*rp); /* somebody else's: refuse it, keep waiting */
		} else if (rv != PNC_EAGAIN) {
			return rv;
		}
		(void) pnc_net_wait_readable(l, PNC_FD_NONE, 50);
	}
	return PNC_ETIMEDOUT;
}

int
pnc_wakefd_open(pnc_wakefd *w)
{
	pnc_sockaddr sa;
	pnc_fd l, wr = PNC_FD_NONE, rd = PNC_FD_NONE;
	int rv;

	if ((rv = loopback_listener(&sa, &l)) != 0)
		return rv;
	rv = pnc_net_connect(&sa, &wr);
	if (rv == 0 || rv == PNC_EAGAIN)
		rv = pair_up(l, wr, &rd);
	pnc_net_close(l);
	if (rv != 0) {
		pnc_net_close(wr);
		return rv;
	}
	pnc_net_set_nodelay(wr, 1); /* a signal's byte must not wait for an ack */
	w->rfd = rd;
	w->wfd = wr;
	return 0;
}

void
pnc_wakefd_close(pnc_wakefd *w)
{
	pnc_net_close(w->rfd);
	pnc_net_close(w->wfd);
	w->rfd = w->wfd = PNC_FD_NONE;
}

void
pnc_wakefd_signal(pnc_wakefd *w)
{
	char one = 1;

	/* WSAEWOULDBLOCK means bytes are already waiting: already woken. */
	(void) send(w->wfd, &one, 1, 0);
}

void
pnc_wakefd_drain(pnc_wakefd *w)
{
	char buf[64];

	while (recv(w->rfd, buf, sizeof(buf), 0) > 0) {
	}
}

pnc_fd
pnc_wakefd_fd(const pnc_wakefd *w)
{
	return w->rfd;
}
