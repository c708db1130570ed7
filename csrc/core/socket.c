/* socket.c: sockets, and the generic receive queue most protocols use. */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

static int
sock_recv_limit(const pnc_socket *s)
{
	/* A recv-buffer of 0 still holds the message being handed over. */
	return s->recv_buffer > 0 ? (int) s->recv_buffer : 1;
}

static void sock_batch_task(void *arg);

int
pnc_socket_open(pnc_socket **sockp, const char *protocol, int raw)
{
	const pnc_proto_ops *proto = pnc_proto_find(protocol, raw);
	pnc_socket *s;
	int rv;

	if (proto == NULL)
		return PNC_ENOTSUP;
	if ((rv = pnc_io_start()) != 0)
		return rv;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PNC_ENOMEM;
	pnc_mtx_init(&s->mtx);
	pnc_cv_init(&s->cv_recv);
	pnc_cv_init(&s->cv_send);
	s->refs = 1;
	s->id = pnc_next_id();
	s->proto = proto;
	s->raw = raw;
	pnc_ring_init(&s->recvq);
	pnc_ring_init(&s->sendq);
	pnc_list_init(&s->pipes);
	pnc_list_init(&s->held);
	pnc_list_init(&s->kicks);
	pnc_idmap_init(&s->pipe_ids);
	pnc_list_init(&s->paused);
	pnc_list_init(&s->endpoints);
	pnc_list_init(&s->dialing);
	pnc_list_init(&s->dial_waiting);
	pnc_list_init(&s->ctxs);
	pnc_list_init(&s->waiters[PNC_WAKE_RECV]);
	pnc_list_init(&s->waiters[PNC_WAKE_SEND]);
	pnc_task_init(&s->batch_task, sock_batch_task, s);
	s->recv_timeout = -1;
	s->send_timeout = -1;
	s->recv_buffer = 1;
	s->send_buffer = 0;
	s->conn.recv_max = PNC_RECV_MAX_DEFAULT;
	s->conn.reconnect_min = 1000;
	s->conn.reconnect_max = 0;
	s->conn.tcp_nodelay = 1;
	snprintf(s->name, sizeof(s->name), "%u", (unsigned) s->id);
	if ((proto->init != NULL && (rv = proto->init(s)) != 0) ||
	    (rv = pnc_sock_ctx_init(s)) != 0) {
		pnc_sock_rele(s);
		return rv;
	}
	*sockp = s;
	return 0;
}

void
pnc_sock_hold(pnc_socket *s)
{
	pnc_atomic_inc(&s->refs);
}

void
pnc_sock_rele(pnc_socket *s)
{
	if (pnc_atomic_dec(&s->refs) != 0)
		return;
	free(s->dflt); /* see pnc_sock_ctx_init */
	if (s->proto->fini != NULL)
		s->proto->fini(s);
	pnc_ring_fini(&s->recvq);
	pnc_ring_fini(&s->sendq);
	pnc_idmap_fini(&s->pipe_ids);
	if (s->inline_wake_open)
		pnc_wakefd_close(&s->inline_wake);
	pnc_sock_ready_fini(s);
	pnc_tls_config_release(s->tls);
	pnc_cv_fini(&s->cv_recv);
	pnc_cv_fini(&s->cv_send);
	pnc_mtx_fini(&s->mtx);
	free(s);
}

int
pnc_socket_close(pnc_socket *s)
{
	pnc_list closing; /* endpoints closed, whose descriptors may not be let go yet */

	pnc_sock_lock(s);
	if (s->closed) {
		pnc_sock_unlock(s);
		return PNC_ECLOSED;
	}
	s->closed = 1;
	pnc_sock_batch_send(s); /* the pipes flush it as they close */
	pnc_ctx_close_locked(s->dflt);
	while (!pnc_list_empty(&s->ctxs))
		pnc_ctx_close_locked(PNC_CONTAINER(pnc_list_first(&s->ctxs),
		    pnc_ctx, sock_node));
	/*
	 * Endpoints first, so that no new pipe arrives while the rest go.
	 * All are closed before the wait for the I/O thread to let go of
	 * their descriptors: one wake-up of it per endpoint, waited for in
	 * turn, made closing 8,000 dialers take half a second.
	 */
	pnc_list_init(&closing);
	while (!pnc_list_empty(&s->endpoints)) {
		pnc_endpoint *ep = PNC_CONTAINER(pnc_list_first(&s->endpoints),
		    pnc_endpoint, sock_node);
		int waits;

		pnc_ep_hold(ep);
		pnc_sock_unlock(s);
		waits = pnc_ep_close_start(ep); /* takes it off the list */
		if (!waits)
			pnc_ep_rele(ep);
		pnc_sock_lock(s);
		if (waits)
			pnc_list_append(&closing, &ep->sock_node);
	}
	while (!pnc_list_empty(&closing)) {
		pnc_endpoint *ep = PNC_CONTAINER(pnc_list_first(&closing),
		    pnc_endpoint, sock_node);

		pnc_list_remove(&ep->sock_node);
		pnc_ep_close_wait_locked(ep);
		pnc_sock_unlock(s);
		pnc_ep_rele(ep);
		pnc_sock_lock(s);
	}
	/* Each pass starts from the head again: the list changed meanwhile. */
	for (;;) {
		pnc_list *l = !pnc_list_empty(&s->held) ? &s->held : &s->pipes;
		pnc_pipe *p;

		if (pnc_list_empty(l))
			break;
		p = PNC_CONTAINER(pnc_list_first(l), pnc_pipe, sock_node);
		pnc_pipe_hold(p);
		pnc_sock_unlock(s);
		pnc_pipe_close(p); /* takes it off its list */
		pnc_pipe_rele(p);
		pnc_sock_lock(s);
	}
	pnc_sock_inline_wake_release(s);
	pnc_sock_unlock(s);
	return 0;
}

void
pnc_socket_release(pnc_socket *s)
{
	(void) pnc_socket_close(s);
	pnc_sock_rele(s);
}

uint32_t
pnc_socket_id(const pnc_socket *s)
{
	return s->id;
}

const char *
pnc_socket_protocol(const pnc_socket *s, int peer)
{
	return peer ? s->proto->peer_name : s->proto->name;
}

int
pnc_sock_queue_unrecv(pnc_ctx *c, pnc_msg *m)
{
	return pnc_ring_unget(&c->sock->recvq, m);
}

/* PNC_EAGAIN once the queue is full, counting what the pipe may add. */
static int
sock_queue_full(const pnc_socket *s, const pnc_pipe *p)
{
	int limit = sock_recv_limit(s);

	if ((int) s->recvq.len < limit)
		return 0;
	if ((int) s->recvq.len < limit + p->ops->slack_msgs &&
	    s->recvq.bytes < p->ops->slack_bytes)
		return 0;
	return PNC_EAGAIN;
}

/*
 * Whether a thread waiting on the cv is to be woken.  A yes for a message
 * of the queue also marks that wake-up pending (recv_wake_pending), until
 * a receiver is back from its wait: so the caller must then wake one.
 */
static int
sock_cv_wake_wanted(pnc_socket *s, int kind, int all, const pnc_ctx *only)
{
	if (kind == PNC_WAKE_SEND)
		return s->send_waiters > 0;
	if (s->recv_waiters == 0)
		return 0;
	if (all || only != NULL)
		return 1;
	/* A message for the queue: a receiver already woken takes it, or passes it on. */
	if (s->recv_wake_pending)
		return 0;
	s->recv_wake_pending = 1;
	return 1;
}

int
pnc_sock_queue_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	m->pipe_id = p->id;
	if (pnc_ring_put(&s->recvq, m) != 0) {
		PNC_STAT(s->stats.dropped_queue_full, 1);
		pnc_msg_free(m); /* out of memory: drop, as a full queue would */
		return PNC_EAGAIN;
	}
	pnc_sock_wake(s, PNC_WAKE_RECV, 0, NULL);
	return sock_queue_full(s, p);
}

int
pnc_sock_queue_recv(pnc_ctx *c, pnc_msg **mp, int flags, pnc_wait *w)
{
	pnc_socket *s = c->sock;
	int rv;

	for (;;) {
		pnc_msg *m = pnc_ring_get(&s->recvq);
		if (m != NULL) {
			/* More are left: the next receiver is woken for them. */
			if (s->recvq.len > 0 && sock_cv_wake_wanted(s, PNC_WAKE_RECV, 0, NULL))
				pnc_cv_wake_one(&s->cv_recv);
			if ((int) s->recvq.len < sock_recv_limit(s))
				pnc_sock_resume_pipes(s);
			*mp = m;
			return 0;
		}
		if (flags & PNC_FLAG_NONBLOCK)
			return PNC_EAGAIN;
		if ((rv = pnc_ctx_wait(c, &s->cv_recv, &s->recv_waiters, w)) != 0)
			return rv;
	}
}

void
pnc_sock_resume_pipes(pnc_socket *s)
{
	while (!pnc_list_empty(&s->paused)) {
		pnc_node *n = pnc_list_first(&s->paused);
		pnc_pipe *p = PNC_CONTAINER(n, pnc_pipe, paused_node);
		pnc_list_remove(n);
		p->paused = 0;
		p->ops->pause(p, 0);
	}
}

/* Counts what p took, on it and on the socket.  Socket locked. */
static void
sock_pipe_took(pnc_socket *s, pnc_pipe *p, unsigned msgs, size_t bytes)
{
	PNC_STAT_LOCKED(p->stats.msgs_out, msgs);
	PNC_STAT_LOCKED(p->stats.bytes_out, bytes);
	PNC_STAT_LOCKED(s->stats.msgs_out, msgs);
	PNC_STAT_LOCKED(s->stats.bytes_out, bytes);
}

/* shared: m stays the caller's (see pnc_pipe_ops.send_shared). */
static int
sock_pipe_send(pnc_socket *s, pnc_pipe *p, pnc_msg *m, int shared)
{
	size_t len = m->len;
	int rv;

	if (!p->ops->takes_lent)
		pnc_msg_keep(m, 0);
	if (!shared) {
		rv = p->ops->send(p, m);
	} else if (p->ops->send_shared != NULL) {
		rv = p->ops->send_shared(p, m);
	} else {
		pnc_msg_hold(m);
		if ((rv = p->ops->send(p, m)) != 0)
			pnc_msg_free(m);
	}
	if (rv == 0)
		sock_pipe_took(s, p, 1, len);
	return rv;
}

int
pnc_sock_pipe_send(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	return sock_pipe_send(s, p, m, 0);
}

int
pnc_sock_send_to(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	pnc_socket *s = c->sock;
	int rv;

	for (;;) {
		pnc_pipe *p = pnc_idmap_get(&s->pipe_ids, m->pipe_id);

		rv = p != NULL ? pnc_sock_pipe_send(s, p, m) : PNC_ECLOSED;
		if (rv == PNC_ECLOSED && m->targeted)
			return rv; /* the peer its sender chose is gone: m stays the sender's */
		if (rv == PNC_ECLOSED) {
			pnc_msg_free(m); /* a reply to a peer that is gone: dropped, as nng */
			return 0;
		}
		if (rv == 0)
			return 0;
		if (flags & PNC_FLAG_NONBLOCK)
			return PNC_EAGAIN;
		if ((rv = pnc_ctx_wait(c, &s->cv_send, &s->send_waiters, w)) != 0)
			return rv;
	}
}

/*
 * A message the caller broadcasts right after the previous broadcast ended
 * is part of a stream, whatever each pipe saw of it: a pipe's own gap
 * between two sends is the whole broadcast, every other pipe's write
 * included, and once that passed the transport's cork window each write
 * went out alone, which made the broadcast slower still (1 -> 64 pub/sub
 * fell into 64 writes per message, 0.3 ms each, and never left it).
 */
#define BROADCAST_STREAM_GAP_NS 200000
/*
 * A broadcast in a stream (one within BROADCAST_STREAM_GAP_NS of the last)
 * of a frame up to BATCH_FRAME_MAX bytes is copied once into the socket's
 * batch, which every pipe then takes whole, with a reference, once
 * BATCH_FULL bytes are in: one copy and one write lock per pipe per batch,
 * where each message went to each pipe under its write lock and was
 * copied there (pub/sub 1 -> 64 subscribers over tcp: the publisher spent
 * a third of its CPU on the 64 locks of every message).  A batch is of
 * frames as a pipe writes them, so it serves only when every pipe frames
 * alike (pnc_pipe.frame_prefix, stream transports): else, and for the
 * rest, each message goes to each pipe as before.
 */
#define BATCH_FULL (32u << 10)
#define BATCH_FRAME_MAX 512 /* the longest prefix included */

/* The frame prefix length every pipe has and that takes batches, or 0. */
static uint8_t
sock_batch_prefix(pnc_socket *s)
{
	uint8_t prefix = 0;

	PNC_LIST_EACH(&s->pipes, node) {
		pnc_pipe *p = PNC_CONTAINER(node, pnc_pipe, sock_node);

		if (p->frame_prefix == 0 || (prefix != 0 && p->frame_prefix != prefix))
			return 0;
		prefix = p->frame_prefix;
	}
	return prefix;
}

void
pnc_sock_batch_send(pnc_socket *s)
{
	pnc_msg *b = s->batch;

	if (b == NULL)
		return;
	s->batch = NULL;
	PNC_LIST_EACH(&s->pipes, node) {
		pnc_pipe *p = PNC_CONTAINER(node, pnc_pipe, sock_node);

		/* A pipe that takes no more misses these: fan-out never blocks. */
		if (p->frame_prefix == s->batch_prefix && p->ops->send_shared(p, b) == 0)
			sock_pipe_took(s, p, s->batch_msgs, s->batch_bytes);
		else
			PNC_STAT(s->stats.dropped_queue_full, s->batch_msgs);
	}
	pnc_msg_free(b);
}

/* On the I/O thread: what the sender left in the batch goes now. */
static void
sock_batch_task(void *arg)
{
	pnc_socket *s = arg;

	/* A sender on this CPU that posted this may have more to add: let it. */
	pnc_thread_yield();
	pnc_sock_lock(s);
	pnc_sock_batch_send(s);
	pnc_sock_unlock(s);
	pnc_sock_rele(s); /* the post's */
}

/* 1 if m's frame went into the batch (m is still the caller's). */
static int
sock_batch_add(pnc_socket *s, pnc_msg *m)
{
	pnc_msg *b = s->batch;
	uint8_t prefix;

	/* The message first: a walk of the pipes for each large one would
	 * cost a socket of many pipes more than the batch saves. */
	if (m->lent != NULL || m->ext != NULL ||
	    pnc_msg_wire_len(m) > BATCH_FRAME_MAX - PNC_WIRE_PREFIX)
		return 0;
	if ((prefix = b != NULL ? s->batch_prefix : sock_batch_prefix(s)) == 0)
		return 0;
	if (b == NULL) {
		if (pnc_msg_alloc(&b, BATCH_FULL + BATCH_FRAME_MAX) != 0)
			return 0;
		b->len = 0;
		b->framed = 1;
		s->batch = b;
		s->batch_msgs = 0;
		s->batch_bytes = 0;
		s->batch_prefix = prefix;
		pnc_sock_hold(s);
		if (!pnc_task_post(&s->batch_task))
			pnc_sock_rele(s); /* posted before, with its own */
	}
	pnc_msg_frame_append(b, m, prefix);
	s->batch_msgs++;
	s->batch_bytes += m->len;
	if (b->len >= BATCH_FULL)
		pnc_sock_batch_send(s);
	return 1;
}

void
pnc_sock_broadcast(pnc_socket *s, pnc_msg *m, uint32_t skip)
{
	m->in_stream = pnc_clock_ns() - s->broadcast_end_ns < BROADCAST_STREAM_GAP_NS;
	if (m->in_stream && skip == 0 && !m->targeted && sock_batch_add(s, m)) {
		s->broadcast_end_ns = pnc_clock_ns();
		pnc_msg_free(m);
		return;
	}
	pnc_sock_batch_send(s); /* what went before goes first */
	PNC_LIST_EACH(&s->pipes, node) {
		pnc_pipe *p = PNC_CONTAINER(node, pnc_pipe, sock_node);

		if (p->id == skip || (m->targeted && p->id != m->pipe_id))
			continue;
		/* A pipe that takes no more misses this one: fan-out never blocks. */
		if (sock_pipe_send(s, p, m, 1) != 0)
			PNC_STAT(s->stats.dropped_queue_full, 1);
	}
	s->broadcast_end_ns = pnc_clock_ns();
	pnc_msg_free(m);
}

/* how: 1 wakes one waiter, 2 all of them. */
static void
sock_cv_wake(pnc_socket *s, int kind, int how)
{
	pnc_cv *cv = kind == PNC_WAKE_RECV ? &s->cv_recv : &s->cv_send;

	if (how == 2)
		pnc_cv_wake(cv);
	else
		pnc_cv_wake_one(cv);
}

void
pnc_sock_wake(pnc_socket *s, int kind, int all, const pnc_ctx *only)
{
	pnc_sock_ready_changed(s);
	/* A thread reading its pipe itself sleeps in poll(), not on the cv. */
	if (kind == PNC_WAKE_RECV && s->inline_reader && !s->inline_signaled &&
	    !pnc_sock_reading_here(s)) {
		s->inline_signaled = 1;
		pnc_wakefd_signal(&s->inline_wake);
	}
	if (sock_cv_wake_wanted(s, kind, all, only)) {
		if (s->wakes_held)
			/* More than one wake-up wakes all: each finds its message. */
			s->wake_due[kind] = all || only != NULL || s->wake_due[kind] ? 2 : 1;
		else
			sock_cv_wake(s, kind, all || only != NULL ? 2 : 1);
	}
	pnc_aio_fire(s, kind, all, only);
}

void
pnc_sock_lock(pnc_socket *s)
{
	pnc_mtx_lock(&s->mtx);
}

void
pnc_sock_lock_holding_wakes(pnc_socket *s)
{
	pnc_mtx_lock(&s->mtx);
	s->wakes_held = 1;
}

void
pnc_sock_kick(pnc_socket *s, pnc_pipe *p)
{
	if (p->kick_due)
		return; /* one kick does what all the sends before it left */
	p->kick_due = 1;
	pnc_pipe_hold(p);
	pnc_list_append(&s->kicks, &p->kick_node);
}

/*
 * What the unlock leaves for after it: held wake-ups, and a kick at a time
 * (more than one, as after a broadcast to inproc peers, each takes its own
 * pass).  The caller holds the socket (as whoever locks it does), so it is
 * still there after the unlock.  A pipe taken off the kick list may be put
 * on it again at once by a sender on another thread: the kick that follows
 * finds that one's messages too.
 */
static void
sock_unlock_slow(pnc_socket *s)
{
	int due[2] = { s->wake_due[PNC_WAKE_RECV], s->wake_due[PNC_WAKE_SEND] };
	pnc_pipe *kick = NULL;
	int more;

	s->wakes_held = 0;
	s->wake_due[PNC_WAKE_RECV] = s->wake_due[PNC_WAKE_SEND] = 0;
	if (!pnc_list_empty(&s->kicks)) {
		kick = PNC_CONTAINER(pnc_list_first(&s->kicks), pnc_pipe, kick_node);
		pnc_list_remove(&kick->kick_node);
		kick->kick_due = 0;
	}
	more = !pnc_list_empty(&s->kicks);
	pnc_mtx_unlock(&s->mtx);
	if (due[PNC_WAKE_RECV])
		sock_cv_wake(s, PNC_WAKE_RECV, due[PNC_WAKE_RECV]);
	if (due[PNC_WAKE_SEND])
		sock_cv_wake(s, PNC_WAKE_SEND, due[PNC_WAKE_SEND]);
	if (kick != NULL) {
		kick->ops->kick(kick);
		pnc_pipe_rele(kick); /* pnc_sock_kick's */
	}
	if (more) {
		pnc_mtx_lock(&s->mtx);
		sock_unlock_slow(s);
	}
}

void
pnc_sock_unlock(pnc_socket *s)
{
	if (s->ready_due)
		pnc_sock_ready_update(s);
	if (s->wakes_held || !pnc_list_empty(&s->kicks))
		sock_unlock_slow(s);
	else
		pnc_mtx_unlock(&s->mtx);
}

int
pnc_socket_set_tls(pnc_socket *s, pnc_tls_config *cfg)
{
	pnc_tls_config *old;

	if (cfg == NULL)
		return PNC_EINVAL;
	pnc_tls_config_hold(cfg);
	pnc_sock_lock(s);
	old = s->tls;
	s->tls = cfg;
	pnc_sock_unlock(s);
	pnc_tls_config_release(old);
	return 0;
}
