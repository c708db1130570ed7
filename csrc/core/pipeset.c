/*
 * pipeset.c: sending each message to one pipe of a set (pair, push).
 *
 * A pipe is in `ready` while its transport takes more; after each send it
 * goes to the back, which makes the order round-robin.  Socket locked
 * throughout (a send to a pipe never unlocks), except in pnc_ctx_wait.
 */
#include <stdlib.h>

#include "core.h"

void
pnc_pipeset_init(pnc_pipeset *ps)
{
	pnc_list_init(&ps->ready);
	ps->count = 0;
}

/* Back into the ready list if it is still there and takes more. */
static void
pipeset_requeue(pnc_pipeset *ps, pnc_pipe *p)
{
	if (p->attached && !p->closed && !p->proto_ready && p->ops->writable(p)) {
		p->proto_ready = 1;
		pnc_list_append(&ps->ready, &p->proto_node);
	}
}

static pnc_pipe *
pipeset_take(pnc_pipeset *ps)
{
	pnc_node *n = pnc_list_first(&ps->ready);
	pnc_pipe *p;

	if (n == NULL)
		return NULL;
	p = PNC_CONTAINER(n, pnc_pipe, proto_node);
	pnc_list_remove(n);
	p->proto_ready = 0;
	return p;
}

/* Moves queued messages out to ready pipes, then lets a sender try. */
static void
pipeset_drain(pnc_socket *s, pnc_pipeset *ps)
{
	pnc_pipe *p;

	while (s->sendq.len > 0 && (p = pipeset_take(ps)) != NULL) {
		pnc_msg *m = pnc_ring_get(&s->sendq);
		if (pnc_sock_pipe_send(s, p, m) != 0)
			(void) pnc_ring_unget(&s->sendq, m); /* not taken: keep it */
		pipeset_requeue(ps, p);
	}
	if (!pnc_list_empty(&ps->ready))
		pnc_sock_wake(s, PNC_WAKE_SEND, 0, NULL);
}

void
pnc_pipeset_add(pnc_socket *s, pnc_pipeset *ps, pnc_pipe *p)
{
	ps->count++;
	p->proto_ready = 0;
	pipeset_requeue(ps, p);
	pipeset_drain(s, ps);
}

void
pnc_pipeset_remove(pnc_pipeset *ps, pnc_pipe *p)
{
	ps->count--;
	if (p->proto_ready) {
		pnc_list_remove(&p->proto_node);
		p->proto_ready = 0;
	}
}

void
pnc_pipeset_writable(pnc_socket *s, pnc_pipeset *ps, pnc_pipe *p)
{
	pipeset_requeue(ps, p);
	pipeset_drain(s, ps);
}

int
pnc_pipeset_try_send(pnc_socket *s, pnc_pipeset *ps, pnc_msg *m,
    pnc_pipe **sentp)
{
	pnc_pipe *p;
	int rv;

	while ((p = pipeset_take(ps)) != NULL) {
		rv = pnc_sock_pipe_send(s, p, m);
		pipeset_requeue(ps, p);
		if (rv == 0) {
			if (sentp != NULL)
				*sentp = p;
			/* Another sender may be waiting for a pipe we left ready. */
			if (!pnc_list_empty(&ps->ready))
				pnc_sock_wake(s, PNC_WAKE_SEND, 0, NULL);
			return 0;
		}
		/* That pipe is going, or full after all: try the next. */
	}
	return PNC_EAGAIN;
}

int
pnc_pipeset_send(pnc_ctx *c, pnc_pipeset *ps, pnc_msg *m, int flags,
    pnc_wait *w, pnc_pipe **sentp)
{
	pnc_socket *s = c->sock;
	int rv;

	if (sentp != NULL)
		*sentp = NULL;
	if (m->targeted)
		return pnc_sock_send_to(c, m, flags, w);
	for (;;) {
		/* Queued messages go first, to keep the order. */
		if (s->sendq.len == 0 && pnc_pipeset_try_send(s, ps, m, sentp) == 0)
			return 0;
		if ((int64_t) s->sendq.len < s->send_buffer) {
			pnc_msg_keep(m, 0);
			return pnc_ring_put(&s->sendq, m);
		}
		if (flags & PNC_FLAG_NONBLOCK)
			return PNC_EAGAIN;
		if ((rv = pnc_ctx_wait(c, &s->cv_send, &s->send_waiters, w)) != 0)
			return rv;
	}
}

/*
 * Hooks for protocols whose socket state starts with their pnc_pipeset
 * (pair0, pair1, push0, raw req0).
 */
/* A send goes now: to a ready pipe, or into the send queue. */
int
pnc_pipeset_send_ready(pnc_ctx *c)
{
	pnc_socket *s = c->sock;

	return !pnc_list_empty(&((pnc_pipeset *) s->pdata)->ready) ||
	    (int64_t) s->sendq.len < s->send_buffer;
}

int
pnc_pipeset_proto_init(pnc_socket *s)
{
	pnc_pipeset *ps = malloc(sizeof(*ps));

	if (ps == NULL)
		return PNC_ENOMEM;
	pnc_pipeset_init(ps);
	s->pdata = ps;
	return 0;
}

void
pnc_pipeset_proto_fini(pnc_socket *s)
{
	free(s->pdata);
}

int
pnc_pipeset_pipe_start(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_add(s, s->pdata, p);
	return 0;
}

void
pnc_pipeset_pipe_stop(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_remove(s->pdata, p);
}

void
pnc_pipeset_pipe_writable(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_writable(s, s->pdata, p);
}

int
pnc_pipeset_send_raw(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	return pnc_pipeset_send(c, c->sock->pdata, m, flags, w, NULL);
}

int
pnc_pipeset_send_cooked(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	pnc_msg_header_clear(m); /* a cooked socket sends no header of the caller's */
	return pnc_pipeset_send(c, c->sock->pdata, m, flags, w, NULL);
}
