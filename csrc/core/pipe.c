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
	int was_held = 0;

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
		PNC_STAT(s->stats.pipes_closed, 1);
		pnc_pipe_post_event(s, p, PNC_PIPE_POST_REMOVE);
		/* A receiver reading this pipe itself stops polling it. */
		pnc_sock_wake(s, PNC_WAKE_RECV, 1, NULL);
	} else if (pnc_node_linked(&p->sock_node)) {
		pnc_list_remove(&p->sock_node); /* refused while held */
		PNC_STAT(s->stats.pipes_rejected, 1);
		was_held = 1;
	}
	pnc_list_remove(&p->paused_node);
	pnc_mtx_unlock(&s->mtx);
	if (was_held && p->ep != NULL && !p->ep->listener)
		pnc_ep_connect_failed(p->ep, PNC_ECONNREFUSED);
	if (was_held)
		pnc_pipe_rele(p); /* the hold's reference */

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

	pnc_sock_lock_holding_wakes(s);
	if (p->attached) {
		for (; i < n; i++) {
			PNC_STAT_LOCKED(p->stats.msgs_in, 1);
			PNC_STAT_LOCKED(p->stats.bytes_in, msgs[i]->len);
			PNC_STAT_LOCKED(s->stats.msgs_in, 1);
			PNC_STAT_LOCKED(s->stats.bytes_in, msgs[i]->len);
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
	pnc_sock_unlock_waking(s);
	/* Messages a detached pipe brought, or that came after a violation. */
	for (size_t j = (i < n && rv != 0) ? i + 1 : i; j < n; j++)
		pnc_msg_free(msgs[j]);
	if (i < n && rv != 0) {
		PNC_STAT(s->stats.dropped_bad_header, 1);
		pnc_pipe_close(p); /* a protocol violation: this pipe only */
		return -1;
	}
	return pause;
}

void
pnc_pipe_became_writable(pnc_pipe *p)
{
	pnc_socket *s = p->sock;

	pnc_sock_lock_holding_wakes(s);
	if (p->attached && s->proto->pipe_writable != NULL)
		s->proto->pipe_writable(s, p);
	pnc_sock_unlock_waking(s);
}

/* Joins the socket now: the protocol may still refuse it. */
static void
pipe_join(pnc_pipe *p)
{
	pnc_socket *s = p->sock;
	int rv = pnc_sock_add_pipe(s, p);

	if (rv != 0) {
		PNC_STAT(s->stats.pipes_rejected, 1);
		if (p->ep != NULL && !p->ep->listener)
			pnc_ep_connect_failed(p->ep, rv);
		pnc_pipe_close(p);
		return;
	}
	PNC_STAT(s->stats.pipes_opened, 1);
	if (p->ops->started != NULL)
		p->ops->started(p);
	if (p->ep != NULL && !p->ep->listener)
		pnc_ep_connected(p->ep, p);
	pnc_mtx_lock(&s->mtx);
	if (p->attached)
		pnc_pipe_post_event(s, p, PNC_PIPE_POST_CONNECT);
	pnc_mtx_unlock(&s->mtx);
}

void
pnc_pipe_attach(pnc_pipe *p)
{
	pnc_socket *s = p->sock;

	if (p->peer_id != s->proto->peer_id) {
		/* The wrong protocol at the other end: refused before anyone asks. */
		PNC_STAT(s->stats.pipes_rejected, 1);
		if (p->ep != NULL && !p->ep->listener)
			pnc_ep_connect_failed(p->ep, PNC_EPROTO);
		pnc_pipe_close(p);
		return;
	}
	pnc_mtx_lock(&s->mtx);
	if ((s->watch & PNC_PIPE_PRE_CONNECT) && !s->closed && !p->closed) {
		/* Held (in s->held by its socket node) until Python's verdict. */
		pnc_pipe_hold(p);
		pnc_list_append(&s->held, &p->sock_node);
		pnc_pipe_post_event(s, p, PNC_PIPE_PRE_CONNECT);
		pnc_mtx_unlock(&s->mtx);
		return;
	}
	pnc_mtx_unlock(&s->mtx);
	pipe_join(p);
}

static pnc_pipe *
pipe_held_take(pnc_socket *s, uint32_t id)
{
	PNC_LIST_EACH(&s->held, n) {
		pnc_pipe *p = PNC_CONTAINER(n, pnc_pipe, sock_node);
		if (p->id == id) {
			pnc_list_remove(n);
			return p;
		}
	}
	return NULL;
}

int
pnc_pipe_admit(pnc_socket *s, uint32_t id, int accept)
{
	pnc_pipe *p;

	pnc_mtx_lock(&s->mtx);
	p = pipe_held_take(s, id);
	pnc_mtx_unlock(&s->mtx);
	if (p == NULL)
		return PNC_ECLOSED; /* gone meanwhile, or closed by the callback */
	if (accept) {
		pipe_join(p);
	} else {
		PNC_STAT(s->stats.pipes_rejected, 1);
		if (p->ep != NULL && !p->ep->listener)
			pnc_ep_connect_failed(p->ep, PNC_ECONNREFUSED);
		pnc_pipe_close(p);
	}
	pnc_pipe_rele(p); /* the hold's reference */
	return 0;
}

/* A pipe by id, attached or held, with a reference; socket locked. */
static pnc_pipe *
pipe_find_locked(pnc_socket *s, uint32_t id)
{
	pnc_pipe *p = pnc_idmap_get(&s->pipe_ids, id);

	if (p == NULL) {
		PNC_LIST_EACH(&s->held, n) {
			pnc_pipe *q = PNC_CONTAINER(n, pnc_pipe, sock_node);
			if (q->id == id)
				p = q;
		}
	}
	if (p != NULL)
		pnc_pipe_hold(p);
	return p;
}

static pnc_pipe *
pipe_find(pnc_socket *s, uint32_t id)
{
	pnc_pipe *p;

	pnc_mtx_lock(&s->mtx);
	p = pipe_find_locked(s, id);
	pnc_mtx_unlock(&s->mtx);
	return p;
}

int
pnc_socket_pipes(pnc_socket *s, uint32_t *ids, int max)
{
	int n = 0;

	pnc_mtx_lock(&s->mtx);
	PNC_LIST_EACH(&s->pipes, node) {
		if (n < max)
			ids[n] = PNC_CONTAINER(node, pnc_pipe, sock_node)->id;
		n++;
	}
	pnc_mtx_unlock(&s->mtx);
	return n;
}

int
pnc_pipe_info_get(pnc_socket *s, uint32_t id, pnc_pipe_info *info)
{
	pnc_pipe *p = pipe_find(s, id);
	int rv;

	if (p == NULL)
		return PNC_ECLOSED;
	memset(info, 0, sizeof(*info));
	info->id = p->id;
	if (p->ep != NULL) {
		info->endpoint_id = p->ep->id;
		info->from_listener = p->ep->listener;
	}
	if ((rv = p->ops->addr(p, 0, &info->local)) == 0)
		rv = p->ops->addr(p, 1, &info->remote);
	pnc_pipe_rele(p);
	return rv;
}

int
pnc_pipe_get_int(pnc_socket *s, uint32_t id, const char *name, int64_t *vp)
{
	pnc_pipe *p = pipe_find(s, id);
	int rv = PNC_ENOTSUP;

	if (p == NULL)
		return PNC_ECLOSED;
	if (p->ops->get_int != NULL)
		rv = p->ops->get_int(p, name, vp);
	pnc_pipe_rele(p);
	return rv;
}

int
pnc_pipe_close_id(pnc_socket *s, uint32_t id)
{
	pnc_pipe *p = pipe_find(s, id);

	if (p == NULL)
		return PNC_ECLOSED;
	pnc_pipe_close(p);
	pnc_pipe_rele(p);
	return 0;
}

static void
stats_copy(pnc_stats *to, const pnc_stats *from)
{
	const uint64_t *src = (const uint64_t *) from;
	uint64_t *dst = (uint64_t *) to;

	for (size_t i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

int
pnc_socket_stats(pnc_socket *s, pnc_stats *st)
{
	stats_copy(st, &s->stats);
	return 0;
}

int
pnc_pipe_stats(pnc_socket *s, uint32_t id, pnc_stats *st)
{
	pnc_pipe *p = pipe_find(s, id);

	if (p == NULL)
		return PNC_ECLOSED;
	stats_copy(st, &p->stats);
	pnc_pipe_rele(p);
	return 0;
}
