/*
 * batch.c: many messages per call (pnc_batch, see pnc.h).  A caller such
 * as Python pays more to cross into the core than the core spends on a
 * small message, so a batch moves many under one lock in one call.  Each
 * message still goes through the protocol one at a time, exactly as a
 * single send or receive would take it.
 */
#include <stdlib.h>

#include "core.h"

int
pnc_batch_open(pnc_ctx *c, pnc_batch **bp)
{
	pnc_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return PNC_ENOMEM;
	b->op.ctx = c;
	*bp = b;
	return 0;
}

void
pnc_batch_release(pnc_batch *b)
{
	pnc_msg_free_many(b->msgs, b->count);
	b->count = 0;
	b->bytes = 0;
}

void
pnc_batch_free(pnc_batch *b)
{
	if (b == NULL)
		return;
	pnc_batch_release(b);
	free(b->msgs);
	free(b);
}

/* Room for one more message. */
static int
batch_reserve(pnc_batch *b)
{
	if (b->count == b->room) {
		size_t room = b->room ? 2 * b->room : 64;
		pnc_msg **msgs = realloc(b->msgs, room * sizeof(*msgs));

		if (msgs == NULL)
			return PNC_ENOMEM;
		b->msgs = msgs;
		b->room = room;
	}
	return 0;
}

/* Adds the message the batch's op just took; socket locked. */
static int
batch_add(pnc_batch *b)
{
	pnc_msg *m = b->op.msg;
	int rv;

	b->op.msg = NULL;
	if ((rv = batch_reserve(b)) != 0) {
		pnc_ctx_unrecv(b->op.ctx, m);
		return rv;
	}
	b->bytes += m->len;
	b->msgs[b->count++] = m;
	return 0;
}

int
pnc_batch_recv(pnc_batch *b, int flags, size_t max)
{
	pnc_ctx *c = b->op.ctx;
	pnc_socket *s = c->sock;
	int rv;

	pnc_batch_release(b);
	pnc_sock_lock(s);
	rv = pnc_ctx_run(c, NULL, flags, &b->op, PNC_SLICE_MS);
	if (rv == 0)
		rv = batch_add(b);
	if (rv == 0 && s->proto->recv_many) {
		/* What else is ready: the protocol says PNC_EAGAIN when none is. */
		while (b->count < max && b->bytes < PNC_BATCH_BYTES &&
		    pnc_ctx_run(c, NULL, PNC_FLAG_NONBLOCK, &b->op, 0) == 0 &&
		    batch_add(b) == 0)
			;
	}
	pnc_sock_unlock(s);
	pnc_op_step_end(&b->op, rv);
	return rv;
}

void
pnc_batch_unget(pnc_batch *b)
{
	pnc_ctx *c = b->op.ctx;
	pnc_socket *s = c->sock;
	int back = 0;

	pnc_sock_lock(s);
	/* Last first, each to the front: they end up in their old order. */
	while (b->count > 0)
		back |= pnc_ctx_unrecv(c, b->msgs[--b->count]);
	if (back)
		pnc_sock_wake(s, PNC_WAKE_RECV, 0, NULL);
	pnc_sock_unlock(s);
}

int
pnc_batch_send(pnc_batch *b, const pnc_body *bodies, size_t n, int flags)
{
	pnc_ctx *c = b->op.ctx;
	pnc_socket *s = c->sock;
	int rv = 0;

	pnc_sock_lock(s);
	while (b->count < n) {
		const pnc_body *body = &bodies[b->count];
		pnc_msg *m;

		if ((rv = pnc_msg_from(&m, body->data, body->len)) != 0)
			break;
		rv = pnc_ctx_run(c, m, flags, &b->op, PNC_SLICE_MS);
		pnc_op_step_end(&b->op, rv);
		if (rv != 0) {
			pnc_msg_free(m); /* not taken: the next call makes it again */
			break;
		}
		b->count++;
	}
	pnc_sock_unlock(s);
	return rv;
}
