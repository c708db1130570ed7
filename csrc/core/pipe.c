/*
 * pipe.c: what every pipe does whatever its transport: its place in the
 * socket, its hand-over of received messages, its closing.
 *
 * A pipe's way through its socket: its transport makes it (pnc_pipe_init:
 * the transport's reference) and, once the handshake is done, attaches it
 * (pnc_pipe_attach): it waits on the socket's held list for Python's
 * pre-connect verdict, or joins at once (pipe_join), and either list holds
 * the socket's reference to it.  pnc_pipe_close takes it off and drops
 * that reference; the transport drops its own once the connection is gone.
 */
#include "core.h"

static void
pipe_close_task(void *arg)
{
	pnc_pipe *p = arg;

	pnc_pipe_close(p);
	pnc_pipe_rele(p); /* pnc_pipe_post's */
}

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
	pnc_task_init(&p->close_task, pipe_close_task, p);
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
pnc_pipe_post(pnc_pipe *p, pnc_task *t)
{
	pnc_pipe_hold(p);
	if (!pnc_task_post(t))
		pnc_pipe_rele(p); /* posted before, with its own */
}

void
pnc_pipe_close_later(pnc_pipe *p)
{
	pnc_pipe_post(p, &p->close_task);
}

/* Off the lists an attached pipe is on.  Socket locked. */
static void
pipe_unlist_locked(pnc_socket *s, pnc_pipe *p)
{
	pnc_list_remove(&p->sock_node);
	pnc_list_remove(&p->ep_node);
	pnc_idmap_del(&s->pipe_ids, p->id);
}

/* A dialer hears that its connection did not join: it dials again. */
static void
pipe_dial_failed(pnc_pipe *p, int err)
{
	if (p->ep != NULL && !p->ep->listener)
		pnc_ep_connect_failed(p->ep, err);
}

void
pnc_pipe_close(pnc_pipe *p)
{
	pnc_socket *s = p->sock;
	int listed = 0, was_held = 0;

	pnc_sock_lock(s);
	if (p->closed) {
		pnc_sock_unlock(s);
		return;
	}
	p->closed = 1;
	if (p->attached) {
		/* One step: the protocol lets go of it as it leaves the lists. */
		if (s->proto->pipe_stop != NULL)
			s->proto->pipe_stop(s, p);
		pipe_unlist_locked(s, p);
		p->attached = 0;
		PNC_STAT(s->stats.pipes_closed, 1);
		(void) pnc_pipe_post_event(s, p, PNC_PIPE_POST_REMOVE);
		/* A receiver reading this pipe itself stops polling it; a sender
		 * waiting for it to take more sends elsewhere or nowhere. */
		pnc_sock_wake(s, PNC_WAKE_RECV, 1, NULL);
		pnc_sock_wake(s, PNC_WAKE_SEND, 1, NULL);
		listed = 1;
	} else if (pnc_node_linked(&p->sock_node)) {
		pnc_list_remove(&p->sock_node); /* refused while held */
		s->nheld--;
		PNC_STAT(s->stats.pipes_rejected, 1);
		listed = was_held = 1;
	}
	pnc_list_remove(&p->paused_node);
	pnc_sock_unlock(s);
	if (was_held)
		pipe_dial_failed(p, PNC_ECONNREFUSED);
	p->ops->close(p);
	if (p->ep != NULL)
		pnc_ep_pipe_gone(p->ep, p);
	if (listed)
		pnc_pipe_rele(p); /* the socket's */
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
	pnc_sock_unlock(s);
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
	pnc_sock_unlock(s);
}

/* Not joining: counted, its dialer told, and closed. */
static void
pipe_refuse(pnc_pipe *p, int err)
{
	PNC_STAT(p->sock->stats.pipes_rejected, 1);
	pipe_dial_failed(p, err);
	pnc_pipe_close(p);
}

/*
 * On the socket's list, with the socket's reference, and the protocol's
 * from its pipe_start on (which may send to it at once).  Socket locked.
 */
static int
pipe_add_locked(pnc_socket *s, pnc_pipe *p)
{
	int rv;

	if (s->closed || p->closed || (p->ep != NULL && p->ep->closed))
		return PNC_ECLOSED;
	if ((rv = pnc_idmap_set(&s->pipe_ids, p->id, p)) != 0)
		return rv;
	pnc_sock_batch_send(s); /* made for the pipes before it, which may frame otherwise */
	pnc_list_append(&s->pipes, &p->sock_node);
	if (p->ep != NULL)
		pnc_list_append(&p->ep->pipes, &p->ep_node);
	p->attached = 1;
	if (s->proto->pipe_start != NULL && (rv = s->proto->pipe_start(s, p)) != 0) {
		pipe_unlist_locked(s, p);
		p->attached = 0;
		return rv;
	}
	pnc_pipe_hold(p); /* the socket's */
	PNC_STAT(s->stats.pipes_opened, 1);
	return 0;
}

/* Joins the socket now: the protocol may still refuse it. */
static void
pipe_join(pnc_pipe *p)
{
	pnc_socket *s = p->sock;
	int rv;

	pnc_sock_lock(s);
	rv = pipe_add_locked(s, p);
	/* In the step that adds it: a close that follows at once (a message
	 * may go through first) posts its removal after this. */
	if (rv == 0)
		(void) pnc_pipe_post_event(s, p, PNC_PIPE_POST_CONNECT);
	pnc_sock_unlock(s);
	if (rv != 0) {
		pipe_refuse(p, rv);
		return;
	}
	if (p->ops->started != NULL)
		p->ops->started(p);
	if (p->ep != NULL && !p->ep->listener)
		pnc_ep_connected(p->ep, p);
}

/* Waits for the pre-connect verdict: 0, or why it cannot.  Socket locked. */
static int
pipe_hold_locked(pnc_socket *s, pnc_pipe *p)
{
	if (s->nheld >= PNC_HELD_MAX)
		return PNC_ENOMEM;
	if (pnc_pipe_post_event(s, p, PNC_PIPE_PRE_CONNECT) != 0)
		return PNC_ENOMEM; /* no verdict would ever come */
	pnc_pipe_hold(p); /* the socket's, while held */
	pnc_list_append(&s->held, &p->sock_node);
	s->nheld++;
	return 0;
}

void
pnc_pipe_attach(pnc_pipe *p)
{
	pnc_socket *s = p->sock;
	int rv;

	if (p->peer_id != s->proto->peer_id) {
		/* The wrong protocol at the other end: refused before anyone asks. */
		pipe_refuse(p, PNC_EPROTO);
		return;
	}
	pnc_sock_lock(s);
	if ((s->watch & PNC_PIPE_PRE_CONNECT) && !s->closed && !p->closed) {
		rv = pipe_hold_locked(s, p);
		pnc_sock_unlock(s);
		if (rv != 0)
			pipe_refuse(p, rv);
		return;
	}
	pnc_sock_unlock(s);
	pipe_join(p);
}

/* Off the held list: the socket's reference is now the caller's. */
static pnc_pipe *
pipe_held_take(pnc_socket *s, uint32_t id)
{
	PNC_LIST_EACH(&s->held, n) {
		pnc_pipe *p = PNC_CONTAINER(n, pnc_pipe, sock_node);
		if (p->id == id) {
			pnc_list_remove(n);
			s->nheld--;
			return p;
		}
	}
	return NULL;
}

int
pnc_pipe_admit(pnc_socket *s, uint32_t id, int accept)
{
	pnc_pipe *p;

	pnc_sock_lock(s);
	p = pipe_held_take(s, id);
	pnc_sock_unlock(s);
	if (p == NULL)
		return PNC_ECLOSED; /* gone meanwhile, or closed by the callback */
	if (accept)
		pipe_join(p);
	else
		pipe_refuse(p, PNC_ECONNREFUSED);
	pnc_pipe_rele(p); /* the held list's */
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

	pnc_sock_lock(s);
	p = pipe_find_locked(s, id);
	pnc_sock_unlock(s);
	return p;
}

int
pnc_socket_pipes(pnc_socket *s, uint32_t *ids, int max)
{
	int n = 0;

	pnc_sock_lock(s);
	PNC_LIST_EACH(&s->pipes, node) {
		if (n < max)
			ids[n] = PNC_CONTAINER(node, pnc_pipe, sock_node)->id;
		n++;
	}
	pnc_sock_unlock(s);
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
pnc_pipe_get_string(pnc_socket *s, uint32_t id, const char *name, char *buf,
    size_t size)
{
	pnc_pipe *p = pipe_find(s, id);
	int rv = PNC_ENOTSUP;

	if (p == NULL)
		return PNC_ECLOSED;
	if (size == 0)
		rv = PNC_EINVAL;
	else if (p->ops->get_string != NULL)
		rv = p->ops->get_string(p, name, buf, size);
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
		dst[i] = pnc_atomic_load_relaxed_u64(&src[i]);
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
