/*
 * pipe.c: what every pipe does whatever its transport: its place in the
 * socket, its hand-over of received messages, its closing.
 */
#include "core.h"

void
pnc_pipe_init(pnc_pipe *p, const pnc_pipe_ops *ops, pnc_socket *s,
    pnc_endpoint *ep)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->refs = 1; /* the transport's, dropped when it is done with it */
	p->id = pnc_next_id();
	p->sock = s;
	p->ep = ep;
	pnc_sock_hold(s);
	if (ep != NULL)
		pnc_ep_hold(ep);
}

void
pnc_pipe_hold(pnc_pipe *p)
{
	pnc_atomic_inc(&p->refs);
}

void
pnc_pipe_rele(pnc_pipe *p)
{
	pnc_socket *s;
	pnc_endpoint *ep;

	if (pnc_atomic_dec(&p->refs) != 0)
		return;
	s = p->sock;
	ep = p->ep;
	p->ops->destroy(p);
	if (ep != NULL)
		pnc_ep_rele(ep);
	pnc_sock_rele(s);
}

void
pnc_pipe_close(pnc_pipe *p)
{
	pnc_socket *s = p->sock;

	pnc_mtx_lock(&s->mtx);
	if (p->closed) {
		pnc_mtx_unlock(&s->mtx);
		return;
	}
	p->closed = 1;
	if (p->attached) {
		if (s->proto->pipe_stop != NULL)
			s->proto->pipe_stop(s, p);
		pnc_list_remove(&p->sock_node);
		pnc_idmap_del(&s->pipe_ids, p->id);
		p->attached = 0;
	}
	pnc_list_remove(&p->paused_node);
	pnc_mtx_unlock(&s->mtx);

	p->ops->close(p);
	if (p->ep != NULL)
		pnc_ep_pipe_gone(p->ep, p);
}

int
pnc_pipe_deliver(pnc_pipe *p, pnc_msg **msgs, size_t n)
{
	pnc_socket *s = p->sock;
	size_t i = 0;
	int rv = 0, pause = 0;

	pnc_mtx_lock(&s->mtx);
	if (p->attached) {
		for (; i < n; i++) {
			rv = s->proto->deliver(s, p, msgs[i]);
			if (rv == PNC_EAGAIN)
				pause = 1;
			else if (rv != 0)
				break;
		}
		if (pause && i == n && !p->paused) {
			/* Under the lock, so a receiver's resume cannot come first. */
			p->paused = 1;
			pnc_list_append(&s->paused, &p->paused_node);
			p->ops->pause(p, 1);
		}
	}
	pnc_mtx_unlock(&s->mtx);
	/* Messages a detached pipe brought, or that came after a violation. */
	for (size_t j = (i < n && rv != 0) ? i + 1 : i; j < n; j++)
		pnc_msg_free(msgs[j]);
	if (i < n && rv != 0) {
		pnc_pipe_close(p); /* a protocol violation: this pipe only */
		return -1;
	}
	return pause;
}

void
pnc_pipe_became_writable(pnc_pipe *p)
{
	pnc_socket *s = p->sock;

	pnc_mtx_lock(&s->mtx);
	if (p->attached && s->proto->pipe_writable != NULL)
		s->proto->pipe_writable(s, p);
	pnc_mtx_unlock(&s->mtx);
}
