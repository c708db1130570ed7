/*
 * aio.c: asynchronous send and receive for event loops.
 *
 * An event loop owns a completion queue whose descriptor it watches.  An
 * async operation first tries at once; if it would block, a waiter is
 * registered on the socket in the same locked step, so no wake-up can slip
 * between the two.  Whenever the core wakes blocked threads
 * (pnc_sock_wake) it also hands matching waiters to their queues; the loop drains a whole batch of tokens
 * per wake-up and the woken coroutines try again.
 *
 * Nothing is taken for a coroutine until it tries itself, so cancelling one
 * can never lose a message.  A cancelled waiter that had been handed a
 * wake-up passes it on to another waiter, so none is stranded either.
 */
#include <stdlib.h>

#include "core.h"

struct pnc_aioq {
	pnc_mtx mtx;
	pnc_wakefd wake;
	int signaled;
	pnc_list ready; /* waiters handed a wake-up, not yet drained */
};

typedef enum {
	WAITER_REGISTERED, /* on its socket's list */
	WAITER_READY,      /* on its queue's ready list */
	WAITER_FIRED,      /* drained by the loop */
} waiter_state;

struct pnc_waiter {
	pnc_aioq *q;
	pnc_ctx *ctx; /* held */
	uint64_t token;
	int kind;
	waiter_state state;
	pnc_node node;
	pnc_pipe *read_pipe; /* the loop reads it itself while this waits */
};

int
pnc_aioq_open(pnc_aioq **qp)
{
	pnc_aioq *q = calloc(1, sizeof(*q));
	int rv;

	if (q == NULL)
		return PNC_ENOMEM;
	if ((rv = pnc_wakefd_open(&q->wake)) != 0) {
		free(q);
		return rv;
	}
	pnc_mtx_init(&q->mtx);
	pnc_list_init(&q->ready);
	*qp = q;
	return 0;
}

/* Only once no waiter of it is left (the Python side sees to that). */
void
pnc_aioq_close(pnc_aioq *q)
{
	pnc_wakefd_close(&q->wake);
	pnc_mtx_fini(&q->mtx);
	free(q);
}

int
pnc_aioq_fd(const pnc_aioq *q)
{
	return (int) pnc_wakefd_fd(&q->wake);
}

int
pnc_aioq_drain(pnc_aioq *q, uint64_t *tokens, int max)
{
	int n = 0;

	pnc_mtx_lock(&q->mtx);
	while (n < max && !pnc_list_empty(&q->ready)) {
		pnc_waiter *w = PNC_CONTAINER(pnc_list_first(&q->ready), pnc_waiter, node);
		pnc_list_remove(&w->node);
		w->state = WAITER_FIRED;
		tokens[n++] = w->token;
	}
	if (pnc_list_empty(&q->ready) && q->signaled) {
		q->signaled = 0;
		pnc_wakefd_drain(&q->wake);
	}
	pnc_mtx_unlock(&q->mtx);
	return n;
}

/* Socket locked: from the socket's list to its queue's ready list. */
static void
waiter_fire(pnc_waiter *w)
{
	pnc_aioq *q = w->q;

	pnc_list_remove(&w->node);
	pnc_mtx_lock(&q->mtx);
	w->state = WAITER_READY;
	pnc_list_append(&q->ready, &w->node);
	if (!q->signaled) {
		q->signaled = 1;
		pnc_wakefd_signal(&q->wake);
	}
	pnc_mtx_unlock(&q->mtx);
}

void
pnc_aio_fire(pnc_socket *s, int kind, int all, const pnc_ctx *only)
{
	pnc_node *n, *next;

	for (n = s->waiters[kind].head.next; n != &s->waiters[kind].head; n = next) {
		pnc_waiter *w = PNC_CONTAINER(n, pnc_waiter, node);
		next = n->next;
		if (only != NULL && w->ctx != only)
			continue;
		waiter_fire(w);
		if (!all && only == NULL)
			break;
	}
}

/* One step of an async operation: done now, or a waiter registered. */
static int
aio_try(pnc_ctx *c, pnc_msg *m, pnc_op *op, pnc_aioq *q, uint64_t token,
    int final, pnc_waiter **wp)
{
	pnc_socket *s = c->sock;
	int kind = m != NULL ? PNC_WAKE_SEND : PNC_WAKE_RECV;
	pnc_waiter *w;
	int rv;

	*wp = NULL;
	pnc_sock_lock(s);
	if (final) {
		/* The loop's timer says the deadline passed: one last look. */
		op->deadline = pnc_clock_ms();
		rv = pnc_ctx_run(c, m, 0, op, 0);
	} else {
		rv = pnc_ctx_run(c, m, PNC_FLAG_NONBLOCK, op, 0);
	}
	/* Without a queue the caller only wanted to know (its fast path). */
	if (rv == PNC_EAGAIN && !final && q != NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL) {
			rv = PNC_ENOMEM;
		} else {
			w->q = q;
			w->ctx = c;
			w->token = token;
			w->kind = kind;
			w->state = WAITER_REGISTERED;
			pnc_ctx_hold(c);
			pnc_list_append(&s->waiters[kind], &w->node);
			*wp = w;
			/* One that watches the pipe takes them again (watch_fd). */
			if (kind == PNC_WAKE_RECV)
				pnc_sock_reads_back_if_waited(s, pnc_sock_sole_pipe(s));
			pnc_op_deadline_start(op, m != NULL);
			rv = PNC_EPENDING;
		}
	}
	pnc_sock_unlock(s);
	if (rv == 0 && m == NULL) {
		op->body = (char *) pnc_msg_body(op->msg);
		op->len = op->msg->len;
	}
	return rv;
}

int
pnc_ctx_recv_async(pnc_ctx *c, pnc_op *op, pnc_aioq *q, uint64_t token,
    int final, pnc_waiter **wp)
{
	return aio_try(c, NULL, op, q, token, final, wp);
}

int
pnc_ctx_send_async(pnc_ctx *c, pnc_msg *m, pnc_op *op, pnc_aioq *q,
    uint64_t token, int final, pnc_waiter **wp)
{
	return aio_try(c, m, op, q, token, final, wp);
}

int
pnc_waiter_watch_fd(pnc_waiter *w)
{
	pnc_socket *s = w->ctx->sock;
	pnc_pipe *p;
	int fd = -1;

	pnc_sock_lock(s);
	if (w->kind == PNC_WAKE_RECV && w->read_pipe == NULL &&
	    (p = pnc_sock_sole_pipe(s)) != NULL && p->ops->read_begin(p) == 0) {
		pnc_pipe_hold(p);
		w->read_pipe = p;
		fd = (int) p->ops->read_fd(p);
	}
	pnc_sock_unlock(s);
	return fd;
}

void
pnc_waiter_read(pnc_waiter *w)
{
	pnc_pipe *p = w->read_pipe;

	if (p != NULL)
		p->ops->read_wait(p, PNC_FD_NONE, 0, NULL); /* what is there, no waiting */
}

void
pnc_waiter_release(pnc_waiter *w, int pass_on)
{
	pnc_ctx *c = w->ctx;
	pnc_socket *s = c->sock;
	int woken = 0;

	pnc_sock_lock(s);
	if (w->state == WAITER_REGISTERED) {
		pnc_list_remove(&w->node);
	} else {
		pnc_mtx_lock(&w->q->mtx);
		pnc_list_remove(&w->node); /* still on the ready list, if not drained */
		pnc_mtx_unlock(&w->q->mtx);
		woken = 1;
	}
	if (w->read_pipe != NULL) {
		w->read_pipe->ops->read_end(w->read_pipe);
		pnc_sock_reads_back_if_waited(s, w->read_pipe);
		pnc_pipe_rele(w->read_pipe);
	}
	/* A wake-up this waiter will not use goes to another one. */
	if (woken && pass_on)
		pnc_sock_wake(s, w->kind, 0, NULL);
	pnc_sock_unlock(s);
	pnc_ctx_rele(c);
	free(w);
}
