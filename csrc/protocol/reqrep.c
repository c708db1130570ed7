/*
 * reqrep.c: req0 and rep0, cooked and raw.
 *
 * A request carries an id with its top bit set (random start per socket,
 * +1, skipping ids in use).  Each req context has at most one request under
 * way: a new send replaces it (a receiver waiting for the old one gets
 * PNC_ECANCELED).  Until the reply comes the request is resent every
 * resend-time to the next ready pipe, and at once when the pipe carrying it
 * closes.  A recv that times out abandons the request, as nng does.
 *
 * rep0 is the replier of replier.c.  Raw req keeps the request id word in
 * the header; raw rep puts the receiving pipe's id in front of the
 * backtrace and sends each reply to the pipe its first header word names.
 */
#include <stdlib.h>

#include "replier.h"

typedef struct req0_sock {
	pnc_pipeset peers; /* first: the pipeset hooks find it there */
	pnc_idmap requests; /* id -> req0_ctx under way */
	pnc_list inflight;  /* those contexts, to resend when a pipe closes */
	pnc_list stalled;   /* resends that wait for a ready pipe */
	uint32_t next_id;
	int64_t resend_ms;
} req0_sock;

typedef struct req0_ctx {
	pnc_ctx *ctx;
	uint32_t id;      /* the request under way, 0 if none */
	pnc_msg *request; /* kept for resending */
	pnc_msg *reply;   /* arrived, not yet received */
	pnc_pipe *pipe;   /* the pipe carrying it, NULL while stalled */
	pnc_timer timer;
	pnc_node inflight_node;
	pnc_node stalled_node;
	int err;      /* how the request failed, for the next recv */
	uint32_t gen; /* changes when a send replaces the request */
} req0_ctx;

static void req0_timer_cb(void *arg);

static int
req0_init(pnc_socket *s)
{
	req0_sock *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return PNC_ENOMEM;
	pnc_pipeset_init(&rs->peers);
	pnc_idmap_init(&rs->requests);
	pnc_list_init(&rs->inflight);
	pnc_list_init(&rs->stalled);
	rs->next_id = pnc_random();
	rs->resend_ms = 60000;
	s->pdata = rs;
	return 0;
}

static void
req0_fini(pnc_socket *s)
{
	req0_sock *rs = s->pdata;

	pnc_idmap_fini(&rs->requests);
	free(rs);
}

static int
req0_ctx_init(pnc_ctx *c)
{
	req0_ctx *r = c->pdata;

	r->ctx = c;
	pnc_timer_init(&r->timer, req0_timer_cb, c);
	return 0;
}

/* Forgets the request under way (not a reply already there). */
static void
req0_end(req0_ctx *r)
{
	req0_sock *rs = r->ctx->sock->pdata;

	if (r->id == 0)
		return;
	pnc_idmap_del(&rs->requests, r->id);
	pnc_list_remove(&r->inflight_node);
	pnc_list_remove(&r->stalled_node);
	pnc_ctx_timer_cancel(r->ctx, &r->timer);
	pnc_msg_free(r->request);
	r->request = NULL;
	r->pipe = NULL;
	r->id = 0;
}

static void
req0_ctx_close(pnc_ctx *c)
{
	req0_ctx *r = c->pdata;

	req0_end(r);
	pnc_msg_free(r->reply);
	r->reply = NULL;
}

/* Sends the kept request again, to a ready pipe or when one is ready. */
static void
req0_resend(req0_ctx *r)
{
	pnc_socket *s = r->ctx->sock;
	req0_sock *rs = s->pdata;
	pnc_msg *m = r->request;

	pnc_list_remove(&r->stalled_node);
	r->pipe = NULL;
	pnc_msg_hold(m);
	if (pnc_pipeset_try_send(s, &rs->peers, m, &r->pipe) != 0) {
		pnc_msg_free(m);
		pnc_list_append(&rs->stalled, &r->stalled_node);
	}
	if (rs->resend_ms > 0)
		pnc_ctx_timer_arm(r->ctx, &r->timer, rs->resend_ms);
}

static void
req0_resend_stalled(pnc_socket *s)
{
	req0_sock *rs = s->pdata;

	while (!pnc_list_empty(&rs->stalled) && !pnc_list_empty(&rs->peers.ready)) {
		req0_ctx *r = PNC_CONTAINER(pnc_list_first(&rs->stalled), req0_ctx,
		    stalled_node);
		req0_resend(r);
		if (r->pipe == NULL)
			break;
	}
}

static void
req0_timer_cb(void *arg)
{
	pnc_ctx *c = arg;
	req0_ctx *r = c->pdata;
	pnc_socket *s = c->sock;

	pnc_sock_lock(s);
	if (!c->closed && r->id != 0)
		req0_resend(r);
	pnc_sock_unlock(s);
	pnc_ctx_rele(c);
}

static int
req0_pipe_start(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_add(s, &((req0_sock *) s->pdata)->peers, p);
	req0_resend_stalled(s);
	return 0;
}

static void
req0_pipe_writable(pnc_socket *s, pnc_pipe *p)
{
	pnc_pipeset_writable(s, &((req0_sock *) s->pdata)->peers, p);
	req0_resend_stalled(s);
}

/* Part of pnc_pipe_close's locked step: the walk sees no other thread. */
static void
req0_pipe_stop(pnc_socket *s, pnc_pipe *p)
{
	req0_sock *rs = s->pdata;
	pnc_node *n, *next;

	pnc_pipeset_remove(&rs->peers, p);
	for (n = rs->inflight.head.next; n != &rs->inflight.head; n = next) {
		req0_ctx *r = PNC_CONTAINER(n, req0_ctx, inflight_node);
		next = n->next; /* r may leave the list below, others may not */
		if (r->pipe != p)
			continue;
		if (rs->resend_ms > 0) {
			req0_resend(r); /* at once, to another peer */
		} else {
			req0_end(r);
			r->err = PNC_ECONNRESET;
			pnc_sock_wake(s, PNC_WAKE_RECV, 1, r->ctx);
		}
	}
}

/*
 * Waits until the request can go at once: to a ready pipe, or into the
 * send queue.  The request itself is made only after the last wait, so a
 * send on another thread meanwhile (which replaces the context's request)
 * finds nothing of this one half made.
 */
static int
req0_send_wait(pnc_ctx *c, int flags, pnc_wait *w)
{
	pnc_socket *s = c->sock;
	req0_sock *rs = s->pdata;
	int rv;

	while (pnc_list_empty(&rs->peers.ready) && (int64_t) s->sendq.len >= s->send_buffer) {
		if (flags & PNC_FLAG_NONBLOCK)
			return PNC_EAGAIN;
		if ((rv = pnc_ctx_wait(c, &s->cv_send, &s->send_waiters, w)) != 0)
			return rv;
	}
	return 0;
}

/* Makes m the context's request, replacing the one under way. */
static int
req0_start(req0_ctx *r, pnc_msg *m)
{
	pnc_socket *s = r->ctx->sock;
	req0_sock *rs = s->pdata;
	uint32_t id;
	int rv;

	req0_end(r);
	r->gen++;
	pnc_sock_wake(s, PNC_WAKE_RECV, 1, r->ctx); /* its receiver: canceled */
	pnc_msg_free(r->reply);
	r->reply = NULL;
	r->err = 0;
	do {
		rs->next_id = (rs->next_id + 1) | 0x80000000u;
	} while (pnc_idmap_get(&rs->requests, rs->next_id) != NULL);
	id = rs->next_id;
	pnc_msg_header_clear(m);
	if ((rv = pnc_msg_header_push_u32(m, id)) != 0 ||
	    (rv = pnc_idmap_set(&rs->requests, id, r)) != 0)
		return rv;
	/* Known before it leaves: the reply may come while we send. */
	r->id = id;
	r->request = m;
	pnc_msg_hold(m); /* ours, for resending; the pipe takes the other */
	pnc_list_append(&rs->inflight, &r->inflight_node);
	return 0;
}

static int
req0_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	req0_sock *rs = c->sock->pdata;
	req0_ctx *r = c->pdata;
	int rv;

	for (;;) {
		if ((rv = req0_send_wait(c, flags, w)) != 0 || (rv = req0_start(r, m)) != 0)
			return rv;
		/* Never waits (there is room), so it is all one locked step. */
		rv = pnc_pipeset_send(c, &rs->peers, m, flags | PNC_FLAG_NONBLOCK, w, &r->pipe);
		if (rv == 0)
			break;
		req0_end(r); /* drops our hold; the caller keeps its message */
		if (rv != PNC_EAGAIN || (flags & PNC_FLAG_NONBLOCK))
			return rv;
		/* The pipes that looked ready were going (or m's own was busy). */
		if ((rv = pnc_ctx_wait(c, &c->sock->cv_send, &c->sock->send_waiters, w)) != 0)
			return rv;
	}
	if (rs->resend_ms > 0)
		pnc_ctx_timer_arm(c, &r->timer, rs->resend_ms);
	return 0;
}

static int
req0_recv(pnc_ctx *c, pnc_msg **mp, int flags, pnc_wait *w)
{
	pnc_socket *s = c->sock;
	req0_ctx *r = c->pdata;
	uint32_t gen;
	int rv;

	/* The request this recv is for: a send between slices cancels it. */
	if (w->first)
		*w->note = r->gen;
	gen = (uint32_t) *w->note;
	for (;;) {
		if (r->reply != NULL) {
			*mp = r->reply;
			r->reply = NULL;
			return 0;
		}
		if (r->err != 0) {
			rv = r->err;
			r->err = 0;
			return rv;
		}
		if (r->id == 0)
			return r->gen == gen ? PNC_ESTATE : PNC_ECANCELED;
		if (r->gen != gen)
			return PNC_ECANCELED; /* replaced by a newer request */
		if (flags & PNC_FLAG_NONBLOCK)
			return PNC_EAGAIN;
		rv = pnc_ctx_wait(c, &s->cv_recv, &s->recv_waiters, w);
		if (rv == PNC_ETIMEDOUT && r->gen == gen)
			req0_end(r); /* nng gives up on the request */
		if (rv != 0)
			return rv;
	}
}

static int
req0_unrecv(pnc_ctx *c, pnc_msg *m)
{
	req0_ctx *r = c->pdata;

	if (r->reply != NULL)
		return PNC_ESTATE;
	r->reply = m;
	return 0;
}

static int
req0_recv_ready(pnc_ctx *c)
{
	return ((req0_ctx *) c->pdata)->reply != NULL;
}

static int
req0_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	req0_sock *rs = s->pdata;
	req0_ctx *r;
	uint32_t id;

	if (pnc_msg_body_pull_u32(m, &id) != 0) {
		pnc_msg_free(m);
		return PNC_EPROTO; /* shorter than a request id */
	}
	if ((r = pnc_idmap_get(&rs->requests, id)) == NULL) {
		pnc_msg_free(m); /* unknown or stale: dropped */
		return 0;
	}
	pnc_msg_header_clear(m);
	m->pipe_id = p->id;
	req0_end(r);
	r->reply = m;
	pnc_sock_wake(s, PNC_WAKE_RECV, 1, r->ctx);
	return 0;
}

static int
req0_set_int(pnc_socket *s, const char *name, int64_t v)
{
	if (strcmp(name, "req:resend-time") != 0)
		return PNC_ENOTSUP;
	if (v < -1 || v > INT32_MAX)
		return PNC_EINVAL;
	((req0_sock *) s->pdata)->resend_ms = v;
	return 0;
}

static int
req0_get_int(pnc_socket *s, const char *name, int64_t *vp)
{
	if (strcmp(name, "req:resend-time") != 0)
		return PNC_ENOTSUP;
	*vp = ((req0_sock *) s->pdata)->resend_ms;
	return 0;
}

const pnc_proto_ops pnc_proto_req0 = {
	.name = "req",
	.peer_name = "rep",
	.self_id = 0x30,
	.peer_id = 0x31,
	.contexts = 1,
	.ctx_size = sizeof(req0_ctx),
	.init = req0_init,
	.fini = req0_fini,
	.ctx_init = req0_ctx_init,
	.ctx_close = req0_ctx_close,
	.pipe_start = req0_pipe_start,
	.pipe_stop = req0_pipe_stop,
	.pipe_writable = req0_pipe_writable,
	.send = req0_send,
	.send_ready = pnc_pipeset_send_ready,
	.recv_ready = req0_recv_ready,
	.recv = req0_recv,
	.unrecv = req0_unrecv,
	.deliver = req0_deliver,
	.set_int = req0_set_int,
	.get_int = req0_get_int,
};

/* Raw req: requests go out as the caller made them; replies keep their id. */
static int
xreq0_deliver(pnc_socket *s, pnc_pipe *p, pnc_msg *m)
{
	uint32_t id;

	if (pnc_msg_body_pull_u32(m, &id) != 0) {
		pnc_msg_free(m);
		return PNC_EPROTO;
	}
	return pnc_sock_queue_deliver(s, p, m);
}

const pnc_proto_ops pnc_proto_xreq0 = {
	.name = "req",
	.peer_name = "rep",
	.self_id = 0x30,
	.peer_id = 0x31,
	.raw = 1,
	.init = req0_init,
	.fini = req0_fini,
	.pipe_start = pnc_pipeset_pipe_start,
	.pipe_stop = pnc_pipeset_pipe_stop,
	.pipe_writable = pnc_pipeset_pipe_writable,
	.send = pnc_pipeset_send_raw,
	.send_ready = pnc_pipeset_send_ready,
	.recv = pnc_sock_queue_recv,
	.recv_many = 1,
	.unrecv = pnc_sock_queue_unrecv,
	.deliver = xreq0_deliver,
};

PNC_REPLIER_PROTOCOLS(pnc_proto_rep0, pnc_proto_xrep0, "rep", "req", 0x31, 0x30);
