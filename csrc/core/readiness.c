/*
 * readiness.c: a socket's readiness descriptors (nng's recv-fd and
 * send-fd), for select(), poll() and Python's selectors.
 *
 * Each is a wake-up descriptor that is readable exactly while a receive
 * (or a send) on the socket's default context would not block: level
 * semantics, so a caller may select, receive one message, and select
 * again.  Whatever may change that (a wake-up of waiters, a send or a
 * receive) marks the socket's readiness due (pnc_sock_ready_changed),
 * and the next unlock of the socket sets each descriptor to what the
 * protocol says now (recv_ready, send_ready).  A closed socket's are
 * readable for good: the call that follows raises Closed.
 *
 * Made on first request, kept until the socket's memory goes
 * (pnc_sock_rele), so a descriptor never changes under a selector.
 * Fields under the socket lock.
 */
#include "core.h"

static int
sock_recv_ready(pnc_socket *s)
{
	return s->proto->recv_ready != NULL ? s->proto->recv_ready(s->dflt)
	                                    : s->recvq.len > 0;
}

static int
sock_send_ready(pnc_socket *s)
{
	/* Unset: fan-out (pub, bus, surveyor) never blocks; a reply (rep,
	 * respondent) waits only for its own pipe's room. */
	return s->proto->send_ready != NULL ? s->proto->send_ready(s->dflt) : 1;
}

void
pnc_sock_ready_update(pnc_socket *s)
{
	s->ready_due = 0;
	for (int kind = PNC_WAKE_RECV; kind <= PNC_WAKE_SEND; kind++) {
		pnc_ready *r = &s->ready[kind];
		int ready;

		if (!r->open)
			continue;
		ready = s->closed ||
		    (kind == PNC_WAKE_RECV ? sock_recv_ready(s) : sock_send_ready(s));
		if (ready && !r->signaled)
			pnc_wakefd_signal(&r->wake);
		else if (!ready && r->signaled)
			pnc_wakefd_drain(&r->wake);
		r->signaled = ready;
	}
}

int
pnc_socket_ready_fd(pnc_socket *s, int sending, int *fdp)
{
	int kind = sending ? PNC_WAKE_SEND : PNC_WAKE_RECV;
	pnc_ready *r = &s->ready[kind];
	int rv = 0;

	pnc_sock_lock(s);
	if (s->closed)
		rv = PNC_ECLOSED;
	else if ((sending ? (void *) s->proto->send : (void *) s->proto->recv) == NULL)
		rv = PNC_ENOTSUP;
	else if (!r->open && (rv = pnc_wakefd_open(&r->wake)) == 0) {
		r->open = 1;
		s->ready_watched = 1;
		/* Messages a past receive left in the kernel come up now. */
		if (kind == PNC_WAKE_RECV)
			pnc_sock_reads_back_if_waited(s, pnc_sock_sole_pipe(s));
		s->ready_due = 1;
	}
	if (rv == 0)
		*fdp = (int) pnc_wakefd_fd(&r->wake);
	pnc_sock_unlock(s);
	return rv;
}

void
pnc_sock_ready_fini(pnc_socket *s)
{
	for (int kind = PNC_WAKE_RECV; kind <= PNC_WAKE_SEND; kind++)
		if (s->ready[kind].open)
			pnc_wakefd_close(&s->ready[kind].wake);
}
