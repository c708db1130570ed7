/*
 * context.c: contexts, and the send and receive entry points that run
 * through them.  Every socket has a default context; protocols that allow
 * it (req, rep, sub, surveyor, respondent) give each further context its
 * own state, so many requests or surveys can be under way on one socket.
 *
 * A blocking call on the thread that handles signals never sleeps past
 * its slice: the caller (Python) gets PNC_ESLICE back, looks at its
 * signals, and calls again with the same pnc_op.  That is what keeps
 * Ctrl-C prompt without signal handling in C.  Python runs signal handlers
 * on its main thread only, so a wait on any other thread sleeps until it
 * is woken or its deadline: it costs no wake-up every slice, and a wake-up
 * the core failed to make shows as a hang, where a test sees it, instead
 * of a slice's delay.
 */
#include <stdlib.h>

#include "core.h"

static int threads_waiting; /* in pnc_ctx_wait, all sockets */

/* Set once signal_thread is (pnc_signal_thread_set), atomic. */
static int signal_thread_known;
static pnc_thread signal_thread;

void
pnc_signal_thread_set(void)
{
	pnc_thread_self(&signal_thread);
	pnc_atomic_store_release_int(&signal_thread_known, 1);
}

int
pnc_wait_sliced(void)
{
	return !pnc_atomic_load_acquire_int(&signal_thread_known) ||
	    pnc_thread_is_self(&signal_thread);
}

static pnc_ctx *
ctx_new(pnc_socket *s)
{
	pnc_ctx *c = calloc(1, sizeof(*c) + s->proto->ctx_size);

	if (c == NULL)
		return NULL;
	c->sock = s;
	c->refs = 1;
	c->id = pnc_next_id();
	c->pdata = s->proto->ctx_size ? (void *) (c + 1) : NULL;
	pnc_sock_hold(s);
	if (s->proto->ctx_init != NULL && s->proto->ctx_init(c) != 0) {
		pnc_ctx_rele(c);
		return NULL;
	}
	return c;
}

int
pnc_sock_ctx_init(pnc_socket *s)
{
	if ((s->dflt = ctx_new(s)) == NULL)
		return PNC_ENOMEM;
	s->dflt->recv_timeout = PNC_TIMEOUT_INHERIT;
	s->dflt->send_timeout = PNC_TIMEOUT_INHERIT;
	/*
	 * Except this one: the socket's reference to its default context.
	 * The socket frees it last (pnc_sock_rele), when nothing else can
	 * hold it.
	 */
	pnc_sock_rele(s);
	return 0;
}

/* Every reference to a context is also one to its socket. */
void
pnc_ctx_hold(pnc_ctx *c)
{
	pnc_atomic_inc(&c->refs);
	pnc_sock_hold(c->sock);
}

void
pnc_ctx_rele(pnc_ctx *c)
{
	pnc_socket *s = c->sock;

	if (pnc_atomic_dec(&c->refs) == 0)
		free(c);
	pnc_sock_rele(s);
}

void
pnc_ctx_close_locked(pnc_ctx *c)
{
	pnc_socket *s = c->sock;

	if (c->closed)
		return;
	c->closed = 1;
	pnc_list_remove(&c->sock_node);
	if (s->proto->ctx_close != NULL)
		s->proto->ctx_close(c);
	/* Its waiters look again, and find it closed. */
	pnc_sock_wake(s, PNC_WAKE_RECV, 1, c);
	pnc_sock_wake(s, PNC_WAKE_SEND, 1, c);
}

int
pnc_ctx_open(pnc_socket *s, pnc_ctx **cp)
{
	pnc_ctx *c;

	if (!s->proto->contexts)
		return PNC_ENOTSUP;
	pnc_sock_lock(s);
	if (s->closed) {
		pnc_sock_unlock(s);
		return PNC_ECLOSED;
	}
	if ((c = ctx_new(s)) == NULL) {
		pnc_sock_unlock(s);
		return PNC_ENOMEM;
	}
	/* nng: a new context starts with the socket's timeouts. */
	c->recv_timeout = s->recv_timeout;
	c->send_timeout = s->send_timeout;
	pnc_list_append(&s->ctxs, &c->sock_node);
	pnc_sock_unlock(s);
	*cp = c;
	return 0;
}

int
pnc_ctx_close(pnc_ctx *c)
{
	pnc_socket *s = c->sock;
	int rv = 0;

	pnc_sock_lock(s);
	if (c->closed)
		rv = PNC_ECLOSED;
	else
		pnc_ctx_close_locked(c);
	pnc_sock_unlock(s);
	return rv;
}

void
pnc_ctx_release(pnc_ctx *c)
{
	(void) pnc_ctx_close(c);
	pnc_ctx_rele(c);
}

uint32_t
pnc_ctx_id(const pnc_ctx *c)
{
	return c->id;
}

/*
 * A receiver with nothing queued, on a socket with one pipe that allows it,
 * reads that pipe itself instead of sleeping until the I/O thread has: the
 * reply comes with no thread hop.  Socket locked on entry and exit.
 */
pnc_pipe *
pnc_sock_sole_pipe(pnc_socket *s)
{
	pnc_pipe *p;

	if (s->inline_reader || !pnc_list_single(&s->pipes))
		return NULL; /* not exactly one pipe, or a reader has it */
	p = PNC_CONTAINER(s->pipes.head.next, pnc_pipe, sock_node);
	return p->ops->read_begin == NULL || p->paused ? NULL : p;
}

void
pnc_sock_reads_back_if_waited(pnc_socket *s, pnc_pipe *p)
{
	if (p != NULL && (s->recv_waiters > 0 || s->ready[PNC_WAKE_RECV].open ||
	                     !pnc_list_empty(&s->waiters[PNC_WAKE_RECV])))
		p->ops->reads_back(p);
}

int
pnc_sock_reading_here(const pnc_socket *s)
{
	return s->inline_reader && pnc_thread_is_self(&s->inline_thread);
}

void
pnc_sock_inline_wake_release(pnc_socket *s)
{
	if (s->inline_wake_open && !s->inline_reader) {
		pnc_wakefd_close(&s->inline_wake);
		s->inline_wake_open = 0;
		s->inline_signaled = 0;
	}
}

static int
sock_read_inline(pnc_socket *s, int64_t until, const pnc_body_source *bodies)
{
	pnc_pipe *p = pnc_sock_sole_pipe(s);

	if (p == NULL)
		return PNC_EAGAIN;
	if (!s->inline_wake_open) {
		if (pnc_wakefd_open(&s->inline_wake) != 0)
			return PNC_EAGAIN;
		s->inline_wake_open = 1;
	}
	if (p->ops->read_begin(p) != 0)
		return PNC_EAGAIN;
	s->inline_reader = 1;
	pnc_thread_self(&s->inline_thread);
	pnc_pipe_hold(p);
	pnc_sock_unlock(s);
	p->ops->read_wait(p, pnc_wakefd_fd(&s->inline_wake), until, bodies);
	pnc_sock_lock(s);
	if (s->inline_signaled) {
		s->inline_signaled = 0;
		pnc_wakefd_drain(&s->inline_wake);
	}
	s->inline_reader = 0;
	if (s->closed)
		pnc_sock_inline_wake_release(s);
	p->ops->read_end(p);
	pnc_sock_reads_back_if_waited(s, p);
	pnc_pipe_rele(p);
	return 0;
}

/* An operation under way whose deadline its first wait will set. */
#define DEADLINE_LATER (-1)

static void
op_deadline_set(pnc_op *op, int64_t timeout, int64_t now)
{
	if (op->deadline == DEADLINE_LATER)
		op->deadline = timeout < 0 ? PNC_FOREVER : now + timeout;
}

/* The first wait of a step: the deadline, if new, and the slice's end. */
static void
wait_start(pnc_wait *w, int64_t now)
{
	pnc_op *op = w->op;

	op_deadline_set(op, w->timeout, now);
	w->until = w->slice_ms > 0 && now + w->slice_ms < op->deadline && pnc_wait_sliced()
	    ? now + w->slice_ms : op->deadline;
}

int
pnc_ctx_wait(pnc_ctx *c, pnc_cv *cv, int *waiters, pnc_wait *w)
{
	pnc_socket *s = c->sock;
	int64_t now;

	if (c->closed || s->closed)
		return PNC_ECLOSED;
	if (!pnc_list_empty(&s->kicks)) {
		/* What this operation sent may be what it waits for: out first. */
		pnc_sock_unlock(s);
		pnc_sock_lock(s);
		return c->closed || s->closed ? PNC_ECLOSED : 0;
	}
	now = pnc_clock_ms();
	if (w->until == 0)
		wait_start(w, now);
	if (now >= w->until)
		return w->until < w->op->deadline ? PNC_ESLICE : PNC_ETIMEDOUT;
	/* Counted whether it waits on the cv or in its pipe's read: either
	 * way a send of this process may be what wakes it. */
	pnc_atomic_add_int(&threads_waiting, 1);
	if (cv != &s->cv_recv || sock_read_inline(s, w->until, w->op->bodies) != 0) {
		(*waiters)++;
		pnc_cv_wait_until(cv, &s->mtx, w->until);
		(*waiters)--;
		if (cv == &s->cv_recv)
			s->recv_wake_pending = 0; /* back, woken or not */
	}
	pnc_atomic_sub_int(&threads_waiting, 1);
	return c->closed || s->closed ? PNC_ECLOSED : 0;
}

static int64_t
ctx_timeout(const pnc_ctx *c, int sending)
{
	int64_t t = sending ? c->send_timeout : c->recv_timeout;

	if (t == PNC_TIMEOUT_INHERIT)
		t = sending ? c->sock->send_timeout : c->sock->recv_timeout;
	return t;
}

void
pnc_op_deadline_start(pnc_op *op, int sending)
{
	op_deadline_set(op, ctx_timeout(op->ctx, sending), pnc_clock_ms());
}

static void
op_wait(pnc_op *op, int64_t timeout, int slice_ms, pnc_wait *w)
{
	w->op = op;
	w->timeout = timeout;
	w->slice_ms = slice_ms;
	w->until = 0;
	w->first = op->deadline == 0;
	w->note = &op->note;
	if (w->first)
		op->deadline = DEADLINE_LATER;
}

/* A body in a source's memory goes as a copy, so that the transports
 * find header and body in one piece (pnc_msg_wire); m is taken or kept
 * as by the protocol's send. */
static int
ctx_send_copy(pnc_ctx *c, pnc_msg *m, int flags, pnc_wait *w)
{
	pnc_msg *copy;
	int rv;

	if ((rv = pnc_msg_dup(&copy, m)) != 0)
		return rv;
	if ((rv = c->sock->proto->send(c, copy, flags, w)) != 0) {
		pnc_msg_free(copy);
		return rv;
	}
	pnc_msg_free(m);
	return 0;
}

int
pnc_ctx_run(pnc_ctx *c, pnc_msg *m, int flags, pnc_op *op, int slice_ms)
{
	pnc_socket *s = c->sock;
	const pnc_proto_ops *proto = s->proto;
	int sending = m != NULL;
	pnc_wait w;
	int rv;

	op->ctx = c;
	if (c->closed || s->closed)
		return PNC_ECLOSED;
	if ((sending ? (void *) proto->send : (void *) proto->recv) == NULL)
		return PNC_ENOTSUP;
	/* Addressed to a peer that has gone: an error, never a silent drop
	 * nor a send to another peer, whatever the protocol does with it. */
	if (sending && m->targeted && pnc_idmap_get(&s->pipe_ids, m->pipe_id) == NULL)
		return PNC_ECLOSED;
	op_wait(op, ctx_timeout(c, sending), slice_ms, &w);
	if (sending) {
		rv = m->ext != NULL ? ctx_send_copy(c, m, flags, &w) : proto->send(c, m, flags, &w);
	} else {
		rv = proto->recv(c, &op->msg, flags, &w);
		/*
		 * Nothing queued: a lone pipe whose reads a caller keeps
		 * (stream.c) may hold the message in the kernel still.  Look
		 * there, no waiting.
		 */
		if (rv == PNC_EAGAIN && (flags & PNC_FLAG_NONBLOCK) &&
		    !(flags & PNC_FLAG_QUEUED) && sock_read_inline(s, 0, op->bodies) == 0)
			rv = proto->recv(c, &op->msg, flags, &w);
		if (rv == 0)
			pnc_atomic_store_relaxed_uint(&s->recvs, s->recvs + 1);
	}
	/* After the step: a wait in it may have unlocked and looked before. */
	pnc_sock_ready_changed(s);
	return rv;
}

int
pnc_ctx_send(pnc_ctx *c, pnc_msg *m, int flags, pnc_op *op, int slice_ms)
{
	int rv;

	pnc_sock_lock(c->sock);
	rv = pnc_ctx_run(c, m, flags, op, slice_ms);
	pnc_sock_unlock(c->sock);
	return rv;
}

int
pnc_ctx_recv(pnc_ctx *c, int flags, pnc_op *op, int slice_ms)
{
	int rv;

	if (op->msg != NULL)
		pnc_op_release(op); /* what an earlier receive returned */
	pnc_sock_lock(c->sock);
	rv = pnc_ctx_run(c, NULL, flags, op, slice_ms);
	pnc_sock_unlock(c->sock);
	if (rv == 0) {
		op->body = (char *) pnc_msg_body(op->msg);
		op->len = op->msg->len;
	}
	pnc_op_step_end(op, rv);
	return rv;
}

void
pnc_op_step_end(pnc_op *op, int rv)
{
	if (rv != PNC_ESLICE) {
		op->deadline = 0; /* over: the op may serve the next operation */
		op->note = 0;
	}
}

int
pnc_ctx_try_send(pnc_ctx *c, pnc_msg *m)
{
	pnc_op once = { 0 };

	return pnc_ctx_send(c, m, PNC_FLAG_NONBLOCK, &once, 0);
}

int
pnc_ctx_try_send_data(pnc_ctx *c, const void *data, size_t size)
{
	pnc_op once = { 0 };

	return pnc_ctx_send_data(c, data, size, PNC_FLAG_NONBLOCK, &once, 0);
}

int
pnc_ctx_send_data(pnc_ctx *c, const void *data, size_t size, int flags,
    pnc_op *op, int slice_ms)
{
	return pnc_ctx_send_owned(c, data, size, NULL, NULL, flags, op, slice_ms);
}

int
pnc_ctx_send_owned(pnc_ctx *c, const void *data, size_t size,
    const pnc_body_source *src, void *owner, int flags, pnc_op *op, int slice_ms)
{
	/* Smaller bodies are copied: the copy costs less than the checks. */
	int lend = size >= PNC_LEND_MIN_BYTES && c->sock->proto->lends;
	pnc_msg *m;
	int rv;

	/* A large body may go to the kernel straight from the caller's memory. */
	if (lend && owner != NULL) {
		rv = pnc_msg_lend_owned(&m, data, size, src, owner);
	} else {
		rv = lend ? pnc_msg_lend(&m, data, size) : pnc_msg_from(&m, data, size);
		if (owner != NULL)
			src->release(owner); /* copied: the message needs none */
	}
	if (rv != 0)
		return rv;
	if ((rv = pnc_ctx_send(c, m, flags, op, slice_ms)) != 0)
		pnc_msg_free(m);
	return rv;
}

static int64_t
op_recv(pnc_op *op, int flags, int slice_ms)
{
	int rv = pnc_ctx_recv(op->ctx, flags, op, slice_ms);

	if (rv != 0)
		return rv == PNC_ESLICE ? rv : -rv;
	return (int64_t) op->len; /* an object's size fits (PTRDIFF_MAX) */
}

int64_t
pnc_op_recv(pnc_op *op)
{
	return op_recv(op, 0, PNC_SLICE_MS);
}

int64_t
pnc_op_try_recv(pnc_op *op)
{
	return op_recv(op, PNC_FLAG_NONBLOCK, 0);
}

int
pnc_threads_waiting(void)
{
	return pnc_atomic_load_relaxed_int(&threads_waiting);
}

void
pnc_yield(void)
{
	pnc_thread_yield();
}

int64_t
pnc_op_take(pnc_op *op)
{
	if (op->deadline != 0)
		return -PNC_EAGAIN; /* a wait under way: see pnc.h */
	return op_recv(op, PNC_FLAG_NONBLOCK | PNC_FLAG_QUEUED, 0);
}

void
pnc_op_copy(const pnc_op *op, void *buf, size_t size)
{
	memcpy(buf, op->body, op->len < size ? op->len : size);
}

/* An op is as new after these two, ready for the next operation (in the
 * context it last ran in, as far as pnc_op_recv is concerned). */
static void
op_reset(pnc_op *op)
{
	pnc_op kept = { .ctx = op->ctx, .bodies = op->bodies };

	*op = kept;
}

void
pnc_op_unget(pnc_op *op)
{
	pnc_msg *m = op->msg;
	pnc_ctx *c = op->ctx;
	pnc_socket *s;

	op_reset(op);
	if (m == NULL)
		return;
	s = c->sock;
	pnc_sock_lock(s);
	if (pnc_ctx_unrecv(c, m))
		pnc_sock_wake(s, PNC_WAKE_RECV, 0, NULL);
	pnc_sock_unlock(s);
}

int
pnc_ctx_unrecv(pnc_ctx *c, pnc_msg *m)
{
	pnc_socket *s = c->sock;

	/* Back where it was: the next receive gets it first. */
	if (c->closed || s->closed || s->proto->unrecv == NULL ||
	    s->proto->unrecv(c, m) != 0) {
		pnc_msg_free(m);
		return 0;
	}
	return 1;
}

void
pnc_op_release(pnc_op *op)
{
	pnc_msg_free(op->msg);
	op_reset(op);
}

int
pnc_ctx_set_int(pnc_ctx *c, const char *name, int64_t v)
{
	int64_t *field = strcmp(name, "recv-timeout") == 0 ? &c->recv_timeout :
	    strcmp(name, "send-timeout") == 0 ? &c->send_timeout : NULL;
	int rv = 0;

	pnc_sock_lock(c->sock);
	if (c->closed)
		rv = PNC_ECLOSED;
	else if (field == NULL)
		rv = PNC_ENOTSUP;
	else if (v < -1 || v > INT32_MAX)
		rv = PNC_EINVAL;
	else
		*field = v;
	pnc_sock_unlock(c->sock);
	return rv;
}

int
pnc_ctx_get_int(pnc_ctx *c, const char *name, int64_t *vp)
{
	int rv = 0;

	pnc_sock_lock(c->sock);
	if (c->closed)
		rv = PNC_ECLOSED;
	else if (strcmp(name, "recv-timeout") == 0)
		*vp = ctx_timeout(c, 0);
	else if (strcmp(name, "send-timeout") == 0)
		*vp = ctx_timeout(c, 1);
	else
		rv = PNC_ENOTSUP;
	pnc_sock_unlock(c->sock);
	return rv;
}

void
pnc_ctx_timer_arm(pnc_ctx *c, pnc_timer *t, int64_t delay_ms)
{
	pnc_ctx_hold(c);
	if (pnc_timer_arm(t, delay_ms))
		pnc_ctx_rele(c); /* it already had its reference */
}

void
pnc_ctx_timer_cancel(pnc_ctx *c, pnc_timer *t)
{
	/* Never the last reference: whoever cancels holds one too. */
	if (pnc_timer_cancel(t))
		pnc_ctx_rele(c);
}

int
pnc_ctx_set_bytes(pnc_ctx *c, const char *name, const void *data, size_t len)
{
	pnc_socket *s = c->sock;
	int rv;

	pnc_sock_lock(s);
	if (c->closed || s->closed)
		rv = PNC_ECLOSED;
	else if (s->proto->ctx_set_bytes == NULL)
		rv = PNC_ENOTSUP;
	else
		rv = s->proto->ctx_set_bytes(c, name, data, len);
	pnc_sock_unlock(s);
	return rv;
}

int
pnc_socket_set_bytes(pnc_socket *s, const char *name, const void *data,
    size_t len)
{
	return pnc_ctx_set_bytes(s->dflt, name, data, len);
}

pnc_ctx *
pnc_socket_context(pnc_socket *s)
{
	return s->dflt;
}

int64_t
pnc_clock_now_ms(void)
{
	return pnc_clock_ms();
}
